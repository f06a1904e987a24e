"""Calendar time for simulated dose-finding trials: when patients arrive, when their DLTs occur,
who leaves before the end of the DLT window, and what the trial's clock says at the end.

TITE-CRM (:mod:`~earlyphase.designs.tite_crm`), TITE-BOIN (:mod:`~earlyphase.designs.tite_boin`)
and backfill (:mod:`~earlyphase.designs.backfill`) simulate trials in calendar time; the parts
that do not depend on the design's rule live here, drawn for all simulated trials at once
(rows: trials, columns: patients in order of enrolment).

Accrual
    Arrivals form a process of unit intensity, mapped onto calendar time: gaps of mean
    ``mean_gap`` that are exponential (``"poisson"``, dfcrm ``titesim`` and Yuan et al. 2018),
    equal (``"fixed"``) or uniform on (0, 2 ``mean_gap``) (``"uniform"``, the BF-BOIN web
    application's accrual as R ``bfboin`` reproduces it). A ``schedule`` of
    ``(from_time, rate)`` pairs makes the rate piecewise constant (e.g. slow accrual while
    sites open): the unit-intensity arrival times are mapped through the inverse of the
    cumulative rate, so a Poisson arrival stream stays a (non-homogeneous) Poisson process.
Screen failures
    Each arrival is enrolled with probability 1 - ``screen_fail``; the number of arrivals
    screened per enrolled patient is geometric, and the gap before an enrolled patient is the
    sum of that many unit gaps (a Gamma variable for Poisson arrivals: thinning a Poisson
    process keeps it Poisson, with the rate times 1 - ``screen_fail``).
Time to DLT
    A patient with a DLT within the window ``w`` has it at a time uniform on (0, w)
    (``"uniform"``, ``titesim``'s ``surv = "uniform"``), or Weibull (``"weibull"``): with
    S(t) = exp(-lambda t^a), 1 - S(w) = p and 1 - S(w / 2) = (1 - late) p, so that ``late`` of
    the DLTs occur in the second half of the window (R ``TITEgBOIN``'s ``alpha1``; with
    late = 0.5 this is R ``bfboin``'s Weibull). Given a DLT, inversion of the truncated
    distribution at a uniform u gives t = w {log(1 - p u) / log(1 - p)}^(1 / a).
Dropout
    With probability ``dropout`` a patient leaves before the end of the window, at a time
    uniform on it. A DLT that would have occurred after leaving is never seen; the patient's
    follow-up stops at the dropout time and counts as partial follow-up from then on (the
    TITE-CRM weight stays at dropout / w, the TITE-BOIN follow-up fraction likewise), as a
    patient censored at that time in the weighted likelihood of Cheung & Chappell (2000).

References
----------
Cheung YK, Chappell R (2000). Sequential designs for phase I clinical trials with late-onset
    toxicities. Biometrics 56:1177-1182.
Yuan Y, Lin R, Li D, Nie L, Warren KE (2018). Time-to-event Bayesian optimal interval design to
    accelerate phase I trials. Clin Cancer Res 24(20):4921-4930.
Zhao Y, Yuan Y, Korn EL, Freidlin B (2024). Backfilling patients in phase I dose-escalation
    trials using Bayesian optimal interval design (BOIN). Clin Cancer Res 30(4):673-679.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

__all__ = [
    "ACCRUALS",
    "TIMES_TO_DLT",
    "Accrual",
    "arrivals",
    "check_fraction",
    "dlt_times",
    "dropout_times",
    "treated_while_pending",
    "unit_gaps_of",
]

ACCRUALS: tuple[str, ...] = ("poisson", "fixed", "uniform")
TIMES_TO_DLT: tuple[str, ...] = ("uniform", "weibull")


def check_fraction(value: float, name: str, *, upper_open: bool = True) -> float:
    """A probability in [0, 1) (or [0, 1]), the error naming the setting."""
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (value >= 1 if upper_open else value > 1):
        bound = "[0, 1)" if upper_open else "[0, 1]"
        raise ValueError(f"{name}: must be in {bound}, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Accrual:
    """How patients arrive: ``kind`` (one of :data:`ACCRUALS`), the mean gap between arrivals
    (in the time unit of the trial), an optional piecewise-constant rate ``schedule`` of
    ``(from_time, patients per unit time)`` pairs (overriding the mean gap; the first pair
    starts at 0), the fraction ``screen_fail`` of arrivals not enrolled, and whether the first
    arrival comes one gap after the opening (``first="gap"``, as dfcrm ``titesim``) or at the
    opening (``"zero"``, as R ``bfboin``)."""

    kind: str = "poisson"
    mean_gap: float = 1.0
    schedule: tuple[tuple[float, float], ...] | None = None
    screen_fail: float = 0.0
    first: str = "gap"

    def __post_init__(self) -> None:
        if self.kind not in ACCRUALS:
            raise ValueError(f"accrual: must be one of {list(ACCRUALS)}, got {self.kind!r}")
        if not (math.isfinite(self.mean_gap) and self.mean_gap > 0):
            raise ValueError(f"accrual_rate: must be > 0, got a mean gap of {self.mean_gap!r}")
        check_fraction(self.screen_fail, "screen_fail")
        if self.first not in ("gap", "zero"):
            raise ValueError(f"first: must be 'gap' or 'zero', got {self.first!r}")
        if self.schedule is not None:
            pts = [(float(a), float(b)) for a, b in self.schedule]
            if not pts or pts[0][0] != 0.0:
                raise ValueError("schedule: (from_time, rate) pairs, the first from time 0")
            if any(b <= a for (a, _), (b, _) in itertools.pairwise(pts)):
                raise ValueError("schedule: the from_times must increase")
            if any(not (math.isfinite(r) and r > 0) for _, r in pts):
                raise ValueError("schedule: every rate must be > 0 patients per unit time")
            object.__setattr__(self, "schedule", tuple(pts))

    def calendar(self, unit: FloatArray) -> FloatArray:
        """Calendar times of unit-intensity times: the inverse of the cumulative rate."""
        if self.schedule is None:
            return np.asarray(unit * self.mean_gap, dtype=np.float64)
        starts = np.array([a for a, _ in self.schedule])
        rates = np.array([r for _, r in self.schedule])
        # cumulative expected arrivals at each breakpoint; beyond the last, the last rate
        cum = np.concatenate(([0.0], np.cumsum(np.diff(starts) * rates[:-1])))
        seg = np.searchsorted(cum, unit, side="right") - 1
        return np.asarray(starts[seg] + (unit - cum[seg]) / rates[seg], dtype=np.float64)


def arrivals(
    rng: np.random.Generator, n_sims: int, n_patients: int, accrual: Accrual
) -> tuple[FloatArray, IntArray]:
    """Arrival times of the enrolled patients of ``n_sims`` trials (rows, increasing) and the
    number of people screened per trial to enrol them (module docstring).

    Without screen failures or schedule, Poisson arrivals are ``rng.exponential(mean_gap,
    (n_sims, n_patients))`` accumulated, the draws dfcrm-style simulations always used."""
    unit_gaps, screened = unit_gaps_of(rng, n_sims, n_patients, accrual)
    unit = np.cumsum(unit_gaps, axis=1)
    if accrual.first == "zero" and n_patients:
        unit = unit - unit[:, :1]
    return accrual.calendar(unit), screened.sum(axis=1)


def unit_gaps_of(
    rng: np.random.Generator, n_sims: int, n_patients: int, accrual: Accrual
) -> tuple[FloatArray, IntArray]:
    """Gaps before each enrolled patient on the unit-intensity scale (map their running sum
    through :meth:`Accrual.calendar`), and the people screened for each (>= 1)."""
    t, m = n_sims, n_patients
    f = accrual.screen_fail
    if f > 0:
        screened = rng.geometric(1.0 - f, (t, m)).astype(np.int64)  # >= 1 per enrolled patient
    else:
        screened = np.ones((t, m), dtype=np.int64)
    if accrual.kind == "poisson":
        if f > 0:
            unit_gaps = rng.gamma(screened.astype(np.float64), 1.0)
        else:
            unit_gaps = rng.exponential(1.0, (t, m))
    elif accrual.kind == "fixed":
        unit_gaps = screened.astype(np.float64)
    else:
        # a sum of k uniforms on (0, 2) per enrolled patient; k is small, so draw up to its max
        top = int(screened.max()) if screened.size else 1
        u = rng.uniform(0.0, 2.0, (t, m, top))
        unit_gaps = np.where(np.arange(top)[None, None, :] < screened[:, :, None], u, 0.0).sum(
            axis=2
        )
    return np.asarray(unit_gaps, dtype=np.float64), screened


def dlt_times(
    p_at: FloatArray, u: FloatArray, window: float, kind: str = "uniform", late: float = 0.5
) -> FloatArray:
    """Time from the first dose to the DLT, for patients who have one within ``window``, from
    uniforms ``u``; ``p_at`` is the DLT probability of each patient's dose (used by the
    Weibull only; module docstring)."""
    if kind == "uniform":
        return np.asarray(u * window, dtype=np.float64)
    if kind != "weibull":
        raise ValueError(f"time_to_dlt: must be one of {list(TIMES_TO_DLT)}, got {kind!r}")
    if not 0 < late < 1:
        raise ValueError(f"late_fraction: must be in (0, 1), got {late!r}")
    pd_ = np.clip(p_at, 1e-12, 1 - 1e-12)
    # shape a from 1 - S(w) = p and 1 - S(w / 2) = (1 - late) p
    a = np.log(np.log1p(-pd_) / np.log1p(-(1 - late) * pd_)) / math.log(2.0)
    return np.asarray(window * (np.log1p(-pd_ * u) / np.log1p(-pd_)) ** (1 / a), dtype=np.float64)


def dropout_times(
    rng: np.random.Generator, shape: tuple[int, int], window: float, dropout: float
) -> FloatArray:
    """Time from the first dose at which each patient leaves: uniform on the window with
    probability ``dropout``, infinite otherwise (nothing is drawn when ``dropout`` is 0, so
    the other draws of a simulation do not change)."""
    check_fraction(dropout, "dropout")
    if dropout == 0:
        return np.full(shape, np.inf)
    leave = rng.random(shape) < dropout
    return np.where(leave, rng.random(shape) * window, np.inf)


def treated_while_pending(on: BoolArray, enrol: FloatArray, resolve: FloatArray) -> IntArray:
    """Per trial, the patients dosed while an earlier patient's DLT outcome was still unknown
    (``resolve``: when each patient's outcome became known; ``on`` marks enrolled patients)."""
    t = on.shape[0]
    known = np.where(on, resolve, -np.inf)
    prev = np.concatenate(
        (np.full((t, 1), -np.inf), np.maximum.accumulate(known, axis=1)[:, :-1]), axis=1
    )
    return np.asarray((on & (prev > enrol)).sum(axis=1), dtype=np.int64)


def schedule_from(
    value: Sequence[Sequence[float]] | None,
) -> tuple[tuple[float, float], ...] | None:
    """A schedule as ``(from_time, rate)`` pairs, from any sequence of pairs (None: none)."""
    if value is None:
        return None
    try:
        return tuple((float(a), float(b)) for a, b in value)
    except (TypeError, ValueError):
        raise ValueError("schedule: give (from_time, rate) pairs") from None
