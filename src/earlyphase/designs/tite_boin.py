"""The time-to-event Bayesian optimal interval design (TITE-BOIN) of Yuan, Lin, Li, Nie & Warren
(2018).

BOIN (:class:`~earlyphase.designs.boin.BOIN`) decides from the DLT rate y / n at the current
dose. When patients are still inside their DLT window (pending), TITE-BOIN replaces the missing
DLT outcomes by their expected values, so the next cohort can be dosed without waiting.

Notation at the current dose: n patients treated, y DLTs seen, m patients pending (no DLT seen
yet, follow-up u_i shorter than the window T), and the standardised total follow-up time of
the pending patients, STFT = sum_i u_i / T (Yuan et al. 2018, "STFT").

Imputed DLT rate (``estimator="imputed"``, the paper's rule). With the time to DLT uniform on
the window, a pending patient followed for u_i has a DLT later with probability about
p (1 - u_i / T) / (1 - p); replacing p by its posterior mean from the patients whose outcomes
are known, under a Beta(target / 2, 1 - target / 2) prior (prior sample size 1, prior mean
half the target),

    pi_hat = (y + target / 2) / (n - m + 1),

the imputed number of DLTs among the pending patients is pi_hat / (1 - pi_hat) (m - STFT) and

    p_hat = {y + pi_hat / (1 - pi_hat) (m - STFT)} / n.                     (Yuan et al. 2018)

The BOIN boundaries then apply unchanged: escalate if p_hat <= lambda_e, de-escalate if
p_hat > lambda_d (Liu & Yuan 2015, eq. 2-3). As p_hat falls linearly in STFT, each (n, y, m)
has at most two STFT thresholds, which is how the decision table is printed
(:meth:`TITEBOIN.stft_table`).

Effective sample size (``estimator="ess"``): Lin & Yuan (2020) approximate the likelihood of a
pending patient, 1 - p u_i / T, by (1 - p)^(u_i / T), so the data count as y DLTs in an
effective sample of n - m + STFT patients and p_hat = y / (n - m + STFT). This is the estimator
of R ``TITEgBOIN``'s ``next_TITE_QuasiBOIN`` for TITE-BOIN.

Further rules (Yuan et al. 2018):

- safety: a dose with Pr(p > target | y, n) > ``cutoff_eli`` under a Beta(1, 1) prior, n >= 3
  (n counts every patient treated, pending or not, as R ``TITEgBOIN`` does), is eliminated with
  all higher doses; the trial stops when dose 1 is eliminated;
- accrual suspension: when more than ``max_pending`` (one half) of the patients at the current
  dose are pending, accrual is suspended until more outcomes are known, unless the DLTs seen
  already force de-escalation (y / n > lambda_d, since p_hat >= y / n whatever the pending
  outcomes): the tables of the paper and of protocols built on it de-escalate in that case;
- with no pending patient the decision is BOIN's.

The trial stops at ``n_cohorts * cohort_size`` patients; the MTD is selected as BOIN does, by
isotonic regression, once every patient has completed the window.

References
----------
Yuan Y, Lin R, Li D, Nie L, Warren KE (2018). Time-to-event Bayesian optimal interval design to
    accelerate phase I trials. Clin Cancer Res 24(20):4921-4930.
Lin R, Yuan Y (2020). Time-to-event model-assisted designs for dose-finding trials with delayed
    toxicity. Biostatistics 21(4):807-824.
Liu S, Yuan Y (2015). Bayesian optimal interval designs for phase I clinical trials. J R Stat
    Soc C 64:507-523.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from earlyphase.designs.boin import BOIN
from earlyphase.designs.contract import Decision, Design, decision_frame
from earlyphase.designs.doses import DoseLevels
from earlyphase.designs.late_onset import TIMES_TO_DLT, Accrual, arrivals, dlt_times
from earlyphase.designs.late_onset import dropout_times as _dropout_times
from earlyphase.designs.late_onset import schedule_from as _schedule_from
from earlyphase.designs.late_onset import treated_while_pending as _treated_while_pending
from earlyphase.designs.tite_crm import (
    HistoryLike,
    PatientHistory,
    TimedOperatingCharacteristics,
    as_patient_history,
    timed_dose_paths,
)
from earlyphase.engine.states import States, check_truth
from earlyphase.engine.step import overdose_summaries

if TYPE_CHECKING:
    import pandas as pd

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

__all__ = [
    "ESTIMATORS",
    "RESUMES",
    "TIMES_TO_DLT",
    "TITEBOIN",
    "TITEBOINOperatingCharacteristics",
    "tite_boin_estimate",
]

ESTIMATORS: tuple[str, ...] = ("imputed", "ess")
RESUMES: tuple[str, ...] = ("outcome", "arrival")

# decision codes of the rule (indices into _REASONS)
_ESC, _STAY, _DEESC, _ELIM, _TOXIC, _MAXN, _EARLY, _SUSPEND, _FILL = range(9)
_REASONS: tuple[str, ...] = (
    "escalate",
    "stay",
    "de-escalate",
    "de-escalate: the dose and all higher doses are eliminated",
    "stop: lowest dose too toxic",
    "stop: maximum sample size reached",
    "stop: enough patients at the recommended dose",
    "suspend accrual: too many patients at the dose are pending",
    "stay: the current cohort is not complete",
)
_ACTIONS: tuple[str, ...] = (
    "escalate",
    "stay",
    "de-escalate",
    "de-escalate",
    "stop",
    "stop",
    "stop",
    "stay",
    "stay",
)
_STOPS = (_TOXIC, _MAXN, _EARLY)


def tite_boin_estimate(
    y: Any, n: Any, m: Any, stft: Any, target: float, estimator: str = "imputed"
) -> FloatArray:
    """The DLT rate TITE-BOIN compares with the BOIN boundaries, elementwise.

    ``y`` DLTs seen among ``n`` patients at the dose, ``m`` of them pending with standardised
    total follow-up ``stft`` (sum of follow-up / window). ``"imputed"``: Yuan et al. (2018),
    {y + pi_hat / (1 - pi_hat) (m - STFT)} / n with pi_hat = (y + target / 2) / (n - m + 1);
    ``"ess"``: Lin & Yuan (2020), y / (n - m + STFT). With m = 0 both are y / n. NaN when n = 0.
    """
    y_ = np.asarray(y, dtype=np.float64)
    n_ = np.asarray(n, dtype=np.float64)
    m_ = np.asarray(m, dtype=np.float64)
    s_ = np.asarray(stft, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        if estimator == "imputed":
            pi = (y_ + target / 2) / (n_ - m_ + 1)
            p = (y_ + pi / (1 - pi) * (m_ - s_)) / n_
        elif estimator == "ess":
            ess = n_ - m_ + s_
            # no DLT seen: the rate is 0 even when no follow-up has accrued yet
            p = np.where(y_ > 0, y_ / np.where(ess > 0, ess, 1.0), 0.0)
            p = np.where(n_ > 0, p, np.nan)
        else:
            raise ValueError(f"estimator: must be one of {list(ESTIMATORS)}, got {estimator!r}")
    return np.asarray(p, dtype=np.float64)


@dataclass(frozen=True)
class TITEBOINOperatingCharacteristics(TimedOperatingCharacteristics):
    """Operating characteristics of TITE-BOIN in calendar time: those of
    :class:`~earlyphase.designs.tite_crm.TimedOperatingCharacteristics` and how the trial used
    pending data (patients treated while an earlier patient was still in the DLT window, in
    the parent class), suspensions of accrual and the time accrual was suspended (unit of the
    window)."""

    mean_suspensions: float | None = None
    prob_suspended: float | None = None
    mean_suspended_time: float | None = None

    def summary(self) -> dict[str, Any]:
        return {
            **super().summary(),
            "mean_suspensions": self.mean_suspensions,
            "prob_suspended": self.prob_suspended,
            "mean_suspended_time": self.mean_suspended_time,
        }


@dataclass(frozen=True)
class _Rule:
    """The rule's output for many trials: code (index into _REASONS), next dose (0-based, the
    current dose when stopping) and the estimate compared with the boundaries."""

    code: IntArray
    next_dose: IntArray
    p_hat: FloatArray


class TITEBOIN(Design):
    """TITE-BOIN for a single agent (Yuan et al. 2018), on BOIN's boundaries.

    Parameters
    ----------
    target : float
        Target DLT rate.
    n_doses : int
    window : float
        Length of the DLT assessment window, in any time unit; follow-up times, accrual and
        durations use the same unit.
    cohort_size, n_cohorts : int
        The trial stops at ``n_cohorts * cohort_size`` patients.
    phi1, phi2, cutoff_eli, extra_safe, offset, n_earlystop, bound_mtd, doses, start_dose
        As :class:`~earlyphase.designs.boin.BOIN`.
    max_pending : float
        Suspend accrual when more than this fraction of the patients at the current dose are
        pending (0.5, Yuan et al. 2018).
    estimator : {"imputed", "ess"}
        How pending patients enter the DLT rate (module docstring): the paper's imputation, or
        Lin & Yuan's (2020) effective sample size (R ``TITEgBOIN``).
    titegboin_compatible : bool
        Suspend as R ``TITEgBOIN``'s ``next_TITE_QuasiBOIN`` does: also when the DLTs seen
        already force de-escalation, and at dose 1 whenever the rule says de-escalate while
        patients there are pending. Off by default, so the trial follows the paper's table.

    Examples
    --------
    >>> d = TITEBOIN(0.2, 5, window=28, n_cohorts=10)
    >>> h = {"level": [1, 1, 1, 2, 2, 2], "dlt": [0, 0, 0, 0, 0, 0],
    ...      "follow_up": [28, 28, 28, 28, 20, 10]}
    >>> d.decide(h).reason
    'suspend accrual: too many patients at the dose are pending'
    >>> h["follow_up"][4] = 28
    >>> d.decide(h).action
    'escalate'
    """

    name = "tite-boin"
    oc_methods = ("simulate",)

    def __init__(
        self,
        target: float,
        n_doses: int,
        window: float,
        cohort_size: int = 3,
        n_cohorts: int = 10,
        phi1: float | None = None,
        phi2: float | None = None,
        cutoff_eli: float = 0.95,
        extra_safe: bool = False,
        offset: float = 0.05,
        n_earlystop: int | None = None,
        bound_mtd: bool = False,
        max_pending: float = 0.5,
        estimator: str = "imputed",
        titegboin_compatible: bool = False,
        doses: DoseLevels | None = None,
        start_dose: int = 1,
    ) -> None:
        if isinstance(window, bool) or not (
            isinstance(window, int | float) and math.isfinite(window) and window > 0
        ):
            raise ValueError(f"window: must be a positive time, got {window!r}")
        if isinstance(max_pending, bool) or not (
            isinstance(max_pending, int | float) and 0 < max_pending <= 1
        ):
            raise ValueError(f"max_pending: must be in (0, 1], got {max_pending!r}")
        if estimator not in ESTIMATORS:
            raise ValueError(f"estimator: must be one of {list(ESTIMATORS)}, got {estimator!r}")
        # BOIN validates the shared settings and holds the boundaries and the MTD selection
        self.boin = BOIN(
            target,
            n_doses,
            cohort_size=cohort_size,
            n_cohorts=n_cohorts,
            phi1=phi1,
            phi2=phi2,
            cutoff_eli=cutoff_eli,
            extra_safe=extra_safe,
            offset=offset,
            n_earlystop=n_earlystop,
            bound_mtd=bound_mtd,
            doses=doses,
            start_dose=start_dose,
        )
        self.window = float(window)
        self.max_pending = float(max_pending)
        self.estimator = estimator
        self.titegboin_compatible = bool(titegboin_compatible)
        b = self.boin
        self.n_doses = b.n_doses
        self.cohort_size = b.cohort_size
        self.n_cohorts = b.n_cohorts
        self.phi1, self.phi2 = b.phi1, b.phi2
        self.lambda_e, self.lambda_d = b.lambda_e, b.lambda_d
        self.cutoff_eli = b.cutoff_eli
        self.extra_safe = b.extra_safe
        self.offset = b.offset
        self.n_earlystop = b.n_earlystop
        self.bound_mtd = b.bound_mtd
        self.doses = b.doses
        self.start_index = b.start_index

    @property
    def target(self) -> float:
        return self.boin.target

    @property
    def start_dose(self) -> int:
        return self.start_index + 1

    @property
    def max_n(self) -> int:
        return self.boin.max_n

    def describe(self) -> str:
        est = (
            "imputed DLT rate {y + pi/(1 - pi) (m - STFT)} / n, pi = (y + "
            f"{self.target / 2:g}) / (n - m + 1)"
            if self.estimator == "imputed"
            else "DLT rate y / (n - m + STFT) (effective sample size)"
        )
        parts = [
            f"TITE-BOIN (target {self.target:g}, phi1 {self.phi1:g}, phi2 {self.phi2:g}: "
            f"escalate if the DLT rate at the dose <= {self.lambda_e:.4f}, de-escalate if "
            f"> {self.lambda_d:.4f}), {self.n_doses} doses from dose {self.start_dose}, "
            f"{self.n_cohorts} cohorts of {self.cohort_size}",
            f"DLT window {self.window:g}; with m patients pending at the dose, the {est}",
            f"suspend accrual when more than {self.max_pending:g} of the patients at the dose "
            "are pending"
            + (
                ", and at dose 1 while patients are pending when the rule says de-escalate "
                "(as R TITEgBOIN)"
                if self.titegboin_compatible
                else ", unless the DLTs seen force de-escalation"
            ),
            f"eliminate a dose if Pr(DLT rate > {self.target:g}) > {self.cutoff_eli:g}",
        ]
        if self.extra_safe:
            parts.append(
                f"stop if Pr(DLT rate at dose 1 > {self.target:g}) > "
                f"{self.cutoff_eli - self.offset:g}"
            )
        if self.n_earlystop is not None:
            parts.append(f"stop when {self.n_earlystop} patients are at the dose to be given")
        if self.bound_mtd:
            parts.append(f"the MTD's isotonic estimate must be <= {self.lambda_d:.4f}")
        return "; ".join(parts)

    # --- the rule -----------------------------------------------------------------------------
    def _rule(
        self,
        cur: IntArray,
        n_all: IntArray,
        y_all: IntArray,
        m_cur: IntArray,
        s_cur: FloatArray,
        m_wait: IntArray | None = None,
    ) -> _Rule:
        """The decision at a cohort boundary for many trials (rows).

        ``m_wait`` counts the pending patients whose outcome can still come (default
        ``m_cur``); patients who left before the end of the window count in the estimate with
        their partial follow-up, but accrual is not suspended to wait for them.

        ``cur`` current dose (0-based); ``n_all``, ``y_all`` patients treated and DLTs seen per
        dose (T, K); ``m_cur`` and ``s_cur`` the pending patients and their STFT at ``cur``.
        """
        b = self.boin
        k = self.n_doses
        t = cur.shape[0]
        rows = np.arange(t)
        cap = np.minimum(n_all, self.max_n)
        # safety rule on every dose (patients treated, DLTs seen): BOIN's elimination table
        over = (n_all >= 3) & (y_all >= b._elim[cap])
        first_elim = np.where(over.any(axis=1), over.argmax(axis=1), k)
        toxic = first_elim == 0
        if self.extra_safe:
            n0 = cap[:, 0]
            toxic |= (n_all[:, 0] >= 3) & (y_all[:, 0] >= b._safe_stop_applied[n0]) & (cur == 0)
        nd = n_all[rows, cur]
        ndc = cap[rows, cur]
        yd = y_all[rows, cur]
        in_elim = cur >= first_elim
        p_hat = tite_boin_estimate(yd, nd, m_cur, s_cur, self.target, self.estimator)
        complete = m_cur == 0
        wait = m_cur if m_wait is None else m_wait
        # with no pending patient, BOIN's integer boundaries (exactly BOIN's decisions)
        esc = np.where(complete, yd <= b._b_e[ndc], p_hat <= self.lambda_e)
        deesc_sure = yd >= b._b_d[ndc]  # y / n > lambda_d: p_hat >= y / n whatever is pending
        deesc = np.where(complete, deesc_sure, p_hat > self.lambda_d) | deesc_sure
        if self.titegboin_compatible:
            # TITEgBOIN checks the pending fraction before the estimate, and waits for the
            # pending patients when it cannot de-escalate from dose 1
            suspend = ~complete & (wait > self.max_pending * nd)
            suspend |= (wait > 0) & (cur == 0) & deesc & ~(yd <= b._b_e[ndc])
        else:
            suspend = ~complete & ~deesc_sure & (wait > self.max_pending * nd)
        top = cur == k - 1
        next_elim = cur + 1 >= first_elim
        up = esc & ~top & ~next_elim
        down = ~esc & deesc & (cur > 0)
        code = np.where(up, _ESC, np.where(down, _DEESC, _STAY))
        nxt = np.where(up, cur + 1, np.where(down, cur - 1, cur))
        if self.n_earlystop is not None:
            blocked = ((code == _STAY) & ~deesc) | ((cur == 0) & deesc) | ((top | next_elim) & esc)
            early = (nd >= self.n_earlystop) & blocked & ~suspend
            code = np.where(early, _EARLY, code)
        code = np.where(suspend, _SUSPEND, code)
        nxt = np.where(suspend, cur, nxt)
        code = np.where(in_elim, _ELIM, code)
        nxt = np.where(in_elim, first_elim - 1, nxt)
        code = np.where(toxic, _TOXIC, code)
        nxt = np.where(np.isin(code, _STOPS), cur, nxt)
        return _Rule(code.astype(np.int64), nxt.astype(np.int64), p_hat)

    def _state(self, h: PatientHistory) -> tuple[IntArray, IntArray, IntArray, FloatArray]:
        """Patients, DLTs seen, pending patients and their STFT per dose."""
        k = self.n_doses
        lv = h.level - 1
        pending = ~h.dlt & (h.follow_up < self.window)
        n = np.bincount(lv, minlength=k).astype(np.int64)
        y = np.bincount(lv, weights=h.dlt, minlength=k).astype(np.int64)
        m = np.bincount(lv, weights=pending, minlength=k).astype(np.int64)
        s = np.bincount(lv, weights=np.where(pending, h.follow_up / self.window, 0.0), minlength=k)
        return n, y, m, s.astype(np.float64)

    def _select(self, n: IntArray, y: IntArray) -> IntArray:
        """BOIN's isotonic MTD selection (0-based, -1 for none) for many trials."""
        t = n.shape[0]
        zeros = np.zeros(t, dtype=np.int64)
        st = States(n, y, zeros, zeros, zeros, np.zeros((t, 0), dtype=np.int64))
        return self.boin.select_batch(st)

    def decide(self, history: HistoryLike = None) -> Decision:
        """The dose for the next cohort after ``history``, or stop.

        ``history`` gives each patient's dose level, DLT and follow-up in order of enrolment
        (the forms of :func:`~earlyphase.designs.tite_crm.as_patient_history`; an outcome string
        means complete follow-up). A patient without DLT followed for less than the window is
        pending. The rule of the module docstring is applied at the dose of the most recent
        patient; while a cohort is incomplete its next patient gets the same dose. A suspension
        of accrual comes back as action "stay" at the current dose with reason "suspend
        accrual" (``estimates["suspend"]`` is True): no one is to be dosed until more outcomes
        are known. At ``n_cohorts * cohort_size`` patients the trial stops and ``selected`` is
        BOIN's isotonic MTD on the DLTs seen so far (the final analysis once every patient has
        completed the window).
        """
        h = as_patient_history(history, self.n_doses, self.window)
        if len(h) == 0:
            d = self.start_dose
            return Decision(
                dose=d, stop=False, reason="start", dose_label=self.doses.label(d), action="start"
            )
        n, y, m, s = self._state(h)
        cur = int(h.level[-1]) - 1
        rule = self._rule(np.array([cur]), n[None, :], y[None, :], m[None, cur], s[None, cur])
        code, nxt = int(rule.code[0]), int(rule.next_dose[0])
        sel = int(self._select(n[None, :], y[None, :])[0])
        estimates: dict[str, Any] = {
            "n": n.tolist(),
            "dlt": y.tolist(),
            "pending": m.tolist(),
            "stft": [float(v) for v in s],
            "dlt_rate": float(rule.p_hat[0]),
            "lambda_e": self.lambda_e,
            "lambda_d": self.lambda_d,
            "suspend": code == _SUSPEND,
        }
        n_pending = int(m.sum())
        if len(h) >= self.max_n and code != _TOXIC:
            code = _MAXN
        elif len(h) % self.cohort_size and code not in (_TOXIC, _ELIM):
            code, nxt = _FILL, cur
            estimates["suspend"] = False
        if code in _STOPS:
            selected = None if code == _TOXIC or sel < 0 else sel + 1
            message = (
                f"{_REASONS[code]}; recommend dose {selected} on the data so far, to be "
                f"confirmed when the {n_pending} patient(s) still in the DLT window complete it"
                if n_pending and selected is not None
                else ""
            )
            return Decision(
                dose=None,
                stop=True,
                reason=_REASONS[code],
                selected=selected,
                action="stop",
                estimates=estimates,
                message=message,
            )
        message = ""
        if code == _SUSPEND:
            message = (
                f"suspend accrual: {int(m[cur])} of the {int(n[cur])} patients at dose {cur + 1} "
                f"are pending (more than {self.max_pending:g}); dose no one until more DLT "
                "outcomes are known, then decide again"
            )
        return Decision(
            dose=nxt + 1,
            stop=False,
            reason=_REASONS[code],
            dose_label=self.doses.label(nxt + 1),
            action=_ACTIONS[code],
            estimates=estimates,
            message=message,
        )

    # --- tables -------------------------------------------------------------------------------
    def stft_thresholds(self, n: int, y: int, m: int) -> tuple[float, float]:
        """STFT thresholds for ``n`` treated, ``y`` DLTs, ``m`` pending at a dose (m >= 1):
        escalate when STFT >= the first, de-escalate when STFT < the second (each clipped to
        [0, m]; the estimate falls linearly in STFT, module docstring)."""
        if m < 1 or n < 1 or y < 0 or y + m > n:
            raise ValueError("stft_thresholds: need n >= 1, m >= 1 and y + m <= n")
        if self.estimator == "imputed":
            pi = (y + self.target / 2) / (n - m + 1)
            slope = pi / (1 - pi)
            s_e = m - (n * self.lambda_e - y) / slope
            s_d = m - (n * self.lambda_d - y) / slope
        else:
            if y == 0:
                return 0.0, 0.0
            s_e = y / self.lambda_e - n + m
            s_d = y / self.lambda_d - n + m
        return float(min(max(s_e, 0.0), m)), float(min(max(s_d, 0.0), m))

    def stft_table(self, max_n: int | None = None, digits: int = 2) -> pd.DataFrame:
        """The decision table protocols print (Yuan et al. 2018, Table 1): for each number
        treated at the current dose (cohort multiples up to ``max_n``), DLTs seen and patients
        pending, what to do, with the STFT at which the decision changes.

        Columns: ``n_treated``, ``n_dlt``, ``n_pending``, ``escalate``, ``stay``,
        ``de_escalate`` (``"Y"``, ``"Y & eliminate"``, ``""`` or an STFT condition such as
        ``"STFT >= 0.77"``, thresholds rounded to ``digits``), ``suspend`` (True when accrual is
        suspended), and the exact thresholds ``stft_escalate`` (escalate when STFT >= it) and
        ``stft_deescalate`` (de-escalate when STFT < it), NaN where they do not apply. Rows
        stop at the DLT count that eliminates the dose. The rule at a dose below the top with
        the next dose open.
        """
        import pandas as pd

        top = self.max_n if max_n is None else int(max_n)
        if self.n_earlystop is not None:
            top = min(top, self.n_earlystop)
        b = self.boin
        rows: list[dict[str, Any]] = []
        for n in range(self.cohort_size, top + 1, self.cohort_size):
            nc = min(n, self.max_n)
            for y in range(n + 1):
                elim = n >= 3 and y >= b._elim[nc]
                sure = y >= b._b_d[nc]
                for m in range(n - y + 1):
                    row: dict[str, Any] = {
                        "n_treated": n,
                        "n_dlt": y,
                        "n_pending": m,
                        "escalate": "",
                        "stay": "",
                        "de_escalate": "",
                        "suspend": False,
                        "stft_escalate": math.nan,
                        "stft_deescalate": math.nan,
                    }
                    if elim:
                        row["de_escalate"] = "Y & eliminate"
                    elif sure:
                        row["de_escalate"] = "Y"
                    elif m == 0:
                        key = "escalate" if y <= b._b_e[nc] else "stay"
                        row[key] = "Y"
                    elif m > self.max_pending * n:
                        row["suspend"] = True
                    else:
                        s_e, s_d = self.stft_thresholds(n, y, m)
                        row["stft_escalate"], row["stft_deescalate"] = s_e, s_d
                        self._fill_conditions(row, s_e, s_d, m, digits)
                    rows.append(row)
                if elim:
                    break
        return pd.DataFrame(rows)

    @staticmethod
    def _fill_conditions(row: dict[str, Any], s_e: float, s_d: float, m: int, digits: int) -> None:
        """Escalate for STFT >= s_e, de-escalate for STFT < s_d, stay between (STFT in [0, m))."""
        fe, fd = f"{s_e:.{digits}f}", f"{s_d:.{digits}f}"
        if s_e <= 0:
            row["escalate"] = "Y"
            return
        if s_d >= m:
            row["de_escalate"] = "Y"
            return
        if s_e < m:
            row["escalate"] = f"STFT >= {fe}"
        if s_d <= 0:
            row["stay"] = "Y" if s_e >= m else f"STFT < {fe}"
        else:
            row["de_escalate"] = f"STFT < {fd}"
            row["stay"] = f"STFT >= {fd}" if s_e >= m else f"{fd} <= STFT < {fe}"

    def protocol_table(self) -> pd.DataFrame:
        """The decision table with pending patients (:meth:`stft_table`)."""
        return self.stft_table()

    def decision_table(self, max_n: int | None = None) -> pd.DataFrame:
        """The rule as state -> action rows (columns
        :data:`~earlyphase.designs.contract.DECISION_COLUMNS`), from :meth:`stft_table`.

        Each state is "``n`` treated at dose 2 (dose 1 with fewer than 3 doses) with ``events``
        DLTs and ``m`` pending", 3 patients without DLT at dose 1 before; a state whose
        decision depends on the STFT gives one row per STFT range. Every row's action is what
        :meth:`decide` says for a history in that state; states with no one pending carry
        their outcome ``path``.
        """
        d = 1 if self.n_doses >= 3 else 0
        table = self.stft_table(max_n)
        rows = []
        for rec in table.to_dict("records"):
            n, y, m = int(rec["n_treated"]), int(rec["n_dlt"]), int(rec["n_pending"])
            s_e, s_d = float(rec["stft_escalate"]), float(rec["stft_deescalate"])
            cuts = sorted(
                {0.0, float(m)} | {v for v in (s_e, s_d) if not math.isnan(v) and 0 < v < m}
            )
            ranges = list(itertools.pairwise(cuts)) or [(0.0, 0.0)]
            for lo, hi in ranges:
                h = self._table_history(d, n, y, m, (lo + hi) / 2)
                dec = self.decide(h)
                where = f"{n} at dose {d + 1}, {y} with DLT, {m} pending"
                if m and not math.isnan(s_e):
                    where += f", STFT in [{lo:.3g}, {hi:.3g})"
                path = None
                if m == 0:
                    prefix = "1NNN " if d > 0 else ""
                    path = f"{prefix}{d + 1}" + "N" * (n - y) + "T" * y
                rows.append(
                    {
                        "state": where,
                        "path": path,
                        "n": n,
                        "events": y,
                        "endpoint": "DLT",
                        "action": dec.action,
                        "next_dose": dec.dose,
                        "reason": dec.reason,
                    }
                )
        return decision_frame(rows)

    def _table_history(self, d: int, n: int, y: int, m: int, stft: float) -> PatientHistory:
        """3 complete patients at dose 1 (when d > 0), then n at dose d + 1: y with DLT, m pending
        with equal follow-up summing to ``stft`` windows, the rest complete."""
        before = 3 if d > 0 else 0
        lv = np.concatenate((np.ones(before, dtype=np.int64), np.full(n, d + 1, dtype=np.int64)))
        dlt = np.concatenate((np.zeros(before + n - y, dtype=bool), np.ones(y, dtype=bool)))
        fu = np.full(before + n, self.window)
        if m:
            fu[before : before + m] = self.window * stft / m
        return PatientHistory(lv, dlt, fu.astype(np.float64))

    # --- dose paths ---------------------------------------------------------------------------
    def dose_paths(
        self,
        n_cohorts: int,
        history: HistoryLike = None,
        truth: Sequence[float] | None = None,
        *,
        pending_follow_up: float | None = None,
    ) -> pd.DataFrame:
        """Every path of the next ``n_cohorts`` cohorts, with its probability under ``truth``
        (columns :data:`~earlyphase.designs.contract.PATH_COLUMNS`).

        By default, as for TITE-CRM, the tree assumes each cohort's outcomes are known by the
        next decision (patients of ``history`` still in their window complete it without
        DLT): with no one pending TITE-BOIN decides as BOIN. Paths are outcome strings from
        the start of the tree.

        With ``pending_follow_up=g`` (a fraction of the window in (0, 1)) cohorts arrive every
        g windows, while earlier patients are pending: each decision is TITE-BOIN's with the
        pending patients' standardised follow-up (the imputed or effective-sample-size DLT
        rate, the decision table :meth:`stft_table`); where the rule suspends accrual the
        node's children are the same patients one interval later, no cohort dosed, and the
        rule is applied again (as the simulation's ``resume="arrival"`` with fixed gaps).
        Outcomes of pending patients resolve at later decisions with the probabilities of a
        time to DLT uniform on the window (:mod:`~earlyphase.designs.pending_paths`, which
        states the semantics and the size limit).
        """
        p = None if truth is None else check_truth(truth, self.n_doses)
        size, n_max = self.cohort_size, self.max_n
        return timed_dose_paths(
            self.decide,
            history,
            self.n_doses,
            self.window,
            n_cohorts,
            lambda n: min(size, n_max - n),
            p,
            pending_follow_up,
        )

    # --- operating characteristics ------------------------------------------------------------
    def operating_characteristics(
        self,
        truth: Sequence[float],
        method: str = "simulate",
        n_sims: int = 10_000,
        seed: int | None = None,
        *,
        accrual_rate: float = 2.0,
        accrual: str = "poisson",
        time_to_dlt: str = "uniform",
        late_fraction: float = 0.5,
        resume: str = "outcome",
        dropout: float = 0.0,
        screen_fail: float = 0.0,
        schedule: Sequence[Sequence[float]] | None = None,
    ) -> TITEBOINOperatingCharacteristics:
        """Simulated operating characteristics in calendar time.

        Patients arrive one at a time, ``accrual_rate`` per DLT window on average: by a Poisson
        process (``accrual="poisson"``, exponential gaps of mean window / rate), at fixed gaps
        (``"fixed"``) or at gaps uniform on (0, 2 window / rate) (``"uniform"``);
        ``schedule``, ``(from_time, patients per unit time)`` pairs, makes the rate piecewise
        constant and ``screen_fail`` of the arrivals are not enrolled; the first arrives one
        gap after the opening (as dfcrm ``titesim``, like
        :meth:`TITECRM.operating_characteristics
        <earlyphase.designs.tite_crm.TITECRM.operating_characteristics>`). A patient at dose d
        has a DLT with probability ``truth[d]``, at a time within the window that is uniform
        (``time_to_dlt="uniform"``, the paper's assumption) or Weibull (``"weibull"``), with
        ``late_fraction`` of the DLTs in the second half of the window (R ``TITEgBOIN``'s
        ``alpha1``, Yuan et al. 2018's late-onset scenarios). The first patient of each cohort
        gets the dose the rule gives with the data at their arrival; when accrual is suspended
        that patient waits until the next DLT or end of a window (``resume="outcome"``), or
        until the next arrival (``"arrival"``: a new exponential or fixed gap, as R
        ``TITEgBOIN``'s ``get_oc_TITE_QuasiBOIN``), and the rule is applied again.
        With probability ``dropout`` a patient leaves at a time uniform on the window: a later
        DLT is never seen, and the patient counts as pending with the follow-up reached when
        leaving (Lin & Yuan 2020's censored follow-up), without suspending accrual to wait for
        an outcome that cannot come (:mod:`~earlyphase.designs.late_onset`).
        The MTD is selected when everyone has completed the window. All trials run together.

        The summary adds the duration (opening to the end of the last patient's window), the
        number of patients treated while an earlier patient was still pending, and the
        suspensions of accrual.
        """
        self._check_method(method)
        p = check_truth(truth, self.n_doses)
        if isinstance(n_sims, bool) or not isinstance(n_sims, int) or n_sims < 1:
            raise ValueError(f"n_sims: must be an integer >= 1, got {n_sims!r}")
        if not (math.isfinite(accrual_rate) and accrual_rate > 0):
            raise ValueError(f"accrual_rate: must be > 0 patients per window, got {accrual_rate}")
        if time_to_dlt not in TIMES_TO_DLT:
            raise ValueError(
                f"time_to_dlt: must be one of {list(TIMES_TO_DLT)}, got {time_to_dlt!r}"
            )
        if not 0 < late_fraction < 1:
            raise ValueError(f"late_fraction: must be in (0, 1), got {late_fraction!r}")
        if resume not in RESUMES:
            raise ValueError(f"resume: must be one of {list(RESUMES)}, got {resume!r}")
        acc = Accrual(accrual, self.window / accrual_rate, _schedule_from(schedule), screen_fail)
        sim = self._simulate(p, n_sims, seed, acc, time_to_dlt, late_fraction, resume, dropout)
        k, t = self.n_doses, n_sims
        n, y = sim["n"], sim["y"]
        sel_idx = np.where(sim["toxic"], -1, self._select(n, y))
        sel = np.bincount(np.where(sel_idx < 0, k, sel_idx), minlength=k + 1) / t
        uniq, counts = np.unique(n.sum(axis=1), return_counts=True)
        od60, od80, above = overdose_summaries(p, self.target, n, np.ones(t))
        duration = sim["duration"]
        mean_n = n.mean(axis=0)
        return TITEBOINOperatingCharacteristics(
            true_tox=p,
            dose_labels=tuple(self.doses.label(i + 1) for i in range(k)),
            selection=sel.astype(np.float64),
            mean_n=mean_n,
            mean_dlt=y.mean(axis=0),
            n_distribution={int(a): float(b) / t for a, b in zip(uniq, counts, strict=True)},
            prob_overdose_60=od60,
            prob_overdose_80=od80,
            mean_n_above_target=above,
            method="simulate",
            n_sims=t,
            mc_se=np.sqrt(sel * (1 - sel) / t),
            design=self.describe(),
            extra={"pct_patients": 100.0 * mean_n / max(mean_n.sum(), 1e-300)},
            mean_duration=float(duration.mean()),
            sd_duration=float(duration.std(ddof=1)) if t > 1 else 0.0,
            median_duration=float(np.median(duration)),
            window=self.window,
            accrual=accrual,
            accrual_rate=float(accrual_rate),
            mean_n_treated_while_pending=float(sim["while_pending"].mean()),
            mean_screened=float(sim["screened"].mean()),
            mean_suspensions=float(sim["suspensions"].mean()),
            prob_suspended=float((sim["suspensions"] > 0).mean()),
            mean_suspended_time=float(sim["suspended_time"].mean()),
        )

    def _simulate(
        self,
        p: FloatArray,
        n_sims: int,
        seed: int | None,
        accrual: Accrual,
        time_to_dlt: str,
        late: float,
        resume: str = "outcome",
        dropout: float = 0.0,
    ) -> dict[str, Any]:
        """Run ``n_sims`` trials together, patient by patient (module docstring)."""
        rng = np.random.default_rng(seed)
        t, big_n, k, w = n_sims, self.max_n, self.n_doses, self.window
        gap = accrual.mean_gap
        arrival, screened = arrivals(rng, t, big_n, accrual)
        # gaps between enrolments; a suspension delays everyone after it by its length
        gaps = np.diff(arrival, axis=1, prepend=0.0)
        tolerance = rng.random((t, big_n))  # a DLT at dose d when tolerance < p[d]
        u_time = rng.random((t, big_n))
        leave = _dropout_times(rng, (t, big_n), w, dropout)
        level = np.full((t, big_n), -1, dtype=np.int64)
        enrol = np.zeros((t, big_n))
        dlt = np.zeros((t, big_n), dtype=bool)
        # when the outcome is known: DLT, end of window, or leaving the trial
        resolve = np.full((t, big_n), np.inf)
        stop_fu = np.minimum(leave, w) / w  # follow-up fraction reached when it stops
        cur = np.full(t, self.start_index, dtype=np.int64)
        alive = np.ones(t, dtype=bool)
        toxic = np.zeros(t, dtype=bool)
        suspensions = np.zeros(t, dtype=np.int64)
        suspended_time = np.zeros(t)
        onehot_k = np.arange(k)
        censoring = dropout > 0
        for i in range(big_n):
            arrive = gaps[:, 0].copy() if i == 0 else enrol[:, i - 1] + gaps[:, i]
            if i and i % self.cohort_size == 0:
                when = arrive.copy()
                todo = alive.copy()
                waited = np.zeros(t, dtype=bool)
                while todo.any():
                    rows = np.flatnonzero(todo)
                    now = when[rows]
                    lv = level[rows, :i]
                    res = resolve[rows, :i]
                    known = res <= now[:, None]
                    seen = dlt[rows, :i] & known
                    pend = ~known
                    oh = lv[:, :, None] == onehot_k[None, None, :]
                    n_all = oh.sum(axis=1)
                    y_all = (oh & seen[:, :, None]).sum(axis=1)
                    c = cur[rows]
                    at = lv == c[:, None]
                    fu = np.clip(now[:, None] - enrol[rows, :i], 0.0, w) / w
                    m_wait = None
                    if censoring:
                        # left without DLT: pending for good, at the follow-up reached
                        gone = known & ~seen & (stop_fu[rows, :i] < 1.0)
                        fu = np.where(gone, stop_fu[rows, :i], fu)
                        m_wait = (at & pend).sum(axis=1)
                        pend = pend | gone
                    m_c = (at & pend).sum(axis=1)
                    s_c = np.where(at & pend, fu, 0.0).sum(axis=1)
                    rule = self._rule(c, n_all, y_all, m_c, s_c, m_wait)
                    code = rule.code
                    stop = np.isin(code, _STOPS)
                    sus = code == _SUSPEND
                    go = ~stop & ~sus
                    cur[rows[go]] = rule.next_dose[go]
                    r_stop = rows[stop]
                    alive[r_stop] = False
                    toxic[r_stop] = code[stop] == _TOXIC
                    todo[rows[~sus]] = False
                    if sus.any():
                        # wait for the next outcome to become known (a DLT or a window's end)
                        r_sus = rows[sus]
                        if resume == "outcome":
                            later = np.where(res[sus] > now[sus, None], res[sus], np.inf).min(
                                axis=1
                            )
                        elif accrual.kind == "poisson":
                            later = now[sus] + rng.exponential(gap, int(sus.sum()))
                        else:
                            later = now[sus] + gap
                        waited[r_sus] = True
                        when[r_sus] = later
                suspensions += waited & alive
                suspended_time += np.where(alive, when - arrive, 0.0)
                arrive = np.where(alive, when, arrive)
            if not alive.any():
                break
            r = np.flatnonzero(alive)
            d = cur[r]
            level[r, i] = d
            enrol[r, i] = arrive[r]
            t_dlt = dlt_times(p[d], u_time[r, i], w, time_to_dlt, late)
            # a DLT after the patient left is never seen
            dlt[r, i] = (tolerance[r, i] < p[d]) & (t_dlt < leave[r, i])
            resolve[r, i] = arrive[r] + np.where(dlt[r, i], t_dlt, np.minimum(w, leave[r, i]))
        on = level >= 0
        oh = level[:, :, None] == onehot_k[None, None, :]
        n = oh.sum(axis=1).astype(np.int64)
        y = (oh & dlt[:, :, None]).sum(axis=1).astype(np.int64)
        last = np.where(on, enrol, -np.inf).max(axis=1)
        return {
            "n": n,
            "y": y,
            "toxic": toxic,
            "duration": last + w,
            "while_pending": _treated_while_pending(on, enrol, resolve),
            "suspensions": suspensions,
            "suspended_time": suspended_time,
            "screened": screened,
            "level": level,
            "enrol": enrol,
            "dlt": dlt,
            "resolve": resolve,
        }
