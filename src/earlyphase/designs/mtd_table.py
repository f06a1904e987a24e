"""The end-of-trial table of DLT estimates behind the MTD, for any dose-finding design.

For each dose: patients, DLTs, the isotonic estimate of the DLT probability, a credible interval
and the posterior probability that the DLT probability exceeds the target; the MTD is the dose
BOIN selects (Liu & Yuan 2015; Yuan et al. 2016): among doses that were given and not
eliminated, the one whose isotonic estimate is closest to the target.

Per dose d with n_d patients and y_d DLTs, the posterior under a Beta(0.05, 0.05) prior is
Beta(y_d + 0.05, n_d - y_d + 0.05), with mean (y_d + 0.05) / (n_d + 0.1) and variance
v_d = (y_d + 0.05)(n_d - y_d + 0.05) / {(n_d + 0.1)^2 (n_d + 1.1)}. Over the doses given:

- estimate: the posterior means made non-decreasing in dose by the pool-adjacent-violators
  algorithm (Barlow et al. 1972) with weights 1 / v_d;
- lower, upper: the posterior quantiles at (1 -+ ci_level) / 2, each made non-decreasing by
  the same weighted algorithm;
- p_over_target: Pr(DLT probability > target | data), made non-decreasing by the unweighted
  algorithm;

which is how R ``BOIN::select.mtd`` (2.7.2) computes the table it prints. One difference: R
places the limits by dose index among all doses rather than among the doses given, so its limits
shift when an untreated dose lies between treated ones; here each dose gets its own.
Doses never given have no estimates (NaN).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from earlyphase.designs.outcomes import History, as_history

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["MTD_TABLE_COLUMNS", "mtd_estimates", "pava"]

FloatArray = NDArray[np.float64]

#: Columns of :func:`mtd_estimates`.
MTD_TABLE_COLUMNS: tuple[str, ...] = (
    "dose",
    "n",
    "dlt",
    "estimate",
    "lower",
    "upper",
    "p_over_target",
    "eliminated",
    "mtd",
)

_PRIOR = 0.05  # Beta(0.05, 0.05), as R BOIN's select.mtd


def pava(
    x: Sequence[float] | FloatArray, w: Sequence[float] | FloatArray | None = None
) -> FloatArray:
    """Weighted least-squares non-decreasing fit of ``x`` by pool-adjacent-violators.

    Adjacent blocks are merged into their weighted mean while a block's mean exceeds the next
    one's (Barlow, Bartholomew, Bremner & Brunk 1972); the result does not depend on the order
    in which violations are removed.
    """
    xs = np.asarray(x, dtype=np.float64)
    ws = np.ones_like(xs) if w is None else np.asarray(w, dtype=np.float64)
    if xs.ndim != 1 or ws.shape != xs.shape:
        raise ValueError("pava: x and w must be 1-d of the same length")
    if np.any(~np.isfinite(xs)) or np.any(~(ws > 0)):
        raise ValueError("pava: x must be finite and weights positive")
    means: list[float] = []
    weights: list[float] = []
    sizes: list[int] = []
    for v, wt in zip(xs.tolist(), ws.tolist(), strict=True):
        means.append(v)
        weights.append(wt)
        sizes.append(1)
        while len(means) > 1 and means[-2] > means[-1]:
            w2 = weights[-2] + weights[-1]
            m2 = (means[-2] * weights[-2] + means[-1] * weights[-1]) / w2
            s2 = sizes[-2] + sizes[-1]
            del means[-1], weights[-1], sizes[-1]
            means[-1], weights[-1], sizes[-1] = m2, w2, s2
    return np.repeat(np.array(means), sizes).astype(np.float64)


def _n_doses_of(history: Any) -> int:
    """Number of doses implied by a history given without ``n_doses``."""
    if isinstance(history, History):
        return history.n_doses
    if isinstance(history, str):
        levels = [int(m) for m in re.findall(r"(\d+)[NTnt]", history)]
        if not levels:
            raise ValueError("n_doses: needed when the history has no cohort")
        return max(levels)
    if isinstance(history, Mapping) and "n" in history:
        return len(history["n"])
    if isinstance(history, Mapping) and "level" in history:
        return int(max(history["level"]))
    raise ValueError("n_doses: give the number of doses for this history")


def _counts(history: Any, n_doses: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Patients and DLTs per dose from any accepted form of history."""
    level = getattr(history, "level", None)
    if isinstance(history, Mapping) and "level" in history:
        level = history["level"]
    if level is not None:
        # per-patient data (a TITE history): every patient, with the DLTs seen
        dlt = history["dlt"] if isinstance(history, Mapping) else history.dlt
        lv = np.asarray(level, dtype=np.int64) - 1
        if len(lv) and (lv.min() < 0 or lv.max() >= n_doses):
            raise ValueError(f"history: dose levels must be in 1..{n_doses}")
        yv = np.asarray(dlt, dtype=np.float64)
        n = np.bincount(lv, minlength=n_doses).astype(np.int64)
        y = np.bincount(lv, weights=yv, minlength=n_doses).astype(np.int64)
        return n, y
    h = as_history(history, n_doses)
    return h.n.astype(np.int64), h.y.astype(np.int64)


def mtd_estimates(
    history: Any,
    target: float,
    n_doses: int | None = None,
    *,
    cutoff_eli: float = 0.95,
    extra_safe: bool = False,
    offset: float = 0.05,
    bound_mtd: bool = False,
    p_tox: float | None = None,
    ci_level: float = 0.95,
) -> pd.DataFrame:
    """The end-of-trial MTD table (module docstring), one row per dose.

    ``history`` is an outcome string (``"1NNN 2NTN"``), a
    :class:`~earlyphase.designs.outcomes.History`, counts ``{"n": [...], "y": [...]}`` or
    per-patient data (``{"level": [...], "dlt": [...], ...}`` or a
    :class:`~earlyphase.designs.tite_crm.PatientHistory`), read at the end of the trial.
    ``cutoff_eli``, ``extra_safe``, ``offset``, ``bound_mtd`` and ``p_tox`` (default 1.4 x
    target) are BOIN's settings for the selection (a dose with Pr(DLT probability > target) >
    ``cutoff_eli`` under a Beta(1, 1) prior and >= 3 patients is eliminated with the doses
    above it).

    Columns :data:`MTD_TABLE_COLUMNS`: ``dose`` (1-based), ``n``, ``dlt``, ``estimate``,
    ``lower``, ``upper``, ``p_over_target``, ``eliminated`` and ``mtd`` (True on the
    selected dose). ``frame.attrs["mtd"]`` is the selected dose, None when no dose is
    selected; ``frame.attrs["target"]`` and ``["ci_level"]`` the settings.

    Examples
    --------
    >>> t = mtd_estimates({"n": [3, 3, 15, 9, 0], "y": [0, 0, 4, 4, 0]}, 0.3)
    >>> t.attrs["mtd"]
    3
    """
    import pandas as pd
    from scipy.stats import beta

    from earlyphase.designs.boin import BOIN

    if not 0 < target < 1:
        raise ValueError(f"target: must be in (0, 1), got {target!r}")
    if not 0 < ci_level < 1:
        raise ValueError(f"ci_level: must be in (0, 1), got {ci_level!r}")
    k = _n_doses_of(history) if n_doses is None else int(n_doses)
    n, y = _counts(history, k)
    if np.any(y > n):
        raise ValueError("history: more DLTs than patients at a dose")
    given = n > 0
    a = y[given] + _PRIOR
    b = n[given] - y[given] + _PRIOR
    mean = a / (a + b)
    var = a * b / ((a + b) ** 2 * (a + b + 1))
    wt = 1.0 / var
    est = np.full(k, np.nan)
    lo = np.full(k, np.nan)
    hi = np.full(k, np.nan)
    over = np.full(k, np.nan)
    if given.any():
        tail = (1 - ci_level) / 2
        est[given] = pava(mean, wt)
        lo[given] = pava(beta.ppf(tail, a, b), wt)
        hi[given] = pava(beta.ppf(1 - tail, a, b), wt)
        over[given] = pava(beta.sf(target, a, b))
    # elimination as in the trial: Beta(1, 1) prior, first dose over the cutoff and above
    flat = beta.sf(target, y + 1, n - y + 1)
    hit = (n >= 3) & (flat > cutoff_eli)
    eliminated = np.zeros(k, dtype=bool)
    if hit.any():
        eliminated[int(np.argmax(hit)) :] = True
    if extra_safe and n[0] >= 3 and flat[0] > cutoff_eli - offset:
        eliminated[:] = True
    phi2 = 1.4 * target if p_tox is None else float(p_tox)
    design = BOIN(
        target,
        k,
        cutoff_eli=cutoff_eli,
        extra_safe=extra_safe,
        offset=offset,
        bound_mtd=bound_mtd,
        phi2=phi2,
    )
    selected = design.select_mtd({"n": n.tolist(), "y": y.tolist()}) if given.any() else None
    frame = pd.DataFrame(
        {
            "dose": np.arange(1, k + 1),
            "n": n,
            "dlt": y,
            "estimate": est,
            "lower": lo,
            "upper": hi,
            "p_over_target": over,
            "eliminated": eliminated,
            "mtd": [selected == d for d in range(1, k + 1)],
        },
        columns=list(MTD_TABLE_COLUMNS),
    )
    frame.attrs["mtd"] = selected
    frame.attrs["target"] = float(target)
    frame.attrs["ci_level"] = float(ci_level)
    return frame
