"""The 3+3 dose-escalation design, in its two common variants.

- Escalation only (Storer 1989; Reiner et al. 1999; R escalation's default): 0/3 DLTs escalate,
  1/3 add three patients, 1/6 escalate, >= 2 DLTs stop and recommend the dose below.
- With de-escalation (Korn et al. 1994; Chang 2006): after >= 2 DLTs, go back to the dose below
  if it has fewer than 6 patients; the MTD is the highest dose with 6 patients and at most one
  DLT.

Clearing the highest dose (0/3 or <= 1/6) stops and recommends it. Decisions follow R
``escalation::get_three_plus_three(allow_deescalate=)``; exact operating characteristics agree
with R ``bcrm::threep3``.

References
----------
Storer BE (1989). Design and analysis of phase I clinical trials. Biometrics 45:925-937.
Korn EL, Midthune D, Chen TT, et al. (1994). A comparison of two phase I trial designs.
    Stat Med 13:1799-1806.
Lin Y, Shih WJ (2001). Statistical properties of the traditional algorithm-based designs for
    phase I cancer clinical trials. Biostatistics 2:203-215.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from earlyphase.designs.base import DoseFindingDesign
from earlyphase.designs.doses import DoseLevels, start_index
from earlyphase.designs.settings import validate
from earlyphase.engine.states import (
    R_DEESCALATE,
    R_ESCALATE,
    R_MTD,
    R_STAY,
    R_TOO_TOXIC,
    R_TOP_SAFE,
    Decisions,
    IntArray,
    States,
)

if TYPE_CHECKING:
    import pandas as pd


class ThreePlusThree(DoseFindingDesign):
    """3+3 design over ``n_doses`` levels, with or without de-escalation.

    Parameters
    ----------
    n_doses : int
        Number of dose levels.
    deescalation : bool
        False (default): escalation only. True: Korn et al.'s variant that de-escalates to
        confirm the MTD with six patients.
    doses : DoseLevels, optional
        Dose amounts and unit, e.g. ``DoseLevels([0.5, 1, 2], "x 10^6 cells/kg")``.
    start_dose : int
        1-based starting level.

    Examples
    --------
    >>> d = ThreePlusThree(3)
    >>> d.decide("1NNN 2NTN").reason
    'stay'
    >>> d.decide("1NNN 2NTT").selected
    1
    """

    name = "3+3"

    def __init__(
        self,
        n_doses: int,
        deescalation: bool = False,
        doses: DoseLevels | None = None,
        start_dose: int = 1,
    ) -> None:
        v = validate("3+3", n_doses=n_doses, deescalation=deescalation, start_dose=start_dose)
        self.n_doses = int(v["n_doses"])
        self.deescalation = bool(v["deescalation"])
        self.cohort_size = 3
        self.doses = DoseLevels.for_design(doses, self.n_doses)
        self.start_index = start_index(v["start_dose"], self.n_doses)

    @property
    def max_patients(self) -> int:
        return 6 * self.n_doses

    def describe(self) -> str:
        variant = (
            "with de-escalation: a dose with >= 2 DLTs sends the next cohort back to the dose "
            "below unless 6 were treated there"
            if self.deescalation
            else "escalation only: >= 2 DLTs at a dose make the dose below the MTD"
        )
        start = f", starting at dose {self.start_dose}" if self.start_index else ""
        return f"3+3 ({variant}), {self.n_doses} doses{start}"

    def decide_batch(self, st: States) -> Decisions:
        t = st.size
        k = self.n_doses
        rows = np.arange(t)
        d = st.current
        nd, yd = st.n[rows, d], st.y[rows, d]
        above = np.minimum(d + 1, k - 1)
        below = np.maximum(d - 1, 0)
        top = d == k - 1
        above_closed = (~top) & ((st.n[rows, above] >= 6) | (st.y[rows, above] >= 2))

        # decisions are taken when a cohort of 3 is complete (3 or 6 patients at the dose);
        # a partial cohort is completed first, as in R escalation
        complete = (nd == 3) | (nd >= 6)
        clear = ((nd == 3) & (yd == 0)) | ((nd >= 6) & (yd <= 1))
        toxic = complete & (yd >= 2)
        wait = ~clear & ~toxic  # 1/3, or an incomplete cohort

        next_dose = d.copy()
        stop = np.zeros(t, dtype=bool)
        reason = np.full(t, R_STAY, dtype=np.int64)
        selected = np.full(t, -1, dtype=np.int64)

        # cleared: escalate, or stop at the top / below a closed dose
        esc = clear & ~top & ~above_closed
        next_dose = np.where(esc, d + 1, next_dose)
        reason = np.where(esc, R_ESCALATE, reason)
        stop_clear = clear & (top | above_closed)
        stop |= stop_clear
        selected = np.where(stop_clear, d, selected)
        reason = np.where(clear & top, R_TOP_SAFE, np.where(stop_clear, R_MTD, reason))

        # too toxic
        if self.deescalation:
            can_go_back = toxic & (d > 0) & (st.n[rows, below] < 6)
            next_dose = np.where(can_go_back, below, next_dose)
            reason = np.where(can_go_back, R_DEESCALATE, reason)
            done = toxic & ~can_go_back
            korn = self._korn(st)
            stop |= done
            selected = np.where(done, korn, selected)
            reason = np.where(done, np.where(korn >= 0, R_MTD, R_TOO_TOXIC), reason)
        else:
            stop |= toxic
            selected = np.where(toxic, d - 1, selected)
            reason = np.where(toxic, np.where(d > 0, R_MTD, R_TOO_TOXIC), reason)
        reason = np.where(wait, R_STAY, reason)
        return Decisions(
            next_dose=next_dose.astype(np.int64), stop=stop, reason=reason, selected=selected
        )

    @staticmethod
    def _korn(st: States) -> IntArray:
        """Highest dose with at least 6 patients and at most one DLT (-1 if none)."""
        ok = (st.n >= 6) & (st.y <= 1)
        k = st.n.shape[1]
        idx = np.where(ok, np.arange(k)[None, :], -1)
        return np.asarray(idx.max(axis=1), dtype=np.int64)

    def select_batch(self, st: States) -> IntArray:
        """MTD from counts: the highest dose cleared (0/3 or <= 1/6) below the lowest dose with
        >= 2 DLTs."""
        k = st.n.shape[1]
        toxic = st.y >= 2
        cap = np.where(toxic.any(axis=1), toxic.argmax(axis=1), k)
        cleared = ((st.n >= 3) & (st.y == 0)) | ((st.n >= 6) & (st.y <= 1))
        idx = np.arange(k)[None, :]
        ok = cleared & (idx < cap[:, None])
        return np.asarray(np.where(ok, idx, -1).max(axis=1), dtype=np.int64)

    def _table_pairs(self) -> list[tuple[int, int]]:
        # 6 at a dose means 1/3 before the second cohort: 1 to 4 DLTs among 6
        return [(3, j) for j in range(4)] + [(6, j) for j in range(1, 5)]

    def protocol_table(self) -> pd.DataFrame:
        """The rules in words (:meth:`rules_table`)."""
        return self.rules_table()

    def rules_table(self) -> pd.DataFrame:
        """The rules as a protocol prints them, in words: DLTs among patients at the dose."""
        import pandas as pd

        below = (
            "go back to the dose below if it has fewer than 6 patients; otherwise stop: MTD = "
            "highest dose with 6 patients and <= 1 DLT"
            if self.deescalation
            else "stop: MTD = the dose below (none at dose 1)"
        )
        rows = [
            ("3", "0", "escalate (at the highest dose: stop, it is the MTD)"),
            ("3", "1", "treat 3 more at the same dose"),
            ("3", ">= 2", below),
            ("6", "<= 1", "escalate (at the highest dose: stop, it is the MTD)"),
            ("6", ">= 2", below),
        ]
        return pd.DataFrame(rows, columns=["patients at dose", "DLTs", "decision"])
