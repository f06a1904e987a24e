"""BOIN against R BOIN 2.7.2 (get.boundary, select.mtd, get.oc; fixtures/r_design_reference.json)
and the boundaries of Liu & Yuan (2015, JRSS-C 64:507-523)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from earlyphase.designs import BOIN

DESIGN_R = json.loads((Path(__file__).parent / "fixtures" / "r_design_reference.json").read_text())


def _int_or_none(v: Any) -> int | None:
    return None if v is None or v != v else int(v)


@pytest.mark.parametrize(
    "target, lam_e, lam_d",
    [  # R BOIN 2.7.2: get.boundary(target, ncohort = 10, cohortsize = 3)$lambda_e, $lambda_d
        # (phi1 = 0.6 target, phi2 = 1.4 target), rounded as typed
        (0.15, 0.117797, 0.178686),
        (0.20, 0.157242, 0.238462),
        (0.25, 0.196801, 0.298392),
        (0.30, 0.2364907, 0.3585195),
        (0.33, 0.260377, 0.394716),
        (0.35, 0.276334, 0.418908),
        (0.40, 0.316360, 0.479650),
    ],
)
def test_lambdas(target: float, lam_e: float, lam_d: float) -> None:
    b = BOIN(target, 5)
    digits = len(str(lam_e).split(".")[1])
    assert round(b.lambda_e, digits) == lam_e
    assert round(b.lambda_d, len(str(lam_d).split(".")[1])) == lam_d


def test_protocol_table_target_030() -> None:
    # R BOIN 2.7.2: get.boundary(0.3, ncohort = 10, cohortsize = 3)$boundary_tab
    tab = BOIN(0.3, 5, cohort_size=3, n_cohorts=10).boundary_table()
    assert tab["n"].tolist() == [3, 6, 9, 12, 15, 18, 21, 24, 27, 30]
    assert tab["escalate_if_dlt_le"].tolist() == [0, 1, 2, 2, 3, 4, 4, 5, 6, 7]
    assert tab["deescalate_if_dlt_ge"].tolist() == [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
    assert tab["eliminate_if_dlt_ge"].tolist() == [3, 4, 5, 7, 8, 9, 10, 11, 12, 14]


FULL = {  # R BOIN 2.7.2: get.boundary(target, 10, 3)$full_boundary_tab, n = 1..30 (None = NA)
    0.30: (
        "0 0 0 0 1 1 1 1 2 2 2 2 3 3 3 3 4 4 4 4 4 5 5 5 5 6 6 6 6 7",
        "1 1 2 2 2 3 3 3 4 4 4 5 5 6 6 6 7 7 7 8 8 8 9 9 9 10 10 11 11 11",
        "NA NA 3 3 4 4 5 5 5 6 6 7 7 8 8 8 9 9 9 10 10 11 11 11 12 12 12 13 13 14",
    ),
    0.25: (
        "0 0 0 0 0 1 1 1 1 1 2 2 2 2 2 3 3 3 3 3 4 4 4 4 4 5 5 5 5 5",
        "1 1 1 2 2 2 3 3 3 3 4 4 4 5 5 5 6 6 6 6 7 7 7 8 8 8 9 9 9 9",
        "NA NA 3 3 3 4 4 4 5 5 6 6 6 7 7 7 8 8 8 9 9 9 10 10 10 11 11 11 12 12",
    ),
    0.20: (
        "0 0 0 0 0 0 1 1 1 1 1 1 2 2 2 2 2 2 2 3 3 3 3 3 3 4 4 4 4 4",
        "1 1 1 1 2 2 2 2 3 3 3 3 4 4 4 4 5 5 5 5 6 6 6 6 6 7 7 7 7 8",
        "NA NA 2 3 3 3 4 4 4 5 5 5 5 6 6 6 7 7 7 7 8 8 8 8 9 9 9 9 10 10",
    ),
}


def _parse(row: str) -> list[int | None]:
    return [None if v == "NA" else int(v) for v in row.split()]


@pytest.mark.parametrize("target", sorted(FULL))
def test_full_boundaries(target: float) -> None:
    tab = BOIN(target, 5, n_cohorts=10).boundary_table(full=True)
    esc, de, el = (_parse(r) for r in FULL[target])
    assert tab["escalate_if_dlt_le"].tolist() == esc
    assert [_int_or_none(v) for v in tab["deescalate_if_dlt_ge"]] == de
    assert [_int_or_none(v) for v in tab["eliminate_if_dlt_ge"]] == el


def test_extra_safe_boundary() -> None:
    # R BOIN 2.7.2: get.boundary(0.3, 10, 3, extrasafe = TRUE)$stop_boundary, "Stop the trial
    # if # of DLT >=" at the lowest dose, n = 3..30 (cutoff 0.95 - offset 0.05 = 0.90)
    tab = BOIN(0.3, 5, n_cohorts=10, extra_safe=True).boundary_table(full=True)
    got = [_int_or_none(v) for v in tab["stop_trial_if_dose1_dlt_ge"]][2:]
    assert got == [
        2,
        3,
        3,
        4,
        4,
        4,
        5,
        5,
        6,
        6,
        6,
        7,
        7,
        8,
        8,
        8,
        9,
        9,
        9,
        10,
        10,
        10,
        11,
        11,
        12,
        12,
        12,
        13,
    ]


def test_get_boundary_other_settings() -> None:
    """Non-default phi1/phi2/cutoff and cohort sizes 1 and 2 (R BOIN 2.7.2)."""
    for c in DESIGN_R["get_boundary"]:
        b = BOIN(
            c["target"][0],
            5,
            cohort_size=int(c["cohortsize"][0]),
            n_cohorts=int(c["ncohort"][0]),
            phi1=c["p_saf"][0],
            phi2=c["p_tox"][0],
            cutoff_eli=c["cutoff_eli"][0],
        )
        assert b.lambda_e == pytest.approx(c["lambda_e"][0], rel=1e-12)
        assert b.lambda_d == pytest.approx(c["lambda_d"][0], rel=1e-12)
        tab = b.boundary_table(full=True)
        assert tab["n"].tolist() == c["n"]
        assert tab["escalate_if_dlt_le"].tolist() == c["esc"]
        assert [_int_or_none(v) for v in tab["deescalate_if_dlt_ge"]] == c["deesc"]
        assert [_int_or_none(v) for v in tab["eliminate_if_dlt_ge"]] == c["elim"]


def test_select_mtd_package_example() -> None:
    # R BOIN 2.7.2, ?select.mtd example: select.mtd(0.3, npts = c(3, 3, 15, 9, 0),
    # ntox = c(0, 0, 4, 4, 0))$MTD = 3
    assert BOIN(0.3, 5).select_mtd({"n": [3, 3, 15, 9, 0], "y": [0, 0, 4, 4, 0]}) == 3


def test_select_mtd_against_r() -> None:
    """240 random data sets through BOIN::select.mtd, with boundMTD and extrasafe on and off."""
    for c in DESIGN_R["select_mtd"]:
        b = BOIN(c["target"][0], len(c["n"]), bound_mtd=c["bound_mtd"], extra_safe=c["extra_safe"])
        want = int(c["mtd"][0])
        assert b.select_mtd({"n": c["n"], "y": c["y"]}) == (None if want == 99 else want), c


# Exact OCs by an independent dynamic programme over trial states with BOIN 2.7.2's rules (not an
# R output: R's get.oc is Monte Carlo only). R BOIN 2.7.2 get.oc(target, p.true,
# ncohort = cohorts, cohortsize = 3, ntrial = 1e5, seed = s) agrees within Monte Carlo error:
# selpercent 1.221 23.18 54.764 19.222 1.6 (first row, seed 2), 31.157 51.392 14.398 2.769
# (second row, seed 1) and 2.841 32.618 47.99 16.533 (third row, seed 3).
# (target, p, cohorts, selection %, % no MTD, E[n per dose], E[DLT])
EXACT = [
    (
        0.30,
        [0.05, 0.15, 0.30, 0.45, 0.60],
        10,
        [1.1693, 23.2062, 54.6330, 19.3704, 1.6000],
        0.0211,
        [4.17510, 9.09694, 11.15880, 4.75093, 0.81285],
        7.54656,
    ),
    (
        0.25,
        [0.10, 0.25, 0.40, 0.55],
        4,
        [31.0057, 51.6389, 14.2659, 2.8249],
        0.2646,
        [6.00000, 4.63753, 1.14684, 0.19929],
        2.32773,
    ),
    (
        0.25,
        [0.05, 0.12, 0.25, 0.40],
        6,
        [2.7940, 32.6509, 48.0479, 16.4856],
        0.0216,
        [5.05126, 6.46995, 4.39802, 2.07789],
        2.95962,
    ),
]


@pytest.mark.parametrize("target, p, cohorts, sel, none, mean_n, dlt", EXACT)
def test_exact_oc(
    target: float,
    p: list[float],
    cohorts: int,
    sel: list[float],
    none: float,
    mean_n: list[float],
    dlt: float,
) -> None:
    oc = BOIN(target, len(p), n_cohorts=cohorts).operating_characteristics(p)
    np.testing.assert_allclose(100 * oc.selection[:-1], sel, atol=5e-5)
    assert 100 * oc.prob_no_selection == pytest.approx(none, abs=5e-5)
    np.testing.assert_allclose(oc.mean_n, mean_n, atol=5e-6)
    assert oc.mean_total_dlt == pytest.approx(dlt, abs=5e-6)


def test_simulation_agrees_with_exact_and_r_monte_carlo() -> None:
    p = [0.05, 0.15, 0.30, 0.45, 0.60]
    design = BOIN(0.3, 5, n_cohorts=10)
    exact = design.operating_characteristics(p)
    sim = design.operating_characteristics(p, method="simulate", n_sims=40_000, seed=11)
    assert np.all(np.abs(sim.selection - exact.selection) < 4.5 * sim.mc_se + 1e-4)
    # R BOIN 2.7.2: get.oc(target = 0.3, p.true = p, ncohort = 10, cohortsize = 3,
    # ntrial = 1e5, seed = 2)$selpercent = 1.221 23.18 54.764 19.222 1.6
    r_mc = np.array([1.221, 23.18, 54.764, 19.222, 1.6]) / 100
    se = np.sqrt(r_mc * (1 - r_mc) / 1e5)
    assert np.all(np.abs(exact.selection[:-1] - r_mc) < 4.5 * se)
    assert np.all(np.abs(sim.mean_n - exact.mean_n) < 0.1)


def test_common_random_numbers_and_reproducibility() -> None:
    p = [0.05, 0.15, 0.30, 0.45, 0.60]
    a = BOIN(0.3, 5, n_cohorts=10).operating_characteristics(
        p, method="simulate", n_sims=500, seed=3
    )
    b = BOIN(0.3, 5, n_cohorts=10).operating_characteristics(
        p, method="simulate", n_sims=500, seed=3
    )
    assert np.array_equal(a.selection, b.selection) and np.array_equal(a.mean_n, b.mean_n)


def test_decisions() -> None:
    b = BOIN(0.3, 5, n_cohorts=10)
    assert b.decide("1NNN").dose == 2
    assert b.decide("1NNN 2NTN").dose == 2  # 1/3 = 0.33: stay
    assert b.decide("1NNN 2NTT").dose == 1  # 2/3 > 0.3585: de-escalate
    d = b.decide("1TTT")  # dose 1 eliminated
    assert d.stop and d.selected is None
    # R BOIN 2.7.2 get.boundary(0.3, 10, 3)$full_boundary_tab at n = 3: escalate if <= 0,
    # de-escalate if >= 2, eliminate if >= 3
    grid = b.decision_grid()
    assert grid.loc[0, "3"] == "E" and grid.loc[1, "3"] == "S" and grid.loc[2, "3"] == "D"
    assert grid.loc[3, "3"] == "DU"
    table = b.decision_table()
    at3 = table[table["n"] == 3].set_index("events")
    assert at3["action"].tolist() == ["escalate", "stay", "de-escalate", "de-escalate"]
    assert at3["next_dose"].tolist() == [3, 2, 1, 1]
    assert at3.loc[3, "reason"] == "de-escalate: the dose and all higher doses are eliminated"
    # n = 9 (boundaries 2 / 4 / 5): 2 DLTs escalate, 3 stay, 4 de-escalate, 5 eliminate
    at9 = table[table["n"] == 9].set_index("events")
    assert at9.loc[2, "action"] == "escalate" and at9.loc[3, "action"] == "stay"
    assert at9.loc[4, "action"] == "de-escalate" and at9.loc[5, "reason"].startswith("de-esc")


def test_n_earlystop_and_bad_input() -> None:
    b = BOIN(0.3, 3, n_cohorts=10, n_earlystop=6)
    dec = b.decide("1NNN 2NNN 3NTN 3NNN")  # 6 at the top dose, 1/6 -> stay: stop
    assert dec.stop and dec.selected == 3
    with pytest.raises(ValueError, match=r"^target:"):
        BOIN(1.2, 5)
    with pytest.raises(ValueError, match=r"^target:"):
        BOIN(0.7, 5)
    with pytest.raises(ValueError, match=r"^phi1:"):
        BOIN(0.3, 5, phi1=0.29)
    with pytest.raises(ValueError, match=r"^n_doses:"):
        BOIN(0.3, 0)
