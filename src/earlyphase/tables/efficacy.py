"""Efficacy tables: response rates and binary endpoints by visit with exact and Bayesian
intervals, survival at landmark days, Kaplan-Meier and cumulative-incidence summaries."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from earlyphase.data.trial import TrialData
from earlyphase.stats import BetaPosterior, binomial_ci, cumulative_incidence, kaplan_meier
from earlyphase.tables.result import ArdBuilder, TableResult


def _pct(v: float) -> str:
    return f"{100 * v:.1f}%"


def proportion_table(
    trial: TrialData,
    paramcd: str,
    visits: Sequence[str],
    positive: Sequence[str] = ("Y",),
    label: str | None = None,
    by: str | None = None,
    level: float = 0.95,
    prior: tuple[float, float] = (1.0, 1.0),
) -> TableResult:
    """n/N (%) with its Clopper-Pearson interval and Beta-posterior HPD interval, per visit.

    The denominator is the subjects with an assessment of ``paramcd`` at the visit; a value in
    ``positive`` counts as a success (e.g. ``("CR", "PR")`` for the overall response rate).
    """
    if trial.adrs is None:
        raise ValueError("paramcd: the trial has no ADRS table")
    rs = trial.adrs[trial.adrs["PARAMCD"] == paramcd]
    if rs.empty:
        raise ValueError(f"paramcd: no ADRS records for {paramcd!r}")
    if by is not None:
        rs = rs.merge(trial.adsl[["USUBJID", by]], on="USUBJID", how="left")
    groups = ["All"] if by is None else [*sorted(rs[by].dropna().astype(str).unique()), "All"]
    ard = ArdBuilder(f"proportion:{paramcd}")
    rows = []
    name = label or paramcd
    for visit in visits:
        for g in groups:
            sub = rs[rs["AVISIT"] == visit]
            if g != "All":
                sub = sub[sub[by].astype(str) == g]
            n = int(sub["USUBJID"].nunique())
            x = int(sub.loc[sub["AVALC"].isin(list(positive)), "USUBJID"].nunique())
            if n == 0:
                continue
            lo, hi = binomial_ci(x, n, "clopper-pearson", level)
            h_lo, h_hi = BetaPosterior.from_data(x, n, prior).hpd(level)
            ard.add(
                g,
                visit,
                name,
                x=x,
                n=n,
                estimate=x / n,
                ci_lower=lo,
                ci_upper=hi,
                hpd_lower=h_lo,
                hpd_upper=h_hi,
            )
            rows.append(
                [
                    visit,
                    g,
                    f"{x}/{n}",
                    _pct(x / n),
                    f"{_pct(lo)} - {_pct(hi)}",
                    f"{_pct(h_lo)} - {_pct(h_hi)}",
                ]
            )
    pct = f"{100 * level:g}%"
    display = pd.DataFrame(
        rows,
        columns=[
            "Visit",
            "Group",
            "n/N",
            "Rate",
            f"{pct} CI (Clopper-Pearson)",
            f"{pct} HPD (Beta({prior[0]:g}, {prior[1]:g}) prior)",
        ],
    )
    if by is None:
        display = display.drop(columns="Group")
    return TableResult(
        name,
        display,
        ard.frame(),
        [f"Success: {', '.join(positive)}. Denominator: subjects assessed at the visit."],
    )


def response_table(
    trial: TrialData, visit: str, paramcd: str = "OVRLRESP", by: str | None = None
) -> TableResult:
    """CR, PR and overall response (CR + PR) at ``visit`` with exact CIs and HPD intervals."""
    parts = [
        proportion_table(trial, paramcd, [visit], ("CR",), "Complete response", by),
        proportion_table(trial, paramcd, [visit], ("PR",), "Partial response", by),
        proportion_table(trial, paramcd, [visit], ("CR", "PR"), "Overall response (CR + PR)", by),
    ]
    display = pd.concat([p.display.assign(Endpoint=p.title) for p in parts], ignore_index=True)
    display = display[["Endpoint", *[c for c in display.columns if c != "Endpoint"]]]
    ard = pd.concat([p.ard for p in parts], ignore_index=True)
    return TableResult(f"Response at {visit}", display, ard, parts[0].footnotes)


def survival_tables(
    trial: TrialData, paramcd: str, days: Sequence[float], level: float = 0.95
) -> TableResult:
    """Survival at landmark days: the crude proportion (exact CI) when nobody is censored before
    the day, otherwise only Kaplan-Meier; with the KM estimate, its log CI and the median."""
    if trial.adtte is None:
        raise ValueError("paramcd: the trial has no ADTTE table")
    tte = trial.adtte[trial.adtte["PARAMCD"] == paramcd]
    if tte.empty:
        raise ValueError(f"paramcd: no ADTTE records for {paramcd!r}")
    time = tte["AVAL"].to_numpy(dtype=float)
    event = 1 - tte["CNSR"].to_numpy(dtype=int)  # CDISC: CNSR = 0 is an event
    fit = kaplan_meier(time, event, conf_type="log", level=level)
    km = fit.table(times=days)
    ard = ArdBuilder(f"survival:{paramcd}")
    rows = []
    for _, r in km.iterrows():
        day = float(r["time"])
        censored_before = bool(((event == 0) & (time < day)).any())
        crude = ci = hpd = ""
        if not censored_before:
            alive = int(((time >= day) & ~((event == 1) & (time <= day))).sum())
            n = len(time)
            lo, hi = binomial_ci(alive, n, "clopper-pearson", level)
            h_lo, h_hi = BetaPosterior.from_data(alive, n).hpd(level)
            crude, ci, hpd = (
                f"{alive}/{n} ({_pct(alive / n)})",
                f"{_pct(lo)} - {_pct(hi)}",
                f"{_pct(h_lo)} - {_pct(h_hi)}",
            )
            ard.add(
                "All",
                f"day {day:g}",
                "crude",
                x=alive,
                n=n,
                estimate=alive / n,
                ci_lower=lo,
                ci_upper=hi,
                hpd_lower=h_lo,
                hpd_upper=h_hi,
            )
        ard.add(
            "All",
            f"day {day:g}",
            "kaplan-meier",
            n_risk=int(r["n_risk"]),
            estimate=float(r["survival"]),
            ci_lower=float(r["lower"]),
            ci_upper=float(r["upper"]),
        )
        rows.append(
            [
                f"{day:g}",
                crude,
                ci,
                hpd,
                int(r["n_risk"]),
                _pct(float(r["survival"])),
                ""
                if np.isnan(r["lower"])
                else f"{_pct(float(r['lower']))} - {_pct(float(r['upper']))}",
            ]
        )
    med, lo_m, hi_m = fit.median()
    ard.add("All", "median", "kaplan-meier", estimate=med, ci_lower=lo_m, ci_upper=hi_m)
    display = pd.DataFrame(
        rows,
        columns=[
            "Day",
            "Alive/N",
            "95% CI (Clopper-Pearson)",
            "95% HPD (uniform prior)",
            "At risk",
            "KM",
            "95% CI (KM, log)",
        ],
    )

    def fmt(v: float) -> str:
        return "NR" if np.isnan(v) else f"{v:g}"

    notes = [
        f"Median (Kaplan-Meier): {fmt(med)} days "
        f"(95% CI {fmt(lo_m)} - {fmt(hi_m)}; NR = not reached).",
        "Crude proportions are shown only where no subject was censored before the day.",
    ]
    return TableResult(f"Survival ({paramcd})", display, ard.frame(), notes)


def cumulative_incidence_table(
    trial: TrialData, paramcd: str, times: Sequence[float], causes: dict[int, str] | None = None
) -> TableResult:
    """Cumulative incidence of competing events (ADTTE ``CAUSE``: 0 = censored) at ``times``,
    cmprsk's variance and log-log 95% CI."""
    if trial.adtte is None:
        raise ValueError("paramcd: the trial has no ADTTE table")
    tte = trial.adtte[trial.adtte["PARAMCD"] == paramcd]
    if tte.empty or "CAUSE" not in tte.columns:
        raise ValueError(f"paramcd: no ADTTE records with CAUSE for {paramcd!r}")
    res = cumulative_incidence(
        tte["AVAL"].to_numpy(dtype=float), tte["CAUSE"].to_numpy(dtype=int), times=times
    )
    tab = res.table()
    ard = ArdBuilder(f"cif:{paramcd}")
    rows = []
    for _, r in tab.iterrows():
        name = (causes or {}).get(int(r["cause"]), f"cause {int(r['cause'])}")
        ard.add(
            "All",
            f"day {r['time']:g}",
            name,
            estimate=r["estimate"],
            ci_lower=r["lower"],
            ci_upper=r["upper"],
            variance=r["variance"],
        )
        ci = "" if np.isnan(r["lower"]) else f"{_pct(r['lower'])} - {_pct(r['upper'])}"
        rows.append([name, f"{r['time']:g}", _pct(r["estimate"]), ci])
    display = pd.DataFrame(
        rows, columns=["Event", "Day", "Cumulative incidence", "95% CI (log-log)"]
    )
    return TableResult(
        f"Cumulative incidence ({paramcd})",
        display,
        ard.frame(),
        ["Aalen-Johansen estimate with competing events; variance as R cmprsk."],
    )
