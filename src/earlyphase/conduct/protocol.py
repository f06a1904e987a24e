"""The protocol's design as the conduct service uses it.

Dose-finding designs (3+3, BOIN, CRM) are used as they are: the service hands them the
outcome string (``"1NNN 2NTN"``) and they return the next cohort's dose. Single-arm phase II
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
from earlyphase.designs.settings import DOSE_FINDING, PROTOCOL, RESPONSES, coerce, design_key
from earlyphase.designs.settings import SINGLE_ARM as _SINGLE_ARM
from earlyphase.designs.single_arm import SingleArmDesign
from earlyphase.designs.spec import build_design, build_phase2

#: Designs the conduct service runs as a one-dose trial with looks as cohorts.
SINGLE_ARM = _SINGLE_ARM
#: Every design the conduct service can run.
CONDUCT_DESIGNS = (*DOSE_FINDING, *SINGLE_ARM)
__all__ = ["CONDUCT_DESIGNS", "RESPONSES", "SINGLE_ARM", "SingleArmProtocol", "build_protocol"]


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
