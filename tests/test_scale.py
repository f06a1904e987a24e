"""Operating characteristics at scale: exact enumeration of larger trials, and simulation in
chunks whose results do not depend on the chunk size."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binom

from earlyphase.designs import BOIN, ThreePlusThree
from earlyphase.designs.base import DoseFindingDesign
from earlyphase.designs.crm import CRM
from earlyphase.designs.interval import MTPI2, I3Plus3, Keyboard
from earlyphase.engine.exact import ExactTooLargeError, exact_oc
from earlyphase.engine.monte_carlo import patient_tolerances, run_trials, simulate_oc
from earlyphase.engine.states import States
from earlyphase.engine.step import add_cohort, apply_decisions, finish, take_decisions
from earlyphase.simulate import compare_designs

TRUTH = np.array([0.05, 0.12, 0.25, 0.40, 0.55])


def every_path_oc(design: DoseFindingDesign, p: np.ndarray) -> dict[str, np.ndarray]:
    """Selection and mean patients/DLTs by following every trial path separately (no state
    is ever merged): the reference the dynamic programme must reproduce."""
    k = design.n_doses
    st = design.initial_states(1)
    prob = np.ones(1)
    sel = np.zeros(k + 1)
    mean_n = np.zeros(k)
    mean_y = np.zeros(k)
    while st.size:
        sizes = design.cohort_sizes(st)
        rep = np.repeat(np.arange(st.size), sizes + 1)
        kk = np.concatenate([np.arange(s + 1) for s in sizes])
        new = add_cohort(st.take(rep), sizes[rep], kk)
        w = prob[rep] * binom.pmf(kk, sizes[rep], p[st.current[rep]])
        dec = finish(design, new, design.decide_batch(new))
        stop = dec.stop
        np.add.at(sel, np.where(dec.selected[stop] < 0, k, dec.selected[stop]), w[stop])
        mean_n += w[stop] @ new.n[stop]
        mean_y += w[stop] @ new.y[stop]
        go = ~stop
        st = apply_decisions(new.take(np.flatnonzero(go)), take_decisions(dec, go))
        prob = w[go]
    return {"selection": sel, "mean_n": mean_n, "mean_dlt": mean_y}


SMALL = {
    "BOIN": BOIN(0.3, 5, n_cohorts=6),
    "BOIN extra-safe, early stop": BOIN(
        0.25, 5, n_cohorts=6, extra_safe=True, n_earlystop=9, bound_mtd=True
    ),
    "BOIN with behaviours": BOIN(0.3, 5, n_cohorts=4)
    .dont_skip_doses()
    .with_expansion(6, tox_limit=0.35),
    "3+3": ThreePlusThree(5),
    "mTPI-2": MTPI2(0.3, 5, n_cohorts=6),
    "Keyboard": Keyboard(0.3, 5, n_cohorts=6),
    "i3+3": I3Plus3(0.3, 5, n_cohorts=6),
    "CRM": CRM([0.05, 0.12, 0.25, 0.40, 0.55], 0.3, n_patients=15, cohort_size=3),
}


@pytest.mark.parametrize("name", list(SMALL))
def test_merged_dynamic_programme_equals_every_path_enumeration(name: str) -> None:
    design = SMALL[name]
    ref = every_path_oc(design, TRUTH)
    oc = design.operating_characteristics(TRUTH.tolist())
    np.testing.assert_allclose(oc.selection, ref["selection"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(oc.mean_n, ref["mean_n"], rtol=0, atol=1e-11)
    np.testing.assert_allclose(oc.mean_dlt, ref["mean_dlt"], rtol=0, atol=1e-11)
    assert sum(oc.n_distribution.values()) == pytest.approx(1.0, abs=1e-12)


def test_exact_n60_consistency_with_large_monte_carlo() -> None:
    """BOIN, 20 cohorts of 3 (N = 60): exact OCs within 4 standard errors of 10^5 trials."""
    design = BOIN(0.3, 5, n_cohorts=20)
    exact = design.operating_characteristics(TRUTH.tolist())
    n_sims = 100_000
    trials = run_trials(design, TRUTH, patient_tolerances(n_sims, design.max_patients, 2026))
    chose = np.where(trials.selected < 0, 5, trials.selected)
    hits = np.eye(6)[chose]
    se_sel = hits.std(axis=0) / np.sqrt(n_sims)
    assert np.all(np.abs(hits.mean(axis=0) - exact.selection) < 4 * se_sel + 1e-12)
    se_n = trials.n.std(axis=0) / np.sqrt(n_sims)
    assert np.all(np.abs(trials.n.mean(axis=0) - exact.mean_n) < 4 * se_n + 1e-12)
    se_y = trials.y.std(axis=0) / np.sqrt(n_sims)
    assert np.all(np.abs(trials.y.mean(axis=0) - exact.mean_dlt) < 4 * se_y + 1e-12)
    assert exact.selection.sum() == pytest.approx(1.0, abs=1e-12)


def test_exact_refuses_past_its_state_budget_and_auto_stays_exact_within_it() -> None:
    design = BOIN(0.3, 5, n_cohorts=12)
    with pytest.raises(ExactTooLargeError):
        exact_oc(design, TRUTH, max_states=500)
    auto = design.operating_characteristics(TRUTH.tolist(), method="auto", n_sims=2000, seed=1)
    assert auto.method == "exact"
    small = BOIN(0.3, 5, n_cohorts=6)
    assert small.operating_characteristics(TRUTH.tolist(), method="auto").method == "exact"


def test_auto_simulates_when_exact_would_be_too_large(monkeypatch: pytest.MonkeyPatch) -> None:
    import earlyphase.designs.base as base

    monkeypatch.setattr(base, "AUTO_MAX_STATES", 100)
    design = BOIN(0.3, 5, n_cohorts=10)
    oc = design.operating_characteristics(TRUTH.tolist(), method="auto", n_sims=3000, seed=4)
    assert oc.method == "simulate" and oc.n_sims == 3000
    same = design.operating_characteristics(TRUTH.tolist(), method="simulate", n_sims=3000, seed=4)
    np.testing.assert_array_equal(oc.selection, same.selection)


def test_states_that_do_not_fit_one_key_still_merge() -> None:
    from earlyphase.engine.exact import merge_states

    big = 1 << 40
    n = np.array([[big, 1], [big, 1], [0, 2], [big, 1]], dtype=np.int64)
    z = np.zeros(4, dtype=np.int64)
    st = States(n, n * 0 + big // 2, z, z, z, np.zeros((4, 0), dtype=np.int64))
    merged, w = merge_states(st, np.array([0.1, 0.2, 0.3, 0.4]))
    assert merged.size == 2
    assert sorted(w.round(12).tolist()) == [0.3, 0.7]


def test_chunk_size_does_not_change_simulated_results() -> None:
    design = BOIN(0.3, 5, n_cohorts=10)
    a = simulate_oc(design, TRUTH, n_sims=20_000, seed=7, chunk_size=1000)
    b = simulate_oc(design, TRUTH, n_sims=20_000, seed=7, chunk_size=7000)
    assert a.to_dict() == b.to_dict()
    # the same patients as drawing every trial's uniforms at once
    whole = run_trials(design, TRUTH, np.random.default_rng(7).random((20_000, 30)))
    np.testing.assert_array_equal(
        a.selection, np.bincount(np.where(whole.selected < 0, 5, whole.selected)) / 20_000
    )
    np.testing.assert_array_equal(a.mean_n, whole.n.mean(axis=0))


def test_chunked_comparison_keeps_common_random_numbers() -> None:
    designs = {"BOIN": BOIN(0.3, 5, n_cohorts=8), "3+3": ThreePlusThree(5)}
    t1, o1 = compare_designs(designs, TRUTH.tolist(), n_sims=5000, seed=3, chunk_size=600)
    t2, o2 = compare_designs(designs, TRUTH.tolist(), n_sims=5000, seed=3, chunk_size=5000)
    assert t1.equals(t2)
    assert o1["BOIN"].to_dict() == o2["BOIN"].to_dict()
    width = max(d.max_patients for d in designs.values())
    u = patient_tolerances(5000, width, 3)
    alone = simulate_oc(designs["BOIN"], TRUTH, n_sims=5000, tolerances=u)
    np.testing.assert_array_equal(alone.selection, o1["BOIN"].selection)


def step_every_trial(design: DoseFindingDesign, p: np.ndarray, u: np.ndarray) -> tuple:
    """Each simulated trial stepped through ``decide_batch`` cohort by cohort, every trial
    asking the design itself: the reference the memoised transition table must reproduce."""
    n_sims, k, max_p = len(u), design.n_doses, design.max_patients
    st = design.initial_states(n_sims)
    active = np.arange(n_sims)
    selected = np.full(n_sims, -1)
    final_n = np.zeros((n_sims, k), dtype=np.int64)
    final_y = np.zeros((n_sims, k), dtype=np.int64)
    while active.size:
        sizes = design.cohort_sizes(st)
        dlts = np.zeros(active.size, dtype=np.int64)
        for j in range(int(sizes.max())):
            col = np.minimum(st.total + j, max_p - 1)
            dlts += (j < sizes) & (u[active, col] < p[st.current])
        new = add_cohort(st, sizes, dlts)
        dec = finish(design, new, design.decide_batch(new))
        ids = active[dec.stop]
        selected[ids] = dec.selected[dec.stop]
        final_n[ids] = new.n[dec.stop]
        final_y[ids] = new.y[dec.stop]
        go = ~dec.stop
        st = apply_decisions(new.take(np.flatnonzero(go)), take_decisions(dec, go))
        active = active[go]
    return selected, final_n, final_y


STEPPED = {
    **SMALL,
    "BOIN stop rules": BOIN(0.3, 5, n_cohorts=8)
    .stop_at_n(18)
    .stop_when_n_at_dose(9)
    .stop_when_too_toxic(0.3, 0.9),
    "CRM, cohorts of 1": CRM([0.05, 0.12, 0.25, 0.40, 0.55], 0.3, n_patients=16),
    "CRM logistic, unrestricted": CRM(
        [0.05, 0.12, 0.25, 0.40, 0.55],
        0.3,
        model="logistic",
        n_patients=12,
        cohort_size=2,
        no_skipping=False,
        coherence=False,
    ),
}


@pytest.mark.parametrize("name", list(STEPPED))
def test_transition_table_simulates_the_trials_the_design_decides(name: str) -> None:
    from earlyphase.engine.transitions import Transitions

    design = STEPPED[name]
    u = patient_tolerances(3000, design.max_patients, 11)
    sel, n, y = step_every_trial(design, TRUTH, u)
    table = Transitions(design, max_states=50)  # starts afresh between runs: same trials
    for _ in range(2):
        trials = run_trials(design, TRUTH, u, table=table)
        np.testing.assert_array_equal(trials.selected, sel)
        np.testing.assert_array_equal(trials.n, n)
        np.testing.assert_array_equal(trials.y, y)
