"""Calendar time shared by the simulations of TITE-CRM, TITE-BOIN and backfill
(earlyphase.designs.late_onset): accrual, screen failures, time to DLT, dropout.

References are closed forms: a schedule of fixed arrivals is worked out by hand; thinning a
Poisson process of rate r by an enrolment probability q leaves a Poisson process of rate r q
(mean gap 1 / (r q)); the truncated Weibull puts ``late`` of the DLTs in the second half of
the window by construction (S(w / 2) solved for the shape).
"""

from __future__ import annotations

import numpy as np
import pytest

from earlyphase.designs.late_onset import (
    Accrual,
    arrivals,
    dlt_times,
    dropout_times,
    treated_while_pending,
)
from earlyphase.designs.tite_boin import TITEBOIN
from earlyphase.designs.tite_crm import TITECRM

TRUTH = [0.05, 0.12, 0.25, 0.4, 0.55]


def test_fixed_schedule_by_hand() -> None:
    """Rate 1 per unit time until time 5, then 4: fixed unit gaps put arrivals at 1..5, then
    every 1/4: 5.25, 5.5 (hand-worked inverse of the cumulative rate)."""
    acc = Accrual("fixed", 1.0, schedule=((0, 1.0), (5, 4.0)))
    t, screened = arrivals(np.random.default_rng(1), 2, 7, acc)
    np.testing.assert_allclose(t[0], [1, 2, 3, 4, 5, 5.25, 5.5])
    assert screened.tolist() == [7, 7]
    zero = Accrual("fixed", 2.0, first="zero")
    t0, _ = arrivals(np.random.default_rng(1), 1, 3, zero)
    np.testing.assert_allclose(t0[0], [0, 2, 4])


def test_screen_failures_thin_the_poisson_process() -> None:
    """Enrolling 1 - f of Poisson arrivals of mean gap g leaves exponential gaps of mean
    g / (1 - f), and 1 / (1 - f) people screened per patient."""
    acc = Accrual("poisson", 2.0, screen_fail=0.25)
    t, screened = arrivals(np.random.default_rng(2), 20_000, 10, acc)
    gaps = np.diff(t, axis=1, prepend=0.0)
    assert gaps.mean() == pytest.approx(2.0 / 0.75, rel=0.01)
    assert gaps.std() == pytest.approx(2.0 / 0.75, rel=0.02)  # exponential: sd = mean
    assert screened.mean() / 10 == pytest.approx(1 / 0.75, rel=0.01)
    uni = Accrual("uniform", 1.0, screen_fail=0.5)
    t_u, _ = arrivals(np.random.default_rng(3), 20_000, 5, uni)
    assert np.diff(t_u, axis=1, prepend=0.0).mean() == pytest.approx(2.0, rel=0.01)


def test_weibull_late_fraction_and_dropout() -> None:
    u = np.random.default_rng(4).random(200_000)
    for p in (0.1, 0.5):
        times = dlt_times(np.full(len(u), p), u, 3.0, "weibull", 0.7)
        assert times.max() <= 3.0
        assert float((times > 1.5).mean()) == pytest.approx(0.7, abs=0.005)
    uni = dlt_times(np.full(len(u), 0.3), u, 3.0)
    assert float((uni > 1.5).mean()) == pytest.approx(0.5, abs=0.005)
    leave = dropout_times(np.random.default_rng(5), (100_000, 1), 2.0, 0.2)
    assert float(np.isfinite(leave).mean()) == pytest.approx(0.2, abs=0.005)
    assert float(leave[np.isfinite(leave)].mean()) == pytest.approx(1.0, abs=0.01)
    assert np.isinf(dropout_times(np.random.default_rng(5), (3, 2), 2.0, 0.0)).all()
    for bad in ({"dropout": 1.0}, {"dropout": -0.1}):
        with pytest.raises(ValueError, match="dropout"):
            dropout_times(np.random.default_rng(5), (1, 1), 1.0, bad["dropout"])
    with pytest.raises(ValueError, match="time_to_dlt"):
        dlt_times(np.ones(1), np.ones(1), 1.0, "gamma")


def test_treated_while_pending_by_hand() -> None:
    """Patients at 0, 1, 5 with outcomes known at 2, 3, 6: the second is dosed while the first
    is pending; the third after both are known."""
    on = np.ones((1, 3), dtype=bool)
    enrol = np.array([[0.0, 1.0, 5.0]])
    resolve = np.array([[2.0, 3.0, 6.0]])
    assert treated_while_pending(on, enrol, resolve).tolist() == [1]


def test_bad_accrual_settings_are_named() -> None:
    for kwargs, name in (
        ({"kind": "weekly"}, "accrual"),
        ({"mean_gap": 0.0}, "accrual_rate"),
        ({"screen_fail": 1.0}, "screen_fail"),
        ({"schedule": ((1, 2.0),)}, "schedule"),
        ({"schedule": ((0, 2.0), (0, 1.0))}, "schedule"),
        ({"schedule": ((0, -1.0),)}, "schedule"),
    ):
        with pytest.raises(ValueError, match=name):
            Accrual(**kwargs)  # type: ignore[arg-type]


def test_tite_crm_with_dropout_replays_through_decide() -> None:
    """Consistency check: with dropout and Weibull times, the dose of each patient of 30
    simulated TITE-CRM trials is what decide says on the data known at their arrival (follow-up
    of a patient who left stays at the time of leaving)."""
    d = TITECRM([0.05, 0.12, 0.25, 0.4, 0.55], 0.25, window=1.0, n_patients=12)
    sim = d.simulate_trials(
        TRUTH, 30, seed=7, accrual_rate=3.0, time_to_dlt="weibull", dropout=0.3, screen_fail=0.2
    )
    assert sim.leave is not None and np.isfinite(sim.leave).any()
    for r in range(30):
        for i in range(1, 12):
            h = sim.history_at(r, float(sim.arrival[r, i]))
            assert d.decide(h).dose == sim.level[r, i], (r, i)
    oc = d.operating_characteristics(
        TRUTH, n_sims=200, seed=3, accrual_rate=3.0, dropout=0.3, screen_fail=0.2
    )
    s = oc.summary()
    assert s["mean_screened"] > 12 and s["mean_n_treated_while_pending"] > 0


def test_tite_boin_dropouts_do_not_suspend_accrual_forever() -> None:
    """With every patient leaving early, outcomes that cannot come are not waited for: every
    trial reaches its sample size (consistency check of the suspension rule's wait count)."""
    d = TITEBOIN(0.25, 5, window=1.0, n_cohorts=6)
    oc = d.operating_characteristics(
        [0.01] * 5, n_sims=300, seed=2, accrual_rate=4.0, dropout=0.999, screen_fail=0.1
    )
    assert oc.mean_n.sum() == pytest.approx(18.0)
    assert oc.summary()["mean_screened"] > 18
