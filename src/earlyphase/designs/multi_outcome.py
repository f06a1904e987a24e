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

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from earlyphase.designs.contract import PATH_COLUMNS, Decision, Design, decision_frame
from earlyphase.designs.thall_simon import ThallSimon
from earlyphase.engine.results import ScenarioCharacteristics
from earlyphase.stats.checks import check_count, check_level, check_probability

FloatArray = NDArray[np.float64]
_MORE_TOXIC = "stop: probably more toxic than standard therapy"
_LESS_EFFECTIVE = "stop: probably less effective than standard therapy"


class MultiOutcomeMonitor(Design):
    """Stop for low efficacy or high toxicity (Thall, Simon & Estey 1995).

    Examples
    --------
    >>> m = MultiOutcomeMonitor(eff_standard_prior=(15, 35), tox_standard_prior=(10, 40),
    ...                         eff_experimental_prior=(0.6, 1.4),
    ...                         tox_experimental_prior=(0.4, 1.6), n_min=5, n_max=30)
    >>> m.decide(3, 5, 10).reason
    'stop: probably more toxic than standard therapy'
    >>> m.decide(0, 1, 10).reason
    'stop: probably less effective than standard therapy'
    """

    name = "multi-outcome"
    oc_methods = ("exact",)

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

    def boundary_table(self) -> pd.DataFrame:
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

    def protocol_table(self) -> pd.DataFrame:
        """The boundaries per look (:meth:`boundary_table`)."""
        return self.boundary_table()

    def decision_table(self) -> pd.DataFrame:
        """Each endpoint's rule at every look (:data:`DECISION_COLUMNS`): one row per look,
        endpoint ("response" or "toxicity") and count. The two rules act separately: the
        trial stops when either count crosses its boundary."""
        rows = []
        for k, n in enumerate(int(v) for v in self.looks):
            for x in range(n + 1):
                eff_stop = x <= self.eff_lower[k]
                tox_stop = x >= self.tox_upper[k]
                for endpoint, hit, why in (
                    ("response", eff_stop, _LESS_EFFECTIVE),
                    ("toxicity", tox_stop, _MORE_TOXIC),
                ):
                    last = n == self.n_max
                    rows.append(
                        {
                            "state": f"{x} {endpoint}{'s' if endpoint == 'response' else ''} "
                            f"in {n}",
                            "path": None,
                            "n": n,
                            "events": x,
                            "endpoint": endpoint,
                            "action": "stop" if hit or last else "continue",
                            "next_dose": None if hit or last else 1,
                            "reason": why
                            if hit
                            else "stop: maximum sample size reached"
                            if last
                            else "continue",
                        }
                    )
        return decision_frame(rows)

    def _counts(
        self, history: object, x_tox: int | None, n: int | None
    ) -> tuple[int, int, int] | None:
        if isinstance(history, str):
            if x_tox is not None or n is not None:
                raise ValueError("history: give an outcome string or x_eff, x_tox and n")
            letters = "".join(t.lstrip("0123456789") for t in history.split()).upper()
            bad = sorted(set(letters) - set("NETB"))
            if bad:
                raise ValueError(f"outcomes: letters must be N, E, T or B, got {bad[0]!r}")
            if not letters:
                return None
            return (
                sum(ch in "EB" for ch in letters),
                sum(ch in "TB" for ch in letters),
                len(letters),
            )
        if isinstance(history, Mapping):
            missing = [k for k in ("x_eff", "x_tox", "n") if k not in history]
            if missing:
                raise ValueError(f"history: missing {', '.join(missing)}")
            return int(history["x_eff"]), int(history["x_tox"]), int(history["n"])
        if history is None and x_tox is None and n is None:
            return None
        if history is None or x_tox is None or n is None:
            raise ValueError("x_eff, x_tox, n: give all three counts")
        return int(history), x_tox, n  # type: ignore[call-overload]

    def decide(
        self, history: object = None, x_tox: int | None = None, n: int | None = None
    ) -> Decision:
        """Decision after ``x_eff`` responses and ``x_tox`` toxicities in ``n`` patients:
        ``decide(x_eff, x_tox, n)``, ``decide({"x_eff": .., "x_tox": .., "n": ..})`` or an
        outcome string of N/E/T/B letters (``decide("1NETN")``)."""
        counts = self._counts(history, x_tox, n)
        if counts is None:
            return Decision(dose=1, stop=False, reason="start", action="start")
        x_eff = check_count(counts[0], "x_eff")
        x_t = check_count(counts[1], "x_tox")
        n_ = check_count(counts[2], "n")
        if x_eff > n_ or x_t > n_:
            raise ValueError(f"x_eff, x_tox: counts cannot exceed n = {n_}")
        if n_ > self.n_max:
            raise ValueError(f"n: {n_} exceeds n_max = {self.n_max}")
        est = {"x_eff": x_eff, "x_tox": x_t, "n": n_}
        hit = np.flatnonzero(self.looks == n_)
        if hit.size:
            k = int(hit[0])
            if x_t >= self.tox_upper[k]:
                return Decision(
                    None, True, _MORE_TOXIC, action="stop", crossed="upper", estimates=est
                )
            if x_eff <= self.eff_lower[k]:
                return Decision(
                    None, True, _LESS_EFFECTIVE, action="stop", crossed="lower", estimates=est
                )
        if n_ == self.n_max:
            return Decision(
                None, True, "stop: maximum sample size reached", action="stop", estimates=est
            )
        return Decision(1, False, "continue", action="continue", estimates=est)

    def operating_characteristics(
        self,
        truth: Sequence[float] | Sequence[Sequence[float]],
        method: str = "exact",
        n_sims: int = 10_000,
        seed: int | None = None,
    ) -> ScenarioCharacteristics:
        """Exact P(stop for toxicity), P(stop for low efficacy), P(no stop) and E[N].

        ``truth`` is one scenario ``(p_eff, p_tox)`` or ``(p_eff, p_tox, p_both)``, or a list
        of them; ``p_both`` is P(response and toxicity) for one patient (independence by
        default). Only ``method="exact"``: the state space is small enough to enumerate.
        """
        self._check_method(method)
        grid = np.atleast_2d(np.asarray(truth, dtype=np.float64))
        rows = []
        for sc in grid:
            vals = [float(v) for v in sc]
            if len(vals) not in (2, 3):
                raise ValueError(
                    f"truth: each scenario is (p_eff, p_tox) or (p_eff, p_tox, p_both), got {vals}"
                )
            rows.append({"p_eff": vals[0], "p_tox": vals[1], **self._exact(*vals)})
        return ScenarioCharacteristics(pd.DataFrame(rows), self.describe(), "exact")

    def dose_paths(
        self, n_cohorts: int, history: object = None, truth: Sequence[float] | None = None
    ) -> pd.DataFrame:
        """Every outcome (N, E, T, B) of the next ``n_cohorts`` patients, with its probability
        under ``truth`` = (p_eff, p_tox[, p_both]) (:data:`PATH_COLUMNS`; ``n_dlt`` counts
        toxicities)."""
        n_cohorts = check_count(n_cohorts, "n_cohorts", minimum=1)
        cat = None
        if truth is not None:
            v = [float(x) for x in truth]
            p11 = v[0] * v[1] if len(v) == 2 else v[2]
            cat = {"N": 1 - v[0] - v[1] + p11, "E": v[0] - p11, "T": v[1] - p11, "B": p11}
        start = history if isinstance(history, str) else ""
        c0 = self._counts(start, None, None) if start.strip() else None
        if c0 is not None and self.decide(start).stop:
            return pd.DataFrame(columns=list(PATH_COLUMNS))
        nodes = [("", c0 or (0, 0, 0), 1.0)]
        rows: list[dict[str, object]] = []
        for c in range(1, n_cohorts + 1):
            grown = []
            for path, (xe, xt, n), prob in nodes:
                for ch in "NETB":
                    counts = (xe + (ch in "EB"), xt + (ch in "TB"), n + 1)
                    d = self.decide(*counts)
                    pr = prob * cat[ch] if cat is not None else float("nan")
                    new = (path + " 1" + ch).strip()
                    rows.append(
                        {
                            "cohort": c,
                            "path": new,
                            "dose": 1,
                            "n_dlt": int(ch in "TB"),
                            "next": d.dose,
                            "decision": d.reason,
                            "selected": None,
                            "probability": pr,
                        }
                    )
                    if not d.stop:
                        grown.append((new, counts, pr))
            nodes = grown
        frame = pd.DataFrame(rows, columns=list(PATH_COLUMNS))
        for col in ("next", "selected"):
            frame[col] = frame[col].astype("Int64")
        return frame

    def describe(self) -> str:
        return (
            f"Thall-Simon-Estey monitoring of efficacy and toxicity, n = {int(self.looks[0])} to "
            f"{self.n_max}: stop if Pr(theta_E < theta_S,E + {self.delta_eff:g}) > "
            f"{self.p_eff:g} or Pr(theta_T > theta_S,T + {self.delta_tox:g}) > {self.p_tox:g}"
        )

    def _exact(self, p_eff: float, p_tox: float, p_both: float | None = None) -> dict[str, float]:
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
