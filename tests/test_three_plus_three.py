"""3+3 against exact OCs from R (bcrm::threep3, escalation's exact dose paths) and R
escalation's decision lists."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from earlyphase.designs import DoseLevels, ThreePlusThree

# bcrm 0.5.4: threep3(truep = p, threep3.esc.only = !deesc), exact enumeration of all trials.
# The selection probabilities were re-checked in R 4.2.2 with escalation 0.2.3 (exact dose paths):
#   get_three_plus_three(num_doses = K, allow_deescalate = deesc) |>
#     get_dose_paths(cohort_sizes = rep(3, 2 * K)) |>
#     calculate_probabilities(true_prob_tox = p) |> prob_recommend()
# (true p, variant, P(MTD = none, 1..K), E[N], E[n per dose])
BCRM = [
    (
        [0.05, 0.10, 0.20, 0.30, 0.50],
        False,
        [0.026558, 0.091360, 0.257032, 0.316111, 0.255840, 0.053099],
        14.674960,
        [3.406125, 3.629966, 3.662403, 2.702092, 1.274374],
    ),
    (
        [0.05, 0.10, 0.20, 0.30, 0.50],
        True,
        [0.027182, 0.097126, 0.277277, 0.327825, 0.217491, 0.053099],
        16.918850,
        [3.664411, 4.314601, 4.430742, 3.234722, 1.274374],
    ),
    (
        [0.10, 0.20, 0.30, 0.45, 0.60],
        False,
        [0.093853, 0.264044, 0.324735, 0.243003, 0.068235, 0.006130],
        11.895399,
        [3.729000, 3.762322, 2.775811, 1.340918, 0.287347],
    ),
    (
        [0.10, 0.20, 0.30, 0.45, 0.60],
        True,
        [0.100417, 0.284851, 0.336877, 0.224092, 0.047632, 0.006130],
        14.082437,
        [4.432335, 4.551879, 3.324609, 1.486267, 0.287347],
    ),
    (
        [0.05, 0.10, 0.20],
        False,
        [0.026558, 0.091360, 0.257032, 0.625050],
        10.698494,
        [3.406125, 3.629966, 3.662403],
    ),
    (
        [0.05, 0.10, 0.20],
        True,
        [0.027178, 0.096530, 0.251242, 0.625050],
        11.575544,
        [3.662825, 4.250315, 3.662403],
    ),
    ([0.10, 0.30], False, [0.093853, 0.458272, 0.447875], 7.646273, [3.729000, 3.917273]),
    ([0.10, 0.30], True, [0.104176, 0.447949, 0.447875], 8.752320, [4.835047, 3.917273]),
    (
        [0.20, 0.30, 0.40, 0.50],
        False,
        [0.291392, 0.358369, 0.241906, 0.089713, 0.018620],
        9.166812,
        [4.152000, 3.063312, 1.504626, 0.446874],
    ),
    (
        [0.20, 0.30, 0.40, 0.50],
        True,
        [0.321295, 0.368033, 0.224392, 0.067661, 0.018620],
        10.766867,
        [5.014577, 3.612843, 1.692572, 0.446874],
    ),
]


@pytest.mark.parametrize("p, deesc, sel, mean_n, per_dose", BCRM)
def test_exact_oc_matches_bcrm(
    p: list[float], deesc: bool, sel: list[float], mean_n: float, per_dose: list[float]
) -> None:
    oc = ThreePlusThree(len(p), deescalation=deesc).operating_characteristics(p)
    got = [oc.selection[-1], *oc.selection[:-1]]
    np.testing.assert_allclose(got, sel, atol=5e-7)
    assert oc.mean_total_n == pytest.approx(mean_n, abs=5e-7)
    np.testing.assert_allclose(oc.mean_n, per_dose, atol=5e-7)
    assert oc.selection.sum() == pytest.approx(1.0, abs=1e-12)


def test_expected_dlts_and_neuenschwander_example() -> None:
    # bcrm 0.5.4 threep3, first scenario above: E[DLT] 2.713598 (escalation only) and
    # 3.108433 (de-escalation); then the ?threep3 example, the 12 doses of Neuenschwander,
    # Branson & Gsponer (2008, Stat Med 27:2420-2439)
    p = [0.05, 0.10, 0.20, 0.30, 0.50]
    assert ThreePlusThree(5).operating_characteristics(p).mean_total_dlt == pytest.approx(
        2.713598, abs=5e-7
    )
    np.testing.assert_allclose(
        ThreePlusThree(5).operating_characteristics(p).mean_dlt,
        [0.170306, 0.362997, 0.732481, 0.810628, 0.637187],
        atol=5e-7,
    )
    assert ThreePlusThree(5, True).operating_characteristics(p).mean_total_dlt == pytest.approx(
        3.108433, abs=5e-7
    )
    p12 = [0.010, 0.015, 0.020, 0.025, 0.030, 0.040, 0.050, 0.100, 0.170, 0.300, 0.400, 0.500]
    esc = ThreePlusThree(12).operating_characteristics(p12)
    np.testing.assert_allclose(
        [esc.selection[-1], *esc.selection[:-1]],
        [
            0.001171,
            0.002601,
            0.004556,
            0.007000,
            0.009887,
            0.016980,
            0.025437,
            0.087506,
            0.192056,
            0.330149,
            0.222856,
            0.082649,
            0.017153,
        ],
        atol=5e-7,
    )
    assert esc.mean_total_n == pytest.approx(33.799697, abs=5e-7)
    de = ThreePlusThree(12, True).operating_characteristics(p12)
    assert de.mean_total_n == pytest.approx(36.236693, abs=5e-7)


def test_closed_form_escalation_only() -> None:
    # Lin & Shih (2001): P(escalate past j) e_j = b0 + b1 b0 with b0 = (1-p)^3, b1 = 3p(1-p)^2
    p = np.array([0.1, 0.25, 0.4])
    b0, b1 = (1 - p) ** 3, 3 * p * (1 - p) ** 2
    e = b0 + b1 * b0
    want = [1 - e[0], e[0] * (1 - e[1]), e[0] * e[1] * (1 - e[2]), e.prod()]
    oc = ThreePlusThree(3).operating_characteristics(p.tolist())
    np.testing.assert_allclose([oc.selection[-1], *oc.selection[:-1]], want, rtol=1e-12)


def test_escalation_decision_lists() -> None:
    """All 127 decisions of R escalation's tests/testthat/test_three_plus_three.R (both
    variants, including partial cohorts), extracted into
    fixtures/escalation_three_plus_three.json."""
    data = json.loads(
        (Path(__file__).parent / "fixtures" / "escalation_three_plus_three.json").read_text()
    )
    assert len(data["cases"]) == 127
    for case in data["cases"]:
        design = ThreePlusThree(case["num_doses"], deescalation=case["allow_deescalate"])
        dec = design.decide(case["outcomes"] or None)
        assert dec.stop is (not case["continue"]), case
        assert (dec.selected if dec.stop else dec.dose) == case["recommended_dose"], case


def test_doses_carry_units_and_table() -> None:
    d = ThreePlusThree(3, doses=DoseLevels([0.5, 1.0, 2.0], "x 10^6 cells/kg"))
    dec = d.decide("1NNN")
    assert dec.dose == 2 and dec.dose_label == "2 (1 x 10^6 cells/kg)"
    assert "2 (1 x 10^6 cells/kg)" in str(dec)
    tab = d.rules_table()
    assert list(tab.columns) == ["patients at dose", "DLTs", "decision"] and len(tab) == 5
    assert d.protocol_table().equals(tab)
    oc = d.operating_characteristics([0.05, 0.1, 0.3])
    assert oc.table()["dose"].tolist()[:3] == [d.doses.label(i) for i in (1, 2, 3)]


def test_start_decision_and_bad_input() -> None:
    assert ThreePlusThree(3).decide().dose == 1
    with pytest.raises(ValueError, match=r"^outcomes: cohort 2 .* dose 4"):
        ThreePlusThree(3).decide("1NNN 4NNN")
    with pytest.raises(ValueError, match=r"^outcomes: cohort 1"):
        ThreePlusThree(3).decide("1NXN")
    with pytest.raises(ValueError, match=r"^true_tox:"):
        ThreePlusThree(3).operating_characteristics([0.1, 0.2])
    with pytest.raises(ValueError, match=r"^true_tox:"):
        ThreePlusThree(3).operating_characteristics([0.1, 0.2, 1.2])
    with pytest.raises(ValueError, match=r"^y: dose 1"):
        ThreePlusThree(3).decide({"n": [3, 0, 0], "y": [4, 0, 0]})
    with pytest.raises(ValueError, match=r"^method:"):
        ThreePlusThree(3).operating_characteristics([0.1, 0.2, 0.3], method="fast")
