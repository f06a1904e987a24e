"""Validation of ADaM-style tables at load: every problem named by file, row and field.

Nothing is loaded partially: :func:`validate_table` either returns the whole coerced table or
raises :class:`DataError` listing every problem found (up to a limit).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from earlyphase.data.schema import Column, TableSpec

MAX_PROBLEMS = 50
_TRUE = {"Y", "YES", "TRUE", "1", "T"}
_FALSE = {"N", "NO", "FALSE", "0", "F"}


@dataclass(frozen=True)
class Problem:
    source: str
    row: int | None  # 1-based data row (the header is not counted); None for the whole table
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.source
        if self.row is not None:
            where += f", row {self.row}"
        if self.field is not None:
            where += f", field {self.field}"
        return f"{where}: {self.message}"


class DataError(ValueError):
    """Problems found while loading trial data; nothing was loaded."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        shown = "\n".join(f"  - {p}" for p in problems[:MAX_PROBLEMS])
        more = (
            ""
            if len(problems) <= MAX_PROBLEMS
            else f"\n  ... and {len(problems) - MAX_PROBLEMS} more"
        )
        super().__init__(
            f"{len(problems)} problem(s) in the trial data; nothing was loaded:\n{shown}{more}"
        )


def _missing(series: pd.Series) -> pd.Series:
    return series.isna() | (series.astype(str).str.strip() == "")


def _coerce(col: Column, raw: pd.Series, source: str, problems: list[Problem]) -> pd.Series:
    miss = _missing(raw)
    rows = np.flatnonzero(miss.to_numpy())
    if col.required:
        for r in rows:
            problems.append(Problem(source, int(r) + 1, col.name, "required value is missing"))
    out: pd.Series
    if col.kind == "str":
        out = raw.astype("string").str.strip()
        if col.allowed is not None:
            # controlled terms (SEX, AESEV ...) are upper case in CDISC; accept any case
            out = out.str.upper()
        out = out.mask(miss)
    elif col.kind in ("float", "int"):
        text = raw.astype("string").str.strip().mask(miss)
        num = pd.to_numeric(text, errors="coerce")
        bad = num.isna() & ~miss
        for r in np.flatnonzero(bad.to_numpy()):
            problems.append(
                Problem(source, int(r) + 1, col.name, f"{raw.iloc[r]!r} is not a number")
            )
        if col.kind == "int":
            frac = num.notna() & (num != np.round(num))
            for r in np.flatnonzero(frac.to_numpy()):
                problems.append(
                    Problem(source, int(r) + 1, col.name, f"{raw.iloc[r]!r} is not a whole number")
                )
        out = num.astype("Float64") if col.kind == "float" else num.round().astype("Int64")
        if col.minimum is not None:
            for r in np.flatnonzero((num < col.minimum).fillna(False).to_numpy()):
                problems.append(
                    Problem(
                        source,
                        int(r) + 1,
                        col.name,
                        f"{raw.iloc[r]} is below the minimum {col.minimum:g}",
                    )
                )
        if col.maximum is not None:
            for r in np.flatnonzero((num > col.maximum).fillna(False).to_numpy()):
                problems.append(
                    Problem(
                        source,
                        int(r) + 1,
                        col.name,
                        f"{raw.iloc[r]} is above the maximum {col.maximum:g}",
                    )
                )
    elif col.kind == "flag":
        up = raw.astype("string").str.strip().str.upper()
        out = pd.Series(pd.NA, index=raw.index, dtype="string")
        out = out.mask(up.isin(_TRUE).fillna(False), "Y").mask(up.isin(_FALSE).fillna(False), "N")
        bad = out.isna() & ~miss
        for r in np.flatnonzero(bad.to_numpy()):
            problems.append(
                Problem(source, int(r) + 1, col.name, f"{raw.iloc[r]!r} is not a Y/N flag")
            )
    elif col.kind == "date":
        text = raw.astype("string").str.strip().mask(miss)
        parsed = pd.to_datetime(text, errors="coerce", format="ISO8601")
        bad = parsed.isna() & ~miss
        for r in np.flatnonzero(bad.to_numpy()):
            problems.append(
                Problem(source, int(r) + 1, col.name, f"{raw.iloc[r]!r} is not an ISO 8601 date")
            )
        out = parsed
    else:  # pragma: no cover - schema error
        raise AssertionError(col.kind)
    if col.allowed is not None:
        ok = out.isna() | out.isin(list(col.allowed))
        for r in np.flatnonzero((~ok).to_numpy()):
            problems.append(
                Problem(
                    source,
                    int(r) + 1,
                    col.name,
                    f"{raw.iloc[r]!r} is not one of {list(col.allowed)}",
                )
            )
    return out


def validate_table(frame: pd.DataFrame, spec: TableSpec, source: str) -> pd.DataFrame:
    """Coerce ``frame`` to ``spec``'s types; raise :class:`DataError` listing every problem."""
    frame, problems = check_table(frame, spec, source)
    if problems:
        raise DataError(problems)
    return frame


def check_table(
    frame: pd.DataFrame, spec: TableSpec, source: str
) -> tuple[pd.DataFrame, list[Problem]]:
    """Coerce ``frame`` to ``spec``'s types and return it with every problem found: a missing
    required column does not stop the other columns from being checked, so that one pass
    reports everything."""
    problems: list[Problem] = []
    frame = frame.copy()
    frame.columns = [str(c).strip() for c in frame.columns]
    upper = {c.upper(): c for c in frame.columns}
    for col in spec.columns:
        if col.name not in frame.columns and col.name in upper:
            frame = frame.rename(columns={upper[col.name]: col.name})
    for col in spec.columns:
        if col.required and col.name not in frame.columns:
            problems.append(
                Problem(source, None, col.name, f"required column is missing from {spec.name}")
            )
    for group in spec.one_of:
        if not any(c in frame.columns for c in group):
            problems.append(
                Problem(
                    source,
                    None,
                    "/".join(group),
                    f"{spec.name} needs one of the columns {', '.join(group)}",
                )
            )
    for col in spec.columns:
        if col.name in frame.columns:
            frame[col.name] = _coerce(col, frame[col.name], source, problems)
    if spec.unique_key and all(k in frame.columns for k in spec.key):
        dup = frame.duplicated(list(spec.key), keep="first") & frame[list(spec.key)].notna().all(
            axis=1
        )
        what = "record per " + " and ".join(spec.key)
        for r in np.flatnonzero(dup.to_numpy()):
            key = ", ".join(f"{k}={frame.iloc[r][k]}" for k in spec.key)
            problems.append(
                Problem(source, int(r) + 1, spec.key[-1], f"duplicate key ({key}): one {what}")
            )
    return frame, problems
