"""The design contract on every design and behaviour stack (consistency checks, not validation:
the methods of one design are checked against each other and against the contract's layouts;
the numbers themselves are validated against R and the literature in the other test files)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from earlyphase.designs import (
    BOIN,
    CRM,
    TITEBOIN,
    Design,
    MultiOutcomeMonitor,
    PredictiveProbability,
    SimonTwoStage,
    ThallSimon,
    ThreePlusThree,
    ToxicityMonitor,
)
from earlyphase.designs.conformance import ContractError, check_design
from earlyphase.designs.efftox import THALL_2014, EffTox

TOX5 = [0.05, 0.12, 0.25, 0.40, 0.55]
SKELETON = [0.05, 0.12, 0.25, 0.40, 0.55]

CASES: dict[str, tuple[Callable[[], Design], Any]] = {
    "3+3": (lambda: ThreePlusThree(3), TOX5[:3]),
    "3+3 de-escalation": (lambda: ThreePlusThree(4, deescalation=True), TOX5[:4]),
    "3+3 + expansion": (lambda: ThreePlusThree(3).with_expansion(6, tox_limit=0.3), TOX5[:3]),
    "boin": (lambda: BOIN(0.3, 5, n_cohorts=6), TOX5),
    "boin extra-safe": (lambda: BOIN(0.3, 5, n_cohorts=6, extra_safe=True), TOX5),
    "boin + stop_at_n": (lambda: BOIN(0.3, 5, n_cohorts=10).stop_at_n(12), TOX5),
    "boin + no skipping + n at dose": (
        lambda: BOIN(0.3, 5, n_cohorts=8).dont_skip_doses().stop_when_n_at_dose(9),
        TOX5,
    ),
    "boin + too toxic + expansion": (
        lambda: BOIN(0.3, 4, n_cohorts=5).stop_when_too_toxic(0.3, 0.9).with_expansion(3),
        TOX5[:4],
    ),
    "crm": (lambda: CRM(SKELETON, 0.25, n_patients=9, cohort_size=3), TOX5),
    "crm + too toxic": (
        lambda: CRM(SKELETON, 0.25, n_patients=9, cohort_size=3).stop_when_too_toxic(0.3, 0.9),
        TOX5,
    ),
    "crm + stop_at_n": (
        lambda: CRM(SKELETON, 0.25, n_patients=12, cohort_size=3).stop_at_n(9),
        TOX5,
    ),
    "tite-boin": (lambda: TITEBOIN(0.3, 5, window=28, n_cohorts=4), TOX5),
    "tite-boin ess + extra-safe": (
        lambda: TITEBOIN(0.3, 4, window=1, n_cohorts=4, estimator="ess", extra_safe=True),
        TOX5[:4],
    ),
    "thall-simon": (
        lambda: ThallSimon((15, 35), (0.6, 1.4), p_upper=0.95, p_lower=0.05, n_max=12),
        [0.3, 0.5],
    ),
    "simon": (lambda: SimonTwoStage(0.2, 0.4, 3, 13, 12, 43), [0.2, 0.4]),
    "predictive": (lambda: PredictiveProbability((0.6, 0.4), 0.3, 0.9, n_max=12), [0.3, 0.5]),
    "tox-monitor bayesian": (lambda: ToxicityMonitor.bayesian(0.3, 0.9, n_max=12), [0.2, 0.4]),
    "tox-monitor ivanova": (
        lambda: ToxicityMonitor.ivanova(0.2, 0.4, list(range(3, 13, 3))),
        [0.2, 0.4],
    ),
    "multi-outcome": (
        lambda: MultiOutcomeMonitor((15, 35), (10, 40), (0.6, 1.4), (0.4, 1.6), n_max=8),
        (0.3, 0.2),
    ),
    "efftox": (
        lambda: EffTox(**{**THALL_2014, "n_points": 1024, "n_patients": 6}),
        ([0.1, 0.2, 0.4, 0.6, 0.7], [0.05, 0.1, 0.15, 0.3, 0.5]),
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_design_keeps_the_contract(name: str) -> None:
    make, truth = CASES[name]
    cohorts = 1 if name == "efftox" else 2
    check_design(make(), truth, n_cohorts=cohorts, n_sims=50)


def test_behaviour_stacks_keep_the_decision_table() -> None:
    """Wrapping a design in behaviours keeps every method of the contract (these raised
    AttributeError before the contract existed)."""
    assert not BOIN(0.3, 5).stop_at_n(12).decision_table().empty
    crm = CRM(SKELETON, 0.25, n_patients=9, cohort_size=3)
    assert not crm.stop_when_too_toxic(0.3, 0.9).decision_table().empty


class _Broken(ThreePlusThree):
    """A design whose decision table disagrees with its decisions."""

    def decision_table(self, n_cohorts: int = 2) -> Any:
        tab = self._paths_table(1)
        tab.loc[0, "next_dose"] = 3
        return tab


def test_check_design_catches_a_broken_design() -> None:
    with pytest.raises(ContractError, match=r"_Broken\.decision_table"):
        check_design(_Broken(3), TOX5[:3])


def test_start_dose_is_one_based_everywhere() -> None:
    """``start_dose`` reads back as given (1-based) on designs and behaviour stacks; the
    first decision treats that dose."""
    for design in (
        BOIN(0.3, 5, start_dose=2),
        CRM(SKELETON, 0.25, start_dose=3),
        ThreePlusThree(4, start_dose=2).stop_at_n(12),
        EffTox(**{**THALL_2014, "n_points": 256, "start_dose": 2}),
    ):
        assert design.start_dose == design.decide(None).dose
    assert BOIN(0.3, 5, start_dose=2).start_dose == 2
