"""Thall, Simon & Estey (1995) monitoring of efficacy and toxicity together.

After ``n`` patients with ``x_E`` responses and ``x_T`` toxicities, stop if the experimental
treatment is probably less effective, Pr(theta_E < theta_S,E + delta_E | data) > p_eff, or
probably more toxic, Pr(theta_T > theta_S,T + delta_T | data) > p_tox, where the standard
therapy's rates have informative Beta priors (the marginals of TSE's Dirichlet model) and the
experimental rates vague Beta priors. The boundaries come from the Thall-Simon integral; the
operating characteristics are exact, by dynamic programming over (responses, toxicities) with
the four joint outcome probabilities.

References
----------
Thall PF, Simon RM, Estey EH (1995). Bayesian sequential monitoring designs for single-arm
    clinical trials with multiple outcomes. Stat Med 14:357-379.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from earlyphase.designs.thall_simon import ThallSimon
from earlyphase.stats._checks import check_count, check_level, check_probability

FloatArray = NDArray[np.float64]


class MultiOutcomeMonitor:
    """Stop for low efficacy or high toxicity (Thall, Simon & Estey 1995).

    Examples
    --------
    >>> m = MultiOutcomeMonitor(eff_standard_prior=(15, 35), tox_standard_prior=(10, 40),
    ...                         eff_experimental_prior=(0.6, 1.4),
    ...                         tox_experimental_prior=(0.4, 1.6), n_min=5, n_max=30)
    >>> m.decide(3, 5, 10)
    'stop: probably more toxic than standard therapy'
    >>> m.decide(0, 1, 10)
    'stop: probably less effective than standard therapy'
    """

    def __init__(
        self,
        eff_standard_prior: tuple[float, float],
        tox_standard_prior: tuple[float, float],
        eff_experimental_prior: tuple[float, float],
        tox_experimental_prior: tuple[float, float],
        delta_eff: float = 0.0,
        delta_tox: float = 0.0,
        p_eff: float = 0.95,
        p_tox: float = 0.95,
        n_min: int = 1,
        n_max: int = 40,
    ) -> None:
        self.p_eff = check_level(p_eff, "p_eff")
        self.p_tox = check_level(p_tox, "p_tox")
        self.delta_eff = check_probability(delta_eff, "delta_eff")
        self.delta_tox = check_probability(delta_tox, "delta_tox")
        # efficacy: stop if Pr(theta_E > theta_S + delta_E) <= 1 - p_eff (futility boundary)
        self._eff = ThallSimon(
            eff_standard_prior,
            eff_experimental_prior,
            delta=self.delta_eff,
            p_upper=None,
            p_lower=1 - self.p_eff,
            n_min=n_min,
            n_max=n_max,
        )
        # toxicity: stop if Pr(theta_T > theta_S,T + delta_T) >= p_tox (upper boundary)
        self._tox = ThallSimon(
            tox_standard_prior,
            tox_experimental_prior,
            delta_efficacy=self.delta_tox,
            p_upper=self.p_tox,
            p_lower=None,
            n_min=n_min,
            n_max=n_max,
        )
        self.looks = self._eff.looks
        self.eff_lower = self._eff.lower  # stop if responses <= this
        self.tox_upper = self._tox.upper  # stop if toxicities >= this
        self.n_max = check_count(n_max, "n_max", minimum=1)

    def decision_table(self) -> pd.DataFrame:
        """Per look: stop if responses <= ``eff_stop_if_le`` or toxicities >= ``tox_stop_if_ge``."""
        frame = pd.DataFrame(
            {
                "n": self.looks,
                "eff_stop_if_le": [None if v < 0 else int(v) for v in self.eff_lower],
                "tox_stop_if_ge": [
                    None if u > n else int(u)
                    for u, n in zip(self.tox_upper, self.looks, strict=True)
                ],
            }
        )
        for col in ("eff_stop_if_le", "tox_stop_if_ge"):
            frame[col] = frame[col].astype("Int64")
        return frame

    def decide(self, x_eff: int, x_tox: int, n: int) -> str:
        """Decision after ``x_eff`` responses and ``x_tox`` toxicities in ``n`` patients."""
        n = check_count(n, "n")
        x_eff = check_count(x_eff, "x_eff")
        x_tox = check_count(x_tox, "x_tox")
        if x_eff > n or x_tox > n:
            raise ValueError(f"x_eff, x_tox: counts cannot exceed n = {n}")
        if n > self.n_max:
            raise ValueError(f"n: {n} exceeds n_max = {self.n_max}")
        hit = np.flatnonzero(self.looks == n)
        if hit.size:
            k = int(hit[0])
            if x_tox >= self.tox_upper[k]:
                return "stop: probably more toxic than standard therapy"
            if x_eff <= self.eff_lower[k]:
                return "stop: probably less effective than standard therapy"
        return "end of trial" if n == self.n_max else "continue"

    def operating_characteristics(
        self, p_eff: float, p_tox: float, p_both: float | None = None
    ) -> dict[str, float]:
        """Exact P(stop for toxicity), P(stop for low efficacy), P(no stop) and E[N].

        ``p_both`` is P(response and toxicity) for one patient (independence by default).
        """
        pe = check_probability(p_eff, "p_eff")
        pt = check_probability(p_tox, "p_tox")
        p11 = pe * pt if p_both is None else check_probability(p_both, "p_both")
        p10, p01 = pe - p11, pt - p11
        p00 = 1 - pe - pt + p11
        if min(p10, p01, p00) < -1e-12:
            raise ValueError("p_both: inconsistent with the marginal rates")
        n_max = self.n_max
        dist = np.zeros((n_max + 1, n_max + 1))  # [responses, toxicities]
        dist[0, 0] = 1.0
        look = {int(v): i for i, v in enumerate(self.looks)}
        e_idx = np.arange(n_max + 1)[:, None]
        t_idx = np.arange(n_max + 1)[None, :]
        stop_tox = stop_eff = e_n = 0.0
        for n in range(1, n_max + 1):
            new = p00 * dist
            new[1:, :] += p10 * dist[:-1, :]
            new[:, 1:] += p01 * dist[:, :-1]
            new[1:, 1:] += p11 * dist[:-1, :-1]
            dist = new
            k = look.get(n)
            if k is None:
                continue
            tox = t_idx >= self.tox_upper[k]
            eff = (e_idx <= self.eff_lower[k]) & ~tox
            m_tox = float(dist[np.broadcast_to(tox, dist.shape)].sum())
            m_eff = float(dist[np.broadcast_to(eff, dist.shape)].sum())
            stop_tox += m_tox
            stop_eff += m_eff
            e_n += n * (m_tox + m_eff)
            dist = np.where(np.broadcast_to(tox | eff, dist.shape), 0.0, dist)
        rest = float(dist.sum())
        return {
            "prob_stop_toxicity": stop_tox,
            "prob_stop_efficacy": stop_eff,
            "prob_no_stop": rest,
            "expected_n": e_n + n_max * rest,
        }
