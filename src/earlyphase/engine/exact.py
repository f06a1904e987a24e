"""Exact operating characteristics by dynamic programming over trial states.

Cohort by cohort, every trial state still running is expanded by each possible number of DLTs
in its next cohort (binomial probabilities under the true rates), the design decides, finished
trials are added to running totals (:class:`~earlyphase.engine.tally.Tally`), and identical
running states are merged (their probabilities added). This is exact: a trial's future depends
on its past only through its state (patients and DLTs per dose, the current dose, the
behaviours' state, and the last cohort only for designs whose rule reads it), so two paths
reaching one state can be followed as one. What a rule derives from the counts (for BOIN and
the interval designs the eliminated doses, for 3+3 the closed doses) needs no state of its
own. The final selection does read every dose's counts (BOIN's isotonic estimate), so the
counts stay in the state; it is taken when a state finishes and added to the totals at once,
so nothing about finished trials is kept.

Paths merge twice a cohort: right after the cohort's outcomes (1/3 then 0/3 at a dose meets
0/3 then 1/3 there), before the design decides, so each distinct state is decided once; and
after the moves, across blocks. Each state is packed into one 64-bit key (mixed radix over
its columns, each shifted by its minimum, and divided by the step of its values when the key
would not otherwise fit), so merging is one sort of integers; states that do not fit in 63
bits are sorted as rows. States are expanded and decided in blocks of at most ``BLOCK`` rows
and wait between cohorts as 16-bit rows, so memory is under 200 bytes per running state.

The cost is the number of distinct states, which does not depend on the true rates (only
rates of exactly 0 or 1 prune paths). For BOIN with 5 doses and cohorts of 3 it grows by a
factor of about 2 per cohort early and 1.3 late: N = 30 (10 cohorts) ends in 8 thousand states
and takes a fraction of a second; N = 60 (20 cohorts), 0.8 million running states at most,
1.6 million terminal, about 4 s of CPU and 200 MiB; N = 90 (30 cohorts), 20 million running,
36 million terminal, a few minutes of CPU and 3.5 GiB (``benchmarks/README.md``, "Simulation
at scale"). ``max_states`` bounds the running states: past it :class:`ExactTooLargeError` is
raised, and ``operating_characteristics(method="auto")`` simulates instead (past
``AUTO_MAX_STATES``, from N = 69 for that BOIN).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from earlyphase.engine.results import OperatingCharacteristics
from earlyphase.engine.rule import BatchRule
from earlyphase.engine.states import IntArray, States
from earlyphase.engine.step import finish
from earlyphase.engine.tally import Tally

FloatArray = NDArray[np.float64]

#: Rows (state x number of DLTs) expanded and decided at once: bounds the working memory.
BLOCK = 1 << 18

#: Default bound on running states for ``method="auto"``: beyond it exact enumeration takes
#: more than about a minute and a few GiB, and simulation is the better tool.
AUTO_MAX_STATES = 2_000_000


class ExactTooLargeError(RuntimeError):
    """Exact enumeration would hold more running states than allowed."""


class _Binomials:
    """P(k DLTs among s patients at dose d), computed once per cohort size."""

    def __init__(self, p: FloatArray) -> None:
        self.p = p
        self.tables: dict[int, FloatArray] = {}

    def table(self, smax: int) -> FloatArray:
        """(cohort size s <= smax, dose, k) -> probability (0 for k > s).

        C(s, k) p^k (1 - p)^(s - k) directly: cohorts are small, and SciPy's import would
        cost more than the enumeration of a small trial."""
        if smax not in self.tables:
            table = np.zeros((smax + 1, len(self.p), smax + 1))
            for s in range(smax + 1):
                for k in range(s + 1):
                    table[s, :, k] = math.comb(s, k) * self.p**k * (1.0 - self.p) ** (s - k)
            self.tables[smax] = table
        return self.tables[smax]


def expand_outcomes(
    design: BatchRule,
    st: States,
    p: FloatArray,
    binomials: _Binomials | None = None,
    keep_last: bool = True,
) -> tuple[States, IntArray, FloatArray]:
    """Every (state, number of DLTs in the next cohort) pair with its probability.

    The same as :func:`~earlyphase.engine.step.add_cohort` on the repeated states, built in
    one copy; ``keep_last=False`` leaves the last cohort at zero (for rules that do not read
    it, so that states differing only there merge).
    """
    sizes = design.cohort_sizes(st)
    smax = int(sizes.max())
    table = (binomials or _Binomials(p)).table(smax)
    pk = table[sizes, st.current]
    rep, kk = np.nonzero(pk > 0)
    rows = np.arange(len(rep))
    current = st.current[rep]
    size = sizes[rep]
    n = st.n[rep]
    y = st.y[rep]
    n[rows, current] += size
    y[rows, current] += kk
    last_n, last_y = (size, kk.astype(np.int64)) if keep_last else (rows * 0, rows * 0)
    new = States(n, y, current, last_n, last_y, st.aux[rep])
    return new, rep.astype(np.int64), pk[rep, kk]


def _columns(st: States) -> list[IntArray]:
    """The state's integer columns (views), in the order of :meth:`States.as_rows`."""
    return [*st.n.T, *st.y.T, st.current, st.last_n, st.last_y, *st.aux.T]


def _pack(
    cols: Sequence[NDArray[np.integer]], bounds: tuple[IntArray, IntArray] | None = None
) -> IntArray | None:
    """One int64 key per row of the columns ``cols``, ordered as the rows are
    lexicographically; None when the rows do not fit in 63 bits. ``bounds``: the columns'
    minima and maxima, when known."""
    low, high = bounds if bounds is not None else ([c.min() for c in cols], [c.max() for c in cols])
    lo = [int(m) for m in low]
    radix = [int(h) - m + 1 for h, m in zip(high, lo, strict=True)]
    step = [1] * len(cols)
    if math.prod(radix) >= 1 << 63:
        # counts move in steps (patients by whole cohorts): divide each column by its step
        for j, c in enumerate(cols):
            if radix[j] > 2:
                step[j] = max(1, int(np.gcd.reduce(c - lo[j])))
                radix[j] = (radix[j] - 1) // step[j] + 1
        if math.prod(radix) >= 1 << 63:
            return None
    key = np.zeros(len(cols[0]), dtype=np.int64)
    for c, m, r, s in zip(cols, lo, radix, step, strict=True):
        if r == 1:
            continue
        digit = c - m
        if s > 1:
            digit //= s
        key *= r
        key += digit
    return key


def _groups(key: IntArray, w: FloatArray) -> tuple[IntArray, FloatArray]:
    """One row index per distinct key, and the summed weights of each key's rows."""
    order = np.argsort(key)
    sorted_key = key[order]
    new_group = sorted_key[1:] != sorted_key[:-1]
    starts = np.concatenate(([0], np.flatnonzero(new_group) + 1))
    group = np.concatenate(([0], np.cumsum(new_group)))
    summed = np.bincount(group, weights=w[order], minlength=len(starts))
    return order[starts], np.asarray(summed, dtype=np.float64)


def merge_states(st: States, w: FloatArray) -> tuple[States, FloatArray]:
    """The distinct states of ``st`` with their summed weights ``w``."""
    if st.size <= 1:
        return st, w
    key = _pack(_columns(st))
    if key is None:
        _, first, inv = np.unique(st.as_rows(), axis=0, return_index=True, return_inverse=True)
        total = np.bincount(inv.ravel(), weights=w, minlength=len(first))
        return st.take(first), np.asarray(total, dtype=np.float64)
    pick, summed = _groups(key, w)
    return st.take(pick), summed


def _narrow(rows: NDArray[np.integer]) -> NDArray[np.integer]:
    """``rows`` in 16 bits when every value fits (counts of dose finding always do): running
    states wait between cohorts in a quarter of the memory."""
    if rows.size == 0 or (rows.min() >= -(1 << 15) and rows.max() < 1 << 15):
        return rows.astype(np.int16)
    return rows


def _expand_rows(
    design: BatchRule, mat: IntArray, prob: FloatArray, binomials: _Binomials
) -> tuple[IntArray, FloatArray]:
    """:func:`expand_outcomes` on states as rows (:meth:`States.as_rows`): every (state,
    number of DLTs) pair with its probability, gathered in one copy of whole rows."""
    k = design.n_doses
    sizes = design.cohort_sizes(States.from_rows(mat, k))
    current = mat[:, 2 * k]
    pk = binomials.table(int(sizes.max()))[sizes, current]
    rep, kk = np.nonzero(pk > 0)
    child = mat[rep]
    at = np.arange(len(rep))
    cur = child[:, 2 * k]
    size = sizes[rep]
    child[at, cur] += size
    child[at, k + cur] += kk
    keep = design.uses_last_cohort
    child[:, 2 * k + 1] = size if keep else 0
    child[:, 2 * k + 2] = kk if keep else 0
    return child, prob[rep] * pk[rep, kk]


def merge_rows(rows: NDArray[np.integer], w: FloatArray) -> tuple[NDArray[np.integer], FloatArray]:
    """The distinct rows of ``rows`` with their summed weights ``w``."""
    if len(rows) <= 1:
        return rows, w
    # minima and maxima of a row-major matrix are fastest taken over its rows at once
    key = _pack(list(rows.T), (rows.min(axis=0), rows.max(axis=0)))
    if key is None:
        uniq, inv = np.unique(rows, axis=0, return_inverse=True)
        total = np.bincount(inv.ravel(), weights=w, minlength=len(uniq))
        return uniq, np.asarray(total, dtype=np.float64)
    pick, summed = _groups(key, w)
    return rows[pick], summed


def exact_oc(
    design: BatchRule, p: FloatArray, max_states: int | None = None
) -> OperatingCharacteristics:
    """Exact operating characteristics of ``design`` under true DLT probabilities ``p``.

    Dynamic programming over the distinct trial states, cohort by cohort (module docstring).
    Raises :class:`ExactTooLargeError` when more than ``max_states`` states are running at once.
    """
    k = design.n_doses
    first = design.initial_states(1)
    rows = _narrow(first.as_rows())
    prob: FloatArray = np.ones(1)
    tally = Tally(k, p, design.target)
    binomials = _Binomials(p)
    per_row = max(1, int(design.cohort_sizes(first).max()) + 1)
    block = max(1, BLOCK // per_row)
    guard = 0
    while len(rows):
        guard += 1
        if guard > 10_000:  # pragma: no cover - a design that never stops is a bug
            raise RuntimeError("design: trial paths do not terminate")
        if max_states is not None and len(rows) > max_states:
            raise ExactTooLargeError(
                f"exact enumeration: {len(rows)} running states exceed max_states={max_states}"
            )
        parts: list[NDArray[np.integer]] = []
        weights: list[FloatArray] = []
        for lo in range(0, len(rows), block):
            mat = rows[lo : lo + block].astype(np.int64)
            # when the rule does not read the last cohort, states differing only there merge;
            # paths that differ only before this cohort meet here (e.g. 0/3 then 1/3 and 1/3
            # then 0/3 at a dose): merge them before the design decides, not after
            merged, w = merge_rows(*_expand_rows(design, mat, prob[lo:], binomials))
            child = np.asarray(merged, dtype=np.int64)  # int64 already: no copy
            new = States.from_rows(child, k)
            dec = finish(design, new, design.decide_batch(new))
            stop = dec.stop
            if stop.any():
                tally.add(dec.selected[stop], new.n[stop], new.y[stop], w[stop])
            go = np.flatnonzero(~stop)
            if not go.size:
                continue
            # the continuing states, moved to their next dose (as apply_decisions does)
            moved = child[go]
            moved[:, 2 * k] = dec.next_dose[go]
            if dec.aux is not None:
                moved[:, 2 * k + 3 :] = dec.aux[go]
            parts.append(_narrow(moved))
            weights.append(w[go])
        if not parts:
            break
        joined = parts[0] if len(parts) == 1 else np.concatenate(parts)  # widest dtype
        del parts
        rows, prob = merge_rows(joined, np.concatenate(weights))
        del joined, weights
    od60, od80, above = tally.overdose()
    return OperatingCharacteristics(
        true_tox=p,
        dose_labels=tuple(design.doses.label(i + 1) for i in range(k)),
        selection=tally.selection,
        mean_n=tally.n,
        mean_dlt=tally.y,
        n_distribution=tally.n_distribution(),
        prob_overdose_60=od60,
        prob_overdose_80=od80,
        mean_n_above_target=above,
        method="exact",
        n_sims=None,
        mc_se=None,
        design=design.describe(),
        n_terminal_states=tally.count,
    )
