"""Operating-characteristic bars and the dose-path flowchart of a dose-finding design."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from earlyphase.engine.results import OperatingCharacteristics


def _oc_axes(ax_sel: Axes, ax_n: Axes, oc: OperatingCharacteristics) -> None:
    labels = [*oc.dose_labels, "none"]
    x = np.arange(len(labels))
    ax_sel.bar(x, 100 * oc.selection, color=["#4C72B0"] * (len(labels) - 1) + ["#999999"])
    if oc.mc_se is not None:
        ax_sel.errorbar(
            x, 100 * oc.selection, yerr=196 * oc.mc_se, fmt="none", ecolor="black", capsize=3
        )
    ax_sel.set_xticks(x, labels, rotation=20, ha="right")
    ax_sel.set_ylabel("selected as MTD / RP2D (%)")
    ax_sel.set_title("Selection")
    for xi, v in zip(x, 100 * oc.selection, strict=True):
        ax_sel.annotate(f"{v:.1f}", (xi, v), ha="center", va="bottom", fontsize=8)
    xd = np.arange(len(oc.dose_labels))
    # Okabe-Ito blue and vermillion, and DLTs hatched: not told apart by red / green alone
    ax_n.bar(xd - 0.2, oc.mean_n, width=0.4, label="patients", color="#0072B2")
    ax_n.bar(
        xd + 0.2,
        oc.mean_dlt,
        width=0.4,
        label="DLTs",
        color="#D55E00",
        hatch="//",
        edgecolor="white",
    )
    ax_n.set_xticks(xd, oc.dose_labels, rotation=20, ha="right")
    ax_n.set_ylabel("mean per trial")
    ax_n.set_title(f"Patients and DLTs (E[N] = {oc.mean_total_n:.1f})")
    ax_n.legend(frameon=False)
    ax2 = ax_n.twinx()
    ax2.plot(xd, oc.true_tox, "k--o", ms=4, label="true DLT rate")
    ax2.set_ylabel("true DLT rate")
    ax2.set_ylim(0, max(1e-9, float(oc.true_tox.max())) * 1.3)


def _paths_axes(ax: Axes, paths: pd.DataFrame) -> None:
    """Dose-transition flowchart: one column per cohort, one box per outcome."""
    ax.set_axis_off()
    ax.set_title("Dose paths of the first cohorts")
    if paths.empty:
        return
    positions: dict[str, tuple[float, float]] = {"": (0.0, 0.5)}
    n_cohorts = int(paths["cohort"].max())
    for c in range(1, n_cohorts + 1):
        level = paths[paths["cohort"] == c].reset_index(drop=True)
        m = len(level)
        for i, row in level.iterrows():
            y = 1 - (int(i) + 0.5) / m  # type: ignore[call-overload]
            path = str(row["path"])
            parent = path.rsplit(" ", 1)[0] if " " in path else ""
            positions[path] = (float(c), y)
            px, py = positions.get(parent, (c - 1.0, 0.5))
            ax.plot([px + 0.28 if parent else px, c - 0.28], [py, y], color="#BBBBBB", lw=0.6)
            nxt = "stop" if pd.isna(row["next"]) else f"-> {int(row['next'])}"
            txt = f"{path.split()[-1]} {nxt}"
            ax.text(
                c,
                y,
                txt,
                ha="center",
                va="center",
                fontsize=6 if m > 12 else 8,
                bbox={"boxstyle": "round,pad=0.2", "fc": "#F4F4F4", "ec": "#888888", "lw": 0.5},
            )
    ax.text(0, 0.5, "start", ha="center", va="center", fontsize=8)
    ax.set_xlim(-0.4, n_cohorts + 0.5)
    ax.set_ylim(0, 1)


def plot_design_summary(
    oc: OperatingCharacteristics, paths: pd.DataFrame, path: str | Path, title: str = ""
) -> Figure:
    """Write a PNG with the OC bars and the dose-path flowchart; returns the figure."""
    fig = Figure(figsize=(13, 8), layout="constrained")
    grid = fig.add_gridspec(2, 2, height_ratios=[1, 1.3])
    _oc_axes(fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1]), oc)
    _paths_axes(fig.add_subplot(grid[1, :]), paths)
    fig.suptitle(title or oc.design)
    fig.savefig(path, dpi=120)
    return fig
