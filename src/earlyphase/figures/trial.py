"""Results figures: Kaplan-Meier with a number-at-risk table, cumulative incidence, swimmer
plot, spaghetti plots, CONSORT diagram and the dose-escalation plot. Each returns a Matplotlib
``Figure`` (no display needed); :func:`to_png` / :func:`to_svg` write one for a report.

Colours are the Okabe-Ito palette (Okabe & Ito 2008), which readers with any common colour
vision deficiency tell apart, and nothing is told by colour alone: groups also differ by line
style and marker, and a DLT is a filled triangle where no DLT is an open circle. Powers of ten
in labels (``10^6``) are printed as superscripts (``10⁶``)."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from earlyphase.data.adam import arm_order, end_of_study
from earlyphase.data.trial import TrialData
from earlyphase.data.units import unicode_powers
from earlyphase.stats import cumulative_incidence, kaplan_meier

#: The Okabe-Ito palette without its yellow (too pale on white) and black (kept for text):
#: blue, vermillion, bluish green, orange, sky blue, reddish purple.
OKABE_ITO = {
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "bluish green": "#009E73",
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "reddish purple": "#CC79A7",
    "yellow": "#F0E442",
    "black": "#000000",
}
COLORS = [OKABE_ITO[c] for c in ("blue", "vermillion", "bluish green", "orange")] + [
    OKABE_ITO[c] for c in ("sky blue", "reddish purple")
]
#: Line styles and markers that go with the colours, so that groups differ in grey too.
LINESTYLES = ["-", "--", ":", "-.", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1))]
MARKERS = ["o", "s", "^", "D", "v", "P"]
#: How a DLT and its absence are drawn: shape and fill differ, not only the colour.
DLT_STYLE = {"marker": "^", "color": OKABE_ITO["vermillion"], "label": "DLT"}
NO_DLT_STYLE = {"marker": "o", "color": OKABE_ITO["blue"], "label": "no DLT"}


def to_png(fig: Figure, dpi: int = 110) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def to_png_base64(fig: Figure, dpi: int = 110) -> str:
    return base64.b64encode(to_png(fig, dpi)).decode("ascii")


def to_svg(fig: Figure) -> str:
    """The figure as an SVG document (text kept as paths: it looks the same everywhere)."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    return buf.getvalue()


def _tte(trial: TrialData, paramcd: str) -> pd.DataFrame:
    if trial.adtte is None:
        raise ValueError("paramcd: the trial has no ADTTE table")
    tte = trial.adtte[trial.adtte["PARAMCD"] == paramcd]
    if tte.empty:
        raise ValueError(f"paramcd: no ADTTE records for {paramcd!r}")
    return tte


def km_figure(
    trial: TrialData,
    paramcd: str = "OS",
    by: str | None = None,
    risk_times: Sequence[float] | None = None,
    xlabel: str = "Days",
    conf_type: str = "log",
    ylabel: str | None = None,
) -> Figure:
    """Kaplan-Meier curves (with censoring marks and a pointwise band) and the number at risk
    (subjects with time >= t, R's convention) below. Groups in the order of their numeric code
    (TRT01AN for TRT01A). The y axis reads "Survival probability" only for overall survival
    (PARAMCD OS); other parameters are "Probability of no event" unless ``ylabel`` says."""
    tte = _tte(trial, paramcd)
    if by is not None:
        tte = tte.merge(trial.adsl[["USUBJID", by]], on="USUBJID", how="left")
        labels = tte[by].astype(str)
        order = [g for g in arm_order(trial.adsl, by) if g in set(labels)]
        groups = [(g, tte[labels == g]) for g in order]
    else:
        groups = [("All", tte)]
    if ylabel is None:
        ylabel = "Survival probability" if paramcd.upper() == "OS" else "Probability of no event"
    fig = Figure(figsize=(7.5, 5.2), layout="constrained")
    ax, ax_r = fig.subplots(2, 1, height_ratios=[4, 1], sharex=True)
    t_max = float(tte["AVAL"].max())
    times = np.linspace(0, t_max, 6) if risk_times is None else np.asarray(risk_times, dtype=float)
    for i, (label, d) in enumerate(groups):
        fit = kaplan_meier(d["AVAL"].astype(float), 1 - d["CNSR"].astype(int), conf_type=conf_type)
        x = np.concatenate(([0.0], fit.time))
        y = np.concatenate(([1.0], fit.survival))
        c = COLORS[i % len(COLORS)]
        ax.step(
            x,
            y,
            where="post",
            color=c,
            linestyle=LINESTYLES[i % len(LINESTYLES)],
            label=unicode_powers(label),
        )
        lo = np.concatenate(([1.0], np.nan_to_num(fit.lower, nan=0.0)))
        hi = np.concatenate(([1.0], np.nan_to_num(fit.upper, nan=0.0)))
        ax.fill_between(x, lo, hi, step="post", color=c, alpha=0.12)
        cens = fit.n_censor > 0
        ax.plot(fit.time[cens], fit.survival[cens], "|", color=c, ms=9, mew=1.5)
        risk = fit.table(times=times)["n_risk"].to_numpy()
        for t, r in zip(times, risk, strict=True):
            ax_r.text(t, -i, str(int(r)), ha="center", va="center", color=c, fontsize=9)
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if by is not None:
        ax.legend(frameon=False)
    ax_r.set_yticks([-i for i in range(len(groups))], [unicode_powers(g) for g, _ in groups])
    ax_r.set_ylim(-len(groups) + 0.5, 0.5)
    ax_r.set_xlabel(xlabel)
    ax_r.set_title("Number at risk", fontsize=9, loc="left")
    for spine in ("top", "right", "left"):
        ax_r.spines[spine].set_visible(False)
    return fig


def cif_figure(
    trial: TrialData, paramcd: str, causes: dict[int, str] | None = None, xlabel: str = "Days"
) -> Figure:
    """Cumulative incidence of each competing cause (ADTTE ``CAUSE``)."""
    tte = _tte(trial, paramcd)
    res = cumulative_incidence(tte["AVAL"].astype(float), tte["CAUSE"].astype(int))
    tab = res.table()
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.subplots()
    t_max = float(tte["AVAL"].max())
    for i, cause in enumerate(res.causes):
        d = tab[tab["cause"] == cause]
        x = np.concatenate(([0.0], d["time"].to_numpy(), [t_max]))
        y = np.concatenate(
            ([0.0], d["estimate"].to_numpy(), [d["estimate"].iloc[-1] if len(d) else 0.0])
        )
        ax.step(
            x,
            y,
            where="post",
            color=COLORS[i % len(COLORS)],
            linestyle=LINESTYLES[i % len(LINESTYLES)],
            label=(causes or {}).get(cause, f"cause {cause}"),
        )
    ax.set_ylim(0, 1)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Cumulative incidence")
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    return fig


def swimmer_figure(trial: TrialData, paramcd: str = "OS", xlabel: str = "Days") -> Figure:
    """One bar per subject to death or last follow-up; deaths marked, infusions as ticks."""
    tte = _tte(trial, paramcd).sort_values("AVAL")
    fig = Figure(figsize=(7.5, 0.45 * len(tte) + 1.5), layout="constrained")
    ax = fig.subplots()
    for i, (_, r) in enumerate(tte.iterrows()):
        ax.barh(i, r["AVAL"], color=OKABE_ITO["sky blue"], alpha=0.6, height=0.6)
        if int(r["CNSR"]) == 0:
            ax.plot(r["AVAL"], i, "x", color=OKABE_ITO["vermillion"], ms=8, mew=2)
        else:
            ax.annotate(
                "",
                xy=(r["AVAL"] + 0.03 * tte["AVAL"].max(), i),
                xytext=(r["AVAL"], i),
                arrowprops={"arrowstyle": "->", "color": OKABE_ITO["blue"]},
            )
        if trial.adex is not None:
            days = trial.adex.loc[trial.adex["USUBJID"] == r["USUBJID"], "EXDY"].dropna()
            ax.plot(days, np.full(len(days), i), "|", color=OKABE_ITO["black"], ms=8)
    ax.set_yticks(range(len(tte)), tte["USUBJID"].tolist())
    ax.set_xlabel(xlabel)
    ax.set_title("x death, -> alive at last follow-up, | infusion", fontsize=9, loc="left")
    return fig


def spaghetti_figure(trial: TrialData, paramcd: str, ylabel: str | None = None) -> Figure:
    """Each subject's values of an ADLB parameter over study days."""
    if trial.adlb is None:
        raise ValueError("paramcd: the trial has no ADLB table")
    lb = trial.adlb[trial.adlb["PARAMCD"] == paramcd]
    if lb.empty:
        raise ValueError(f"paramcd: no ADLB records for {paramcd!r}")
    fig = Figure(figsize=(7, 4.2), layout="constrained")
    ax = fig.subplots()
    for i, (sid, d) in enumerate(lb.sort_values("ADY").groupby("USUBJID")):
        ax.plot(
            d["ADY"],
            d["AVAL"],
            linestyle=LINESTYLES[i % len(LINESTYLES)],
            marker=MARKERS[i % len(MARKERS)],
            ms=3,
            color=COLORS[i % len(COLORS)],
            label=str(sid),
        )
    ax.set_xlabel("Study day")
    ax.set_ylabel(ylabel or paramcd)
    if lb["USUBJID"].nunique() <= 12:
        ax.legend(frameon=False, fontsize=7, ncols=2)
    ax.grid(alpha=0.3)
    return fig


def consort_figure(trial: TrialData) -> Figure:
    """CONSORT-style flow from ADSL: enrolled, treated, by group, completed / discontinued."""
    adsl = trial.adsl
    boxes = [f"Enrolled\nn = {len(adsl)}"]
    if "SAFFL" in adsl.columns:
        boxes.append(f"Treated (safety population)\nn = {int((adsl['SAFFL'] == 'Y').sum())}")
    eos = end_of_study(adsl)
    counts = adsl["TRT01A"].astype(str).value_counts()
    groups = counts.reindex(arm_order(adsl, "TRT01A"))
    fig = Figure(figsize=(8, 4.6), layout="constrained")
    ax = fig.subplots()
    ax.set_axis_off()
    y = 0.92
    for b in boxes:
        ax.text(
            0.5,
            y,
            b,
            ha="center",
            va="center",
            fontsize=10,
            bbox={"boxstyle": "round", "fc": "#F7F7F7", "ec": "#555555"},
        )
        ax.annotate("", xy=(0.5, y - 0.12), xytext=(0.5, y - 0.06), arrowprops={"arrowstyle": "->"})
        y -= 0.22
    k = len(groups)
    for i, (g, n) in enumerate(groups.items()):
        x = (i + 0.5) / k
        sub = adsl[adsl["TRT01A"].astype(str) == g]
        lines = [f"{unicode_powers(str(g))}\nn = {n}"]
        if eos is not None:
            status, reason = eos[0].loc[sub.index], eos[1].loc[sub.index]
            for st, m in status.fillna("UNKNOWN").value_counts().sort_index().items():
                lines.append(f"{str(st).capitalize()}: {m}")
            for why, m in reason.dropna().value_counts().sort_index().items():
                lines.append(f"  {str(why).lower()}: {m}")
        ax.text(
            x,
            y - 0.05,
            "\n".join(lines),
            ha="center",
            va="top",
            fontsize=9,
            bbox={"boxstyle": "round", "fc": "#EAF2FB", "ec": "#31708F"},
        )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title("Participant flow", loc="left")
    return fig


def escalation_figure(trial: TrialData, dose_col: str = "DOSELVL", unit: str = "") -> Figure:
    """Subjects in enrolment order at their dose level; a DLT (ADAE ``AEDLT``) is a filled
    vermillion triangle, no DLT an open blue circle (shape, fill and colour all differ, so
    that the plot reads in grey and with any colour vision), with a legend."""
    adsl = trial.adsl.reset_index(drop=True)
    if dose_col not in adsl.columns:
        raise ValueError(f"dose_col: {dose_col!r} is not a column of ADSL")
    dlt_ids: set[str] = set()
    if trial.adae is not None and "AEDLT" in trial.adae.columns:
        dlt_ids = set(trial.adae.loc[trial.adae["AEDLT"] == "Y", "USUBJID"])
    fig = Figure(figsize=(8, 3.6), layout="constrained")
    ax = fig.subplots()
    levels = sorted(adsl[dose_col].dropna().unique())
    ypos = {lv: i for i, lv in enumerate(levels)}
    points: dict[bool, tuple[list[int], list[int]]] = {True: ([], []), False: ([], [])}
    for i, (_, r) in enumerate(adsl.iterrows()):
        y = ypos.get(r[dose_col])
        if y is None:
            continue
        xs, ys = points[r["USUBJID"] in dlt_ids]
        xs.append(i + 1)
        ys.append(y)
    for dlt, style in ((False, NO_DLT_STYLE), (True, DLT_STYLE)):
        xs, ys = points[dlt]
        ax.plot(
            xs,
            ys,
            linestyle="none",
            color=style["color"],
            marker=style["marker"],
            ms=11,
            markeredgewidth=1.5,
            markeredgecolor=style["color"],
            markerfacecolor=style["color"] if dlt else "white",
            label=style["label"],
        )
    phase = adsl["PHASE"] if "PHASE" in adsl.columns else None
    if phase is not None:
        change = np.flatnonzero(
            phase.astype(str).to_numpy()[1:] != phase.astype(str).to_numpy()[:-1]
        )
        for c in change:
            ax.axvline(c + 1.5, color="#999999", ls="--", lw=1)
    ax.set_yticks(range(len(levels)), [unicode_powers(f"{lv:g} {unit}".strip()) for lv in levels])
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("Subject (enrolment order)")
    ax.set_title("Dose escalation", loc="left", fontsize=10)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, numpoints=1)
    ax.set_ylim(-0.6, len(levels) - 0.4)
    return fig
