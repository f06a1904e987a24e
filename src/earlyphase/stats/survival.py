"""Kaplan-Meier survival and the log-rank test, with R ``survival`` semantics.

References
----------
Kaplan EL, Meier P (1958). Nonparametric estimation from incomplete observations.
    J Am Stat Assoc 53:457-481.
Greenwood M (1926). The natural duration of cancer. Reports on Public Health and Medical
    Subjects 33 (variance of S(t)).
Kalbfleisch JD, Prentice RL (2002). The Statistical Analysis of Failure Time Data, 2nd ed.,
    section 1.4 (log and log-log pointwise intervals).
Brookmeyer R, Crowley J (1982). A confidence interval for the median survival time.
    Biometrics 38:29-41 (median limits from the pointwise band, R ``quantile.survfit``).
Mantel N (1966). Cancer Chemother Rep 50:163-170; Peto R, Peto J (1972). J R Stat Soc A
    135:185-207 (log-rank test; R ``survdiff`` with ``rho = 0``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy.stats import chi2

from earlyphase.stats.checks import (
    FloatArray,
    IntArray,
    as_events,
    as_group_labels,
    as_times,
    check_level,
    check_same_length,
    factorize_groups,
    z_quantile,
)

ConfType = Literal["log", "log-log", "plain"]
CONF_TYPES: tuple[str, ...] = ("log", "log-log", "plain")

#: R ``quantile.survfit`` tolerance for a flat stretch of the curve at a quantile.
_QUANTILE_TOL = float(np.sqrt(np.finfo(float).eps))


def _distinct_time_counts(
    time: FloatArray, event: IntArray
) -> tuple[FloatArray, IntArray, IntArray, IntArray]:
    """Distinct sorted times with number at risk, events and censorings at each."""
    order = np.argsort(time, kind="stable")
    t_sorted = time[order]
    e_sorted = event[order]
    unique_t, first, counts = np.unique(t_sorted, return_index=True, return_counts=True)
    n_event = np.add.reduceat(e_sorted, first).astype(np.int64)
    n_censor = counts.astype(np.int64) - n_event
    n_risk = (len(time) - np.concatenate(([0], np.cumsum(counts)[:-1]))).astype(np.int64)
    return unique_t.astype(np.float64), n_risk, n_event, n_censor


def pointwise_limits(
    surv: FloatArray, se_log: FloatArray, conf_type: str, level: float
) -> tuple[FloatArray, FloatArray]:
    """Pointwise confidence limits for a survival curve, as R ``survfit`` computes them.

    ``se_log`` is the standard error of the cumulative hazard (of ``log S``), as stored in a
    ``survfit`` object. Where ``S = 1`` with zero standard error the interval is (1, 1), as
    ``summary.survfit`` prints before the first event; where ``S = 0`` it is undefined (NaN).

    One difference from R: with ``"log-log"``, at a censoring time before the first event
    (S = 1 with zero standard error) R stores NA, because log(-log 1) is infinite, while it
    prints (1, 1) for the same curve at earlier times. Here the limits are (1, 1) at every
    such time, the limit of the interval as S tends to 1; ``"log"`` and ``"plain"`` agree
    with R there.
    """
    z = z_quantile(level)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if conf_type == "log":
            lower = surv * np.exp(-z * se_log)
            upper = np.minimum(surv * np.exp(z * se_log), 1.0)
            undefined = surv == 0
        elif conf_type == "log-log":
            log_s = np.log(surv)
            shift = z * se_log / log_s
            a = np.exp(-np.exp(np.log(-log_s) - shift))
            b = np.exp(-np.exp(np.log(-log_s) + shift))
            lower, upper = np.minimum(a, b), np.maximum(a, b)
            undefined = surv == 0
        elif conf_type == "plain":
            half = z * se_log * surv
            lower = np.maximum(surv - half, 0.0)
            upper = np.minimum(surv + half, 1.0)
            undefined = surv == 0
        else:
            raise ValueError(
                f"conf_type: unknown type {conf_type!r}; choose one of {list(CONF_TYPES)}"
            )
    certain = (surv == 1) & (se_log == 0)
    lower = np.where(certain, 1.0, np.where(undefined, np.nan, lower))
    upper = np.where(certain, 1.0, np.where(undefined, np.nan, upper))
    return lower.astype(np.float64), upper.astype(np.float64)


def _find_quantile(
    x: FloatArray, y: FloatArray, p: float, xmax: float, flat_end_midpoint: bool = True
) -> float:
    """Time at which a cumulative curve ``y`` first reaches ``p``; R ``survival:::findq``.

    ``x`` starts with the time origin and ``y`` with 0. When the curve is flat at exactly
    ``p`` over an interval, the midpoint of that interval is returned (the usual median rule);
    a flat stretch at ``p`` that lasts to the end of follow-up uses ``xmax`` as its end, or,
    with ``flat_end_midpoint=False`` (``print.survfit``), returns its start.
    """
    finite = ~np.isnan(y)
    if not finite.any() or np.max(y[finite]) < p:
        return float("nan")
    if p == 0:
        return float(x[0])
    # drop repeated y values (censoring times), keeping the first; then drop missing values
    keep = np.concatenate(([True], y[1:] != y[:-1])) & finite
    xs, ys = x[keep], y[keep]
    n = len(ys)
    tol = _QUANTILE_TOL
    i1 = int(np.searchsorted(ys, p - tol, side="left"))
    i2 = int(np.searchsorted(ys, p + tol, side="left"))
    if i1 >= n:
        return float("nan")
    if abs(p - ys[-1]) < tol:
        return float((xs[i1] + xmax) / 2) if flat_end_midpoint else float(xs[i1])
    if i2 >= n:
        return float("nan")
    return float((xs[i1] + xs[i2]) / 2)


@dataclass(frozen=True)
class KaplanMeierResult:
    """A fitted Kaplan-Meier curve: one row per distinct observed time.

    Attributes hold R ``survfit`` components: ``std_err_log`` is ``survfit``'s ``std.err``
    (the standard error of the cumulative hazard), while the ``std_err`` column of
    :meth:`table` is the standard error of S(t) that ``summary.survfit`` prints.
    """

    time: FloatArray
    n_risk: IntArray
    n_event: IntArray
    n_censor: IntArray
    survival: FloatArray
    std_err_log: FloatArray
    lower: FloatArray
    upper: FloatArray
    n: int
    conf_type: str
    level: float

    @property
    def std_err(self) -> FloatArray:
        """Greenwood standard error of S(t), ``summary.survfit``'s ``std.err``."""
        with np.errstate(invalid="ignore"):
            return (self.survival * self.std_err_log).astype(np.float64)

    @property
    def n_events_total(self) -> int:
        return int(self.n_event.sum())

    def table(self, times: ArrayLike | None = None, censored: bool = True) -> pd.DataFrame:
        """Tidy table of the curve.

        Parameters
        ----------
        times : array-like, optional
            Landmark times (e.g. days 56, 100, 365). Rows follow R
            ``summary(fit, times = times, extend = TRUE)``: ``n_risk`` is the number still
            under observation at the time (T >= t), ``n_event`` and ``n_censor`` count what
            happened since the previous landmark, and times past the end of follow-up keep the
            last estimate with ``n_risk = 0``. Times are sorted and de-duplicated.
        censored : bool
            Without ``times``: keep rows at times with censorings only (default True, a complete
            tidy table). R ``summary(fit)`` defaults to ``censored = FALSE``; pass False to match.
        """
        columns = ["time", "n_risk", "n_event", "n_censor", "survival", "std_err", "lower", "upper"]
        if times is None:
            frame = pd.DataFrame(
                {
                    "time": self.time,
                    "n_risk": self.n_risk,
                    "n_event": self.n_event,
                    "n_censor": self.n_censor,
                    "survival": self.survival,
                    "std_err": self.std_err,
                    "lower": self.lower,
                    "upper": self.upper,
                },
                columns=columns,
            )
            if not censored:
                frame = frame[frame["n_event"] > 0].reset_index(drop=True)
            return frame
        t = np.unique(as_times(times, "times"))
        idx = np.searchsorted(self.time, t, side="right") - 1
        before = idx < 0
        safe = np.maximum(idx, 0)
        surv = np.where(before, 1.0, self.survival[safe])
        se = np.where(before, 0.0, self.std_err[safe])
        lower = np.where(before, 1.0, self.lower[safe])
        upper = np.where(before, 1.0, self.upper[safe])
        cum_event = np.concatenate(([0], np.cumsum(self.n_event)))[idx + 1]
        cum_censor = np.concatenate(([0], np.cumsum(self.n_censor)))[idx + 1]
        first_at_or_after = np.searchsorted(self.time, t, side="left")
        risk_ext = np.concatenate((self.n_risk, [0]))
        return pd.DataFrame(
            {
                "time": t,
                "n_risk": risk_ext[first_at_or_after],
                "n_event": np.diff(cum_event, prepend=0),
                "n_censor": np.diff(cum_censor, prepend=0),
                "survival": surv,
                "std_err": se,
                "lower": lower,
                "upper": upper,
            },
            columns=columns,
        )

    def survival_at(self, times: ArrayLike) -> FloatArray:
        """S(t) at the given times (right-continuous step function, 1 before the first time)."""
        t = as_times(times, "times")
        idx = np.searchsorted(self.time, t, side="right") - 1
        return np.where(idx < 0, 1.0, self.survival[np.maximum(idx, 0)]).astype(np.float64)

    def quantile(
        self, prob: float, rule: Literal["quantile", "print"] = "quantile"
    ) -> tuple[float, float, float]:
        """Time by which a fraction ``prob`` has had the event, with its confidence limits.

        Follows R ``quantile.survfit``: the estimate is where 1 - S(t) first reaches ``prob``
        (midpoint of a flat stretch at exactly ``prob``); the lower limit is where the lower
        pointwise band reaches it and the upper limit where the upper band does (Brookmeyer
        and Crowley). NaN where a curve never gets there (R prints NA).

        R itself has two rules for one case: a curve flat at exactly ``prob`` from some time
        to the end of follow-up. ``quantile.survfit`` (``rule="quantile"``, the default)
        returns the midpoint of that stretch, ending at the last time; ``print.survfit``
        (``rule="print"``) returns the time the curve reached ``prob``. For events at 1 and 2
        and censorings at 3 and 4, the median is 3 by the first rule and 2 by the second.
        """
        if not (0.0 <= prob <= 1.0):
            raise ValueError(f"prob: must lie in [0, 1], got {prob!r}")
        if rule not in ("quantile", "print"):
            raise ValueError(f"rule: must be 'quantile' or 'print', got {rule!r}")
        x = np.concatenate(([0.0], self.time))
        xmax = float(self.time[-1])
        mid = rule == "quantile"
        est = _find_quantile(x, np.concatenate(([0.0], 1 - self.survival)), prob, xmax, mid)
        lo = _find_quantile(x, np.concatenate(([0.0], 1 - self.lower)), prob, xmax, mid)
        hi = _find_quantile(x, np.concatenate(([0.0], 1 - self.upper)), prob, xmax, mid)
        return est, lo, hi

    def median(self, rule: Literal["quantile", "print"] = "quantile") -> tuple[float, float, float]:
        """Median survival time with its confidence limits: ``quantile(0.5, rule)``."""
        return self.quantile(0.5, rule)


def kaplan_meier(
    time: ArrayLike, event: ArrayLike, conf_type: ConfType | str = "log", level: float = 0.95
) -> KaplanMeierResult:
    """Kaplan-Meier estimate of the survival function with Greenwood variance.

    Parameters
    ----------
    time : array-like of float
        Follow-up time per subject, >= 0.
    event : array-like of {0, 1} or bool
        1 if the event was observed at ``time``, 0 if censored. (An ADaM ``CNSR`` column is
        the opposite: pass ``1 - CNSR``.)
    conf_type : {"log", "log-log", "plain"}
        Pointwise interval. ``"log"`` is R ``survfit``'s default; ``"log-log"`` is SAS PROC
        LIFETEST's default (``CONFTYPE=LOGLOG``) and lifelines' only choice; ``"plain"`` is the
        linear Greenwood interval. Upper limits are truncated at 1 as R does. Where S = 1 the
        limits are (1, 1) for every type; R stores NA for ``"log-log"`` at censoring times
        before the first event (see :func:`pointwise_limits`).
    level : float
        Confidence level.

    Returns
    -------
    KaplanMeierResult

    Examples
    --------
    >>> fit = kaplan_meier([9, 13, 13, 18, 23, 28, 31, 34, 45, 48, 161],
    ...                    [1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0])
    >>> fit.median()
    (31.0, 18.0, nan)
    """
    t = as_times(time, "time")
    e = as_events(event, "event")
    check_same_length(time=t, event=e)
    level = check_level(level)
    if conf_type not in CONF_TYPES:
        raise ValueError(f"conf_type: unknown type {conf_type!r}; choose one of {list(CONF_TYPES)}")
    ut, n_risk, n_event, n_censor = _distinct_time_counts(t, e)
    with np.errstate(divide="ignore", invalid="ignore"):
        cumulative = np.cumprod(1.0 - n_event / n_risk)
        increments = np.where(
            n_event > 0, n_event / (n_risk * (n_risk - n_event).astype(np.float64)), 0.0
        )
    survival: FloatArray = np.asarray(cumulative, dtype=np.float64)
    se_log = np.sqrt(np.cumsum(increments)).astype(np.float64)
    lower, upper = pointwise_limits(survival, se_log, conf_type, level)
    return KaplanMeierResult(
        time=ut,
        n_risk=n_risk,
        n_event=n_event,
        n_censor=n_censor,
        survival=survival,
        std_err_log=se_log,
        lower=lower,
        upper=upper,
        n=len(t),
        conf_type=str(conf_type),
        level=level,
    )


@dataclass(frozen=True)
class LogRankResult:
    """Result of :func:`logrank_test`: R ``survdiff`` output."""

    statistic: float
    df: int
    p_value: float
    groups: pd.DataFrame  # group, n, observed, expected, (O-E)^2/E, (O-E)^2/V

    def __iter__(self) -> Any:
        return iter((self.statistic, self.df, self.p_value))


def logrank_test(
    time: ArrayLike, event: ArrayLike, group: ArrayLike | Sequence[Any]
) -> LogRankResult:
    """Log-rank test of equal survival across groups: R ``survdiff(Surv(time, event) ~ group)``.

    The statistic is ``(O - E)' V^- (O - E)`` with the hypergeometric variance, on
    ``k - 1`` degrees of freedom for ``k`` groups (a generalised inverse drops a redundant group).

    Examples
    --------
    >>> r = logrank_test([1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 1, 1], ["a", "b", "a", "b", "a", "b"])
    >>> r.df
    1
    """
    t = as_times(time, "time")
    e = as_events(event, "event")
    g = as_group_labels(group, "group")
    check_same_length(time=t, event=e, group=g)
    labels, codes = factorize_groups(g)
    k = len(labels)
    if k < 2:
        raise ValueError("group: needs at least two groups to compare, found one")

    order = np.argsort(t, kind="stable")
    ts, es, gs = t[order], e[order], codes[order]
    ut = np.unique(ts)
    # events and subjects per distinct time and group
    d_tg = np.zeros((len(ut), k))
    c_tg = np.zeros((len(ut), k))
    pos = np.searchsorted(ut, ts)
    np.add.at(d_tg, (pos, gs), es)
    np.add.at(c_tg, (pos, gs), 1.0)
    at_risk = c_tg[::-1].cumsum(axis=0)[::-1]
    n_t = at_risk.sum(axis=1)
    d_t = d_tg.sum(axis=1)
    keep = d_t > 0
    at_risk, n_t, d_t, d_tg = at_risk[keep], n_t[keep], d_t[keep], d_tg[keep]
    expected = (d_t[:, None] * at_risk / n_t[:, None]).sum(axis=0)
    observed = d_tg.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        factor = np.where(n_t > 1, d_t * (n_t - d_t) / (n_t * n_t * (n_t - 1)), 0.0)
    share = at_risk
    var = np.einsum("t,tg->g", factor * n_t, share)
    cov = -np.einsum("t,tg,th->gh", factor, share, share)
    cov[np.diag_indices(k)] += var
    diff = observed - expected
    # generalised inverse as R survdiff (drops the last group when the matrix is singular)
    df = int(np.sum(np.diag(cov) > 0)) - 1
    stat = float(diff @ np.linalg.pinv(cov, rcond=1e-10) @ diff) if df > 0 else 0.0
    p_value = float(chi2.sf(stat, df)) if df > 0 else float("nan")
    n_per = np.bincount(codes, minlength=k)
    with np.errstate(divide="ignore", invalid="ignore"):
        groups = pd.DataFrame(
            {
                "group": labels,
                "n": n_per,
                "observed": observed,
                "expected": expected,
                "oe2_e": diff**2 / expected,
                "oe2_v": diff**2 / np.diag(cov),
            }
        )
    return LogRankResult(statistic=stat, df=df, p_value=p_value, groups=groups)
