"""A trial's data: the ADaM-style tables together, checked against each other."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from earlyphase.data.adam import CausalityRule, collected, fatal_mask, numeric_code
from earlyphase.data.readers import read_table
from earlyphase.data.schema import SPECS
from earlyphase.data.trial_json import check_trial_json
from earlyphase.data.validate import DataError, Problem, check_table

#: File types read as datasets; other files with these extensions in a trial folder are listed
#: as not used (never silently ignored).
DATASET_EXTENSIONS = (".csv", ".xpt", ".json")
_DATASET_LIKE = (*DATASET_EXTENSIONS, ".sas7bdat", ".ndjson", ".parquet", ".rds")


@dataclass
class TrialData:
    """ADSL (required) and optional ADEX, ADAE, ADTTE, ADRS, ADLB, ADVENT and ADDEC (the
    dose-transition record), with trial metadata (``title``, ``dose_unit``, ``landmarks`` ...)
    from ``trial.json``.

    After loading, ADAE's AEREL is ``"Y"`` (related), ``"N"`` (not related) or missing (not
    recorded), decided by a :class:`~earlyphase.data.adam.CausalityRule`; the term as collected
    is kept in ``AEREL_COLLECTED``."""

    adsl: pd.DataFrame
    adex: pd.DataFrame | None = None
    adae: pd.DataFrame | None = None
    adtte: pd.DataFrame | None = None
    adrs: pd.DataFrame | None = None
    adlb: pd.DataFrame | None = None
    advent: pd.DataFrame | None = None
    #: one row per dose-transition decision (see :data:`earlyphase.data.schema.ADDEC`)
    addec: pd.DataFrame | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    #: files of the trial folder that look like datasets but are not read (e.g. ADLBC, ADQS)
    unused: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.adsl)

    @property
    def title(self) -> str:
        return str(self.meta.get("title", "Trial report"))

    def tables(self) -> dict[str, pd.DataFrame]:
        return {
            name: frame
            for name, frame in (
                ("ADSL", self.adsl),
                ("ADEX", self.adex),
                ("ADAE", self.adae),
                ("ADTTE", self.adtte),
                ("ADRS", self.adrs),
                ("ADLB", self.adlb),
                ("ADVENT", self.advent),
                ("ADDEC", self.addec),
            )
            if frame is not None
        }


def _rows(mask: pd.Series) -> list[int]:
    """1-based data rows where ``mask`` holds."""
    return [int(r) + 1 for r in np.flatnonzero(mask.fillna(False).to_numpy(dtype=bool))]


def _subject_value(adsl: pd.DataFrame, column: str, ids: pd.Series) -> pd.Series:
    """ADSL's ``column`` for each subject id in ``ids`` (aligned with ``ids``)."""
    lookup = adsl.drop_duplicates("USUBJID").set_index("USUBJID")[column]
    return pd.Series(ids.map(lookup).to_numpy(), index=ids.index)


def _cross_checks(
    clean: dict[str, pd.DataFrame], sources: dict[str, str], problems: list[Problem]
) -> None:
    """Checks between tables (each problem named by file, row and column):

    - every subject of a table is in ADSL;
    - a treatment label has one numeric code (TRT01A/TRT01AN, TRTA/TRTAN), as ADaM IG
      requires of a variable and its numeric version;
    - the actual treatment of a record (TRTA in ADAE, ADTTE, ADEX) is the subject's TRT01A
      (single-period trials);
    - no record after death (ASTDT/ADT after DTHDT; ASTDY after DTHDY);
    - a fatal adverse event belongs to a subject flagged as dead (DTHFL) when DTHFL is given;
    - a dose of the dose-transition record (ADDEC DOSELVL) is a dose level of ADSL.

    A planned arm that differs from the actual one (TRT01P vs TRT01A) is not a data error but
    a deviation: it is listed in the report
    (:func:`earlyphase.tables.listings.arm_deviation_listing`).
    """
    adsl = clean["ADSL"]
    if "USUBJID" not in adsl.columns:
        return
    src = {name: sources.get(name, name) for name in clean}
    subjects = set(adsl["USUBJID"].dropna().tolist())
    for name, frame in clean.items():
        if name == "ADSL" or "USUBJID" not in frame.columns:
            continue
        unknown = ~frame["USUBJID"].isin(subjects) & frame["USUBJID"].notna()
        for r in _rows(unknown):
            problems.append(
                Problem(
                    src[name],
                    r,
                    "USUBJID",
                    f"subject {frame['USUBJID'].iloc[r - 1]!r} is not in ADSL",
                )
            )
    for name, frame in clean.items():
        label = "TRT01A" if name == "ADSL" else "TRTA"
        code = numeric_code(label)
        if label in frame.columns and code in frame.columns:
            pairs = frame[[label, code]].dropna().drop_duplicates()
            for lab, n in pairs.groupby(label)[code].nunique().items():
                if n > 1:
                    codes = sorted(pairs.loc[pairs[label] == lab, code].tolist())
                    problems.append(
                        Problem(
                            src[name],
                            None,
                            code,
                            f"{label} {lab!r} has {n} numeric codes {codes}; one is expected",
                        )
                    )
    for name in ("ADAE", "ADTTE", "ADEX"):
        table = clean.get(name)
        if table is None:
            continue
        frame = table
        if "TRTA" not in frame.columns or "TRT01A" not in adsl.columns:
            continue
        arm = _subject_value(adsl, "TRT01A", frame["USUBJID"])
        differ = frame["TRTA"].notna() & arm.notna() & (frame["TRTA"] != arm)
        for r in _rows(differ):
            problems.append(
                Problem(
                    src[name],
                    r,
                    "TRTA",
                    f"actual treatment {frame['TRTA'].iloc[r - 1]!r} differs from ADSL TRT01A "
                    f"{arm.iloc[r - 1]!r} of subject {frame['USUBJID'].iloc[r - 1]!r}",
                )
            )
    for name, date_col, day_col in (("ADAE", "ASTDT", "ASTDY"), ("ADTTE", "ADT", None)):
        table = clean.get(name)
        if table is None:
            continue
        frame = table
        for mine, death in ((date_col, "DTHDT"), (day_col, "DTHDY")):
            if mine is None or mine not in frame.columns or death not in adsl.columns:
                continue
            died = _subject_value(adsl, death, frame["USUBJID"])
            after = frame[mine].notna() & died.notna() & (frame[mine] > died)
            for r in _rows(after):
                problems.append(
                    Problem(
                        src[name],
                        r,
                        mine,
                        f"{frame[mine].iloc[r - 1]} is after the subject's death "
                        f"(ADSL {death} {died.iloc[r - 1]})",
                    )
                )
    addec = clean.get("ADDEC")
    if addec is not None and "DOSELVL" in addec.columns and collected(adsl, "DOSELVL"):
        levels = set(adsl["DOSELVL"].dropna().astype(float))
        unknown = addec["DOSELVL"].notna() & ~addec["DOSELVL"].astype(float).isin(levels)
        for r in _rows(unknown):
            problems.append(
                Problem(
                    src["ADDEC"],
                    r,
                    "DOSELVL",
                    f"dose {addec['DOSELVL'].iloc[r - 1]:g} is not a dose level of ADSL "
                    f"(DOSELVL: {', '.join(f'{v:g}' for v in sorted(levels))})",
                )
            )
    adae = clean.get("ADAE")
    if adae is not None and "DTHFL" in adsl.columns and adsl["DTHFL"].notna().any():
        fatal = fatal_mask(adae)
        if fatal is not None:
            dead = _subject_value(adsl, "DTHFL", adae["USUBJID"]) == "Y"
            for r in _rows(fatal & ~dead.fillna(False)):
                problems.append(
                    Problem(
                        src["ADAE"],
                        r,
                        "AEOUT",
                        f"fatal adverse event, but subject {adae['USUBJID'].iloc[r - 1]!r} "
                        "is not flagged as dead in ADSL (DTHFL)",
                    )
                )


def build_trial(
    frames: dict[str, pd.DataFrame],
    sources: dict[str, str] | None = None,
    meta: dict[str, Any] | None = None,
    causality: CausalityRule | None = None,
    unused: list[str] | None = None,
) -> TrialData:
    """Validate raw tables (keys: ADSL, ADEX, ...), cross-check them and derive TRTEMFL and
    total cells. Raises :class:`DataError` with every problem of every table in one pass;
    nothing is returned partially.

    ``causality`` maps the collected AEREL terms to related / not related (default: the
    :class:`~earlyphase.data.adam.CausalityRule` defaults, or ``meta["causality"]``
    ``{"related": [...], "not_related": [...]}``). Optional columns that are absent stay
    absent (tables show them as not collected, never as zero). ``meta`` is checked against
    :data:`~earlyphase.data.trial_json.TRIAL_JSON` (unknown or mistyped keys are problems).
    """
    sources = dict(sources or {})
    meta = dict(meta or {})
    problems: list[Problem] = []
    clean: dict[str, pd.DataFrame] = {}
    problems.extend(check_trial_json(meta))
    if causality is None and isinstance(meta.get("causality"), dict):
        rule = meta["causality"]
        try:
            causality = CausalityRule.from_terms(
                rule.get("related", []), rule.get("not_related", [])
            )
        except ValueError as exc:
            problems.append(Problem("trial.json", None, "causality", str(exc)))
    causality = causality or CausalityRule()
    if "ADSL" not in {n.upper() for n in frames}:
        problems.append(Problem("ADSL", None, None, "the subject-level table ADSL is required"))
    for name, frame in frames.items():
        spec = SPECS.get(name.upper())
        if spec is None:
            problems.append(Problem(sources.get(name, name), None, None, f"unknown table {name!r}"))
            continue
        source = sources.get(name, spec.name)
        sources.setdefault(spec.name, source)
        checked, found = check_table(frame, spec, source)
        problems.extend(found)
        clean[spec.name] = checked
    adae = clean.get("ADAE")
    if adae is not None and "AEREL" in adae.columns:
        related, found = causality.classify(adae["AEREL"], sources.get("ADAE", "ADAE"))
        problems.extend(found)
        adae["AEREL_COLLECTED"] = adae["AEREL"]
        adae["AEREL"] = related
    if "ADSL" in clean:
        _cross_checks(clean, sources, problems)
        rec = meta.get("recommended_dose")
        adsl = clean["ADSL"]
        if isinstance(rec, dict) and isinstance(rec.get("dose"), str) and "TRT01A" in adsl:
            labels = sorted(set(adsl["TRT01A"].dropna().astype(str)))
            if rec["dose"] not in labels:
                problems.append(
                    Problem(
                        "trial.json",
                        None,
                        "recommended_dose.dose",
                        f"{rec['dose']!r} is not a dose level of ADSL TRT01A ({', '.join(labels)})",
                    )
                )
    if problems:
        raise DataError(problems)
    adsl = clean["ADSL"]
    if adae is not None and "TRTEMFL" not in adae.columns:
        if "ASTDY" in adae.columns:
            adae["TRTEMFL"] = np.where(adae["ASTDY"].isna() | (adae["ASTDY"] >= 1), "Y", "N")
        else:
            adae["TRTEMFL"] = "Y"
    adex = clean.get("ADEX")
    if adex is not None:
        if "WEIGHT" not in adex.columns:
            # the baseline weight, under its ADaM name (WEIGHTBL) or the older WEIGHT
            weight = next((c for c in ("WEIGHT", "WEIGHTBL") if c in adsl.columns), None)
            if weight is not None:
                adex = adex.merge(
                    adsl[["USUBJID", weight]].rename(columns={weight: "WEIGHT"}),
                    on="USUBJID",
                    how="left",
                )
        if "TOTCELLS" not in adex.columns and "WEIGHT" in adex.columns:
            adex["TOTCELLS"] = adex["EXDOSE"] * adex["WEIGHT"]
        clean["ADEX"] = adex
    adlb = clean.get("ADLB")
    if adlb is not None and "ABLFL" in adlb.columns and "BASE" not in adlb.columns:
        base = adlb[adlb["ABLFL"] == "Y"].groupby(["USUBJID", "PARAMCD"])["AVAL"].first()
        adlb = adlb.join(base.rename("BASE"), on=["USUBJID", "PARAMCD"])
        adlb["CHG"] = adlb["AVAL"] - adlb["BASE"]
        clean["ADLB"] = adlb
    return TrialData(
        adsl=adsl,
        adex=clean.get("ADEX"),
        adae=adae,
        adtte=clean.get("ADTTE"),
        adrs=clean.get("ADRS"),
        adlb=clean.get("ADLB"),
        advent=clean.get("ADVENT"),
        addec=clean.get("ADDEC"),
        meta=meta,
        unused=list(unused or []),
    )


def load_trial(folder: str | Path, causality: CausalityRule | None = None) -> TrialData:
    """Read ``adsl``, ``adex``, ``adae``, ``adtte``, ``adrs``, ``adlb``, ``advent``, ``addec``
    (.csv, .xpt or .json, any case) and ``trial.json`` from ``folder``; validate everything first.

    Every problem of every file is reported in one :class:`DataError`. Other dataset files in
    the folder (e.g. ``adlbc.xpt``, ``adqsadas.xpt`` of a submission) are not read; their names
    are kept in :attr:`TrialData.unused` so that the report can list them.
    """
    root = Path(folder)
    if not root.is_dir():
        raise DataError([Problem(str(root), None, None, "not a folder")])
    frames: dict[str, pd.DataFrame] = {}
    sources: dict[str, str] = {}
    problems: list[Problem] = []
    unused: list[str] = []
    for path in sorted(root.iterdir()):
        stem, ext = path.stem.upper(), path.suffix.lower()
        if path.name == "trial.json" or not path.is_file():
            continue
        if stem in SPECS and ext in DATASET_EXTENSIONS:
            if stem in frames or stem in sources:
                problems.append(Problem(path.name, None, None, f"{stem} is given twice"))
                continue
            sources[stem] = path.name
            try:
                frames[stem] = read_table(path)
            except DataError as exc:
                problems.extend(exc.problems)
        elif ext in _DATASET_LIKE:
            unused.append(path.name)
    meta: dict[str, Any] = {}
    meta_path = root / "trial.json"
    if meta_path.exists():
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            problems.append(Problem(str(meta_path), None, None, f"invalid JSON: {exc}"))
        if not isinstance(meta, dict):
            problems.append(Problem("trial.json", None, None, "must be a JSON object {...}"))
            meta = {}
    if "ADSL" not in sources:
        problems.append(
            Problem(
                str(root), None, None, "the subject-level table ADSL (adsl.csv/.xpt) is missing"
            )
        )
        raise DataError(problems)
    try:
        trial = build_trial(frames, sources, meta, causality, unused)
    except DataError as exc:
        problems.extend(exc.problems)
    if problems:
        raise DataError(problems)
    return trial
