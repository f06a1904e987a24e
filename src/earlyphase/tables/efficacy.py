"""Efficacy tables: response rates and binary endpoints by visit with exact and Bayesian
intervals, survival at landmark days, Kaplan-Meier and cumulative-incidence summaries."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from earlyphase.data.adam import arm_order, collected
from earlyphase.data.trial import TrialData
from earlyphase.stats import (
    BetaPosterior,
    binomial_ci,
    cumulative_incidence,
    kaplan_meier,
    logrank_test,
)
from earlyphase.tables.result import ArdBuilder, TableResult, fmt_pct, fmt_rate_ci


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


def param_name(trial: TrialData, paramcd: str) -> str:
    """The ADTTE parameter's name from PARAM (ADaM BDS: PARAM is the description that goes in
    a report; PARAMCD is its short code), e.g. "Time to First Dermatologic Event (TTDE)"."""
    tte = trial.adtte
    if tte is not None and "PARAM" in tte.columns:
        names = tte.loc[tte["PARAMCD"] == paramcd, "PARAM"].dropna().astype(str).unique()
        if len(names):
            return f"{names[0]} ({paramcd})"
    return paramcd


def is_survival(trial: TrialData, paramcd: str) -> bool:
    """Whether the parameter is survival (death from any cause): PARAMCD OS, or a PARAM that
    says survival. Other time-to-event parameters are not to be called survival."""
    return paramcd.upper() == "OS" or "SURVIVAL" in param_name(trial, paramcd).upper()


def time_to_event_table(
    trial: TrialData,
    paramcd: str,
    by: str = "TRT01A",
    times: Sequence[float] = (),
    level: float = 0.95,
) -> TableResult:
    """One ADTTE parameter by group: subjects, events, censored, Kaplan-Meier median with its
    CI (log transform, R survfit's default) and estimates at ``times``, and the log-rank test
    across groups (R ``survdiff``). The title is the parameter's name (PARAM); groups are in the
    order of their numeric code (TRT01AN for TRT01A). CDISC: CNSR = 0 is an event."""
    if trial.adtte is None:
        raise ValueError("paramcd: the trial has no ADTTE table")
    tte = trial.adtte[trial.adtte["PARAMCD"] == paramcd]
    if tte.empty:
        raise ValueError(f"paramcd: no ADTTE records for {paramcd!r}")
    if by not in trial.adsl.columns:
        raise ValueError(f"by: {by!r} is not a column of ADSL")
    tte = tte.merge(trial.adsl[["USUBJID", by]], on="USUBJID", how="left")
    present = set(tte[by].dropna().astype(str))
    groups = [g for g in arm_order(trial.adsl, by) if g in present]
    name = param_name(trial, paramcd)
    ard = ArdBuilder(f"time_to_event:{paramcd}")
    pct = f"{100 * level:g}%"

    def fmt(v: float) -> str:
        return "NR" if np.isnan(v) else f"{v:g}"

    rows = []
    for g in groups:
        d = tte[tte[by].astype(str) == g]
        time = d["AVAL"].to_numpy(dtype=float)
        event = 1 - d["CNSR"].to_numpy(dtype=int)
        fit = kaplan_meier(time, event, conf_type="log", level=level)
        med, lo, hi = fit.median()
        n_ev = int(event.sum())
        ard.add(g, name, "subjects", n=len(d), events=n_ev, censored=len(d) - n_ev)
        ard.add(g, name, "median", estimate=med, ci_lower=lo, ci_upper=hi)
        row = [g, str(len(d)), str(n_ev), str(len(d) - n_ev), f"{fmt(med)} ({fmt(lo)}, {fmt(hi)})"]
        if len(times):
            km = fit.table(times=times)
            for _, r in km.iterrows():
                ard.add(
                    g,
                    name,
                    f"day {float(r['time']):g}",
                    n_risk=int(r["n_risk"]),
                    estimate=float(r["survival"]),
                    ci_lower=float(r["lower"]),
                    ci_upper=float(r["upper"]),
                )
                row.append(_pct(float(r["survival"])))
        rows.append(row)
    columns = ["Group", "Subjects", "Events", "Censored", f"Median, days ({pct} CI)"]
    columns += [f"Day {t:g}" for t in times]
    display = pd.DataFrame(rows, columns=columns)
    notes = [
        "Kaplan-Meier estimates; median with log-transformed CI as R survfit "
        "(NR = not reached). CNSR = 0 is an event."
    ]
    if len(groups) > 1:
        sub = tte[tte[by].astype(str).isin(groups)]
        lr = logrank_test(
            sub["AVAL"].to_numpy(dtype=float),
            1 - sub["CNSR"].to_numpy(dtype=int),
            sub[by].astype(str).to_numpy(),
        )
        ard.add("All", name, "log-rank", statistic=lr.statistic, df=lr.df, p_value=lr.p_value)
        p_text = "< 0.0001" if lr.p_value < 1e-4 else f"= {lr.p_value:.4f}"
        notes.insert(
            0,
            f"Log-rank test across {len(groups)} groups: chi-square {lr.statistic:.2f} on "
            f"{lr.df} df, p {p_text}.",
        )
    return TableResult(name, display, ard.frame(), notes)


#: Usual order of response categories (RECIST 1.1 / iwCLL / Lugano ...: complete, partial,
#: stable, progressive, not evaluable); other categories follow in alphabetical order.
RESPONSE_ORDER = ("SCR", "CR", "CRI", "VGPR", "PR", "MR", "SD", "PD", "NR", "NE")


def best_response_table(
    trial: TrialData,
    paramcd: str = "OVRLRESP",
    visit: str | None = None,
    by: str | None = "TRT01A",
    positive: Sequence[str] = ("CR", "PR"),
    categories: Sequence[str] | None = None,
    level: float = 0.95,
) -> TableResult:
    """Response by dose level in one wide table: one row per dose level (in dose order) and a
    Total row; columns N, each response category n (%), subjects without an assessment
    ("Not assessed"), and the objective response rate (``positive`` categories) with its exact
    Clopper-Pearson interval.

    Population: the efficacy population (ADSL EFFFL = Y when collected, else every subject).
    The denominator of every percentage and of the rate is that population's N, so subjects
    without an assessment count as non-responders. The response is the subject's ADRS record
    of ``paramcd`` at ``visit``; without ``visit`` there must be one record per subject (e.g.
    PARAMCD BESTRESP, the best overall response as derived in ADRS)."""
    if trial.adrs is None:
        raise ValueError("paramcd: the trial has no ADRS table")
    rs = trial.adrs[trial.adrs["PARAMCD"] == paramcd]
    if visit is not None:
        rs = rs[rs["AVISIT"] == visit]
    if rs.empty:
        raise ValueError(
            f"paramcd: no ADRS records for {paramcd!r}" + (f" at {visit!r}" if visit else "")
        )
    twice = rs["USUBJID"][rs["USUBJID"].duplicated()]
    if len(twice):
        raise ValueError(
            f"visit: {paramcd} has several records for subject {twice.iloc[0]!r}"
            + (f" at {visit!r}" if visit else "; name the visit")
        )
    adsl = trial.adsl
    population = "efficacy population (EFFFL = Y)"
    if collected(adsl, "EFFFL"):
        adsl = adsl[adsl["EFFFL"] == "Y"]
    else:
        population = "all subjects in ADSL (no EFFFL collected)"
    if by is not None and by not in adsl.columns:
        raise ValueError(f"by: {by!r} is not a column of ADSL")
    value = adsl["USUBJID"].map(rs.set_index("USUBJID")["AVALC"].astype(str).str.upper())
    found = sorted(set(value.dropna()))
    order = [c.upper() for c in categories] if categories else []
    order += [c for c in RESPONSE_ORDER if c in found and c not in order]
    order += [c for c in found if c not in order]
    wanted = {p.upper() for p in positive}
    groups = ["Total"] if by is None else [*arm_order(adsl, by), "Total"]
    ard = ArdBuilder(f"best_response:{paramcd}")
    pct = f"{100 * level:g}%"
    rows = []
    for g in groups:
        mask = pd.Series(True, index=adsl.index) if g == "Total" else adsl[by].astype(str) == g
        v = value[mask]
        n = len(v)
        row: list[object] = [g, n]
        for c in [*order, None]:
            k = int(v.isna().sum()) if c is None else int((v == c).sum())
            ard.add(g, paramcd, "not assessed" if c is None else c, n=k, N=n)
            row.append(fmt_pct(k, n))
        x = int(v.isin(wanted).sum())
        lo, hi = binomial_ci(x, n, "clopper-pearson", level) if n else (np.nan, np.nan)
        ard.add(
            g,
            paramcd,
            "response rate",
            x=x,
            n=n,
            estimate=x / n if n else None,
            ci_lower=lo,
            ci_upper=hi,
        )
        row += [fmt_pct(x, n), fmt_rate_ci(x, n, lo, hi)]
        rows.append(row)
    rate = "+".join(p.upper() for p in positive)
    columns = [
        "Dose level" if by is not None else "",
        "N",
        *order,
        "Not assessed",
        f"Response ({rate}) n (%)",
        f"Response rate ({pct} CI)",
    ]
    where = f" at {visit}" if visit else ""
    notes = [
        f"Response: ADRS {paramcd}{where}. Denominator: {population}; subjects without an "
        "assessment count as non-responders.",
        f"Response rate ({rate}) with the exact (Clopper-Pearson) {pct} confidence interval.",
    ]
    return TableResult(
        f"Response by dose level ({paramcd}{where})",
        pd.DataFrame(rows, columns=columns),
        ard.frame(),
        notes,
    )
