"""Bayesian optimal interval (BOIN) design, as R ``BOIN`` 2.7.2.

Escalate when the observed DLT rate at the current dose is <= lambda_e, de-escalate when it is
> lambda_d, otherwise stay; a dose with Pr(DLT rate > target | data) > ``cutoff_eli`` (Beta(1, 1)
prior, n >= 3) is eliminated with all higher doses. The MTD is selected by isotonic regression.

Boundaries, decisions, MTD selection and operating characteristics agree with R ``BOIN``'s
``get.boundary``, ``select.mtd`` and ``get.oc`` but for one case, where R contradicts itself:
with ``extrasafe = TRUE``, ``get.oc`` checks the extra-safe stop at dose 1 only at sample sizes
where the elimination rule can fire (the check is nested under ``!is.na(b.elim[n])``), so with
a target of about 0.47 or more it continues after 3/3 DLTs at dose 1 although ``get.boundary``
prints "stop the trial if #DLT >= 3" for n = 3. Here the stop follows the printed table;
``get_oc_compatible=True`` reproduces ``get.oc``.

References
----------
Liu S, Yuan Y (2015). Bayesian optimal interval designs for phase I clinical trials.
    J R Stat Soc C 64:507-523 (boundaries, eq. 2-3).
Yuan Y, Hess KR, Hilsenbeck SG, Gilbert MR (2016). Bayesian optimal interval design: a simple
    and well-performing design for phase I oncology trials. Clin Cancer Res 22:4291-4301.
Yan F, Zhang L, Zhou Y, et al. (2020). BOIN: an R package for designing single-agent and
    drug-combination dose-finding trials using Bayesian optimal interval designs. J Stat Softw
    94(13) (``get.boundary``, ``select.mtd``, ``get.oc``).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

from earlyphase.designs.base import DoseFindingDesign
from earlyphase.designs.doses import DoseLevels, start_index
from earlyphase.designs.settings import validate
from earlyphase.engine.states import (
    R_DEESCALATE,
    R_ELIMINATE,
    R_ESCALATE,
    R_MAX_N,
    R_N_AT_DOSE,
    R_STAY,
    R_TOO_TOXIC,
    Decisions,
    IntArray,
    States,
)

if TYPE_CHECKING:
    import pandas as pd

NO_BOUND = 10**6  # "not applicable" entry of an integer boundary


def boin_lambdas(target: float, phi1: float, phi2: float) -> tuple[float, float]:
    """Escalation and de-escalation boundaries (Liu & Yuan 2015, eq. 2-3)."""
    lam_e = math.log((1 - phi1) / (1 - target)) / math.log(
        target * (1 - phi1) / (phi1 * (1 - target))
    )
    lam_d = math.log((1 - target) / (1 - phi2)) / math.log(
        phi2 * (1 - target) / (target * (1 - phi2))
    )
    return lam_e, lam_d


def beta_sf_whole(x: float, a: ArrayLike, b: ArrayLike) -> NDArray[np.float64]:
    """Pr(B > x) for B ~ Beta(a, b) with whole shapes a, b >= 1, elementwise over ``a``, ``b``.

    By the identity I_x(a, n - a + 1) = Pr(Bin(n, x) >= a) (Abramowitz & Stegun 1964,
    26.5.24), Pr(B > x) = Pr(Bin(a + b - 1, x) <= a - 1): a finite sum of binomial terms, so
    BOIN's posterior tail probabilities (Beta(1, 1) prior, whole counts) need no SciPy and the
    command line starts without importing it. Binomial coefficients come from Pascal's
    triangle (exact below 2^53), which keeps the sum within a few 1e-15 of SciPy's
    ``beta.sf`` for the sample sizes of dose finding; past 1000 patients log-factorials
    (``math.lgamma``) take over, as the coefficients overflow.
    """
    a_ = np.asarray(a, dtype=np.int64)
    b_ = np.asarray(b, dtype=np.int64)
    n = a_ + b_ - 1
    top = int(n.max()) if n.size else 0
    j = np.arange(top + 1)
    nn = n[..., None]
    jj = np.minimum(j, nn)
    if top <= 1000:
        terms = _pascal(top)[nn, jj] * np.power(x, jj) * np.power(1.0 - x, nn - jj)
    else:
        log_fact = np.array([math.lgamma(k + 1.0) for k in range(top + 1)])
        log_pmf = log_fact[nn] - log_fact[jj] - log_fact[nn - jj]
        terms = np.exp(log_pmf + jj * math.log(x) + (nn - jj) * math.log1p(-x))
    terms = np.where(j <= a_[..., None] - 1, terms, 0.0)
    return np.asarray(np.minimum(terms.sum(axis=-1), 1.0), dtype=np.float64)


@lru_cache(maxsize=8)
def _pascal(top: int) -> NDArray[np.float64]:
    """C(n, j) for 0 <= j <= n <= ``top`` (zero above the diagonal)."""
    table = np.zeros((top + 1, top + 1))
    table[:, 0] = 1.0
    for m in range(1, top + 1):
        table[m, 1 : m + 1] = table[m - 1, 1 : m + 1] + table[m - 1, 0:m]
    table.setflags(write=False)
    return table


#: Largest sample size at a dose for which :func:`posterior_tail` keeps a table.
_TAIL_TABLE_MAX = 240


@lru_cache(maxsize=32)
def _tail_table(x: float, top: int) -> NDArray[np.float64]:
    """Pr(p > x | y DLTs among n) under a Beta(1, 1) prior, for 0 <= y <= n <= ``top``."""
    n = np.arange(top + 1)[:, None]
    y = np.arange(top + 1)[None, :]
    y = np.minimum(y, n)
    table = beta_sf_whole(x, y + 1, n - y + 1)
    table.setflags(write=False)
    return table


def posterior_tail(x: float, n: IntArray, y: IntArray) -> NDArray[np.float64]:
    """Pr(p > x | ``y`` DLTs among ``n``), Beta(1, 1) prior, elementwise: the posterior
    tail BOIN's elimination reads (:func:`beta_sf_whole` with a = y + 1, b = n - y + 1).

    Exact enumeration asks this of millions of states with the same few hundred counts, so the
    values come from a table over every count up to the largest asked (rounded up, so a few
    tables serve all calls), computed once by :func:`beta_sf_whole` itself.
    """
    top = int(n.max()) if n.size else 0
    if top > _TAIL_TABLE_MAX:
        return beta_sf_whole(x, y + 1, n - y + 1)
    size = max(32, 1 << (top - 1).bit_length()) if top > 0 else 32
    return _tail_table(float(x), min(size, _TAIL_TABLE_MAX))[n, y]


def isotonic_batch(x: NDArray[np.float64], w: NDArray[np.float64]) -> NDArray[np.float64]:
    """Weighted isotonic (non-decreasing) regression of each row of ``x``.

    Uses the max-min formula (Barlow et al. 1972, Theorem 1.4.4): fit_i = max_{j<=i}
    min_{k>=i} Av(j..k). Zero-weight entries do not influence the fit (their own fitted
    values are meaningless). Vectorised over rows, one pair (j, k) at a time on contiguous
    columns: the minimum over k >= i for every i is a running minimum from the right, so the
    cost is O(rows K^2) for K doses with little memory beyond the result.
    """
    t, k = x.shape
    # cumulative weights and weighted sums, one contiguous row per dose boundary
    cw = np.concatenate((np.zeros((1, t)), np.cumsum(w, axis=1).T), axis=0)
    cs = np.concatenate((np.zeros((1, t)), np.cumsum(w * x, axis=1).T), axis=0)
    fit = np.full((k, t), -np.inf)
    inner = np.empty((k, t))
    with np.errstate(invalid="ignore", divide="ignore"):
        for j in range(k):
            running = np.full(t, np.inf)
            for m in range(k - 1, j - 1, -1):
                sw = cw[m + 1] - cw[j]  # weight of doses j..m
                has = sw > 0
                # Av(j..m) where there is weight; +inf (never the minimum) where not
                av = np.where(has, (cs[m + 1] - cs[j]) / np.where(has, sw, 1.0), np.inf)
                np.minimum(running, av, out=running)
                inner[m] = running
            # an undefined minimum takes no part in the maximum over j <= i
            part = np.where(np.isinf(inner[j:]), -np.inf, inner[j:])
            np.maximum(fit[j:], part, out=fit[j:])
    return np.ascontiguousarray(fit.T)


def elimination_boundary(target: float, cutoff: float, n_max: int, lowest: int) -> IntArray:
    """The fewest DLTs, from ``lowest`` up, that eliminate a dose with n = 0..``n_max``
    patients: Pr(p > target | DLTs, n) > ``cutoff`` under a Beta(1, 1) prior, for n >= 3
    (Liu & Yuan 2015; ``BOIN::get.boundary``); :data:`NO_BOUND` where no count does."""
    out = np.full(n_max + 1, NO_BOUND, dtype=np.int64)
    for m in range(3, n_max + 1):
        tox = np.arange(lowest, m + 1)
        hit = np.flatnonzero(beta_sf_whole(target, tox + 1, m - tox + 1) > cutoff)
        if hit.size:
            out[m] = tox[hit[0]]
    return out


def eliminated_doses(st: States, target: float, cutoff: float) -> NDArray[np.bool_]:
    """Doses eliminated by the final data, per trial: from the first dose with n >= 3 and
    Pr(p > target) > ``cutoff`` upwards (``BOIN::select.mtd``)."""
    k = st.n.shape[1]
    over = (st.n >= 3) & (posterior_tail(target, st.n, st.y) > cutoff)
    first = np.where(over.any(axis=1), over.argmax(axis=1), k)
    return np.asarray(np.arange(k)[None, :] >= first[:, None])


def isotonic_distance(
    st: States, adm: NDArray[np.bool_], target: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The isotonic estimates of the admissible doses and their distance to the target
    (infinite elsewhere), as ``BOIN::select.mtd`` and ``Keyboard::select.mtd.kb`` form them:
    Beta(0.05, 0.05) posterior means made non-decreasing by isotonic regression weighted by
    1 / posterior variance, ties broken towards the higher dose (+ i * 1e-10)."""
    n = st.n.astype(np.float64)
    y = st.y.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        phat = (y + 0.05) / (n + 0.1)
        var = (y + 0.05) * (n - y + 0.05) / ((n + 0.1) ** 2 * (n + 0.1 + 1))
        w = np.where(adm, 1.0 / var, 0.0)
    fit = isotonic_batch(np.where(adm, phat, 0.0), w)
    rank = np.cumsum(adm, axis=1)  # position among admissible doses, 1-based
    fit = fit + rank * 1e-10
    return fit, np.where(adm, np.abs(fit - target), np.inf)


class CohortDesign(DoseFindingDesign):
    """A dose-finding design with a target DLT rate, ``n_cohorts`` cohorts of
    ``cohort_size`` and BOIN's elimination of doses (Liu & Yuan 2015): what BOIN and the
    interval designs (mTPI-2, Keyboard, i3+3) share. Subclasses set ``_target`` and
    ``_elim``, the fewest DLTs eliminating a dose by n (:func:`elimination_boundary`)."""

    _target: float
    n_cohorts: int
    _elim: IntArray

    @property
    def target(self) -> float:
        return self._target

    @property
    def max_n(self) -> int:
        return self.n_cohorts * self.cohort_size

    @property
    def max_patients(self) -> int:
        return self.max_n

    def _first_eliminated(self, st: States) -> IntArray:
        """Lowest eliminated dose per trial (K if none), from the counts."""
        ncap = np.minimum(st.n, self.max_n)
        hit = (st.n >= 3) & (st.y >= self._elim[ncap])
        return np.where(hit.any(axis=1), hit.argmax(axis=1), self.n_doses).astype(np.int64)

    def _at_current(self, st: States) -> tuple[IntArray, IntArray, IntArray]:
        """The current dose per trial, its patients (capped at ``max_n``, where the boundary
        tables end) and its DLTs."""
        rows = np.arange(st.size)
        d = st.current
        return d, np.minimum(st.n[rows, d], self.max_n), st.y[rows, d]

    def _selected_where(self, st: States, choose: NDArray[np.bool_]) -> IntArray:
        """The selected dose of the trials ``choose`` picks (-1 for the others)."""
        selected = np.full(st.size, -1, dtype=np.int64)
        if choose.any():
            selected[choose] = self.select_batch(st.take(np.flatnonzero(choose)))
        return selected


class BOIN(CohortDesign):
    """BOIN design for a single agent.

    Parameters
    ----------
    target : float
        Target DLT rate (R BOIN accepts 0.05 to 0.6).
    n_doses : int
    cohort_size : int
    n_cohorts : int
        Maximum number of cohorts; the trial stops at ``n_cohorts * cohort_size`` patients.
    phi1, phi2 : float, optional
        Highest rate deemed sub-therapeutic and lowest deemed overly toxic (defaults 0.6 and
        1.4 times the target).
    cutoff_eli : float
        Posterior probability above which a dose is eliminated (0.95).
    extra_safe, offset : bool, float
        Stop if Pr(DLT rate at dose 1 > target) > ``cutoff_eli - offset`` (n >= 3).
    get_oc_compatible : bool
        Apply the extra-safe stop only where R ``BOIN::get.oc`` does: at sample sizes with an
        elimination boundary (see the module docstring). Off by default, so the trial follows
        the boundary table R's ``get.boundary`` prints.
    n_earlystop : int, optional
        Stop when the current dose has this many patients and the rule says stay (or
        de-escalate at dose 1, or escalate past the top / an eliminated dose).
    bound_mtd : bool
        Only doses with isotonic estimate <= lambda_d can be selected (``boundMTD``).
    doses : DoseLevels, optional
    start_dose : int
        1-based starting dose.

    Examples
    --------
    >>> b = BOIN(0.3, 5, n_cohorts=10)
    >>> round(b.lambda_e, 7), round(b.lambda_d, 7)
    (0.2364907, 0.3585195)
    >>> b.decide("1NNN 2NTT").reason
    'de-escalate'
    """

    name = "boin"

    def __init__(
        self,
        target: float,
        n_doses: int,
        cohort_size: int = 3,
        n_cohorts: int = 10,
        phi1: float | None = None,
        phi2: float | None = None,
        cutoff_eli: float = 0.95,
        extra_safe: bool = False,
        offset: float = 0.05,
        get_oc_compatible: bool = False,
        n_earlystop: int | None = None,
        bound_mtd: bool = False,
        doses: DoseLevels | None = None,
        start_dose: int = 1,
    ) -> None:
        # types and bounds from the settings registry (R BOIN accepts targets 0.05 to 0.6)
        v = validate(
            "boin",
            target=target,
            n_doses=n_doses,
            cohort_size=cohort_size,
            n_cohorts=n_cohorts,
            phi1=phi1,
            phi2=phi2,
            cutoff_eli=cutoff_eli,
            extra_safe=extra_safe,
            offset=offset,
            get_oc_compatible=get_oc_compatible,
            n_earlystop=n_earlystop,
            bound_mtd=bound_mtd,
            start_dose=start_dose,
        )
        self._target = float(v["target"])
        self.n_doses = int(v["n_doses"])
        self.cohort_size = int(v["cohort_size"])
        self.n_cohorts = int(v["n_cohorts"])
        self.phi1 = 0.6 * self._target if v["phi1"] is None else float(v["phi1"])
        self.phi2 = 1.4 * self._target if v["phi2"] is None else float(v["phi2"])
        if self._target - self.phi1 < 0.1 * self._target:
            raise ValueError("phi1: must be below the target by at least 10% of the target")
        if self.phi2 - self._target < 0.1 * self._target:
            raise ValueError("phi2: must exceed the target by at least 10% of the target")
        self.cutoff_eli = float(v["cutoff_eli"])
        self.extra_safe = bool(v["extra_safe"])
        self.offset = float(v["offset"])
        self.get_oc_compatible = bool(v["get_oc_compatible"])
        self.n_earlystop = None if v["n_earlystop"] is None else int(v["n_earlystop"])
        self.bound_mtd = bool(v["bound_mtd"])
        self.doses = DoseLevels.for_design(doses, self.n_doses)
        self.start_index = start_index(v["start_dose"], self.n_doses)
        self.lambda_e, self.lambda_d = boin_lambdas(self._target, self.phi1, self.phi2)
        self._b_e, self._b_d, self._elim, self._safe_stop = self._boundaries(self.max_n)
        # the boundary table always prints _safe_stop; only the trial's decisions differ
        self._safe_stop_applied = (
            np.where(self._elim == NO_BOUND, NO_BOUND, self._safe_stop)
            if self.get_oc_compatible
            else self._safe_stop
        )

    def describe(self) -> str:
        parts = [
            f"BOIN (target {self._target:g}, phi1 {self.phi1:g}, phi2 {self.phi2:g}: "
            f"escalate if the DLT rate at the dose <= {self.lambda_e:.4f}, de-escalate if "
            f"> {self.lambda_d:.4f}), {self.n_doses} doses from dose {self.start_dose}, "
            f"{self.n_cohorts} cohorts of {self.cohort_size}",
            f"eliminate a dose if Pr(DLT rate > {self._target:g}) > {self.cutoff_eli:g}",
        ]
        if self.extra_safe:
            parts.append(
                f"stop if Pr(DLT rate at dose 1 > {self._target:g}) > "
                f"{self.cutoff_eli - self.offset:g}"
                + (" (as BOIN::get.oc applies it)" if self.get_oc_compatible else "")
            )
        if self.n_earlystop is not None:
            parts.append(f"stop when {self.n_earlystop} patients are at the dose to be given")
        if self.bound_mtd:
            parts.append(f"the MTD's isotonic estimate must be <= {self.lambda_d:.4f}")
        return "; ".join(parts)

    def _boundaries(self, n_max: int) -> tuple[IntArray, IntArray, IntArray, IntArray]:
        """Integer boundaries indexed by n = 0..n_max (``get.boundary``)."""
        n = np.arange(n_max + 1)
        b_e = np.floor(self.lambda_e * n).astype(np.int64)
        ld = self.lambda_d * n
        b_d = np.where(np.abs(np.round(ld) - ld) < 1e-12, np.round(ld) + 1, np.ceil(ld)).astype(
            np.int64
        )
        elim = elimination_boundary(self._target, self.cutoff_eli, n_max, lowest=1)
        safe_stop = elimination_boundary(self._target, self.cutoff_eli - self.offset, n_max, 1)
        b_d = np.minimum(b_d, elim)
        b_d[0] = NO_BOUND
        return b_e, b_d, elim, safe_stop

    def boundary_table(self, full: bool = False) -> pd.DataFrame:
        """``get.boundary``'s table: escalate if #DLT <=, de-escalate if >=, eliminate if >=.

        By default one column per cohort (n = cohort size, 2 x cohort size, ...), as R's
        ``boundary_tab``; ``full=True`` gives every n = 1..N (``full_boundary_tab``).
        Entries that do not apply are None.
        """
        import pandas as pd

        ns = (
            np.arange(1, self.max_n + 1)
            if full
            else np.arange(1, self.n_cohorts + 1) * self.cohort_size
        )
        if self.n_earlystop is not None:
            ns = ns[ns <= self.n_earlystop]

        def opt(v: int) -> int | None:
            return None if v >= NO_BOUND else int(v)

        frame = pd.DataFrame(
            {
                "n": ns,
                "escalate_if_dlt_le": [int(self._b_e[m]) for m in ns],
                "deescalate_if_dlt_ge": [opt(self._b_d[m]) for m in ns],
                "eliminate_if_dlt_ge": [opt(self._elim[m]) for m in ns],
            }
        )
        if self.extra_safe:
            frame["stop_trial_if_dose1_dlt_ge"] = [opt(self._safe_stop[m]) for m in ns]
        return frame

    def protocol_table(self, full: bool = False) -> pd.DataFrame:
        """The boundary table a BOIN protocol prints (:meth:`boundary_table`)."""
        return self.boundary_table(full=full)

    def decision_grid(self, full: bool = False) -> pd.DataFrame:
        """The decision for every (patients at dose, DLTs) pair: E, S, D or DU (eliminate).

        Rows are numbers of DLTs, columns numbers of patients at the current dose (cohort
        multiples unless ``full``), as a protocol prints the BOIN rule.
        """
        import pandas as pd

        ns = (
            np.arange(1, self.max_n + 1)
            if full
            else np.arange(1, self.n_cohorts + 1) * self.cohort_size
        )
        max_y = int(ns.max())
        table: dict[str, list[str]] = {}
        for m in ns:
            col = []
            for yv in range(max_y + 1):
                if yv > m:
                    col.append("")
                elif yv >= self._elim[m]:
                    col.append("DU")
                elif yv >= self._b_d[m]:
                    col.append("D")
                elif yv <= self._b_e[m]:
                    col.append("E")
                else:
                    col.append("S")
            table[str(int(m))] = col
        frame = pd.DataFrame(table, index=pd.Index(range(max_y + 1), name="DLTs"))
        frame.columns.name = "patients"
        return frame

    def decide_batch(self, st: States) -> Decisions:
        k = self.n_doses
        t = st.size
        d, nd, yd = self._at_current(st)
        b_e, b_d = self._b_e[nd], self._b_d[nd]
        first_elim = self._first_eliminated(st)
        dose1_out = first_elim == 0
        safe_stop = np.zeros(t, dtype=bool)
        if self.extra_safe:
            n0 = np.minimum(st.n[:, 0], self.max_n)
            safe_stop = (d == 0) & (st.n[:, 0] >= 3) & (st.y[:, 0] >= self._safe_stop_applied[n0])
        toxic_stop = (d == 0) & dose1_out | safe_stop

        next_elim = (d + 1) >= first_elim
        top = d == k - 1
        esc_rule = yd <= b_e
        deesc_rule = yd >= b_d
        early = np.zeros(t, dtype=bool)
        if self.n_earlystop is not None:
            early = (nd >= self.n_earlystop) & (
                ((yd > b_e) & (yd < b_d)) | ((d == 0) & deesc_rule) | ((top | next_elim) & esc_rule)
            )

        next_dose = d.copy()
        reason = np.full(t, R_STAY, dtype=np.int64)
        up = esc_rule & ~top & ~next_elim
        # R get.oc: the escalation branch is taken when y <= b_e below the top dose (staying if
        # the next dose is eliminated); only otherwise is de-escalation considered.
        down = ~(esc_rule & ~top) & deesc_rule & (d > 0)
        next_dose = np.where(up, d + 1, np.where(down, d - 1, d))
        eliminated = down & (nd >= 3) & (yd >= self._elim[nd])
        reason = np.where(
            up, R_ESCALATE, np.where(eliminated, R_ELIMINATE, np.where(down, R_DEESCALATE, R_STAY))
        )

        reached = st.total >= self.max_n
        stop = reached | toxic_stop | early
        selected = self._selected_where(st, stop & ~(toxic_stop & ~reached))
        reason = np.where(
            reached,
            R_MAX_N,
            np.where(toxic_stop, R_TOO_TOXIC, np.where(early, R_N_AT_DOSE, reason)),
        )
        return Decisions(
            next_dose=next_dose.astype(np.int64), stop=stop, reason=reason, selected=selected
        )

    def select_batch(self, st: States) -> IntArray:
        """MTD by isotonic regression, as ``BOIN::select.mtd`` (-1 when no dose qualifies)."""
        # elimination recomputed from the final data
        elim = eliminated_doses(st, self._target, self.cutoff_eli)
        if self.extra_safe:
            unsafe = (st.n[:, 0] >= 3) & (
                posterior_tail(self._target, st.n[:, 0], st.y[:, 0]) > self.cutoff_eli - self.offset
            )
            elim = elim | unsafe[:, None]
        adm = (st.n > 0) & ~elim
        none = elim[:, 0] | ~adm.any(axis=1)
        fit, dist = isotonic_distance(st, adm, self._target)
        if self.bound_mtd:
            dist = np.where(fit <= self.lambda_d, dist, np.inf)
            none = none | np.isinf(dist).all(axis=1)
        choice = dist.argmin(axis=1)
        return np.where(none, -1, choice).astype(np.int64)
