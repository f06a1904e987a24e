"""Stopping boundaries of a single-arm design and its operating-characteristic curves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure


def plot_boundaries(design: Any, path: str | Path, title: str = "") -> Figure:
    """Two panels: the boundaries per look, and P(crossing) and E[N] against the true rate."""
    fig = Figure(figsize=(12, 4.8), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    looks = design.looks
    up = np.where(design.upper > looks, np.nan, design.upper).astype(float)
    lo = np.where(design.lower < 0, np.nan, design.lower).astype(float)
    style = {"drawstyle": "steps-post", "markersize": 5 if len(looks) < 40 else 0}
    ax1.plot(looks, up, "^-", color="#2A9D8F", label="upper: stop if events >=", **style)
    ax1.plot(looks, lo, "v-", color="#E76F51", label="lower: stop if events <=", **style)
    ax1.plot(looks, looks, ":", color="#999999", lw=0.8, label="all patients")
    ax1.set_ylim(bottom=-0.5)
    ax1.set_xlabel("patients evaluated")
    ax1.set_ylabel("events")
    ax1.set_title("Boundaries")
    ax1.legend(frameon=False, fontsize=8)
    grid = np.linspace(0.0, 1.0, 101)
    oc = design.operating_characteristics(grid)
    ax2.plot(grid, oc["prob_upper"], color="#2A9D8F", label="P(cross upper)")
    ax2.plot(grid, oc["prob_lower"], color="#E76F51", label="P(cross lower)")
    ax2.set_xlabel("true rate")
    ax2.set_ylabel("probability")
    ax3 = ax2.twinx()
    ax3.plot(grid, oc["expected_n"], "k--", label="E[N]")
    ax3.set_ylabel("expected sample size")
    ax2.legend(loc="center left", frameon=False, fontsize=8)
    ax2.set_title("Operating characteristics")
    fig.suptitle(title)
    fig.savefig(path, dpi=120)
    return fig
