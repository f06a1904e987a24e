"""A trial's data: the ADaM-style tables together, checked against each other."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from earlyphase.data.readers import read_table
from earlyphase.data.schema import SPECS
from earlyphase.data.validate import DataError, Problem, validate_table


@dataclass
class TrialData:
    """ADSL (required) and optional ADEX, ADAE, ADTTE, ADRS, ADLB, with trial metadata
    (``title``, ``dose_unit``, ``landmarks`` ...) from ``trial.json``."""

    adsl: pd.DataFrame
    adex: pd.DataFrame | None = None
    adae: pd.DataFrame | None = None
    adtte: pd.DataFrame | None = None
    adrs: pd.DataFrame | None = None
    adlb: pd.DataFrame | None = None
    advent: pd.DataFrame | None = None
    meta: dict[str, Any] = field(default_factory=dict)

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
            )
            if frame is not None
        }


def build_trial(
    frames: dict[str, pd.DataFrame],
    sources: dict[str, str] | None = None,
    meta: dict[str, Any] | None = None,
) -> TrialData:
    """Validate raw tables (keys: ADSL, ADEX, ...), cross-check them and derive TRTEMFL and
    total cells. Raises :class:`DataError` with every problem; nothing is returned partially."""
    sources = sources or {}
    problems: list[Problem] = []
    clean: dict[str, pd.DataFrame] = {}
    if "ADSL" not in frames:
        raise DataError([Problem("ADSL", None, None, "the subject-level table ADSL is required")])
    for name, frame in frames.items():
        spec = SPECS.get(name.upper())
        if spec is None:
            problems.append(Problem(sources.get(name, name), None, None, f"unknown table {name!r}"))
            continue
        try:
            clean[spec.name] = validate_table(frame, spec, sources.get(name, spec.name))
        except DataError as exc:
            problems.extend(exc.problems)
    if problems:
        raise DataError(problems)
    adsl = clean["ADSL"]
    subjects = set(adsl["USUBJID"].dropna().tolist())
    for name, frame in clean.items():
        if name == "ADSL":
            continue
        unknown = ~frame["USUBJID"].isin(subjects)
        for r in np.flatnonzero(unknown.to_numpy()):
            problems.append(
                Problem(
                    sources.get(name, name),
                    int(r) + 1,
                    "USUBJID",
                    f"subject {frame['USUBJID'].iloc[r]!r} is not in ADSL",
                )
            )
    if problems:
        raise DataError(problems)
    adae = clean.get("ADAE")
    if adae is not None and "TRTEMFL" not in adae.columns:
        if "ASTDY" in adae.columns:
            adae["TRTEMFL"] = np.where(adae["ASTDY"].isna() | (adae["ASTDY"] >= 1), "Y", "N")
        else:
            adae["TRTEMFL"] = "Y"
    for flag in ("AESER", "AEREL", "AEDLT"):
        if adae is not None and flag not in adae.columns:
            adae[flag] = "N"
    adex = clean.get("ADEX")
    if adex is not None:
        if "WEIGHT" not in adex.columns and "WEIGHT" in adsl.columns:
            adex = adex.merge(adsl[["USUBJID", "WEIGHT"]], on="USUBJID", how="left")
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
        meta=dict(meta or {}),
    )


def load_trial(folder: str | Path) -> TrialData:
    """Read ``adsl``, ``adex``, ``adae``, ``adtte``, ``adrs``, ``adlb``, ``advent`` (.csv,
    .xpt or .json, any case) and ``trial.json`` from ``folder``; validate everything first."""
    root = Path(folder)
    if not root.is_dir():
        raise DataError([Problem(str(root), None, None, "not a folder")])
    frames: dict[str, pd.DataFrame] = {}
    sources: dict[str, str] = {}
    problems: list[Problem] = []
    for path in sorted(root.iterdir()):
        stem, ext = path.stem.upper(), path.suffix.lower()
        if stem in SPECS and ext in (".csv", ".xpt", ".json"):
            if stem in frames:
                problems.append(Problem(str(path), None, None, f"{stem} is given twice"))
                continue
            try:
                frames[stem] = read_table(path)
                sources[stem] = path.name
            except DataError as exc:
                problems.extend(exc.problems)
    if problems:
        raise DataError(problems)
    meta: dict[str, Any] = {}
    meta_path = root / "trial.json"
    if meta_path.exists():
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise DataError([Problem(str(meta_path), None, None, f"invalid JSON: {exc}")]) from None
    return build_trial(frames, sources, meta)
