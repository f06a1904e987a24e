"""Thall & Simon (1994) Bayesian phase IIB monitoring against a random standard-therapy rate.

The standard therapy's rate theta_S has an informative Beta prior (e.g. from historical
series); the experimental rate theta_E a vague Beta prior with the same mean. After ``x``
responses in ``n`` patients the design computes

    Pr(theta_E > theta_S + delta | x, n) = int_0^(1-delta) Pr(theta_E > t + delta | x, n) f_S(t) dt

and, at each look, declares E promising if Pr(theta_E > theta_S + delta_efficacy) >= p_upper,
or stops for futility if Pr(theta_E > theta_S + delta) <= p_lower (delta: the targeted
improvement delta_0 of Thall & Simon). The integral is computed by adaptive Gauss-Kronrod
quadrature (QUADPACK, as R ``integrate`` in ``ph2bayes::postprob``) after the substitution
t = sin(phi)^2, which removes the endpoint singularities of Beta densities with shapes >= 1/2;
the result is accurate to about 1e-11 (checked against 20-digit mpmath quadrature), less for
standard-therapy priors with a shape below 1/2. Boundaries are found by
walking from the previous look's boundary (they move by at most one per patient), so a
design with ``n_max = 200`` needs a few hundred integrals.

References
----------
Thall PF, Simon R (1994). Practical Bayesian guidelines for phase IIB clinical trials.
    Biometrics 50:337-349 (eq. 1-3; priors with small effective sample size for E).
Nagashima K (2018). ph2bayes: Bayesian single-arm phase II designs (R package 0.0.2):
    ``postprob``, ``stopbound_post``.
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from earlyphase.designs.settings import validate
from earlyphase.designs.single_arm import SingleArmDesign
from earlyphase.stats.checks import check_positive, check_probability

if TYPE_CHECKING:
    import pandas as pd

FloatArray = NDArray[np.float64]


def beta_prior(mean: float, ess: float) -> tuple[float, float]:
    """Beta(a, b) with the given mean and effective sample size a + b.

    Examples
    --------
    >>> beta_prior(0.245, 126)   # standard therapy: 24.5% from 126 historical patients
    (30.87, 95.13)
    """
    m = check_probability(mean, "mean")
    if not 0 < m < 1:
        raise ValueError(f"mean: must lie strictly between 0 and 1, got {mean!r}")
    s = check_positive(ess, "ess")
    return round(m * s, 12), round((1 - m) * s, 12)


def check_prior(prior: tuple[float, float], name: str) -> tuple[float, float]:
    try:
        a, b = prior
    except (TypeError, ValueError):
        raise ValueError(f"{name}: must be a pair (a, b) of Beta shape parameters") from None
    if not (np.isfinite(a) and np.isfinite(b)) or a <= 0 or b <= 0:
        raise ValueError(f"{name}: Beta shape parameters must be positive, got {prior!r}")
    return float(a), float(b)


class ThallSimon(SingleArmDesign):
    """Thall-Simon design for a binary endpoint (response, or survival at a landmark day).

    Parameters
    ----------
    standard_prior : (a_S, b_S)
        Informative Beta prior of the standard therapy's rate; see :func:`beta_prior`.
    experimental_prior : (a_E, b_E)
        Vague Beta prior of the experimental rate, usually with the same mean and an
        effective sample size of 2 to 10.
    delta : float
        Targeted improvement delta_0 used by the futility rule (only by it).
    p_upper : float or None
        Declare E promising when Pr(theta_E > theta_S + delta_efficacy) >= p_upper; None (or
        1) means no efficacy rule.
    p_lower : float or None
        Stop for futility when Pr(theta_E > theta_S + delta) <= p_lower; None (or 0) means no
        futility rule. The futility rule is on by default (0.05), as in Thall & Simon's
        examples; a design monitoring efficacy only says so with ``p_lower=None``.
    n_min, n_max : int
        First look and maximum sample size; a look after every patient in between.
    delta_efficacy : float
        Improvement required by the efficacy rule (0: superiority, as ph2bayes).

    Examples
    --------
    >>> ts = ThallSimon(beta_prior(0.245, 126), beta_prior(0.245, 5), p_upper=0.95,
    ...                 p_lower=None, n_min=6, n_max=20)
    >>> ts.boundary_table()["upper_stop_if_ge"].tolist()
    [5, 5, 5, 6, 6, 6, 7, 7, 8, 8, 8, 9, 9, 9, 10]
    """

    name = "thall-simon"

    event_name = "responses"

    def __init__(
        self,
        standard_prior: tuple[float, float],
        experimental_prior: tuple[float, float],
        delta: float = 0.0,
        p_upper: float | None = 0.95,
        p_lower: float | None = 0.05,
        n_min: int = 1,
        n_max: int = 40,
        delta_efficacy: float = 0.0,
    ) -> None:
        # types and bounds from the settings registry
        v = validate(
            "thall-simon",
            standard_prior=standard_prior,
            experimental_prior=experimental_prior,
            delta=delta,
            p_upper=p_upper,
            p_lower=p_lower,
            n_min=n_min,
            n_max=n_max,
            delta_efficacy=delta_efficacy,
        )
        if v["standard_prior"] is None:
            raise ValueError("standard_prior: required (a, b of the standard therapy's rate)")
        if v["experimental_prior"] is None:
            raise ValueError("experimental_prior: required (a, b of the experimental rate)")
        self.standard_prior = check_prior(v["standard_prior"], "standard_prior")
        self.experimental_prior = check_prior(v["experimental_prior"], "experimental_prior")
        self.delta = float(v["delta"])
        self.delta_efficacy = float(v["delta_efficacy"])
        # Pr >= 1 and Pr <= 0 are the rules that never stop: say so with None
        self.p_upper = None if v["p_upper"] in (None, 1.0) else float(v["p_upper"])
        self.p_lower = None if v["p_lower"] in (None, 0.0) else float(v["p_lower"])
        if self.p_upper is None and self.p_lower is None:
            raise ValueError("p_upper, p_lower: at least one stopping rule is needed")
        self.n_min = int(v["n_min"])
        self.n_max = int(v["n_max"])
        if self.n_max < self.n_min:
            raise ValueError(f"n_max: must be >= n_min ({self.n_min}), got {n_max}")
        self.looks = np.arange(self.n_min, self.n_max + 1, dtype=np.int64)
        self.lower, self.upper = self._boundaries()

    def _prob(self, x: float, n: float, delta: float) -> float:
        from scipy import integrate
        from scipy.special import betainc, betaln

        a_s, b_s = self.standard_prior
        a_e, b_e = self.experimental_prior[0] + x, self.experimental_prior[1] + n - x
        log_norm = betaln(a_s, b_s) - math.log(2.0)

        # t = sin(phi)^2 removes the endpoint singularities of vague Beta densities
        def integrand(phi: float) -> float:
            s_, c_ = math.sin(phi), math.cos(phi)
            if s_ <= 0.0 or c_ <= 0.0:
                return 0.0
            t = s_ * s_
            if t + delta >= 1.0:
                return 0.0
            dens = math.exp((2 * a_s - 1) * math.log(s_) + (2 * b_s - 1) * math.log(c_) - log_norm)
            return float(betainc(b_e, a_e, 1.0 - (t + delta))) * dens

        def to_phi(t: float) -> float:
            return math.asin(math.sqrt(min(max(t, 0.0), 1.0)))

        m_s = a_s / (a_s + b_s)
        sd_s = math.sqrt(a_s * b_s / ((a_s + b_s) ** 2 * (a_s + b_s + 1)))
        m_e = a_e / (a_e + b_e) - delta
        upper = to_phi(1.0 - delta)
        pts = sorted(
            {
                min(max(to_phi(v), 1e-9), upper - 1e-9)
                for v in (m_s - 4 * sd_s, m_s, m_s + 4 * sd_s, m_e)
            }
        )
        with warnings.catch_warnings():  # QUADPACK's roundoff notices at 1e-13 are harmless
            warnings.simplefilter("ignore", integrate.IntegrationWarning)
            value, _ = integrate.quad(
                integrand, 0.0, upper, points=pts, epsabs=1e-13, epsrel=1e-12, limit=400
            )
        return min(1.0, max(0.0, float(value)))

    def prob_superior(
        self, x: int | NDArray[np.int64], n: int | NDArray[np.int64], delta: float | None = None
    ) -> FloatArray:
        """Pr(theta_E > theta_S + delta | x responses in n); ``x`` and ``n`` may be arrays."""
        d = self.delta if delta is None else float(delta)
        xs, ns = np.broadcast_arrays(np.atleast_1d(x), np.atleast_1d(n))
        return np.array([self._prob(float(a), float(b), d) for a, b in zip(xs, ns, strict=True)])

    def _boundaries(self) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        lower = np.full(len(self.looks), -1, dtype=np.int64)
        upper = self.looks + 1
        up_guess, lo_guess = 0, -1
        for i, n in enumerate(self.looks.tolist()):
            if self.p_upper is not None:
                up_guess = self._walk_upper(n, min(up_guess, n), self.p_upper)
                upper[i] = up_guess
            if self.p_lower is not None:
                lo_guess = self._walk_lower(n, min(max(lo_guess, -1), n), self.p_lower)
                lower[i] = lo_guess
        return lower, upper.astype(np.int64)

    def _walk_upper(self, n: int, x: int, level: float) -> int:
        """Smallest x with Pr >= level (n + 1 if none), starting the search at ``x``."""

        def ok(v: int) -> bool:
            return self._prob(v, n, self.delta_efficacy) >= level

        if ok(x):
            while x > 0 and ok(x - 1):
                x -= 1
            return x
        while x < n:
            x += 1
            if ok(x):
                return x
        return n + 1

    def _walk_lower(self, n: int, x: int, level: float) -> int:
        """Largest x with Pr <= level (-1 if none), starting the search at ``x``."""

        def ok(v: int) -> bool:
            return self._prob(v, n, self.delta) <= level

        x = max(x, 0)
        if ok(x):
            while x < n and ok(x + 1):
                x += 1
            return x
        while x > 0:
            x -= 1
            if ok(x):
                return x
        return -1

    @property
    def upper_meaning(self) -> str:  # type: ignore[override]
        return "declare the treatment promising"

    def describe(self) -> str:
        """The boundaries in words, with both rules stated (or said to be off)."""
        eff = (
            "no efficacy rule"
            if self.p_upper is None
            else f"efficacy: Pr(theta_E > theta_S + {self.delta_efficacy:g}) >= {self.p_upper:g}"
        )
        fut = (
            "no futility rule"
            if self.p_lower is None
            else f"futility: Pr(theta_E > theta_S + {self.delta:g}) <= {self.p_lower:g}"
        )
        a_s, b_s = self.standard_prior
        a_e, b_e = self.experimental_prior
        return (
            f"Thall-Simon (standard Beta({a_s:g}, {b_s:g}), experimental Beta({a_e:g}, "
            f"{b_e:g}); {eff}; {fut}): " + super().describe()
        )

    def summary(self) -> pd.DataFrame:
        """Boundaries with the posterior probabilities at them."""
        tab = self.boundary_table()
        return tab
