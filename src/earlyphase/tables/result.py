"""A result table: the display frame a report prints, and the long "analysis results data"
(ARD) behind it, one row per number (as CDISC ARS / R ``cards``), for QC and re-use."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

ARD_COLUMNS = ["table", "group", "variable", "label", "stat", "value"]


@dataclass
class TableResult:
    title: str
    display: pd.DataFrame
    ard: pd.DataFrame
    footnotes: list[str] = field(default_factory=list)

    def value(
        self, label: str, stat: str, group: str | None = None, variable: str | None = None
    ) -> float:
        """One number from the ARD (e.g. ``value("Pyrexia", "n_subjects", "UC-MSC")``)."""
        sel = (self.ard["label"] == label) & (self.ard["stat"] == stat)
        if group is not None:
            sel &= self.ard["group"] == group
        if variable is not None:
            sel &= self.ard["variable"] == variable
        hits = self.ard.loc[sel, "value"]
        if len(hits) != 1:
            raise KeyError(
                f"{len(hits)} ARD rows for label={label!r}, stat={stat!r}, group={group!r}"
            )
        return float(hits.iloc[0])


class ArdBuilder:
    """Collects ARD rows while a table is built."""

    def __init__(self, table: str) -> None:
        self.table = table
        self.rows: list[dict[str, object]] = []

    def add(self, group: str, variable: str, label: str, **stats: float | int | None) -> None:
        for stat, value in stats.items():
            self.rows.append(
                {
                    "table": self.table,
                    "group": group,
                    "variable": variable,
                    "label": label,
                    "stat": stat,
                    "value": float("nan") if value is None else float(value),
                }
            )

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=ARD_COLUMNS)


def fmt_pct(n: int, total: int, digits: int = 1) -> str:
    """``"3 (75.0%)"``; ``"0"`` when n is 0 (no percentage shown for zero counts)."""
    if n == 0 or total == 0:
        return "0"
    return f"{n} ({100 * n / total:.{digits}f}%)"


def fmt_rate_ci(x: int, n: int, lower: float, upper: float, digits: int = 1) -> str:
    """``"33.3% (0.8%, 90.6%)"``: a proportion with its interval; ``"-"`` without subjects."""
    if n == 0:
        return "-"
    return f"{100 * x / n:.{digits}f}% ({100 * lower:.{digits}f}%, {100 * upper:.{digits}f}%)"


def median_range(values: pd.Series, digits: int = 1) -> tuple[str, dict[str, float]]:
    """``"2.0 (1.0–5.0)"`` and the numbers behind it (n, median, min, max); ``"-"`` when
    there are no values."""
    v = pd.to_numeric(values, errors="coerce").dropna().astype(float)
    stats = {"n": float(len(v))}
    if len(v) == 0:
        return "-", stats
    stats.update(median=float(v.median()), min=float(v.min()), max=float(v.max()))
    d = digits
    return f"{stats['median']:.{d}f} ({stats['min']:.{d}f}–{stats['max']:.{d}f})", stats
