"""Trial histories: per-dose counts, or the outcome-string syntax ``"1NNN 2NTN"``.

In the string syntax (R ``escalation``, Brock 2019) each cohort is a dose level followed by one
letter per patient: ``T`` for a dose-limiting toxicity, ``N`` for none. Cohorts are separated
by spaces.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

_COHORT = re.compile(r"^(\d+)([NTnt]+)$")


@dataclass(frozen=True)
class Cohort:
    """One cohort: the dose level (1-based) and each patient's DLT indicator."""

    dose: int
    dlt: tuple[bool, ...]

    @property
    def n(self) -> int:
        return len(self.dlt)

    @property
    def n_dlt(self) -> int:
        return sum(self.dlt)


@dataclass(frozen=True)
class History:
    """What has happened so far: counts per dose level, the current dose (1-based, None before
    the first cohort) and the cohorts in order when they are known."""

    n_doses: int
    n: NDArray[np.int64]
    y: NDArray[np.int64]
    current_dose: int | None
    cohorts: tuple[Cohort, ...] = ()

    @property
    def last_cohort(self) -> Cohort | None:
        return self.cohorts[-1] if self.cohorts else None

    @property
    def total(self) -> int:
        return int(self.n.sum())


def parse_outcomes(text: str, n_doses: int) -> History:
    """Parse ``"1NNN 2NTN"`` into a :class:`History`; errors name the offending cohort.

    Examples
    --------
    >>> h = parse_outcomes("1NNN 2NTN", n_doses=3)
    >>> h.n.tolist(), h.y.tolist(), h.current_dose
    ([3, 3, 0], [0, 1, 0], 2)
    """
    cohorts: list[Cohort] = []
    for i, token in enumerate(text.split(), start=1):
        m = _COHORT.match(token)
        if not m:
            raise ValueError(
                f"outcomes: cohort {i} ({token!r}) must be a dose level followed by T/N letters, "
                "e.g. '2NTN'"
            )
        dose = int(m.group(1))
        if not 1 <= dose <= n_doses:
            raise ValueError(
                f"outcomes: cohort {i} ({token!r}) uses dose {dose}, outside 1..{n_doses}"
            )
        cohorts.append(Cohort(dose=dose, dlt=tuple(c in "Tt" for c in m.group(2))))
    n = np.zeros(n_doses, dtype=np.int64)
    y = np.zeros(n_doses, dtype=np.int64)
    for c in cohorts:
        n[c.dose - 1] += c.n
        y[c.dose - 1] += c.n_dlt
    current = cohorts[-1].dose if cohorts else None
    return History(n_doses=n_doses, n=n, y=y, current_dose=current, cohorts=tuple(cohorts))


def history_from_counts(
    n: Sequence[int], y: Sequence[int], current_dose: int | None = None
) -> History:
    """A :class:`History` from patients ``n`` and DLTs ``y`` per dose (order unknown).

    ``current_dose`` (1-based) is the dose of the last cohort; when omitted, the highest dose
    with patients is taken.
    """
    n_arr = np.asarray(n, dtype=np.int64)
    y_arr = np.asarray(y, dtype=np.int64)
    if n_arr.ndim != 1 or n_arr.shape != y_arr.shape:
        raise ValueError("n, y: must be sequences of the same length, one entry per dose")
    if (n_arr < 0).any() or (y_arr < 0).any():
        raise ValueError("n, y: counts must be >= 0")
    bad = np.flatnonzero(y_arr > n_arr)
    if bad.size:
        d = int(bad[0]) + 1
        raise ValueError(f"y: dose {d} has {y_arr[bad[0]]} DLTs but only {n_arr[bad[0]]} patients")
    k = len(n_arr)
    if current_dose is None:
        treated = np.flatnonzero(n_arr > 0)
        current_dose = int(treated[-1]) + 1 if treated.size else None
    elif not 1 <= current_dose <= k:
        raise ValueError(f"current_dose: {current_dose} is outside 1..{k}")
    return History(n_doses=k, n=n_arr, y=y_arr, current_dose=current_dose)


def as_history(
    history: str | History | Mapping[str, Sequence[int]] | None, n_doses: int
) -> History:
    """Accept an outcome string, a History, or ``{"n": [...], "y": [...]}`` counts."""
    if history is None:
        return parse_outcomes("", n_doses)
    if isinstance(history, History):
        if history.n_doses != n_doses:
            raise ValueError(f"history: has {history.n_doses} doses, the design has {n_doses}")
        return history
    if isinstance(history, str):
        return parse_outcomes(history, n_doses)
    if isinstance(history, Mapping):
        if "n" not in history or "y" not in history:
            raise ValueError("history: a mapping needs keys 'n' and 'y' (patients, DLTs per dose)")
        h = history_from_counts(history["n"], history["y"], history.get("current_dose"))  # type: ignore[arg-type]
        if h.n_doses != n_doses:
            raise ValueError(f"history: has {h.n_doses} doses, the design has {n_doses}")
        return h
    raise ValueError(
        "history: give an outcome string like '1NNN 2NTN' or counts {'n': .., 'y': ..}"
    )
