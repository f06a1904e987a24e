"""The shared machinery of dose-finding designs.

A design is written once, as a *batch* rule (:class:`earlyphase.engine.rule.BatchRule`):
given the data of many trials at once (patients ``n`` and DLTs ``y`` per dose, the current
dose, the last cohort), it says for each trial what happens next. The same rule then serves

- ``decide(history)`` for the trial being run (a batch of one),
- ``decision_table()``, by applying the rule to every count it can meet at a dose,
- exact operating characteristics, by dynamic programming over the distinct trial states
  (:mod:`earlyphase.engine.exact`), and
- vectorised Monte Carlo simulation of all trials together (:mod:`earlyphase.engine.monte_carlo`),

so the decisions a protocol prints, the ones the team follows and the ones simulated cannot
drift apart. Behaviours (stop at N, don't skip doses, an expansion cohort, ...) wrap a design
and return a design, so they stack:
``BOIN(0.3, 5, n_cohorts=10).dont_skip_doses().with_expansion(6)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from earlyphase.designs.contract import Decision, Design, decision_frame
from earlyphase.designs.doses import DoseLevels
from earlyphase.designs.outcomes import History, as_history
from earlyphase.engine.exact import AUTO_MAX_STATES, ExactTooLargeError, exact_oc
from earlyphase.engine.monte_carlo import simulate_oc
from earlyphase.engine.paths import dose_paths
from earlyphase.engine.results import OperatingCharacteristics
from earlyphase.engine.states import (
    R_DEESCALATE,
    R_ELIMINATE,
    R_ESCALATE,
    R_EXPAND,
    R_EXPANSION_CONTINUE,
    R_START,
    R_STAY,
    REASONS,
    Decisions,
    IntArray,
    States,
    check_truth,
)
from earlyphase.engine.step import add_cohort, finish

if TYPE_CHECKING:
    import pandas as pd

#: The action each reason code stands for (every other code stops the trial).
_ACTION = {
    R_ESCALATE: "escalate",
    R_STAY: "stay",
    R_DEESCALATE: "de-escalate",
    R_ELIMINATE: "de-escalate",
    R_START: "start",
    R_EXPAND: "expand",
    R_EXPANSION_CONTINUE: "continue",
}

History_ = str | History | Mapping[str, Sequence[int]] | None


class DoseFindingDesign(Design):
    """Base class of dose-finding designs and of the behaviours that wrap them.

    Subclasses implement :meth:`decide_batch` and :meth:`select_batch` (and
    :meth:`cohort_sizes` when cohorts differ in size), the extension points listed in
    :class:`earlyphase.engine.rule.BatchRule`; everything else (``decide``, the decision
    table, exact and simulated operating characteristics, dose paths) is shared.
    """

    n_doses: int
    cohort_size: int
    doses: DoseLevels
    start_index: int  # 0-based, the engine's; ``start_dose`` is the 1-based level

    @property
    def start_dose(self) -> int:
        """The 1-based dose level the trial starts at (as given to the constructor)."""
        return self.start_index + 1

    # --- to implement -----------------------------------------------------------------------
    def decide_batch(self, st: States) -> Decisions:
        """The decision after each trial's latest cohort."""
        raise NotImplementedError

    def select_batch(self, st: States) -> IntArray:
        """Recommended dose (0-based, -1 for none) from the data, when the trial ends."""
        raise NotImplementedError

    def cohort_sizes(self, st: States) -> IntArray:
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
            current=np.full(size, self.start_index, dtype=np.int64),
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
        st = self.initial_states(1)
        for i, cohort in enumerate(history.cohorts):
            st.current[0] = cohort.dose - 1
            st = add_cohort(
                st, np.array([cohort.n], dtype=np.int64), np.array([cohort.n_dlt], dtype=np.int64)
            )
            if i < len(history.cohorts) - 1:
                dec = self.decide_batch(st)
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

    def decide(self, history: History_ = None) -> Decision:
        """What to do after ``history``: the next dose, or stop with the recommended dose.

        ``history`` is an outcome string (``"1NNN 2NTN"``), a :class:`History`, or counts
        ``{"n": [...], "y": [...], "current_dose": d}``; None means the trial has not started.
        ``estimates`` holds the patients and DLTs per dose and what the design estimated
        (:meth:`estimates`).
        """
        h = as_history(history, self.n_doses)
        if h.current_dose is None:
            d = self.start_dose
            return Decision(
                dose=d,
                stop=False,
                reason=REASONS[R_START],
                dose_label=self.doses.label(d),
                action="start",
            )
        st = self.states_from_history(h)
        dec = finish(self, st, self.decide_batch(st))
        code = int(dec.reason[0])
        estimates = {"n": h.n.tolist(), "dlt": h.y.tolist(), **self.estimates(h)}
        if bool(dec.stop[0]):
            sel = int(dec.selected[0])
            return Decision(
                dose=None,
                stop=True,
                reason=REASONS[code],
                selected=None if sel < 0 else sel + 1,
                action="stop",
                estimates=estimates,
            )
        nd = int(dec.next_dose[0]) + 1
        return Decision(
            dose=nd,
            stop=False,
            reason=REASONS[code],
            dose_label=self.doses.label(nd),
            action=_ACTION[code],
            estimates=estimates,
        )

    def estimates(self, history: History) -> dict[str, Any]:
        """What the design estimates from ``history`` (for :attr:`Decision.estimates`):
        the observed DLT rate per dose here; model-based designs add their posterior."""
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = np.where(history.n > 0, history.y / np.maximum(history.n, 1), np.nan)
        return {"observed_rate": [None if np.isnan(v) else float(v) for v in rate]}

    @property
    def table_by_paths(self) -> bool:
        """Whether the rule is tabulated by outcome paths (model-based designs, whose decision
        depends on every dose's data) rather than by the counts at the current dose."""
        return False

    def decision_table(self, n_cohorts: int = 2) -> pd.DataFrame:
        """The rule as state -> action rows (:data:`~earlyphase.designs.contract.DECISION_COLUMNS`).

        A count-based rule (3+3, BOIN) is tabulated at a dose for every number of patients
        (cohort multiples) and DLTs there: each row applies :meth:`decide_batch` to the state
        "``n`` patients with ``events`` DLTs at dose 2 (dose 1 when there is one dose), 3
        patients without DLT at dose 1, no one above". A model-based rule (CRM,
        :attr:`table_by_paths`) is tabulated as its dose-transition pathways over the first
        ``n_cohorts`` cohorts (Yap et al. 2017, Clin Cancer Res 23:7440-7447), one row per
        path with the patients and DLTs it holds in total.
        """
        if self.table_by_paths:
            return self._paths_table(n_cohorts)
        k = self.n_doses
        d = 1 if k >= 3 else 0
        pairs = self._table_pairs()
        st = self.initial_states(len(pairs))
        if d > 0:
            st.n[:, :d] = 3
        st.current[:] = d
        st.n[:, d] = [m for m, _ in pairs]
        st.y[:, d] = [j for _, j in pairs]
        st.last_n[:] = np.minimum(self.cohort_size, st.n[:, d])
        st.last_y[:] = np.minimum(st.y[:, d], st.last_n)
        dec = self.decide_batch(st)
        rows = []
        for i, (m, j) in enumerate(pairs):
            code = int(dec.reason[i])
            stop = bool(dec.stop[i])
            rows.append(
                {
                    "state": f"{m} at dose {d + 1}, {j} with DLT",
                    "path": None,
                    "n": m,
                    "events": j,
                    "endpoint": "DLT",
                    "action": "stop" if stop else _ACTION[code],
                    "next_dose": None if stop else int(dec.next_dose[i]) + 1,
                    "reason": REASONS[code],
                }
            )
        return decision_frame(rows)

    def _paths_table(self, n_cohorts: int) -> pd.DataFrame:
        import pandas as pd

        paths = self.dose_paths(n_cohorts)
        rows = []
        for _, r in paths.iterrows():
            tokens = str(r["path"]).split()
            n = sum(len(t.lstrip("0123456789")) for t in tokens)
            events = sum(t.count("T") for t in tokens)
            stop = pd.isna(r["next"])
            nxt = None if stop else int(r["next"])
            dose = int(r["dose"])
            if stop:
                action = "stop"
            elif r["decision"] in ("escalate", "stay", "de-escalate"):
                action = str(r["decision"])
            else:
                action = (
                    "escalate"
                    if nxt and nxt > dose
                    else "de-escalate"
                    if nxt and nxt < dose
                    else "stay"
                )
            rows.append(
                {
                    "state": f"after {r['path']}",
                    "path": r["path"],
                    "n": n,
                    "events": events,
                    "endpoint": "DLT",
                    "action": action,
                    "next_dose": nxt,
                    "reason": r["decision"],
                }
            )
        return decision_frame(rows)

    def _table_pairs(self) -> list[tuple[int, int]]:
        """(patients at the dose, DLTs) pairs :meth:`decision_table` shows: every count after
        each of up to 10 cohorts."""
        top = min(self.max_patients, 10 * self.cohort_size)
        sizes = range(self.cohort_size, top + 1, self.cohort_size)
        return [(m, j) for m in sizes for j in range(m + 1)]

    def select_mtd(self, history: str | History | Mapping[str, Sequence[int]]) -> int | None:
        """The dose (1-based) the design recommends from the data so far; None if none is safe."""
        st = self.states_from_history(as_history(history, self.n_doses))
        sel = int(self.select_batch(st)[0])
        return None if sel < 0 else sel + 1

    def operating_characteristics(
        self,
        truth: Sequence[float],
        method: str = "exact",
        n_sims: int = 10_000,
        seed: int | None = None,
    ) -> OperatingCharacteristics:
        """Selection probabilities, patients and DLTs per dose, early stopping, sample size,
        under true DLT probabilities ``truth`` (one per dose).

        ``method="exact"`` enumerates every trial path (merging identical states) and gives the
        exact probabilities; ``method="simulate"`` runs ``n_sims`` vectorised trials with
        patient-level random numbers from ``seed`` (the same seed gives the same patients to
        any design: common random numbers), in chunks, so memory does not grow with
        ``n_sims``.

        ``method="auto"`` (whose result says which it used) is exact while it stays feasible:
        it enumerates until more than ``AUTO_MAX_STATES`` (2 million) distinct trial states
        are running at once, and then simulates instead. For BOIN with 5 doses and cohorts
        of 3 that is exact up to N = 66 (22 cohorts; N = 60 takes a few seconds) and
        simulated from N = 69 (N = 90 would hold tens of millions of states);
        :mod:`earlyphase.engine.exact` gives the costs.
        """
        if method != "auto":  # "auto" is a choice between the two, not a method of its own
            self._check_method(method)
        p = check_truth(truth, self.n_doses)
        if method == "auto" and "exact" not in self.oc_methods:
            method = "simulate"
        if method == "exact" or (method == "auto" and "simulate" not in self.oc_methods):
            return exact_oc(self, p)
        if method == "auto":
            try:
                return exact_oc(self, p, max_states=AUTO_MAX_STATES)
            except ExactTooLargeError:
                pass
        return simulate_oc(self, p, n_sims=n_sims, seed=seed)

    def dose_paths(
        self,
        n_cohorts: int,
        history: History_ = None,
        truth: Sequence[float] | None = None,
    ) -> pd.DataFrame:
        """Every path of the next ``n_cohorts`` cohorts, with its probability under ``truth``."""
        p = None if truth is None else check_truth(truth, self.n_doses)
        h = as_history(history, self.n_doses)
        start = None if h.current_dose is None else self.states_from_history(h)
        return dose_paths(self, n_cohorts, start, p)

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

    def with_backfill(self, window: float, **settings: Any) -> Design:
        """Backfill cleared lower doses while escalation proceeds (BOIN and 3+3; BF-BOIN,
        Zhao et al. 2024): :class:`~earlyphase.designs.backfill.Backfill` with ``settings``
        (``cap_per_dose``, ``max_backfill``, ``require_response``, ``assign``)."""
        from earlyphase.designs.backfill import Backfill

        return Backfill(self, window, **settings)

    def describe(self) -> str:
        return type(self).__name__
