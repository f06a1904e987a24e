"""Listings of a clinical study report: DLTs, serious adverse events, deaths, dose
deviations and treatment (arm) deviations, one row per record, sorted by dose level (in dose
order) then subject.

ICH E3 section 14.3.2 asks for listings of deaths, other serious adverse events and other
significant adverse events; section 16.2.2 for protocol deviations. A column whose variable
is absent from the data reads "not collected" (never 0 or blank); a blank value of a collected
variable reads "not recorded". Listings show every record, treatment-emergent or not.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from earlyphase.data.adam import NOT_COLLECTED, arm_order, collected, fatal_mask, intensity
from earlyphase.data.trial import TrialData
from earlyphase.tables.result import ArdBuilder, TableResult

#: Shown for a blank value of a collected variable (e.g. a missing resolution day)
NOT_RECORDED = "not recorded"
#: Shown in the adverse-event columns of a death without a fatal adverse event
NOT_APPLICABLE = "not applicable"


def _dose_rank(trial: TrialData, by: str) -> dict[str, int]:
    return {g: i for i, g in enumerate(arm_order(trial.adsl, by))}


def _text(values: pd.Series, present: bool, number: bool = False) -> list[str]:
    if not present:
        return [NOT_COLLECTED] * len(values)
    out = []
    for v in values:
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
            out.append(NOT_RECORDED)
        elif number:
            out.append(f"{float(v):g}")
        else:
            out.append(str(v))
    return out


def _sorted(frame: pd.DataFrame, rank: dict[str, int], by: str, extra: list[str]) -> pd.DataFrame:
    keys = frame.assign(
        _RANK=frame[by].astype(str).map(rank).fillna(len(rank)),
        _SUBJ=frame["USUBJID"].astype(str),
    )
    cols = ["_RANK", "_SUBJ", *[c for c in extra if c in frame.columns]]
    return keys.sort_values(cols, kind="stable", na_position="last")


AE_COLUMNS = (
    "Subject",
    "Dose level",
    "Preferred term",
    "{intensity}",
    "Onset day",
    "Resolution day",
    "Relationship",
    "Outcome",
)


def _ae_listing(
    trial: TrialData,
    title: str,
    table: str,
    select: Callable[[pd.DataFrame], pd.Series | None],
    needs: str,
    by: str = "TRT01A",
    death_day: bool = False,
) -> TableResult:
    """AE records chosen by ``select`` (``None``: the selecting variable was not collected)."""
    ae = trial.adae
    scale = intensity(ae) if ae is not None else None
    header = [
        c.format(
            intensity=(
                "Toxicity grade (AETOXGR)"
                if scale is None or scale.kind == "grade"
                else "Severity (AESEV)"
            )
        )
        for c in AE_COLUMNS
    ]
    if death_day:
        header.append("Death day (ADSL DTHDY)")
    ard = ArdBuilder(table)
    mask = None if ae is None else select(ae)
    if ae is None or mask is None:
        display = pd.DataFrame([[NOT_COLLECTED] * len(header)], columns=header)
        what = "ADAE was not provided" if ae is None else f"{needs} was not collected"
        return TableResult(title, display, ard.frame(), [f"Not collected: {what}."])
    rows = ae[mask.fillna(False).to_numpy(dtype=bool)]
    rows = rows.merge(trial.adsl[["USUBJID", by]], on="USUBJID", how="left", suffixes=("_", ""))
    rank = _dose_rank(trial, by)
    rows = _sorted(rows, rank, by, ["ASTDY", "ASTDT", "AEDECOD"])
    rel = "AEREL_COLLECTED" if "AEREL_COLLECTED" in rows.columns else "AEREL"
    cols: list[list[str]] = [
        rows["USUBJID"].astype(str).tolist(),
        rows[by].astype(str).tolist(),
        rows["AEDECOD"].astype(str).tolist(),
        _text(
            rows[scale.column] if scale is not None else rows["USUBJID"],
            scale is not None,
            number=scale is not None and scale.kind == "grade",
        ),
        _text(rows.get("ASTDY", rows["USUBJID"]), collected(ae, "ASTDY"), number=True),
        _text(rows.get("AENDY", rows["USUBJID"]), collected(ae, "AENDY"), number=True),
        _text(rows.get(rel, rows["USUBJID"]), collected(ae, "AEREL")),
        _text(rows.get("AEOUT", rows["USUBJID"]), collected(ae, "AEOUT")),
    ]
    if death_day:
        cols.append(
            _text(
                rows["USUBJID"].map(trial.adsl.set_index("USUBJID")["DTHDY"])
                if "DTHDY" in trial.adsl.columns
                else rows["USUBJID"],
                collected(trial.adsl, "DTHDY"),
                number=True,
            )
        )
    display = pd.DataFrame(list(zip(*cols, strict=True)), columns=header)
    for g in arm_order(trial.adsl, by):
        sub = rows[rows[by].astype(str) == g]
        ard.add(g, table, "records", n_records=len(sub), n_subjects=sub["USUBJID"].nunique())
    notes = ["Every record, treatment-emergent or not; sorted by dose level, subject, onset day."]
    if rows.empty:
        notes.insert(0, "None recorded.")
    notes.append(
        'Relationship as collected (AEREL). "not collected": the variable is absent from '
        'ADAE; "not recorded": it is blank for that record.'
    )
    return TableResult(title, display, ard.frame(), notes)


def dlt_listing(trial: TrialData, by: str = "TRT01A") -> TableResult:
    """Every adverse event flagged as dose-limiting (ADAE AEDLT = Y)."""

    def select(ae: pd.DataFrame) -> pd.Series | None:
        return ae["AEDLT"] == "Y" if collected(ae, "AEDLT") else None

    return _ae_listing(
        trial, "Listing of dose-limiting toxicities", "listing_dlt", select, "AEDLT", by
    )


def sae_listing(trial: TrialData, by: str = "TRT01A") -> TableResult:
    """Every serious adverse event (ADAE AESER = Y)."""

    def select(ae: pd.DataFrame) -> pd.Series | None:
        return ae["AESER"] == "Y" if collected(ae, "AESER") else None

    return _ae_listing(
        trial, "Listing of serious adverse events", "listing_sae", select, "AESER", by
    )


def death_listing(trial: TrialData, by: str = "TRT01A") -> TableResult:
    """Deaths: every fatal adverse event (AEOUT = FATAL, AESDTH = Y or grade 5), and a row
    for each subject flagged dead in ADSL (DTHFL = Y) without a fatal adverse event, whose
    term reads "no fatal adverse event recorded"."""
    adsl = trial.adsl
    base = _ae_listing(
        trial,
        "Listing of deaths",
        "listing_death",
        lambda ae: fatal_mask(ae),
        "a fatal outcome (AEOUT, AESDTH or AETOXGR)",
        by,
        death_day=True,
    )
    if not collected(adsl, "DTHFL"):
        base.footnotes.append("ADSL has no death flag (DTHFL): deaths from ADAE only.")
        return base
    fatal = fatal_mask(trial.adae) if trial.adae is not None else None
    listed = (
        set(trial.adae.loc[fatal.fillna(False), "USUBJID"])
        if trial.adae is not None and fatal is not None
        else set()
    )
    dead = adsl[(adsl["DTHFL"] == "Y") & ~adsl["USUBJID"].isin(listed)]
    if dead.empty:
        return base
    display = base.display
    if len(display) == 1 and (display.iloc[0] == NOT_COLLECTED).all():
        display = display.iloc[0:0]
    extra = []
    for _, r in dead.iterrows():
        day = r.get("DTHDY")
        extra.append(
            [
                str(r["USUBJID"]),
                str(r[by]),
                "no fatal adverse event recorded",
                *[NOT_APPLICABLE] * (len(display.columns) - 4),
                NOT_COLLECTED
                if "DTHDY" not in adsl.columns
                else NOT_RECORDED
                if pd.isna(day)
                else f"{float(day):g}",
            ]
        )
    both = pd.concat([display, pd.DataFrame(extra, columns=display.columns)], ignore_index=True)
    rank = _dose_rank(trial, by)
    order = sorted(
        range(len(both)),
        key=lambda i: (rank.get(str(both.iloc[i, 1]), len(rank)), str(both.iloc[i, 0])),
    )
    base.display = both.iloc[order].reset_index(drop=True)
    base.footnotes = [n for n in base.footnotes if n != "None recorded."]
    base.footnotes.append("Subjects flagged dead in ADSL (DTHFL = Y) are all listed.")
    return base


def dose_deviation_listing(trial: TrialData, by: str = "TRT01A") -> TableResult:
    """Infusions whose actual dose (ADEX EXDOSE) differs from the dose of the subject's
    assigned dose level (ADSL DOSELVL) by more than ``trial.json``
    ``dose_deviation_tolerance`` (relative; default 0, any difference beyond rounding)."""
    title = "Listing of dose deviations"
    header = [
        "Subject",
        "Dose level",
        "Infusion (EXSEQ)",
        "Study day (EXDY)",
        "Planned dose (DOSELVL)",
        "Actual dose (EXDOSE)",
        "Difference (%)",
    ]
    ard = ArdBuilder("listing_dose_deviation")
    tol = float(trial.meta.get("dose_deviation_tolerance") or 0.0)
    if trial.adex is None or not collected(trial.adsl, "DOSELVL"):
        why = (
            "no exposure data (ADEX) were provided"
            if trial.adex is None
            else "the assigned dose (ADSL DOSELVL) was not collected"
        )
        display = pd.DataFrame([["no source"] * len(header)], columns=header)
        return TableResult(
            title, display, ard.frame(), [f"Dose deviations cannot be listed: {why}."]
        )
    ex = trial.adex.merge(trial.adsl[["USUBJID", by, "DOSELVL"]], on="USUBJID", how="left")
    planned = ex["DOSELVL"].astype(float)
    actual = ex["EXDOSE"].astype(float)
    diff = (actual - planned) / planned
    # rounding of stored doses is not a deviation
    off = (diff.abs() > tol + 1e-9).fillna(False)
    ex["_DIFF"] = diff
    rows = _sorted(ex[off.to_numpy(dtype=bool)], _dose_rank(trial, by), by, ["EXSEQ", "EXDY"])
    display = pd.DataFrame(
        list(
            zip(
                rows["USUBJID"].astype(str),
                rows[by].astype(str),
                _text(rows.get("EXSEQ", rows["USUBJID"]), collected(ex, "EXSEQ"), number=True),
                _text(rows.get("EXDY", rows["USUBJID"]), collected(ex, "EXDY"), number=True),
                _text(rows["DOSELVL"], True, number=True),
                _text(rows["EXDOSE"], True, number=True),
                [f"{100 * float(d):+.1f}" for d in rows["_DIFF"]],
                strict=True,
            )
        ),
        columns=header,
    )
    for g in arm_order(trial.adsl, by):
        sub = rows[rows[by].astype(str) == g]
        ard.add(
            g,
            "listing_dose_deviation",
            "infusions",
            n_records=len(sub),
            n_subjects=sub["USUBJID"].nunique(),
        )
    notes = [
        f"Planned: the dose of the subject's assigned level (ADSL DOSELVL); actual: ADEX "
        f"EXDOSE. Listed when they differ by more than {100 * tol:g}% "
        "(trial.json dose_deviation_tolerance).",
    ]
    unknown = int((planned.isna() | actual.isna()).sum())
    if unknown:
        notes.append(f"{unknown} infusion(s) without a planned or actual dose: not compared.")
    if rows.empty:
        notes.insert(0, f"None: all {len(ex) - unknown} infusions compared at the planned dose.")
    return TableResult(title, display, ard.frame(), notes)


def arm_deviation_listing(trial: TrialData) -> TableResult:
    """Subjects whose actual treatment (ADSL TRT01A) is not the planned one (TRT01P): a
    deviation to report (ICH E3 16.2.2), not a data error. Subjects without a planned or
    actual treatment are counted in a note, not compared."""
    title = "Listing of treatment deviations: planned vs actual arm or dose level"
    header = ["Subject", "Planned (TRT01P)", "Actual (TRT01A)"]
    adsl = trial.adsl
    ard = ArdBuilder("listing_arm_deviation")
    if not collected(adsl, "TRT01P"):
        display = pd.DataFrame([[NOT_COLLECTED] * len(header)], columns=header)
        return TableResult(
            title,
            display,
            ard.frame(),
            ["Not collected: ADSL has no planned treatment (TRT01P); nothing to compare."],
        )
    planned, actual = adsl["TRT01P"].astype("string"), adsl["TRT01A"].astype("string")
    known = planned.notna() & actual.notna()
    differ = known & (planned != actual)
    rows = _sorted(adsl[differ.to_numpy(dtype=bool)], _dose_rank(trial, "TRT01P"), "TRT01P", [])
    display = pd.DataFrame(
        list(
            zip(
                rows["USUBJID"].astype(str),
                rows["TRT01P"].astype(str),
                rows["TRT01A"].astype(str),
                strict=True,
            )
        ),
        columns=header,
    )
    for g in arm_order(adsl, "TRT01P"):
        sub = rows[rows["TRT01P"].astype(str) == g]
        ard.add(g, "listing_arm_deviation", "subjects", n_subjects=len(sub))
    notes = [
        "Subjects treated with another arm or dose level than planned (ADSL TRT01A differs "
        "from TRT01P); tables count them under the treatment actually received (TRT01A)."
    ]
    if rows.empty:
        notes.insert(0, f"None: all {int(known.sum())} subjects received the planned treatment.")
    unknown = int((~known).sum())
    if unknown:
        notes.append(f"{unknown} subject(s) without a planned or actual treatment: not compared.")
    return TableResult(title, display, ard.frame(), notes)


def all_listings(trial: TrialData, by: str = "TRT01A") -> list[TableResult]:
    """The five listings, in the order of a report's appendix."""
    return [
        dlt_listing(trial, by),
        sae_listing(trial, by),
        death_listing(trial, by),
        dose_deviation_listing(trial, by),
        arm_deviation_listing(trial),
    ]
