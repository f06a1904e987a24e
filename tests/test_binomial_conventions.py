"""The two Jeffreys boundary rules: SAS/Brown-Cai-DasGupta (``"jeffreys"``) and R binom
(``"jeffreys-binom"``), against R binom 1.1-1.1 ``binom.bayes(type = "central")``
(``fixtures/binom_bayes_central.json``, made by ``fixtures/r/make_jeffreys_fixture.R``) and
closed-form Beta quantiles."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scipy.stats import beta

from earlyphase.stats import binomial_ci

ROWS = json.loads((Path(__file__).parent / "fixtures" / "binom_bayes_central.json").read_text())[
    "rows"
]


def test_jeffreys_binom_is_r_binom_bayes_central() -> None:
    for r in ROWS:
        lo, hi = binomial_ci(r["x"], r["n"], "jeffreys-binom", level=r["level"])
        assert (lo, hi) == pytest.approx((r["lower"], r["upper"]), abs=1e-12), r


def test_jeffreys_differs_from_r_binom_only_at_the_boundary() -> None:
    for r in ROWS:
        got = binomial_ci(r["x"], r["n"], "jeffreys", level=r["level"])
        if 0 < r["x"] < r["n"]:
            assert got == pytest.approx((r["lower"], r["upper"]), abs=1e-12), r
            continue
        # Brown, Cai & DasGupta (2001) / SAS: the open limit keeps its alpha/2 quantile
        a, n = 1 - r["level"], r["n"]
        if r["x"] == 0:
            assert got == (0.0, pytest.approx(beta.ppf(1 - a / 2, 0.5, n + 0.5), abs=1e-14))
            assert got[1] > r["upper"]
        else:
            assert got == (pytest.approx(beta.ppf(a / 2, n + 0.5, 0.5), abs=1e-14), 1.0)
            assert got[0] < r["lower"]
