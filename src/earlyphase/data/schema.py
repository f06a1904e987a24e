"""ADaM-style tables: the interchange model between data capture, analysis and the report.

Column names follow CDISC ADaM where one exists (USUBJID, TRT01A, SAFFL, AESOC, AEDECOD, AETOXGR,
AESER, AEREL, TRTEMFL, PARAMCD, AVAL, CNSR, AVISIT, BASE, CHG ...). Only what the analyses need is
required; other columns are kept as they are. Dates are ISO 8601; times are in days.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # "str", "float", "int", "flag" (Y/N), "date"
    required: bool = False
    allowed: tuple[str | int, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    description: str = ""


@dataclass(frozen=True)
class TableSpec:
    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ("USUBJID",)
    unique_key: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


ADSL = TableSpec(
    "ADSL",
    "one row per subject",
    (
        Column("USUBJID", "str", True, description="unique subject identifier"),
        Column("TRT01A", "str", True, description="actual treatment / dose level label"),
        Column("DOSELVL", "float", description="dose level, e.g. 1.0 (x 10^6 cells/kg)"),
        Column("PHASE", "str", description="part of the trial, e.g. escalation / expansion"),
        Column("AGE", "float", minimum=0, maximum=130),
        Column("SEX", "str", allowed=("M", "F", "U")),
        Column("WEIGHT", "float", minimum=0.5, maximum=400, description="baseline weight (kg)"),
        Column("SAFFL", "flag", description="safety population"),
        Column("EFFFL", "flag", description="efficacy population"),
        Column(
            "EOSSTT", "str", description="end of study status: COMPLETED / DISCONTINUED / ONGOING"
        ),
        Column("DCSREAS", "str", description="reason for discontinuation"),
        Column("DTHFL", "flag", description="death flag"),
        Column("DTHDY", "float", minimum=0, description="study day of death"),
        Column("LSTALVDY", "float", minimum=0, description="last day known alive"),
        Column(
            "EOSDY",
            "float",
            minimum=0,
            description="study day of completion, discontinuation or death",
        ),
        Column("TRTSDT", "date", description="first dose date"),
    ),
    unique_key=True,
)

ADEX = TableSpec(
    "ADEX",
    "one row per infusion",
    (
        Column("USUBJID", "str", True),
        Column("EXSEQ", "int", minimum=1, description="infusion number"),
        Column("EXDY", "float", minimum=0, description="study day of the infusion"),
        Column("EXDOSE", "float", True, minimum=0, description="dose in 10^6 cells/kg"),
        Column("WEIGHT", "float", minimum=0.5, maximum=400, description="weight used (kg)"),
        Column("TOTCELLS", "float", minimum=0, description="total cells (10^6); derived if absent"),
        Column("LOT", "str"),
    ),
    key=("USUBJID", "EXSEQ"),
)

ADAE = TableSpec(
    "ADAE",
    "one row per adverse event",
    (
        Column("USUBJID", "str", True),
        Column("AESOC", "str", True, description="system organ class (as entered, e.g. MedDRA)"),
        Column("AEDECOD", "str", True, description="preferred term"),
        Column("AETOXGR", "int", True, allowed=(1, 2, 3, 4, 5), description="CTCAE grade"),
        Column("AESER", "flag", description="serious"),
        Column("AEREL", "flag", description="related to treatment (ADR)"),
        Column("ASTDY", "float", description="onset study day (day 1 = first dose)"),
        Column("TRTEMFL", "flag", description="treatment-emergent; derived from ASTDY if absent"),
        Column("AEDLT", "flag", description="dose-limiting toxicity"),
    ),
)

ADTTE = TableSpec(
    "ADTTE",
    "one row per subject and time-to-event parameter",
    (
        Column("USUBJID", "str", True),
        Column("PARAMCD", "str", True, description="e.g. OS, NRM, RELAPSE"),
        Column("AVAL", "float", True, minimum=0, description="time in days"),
        Column("CNSR", "int", True, allowed=(0, 1), description="CDISC: 0 = event, 1 = censored"),
        Column("EVNTDESC", "str"),
        Column("CAUSE", "int", minimum=0, description="competing-risk cause code (0 = censored)"),
    ),
    key=("USUBJID", "PARAMCD"),
)

ADRS = TableSpec(
    "ADRS",
    "one row per subject and response assessment",
    (
        Column("USUBJID", "str", True),
        Column("PARAMCD", "str", True, description="e.g. OVRLRESP, BESTRESP"),
        Column("AVISIT", "str", True, description="e.g. DAY 28"),
        Column(
            "AVALC",
            "str",
            True,
            description="CR / PR / SD / PD / NR / NE, or Y / N for binary endpoints",
        ),
    ),
)

ADLB = TableSpec(
    "ADLB",
    "one row per subject, parameter and visit",
    (
        Column("USUBJID", "str", True),
        Column("PARAMCD", "str", True),
        Column("ADY", "float", True, description="study day"),
        Column("AVAL", "float", True),
        Column("ABLFL", "flag", description="baseline record"),
        Column("AVISIT", "str"),
    ),
)

ADVENT = TableSpec(
    "ADVENT",
    "one row per episode of respiratory support (e.g. mechanical ventilation, oxygen)",
    (
        Column("USUBJID", "str", True),
        Column("PARAMCD", "str", True, description="e.g. MV (mechanical ventilation), O2"),
        Column("ASTDY", "float", True, minimum=0, description="first day of the episode"),
        Column("AENDY", "float", minimum=0, description="last day (missing: ongoing)"),
    ),
)

SPECS: dict[str, TableSpec] = {s.name: s for s in (ADSL, ADEX, ADAE, ADTTE, ADRS, ADLB, ADVENT)}
