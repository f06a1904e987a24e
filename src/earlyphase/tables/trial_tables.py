"""Trial-description tables: baseline characteristics, disposition, exposure, DLTs by dose,
days free of respiratory support, and biomarker change from baseline."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from earlyphase.data.adam import NOT_COLLECTED, arm_order, collected, end_of_study
from earlyphase.data.trial import TrialData
from earlyphase.stats import binomial_ci, paired_t, wilcoxon_signed_rank
from earlyphase.tables.result import ArdBuilder, TableResult, fmt_pct, fmt_rate_ci

TEMPLATES = ("mean_sd", "median_range", "median_iqr", "mean_sd_median_range")


def _num_summary(values: pd.Series, template: str, digits: int = 1) -> tuple[str, dict[str, float]]:
    v = values.dropna().astype(float)
    stats = {"n": float(len(v))}
    if len(v) == 0:
        return "-", stats
    stats.update(
        mean=float(v.mean()),
        sd=float(v.std(ddof=1)) if len(v) > 1 else float("nan"),
        median=float(v.median()),
        min=float(v.min()),
        max=float(v.max()),
        q1=float(v.quantile(0.25)),
        q3=float(v.quantile(0.75)),
    )
    d = digits
    mean_sd = f"{stats['mean']:.{d}f} ± {stats['sd']:.{d}f}"
    med_rng = f"{stats['median']:.{d}f} ({stats['min']:.{d}f}–{stats['max']:.{d}f})"
    text = {
        "mean_sd": mean_sd,
        "median_range": med_rng,
        "median_iqr": f"{stats['median']:.{d}f} [{stats['q1']:.{d}f}, {stats['q3']:.{d}f}]",
        "mean_sd_median_range": f"{mean_sd}; {med_rng}",
    }[template]
    return text, stats


def baseline_table(
    trial: TrialData,
    variables: Sequence[tuple[str, str, str]],
    by: str | None = "TRT01A",
    digits: int = 1,
) -> TableResult:
    """Baseline characteristics. ``variables`` are (column, label, template): template
    ``"n_pct"`` for categorical, or one of mean_sd, median_range, median_iqr,
    mean_sd_median_range (both in one cell) or ``"rows"`` (mean ± SD and median (range) on two
    rows) for numeric columns of ADSL.

    Columns go by their ADaM names (ADaM IG v1.1/v1.3 ADSL: AGE, SEX, RACE, WEIGHTBL,
    HEIGHTBL, BMIBL ...); a column absent from ADSL (or entirely blank) shows as "not
    collected". Groups are in the order of their numeric code (TRT01AN for TRT01A)."""
    adsl = trial.adsl
    groups = ["Total"] if by is None else [*arm_order(adsl, by), "Total"]
    ard = ArdBuilder("baseline")
    rows = []
    absent = []
    for col, label, template in variables:
        if template not in (*TEMPLATES, "n_pct", "rows"):
            raise ValueError(f"variables: unknown template {template!r} for {col!r}")
        if not collected(adsl, col):
            rows.append([label, *[NOT_COLLECTED] * len(groups)])
            absent.append(col)
            continue
        if template == "n_pct":
            levels = sorted(adsl[col].dropna().astype(str).unique())
            rows.append([label, *[""] * len(groups)])
            for lev in levels:
                cells = []
                for g in groups:
                    sub = adsl if g == "Total" else adsl[adsl[by].astype(str) == g]
                    n = int((sub[col].astype(str) == lev).sum())
                    ard.add(g, col, lev, n=n, N=len(sub))
                    cells.append(fmt_pct(n, len(sub)))
                rows.append([f"    {lev}", *cells])
        elif template == "rows":
            rows.append([label, *[""] * len(groups)])
            for sub_template, sub_label in (
                ("mean_sd", "Mean ± SD"),
                ("median_range", "Median (range)"),
            ):
                cells = []
                for g in groups:
                    sub = adsl if g == "Total" else adsl[adsl[by].astype(str) == g]
                    text, stats = _num_summary(sub[col], sub_template, digits)
                    if sub_template == "mean_sd":
                        ard.add(g, col, label, **stats)
                    cells.append(text)
                rows.append([f"    {sub_label}", *cells])
        elif template in TEMPLATES:
            cells = []
            for g in groups:
                sub = adsl if g == "Total" else adsl[adsl[by].astype(str) == g]
                text, stats = _num_summary(sub[col], template, digits)
                ard.add(g, col, label, **stats)
                cells.append(text)
            rows.append([label, *cells])
        else:
            raise ValueError(f"variables: unknown template {template!r} for {col!r}")
    sizes = {
        g: len(adsl) if g == "Total" else int((adsl[by].astype(str) == g).sum()) for g in groups
    }
    header = ["Characteristic", *[f"{g} (N = {sizes[g]})" for g in groups]]
    display = pd.DataFrame(rows, columns=header)
    notes = ["n (%), mean ± SD, or median (range)."]
    if absent:
        notes.append(f"Not collected (absent from ADSL): {', '.join(absent)}.")
    return TableResult("Baseline characteristics", display, ard.frame(), notes)


def disposition_table(trial: TrialData, by: str | None = None) -> TableResult:
    """Enrolled, treated, completed, discontinued (by reason), died; by group with ``by``
    (groups in the order of their numeric code). End of study from EOSSTT/DCSREAS or
    DCDECOD (see :func:`end_of_study`); deaths from DTHFL. Absent variables show as "not
    collected"."""
    adsl = trial.adsl
    groups = ["Total"] if by is None else [*arm_order(adsl, by), "Total"]
    subsets = {g: adsl if g == "Total" else adsl[adsl[by].astype(str) == g] for g in groups}
    ard = ArdBuilder("disposition")
    rows: list[list[str]] = []

    def add(label: str, variable: str, counts: dict[str, pd.Series] | None) -> None:
        if counts is None:
            rows.append([label, *[NOT_COLLECTED] * len(groups)])
            return
        cells = []
        for g in groups:
            k, n = int(counts[g].sum()), len(subsets[g])
            ard.add(g, variable, label.strip(), n=k, N=n)
            cells.append(fmt_pct(k, n))
        rows.append([label, *cells])

    rows.append(["Enrolled", *[str(len(subsets[g])) for g in groups]])
    for g in groups:
        ard.add(g, "disposition", "Enrolled", n=len(subsets[g]))
    add(
        "Treated (safety population)",
        "disposition",
        {g: d["SAFFL"] == "Y" for g, d in subsets.items()} if collected(adsl, "SAFFL") else None,
    )
    eos = end_of_study(adsl)
    notes = []
    if eos is None:
        add("Completed", "disposition", None)
        add("Discontinued", "disposition", None)
    else:
        status, reason, source = eos
        notes.append(f"End of study from ADSL {source}.")
        for st in sorted(status.dropna().unique()):
            add(
                str(st).capitalize(),
                "disposition",
                {g: (status.loc[d.index] == st).fillna(False) for g, d in subsets.items()},
            )
            if st == "DISCONTINUED":
                why = reason.where(status == st).fillna("not given").where(status == st)
                for r in sorted(why.dropna().unique()):
                    add(
                        f"    {r}",
                        "discontinued",
                        {g: (why.loc[d.index] == r).fillna(False) for g, d in subsets.items()},
                    )
    add(
        "Died",
        "disposition",
        {g: d["DTHFL"] == "Y" for g, d in subsets.items()} if "DTHFL" in adsl.columns else None,
    )
    header = ["Status", *(["Subjects"] if by is None else [f"{g}" for g in groups])]
    return TableResult("Disposition", pd.DataFrame(rows, columns=header), ard.frame(), notes)


def exposure_table(trial: TrialData, by: str | None = "TRT01A") -> TableResult:
    """Infusions per subject, cells/kg per infusion and total cells per subject: median (range)."""
    if trial.adex is None:
        raise ValueError("adex: the trial has no exposure (ADEX) table")
    ex = trial.adex
    if by is not None:
        ex = ex.merge(trial.adsl[["USUBJID", by]], on="USUBJID", how="left")
    present = set(ex[by].dropna().astype(str)) if by is not None else set()
    groups = (
        ["Total"]
        if by is None
        else [*[g for g in arm_order(trial.adsl, by) if g in present], "Total"]
    )
    ard = ArdBuilder("exposure")
    rows: dict[str, list[str]] = {
        "Infusions per subject": [],
        "Dose per infusion (10^6 cells/kg)": [],
        "Total cells per subject (10^6)": [],
    }
    for g in groups:
        sub = ex if g == "Total" else ex[ex[by].astype(str) == g]
        per = sub.groupby("USUBJID")
        for label, values, d in (
            ("Infusions per subject", per.size(), 0),
            ("Dose per infusion (10^6 cells/kg)", sub["EXDOSE"], 2),
            (
                "Total cells per subject (10^6)",
                per["TOTCELLS"].sum() if "TOTCELLS" in sub else pd.Series(dtype=float),
                1,
            ),
        ):
            text, stats = _num_summary(pd.Series(values), "median_range", d)
            ard.add(g, "exposure", label, **stats)
            rows[label].append(text)
    display = pd.DataFrame([[k, *v] for k, v in rows.items()], columns=["", *groups])
    return TableResult("Exposure", display, ard.frame(), ["Median (range)."])


def dlt_population(trial: TrialData) -> tuple[pd.DataFrame, str]:
    """The subjects whose DLTs are counted and the rule: ADSL DLTEVLFL = Y when the flag was
    collected (DLT-evaluable: completed the DLT window or had a DLT, as the protocol defines),
    else the safety population (SAFFL = Y), else every subject of ADSL."""
    adsl = trial.adsl
    if collected(adsl, "DLTEVLFL"):
        return adsl[adsl["DLTEVLFL"] == "Y"], "DLT-evaluable subjects (ADSL DLTEVLFL = Y)"
    if collected(adsl, "SAFFL"):
        return (
            adsl[adsl["SAFFL"] == "Y"],
            "safety population (SAFFL = Y); no DLT-evaluable flag (DLTEVLFL) was collected",
        )
    return adsl, "all subjects in ADSL; neither DLTEVLFL nor SAFFL was collected"


def dlt_table(trial: TrialData, dose_col: str = "TRT01A", level: float = 0.95) -> TableResult:
    """DLTs by dose level, in dose order (numeric code TRT01AN, else DOSELVL): subjects
    treated, DLT-evaluable, with a DLT (ADAE AEDLT = Y), the rate with its exact
    Clopper-Pearson interval and the DLT terms; "not collected" when ADAE has no AEDLT.

    Denominator: :func:`dlt_population`. A subject counts once however many DLTs it had.
    """
    adsl = trial.adsl
    ae = trial.adae
    has_dlt = collected(ae, "AEDLT")
    dlt = ae[ae["AEDLT"] == "Y"] if ae is not None and has_dlt else None
    evaluable, rule = dlt_population(trial)
    ard = ArdBuilder("dlt")
    rows: list[list[object]] = []
    pct = f"{100 * level:g}%"
    for dose in arm_order(adsl, dose_col):
        ids = set(adsl.loc[adsl[dose_col].astype(str) == dose, "USUBJID"])
        ev = set(evaluable.loc[evaluable[dose_col].astype(str) == dose, "USUBJID"])
        if dlt is None:
            ard.add(str(dose), "dlt", str(dose), n=len(ids), n_evaluable=len(ev), n_dlt=None)
            rows.append([str(dose), len(ids), len(ev), *[NOT_COLLECTED] * 3])
            continue
        d = dlt[dlt["USUBJID"].isin(ev)]
        k = int(d["USUBJID"].nunique())
        lo, hi = binomial_ci(k, len(ev), "clopper-pearson", level) if ev else (np.nan, np.nan)
        ard.add(
            str(dose),
            "dlt",
            str(dose),
            n=len(ids),
            n_evaluable=len(ev),
            n_dlt=k,
            rate=k / len(ev) if ev else None,
            ci_lower=lo,
            ci_upper=hi,
        )
        terms = ", ".join(sorted(set(d["AEDECOD"].astype(str)))) or "-"
        rows.append([str(dose), len(ids), len(ev), k, fmt_rate_ci(k, len(ev), lo, hi), terms])
    notes = [
        f"Denominator: {rule}. Each subject is counted once. Rate with the exact "
        f"(Clopper-Pearson) {pct} confidence interval.",
    ]
    if not has_dlt:
        notes.append("Not collected: ADAE has no DLT flag (AEDLT); not the same as no DLT.")
    elif dlt is not None:
        outside = dlt[~dlt["USUBJID"].isin(set(evaluable["USUBJID"]))]
        if len(outside):
            notes.append(
                f"{outside['USUBJID'].nunique()} subject(s) with a DLT outside the "
                "denominator population are not counted."
            )
    return TableResult(
        "Dose-limiting toxicities by dose level",
        pd.DataFrame(
            rows,
            columns=[
                "Dose level",
                "Treated",
                "DLT-evaluable",
                "With DLT",
                f"DLT rate ({pct} CI)",
                "DLT terms",
            ],
        ),
        ard.frame(),
        notes,
    )


def free_days(trial: TrialData, paramcd: str, horizon: float) -> pd.Series:
    """Days free of a support (e.g. mechanical ventilation) from day 1 to ``horizon``.

    Rule (stated in every table that uses it): days after death or discontinuation are not
    counted (the subject's data up to that day are used); a subject contributes
    min(horizon, end) - (days on support within it), with end = EOSDY, or DTHDY, or horizon.
    Episodes are ADVENT records (ASTDY..AENDY inclusive; open-ended episodes last to the end).
    """
    adsl = trial.adsl
    index = adsl["USUBJID"].to_numpy()
    end_arr = np.full(len(index), float(horizon))
    for col in ("EOSDY", "DTHDY"):
        if col in adsl.columns:
            vals = adsl[col].astype(float).fillna(np.inf).to_numpy()
            end_arr = np.fmin(end_arr, vals)
    end = pd.Series(end_arr, index=index)
    used = pd.Series(0.0, index=end.index)
    if trial.advent is not None:
        ep = trial.advent[trial.advent["PARAMCD"] == paramcd]
        for _, r in ep.iterrows():
            stop_day = end[r["USUBJID"]]
            start = max(1.0, float(r["ASTDY"]))
            stop = stop_day if pd.isna(r["AENDY"]) else min(float(r["AENDY"]), stop_day)
            used[r["USUBJID"]] += max(0.0, stop - start + 1)
    return (end - used).clip(lower=0)


def free_days_table(
    trial: TrialData, paramcd: str, horizons: Sequence[float], label: str
) -> TableResult:
    """Mean ± SD and median (range) of days free of ``paramcd`` to each horizon."""
    ard = ArdBuilder(f"free_days:{paramcd}")
    rows = []
    for h in horizons:
        days = free_days(trial, paramcd, h)
        text, stats = _num_summary(days, "mean_sd_median_range", 1)
        ard.add("All", f"day {h:g}", label, **stats)
        rows.append([f"Day 0 to day {h:g}", text])
    notes = [
        "Days after death or discontinuation are not counted (data up to that day are used).",
        f"n = {trial.n}. Mean ± SD; median (range).",
    ]
    return TableResult(
        label, pd.DataFrame(rows, columns=["Assessment period", label]), ard.frame(), notes
    )


def biomarker_change_table(trial: TrialData, paramcds: Sequence[str], day: float) -> TableResult:
    """Change from baseline to ``day`` for each biomarker, with R-style paired Wilcoxon
    (exact when possible) and paired t-tests."""
    if trial.adlb is None:
        raise ValueError("paramcds: the trial has no ADLB table")
    lb = trial.adlb
    ard = ArdBuilder("biomarkers")
    rows = []
    for p in paramcds:
        sub = lb[lb["PARAMCD"] == p]
        if sub.empty:
            raise ValueError(f"paramcds: no ADLB records for {p!r}")
        base = (
            sub[sub["ABLFL"] == "Y"].set_index("USUBJID")["AVAL"]
            if "ABLFL" in sub.columns
            else sub.sort_values("ADY").groupby("USUBJID")["AVAL"].first()
        )
        post = sub[sub["ADY"] == day].set_index("USUBJID")["AVAL"]
        pair = pd.concat([base.rename("base"), post.rename("post")], axis=1).dropna()
        n = len(pair)
        if n >= 2:
            w = wilcoxon_signed_rank(pair["post"].astype(float), pair["base"].astype(float))
            t = paired_t(pair["post"].astype(float), pair["base"].astype(float))
            w_p, t_p = w.p_value, t.p_value
        else:
            w_p = t_p = float("nan")
        chg = (pair["post"] - pair["base"]).astype(float)
        ard.add(
            "All",
            p,
            f"day {day:g}",
            n=n,
            mean_change=chg.mean() if n else None,
            median_change=chg.median() if n else None,
            wilcoxon_p=w_p,
            t_p=t_p,
        )
        rows.append(
            [
                p,
                n,
                f"{pair['base'].median():.2f}" if n else "-",
                f"{pair['post'].median():.2f}" if n else "-",
                f"{chg.median():.2f}" if n else "-",
                "-" if np.isnan(w_p) else f"{w_p:.3f}",
                "-" if np.isnan(t_p) else f"{t_p:.3f}",
            ]
        )
    display = pd.DataFrame(
        rows,
        columns=[
            "Parameter",
            "Pairs",
            "Baseline (median)",
            f"Day {day:g} (median)",
            "Change (median)",
            "Wilcoxon p",
            "Paired t p",
        ],
    )
    return TableResult(
        f"Biomarkers: change from baseline to day {day:g}",
        display,
        ard.frame(),
        ["Wilcoxon signed-rank test as R wilcox.test (exact without ties or zeros)."],
    )
