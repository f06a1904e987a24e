"""EffTox: Bayesian dose finding on efficacy and toxicity together (Thall & Cook 2004).

Model, with standardised doses x = log(d) - mean(log d):

    logit pi_T(x) = alpha + beta x,    logit pi_E(x) = gamma + zeta x + eta x^2,

joined by a Gumbel copula with association psi; independent normal priors on the six
parameters. A dose is *acceptable* if Pr(pi_E > eff_hurdle) > p_e and Pr(pi_T < tox_hurdle) >
p_t; the next dose is the acceptable dose of highest utility (the L^p contour through three
hinge points, evaluated at the posterior means), never skipping an untried dose when
escalating. No acceptable dose: stop.

Posterior expectations are computed deterministically, not by MCMC: the posterior mode and
curvature are found by Newton's method (a Laplace approximation), and expectations are then
integrals against a multivariate-t proposal centred there, evaluated on a fixed scrambled Sobol
point set with importance weights (quasi-Monte Carlo importance sampling; Genz & Monahan 1998
use spherical-radial rules for the same purpose in the MD Anderson software). The same points
and the same arithmetic give the same answer every time, and many trials are updated at once
as arrays, so simulations take seconds.

References
----------
Thall PF, Cook JD (2004). Dose-finding based on efficacy-toxicity trade-offs. Biometrics
    60:684-693.
Thall PF, Herrick RC, Nguyen HQ, Venier JJ, Norris JC (2014). Effective sample size for
    computing prior hyperparameters in Bayesian phase I-II dose-finding. Clin Trials 11:657-666
    (the prior and hinge points of the default example).
Genz A, Monahan J (1998). Stochastic integration rules for infinite regions. SIAM J Sci Comput
    19:426-439.
Brock K (2020). trialr: clinical trial designs in rstan (``stan_efftox``, ``efftox_solve_p``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import optimize
from scipy.special import expit, gammaln
from scipy.stats import qmc

from earlyphase.designs.contract import Decision, Design
from earlyphase.designs.doses import start_index
from earlyphase.designs.phase12 import (
    Truth,
    category_probs,
    cohort_outcomes,
    count_outcomes,
    outcome_paths,
    path_decisions,
    simulated_characteristics,
    truth_rates,
)
from earlyphase.engine.results import OperatingCharacteristics
from earlyphase.stats.checks import check_count, check_level, check_probability

FloatArray = NDArray[np.float64]
PARAMS = ("alpha", "beta", "gamma", "zeta", "eta", "psi")


def solve_p(eff0: float, tox1: float, eff_star: float, tox_star: float) -> float:
    """Exponent p of the utility contour through (eff0, 0), (1, tox1) and (eff_star, tox_star)
    (trialr ``efftox_solve_p``).

    Examples
    --------
    >>> round(solve_p(0.5, 0.65, 0.7, 0.25), 3)
    0.977
    """
    a = (1 - eff_star) / (1 - eff0)
    b = tox_star / tox1
    if not (0 < a < 1 and 0 < b < 1):
        raise ValueError("hinge points: the third point must lie strictly inside the other two")
    return float(optimize.brentq(lambda p: a**p + b**p - 1.0, 1e-6, 1e3, xtol=1e-14))


@dataclass(frozen=True)
class EffToxFit:
    """Posterior summaries per dose after some data."""

    prob_eff: FloatArray
    prob_tox: FloatArray
    utility: FloatArray
    prob_acc_eff: FloatArray
    prob_acc_tox: FloatArray
    acceptable: NDArray[np.bool_]
    recommended: int | None  # 1-based; None = stop, no acceptable dose
    effective_sample_size: float

    def table(self) -> pd.DataFrame:
        k = len(self.prob_eff)
        return pd.DataFrame(
            {
                "dose": np.arange(1, k + 1),
                "prob_eff": self.prob_eff,
                "prob_tox": self.prob_tox,
                "utility": self.utility,
                "prob_acc_eff": self.prob_acc_eff,
                "prob_acc_tox": self.prob_acc_tox,
                "acceptable": self.acceptable,
            }
        )


def parse_outcomes(text: str, n_doses: int) -> NDArray[np.int64]:
    """Counts (K, 4) of outcomes N, E, T, B per dose from a string like ``"1NNE 2EEB"``."""
    return count_outcomes(text, n_doses, "outcomes", letters_required=True)[0]


class EffTox(Design):
    """EffTox design.

    Parameters
    ----------
    doses : sequence of float
        Dose amounts (e.g. 1, 2, 4, 6.6, 10); standardised as log(d) - mean(log d).
    eff_hurdle, tox_hurdle : float
        Minimum acceptable efficacy and maximum acceptable toxicity probabilities.
    p_e, p_t : float
        Certainty required for acceptability (0.1 each in Thall et al. 2014).
    hinge : (eff0, tox1, eff_star, tox_star)
        Utility contour through (eff0, 0), (1, tox1) and (eff_star, tox_star).
    priors : mapping name -> (mean, sd) for alpha, beta, gamma, zeta, eta, psi.
    cohort_size, n_patients : int
    n_points : int
        Quasi-Monte Carlo points for the posterior integrals (a power of 2). The default,
        65536, puts the posterior means and acceptability probabilities within about 0.003 of
        long MCMC runs of trialr for every history in ``tests/fixtures/trialr_efftox.json``;
        4096 points missed five of them, and a knife-edge decision ("1NNN 2TTT") with them.
    """

    name = "efftox"
    oc_methods = ("simulate",)

    def __init__(
        self,
        doses: Sequence[float],
        eff_hurdle: float,
        tox_hurdle: float,
        priors: Mapping[str, tuple[float, float]],
        hinge: tuple[float, float, float, float] = (0.5, 0.65, 0.7, 0.25),
        p_e: float = 0.1,
        p_t: float = 0.1,
        cohort_size: int = 3,
        n_patients: int = 30,
        n_points: int = 65536,
        start_dose: int = 1,
        no_skipping: bool = True,
    ) -> None:
        d = np.asarray(doses, dtype=np.float64)
        if d.ndim != 1 or d.size < 1 or np.any(d <= 0) or np.any(np.diff(d) <= 0):
            raise ValueError("doses: must be positive and increasing")
        self.doses = d
        self.x = np.log(d) - np.log(d).mean()
        self.n_doses = len(d)
        self.eff_hurdle = check_probability(eff_hurdle, "eff_hurdle")
        self.tox_hurdle = check_probability(tox_hurdle, "tox_hurdle")
        self.p_e = check_level(p_e, "p_e")
        self.p_t = check_level(p_t, "p_t")
        missing = [k for k in PARAMS if k not in priors]
        if missing:
            raise ValueError(f"priors: missing {missing[0]!r} (need mean and sd of {list(PARAMS)})")
        self.prior_mean = np.array([float(priors[k][0]) for k in PARAMS])
        self.prior_sd = np.array([float(priors[k][1]) for k in PARAMS])
        if np.any(self.prior_sd <= 0) or not np.all(np.isfinite(self.prior_mean)):
            bad = PARAMS[int(np.argmax(self.prior_sd <= 0))]
            raise ValueError(f"priors: {bad} needs a finite mean and a positive sd")
        self.hinge = tuple(float(v) for v in hinge)
        self.p = solve_p(*self.hinge)
        self.cohort_size = check_count(cohort_size, "cohort_size", minimum=1)
        self.n_patients = check_count(n_patients, "n_patients", minimum=1)
        self.start_index = start_index(start_dose, self.n_doses)
        self.no_skipping = bool(no_skipping)
        n_points = check_count(n_points, "n_points", minimum=64)
        sob = qmc.Sobol(d=7, scramble=True, seed=20040601).random(n_points)
        sob = np.clip(sob, 1e-12, 1 - 1e-12)
        self._df = 6.0
        # multivariate t(df) points: z / sqrt(chi2/df), chi2 from the 7th coordinate
        from scipy.stats import chi2, norm

        z = norm.ppf(sob[:, :6])
        w = chi2.ppf(sob[:, 6], self._df) / self._df
        self._t_points = z / np.sqrt(w)[:, None]  # (S, 6)
        q = self._t_points
        self._log_q = (
            gammaln((self._df + 6) / 2)
            - gammaln(self._df / 2)
            - 3 * math.log(self._df * math.pi)
            - (self._df + 6) / 2 * np.log1p((q**2).sum(axis=1) / self._df)
        )

    @property
    def start_dose(self) -> int:
        """The 1-based dose level the trial starts at (as given to the constructor)."""
        return self.start_index + 1

    # --- model ------------------------------------------------------------------------------
    def _probs(self, theta: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """pi_E, pi_T (..., K) and the copula term, for parameters theta (..., 6)."""
        a, b, g, z, e, psi = (theta[..., i : i + 1] for i in range(6))
        x = self.x
        pt = expit(a + b * x)
        pe = expit(g + z * x + e * x * x)
        return pe, pt, psi

    def _log_post(self, theta: FloatArray, counts: FloatArray) -> FloatArray:
        """Log posterior (up to a constant); theta (..., 6), counts (..., K, 4) broadcastable."""
        pe, pt, psi = self._probs(theta)
        c = pe * (1 - pe) * pt * (1 - pt) * np.tanh(psi / 2)  # (e^psi - 1)/(e^psi + 1)
        p00 = (1 - pe) * (1 - pt) + c
        p10 = pe * (1 - pt) - c
        p01 = (1 - pe) * pt - c
        p11 = pe * pt + c
        with np.errstate(divide="ignore", invalid="ignore"):
            ll = (
                counts[..., 0] * np.log(np.maximum(p00, 1e-300))
                + counts[..., 1] * np.log(np.maximum(p10, 1e-300))
                + counts[..., 2] * np.log(np.maximum(p01, 1e-300))
                + counts[..., 3] * np.log(np.maximum(p11, 1e-300))
            ).sum(axis=-1)
        lp = -0.5 * (((theta - self.prior_mean) / self.prior_sd) ** 2).sum(axis=-1)
        return np.asarray(ll + lp, dtype=np.float64)

    def _mode(
        self, counts: FloatArray, init: FloatArray | None = None
    ) -> tuple[FloatArray, FloatArray]:
        """Posterior modes (T, 6) and Cholesky factors of the inverse negative Hessian."""
        t = counts.shape[0]
        theta = np.tile(self.prior_mean, (t, 1)) if init is None else init.copy()
        h = 1e-4
        eye = np.eye(6)

        def grad_hess(th: FloatArray) -> tuple[FloatArray, FloatArray]:
            f0 = self._log_post(th, counts)
            fp = np.stack([self._log_post(th + h * eye[i], counts) for i in range(6)], axis=1)
            fm = np.stack([self._log_post(th - h * eye[i], counts) for i in range(6)], axis=1)
            grad = (fp - fm) / (2 * h)
            hess = np.empty((t, 6, 6))
            for i in range(6):
                hess[:, i, i] = (fp[:, i] - 2 * f0 + fm[:, i]) / (h * h)
                for j in range(i + 1, 6):
                    fpp = self._log_post(th + h * (eye[i] + eye[j]), counts)
                    fpm = self._log_post(th + h * (eye[i] - eye[j]), counts)
                    fmp = self._log_post(th - h * (eye[i] - eye[j]), counts)
                    fmm = self._log_post(th - h * (eye[i] + eye[j]), counts)
                    hess[:, i, j] = hess[:, j, i] = (fpp - fpm - fmp + fmm) / (4 * h * h)
            return grad, hess

        for _ in range(30):
            grad, hess = grad_hess(theta)
            neg = -hess
            # make the negative Hessian positive definite (Levenberg shift)
            lam = np.maximum(0.0, -np.linalg.eigvalsh(neg).min(axis=1) + 1e-6)
            neg = neg + lam[:, None, None] * eye
            step = np.linalg.solve(neg, grad[..., None])[..., 0]
            # damp long steps
            norm_ = np.linalg.norm(step, axis=1, keepdims=True)
            step = step * np.minimum(1.0, 2.0 / np.maximum(norm_, 1e-300))
            f_old = self._log_post(theta, counts)
            cand = theta + step
            worse = self._log_post(cand, counts) < f_old
            cand = np.where(worse[:, None], theta + 0.25 * step, cand)
            done = np.abs(step).max(axis=1) < 1e-7
            theta = cand
            if done.all():
                break
        _, hess = grad_hess(theta)
        neg = -hess
        lam = np.maximum(0.0, -np.linalg.eigvalsh(neg).min(axis=1) + 1e-6)
        cov = np.linalg.inv(neg + lam[:, None, None] * eye)
        chol = np.linalg.cholesky(cov * 1.2)
        return np.asarray(theta, dtype=np.float64), np.asarray(chol, dtype=np.float64)

    def _summaries(
        self, counts: FloatArray, init: FloatArray | None = None, n_points: int | None = None
    ) -> dict[str, FloatArray]:
        """Posterior expectations for many trials at once; counts (T, K, 4). The first
        ``n_points`` points of the Sobol set are used (a balanced Sobol set in its own right)."""
        mode, chol = self._mode(counts, init)
        pts = self._t_points[:n_points]
        theta = mode[:, None, :] + np.einsum("tij,sj->tsi", chol, pts)  # (T, S, 6)
        log_det = np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
        log_w = self._log_post(theta, counts[:, None, :, :]) - (
            self._log_q[None, :n_points] - log_det[:, None]
        )
        log_w -= log_w.max(axis=1, keepdims=True)
        w = np.exp(log_w)
        w /= w.sum(axis=1, keepdims=True)
        pe, pt, _ = self._probs(theta)  # (T, S, K)
        ess = 1.0 / (w**2).sum(axis=1)
        return {
            "prob_eff": np.einsum("ts,tsk->tk", w, pe),
            "prob_tox": np.einsum("ts,tsk->tk", w, pt),
            "prob_acc_eff": np.einsum("ts,tsk->tk", w, (pe > self.eff_hurdle).astype(float)),
            "prob_acc_tox": np.einsum("ts,tsk->tk", w, (pt < self.tox_hurdle).astype(float)),
            "ess": ess,
            "mode": mode,
        }

    def utility(self, prob_eff: FloatArray, prob_tox: FloatArray) -> FloatArray:
        """Utility of (pi_E, pi_T) pairs: 1 - (((1 - pi_E)/(1 - eff0))^p + (pi_T/tox1)^p)^(1/p)."""
        eff0, tox1 = self.hinge[0], self.hinge[1]
        a = ((1 - prob_eff) / (1 - eff0)) ** self.p
        b = (prob_tox / tox1) ** self.p
        return np.asarray(1 - (a + b) ** (1 / self.p), dtype=np.float64)

    def _choose(
        self, s: Mapping[str, FloatArray], tried_max: NDArray[np.int64]
    ) -> NDArray[np.int64]:
        """Next dose (0-based) per trial, -1 when no dose is acceptable."""
        acc = (s["prob_acc_eff"] > self.p_e) & (s["prob_acc_tox"] > self.p_t)
        util = np.where(acc, self.utility(s["prob_eff"], s["prob_tox"]), -np.inf)
        if self.no_skipping:
            k = np.arange(self.n_doses)[None, :]
            util = np.where(k <= tried_max[:, None] + 1, util, -np.inf)
        best = util.argmax(axis=1)
        return np.where(np.isinf(util.max(axis=1)), -1, best).astype(np.int64)

    # --- public -------------------------------------------------------------------------------
    def fit(self, outcomes: str) -> EffToxFit:
        """Posterior summaries and the recommended next dose after ``outcomes`` ("1NNE 2EEB")."""
        counts = parse_outcomes(outcomes, self.n_doses)
        s = self._summaries(counts[None].astype(np.float64))
        tried = np.flatnonzero(counts.sum(axis=1) > 0)
        tried_max = np.array([tried.max() if tried.size else self.start_index - 1])
        choice = int(self._choose(s, tried_max)[0])
        acc = (s["prob_acc_eff"][0] > self.p_e) & (s["prob_acc_tox"][0] > self.p_t)
        return EffToxFit(
            prob_eff=s["prob_eff"][0],
            prob_tox=s["prob_tox"][0],
            utility=self.utility(s["prob_eff"][0], s["prob_tox"][0]),
            prob_acc_eff=s["prob_acc_eff"][0],
            prob_acc_tox=s["prob_acc_tox"][0],
            acceptable=acc,
            recommended=None if choice < 0 else choice + 1,
            effective_sample_size=float(s["ess"][0]),
        )

    def decide(self, history: str | None = "") -> Decision:
        """The next dose (or stop) after ``history`` ("1NNE 2EEB"); ``str()`` of the result
        is the sentence a team reads, ``estimates`` the posterior summaries per dose."""
        outcomes = history or ""
        if not outcomes.strip():
            d = self.start_dose
            return Decision(
                dose=d,
                stop=False,
                reason="start",
                action="start",
                message=f"start: treat the first cohort at dose {d}",
            )
        counts, current = count_outcomes(outcomes, self.n_doses, "outcomes", letters_required=True)
        n = int(counts.sum())
        f = self.fit(outcomes)
        estimates = {
            "prob_eff": f.prob_eff.tolist(),
            "prob_tox": f.prob_tox.tolist(),
            "utility": f.utility.tolist(),
            "prob_acc_eff": f.prob_acc_eff.tolist(),
            "prob_acc_tox": f.prob_acc_tox.tolist(),
            "acceptable": [int(i) + 1 for i in np.flatnonzero(f.acceptable)],
        }
        if f.recommended is None:
            return Decision(
                dose=None,
                stop=True,
                reason="stop: no dose is acceptable",
                action="stop",
                estimates=estimates,
            )
        if n >= self.n_patients:
            return Decision(
                dose=None,
                stop=True,
                reason="stop: maximum sample size reached",
                selected=f.recommended,
                action="stop",
                estimates=estimates,
            )
        nxt = f.recommended
        action = "escalate" if nxt > current else "de-escalate" if nxt < current else "stay"
        return Decision(
            dose=nxt,
            stop=False,
            reason=action,
            action=action,
            estimates=estimates,
            message=f"treat the next cohort at dose {nxt}",
        )

    def first_cohort_table(self) -> pd.DataFrame:
        """Next dose and acceptable doses after each possible first cohort (the table an
        EffTox protocol prints)."""
        rows = []
        for combo in cohort_outcomes(self.cohort_size):
            text = f"{self.start_dose}{combo}"
            f = self.fit(text)
            rows.append(
                {
                    "first cohort": text,
                    "next dose": f.recommended or "stop",
                    "acceptable doses": ",".join(str(i + 1) for i in np.flatnonzero(f.acceptable)),
                }
            )
        return pd.DataFrame(rows)

    def protocol_table(self) -> pd.DataFrame:
        """:meth:`first_cohort_table`."""
        return self.first_cohort_table()

    def decision_table(self, n_cohorts: int = 1) -> pd.DataFrame:
        """The decision after every outcome path of the first ``n_cohorts`` cohorts
        (:data:`DECISION_COLUMNS`; ``events`` counts toxicities, the path shows responses).
        Each path needs a posterior fit (about 0.06 s with the default quadrature)."""
        return path_decisions(self.dose_paths(n_cohorts))

    def dose_paths(
        self,
        n_cohorts: int,
        history: str | None = None,
        truth: Truth | None = None,
    ) -> pd.DataFrame:
        """Every outcome of the next ``n_cohorts`` cohorts (unordered N/E/T/B letters), with
        its probability under ``truth`` = (true efficacy, true toxicity) rates, independent
        outcomes (:data:`PATH_COLUMNS`; ``n_dlt`` counts toxicities)."""
        return outcome_paths(self, n_cohorts, history, truth)

    def describe(self) -> str:
        doses = ", ".join(f"{v:g}" for v in self.doses)
        priors = ", ".join(
            f"{k} ~ N({m:g}, {s:g}^2)"
            for k, m, s in zip(PARAMS, self.prior_mean, self.prior_sd, strict=True)
        )
        e0, t1, es, ts = self.hinge
        return (
            f"EffTox (doses {doses}; acceptable if Pr(pi_E > {self.eff_hurdle:g}) > {self.p_e:g} "
            f"and Pr(pi_T < {self.tox_hurdle:g}) > {self.p_t:g}; utility contour through "
            f"({e0:g}, 0), (1, {t1:g}), ({es:g}, {ts:g}), p = {self.p:.4f}; priors {priors}), "
            f"N = {self.n_patients} in cohorts of {self.cohort_size} from dose "
            f"{self.start_dose}" + ("; no skipping of untried doses" if self.no_skipping else "")
        )

    def operating_characteristics(
        self,
        truth: Truth,
        method: str = "simulate",
        n_sims: int = 1000,
        seed: int | None = None,
        psi: float = 0.0,
        n_points: int = 1024,
    ) -> OperatingCharacteristics:
        """Simulated OCs: P(select each dose / none), mean patients, responses and toxicities.

        ``truth`` is (true efficacy rates, true toxicity rates) per dose, or a mapping with
        keys ``eff`` and ``tox``. True outcomes are drawn with these marginal rates joined by
        a Gumbel copula with association ``psi`` (0: independent). All trials advance
        together. Each update uses the first ``n_points`` quadrature points (1024: posterior
        means within about 0.003 of the 16384-point values, far below the simulation error).
        Only ``method="simulate"``: the posterior has no finite state space to enumerate.
        """
        self._check_method(method)
        pe, pt = truth_rates(truth, self.n_doses)
        n_sims = check_count(n_sims, "n_sims", minimum=1)
        cum = np.cumsum(category_probs(pe, pt, psi), axis=1)
        cum /= cum[:, -1:]
        rng = np.random.default_rng(seed)
        u = rng.random((n_sims, self.n_patients))
        counts = np.zeros((n_sims, self.n_doses, 4))
        current = np.full(n_sims, self.start_index, dtype=np.int64)
        tried_max = np.full(n_sims, self.start_index, dtype=np.int64)
        active = np.ones(n_sims, dtype=bool)
        selected = np.full(n_sims, -1, dtype=np.int64)
        modes = np.tile(self.prior_mean, (n_sims, 1))
        treated = 0
        while treated < self.n_patients and active.any():
            size = min(self.cohort_size, self.n_patients - treated)
            idx = np.flatnonzero(active)
            for j in range(size):
                cat = (u[idx, treated + j][:, None] > cum[current[idx]]).sum(axis=1)
                np.add.at(counts, (idx, current[idx], cat), 1.0)
            treated += size
            tried_max[idx] = np.maximum(tried_max[idx], current[idx])
            s = self._summaries(counts[idx], modes[idx], n_points)
            modes[idx] = s["mode"]
            choice = self._choose(s, tried_max[idx])
            stop = choice < 0
            if treated >= self.n_patients:
                selected[idx] = choice
                active[idx] = False
            else:
                selected[idx[stop]] = -1
                active[idx[stop]] = False
                current[idx[~stop]] = choice[~stop]
        return simulated_characteristics(counts, selected, pe, pt, self.describe())


#: Thall et al. (2014) prostate example as parameterised by trialr's ``stan_efftox_demo`` and
#: the MD Anderson EffTox software: doses, hurdles, hinge points and priors (mean, sd).
THALL_2014 = {
    "doses": [1.0, 2.0, 4.0, 6.6, 10.0],
    "eff_hurdle": 0.5,
    "tox_hurdle": 0.3,
    "p_e": 0.1,
    "p_t": 0.1,
    "hinge": (0.5, 0.65, 0.7, 0.25),
    "priors": {
        "alpha": (-7.9593, 3.5487),
        "beta": (1.5482, 3.5018),
        "gamma": (0.7367, 2.5423),
        "zeta": (3.4181, 2.4406),
        "eta": (0.0, 0.2),
        "psi": (0.0, 1.0),
    },
}
