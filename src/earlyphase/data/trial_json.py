"""``trial.json``: the keys a trial folder's metadata may hold, and their validation.

Every key the report and the loader read is declared here once; the declaration validates the
file (unknown or mistyped keys are errors naming the key, with a "did you mean" suggestion,
all reported in one pass as for the tables' columns) and generates its documentation
(:mod:`earlyphase.data.docs`).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from earlyphase.data.validate import Problem

#: Templates of a ``baseline`` row (see :func:`earlyphase.tables.trial_tables.baseline_table`)
BASELINE_TEMPLATES = (
    "n_pct",
    "mean_sd",
    "median_range",
    "median_iqr",
    "mean_sd_median_range",
    "rows",
)


@dataclass(frozen=True)
class Key:
    """One key of ``trial.json`` (or of an object inside it).

    ``kind``: ``str``, ``number``, ``bool``, ``list[str]``, ``list[number]``, ``object``
    (with ``keys``), ``list[object]`` (each with ``keys``), ``map[str]`` (any names, text
    values), ``map[any]`` (any names and values, checked by whoever reads them, e.g. a
    design's settings) or ``list[baseline]`` (rows ``[column, label, template]``)."""

    name: str
    kind: str
    description: str
    keys: tuple[Key, ...] = ()
    required: bool = False
    choices: tuple[str, ...] = ()
    example: str = ""


TRIAL_JSON: tuple[Key, ...] = (
    Key("title", "str", "title of the report", example='"UC-MSC in refractory ITP (phase I)"'),
    Key(
        "dose_unit", "str", "unit of the dose levels, shown in figures", example='"x 10^6 cells/kg"'
    ),
    Key(
        "randomised",
        "bool",
        "whether arms were randomised (default: true when ADSL has RANDFL or ITTFL); a "
        "randomised trial reports every ADTTE parameter by arm with the log-rank test",
    ),
    Key(
        "landmarks",
        "list[number]",
        "days at which survival is estimated (survival table)",
        example="[56, 100, 365]",
    ),
    Key("risk_times", "list[number]", "days of the number-at-risk row under Kaplan-Meier plots"),
    Key("survival_param", "str", "ADTTE PARAMCD of overall survival (default OS)"),
    Key(
        "response",
        "object",
        "response by dose level: best response categories n (%) and the objective response "
        "rate with its exact (Clopper-Pearson) CI",
        keys=(
            Key("paramcd", "str", "ADRS PARAMCD (default OVRLRESP)"),
            Key(
                "visit",
                "str",
                "ADRS AVISIT of the assessment; may be omitted when there is one record per "
                "subject (e.g. PARAMCD BESTRESP)",
            ),
            Key("positive", "list[str]", "categories counted as response (default CR, PR)"),
            Key(
                "categories",
                "list[str]",
                "column order of the categories (default CR, PR, SD, PD, NE, then as found)",
            ),
        ),
        example='{"paramcd": "OVRLRESP", "visit": "DAY 28"}',
    ),
    Key(
        "competing",
        "object",
        "cumulative incidence of competing events (ADTTE CAUSE)",
        keys=(
            Key("paramcd", "str", "ADTTE PARAMCD", required=True),
            Key("times", "list[number]", "days of the estimates", required=True),
            Key("causes", "map[str]", 'name of each CAUSE code, e.g. {"1": "Relapse"}'),
        ),
    ),
    Key(
        "endpoints",
        "list[object]",
        "binary endpoints by visit (n/N, exact CI and Beta-posterior HPD interval)",
        keys=(
            Key("paramcd", "str", "ADRS PARAMCD", required=True),
            Key("visits", "list[str]", "ADRS AVISIT values", required=True),
            Key("positive", "list[str]", "AVALC values counted as success (default Y)"),
            Key("label", "str", "title of the table"),
        ),
    ),
    Key(
        "free_days",
        "object",
        "days free of a support (ADVENT episodes) to each horizon",
        keys=(
            Key("paramcd", "str", "ADVENT PARAMCD, e.g. MV", required=True),
            Key("horizons", "list[number]", "last day of each period", required=True),
            Key("label", "str", "title of the table", required=True),
        ),
    ),
    Key(
        "baseline",
        "list[baseline]",
        "rows of the baseline table: [ADSL column, label, template], template one of "
        + ", ".join(BASELINE_TEMPLATES),
        example='[["AGE", "Age, years", "mean_sd_median_range"]]',
    ),
    Key(
        "biomarkers",
        "object",
        "change from baseline of ADLB parameters (paired Wilcoxon and t tests)",
        keys=(
            Key("paramcds", "list[str]", "ADLB PARAMCD values", required=True),
            Key("day", "number", "study day compared with baseline", required=True),
        ),
    ),
    Key("ae_window", "number", "also tabulate adverse events with onset up to this study day"),
    Key(
        "ae_grades",
        "str",
        "columns of the worst-grade table: summary (any grade, grade >= 3) or detail "
        "(grades 1-2, 3, 4, 5)",
        choices=("summary", "detail"),
    ),
    Key(
        "aesi",
        "list[object]",
        "adverse events of special interest: by worst grade, with time to onset and duration, "
        "per dose level",
        keys=(
            Key("label", "str", "name of the group of events", required=True),
            Key(
                "terms",
                "list[str]",
                "ADAE AEDECOD terms of the group (case and spacing ignored)",
                required=True,
            ),
        ),
        example='[{"label": "Cytokine release syndrome", "terms": ["Cytokine release syndrome"]}]',
    ),
    Key(
        "dose_deviation_tolerance",
        "number",
        "relative difference of ADEX EXDOSE from the assigned dose (ADSL DOSELVL) tolerated "
        "before an infusion is listed as a dose deviation (default 0: any difference)",
        example="0.1",
    ),
    Key(
        "causality",
        "object",
        "how collected AEREL terms map to related / not related",
        keys=(
            Key("related", "list[str]", "terms meaning related"),
            Key("not_related", "list[str]", "terms meaning not related"),
        ),
    ),
    Key(
        "version",
        "str",
        "version of the report, printed in the running header of the PDF and Word outputs "
        "(default: the earlyphase version that wrote it)",
        example='"1.0 final"',
    ),
    Key(
        "design",
        "object",
        "the dose-finding design as the protocol specifies it, for the CONSORT-DEFINE section "
        "(decision table, stopping rules, dose levels and schedule); read by `earlyphase "
        "report`, which builds the design from it",
        keys=(
            Key(
                "name",
                "str",
                "the design, as `earlyphase design` names it (3+3, boin, crm, mtpi2, "
                "keyboard, i3+3 ...)",
                required=True,
            ),
            Key(
                "settings",
                "map[any]",
                "the design's settings, as `earlyphase design NAME --help` lists them "
                "(checked when the report is made)",
                example='{"n_doses": 3}',
            ),
            Key(
                "dose_levels",
                "list[number]",
                "the doses of levels 1, 2, ... (in dose_unit)",
                example="[0.5, 1.0, 2.0]",
            ),
            Key("schedule", "str", "how and when each dose is given"),
            Key("dlt_window_days", "number", "length of the DLT assessment window in days"),
            Key("dlt_definition", "str", "what counts as a dose-limiting toxicity"),
        ),
    ),
    Key(
        "recommended_dose",
        "object",
        "the dose recommended at the end of dose finding (MTD, RP2D ...) and why; a report "
        "made from a trial database takes it from the last signed decision instead",
        keys=(
            Key("dose", "str", "the dose level, as ADSL TRT01A names it", required=True),
            Key("rationale", "str", "why this dose, from all the data", required=True),
        ),
        example='{"dose": "1.0 x 10^6 cells/kg", "rationale": "..."}',
    ),
)


def _kind_ok(kind: str, value: Any) -> bool:
    def number(v: Any) -> bool:
        return isinstance(v, int | float) and not isinstance(v, bool)

    if kind == "str":
        return isinstance(value, str)
    if kind == "number":
        return number(value)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "list[str]":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if kind == "list[number]":
        return isinstance(value, list) and all(number(v) for v in value)
    if kind in ("object", "map[str]", "map[any]"):
        return isinstance(value, dict)
    if kind in ("list[object]", "list[baseline]"):
        return isinstance(value, list)
    raise AssertionError(kind)  # pragma: no cover - declaration error


_KIND_TEXT = {
    "str": "text",
    "number": "a number",
    "bool": "true or false",
    "list[str]": "a list of texts",
    "list[number]": "a list of numbers",
    "object": "an object {...}",
    "map[str]": "an object of texts",
    "map[any]": "an object {...}",
    "list[object]": "a list of objects",
    "list[baseline]": "a list of [column, label, template]",
}


def _check(
    value: dict[str, Any], keys: tuple[Key, ...], path: str, source: str, out: list[Problem]
) -> None:
    known = {k.name: k for k in keys}
    for name in value:
        if name not in known:
            close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            out.append(
                Problem(
                    source,
                    None,
                    f"{path}{name}",
                    f"unknown key{hint} (known: {', '.join(sorted(known))})",
                )
            )
    for key in keys:
        where = f"{path}{key.name}"
        if key.name not in value or value[key.name] is None:
            if key.required:
                out.append(Problem(source, None, where, "required key is missing"))
            continue
        v = value[key.name]
        if not _kind_ok(key.kind, v):
            out.append(Problem(source, None, where, f"{v!r} is not {_KIND_TEXT[key.kind]}"))
            continue
        if key.choices and v not in key.choices:
            out.append(Problem(source, None, where, f"{v!r} is not one of {list(key.choices)}"))
        if key.kind == "object":
            _check(v, key.keys, f"{where}.", source, out)
        elif key.kind == "map[str]":
            for k, item in v.items():
                if not isinstance(item, str):
                    out.append(Problem(source, None, f"{where}.{k}", f"{item!r} is not text"))
        elif key.kind == "list[object]":
            for i, item in enumerate(v):
                if isinstance(item, dict):
                    _check(item, key.keys, f"{where}[{i}].", source, out)
                else:
                    out.append(Problem(source, None, f"{where}[{i}]", "is not an object {...}"))
        elif key.kind == "list[baseline]":
            for i, item in enumerate(v):
                ok = (
                    isinstance(item, list)
                    and len(item) == 3
                    and all(isinstance(x, str) for x in item)
                )
                if not ok:
                    out.append(
                        Problem(source, None, f"{where}[{i}]", "is not [column, label, template]")
                    )
                elif item[2] not in BASELINE_TEMPLATES:
                    out.append(
                        Problem(
                            source,
                            None,
                            f"{where}[{i}]",
                            f"template {item[2]!r} is not one of {list(BASELINE_TEMPLATES)}",
                        )
                    )


def check_trial_json(meta: Any, source: str = "trial.json") -> list[Problem]:
    """Every problem of a ``trial.json`` document (empty when it is valid): unknown keys
    (with the nearest known key), wrong types, missing required keys of nested objects."""
    if not isinstance(meta, dict):
        return [Problem(source, None, None, "must be a JSON object {...}")]
    out: list[Problem] = []
    _check(meta, TRIAL_JSON, "", source, out)
    return out
