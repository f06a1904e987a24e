"""3+3 against bcrm::threep3 exact OCs (design anchors 8.3) and escalation's decision lists."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from earlyphase.designs import DoseLevels, ThreePlusThree

# design anchors 8.3: bcrm 0.5.4 threep3 and an independent enumeration agree to every digit.
# (true p, variant, P(MTD = none, 1..K), E[N], E[n per dose])
BCRM = [
    ([.05, .10, .20, .30, .50], False, [.026558, .091360, .257032, .316111, .255840, .053099],
     14.674960, [3.406125, 3.629966, 3.662403, 2.702092, 1.274374]),
    ([.05, .10, .20, .30, .50], True, [.027182, .097126, .277277, .327825, .217491, .053099],
     16.918850, [3.664411, 4.314601, 4.430742, 3.234722, 1.274374]),
    ([.10, .20, .30, .45, .60], False, [.093853, .264044, .324735, .243003, .068235, .006130],
     11.895399, [3.729000, 3.762322, 2.775811, 1.340918, 0.287347]),
    ([.10, .20, .30, .45, .60], True, [.100417, .284851, .336877, .224092, .047632, .006130],
     14.082437, [4.432335, 4.551879, 3.324609, 1.486267, 0.287347]),
    ([.05, .10, .20], False, [.026558, .091360, .257032, .625050], 10.698494,
     [3.406125, 3.629966, 3.662403]),
    ([.05, .10, .20], True, [.027178, .096530, .251242, .625050], 11.575544,
     [3.662825, 4.250315, 3.662403]),
    ([.10, .30], False, [.093853, .458272, .447875], 7.646273, [3.729000, 3.917273]),
    ([.10, .30], True, [.104176, .447949, .447875], 8.752320, [4.835047, 3.917273]),
    ([.20, .30, .40, .50], False, [.291392, .358369, .241906, .089713, .018620], 9.166812,
     [4.152000, 3.063312, 1.504626, 0.446874]),
    ([.20, .30, .40, .50], True, [.321295, .368033, .224392, .067661, .018620], 10.766867,
     [5.014577, 3.612843, 1.692572, 0.446874]),
]


@pytest.mark.parametrize("p, deesc, sel, mean_n, per_dose", BCRM)
def test_exact_oc_matches_bcrm(p: list[float], deesc: bool, sel: list[float], mean_n: float,
                               per_dose: list[float]) -> None:
    oc = ThreePlusThree(len(p), deescalation=deesc).operating_characteristics(p)
    got = [oc.selection[-1], *oc.selection[:-1]]
    np.testing.assert_allclose(got, sel, atol=5e-7)
    assert oc.mean_total_n == pytest.approx(mean_n, abs=5e-7)
    np.testing.assert_allclose(oc.mean_n, per_dose, atol=5e-7)
    assert oc.selection.sum() == pytest.approx(1.0, abs=1e-12)


def test_expected_dlts_and_neuenschwander_example() -> None:
    # design anchors 8.3: E[DLT] 2.713598 (esc-only) and 3.108433 (de-esc) in scenario A;
    # bcrm help example, Neuenschwander et al. (2008) 12 doses
    p = [.05, .10, .20, .30, .50]
    assert ThreePlusThree(5).operating_characteristics(p).mean_total_dlt == pytest.approx(2.713598, abs=5e-7)
    np.testing.assert_allclose(
        ThreePlusThree(5).operating_characteristics(p).mean_dlt,
        [.170306, .362997, .732481, .810628, .637187], atol=5e-7)
    assert ThreePlusThree(5, True).operating_characteristics(p).mean_total_dlt == pytest.approx(3.108433, abs=5e-7)
    p12 = [.010, .015, .020, .025, .030, .040, .050, .100, .170, .300, .400, .500]
    esc = ThreePlusThree(12).operating_characteristics(p12)
    np.testing.assert_allclose(
        [esc.selection[-1], *esc.selection[:-1]],
        [.001171, .002601, .004556, .007000, .009887, .016980, .025437, .087506, .192056, .330149,
         .222856, .082649, .017153], atol=5e-7)
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
    variants, including partial cohorts), extracted into fixtures/escalation_three_plus_three.json."""
    data = json.loads((Path(__file__).parent / "fixtures" / "escalation_three_plus_three.json").read_text())
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
    tab = d.decision_table()
    assert list(tab.columns) == ["patients at dose", "DLTs", "decision"] and len(tab) == 5
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
