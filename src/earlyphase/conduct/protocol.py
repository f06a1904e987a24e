"""The protocol's design as the conduct service uses it.

Dose-finding designs (3+3, BOIN, CRM, the interval designs) are used as they are: the service
hands them the outcome string (``"1NNN 2NTN"``) once every subject of the cohort is evaluated,
and they return the next cohort's dose. The designs of :data:`WHILE_PENDING` (TITE-CRM,
TITE-BOIN, rolling six) decide while subjects are still inside their DLT window: the service
gives them each subject's follow-up and pending status from the dated record
(:mod:`earlyphase.conduct.timeline`). Single-arm phase II
and monitoring designs (Thall-Simon, Simon two-stage, predictive probability, Bayesian or
Ivanova toxicity monitoring) decide from ``x`` events in ``n`` patients at their looks;
:class:`SingleArmProtocol` adapts them: one dose level, one "cohort" per stretch of patients
between two looks, and after each look a decision (continue, or stop at a boundary, or end of
trial) that is frozen and signed exactly like a dose decision. Every interim analysis is
therefore on record with the statistician's signature before enrolment resumes.

The endpoint is the DLT assessment for ``tox-monitor`` and the recorded response otherwise:
a subject is evaluated once a response is recorded at ``endpoint_visit`` (any visit if not
given) and counts as a responder when its value is in ``responders`` (default CR and PR).
BOP2 (Zhou, Lee & Yuan 2017) runs the same way; with its joint null (four probabilities) it
monitors toxicity too, from the DLT assessments, and a subject is evaluated once both the
response and the DLT outcome are known.

BOIN12 (Lin et al. 2020) is a dose-finding design on two outcomes: each subject's letter is
``N``, ``E`` (efficacy without DLT), ``T`` (DLT without efficacy) or ``B`` (both), efficacy
being a responder by the same ``responders`` and ``endpoint_visit``; a subject is evaluated
once the DLT outcome (a DLT, or the end-of-window assessment) and the response are both
recorded, and the next cohort waits for every subject of the cohort.

BOIN and the 3+3 with the backfill settings (``backfill_window``...: BF-BOIN, Zhao et al. 2024)
run as :class:`~earlyphase.designs.backfill.Backfill`: while the escalation cohort is full and
its DLT outcomes are pending, the next subject is backfilled at the dose the design opens
(:mod:`earlyphase.conduct.enrolment`); ``responders`` and ``endpoint_visit`` say which
recorded responses open a dose when ``backfill_require_response`` is on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from earlyphase.conduct.cache import MAX_WORK
from earlyphase.designs.backfill import Backfill
from earlyphase.designs.boin12 import BOIN12
from earlyphase.designs.bop2 import BOP2
from earlyphase.designs.contract import Decision
from earlyphase.designs.rolling_six import RollingSix
from earlyphase.designs.settings import (
    BACKFILL,
    BACKFILL_DESIGNS,
    DOSE_FINDING,
    PROTOCOL,
    RESPONSES,
    Setting,
    coerce,
    design_key,
)
from earlyphase.designs.settings import SINGLE_ARM as _SINGLE_ARM
from earlyphase.designs.spec import (
    TIMED_DESIGNS,
    build_backfill,
    build_design,
    build_dose_finding,
    build_phase2,
)
from earlyphase.designs.tite_boin import TITEBOIN
from earlyphase.designs.tite_crm import TITECRM

#: Designs the conduct service runs as a one-dose trial with looks as cohorts.
SINGLE_ARM = (*_SINGLE_ARM, "bop2")
#: Dose-finding designs on toxicity and efficacy together (the optimal biological dose).
PHASE12 = ("boin12",)
#: Every design the conduct service runs: every dose-finding design (those deciding while
#: subjects are pending included, and BOIN or 3+3 with backfill), BOIN12, and the single-arm
#: designs (BOP2 included).
CONDUCT_DESIGNS = (*DOSE_FINDING, *PHASE12, *SINGLE_ARM)
#: Designs whose protocol defines a response (``responders``, ``endpoint_visit``); BOIN and
#: 3+3 take them too when backfill is on (its ``backfill_require_response``).
RESPONSE_DESIGNS = ("thall-simon", "simon", "predictive", "bop2", "boin12")
#: Work a BOP2 design's grid search may take in the service: the exact recursion touches about
#: N^2 (N^3 with toxicity) cells per boundary set, and about 7e7 of them take a second, so
#: this bounds a build to a few seconds (a search over every boundary set of the grid).
MAX_BOP2_WORK = 5 * MAX_WORK
#: Distinct boundary sets a BOP2 grid search meets at most in practice (1,500 for N = 100).
_BOP2_SETS = 600
#: Dose-finding designs that decide while subjects are still inside their DLT window.
WHILE_PENDING = TIMED_DESIGNS
#: Designs with a DLT window of their own (``window``), which must be the protocol's.
WITH_WINDOW = ("tite-crm", "tite-boin")
__all__ = [
    "CONDUCT_DESIGNS",
    "PHASE12",
    "RESPONSES",
    "RESPONSE_DESIGNS",
    "SINGLE_ARM",
    "WHILE_PENDING",
    "WITH_WINDOW",
    "ResponseRule",
    "SingleArmProtocol",
    "backfill_on",
    "build_protocol",
    "decides_while_pending",
    "is_backfill",
    "is_phase12",
    "pending_rule",
    "response_rule",
    "service_settings",
    "uses_responses",
]


@dataclass(frozen=True)
class ResponseRule:
    """Which recorded response is a subject's efficacy outcome: the first one recorded at
    ``visit`` (any visit when None), a responder when its value is in ``responders``."""

    responders: tuple[str, ...] = ("CR", "PR")
    visit: str | None = None

    def text(self) -> str:
        where = f"at {self.visit}" if self.visit else "at any visit"
        return f"a response recorded {where} (responders: {', '.join(self.responders)})"


def backfill_on(spec: Mapping[str, Any]) -> bool:
    """Whether a BOIN or 3+3 trial's settings switch backfill on (any backfill setting)."""
    return any(spec.get(s.name) is not None for s in BACKFILL)


def service_settings(design: str) -> tuple[Setting, ...]:
    """The settings the service takes for ``design`` besides the registry's own: the
    protocol's response (``responders``, ``endpoint_visit``) for the designs counting
    responses, and the backfill group (with the response, for ``backfill_require_response``)
    for BOIN and 3+3."""
    if design in BACKFILL_DESIGNS:
        return (*BACKFILL, *PROTOCOL)
    if design in RESPONSE_DESIGNS:
        return PROTOCOL
    return ()


def response_rule(design: Any, spec: Mapping[str, Any] | None) -> ResponseRule:
    """The trial's response rule: the single-arm protocol's own, or the stored settings'
    (checked when the trial was created; the defaults when not given)."""
    if isinstance(design, SingleArmProtocol):
        return ResponseRule(design.responders, design.endpoint_visit)
    spec = spec or {}
    responders = spec.get("responders")
    visit = spec.get("endpoint_visit")
    return ResponseRule(
        tuple(coerce(PROTOCOL[0], responders)) if responders is not None else ("CR", "PR"),
        str(visit).strip() if visit is not None else None,
    )


def is_backfill(design: Any) -> bool:
    """Whether the trial backfills cleared lower doses (BF-BOIN, Zhao et al. 2024)."""
    return isinstance(design, Backfill)


def is_phase12(design: Any) -> bool:
    """Whether the design weighs toxicity and efficacy to find the OBD (BOIN12)."""
    return isinstance(design, BOIN12)


def uses_responses(design: Any) -> bool:
    """Whether a recorded response feeds the design's decisions or its backfill."""
    if isinstance(design, SingleArmProtocol):
        return design.endpoint in ("response", "both")
    if isinstance(design, Backfill):
        return design.require_response
    return isinstance(design, BOIN12)


def decides_while_pending(design: Any) -> bool:
    """Whether ``design`` may recommend the next dose while subjects are pending."""
    return isinstance(design, TITECRM | TITEBOIN | RollingSix)


def pending_rule(design: Any) -> str:
    """The design's rule for subjects still in their DLT window, in the words a coordinator
    and a statistician read on the dashboard and the sign-off page."""
    if isinstance(design, TITECRM):
        weight = (
            "follow-up / window (linear weight)"
            if design.scheme == "linear"
            else "the adaptive weight through the times to DLT seen"
        )
        return (
            "TITE-CRM: the next dose may be recommended while subjects are pending; a pending "
            f"subject without DLT counts with weight {weight}, a subject with a DLT or who "
            "completed the window counts fully."
        )
    if isinstance(design, TITEBOIN):
        return (
            "TITE-BOIN: the next cohort may be dosed while subjects are pending, their missing "
            "outcomes imputed from their follow-up; accrual is suspended while more than "
            f"{design.max_pending:g} of the subjects at the current dose are pending (unless "
            "the DLTs seen already force de-escalation)."
        )
    if isinstance(design, RollingSix):
        return (
            "Rolling six: two to six subjects are enrolled at a dose while others are pending; "
            "each new subject is placed by the numbers enrolled, with DLT, and pending at the "
            "current dose (Skolnik et al. 2008, Table 1); accrual is suspended when six are "
            "enrolled and the pending assessments could change the verdict."
        )
    if isinstance(design, Backfill):
        return (
            "Backfill (BF-BOIN, Zhao et al. 2024): the next escalation cohort waits until every "
            "subject of the cohort is evaluated for DLT; meanwhile each arriving subject is "
            "backfilled at a cleared lower dose the design opens (safe, below the current "
            f"dose, fewer than {design.cap_per_dose} treated there"
            + (", a response seen there" if design.require_response else "")
            + "). A backfill subject's outcome joins the decisions once known (a DLT, or the "
            "end-of-window assessment); the escalation never waits for it."
        )
    if isinstance(design, BOIN12):
        return (
            "BOIN12: the next cohort waits until every subject of the cohort is evaluated for "
            "DLT (completed the window, or had a DLT) and for efficacy (a response recorded)."
        )
    if isinstance(design, SingleArmProtocol) and design.endpoint == "both":
        return (
            "BOP2 with toxicity: the next look waits until every subject up to it has a "
            "response recorded and is evaluated for DLT."
        )
    return (
        "The next cohort waits until every subject of the cohort is evaluated for DLT "
        "(completed the window, or had a DLT)."
    )


class SingleArmProtocol:
    """A single-arm boundary design run as a one-dose trial with looks as cohorts.

    ``endpoint`` is ``"response"``, ``"toxicity"`` (the DLT assessment) or ``"both"`` (BOP2
    with toxicity, Zhou, Lee & Yuan 2017: letters ``B`` response and DLT, ``R`` response
    only, ``T`` DLT only, ``N`` neither)."""

    n_doses = 1
    start_index = 0
    start_dose = 1
    table_by_paths = False

    def __init__(
        self,
        design: Any,
        endpoint: str,
        responders: tuple[str, ...] = ("CR", "PR"),
        endpoint_visit: str | None = None,
    ) -> None:
        self.design = design
        self.endpoint = endpoint
        self.responders = responders
        self.endpoint_visit = endpoint_visit
        looks = [int(v) for v in design.looks]
        self.cohort_sizes = [b - a for a, b in zip([0, *looks[:-1]], looks, strict=True)]
        self.cohort_size = self.cohort_sizes[0]

    def size_of_cohort(self, number: int) -> int:
        """Patients in cohort ``number`` (1-based): those up to the next look."""
        return self.cohort_sizes[min(number, len(self.cohort_sizes)) - 1]

    def decide(self, outcomes: str) -> Decision:
        """Decide from the outcome string: ``N`` no event, any other letter an event. The
        reason recorded is the design's sentence with the counts (e.g. "5/12 responses reaches
        the upper boundary (5): ..."), so the frozen decision reads on its own. BOP2 with
        toxicity reads its four letters itself (``B``, ``R``, ``T``, ``N``)."""
        d: Decision = self.design.decide(outcomes)
        return replace(d, reason=d.message or d.reason)

    def decision_table(self) -> Any:
        return self.design.decision_table()

    def protocol_table(self) -> Any:
        return self.design.protocol_table()


def build_protocol(name: str, spec: dict[str, Any]) -> Any:
    """The design named in the trial's protocol: a dose-finding design (BOIN or 3+3 with
    backfill as :class:`~earlyphase.designs.backfill.Backfill`), BOIN12, or a
    :class:`SingleArmProtocol`.

    The design's settings and the protocol's own (``responders``, ``endpoint_visit``: see
    :data:`earlyphase.designs.settings.PROTOCOL`) are checked against the settings registry;
    every bad setting is named in one ``ValueError`` ("name: why; other: why")."""
    try:
        key = design_key(name)
    except ValueError:
        key = name
    if key in TIMED_DESIGNS:
        return build_dose_finding(key, spec)
    backfill = key in BACKFILL_DESIGNS and backfill_on(spec)
    if key in DOSE_FINDING and not backfill:
        return build_design(key, spec)
    if key not in CONDUCT_DESIGNS:
        raise ValueError(
            f"design: the conduct service runs {', '.join(CONDUCT_DESIGNS)}, not {name!r}"
        )
    opts = dict(spec)
    given = {s.name: opts.pop(s.name) for s in PROTOCOL if opts.get(s.name) is not None}
    problems: list[str] = []
    if key == "tox-monitor":
        problems += [
            f"{k}: not a setting of the tox-monitor design (its endpoint is the DLT assessment)"
            for k in given
        ]
        given = {}
    values: dict[str, Any] = {}
    for s in PROTOCOL:
        if s.name not in given:
            continue
        try:
            values[s.name] = coerce(s, given[s.name])
        except ValueError as exc:
            problems.append(str(exc))
    visit = values.get("endpoint_visit")
    if visit is not None and not visit.strip():
        problems.append(
            f"endpoint_visit: the visit's name as recorded, e.g. 'Day 28', got {visit!r}"
        )
    problems += _too_large(key, opts)
    design: Any = None
    if not any(p.startswith(("backfill_cap:", "n_max:")) for p in problems):
        try:
            design = build_backfill(key, opts) if backfill else build_phase2(key, opts)
        except ValueError as exc:  # the design's problems come after the protocol's, all together
            problems.append(str(exc))
    if problems or design is None:
        raise ValueError("; ".join(problems))
    if key in DOSE_FINDING or key in PHASE12:
        return design  # its response rule is read from the settings (response_rule)
    if key == "tox-monitor":
        return SingleArmProtocol(design, "toxicity")
    responders = tuple(values.get("responders", PROTOCOL[0].default))
    endpoint = "both" if isinstance(design, BOP2) and design.joint else "response"
    return SingleArmProtocol(design, endpoint, responders, visit)


def _whole(spec: Mapping[str, Any], name: str, default: int) -> int:
    """A count among the settings as given (the registry names a bad one afterwards)."""
    value = spec.get(name, default)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return int(number) if math.isfinite(number) and number >= 1 else default


def _too_large(key: str, spec: Mapping[str, Any]) -> list[str]:
    """What makes a design too large for the service to build in a request, named by its
    setting. BOIN with backfill builds its boundaries for every patient the escalation and
    the backfill may treat; BOP2's grid search recurses over every count of each look."""
    if key == "boin" and backfill_on(spec):
        size = _whole(spec, "cohort_size", 3)
        cap = _whole(spec, "backfill_cap", 12)
        cohorts = _whole(spec, "n_cohorts", 10) + math.ceil(_whole(spec, "n_doses", 1) * cap / size)
        n = cohorts * size
        if 2 * n**3 / 3 > MAX_WORK:
            return [
                f"backfill_cap: {cap} a dose makes BOIN's boundaries span {n} patients, too "
                f"many for the service to compute (about {2 * n**3 / 3:.1e} steps, at most "
                f"{MAX_WORK:.0e})"
            ]
    if key == "bop2":
        n = _whole(spec, "n_max", 1)
        null = spec.get("null")
        joint = isinstance(null, list | tuple) and len(null) == 4
        fixed = spec.get("lam") is not None and spec.get("gamma") is not None
        grid = 1 if fixed else min(_grid(spec), _BOP2_SETS)
        work = 2.0 * grid * n * n * ((n + 1) if joint else 1)
        if work > MAX_BOP2_WORK:
            return [
                f"n_max: {n} patients are too many for the service to search BOP2's cutoff "
                f"(about {work:.1e} steps, at most {MAX_BOP2_WORK:.0e}); give fewer, or fix "
                "lam and gamma"
            ]
    return []


def _grid(spec: Mapping[str, Any]) -> int:
    lambdas, gammas = spec.get("lambdas"), spec.get("gammas")
    n_l = len(lambdas) if isinstance(lambdas, list | tuple) else 99
    n_g = len(gammas) if isinstance(gammas, list | tuple) else 61
    return max(n_l * n_g, 1)
