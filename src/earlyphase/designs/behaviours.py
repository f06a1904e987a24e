"""Behaviours that wrap a dose-finding design and return a design, so that they stack.

Modelled on R ``escalation``'s selector grammar (Brock 2019): ``get_boin(...) %>%
stop_at_n(n = 30)`` becomes ``BOIN(...).stop_at_n(30)``. Each behaviour changes the wrapped
design's decisions in one way; the order of wrapping is the order of application.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from earlyphase.designs.base import DoseFindingDesign
from earlyphase.engine.states import (
    R_DEESCALATE,
    R_ESCALATE,
    R_EXPAND,
    R_EXPANSION_CONTINUE,
    R_EXPANSION_DONE,
    R_EXPANSION_TOXIC,
    R_MAX_N,
    R_N_AT_DOSE,
    R_STAY,
    R_TOO_TOXIC,
    Decisions,
    IntArray,
    States,
)
from earlyphase.stats.checks import check_count, check_level, check_positive, check_probability

if TYPE_CHECKING:
    import pandas as pd


class Behaviour(DoseFindingDesign):
    """A design wrapped by one behaviour; attributes not overridden come from the parent."""

    own_aux = 0

    def __init__(self, parent: DoseFindingDesign) -> None:
        if not isinstance(parent, DoseFindingDesign):
            raise ValueError("design: behaviours wrap a dose-finding design")
        self.parent = parent
        self.n_doses = parent.n_doses
        self.cohort_size = parent.cohort_size
        self.doses = parent.doses
        self.start_index = parent.start_index

    @property
    def aux_width(self) -> int:
        return self.parent.aux_width + self.own_aux

    @property
    def target(self) -> float | None:
        return self.parent.target

    @property
    def max_patients(self) -> int:
        return self.parent.max_patients

    @property
    def uses_last_cohort(self) -> bool:
        return self.parent.uses_last_cohort

    @property
    def table_by_paths(self) -> bool:
        return self.parent.table_by_paths

    def protocol_table(self) -> pd.DataFrame:
        """The wrapped design's protocol table: a behaviour adds a rule, stated by
        :meth:`describe`, on top of it."""
        return self.parent.protocol_table()

    def _parent_states(self, st: States) -> States:
        w = self.parent.aux_width
        return States(st.n, st.y, st.current, st.last_n, st.last_y, st.aux[:, :w])

    def _parent_decide(self, st: States) -> Decisions:
        dec = self.parent.decide_batch(self._parent_states(st))
        own = st.aux[:, self.parent.aux_width :]
        if dec.aux is not None:
            dec.aux = np.column_stack((dec.aux, own)).astype(np.int64)
        return dec

    def decide_batch(self, st: States) -> Decisions:
        return self._parent_decide(st)

    def select_batch(self, st: States) -> IntArray:
        return self.parent.select_batch(self._parent_states(st))

    def cohort_sizes(self, st: States) -> IntArray:
        return self.parent.cohort_sizes(self._parent_states(st))

    def describe(self) -> str:
        return f"{self.parent.describe()} + {type(self).__name__}"


class StopAtN(Behaviour):
    """Stop once ``n`` patients are treated, recommending the design's choice from the data."""

    def __init__(self, parent: DoseFindingDesign, n: int) -> None:
        super().__init__(parent)
        self.n = check_count(n, "n", minimum=1)

    @property
    def max_patients(self) -> int:
        return min(self.parent.max_patients, self.n)

    def cohort_sizes(self, st: States) -> IntArray:
        return np.minimum(super().cohort_sizes(st), np.maximum(self.n - st.total, 0))

    def decide_batch(self, st: States) -> Decisions:
        dec = self._parent_decide(st)
        hit = (~dec.stop) & (st.total >= self.n)
        if hit.any():
            dec.stop = dec.stop | hit
            dec.reason = np.where(hit, R_MAX_N, dec.reason)
            dec.selected = np.where(hit, self.select_batch(st), dec.selected)
        return dec

    def describe(self) -> str:
        return f"{self.parent.describe()}, stop at n = {self.n}"


class StopWhenNAtDose(Behaviour):
    """Stop when ``n`` patients have had the recommended dose (``"recommended"``), any dose
    (``"any"``), or a given dose level (1-based int)."""

    def __init__(self, parent: DoseFindingDesign, n: int, dose: str | int = "recommended") -> None:
        super().__init__(parent)
        self.n = check_count(n, "n", minimum=1)
        if isinstance(dose, str):
            if dose not in ("recommended", "any"):
                raise ValueError(
                    f"dose: must be 'recommended', 'any' or a dose level, got {dose!r}"
                )
        else:
            level = check_count(dose, "dose", minimum=1)
            if level > self.n_doses:
                raise ValueError(f"dose: level {level} is outside 1..{self.n_doses}")
        self.dose = dose

    def decide_batch(self, st: States) -> Decisions:
        dec = self._parent_decide(st)
        rows = np.arange(st.size)
        if self.dose == "recommended":
            hit: NDArray[np.bool_] = np.asarray(st.n[rows, dec.next_dose] >= self.n)
            chosen = dec.next_dose
        elif self.dose == "any":
            hit = np.asarray((st.n >= self.n).any(axis=1))
            chosen = self.select_batch(st)
        else:
            d = int(self.dose) - 1
            hit = np.asarray(st.n[:, d] >= self.n)
            chosen = self.select_batch(st)
        hit &= ~dec.stop
        if hit.any():
            dec.stop = dec.stop | hit
            dec.reason = np.where(hit, R_N_AT_DOSE, dec.reason)
            dec.selected = np.where(hit, chosen, dec.selected)
        return dec

    def describe(self) -> str:
        where = f"dose {self.dose}" if isinstance(self.dose, int) else f"the {self.dose} dose"
        if self.dose == "any":
            where = "any dose"
        return f"{self.parent.describe()}, stop when {self.n} patients are at {where}"


class DontSkipDoses(Behaviour):
    """Move at most one dose level per cohort (when escalating and/or de-escalating)."""

    def __init__(
        self,
        parent: DoseFindingDesign,
        when_escalating: bool = True,
        when_deescalating: bool = False,
    ) -> None:
        super().__init__(parent)
        self.when_escalating = bool(when_escalating)
        self.when_deescalating = bool(when_deescalating)

    def decide_batch(self, st: States) -> Decisions:
        dec = self._parent_decide(st)
        nd = dec.next_dose
        if self.when_escalating:
            nd = np.minimum(nd, st.current + 1)
        if self.when_deescalating:
            nd = np.maximum(nd, st.current - 1)
        moved = (~dec.stop) & (nd != dec.next_dose)
        if moved.any():
            reason = np.where(
                nd > st.current, R_ESCALATE, np.where(nd < st.current, R_DEESCALATE, R_STAY)
            )
            dec.reason = np.where(moved, reason, dec.reason)
            dec.next_dose = np.where(dec.stop, dec.next_dose, nd)
        return dec

    def describe(self) -> str:
        when = [
            w
            for w, on in (
                ("escalating", self.when_escalating),
                ("de-escalating", self.when_deescalating),
            )
            if on
        ]
        return f"{self.parent.describe()}, no dose skipping when {' or '.join(when) or 'never'}"


class StopWhenTooToxic(Behaviour):
    """Stop without a recommended dose when the lowest dose is too toxic:
    Pr(DLT rate at dose 1 > threshold | data) > confidence under a Beta prior."""

    def __init__(
        self,
        parent: DoseFindingDesign,
        threshold: float,
        confidence: float = 0.95,
        prior: tuple[float, float] = (1.0, 1.0),
    ) -> None:
        super().__init__(parent)
        self.threshold = check_probability(threshold, "threshold")
        self.confidence = check_level(confidence, "confidence")
        self.prior = (check_positive(prior[0], "prior[0]"), check_positive(prior[1], "prior[1]"))

    def decide_batch(self, st: States) -> Decisions:
        from scipy.stats import beta as beta_dist

        dec = self._parent_decide(st)
        n0, y0 = st.n[:, 0], st.y[:, 0]
        prob = beta_dist.sf(self.threshold, self.prior[0] + y0, self.prior[1] + n0 - y0)
        hit = (~dec.stop) & (n0 > 0) & (prob > self.confidence)
        if hit.any():
            dec.stop = dec.stop | hit
            dec.reason = np.where(hit, R_TOO_TOXIC, dec.reason)
            dec.selected = np.where(hit, -1, dec.selected)
        return dec

    def describe(self) -> str:
        return (
            f"{self.parent.describe()}, stop if Pr(p1 > {self.threshold:g}) > {self.confidence:g}"
            f" under a Beta{self.prior} prior"
        )


class Expansion(Behaviour):
    """Escalate, then expand: ``n`` more patients at the selected dose (RP2D), with an optional
    Bayesian safety stopping rule on all patients treated at that dose."""

    own_aux = 3  # phase (0 escalation, 1 expansion), expansion dose, patients at it on entry

    def __init__(
        self,
        parent: DoseFindingDesign,
        n: int,
        cohort_size: int,
        tox_limit: float | None,
        cutoff: float,
        prior: tuple[float, float],
    ) -> None:
        super().__init__(parent)
        self.n = check_count(n, "n", minimum=1)
        self.expansion_cohort = check_count(cohort_size, "cohort_size", minimum=1)
        self.tox_limit = None if tox_limit is None else check_probability(tox_limit, "tox_limit")
        self.cutoff = check_level(cutoff, "cutoff")
        self.prior = (check_positive(prior[0], "prior[0]"), check_positive(prior[1], "prior[1]"))

    @property
    def max_patients(self) -> int:
        return self.parent.max_patients + self.n

    def _own(self, st: States) -> tuple[IntArray, IntArray, IntArray]:
        w = self.parent.aux_width
        return st.aux[:, w], st.aux[:, w + 1], st.aux[:, w + 2]

    def cohort_sizes(self, st: States) -> IntArray:
        phase, dose, start = self._own(st)
        rows = np.arange(st.size)
        left = self.n - (st.n[rows, dose] - start)
        expanding = np.minimum(self.expansion_cohort, np.maximum(left, 0))
        return np.where(phase == 1, expanding, super().cohort_sizes(st))

    def select_batch(self, st: States) -> IntArray:
        phase, dose, _ = self._own(st)
        return np.where(phase == 1, dose, super().select_batch(st))

    def unsafe(self, n: IntArray, y: IntArray) -> NDArray[np.bool_]:
        """True where the expansion's safety rule stops: Pr(p > limit | n, y) > cutoff."""
        from scipy.stats import beta as beta_dist

        if self.tox_limit is None:
            return np.zeros(np.shape(n), dtype=bool)
        prob = beta_dist.sf(self.tox_limit, self.prior[0] + y, self.prior[1] + n - y)
        return np.asarray(prob > self.cutoff)

    def decide_batch(self, st: States) -> Decisions:
        dec = self._parent_decide(st)
        phase, dose, start = self._own(st)
        w = self.parent.aux_width
        aux = st.aux.copy() if dec.aux is None else dec.aux.copy()
        rows = np.arange(st.size)
        # trials in expansion: continue, finish or stop for toxicity
        exp = phase == 1
        if exp.any():
            n_d, y_d = st.n[rows, dose], st.y[rows, dose]
            toxic = exp & self.unsafe(n_d, y_d)
            done = exp & ~toxic & ((n_d - start) >= self.n)
            cont = exp & ~toxic & ~done
            dec.stop = np.where(exp, toxic | done, dec.stop)
            dec.reason = np.where(
                toxic,
                R_EXPANSION_TOXIC,
                np.where(done, R_EXPANSION_DONE, np.where(cont, R_EXPANSION_CONTINUE, dec.reason)),
            )
            dec.selected = np.where(toxic, -1, np.where(done, dose, dec.selected))
            dec.next_dose = np.where(exp, dose, dec.next_dose)
        # trials whose escalation just selected a dose: enter expansion there
        enter = (~exp) & dec.stop & (dec.selected >= 0)
        if enter.any():
            sel = dec.selected
            aux[:, w] = np.where(enter, 1, aux[:, w])
            aux[:, w + 1] = np.where(enter, sel, aux[:, w + 1])
            aux[:, w + 2] = np.where(enter, st.n[rows, np.maximum(sel, 0)], aux[:, w + 2])
            dec.stop = np.where(enter, False, dec.stop)
            dec.next_dose = np.where(enter, sel, dec.next_dose)
            dec.reason = np.where(enter, R_EXPAND, dec.reason)
        dec.aux = aux
        return dec

    def describe(self) -> str:
        rule = (
            ""
            if self.tox_limit is None
            else (
                f", stop if Pr(p > {self.tox_limit:g}) > {self.cutoff:g} under a "
                f"Beta{self.prior} prior"
            )
        )
        return (
            f"{self.parent.describe()}, then expand with {self.n} at the RP2D in cohorts of "
            f"{self.expansion_cohort}{rule}"
        )
