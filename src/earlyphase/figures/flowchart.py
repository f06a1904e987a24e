"""A design's decision flow as boxes and arrows: the trial schema a protocol shows.

:func:`flowchart_figure` draws the rule of a BOIN, 3+3 or CRM design (and of any behaviours
stacked on it, one box per added rule), or the look-by-look flow of a single-arm boundary
design, with the design's own numbers in the boxes (BOIN's lambda_e and lambda_d, the CRM
skeleton and prior, the boundaries' looks). The layout is a small grid: boxes sit in rows
and columns, arrows go down (straight, or leaving a decision box by its side), and the
"next cohort" arrow loops back round the left of the chart.

The schema follows SPIRIT-DEFINE's request for a diagram of the trial's major transition
points (Yap et al. 2023, BMJ 383:e076386); the rules drawn are those of Storer (1989) for
3+3, Liu & Yuan (2015) for BOIN and O'Quigley, Pepe & Fisher (1990) / Cheung (2011) for CRM.

Matplotlib is imported when a chart is drawn, not when this module is imported, and the chart
is rendered by the Agg canvas, so no display is needed.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# Box geometry in inches (the axes' data units are inches, so text sizes and boxes agree).
# Widths per character and line height are those of 9-point DejaVu Sans, Matplotlib's default.
_CHAR_W = 0.066
_LINE_H = 0.17
_PAD = 0.11
_ROW_GAP = 0.5
_COL_STEP = 2.95
_BOX_W = 2.55
_LOOP_GAP = 0.3
_FONT = 9.0

#: Face and edge colours of each kind of box.
_STYLE: dict[str, tuple[str, str]] = {
    "step": ("#EAF1FB", "#3B6AA0"),
    "test": ("#FFF6DD", "#B8860B"),
    "up": ("#E7F5EA", "#2E7D32"),
    "stay": ("#F2F2F2", "#616161"),
    "down": ("#FDECEA", "#C62828"),
    "stop": ("#F3E8F6", "#6A1B9A"),
    "rule": ("#FFFFFF", "#555555"),
}


@dataclass(frozen=True)
class FlowBox:
    """One box: ``text`` at grid position (``col``, ``row``); ``kind`` picks its colours."""

    key: str
    text: str
    col: float
    row: int
    kind: str = "step"
    width: float = _BOX_W


@dataclass(frozen=True)
class FlowEdge:
    """An arrow from box ``src`` to box ``dst``.

    ``route``: ``"auto"`` (straight down in the same column, out of the source's side then
    down to another column, sideways within a row, round the left when going back up),
    ``"down"`` (straight, possibly slanted, from the bottom of one box to the top of the
    other), ``"side"``, ``"across"`` or ``"loop"``.
    """

    src: str
    dst: str
    label: str = ""
    route: str = "auto"


@dataclass(frozen=True)
class Flow:
    """A chart: its title, boxes and arrows."""

    title: str
    boxes: tuple[FlowBox, ...]
    edges: tuple[FlowEdge, ...]


# --- what a design's chart says -------------------------------------------------------------


def base_design(design: Any) -> Any:
    """The design under any stacked behaviours (``.parent`` followed to the end)."""
    seen = 0
    while hasattr(design, "parent") and seen < 100:
        design = design.parent
        seen += 1
    return design


def behaviour_rules(design: Any) -> list[str]:
    """The rule each stacked behaviour adds, innermost first, in the words of ``describe()``.

    A behaviour's ``describe()`` is its parent's followed by its own rule (e.g. ", then expand
    with 6 at the RP2D"), so the rule is the difference of the two descriptions.
    """
    rules: list[str] = []
    while hasattr(design, "parent"):
        own = str(design.describe())
        inner = str(design.parent.describe())
        text = own[len(inner) :] if own.startswith(inner) else own
        text = text.lstrip(" ,;+").strip()
        rules.append(text or type(design).__name__)
        design = design.parent
    return rules[::-1]


def _kind(design: Any) -> str:
    from earlyphase.designs import BOIN, CRM, ThreePlusThree

    if isinstance(design, BOIN):
        return "boin"
    if isinstance(design, ThreePlusThree):
        return "3+3"
    if isinstance(design, CRM):
        return "crm"
    if all(hasattr(design, a) for a in ("looks", "upper", "lower")):
        return "single-arm"
    return "other"


def _start(design: Any) -> str:
    level = int(design.start_dose)
    return str(design.doses.label(level))


def looks_text(looks: Iterable[Any]) -> str:
    """``"n = 6 to 20 (every patient)"`` or ``"n = 10 and 29"``: when the looks are."""
    ns = [int(v) for v in looks]
    if len(ns) > 2 and all(b - a == 1 for a, b in pairwise(ns)):
        return f"n = {ns[0]} to {ns[-1]} (every patient)"
    if len(ns) <= 6:
        head = ", ".join(str(v) for v in ns[:-1])
        return f"n = {head} and {ns[-1]}" if head else f"n = {ns[0]}"
    return f"n = {', '.join(str(v) for v in ns[:3])}, ..., {ns[-1]} ({len(ns)} looks)"


def _boin_flow(d: Any) -> tuple[list[FlowBox], list[FlowEdge], str]:
    target = f"{d.target:g}"
    elim = (
        f"Elimination: if Pr(DLT rate > {target} | data) > {d.cutoff_eli:g} (Beta(1, 1) prior, "
        "at least 3 patients), eliminate this dose and all higher doses; if dose 1 is "
        "eliminated, stop the trial with no MTD"
    )
    if d.extra_safe:
        elim += (
            f". Extra safety: stop if Pr(DLT rate at dose 1 > {target} | data) > "
            f"{d.cutoff_eli - d.offset:g}"
        )
    boxes = [
        FlowBox(
            "treat",
            f"Treat a cohort of {d.cohort_size} at the current dose (start at dose {_start(d)})",
            0,
            0,
        ),
        FlowBox(
            "rate",
            "Observed DLT rate at the current dose: p = DLTs / patients treated at that dose",
            0,
            1,
            "test",
        ),
        FlowBox(
            "up", f"p ≤ λe = {d.lambda_e:.4f}\nEscalate (stay at the highest dose)", -1, 2, "up"
        ),
        FlowBox("stay", "λe < p ≤ λd\nStay at the current dose", 0, 2, "stay"),
        FlowBox("down", f"p > λd = {d.lambda_d:.4f}\nDe-escalate (stay at dose 1)", 1, 2, "down"),
        FlowBox("elim", elim, 1, 3, "rule"),
        FlowBox(
            "maxn",
            f"{d.max_n} patients treated ({d.n_cohorts} cohorts of {d.cohort_size})?",
            0,
            4,
            "test",
        ),
        FlowBox(
            "end",
            f"Stop. MTD: the admissible dose whose isotonic-regression estimate "
            f"of the DLT rate is closest to {target}",
            0,
            5,
            "stop",
        ),
    ]
    edges = [
        FlowEdge("treat", "rate"),
        FlowEdge("rate", "up"),
        FlowEdge("rate", "stay"),
        FlowEdge("rate", "down"),
        FlowEdge("down", "elim"),
        FlowEdge("up", "maxn", route="down"),
        FlowEdge("stay", "maxn"),
        FlowEdge("elim", "maxn", route="down"),
        FlowEdge("maxn", "treat", "no: next cohort"),
        FlowEdge("maxn", "end", "yes"),
    ]
    return boxes, edges, "end"


def _three_plus_three_flow(d: Any) -> tuple[list[FlowBox], list[FlowEdge], str]:
    toxic = (
        "≥ 2 DLTs at this dose: go back to the dose below if fewer than 6 were treated "
        "there; otherwise stop, MTD = highest dose with 6 patients and ≤ 1 DLT"
        if d.deescalation
        else "≥ 2 DLTs at this dose: stop, MTD = the dose below (none at dose 1)"
    )
    boxes = [
        FlowBox("treat", f"Treat 3 patients at the current dose (start at dose {_start(d)})", 0, 0),
        FlowBox("first", "DLTs among the first 3 at this dose?", 0, 1, "test"),
        FlowBox("more", "Treat 3 more at the same dose", 0, 2, "stay"),
        FlowBox("second", "DLTs among the 6 at this dose?", 0, 3, "test"),
        FlowBox(
            "up",
            "Escalate to the next dose (at the highest dose: stop, it is the MTD)",
            -1,
            4,
            "up",
        ),
        FlowBox("toxic", toxic, 1, 4, "down"),
        FlowBox("end", "End of escalation: MTD selected (or none)", 0, 5, "stop"),
    ]
    edges = [
        FlowEdge("treat", "first"),
        FlowEdge("first", "up", "0 of 3"),
        FlowEdge("first", "more", "1 of 3"),
        FlowEdge("first", "toxic", "≥ 2 of 3"),
        FlowEdge("more", "second"),
        FlowEdge("second", "up", "≤ 1 of 6"),
        FlowEdge("second", "toxic", "≥ 2 of 6"),
        FlowEdge("up", "treat", "next cohort"),
        FlowEdge("up", "end", "highest dose cleared", route="down"),
        FlowEdge("toxic", "end", route="down"),
    ]
    return boxes, edges, "end"


def _crm_flow(d: Any) -> tuple[list[FlowBox], list[FlowEdge], str]:
    skel = ", ".join(f"{v:g}" for v in d.skeleton)
    model = (
        "p_d = skeleton_d ^ exp(beta)"
        if d.model == "empiric"
        else f"logit p_d = {d.intercept:g} + exp(beta) x_d"
    )
    rules = []
    if d.no_skipping:
        rules.append("no skipping of untried doses when escalating")
    if d.coherence:
        rules.append("no escalation right after a cohort whose DLT rate reached the target")
    restrict = "Restrictions: " + ("; ".join(rules) if rules else "none")
    boxes = [
        FlowBox(
            "treat",
            f"Treat a cohort of {d.cohort_size} at the current dose (start at dose {_start(d)})",
            0,
            0,
        ),
        FlowBox(
            "fit",
            f"Fit the model: {model}, beta ~ N(0, {d.prior_sd**2:.4g}); skeleton {skel}",
            0,
            1,
        ),
        FlowBox(
            "rec",
            f"Recommended dose: estimated DLT rate closest to the target {d.target:g}",
            0,
            2,
            "test",
        ),
        FlowBox("restrict", restrict, 0, 3, "rule"),
        FlowBox("maxn", f"{d.n_patients} patients treated?", 0, 4, "test"),
        FlowBox("end", "Stop. MTD: the dose the model recommends from all the data", 0, 5, "stop"),
    ]
    edges = [
        FlowEdge("treat", "fit"),
        FlowEdge("fit", "rec"),
        FlowEdge("rec", "restrict"),
        FlowEdge("restrict", "maxn"),
        FlowEdge("maxn", "treat", "no: next cohort"),
        FlowEdge("maxn", "end", "yes"),
    ]
    return boxes, edges, "end"


def _single_arm_flow(d: Any) -> tuple[list[FlowBox], list[FlowEdge], str]:
    import numpy as np

    event = str(getattr(d, "event_name", "events"))
    looks = np.asarray(d.looks)
    has_upper = bool(np.any(np.asarray(d.upper) <= looks))
    has_lower = bool(np.any(np.asarray(d.lower) >= 0))
    boxes = [
        FlowBox(
            "enrol", f"Enrol and evaluate patients up to the next look ({looks_text(looks)})", 0, 0
        ),
        FlowBox(
            "count", f"Compare the number of {event} with the boundaries at this look", 0, 1, "test"
        ),
        FlowBox(
            "cont",
            "Between the boundaries: continue (at the last look: end of trial)",
            0,
            2,
            "stay",
        ),
    ]
    edges = [
        FlowEdge("enrol", "count"),
        FlowEdge("count", "cont"),
        FlowEdge("cont", "enrol", "next look"),
    ]
    if has_upper:
        meaning = str(getattr(d, "upper_meaning", "stop"))
        # crossing the upper boundary is good news for responses, bad news for toxicities
        style = "down" if "toxic" in meaning or "toxic" in event else "up"
        boxes.append(FlowBox("upper", f"{event} ≥ upper boundary: {meaning}", -1, 2, style))
        edges.append(FlowEdge("count", "upper"))
    if has_lower:
        meaning = str(getattr(d, "lower_meaning", "stop"))
        boxes.append(FlowBox("lower", f"{event} ≤ lower boundary: {meaning}", 1, 2, "down"))
        edges.append(FlowEdge("count", "lower"))
    return boxes, edges, "cont"


def _other_flow(d: Any) -> tuple[list[FlowBox], list[FlowEdge], str]:
    describe = str(d.describe()) if hasattr(d, "describe") else type(d).__name__
    boxes = [
        FlowBox("treat", "Treat the next cohort at the current dose", 0, 0),
        FlowBox("rule", f"Apply the design's rule: {describe}", 0, 1, "test"),
        FlowBox("end", "Next dose, or stop and select the recommended dose", 0, 2, "stop"),
    ]
    edges = [
        FlowEdge("treat", "rule"),
        FlowEdge("rule", "end"),
        FlowEdge("end", "treat", "next cohort"),
    ]
    return boxes, edges, "end"


_TITLES = {
    "boin": "BOIN decision flow",
    "3+3": "3+3 decision flow",
    "crm": "CRM decision flow",
    "single-arm": "Decision flow at each interim look",
    "other": "Decision flow",
}


def design_flow(design: Any) -> Flow:
    """The boxes and arrows of ``design``'s chart (before any drawing).

    The base design's flow comes first; each behaviour stacked on it adds a box with its rule,
    below the box where escalation ends, in the order the behaviours apply.
    """
    base = base_design(design)
    kind = _kind(base)
    build = {
        "boin": _boin_flow,
        "3+3": _three_plus_three_flow,
        "crm": _crm_flow,
        "single-arm": _single_arm_flow,
    }.get(kind, _other_flow)
    boxes, edges, last = build(base)
    row = max(b.row for b in boxes) + 1
    for i, rule in enumerate(behaviour_rules(design)):
        key = f"behaviour{i}"
        text = f"Added rule: {rule[:1].upper()}{rule[1:]}"
        boxes.append(FlowBox(key, text, 0, row, "rule", width=_BOX_W * 1.45))
        edges.append(FlowEdge(last, key))
        last, row = key, row + 1
    return Flow(_TITLES[kind], tuple(boxes), tuple(edges))


# --- drawing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Placed:
    box: FlowBox
    lines: str
    cx: float
    cy: float
    w: float
    h: float

    @property
    def left(self) -> float:
        return self.cx - self.w / 2

    @property
    def right(self) -> float:
        return self.cx + self.w / 2

    @property
    def top(self) -> float:
        return self.cy + self.h / 2

    @property
    def bottom(self) -> float:
        return self.cy - self.h / 2


def _wrap(text: str, width: float) -> str:
    chars = max(8, int((width - 2 * _PAD) / _CHAR_W))
    return "\n".join(
        textwrap.fill(part, chars, break_on_hyphens=False) for part in text.split("\n")
    )


def _place(boxes: Sequence[FlowBox]) -> dict[str, _Placed]:
    wrapped = {b.key: _wrap(b.text, b.width) for b in boxes}
    heights = {b.key: wrapped[b.key].count("\n") * _LINE_H + _LINE_H + 2 * _PAD for b in boxes}
    n_rows = max(b.row for b in boxes) + 1
    row_h = [max((heights[b.key] for b in boxes if b.row == r), default=0.0) for r in range(n_rows)]
    tops = [0.0]
    for r in range(1, n_rows):
        tops.append(tops[-1] - row_h[r - 1] - _ROW_GAP)
    return {
        b.key: _Placed(
            b,
            wrapped[b.key],
            b.col * _COL_STEP,
            tops[b.row] - row_h[b.row] / 2,
            b.width,
            heights[b.key],
        )
        for b in boxes
    }


def _arrow(ax: Axes, points: list[tuple[float, float]], color: str = "#444444") -> None:
    """A polyline whose last segment carries the arrowhead."""
    for (x0, y0), (x1, y1) in pairwise(points[:-1]):
        ax.plot([x0, x1], [y0, y1], color=color, lw=1.0, solid_capstyle="butt")
    ax.annotate(
        "",
        xy=points[-1],
        xytext=points[-2],
        arrowprops={
            "arrowstyle": "-|>",
            "color": color,
            "lw": 1.0,
            "shrinkA": 0,
            "shrinkB": 0,
            "mutation_scale": 11,
        },
    )


def _label(ax: Axes, x: float, y: float, text: str, ha: str = "center") -> None:
    if text:
        ax.text(
            x,
            y,
            text,
            ha=ha,
            va="center",
            fontsize=_FONT - 1,
            style="italic",
            color="#333333",
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none"},
        )


def _route(e: FlowEdge, a: _Placed, b: _Placed) -> str:
    if e.route != "auto":
        return e.route
    if b.box.row > a.box.row:
        return "down" if a.box.col == b.box.col else "side"
    return "across" if b.box.row == a.box.row else "loop"


def _edge_points(
    route: str, a: _Placed, b: _Placed, entry_x: float, loop_x: float, side_free: bool
) -> tuple[list[tuple[float, float]], tuple[float, float, str]]:
    """The polyline of an edge and where its label goes (x, y, horizontal alignment).

    ``entry_x`` is where an arrow entering from above meets the target (arrows into one box
    are spread along its top); ``side_free`` says whether a loop can leave the source by its
    left side (no box to its left in the row) or must first drop below it.
    """
    if route == "down":
        pts = [(a.cx, a.bottom), (entry_x, b.top)]
        return pts, ((a.cx + entry_x) / 2 + 0.06, (a.bottom + b.top) / 2, "left")
    if route == "side":
        sx = a.left if b.cx < a.cx else a.right
        pts = [(sx, a.cy), (entry_x, a.cy), (entry_x, b.top)]
        return pts, ((sx + entry_x) / 2, a.cy + 0.13, "center")
    if route == "across":
        sx, ex = (a.right, b.left) if b.cx > a.cx else (a.left, b.right)
        return [(sx, a.cy), (ex, b.cy)], ((sx + ex) / 2, a.cy + 0.13, "center")
    # loop: round the left margin and into the target's left side
    if side_free:
        pts = [(a.left, a.cy), (loop_x, a.cy)]
    else:
        drop = a.bottom - _ROW_GAP / 2
        pts = [(a.cx, a.bottom), (a.cx, drop), (loop_x, drop)]
    pts += [(loop_x, b.cy), (b.left, b.cy)]
    return pts, (loop_x - 0.08, (pts[1][1] + b.cy) / 2, "right")


def draw_flow(flow: Flow) -> Figure:
    """Draw ``flow`` on a new Figure sized to the chart (1 data unit = 1 inch)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyBboxPatch

    placed = _place(flow.boxes)
    routes = [_route(e, placed[e.src], placed[e.dst]) for e in flow.edges]
    # spread the arrows entering a box from above along its top, in the order of their sources
    entries: dict[str, list[int]] = {}
    for i, (e, r) in enumerate(zip(flow.edges, routes, strict=True)):
        if r in ("down", "side"):
            entries.setdefault(e.dst, []).append(i)
    entry_x: dict[int, float] = {}
    for dst, idx in entries.items():
        b = placed[dst]
        idx.sort(key=lambda i: placed[flow.edges[i].src].cx)
        step = min(0.3, b.w / (len(idx) + 1))
        for j, i in enumerate(idx):
            entry_x[i] = b.cx + (j - (len(idx) - 1) / 2) * step
    left = min(p.left for p in placed.values())
    right = max(p.right for p in placed.values())
    bottom = min(p.bottom for p in placed.values())
    n_loops = routes.count("loop")
    margin_left = _LOOP_GAP * (n_loops + 1) + (0.4 if n_loops else 0.0)
    x0, x1 = left - margin_left, right + 0.3
    y0, y1 = bottom - 0.3, 0.75
    fig = Figure(figsize=(x1 - x0, y1 - y0))
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_axis_off()
    ax.text(
        x0 + 0.2, y1 - 0.3, flow.title, ha="left", va="center", fontsize=_FONT + 3, weight="bold"
    )
    loops = 0
    for i, (e, route) in enumerate(zip(flow.edges, routes, strict=True)):
        a, b = placed[e.src], placed[e.dst]
        loop_x = left - _LOOP_GAP * (loops + 1)
        loops += int(route == "loop")
        side_free = not any(p.box.row == a.box.row and p.cx < a.cx for p in placed.values())
        pts, (lx, ly, ha) = _edge_points(route, a, b, entry_x.get(i, b.cx), loop_x, side_free)
        _arrow(ax, pts)
        if route == "loop" and e.label:
            ax.text(
                lx,
                ly,
                e.label,
                ha="right",
                va="center",
                fontsize=_FONT - 1,
                style="italic",
                color="#333333",
                rotation=90,
                rotation_mode="anchor",
            )
        else:
            _label(ax, lx, ly, e.label, ha)
    for p in placed.values():
        face, edge = _STYLE.get(p.box.kind, _STYLE["step"])
        shape = "square,pad=0" if p.box.kind == "test" else "round,pad=0,rounding_size=0.12"
        ax.add_patch(
            FancyBboxPatch(
                (p.left, p.bottom),
                p.w,
                p.h,
                boxstyle=shape,
                fc=face,
                ec=edge,
                lw=1.4 if p.box.kind in ("test", "stop") else 1.0,
                ls="--" if p.box.kind == "rule" else "-",
                zorder=3,
            )
        )
        ax.text(
            p.cx,
            p.cy,
            p.lines,
            ha="center",
            va="center",
            fontsize=_FONT,
            zorder=4,
            linespacing=1.25,
        )
    return fig


def flowchart_figure(design: Any) -> Figure:
    """The decision flow of ``design`` as a Matplotlib Figure (save it with ``savefig``).

    Dose-finding designs: BOIN (cohort -> observed DLT rate against lambda_e and lambda_d ->
    escalate / stay / de-escalate, the elimination rule Pr(p > target | data) > cutoff, stop at
    the maximum sample size and select the MTD by isotonic regression; Liu & Yuan 2015), 3+3
    (0/3 escalate, 1/3 add three, 1/6 escalate, >= 2 DLTs: the dose below is the MTD; Storer
    1989) and CRM (fit the model, recommend the dose closest to the target, apply the
    restrictions, next cohort; O'Quigley et al. 1990). Behaviours stacked on the design add one
    box each with their rule (e.g. "then expand with 6 at the RP2D"). Single-arm boundary
    designs: look -> compare the events with the boundaries -> continue or stop.

    Examples
    --------
    >>> from earlyphase.designs import BOIN
    >>> fig = flowchart_figure(BOIN(0.3, 5, n_cohorts=10).with_expansion(6))
    >>> any("expand with 6" in t.get_text() for t in fig.axes[0].texts)
    True
    """
    return draw_flow(design_flow(design))
