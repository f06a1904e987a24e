"""The shared machinery of dose-finding designs.

A design is written once, as a *batch* rule: given the data of many trials at once (patients
``n`` and DLTs ``y`` per dose, the current dose, the last cohort), it says for each trial what
happens next. The same rule then serves

- ``decide(history)`` for the trial being run (a batch of one),
- exact operating characteristics, by dynamic programming over the distinct trial states
  (:mod:`earlyphase.simulate.exact`), and
- vectorised Monte Carlo simulation of all trials together (:mod:`earlyphase.simulate.monte_carlo`),

so the decisions a protocol prints, the ones the team follows and the ones simulated cannot
drift apart. Behaviours (stop at N, don't skip doses, an expansion cohort, ...) wrap a design
and return a design, so they stack:
``BOIN(0.3, 5, n_cohorts=10).dont_skip_doses().with_expansion(6)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from earlyphase.designs.doses import DoseLevels
from earlyphase.designs.outcomes import History, as_history

if TYPE_CHECKING:
    from earlyphase.simulate.results import OperatingCharacteristics

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
)
R_ESCALATE, R_STAY, R_DEESCALATE, R_MAX_N, R_TOO_TOXIC, R_MTD, R_N_AT_DOSE, R_TOP_SAFE = range(8)
R_START, R_EXPANSION_DONE, R_EXPANSION_TOXIC, R_EXPAND, R_EXPANSION_CONTINUE = range(8, 13)


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


@dataclass(frozen=True)
class Decision:
    """What to do next, for the trial being run.

    ``dose`` is the 1-based dose level for the next cohort (None when the trial stops);
    ``selected`` is the recommended dose (MTD / RP2D) when it stops, None if no dose is safe.
    """

    dose: int | None
    stop: bool
    reason: str
    selected: int | None = None
    dose_label: str | None = None

    def __str__(self) -> str:
        if self.stop:
            sel = "no dose" if self.selected is None else f"dose {self.selected}"
            return f"{self.reason}; recommend {sel}"
        return f"{self.reason}: treat the next cohort at {self.dose_label or self.dose}"


class DoseFindingDesign:
    """Base class of dose-finding designs and of the behaviours that wrap them.

    Subclasses implement :meth:`_decide_batch` (and :meth:`_select_batch`); everything else
    (``decide``, exact and simulated operating characteristics, dose paths) is shared.
    """

    n_doses: int
    cohort_size: int
    doses: DoseLevels
    start_dose: int  # 0-based

    # --- to implement -----------------------------------------------------------------------
    def _decide_batch(self, st: States) -> Decisions:
        raise NotImplementedError

    def _select_batch(self, st: States) -> IntArray:
        """Recommended dose (0-based, -1 for none) from the data, when the trial ends."""
        raise NotImplementedError

    def _cohort_sizes(self, st: States) -> IntArray:
        """Size of the next cohort for each trial."""
        return np.full(st.size, self.cohort_size, dtype=np.int64)

    @property
    def aux_width(self) -> int:
        return 0

    @property
    def max_patients(self) -> int:
        """An upper bound on the sample size (sizes the arrays of a simulation)."""
        raise NotImplementedError

    @property
    def uses_last_cohort(self) -> bool:
        """Whether decisions depend on the last cohort's outcome beyond the per-dose counts
        (e.g. CRM's coherence rule); when not, exact enumeration merges more states."""
        return False

    @property
    def target(self) -> float | None:
        """Target DLT rate, when the design has one (used for overdosing summaries)."""
        return None

    # --- shared -------------------------------------------------------------------------------
    def initial_states(self, size: int) -> States:
        k = self.n_doses
        return States(
            n=np.zeros((size, k), dtype=np.int64),
            y=np.zeros((size, k), dtype=np.int64),
            current=np.full(size, self.start_dose, dtype=np.int64),
            last_n=np.zeros(size, dtype=np.int64),
            last_y=np.zeros(size, dtype=np.int64),
            aux=np.zeros((size, self.aux_width), dtype=np.int64),
        )

    def states_from_history(self, history: History) -> States:
        """The state after ``history``. Behaviour state (e.g. whether an expansion cohort has
        begun) is rebuilt by replaying the cohorts in order, so it needs an outcome string."""
        if self.aux_width == 0:
            return self._counts_state(history)
        if not history.cohorts:
            if history.current_dose is None:
                return self.initial_states(1)
            raise ValueError(
                "history: this design keeps track of its phase; give the cohorts in order as an "
                "outcome string, e.g. '1NNN 2NTN'"
            )
        from earlyphase.simulate.engine import add_cohort

        st = self.initial_states(1)
        for i, cohort in enumerate(history.cohorts):
            st.current[0] = cohort.dose - 1
            st = add_cohort(
                st, np.array([cohort.n], dtype=np.int64), np.array([cohort.n_dlt], dtype=np.int64)
            )
            if i < len(history.cohorts) - 1:
                dec = self._decide_batch(st)
                if dec.aux is not None:
                    st.aux = dec.aux
        return st

    def _counts_state(self, history: History) -> States:
        st = self.initial_states(1)
        st.n[0] = history.n
        st.y[0] = history.y
        if history.current_dose is not None:
            st.current[0] = history.current_dose - 1
        last = history.last_cohort
        if last is not None:
            st.last_n[0] = last.n
            st.last_y[0] = last.n_dlt
        elif history.current_dose is not None:
            # counts only: take the last cohort to be a full cohort with the current dose's rate
            st.last_n[0] = self.cohort_size
            d = history.current_dose - 1
            rate = history.y[d] / history.n[d] if history.n[d] else 0.0
            st.last_y[0] = round(rate * self.cohort_size)
        return st

    def decide(
        self, history: str | History | Mapping[str, Sequence[int]] | None = None
    ) -> Decision:
        """What to do after ``history``: the next dose, or stop with the recommended dose.

        ``history`` is an outcome string (``"1NNN 2NTN"``), a :class:`History`, or counts
        ``{"n": [...], "y": [...], "current_dose": d}``; None means the trial has not started.
        """
        h = as_history(history, self.n_doses)
        if h.current_dose is None:
            d = self.start_dose + 1
            return Decision(
                dose=d, stop=False, reason=REASONS[R_START], dose_label=self.doses.label(d)
            )
        st = self.states_from_history(h)
        dec = self._decide_batch(st)
        if bool(dec.stop[0]):
            sel = int(dec.selected[0])
            return Decision(
                dose=None,
                stop=True,
                reason=REASONS[int(dec.reason[0])],
                selected=None if sel < 0 else sel + 1,
            )
        nd = int(dec.next_dose[0]) + 1
        return Decision(
            dose=nd, stop=False, reason=REASONS[int(dec.reason[0])], dose_label=self.doses.label(nd)
        )

    def select_mtd(self, history: str | History | Mapping[str, Sequence[int]]) -> int | None:
        """The dose (1-based) the design recommends from the data so far; None if none is safe."""
        st = self.states_from_history(as_history(history, self.n_doses))
        sel = int(self._select_batch(st)[0])
        return None if sel < 0 else sel + 1

    def operating_characteristics(
        self,
        true_tox: Sequence[float],
        method: str = "exact",
        n_sims: int = 10_000,
        seed: int | None = None,
    ) -> OperatingCharacteristics:
        """Selection probabilities, patients and DLTs per dose, early stopping, sample size.

        ``method="exact"`` enumerates every trial path (merging identical states) and gives the
        exact probabilities; ``method="simulate"`` runs ``n_sims`` vectorised trials with
        patient-level random numbers from ``seed`` (the same seed gives the same patients to
        any design: common random numbers).
        """
        from earlyphase.simulate import exact_oc, simulate_oc

        p = _check_truth(true_tox, self.n_doses)
        if method == "exact":
            return exact_oc(self, p)
        if method == "simulate":
            return simulate_oc(self, p, n_sims=n_sims, seed=seed)
        raise ValueError(f"method: must be 'exact' or 'simulate', got {method!r}")

    def dose_paths(
        self,
        n_cohorts: int,
        history: str | History | Mapping[str, Sequence[int]] | None = None,
        true_tox: Sequence[float] | None = None,
    ) -> pd.DataFrame:
        """Every path of the next ``n_cohorts`` cohorts, with its probability under ``true_tox``."""
        from earlyphase.simulate.paths import dose_paths

        p = None if true_tox is None else _check_truth(true_tox, self.n_doses)
        return dose_paths(self, n_cohorts, as_history(history, self.n_doses), p)

    # --- behaviours ---------------------------------------------------------------------------
    def stop_at_n(self, n: int) -> DoseFindingDesign:
        """Stop once ``n`` patients have been treated (R escalation ``stop_at_n``)."""
        from earlyphase.designs.behaviours import StopAtN

        return StopAtN(self, n)

    def stop_when_n_at_dose(self, n: int, dose: str | int = "recommended") -> DoseFindingDesign:
        """Stop when ``n`` patients have had the recommended dose (or ``"any"`` dose, or dose
        level ``dose``) — R escalation ``stop_when_n_at_dose``."""
        from earlyphase.designs.behaviours import StopWhenNAtDose

        return StopWhenNAtDose(self, n, dose)

    def dont_skip_doses(
        self, when_escalating: bool = True, when_deescalating: bool = False
    ) -> DoseFindingDesign:
        """Move at most one dose level at a time (R escalation ``dont_skip_doses``)."""
        from earlyphase.designs.behaviours import DontSkipDoses

        return DontSkipDoses(self, when_escalating, when_deescalating)

    def stop_when_too_toxic(
        self, threshold: float, confidence: float = 0.95, prior: tuple[float, float] = (1.0, 1.0)
    ) -> DoseFindingDesign:
        """Stop, recommending no dose, when Pr(DLT rate at the lowest dose > ``threshold``)
        exceeds ``confidence`` under a Beta ``prior`` (R escalation ``stop_when_too_toxic``)."""
        from earlyphase.designs.behaviours import StopWhenTooToxic

        return StopWhenTooToxic(self, threshold, confidence, prior)

    def with_expansion(
        self,
        n: int,
        cohort_size: int | None = None,
        tox_limit: float | None = None,
        cutoff: float = 0.9,
        prior: tuple[float, float] = (1.0, 1.0),
    ) -> DoseFindingDesign:
        """After escalation selects a dose (the RP2D), treat ``n`` more patients there.

        With ``tox_limit``, the expansion has a Bayesian safety rule: after each cohort, stop
        (and withdraw the RP2D) if Pr(DLT rate > ``tox_limit`` | all patients at the dose)
        > ``cutoff`` under a Beta ``prior``.
        """
        from earlyphase.designs.behaviours import Expansion

        return Expansion(self, n, cohort_size or self.cohort_size, tox_limit, cutoff, prior)

    def describe(self) -> str:
        return type(self).__name__


def _check_truth(true_tox: Sequence[float], n_doses: int) -> NDArray[np.float64]:
    try:
        p = np.asarray(true_tox, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("true_tox: must be a list of probabilities, one per dose") from None
    if p.ndim != 1 or len(p) != n_doses:
        raise ValueError(f"true_tox: needs {n_doses} probabilities (one per dose), got {p.size}")
    if not np.all((p >= 0) & (p <= 1)):
        raise ValueError(f"true_tox: probabilities must lie in [0, 1], got {p.tolist()}")
    return p


def clip_dose(d: IntArray, k: int) -> IntArray:
    return np.clip(d, 0, k - 1).astype(np.int64)
