"""logrank_test against R survdiff."""

from __future__ import annotations

import pytest

from earlyphase.stats import logrank_test
from helpers import (
    MAINT_S,  # R survival::aml (Miller 1997), Maintained and Nonmaintained arms
    MAINT_T,
    NONM_S,
    NONM_T,
    agrees,
    assert_agree,
    assert_agree_decimals,
)


def test_aml() -> None:
    # R 4.2.2, survival 3.5-3: survdiff(Surv(time, status) ~ x, data = aml) gives
    # chisq = 3.396389, p = 1 - pchisq(chisq, 1) = 0.06533932; therneau/survival
    # tests/doaml.Rout.save prints O = 7, 11 and E = 10.69, 7.31
    r = logrank_test(
        MAINT_T + NONM_T, MAINT_S + NONM_S, ["Maintained"] * 11 + ["Nonmaintained"] * 12
    )
    assert agrees(r.statistic, 3.396389) and agrees(r.p_value, 0.06533932) and r.df == 1
    assert r.groups["observed"].tolist() == [7, 11]
    assert_agree_decimals(r.groups["expected"], [10.69, 7.31], 2)
    stat, df, p = r
    assert (stat, df, p) == (r.statistic, r.df, r.p_value)


def test_against_r_fixture(r_reference: dict) -> None:
    """ovarian by rx (chisq 1.06274), lung by sex (10.32674) and bmtcrr by Phase (3 df)."""
    for case in r_reference["logrank"]:
        r = logrank_test(case["time"], case["status"], [int(g) for g in case["group"]])
        assert agrees(r.statistic, case["chisq"][0], 10), case["name"]
        assert r.df == int(case["df"][0])
        assert agrees(r.p_value, case["p"][0], 10), case["name"]
        assert_agree(r.groups["observed"], case["obs"], 12)
        assert_agree(r.groups["expected"], case["exp"], 10)


def test_published_ovarian_and_lung(r_reference: dict) -> None:
    # R 4.2.2, survival 3.5-3: survdiff(Surv(futime, fustat) ~ rx, data = ovarian) and
    # survdiff(Surv(time, status) ~ sex, data = lung); data from fixtures/r_reference.json
    by_name = {c["name"]: c for c in r_reference["logrank"]}
    ov = by_name["ovarian_rx"]
    r = logrank_test(ov["time"], ov["status"], ov["group"])
    assert agrees(r.statistic, 1.06274, 6) and agrees(r.p_value, 0.3025911)
    lu = by_name["lung_sex"]
    r = logrank_test(lu["time"], lu["status"], lu["group"])
    assert agrees(r.statistic, 10.32674) and agrees(r.p_value, 0.001311165)


def test_bad_input() -> None:
    with pytest.raises(ValueError, match=r"^group:"):
        logrank_test([1, 2, 3], [1, 1, 0], ["a", "a", "a"])
    with pytest.raises(ValueError, match=r"^group:"):
        logrank_test([1, 2, 3], [1, 1, 0], ["a", None, "b"])
    with pytest.raises(ValueError, match=r"^time, event, group:"):
        logrank_test([1, 2, 3], [1, 1, 0], ["a", "b"])
