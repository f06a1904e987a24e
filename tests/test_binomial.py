"""binomial_ci against R (binom.test, prop.test) and closed forms."""

from __future__ import annotations

import pytest

from earlyphase.stats import BINOMIAL_METHODS, binomial_ci
from helpers import all_agree

# R 4.2.2: binom.test(x, n)$conf.int (clopper-pearson), prop.test(x, n, correct = FALSE)$conf.int
# (wilson), qbeta(c(0.025, 0.975), x + 0.5, n - x + 0.5) with 0 at x = 0 and 1 at x = n
# (jeffreys).
R_INTERVALS = [
    # x, n, clopper-pearson, wilson, jeffreys
    (0, 10, (0, 0.3084971), (0, 0.2775328), (0, 0.2171963)),
    (1, 10, (0.002528579, 0.4450161), (0.01787621, 0.4041500), (0.01101167, 0.3813148)),
    (5, 10, (0.187086028, 0.8129140), (0.23659309, 0.7634069), (0.22352867, 0.7764713)),
    (7, 10, (0.347547150, 0.9332605), (0.39677815, 0.8922087), (0.39418168, 0.9073054)),
    (10, 10, (0.691502892, 1), (0.72246720, 1), (0.78280373, 1)),
    (3, 15, (0.043312005, 0.4808911), (0.07047549, 0.4518545), (0.05977097, 0.4436355)),
    (12, 16, (0.476229180, 0.9273380), (0.50501683, 0.8981793), (0.50927101, 0.9091718)),
    (15, 20, (0.508954128, 0.9134285), (0.53129912, 0.8881383), (0.53580537, 0.8976015)),
    (8, 25, (0.149495423, 0.5350007), (0.17205190, 0.5158973), (0.16443477, 0.5146123)),
]


def close(got: tuple[float, float], want: tuple[float, float], sig: int = 7) -> bool:
    """Equal to ``sig`` significant digits, as R printed them."""
    return all_agree(got, want, sig)


@pytest.mark.parametrize("x, n, cp, wilson, jeffreys", R_INTERVALS)
def test_intervals_against_r(
    x: int,
    n: int,
    cp: tuple[float, float],
    wilson: tuple[float, float],
    jeffreys: tuple[float, float],
) -> None:
    assert close(binomial_ci(x, n, "clopper-pearson"), cp)
    assert close(binomial_ci(x, n, "wilson"), wilson)
    assert close(binomial_ci(x, n, "jeffreys"), jeffreys)


def test_wilson_cc_matches_prop_test() -> None:
    # R 4.2.2: prop.test(7, 10)$conf.int and prop.test(0, 10)$conf.int
    assert close(binomial_ci(7, 10, "wilson-cc"), (0.3536707, 0.9190522))
    assert close(binomial_ci(0, 10, "wilson-cc"), (0, 0.3445372))
    # R shrinks the correction to |x - n/2|: prop.test(5, 10) equals the uncorrected interval
    # (R 4.2.2 prints 0.2365930905 0.7634069095).
    assert close(binomial_ci(5, 10, "wilson-cc"), (0.2365930905, 0.7634069095), sig=10)


def test_ips_day56_published() -> None:
    # HLC-001 report: day-56 survival 5/7, 95% CI 29.0%-96.3% (Clopper-Pearson).
    lo, hi = binomial_ci(5, 7)
    assert (round(100 * lo, 1), round(100 * hi, 1)) == (29.0, 96.3)


def test_against_r_fixture(r_reference: dict) -> None:
    for case in r_reference["binomial"]:
        x, n, level = int(case["x"][0]), int(case["n"][0]), case["level"][0]
        assert close(
            binomial_ci(x, n, "clopper-pearson", level), tuple(case["clopper_pearson"]), 12
        )
        assert close(binomial_ci(x, n, "wilson", level), tuple(case["wilson"]), 12)
        assert close(binomial_ci(x, n, "wilson-cc", level), tuple(case["wilson_cc"]), 12)


# Closed forms evaluated in R 4.2.2 (z = qnorm(0.975)): Agresti-Coull and Wald truncated to
# [0, 1]; mid-P limits solved with uniroot(tol = 1e-14); printed with 10 decimals.
CLOSED_FORMS = [
    (0, 10, (0.0, 0.3208873058), (0.0, 0.0), (0.0, 0.2588655509)),
    (1, 10, (0.0, 0.4259677374), (0.0, 0.2859385097), (0.0050014753, 0.4034761557)),
    (
        7,
        10,
        (0.3923252980, 0.8966615821),
        (0.4159742349, 0.9840257651),
        (0.3800814341, 0.9173997830),
    ),
    (10, 10, (0.6791126942, 1.0), (1.0, 1.0), (0.7411344491, 1.0)),
    (3, 15, (0.0628196324, 0.4595103482), (0.0, 0.4024242099), (0.0535377435, 0.4534820990)),
    (5, 7, (0.3523512832, 0.9243642446), (0.3796278532, 1.0), (0.3302106862, 0.9489957752)),
]


@pytest.mark.parametrize("x, n, ac, wald, midp", CLOSED_FORMS)
def test_closed_forms(
    x: int, n: int, ac: tuple[float, float], wald: tuple[float, float], midp: tuple[float, float]
) -> None:
    assert close(binomial_ci(x, n, "agresti-coull"), ac, 8)
    assert close(binomial_ci(x, n, "wald"), wald, 8)
    assert close(binomial_ci(x, n, "mid-p"), midp, 8)


def test_mid_p_zero_closed_form() -> None:
    # x = 0: upper limit solves (1 - p)^n / 2 = alpha / 2, i.e. p = 1 - 0.05^(1/n).
    assert binomial_ci(0, 10, "mid-p")[1] == pytest.approx(1 - 0.05 ** (1 / 10), rel=1e-12)


@pytest.mark.parametrize("method", BINOMIAL_METHODS)
def test_intervals_are_ordered_and_bounded(method: str) -> None:
    for n in (1, 2, 7, 30):
        for x in range(n + 1):
            lo, hi = binomial_ci(x, n, method)
            assert 0.0 <= lo <= hi <= 1.0


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"x": 8, "n": 7}, "x"),
        ({"x": -1, "n": 7}, "x"),
        ({"x": 1.5, "n": 7}, "x"),
        ({"x": 1, "n": 0}, "n"),
        ({"x": 1, "n": 7, "level": 1.0}, "level"),
        ({"x": 1, "n": 7, "level": 0}, "level"),
        ({"x": 1, "n": 7, "method": "exact"}, "method"),
    ],
)
def test_bad_input_names_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=rf"^{field}:"):
        binomial_ci(**kwargs)
