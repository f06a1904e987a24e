"""BOIN's extra-safe stop where R BOIN 2.7.2 contradicts itself.

``get.boundary(..., extrasafe = TRUE)`` prints a stop at dose 1 after 3/3 DLTs when the target is
0.5, but ``get.oc`` applies that stop only where the elimination boundary exists (it is nested
under ``!is.na(b.elim[n])``). The default follows the printed table; ``get_oc_compatible=True``
reproduces ``get.oc``. Reference: ``fixtures/boin_extrasafe_get_oc.json`` (R BOIN 2.7.2
``get.oc``, 10^5 trials, made by ``fixtures/r/make_boin_extrasafe_fixture.R``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from earlyphase.designs import BOIN

FIXTURE = json.loads(
    (Path(__file__).parent / "fixtures" / "boin_extrasafe_get_oc.json").read_text()
)


def test_extra_safe_stop_after_three_dlts_at_dose_one() -> None:
    printed = BOIN(0.5, 3, n_cohorts=10, extra_safe=True)
    # closed form: Pr(p > 0.5 | 3/3, Beta(1, 1) prior) = 1 - 0.5^4 = 0.9375 > 0.95 - 0.05
    table = printed.boundary_table()
    assert table.loc[table["n"] == 3, "stop_trial_if_dose1_dlt_ge"].item() == 3
    assert printed.decide("1TTT").stop
    like_r = BOIN(0.5, 3, n_cohorts=10, extra_safe=True, get_oc_compatible=True)
    assert like_r.boundary_table().equals(table)  # the printed table does not change
    assert not like_r.decide("1TTT").stop and like_r.decide("1TTT").dose == 1
    # where the elimination boundary exists (n = 6: 6/6) both stop at 5/6 as R does
    assert printed.decide("1TTT 1TTN").stop and like_r.decide("1TTT 1TTN").stop


@pytest.mark.parametrize("s", FIXTURE["scenarios"], ids=lambda s: f"{s['target']}-{s['p_true']}")
def test_get_oc_compatible_matches_get_oc(s: dict[str, Any]) -> None:
    """Exact operating characteristics against R's Monte Carlo: within 4 standard errors."""
    n_trials = s["ntrial"]
    design = BOIN(s["target"], 3, n_cohorts=10, extra_safe=True, get_oc_compatible=True)
    oc = design.operating_characteristics(s["p_true"])
    for got, want in zip(oc.selection[:3], s["selpercent"], strict=True):
        p = want / 100
        se = max(math.sqrt(p * (1 - p) / n_trials), 1 / n_trials)
        assert abs(got - p) <= 4 * se, (got, p)
    stop = s["percentstop"] / 100
    assert abs(oc.prob_no_selection - stop) <= 4 * math.sqrt(stop * (1 - stop) / n_trials) + 1e-5
    # the total sample size lies in [0, 30], so its SD is at most 15
    assert abs(oc.mean_total_n - s["totaln"]) <= 4 * 15 / math.sqrt(n_trials)
    printed = BOIN(s["target"], 3, n_cohorts=10, extra_safe=True).operating_characteristics(
        s["p_true"]
    )
    # the table-following default stops earlier: far outside R's Monte Carlo error
    assert s["totaln"] - printed.mean_total_n > 1.0
