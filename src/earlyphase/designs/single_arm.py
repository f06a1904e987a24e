"""Single-arm monitoring designs: boundaries on the number of events at each look.

A single-arm design monitors a count ``x`` (responders, survivors, toxicities) out of the
``n`` patients evaluated so far. At each look it can stop for reaching the *upper* boundary
(``x >= upper[n]``: efficacy shown, or too many toxicities) or the *lower* boundary
(``x <= lower[n]``: futility). Thall-Simon, predictive-probability, Bayesian and
Ivanova-Qaqish-Schell monitoring all reduce to such boundaries, and share:

- ``decide(x, n)``: the decision after ``x`` events in ``n`` patients;
- ``decision_table()``: the boundaries per look, as a protocol prints them;
- ``operating_characteristics(p)``: exact probabilities of crossing each boundary and the
  expected sample size, by dynamic programming over the number of events (no simulation).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from earlyphase.stats._checks import check_count

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
NONE_LOWER = -1  # "no futility stop at this look"


@dataclass(frozen=True)
class MonitorDecision:
    """Decision after ``x`` events in ``n`` patients."""

    x: int
    n: int
    action: str  # "continue", "stop: upper boundary", "stop: lower boundary", "end of trial"
    crossed: str | None  # "upper", "lower" or None
    message: str

    @property
    def stop(self) -> bool:
        return self.crossed is not None or self.action == "end of trial"

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class BoundaryOC:
    """Exact operating characteristics of a boundary design at one or more true rates."""

    table: pd.DataFrame  # one row per true rate

    def __getitem__(self, key: str) -> FloatArray:
        return np.asarray(self.table[key], dtype=np.float64)


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


class SingleArmDesign:
    """Base of single-arm boundary designs; subclasses fill ``looks``, ``lower``, ``upper``."""

    looks: IntArray
    lower: IntArray  # stop (lower) if x <= lower; -1 = no lower stop
    upper: IntArray  # stop (upper) if x >= upper; n + 1 = no upper stop
    upper_meaning: str = "declare the treatment promising"
    lower_meaning: str = "stop for futility"
    event_name: str = "responses"

    def _look_index(self, n: int) -> int | None:
        hit = np.flatnonzero(self.looks == n)
        return int(hit[0]) if hit.size else None

    def decide(self, x: int, n: int) -> MonitorDecision:
        """What to do after ``x`` events among ``n`` evaluated patients."""
        n = check_count(n, "n", minimum=0)
        x = check_count(x, "x", minimum=0)
        if x > n:
            raise ValueError(f"x: {x} {self.event_name} cannot exceed n = {n} patients")
        n_max = int(self.looks[-1])
        if n > n_max:
            raise ValueError(f"n: {n} exceeds the maximum sample size {n_max}")
        k = self._look_index(n)
        if k is not None and x >= self.upper[k]:
            return MonitorDecision(
                x,
                n,
                "stop: upper boundary",
                "upper",
                f"{x}/{n} {self.event_name} reaches the upper boundary "
                f"({int(self.upper[k])}): {self.upper_meaning}",
            )
        if k is not None and x <= self.lower[k]:
            return MonitorDecision(
                x,
                n,
                "stop: lower boundary",
                "lower",
                f"{x}/{n} {self.event_name} is at or below the lower boundary "
                f"({int(self.lower[k])}): {self.lower_meaning}",
            )
        if n == n_max:
            return MonitorDecision(
                x,
                n,
                "end of trial",
                None,
                f"{x}/{n}: maximum sample size reached without crossing a boundary",
            )
        return MonitorDecision(x, n, "continue", None, f"{x}/{n}: continue enrolling")

    def decision_table(self) -> pd.DataFrame:
        """Boundaries per look: stop low if events <= ``lower``, stop high if >= ``upper``.

        Values that cannot occur (no boundary at that look) are shown as missing.
        """
        lower = [None if v < 0 else int(v) for v in self.lower]
        upper = [None if u > n else int(u) for u, n in zip(self.upper, self.looks, strict=True)]
        frame = pd.DataFrame(
            {"n": self.looks, "lower_stop_if_le": lower, "upper_stop_if_ge": upper}
        )
        for col in ("lower_stop_if_le", "upper_stop_if_ge"):
            frame[col] = frame[col].astype("Int64")
        return frame

    def operating_characteristics(self, p: float | Sequence[float]) -> pd.DataFrame:
        """Exact P(crossing each boundary), P(no crossing) and E[N] for true rate(s) ``p``."""
        ps = np.atleast_1d(np.asarray(p, dtype=np.float64))
        if ps.ndim != 1 or np.any((ps < 0) | (ps > 1)) or np.any(np.isnan(ps)):
            raise ValueError(f"p: true rates must lie in [0, 1], got {ps.tolist()}")
        return boundary_crossing(self.looks, self.lower, self.upper, ps)
