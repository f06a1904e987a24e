"""Landmark survival table: day-X survival as a proportion, a Bayesian posterior and Kaplan-Meier.

Small phase II trials report "survival at day 56" three ways (e.g. the HLC-001 IPS trial): the
crude proportion with a Clopper-Pearson interval, the HPD interval of its Beta posterior, and
the Kaplan-Meier estimate. This table puts them side by side for a set of landmark days.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from earlyphase.stats import BetaPosterior, binomial_ci, kaplan_meier
from earlyphase.stats.binomial import BinomialMethod
from earlyphase.stats.checks import as_events, as_times, check_level, check_same_length
from earlyphase.stats.survival import ConfType


def landmark_survival_table(
    time: ArrayLike,
    event: ArrayLike,
    days: Sequence[float],
    level: float = 0.95,
    ci_method: BinomialMethod = "clopper-pearson",
    prior: tuple[float, float] = (1.0, 1.0),
    conf_type: ConfType = "log",
) -> pd.DataFrame:
    """Survival at each landmark day: crude proportion, Beta posterior and Kaplan-Meier.

    The crude proportion counts subjects whose status at the day is known: alive at the day
    (followed at least that long) or dead by it. Subjects censored earlier are left out of its
    denominator and counted in ``n_unknown``; the Kaplan-Meier columns use them properly.

    Columns: ``day``, ``n_known``, ``n_alive``, ``n_unknown``, ``proportion``, ``ci_lower``,
    ``ci_upper`` (``ci_method``), ``posterior_mean``, ``hpd_lower``, ``hpd_upper`` (Beta
    posterior from ``prior``, uniform by default); ``km_n_risk``, ``km_survival``,
    ``km_lower``, ``km_upper`` (``conf_type``, R's default log).
    """
    t = as_times(time, "time")
    e = as_events(event, "event")
    check_same_length(time=t, event=e)
    level = check_level(level)
    landmarks = as_times(days, "days")
    fit = kaplan_meier(t, e, conf_type=conf_type, level=level)
    km = {float(r["time"]): r for r in fit.table(times=landmarks).to_dict("records")}
    rows = []
    for day in landmarks:
        dead = (e == 1) & (t <= day)
        alive = t >= day
        alive &= ~dead
        n_known = int(dead.sum() + alive.sum())
        n_alive = int(alive.sum())
        row: dict[str, float | int] = {
            "day": float(day),
            "n_known": n_known,
            "n_alive": n_alive,
            "n_unknown": len(t) - n_known,
        }
        if n_known > 0:
            lo, hi = binomial_ci(n_alive, n_known, method=ci_method, level=level)
            post = BetaPosterior.from_data(n_alive, n_known, prior=prior)
            h_lo, h_hi = post.hpd(level)
            row.update(
                proportion=n_alive / n_known,
                ci_lower=lo,
                ci_upper=hi,
                posterior_mean=post.mean,
                hpd_lower=h_lo,
                hpd_upper=h_hi,
            )
        else:
            row.update(
                {
                    k: np.nan
                    for k in (
                        "proportion",
                        "ci_lower",
                        "ci_upper",
                        "posterior_mean",
                        "hpd_lower",
                        "hpd_upper",
                    )
                }
            )
        k = km[float(day)]
        row.update(
            km_n_risk=int(k["n_risk"]),
            km_survival=float(k["survival"]),
            km_lower=float(k["lower"]),
            km_upper=float(k["upper"]),
        )
        rows.append(row)
    return pd.DataFrame(rows)
