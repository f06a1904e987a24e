"""The statistical section of a protocol, assembled from a design.

:func:`protocol_section` asks the design for what it already knows (``describe()``, its
protocol table, its operating characteristics under each scenario) and adds what a protocol
says in words: the rule in prose, the stopping rules, the priors with their justification, the
sample-size justification, the schema figure, the references and a SPIRIT-DEFINE checklist.
The result, :class:`ProtocolSection`, holds every part as data; the writers in
:mod:`earlyphase.protocol.render` lay it out as .docx, .html or .md.

Every number in the section comes from the design object itself (the BOIN boundaries from its
``boundary_table()``, the selection percentages from its ``operating_characteristics``), so
the protocol cannot disagree with the decisions the conduct service will take.

References: Storer (1989) for 3+3; Liu & Yuan (2015) and Yuan et al. (2016) for BOIN;
O'Quigley, Pepe & Fisher (1990) and Cheung (2011) for CRM; Yap et al. (2017) for
dose-transition pathways; Simon (1989), Thall & Simon (1994), Lee & Liu (2008) and Ivanova,
Qaqish & Schell (2005) for single-arm designs; Yap et al. (2023) for SPIRIT-DEFINE (full
citations in :mod:`earlyphase.protocol.references`).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from earlyphase.protocol import headings as h
from earlyphase.protocol import references as ref
from earlyphase.protocol.checklist import checklist_frame, checklist_items

if TYPE_CHECKING:
    import pandas as pd

#: How a missing entry of a table is printed (as R BOIN's get.boundary prints it).
MISSING = "NA"

#: Readable headings of the columns designs use in their protocol and decision tables.
_BOIN_HEADINGS = {
    "n": "Number of patients treated at the current dose",
    "escalate_if_dlt_le": "Escalate if number of DLTs ≤",
    "deescalate_if_dlt_ge": "De-escalate if number of DLTs ≥",
    "eliminate_if_dlt_ge": "Eliminate the dose if number of DLTs ≥",
    "stop_trial_if_dose1_dlt_ge": "Stop the trial if number of DLTs at dose 1 ≥",
}
_DECISION_HEADINGS = {
    "state": "State",
    "path": "Outcomes so far",
    "n": "Patients",
    "events": "Events",
    "endpoint": "Endpoint",
    "action": "Decision",
    "next_dose": "Next dose",
    "reason": "Reason",
}


# --- small helpers -------------------------------------------------------------------------


def format_cell(value: Any) -> str:
    """A table entry as the protocol prints it: integers without decimals, other numbers to
    four significant digits, missing values as ``NA``."""
    import numpy as np
    import pandas as pd

    if value is None:
        return MISSING
    if isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    try:
        if pd.isna(value):
            return MISSING
    except (TypeError, ValueError):
        return str(value)
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        v = float(value)
        return str(int(v)) if v.is_integer() else f"{v:.4g}"
    return str(value)


def percent(p: float) -> str:
    """A probability as a percentage with one decimal: 0.31611 -> ``"31.6"``."""
    return f"{100.0 * float(p):.1f}"


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "?", "!")) else text + "."


def _wrappers(design: Any) -> list[Any]:
    """The behaviours stacked on a design, innermost first."""
    out = []
    while hasattr(design, "parent"):
        out.append(design)
        design = design.parent
    return out[::-1]


def _base(design: Any) -> Any:
    from earlyphase.figures.flowchart import base_design

    return base_design(design)


def _kind(design: Any) -> str:
    """``"boin"``, ``"3+3"``, ``"crm"``, ``"single-arm"`` or ``"other"`` for the base design."""
    from earlyphase.designs import BOIN, CRM, ThreePlusThree

    base = _base(design)
    if isinstance(base, BOIN):
        return "boin"
    if isinstance(base, ThreePlusThree):
        return "3+3"
    if isinstance(base, CRM):
        return "crm"
    if all(hasattr(base, a) for a in ("looks", "upper", "lower")):
        return "single-arm"
    return "other"


def _is_dose_finding(design: Any) -> bool:
    return hasattr(design, "n_doses") and hasattr(design, "doses")


_DESIGN_NAMES = {
    "boin": "BOIN",
    "3+3": "3+3",
    "crm": "CRM",
}


def _design_name(design: Any, kind: str) -> str:
    return _DESIGN_NAMES.get(kind, type(_base(design)).__name__)


def _plus(name: str, delta: float) -> str:
    """``"θS + 0.1"``, or just ``"θS"`` when the margin is 0."""
    return f"{name} + {delta:g}" if delta else name


def _beta(prior: Sequence[float]) -> str:
    return f"Beta({prior[0]:g}, {prior[1]:g})"


def _rule_text(design: Any) -> str:
    """What one behaviour adds to its parent's description."""
    from earlyphase.figures.flowchart import behaviour_rules

    rules = behaviour_rules(design)
    return rules[-1] if rules else ""


# --- the section ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ProtocolSection:
    """The statistical section of a protocol for one design, part by part.

    ``decision_table`` and ``oc_table`` are display tables: readable headings, every cell a
    string as printed. ``characteristics`` keeps each scenario's operating-characteristics
    result (``table()``, ``summary()``) for anyone who needs the unrounded numbers.
    """

    title: str
    design_name: str
    summary: str
    design_text: tuple[str, ...]
    rules_heading: str
    decision_table: pd.DataFrame
    decision_caption: str
    decision_notes: tuple[str, ...]
    decision_transposed: bool
    stopping_rules: tuple[str, ...]
    priors: tuple[str, ...]
    sample_size_text: tuple[str, ...]
    oc_table: pd.DataFrame
    oc_caption: str
    oc_notes: tuple[str, ...]
    flowchart_png: bytes
    flowchart_caption: str
    checklist: pd.DataFrame
    references: tuple[str, ...]
    scenarios: Mapping[str, tuple[float, ...]]
    characteristics: Mapping[str, Any] = field(repr=False)
    method: str = "exact"
    n_sims: int | None = None
    seed: int | None = None
    software: str = ""


@dataclass(frozen=True)
class DesignRules:
    """The parts of a protocol that state a design's rules, without its operating
    characteristics: what a report restates when it describes the design it ran."""

    design_name: str
    design_text: tuple[str, ...]
    decision_table: pd.DataFrame
    decision_caption: str
    decision_notes: tuple[str, ...]
    stopping_rules: tuple[str, ...]


def design_rules(design: Any) -> DesignRules:
    """The design's name, its rules in prose, its decision table (as the protocol prints it,
    with caption and notes) and its stopping rules: the same text the protocol section has,
    so a report and its protocol never describe the design differently."""
    kind = _kind(design)
    table, _, notes = _rules_table(design, kind)
    return DesignRules(
        design_name=_design_name(design, kind),
        design_text=tuple(_design_text(design, kind)),
        decision_table=table,
        decision_caption=_rules_caption(design, kind),
        decision_notes=tuple(notes),
        stopping_rules=tuple(_stopping_rules(design, kind)),
    )


def protocol_section(
    design: Any,
    scenarios: Mapping[str, Sequence[float]] | None = None,
    *,
    title: str | None = None,
    method: str = "exact",
    n_sims: int = 10_000,
    seed: int = 1,
) -> ProtocolSection:
    """Write the statistical section of a protocol for ``design``.

    Parameters
    ----------
    design
        A dose-finding design (``BOIN``, ``ThreePlusThree``, ``CRM``, with any behaviours
        stacked on it) or a single-arm boundary design (``SimonTwoStage``, ``ThallSimon``,
        ``PredictiveProbability``, ``ToxicityMonitor``).
    scenarios
        Name -> true rates: one DLT rate per dose for a dose-finding design, the true response
        (or toxicity) rate(s) for a single-arm design. None picks standard scenarios (for a
        dose-finding design, the target at the first, middle and last dose and all doses
        overly toxic; for a single-arm design, its null and alternative rates when it has them).
    title
        The section's title (default: the design's name).
    method, n_sims, seed
        How the operating characteristics are computed: ``"exact"`` (enumeration of every
        trial path) or ``"simulate"`` (``n_sims`` trials from ``seed``).

    The design prose follows Storer (1989) for 3+3, Liu & Yuan (2015) for BOIN and O'Quigley,
    Pepe & Fisher (1990) with Cheung (2011) for CRM; the rule table of a model-based design is
    its dose-transition pathways (Yap et al. 2017); the checklist maps the section to
    SPIRIT-DEFINE (Yap et al. 2023).

    Examples
    --------
    >>> from earlyphase.designs import BOIN
    >>> sec = protocol_section(BOIN(0.3, 3, n_cohorts=4), {"MTD at dose 2": [0.1, 0.3, 0.5]})
    >>> sec.decision_table.iloc[0, 0]
    'Escalate if number of DLTs ≤'
    """
    from earlyphase import __version__
    from earlyphase.figures.flowchart import flowchart_figure

    if method not in ("exact", "simulate"):
        raise ValueError(f"method: must be 'exact' or 'simulate', got {method!r}")
    kind = _kind(design)
    dose_finding = _is_dose_finding(design)
    chosen = _check_scenarios(design, scenarios, dose_finding)
    results = {
        name: _operating_characteristics(design, truth, method, n_sims, seed)
        for name, truth in chosen.items()
    }
    rules_heading = h.RULES if dose_finding else h.BOUNDARIES
    table, transposed, notes = _rules_table(design, kind)
    if dose_finding:
        oc_table = _dose_finding_oc_table(design, chosen, results)
        size_text = _dose_finding_sample_size(design, chosen, results, method)
    else:
        oc_table = _single_arm_oc_table(design, chosen, results)
        size_text = _single_arm_sample_size(design, chosen, results)
    software = f"earlyphase {__version__}"
    oc_notes = _oc_notes(design, dose_finding, method, n_sims, seed, software, results)
    priors = _priors(design, kind)
    name = _design_name(design, kind)
    png = _png(flowchart_figure(design))
    return ProtocolSection(
        title=title or f"Statistical considerations: {name} design",
        design_name=name,
        summary=str(design.describe()),
        design_text=tuple(_design_text(design, kind)),
        rules_heading=rules_heading,
        decision_table=table,
        decision_caption=_rules_caption(design, kind),
        decision_notes=tuple(notes),
        decision_transposed=transposed,
        stopping_rules=tuple(_stopping_rules(design, kind)),
        priors=tuple(priors),
        sample_size_text=tuple(size_text),
        oc_table=oc_table,
        oc_caption=(
            "Operating characteristics under each scenario"
            + (
                ": true DLT rates, percentage of trials selecting each dose, mean numbers of "
                "patients and DLTs per dose"
                if dose_finding
                else ": probability of stopping at each boundary and mean sample size"
            )
        ),
        oc_notes=tuple(oc_notes),
        flowchart_png=png,
        flowchart_caption=f"Decision flow of the {name} design",
        checklist=checklist_frame(
            checklist_items(
                dose_finding=dose_finding,
                has_prior=_has_prior(design, kind),
                has_paths=bool(getattr(design, "table_by_paths", False)),
                rules_heading=rules_heading,
            )
        ),
        references=tuple(_references(design, kind)),
        scenarios={k: tuple(v) for k, v in chosen.items()},
        characteristics=results,
        method=method,
        n_sims=n_sims if method == "simulate" else None,
        seed=seed if method == "simulate" else None,
        software=software,
    )


def _png(fig: Any) -> bytes:
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=150)
    return buf.getvalue()


# --- scenarios and operating characteristics -----------------------------------------------


def default_scenarios(design: Any) -> dict[str, tuple[float, ...]]:
    """Standard scenarios when none are given.

    Dose-finding: the target DLT rate at the first, middle and last dose with rates 1.5 times
    as large (or small) one dose away, and every dose above 1.4 times the target (BOIN's
    default phi2, the lowest rate deemed overly toxic; Liu & Yuan 2015). Designs without a
    target (3+3) use 0.25. Single-arm designs: their null and alternative rates (``p0``,
    ``p1``) or, for Thall-Simon, the standard therapy's prior mean and 15 and 30 points more.
    """
    if _is_dose_finding(design):
        k = int(design.n_doses)
        target = float(getattr(design, "target", None) or 0.25)

        def curve(j: int) -> tuple[float, ...]:
            return tuple(round(min(0.95, target * 1.5 ** (i - j)), 2) for i in range(k))

        out: dict[str, tuple[float, ...]] = {}
        for j in sorted({0, (k - 1) // 2, k - 1}):
            out[f"target at dose {j + 1}"] = curve(j)
        out["all doses overly toxic"] = curve(-1)
        return out
    base = _base(design)
    if hasattr(base, "p0") and hasattr(base, "p1"):
        return {"null rate p0": (float(base.p0),), "alternative rate p1": (float(base.p1),)}
    if hasattr(base, "standard_prior"):
        a, b = base.standard_prior
        m = a / (a + b)
        return {
            "same as standard therapy": (round(m, 3),),
            "15 points better": (round(min(m + 0.15, 0.99), 3),),
            "30 points better": (round(min(m + 0.30, 0.99), 3),),
        }
    if hasattr(base, "p0"):
        p0 = float(base.p0)
        return {"null rate p0": (p0,), "p0 + 0.2": (round(min(p0 + 0.2, 0.99), 3),)}
    if all(hasattr(base, a) for a in ("looks", "upper", "lower")):
        # a monitoring rule with no reference rate: a grid of true rates around usual limits
        return {f"true rate {r:g}": (r,) for r in (0.1, 0.2, 0.3, 0.4, 0.5)}
    raise ValueError("scenarios: this design has no standard scenarios; give the true rates")


def _check_scenarios(
    design: Any, scenarios: Mapping[str, Sequence[float]] | None, dose_finding: bool
) -> dict[str, tuple[float, ...]]:
    if scenarios is None:
        return default_scenarios(design)
    if not isinstance(scenarios, Mapping) or not scenarios:
        raise ValueError("scenarios: give a mapping of scenario name -> true rates")
    out: dict[str, tuple[float, ...]] = {}
    for name, truth in scenarios.items():
        try:
            values = tuple(float(v) for v in truth)
        except (TypeError, ValueError):
            raise ValueError(
                f"scenarios: {name!r} must be a sequence of probabilities, got {truth!r}"
            ) from None
        if not values or any(not (0.0 <= v <= 1.0) or math.isnan(v) for v in values):
            raise ValueError(f"scenarios: {name!r} rates must lie in [0, 1], got {list(values)}")
        if dose_finding and len(values) != int(design.n_doses):
            raise ValueError(
                f"scenarios: {name!r} has {len(values)} rates for {design.n_doses} doses"
            )
        out[str(name)] = values
    return out


def _operating_characteristics(
    design: Any,
    truth: tuple[float, ...],
    method: str,
    n_sims: int,
    seed: int,
) -> Any:
    """One scenario's operating characteristics; ``method``, ``n_sims`` and ``seed`` are
    passed only to designs whose ``operating_characteristics`` takes them (a design with exact
    characteristics only has no ``method`` keyword)."""
    fn = design.operating_characteristics
    params = inspect.signature(fn).parameters
    kwargs: dict[str, Any] = {}
    if "method" in params:
        kwargs["method"] = method
        if method == "simulate":
            kwargs["n_sims"] = n_sims
            kwargs["seed"] = seed
    elif method != "exact":
        raise ValueError(
            f"method: {type(design).__name__} has exact operating characteristics only"
        )
    arg: Any = list(truth)
    return fn(arg, **kwargs)


def _oc_frame(result: Any) -> pd.DataFrame:
    """The table of an operating-characteristics result, whatever its type."""
    import pandas as pd

    table = getattr(result, "table", None)
    if callable(table):
        return table()  # type: ignore[no-any-return]
    if isinstance(table, pd.DataFrame):
        return table
    if isinstance(result, pd.DataFrame):
        return result
    raise TypeError(f"operating characteristics: cannot tabulate {type(result).__name__}")


def _dose_finding_oc_table(
    design: Any, scenarios: Mapping[str, tuple[float, ...]], results: Mapping[str, Any]
) -> pd.DataFrame:
    """One block of rows per scenario, as dose-finding protocols print OCs: the true DLT rate,
    % selected, mean patients and mean DLTs per dose, with no selection and totals."""
    import pandas as pd

    k = int(design.n_doses)
    doses = [f"Dose {design.doses.label(i)}" for i in range(1, k + 1)]
    columns = ["Scenario", "Characteristic", *doses, "No dose selected", "Total"]
    rows = []
    for name, res in results.items():
        tab = _oc_frame(res)
        per_dose = tab[tab["dose"].astype(str) != "none"].reset_index(drop=True)
        none = tab[tab["dose"].astype(str) == "none"]
        p_none = float(none["prob_selected"].iloc[0]) if len(none) else 0.0
        truth = scenarios[name]
        n = per_dose["mean_patients"].astype(float)
        y = per_dose["mean_dlt"].astype(float)
        rows += [
            [name, "True DLT rate", *(f"{v:.2f}" for v in truth), "", ""],
            [
                "",
                "Selected (%)",
                *(percent(v) for v in per_dose["prob_selected"]),
                percent(p_none),
                "",
            ],
            ["", "Mean patients", *(f"{v:.1f}" for v in n), "", f"{n.sum():.1f}"],
            ["", "Mean DLTs", *(f"{v:.2f}" for v in y), "", f"{y.sum():.2f}"],
        ]
    return pd.DataFrame(rows, columns=columns)


#: Readable headings of the columns of a single-arm design's operating characteristics.
_SINGLE_ARM_OC = {
    "p": "True rate",
    "prob_upper": "Stop at the upper boundary (%)",
    "prob_lower": "Stop at the lower boundary (%)",
    "prob_upper_before_final": "Upper boundary before the last look (%)",
    "prob_lower_before_final": "Lower boundary before the last look (%)",
    "prob_no_crossing": "No boundary crossed (%)",
    "expected_n": "Mean sample size",
}


def _boundaries_present(design: Any) -> tuple[bool, bool]:
    """Whether a single-arm design has an upper and a lower boundary at some look."""
    import numpy as np

    base = _base(design)
    looks = np.asarray(base.looks)
    return bool(np.any(np.asarray(base.upper) <= looks)), bool(np.any(np.asarray(base.lower) >= 0))


def _single_arm_oc_table(
    design: Any, scenarios: Mapping[str, tuple[float, ...]], results: Mapping[str, Any]
) -> pd.DataFrame:
    import pandas as pd

    frames = []
    for name, res in results.items():
        tab = _oc_frame(res).copy()
        tab.insert(0, "scenario", name)
        frames.append(tab)
    raw = pd.concat(frames, ignore_index=True)
    has_upper, has_lower = _boundaries_present(design)
    # a boundary the design does not have is crossed with probability 0: no column for it
    absent = [w for w, on in (("prob_upper", has_upper), ("prob_lower", has_lower)) if not on]
    keep = [
        "scenario",
        *[
            c
            for c in _SINGLE_ARM_OC
            if c in raw.columns and not any(c.startswith(a) for a in absent)
        ],
    ]
    out = pd.DataFrame({"Scenario": raw["scenario"].astype(str)})
    for col in keep[1:]:
        values = raw[col].astype(float)
        if col.startswith("prob"):
            out[_SINGLE_ARM_OC[col]] = [percent(v) for v in values]
        elif col == "expected_n":
            out[_SINGLE_ARM_OC[col]] = [f"{v:.1f}" for v in values]
        else:
            out[_SINGLE_ARM_OC[col]] = [f"{v:.3g}" for v in values]
    return out


def _oc_notes(
    design: Any,
    dose_finding: bool,
    method: str,
    n_sims: int,
    seed: int,
    software: str,
    results: Mapping[str, Any],
) -> list[str]:
    notes = []
    if method == "exact":
        notes.append(
            "Exact probabilities: every possible course of the trial was enumerated with its "
            f"binomial probability under the scenario (no simulation error); computed with "
            f"{software}."
        )
    else:
        worst = 0.0
        for res in results.values():
            tab = _oc_frame(res)
            for col in [c for c in tab.columns if str(c).startswith("mc_se")]:
                worst = max(worst, float(tab[col].astype(float).max()))
        notes.append(
            f"Simulated: {n_sims:,} trials per scenario from seed {seed} with {software}; "
            f"Monte Carlo standard error of each percentage at most {100 * worst:.2f} points."
        )
    if dose_finding:
        notes.append(
            "Selected (%): trials in which the dose is recommended at the end (the MTD, or the "
            "RP2D after any expansion); No dose selected: trials stopped with no dose "
            "recommended. Mean patients and DLTs: averages over trials."
        )
    return notes


# --- the rule table ------------------------------------------------------------------------


def protocol_rules(design: Any) -> pd.DataFrame:
    """The rule table a protocol prints: the design's ``protocol_table()`` (BOIN boundaries,
    3+3 rules in words, CRM dose-transition pathways, single-arm boundaries per look), or
    its ``boundary_table()`` / ``decision_table()`` when it has none."""
    for name in ("protocol_table", "boundary_table", "decision_table"):
        fn = getattr(design, name, None)
        if callable(fn):
            return fn()  # type: ignore[no-any-return]
    raise TypeError(f"design: {type(design).__name__} has no decision table")


def rules_headings(design: Any, kind: str) -> dict[str, str]:
    """Readable headings for the columns of :func:`protocol_rules`."""
    if kind == "boin":
        return dict(_BOIN_HEADINGS)
    if kind == "single-arm":
        base = _base(design)
        event = str(getattr(base, "event_name", "events"))
        upper = str(getattr(base, "upper_meaning", "upper boundary"))
        lower = str(getattr(base, "lower_meaning", "lower boundary"))
        return {
            "n": "Patients evaluated",
            "lower_stop_if_le": f"{lower[:1].upper()}{lower[1:]} if {event} ≤",
            "upper_stop_if_ge": f"{upper[:1].upper()}{upper[1:]} if {event} ≥",
        }
    out = dict(_DECISION_HEADINGS)
    if kind in ("3+3", "crm"):
        out["events"] = "DLTs"
    return out


def _heading(column: str) -> str:
    """A column name as a heading: underscores to spaces, first letter capital (the rest
    kept, so that "DLTs" stays "DLTs")."""
    text = column.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _rules_table(design: Any, kind: str) -> tuple[pd.DataFrame, bool, list[str]]:
    """The display rule table, whether it is printed transposed (one column per number of
    patients, as R BOIN prints its boundaries), and its notes."""
    import pandas as pd

    raw = protocol_rules(design).reset_index(drop=True)
    names = rules_headings(design, kind)
    frame = raw.copy()
    # columns that add nothing to a printed rule: the state is the path in words, the
    # endpoint is the same on every row, the reason repeats the decision
    if "path" in frame.columns and frame["path"].notna().any() and "state" in frame.columns:
        frame = frame.drop(columns="state")
    for col in ("path", "endpoint", "reason"):
        if col not in frame.columns:
            continue
        values = frame[col].dropna().astype(str)
        redundant = values.empty or values.nunique() == 1
        if col == "reason" and "action" in frame.columns:
            redundant = redundant or bool(
                (frame["reason"].astype(str) == frame["action"].astype(str)).mean() > 0.5
            )
        if redundant:
            frame = frame.drop(columns=col)
    if kind == "single-arm":
        # a boundary the design does not have would print as a column of NA
        frame = frame[[c for c in frame.columns if frame[c].notna().any()]]
    display = pd.DataFrame(
        {
            names.get(str(c), _heading(str(c))): [format_cell(v) for v in frame[c]]
            for c in frame.columns
        }
    )
    notes = _rules_notes(design, kind)
    transposed = kind == "boin" and len(display) <= 12
    if transposed:
        first = display.columns[0]
        body = display.set_index(first).T
        body.insert(0, first, body.index.astype(str))
        header = [first, *[str(v) for v in display[first]]]
        display = pd.DataFrame(body.to_numpy(), columns=header).reset_index(drop=True)
    return display, transposed, notes


def _rules_caption(design: Any, kind: str) -> str:
    if kind == "boin":
        return (
            "BOIN dose-escalation and elimination boundaries by the number of patients treated "
            "at the current dose"
        )
    if kind == "3+3":
        return "3+3 dose-escalation rules"
    if kind == "crm" or bool(getattr(design, "table_by_paths", False)):
        return "Dose-transition pathways of the first two cohorts"
    if kind == "single-arm":
        return "Stopping boundaries at each look"
    return "Decision table"


def _rules_notes(design: Any, kind: str) -> list[str]:
    notes = []
    if kind == "boin":
        b = _base(design)
        notes.append(
            "Counts are of patients with a DLT among those treated at the current dose. "
            f"Escalate and de-escalate apply the interval rule (λe = {b.lambda_e:.4f}, "
            f"λd = {b.lambda_d:.4f}); 'Eliminate' removes the dose and all higher doses "
            f"(Pr(DLT rate > {b.target:g} | data) > {b.cutoff_eli:g}, Beta(1, 1) prior); "
            "NA: the rule cannot apply at that number of patients. Between the two "
            "boundaries, stay at the current dose."
        )
    elif kind == "3+3":
        notes.append("DLTs are counted among the patients treated at the current dose.")
    elif kind == "crm" or bool(getattr(design, "table_by_paths", False)):
        notes.append(
            "Each cohort is written as its dose level followed by one letter per patient: "
            "N, no DLT; T, DLT (e.g. '1NNN 2NTN'). Patients and DLTs are totals over the "
            "path; Next dose is the dose level given to the next cohort (NA: the trial "
            "stops). Presenting the model's decisions this way follows Yap et al. (2017)."
        )
    elif kind == "single-arm":
        notes.append("NA: no stopping for that reason at that look.")
    wrappers = _wrappers(design)
    if wrappers:
        notes.append(
            "The table shows the base design's rule; the added rules in the design and "
            "stopping-rule sections apply on top of it."
        )
    if _is_dose_finding(design) and design.doses.has_amounts:
        levels = "; ".join(design.doses.label(i) for i in range(1, int(design.n_doses) + 1))
        notes.append(f"Dose levels: {levels}.")
    return notes


# --- prose ---------------------------------------------------------------------------------


def _dose_levels(design: Any) -> str:
    k = int(design.n_doses)
    if design.doses.has_amounts:
        unit = f" {design.doses.unit}" if design.doses.unit else ""
        amounts = ", ".join(f"{v:g}" for v in design.doses.values)
        return f"{k} dose levels ({amounts}{unit}, numbered 1 to {k})"
    return f"{k} dose levels, numbered 1 to {k}"


def _design_text(design: Any, kind: str) -> list[str]:
    base = _base(design)
    if kind == "boin":
        out = _boin_text(base)
    elif kind == "3+3":
        out = _three_plus_three_text(base)
    elif kind == "crm":
        out = _crm_text(base)
    elif kind == "single-arm":
        out = _single_arm_text(base)
    else:
        out = [_sentence(f"The design is {base.describe()}")]
    out += [_behaviour_text(w) for w in _wrappers(design)]
    return out


def _boin_text(b: Any) -> list[str]:
    target = f"{b.target:g}"
    out = [
        f"Dose finding follows the Bayesian optimal interval (BOIN) design (Liu & Yuan 2015; "
        f"Yuan et al. 2016) with a target DLT rate φ = {target}, over {_dose_levels(b)}. "
        f"Patients are treated in cohorts of {b.cohort_size}, starting at dose level "
        f"{b.doses.label(b.start_dose)}, up to {b.n_cohorts} cohorts ({b.max_n} patients).",
        f"After each cohort, the observed DLT rate at the current dose, p̂ = (patients with a "
        f"DLT at the current dose) / (patients treated at the current dose), is compared with "
        f"two boundaries: if p̂ ≤ λe = {b.lambda_e:.4f} the next cohort is treated at the next "
        f"higher dose; if p̂ > λd = {b.lambda_d:.4f}, at the next lower dose; otherwise at "
        "the same dose. At the highest dose 'escalate' means stay, and at dose level 1 "
        "'de-escalate' means stay. Table 1 gives the same rule as numbers of patients with a "
        "DLT.",
        f"The boundaries are those that minimise the probability of a wrong escalation "
        f"decision when the highest DLT rate deemed sub-therapeutic is φ1 = {b.phi1:g} and "
        f"the lowest deemed overly toxic is φ2 = {b.phi2:g} (Liu & Yuan 2015, equations 2 and "
        "3); they do not depend on the cohort size or the number of doses.",
        f"To protect patients from overly toxic doses, once at least three patients have been "
        f"treated at a dose, the dose and all higher doses are eliminated if Pr(DLT rate > "
        f"{target} | data) > {b.cutoff_eli:g} under a Beta(1, 1) prior; eliminated doses are "
        "not given again, and if dose level 1 is eliminated the trial stops with no dose "
        "selected.",
    ]
    if b.extra_safe:
        out.append(
            f"An additional safety rule stops the trial if, with at least three patients at "
            f"dose level 1, Pr(DLT rate at dose 1 > {target} | data) > "
            f"{b.cutoff_eli - b.offset:g} (the elimination cut-off {b.cutoff_eli:g} less "
            f"{b.offset:g})."
        )
    if b.n_earlystop is not None:
        out.append(
            f"The trial also stops early once {b.n_earlystop} patients have been treated at "
            "the dose the rule would give next."
        )
    bound = (
        f" Only doses whose isotonic estimate is at most λd = {b.lambda_d:.4f} can be selected."
        if b.bound_mtd
        else ""
    )
    out.append(
        "At the end of the trial, the MTD is selected by isotonic regression of the observed "
        "DLT rates of the doses given and not eliminated: the MTD is the dose whose isotonic "
        f"estimate is closest to {target} (ties are broken towards the higher dose when the "
        "estimate is below the target and towards the lower dose otherwise, as R BOIN's "
        f"select.mtd does).{bound}"
    )
    return out


def _three_plus_three_text(d: Any) -> list[str]:
    k = int(d.n_doses)
    out = [
        f"Dose escalation follows the 3+3 design (Storer 1989) over {_dose_levels(d)}, "
        f"starting at dose level {d.doses.label(d.start_dose)}. Patients are enrolled in "
        "cohorts of three.",
        "If none of the three patients treated at a dose has a DLT, the next cohort is treated "
        "at the next higher dose. If one of the three has a DLT, three more patients are "
        "treated at the same dose, and escalation continues if at most one of these six has a "
        "DLT. If the highest dose is cleared in this way (0 of 3, or at most 1 of 6, with a "
        "DLT), escalation stops and the highest dose is the MTD.",
    ]
    if d.deescalation:
        out.append(
            "If two or more patients treated at a dose have a DLT, the dose exceeds the MTD "
            "and the next cohort is treated at the dose below when fewer than six patients "
            "have been treated there (the variant of Korn et al. 1994); otherwise escalation "
            "stops. The MTD is the highest dose at which six patients were treated with at "
            "most one DLT; if there is none, no dose is selected."
        )
    else:
        out.append(
            "If two or more patients treated at a dose (of three or of six) have a DLT, the "
            "dose exceeds the MTD: escalation stops and the next lower dose is the MTD (if this "
            "happens at dose level 1, no dose is selected)."
        )
    out.append(
        f"At most six patients are treated at each dose, so escalation enrols between 3 and "
        f"{6 * k} patients."
    )
    return out


def _crm_text(c: Any) -> list[str]:
    skel = ", ".join(f"{v:g}" for v in c.skeleton)
    if c.model == "empiric":
        model = (
            "the empiric (power) model p_d = s_d^exp(β), where s_d is the skeleton value of dose "
            "level d"
        )
    else:
        model = (
            f"the one-parameter logistic model logit(p_d) = {c.intercept:g} + exp(β) x_d, with "
            f"x_d = logit(s_d) − {c.intercept:g} and s_d the skeleton value of dose level d"
        )
    out = [
        "Dose finding follows the Bayesian continual reassessment method (CRM; O'Quigley, Pepe "
        "& Fisher 1990) as implemented in R dfcrm (Cheung 2011), with a target DLT rate "
        f"φ = {c.target:g}, over {_dose_levels(c)}. Patients are treated in cohorts of "
        f"{c.cohort_size}, starting at dose level {c.doses.label(c.start_dose)}, up to "
        f"N = {c.n_patients} patients.",
        f"The DLT probability p_d of dose level d is described by {model}. The skeleton, the "
        f"prior guesses of the DLT rates, is ({skel}); β has a normal prior with mean 0 and "
        f"variance {c.prior_sd**2:.4g}.",
        "After each cohort, the posterior mean of β is computed from all patients' data, each "
        "dose's DLT rate is estimated by the model at that value, and the recommended dose is "
        f"the one whose estimated DLT rate is closest to {c.target:g} (the highest dose if all "
        "estimates are below the target, dose level 1 if all are above).",
    ]
    rules = []
    if c.no_skipping:
        rules.append(
            "no untried dose is skipped: escalation is by at most one level above the current dose"
        )
    if c.coherence:
        rules.append(
            "coherence (Cheung 2005): no escalation right after a cohort whose observed DLT "
            "rate is at or above the target"
        )
    if rules:
        out.append(
            "The next cohort receives the recommended dose, with these restrictions: "
            + "; ".join(rules)
            + ". Table 1 lists the resulting dose-transition pathways of the first cohorts "
            "(Yap et al. 2017)."
        )
    out.append(
        f"When N = {c.n_patients} patients have been treated, the MTD is the dose the model "
        "recommends from all the data (without the restrictions)."
    )
    return out


def _single_arm_text(d: Any) -> list[str]:
    from earlyphase.figures.flowchart import looks_text

    event = str(getattr(d, "event_name", "events"))
    cls = type(d).__name__
    out = []
    if cls == "SimonTwoStage":
        out.append(
            f"The trial follows Simon's two-stage design (Simon 1989) with uninteresting "
            f"response rate p0 = {d.p0:g} and desirable rate p1 = {d.p1:g}. In stage 1, "
            f"{d.n1} patients are treated; if {d.r1} or fewer respond, the trial stops for "
            f"futility. Otherwise {d.n - d.n1} more are treated, and the treatment is declared "
            f"promising if more than {d.r} of the {d.n} patients respond."
        )
        rates = getattr(d, "error_rates", None)
        if callable(rates):
            e = rates()
            out.append(
                f"The design's type I error is {e['alpha']:.3f} and its power "
                f"{e['power']:.3f}; under p0 the trial stops after stage 1 with probability "
                f"{e['pet0']:.3f} and enrols {e['en0']:.1f} patients on average."
            )
    elif cls == "ThallSimon":
        a_s, b_s = d.standard_prior
        a_e, b_e = d.experimental_prior
        rules = []
        if d.p_upper is not None:
            rules.append(
                f"declare the treatment promising when Pr(θE > {_plus('θS', d.delta_efficacy)} "
                f"| data) ≥ {d.p_upper:g}"
            )
        if d.p_lower is not None:
            rules.append(
                f"stop for futility when Pr(θE > {_plus('θS', d.delta)} | data) ≤ {d.p_lower:g}"
            )
        out.append(
            "The trial follows the Bayesian design of Thall & Simon (1994): the experimental "
            f"rate θE (prior Beta({a_e:g}, {b_e:g})) is compared with the standard therapy's "
            f"rate θS (prior Beta({a_s:g}, {b_s:g})), and after each patient from "
            f"n = {d.n_min} to {d.n_max} the design will " + " and ".join(rules) + "."
        )
    elif cls == "PredictiveProbability":
        rules = []
        if d.theta_lower is not None:
            rules.append(f"stop for futility if it is ≤ {d.theta_lower:g}")
        if d.theta_upper is not None:
            rules.append(f"stop for efficacy if it is ≥ {d.theta_upper:g}")
        out.append(
            "The trial follows the predictive-probability design of Lee & Liu (2008): with a "
            f"{_beta(d.prior)} prior on the response rate, the predictive probability that the "
            f"trial will end (at n = {d.n_max}) with Pr(rate > {d.p0:g} | data) ≥ "
            f"{d.theta_t:g} is computed at each look; the design will " + " and ".join(rules) + "."
        )
    elif cls == "ToxicityMonitor":
        desc = str(getattr(d, "description", ""))
        source = (
            "Ivanova, Qaqish & Schell (2005)"
            if "Ivanova" in desc
            else "Thall, Simon & Estey (1995)"
        )
        out.append(f"Toxicity is monitored continuously with the boundaries of {source}: {desc}.")
    out.append(
        f"Looks are at {looks_text(d.looks)}. At each look the number of {event} among the "
        "patients evaluated is compared with the boundaries of Table 1; the trial stops when "
        "a boundary is reached and otherwise continues to the next look, ending at the last "
        "look."
    )
    return out


def _behaviour_text(w: Any) -> str:
    cls = type(w).__name__
    if cls == "Expansion":
        text = (
            f"Once escalation has selected a dose (the recommended phase 2 dose, RP2D), {w.n} "
            f"further patients are treated at it in cohorts of {w.expansion_cohort} (expansion "
            "cohort)."
        )
        if w.tox_limit is not None:
            text += (
                f" After each expansion cohort, the expansion stops and the RP2D is withdrawn "
                f"if Pr(DLT rate > {w.tox_limit:g} | all patients treated at the RP2D) > "
                f"{w.cutoff:g} under a {_beta(w.prior)} prior."
            )
        return text
    if cls == "StopAtN":
        return (
            f"The trial stops once {w.n} patients have been treated, and the dose the design "
            "selects from the data so far is recommended."
        )
    if cls == "StopWhenNAtDose":
        where = (
            "the dose the rule would give next"
            if w.dose == "recommended"
            else "any dose"
            if w.dose == "any"
            else f"dose level {w.dose}"
        )
        return f"The trial stops once {w.n} patients have been treated at {where}."
    if cls == "DontSkipDoses":
        moves = [
            m
            for m, on in (("escalating", w.when_escalating), ("de-escalating", w.when_deescalating))
            if on
        ]
        return (
            "Doses are not skipped: the dose moves by at most one level at a time when "
            + " or ".join(moves or ["never"])
            + "."
        )
    if cls == "StopWhenTooToxic":
        return (
            f"The trial stops with no dose selected if Pr(DLT rate at dose level 1 > "
            f"{w.threshold:g} | data) > {w.confidence:g} under a {_beta(w.prior)} prior."
        )
    return _sentence(f"In addition: {_rule_text(w)}")


def _stopping_rules(design: Any, kind: str) -> list[str]:
    base = _base(design)
    out: list[str] = []
    if kind == "boin":
        out += [
            f"Maximum sample size: the trial ends when {base.max_n} patients ({base.n_cohorts} "
            f"cohorts of {base.cohort_size}) have been treated.",
            f"Safety: the trial stops with no dose selected if dose level 1 is eliminated "
            f"(Pr(DLT rate > {base.target:g} | data) > {base.cutoff_eli:g} with at least three "
            "patients treated there).",
        ]
        if base.extra_safe:
            out.append(
                f"Extra safety: stop if Pr(DLT rate at dose 1 > {base.target:g} | data) > "
                f"{base.cutoff_eli - base.offset:g} with at least three patients at dose 1."
            )
        if base.n_earlystop is not None:
            out.append(f"Early stop: {base.n_earlystop} patients at the dose the rule gives next.")
    elif kind == "3+3":
        out += [
            "Escalation stops when two or more patients at a dose have a DLT"
            + (
                " and the dose below already has six patients (or there is none)"
                if base.deescalation
                else ""
            )
            + ", or when the highest dose is cleared.",
            "If the MTD would be below dose level 1, the trial stops with no dose selected.",
            f"At most six patients are treated per dose ({6 * int(base.n_doses)} in all).",
        ]
    elif kind == "crm":
        out.append(f"The trial ends when N = {base.n_patients} patients have been treated.")
        if not any(type(w).__name__ == "StopWhenTooToxic" for w in _wrappers(design)):
            out.append(
                "The CRM has no early stopping for toxicity of its own; the safety review "
                "committee may stop the trial on clinical grounds."
            )
    elif kind == "single-arm":
        event = str(getattr(base, "event_name", "events"))
        import numpy as np

        looks = np.asarray(base.looks)
        if bool(np.any(np.asarray(base.upper) <= looks)):
            out.append(
                f"Stop at a look when the number of {event} reaches the upper boundary: "
                f"{getattr(base, 'upper_meaning', 'stop')}."
            )
        if bool(np.any(np.asarray(base.lower) >= 0)):
            out.append(
                f"Stop at a look when the number of {event} is at or below the lower "
                f"boundary: {getattr(base, 'lower_meaning', 'stop')}."
            )
        out.append(f"Maximum sample size: {int(looks[-1])} patients.")
    for w in _wrappers(design):
        cls = type(w).__name__
        if cls == "DontSkipDoses":
            continue
        if cls == "Expansion":
            text = f"The trial ends when the expansion cohort of {w.n} is complete"
            if w.tox_limit is not None:
                text += (
                    f", or earlier if Pr(DLT rate > {w.tox_limit:g} | data at the RP2D) > "
                    f"{w.cutoff:g} (RP2D withdrawn)"
                )
            out.append(text + ".")
        else:
            out.append(_behaviour_text(w))
    return out


def _wrapper_prior(w: Any) -> str | None:
    cls = type(w).__name__
    if cls == "Expansion" and w.tox_limit is not None:
        return (
            f"Expansion safety rule: {_beta(w.prior)} prior on the DLT rate at the RP2D"
            + (
                ", the uniform prior, so that the rule rests on the patients' data alone"
                if tuple(w.prior) == (1.0, 1.0)
                else ""
            )
            + f"; the rule stops when Pr(DLT rate > {w.tox_limit:g}) > {w.cutoff:g}."
        )
    if cls == "StopWhenTooToxic":
        return (
            f"Lowest-dose safety rule: {_beta(w.prior)} prior on the DLT rate at dose level 1"
            + (", the uniform prior" if tuple(w.prior) == (1.0, 1.0) else "")
            + "."
        )
    return None


def _has_prior(design: Any, kind: str) -> bool:
    """Whether the design (or a behaviour on it) uses a model or a prior distribution."""
    if any(_wrapper_prior(w) for w in _wrappers(design)):
        return True
    if kind == "3+3":
        return False
    if kind == "single-arm":
        base = _base(design)
        cls = type(base).__name__
        return cls in ("ThallSimon", "PredictiveProbability") or (
            cls == "ToxicityMonitor" and "prior" in str(getattr(base, "description", ""))
        )
    return True


def _priors(design: Any, kind: str) -> list[str]:
    base = _base(design)
    out: list[str] = []
    if kind == "boin":
        out += [
            f"The interval boundaries λe = {base.lambda_e:.4f} and λd = {base.lambda_d:.4f} "
            "come from equal prior probabilities (one third each) that the current dose's DLT "
            f"rate is φ1 = {base.phi1:g}, φ = {base.target:g} or φ2 = {base.phi2:g} (Liu & "
            "Yuan 2015); no model of the dose-toxicity curve is assumed.",
            "The elimination rule uses a Beta(1, 1) (uniform) prior on each dose's DLT rate. "
            "It is non-informative, so that a dose is eliminated on the trial's data alone; it "
            "is the prior of R BOIN's get.boundary.",
        ]
    elif kind == "3+3":
        out.append("The 3+3 design is rule-based: it uses no model and no prior distribution.")
    elif kind == "crm":
        var = base.prior_sd**2
        default = (
            " This is the default of R dfcrm (prior standard deviation √1.34; Cheung 2011)."
            if abs(var - 1.34) < 1e-9
            else ""
        )
        model = "empiric (power)" if base.model == "empiric" else "one-parameter logistic"
        out += [
            f"Model: {model}, as described in the design section, with skeleton "
            f"({', '.join(f'{v:g}' for v in base.skeleton)}).",
            f"Prior: β ~ Normal(0, {var:.4g}). The prior is centred at 0 so that, before any "
            "data, the model's DLT rates are the skeleton values; the variance sets how fast "
            f"the data move the estimates away from them.{default}",
            "The skeleton and prior variance should be calibrated to give good operating "
            "characteristics over a range of plausible scenarios (Lee & Cheung 2009); the "
            "operating characteristics below show the behaviour of the values chosen.",
        ]
    elif kind == "single-arm":
        cls = type(base).__name__
        if cls == "ThallSimon":
            a_s, b_s = base.standard_prior
            a_e, b_e = base.experimental_prior
            out += [
                f"Standard therapy: θS ~ Beta({a_s:g}, {b_s:g}), mean {a_s / (a_s + b_s):.3f} "
                f"and effective sample size {a_s + b_s:g}: informative, representing the "
                "historical data on standard therapy (Thall & Simon 1994).",
                f"Experimental therapy: θE ~ Beta({a_e:g}, {b_e:g}), mean "
                f"{a_e / (a_e + b_e):.3f} and effective sample size {a_e + b_e:g}: vague, so "
                "that the trial's own data dominate, as Thall & Simon (1994) recommend.",
            ]
        elif cls == "PredictiveProbability":
            a, b = base.prior
            out.append(
                f"Response rate: {_beta(base.prior)} prior (mean {a / (a + b):.3f}, effective "
                f"sample size {a + b:g}), used for the posterior and predictive probabilities "
                "(Lee & Liu 2008)."
            )
        elif cls == "ToxicityMonitor":
            out.append(f"Boundary: {getattr(base, 'description', '')}.")
        else:
            out.append(f"The {cls} design is frequentist: it uses no prior distribution.")
    out += [p for p in (_wrapper_prior(w) for w in _wrappers(design)) if p]
    return out


def _dose_finding_sample_size(
    design: Any,
    scenarios: Mapping[str, tuple[float, ...]],
    results: Mapping[str, Any],
    method: str,
) -> list[str]:
    target = getattr(design, "target", None)
    summaries = {name: res.summary() for name, res in results.items()}
    mean_n = {name: float(s["mean_total_n"]) for name, s in summaries.items()}
    lo = min(mean_n, key=mean_n.__getitem__)
    hi = max(mean_n, key=mean_n.__getitem__)
    how = (
        "computed exactly by enumerating every possible course of the trial"
        if method == "exact"
        else "estimated by simulation"
    )
    out = [
        f"The maximum sample size is {int(design.max_patients)} patients. As usual for "
        "dose-finding trials, it is justified by the design's operating characteristics rather "
        f"than by a power calculation: Table 2 gives them under {len(scenarios)} scenarios of "
        f"true DLT rates, {how}.",
        f"The mean total sample size ranges from {mean_n[lo]:.1f} (scenario '{lo}') to "
        f"{mean_n[hi]:.1f} (scenario '{hi}').",
    ]
    if target is not None:
        found = []
        toxic = []
        for name, truth in scenarios.items():
            sel = _selection(results[name])
            gaps = [abs(p - target) for p in truth]
            if min(truth) >= 1.4 * target:
                toxic.append(f"{percent(sel[-1])}% of trials under '{name}'")
            elif min(gaps) <= 0.05:
                best = [i for i, g in enumerate(gaps) if g <= min(gaps) + 1e-12]
                found.append(f"{percent(sum(sel[i] for i in best))}% of trials under '{name}'")
        if found:
            out.append(
                f"The dose whose true DLT rate is closest to the target {target:g} is selected "
                f"in {', '.join(found)}."
            )
        if toxic:
            out.append(
                "When every dose is overly toxic (at least 1.4 times the target), no dose is "
                f"selected in {', '.join(toxic)}."
            )
    else:
        out.append(
            "No dose is selected in "
            + ", ".join(
                f"{percent(_selection(res)[-1])}% of trials under '{name}'"
                for name, res in results.items()
            )
            + "."
        )
    return out


def _selection(result: Any) -> list[float]:
    """P(select dose 1..K), then P(no dose), from an operating-characteristics result."""
    tab = _oc_frame(result)
    doses = tab[tab["dose"].astype(str) != "none"]["prob_selected"].astype(float).tolist()
    none = tab[tab["dose"].astype(str) == "none"]["prob_selected"].astype(float).tolist()
    return [*doses, none[0] if none else 0.0]


def _single_arm_sample_size(
    design: Any, scenarios: Mapping[str, tuple[float, ...]], results: Mapping[str, Any]
) -> list[str]:
    base = _base(design)
    n_max = int(base.looks[-1])
    has_upper, has_lower = _boundaries_present(design)
    parts = []
    for name, res in results.items():
        tab = _oc_frame(res)
        for _, row in tab.iterrows():
            bits = []
            if "prob_upper" in tab.columns and has_upper:
                bits.append(f"{percent(row['prob_upper'])}% stop at the upper boundary")
            if "prob_lower" in tab.columns and has_lower:
                bits.append(f"{percent(row['prob_lower'])}% stop at the lower boundary")
            if "expected_n" in tab.columns:
                bits.append(f"mean sample size {float(row['expected_n']):.1f}")
            parts.append(f"'{name}' ({', '.join(bits)})")
    return [
        f"The maximum sample size is {n_max} patients. Table 2 gives the design's exact "
        f"operating characteristics under {len(scenarios)} scenarios: " + "; ".join(parts) + "."
    ]


def _references(design: Any, kind: str) -> list[str]:
    base = _base(design)
    out: list[str] = []
    if kind == "3+3":
        out.append(ref.STORER_1989)
        if base.deescalation:
            out.append(ref.KORN_1994)
    elif kind == "boin":
        out += [ref.LIU_YUAN_2015, ref.YUAN_2016]
    elif kind == "crm":
        out += [ref.OQUIGLEY_1990, ref.CHEUNG_2011]
        if base.coherence:
            out.append(ref.CHEUNG_2005)
        out += [ref.LEE_CHEUNG_2009, ref.YAP_2017]
    elif kind == "single-arm":
        cls = type(base).__name__
        desc = str(getattr(base, "description", ""))
        out += {
            "SimonTwoStage": [ref.SIMON_1989],
            "ThallSimon": [ref.THALL_SIMON_1994],
            "PredictiveProbability": [ref.LEE_LIU_2008],
            "ToxicityMonitor": [
                ref.IVANOVA_2005 if "Ivanova" in desc else ref.THALL_SIMON_ESTEY_1995
            ],
        }.get(cls, [])
    if kind != "crm" and bool(getattr(design, "table_by_paths", False)):
        out.append(ref.YAP_2017)
    out.append(ref.SPIRIT_DEFINE_2023)
    return out
