"""Single-arm monitoring designs: boundaries on the number of events at each look.

A single-arm design monitors a count ``x`` (responders, survivors, toxicities) out of the
``n`` patients evaluated so far. At each look it can stop for reaching the *upper* boundary
(``x >= upper[n]``: efficacy shown, or too many toxicities) or the *lower* boundary
(``x <= lower[n]``: futility). Thall-Simon, predictive-probability, Bayesian and
Ivanova-Qaqish-Schell monitoring all reduce to such boundaries, and share:

- ``decide(x, n)``: the decision after ``x`` events in ``n`` patients;
- ``boundary_table()``: the boundaries per look, as a protocol prints them, and
  ``decision_table()``, every (look, events) state with its action;
- ``operating_characteristics(truth)``: exact probabilities of crossing each boundary and the
  expected sample size, by dynamic programming over the number of events (or simulated).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from earlyphase.designs.contract import PATH_COLUMNS, Decision, Design, decision_frame
from earlyphase.engine.results import ScenarioCharacteristics
from earlyphase.stats.checks import check_count

if TYPE_CHECKING:
    import pandas as pd

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def boundary_crossing(
    looks: ArrayLike, lower: ArrayLike, upper: ArrayLike, p: ArrayLike
) -> pd.DataFrame:
    """Exact crossing probabilities for boundaries on a binomial count.

    At look ``n_k`` the trial stops at the upper boundary if ``x >= upper_k`` and at the lower
    boundary if ``x <= lower_k`` (use ``upper_k > n_k`` / ``lower_k < 0`` for "no boundary").
    Returns, per true rate: P(cross upper) and P(cross lower) overall and before the final
    look, P(reach the end without crossing), and E[N]. With only an upper boundary this is
    R ``clinfun::bdrycross.prob`` (stop if x > r_k, i.e. upper_k = r_k + 1).
    """
    import pandas as pd

    n_arr = np.asarray(looks, dtype=np.int64)
    lo = np.asarray(lower, dtype=np.int64)
    up = np.asarray(upper, dtype=np.int64)
    ps = np.atleast_1d(np.asarray(p, dtype=np.float64))
    if not (len(n_arr) == len(lo) == len(up)) or len(n_arr) == 0:
        raise ValueError("looks, lower, upper: need one boundary value per look")
    if np.any(np.diff(n_arr) < 1) or n_arr[0] < 1:
        raise ValueError("looks: must be increasing sample sizes >= 1")
    n_max = int(n_arr[-1])
    dist = np.zeros((len(ps), n_max + 1))
    dist[:, 0] = 1.0
    x = np.arange(n_max + 1)
    p_up = np.zeros(len(ps))
    p_lo = np.zeros(len(ps))
    up_before = np.zeros(len(ps))
    lo_before = np.zeros(len(ps))
    e_n = np.zeros(len(ps))
    look_at = {int(v): i for i, v in enumerate(n_arr)}
    for n in range(1, n_max + 1):
        shifted = np.zeros_like(dist)
        shifted[:, 1:] = dist[:, :-1]
        dist = dist * (1 - ps[:, None]) + shifted * ps[:, None]
        k = look_at.get(n)
        if k is None:
            continue
        hit_up = x[None, :] >= up[k]
        hit_lo = x[None, :] <= lo[k]
        mass_up = (dist * hit_up).sum(axis=1)
        mass_lo = (dist * (hit_lo & ~hit_up)).sum(axis=1)
        p_up += mass_up
        p_lo += mass_lo
        if n < n_max:
            up_before += mass_up
            lo_before += mass_lo
        e_n += n * (mass_up + mass_lo)
        dist = np.where(hit_up | hit_lo, 0.0, dist)
    remaining = dist.sum(axis=1)
    e_n += n_max * remaining
    return pd.DataFrame(
        {
            "p": ps,
            "prob_upper": p_up,
            "prob_lower": p_lo,
            "prob_upper_before_final": up_before,
            "prob_lower_before_final": lo_before,
            "prob_no_crossing": remaining,
            "expected_n": e_n,
        }
    )


def start_decision() -> Decision:
    """Before the first patient: enrol."""
    return Decision(dose=1, stop=False, reason="start", action="start", message="start")


def continue_decision(estimates: Mapping[str, Any], message: str) -> Decision:
    """Keep enrolling (between looks, or at a look where no boundary is crossed)."""
    return Decision(
        dose=1,
        stop=False,
        reason="continue",
        action="continue",
        estimates=estimates,
        message=message,
    )


def stop_decision(
    reason: str, estimates: Mapping[str, Any], message: str, crossed: str | None = None
) -> Decision:
    """Stop at a look: ``crossed`` names the boundary ("upper" or "lower"), None when the
    trial ends at its maximum sample size without crossing one."""
    return Decision(
        dose=None,
        stop=True,
        reason=reason,
        action="stop",
        crossed=crossed,
        estimates=estimates,
        message=message,
    )


def look_path_row(
    cohort: int, path: str, events: int, d: Decision, probability: float
) -> dict[str, object]:
    """The row of a dose-path table for the stretch to a look ending in ``path`` with
    ``events`` events there (``n_dlt``) and the decision ``d`` taken at the look."""
    return {
        "cohort": cohort,
        "path": path,
        "dose": 1,
        "n_dlt": events,
        "next": d.dose,
        "decision": d.reason,
        "selected": None,
        "probability": probability,
    }


def look_paths_frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    """Rows of :func:`look_path_row` in the :data:`PATH_COLUMNS` layout, with nullable
    integer columns."""
    import pandas as pd

    frame = pd.DataFrame(rows, columns=list(PATH_COLUMNS))
    for col in ("next", "selected"):
        frame[col] = frame[col].astype("Int64")
    return frame


class SingleArmDesign(Design):
    """Base of single-arm boundary designs; subclasses fill ``looks``, ``lower``, ``upper``.

    The design follows :class:`earlyphase.designs.contract.Design` with one dose level: a
    history is ``x`` events in ``n`` evaluated patients (or an outcome string, ``N`` for no
    event and any other letter for an event), a "cohort" is the stretch of patients up to the
    next look, and ``truth`` is the true event rate (or several).
    """

    looks: IntArray
    lower: IntArray  # stop (lower) if x <= lower; -1 = no lower stop
    upper: IntArray  # stop (upper) if x >= upper; n + 1 = no upper stop
    upper_meaning: str = "declare the treatment promising"
    lower_meaning: str = "stop for futility"
    event_name: str = "responses"
    endpoint: str = "response"

    def _look_index(self, n: int) -> int | None:
        hit = np.flatnonzero(self.looks == n)
        return int(hit[0]) if hit.size else None

    def _counts(self, history: object, n: int | None) -> tuple[int, int] | None:
        """(x, n) from any accepted history; None before the first patient."""
        if history is None and n is None:
            return None
        if isinstance(history, str):
            if n is not None:
                raise ValueError("n: give either an outcome string or x and n, not both")
            letters = "".join(tok.lstrip("0123456789") for tok in history.split())
            if not letters:
                return None
            if not letters.isalpha():
                raise ValueError(f"outcomes: letters only after each look's dose, got {history!r}")
            return sum(ch.upper() != "N" for ch in letters), len(letters)
        if isinstance(history, Mapping):
            missing = [key for key in ("x", "n") if key not in history]
            if missing:
                raise ValueError(f"history: missing {', '.join(missing)} (events x, patients n)")
            return int(history["x"]), int(history["n"])
        if n is None:
            raise ValueError("n: the number of evaluated patients is required with x")
        return int(history) if history is not None else 0, n  # type: ignore[call-overload]

    def decide(self, history: object = None, n: int | None = None) -> Decision:
        """What to do after ``x`` events among ``n`` evaluated patients: ``decide(x, n)``,
        ``decide({"x": x, "n": n})`` or ``decide("1NRNN")``."""
        counts = self._counts(history, n)
        if counts is None:
            return start_decision()
        x = check_count(counts[0], "x", minimum=0)
        n = check_count(counts[1], "n", minimum=0)
        if x > n:
            raise ValueError(f"x: {x} {self.event_name} cannot exceed n = {n} patients")
        n_max = int(self.looks[-1])
        if n > n_max:
            raise ValueError(f"n: {n} exceeds the maximum sample size {n_max}")
        k = self._look_index(n)
        estimates: dict[str, object] = {"x": x, "n": n, "observed_rate": x / n if n else None}
        if k is not None:
            estimates["lower_stop_if_le"] = None if self.lower[k] < 0 else int(self.lower[k])
            estimates["upper_stop_if_ge"] = None if self.upper[k] > n else int(self.upper[k])
        if k is not None and x >= self.upper[k]:
            return stop_decision(
                f"stop: upper boundary ({self.upper_meaning})",
                estimates,
                f"{x}/{n} {self.event_name} reaches the upper boundary "
                f"({int(self.upper[k])}): {self.upper_meaning}",
                crossed="upper",
            )
        if k is not None and x <= self.lower[k]:
            return stop_decision(
                f"stop: lower boundary ({self.lower_meaning})",
                estimates,
                f"{x}/{n} {self.event_name} is at or below the lower boundary "
                f"({int(self.lower[k])}): {self.lower_meaning}",
                crossed="lower",
            )
        if n == n_max:
            return stop_decision(
                "stop: maximum sample size reached",
                estimates,
                f"{x}/{n}: maximum sample size reached without crossing a boundary",
            )
        return continue_decision(estimates, f"{x}/{n}: continue enrolling")

    def boundary_table(self) -> pd.DataFrame:
        """Boundaries per look: stop low if events <= ``lower``, stop high if >= ``upper``.

        Values that cannot occur (no boundary at that look) are shown as missing.
        """
        import pandas as pd

        lower = [None if v < 0 else int(v) for v in self.lower]
        upper = [None if u > n else int(u) for u, n in zip(self.upper, self.looks, strict=True)]
        frame = pd.DataFrame(
            {"n": self.looks, "lower_stop_if_le": lower, "upper_stop_if_ge": upper}
        )
        for col in ("lower_stop_if_le", "upper_stop_if_ge"):
            frame[col] = frame[col].astype("Int64")
        return frame

    def protocol_table(self) -> pd.DataFrame:
        """The boundaries per look (:meth:`boundary_table`)."""
        return self.boundary_table()

    def decision_table(self) -> pd.DataFrame:
        """Every (look, events) state with its action (:data:`DECISION_COLUMNS`)."""
        rows = []
        for n in (int(v) for v in self.looks):
            for x in range(n + 1):
                d = self.decide(x, n)
                rows.append(
                    {
                        "state": f"{x} {self.event_name} in {n}",
                        "path": None,
                        "n": n,
                        "events": x,
                        "endpoint": self.endpoint,
                        "action": d.action,
                        "next_dose": d.dose,
                        "reason": d.reason,
                    }
                )
        return decision_frame(rows)

    def _truth(self, truth: float | Sequence[float]) -> FloatArray:
        ps = np.atleast_1d(np.asarray(truth, dtype=np.float64))
        if ps.ndim != 1 or ps.size == 0 or np.any(np.isnan(ps)) or np.any((ps < 0) | (ps > 1)):
            raise ValueError(f"truth: true rates must lie in [0, 1], got {ps.tolist()}")
        return ps

    def operating_characteristics(
        self,
        truth: float | Sequence[float],
        method: str = "exact",
        n_sims: int = 10_000,
        seed: int | None = None,
    ) -> ScenarioCharacteristics:
        """P(crossing each boundary), P(no crossing) and E[N] for true rate(s) ``truth``.

        ``method="exact"`` sums the binomial probabilities look by look (the same
        recursion as R ``clinfun::bdrycross.prob``); ``method="simulate"`` runs ``n_sims``
        trials per rate as arrays, with Monte Carlo standard errors of the crossing
        probabilities (``mc_se_upper``, ``mc_se_lower``).
        """
        self._check_method(method)
        ps = self._truth(truth)
        if method == "exact":
            rows = boundary_crossing(self.looks, self.lower, self.upper, ps)
            return ScenarioCharacteristics(rows, self.describe(), "exact")
        n_sims = check_count(n_sims, "n_sims", minimum=1)
        rows = simulate_boundary_crossing(self.looks, self.lower, self.upper, ps, n_sims, seed)
        return ScenarioCharacteristics(rows, self.describe(), "simulate", n_sims)

    def dose_paths(
        self, n_cohorts: int, history: object = None, truth: float | None = None
    ) -> pd.DataFrame:
        """Every way the next ``n_cohorts`` stretches between looks can go: one row per number
        of events in the stretch (``n_dlt``), with its binomial probability under ``truth``."""
        import pandas as pd

        n_cohorts = check_count(n_cohorts, "n_cohorts", minimum=1)
        p = None if truth is None else float(self._truth(truth)[0])
        counts = self._counts(history, None) if history is not None else None
        x0, n0 = counts if counts is not None else (0, 0)
        if n0 and self.decide(x0, n0).stop:
            return pd.DataFrame(columns=list(PATH_COLUMNS))
        looks = [int(v) for v in self.looks if v > n0]
        nodes = [("", x0, n0, 1.0)]
        rows: list[dict[str, object]] = []
        for c, look in enumerate(looks[:n_cohorts], start=1):
            grown = []
            for path, x, n, prob in nodes:
                m = look - n
                for k in range(m + 1):
                    pr = prob * float(binom_pmf(k, m, p)) if p is not None else float("nan")
                    token = "1" + "N" * (m - k) + "E" * k
                    new_path = (path + " " + token).strip()
                    d = self.decide(x + k, look)
                    rows.append(look_path_row(c, new_path, k, d, pr))
                    if not d.stop:
                        grown.append((new_path, x + k, look, pr))
            nodes = grown
            if not nodes:
                break
        return look_paths_frame(rows)

    def describe(self) -> str:
        """The boundaries in words."""
        import pandas as pd

        tab = self.boundary_table()
        up = [
            f"{u} of {n}"
            for n, u in zip(tab["n"], tab["upper_stop_if_ge"], strict=True)
            if pd.notna(u)
        ]
        lo = [
            f"{v} of {n}"
            for n, v in zip(tab["n"], tab["lower_stop_if_le"], strict=True)
            if pd.notna(v)
        ]
        parts = [f"{type(self).__name__}: looks at n = {', '.join(str(v) for v in tab['n'])}"]
        if up:
            parts.append(f"{self.upper_meaning} when {self.event_name} >= {', '.join(up)}")
        if lo:
            parts.append(f"{self.lower_meaning} when {self.event_name} <= {', '.join(lo)}")
        return "; ".join(parts)


def binom_pmf(k: int, m: int, p: float) -> float:
    """Binomial probability of ``k`` events in ``m`` patients (exact, no SciPy needed)."""
    return math.comb(m, k) * p**k * (1 - p) ** (m - k)


def simulate_boundary_crossing(
    looks: ArrayLike,
    lower: ArrayLike,
    upper: ArrayLike,
    p: FloatArray,
    n_sims: int,
    seed: int | None,
) -> pd.DataFrame:
    """Monte Carlo version of :func:`boundary_crossing`: ``n_sims`` trials per rate, drawn as
    one array of cumulative event counts per rate (patient-level uniforms from ``seed``, the
    same for every rate: common random numbers)."""
    import pandas as pd

    n_arr = np.asarray(looks, dtype=np.int64)
    lo = np.asarray(lower, dtype=np.int64)
    up = np.asarray(upper, dtype=np.int64)
    u = np.random.default_rng(seed).random((n_sims, int(n_arr[-1])), dtype=np.float64)
    out = []
    for pv in p:
        x = np.cumsum(u < pv, axis=1)[:, n_arr - 1]  # (n_sims, looks): events at each look
        hit_up = x >= up[None, :]
        hit_lo = (x <= lo[None, :]) & ~hit_up
        hit = hit_up | hit_lo
        first = np.where(hit.any(axis=1), hit.argmax(axis=1), len(n_arr))
        rows = np.arange(n_sims)
        crossed = first < len(n_arr)
        at = np.minimum(first, len(n_arr) - 1)
        upper_hit = crossed & hit_up[rows, at]
        lower_hit = crossed & hit_lo[rows, at]
        before = first < len(n_arr) - 1
        n_used = np.where(crossed, n_arr[at], n_arr[-1])
        pu, pl = upper_hit.mean(), lower_hit.mean()
        out.append(
            {
                "p": float(pv),
                "prob_upper": pu,
                "prob_lower": pl,
                "prob_upper_before_final": (upper_hit & before).mean(),
                "prob_lower_before_final": (lower_hit & before).mean(),
                "prob_no_crossing": (~crossed).mean(),
                "expected_n": n_used.mean(),
                "mc_se_upper": math.sqrt(pu * (1 - pu) / n_sims),
                "mc_se_lower": math.sqrt(pl * (1 - pl) / n_sims),
            }
        )
    return pd.DataFrame(out)
