"""Interval designs for dose finding: mTPI-2, Keyboard and i3+3.

Each design decides from the patients ``n`` and DLTs ``y`` at the current dose only: escalate
(E), stay (S) or de-escalate (D), by comparing the posterior (mTPI-2, Keyboard) or the observed
DLT rate (i3+3) with an equivalence interval (target - eps1, target + eps2) around the target.
All three share

- the safety rule of the papers: once ``n >= 3`` patients are at a dose and
  Pr(p > target | y, n) > ``cutoff_eli`` under a Beta(1, 1) prior, that dose and every higher
  dose are eliminated (DU); the trial stops, recommending no dose, if dose 1 is eliminated;
- never escalating into an eliminated dose (the trial stays instead), staying at the top dose
  when the rule says escalate and at dose 1 when it says de-escalate;
- a maximum sample size of ``n_cohorts * cohort_size``;
- MTD selection by isotonic regression of the Beta(0.05, 0.05) posterior means over the
  admissible doses, the dose closest to the target, as ``BOIN::select.mtd`` and
  ``Keyboard::select.mtd.kb`` do it (the mTPI-2 and i3+3 papers also take the dose closest to
  the target after isotonic regression, breaking ties their own way).

Because the rule is a table of (n, y) -> E / S / D / DU, it is computed once per design and the
batch rule looks it up; decision tables, exact and simulated operating characteristics and dose
paths come from :class:`~earlyphase.designs.base.DoseFindingDesign`.

References
----------
Guo W, Wang S-J, Yang S, Lynn H, Ji Y (2017). A Bayesian interval dose-finding design
    addressing Ockham's razor: mTPI-2. Contemp Clin Trials 58:23-33.
Yan F, Mandrekar SJ, Yuan Y (2017). Keyboard: a novel Bayesian toxicity probability interval
    design for phase I clinical trials. Clin Cancer Res 23:3994-4003.
Liu M, Wang S-J, Ji Y (2020). The i3+3 design for phase I clinical trials. J Biopharm Stat
    30:294-304.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from earlyphase.designs.boin import (
    NO_BOUND,
    CohortDesign,
    eliminated_doses,
    elimination_boundary,
    isotonic_distance,
)
from earlyphase.designs.doses import DoseLevels, start_index
from earlyphase.engine.states import (
    R_DEESCALATE,
    R_ELIMINATE,
    R_ESCALATE,
    R_MAX_N,
    R_STAY,
    R_TOO_TOXIC,
    Decisions,
    IntArray,
    States,
)
from earlyphase.stats.checks import check_count, check_level, check_probability

if TYPE_CHECKING:
    import pandas as pd

#: Codes of the interval rule at a dose.
ESCALATE, STAY, DEESCALATE = 0, 1, 2
_LETTER = {ESCALATE: "E", STAY: "S", DEESCALATE: "D"}


def interval_keys(target: float, eps1: float, eps2: float) -> NDArray[np.float64]:
    """Cut points of the intervals of mTPI-2 and Keyboard, from 0 to 1.

    The equivalence interval (target - eps1, target + eps2) is flanked by intervals of the
    same width on both sides, the outermost ones cut at 0 and 1 (Guo et al. 2017, Sec. 2;
    Yan et al. 2017, "keys"). The cut points are formed as ``Keyboard::get.boundary.kb`` and
    escalation's ``mtpi2_selector`` form them (a1 - i * width, a2 + i * width), so the
    floating-point cut points, and so ties between intervals, are the same as in R.
    """
    a1, a2 = target - eps1, target + eps2
    width = a2 - a1
    lower: list[float] = []
    i = 0
    cut = 1.0
    while cut > 0:
        i += 1
        cut = a1 - i * width
        lower.insert(0, max(cut, 0.0))
    upper: list[float] = []
    i = 0
    cut = 0.0
    while cut < 1:
        i += 1
        cut = a2 + i * width
        upper.append(min(cut, 1.0))
    return np.array([*lower, a1, a2, *upper], dtype=np.float64)


def _unit_probability_mass(
    keys: NDArray[np.float64], n: int, y: int, width: float
) -> NDArray[np.float64]:
    """Posterior probability of each interval divided by its width (the UPM of Guo et al.
    2017, Sec. 2; Yan et al. 2017's compensation of the partial end keys is the same scaling),
    times ``width`` so full intervals keep their probability. Beta(1 + y, 1 + n - y)."""
    from scipy.stats import beta

    cdf = beta.cdf(keys, 1 + y, 1 + n - y)
    prob = np.diff(cdf)
    return np.asarray(prob * width / np.diff(keys), dtype=np.float64)


def isotonic_mtd(st: States, target: float, cutoff_eli: float) -> IntArray:
    """MTD by isotonic regression (``BOIN::select.mtd``, ``Keyboard::select.mtd.kb``).

    Doses from the first with ``n >= 3`` and Pr(p > target) > ``cutoff_eli`` upwards are
    eliminated; among treated admissible doses the Beta(0.05, 0.05) posterior means are made
    non-decreasing by weighted isotonic regression (weights 1 / posterior variance), ties are
    broken towards the higher dose (+ i * 1e-10) and the dose closest to the target is chosen;
    -1 when dose 1 is eliminated or no admissible dose was given.
    """
    elim = eliminated_doses(st, target, cutoff_eli)
    adm = (st.n > 0) & ~elim
    none = elim[:, 0] | ~adm.any(axis=1)
    _fit, dist = isotonic_distance(st, adm, target)
    return np.where(none, -1, dist.argmin(axis=1)).astype(np.int64)


class IntervalDesign(CohortDesign):
    """A dose-finding design whose rule is a table of (patients, DLTs) at the current dose.

    Subclasses say the interval rule in :meth:`interval_decision` (E, S or D, before the
    safety rule); this class adds elimination, the trial's moves and MTD selection.
    """

    def __init__(
        self,
        target: float,
        n_doses: int,
        cohort_size: int,
        n_cohorts: int,
        eps1: float,
        eps2: float,
        cutoff_eli: float,
        doses: DoseLevels | None,
        start_dose: int,
    ) -> None:
        self._target = check_level(target, "target")
        self.n_doses = check_count(n_doses, "n_doses", minimum=1)
        self.cohort_size = check_count(cohort_size, "cohort_size", minimum=1)
        self.n_cohorts = check_count(n_cohorts, "n_cohorts", minimum=1)
        self.eps1 = check_probability(eps1, self._eps_names[0])
        self.eps2 = check_probability(eps2, self._eps_names[1])
        if self.eps1 <= 0 or self.eps1 >= self._target:
            raise ValueError(
                f"{self._eps_names[0]}: must lie in (0, target = {self._target:g}), got {eps1!r}"
            )
        if self.eps2 <= 0 or self._target + self.eps2 >= 1:
            raise ValueError(
                f"{self._eps_names[1]}: must lie in (0, 1 - target = {1 - self._target:g}), "
                f"got {eps2!r}"
            )
        self.cutoff_eli = check_level(cutoff_eli, "cutoff_eli")
        self.doses = DoseLevels.for_design(doses, self.n_doses)
        self.start_index = start_index(start_dose, self.n_doses)
        n_max = self.max_n
        code = np.full((n_max + 1, n_max + 1), STAY, dtype=np.int64)
        for m in range(1, n_max + 1):
            for j in range(m + 1):
                code[m, j] = self.interval_decision(m, j)
        self._code = code
        # the papers' safety rule may eliminate a dose without any DLT (a low cutoff_eli)
        self._elim = elimination_boundary(self._target, self.cutoff_eli, n_max, lowest=0)

    _eps_names: tuple[str, str] = ("eps1", "eps2")

    def interval_decision(self, n: int, y: int) -> int:
        """E / S / D (:data:`ESCALATE`, :data:`STAY`, :data:`DEESCALATE`) for ``y`` DLTs in
        ``n`` patients at the current dose, before the safety rule."""
        raise NotImplementedError

    @cached_property
    def keys(self) -> NDArray[np.float64]:
        """Cut points of the intervals (keys) of mTPI-2 and Keyboard (:func:`interval_keys`)."""
        return interval_keys(self._target, self.eps1, self.eps2)

    @cached_property
    def _equivalence_index(self) -> int:
        # the cut point is formed as interval_keys forms it, so the comparison is exact
        return int(np.flatnonzero(self.keys == self._target - self.eps1)[0])

    def _common_description(self) -> str:
        return (
            f"{self.n_doses} doses from dose {self.start_dose}, {self.n_cohorts} cohorts of "
            f"{self.cohort_size}; eliminate a dose and all higher doses if Pr(DLT rate > "
            f"{self._target:g}) > {self.cutoff_eli:g} (Beta(1, 1) prior, n >= 3), stopping if "
            "dose 1 is eliminated; MTD by isotonic regression, the dose closest to the target"
        )

    # --- the rule as tables -------------------------------------------------------------------
    def _ns(self, full: bool) -> list[int]:
        if full:
            return list(range(1, self.max_n + 1))
        return [c * self.cohort_size for c in range(1, self.n_cohorts + 1)]

    def letter(self, n: int, y: int) -> str:
        """The decision for ``y`` DLTs in ``n`` patients at a dose: E, S, D or DU (de-escalate
        and eliminate the dose and all higher doses)."""
        n = check_count(n, "n", minimum=1)
        y = check_count(y, "y")
        if n > self.max_n:
            raise ValueError(f"n: at most {self.max_n} patients can be at a dose, got {n}")
        if y > n:
            raise ValueError(f"y: at most n = {n} DLTs, got {y}")
        if y >= self._elim[n]:
            return "DU"
        return _LETTER[int(self._code[n, y])]

    def boundary_table(self, full: bool = False) -> pd.DataFrame:
        """The decision for every number of DLTs (rows) and patients at the dose (columns):
        E, S, D or DU, as the mTPI-2, Keyboard and i3+3 papers print the rule. Columns are
        the cohort multiples, or every n = 1..N with ``full``; entries with y > n are ''."""
        import pandas as pd

        ns = self._ns(full)
        top = max(ns)
        table = {str(m): [self.letter(m, j) if j <= m else "" for j in range(top + 1)] for m in ns}
        frame = pd.DataFrame(table, index=pd.Index(range(top + 1), name="DLTs"))
        frame.columns.name = "patients"
        return frame

    def boundaries(self, full: bool = False) -> pd.DataFrame:
        """The rule as DLT counts per n (``Keyboard::get.boundary.kb``'s layout): escalate if
        #DLT <= (-1 when never), de-escalate if #DLT >=, eliminate if #DLT >= (None when the
        rule cannot fire)."""
        import pandas as pd

        rows = []
        for m in self._ns(full):
            letters = [self.letter(m, j) for j in range(m + 1)]
            esc = [j for j, v in enumerate(letters) if v == "E"]
            down = [j for j, v in enumerate(letters) if v in ("D", "DU")]
            rows.append(
                {
                    "n": m,
                    "escalate_if_dlt_le": max(esc) if esc else -1,
                    "deescalate_if_dlt_ge": min(down) if down else None,
                    "eliminate_if_dlt_ge": None
                    if self._elim[m] >= NO_BOUND
                    else int(self._elim[m]),
                }
            )
        return pd.DataFrame(rows)

    def protocol_table(self, full: bool = False) -> pd.DataFrame:
        """The boundaries a protocol prints (:meth:`boundaries`)."""
        return self.boundaries(full=full)

    # --- the batch rule -----------------------------------------------------------------------
    def decide_batch(self, st: States) -> Decisions:
        k = self.n_doses
        d, nd, yd = self._at_current(st)
        yd = np.minimum(yd, nd)
        code = self._code[nd, yd]
        first_elim = self._first_eliminated(st)
        here_elim = first_elim <= d
        toxic_stop = (d == 0) & (first_elim == 0)
        up = (code == ESCALATE) & (d < k - 1) & (d + 1 < first_elim) & ~here_elim
        down = ((code == DEESCALATE) | here_elim) & (d > 0)
        next_dose = np.where(up, d + 1, np.where(down, d - 1, d))
        reason = np.where(
            up,
            R_ESCALATE,
            np.where(down & here_elim, R_ELIMINATE, np.where(down, R_DEESCALATE, R_STAY)),
        )
        reached = st.total >= self.max_n
        stop = reached | toxic_stop
        selected = self._selected_where(st, reached & ~toxic_stop)
        reason = np.where(toxic_stop, R_TOO_TOXIC, np.where(reached, R_MAX_N, reason))
        return Decisions(
            next_dose=next_dose.astype(np.int64), stop=stop, reason=reason, selected=selected
        )

    def select_batch(self, st: States) -> IntArray:
        """MTD by isotonic regression (:func:`isotonic_mtd`)."""
        return isotonic_mtd(st, self._target, self.cutoff_eli)


class MTPI2(IntervalDesign):
    """mTPI-2 (Guo et al. 2017): the interval with the largest unit probability mass wins.

    [0, 1] is cut into the equivalence interval EI = (target - epsilon1, target + epsilon2)
    and intervals of the same width below (under-dosing) and above (over-dosing), the end ones
    truncated (:func:`interval_keys`). With the Beta(1 + y, 1 + n - y) posterior, the UPM of
    an interval is its posterior probability over its width (Sec. 2); escalate if the largest
    UPM is below the EI, stay if it is the EI, de-escalate if above (Sec. 2). Ties go to
    escalation, then staying, as escalation 0.2.3's ``get_mtpi2`` breaks them. escalation
    applies the safety rule differently: it stops at dose 1 whenever Pr(p > target) exceeds
    the cut-off (also with fewer than 3 patients) and blocks escalation into a dose with at
    least 2 patients and Pr(p > target) >= the cut-off, without remembering eliminations; on
    the histories compared in the tests (cohorts of 3) the decisions agree.

    Examples
    --------
    >>> m = MTPI2(0.3, 5, n_cohorts=10)
    >>> [m.letter(3, y) for y in range(4)]
    ['E', 'S', 'D', 'DU']
    """

    name = "mtpi2"
    _eps_names = ("epsilon1", "epsilon2")

    def __init__(
        self,
        target: float,
        n_doses: int,
        epsilon1: float = 0.05,
        epsilon2: float = 0.05,
        cohort_size: int = 3,
        n_cohorts: int = 10,
        cutoff_eli: float = 0.95,
        doses: DoseLevels | None = None,
        start_dose: int = 1,
    ) -> None:
        super().__init__(
            target,
            n_doses,
            cohort_size,
            n_cohorts,
            epsilon1,
            epsilon2,
            cutoff_eli,
            doses,
            start_dose,
        )

    @property
    def epsilon1(self) -> float:
        return self.eps1

    @property
    def epsilon2(self) -> float:
        return self.eps2

    def interval_decision(self, n: int, y: int) -> int:
        upm = _unit_probability_mass(self.keys, n, y, self.eps1 + self.eps2)
        ei = self._equivalence_index
        best = upm.max()
        if (upm[:ei] == best).any():
            return ESCALATE
        if upm[ei] == best:
            return STAY
        return DEESCALATE

    def describe(self) -> str:
        return (
            f"mTPI-2 (target {self._target:g}, equivalence interval "
            f"({self._target - self.eps1:g}, {self._target + self.eps2:g}): escalate, stay or "
            "de-escalate as the interval with the largest unit probability mass lies below, "
            f"is, or lies above it); {self._common_description()}"
        )


class Keyboard(IntervalDesign):
    """Keyboard design (Yan, Mandrekar & Yuan 2017): the strongest key decides.

    The target key (target - margin, target + margin) is flanked by keys of the same width,
    the partial end keys compensated by (full width / partial width), which makes the key
    strengths the unit probability masses of mTPI-2; the strongest key (the highest one when
    several are equally strong, as ``Keyboard::get.boundary.kb`` 0.1.3 picks it) says escalate
    (below the target key), stay (the target key) or de-escalate (above). ``margin_left`` and
    ``margin_right`` set unequal margins (``marginL``, ``marginR``).

    Examples
    --------
    >>> kb = Keyboard(0.3, 5, n_cohorts=10)
    >>> kb.boundaries()["escalate_if_dlt_le"].tolist()[:4]
    [0, 1, 2, 2]
    """

    name = "keyboard"
    _eps_names = ("margin_left", "margin_right")

    def __init__(
        self,
        target: float,
        n_doses: int,
        margin: float = 0.05,
        cohort_size: int = 3,
        n_cohorts: int = 10,
        cutoff_eli: float = 0.95,
        margin_left: float | None = None,
        margin_right: float | None = None,
        doses: DoseLevels | None = None,
        start_dose: int = 1,
    ) -> None:
        left = margin if margin_left is None else margin_left
        right = margin if margin_right is None else margin_right
        super().__init__(
            target, n_doses, cohort_size, n_cohorts, left, right, cutoff_eli, doses, start_dose
        )

    def interval_decision(self, n: int, y: int) -> int:
        strength = _unit_probability_mass(self.keys, n, y, self.eps1 + self.eps2)
        target_key = self._equivalence_index
        strongest = int(np.flatnonzero(strength == strength.max())[-1])
        if strongest > target_key:
            return DEESCALATE
        if strongest == target_key:
            return STAY
        return ESCALATE

    def describe(self) -> str:
        return (
            f"Keyboard (target {self._target:g}, target key ({self._target - self.eps1:g}, "
            f"{self._target + self.eps2:g}): escalate, stay or de-escalate as the strongest "
            f"key lies below, is, or lies above it); {self._common_description()}"
        )


class I3Plus3(IntervalDesign):
    """i3+3 design (Liu, Wang & Ji 2020): the observed DLT rate y/n against the equivalence
    interval EI = [target - eps1, target + eps2].

    Escalate if y/n is below the EI; stay if it lies in the EI; if it lies above, stay when
    (y - 1)/n is below the EI (one DLT fewer would have escalated: the design's guard against
    over-reacting to small cohorts) and de-escalate otherwise (Liu et al. 2020, Sec. 2).

    Examples
    --------
    >>> i3 = I3Plus3(0.3, 5, n_cohorts=10)
    >>> [i3.letter(3, y) for y in range(4)], [i3.letter(2, y) for y in range(3)]
    (['E', 'S', 'D', 'DU'], ['E', 'S', 'D'])
    """

    name = "i3+3"

    def __init__(
        self,
        target: float,
        n_doses: int,
        eps1: float = 0.05,
        eps2: float = 0.05,
        cohort_size: int = 3,
        n_cohorts: int = 10,
        cutoff_eli: float = 0.95,
        doses: DoseLevels | None = None,
        start_dose: int = 1,
    ) -> None:
        super().__init__(
            target, n_doses, cohort_size, n_cohorts, eps1, eps2, cutoff_eli, doses, start_dose
        )

    def interval_decision(self, n: int, y: int) -> int:
        low, high = self._target - self.eps1, self._target + self.eps2
        rate = y / n
        if rate < low:
            return ESCALATE
        if rate <= high:
            return STAY
        return STAY if (y - 1) / n < low else DEESCALATE

    def describe(self) -> str:
        return (
            f"i3+3 (target {self._target:g}, equivalence interval [{self._target - self.eps1:g}, "
            f"{self._target + self.eps2:g}]: escalate if the DLT rate at the dose is below it, "
            "stay if within, above it stay if one DLT fewer would be below it, else "
            f"de-escalate); {self._common_description()}"
        )
