"""Argument validation shared by the estimators.

Every check raises :class:`ValueError` whose message starts with the argument's name and says
why the value is unacceptable, so that a caller (CLI, API, report) can show it unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

Alternative = Literal["two-sided", "less", "greater"]
ALTERNATIVES: tuple[str, ...] = ("two-sided", "less", "greater")

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def check_level(level: float, name: str = "level") -> float:
    """Confidence or credibility level strictly inside (0, 1)."""
    try:
        value = float(level)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: must be a number in (0, 1), got {level!r}") from None
    if not (0.0 < value < 1.0):
        raise ValueError(f"{name}: must lie strictly between 0 and 1, got {level!r}")
    return value


def check_count(value: Any, name: str, minimum: int = 0) -> int:
    """A whole number >= ``minimum`` (booleans are refused)."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{name}: must be a whole number, got {value!r}")
    try:
        as_float = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: must be a whole number, got {value!r}") from None
    if not math.isfinite(as_float) or as_float != int(as_float):
        raise ValueError(f"{name}: must be a whole number, got {value!r}")
    result = int(as_float)
    if result < minimum:
        raise ValueError(f"{name}: must be >= {minimum}, got {value!r}")
    return result


def check_positive(value: Any, name: str) -> float:
    """A finite number > 0."""
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: must be a positive number, got {value!r}") from None
    if not math.isfinite(result) or result <= 0:
        raise ValueError(f"{name}: must be a finite number > 0, got {value!r}")
    return result


def check_probability(value: Any, name: str) -> float:
    """A number in the closed interval [0, 1]."""
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: must be a probability in [0, 1], got {value!r}") from None
    if not (0.0 <= result <= 1.0):
        raise ValueError(f"{name}: must be a probability in [0, 1], got {value!r}")
    return result


def as_float_vector(values: ArrayLike, name: str) -> FloatArray:
    """A one-dimensional finite float vector with at least one element."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: must be a sequence of numbers") from None
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(f"{name}: must be one-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name}: must not be empty")
    bad = ~np.isfinite(arr)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{name}: element {i} is {arr[i]!r}; NaN and infinite values are not allowed"
        )
    return arr


def as_times(values: ArrayLike, name: str = "time") -> FloatArray:
    """Follow-up times: finite and non-negative."""
    arr = as_float_vector(values, name)
    neg = arr < 0
    if neg.any():
        i = int(np.flatnonzero(neg)[0])
        raise ValueError(f"{name}: element {i} is {arr[i]!r}; times must be >= 0")
    return arr


def as_codes(values: ArrayLike, name: str, allowed: Sequence[int] | None = None) -> IntArray:
    """Whole-number codes (event indicators, causes); optionally restricted to ``allowed``."""
    arr = as_float_vector(values, name)
    frac = arr != np.round(arr)
    if frac.any():
        i = int(np.flatnonzero(frac)[0])
        raise ValueError(f"{name}: element {i} is {arr[i]!r}; codes must be whole numbers")
    codes = arr.astype(np.int64)
    if allowed is not None:
        bad = ~np.isin(codes, np.asarray(allowed))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"{name}: element {i} is {codes[i]}; allowed codes are {sorted(allowed)}"
            )
    return codes


def as_events(values: ArrayLike, name: str = "event") -> IntArray:
    """Event indicators: 1 (or True) = event, 0 (or False) = censored."""
    arr = np.asarray(values)
    if arr.dtype == np.bool_:
        arr = arr.astype(np.int64)
    return as_codes(arr, name, allowed=(0, 1))


def check_same_length(**arrays: np.ndarray[Any, Any]) -> int:
    """All arrays share one length; the message names the ones that differ."""
    lengths = {k: len(v) for k, v in arrays.items()}
    if len(set(lengths.values())) > 1:
        desc = ", ".join(f"{k} has {n}" for k, n in lengths.items())
        raise ValueError(f"{', '.join(lengths)}: must have the same length ({desc})")
    return next(iter(lengths.values()))


def as_group_labels(values: ArrayLike, name: str = "group") -> np.ndarray[Any, Any]:
    """Group labels of any hashable type, without missing values."""
    arr = np.asarray(values, dtype=object)
    if arr.ndim != 1:
        raise ValueError(f"{name}: must be one-dimensional, got shape {arr.shape}")
    for i, v in enumerate(arr):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            raise ValueError(f"{name}: element {i} is missing; every subject needs a group")
    return arr


def z_quantile(level: float) -> float:
    """Two-sided standard-normal quantile for a ``level`` interval, as R ``qnorm(1 - alpha/2)``."""
    from scipy.stats import norm

    return float(norm.ppf(1.0 - (1.0 - level) / 2.0))


def factorize_groups(labels: np.ndarray[Any, Any]) -> tuple[list[Any], IntArray]:
    """Sorted distinct group labels (order of first appearance if unsortable) and codes."""
    import pandas as pd

    try:
        codes, uniques = pd.factorize(labels, sort=True)
    except TypeError:
        codes, uniques = pd.factorize(labels, sort=False)
    return list(uniques), np.asarray(codes, dtype=np.int64)


#: Smallest relative tolerance scipy's root finders accept: results are exact to ~1 ulp.
RTOL = 4 * float(np.finfo(float).eps)


def check_alternative(alternative: str) -> str:
    """A test's alternative hypothesis: ``two-sided``, ``less`` or ``greater``."""
    if alternative not in ALTERNATIVES:
        raise ValueError(f"alternative: must be one of {list(ALTERNATIVES)}, got {alternative!r}")
    return alternative
