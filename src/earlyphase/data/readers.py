"""Readers: CSV, SAS transport (XPT, through pyreadstat), CDISC Dataset-JSON v1.1, REDCap.

Each returns a raw DataFrame of strings/numbers; validation and typing happen in
:func:`earlyphase.data.validate.validate_table`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from earlyphase.data.validate import DataError, Problem


def read_csv(path: str | Path) -> pd.DataFrame:
    """CSV with a header row; every cell read as text (typing is done by validation)."""
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError([Problem(str(path), None, None, f"cannot read CSV: {exc}")]) from None


def read_xpt(path: str | Path) -> pd.DataFrame:
    """SAS transport file (XPT v5/v8) through pyreadstat."""
    import pyreadstat

    try:
        frame, _meta = pyreadstat.read_xport(str(path))
    except Exception as exc:  # pyreadstat raises its own error types
        raise DataError([Problem(str(path), None, None, f"cannot read XPT: {exc}")]) from None
    return frame


def read_dataset_json(path: str | Path) -> pd.DataFrame:
    """CDISC Dataset-JSON v1.1: ``columns`` (name, dataType, ...) and ``rows`` (arrays)."""
    source = str(path)
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError([Problem(source, None, None, f"cannot read Dataset-JSON: {exc}")]) from None
    if not isinstance(doc, dict) or "columns" not in doc or "rows" not in doc:
        raise DataError([Problem(source, None, None, "Dataset-JSON needs 'columns' and 'rows'")])
    version = str(doc.get("datasetJSONVersion", ""))
    if version and not version.startswith("1.1"):
        raise DataError(
            [
                Problem(
                    source,
                    None,
                    "datasetJSONVersion",
                    f"version {version} is not supported (1.1 is)",
                )
            ]
        )
    names = [c.get("name") for c in doc["columns"]]
    problems = [
        Problem(source, i + 1, None, f"row has {len(r)} values for {len(names)} columns")
        for i, r in enumerate(doc["rows"])
        if len(r) != len(names)
    ]
    if problems:
        raise DataError(problems)
    return pd.DataFrame(doc["rows"], columns=names)


def write_dataset_json(frame: pd.DataFrame, path: str | Path, name: str, label: str = "") -> None:
    """Write ``frame`` as CDISC Dataset-JSON v1.1 (columns typed string / double / integer)."""
    cols = []
    for c in frame.columns:
        kind = frame[c].dtype.kind
        dtype = "integer" if kind in "iu" else "double" if kind == "f" else "string"
        cols.append(
            {"itemOID": f"IT.{name}.{c}", "name": str(c), "label": str(c), "dataType": dtype}
        )
    rows = frame.astype(object).where(frame.notna(), None).to_numpy().tolist()
    doc = {
        "datasetJSONVersion": "1.1.0",
        "itemGroupOID": f"IG.{name}",
        "name": name,
        "label": label or name,
        "records": len(rows),
        "columns": cols,
        "rows": rows,
    }
    Path(path).write_text(json.dumps(doc, default=str), encoding="utf-8")


def read_table(path: str | Path) -> pd.DataFrame:
    """Read by extension: .csv, .xpt, .json (Dataset-JSON)."""
    p = Path(path)
    ext = p.suffix.lower()
    if ext == ".csv":
        return read_csv(p)
    if ext == ".xpt":
        return read_xpt(p)
    if ext in (".json", ".ndjson"):
        return read_dataset_json(p)
    raise DataError([Problem(str(p), None, None, f"unknown file type {ext!r} (csv, xpt, json)")])


def read_redcap(
    path: str | Path,
    mapping: Mapping[str, Mapping[str, str]],
    instrument_column: str = "redcap_repeat_instrument",
) -> dict[str, pd.DataFrame]:
    """Split a REDCap flat export into ADaM-style tables with a column mapping.

    ``mapping`` is ``{"ADSL": {"USUBJID": "record_id", "AGE": "age", ...}, "ADAE": {...,
    "_instrument": "adverse_events"}}``: for each table, target column -> REDCap field, and
    optionally ``_instrument``, the repeating instrument whose rows make that table (rows of
    the main record, with an empty instrument, make the others). Empty strings are missing.
    """
    raw = read_csv(path)
    source = str(path)
    out: dict[str, pd.DataFrame] = {}
    problems: list[Problem] = []
    for table, cols in mapping.items():
        inst = cols.get("_instrument")
        if inst is not None:
            if instrument_column not in raw.columns:
                problems.append(
                    Problem(
                        source,
                        None,
                        instrument_column,
                        "column is missing; needed for repeating instruments",
                    )
                )
                continue
            rows = raw[raw[instrument_column] == inst]
        elif instrument_column in raw.columns:
            rows = raw[raw[instrument_column].fillna("") == ""]
        else:
            rows = raw
        data = {}
        for target, field_ in cols.items():
            if target.startswith("_"):
                continue
            if field_ not in raw.columns:
                problems.append(
                    Problem(
                        source, None, field_, f"REDCap field for {table}.{target} not in the export"
                    )
                )
                continue
            data[target] = rows[field_].to_numpy()
        out[table] = pd.DataFrame(data)
    if problems:
        raise DataError(problems)
    return out
