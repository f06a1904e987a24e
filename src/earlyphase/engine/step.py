"""One step of a trial for a batch of states: treat a cohort, then let the design decide."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from earlyphase.engine.rule import BatchRule
from earlyphase.engine.states import R_MAX_N, Decisions, IntArray, States


def add_cohort(st: States, sizes: IntArray, dlts: IntArray) -> States:
    """Data after each trial treats ``sizes`` patients at its current dose with ``dlts`` DLTs."""
    n = st.n.copy()
    y = st.y.copy()
    rows = np.arange(st.size)
    n[rows, st.current] += sizes
    y[rows, st.current] += dlts
    return States(
        n, y, st.current.copy(), sizes.astype(np.int64), dlts.astype(np.int64), st.aux.copy()
    )


def apply_decisions(st: States, dec: Decisions) -> States:
    """Move each continuing trial to its next dose (and update behaviour state)."""
    current = np.where(dec.stop, st.current, dec.next_dose).astype(np.int64)
    aux = st.aux if dec.aux is None else dec.aux
    return States(st.n, st.y, current, st.last_n, st.last_y, aux)


def finish(design: BatchRule, st: States, dec: Decisions) -> Decisions:
    """Trials that cannot treat another patient (cohort size 0) stop with the design's choice."""
    sizes = design.cohort_sizes(apply_decisions(st, dec))
    stuck = (~dec.stop) & (sizes <= 0)
    if stuck.any():
        dec.stop = dec.stop | stuck
        dec.reason = np.where(stuck, R_MAX_N, dec.reason)
        dec.selected = np.where(stuck, design.select_batch(st), dec.selected)
    return dec


def overdose_summaries(
    true_tox: NDArray[np.float64], target: float | None, n: IntArray, weights: NDArray[np.float64]
) -> tuple[float | None, float | None, float | None]:
    """P(more than 60% / 80% of patients at doses above the target) and E[patients above it].

    Follows BOIN ``get.oc``'s overdose60/overdose80 (fraction of the *maximum* sample size is
    replaced here by the fraction of each trial's own sample size), given only when some dose's
    true rate exceeds the target.
    """
    if target is None or not (true_tox > target).any():
        return None, None, None
    above = n[:, true_tox > target].sum(axis=1)
    total = np.maximum(n.sum(axis=1), 1)
    frac = above / total
    w = weights / weights.sum()
    return (
        float((w * (frac > 0.6)).sum()),
        float((w * (frac > 0.8)).sum()),
        float((w * above).sum()),
    )


def take_decisions(dec: Decisions, mask: NDArray[np.bool_]) -> Decisions:
    """The decisions of the trials selected by ``mask``."""
    return Decisions(
        next_dose=dec.next_dose[mask],
        stop=dec.stop[mask],
        reason=dec.reason[mask],
        selected=dec.selected[mask],
        aux=None if dec.aux is None else dec.aux[mask],
    )
