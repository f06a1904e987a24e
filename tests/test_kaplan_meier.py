"""kaplan_meier against R survival (doaml.Rout.save, ovarian.Rout.save, recomputed fixtures)."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

from earlyphase.stats import kaplan_meier
from helpers import (
    MAINT_S,  # R survival::aml (Miller 1997), Maintained and Nonmaintained arms
    MAINT_T,
    NONM_S,
    NONM_T,
    agrees,
    assert_agree,
    assert_agree_decimals,
)


def test_aml_maintained_doaml_rout_save() -> None:
    # therneau/survival tests/doaml.Rout.save: summary(survfit(Surv(aml$time, aml$status) ~
    # aml$x)), default log CI (printed with 3-4 significant digits)
    tab = kaplan_meier(MAINT_T, MAINT_S).table(censored=False)
    assert tab["time"].tolist() == [9, 13, 18, 23, 31, 34, 48]
    assert tab["n_risk"].tolist() == [11, 10, 8, 7, 5, 4, 2]
    assert tab["n_event"].tolist() == [1] * 7
    assert_agree_decimals(tab["survival"], [0.909, 0.818, 0.716, 0.614, 0.491, 0.368, 0.184], 3)
    assert_agree_decimals(
        tab["std_err"], [0.0867, 0.1163, 0.1397, 0.1526, 0.1642, 0.1627, 0.1535], 4
    )
    assert_agree_decimals(tab["lower"], [0.7541, 0.6192, 0.4884, 0.3769, 0.2549, 0.1549, 0.0359], 4)
    assert_agree_decimals(tab["upper"], [1.000, 1.000, 1.000, 0.999, 0.946, 0.875, 0.944], 3)


@pytest.mark.parametrize(
    "conf_type, lower, upper, median",
    [
        # R 4.2.2, survival 3.5-3: summary(survfit(Surv(time, status) ~ 1, conf.type = ...,
        # data = subset(aml, x == "Maintained"))) and its $table median, 0.95LCL, 0.95UCL
        (
            "log",
            [0.7541338, 0.6192490, 0.4884263, 0.3768671, 0.2548600, 0.1548771, 0.0359179],
            [1, 1, 1, 0.9991576, 0.9455850, 0.8752607, 0.9435258],
            (31, 18, math.nan),
        ),
        (
            "log-log",
            [0.50808021, 0.44742861, 0.35019039, 0.26575204, 0.16733091, 0.09282957, 0.01173848],
            [0.9866738, 0.9511622, 0.8990240, 0.8352992, 0.7533998, 0.6570408, 0.5250148],
            (31, 13, math.nan),
        ),
        (
            "plain",
            [0.73920433, 0.59025506, 0.44217078, 0.31448249, 0.16909620, 0.04935666, 0],
            [1, 1, 0.9896474, 0.9127902, 0.8127220, 0.6870070, 0.4849312],
            (31, 18, 48),
        ),
    ],
)
def test_aml_maintained_conf_types(
    conf_type: str, lower: list[float], upper: list[float], median: tuple[float, float, float]
) -> None:
    fit = kaplan_meier(MAINT_T, MAINT_S, conf_type=conf_type)
    tab = fit.table(censored=False)
    assert_agree(
        tab["survival"],
        [0.9090909, 0.8181818, 0.7159091, 0.6136364, 0.4909091, 0.3681818, 0.1840909],
    )
    assert_agree(
        tab["std_err"],
        [0.08667842, 0.11629130, 0.13966497, 0.15263233, 0.16419327, 0.16266889, 0.15349275],
    )
    assert_agree(tab["lower"], lower, 7)
    assert_agree(tab["upper"], upper, 7)
    assert_agree(fit.median(), median)


def test_aml_nonmaintained_with_zero_at_end() -> None:
    # doaml.Rout.save: S(45) = 0 with std.err NaN and no interval; median 23 (8, NA). R survival
    # 3.5-3 with conf.type = "log-log": median 23 (5, 33).
    fit = kaplan_meier(NONM_T, NONM_S)
    tab = fit.table(censored=False)
    assert_agree_decimals(
        tab["survival"], [0.8333, 0.6667, 0.5833, 0.4861, 0.3889, 0.2917, 0.1944, 0.0972, 0.0], 4
    )
    assert_agree_decimals(
        tab["std_err"][:-1], [0.1076, 0.1361, 0.1423, 0.1481, 0.1470, 0.1387, 0.1219, 0.0919], 4
    )
    assert math.isnan(tab["std_err"].iloc[-1])
    assert math.isnan(tab["lower"].iloc[-1]) and math.isnan(tab["upper"].iloc[-1])
    assert_agree(fit.median(), (23, 8, math.nan))
    assert_agree(kaplan_meier(NONM_T, NONM_S, "log-log").median(), (23, 5, 33))


def test_aml_pooled_landmarks() -> None:
    # R 4.2.2, survival 3.5-3: summary(survfit(Surv(time, status) ~ 1, data = aml,
    # conf.type = "log" or "log-log"), times = c(10, 20, 30, 40)) and the medians' limits
    t, s = MAINT_T + NONM_T, MAINT_S + NONM_S
    tab = kaplan_meier(t, s).table(times=[10, 20, 30, 40])
    assert tab["n_risk"].iloc[0] == 18
    assert_agree(tab["survival"], [0.7826087, 0.6459627, 0.4416839, 0.2760524])
    assert agrees(tab["std_err"].iloc[0], 0.08600615, 7)
    assert_agree(tab["lower"], [0.6309579, 0.4752577, 0.2716760, 0.1338222])
    assert_agree(tab["upper"], [0.9707088, 0.8779823, 0.7180785, 0.5694493])
    ll = kaplan_meier(t, s, "log-log").table(times=[10, 20, 30, 40])
    assert_agree(ll["lower"], [0.5542115, 0.4139530, 0.2273812, 0.1044413])
    assert_agree(ll["upper"], [0.9032075, 0.8053078, 0.6370927, 0.4802847])
    assert_agree(kaplan_meier(t, s).median(), (27, 18, 45))
    assert_agree(kaplan_meier(t, s, "log-log").median(), (27, 13, 34))


# R survival::ovarian: futime (days) and fustat
OVARIAN_T = [
    59,
    115,
    156,
    421,
    431,
    448,
    464,
    475,
    477,
    563,
    638,
    744,
    769,
    770,
    803,
    855,
    1040,
    1106,
    1129,
    1206,
    1227,
    268,
    329,
    353,
    365,
    377,
]
OVARIAN_S = [1, 1, 1, 0, 1, 0, 1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0]


def test_ovarian_day_landmarks() -> None:
    # R 4.2.2, survival 3.5-3: summary(survfit(Surv(futime, fustat) ~ 1, data = ovarian,
    # conf.type = "log" or "log-log"), times = c(56, 100, 365, 730))
    tab = kaplan_meier(OVARIAN_T, OVARIAN_S).table(times=[56, 100, 365, 730])
    assert tab["n_risk"].tolist() == [26, 25, 20, 10]
    assert_agree(tab["survival"], [1, 0.9615385, 0.7307692, 0.4967320])
    assert_agree(tab["std_err"], [0, 0.03771464, 0.08698929, 0.10510266])
    assert_agree(tab["lower"], [1, 0.8903890, 0.5787019, 0.3281088])
    assert_agree(tab["upper"], [1, 1, 0.9227957, 0.7520148])
    ll = kaplan_meier(OVARIAN_T, OVARIAN_S, "log-log").table(times=[56, 100, 365, 730])
    assert_agree(ll["lower"], [1, 0.7569443, 0.5168857, 0.2820547])
    assert_agree(ll["upper"], [1, 0.9944912, 0.8615026, 0.6792101])


def test_against_r_fixture(r_reference: dict) -> None:
    """Edge cases (all censored, one subject, ties at the first time, S = 0 at the end, a
    censoring before the first event, a flat stretch at S = 0.5) and lung, all three CI types,
    recomputed by R survival 3.5-3: full curves, landmark rows and quartiles with limits.
    Works on a deep copy: the session-scoped fixture must not change under other tests."""
    for case in copy.deepcopy(r_reference["kaplan_meier"]):
        what = f"{case['name']} {case['conf_type']}"
        fit = kaplan_meier(case["time"], case["status"], conf_type=case["conf_type"])
        full = fit.table()
        assert_agree(full["time"], case["curve_time"], 12, what)
        assert_agree(full["n_risk"], case["curve_n_risk"], 12, what)
        assert_agree(full["n_event"], case["curve_n_event"], 12, what)
        assert_agree(full["n_censor"], case["curve_n_censor"], 12, what)
        assert_agree(full["survival"], case["curve_surv"], 12, what)
        assert_agree(full["std_err"], case["curve_std_err"], 12, what)
        # survfit keeps NA limits where S = 1 under log-log (log(-log 1) is undefined) and
        # summary() prints 1 before the first time but NA later; we report (1, 1) throughout
        lower = np.where(
            (full["survival"] == 1) & np.isnan(case["curve_lower"]), 1.0, case["curve_lower"]
        )
        upper = np.where(
            (full["survival"] == 1) & np.isnan(case["curve_upper"]), 1.0, case["curve_upper"]
        )
        assert_agree(full["lower"], lower, 12, what)
        assert_agree(full["upper"], upper, 12, what)
        land = fit.table(times=case["times"])
        certain = land["survival"].to_numpy() == 1
        for key in ("lower", "upper"):
            case[key] = np.where(certain & np.isnan(case[key]), 1.0, case[key])
        for col, key in [
            ("time", "times"),
            ("n_risk", "n_risk"),
            ("n_event", "n_event"),
            ("n_censor", "n_censor"),
            ("survival", "surv"),
            ("std_err", "std_err"),
            ("lower", "lower"),
            ("upper", "upper"),
        ]:
            assert_agree(land[col], case[key], 12, f"{what} landmark {col}")
        for i, p in enumerate((0.25, 0.5, 0.75)):
            est, lo, hi = fit.quantile(p)
            assert_agree(
                [est, lo, hi],
                [case["q_est"][i], case["q_lower"][i], case["q_upper"][i]],
                12,
                f"{what} quantile {p}",
            )


def test_lung_printed_summary() -> None:
    # R 4.2.2, survival 3.5-3: fit <- survfit(Surv(time, status) ~ 1, data = lung);
    # summary(fit)$table (median 310, 95% CI 285-363) and summary(fit, times = c(180, 365, 730)).
    # The data are survival::lung as stored in fixtures/r_reference.json.
    import json
    from pathlib import Path

    data = json.loads((Path(__file__).parent / "fixtures" / "r_reference.json").read_text())
    case = next(c for c in data["kaplan_meier"] if c["name"] == "lung" and c["conf_type"] == "log")
    fit = kaplan_meier(case["time"], case["status"])
    assert_agree(fit.median(), (310, 285, 363))
    tab = fit.table(times=[180, 365, 730])
    assert tab["n_risk"].tolist() == [160, 65, 13]
    assert_agree(tab["survival"], [0.7216707, 0.4092416, 0.1156931])
    assert_agree(tab["std_err"], [0.02981242, 0.03582364, 0.02829820])
    assert_agree(tab["lower"][:2], [0.6655423, 0.3447216])
    assert agrees(tab["lower"].iloc[2], 0.0716318, 6)
    assert_agree(tab["upper"], [0.7825326, 0.4858376, 0.1868568])


def test_one_subject_and_all_censored() -> None:
    one = kaplan_meier([4], [1])
    assert one.survival.tolist() == [0.0]
    assert one.median()[0] == 4.0
    cens = kaplan_meier([3, 5, 8], [0, 0, 0])
    assert cens.survival.tolist() == [1.0, 1.0, 1.0]
    assert all(math.isnan(v) for v in cens.median())
    assert cens.table(times=[5])["lower"].tolist() == [1.0]


def test_boolean_events_and_unsorted_input() -> None:
    a = kaplan_meier([5, 1, 3], [True, False, True]).table()
    b = kaplan_meier([1, 3, 5], [0, 1, 1]).table()
    assert a.equals(b)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"time": [1, -2], "event": [1, 0]}, "time"),
        ({"time": [1, float("nan")], "event": [1, 0]}, "time"),
        ({"time": [1, 2], "event": [1, 2]}, "event"),
        ({"time": [1, 2, 3], "event": [1, 0]}, "time, event"),
        ({"time": [], "event": []}, "time"),
        ({"time": [1, 2], "event": [1, 0], "conf_type": "logit"}, "conf_type"),
        ({"time": [1, 2], "event": [1, 0], "level": 95}, "level"),
    ],
)
def test_bad_input(kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=rf"^{field}:"):
        kaplan_meier(**kwargs)


def test_bad_landmark_times() -> None:
    with pytest.raises(ValueError, match=r"^times:"):
        kaplan_meier([1, 2], [1, 1]).table(times=[-1])
