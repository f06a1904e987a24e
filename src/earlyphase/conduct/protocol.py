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
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from earlyphase.designs.contract import Decision
from earlyphase.designs.rolling_six import RollingSix
from earlyphase.designs.settings import DOSE_FINDING, PROTOCOL, RESPONSES, coerce, design_key
from earlyphase.designs.settings import SINGLE_ARM as _SINGLE_ARM
from earlyphase.designs.single_arm import SingleArmDesign
from earlyphase.designs.spec import TIMED_DESIGNS, build_design, build_dose_finding, build_phase2
from earlyphase.designs.tite_boin import TITEBOIN
from earlyphase.designs.tite_crm import TITECRM

#: Designs the conduct service runs as a one-dose trial with looks as cohorts.
SINGLE_ARM = _SINGLE_ARM
#: Every design the conduct service runs: every dose-finding design (those deciding while
#: subjects are pending included) and the single-arm boundary designs.
CONDUCT_DESIGNS = (*DOSE_FINDING, *SINGLE_ARM)
#: Dose-finding designs that decide while subjects are still inside their DLT window.
WHILE_PENDING = TIMED_DESIGNS
#: Designs with a DLT window of their own (``window``), which must be the protocol's.
WITH_WINDOW = ("tite-crm", "tite-boin")
__all__ = [
    "CONDUCT_DESIGNS",
    "RESPONSES",
    "SINGLE_ARM",
    "WHILE_PENDING",
    "WITH_WINDOW",
    "SingleArmProtocol",
    "build_protocol",
    "decides_while_pending",
    "pending_rule",
]


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
    return (
        "The next cohort waits until every subject of the cohort is evaluated for DLT "
        "(completed the window, or had a DLT)."
    )


class SingleArmProtocol:
    """A single-arm boundary design run as a one-dose trial with looks as cohorts."""

    n_doses = 1
    start_index = 0
    start_dose = 1
    table_by_paths = False

    def __init__(
        self,
        design: SingleArmDesign,
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
        the upper boundary (5): ..."), so the frozen decision reads on its own."""
        d = self.design.decide(outcomes)
        return replace(d, reason=d.message or d.reason)

    def decision_table(self) -> Any:
        return self.design.decision_table()

    def protocol_table(self) -> Any:
        return self.design.protocol_table()


def build_protocol(name: str, spec: dict[str, Any]) -> Any:
    """The design named in the trial's protocol: a dose-finding design or a
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
    if key in DOSE_FINDING:
        return build_design(key, spec)
    if key not in SINGLE_ARM:
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
    design: SingleArmDesign | None = None
    try:
        design = build_phase2(key, opts)
    except ValueError as exc:  # the design's problems come after the protocol's, all together
        problems.append(str(exc))
    if problems or design is None:
        raise ValueError("; ".join(problems))
    if key == "tox-monitor":
        return SingleArmProtocol(design, "toxicity")
    responders = tuple(values.get("responders", PROTOCOL[0].default))
    return SingleArmProtocol(design, "response", responders, visit)
