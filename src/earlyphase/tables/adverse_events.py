"""Adverse-event tables by SOC and PT, with the counting rules of a safety analysis.

Rules (analysis notes section 6.5; gtreg ``tbl_ae``, tern ``count_occurrences``):

- only treatment-emergent events (TRTEMFL = Y) unless ``teae_only=False``;
- denominators are the subjects of the safety population in ADSL (SAFFL = Y, or everyone when
  the flag is absent), so subjects without any event count;
- a subject counts once per row (any event, SOC, PT); events count every record;
- worst grade per subject and PT (and SOC) for grade tables;
- rows sorted by the number of subjects (all groups together), descending, then alphabetically;
  PTs within their SOC likewise; a PT that appears under two SOCs is counted under each;
- groups (arms, dose levels) in the order of their numeric code (TRT01AN ...), not their text;
- intensity is the toxicity grade (AETOXGR) when collected, otherwise the severity (AESEV), and
  is labelled as what it is; fatal events are AEOUT = FATAL, AESDTH = Y or grade 5;
- a summary row whose variable was not collected says so, never 0.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from earlyphase.data.adam import (
    NOT_COLLECTED,
    arm_order,
    collected,
    fatal_mask,
    fatal_sources,
    intensity,
)
from earlyphase.data.trial import TrialData
from earlyphase.tables.result import ArdBuilder, TableResult, fmt_pct, median_range

#: AEACN term for withdrawal of study treatment (SDTM codelist ACN, C66767)
DRUG_WITHDRAWN = "DRUG WITHDRAWN"


def _population(trial: TrialData, by: str | None) -> tuple[pd.DataFrame, list[str]]:
    adsl = trial.adsl
    if "SAFFL" in adsl.columns:
        adsl = adsl[adsl["SAFFL"].fillna("Y") == "Y"]
    groups = ["Total"] if by is None else [*arm_order(adsl, by), "Total"]
    return adsl, groups


def _events(trial: TrialData, teae_only: bool, window: float | None) -> pd.DataFrame:
    ae = trial.adae
    if ae is None:
        return pd.DataFrame(columns=["USUBJID", "AESOC", "AEDECOD", "AETOXGR"])
    if teae_only:
        ae = ae[ae["TRTEMFL"] == "Y"]
    if window is not None:
        if "ASTDY" not in ae.columns:
            raise ValueError("window: needs the onset day ASTDY in ADAE")
        ae = ae[ae["ASTDY"].notna() & (ae["ASTDY"] <= window)]
    return ae


def _causality_note(ae: pd.DataFrame) -> str | None:
    """Which collected causality terms counted as related, from the load-time mapping."""
    if "AEREL_COLLECTED" not in ae.columns:
        return None
    pairs = ae[["AEREL_COLLECTED", "AEREL"]].dropna().drop_duplicates()
    rel = sorted(pairs.loc[pairs["AEREL"] == "Y", "AEREL_COLLECTED"].astype(str).str.upper())
    nrel = sorted(pairs.loc[pairs["AEREL"] == "N", "AEREL_COLLECTED"].astype(str).str.upper())
    blank = int(ae["AEREL"].isna().sum())
    text = (
        f"Related: causality (AEREL) {', '.join(sorted(set(rel))) or '-'}; not related: "
        f"{', '.join(sorted(set(nrel))) or '-'}."
    )
    if blank:
        text += f" Causality not recorded for {blank} event(s): counted as neither."
    return text


def ae_table(
    trial: TrialData,
    by: str | None = "TRT01A",
    teae_only: bool = True,
    window: float | None = None,
    min_pct: float = 0.0,
    overall: bool = True,
) -> TableResult:
    """Subjects n (%) and events [n] by SOC and PT, with the summary rows a safety section
    opens with. ``window`` keeps events with onset on or before that day (e.g. 10 days after
    infusion); ``min_pct`` drops PTs below that subject percentage in every group.

    Display cells read ``n (x%) [events]``; a zero count shows as ``0 [0]``; a summary row
    whose variable is absent from ADAE reads "not collected" (and has no ARD numbers).
    PT rows are indented by four spaces under their SOC (the report renders the indentation).
    """
    if by is not None and by not in trial.adsl.columns:
        raise ValueError(f"by: {by!r} is not a column of ADSL")
    adsl, groups = _population(trial, by)
    if not overall and by is not None:
        groups = groups[:-1]
    ae = _events(trial, teae_only, window)
    ae = ae[ae["USUBJID"].isin(adsl["USUBJID"])]
    if by is not None:
        ae = ae.merge(adsl[["USUBJID", by]], on="USUBJID", how="left")
    denom = {
        g: (len(adsl) if g == "Total" else int((adsl[by].astype(str) == g).sum())) for g in groups
    }
    ard = ArdBuilder("adverse_events")

    def in_group(frame: pd.DataFrame, g: str) -> pd.DataFrame:
        return frame if g == "Total" else frame[frame[by].astype(str) == g]

    def cell(g: str, variable: str, label: str, n_subj: int, n_ev: int) -> str:
        """Record one group's counts in the ARD and format them as ``n (x%) [events]``."""
        ard.add(
            g,
            variable,
            label,
            n_subjects=n_subj,
            n_events=n_ev,
            N=denom[g],
            pct=100 * n_subj / denom[g] if denom[g] else None,
        )
        return f"{fmt_pct(n_subj, denom[g])} [{n_ev}]"

    def cells(frame: pd.DataFrame | None, variable: str, label: str) -> list[str]:
        if frame is None:
            return [NOT_COLLECTED] * len(groups)
        out = []
        for g in groups:
            sub = in_group(frame, g)
            out.append(cell(g, variable, label, int(sub["USUBJID"].nunique()), len(sub)))
        return out

    source = trial.adae
    scale = intensity(source) if source is not None else None
    fatal = None if source is None else fatal_mask(ae, reference=source)
    high: tuple[str, pd.DataFrame | None]
    if scale is None or scale.kind == "grade":
        high = ("Any grade >= 3 AE", None if scale is None else ae[ae["AETOXGR"] >= 3])
    else:
        severe = ae["AESEV"].astype("string").str.upper() == "SEVERE"
        high = ("Any severe AE (severity)", ae[severe.fillna(False)])
    withdrawn = (
        (ae["AEACN"].astype("string").str.upper().str.strip() == DRUG_WITHDRAWN).fillna(False)
        if collected(source, "AEACN")
        else None
    )
    summary: list[tuple[str, pd.DataFrame | None]] = [
        ("Any TEAE" if teae_only else "Any AE", ae),
        ("Any serious AE", ae[ae["AESER"] == "Y"] if collected(source, "AESER") else None),
        ("Any related AE (ADR)", ae[ae["AEREL"] == "Y"] if collected(source, "AEREL") else None),
        high,
        (
            "Any AE leading to withdrawal of treatment",
            None if withdrawn is None else ae[withdrawn],
        ),
        ("Fatal", None if fatal is None else ae[fatal]),
    ]
    rows: list[list[str]] = []
    for label, frame in summary:
        rows.append([label, *cells(frame, "summary", label)])

    # subject and event counts per (group, SOC) and (group, SOC, PT) in one pass each
    frames = {g: in_group(ae, g) for g in groups}
    soc_n = {g: f.groupby("AESOC")["USUBJID"].agg(["nunique", "size"]) for g, f in frames.items()}
    pt_n = {
        g: f.groupby(["AESOC", "AEDECOD"])["USUBJID"].agg(["nunique", "size"])
        for g, f in frames.items()
    }

    def counted(
        table: dict[str, pd.DataFrame], key: object, variable: str, label: str
    ) -> list[str]:
        out = []
        for g in groups:
            if key in table[g].index:
                n_subj, n_ev = (int(v) for v in table[g].loc[key])  # type: ignore[call-overload]
            else:
                n_subj, n_ev = 0, 0
            out.append(cell(g, variable, label, n_subj, n_ev))
        return out

    soc_counts = ae.groupby("AESOC")["USUBJID"].nunique()
    pt_counts = ae.groupby(["AESOC", "AEDECOD"])["USUBJID"].nunique()
    soc_order = sorted(soc_counts.index, key=lambda s: (-int(soc_counts[s]), str(s)))
    for soc in soc_order:
        pts = sorted(pt_counts.loc[soc].index, key=lambda p: (-int(pt_counts[(soc, p)]), str(p)))
        pt_rows = []
        for pt in pts:
            keep = any(
                denom[g]
                and (soc, pt) in pt_n[g].index
                and 100 * int(pt_n[g].loc[(soc, pt), "nunique"]) / denom[g] >= min_pct
                for g in groups
            )
            if keep:
                pt_rows.append([f"    {pt}", *counted(pt_n, (soc, pt), f"PT|{soc}", str(pt))])
        if pt_rows:
            rows.append([str(soc), *counted(soc_n, soc, "SOC", str(soc))])
            rows.extend(pt_rows)
    header = ["System organ class / preferred term", *[f"{g} (N = {denom[g]})" for g in groups]]
    display = pd.DataFrame(rows, columns=header)
    notes = [
        "Subjects are counted once per row; events count every record. Denominators: "
        "safety population in ADSL.",
        "Treatment-emergent events only." if teae_only else "All recorded events.",
    ]
    if window is not None:
        notes.append(f"Events with onset up to day {window:g}.")
    if scale is not None and scale.kind == "severity":
        notes.append(
            "Intensity is the severity as collected (AESEV: mild, moderate, severe); "
            "no toxicity grade (AETOXGR) was collected."
        )
    if fatal is not None and source is not None:
        used = fatal_sources(source)
        rule = {"AEOUT": "AEOUT = FATAL", "AESDTH": "AESDTH = Y", "AETOXGR": "grade 5"}
        notes.append(f"Fatal: {' or '.join(rule[c] for c in used)}.")
    rel = _causality_note(ae) if collected(source, "AEREL") else None
    if rel:
        notes.append(rel)
    if any(frame is None for _, frame in summary):
        notes.append("Not collected: the variable is absent from ADAE (not the same as none).")
    return TableResult(
        "Adverse events by system organ class and preferred term", display, ard.frame(), notes
    )


def ae_worst_grade_table(
    trial: TrialData, by: str | None = "TRT01A", teae_only: bool = True
) -> TableResult:
    """Subjects by their worst intensity, overall and for each PT: a subject counts once per
    block, at its highest level. Intensity is the toxicity grade (AETOXGR) when collected, with
    "Any grade" and "Grade >= 3" rows; otherwise the severity (AESEV), with "Any severity" and
    "Severe" rows. ARD labels are ``any grade``, ``grade >= 3`` and ``grade k``, or ``any
    severity``, ``any severe`` and the lower-case severity of the worst-level rows."""
    adsl, groups = _population(trial, by)
    ae = _events(trial, teae_only, None)
    ae = ae[ae["USUBJID"].isin(adsl["USUBJID"])]
    denom = {
        g: (len(adsl) if g == "Total" else int((adsl[by].astype(str) == g).sum())) for g in groups
    }
    group_cols = [f"{g} (N = {denom[g]})" for g in groups]
    ard = ArdBuilder("ae_worst_grade")
    scale = intensity(trial.adae) if trial.adae is not None else None
    if scale is None:
        display = pd.DataFrame(
            [["Any event", *[NOT_COLLECTED] * len(groups)]],
            columns=["Preferred term / worst intensity", *group_cols],
        )
        return TableResult(
            "Adverse events by worst intensity",
            display,
            ard.frame(),
            ["Neither toxicity grade (AETOXGR) nor severity (AESEV) was collected."],
        )
    grade = scale.kind == "grade"
    ae = ae.assign(_LEVEL=scale.values.loc[ae.index])
    worst = ae.groupby(["USUBJID", "AEDECOD"], as_index=False)["_LEVEL"].max()
    any_worst = ae.groupby("USUBJID", as_index=False)["_LEVEL"].max().assign(AEDECOD="Any event")
    table = pd.concat([any_worst, worst], ignore_index=True)
    if by is not None:
        table = table.merge(adsl[["USUBJID", by]], on="USUBJID", how="left")

    def part(g: str) -> pd.DataFrame:
        sub: pd.DataFrame = (
            table if g == "Total" or by is None else table[table[by].astype(str) == g]
        )
        return sub

    def everything(f: pd.DataFrame) -> pd.DataFrame:
        return f

    def at_least_high(f: pd.DataFrame) -> pd.DataFrame:
        kept: pd.DataFrame = f[f["_LEVEL"] >= high]
        return kept

    high = 3  # grade >= 3, or SEVERE (coded 3)
    any_label, high_label = ("Any grade", "Grade >= 3") if grade else ("Any severity", "Severe")
    # ARD labels of the two summary rows (distinct from the worst-level rows' labels)
    ard_label = {any_label: any_label.lower(), high_label: high_label.lower()}
    if not grade:
        ard_label[high_label] = "any severe"
    rows: list[list[str]] = []
    for pt in ["Any event", *sorted(set(worst["AEDECOD"].astype(str)))]:
        block: list[list[str]] = []
        for label, pick in (
            (any_label, everything),
            (high_label, at_least_high),
        ):
            cells = []
            for g in groups:
                sub = part(g)
                n = int(pick(sub[sub["AEDECOD"] == pt])["USUBJID"].nunique())
                ard.add(g, pt, ard_label[label], n_subjects=n, N=denom[g])
                cells.append(fmt_pct(n, denom[g]))
            block.append([f"    {label}", *cells])
        for level, name in scale.levels:
            cells = []
            for g in groups:
                sub = part(g)
                n = int(((sub["AEDECOD"] == pt) & (sub["_LEVEL"] == level)).sum())
                ard.add(
                    g, pt, f"grade {level}" if grade else name.lower(), n_subjects=n, N=denom[g]
                )
                cells.append(fmt_pct(n, denom[g]))
            if any(c != "0" for c in cells):
                block.append([f"        Worst: {name}", *cells])
        missing = []
        for g in groups:
            sub = part(g)
            n = int(((sub["AEDECOD"] == pt) & sub["_LEVEL"].isna()).sum())
            missing.append(fmt_pct(n, denom[g]))
        if any(c != "0" for c in missing):
            block.append(["        Worst: not recorded", *missing])
        rows.append([pt, *[""] * len(groups)])
        rows.extend(block)
    kind = "toxicity grade (AETOXGR)" if grade else "severity (AESEV)"
    display = pd.DataFrame(rows, columns=["Preferred term / worst intensity", *group_cols])
    notes = [
        f"Intensity: {kind}. Each subject is counted once per term, at the worst level.",
    ]
    if not grade:
        notes.append(
            "No toxicity grade (AETOXGR) was collected; severity is shown as collected, not "
            "converted to a grade."
        )
    return TableResult(f"Adverse events by worst {kind}", display, ard.frame(), notes)


def _grade_categories(
    grade: bool, detail: bool
) -> list[tuple[str, str, Callable[[pd.Series], pd.Series]]]:
    """(column label, ARD stat, rule on the worst level) of the worst-grade table."""

    def anything(v: pd.Series) -> pd.Series:
        return pd.Series(True, index=v.index)

    def between(lo: int, hi: int) -> Callable[[pd.Series], pd.Series]:
        def rule(v: pd.Series) -> pd.Series:
            return ((v >= lo) & (v <= hi)).fillna(False)

        return rule

    if grade:
        if detail:
            return [
                ("Any grade", "any_grade", anything),
                ("Grade 1-2", "grade_1_2", between(1, 2)),
                ("Grade 3", "grade_3", between(3, 3)),
                ("Grade 4", "grade_4", between(4, 4)),
                ("Grade 5", "grade_5", between(5, 5)),
            ]
        return [("Any grade", "any_grade", anything), ("Grade >= 3", "grade_ge3", between(3, 5))]
    if detail:
        return [
            ("Any severity", "any_severity", anything),
            ("Mild", "mild", between(1, 1)),
            ("Moderate", "moderate", between(2, 2)),
            ("Severe", "severe", between(3, 3)),
        ]
    return [("Any severity", "any_severity", anything), ("Severe", "severe", between(3, 3))]


def ae_grade_table(
    trial: TrialData,
    by: str | None = "TRT01A",
    detail: bool = False,
    teae_only: bool = True,
    overall: bool = True,
) -> TableResult:
    """Subjects by worst grade, by SOC and PT, in the layout of a publication: one column group
    per dose level (header ``level (N = n)``), with "Any grade" and "Grade >= 3" columns, or
    with ``detail`` "Any grade", "Grade 1-2", "Grade 3", "Grade 4", "Grade 5". Without a
    toxicity grade (AETOXGR) the columns are severity (AESEV): "Any severity" and "Severe"
    (``detail``: Mild, Moderate, Severe), labelled as severity.

    A subject counts once per row, in the column of its worst level among the row's events
    ("Any" counts it whatever the level, also when the level is blank). Columns are a
    two-level index (group, category). ARD: variable ``any`` / ``SOC`` / ``PT|<SOC>``, stat
    the category (any_grade, grade_ge3, grade_1_2 ... or any_severity, mild ... severe).
    """
    adsl, groups = _population(trial, by)
    if not overall and by is not None:
        groups = groups[:-1]
    ae = _events(trial, teae_only, None)
    ae = ae[ae["USUBJID"].isin(adsl["USUBJID"])]
    denom = {
        g: (len(adsl) if g == "Total" else int((adsl[by].astype(str) == g).sum())) for g in groups
    }
    scale = intensity(trial.adae) if trial.adae is not None else None
    grade = scale is None or scale.kind == "grade"
    cats = _grade_categories(grade, detail)
    kind = "toxicity grade (AETOXGR)" if grade else "severity (AESEV)"
    title = f"Adverse events by worst {kind}: system organ class and preferred term"
    first = ("", "System organ class / preferred term")
    columns = pd.MultiIndex.from_tuples(
        [first, *[(f"{g} (N = {denom[g]})", c[0]) for g in groups for c in cats]]
    )
    ard = ArdBuilder("ae_grade")
    if scale is None:
        display = pd.DataFrame(
            [["Any event", *[NOT_COLLECTED] * (len(columns) - 1)]], columns=columns
        )
        return TableResult(
            title,
            display,
            ard.frame(),
            ["Neither toxicity grade (AETOXGR) nor severity (AESEV) was collected."],
        )
    ae = ae.assign(_LEVEL=scale.values.loc[ae.index])

    def worst(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
        # max() skips blanks: a subject whose levels are all blank keeps a blank worst level
        out = frame.groupby(["USUBJID", *keys], dropna=False)["_LEVEL"].max().reset_index()
        if by is not None:
            out = out.merge(adsl[["USUBJID", by]], on="USUBJID", how="left")
        return out

    def cells(table: pd.DataFrame, variable: str, label: str) -> list[str]:
        out = []
        for g in groups:
            sub = table if g == "Total" or by is None else table[table[by].astype(str) == g]
            ard.add(g, variable, label, N=denom[g])
            for _, stat, rule in cats:
                n = int(sub.loc[rule(sub["_LEVEL"]).to_numpy(dtype=bool), "USUBJID"].nunique())
                ard.add(g, variable, label, **{stat: n})
                out.append(fmt_pct(n, denom[g]))
        return out

    any_label = "Any TEAE" if teae_only else "Any AE"
    rows: list[list[str]] = [[any_label, *cells(worst(ae, []), "any", any_label)]]
    soc_w = worst(ae, ["AESOC"])
    pt_w = worst(ae, ["AESOC", "AEDECOD"])
    soc_n = soc_w.groupby("AESOC")["USUBJID"].nunique()
    pt_n = pt_w.groupby(["AESOC", "AEDECOD"])["USUBJID"].nunique()
    for soc in sorted(soc_n.index, key=lambda s: (-int(soc_n[s]), str(s))):
        rows.append([str(soc), *cells(soc_w[soc_w["AESOC"] == soc], "SOC", str(soc))])
        pts = sorted(pt_n.loc[soc].index, key=lambda p: (-int(pt_n[(soc, p)]), str(p)))
        for pt in pts:
            part = pt_w[(pt_w["AESOC"] == soc) & (pt_w["AEDECOD"] == pt)]
            rows.append([f"    {pt}", *cells(part, f"PT|{soc}", str(pt))])
    display = pd.DataFrame(rows, columns=columns)
    notes = [
        f"Intensity: {kind}. Each subject is counted once per row, at its worst level; "
        "denominators (N): safety population in ADSL.",
        "Treatment-emergent events only." if teae_only else "All recorded events.",
    ]
    if not grade:
        notes.append(
            "No toxicity grade (AETOXGR) was collected; severity is shown as collected "
            "(mild, moderate, severe), not converted to a grade."
        )
    blank = int(ae["_LEVEL"].isna().sum())
    if blank:
        notes.append(f"{blank} event(s) without a recorded level count under any level only.")
    return TableResult(title, display, ard.frame(), notes)


def _normalise(values: pd.Series) -> pd.Series:
    return values.astype("string").str.upper().str.split().str.join(" ")


def days_from_first_dose(trial: TrialData, ae: pd.DataFrame) -> tuple[pd.Series, str] | None:
    """Days from first dose to onset of each event: ASTDT - ADSL TRTSDT when both were
    collected, else from the study day ASTDY (ADaM: day 1 is the day of first dose and there is
    no day 0, so ASTDY - 1 on and after it, ASTDY before it). ``None`` when neither."""
    adsl = trial.adsl
    if collected(ae, "ASTDT") and collected(adsl, "TRTSDT"):
        first = ae["USUBJID"].map(adsl.drop_duplicates("USUBJID").set_index("USUBJID")["TRTSDT"])
        days = (pd.to_datetime(ae["ASTDT"]) - pd.to_datetime(first)).dt.days
        return days.astype("Float64"), "ASTDT - TRTSDT"
    if collected(ae, "ASTDY"):
        day = ae["ASTDY"].astype("Float64")
        return day.where(day < 1, day - 1), "ASTDY - 1 (day 1 = first dose)"
    return None


def event_duration(ae: pd.DataFrame) -> tuple[pd.Series, str] | None:
    """Duration of each event in days, onset and resolution days included (ADaM ADURN
    convention): AENDY - ASTDY + 1, else AENDT - ASTDT + 1; blank while unresolved. ``None``
    when no resolution day or date was collected."""
    if collected(ae, "AENDY") and "ASTDY" in ae.columns:
        return (ae["AENDY"] - ae["ASTDY"] + 1).astype("Float64"), "AENDY - ASTDY + 1"
    if collected(ae, "AENDT") and "ASTDT" in ae.columns:
        d = (pd.to_datetime(ae["AENDT"]) - pd.to_datetime(ae["ASTDT"])).dt.days + 1
        return d.astype("Float64"), "AENDT - ASTDT + 1"
    return None


def aesi_table(
    trial: TrialData,
    aesi: list[dict[str, Any]],
    by: str | None = "TRT01A",
    teae_only: bool = True,
) -> TableResult:
    """Adverse events of special interest (``trial.json`` ``aesi``: ``[{"label", "terms"}]``,
    terms matched to AEDECOD ignoring case and spacing), per dose level: subjects with any
    event n (%), by worst grade (or severity), time from first dose to the first onset
    (median (range) over subjects, days; see :func:`days_from_first_dose`) and duration of
    the resolved events (median (range) over events, days; see :func:`event_duration`).
    Unresolved events are counted beside the duration, never given one."""
    adsl, groups = _population(trial, by)
    ae = _events(trial, teae_only, None)
    ae = ae[ae["USUBJID"].isin(adsl["USUBJID"])]
    scale = intensity(trial.adae) if trial.adae is not None else None
    if scale is not None:
        ae = ae.assign(_LEVEL=scale.values.loc[ae.index])
    if by is not None:
        ae = ae.merge(adsl[["USUBJID", by]], on="USUBJID", how="left", suffixes=("_", ""))
    denom = {
        g: (len(adsl) if g == "Total" else int((adsl[by].astype(str) == g).sum())) for g in groups
    }
    onset = days_from_first_dose(trial, ae) if trial.adae is not None else None
    duration = event_duration(ae) if trial.adae is not None else None
    blank = pd.Series(pd.NA, index=ae.index, dtype="Float64")
    ae = ae.assign(
        _ONSET=(onset[0] if onset is not None else blank).to_numpy(),
        _DUR=(duration[0] if duration is not None else blank).to_numpy(),
    )
    ard = ArdBuilder("aesi")
    terms_up = _normalise(ae["AEDECOD"]) if len(ae) else pd.Series(dtype="string")
    rows: list[list[str]] = []
    for item in aesi:
        label = str(item["label"])
        wanted = set(_normalise(pd.Series(item["terms"])).tolist())
        sel = ae[terms_up.isin(wanted).fillna(False).to_numpy(dtype=bool)]
        parts = {
            g: sel if g == "Total" or by is None else sel[sel[by].astype(str) == g] for g in groups
        }
        rows.append([label, *[""] * len(groups)])
        if trial.adae is None:
            rows.append(["    Any grade", *[NOT_COLLECTED] * len(groups)])
            continue
        line = []
        for g in groups:
            n = int(parts[g]["USUBJID"].nunique())
            ard.add(g, label, "any", n_subjects=n, N=denom[g])
            line.append(fmt_pct(n, denom[g]))
        rows.append(
            [
                "    Any grade" if scale is None or scale.kind == "grade" else "    Any severity",
                *line,
            ]
        )
        if scale is None:
            rows.append(["    Worst grade", *[NOT_COLLECTED] * len(groups)])
        else:
            for level, name in scale.levels:
                line = []
                for g in groups:
                    w = parts[g].groupby("USUBJID")["_LEVEL"].max()
                    n = int((w == level).sum())
                    ard.add(g, label, name.lower(), n_subjects=n, N=denom[g])
                    line.append(fmt_pct(n, denom[g]))
                rows.append([f"        Worst: {name}", *line])
        line = []
        for g in groups:
            if onset is None:
                line.append(NOT_COLLECTED)
                continue
            first = parts[g].groupby("USUBJID")["_ONSET"].min()
            text, stats = median_range(first, 1)
            ard.add(g, label, "time to onset", **stats)
            line.append(text)
        rows.append(["    Time to onset, days: median (range)", *line])
        line = []
        for g in groups:
            if duration is None:
                line.append(NOT_COLLECTED)
                continue
            dur = pd.to_numeric(parts[g]["_DUR"], errors="coerce")
            text, stats = median_range(dur, 1)
            # unresolved: no resolution day/date; an event with one but no onset has no
            # duration either and is counted apart
            end = duration[1].split()[0]
            open_ = int(parts[g][end].isna().sum())
            undated = int(dur.isna().sum()) - open_
            ard.add(g, label, "duration", **stats, unresolved=open_, no_onset=undated)
            extra = [f"{open_} unresolved"] if open_ else []
            extra += [f"{undated} without onset"] if undated else []
            line.append(f"{text} [{'; '.join(extra)}]" if extra else text)
        rows.append(["    Duration, days: median (range)", *line])
    header = ["Event of special interest", *[f"{g} (N = {denom[g]})" for g in groups]]
    notes = [
        "Terms: "
        + "; ".join(f"{i['label']}: {', '.join(map(str, i['terms']))}" for i in aesi)
        + ". Subjects counted once per event group, at the worst level.",
        "Time to onset: days from first dose to the subject's first event of the group ("
        + (onset[1] if onset is not None else "onset day not collected")
        + "). Duration: per event, onset and resolution days included ("
        + (duration[1] if duration is not None else "resolution not collected")
        + "); unresolved events have none and are counted in brackets.",
    ]
    if scale is not None and scale.kind == "severity":
        notes.append("Intensity is the severity as collected (AESEV); no toxicity grade.")
    if trial.adae is not None:
        # a term that matches nothing is more often misspelt than absent: say which
        known = set(_normalise(trial.adae["AEDECOD"]).dropna())
        missing = [
            str(t)
            for i in aesi
            for t in i["terms"]
            if _normalise(pd.Series([t])).iloc[0] not in known
        ]
        if missing:
            notes.append(
                f"Terms found in no ADAE record (check the spelling): {', '.join(missing)}."
            )
    return TableResult(
        "Adverse events of special interest",
        pd.DataFrame(rows, columns=header),
        ard.frame(),
        notes,
    )
