"""Bayesian optimal phase II (BOP2) design for a single-arm expansion cohort.

Zhou H, Lee JJ, Yuan Y (2017). BOP2: Bayesian optimal design for phase II clinical trials with
simple and complex endpoints. Stat Med 36:3302-3314.

The design monitors a binary efficacy endpoint (response), or response and toxicity jointly,
at the looks ``n_1 < ... < n_K = N``. With the four joint outcomes of a patient (response and
toxicity, response only, toxicity only, neither) following a multinomial with probabilities
``theta = (theta_1, ..., theta_4)`` and a Dirichlet prior on ``theta``, the
marginal posteriors of the response rate ``p_E = theta_1 + theta_2`` and the toxicity rate
``p_T = theta_1 + theta_3`` are Beta (the Dirichlet aggregation property), and the trial stops
at look ``n`` (the go/no-go rule of the paper) if

    Pr(p_E <= phi_E | D_n) > C(n)   or   Pr(p_T > phi_T | D_n) > C(n),

with the probability cutoff ``C(n) = 1 - lambda (n / N)^gamma``. ``phi_E`` and
``phi_T`` are the response and toxicity rates under the null hypothesis. The design parameters
``lambda`` and ``gamma`` are chosen on a grid to maximise the power (the probability of
reaching ``N`` without stopping under the alternative) subject to the type I error (the same
probability under the null) being at most ``alpha``. The prior is the null
itself with an effective sample size of one patient: Beta(phi_E, 1 - phi_E), or the
Dirichlet whose parameters are the null probabilities of the four outcomes, as in the paper.

Because each posterior probability is monotone in its count, the rule is a pair of boundaries
per look (stop if responses <= ``a_k`` or toxicities >= ``b_k``), as the BOP2 app prints them;
the operating characteristics are exact, by recursion over the joint distribution of the counts
(vectorised over every candidate boundary set of the grid at once).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from earlyphase.designs.contract import PATH_COLUMNS, Decision, Design, decision_frame
from earlyphase.designs.single_arm import (
    continue_decision,
    look_path_row,
    look_paths_frame,
    start_decision,
    stop_decision,
)
from earlyphase.engine.results import ScenarioCharacteristics
from earlyphase.stats.checks import check_count

if TYPE_CHECKING:
    import pandas as pd

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Letters of the four joint outcomes, in the order of ``theta``: response and toxicity
#: ("B", both), response only ("R"), toxicity only ("T"), neither ("N").
JOINT_LETTERS: tuple[str, ...] = ("B", "R", "T", "N")

DEFAULT_LAMBDAS: tuple[float, ...] = tuple(round(0.01 * i, 2) for i in range(1, 100))
DEFAULT_GAMMAS: tuple[float, ...] = tuple(round(0.05 * i, 2) for i in range(0, 61))


def _probabilities(value: float | Sequence[float], name: str) -> FloatArray:
    """A response rate (efficacy only) or the four joint probabilities, as four cells."""
    arr = np.atleast_1d(np.asarray(value, dtype=np.float64))
    if arr.size == 1:
        p = float(arr[0])
        if not 0.0 < p < 1.0:
            raise ValueError(f"{name}: a response rate must lie in (0, 1), got {p}")
        return np.array([0.0, p, 0.0, 1.0 - p])
    if arr.shape != (4,) or np.any(arr < 0) or not math.isclose(float(arr.sum()), 1.0):
        raise ValueError(
            f"{name}: give a response rate or the four joint probabilities (response and "
            f"toxicity, response only, toxicity only, neither) summing to 1, got {arr.tolist()}"
        )
    return arr


def cutoff(n: float, n_max: float, lam: float, gamma: float) -> float:
    """The probability cutoff ``C(n) = 1 - lambda (n/N)^gamma`` (Zhou et al. 2017)."""
    return float(1.0 - lam * (n / n_max) ** gamma)


def _count_pmf(m: int, theta: FloatArray) -> FloatArray:
    """P(k_E responses, k_T toxicities) among ``m`` patients: an (m+1, m+1) array."""
    dist = np.zeros((m + 1, m + 1))
    dist[0, 0] = 1.0
    for _ in range(m):
        dist = _step(dist[None, :, :], theta)[0]
    return dist


def _step(dist: FloatArray, theta: FloatArray) -> FloatArray:
    """One more patient: the joint counts (responses, toxicities) of a batch of distributions
    ``dist[b, x, y]`` move by (1, 1), (1, 0), (0, 1) or (0, 0) with probabilities ``theta``."""
    out: FloatArray = dist * float(theta[3])
    out[:, 1:, 1:] += dist[:, :-1, :-1] * theta[0]
    out[:, 1:, :] += dist[:, :-1, :] * theta[1]
    out[:, :, 1:] += dist[:, :, :-1] * theta[2]
    return out


def exact_crossing(
    looks: Sequence[int], lower: IntArray, upper: IntArray, theta: FloatArray
) -> dict[str, FloatArray]:
    """Exact stopping probabilities of boundary sets on (responses, toxicities).

    ``lower`` and ``upper`` are (B, K) arrays: boundary set ``b`` stops at look ``k`` if
    responses <= ``lower[b, k]`` or toxicities >= ``upper[b, k]``. Returns, per set, the
    probability of reaching the end without stopping (``go``), of stopping at the futility
    boundary (``futility``; the toxicity boundary may be crossed at the same look), at the
    toxicity boundary only (``toxicity``), of stopping before ``N`` (``early``), and E[N].
    """
    n_look = np.asarray(looks, dtype=np.int64)
    n_max = int(n_look[-1])
    size = lower.shape[0]
    # with no toxicity endpoint the toxicity axis never moves: keep it of width 1
    width_t = n_max + 1 if theta[0] + theta[2] > 0 else 1
    dist = np.zeros((size, n_max + 1, width_t))
    dist[:, 0, 0] = 1.0
    x = np.arange(n_max + 1)[None, :, None]
    y = np.arange(width_t)[None, None, :]
    fut = np.zeros(size)
    tox = np.zeros(size)
    early = np.zeros(size)
    e_n = np.zeros(size)
    done = 0
    for k, n in enumerate(n_look):
        for _ in range(int(n) - done):
            if width_t == 1:
                moved = dist * theta[3]
                moved[:, 1:, :] += dist[:, :-1, :] * theta[1]
                dist = moved
            else:
                dist = _step(dist, theta)
        done = int(n)
        hit_f = x <= lower[:, k][:, None, None]
        hit_t = y >= upper[:, k][:, None, None]
        mass_f = (dist * hit_f).sum(axis=(1, 2))
        mass_t = (dist * (hit_t & ~hit_f)).sum(axis=(1, 2))
        fut += mass_f
        tox += mass_t
        if k < len(n_look) - 1:
            early += mass_f + mass_t
        e_n += int(n) * (mass_f + mass_t)
        dist = np.where(hit_f | hit_t, 0.0, dist)
    go = dist.sum(axis=(1, 2))
    e_n += n_max * go
    return {"go": go, "futility": fut, "toxicity": tox, "early": early, "expected_n": e_n}


class BOP2(Design):
    """BOP2 design (Zhou, Lee & Yuan 2017) with futility, and optionally toxicity, stopping.

    Parameters
    ----------
    null, alternative : float or four floats
        The response rate under H0 and H1 (efficacy only), or the probabilities of the four
        joint outcomes (response and toxicity, response only, toxicity only, neither) under
        H0 and H1 (efficacy and toxicity). ``phi_E`` and ``phi_T`` are the null's marginal
        response and toxicity rates; the type I error is computed under the null given.
    looks : sequence of int
        Sample sizes of the interim analyses (``N`` may be included or not).
    N : int
        Maximum sample size, the final analysis.
    alpha : float
        Largest acceptable type I error.
    lam, gamma : float, optional
        Fix ``lambda`` and ``gamma`` of ``C(n)`` instead of optimising them.
    lambdas, gammas : sequences of float, optional
        The grid searched (default: lambda 0.01..0.99 by 0.01, gamma 0..3 by 0.05).
    prior : sequence of float, optional
        Beta (a, b) or Dirichlet (four parameters) prior; default the null with an effective
        sample size of one, as in the paper.

    Examples
    --------
    >>> d = BOP2(0.2, 0.4, looks=[10, 20, 30], N=40, alpha=0.1)
    >>> d.boundary_table()["stop_if_responses_le"].tolist()
    [0, 2, 5, 11]
    >>> d.decide({"responses": 0, "n": 10}).stop
    True
    """

    name = "bop2"
    oc_methods = ("exact",)

    def __init__(
        self,
        null: float | Sequence[float],
        alternative: float | Sequence[float],
        looks: Sequence[int],
        N: int,
        alpha: float = 0.1,
        *,
        lam: float | None = None,
        gamma: float | None = None,
        lambdas: Sequence[float] | None = None,
        gammas: Sequence[float] | None = None,
        prior: Sequence[float] | None = None,
    ) -> None:
        self.null = _probabilities(null, "null")
        self.alternative = _probabilities(alternative, "alternative")
        self.joint = bool(np.ndim(null) and np.size(null) == 4)
        if self.joint != bool(np.ndim(alternative) and np.size(alternative) == 4):
            raise ValueError("alternative: give it in the same form as null")
        self.N = check_count(N, "N", minimum=1)
        sizes = sorted({check_count(v, "looks", minimum=1) for v in looks} | {self.N})
        if sizes[-1] != self.N:
            raise ValueError(f"looks: interim sample sizes must be below N = {self.N}")
        self.looks: IntArray = np.asarray(sizes, dtype=np.int64)
        self.alpha = float(alpha)
        if not 0.0 < self.alpha < 1.0:
            raise ValueError(f"alpha: must lie in (0, 1), got {alpha}")
        self.phi_e = float(self.null[0] + self.null[1])
        self.phi_t = float(self.null[0] + self.null[2])
        if prior is None:
            self.prior = self.null.copy()
        else:
            pr = np.asarray(prior, dtype=np.float64)
            if pr.shape == (2,) and not self.joint:
                pr = np.array([0.0, pr[0], 0.0, pr[1]])
            if pr.shape != (4,) or np.any(pr < 0):
                raise ValueError("prior: Beta (a, b) or four Dirichlet parameters, all >= 0")
            self.prior = pr
        # marginal Beta parameters of p_E and p_T (Dirichlet aggregation)
        self.a_e = float(self.prior[0] + self.prior[1])
        self.b_e = float(self.prior[2] + self.prior[3])
        self.a_t = float(self.prior[0] + self.prior[2])
        self.b_t = float(self.prior[1] + self.prior[3])
        if self.a_e <= 0 or self.b_e <= 0 or (self.joint and (self.a_t <= 0 or self.b_t <= 0)):
            raise ValueError("prior: the marginal Beta parameters must be positive")
        self._post_e, self._post_t = self._posterior_tables()
        if (lam is None) != (gamma is None):
            raise ValueError("lam, gamma: give both or neither")
        if lam is not None and gamma is not None:
            self.lam, self.gamma = float(lam), float(gamma)
            lower, upper = self._boundaries(np.array([self.lam]), np.array([self.gamma]))
            self.lower, self.upper = lower[0], upper[0]
        else:
            self._optimise(
                DEFAULT_LAMBDAS if lambdas is None else lambdas,
                DEFAULT_GAMMAS if gammas is None else gammas,
            )
        oc = self._exact(np.stack([self.null, self.alternative]))
        self.type_i_error = float(oc["go"][0])
        self.power = float(oc["go"][1])

    # -- the rule ----------------------------------------------------------------------------

    def _posterior_tables(self) -> tuple[FloatArray, FloatArray]:
        """Pr(p_E <= phi_E | x of n) and Pr(p_T > phi_T | y of n) for every look and count:
        (K, N+1) arrays (NaN where the count exceeds n)."""
        from scipy.special import betainc

        k = len(self.looks)
        post_e = np.full((k, self.N + 1), np.nan)
        post_t = np.full((k, self.N + 1), np.nan)
        for i, n in enumerate(int(v) for v in self.looks):
            c = np.arange(n + 1, dtype=np.float64)
            post_e[i, : n + 1] = betainc(self.a_e + c, self.b_e + n - c, self.phi_e)
            if self.joint:
                post_t[i, : n + 1] = 1.0 - betainc(self.a_t + c, self.b_t + n - c, self.phi_t)
        return post_e, post_t

    def _boundaries(self, lams: FloatArray, gammas: FloatArray) -> tuple[IntArray, IntArray]:
        """(G, K) boundaries for G pairs (lambda, gamma): stop if responses <= lower or
        toxicities >= upper. Pr(p_E <= phi_E | x) falls as x grows and Pr(p_T > phi_T | y)
        rises with y, so counting the counts past the cutoff gives each boundary."""
        frac = self.looks / self.N
        cut = 1.0 - lams[:, None] * frac[None, :] ** gammas[:, None]  # (G, K)
        over_e = np.nan_to_num(self._post_e, nan=-np.inf)[None, :, :] > cut[:, :, None]
        lower = over_e.sum(axis=2) - 1
        if self.joint:
            over_t = np.nan_to_num(self._post_t, nan=-np.inf)[None, :, :] > cut[:, :, None]
            upper = self.looks[None, :] + 1 - over_t.sum(axis=2)
        else:
            upper = np.broadcast_to(self.looks + 1, lower.shape).copy()
        return lower.astype(np.int64), upper.astype(np.int64)

    def _optimise(self, lambdas: Sequence[float], gammas: Sequence[float]) -> None:
        """The paper's grid search: the largest power with type I error <= alpha; ties go to
        the smaller E[N] under the null, then to the first pair of the grid."""
        lam_grid, gam_grid = np.meshgrid(
            np.asarray(lambdas, dtype=np.float64), np.asarray(gammas, dtype=np.float64)
        )
        lams, gams = lam_grid.ravel(), gam_grid.ravel()
        if lams.size == 0 or np.any((lams <= 0) | (lams >= 1)) or np.any(gams < 0):
            raise ValueError("lambdas, gammas: lambda must lie in (0, 1) and gamma be >= 0")
        lower, upper = self._boundaries(lams, gams)
        # many pairs give the same boundaries: compute each distinct set once
        both = np.concatenate([lower, upper], axis=1)
        unique, first = np.unique(both, axis=0, return_index=True)
        k = len(self.looks)
        null = exact_crossing(self.looks.tolist(), unique[:, :k], unique[:, k:], self.null)
        alt = exact_crossing(self.looks.tolist(), unique[:, :k], unique[:, k:], self.alternative)
        ok = null["go"] <= self.alpha + 1e-12
        if not ok.any():
            raise ValueError(
                f"alpha: no (lambda, gamma) on the grid keeps the type I error <= {self.alpha}"
            )
        # lexicographic: power (desc), E[N | H0] (asc), first grid position (asc)
        order = np.lexsort((first, null["expected_n"], -alt["go"]))
        best = int(next(i for i in order if ok[i]))
        pick = int(first[best])
        self.lam, self.gamma = float(lams[pick]), float(gams[pick])
        self.lower, self.upper = unique[best, :k].copy(), unique[best, k:].copy()

    def cutoffs(self) -> FloatArray:
        """C(n) at each look."""
        return np.asarray(
            [cutoff(float(n), self.N, self.lam, self.gamma) for n in self.looks], dtype=np.float64
        )

    def boundary_table(self) -> pd.DataFrame:
        """Per look: stop if responses <= ``stop_if_responses_le`` (or toxicities >=
        ``stop_if_toxicities_ge``), as the BOP2 app prints it, with the cutoff C(n)."""
        import pandas as pd

        frame = pd.DataFrame(
            {
                "n": self.looks,
                "cutoff": self.cutoffs(),
                "stop_if_responses_le": [None if v < 0 else int(v) for v in self.lower],
            }
        )
        frame["stop_if_responses_le"] = frame["stop_if_responses_le"].astype("Int64")
        if self.joint:
            tox = [None if u > n else int(u) for u, n in zip(self.upper, self.looks, strict=True)]
            frame["stop_if_toxicities_ge"] = pd.array(tox, dtype="Int64")
        return frame

    def protocol_table(self) -> pd.DataFrame:
        """The boundaries per look (:meth:`boundary_table`)."""
        return self.boundary_table()

    # -- decide ------------------------------------------------------------------------------

    def _counts(self, history: object) -> tuple[int, int, int] | None:
        """(responses, toxicities, n) from a mapping or an outcome string."""
        if history is None:
            return None
        if isinstance(history, str):
            letters = "".join(tok.lstrip("0123456789") for tok in history.split()).upper()
            if not letters:
                return None
            allowed = set(JOINT_LETTERS) if self.joint else {"R", "N", "E"}
            bad = sorted(set(letters) - allowed)
            if bad:
                raise ValueError(
                    f"history: outcome letters must be {sorted(allowed)}, got {''.join(bad)!r}"
                )
            resp = sum(ch in "BRE" for ch in letters)
            tox = sum(ch in "BT" for ch in letters)
            return resp, tox, len(letters)
        if isinstance(history, Mapping):
            if "n" not in history:
                raise ValueError("history: missing n (patients evaluated)")
            resp = history.get("responses", history.get("x", 0))
            tox = history.get("toxicities", 0)
            return int(resp), int(tox), int(history["n"])
        raise ValueError(
            "history: give {'responses': x, 'toxicities': y, 'n': n} or an outcome string"
        )

    def decide(self, history: object = None) -> Decision:
        """Go/no-go after the data so far: ``decide({"responses": 3, "toxicities": 1, "n": 10})``
        or an outcome string (``"RNNRN"``; with toxicity, "B" response and toxicity, "R",
        "T", "N"). Between looks the trial continues; at ``N`` without stopping it is a go."""
        counts = self._counts(history)
        if counts is None:
            return start_decision()
        resp, tox, n = counts
        n = check_count(n, "n", minimum=0)
        resp = check_count(resp, "responses", minimum=0)
        tox = check_count(tox, "toxicities", minimum=0)
        if resp > n or tox > n:
            raise ValueError(f"responses, toxicities: cannot exceed n = {n}")
        if tox and not self.joint:
            raise ValueError("toxicities: this design monitors efficacy only")
        if n > self.N:
            raise ValueError(f"n: {n} exceeds the maximum sample size {self.N}")
        hit = np.flatnonzero(self.looks == n)
        estimates: dict[str, Any] = {"responses": resp, "n": n}
        if self.joint:
            estimates["toxicities"] = tox
        if not hit.size:
            return continue_decision(estimates, f"{resp}/{n} responses: continue to the next look")
        k = int(hit[0])
        estimates["cutoff"] = float(self.cutoffs()[k])
        estimates["prob_response_le_null"] = float(self._post_e[k, resp])
        if self.joint:
            estimates["prob_toxicity_gt_null"] = float(self._post_t[k, tox])
        if resp <= self.lower[k]:
            return stop_decision(
                "stop: futility (no-go)",
                estimates,
                f"{resp}/{n} responses <= {int(self.lower[k])}: stop for futility",
                crossed="lower",
            )
        if self.joint and tox >= self.upper[k]:
            return stop_decision(
                "stop: toxicity (no-go)",
                estimates,
                f"{tox}/{n} toxicities >= {int(self.upper[k])}: stop for toxicity",
                crossed="upper",
            )
        if n == self.N:
            return stop_decision(
                "stop: final analysis, treatment promising (go)",
                estimates,
                f"{resp}/{n} responses at the final analysis: the treatment is promising",
            )
        return continue_decision(estimates, f"{resp}/{n} responses: continue to the next look")

    def decision_table(self) -> pd.DataFrame:
        """Every (look, count) with its action: rows for responses (toxicities below their
        boundary) and, with toxicity, rows for toxicities (responses above theirs); the rule
        stops if either row says stop."""
        rows: list[dict[str, Any]] = []
        for k, n in enumerate(int(v) for v in self.looks):
            for x in range(n + 1):
                d = self.decide({"responses": x, "toxicities": 0, "n": n})
                rows.append(self._row(f"{x} responses in {n}", n, x, "response", d))
            if self.joint:
                for y in range(n + 1):
                    # responses just above the futility boundary, so that only toxicity acts
                    resp = min(max(int(self.lower[k]) + 1, 0), n)
                    d = self.decide({"responses": resp, "toxicities": y, "n": n})
                    rows.append(self._row(f"{y} toxicities in {n}", n, y, "toxicity", d))
        return decision_frame(rows)

    @staticmethod
    def _row(state: str, n: int, events: int, endpoint: str, d: Decision) -> dict[str, Any]:
        return {
            "state": state,
            "path": None,
            "n": n,
            "events": events,
            "endpoint": endpoint,
            "action": d.action,
            "next_dose": d.dose,
            "reason": d.reason,
        }

    # -- operating characteristics -----------------------------------------------------------

    def _truths(self, truth: Any) -> FloatArray:
        """True scenarios as (S, 4) joint probabilities."""
        arr = np.asarray(truth, dtype=np.float64)
        if self.joint:
            arr = np.atleast_2d(arr)
            if arr.ndim != 2 or arr.shape[1] != 4:
                raise ValueError("truth: four joint probabilities per scenario")
            return np.stack([_probabilities(row, "truth") for row in arr])
        arr = np.atleast_1d(arr)
        if arr.ndim != 1 or np.any(np.isnan(arr)) or np.any((arr < 0) | (arr > 1)):
            raise ValueError(f"truth: response rates must lie in [0, 1], got {arr.tolist()}")
        return np.stack([np.array([0.0, p, 0.0, 1.0 - p]) for p in arr])

    def _exact(self, thetas: FloatArray) -> dict[str, FloatArray]:
        lower, upper = self.lower[None, :], self.upper[None, :]
        parts = [exact_crossing(self.looks.tolist(), lower, upper, th) for th in thetas]
        return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}

    def operating_characteristics(
        self, truth: Any, method: str = "exact", n_sims: int = 10_000, seed: int | None = None
    ) -> ScenarioCharacteristics:
        """Exact probabilities of a go (reaching N without stopping: the probability of
        claiming the treatment promising), of stopping for futility or toxicity, of stopping
        early, and E[N], for each true scenario (a response rate, or four joint
        probabilities)."""
        import pandas as pd

        self._check_method(method)
        thetas = self._truths(truth)
        oc = self._exact(thetas)
        cols: dict[str, Any] = {"p_response": thetas[:, 0] + thetas[:, 1]}
        if self.joint:
            cols["p_toxicity"] = thetas[:, 0] + thetas[:, 2]
        cols.update(
            {
                "prob_go": oc["go"],
                "prob_stop_futility": oc["futility"],
                "prob_stop_early": oc["early"],
                "expected_n": oc["expected_n"],
            }
        )
        if self.joint:
            cols["prob_stop_toxicity"] = oc["toxicity"]
        return ScenarioCharacteristics(pd.DataFrame(cols), self.describe(), "exact")

    def dose_paths(self, n_cohorts: int, history: object = None, truth: Any = None) -> pd.DataFrame:
        """Every way the next ``n_cohorts`` stretches between looks can go: one row per
        number of responses (and toxicities) in the stretch, with its probability under
        ``truth``. The path writes the counts in one order ("B" before "R" or "T" before "N")
        and stands for every order with those counts."""
        import pandas as pd

        n_cohorts = check_count(n_cohorts, "n_cohorts", minimum=1)
        theta = None if truth is None else self._truths(truth)[0]
        counts = self._counts(history)
        x0, y0, n0 = counts if counts is not None else (0, 0, 0)
        if n0 and self.decide({"responses": x0, "toxicities": y0, "n": n0}).stop:
            return pd.DataFrame(columns=list(PATH_COLUMNS))
        nodes: list[tuple[str, int, int, int, float]] = [("", x0, y0, n0, 1.0)]
        rows: list[dict[str, Any]] = []
        for c, look in enumerate([int(v) for v in self.looks if v > n0][:n_cohorts], start=1):
            grown = []
            for path, x, y, n, prob in nodes:
                m = look - n
                pmf = _count_pmf(m, theta) if theta is not None else None
                tox_range = range(m + 1) if self.joint else range(1)
                for ke in range(m + 1):
                    for kt in tox_range:
                        pr = prob * float(pmf[ke, kt]) if pmf is not None else float("nan")
                        both = min(ke, kt)
                        token = "1" + (
                            "B" * both
                            + "R" * (ke - both)
                            + "T" * (kt - both)
                            + "N" * (m - ke - kt + both)
                            if self.joint
                            else "R" * ke + "N" * (m - ke)
                        )
                        new_path = (path + " " + token).strip()
                        d = self.decide({"responses": x + ke, "toxicities": y + kt, "n": look})
                        events = kt if self.joint else ke
                        rows.append(look_path_row(c, new_path, events, d, pr))
                        if not d.stop:
                            grown.append((new_path, x + ke, y + kt, look, pr))
            nodes = grown
            if not nodes:
                break
        return look_paths_frame(rows)

    def describe(self) -> str:
        """The design in words: hypotheses, looks, C(n) and the boundaries."""
        tab = self.boundary_table()
        if self.joint:
            hyp = (
                f"H0 p_E = {self.phi_e:g}, p_T = {self.phi_t:g} (joint "
                f"{', '.join(f'{v:g}' for v in self.null)}); H1 joint "
                f"{', '.join(f'{v:g}' for v in self.alternative)}"
            )
        else:
            hyp = f"H0 p_E = {self.phi_e:g}; H1 p_E = {float(self.alternative[1]):g}"
        stops = []
        for _, row in tab.iterrows():
            part = f"n = {row['n']}: responses <= {row['stop_if_responses_le']}"
            if self.joint:
                part += f" or toxicities >= {row['stop_if_toxicities_ge']}"
            stops.append(part.replace("<NA>", "none"))
        return (
            f"BOP2 ({'efficacy and toxicity' if self.joint else 'efficacy'}): {hyp}; "
            f"looks at n = {', '.join(str(int(v)) for v in self.looks)}; "
            f"C(n) = 1 - {self.lam:g} (n/{self.N})^{self.gamma:g}; "
            f"type I error {self.type_i_error:.4f} (alpha {self.alpha:g}), "
            f"power {self.power:.4f}; stop if {'; '.join(stops)}"
        )
