"""ADaM-style tables: the interchange model between data capture, analysis and the report.

Column names follow CDISC ADaM where one exists (ADaM IG v1.1/v1.3 for ADSL and the Basic Data
Structure, OCCDS v1.0 for ADAE: USUBJID, TRT01A, TRT01AN, SAFFL, WEIGHTBL, EOSSTT, DCSREAS, AESOC,
AEDECOD, AETOXGR, AESEV, AESER, AEREL, AEOUT, AESDTH, TRTEMFL, PARAMCD, PARAM, AVAL, CNSR, AVISIT,
BASE, CHG ...). Only what the analyses need is required; other columns are kept as they are.
Dates are ISO 8601 (or SAS dates read from XPT); times are in days.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: SDTM codelist AESEV (C66769), in increasing order
SEVERITY = ("MILD", "MODERATE", "SEVERE")


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # "str", "float", "int", "flag" (Y/N), "date"
    required: bool = False
    #: allowed values; text is compared (and stored) in upper case, as CDISC terms are
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
    #: groups of columns of which at least one must be present (e.g. AETOXGR or AESEV)
    one_of: tuple[tuple[str, ...], ...] = ()
    extra: dict[str, str] = field(default_factory=dict)

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


ADSL = TableSpec(
    "ADSL",
    "one row per subject",
    (
        Column("USUBJID", "str", True, description="unique subject identifier"),
        Column("TRT01A", "str", True, description="actual treatment / dose level label"),
        Column("TRT01AN", "float", description="numeric code of TRT01A; orders the arms"),
        Column("TRT01P", "str", description="planned treatment"),
        Column("TRT01PN", "float", description="numeric code of TRT01P"),
        Column("DOSELVL", "float", description="dose level, e.g. 1.0 (x 10^6 cells/kg)"),
        Column("PHASE", "str", description="part of the trial, e.g. escalation / expansion"),
        Column("AGE", "float", minimum=0, maximum=130, description="age (years)"),
        Column(
            "SEX",
            "str",
            allowed=("M", "F", "U", "UNDIFFERENTIATED"),
            description="sex (SDTM codelist SEX)",
        ),
        Column("RACE", "str", description="race as collected"),
        Column("ETHNIC", "str", description="ethnicity as collected"),
        Column("WEIGHT", "float", minimum=0.5, maximum=400, description="baseline weight (kg)"),
        Column("WEIGHTBL", "float", minimum=0.5, maximum=400, description="baseline weight (kg)"),
        Column("HEIGHTBL", "float", minimum=20, maximum=260, description="baseline height (cm)"),
        Column("BMIBL", "float", minimum=5, maximum=150, description="baseline BMI (kg/m2)"),
        Column("SAFFL", "flag", description="safety population"),
        Column(
            "DLTEVLFL",
            "flag",
            description="DLT-evaluable population (sponsor-defined); DLT rates use it as "
            "denominator, else the safety population",
        ),
        Column(
            "DLTEVLRS",
            "str",
            description="why the subject is not DLT-evaluable (e.g. left before the end of the "
            "DLT window); shown in the participant flow",
        ),
        Column("EFFFL", "flag", description="efficacy population"),
        Column("ITTFL", "flag", description="intent-to-treat (randomised) population"),
        Column("RANDFL", "flag", description="randomised population"),
        Column(
            "EOSSTT", "str", description="end of study status: COMPLETED / DISCONTINUED / ONGOING"
        ),
        Column("DCSREAS", "str", description="reason for discontinuation"),
        Column(
            "DCDECOD",
            "str",
            description="standardised disposition term (SDTM DS): COMPLETED or the reason",
        ),
        Column("DCREASCD", "str", description="reason for discontinuation (sponsor-defined)"),
        Column("DTHFL", "flag", description="death flag"),
        Column("DTHDT", "date", description="date of death"),
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
        Column("USUBJID", "str", True, description="unique subject identifier (in ADSL)"),
        Column("EXSEQ", "int", minimum=1, description="infusion number"),
        Column("EXDY", "float", minimum=0, description="study day of the infusion"),
        Column("EXDOSE", "float", True, minimum=0, description="dose in 10^6 cells/kg"),
        Column("WEIGHT", "float", minimum=0.5, maximum=400, description="weight used (kg)"),
        Column("TOTCELLS", "float", minimum=0, description="total cells (10^6); derived if absent"),
        Column("LOT", "str", description="product lot or batch"),
        Column("TRTA", "str", description="actual treatment of the record"),
    ),
    key=("USUBJID", "EXSEQ"),
)

ADAE = TableSpec(
    "ADAE",
    "one row per adverse event",
    (
        Column("USUBJID", "str", True, description="unique subject identifier (in ADSL)"),
        Column("AESOC", "str", True, description="system organ class (as entered, e.g. MedDRA)"),
        Column("AEDECOD", "str", True, description="preferred term"),
        Column("AETOXGR", "int", allowed=(1, 2, 3, 4, 5), description="toxicity grade (CTCAE)"),
        Column("AESEV", "str", allowed=SEVERITY, description="severity, used without AETOXGR"),
        Column("AESER", "flag", description="serious"),
        Column(
            "AEREL",
            "str",
            description="causality as collected; mapped to Y/N by a CausalityRule at load",
        ),
        Column("AEOUT", "str", description="outcome, e.g. FATAL, RECOVERED/RESOLVED"),
        Column("AESDTH", "flag", description="results in death"),
        Column("AEACN", "str", description="action taken with study treatment"),
        Column("ASTDY", "float", description="onset study day (day 1 = first dose)"),
        Column("ASTDT", "date", description="onset date"),
        Column("AENDY", "float", description="resolution (end) study day"),
        Column("AENDT", "date", description="resolution (end) date"),
        Column("TRTEMFL", "flag", description="treatment-emergent; derived from ASTDY if absent"),
        Column("AEDLT", "flag", description="dose-limiting toxicity"),
        Column("TRTA", "str", description="actual treatment of the record"),
        Column("TRTAN", "float", description="numeric code of TRTA"),
    ),
    one_of=(("AETOXGR", "AESEV"),),
)

ADTTE = TableSpec(
    "ADTTE",
    "one row per subject and time-to-event parameter",
    (
        Column("USUBJID", "str", True, description="unique subject identifier (in ADSL)"),
        Column("PARAMCD", "str", True, description="e.g. OS, NRM, RELAPSE"),
        Column("PARAM", "str", description="parameter name, e.g. Overall Survival"),
        Column("AVAL", "float", True, minimum=0, description="time in days"),
        Column("CNSR", "int", True, allowed=(0, 1), description="CDISC: 0 = event, 1 = censored"),
        Column("EVNTDESC", "str", description="event or censoring description"),
        Column("CAUSE", "int", minimum=0, description="competing-risk cause code (0 = censored)"),
        Column("ADT", "date", description="date of the event or censoring"),
        Column("TRTA", "str", description="actual treatment of the record"),
        Column("TRTAN", "float", description="numeric code of TRTA"),
    ),
    key=("USUBJID", "PARAMCD"),
    # ADaM BDS for time-to-event: one record per subject and parameter
    unique_key=True,
)

ADRS = TableSpec(
    "ADRS",
    "one row per subject and response assessment",
    (
        Column("USUBJID", "str", True, description="unique subject identifier (in ADSL)"),
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
        Column("USUBJID", "str", True, description="unique subject identifier (in ADSL)"),
        Column("PARAMCD", "str", True, description="parameter code, e.g. CRP"),
        Column("ADY", "float", True, description="study day"),
        Column("AVAL", "float", True, description="value"),
        Column("ABLFL", "flag", description="baseline record"),
        Column("AVISIT", "str", description="visit name"),
    ),
)

ADVENT = TableSpec(
    "ADVENT",
    "one row per episode of respiratory support (e.g. mechanical ventilation, oxygen)",
    (
        Column("USUBJID", "str", True, description="unique subject identifier (in ADSL)"),
        Column("PARAMCD", "str", True, description="e.g. MV (mechanical ventilation), O2"),
        Column("ASTDY", "float", True, minimum=0, description="first day of the episode"),
        Column("AENDY", "float", minimum=0, description="last day (missing: ongoing)"),
    ),
)

ADDEC = TableSpec(
    "ADDEC",
    "one row per dose-transition decision (not a CDISC dataset: the dose-escalation record, "
    "as the conduct service keeps it)",
    (
        Column(
            "COHORT",
            "int",
            True,
            minimum=1,
            description="cohort after which the decision was taken",
        ),
        Column("DOSELVL", "float", description="dose of that cohort (as ADSL DOSELVL)"),
        Column("TRT01A", "str", description="label of that dose level (as ADSL TRT01A)"),
        Column("NEVAL", "int", minimum=0, description="subjects of the cohort evaluable for DLT"),
        Column("NDLT", "int", minimum=0, description="subjects of the cohort with a DLT"),
        Column(
            "OUTCOMES",
            "str",
            description="the data the recommendation was computed from, e.g. 1NNN 2NTN (each "
            "cohort: dose level, then N no DLT / T DLT per subject)",
        ),
        Column(
            "RECOMM",
            "str",
            True,
            description="the design's recommendation, e.g. escalate to dose level 2",
        ),
        Column("DECISION", "str", True, description="the decision taken"),
        Column("DECIDER", "str", description="who took and signed the decision"),
        Column("DECDT", "date", description="date of the decision (signature)"),
        Column("DEVFL", "flag", description="the decision departs from the recommendation"),
        Column("DEVREAS", "str", description="reason for the departure"),
        Column("NOTE", "str", description="anything else on record, e.g. data changed later"),
    ),
    key=("COHORT",),
)

SPECS: dict[str, TableSpec] = {
    s.name: s for s in (ADSL, ADEX, ADAE, ADTTE, ADRS, ADLB, ADVENT, ADDEC)
}
