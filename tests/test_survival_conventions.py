"""Kaplan-Meier where R survival has two rules or stores NA, against R survival 3.5-3
(``fixtures/survival_conventions.json``, made by
``fixtures/r/make_survival_conventions_fixture.R``)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from earlyphase.stats import kaplan_meier

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "survival_conventions.json").read_text())


def _nan(v: float | None) -> float:
    return float("nan") if v is None else float(v)


def _same(got: tuple[float, float, float], want: list[float | None]) -> bool:
    return all(
        (math.isnan(g) and w is None) or (w is not None and g == pytest.approx(w, abs=1e-12))
        for g, w in zip(got, want, strict=True)
    )


@pytest.mark.parametrize("case", FIXTURE["medians"], ids=lambda c: str(c["status"]))
def test_median_rules(case: dict[str, Any]) -> None:
    """``rule="quantile"`` is quantile.survfit; ``rule="print"`` is print.survfit, which differ
    only for a curve flat at exactly 0.5 to the end of follow-up."""
    fit = kaplan_meier(case["time"], case["status"])
    assert _same(fit.median(), case["quantile"])
    assert _same(fit.median(rule="print"), case["print"])
    assert _same(fit.quantile(0.5, rule="print"), case["print"])
    with pytest.raises(ValueError, match=r"^rule:"):
        fit.median(rule="sas")  # type: ignore[arg-type]


def test_log_log_limits_at_survival_one() -> None:
    """R stores NA for log-log limits at censoring times before the first event, and prints
    (1, 1) before the first observed time; here every S = 1 row is (1, 1). Elsewhere the
    limits are R's to 1e-12."""
    ll = FIXTURE["loglog"]
    fit = kaplan_meier(ll["time"], ll["status"], conf_type="log-log")
    np.testing.assert_allclose(fit.time, ll["curve_time"])
    np.testing.assert_allclose(fit.survival, ll["surv"], atol=1e-12)
    r_lower = np.array([_nan(v) for v in ll["lower"]])
    r_upper = np.array([_nan(v) for v in ll["upper"]])
    at_one = fit.survival == 1.0
    assert np.isnan(r_lower[at_one]).all()  # R's NA ...
    assert (fit.lower[at_one] == 1.0).all() and (fit.upper[at_one] == 1.0).all()  # ... here 1
    defined = ~at_one & ~np.isnan(r_lower)
    np.testing.assert_allclose(fit.lower[defined], r_lower[defined], atol=1e-12)
    np.testing.assert_allclose(fit.upper[defined], r_upper[defined], atol=1e-12)
    # before the first time R prints (1, 1) too
    table = fit.table(times=[0.5])
    assert table["lower"].iloc[0] == ll["summary_lower"][0] == 1.0
    assert table["upper"].iloc[0] == ll["summary_upper"][0] == 1.0
