"""The one-parameter Bayesian continual reassessment method (CRM), as R ``dfcrm``.

Models (Cheung 2011, chapter 3; dfcrm ``crm``):

- ``"empiric"`` (power): p_d(beta) = skeleton_d ^ exp(beta);
- ``"logistic"``: logit p_d(beta) = a + exp(beta) x_d with x_d = logit(skeleton_d) - a, a = 3,

with beta ~ Normal(0, prior_sd^2) (dfcrm default variance 1.34). The posterior mean of beta
and its variance are computed by Gauss-Legendre quadrature on [-10, 10] (dfcrm integrates
with R ``integrate`` over the same range); toxicity probabilities are evaluated at the
posterior mean, with limits from beta_hat -+ z sd (90% by default), as dfcrm reports them.

The recommended dose is the one whose estimated rate is closest to the target (the top dose
if all are below it, dose 1 if all are above). During the trial dfcrm's ``crmsim`` restricts
moves (``restrict = TRUE``): no skipping when escalating, and no escalation after a cohort
whose observed DLT rate reached the target (coherence, Cheung 2005).

References
----------
O'Quigley J, Pepe M, Fisher L (1990). Continual reassessment method: a practical design for
    phase 1 clinical trials in cancer. Biometrics 46:33-48.
Cheung YK (2005). Coherence principles in dose-finding studies. Biometrika 92:863-873.
Cheung YK (2011). Dose Finding by the Continual Reassessment Method. CRC Press (Table 3.2).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from earlyphase.designs.base import DoseFindingDesign
from earlyphase.designs.doses import DoseLevels, start_index
from earlyphase.designs.outcomes import History, as_history
from earlyphase.designs.settings import validate
from earlyphase.engine.states import (
    R_DEESCALATE,
    R_ESCALATE,
    R_MAX_N,
    R_STAY,
    Decisions,
    IntArray,
    States,
)

if TYPE_CHECKING:
    import pandas as pd

FloatArray = NDArray[np.float64]
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(400)
_BETA = 10.0 * _NODES  # Gauss-Legendre nodes on [-10, 10]
_W = 10.0 * _WEIGHTS
_BETA2 = _BETA**2
#: Rows of counts whose posterior is computed at once (see ``CRM.posterior_moments``).
_ROWS = 32


@dataclass(frozen=True)
class CRMFit:
    """Posterior summary after some data, as ``dfcrm::crm`` reports it."""

    estimate: float  # posterior mean of beta
    post_var: float
    ptox: FloatArray
    ptox_lower: FloatArray
    ptox_upper: FloatArray
    mtd: int  # 1-based recommended dose (unrestricted)
    conf_level: float

    def table(self) -> pd.DataFrame:
        import pandas as pd

        k = len(self.ptox)
        return pd.DataFrame(
            {
                "dose": np.arange(1, k + 1),
                "ptox": self.ptox,
                "lower": self.ptox_lower,
                "upper": self.ptox_upper,
            }
        )


class CRM(DoseFindingDesign):
    """Bayesian one-parameter CRM.

    Parameters
    ----------
    skeleton : sequence of float
        Prior guesses of the DLT rate per dose; strictly increasing, in (0, 1).
    target : float
        Target DLT rate.
    model : {"empiric", "logistic"}
    prior_sd : float
        Standard deviation of the normal prior on beta (dfcrm ``scale``; default sqrt(1.34)).
    intercept : float
        Logistic-model intercept (dfcrm ``intcpt``; 3).
    n_patients : int
        Sample size; the trial stops when it is reached.
    cohort_size : int
    start_dose : int
        1-based starting dose (dfcrm ``x0``).
    no_skipping, coherence : bool
        dfcrm ``crmsim``'s ``restrict = TRUE`` (both on by default).
    conf_level : float
        Level of the reported limits on the DLT rates (dfcrm: 0.90).
    doses : DoseLevels, optional

    Examples
    --------
    >>> crm = CRM([0.05, 0.10, 0.20, 0.35, 0.50, 0.70], target=0.2, n_patients=20)
    >>> fit = crm.fit("3N 4N 4T 3N 3N 4T 3T 2N 2N 2N")   # dfcrm::crm help example
    >>> round(fit.estimate, 4), fit.mtd
    (-0.2122, 2)
    """

    name = "crm"

    def __init__(
        self,
        skeleton: Sequence[float],
        target: float,
        model: str = "empiric",
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
        # types and bounds from the settings registry; the model-specific check stays here
        v = validate(
            "crm",
            skeleton=skeleton,
            target=target,
            model=model,
            prior_sd=prior_sd,
            intercept=intercept,
            n_patients=n_patients,
            cohort_size=cohort_size,
            start_dose=start_dose,
            no_skipping=no_skipping,
            coherence=coherence,
            conf_level=conf_level,
        )
        skel = np.asarray(v["skeleton"], dtype=np.float64)
        self.skeleton = skel
        self._target = float(v["target"])
        self.model = str(v["model"])
        self.prior_sd = float(v["prior_sd"])
        self.intercept = float(v["intercept"])
        if self.model == "logistic":
            self.scaled_doses = np.log(skel / (1 - skel)) - self.intercept
            if not np.all(self.scaled_doses < 0):
                raise ValueError(
                    "intercept: too small for the logistic model (scaled doses must be < 0)"
                )
        else:
            self.scaled_doses = skel.copy()
        self.n_doses = len(skel)
        self.n_patients = int(v["n_patients"])
        self.cohort_size = int(v["cohort_size"])
        self.start_index = start_index(v["start_dose"], self.n_doses)
        self.no_skipping = bool(v["no_skipping"])
        self.coherence = bool(v["coherence"])
        self.conf_level = float(v["conf_level"])
        self.doses = DoseLevels.for_design(doses, self.n_doses)
        log_p, log_q = self._log_probs(_BETA)
        self._log_p = log_p  # (K, G)
        self._log_q = log_q
        self._log_prior = -(_BETA**2) / (2 * self.prior_sd**2)

    @property
    def target(self) -> float:
        return self._target

    @property
    def max_patients(self) -> int:
        return self.n_patients

    @property
    def uses_last_cohort(self) -> bool:
        return self.coherence

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
                ("no escalation right after a cohort at or above the target rate", self.coherence),
            )
            if on
        ]
        restrictions = "; ".join(rules) if rules else "no restrictions"
        return (
            f"CRM ({model}, target {self._target:g}, skeleton {skel}, beta ~ N(0, "
            f"{self.prior_sd**2:.4g})), {self.n_doses} doses from dose {self.start_dose}, "
            f"N = {self.n_patients} in cohorts of {self.cohort_size}; {restrictions}"
        )

    def dose_tox(self, beta: FloatArray) -> FloatArray:
        """DLT probability of each dose (rows) at each beta (columns)."""
        b = np.atleast_1d(np.asarray(beta, dtype=np.float64))
        if self.model == "empiric":
            return np.asarray(self.skeleton[:, None] ** np.exp(b)[None, :], dtype=np.float64)
        eta = self.intercept + np.exp(b)[None, :] * self.scaled_doses[:, None]
        # the logistic function as exp(-log(1 + exp(-eta))): no overflow, no SciPy import
        return np.asarray(np.exp(-np.logaddexp(0.0, -eta)), dtype=np.float64)

    def _log_probs(self, beta: FloatArray) -> tuple[FloatArray, FloatArray]:
        if self.model == "empiric":
            log_p = np.log(self.skeleton)[:, None] * np.exp(beta)[None, :]
            log_q = np.log1p(-np.exp(log_p))
        else:
            eta = self.intercept + np.exp(beta)[None, :] * self.scaled_doses[:, None]
            log_p = -np.logaddexp(0.0, -eta)
            log_q = -np.logaddexp(0.0, eta)
        return log_p, log_q

    def posterior_moments(self, n: IntArray, y: IntArray) -> tuple[FloatArray, FloatArray]:
        """Posterior mean and variance of beta for each row of counts ``n``, ``y`` (T, K).

        Rows are taken ``_ROWS`` at a time: every row's arithmetic is the same, but the
        (rows x nodes) intermediates then stay in cache, which halves the time of the
        thousands of rows a simulation asks for at once."""
        t = len(n)
        est = np.empty(t)
        var = np.empty(t)
        for lo in range(0, t, _ROWS):
            nb, yb = n[lo : lo + _ROWS], y[lo : lo + _ROWS]
            ll = yb @ self._log_p + (nb - yb) @ self._log_q + self._log_prior[None, :]
            ll -= ll.max(axis=1, keepdims=True)
            dens = np.exp(ll) * _W[None, :]
            den = dens.sum(axis=1)
            e1 = (dens @ _BETA) / den
            e2 = (dens @ _BETA2) / den
            est[lo : lo + _ROWS] = e1
            var[lo : lo + _ROWS] = e2 - e1**2
        return est, var

    def _recommend(self, est: FloatArray) -> IntArray:
        ptox = self.dose_tox(est).T  # (T, K)
        all_below = (ptox <= self._target).all(axis=1)
        all_above = (ptox >= self._target).all(axis=1)
        closest = np.abs(ptox - self._target).argmin(axis=1)
        return np.where(all_below, self.n_doses - 1, np.where(all_above, 0, closest)).astype(
            np.int64
        )

    def select_batch(self, st: States) -> IntArray:
        est, _ = self.posterior_moments(st.n, st.y)
        return self._recommend(est)

    def decide_batch(self, st: States) -> Decisions:
        t = st.size
        rec = self.select_batch(st)
        nd = rec.copy()
        if self.coherence:
            hit_target = st.last_y >= self._target * np.maximum(st.last_n, 1)
            nd = np.where(hit_target & (st.last_n > 0), np.minimum(nd, st.current), nd)
        if self.no_skipping:
            nd = np.minimum(nd, st.current + 1)
        stop = st.total >= self.n_patients
        reason = np.where(
            stop,
            R_MAX_N,
            np.where(nd > st.current, R_ESCALATE, np.where(nd < st.current, R_DEESCALATE, R_STAY)),
        )
        return (
            Decisions(
                next_dose=nd.astype(np.int64),
                stop=stop,
                reason=reason.astype(np.int64),
                selected=np.where(stop, rec, -1).astype(np.int64),
            )
            if t
            else Decisions(nd, stop, reason, rec)
        )

    def cohort_sizes(self, st: States) -> IntArray:
        return np.minimum(self.cohort_size, np.maximum(self.n_patients - st.total, 0)).astype(
            np.int64
        )

    def fit(self, history: str | History | Mapping[str, Sequence[int]]) -> CRMFit:
        """Posterior after ``history``: beta_hat, variance, DLT rates with limits, and the
        model's recommended dose — the output of ``dfcrm::crm``."""
        h = as_history(history, self.n_doses)
        est, var = self.posterior_moments(h.n[None, :], h.y[None, :])
        b, v = float(est[0]), float(var[0])
        z = NormalDist().inv_cdf(0.5 + self.conf_level / 2)  # Wichura's AS 241, as R qnorm
        ptox = self.dose_tox(np.array([b]))[:, 0]
        lo_b, hi_b = b - z * math.sqrt(max(v, 0.0)), b + z * math.sqrt(max(v, 0.0))
        at_hi = self.dose_tox(np.array([hi_b]))[:, 0]
        at_lo = self.dose_tox(np.array([lo_b]))[:, 0]
        return CRMFit(
            estimate=b,
            post_var=v,
            ptox=ptox,
            ptox_lower=np.minimum(at_hi, at_lo),
            ptox_upper=np.maximum(at_hi, at_lo),
            mtd=int(self._recommend(est)[0]) + 1,
            conf_level=self.conf_level,
        )

    @property
    def table_by_paths(self) -> bool:
        return True

    def estimates(self, history: History) -> dict[str, Any]:
        """Observed rates and the posterior: beta's mean and variance, DLT rates per dose."""
        f = self.fit(history)
        return {
            **super().estimates(history),
            "beta": f.estimate,
            "beta_variance": f.post_var,
            "posterior_dlt_rate": [float(v) for v in f.ptox],
            "model_mtd": f.mtd,
        }
