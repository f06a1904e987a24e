"""Several designs compared across true dose-toxicity scenarios: the figure a protocol's
simulation section shows beside its table (selection per dose, per design, per scenario)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

_COLOURS = ("#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3")


def plot_scenario_comparison(
    rows: Sequence[Mapping[str, Any]],
    truths: Mapping[str, Sequence[float]],
    path: str | Path,
    target: float | None = None,
    title: str = "",
) -> Figure:
    """One panel per scenario: for each design, the percentage of trials selecting each dose
    (and none), with the true DLT rates on a second axis and the target as a dotted line.

    ``rows`` are the comparison's records: ``scenario``, ``design``, ``selection`` (one
    probability per dose), ``no_selection`` and ``mean_n``; ``truths`` maps each scenario
    to its true DLT rates. Writes a PNG to ``path`` and returns the figure.
    """
    scenarios = list(truths)
    designs = list(dict.fromkeys(str(r["design"]) for r in rows))
    ncols = min(3, len(scenarios))
    nrows = math.ceil(len(scenarios) / ncols)
    fig = Figure(figsize=(5.2 * ncols, 3.9 * nrows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    width = 0.8 / max(1, len(designs))
    for ax, name in zip(axes, scenarios, strict=False):
        truth = np.asarray(truths[name], dtype=float)
        k = len(truth)
        x = np.arange(k + 1)
        for j, label in enumerate(designs):
            hit = [r for r in rows if r["scenario"] == name and str(r["design"]) == label]
            if not hit:
                continue
            r = hit[0]
            values = 100 * np.array([*r["selection"], r["no_selection"]], dtype=float)
            ax.bar(
                x - 0.4 + (j + 0.5) * width,
                values,
                width=width,
                color=_COLOURS[j % len(_COLOURS)],
                label=f"{label} (E[N] {float(r['mean_n']):.1f})",
            )
        ax.set_xticks(x, [*(str(i + 1) for i in range(k)), "none"])
        ax.set_xlabel("dose level")
        ax.set_ylabel("selected (%)")
        ax.set_ylim(0, 130)  # room above the bars for the legend
        ax.set_yticks(range(0, 101, 20))
        ax.set_title(str(name))
        ax.legend(frameon=False, fontsize=7, loc="upper left")
        ax2 = ax.twinx()
        ax2.plot(np.arange(k), truth, "k--o", ms=3, lw=1, label="true DLT rate")
        if target is not None:
            ax2.axhline(target, color="#999999", ls=":", lw=1)
        ax2.set_ylim(0, 1)
        ax2.set_ylabel("true DLT rate")
    for ax in axes[len(scenarios) :]:
        ax.set_axis_off()
    fig.suptitle(title or "Operating characteristics by scenario")
    fig.savefig(path, dpi=120)
    return fig
