"""Many trials' data at once, and a design's answer for each: the arrays every rule works on.

A design is written once as a batch rule (see :class:`earlyphase.engine.rule.BatchRule`):
given the :class:`States` of many trials it returns their :class:`Decisions`. The same rule
then serves the trial being run (a batch of one), exact enumeration and Monte Carlo
simulation, so the decisions a protocol prints and the ones simulated cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

#: Reasons a decision is taken; stored as codes in batch decisions.
REASONS: tuple[str, ...] = (
    "escalate",
    "stay",
    "de-escalate",
    "stop: maximum sample size reached",
    "stop: lowest dose too toxic",
    "stop: MTD determined",
    "stop: enough patients at the recommended dose",
    "stop: highest dose is safe",
    "start",
    "stop: expansion complete",
    "stop: expansion stopped for toxicity",
    "expand at the selected dose",
    "continue the expansion cohort",
    "de-escalate: the dose and all higher doses are eliminated",
)
R_ESCALATE, R_STAY, R_DEESCALATE, R_MAX_N, R_TOO_TOXIC, R_MTD, R_N_AT_DOSE, R_TOP_SAFE = range(8)
R_START, R_EXPANSION_DONE, R_EXPANSION_TOXIC, R_EXPAND, R_EXPANSION_CONTINUE = range(8, 13)
R_ELIMINATE = 13


@dataclass
class States:
    """Many trials' data at once; row ``t`` is trial ``t``. Doses are 0-based here."""

    n: IntArray  # (T, K) patients per dose
    y: IntArray  # (T, K) DLTs per dose
    current: IntArray  # (T,) dose of the last cohort (the start dose before any cohort)
    last_n: IntArray  # (T,) size of the last cohort (0 before any)
    last_y: IntArray  # (T,) DLTs in the last cohort
    aux: IntArray  # (T, A) extra state kept by behaviours (e.g. expansion phase)

    @property
    def size(self) -> int:
        return int(self.current.shape[0])

    @property
    def total(self) -> IntArray:
        return np.asarray(self.n.sum(axis=1), dtype=np.int64)

    def take(self, index: ArrayLike) -> States:
        idx = np.asarray(index)
        return States(
            self.n[idx],
            self.y[idx],
            self.current[idx],
            self.last_n[idx],
            self.last_y[idx],
            self.aux[idx],
        )

    def as_rows(self) -> IntArray:
        """One integer row per trial (for merging identical states)."""
        return np.column_stack(
            (self.n, self.y, self.current, self.last_n, self.last_y, self.aux)
        ).astype(np.int64)

    @classmethod
    def from_rows(cls, rows: IntArray, k: int) -> States:
        return cls(
            rows[:, :k],
            rows[:, k : 2 * k],
            rows[:, 2 * k],
            rows[:, 2 * k + 1],
            rows[:, 2 * k + 2],
            rows[:, 2 * k + 3 :],
        )


@dataclass
class Decisions:
    """The design's answer for each trial of a :class:`States` batch."""

    next_dose: IntArray  # (T,) 0-based dose for the next cohort (when not stopping)
    stop: BoolArray  # (T,)
    reason: IntArray  # (T,) index into REASONS
    selected: IntArray  # (T,) 0-based dose recommended when stopping, -1 for none
    aux: IntArray | None = None  # (T, A) new behaviour state, None when unchanged


def check_truth(true_tox: Sequence[float], n_doses: int) -> NDArray[np.float64]:
    """True DLT probabilities, one per dose, each in [0, 1] (errors name ``true_tox``)."""
    try:
        p = np.asarray(true_tox, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("true_tox: must be a list of probabilities, one per dose") from None
    if p.ndim != 1 or len(p) != n_doses:
        raise ValueError(f"true_tox: needs {n_doses} probabilities (one per dose), got {p.size}")
    if not np.all((p >= 0) & (p <= 1)):
        raise ValueError(f"true_tox: probabilities must lie in [0, 1], got {p.tolist()}")
    return p
