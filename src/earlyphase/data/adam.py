"""ADaM conventions applied to data as it comes: causality, intensity (toxicity grade or
severity), fatal outcome, and the order of treatment arms.

Variable names and controlled terms are those of the CDISC ADaM Implementation Guide v1.1/v1.3
and the ADaM Occurrence Data Structure (OCCDS) v1.0, which carry SDTM AE variables into ADAE:
AESEV (severity/intensity: MILD, MODERATE, SEVERE), AETOXGR (toxicity grade, e.g. CTCAE 1-5),
AEREL (causality: sponsor-defined terms), AEOUT (outcome: FATAL, RECOVERED/RESOLVED ...),
AESDTH (results in death, Y/N), TRT01A/TRT01AN (actual treatment and its numeric code).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from earlyphase.data.schema import SEVERITY as SEVERITY_LEVELS
from earlyphase.data.validate import Problem

#: Shown instead of a count when the column behind it is absent (or entirely blank): an absent
#: variable means "not collected", which is not the same as "none occurred".
NOT_COLLECTED = "not collected"


def _terms(values: Iterable[str]) -> frozenset[str]:
    return frozenset(" ".join(str(v).upper().split()) for v in values)


@dataclass(frozen=True)
class CausalityRule:
    """How the collected causality terms of AEREL map to related / not related.

    AEREL has no CDISC controlled terminology: sponsors collect binary (Y/N), three-point or
    five-point scales (NONE, REMOTE, POSSIBLE, PROBABLE, DEFINITE ...). The default rule takes
    the usual reading of such scales for adverse drug reaction counts (ICH E2A: a reasonable
    possibility of a causal relationship): POSSIBLE and stronger are related. Terms are compared
    in upper case with inner spaces collapsed. A blank AEREL is "not recorded" (counted as
    neither); any other term is an error, so that no term is classified silently.
    """

    related: frozenset[str] = _terms(("POSSIBLE", "PROBABLE", "DEFINITE", "RELATED", "Y", "YES"))
    not_related: frozenset[str] = _terms(("NONE", "REMOTE", "UNLIKELY", "NOT RELATED", "N", "NO"))

    def __post_init__(self) -> None:
        both = self.related & self.not_related
        if both:
            raise ValueError(
                f"causality: terms cannot be both related and not related: {sorted(both)}"
            )

    @classmethod
    def from_terms(cls, related: Iterable[str], not_related: Iterable[str]) -> CausalityRule:
        """A rule from two lists of terms (e.g. ``trial.json`` ``"causality"``)."""
        return cls(_terms(related), _terms(not_related))

    def classify(
        self, values: pd.Series, source: str, field: str = "AEREL"
    ) -> tuple[pd.Series, list[Problem]]:
        """``"Y"`` (related), ``"N"`` (not related) or missing (blank) for each value, and a
        problem naming the row and value of every term the rule does not know."""
        text = values.astype("string").str.upper().str.split().str.join(" ")
        blank = text.isna() | (text == "")
        out = pd.Series(pd.NA, index=values.index, dtype="string")
        out = out.mask(text.isin(list(self.related)).fillna(False), "Y")
        out = out.mask(text.isin(list(self.not_related)).fillna(False), "N")
        problems = [
            Problem(
                source,
                int(r) + 1,
                field,
                f"causality {values.iloc[r]!r} is neither related "
                f"({', '.join(sorted(self.related))}) nor not related "
                f"({', '.join(sorted(self.not_related))}); set the rule in trial.json "
                '"causality": {"related": [...], "not_related": [...]}',
            )
            for r in np.flatnonzero((out.isna() & ~blank).to_numpy())
        ]
        return out, problems


def collected(frame: pd.DataFrame | None, column: str) -> bool:
    """The column is present and has at least one value (an all-blank column was not
    collected either)."""
    return frame is not None and column in frame.columns and bool(frame[column].notna().any())


def fatal_sources(adae: pd.DataFrame) -> list[str]:
    """The variables that show a fatal outcome and were collected in ``adae``."""
    return [c for c in ("AEOUT", "AESDTH", "AETOXGR") if collected(adae, c)]


def fatal_mask(adae: pd.DataFrame, reference: pd.DataFrame | None = None) -> pd.Series | None:
    """Events with a fatal outcome: AEOUT = FATAL, or AESDTH = Y, or AETOXGR = 5 (CTCAE grade 5
    is death). ``None`` when none of the three was collected in ``reference`` (the whole ADAE,
    when ``adae`` is a subset; default ``adae`` itself)."""
    sources = fatal_sources(adae if reference is None else reference)
    if not sources:
        return None
    mask = pd.Series(False, index=adae.index)
    if "AEOUT" in sources:
        mask |= (adae["AEOUT"].astype("string").str.upper().str.strip() == "FATAL").fillna(False)
    if "AESDTH" in sources:
        mask |= (adae["AESDTH"] == "Y").fillna(False)
    if "AETOXGR" in sources:
        mask |= (adae["AETOXGR"] == 5).fillna(False)
    return mask


@dataclass(frozen=True)
class Intensity:
    """The intensity scale of ADAE: toxicity grade (AETOXGR 1-5) when collected, otherwise
    severity (AESEV, coded 1 = MILD, 2 = MODERATE, 3 = SEVERE so that the worst is the
    maximum). ``label`` names it as collected, never calling severity a CTCAE grade."""

    kind: str  # "grade" or "severity"
    column: str
    values: pd.Series  # numeric, worst = highest
    levels: tuple[tuple[int, str], ...]

    @property
    def label(self) -> str:
        return "toxicity grade (AETOXGR)" if self.kind == "grade" else "severity (AESEV)"


def intensity(adae: pd.DataFrame) -> Intensity | None:
    """AETOXGR if it has any value, else AESEV, else ``None`` (neither collected)."""
    if collected(adae, "AETOXGR"):
        grades = adae["AETOXGR"].astype("Float64")
        return Intensity("grade", "AETOXGR", grades, tuple((g, f"Grade {g}") for g in range(1, 6)))
    if collected(adae, "AESEV"):
        code = {s: float(i + 1) for i, s in enumerate(SEVERITY_LEVELS)}
        values = adae["AESEV"].astype("string").str.upper().map(code).astype("Float64")
        return Intensity(
            "severity",
            "AESEV",
            values,
            tuple((i + 1, s.capitalize()) for i, s in enumerate(SEVERITY_LEVELS)),
        )
    return None


#: Numeric companions of treatment variables (ADaM IG: a variable *N is the numeric version
#: of the character variable, e.g. TRT01AN of TRT01A, TRTAN of TRTA).
def numeric_code(by: str) -> str:
    return f"{by}N"


def arm_order(adsl: pd.DataFrame, by: str) -> list[str]:
    """The groups of ``by`` in the order of their numeric code: ``by`` + N (TRT01AN for
    TRT01A, TRTAN for TRTA ...), else the dose level DOSELVL, else the text. Ordering by text
    would put "Xanomeline High Dose" before "Xanomeline Low Dose" and "10 mg" before "2 mg"."""
    labels = adsl[by].dropna().astype(str)
    for code in (numeric_code(by), "DOSELVL"):
        if code in adsl.columns and adsl[code].notna().any():
            num = pd.to_numeric(adsl.loc[labels.index, code], errors="coerce")
            first = num.groupby(labels).min()
            rank = {g: float(v) if pd.notna(v) else np.inf for g, v in first.items()}
            return sorted(labels.unique(), key=lambda g: (rank.get(g, np.inf), g))
    return sorted(labels.unique())


def end_of_study(adsl: pd.DataFrame) -> tuple[pd.Series, pd.Series, str] | None:
    """End-of-study status (COMPLETED / DISCONTINUED / ONGOING) and reason per subject, from
    EOSSTT and DCSREAS (ADaM IG v1.1+ ADSL), else from DCDECOD (the standardised SDTM DS term:
    COMPLETED or the reason, as in ADSL of ADaM IG v1.0-era submissions such as the CDISC pilot)
    with its reason. Returns (status, reason, source description), or ``None``."""
    if collected(adsl, "EOSSTT"):
        status = adsl["EOSSTT"].astype("string").str.upper()
        reason = (
            adsl["DCSREAS"].astype("string")
            if "DCSREAS" in adsl.columns
            else pd.Series(pd.NA, index=adsl.index, dtype="string")
        )
        return status, reason, "EOSSTT, DCSREAS"
    if collected(adsl, "DCDECOD"):
        term = adsl["DCDECOD"].astype("string").str.upper()
        done = term == "COMPLETED"
        status = term.mask(term.notna() & done, "COMPLETED").mask(
            term.notna() & ~done, "DISCONTINUED"
        )
        reason = adsl["DCDECOD"].astype("string").mask(done.fillna(False))
        return status, reason, "DCDECOD"
    return None
