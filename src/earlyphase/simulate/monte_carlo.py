"""Vectorised Monte Carlo operating characteristics: all simulated trials advance together.

Each simulated patient ``j`` of trial ``t`` carries a latent uniform ``u[t, j]`` and has a DLT
at dose ``d`` when ``u[t, j] < p[d]`` (the tolerance model of O'Quigley, Paoletti & Maccario
2002). Drawing ``u`` once from ``seed`` gives every design the same patients: common random
numbers, so designs are compared on identical simulated trials.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from earlyphase.designs.base import DoseFindingDesign
from earlyphase.simulate.engine import (
    add_cohort,
    apply_decisions,
    finish,
    overdose_summaries,
    take_decisions,
)
from earlyphase.simulate.results import OperatingCharacteristics
from earlyphase.stats._checks import check_count

FloatArray = NDArray[np.float64]


def patient_tolerances(n_sims: int, max_patients: int, seed: int | None) -> FloatArray:
    """Latent uniforms ``u[trial, patient]`` (common random numbers for all designs)."""
    rng = np.random.default_rng(seed)
    return rng.random((n_sims, max_patients))


def simulate_oc(
    design: DoseFindingDesign,
    p: FloatArray,
    n_sims: int = 10_000,
    seed: int | None = None,
    tolerances: FloatArray | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> OperatingCharacteristics:
    """Simulated operating characteristics of ``design`` under true DLT probabilities ``p``."""
    n_sims = check_count(n_sims, "n_sims", minimum=1)
    k = design.n_doses
    max_p = design.max_patients
    u = tolerances if tolerances is not None else patient_tolerances(n_sims, max_p, seed)
    if u.shape[0] < n_sims or u.shape[1] < max_p:
        raise ValueError("tolerances: need at least (n_sims, max_patients) latent uniforms")
    st = design.initial_states(n_sims)
    active = np.arange(n_sims)
    selected = np.full(n_sims, -1, dtype=np.int64)
    final_n = np.zeros((n_sims, k), dtype=np.int64)
    final_y = np.zeros((n_sims, k), dtype=np.int64)
    done = 0
    while active.size:
        sizes = design._cohort_sizes(st)
        total = st.total
        p_cur = p[st.current]
        dlts = np.zeros(active.size, dtype=np.int64)
        for j in range(int(sizes.max())):
            col = np.minimum(total + j, max_p - 1)
            dlts += (j < sizes) & (u[active, col] < p_cur)
        new = add_cohort(st, sizes, dlts)
        dec = finish(design, new, design._decide_batch(new))
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
    sel = np.bincount(np.where(selected < 0, k, selected), minlength=k + 1) / n_sims
    totals = final_n.sum(axis=1)
    uniq, counts = np.unique(totals, return_counts=True)
    weights = np.ones(n_sims)
    od60, od80, above = overdose_summaries(p, design.target, final_n, weights)
    return OperatingCharacteristics(
        true_tox=p,
        dose_labels=tuple(design.doses.label(i + 1) for i in range(k)),
        selection=sel.astype(np.float64),
        mean_n=final_n.mean(axis=0),
        mean_dlt=final_y.mean(axis=0),
        n_distribution={int(a): float(b) / n_sims for a, b in zip(uniq, counts, strict=True)},
        prob_overdose_60=od60,
        prob_overdose_80=od80,
        mean_n_above_target=above,
        method="simulate",
        n_sims=n_sims,
        mc_se=np.sqrt(sel * (1 - sel) / n_sims),
        design=design.describe(),
    )
