"""Exact operating characteristics by dynamic programming over trial states.

Cohort by cohort, every trial state still running is expanded by each possible number of DLTs
in its next cohort (binomial probabilities under the true rates), the design decides, finished
trials are tallied, and identical running states are merged (their probabilities added). This
is exact, and state merging keeps it small: a BOIN trial of 10 cohorts of 3 over 5 doses, or a
3+3 over any number of doses, takes a fraction of a second.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from earlyphase.engine.results import OperatingCharacteristics
from earlyphase.engine.rule import BatchRule
from earlyphase.engine.states import States
from earlyphase.engine.step import (
    add_cohort,
    apply_decisions,
    finish,
    overdose_summaries,
    take_decisions,
)

if TYPE_CHECKING:
    pass

FloatArray = NDArray[np.float64]


def expand_outcomes(
    design: BatchRule, st: States, p: FloatArray
) -> tuple[States, NDArray[np.int64], FloatArray]:
    """Every (state, number of DLTs in the next cohort) pair with its probability."""
    from scipy.stats import binom

    sizes = design.cohort_sizes(st)
    smax = int(sizes.max())
    ks = np.arange(smax + 1)
    pk = binom.pmf(ks[None, :], sizes[:, None], p[st.current][:, None])
    pk = np.where(ks[None, :] <= sizes[:, None], pk, 0.0)
    keep = pk > 0
    rep, kk = np.nonzero(keep)
    new = add_cohort(st.take(rep), sizes[rep], kk.astype(np.int64))
    return new, rep, pk[rep, kk]


def exact_oc(design: BatchRule, p: FloatArray) -> OperatingCharacteristics:
    """Exact operating characteristics of ``design`` under true DLT probabilities ``p``."""
    k = design.n_doses
    st = design.initial_states(1)
    prob: FloatArray = np.ones(1)
    sel = np.zeros(k + 1)
    mean_n = np.zeros(k)
    mean_y = np.zeros(k)
    n_dist: dict[int, float] = defaultdict(float)
    final_n: list[NDArray[np.int64]] = []
    final_w: list[FloatArray] = []
    terminal = 0
    guard = 0
    while st.size:
        guard += 1
        if guard > 10_000:  # pragma: no cover - a design that never stops is a bug
            raise RuntimeError("design: trial paths do not terminate")
        new, rep, pk = expand_outcomes(design, st, p)
        w = prob[rep] * pk
        dec = finish(design, new, design.decide_batch(new))
        stop = dec.stop
        if stop.any():
            ws = w[stop]
            sel_idx = np.where(dec.selected[stop] < 0, k, dec.selected[stop])
            np.add.at(sel, sel_idx, ws)
            mean_n += (new.n[stop] * ws[:, None]).sum(axis=0)
            mean_y += (new.y[stop] * ws[:, None]).sum(axis=0)
            totals = new.n[stop].sum(axis=1)
            uniq, inv = np.unique(totals, return_inverse=True)
            sums = np.bincount(inv, weights=ws)
            for tot, wt in zip(uniq.tolist(), sums.tolist(), strict=True):
                n_dist[int(tot)] += wt
            final_n.append(new.n[stop])
            final_w.append(ws)
            terminal += int(stop.sum())
        go = ~stop
        if not go.any():
            break
        moved = apply_decisions(new.take(np.flatnonzero(go)), take_decisions(dec, go))
        if not design.uses_last_cohort:
            moved.last_n[:] = 0
            moved.last_y[:] = 0
        rows = moved.as_rows()
        uniq_rows, inv = np.unique(rows, axis=0, return_inverse=True)
        prob = np.bincount(inv.ravel(), weights=w[go], minlength=len(uniq_rows)).astype(np.float64)
        st = States.from_rows(uniq_rows, k)
    all_n = np.vstack(final_n) if final_n else np.zeros((0, k), dtype=np.int64)
    all_w = np.concatenate(final_w) if final_w else np.zeros(0)
    od60, od80, above = overdose_summaries(p, design.target, all_n, all_w)
    return OperatingCharacteristics(
        true_tox=p,
        dose_labels=tuple(design.doses.label(i + 1) for i in range(k)),
        selection=sel,
        mean_n=mean_n,
        mean_dlt=mean_y,
        n_distribution=dict(sorted(n_dist.items())),
        prob_overdose_60=od60,
        prob_overdose_80=od80,
        mean_n_above_target=above,
        method="exact",
        n_sims=None,
        mc_se=None,
        design=design.describe(),
        n_terminal_states=terminal,
    )
