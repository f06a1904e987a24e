"""Vectorised Monte Carlo operating characteristics: all simulated trials advance together.

Each simulated patient ``j`` of trial ``t`` carries a latent uniform ``u[t, j]`` and has a DLT
at dose ``d`` when ``u[t, j] < p[d]`` (the tolerance model of O'Quigley, Paoletti & Maccario
2002). Drawing ``u`` once from ``seed`` gives every design the same patients: common random
numbers, so designs are compared on identical simulated trials.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from earlyphase.engine.results import OperatingCharacteristics
from earlyphase.engine.rule import BatchRule
from earlyphase.engine.step import (
    add_cohort,
    apply_decisions,
    finish,
    overdose_summaries,
    take_decisions,
)
from earlyphase.stats.checks import check_count

FloatArray = NDArray[np.float64]


def patient_tolerances(n_sims: int, max_patients: int, seed: int | None) -> FloatArray:
    """Latent uniforms ``u[trial, patient]`` (common random numbers for all designs)."""
    rng = np.random.default_rng(seed)
    return rng.random((n_sims, max_patients))


@dataclass(frozen=True)
class SimulatedTrials:
    """Per-trial results of a simulation: selected dose (0-based, -1 none), patients and DLTs."""

    selected: NDArray[np.int64]
    n: NDArray[np.int64]
    y: NDArray[np.int64]


def run_trials(
    design: BatchRule,
    p: FloatArray,
    tolerances: FloatArray,
    progress: Callable[[int, int], None] | None = None,
) -> SimulatedTrials:
    """Run ``len(tolerances)`` trials of ``design`` together; patient j of trial t has a DLT at
    dose d when ``tolerances[t, j] < p[d]``."""
    n_sims = tolerances.shape[0]
    k = design.n_doses
    max_p = design.max_patients
    if tolerances.shape[1] < max_p:
        raise ValueError("tolerances: need at least max_patients latent uniforms per trial")
    u = tolerances
    st = design.initial_states(n_sims)
    active = np.arange(n_sims)
    selected = np.full(n_sims, -1, dtype=np.int64)
    final_n = np.zeros((n_sims, k), dtype=np.int64)
    final_y = np.zeros((n_sims, k), dtype=np.int64)
    done = 0
    while active.size:
        sizes = design.cohort_sizes(st)
        total = st.total
        p_cur = p[st.current]
        dlts = np.zeros(active.size, dtype=np.int64)
        for j in range(int(sizes.max())):
            col = np.minimum(total + j, max_p - 1)
            dlts += (j < sizes) & (u[active, col] < p_cur)
        new = add_cohort(st, sizes, dlts)
        dec = finish(design, new, design.decide_batch(new))
        stop = dec.stop
        if stop.any():
            ids = active[stop]
            selected[ids] = dec.selected[stop]
            final_n[ids] = new.n[stop]
            final_y[ids] = new.y[stop]
            done += int(stop.sum())
            if progress is not None:
                progress(done, n_sims)
        go = ~stop
        keep = np.flatnonzero(go)
        st = apply_decisions(new.take(keep), take_decisions(dec, go))
        active = active[keep]
    return SimulatedTrials(selected=selected, n=final_n, y=final_y)


def summarise(
    design: BatchRule, p: FloatArray, trials: SimulatedTrials
) -> OperatingCharacteristics:
    """Operating characteristics from simulated trials."""
    k = design.n_doses
    n_sims = len(trials.selected)
    sel = np.bincount(np.where(trials.selected < 0, k, trials.selected), minlength=k + 1) / n_sims
    uniq, counts = np.unique(trials.n.sum(axis=1), return_counts=True)
    od60, od80, above = overdose_summaries(p, design.target, trials.n, np.ones(n_sims))
    return OperatingCharacteristics(
        true_tox=p,
        dose_labels=tuple(design.doses.label(i + 1) for i in range(k)),
        selection=sel.astype(np.float64),
        mean_n=trials.n.mean(axis=0),
        mean_dlt=trials.y.mean(axis=0),
        n_distribution={int(a): float(b) / n_sims for a, b in zip(uniq, counts, strict=True)},
        prob_overdose_60=od60,
        prob_overdose_80=od80,
        mean_n_above_target=above,
        method="simulate",
        n_sims=n_sims,
        mc_se=np.sqrt(sel * (1 - sel) / n_sims),
        design=design.describe(),
    )


def simulate_oc(
    design: BatchRule,
    p: FloatArray,
    n_sims: int = 10_000,
    seed: int | None = None,
    tolerances: FloatArray | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> OperatingCharacteristics:
    """Simulated operating characteristics of ``design`` under true DLT probabilities ``p``."""
    n_sims = check_count(n_sims, "n_sims", minimum=1)
    u = (
        tolerances
        if tolerances is not None
        else patient_tolerances(n_sims, design.max_patients, seed)
    )
    return summarise(design, p, run_trials(design, p, u[:n_sims], progress))
