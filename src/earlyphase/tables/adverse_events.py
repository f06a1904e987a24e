"""Adverse-event tables by SOC and PT, with the counting rules of a safety analysis.

Rules (analysis notes section 6.5; gtreg ``tbl_ae``, tern ``count_occurrences``):

- only treatment-emergent events (TRTEMFL = Y) unless ``teae_only=False``;
- denominators are the subjects of the safety population in ADSL (SAFFL = Y, or everyone when
  the flag is absent), so subjects without any event count;
- a subject counts once per row (any event, SOC, PT); events count every record;
- worst grade per subject and PT (and SOC) for grade tables;
- rows sorted by the number of subjects (all groups together), descending, then alphabetically;
  PTs within their SOC likewise; a PT that appears under two SOCs is counted under each.
"""

from __future__ import annotations

import pandas as pd

from earlyphase.data.trial import TrialData
from earlyphase.tables.result import ArdBuilder, TableResult, fmt_pct


def _population(trial: TrialData, by: str | None) -> tuple[pd.DataFrame, list[str]]:
    adsl = trial.adsl
    if "SAFFL" in adsl.columns:
        adsl = adsl[adsl["SAFFL"].fillna("Y") == "Y"]
    groups = ["Total"] if by is None else [*sorted(adsl[by].dropna().astype(str).unique()), "Total"]
    return adsl, groups


def _events(trial: TrialData, teae_only: bool, window: float | None) -> pd.DataFrame:
    ae = trial.adae
    if ae is None:
        return pd.DataFrame(columns=["USUBJID", "AESOC", "AEDECOD", "AETOXGR", "AESER", "AEREL"])
    if teae_only:
        ae = ae[ae["TRTEMFL"] == "Y"]
    if window is not None:
        if "ASTDY" not in ae.columns:
            raise ValueError("window: needs the onset day ASTDY in ADAE")
        ae = ae[ae["ASTDY"].notna() & (ae["ASTDY"] <= window)]
    return ae


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

    Display cells read ``n (x%) [events]``; a zero count shows as ``0 [0]``.
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

    def cells(frame: pd.DataFrame, variable: str, label: str) -> list[str]:
        out = []
        for g in groups:
            sub = in_group(frame, g)
            out.append(cell(g, variable, label, int(sub["USUBJID"].nunique()), len(sub)))
        return out

    rows: list[list[str]] = []
    summary = [
        ("Any TEAE" if teae_only else "Any AE", ae),
        ("Any serious AE", ae[ae["AESER"] == "Y"]),
        ("Any related AE (ADR)", ae[ae["AEREL"] == "Y"]),
        ("Any grade >= 3 AE", ae[ae["AETOXGR"] >= 3]),
        ("Fatal (grade 5)", ae[ae["AETOXGR"] == 5]),
    ]
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
    return TableResult(
        "Adverse events by system organ class and preferred term", display, ard.frame(), notes
    )


def ae_worst_grade_table(
    trial: TrialData, by: str | None = "TRT01A", teae_only: bool = True
) -> TableResult:
    """Subjects by the worst CTCAE grade of each PT (a subject counts once, at its highest
    grade), and for any event."""
    adsl, groups = _population(trial, by)
    ae = _events(trial, teae_only, None)
    ae = ae[ae["USUBJID"].isin(adsl["USUBJID"])]
    if by is not None:
        ae = ae.merge(adsl[["USUBJID", by]], on="USUBJID", how="left")
    denom = {
        g: (len(adsl) if g == "Total" else int((adsl[by].astype(str) == g).sum())) for g in groups
    }
    ard = ArdBuilder("ae_worst_grade")
    rows = []
    worst = ae.groupby(["USUBJID", "AEDECOD"], as_index=False)["AETOXGR"].max()
    any_worst = ae.groupby("USUBJID", as_index=False)["AETOXGR"].max().assign(AEDECOD="Any event")
    table = pd.concat([any_worst, worst], ignore_index=True)
    if by is not None:
        table = table.merge(adsl[["USUBJID", by]], on="USUBJID", how="left")
    counts: dict[str, pd.Series] = {}
    for g in groups:
        part = table if g == "Total" or by is None else table[table[by].astype(str) == g]
        counts[g] = part.groupby(["AEDECOD", "AETOXGR"]).size()
    for pt in ["Any event", *sorted(set(worst["AEDECOD"]))]:
        for grade in range(1, 6):
            cells = []
            for g in groups:
                n = int(counts[g].get((pt, grade), 0))
                ard.add(g, pt, f"grade {grade}", n_subjects=n, N=denom[g])
                cells.append(fmt_pct(n, denom[g]))
            if any(c != "0" for c in cells):
                rows.append([pt, f"Grade {grade}", *cells])
    display = pd.DataFrame(
        rows, columns=["Preferred term", "Worst grade", *[f"{g} (N = {denom[g]})" for g in groups]]
    )
    return TableResult(
        "Adverse events by worst CTCAE grade",
        display,
        ard.frame(),
        ["Each subject is counted once per term, at the highest grade."],
    )
