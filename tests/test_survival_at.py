"""``KaplanMeierResult.survival_at`` against R survival.

Reference: ``tests/fixtures/survival_at_reference.json``, written by
``tests/fixtures/r/make_survival_at_fixture.R`` from R 4.2.2 / survival 3.5-3
``summary(survfit(Surv(time, status) ~ 1), times = times, extend = TRUE)$surv``. The probe
times of every case include 0, a time before the first observation, each event and
censoring-only time, midpoints between consecutive times, the last time and two beyond it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from earlyphase.stats.survival import kaplan_meier

FIXTURE = Path(__file__).parent / "fixtures" / "survival_at_reference.json"
CASES: list[dict[str, Any]] = json.loads(FIXTURE.read_text(encoding="utf-8"))["cases"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_survival_at_matches_r_summary_survfit_extend(case: dict[str, Any]) -> None:
    fit = kaplan_meier(case["time"], case["status"])
    got = fit.survival_at(case["times"])
    # source: R survival summary(survfit(...), times = times, extend = TRUE)$surv
    np.testing.assert_allclose(got, case["surv"], rtol=1e-13, atol=1e-15)


def _case(name: str) -> dict[str, Any]:
    (c,) = [c for c in CASES if c["name"] == name]
    return c


def test_survival_at_each_kind_of_time_small_ties() -> None:
    """The small data set with the kinds of times named, values from the R fixture and, by hand,
    the product-limit: 1 - 1/8 = 0.875 at t = 1; x (1 - 1/7) = 0.75 at 2; x (1 - 1/5) = 0.6 at
    3; x (1 - 1/4) = 0.45 at 5 (censorings at 2, 5, 8, 9)."""
    c = _case("small_ties")
    fit = kaplan_meier(c["time"], c["status"])
    r = dict(zip(c["times"], c["surv"], strict=True))
    hand = {
        0.0: 1.0,  # time origin
        0.5: 1.0,  # before the first event
        1.0: 0.875,  # at an event time: right-continuous, the drop is included
        1.5: 0.875,  # between events
        2.0: 0.75,  # event and censoring tied at 2
        3.0: 0.6,
        5.0: 0.45,
        8.0: 0.45,  # censoring-only time: no drop
        9.0: 0.45,  # last observed time (censored)
        10.0: 0.45,  # beyond the last time: extend = TRUE keeps the last value
        97.0: 0.45,
    }
    for t, want in hand.items():
        assert r[t] == pytest.approx(want, abs=1e-15)  # the R fixture agrees with the hand value
        assert fit.survival_at([t])[0] == pytest.approx(want, abs=1e-15), t


def test_survival_at_after_a_final_event_and_with_an_event_at_time_zero() -> None:
    c = _case("last_is_event")  # R: S = 0 from t = 6 on, also beyond the last time
    fit = kaplan_meier(c["time"], c["status"])
    assert fit.survival_at([6, 7, 67]).tolist() == [0.0, 0.0, 0.0]
    c = _case("event_at_zero")  # R: S(0) = 3/4 already (an event at time 0 counts at 0)
    fit = kaplan_meier(c["time"], c["status"])
    assert fit.survival_at([0])[0] == pytest.approx(0.75, abs=1e-15)


def test_survival_at_keeps_the_order_and_repeats_of_the_query() -> None:
    """R sorts and de-duplicates ``times``; ``survival_at`` evaluates elementwise, so an unsorted
    query with repeats gives R's values in the query's order."""
    c = _case("aml")
    fit = kaplan_meier(c["time"], c["status"])
    r = dict(zip(c["times"], c["surv"], strict=True))
    query = [c["times"][i] for i in (7, 0, 30, 7, 12, 38, 3)]
    np.testing.assert_allclose(fit.survival_at(query), [r[t] for t in query], rtol=1e-13)


def test_survival_at_rejects_negative_times() -> None:
    fit = kaplan_meier([1, 2, 3], [1, 0, 1])
    with pytest.raises(ValueError, match=r"^times: element 1"):
        fit.survival_at([1.0, -0.5])
