"""Running totals of finished trials: operating characteristics without keeping the trials.

Exact enumeration adds finished trial states weighted by their probabilities; Monte Carlo adds
simulated trials with weight one. Every summary of :class:`OperatingCharacteristics` is a
weighted mean over finished trials (selection, patients and DLTs per dose, the sample-size
distribution, the overdosing summaries of BOIN ``get.oc``), so a batch can be added and
forgotten: memory does not grow with the number of trials or terminal states. With weight one
the totals are sums of whole numbers (exact in floating point below 2^53), so they do not
depend on how the trials were split into batches.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from earlyphase.engine.states import IntArray

FloatArray = NDArray[np.float64]


class Tally:
    """Weighted totals over finished trials of a design with ``n_doses`` doses."""

    def __init__(self, n_doses: int, true_tox: FloatArray, target: float | None) -> None:
        self.k = n_doses
        self.weight = 0.0
        self.count = 0
        self.selection = np.zeros(n_doses + 1)
        self.n = np.zeros(n_doses)
        self.y = np.zeros(n_doses)
        self.totals = np.zeros(0)  # weight of each total sample size
        # overdosing summaries only when some dose is above the target (BOIN get.oc)
        self._above: NDArray[np.bool_] | None = (
            None if target is None or not (true_tox > target).any() else true_tox > target
        )
        self.over60 = 0.0
        self.over80 = 0.0
        self.n_above = 0.0

    def add(
        self,
        selected: IntArray,
        n: IntArray,
        y: IntArray,
        w: FloatArray,
        count: int | None = None,
    ) -> None:
        """Add finished trials: selected dose (0-based, -1 none), counts per dose, weights.

        ``count`` is the number of trials the rows stand for (default: one each); simulated
        trials with identical outcomes are added as one row weighted by their number."""
        if len(selected) == 0:
            return
        k = self.k
        self.count += len(selected) if count is None else count
        self.weight += float(w.sum())
        self.selection += np.bincount(
            np.where(selected < 0, k, selected), weights=w, minlength=k + 1
        )
        self.n += w @ n
        self.y += w @ y
        total = n.sum(axis=1)
        by_total = np.bincount(total, weights=w)
        if len(by_total) > len(self.totals):
            self.totals = np.concatenate((self.totals, np.zeros(len(by_total) - len(self.totals))))
        self.totals[: len(by_total)] += by_total
        if self._above is not None:
            above = n[:, self._above].sum(axis=1)
            frac = above / np.maximum(total, 1)
            self.over60 += float(w @ (frac > 0.6))
            self.over80 += float(w @ (frac > 0.8))
            self.n_above += float(w @ above)

    def n_distribution(self, divisor: float = 1.0) -> dict[int, float]:
        """Weight of every total sample size reached, over ``divisor`` (the number of trials
        turns simulated counts into probabilities)."""
        return {int(m): float(v) / divisor for m, v in enumerate(self.totals.tolist()) if v > 0}

    def overdose(self) -> tuple[float | None, float | None, float | None]:
        """P(> 60% / > 80% of patients above the target), E[patients above it] (or None)."""
        if self._above is None or self.weight == 0:
            return None, None, None
        return self.over60 / self.weight, self.over80 / self.weight, self.n_above / self.weight
