"""cumulative_incidence and gray_test against R cmprsk 2.2-11 on bmtcrr (Scrucca, Santucci &
Aversa 2007; fixtures/bmtcrr.csv)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from earlyphase.stats import cumulative_incidence, gray_test
from helpers import assert_agree

TIMES = [6, 12, 24, 36, 60]


def test_bmtcrr_overall(bmtcrr) -> None:  # type: ignore[no-untyped-def]
    # R 4.2.2, cmprsk 2.2-11: timepoints(cuminc(ftime, Status, cencode = 0), c(6, 12, 24, 36, 60))
    # ($est, $var); log-log CI as tidycmprsk forms it, est^exp(-+qnorm(0.975) sqrt(var) /
    # (est log(est))). n_risk: summary(survfit(Surv(ftime, factor(Status)) ~ 1), times = ...)
    r = cumulative_incidence(bmtcrr.ftime, bmtcrr.Status, times=TIMES)
    tab = r.table()
    rel = tab[tab.cause == 1]
    assert_agree(rel["estimate"], [0.1864407, 0.2713748, 0.3019812, 0.3167183, 0.3252740])
    assert_agree(
        rel["variance"], [0.0008631839, 0.001128117, 0.001218275, 0.001275215, 0.001316057]
    )
    assert_agree(rel["lower"], [0.1328253, 0.2078663, 0.2353278, 0.2482310, 0.2555331])
    assert_agree(rel["upper"], [0.2472099, 0.3386131, 0.3712081, 0.3872459, 0.3967488])
    trm = tab[tab.cause == 2]
    assert_agree(trm["estimate"], [0.2655367, 0.4016949, 0.4199907, 0.4266104, 0.4266104])
    assert trm["n_risk"].tolist() == [99, 56, 42, 31, 20]
    # lifelines' jittered estimate is 0.180791: the tie at t = 6 (a relapse and a TRM death)
    assert not math.isclose(rel["estimate"].iloc[0], 0.180791, abs_tol=1e-3)


def test_bmtcrr_by_disease(bmtcrr) -> None:  # type: ignore[no-untyped-def]
    # R 4.2.2, cmprsk 2.2-11: ci <- cuminc(ftime, Status, D, cencode = 0);
    # timepoints(ci, c(20, 40, 60, 80, 100, 120)) ($est, $var) and timepoints(ci, TIMES)$est
    r = cumulative_incidence(bmtcrr.ftime, bmtcrr.Status, group=bmtcrr.D)
    est = r.table(times=[20, 40, 60, 80, 100, 120])

    def sel(g: str, c: int, col: str = "estimate") -> list[float]:
        return est[(est.group == g) & (est.cause == c)][col].tolist()

    assert_agree(sel("ALL", 1), [0.3713851, 0.3875571, 0.3875571, 0.3875571, 0.3875571, 0.3875571])
    assert_agree(sel("AML", 1), [0.2414530, 0.2663827, 0.2810390, 0.2810390, 0.2810390, math.nan])
    assert_agree(sel("ALL", 2), [0.3698630, 0.3860350, 0.3860350, 0.3860350, 0.3860350, 0.3860350])
    assert_agree(sel("AML", 2), [0.4439103, 0.4551473, 0.4551473, 0.4551473, 0.4551473, math.nan])
    assert_agree(sel("ALL", 1, "variance")[:2], [0.003307032, 0.003405375])
    assert_agree(sel("AML", 1, "variance")[:3], [0.001801156, 0.001995487, 0.002130835])
    assert_agree(sel("ALL", 2, "variance")[:2], [0.003268852, 0.003373130])
    assert_agree(sel("AML", 2, "variance")[:2], [0.002430406, 0.002460425])
    tp = r.table(times=TIMES)
    assert_agree(
        tp[(tp.group == "ALL") & (tp.cause == 1)].estimate,
        [0.2328767, 0.3424658, 0.3875571, 0.3875571, 0.3875571],
    )
    assert_agree(
        tp[(tp.group == "AML") & (tp.cause == 1)].estimate,
        [0.1538462, 0.2211538, 0.2414530, 0.2663827, 0.2810390],
    )
    assert_agree(
        tp[(tp.group == "ALL") & (tp.cause == 2)].estimate,
        [0.2602740, 0.3561644, 0.3698630, 0.3860350, 0.3860350],
    )
    assert_agree(
        tp[(tp.group == "AML") & (tp.cause == 2)].estimate,
        [0.2692308, 0.4337607, 0.4551473, 0.4551473, 0.4551473],
    )


@pytest.mark.parametrize(
    "column, stats, pvalues",
    [
        # R 4.2.2, cmprsk 2.2-11: cuminc(ftime, Status, <column>, cencode = 0)$Tests; D (ALL vs
        # AML) is the comparison worked in Scrucca et al. (2007)
        ("D", [2.8623325, 0.4481279], [0.09067592, 0.50322531]),
        ("Phase", [14.3585497, 0.5894389], [0.002455588, 0.898845777]),
        ("Source", [1.781492, 4.591711], [0.18196619, 0.03212692]),
        ("Sex", [0.06461589, 2.38477743], [0.7993437, 0.1225223]),
    ],
)
def test_gray_bmtcrr(bmtcrr, column: str, stats: list[float], pvalues: list[float]) -> None:  # type: ignore[no-untyped-def]
    tab = gray_test(bmtcrr.ftime, bmtcrr.Status, bmtcrr[column])
    assert tab["cause"].tolist() == [1, 2]
    assert_agree(tab["statistic"], stats)
    assert_agree(tab["p_value"], pvalues)
    assert tab["df"].tolist() == [bmtcrr[column].nunique() - 1] * 2


def test_against_r_fixture(r_reference: dict, bmtcrr) -> None:  # type: ignore[no-untyped-def]
    """Ties of different causes within and across groups, censoring tied with events, and
    Gray's test with strata and with rho = 1 (R cmprsk 2.2-11)."""
    f = r_reference["cuminc"]
    times = f["times"]
    r = cumulative_incidence(f["time"], f["cause"], group=[int(g) for g in f["group"]])
    tab = r.table(times=times)
    for g in (1, 2):
        for c in (1, 2):
            rows = tab[(tab.group == g) & (tab.cause == c)]
            assert_agree(rows["estimate"], f[f"est_g{g}_c{c}"], 12, f"est g{g} c{c}")
            assert_agree(rows["variance"], f[f"var_g{g}_c{c}"], 12, f"var g{g} c{c}")
    tests = r.gray_test()
    assert_agree(tests["statistic"], f["test_stat"], 12)
    assert_agree(tests["p_value"], f["test_p"], 12)
    overall = cumulative_incidence(f["time"], f["cause"]).table(times=times)
    for c in (1, 2):
        rows = overall[overall.cause == c]
        assert_agree(rows["estimate"], f[f"overall_est_c{c}"], 12)
        assert_agree(rows["variance"], f[f"overall_var_c{c}"], 12)
    st = gray_test(bmtcrr.ftime, bmtcrr.Status, bmtcrr.D, strata=bmtcrr.Source)
    assert_agree(st["statistic"], f["bmtcrr_D_strata_source_stat"], 10)
    assert_agree(st["p_value"], f["bmtcrr_D_strata_source_p"], 10)
    rho = gray_test(bmtcrr.ftime, bmtcrr.Status, bmtcrr.D, rho=1)
    assert_agree(rho["statistic"], f["bmtcrr_D_rho1_stat"], 10)
    assert_agree(rho["p_value"], f["bmtcrr_D_rho1_p"], 10)


def test_event_rows_and_custom_censor_code() -> None:
    # hand-worked: times 1..5, causes 1,2,1,0,1 with censor code 9 for the censored one.
    # KM before t: 1, 4/5, 3/5, 2/5, 2/5; F1 jumps 1/5 at t=1, (3/5)(1/3) = 1/5 at t=3,
    # (2/5)(1/1) at t=5 -> 0.2, 0.4, 0.8.
    r = cumulative_incidence([1, 2, 3, 4, 5], [1, 2, 1, 9, 1], censor_code=9)
    tab = r.table()
    rel = tab[tab.cause == 1]
    assert rel["time"].tolist() == [1, 3, 5]
    assert np.allclose(rel["estimate"], [0.2, 0.4, 0.8])
    assert r.causes == [1, 2]


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"time": [1, -1], "cause": [1, 0]}, "time"),
        ({"time": [1, 2], "cause": [1, 0.5]}, "cause"),
        ({"time": [1, 2], "cause": [0, 0]}, "cause"),
        ({"time": [1, 2], "cause": [1, 0], "level": 2}, "level"),
        ({"time": [1, 2], "cause": [1, 0], "conf_type": "arcsin"}, "conf_type"),
        ({"time": [1, 2, 3], "cause": [1, 0]}, "time, cause"),
    ],
)
def test_bad_input(kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=rf"^{field}:"):
        cumulative_incidence(**kwargs)


def test_gray_needs_groups() -> None:
    with pytest.raises(ValueError, match=r"^group:"):
        gray_test([1, 2, 3], [1, 2, 0], ["a", "a", "a"])
    with pytest.raises(ValueError, match=r"^group:"):
        cumulative_incidence([1, 2, 3], [1, 2, 0]).gray_test()
