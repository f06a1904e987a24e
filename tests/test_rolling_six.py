"""Rolling six (Skolnik et al. 2008, J Clin Oncol 26:190-195).

Validation: the decision rule against the paper's Table 1 and against the restatement of the
rolling six's decisions in JAMA Netw Open 2020;3(5):e204787, Table 2 (both typed below); the
simulated operating characteristics by consistency checks: Wald's identity, agreement with the
exact 3+3 (with de-escalation) when accrual is so slow that nobody is ever pending, the array
simulation against a one-trial-at-a-time event loop, and the direction of the effect of faster
accrual on duration and pending patients.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from earlyphase.designs.conformance import check_design
from earlyphase.designs.rolling_six import RollingSix, RollingSixCharacteristics
from earlyphase.designs.three_plus_three import ThreePlusThree

TRUTH = [0.05, 0.15, 0.30, 0.50]

#: Skolnik JM, Barrett JS, Jayaraman B, Patel D, Adamson PC. Shortening the timeline of
#: pediatric phase I trials: the rolling six design. J Clin Oncol 2008;26:190-195, Table 1
#: (decision rules): patients enrolled, with DLT, without DLT, with data pending, decision.
#: The paper's "or" lists are written as comma-separated values, one DLT count per row.
SKOLNIK_TABLE_1 = [
    (2, "0", "0, 1, 2", "2, 1, 0", "Same dose level"),
    (2, "1", "0, 1", "1, 0", "Same dose level"),
    (2, ">= 2", "0", "0", "De-escalate"),
    (3, "0", "0, 1, 2", "3, 2, 1", "Same dose level"),
    (3, "0", "3", "0", "Escalate"),
    (3, "1", "0, 1, 2", "2, 1, 0", "Same dose level"),
    (3, ">= 2", "0, 1", "1, 0", "De-escalate"),
    (4, "0", "0, 1, 2, 3", "4, 3, 2, 1", "Same dose level"),
    (4, "0", "4", "0", "Escalate"),
    (4, "1", "0, 1, 2, 3", "3, 2, 1, 0", "Same dose level"),
    (4, ">= 2", "0, 1, 2", "2, 1, 0", "De-escalate"),
    (5, "0", "0, 1, 2, 3, 4", "5, 4, 3, 2, 1", "Same dose level"),
    (5, "0", "5", "0", "Escalate"),
    (5, "1", "0, 1, 2, 3, 4", "4, 3, 2, 1, 0", "Same dose level"),
    (5, ">= 2", "0, 1, 2, 3", "3, 2, 1, 0", "De-escalate"),
    (6, "0", "0, 1, 2, 3, 4", "6, 5, 4, 3, 2", "Suspend"),
    (6, "0", "5, 6", "1, 0", "Escalate"),
    (6, "1", "0, 1, 2, 3, 4", "5, 4, 3, 2, 1", "Suspend"),
    (6, "1", "5", "0", "Escalate"),
    (6, ">= 2", "0, 1, 2, 3, 4", "4, 3, 2, 1, 0", "De-escalate"),
]

#: JAMA Netw Open 2020;3(5):e204787 (doi:10.1001/jamanetworkopen.2020.4787), Table 2, the
#: "Rolling 6" column: (patients on the current level, evaluable patients, DLTs) -> dose level
#: for the next patient; ranges expanded, rows of 7 or 8 patients ("not allowed") left out.
JAMA_2020_TABLE_2 = (
    [((m, 0, 0), "Same dose level") for m in range(1, 6)]  # row 1
    + [((6, 0, 0), "Hold accrual")]  # row 2
    + [((m, 1, 0), "Same dose level") for m in range(1, 6)]  # row 3
    + [((6, 1, 0), "Hold accrual")]  # row 4
    + [((m, 2, 0), "Same dose level") for m in range(2, 6)]  # row 6
    + [((6, 2, 0), "Hold accrual")]  # row 7
    + [((3, 3, 0), "Escalate")]  # row 9
    + [((m, 3, 0), "Same dose level") for m in (4, 5)]  # row 10
    + [((6, 3, 0), "Hold accrual")]  # row 11
    + [((4, 4, 0), "Escalate"), ((5, 4, 0), "Same dose level")]  # rows 13, 14
    + [((6, 4, 0), "Hold accrual")]  # row 15
    + [((5, 5, 0), "Escalate"), ((6, 5, 0), "Escalate")]  # rows 16, 17
    + [((m, e, 1), "Same dose level") for m in range(1, 6) for e in range(1, m + 1)]  # row 19
    + [((6, e, 1), "Hold accrual") for e in range(1, 6)]  # rows 20-22
    + [((6, 6, 1), "Escalate")]  # row 25
    + [((m, e, 2), "De-escalate") for m in range(2, 7) for e in range(2, m + 1)]  # row 26
    + [((m, e, 3), "De-escalate") for m in range(3, 7) for e in range(3, m + 1)]  # row 30
)


def test_protocol_table_is_skolnik_table_1() -> None:
    tab = RollingSix(4).protocol_table()
    assert list(tab.columns) == [
        "patients enrolled",
        "patients with DLT",
        "patients without DLT",
        "patients with data pending",
        "decision",
    ]
    got = sorted(tuple(row) for row in tab.itertuples(index=False))
    assert got == sorted(SKOLNIK_TABLE_1)


@pytest.mark.parametrize("state, decision", JAMA_2020_TABLE_2)
def test_decide_agrees_with_jama_2020_table_2(state: tuple[int, int, int], decision: str) -> None:
    """The rule restated by patients enrolled, evaluated and with DLT at dose 2 of 4."""
    m, evaluable, t = state
    path = "2" + "T" * t + "N" * (evaluable - t) + "P" * (m - evaluable)
    d = RollingSix(4).decide(path)
    got = {
        "escalate": "Escalate",
        "de-escalate": "De-escalate",
        "stay": "Hold accrual" if d.estimates["suspend"] else "Same dose level",
    }[d.action]
    assert got == decision
    assert d.dose == {"Escalate": 3, "De-escalate": 1}.get(decision, 2)


def test_decision_table_covers_every_state_with_pending_counts() -> None:
    tab = RollingSix(4).decision_table()
    # states (enrolled m, DLTs t, pending p) with t + p <= m, m = 1..6
    assert len(tab) == sum((m + 1) * (m + 2) // 2 for m in range(1, 7))
    row = tab[tab["path"] == "2NNNNNP"].iloc[0]
    assert row["state"] == "6 enrolled: 0 with DLT, 5 without DLT, 1 pending"
    assert (row["action"], row["next_dose"]) == ("escalate", 3)
    row = tab[tab["path"] == "2NNNP"].iloc[0]
    assert (row["action"], row["next_dose"]) == ("stay", 2)
    row = tab[tab["path"] == "2TNNPPP"].iloc[0]
    assert row["action"] == "stay" and row["reason"].startswith("suspend")
    row = tab[tab["path"] == "2TTP"].iloc[0]
    assert (row["action"], row["next_dose"]) == ("de-escalate", 1)


@pytest.mark.parametrize(
    "history, action, dose, selected",
    [
        ("1NP", "stay", 1, None),
        ("1NNN", "escalate", 2, None),
        ("1NNNP", "stay", 1, None),  # 0/3 evaluated, one pending: wait for 0/4
        ("1NNNNNP", "escalate", 2, None),  # 6 enrolled: even a DLT would leave 1/6
        ("1NNPPP", "stay", 1, None),  # 6 enrolled, data pending: suspend
        ("1TNNNNP", "stay", 1, None),  # 1 DLT among 6, one pending: suspend
        ("1TNNNNN", "escalate", 2, None),
        ("1TT", "stop", None, None),  # >= 2 DLTs at the lowest dose
        ("1NNNPP 2PP", "stay", 2, None),
        ("1NNNTT 2PP", "stop", None, None),  # DLTs at a dose left behind are not ignored
        ("1NNN 2NNNTT 3PP", "de-escalate", 1, None),
        ("1NNN 2NNN 3TT", "de-escalate", 2, None),
        ("1NNN 2NNN 3TT 2NP", "stay", 2, None),  # confirm: up to 6 below a toxic dose
        ("1NNN 2NNN 3TT 2NNP", "stay", 2, None),  # 6 there, one pending: suspend
        ("1NNN 2NNN 3TT 2NNN", "stop", None, 2),
        ("1NNN 2NNNNNN 3TT", "stop", None, 2),  # de-escalating to a dose with 6: its MTD
        ("1NNN 2NNN 3NNN 4NNN", "stop", None, 4),  # highest dose cleared
        ("1NNN 2NNN 3NNN 4NNNP", "stay", 4, None),
    ],
)
def test_decide(history: str, action: str, dose: int | None, selected: int | None) -> None:
    d = RollingSix(4).decide(history)
    assert (d.action, d.dose, d.selected) == (action, dose, selected)


def test_suspension_is_flagged() -> None:
    d = RollingSix(3).decide([(1, "N"), (1, "N"), (1, "P"), (1, "P"), (1, "P"), (1, "P")])
    assert d.estimates["suspend"] is True and str(d).startswith("suspend accrual")
    assert d.estimates["pending"] == [4, 0, 0]


def test_bad_histories_are_refused() -> None:
    design = RollingSix(3)
    with pytest.raises(ValueError, match=r"^history:"):
        design.decide("1NNX")
    with pytest.raises(ValueError, match=r"^history:"):
        design.decide("4N")
    with pytest.raises(ValueError, match=r"^history:"):
        design.decide("1NNNNNNN")
    with pytest.raises(ValueError, match=r"^truth:"):
        design.operating_characteristics([0.1, 0.2], n_sims=10)
    with pytest.raises(ValueError, match=r"^accrual_rate:"):
        design.operating_characteristics([0.1, 0.2, 0.3], n_sims=10, accrual_rate=0)


def test_contract() -> None:
    check_design(RollingSix(4), TRUTH, n_cohorts=4)
    check_design(RollingSix(1), [0.3], n_cohorts=3)


# -- consistency checks of the simulation ------------------------------------------------------


@pytest.fixture(scope="module")
def slow() -> RollingSixCharacteristics:
    # one patient a million time units apart against a 28-unit DLT window: nobody pending
    return RollingSix(4).operating_characteristics(
        TRUTH, n_sims=20000, seed=11, accrual_rate=1e-6, dlt_window=28.0
    )


@pytest.fixture(scope="module")
def fast() -> RollingSixCharacteristics:
    return RollingSix(4).operating_characteristics(
        TRUTH, n_sims=20000, seed=12, accrual_rate=0.5, dlt_window=28.0
    )


def test_consistency_slow_accrual_recommends_as_the_3_plus_3(
    slow: RollingSixCharacteristics,
) -> None:
    """Consistency check: with every patient evaluated before the next arrives, the rolling six
    takes the 3+3 (with de-escalation, Korn et al. 1994) decisions, only sooner within a cohort,
    so its selection probabilities are the 3+3's exact ones (within 4 Monte Carlo SEs)."""
    exact = ThreePlusThree(4, deescalation=True).operating_characteristics(TRUTH, method="exact")
    se = np.sqrt(exact.selection * (1 - exact.selection) / 20000)
    assert np.all(np.abs(slow.selection - exact.selection) <= 4 * se + 1e-12)
    assert slow.mean_pending_at_enrolment < 1e-3
    assert slow.prob_suspended < 1e-3
    # within a cohort the rolling six stops as soon as the outcome is settled: fewer patients
    assert slow.mean_total_n <= exact.mean_total_n


@pytest.mark.parametrize("which", ["slow", "fast"])
def test_consistency_wald_identity(which: str, request: pytest.FixtureRequest) -> None:
    """Consistency check (Wald's identity): each patient at dose d has a DLT with probability
    p_d whatever happened before, so E[DLTs at d] = p_d E[n_d]; D_d - p_d n_d is a martingale
    with variance p_d (1 - p_d) E[n_d], which sets the Monte Carlo tolerance."""
    oc: RollingSixCharacteristics = request.getfixturevalue(which)
    p = np.asarray(TRUTH)
    se = np.sqrt(p * (1 - p) * oc.mean_n / 20000)
    assert np.all(np.abs(oc.mean_dlt - p * oc.mean_n) <= 4 * se + 1e-12)


def test_consistency_fast_accrual_shortens_the_trial(
    slow: RollingSixCharacteristics, fast: RollingSixCharacteristics
) -> None:
    """Consistency check: the point of the design (Skolnik et al. 2008): with faster
    accrual more patients are pending at enrolment, accrual is suspended at times, and the
    trial is shorter; it cannot end before one DLT window has passed unless two DLTs occur."""
    assert fast.mean_pending_at_enrolment > 1.0
    assert fast.prob_suspended > 0.5
    assert fast.mean_duration < slow.mean_duration
    assert fast.mean_duration > 28.0 * 0.5
    summary = fast.summary()
    for key in ("mean_duration", "mean_pending_at_enrolment", "prob_suspended"):
        assert math.isfinite(summary[key])
    assert summary["method"] == "simulate"
    table = fast.table()
    assert table["prob_selected"].sum() == pytest.approx(1.0)


def test_simulation_is_reproducible() -> None:
    design = RollingSix(3)
    a = design.operating_characteristics([0.1, 0.2, 0.4], n_sims=300, seed=5)
    b = design.operating_characteristics([0.1, 0.2, 0.4], n_sims=300, seed=5)
    assert np.array_equal(a.selection, b.selection)
    assert a.mean_duration == b.mean_duration


@pytest.mark.parametrize("accrual_rate", [1e-6, 0.1, 2.0])
def test_trials_run_together_match_one_at_a_time(accrual_rate: float) -> None:
    """Consistency check: the array simulation, fed the random numbers of each trial, follows
    every trial exactly as the one-patient-at-a-time event loop does."""
    design = RollingSix(4)
    p = np.asarray(TRUTH)
    rng = np.random.default_rng(3)
    size, max_pat = 400, 24
    gaps = rng.exponential(1.0 / accrual_rate, size=(size, 2 * max_pat + 2))
    u_dlt = rng.random((size, max_pat))
    u_time = rng.random((size, max_pat))
    sel, n, dlt, duration, suspended, pending = design._simulate_batch(p, 28.0, gaps, u_dlt, u_time)
    for i in range(size):
        one = design._one_trial(p, 28.0, gaps[i], u_dlt[i], u_time[i])
        assert (-1 if one[0] is None else one[0]) == sel[i]
        assert one[1] == n[i].tolist() and one[2] == dlt[i].tolist()
        assert one[3] == pytest.approx(duration[i], abs=1e-9)
        assert one[4] == pytest.approx(suspended[i], abs=1e-9)
        assert one[5] == pending[i]
