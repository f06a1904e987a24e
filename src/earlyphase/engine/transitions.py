"""A design's decisions memoised as a transition table: simulation asks each once per state.

A dose-finding rule is a deterministic function of a trial's state (per-dose patients and DLTs,
current dose, last cohort, behaviour state; :class:`~earlyphase.engine.states.States`): the
trial is a finite automaton whose input is the number of DLTs in each cohort, as the decision
tables of interval designs make explicit (Liu & Yuan 2015, Table 1; Yan et al. 2020). Simulated
trials revisit the same few thousand states over and over, so :class:`Transitions` stores, for
every state met so far and every DLT count of its next cohort, the state the trial moves to or
the way it ends (selected dose and final counts). A step of many simulated trials is then a
table lookup per trial; the design's own :meth:`~earlyphase.engine.rule.BatchRule.decide_batch`
runs only for (state, DLT count) pairs never met before, once for all trials that meet them.

The decisions are the design's own, computed by the same functions on the same rows
(:mod:`earlyphase.engine.step`), so the simulated trials are those of stepping every trial
through ``decide_batch``; only the number of calls changes. Identical post-cohort states are
merged before the design is asked (paths that meet ask once), and identical terminal outcomes
share one entry, so that a simulation's totals can be added per outcome with its count.

References
----------
Liu S, Yuan Y (2015). Bayesian optimal interval designs for phase I clinical trials.
    J R Stat Soc C 64:507-523.
Yan F, Zhang L, Zhou Y, et al. (2020). BOIN: an R package for designing single-agent and
    drug-combination dose-finding trials using Bayesian optimal interval designs. J Stat Softw
    94(13).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import numpy as np
from numpy.typing import NDArray

from earlyphase.engine.rule import BatchRule
from earlyphase.engine.states import IntArray, States
from earlyphase.engine.step import add_cohort, apply_decisions, finish, take_decisions
from earlyphase.engine.tally import Tally

FloatArray = NDArray[np.float64]

#: A transition not computed yet. Codes >= 0 are running states; codes <= -2 are terminal
#: outcomes (outcome ``-code - 2``).
UNKNOWN = -1

#: Entries kept before the table starts afresh (at the next chunk): far more than the designs
#: of this package reach (BOIN with N = 30 meets about 10,000), while bounding memory to some
#: hundreds of MiB for designs that reach many more.
MAX_STATES = 1 << 20


def _grow(a: NDArray[np.generic], size: int, fill: int = 0) -> NDArray[np.generic]:
    """``a`` with room for at least ``size`` rows (capacity doubles: amortised appends)."""
    if size <= len(a):
        return a
    out = np.full((max(size, 2 * len(a)), *a.shape[1:]), fill, dtype=a.dtype)
    out[: len(a)] = a
    return out


def _keys(rows: IntArray) -> list[bytes]:
    """Each row's bytes: a dictionary key for the row."""
    packed = np.ascontiguousarray(rows, dtype=np.int64)
    # an unstructured void array lists as bytes objects, one per row
    return cast(list[bytes], packed.view(np.dtype((np.void, 8 * packed.shape[1]))).ravel().tolist())


def _lookup(index: dict[bytes, int], keys: list[bytes], first: int) -> tuple[IntArray, list[int]]:
    """Ids of ``keys`` in ``index``; keys not in it are added with ids ``first``, ``first + 1``,
    ... Returns the ids and, for each added key, a position where it occurs in ``keys``."""
    where = dict(zip(keys, range(len(keys)), strict=True))
    fresh = [key for key in where if key not in index]
    index.update(zip(fresh, range(first, first + len(fresh)), strict=True))
    ids = np.fromiter(map(index.__getitem__, keys), dtype=np.int64, count=len(keys))
    return ids, [where[key] for key in fresh]


class Transitions:
    """The transition table of ``design``, filled as simulated trials meet new states.

    Tables do not depend on the true DLT probabilities, so one table serves every scenario
    and every chunk of a simulation.
    """

    def __init__(self, design: BatchRule, max_states: int = MAX_STATES) -> None:
        self.design = design
        self.max_states = max_states
        self._reset()

    def _reset(self) -> None:
        k = self.design.n_doses
        init = self.design.initial_states(1)
        self._width = init.as_rows().shape[1]
        # running states (before their next cohort)
        self._live: dict[bytes, int] = {}
        self._rows = np.zeros((64, self._width), dtype=np.int64)
        self._current = np.zeros(64, dtype=np.int64)
        self._total = np.zeros(64, dtype=np.int64)
        self._size = np.zeros(64, dtype=np.int64)
        self._n_live = 0
        # (state, DLTs in its next cohort) -> code; columns 0..largest cohort size
        self._cols = 1
        self._trans = np.full((64, self._cols), UNKNOWN, dtype=np.int64)
        # states after a cohort, before the decision -> code (paths that meet ask once)
        self._after: dict[bytes, int] = {}
        # terminal outcomes: selected dose (0-based, -1 none) and final counts
        self._ends: dict[bytes, int] = {}
        self._selected = np.zeros(64, dtype=np.int64)
        self._n = np.zeros((64, k), dtype=np.int64)
        self._y = np.zeros((64, k), dtype=np.int64)
        self._n_ends = 0
        self.start = int(self._add_live(init.as_rows())[0])

    @property
    def size(self) -> int:
        """Entries in the table: running states, states after a cohort, terminal outcomes."""
        return self._n_live + len(self._after) + self._n_ends

    def _add_live(self, rows: IntArray) -> IntArray:
        """Ids of running states ``rows`` (as :meth:`States.as_rows`), adding new ones."""
        ids, fresh = _lookup(self._live, _keys(rows), self._n_live)
        if fresh:
            new = np.ascontiguousarray(rows[fresh], dtype=np.int64)
            lo, hi = self._n_live, self._n_live + len(fresh)
            self._rows = _grow(self._rows, hi)  # type: ignore[assignment]
            self._current = _grow(self._current, hi)  # type: ignore[assignment]
            self._total = _grow(self._total, hi)  # type: ignore[assignment]
            self._size = _grow(self._size, hi)  # type: ignore[assignment]
            self._trans = _grow(self._trans, hi, UNKNOWN)  # type: ignore[assignment]
            st = States.from_rows(new, self.design.n_doses)
            sizes = np.asarray(self.design.cohort_sizes(st), dtype=np.int64)
            self._rows[lo:hi] = new
            self._current[lo:hi] = st.current
            self._total[lo:hi] = st.total
            self._size[lo:hi] = sizes
            self._n_live = hi
            widest = int(sizes.max()) + 1
            if widest > self._cols:
                wider = np.full((len(self._trans), widest), UNKNOWN, dtype=np.int64)
                wider[:, : self._cols] = self._trans
                self._trans, self._cols = wider, widest
        return ids

    def _add_ends(self, selected: IntArray, n: IntArray, y: IntArray) -> IntArray:
        """Codes of terminal outcomes (selected dose, final counts), adding new ones."""
        ids, fresh = _lookup(self._ends, _keys(np.column_stack((selected, n, y))), self._n_ends)
        if fresh:
            lo, hi = self._n_ends, self._n_ends + len(fresh)
            self._selected = _grow(self._selected, hi)  # type: ignore[assignment]
            self._n = _grow(self._n, hi)  # type: ignore[assignment]
            self._y = _grow(self._y, hi)  # type: ignore[assignment]
            self._selected[lo:hi] = selected[fresh]
            self._n[lo:hi] = n[fresh]
            self._y[lo:hi] = y[fresh]
            self._n_ends = hi
        return -ids - 2

    def _resolve(self, state: IntArray, dlts: IntArray) -> None:
        """Fill the transitions of the (running state, DLT count) pairs given (distinct)."""
        design = self.design
        k = design.n_doses
        st = States.from_rows(self._rows[state], k)
        new = add_cohort(st, self._size[state], dlts)
        if not design.uses_last_cohort:
            # the rule does not read the last cohort: states differing only there are one
            # (as in exact enumeration), so far fewer are met and decided
            new.last_n[:] = 0
            new.last_y[:] = 0
        keys = _keys(new.as_rows())
        after = self._after
        where = dict(zip(keys, range(len(keys)), strict=True))  # one position per state
        todo = [key for key in where if key not in after]
        if todo:
            ask = np.fromiter(map(where.__getitem__, todo), dtype=np.int64, count=len(todo))
            sub = new.take(ask)
            dec = finish(design, sub, design.decide_batch(sub))
            codes = np.empty(len(ask), dtype=np.int64)
            stop = np.asarray(dec.stop, dtype=bool)
            if stop.any():
                codes[stop] = self._add_ends(dec.selected[stop], sub.n[stop], sub.y[stop])
            go = ~stop
            if go.any():
                nxt = apply_decisions(sub.take(np.flatnonzero(go)), take_decisions(dec, go))
                codes[go] = self._add_live(nxt.as_rows())
            after.update(zip(todo, codes.tolist(), strict=True))
        self._trans[state, dlts] = np.fromiter(
            map(after.__getitem__, keys), dtype=np.int64, count=len(keys)
        )

    def run(
        self,
        p: FloatArray,
        tolerances: FloatArray,
        progress: Callable[[int, int], None] | None = None,
    ) -> IntArray:
        """Run ``len(tolerances)`` trials; patient j of trial t has a DLT at dose d when
        ``tolerances[t, j] < p[d]``. Returns each trial's terminal outcome (see
        :meth:`outcomes`)."""
        if self.size > self.max_states:
            self._reset()
        n_sims, width = tolerances.shape
        max_p = self.design.max_patients
        if width < max_p:
            raise ValueError("tolerances: need at least max_patients latent uniforms per trial")
        u = np.ascontiguousarray(tolerances, dtype=np.float64).ravel()
        ends = np.empty(n_sims, dtype=np.int64)
        sid = np.full(n_sims, self.start, dtype=np.int64)
        active = np.arange(n_sims, dtype=np.int64)
        done = 0
        while active.size:
            total = self._total[sid]
            sizes = self._size[sid]
            p_cur = p[self._current[sid]]
            base = active * width
            dlts = np.zeros(active.size, dtype=np.int64)
            smallest = int(sizes.min())
            for j in range(int(sizes.max())):
                col = np.minimum(total + j, max_p - 1)
                hit = u[base + col] < p_cur
                if j >= smallest:
                    hit &= j < sizes
                dlts += hit
            code = self._trans[sid, dlts]
            miss = code == UNKNOWN
            if miss.any():
                # the distinct (state, DLTs) pairs met: marks over the table, no sort
                cols = self._cols
                seen = np.zeros(self._n_live * cols, dtype=bool)
                seen[sid[miss] * cols + dlts[miss]] = True
                pairs = np.flatnonzero(seen)
                self._resolve(pairs // cols, pairs % cols)
                code[miss] = self._trans[sid[miss], dlts[miss]]
            stop = code < 0
            if stop.any():
                ends[active[stop]] = -code[stop] - 2
                done += int(np.count_nonzero(stop))
                if progress is not None:
                    progress(done, n_sims)
                keep = ~stop
                sid = code[keep]
                active = active[keep]
            else:
                sid = code
        return ends

    def outcomes(self, ends: IntArray) -> tuple[IntArray, IntArray, IntArray]:
        """Selected dose (0-based, -1 none), patients and DLTs per dose of outcomes ``ends``."""
        return self._selected[ends], self._n[ends], self._y[ends]

    def add_to(self, tally: Tally, ends: IntArray) -> None:
        """Add the trials ending in ``ends`` to ``tally``: each outcome once, weighted by how
        many trials reached it (sums of whole numbers, as adding the trials one by one)."""
        counts = np.bincount(ends, minlength=self._n_ends)
        met = np.flatnonzero(counts)
        tally.add(
            self._selected[met],
            self._n[met],
            self._y[met],
            counts[met].astype(np.float64),
            count=len(ends),
        )
