"""The time-to-event continual reassessment method (TITE-CRM), as R ``dfcrm::titecrm``.

Cheung & Chappell (2000) let a CRM trial enrol the next patient before everyone already treated
has completed the DLT window: a patient without DLT after follow-up u of a window of length T
counts with weight w(u) in the weighted likelihood

    L(beta) = prod_i p_{d_i}(beta)^{y_i} {1 - w_i p_{d_i}(beta)}^{1 - y_i},

with w = 1 for a patient with a DLT (whatever the follow-up) and for one who completed the
window. Two weight functions, as dfcrm's ``scheme``:

- ``"linear"``: w(u) = min(u / T, 1), Cheung & Chappell's (2000) default;
- ``"adaptive"``: with the z DLT times observed so far sorted, t_(1) <= ... <= t_(z), and m of
  them at or before u, w(u) = {m + (u - t_(m)) / (t_(m+1) - t_(m))} / (z + 1), with t_(0) = 0
  and t_(z+1) = T (Cheung & Chappell 2000, adaptive weight: it follows the empirical
  distribution of the times to DLT); the linear weight while no DLT has been seen.

The dose-toxicity models, the N(0, prior_sd^2) prior on beta, the posterior mean and variance
(quadrature on [-10, 10]) and the reported limits are those of :class:`~earlyphase.designs.crm.CRM`
(dfcrm ``crm``); with every weight 1 the TITE-CRM is the CRM. The recommended dose is the one
whose estimated rate is closest to the target (the top dose if all are below it, dose 1 if all
are above).

During the trial (dfcrm ``titesim``), each new patient (or cohort) gets the recommended dose
computed with the follow-up at their arrival, restricted as dfcrm's ``restrict = TRUE``: no
skipping when escalating (at most one level above the dose of the most recent patient). The
coherence rule, on by default, carries the CRM's coherent-escalation principle (Cheung 2005; no
escalation right after a cohort at or above the target rate) over to patients whose outcomes
arrive late: no escalation while the DLT rate seen so far at the current dose, DLTs seen /
patients treated there, is at or above the target. ``titesim`` has no such rule, so compare
with it with ``coherence=False``. The trial stops at ``n_patients``;
the MTD is then selected from the data with complete follow-up.

References
----------
Cheung YK, Chappell R (2000). Sequential designs for phase I clinical trials with late-onset
    toxicities. Biometrics 56:1177-1182.
Cheung YK (2005). Coherence principles in dose-finding studies. Biometrika 92:863-873.
Cheung YK (2011). Dose Finding by the Continual Reassessment Method. CRC Press.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from earlyphase.designs.contract import Decision, Design, decision_frame
from earlyphase.designs.doses import DoseLevels, start_index
from earlyphase.designs.late_onset import (
    ACCRUALS,
    TIMES_TO_DLT,
    Accrual,
    arrivals,
    dlt_times,
    treated_while_pending,
)
from earlyphase.designs.late_onset import dropout_times as _dropout_times
from earlyphase.designs.late_onset import schedule_from as _schedule_from
from earlyphase.designs.outcomes import History, as_history
from earlyphase.designs.path_tree import PathNode, binomial_probability, grow_paths, known_outcomes
from earlyphase.designs.pending_paths import (
    PendingState,
    check_pending_follow_up,
    history_state,
    pending_dose_paths,
)
from earlyphase.engine.results import OperatingCharacteristics
from earlyphase.engine.states import check_truth
from earlyphase.engine.step import overdose_summaries

if TYPE_CHECKING:
    import pandas as pd

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

__all__ = [
    "ACCRUALS",
    "TIMES_TO_DLT",
    "TITECRM",
    "PatientHistory",
    "SimulatedTimedTrials",
    "TITECRMFit",
    "TimedOperatingCharacteristics",
    "as_patient_history",
    "tite_weights",
]

# Gauss-Legendre nodes on [-10, 10], the range dfcrm integrates the posterior over
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(400)
_BETA = 10.0 * _NODES
_W = 10.0 * _WEIGHTS

_STOP_N = "stop: maximum sample size reached"
_BLOCK = 4000  # simulated trials run together
_FILL = "stay: the current cohort is not complete"
SCHEMES: tuple[str, ...] = ("linear", "adaptive")


def tite_weights(
    follow_up: Sequence[float] | FloatArray,
    dlt: Sequence[bool] | BoolArray,
    window: float,
    scheme: str = "linear",
) -> FloatArray:
    """Each patient's weight in the TITE-CRM likelihood, as ``dfcrm::titecrm``'s ``weights``.

    ``follow_up`` is the time each patient has been followed (for a patient with a DLT, the time
    to the DLT); ``dlt`` whether a DLT has been seen. Linear: min(u / window, 1); adaptive: the
    piecewise-linear adaptive weight of Cheung & Chappell (2000) through the observed DLT
    times (see the module docstring). Patients with a DLT get weight 1.
    """
    u = np.asarray(follow_up, dtype=np.float64)
    y = np.asarray(dlt, dtype=bool)
    if u.ndim != 1 or u.shape != y.shape:
        raise ValueError("follow_up, dlt: must be sequences of the same length")
    w = _weights_batch(u[None, :], y[None, :], np.ones((1, len(u)), dtype=bool), window, scheme)
    return np.asarray(w[0], dtype=np.float64)


def _weights_batch(
    u: FloatArray, y: BoolArray, enrolled: BoolArray, window: float, scheme: str
) -> FloatArray:
    """Weights of many trials' patients at once (rows: trials); not enrolled patients get 0."""
    if scheme == "linear":
        w = np.minimum(u / window, 1.0)
    elif scheme == "adaptive":
        times = np.sort(np.where(y & enrolled, u, np.inf), axis=1)
        z = np.isfinite(times).sum(axis=1)[:, None]  # DLTs seen so far
        # m = DLT times at or before each patient's follow-up (dfcrm: support <= followup)
        m = (times[:, None, :] <= u[:, :, None]).sum(axis=2)
        padded = np.concatenate(
            (np.zeros((u.shape[0], 1)), np.where(np.isfinite(times), times, window)), axis=1
        )
        padded = np.concatenate((padded, np.full((u.shape[0], 1), window)), axis=1)
        lower = np.take_along_axis(padded, m, axis=1)
        upper = np.take_along_axis(padded, np.minimum(m + 1, z + 1), axis=1)
        upper = np.where(m >= z, window, upper)
        gap = upper - lower
        with np.errstate(divide="ignore", invalid="ignore"):
            # a zero gap only arises at the end of the window (a DLT at exactly T): weight 1
            frac = np.where(gap > 0, (u - lower) / np.where(gap > 0, gap, 1.0), 1.0)
        w = np.minimum((m + frac) / (z + 1), 1.0)
    else:
        raise ValueError(f"scheme: must be one of {list(SCHEMES)}, got {scheme!r}")
    w = np.where(y, 1.0, w)
    return np.asarray(np.where(enrolled, w, 0.0), dtype=np.float64)


@dataclass(frozen=True)
class PatientHistory:
    """Patients in order of enrolment: dose level (1-based), DLT seen, follow-up time (for a
    patient with a DLT, the time from the first dose to the DLT)."""

    level: IntArray
    dlt: BoolArray
    follow_up: FloatArray

    def __len__(self) -> int:
        return len(self.level)

    @property
    def current_dose(self) -> int | None:
        """The dose of the most recently enrolled patient (None before the first)."""
        return int(self.level[-1]) if len(self.level) else None

    def counts(self, n_doses: int) -> tuple[IntArray, IntArray]:
        """Patients and DLTs seen per dose."""
        n = np.bincount(self.level - 1, minlength=n_doses).astype(np.int64)
        y = np.bincount(self.level - 1, weights=self.dlt, minlength=n_doses).astype(np.int64)
        return n, y

    def completed(self, window: float) -> PatientHistory:
        """The same patients with every one followed to the end of the window (no new DLT)."""
        fu = np.where(self.dlt, self.follow_up, np.maximum(self.follow_up, window))
        return PatientHistory(self.level, self.dlt, fu.astype(np.float64))

    def with_cohort(self, dose: int, size: int, n_dlt: int, window: float) -> PatientHistory:
        """The same patients and a cohort of ``size`` at ``dose`` who completed the window,
        the last ``n_dlt`` of them with a DLT (the order of outcome strings, N before T)."""
        return PatientHistory(
            np.concatenate((self.level, np.full(size, dose, dtype=np.int64))),
            np.concatenate((self.dlt, np.arange(size) >= size - n_dlt)),
            np.concatenate((self.follow_up, np.full(size, float(window)))),
        )


HistoryLike = (
    PatientHistory
    | str
    | History
    | Mapping[str, Sequence[Any]]
    | Sequence[tuple[int, bool | int, float]]
    | None
)


def _from_patients(
    level: Sequence[Any] | NDArray[Any],
    dlt: Sequence[Any] | NDArray[Any],
    follow_up: Sequence[Any] | NDArray[Any],
    n_doses: int,
) -> PatientHistory:
    lv = np.asarray(level, dtype=np.float64)
    yy = np.asarray(dlt, dtype=np.float64)
    fu = np.asarray(follow_up, dtype=np.float64)
    if not (lv.ndim == yy.ndim == fu.ndim == 1) or not (len(lv) == len(yy) == len(fu)):
        raise ValueError("history: level, dlt and follow_up need one entry per patient each")
    if len(lv) and (np.any(lv != np.round(lv)) or lv.min() < 1 or lv.max() > n_doses):
        raise ValueError(f"history: dose levels must be integers in 1..{n_doses}")
    if np.any((yy != 0) & (yy != 1)):
        raise ValueError("history: dlt must be 0/1 (or False/True) per patient")
    if np.any(~np.isfinite(fu)) or np.any(fu < 0):
        raise ValueError("history: follow-up times must be finite and >= 0")
    return PatientHistory(lv.astype(np.int64), yy.astype(bool), fu)


def as_patient_history(history: HistoryLike, n_doses: int, window: float) -> PatientHistory:
    """Per-patient data from any of the accepted forms.

    - a mapping ``{"level": [...], "dlt": [...], "follow_up": [...]}`` (one entry per patient,
      in order of enrolment);
    - a list of ``(level, dlt, follow_up)`` tuples, or a data frame with those columns;
    - an outcome string ``"1NNN 2NTN"``, a :class:`~earlyphase.designs.outcomes.History` or
      counts ``{"n": [...], "y": [...]}``: every patient followed for the whole window;
    - None: no patient yet.
    """
    if history is None:
        return PatientHistory(
            np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool), np.zeros(0, dtype=np.float64)
        )
    if isinstance(history, PatientHistory):
        return _from_patients(history.level, history.dlt, history.follow_up, n_doses)
    if isinstance(history, Mapping) and "level" in history:
        missing = {"dlt", "follow_up"} - set(history)
        if missing:
            raise ValueError(f"history: missing {sorted(missing)} (need level, dlt, follow_up)")
        return _from_patients(history["level"], history["dlt"], history["follow_up"], n_doses)
    if isinstance(history, str | History | Mapping):
        h = as_history(history, n_doses)
        if h.cohorts:
            lv = [c.dose for c in h.cohorts for _ in c.dlt]
            yy = [t for c in h.cohorts for t in c.dlt]
        else:
            # counts only: order is unknown, so put the current dose's patients last
            order = list(range(n_doses))
            if h.current_dose is not None:
                order.remove(h.current_dose - 1)
                order.append(h.current_dose - 1)
            lv, yy = [], []
            for d in order:
                lv += [d + 1] * int(h.n[d])
                yy += [True] * int(h.y[d]) + [False] * int(h.n[d] - h.y[d])
        return _from_patients(lv, yy, [window] * len(lv), n_doses)
    columns = getattr(history, "columns", None)
    if columns is not None and {"level", "dlt", "follow_up"} <= set(columns):
        # a data frame with one row per patient
        frame: Any = history
        return _from_patients(
            frame["level"].to_numpy(),
            frame["dlt"].to_numpy(),
            frame["follow_up"].to_numpy(),
            n_doses,
        )
    if not isinstance(history, Sequence):
        raise ValueError(
            "history: give {'level': [...], 'dlt': [...], 'follow_up': [...]}, a list of "
            "(level, dlt, follow_up) tuples, or an outcome string like '1NNN 2NTN'"
        )
    rows = list(history)
    if not all(isinstance(r, Sequence) and len(r) == 3 for r in rows):
        raise ValueError(
            "history: give {'level': [...], 'dlt': [...], 'follow_up': [...]}, a list of "
            "(level, dlt, follow_up) tuples, or an outcome string like '1NNN 2NTN'"
        )
    return _from_patients([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], n_doses)


def timed_pending_paths(
    decide: Callable[[PatientHistory], Decision],
    history: PatientHistory,
    window: float,
    n_cohorts: int,
    cohort_size: Callable[[int], int],
    truth: FloatArray | None,
    pending_follow_up: float,
) -> pd.DataFrame:
    """Dose paths with pending patients (:mod:`~earlyphase.designs.pending_paths`) of a design
    that decides from patients' follow-up times: TITE-CRM and TITE-BOIN. ``history``'s
    patients keep their follow-up (a fraction of ``window`` in the tree); ``cohort_size``
    gives the next cohort's size from the number of patients treated."""
    status = np.where(history.dlt, "T", np.where(history.follow_up >= window, "N", "P"))
    start = history_state(
        history.level.tolist(), status.tolist(), (history.follow_up / window).tolist()
    )

    def decide_state(state: PendingState) -> Decision:
        level, dlt, u = state.arrays()
        return decide(PatientHistory(level, dlt, u * window))

    return pending_dose_paths(
        n_cohorts,
        start,
        decide_state,
        lambda st: cohort_size(len(st.patients)),
        pending_follow_up,
        truth,
    )


def timed_dose_paths(
    decide: Callable[[PatientHistory], Decision],
    history: HistoryLike,
    n_doses: int,
    window: float,
    n_cohorts: int,
    cohort_size: Callable[[int], int],
    truth: FloatArray | None,
    pending_follow_up: float | None,
) -> pd.DataFrame:
    """Dose paths of a design deciding from patients' follow-up (TITE-CRM, TITE-BOIN): with
    ``pending_follow_up`` the tree of :func:`timed_pending_paths`; without it, every patient
    completes the window before the next decision (the classical pathways, Yap et al. 2017).
    ``cohort_size`` gives the next cohort's size from the number of patients treated."""
    if pending_follow_up is not None:
        check_pending_follow_up(pending_follow_up)
        h = as_patient_history(history, n_doses, window)
        return timed_pending_paths(
            decide, h, window, n_cohorts, cohort_size, truth, pending_follow_up
        )
    base = as_patient_history(history, n_doses, window).completed(window)
    branch = known_outcomes(
        lambda h: cohort_size(len(h)),
        lambda h, dose, size, k: h.with_cohort(dose, size, k, window),
        binomial_probability(truth),
    )
    return grow_paths(PathNode(base, "", 0, 0, 0, 1.0), n_cohorts, decide, branch)


@dataclass(frozen=True)
class TITECRMFit:
    """Posterior after some data, as ``dfcrm::titecrm`` reports it: ``estimate`` (posterior
    mean of beta), ``post_var``, ``ptox`` with limits, ``mtd`` (1-based, unrestricted) and the
    likelihood ``weights`` of the patients."""

    estimate: float
    post_var: float
    ptox: FloatArray
    ptox_lower: FloatArray
    ptox_upper: FloatArray
    mtd: int
    conf_level: float
    weights: FloatArray

    def table(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(
            {
                "dose": np.arange(1, len(self.ptox) + 1),
                "ptox": self.ptox,
                "lower": self.ptox_lower,
                "upper": self.ptox_upper,
            }
        )


@dataclass(frozen=True)
class TimedOperatingCharacteristics(OperatingCharacteristics):
    """Operating characteristics of a design run in calendar time: those of
    :class:`~earlyphase.engine.results.OperatingCharacteristics` and the trial's duration
    (from the opening of accrual to the end of the last patient's DLT window), in the unit of
    the DLT window, and the accrual it was simulated with; the patients dosed while an earlier
    patient's DLT outcome was still unknown, and the people screened (screen failures
    included) per trial."""

    mean_duration: float | None = None
    sd_duration: float | None = None
    median_duration: float | None = None
    window: float | None = None
    accrual: str | None = None
    accrual_rate: float | None = None
    mean_n_treated_while_pending: float | None = None
    mean_screened: float | None = None

    def summary(self) -> dict[str, Any]:
        return {
            **super().summary(),
            "window": self.window,
            "accrual": self.accrual,
            "accrual_rate": self.accrual_rate,
            "mean_duration": self.mean_duration,
            "sd_duration": self.sd_duration,
            "median_duration": self.median_duration,
            "mean_n_treated_while_pending": self.mean_n_treated_while_pending,
            "mean_screened": self.mean_screened,
        }


@dataclass(frozen=True)
class SimulatedTimedTrials:
    """Simulated trials (rows) and their patients (columns, in order of arrival): dose level
    (1-based), DLT, arrival time and time from the first dose to the DLT (inf without DLT)."""

    level: IntArray
    dlt: BoolArray
    arrival: FloatArray
    dlt_time: FloatArray
    #: time from the first dose at which each patient left the trial (inf: stayed)
    leave: FloatArray | None = None
    #: people screened per trial to enrol its patients (screen failures included)
    screened: IntArray | None = None

    def history_at(self, trial: int, time: float) -> PatientHistory:
        """What the team knows about trial ``trial`` at calendar ``time``: the patients who
        arrived before it, the DLTs seen by then and everyone's follow-up (up to leaving, for
        a patient who dropped out)."""
        on = self.arrival[trial] < time
        seen = self.dlt[trial, on] & (self.arrival[trial, on] + self.dlt_time[trial, on] <= time)
        fu = time - self.arrival[trial, on]
        if self.leave is not None:
            fu = np.minimum(fu, self.leave[trial, on])
        fu = np.where(seen, self.dlt_time[trial, on], fu)
        return PatientHistory(self.level[trial, on], seen, fu.astype(np.float64))


class TITECRM(Design):
    """Bayesian one-parameter TITE-CRM (Cheung & Chappell 2000; dfcrm ``titecrm``/``titesim``).

    Parameters
    ----------
    skeleton : sequence of float
        Prior guesses of the DLT rate per dose; strictly increasing, in (0, 1)
        (:func:`~earlyphase.designs.calibration.calibrate_skeleton` gives one).
    target : float
        Target DLT rate.
    window : float
        Length of the DLT observation window (dfcrm ``obswin``), in any time unit; follow-up
        times, accrual and durations use the same unit.
    model : {"empiric", "logistic"}
    scheme : {"linear", "adaptive"}
        Weight function (dfcrm ``scheme``).
    prior_sd : float
        Standard deviation of the normal prior on beta (dfcrm ``scale``; sqrt(1.34)).
    intercept : float
        Logistic-model intercept (dfcrm ``intcpt``; 3).
    n_patients : int
        Sample size; the trial stops when it is reached.
    cohort_size : int
        Patients given each new dose; dfcrm's ``titesim`` decides at every arrival (1).
    start_dose : int
        1-based starting dose (dfcrm ``x0``).
    no_skipping : bool
        No escalation by more than one level above the most recent patient's dose.
    coherence : bool
        No escalation while the DLT rate seen at the current dose is at or above the target.
    conf_level : float
        Level of the reported limits on the DLT rates (0.90).
    doses : DoseLevels, optional

    Examples
    --------
    >>> d = TITECRM([0.05, 0.10, 0.20, 0.35, 0.50, 0.70], target=0.2, window=6, n_patients=24)
    >>> f = d.fit(level=[3, 3, 4, 4, 3], dlt=[0, 0, 0, 1, 0], follow_up=[6, 6, 6, 2.5, 1])
    >>> f.mtd
    3
    """

    name = "tite-crm"
    oc_methods = ("simulate",)

    def __init__(
        self,
        skeleton: Sequence[float],
        target: float,
        window: float,
        model: str = "empiric",
        scheme: str = "linear",
        prior_sd: float = math.sqrt(1.34),
        intercept: float = 3.0,
        n_patients: int = 24,
        cohort_size: int = 1,
        start_dose: int = 1,
        no_skipping: bool = True,
        coherence: bool = True,
        conf_level: float = 0.90,
        doses: DoseLevels | None = None,
    ) -> None:
        skel = np.asarray(skeleton, dtype=np.float64)
        if skel.ndim != 1 or len(skel) < 1:
            raise ValueError("skeleton: must be a list of probabilities, one per dose")
        if not np.all((skel > 0) & (skel < 1)) or np.any(np.diff(skel) <= 0):
            raise ValueError("skeleton: must be strictly increasing, each in (0, 1)")
        if not 0 < target < 1:
            raise ValueError(f"target: must be in (0, 1), got {target!r}")
        if not (isinstance(window, int | float) and math.isfinite(window) and window > 0):
            raise ValueError(f"window: must be a positive time, got {window!r}")
        if model not in ("empiric", "logistic"):
            raise ValueError(f"model: must be 'empiric' or 'logistic', got {model!r}")
        if scheme not in SCHEMES:
            raise ValueError(f"scheme: must be one of {list(SCHEMES)}, got {scheme!r}")
        if not (math.isfinite(prior_sd) and prior_sd > 0):
            raise ValueError(f"prior_sd: must be > 0, got {prior_sd!r}")
        for label, value in (("n_patients", n_patients), ("cohort_size", cohort_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{label}: must be an integer >= 1, got {value!r}")
        if not 0 < conf_level < 1:
            raise ValueError(f"conf_level: must be in (0, 1), got {conf_level!r}")
        self.skeleton = skel
        self._target = float(target)
        self.window = float(window)
        self.model = model
        self.scheme = scheme
        self.prior_sd = float(prior_sd)
        self.intercept = float(intercept)
        if model == "logistic":
            self.scaled_doses = np.log(skel / (1 - skel)) - self.intercept
            if not np.all(self.scaled_doses < 0):
                raise ValueError(
                    "intercept: too small for the logistic model (scaled doses must be < 0)"
                )
        else:
            self.scaled_doses = skel.copy()
        self.n_doses = len(skel)
        self.n_patients = n_patients
        self.cohort_size = cohort_size
        self.start_index = start_index(start_dose, self.n_doses)
        self.no_skipping = bool(no_skipping)
        self.coherence = bool(coherence)
        self.conf_level = float(conf_level)
        self.doses = DoseLevels.for_design(doses, self.n_doses)
        self._p = self.dose_tox(_BETA)  # (K, G)
        # log p and log(1 - p) in closed form: p underflows to 0 at the grid's ends
        if model == "empiric":
            self._log_p = np.log(skel)[:, None] * np.exp(_BETA)[None, :]
            self._log_q = np.log1p(-np.exp(self._log_p))
        else:
            eta = self.intercept + np.exp(_BETA)[None, :] * self.scaled_doses[:, None]
            self._log_p = -np.logaddexp(0.0, -eta)
            self._log_q = -np.logaddexp(0.0, eta)
        self._log_prior = -(_BETA**2) / (2 * self.prior_sd**2)
        # the same in linear form, for the simulation's running products
        self._q = np.exp(self._log_q)
        self._prior_w = np.exp(self._log_prior) * _W

    @property
    def target(self) -> float:
        return self._target

    @property
    def start_dose(self) -> int:
        return self.start_index + 1

    # --- the model ----------------------------------------------------------------------------
    def dose_tox(self, beta: FloatArray) -> FloatArray:
        """DLT probability of each dose (rows) at each beta (columns)."""
        b = np.atleast_1d(np.asarray(beta, dtype=np.float64))
        if self.model == "empiric":
            return np.asarray(self.skeleton[:, None] ** np.exp(b)[None, :], dtype=np.float64)
        eta = self.intercept + np.exp(b)[None, :] * self.scaled_doses[:, None]
        return np.asarray(np.exp(-np.logaddexp(0.0, -eta)), dtype=np.float64)

    def _log_lik(self, level0: IntArray, y: BoolArray, w: FloatArray, on: BoolArray) -> FloatArray:
        """The weighted log likelihood of Cheung & Chappell (2000) (module docstring) on the
        beta grid, for many trials (rows); ``level0`` 0-based, ``on`` marks the patients."""
        t = level0.shape[0]
        k = self.n_doses
        full = on & (y | (w >= 1.0))
        # patients with weight 1 enter through counts per dose: one matrix product
        onehot = level0[:, :, None] == np.arange(k)[None, None, :]
        n_tox = (onehot & (full & y)[:, :, None]).sum(axis=1).astype(np.float64)
        n_ok = (onehot & (full & ~y)[:, :, None]).sum(axis=1).astype(np.float64)
        ll = np.zeros((t, len(_BETA)))
        if n_tox.any():
            ll += n_tox @ self._log_p
        ll += n_ok @ self._log_q
        # patients still in their window: packed to the left of each row (a trial has few, but
        # not the same ones as the next trial), so each pass works on every trial at once and
        # a missing one contributes log(1 - 0 p) = 0
        pending = on & ~full
        count = pending.sum(axis=1)
        width = int(count.max()) if count.size else 0
        if width:
            order = np.argsort(~pending, axis=1, kind="stable")[:, :width]
            w_p = np.take_along_axis(w, order, axis=1)
            lv_p = np.take_along_axis(level0, order, axis=1)
            for c in range(width):
                rows = np.flatnonzero(count > c)  # the trials with a c-th pending patient
                ll[rows] += np.log1p(-w_p[rows, c, None] * self._p[lv_p[rows, c]])
        return ll

    def _posterior(
        self, level0: IntArray, y: BoolArray, w: FloatArray, on: BoolArray
    ) -> tuple[FloatArray, FloatArray]:
        ll = self._log_lik(level0, y, w, on) + self._log_prior[None, :]
        ll -= ll.max(axis=1, keepdims=True)
        dens = np.exp(ll) * _W[None, :]
        den = dens.sum(axis=1)
        est = (dens @ _BETA) / den
        return est, (dens @ _BETA**2) / den - est**2

    def _recommend(self, est: FloatArray) -> IntArray:
        ptox = self.dose_tox(est).T
        all_below = (ptox <= self._target).all(axis=1)
        all_above = (ptox >= self._target).all(axis=1)
        closest = np.abs(ptox - self._target).argmin(axis=1)
        return np.where(all_below, self.n_doses - 1, np.where(all_above, 0, closest)).astype(
            np.int64
        )

    def weights(self, history: HistoryLike) -> FloatArray:
        """The likelihood weight of each patient of ``history`` (dfcrm ``$weights``)."""
        h = as_patient_history(history, self.n_doses, self.window)
        return tite_weights(h.follow_up, h.dlt, self.window, self.scheme)

    def fit(
        self,
        history: HistoryLike = None,
        *,
        level: Sequence[int] | None = None,
        dlt: Sequence[int | bool] | None = None,
        follow_up: Sequence[float] | None = None,
    ) -> TITECRMFit:
        """Posterior after the patients so far — the output of ``dfcrm::titecrm(prior =
        skeleton, target, tox = dlt, level, followup = follow_up, obswin = window, scheme,
        model, scale = prior_sd, intcpt = intercept, conf.level)``.

        Give ``history`` (any form :func:`as_patient_history` accepts) or ``level``, ``dlt``
        and ``follow_up`` (one entry per patient).
        """
        if level is not None or dlt is not None or follow_up is not None:
            if history is not None or level is None or dlt is None or follow_up is None:
                raise ValueError("fit: give history, or all of level, dlt and follow_up")
            h = _from_patients(level, dlt, follow_up, self.n_doses)
        else:
            h = as_patient_history(history, self.n_doses, self.window)
        w = tite_weights(h.follow_up, h.dlt, self.window, self.scheme)
        on = np.ones((1, len(h)), dtype=bool)
        est, var = self._posterior((h.level - 1)[None, :], h.dlt[None, :], w[None, :], on)
        b, v = float(est[0]), float(var[0])
        z = NormalDist().inv_cdf(0.5 + self.conf_level / 2)  # as R qnorm
        sd = math.sqrt(max(v, 0.0))
        at_lo = self.dose_tox(np.array([b - z * sd]))[:, 0]
        at_hi = self.dose_tox(np.array([b + z * sd]))[:, 0]
        return TITECRMFit(
            estimate=b,
            post_var=v,
            ptox=self.dose_tox(np.array([b]))[:, 0],
            ptox_lower=np.minimum(at_lo, at_hi),
            ptox_upper=np.maximum(at_lo, at_hi),
            mtd=int(self._recommend(est)[0]) + 1,
            conf_level=self.conf_level,
            weights=w,
        )

    # --- the rule -----------------------------------------------------------------------------
    def _restrict(
        self, rec: IntArray, current: IntArray, n_cur: IntArray, y_cur: IntArray
    ) -> IntArray:
        """dfcrm titesim's no skipping, and coherence, applied to the model's doses (0-based)."""
        nd = rec.copy()
        if self.coherence:
            hit = (n_cur > 0) & (y_cur >= self._target * np.maximum(n_cur, 1))
            nd = np.where(hit, np.minimum(nd, current), nd)
        if self.no_skipping:
            nd = np.minimum(nd, current + 1)
        return nd.astype(np.int64)

    def decide(self, history: HistoryLike = None) -> Decision:
        """The dose for the next patient (or cohort) after ``history``, or stop.

        ``history`` gives each patient's dose level, DLT and follow-up in order of enrolment
        (see :func:`as_patient_history`; an outcome string means complete follow-up). The dose
        is the model's recommendation with the current weights, restricted as the design says
        relative to the most recent patient's dose. While a cohort is incomplete, its next
        patient gets the same dose. At ``n_patients`` the trial stops and ``selected`` is the
        model's dose from the data given, which is the final analysis once every patient has
        completed the window. ``estimates`` holds the counts, weights and posterior.
        """
        h = as_patient_history(history, self.n_doses, self.window)
        if len(h) == 0:
            d = self.start_dose
            return Decision(
                dose=d, stop=False, reason="start", dose_label=self.doses.label(d), action="start"
            )
        f = self.fit(h)
        n, y = h.counts(self.n_doses)
        cur = int(h.level[-1]) - 1
        pending = (~h.dlt) & (h.follow_up < self.window)
        estimates: dict[str, Any] = {
            "n": n.tolist(),
            "dlt": y.tolist(),
            "pending": np.bincount(h.level[pending] - 1, minlength=self.n_doses).tolist(),
            "weights": [float(v) for v in f.weights],
            "beta": f.estimate,
            "beta_variance": f.post_var,
            "posterior_dlt_rate": [float(v) for v in f.ptox],
            "posterior_dlt_lower": [float(v) for v in f.ptox_lower],
            "posterior_dlt_upper": [float(v) for v in f.ptox_upper],
            "model_mtd": f.mtd,
        }
        if len(h) >= self.n_patients:
            n_pending = int(pending.sum())
            # the final analysis needs complete follow-up: say so while patients are pending
            message = (
                f"{_STOP_N}; dose {f.mtd} on the data so far, to be confirmed when the "
                f"{n_pending} patient(s) still in the DLT window complete it"
                if n_pending
                else ""
            )
            return Decision(
                dose=None,
                stop=True,
                reason=_STOP_N,
                selected=f.mtd,
                action="stop",
                estimates=estimates,
                message=message,
            )
        if len(h) % self.cohort_size:
            nd, reason, action = cur, _FILL, "stay"
        else:
            nd = int(
                self._restrict(
                    np.array([f.mtd - 1]),
                    np.array([cur]),
                    np.array([n[cur]]),
                    np.array([y[cur]]),
                )[0]
            )
            action = "escalate" if nd > cur else "de-escalate" if nd < cur else "stay"
            reason = action
        return Decision(
            dose=nd + 1,
            stop=False,
            reason=reason,
            dose_label=self.doses.label(nd + 1),
            action=action,
            estimates=estimates,
        )

    # --- tables -------------------------------------------------------------------------------
    def decision_table(
        self, n_patients: int = 3, follow_up_fractions: Sequence[float] = (1 / 3, 2 / 3)
    ) -> pd.DataFrame:
        """The next decision after the first 1..``n_patients`` patients, all at the starting
        dose, for every mix of their statuses (columns
        :data:`~earlyphase.designs.contract.DECISION_COLUMNS`).

        Each patient is one of: DLT, complete without DLT (followed for the whole window), or
        pending without DLT after each fraction in ``follow_up_fractions`` of the window. Each
        row is one mix (order does not matter to the rule): ``n`` patients, ``events`` DLTs;
        ``action`` and ``next_dose`` are what :meth:`decide` says for the next patient at that
        moment. Rows whose patients are all complete carry their outcome ``path``
        (e.g. ``"1NT"``); rows with pending patients have none.
        """
        fracs = [float(v) for v in follow_up_fractions]
        if any(not 0 <= v < 1 for v in fracs):
            raise ValueError("follow_up_fractions: each must be in [0, 1)")
        d = self.start_dose
        statuses: list[tuple[str, bool, float]] = [
            ("T", True, self.window * 0.5),
            ("N", False, self.window),
            *[("P", False, self.window * v) for v in fracs],
        ]
        rows = []
        for m in range(1, max(1, n_patients) + 1):
            for combo in itertools.combinations_with_replacement(range(len(statuses)), m):
                pats = [statuses[i] for i in combo]
                h = PatientHistory(
                    np.full(m, d, dtype=np.int64),
                    np.array([p[1] for p in pats], dtype=bool),
                    np.array([p[2] for p in pats], dtype=np.float64),
                )
                dec = self.decide(h)
                n_t = sum(p[1] for p in pats)
                n_n = sum(p[0] == "N" for p in pats)
                parts = [f"{n_t} with DLT", f"{n_n} complete without DLT"]
                parts += [
                    f"{sum(p[0] == 'P' and p[2] == self.window * v for p in pats)} pending at "
                    f"{v:.2g} of the window"
                    for v in fracs
                ]
                all_done = all(p[0] != "P" for p in pats)
                rows.append(
                    {
                        "state": f"{m} at dose {d}: " + ", ".join(parts),
                        "path": f"{d}" + "".join(p[0] for p in pats) if all_done else None,
                        "n": m,
                        "events": n_t,
                        "endpoint": "DLT",
                        "action": dec.action,
                        "next_dose": dec.dose,
                        "reason": dec.reason,
                    }
                )
        return decision_frame(rows)

    def protocol_table(self) -> pd.DataFrame:
        """The rule as a protocol states it: one row per element (model, prior, weights, dose
        assignment, restrictions, sample size, final selection)."""
        import pandas as pd

        skel = ", ".join(f"{v:g}" for v in self.skeleton)
        model = (
            "p_d = skeleton_d ^ exp(beta)"
            if self.model == "empiric"
            else f"logit p_d = {self.intercept:g} + exp(beta) x_d, x_d = logit(skeleton_d) - "
            f"{self.intercept:g}"
        )
        weight = (
            f"w = min(follow-up / {self.window:g}, 1)"
            if self.scheme == "linear"
            else "adaptive: piecewise linear through the observed times to DLT "
            "(Cheung & Chappell 2000)"
        )
        rows = [
            ("Dose-toxicity model", f"{model}; skeleton {skel}"),
            ("Prior", f"beta ~ Normal(0, {self.prior_sd**2:.4g})"),
            (
                "Likelihood",
                f"DLT window {self.window:g}; a patient with a DLT counts fully; one without "
                f"counts as 1 - w p_d, {weight}",
            ),
            (
                "Dose assignment",
                f"start at dose {self.start_dose}; each new cohort of {self.cohort_size} gets "
                f"the dose whose posterior-mean DLT rate is closest to {self._target:g}, using "
                "all follow-up at its arrival",
            ),
            (
                "No skipping",
                "at most one level above the most recent patient's dose"
                if self.no_skipping
                else "off",
            ),
            (
                "Coherence",
                f"no escalation while DLTs / patients at the current dose >= {self._target:g}"
                if self.coherence
                else "off",
            ),
            ("Sample size", f"{self.n_patients} patients"),
            (
                "MTD",
                "the dose closest to the target after all patients complete the window",
            ),
        ]
        return pd.DataFrame(rows, columns=["item", "rule"])

    def describe(self) -> str:
        skel = ", ".join(f"{v:g}" for v in self.skeleton)
        model = (
            "empiric p_d = skeleton_d^exp(beta)"
            if self.model == "empiric"
            else f"logistic with intercept {self.intercept:g}"
        )
        rules = [
            r
            for r, on in (
                ("no skipping of untried doses", self.no_skipping),
                (
                    "no escalation while the DLT rate seen at the current dose is at or above "
                    "the target",
                    self.coherence,
                ),
            )
            if on
        ]
        return (
            f"TITE-CRM ({model}, {self.scheme} weights over a DLT window of {self.window:g}, "
            f"target {self._target:g}, skeleton {skel}, beta ~ N(0, {self.prior_sd**2:.4g})), "
            f"{self.n_doses} doses from dose {self.start_dose}, N = {self.n_patients} in "
            f"cohorts of {self.cohort_size}; {'; '.join(rules) if rules else 'no restrictions'}"
        )

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

        By default the tree assumes each cohort's outcomes are known by the next decision:
        patients of ``history`` still in their window are taken to complete it without DLT,
        and every new cohort's patients complete the window before the next cohort is dosed
        (the CRM's pathways; Yap et al. 2017). Paths are outcome strings from the start of
        the tree.

        With ``pending_follow_up=g`` (a fraction of the window in (0, 1)) cohorts arrive every
        g windows, while earlier patients are pending: each decision is the TITE-CRM's with
        the weights u / window of the patients pending then, their outcomes (and those of
        the history's pending patients) resolve at later decisions, and the probabilities
        take the time to DLT uniform on the window (:mod:`~earlyphase.designs.pending_paths`,
        which states the semantics and the size limit). Needs the linear weights: the
        adaptive ones depend on the times of the DLTs, which the tree does not enumerate.
        """
        p = None if truth is None else check_truth(truth, self.n_doses)
        if pending_follow_up is not None and self.scheme != "linear":
            raise ValueError(
                "pending_follow_up: needs scheme='linear'; the adaptive weights depend on the "
                "times of the DLTs, which the tree of pending patients does not enumerate"
            )
        size, n_max = self.cohort_size, self.n_patients
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
        n_sims: int = 2_000,
        seed: int | None = None,
        *,
        accrual_rate: float = 1.0,
        accrual: str = "poisson",
        time_to_dlt: str = "uniform",
        late_fraction: float = 0.5,
        dropout: float = 0.0,
        screen_fail: float = 0.0,
        schedule: Sequence[Sequence[float]] | None = None,
    ) -> TimedOperatingCharacteristics:
        """Simulated operating characteristics in calendar time (as dfcrm ``titesim``).

        Patients arrive one at a time, ``accrual_rate`` per DLT window on average: by a
        Poisson process (``accrual="poisson"``, exponential gaps of mean window / rate), at
        fixed gaps of window / rate (``"fixed"``) or at gaps uniform on (0, 2 window / rate)
        (``"uniform"``); ``schedule``, ``(from_time, patients per unit time)`` pairs, makes the
        rate piecewise constant; ``screen_fail`` of the arrivals are not enrolled. The first
        patient arrives one gap after the opening, as in ``titesim``. Patient j treated at
        dose d has a DLT with probability ``truth[d]``, at a time uniform on the window
        (``time_to_dlt="uniform"``, ``titesim``'s ``surv = "uniform"``) or Weibull
        (``"weibull"``, ``late_fraction`` of the DLTs in the second half of the window); with
        probability ``dropout`` a patient leaves at a time uniform on the window, a later DLT
        is never seen and the follow-up stays partial (:mod:`~earlyphase.designs.late_onset`).
        At each arrival that starts a cohort the dose is chosen from the data then (DLTs seen
        so far, follow-up of the others), and the MTD is selected when every patient has
        completed the window (or left). All ``n_sims`` trials advance together.

        The summary adds the trial duration (opening of accrual to the end of the last
        patient's window; ``titesim``'s ``Duration``), the patients treated while an earlier
        patient was pending, and the people screened; ``table()`` adds ``pct_patients``.
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
        acc = Accrual(accrual, self.window / accrual_rate, _schedule_from(schedule), screen_fail)
        sim = self._simulate(p, n_sims, seed, acc, time_to_dlt, late_fraction, dropout)
        level, dlt, arrival = sim.level, sim.dlt, sim.arrival
        k = self.n_doses
        t = n_sims
        onehot = (level - 1)[:, :, None] == np.arange(k)[None, None, :]
        n = onehot.sum(axis=1).astype(np.int64)
        y = (onehot & dlt[:, :, None]).sum(axis=1).astype(np.int64)
        # final analysis: every patient has completed the window (all weights 1), except
        # those who left early, whose follow-up stays partial
        full = np.ones_like(dlt)
        if sim.leave is None:
            w_final = full.astype(np.float64)
        else:
            fu_final = np.where(dlt, sim.dlt_time, np.minimum(sim.leave, self.window))
            w_final = _weights_batch(fu_final, dlt, full, self.window, self.scheme)
        est, _ = self._posterior(level - 1, dlt, w_final, full)
        sel_idx = self._recommend(est)
        sel = np.bincount(sel_idx, minlength=k + 1).astype(np.float64) / t
        uniq, counts = np.unique(n.sum(axis=1), return_counts=True)
        od60, od80, above = overdose_summaries(p, self._target, n, np.ones(t))
        duration = arrival[:, -1] + self.window
        resolve = arrival + np.where(dlt, sim.dlt_time, self.window)
        if sim.leave is not None:
            resolve = np.minimum(resolve, arrival + sim.leave)
        sim_pending = treated_while_pending(np.ones_like(dlt), arrival, resolve)
        sim_screened = sim.screened if sim.screened is not None else np.full(t, level.shape[1])
        mean_n = n.mean(axis=0)
        return TimedOperatingCharacteristics(
            true_tox=p,
            dose_labels=tuple(self.doses.label(i + 1) for i in range(k)),
            selection=sel,
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
            extra={"pct_patients": 100.0 * mean_n / mean_n.sum()},
            mean_duration=float(duration.mean()),
            sd_duration=float(duration.std(ddof=1)) if t > 1 else 0.0,
            median_duration=float(np.median(duration)),
            window=self.window,
            accrual=accrual,
            accrual_rate=float(accrual_rate),
            mean_n_treated_while_pending=float(sim_pending.mean()),
            mean_screened=float(sim_screened.mean()),
        )

    def simulate_trials(
        self,
        truth: Sequence[float],
        n_sims: int,
        seed: int | None = None,
        accrual_rate: float = 1.0,
        accrual: str = "poisson",
        *,
        time_to_dlt: str = "uniform",
        late_fraction: float = 0.5,
        dropout: float = 0.0,
        screen_fail: float = 0.0,
        schedule: Sequence[Sequence[float]] | None = None,
    ) -> SimulatedTimedTrials:
        """The patients of ``n_sims`` simulated trials, all run at once (see
        :meth:`operating_characteristics` for the model of accrual, DLT times and dropout)."""
        p = check_truth(truth, self.n_doses)
        acc = Accrual(accrual, self.window / accrual_rate, _schedule_from(schedule), screen_fail)
        return self._simulate(p, n_sims, seed, acc, time_to_dlt, late_fraction, dropout)

    def _simulate(
        self,
        p: FloatArray,
        n_sims: int,
        seed: int | None,
        accrual: Accrual,
        time_to_dlt: str = "uniform",
        late: float = 0.5,
        dropout: float = 0.0,
    ) -> SimulatedTimedTrials:
        """Dose levels (1-based), DLTs and arrival times of ``n_sims`` trials, all at once."""
        rng = np.random.default_rng(seed)
        t, m = n_sims, self.n_patients
        arrival, screened = arrivals(rng, t, m, accrual)
        tolerance = rng.random((t, m))  # patient j has a DLT at dose d when tolerance < p[d]
        u_time = rng.random((t, m))  # the time to DLT, if any, from this uniform
        leave = _dropout_times(rng, (t, m), self.window, dropout)
        level0 = np.zeros((t, m), dtype=np.int64)
        dlt = np.zeros((t, m), dtype=bool)
        dlt_time = np.full((t, m), np.inf)
        # trials in blocks: the posterior grid is (trials x 400) per decision, so blocks bound
        # the memory; the random numbers are drawn beforehand, so blocks do not change results
        for lo in range(0, t, _BLOCK):
            rows = slice(lo, min(lo + _BLOCK, t))
            level0[rows], dlt[rows], dlt_time[rows] = self._run_block(
                p, arrival[rows], tolerance[rows], u_time[rows], leave[rows], time_to_dlt, late
            )
        return SimulatedTimedTrials(
            level0 + 1,
            dlt,
            arrival,
            np.where(dlt, dlt_time, np.inf),
            None if dropout == 0 else leave,
            screened,
        )

    def _run_block(
        self,
        p: FloatArray,
        arrival: FloatArray,
        tolerance: FloatArray,
        u_time: FloatArray,
        leave: FloatArray,
        time_to_dlt: str,
        late: float,
    ) -> tuple[IntArray, BoolArray, FloatArray]:
        t, m = arrival.shape
        w_len = self.window
        level0 = np.zeros((t, m), dtype=np.int64)
        dlt = np.zeros((t, m), dtype=bool)
        dlt_time = np.full((t, m), np.inf)
        cur = np.full(t, self.start_index, dtype=np.int64)
        # follow-up stops at the end of the window, or when the patient leaves
        horizon = np.minimum(leave, w_len)
        # the complete patients' likelihood on the grid, per trial, grows by one factor when a
        # patient's outcome becomes final (see earlyphase.designs._tite_kernel)
        from earlyphase.designs._tite_kernel import absorb, posterior_mean

        lik = np.ones((t, len(_BETA)))
        final = np.zeros((t, m), dtype=bool)

        def dose(i: int) -> None:
            level0[:, i] = cur
            dlt_time[:, i] = dlt_times(p[cur], u_time[:, i], w_len, time_to_dlt, late)
            # a DLT after the patient left is never seen
            dlt[:, i] = (tolerance[:, i] < p[cur]) & (dlt_time[:, i] < leave[:, i])

        dose(0)
        for i in range(1, m):
            if i % self.cohort_size == 0:
                now = arrival[:, i : i + 1]
                on = np.ones((t, i), dtype=bool)  # the i patients who arrived before now
                # DLTs seen by now count with their time to DLT as follow-up (dfcrm:
                # pmin(next.arrival, utox) - arrival); the others are followed until now
                seen = dlt[:, :i] & (arrival[:, :i] + dlt_time[:, :i] <= now)
                fu = np.where(
                    seen,
                    dlt_time[:, :i],
                    np.minimum(np.maximum(now - arrival[:, :i], 0.0), horizon[:, :i]),
                )
                w = _weights_batch(fu, seen, on, w_len, self.scheme)
                # final: a DLT seen, or the whole window followed (never undone: a DLT falls
                # within the window, and one after dropout is never seen)
                now_final = seen | (w >= 1.0)
                absorb(lik, level0[:, :i], seen, now_final & ~final[:, :i], self._p, self._q)
                final[:, :i] = now_final
                est = posterior_mean(
                    lik, self._prior_w, _BETA, self._p, level0[:, :i], w, ~now_final
                )
                rec = self._recommend(est)
                at_cur = level0[:, :i] == cur[:, None]
                cur = self._restrict(rec, cur, at_cur.sum(axis=1), (at_cur & seen).sum(axis=1))
            dose(i)
        return level0, dlt, dlt_time
