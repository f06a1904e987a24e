"""Assemble tables and figures into one self-contained HTML report (figures embedded as PNG,
no external resources), laid out like the results section of a trial report.

Which sections appear depends on the data present and on ``trial.json`` (``meta``):
``landmarks``, ``survival_param``, ``competing`` ({"paramcd", "causes"}), ``endpoints``
(list of {"paramcd", "visits", "positive", "label"}), ``response`` ({"paramcd", "visit"}),
``free_days`` ({"paramcd", "horizons", "label"}), ``baseline`` (list of [column, label,
template]), ``biomarkers`` ({"paramcds", "day"}), ``ae_window`` (days), ``dose_unit``,
``randomised`` (true/false; by default a trial is randomised when ADSL has RANDFL or ITTFL),
``ae_grades`` (summary / detail columns of the worst-grade table), ``aesi`` (adverse events of
special interest), ``dose_deviation_tolerance``, ``version`` (printed in the running header),
``design`` and ``recommended_dose`` (the CONSORT-DEFINE section). Every key is declared,
documented and validated in :mod:`earlyphase.data.trial_json` (see ``docs/input.md``).

The report ends with listings of DLTs, serious adverse events, deaths and dose deviations;
:func:`write_tables` writes every table as CSV or into one XLSX workbook.

In a randomised trial with more than one arm every ADTTE parameter is reported by arm, under its
own name (PARAM), with the log-rank test. Groups are in the order of their numeric code
(TRT01AN). Tables are rendered from a Jinja2 template, with the SOC / PT (and other) hierarchy
as indentation.

A dose-finding trial gets a CONSORT-DEFINE section (design, participant flow per dose level,
dose-transition record, recommended dose; :mod:`earlyphase.report.define`) and the checklist
appendix. Powers in units (``10^6``) print as superscripts. The page prints to PDF in A4 or
Letter (``paper``) with a running header (title, version, date), page numbers in the footer
(CSS paged media, which Chromium prints) and no heading left alone at the foot of a page; the
same content is written as Word (:mod:`earlyphase.report.word`) and the figures as SVG on
request.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import re
import shutil
import subprocess
import tempfile
from itertools import pairwise
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment
from markupsafe import Markup, escape

from earlyphase import __version__
from earlyphase.data.adam import NOT_COLLECTED, arm_order, collected
from earlyphase.data.trial import TrialData
from earlyphase.data.units import split_powers, unicode_powers
from earlyphase.figures.trial import (
    cif_figure,
    consort_figure,
    escalation_figure,
    km_figure,
    spaghetti_figure,
    swimmer_figure,
    to_png,
    to_svg,
)
from earlyphase.report import define
from earlyphase.report.define import DesignInfo
from earlyphase.tables import adverse_events as ae
from earlyphase.tables import define as define_tables
from earlyphase.tables import efficacy as eff
from earlyphase.tables import listings
from earlyphase.tables import trial_tables as tt
from earlyphase.tables.result import TableResult

#: Paper sizes the PDF and Word outputs take, with their CSS page size.
PAPER = {"a4": "A4", "letter": "letter"}

TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{{ title }}</title>
<style>
@page { size: {{ page_size }}; margin: 22mm 16mm 20mm 16mm;
  @top-left { content: "{{ header_left }}"; font: 8pt Arial, sans-serif; color: #555; }
  @top-right { content: "{{ header_right }}"; font: 8pt Arial, sans-serif; color: #555; }
  @bottom-center { content: "Page " counter(page) " of " counter(pages);
                   font: 8pt Arial, sans-serif; color: #555; }
}
body { font-family: Georgia, 'Times New Roman', serif; max-width: 980px; margin: 2em auto;
       color: #222; line-height: 1.45; padding: 0 1em; }
h1 { font-size: 1.7em; border-bottom: 2px solid #333; padding-bottom: .3em; }
h2 { font-size: 1.3em; margin-top: 2em; border-bottom: 1px solid #bbb; }
h3 { font-size: 1.05em; margin-bottom: .3em; }
@page wide { size: {{ page_size }} landscape; }
h1, h2, h3, figcaption { break-after: avoid; page-break-after: avoid; }
.item.wide { page: wide; }
.item.small, figure { break-inside: avoid; page-break-inside: avoid; }
table { border-collapse: collapse; margin: .6em 0 .3em; font-size: .88em;
        font-family: Arial, sans-serif; }
thead { display: table-header-group; }
tr { break-inside: avoid; }
th { border-top: 2px solid #333; border-bottom: 1px solid #333; padding: 4px 8px;
     text-align: left; }
td { padding: 3px 8px; border-bottom: 1px solid #eee; }
td.lvl1 { padding-left: 2em; } td.lvl2 { padding-left: 3.5em; } td.lvl3 { padding-left: 5em; }
tr.group td:first-child { font-weight: bold; }
td.nc { color: #777; font-style: italic; }
tr:last-child td { border-bottom: 2px solid #333; }
sup { font-size: .75em; line-height: 0; }
.note { font-size: .8em; color: #555; margin: 0 0 1.2em; }
figure { margin: 1em 0; } figure img { max-width: 100%; }
figcaption { font-size: .85em; color: #444; }
.meta { color: #666; font-size: .85em; }
@media print {
  body { max-width: none; margin: 0; padding: 0; font-size: 10pt; }
  table { font-size: 8pt; }
  .item.wide table { font-size: 7pt; }
  .item.wide td, .item.wide th { padding: 2px 4px; }
  h2 { margin-top: 1.2em; }
}
</style></head><body>
<h1>{{ title | sup }}</h1>
<p class="meta">{{ subtitle }}</p>
{% for section in sections %}
<h2>{{ section.heading }}</h2>
{% if section.text %}<p>{{ section.text | sup }}</p>{% endif %}
{% for item in section["items"] %}
{% if item.kind == "table" %}
<div class="item{% if item.small %} small{% endif %}{% if item.wide %} wide{% endif %}">
<h3>{{ item.title | sup }}</h3>
{{ item.html | safe }}
{% for note in item.notes %}<p class="note">{{ note | sup }}</p>{% endfor %}
</div>
{% elif item.kind == "text" %}
{% for para in item.paragraphs %}<p>{{ para | sup }}</p>{% endfor %}
{% elif item.kind == "list" %}
<div class="item small"><h3>{{ item.title | sup }}</h3>
<ul>{% for entry in item.entries %}<li>{{ entry | sup }}</li>{% endfor %}</ul></div>
{% else %}
<figure><img alt="{{ item.title }}" src="data:image/png;base64,{{ item.png }}">
<figcaption>{{ item.title | sup }}</figcaption></figure>
{% endif %}
{% endfor %}
{% endfor %}
</body></html>
"""

#: A table: header, then rows whose first cell is indented by its level (four leading spaces
#: of the display text per level); a row followed by deeper rows heads a group.
TABLE_TEMPLATE = """<table>
<thead>{% for hrow in header_rows %}<tr>{% for h in hrow %}<th
{%- if h.span > 1 %} colspan="{{ h.span }}"{% endif %}>{{ h.text | sup }}</th>{% endfor %}</tr>
{%- endfor %}</thead>
<tbody>
{% for row in rows %}<tr{% if row.group %} class="group"{% endif %}>
{%- for cell in row.cells %}<td
{%- if loop.first and row.level %} class="lvl{{ row.level }}"
{%- elif cell == not_collected %} class="nc"{% endif %}>{{ cell | sup }}</td>{% endfor %}</tr>
{% endfor %}</tbody>
</table>"""

#: A table of at most this many rows is kept on one page when printed.
SMALL_TABLE_ROWS = 25
#: A table of more columns is printed on a landscape page (as in the Word document).
WIDE_TABLE_COLUMNS = 9

#: Figures with one mark per subject (swimmer, escalation, spaghetti) are drawn up to this size.
PER_SUBJECT_FIGURES_MAX = 60

METHODS = (
    "Proportions: exact Clopper-Pearson 95% confidence intervals and 95% highest-posterior-density "
    "intervals of the Beta posterior under a uniform Beta(1, 1) prior. Survival: Kaplan-Meier with "
    "Greenwood variance and log-transformed pointwise 95% intervals (R survival's default); median "
    "by R's rule; number at risk = subjects with time >= t. Competing risks: Aalen-Johansen "
    "cumulative incidence with cmprsk's variance and log-log intervals. Adverse events: "
    "treatment-emergent events, subjects counted once per row, events counted every time, "
    "denominators from the safety population; worst intensity per subject: the toxicity grade "
    "(AETOXGR) when collected, otherwise the severity (AESEV), shown as collected. "
    "Fatal events: AEOUT = FATAL, AESDTH = Y or grade 5. DLT rates by dose level: subjects "
    "with a DLT (AEDLT = Y) of the DLT-evaluable subjects (DLTEVLFL = Y, else the safety "
    "population), exact Clopper-Pearson 95% intervals. Response by dose level: the efficacy "
    "population as denominator, subjects without an assessment counted as non-responders. "
    "Events of special interest: time to onset in days from first dose, durations with onset "
    "and resolution days included. Participant flow per dose level: from the ADaM population "
    "flags (SAFFL, DLTEVLFL, EFFFL), the rules under the table; dose-transition record: as the "
    "trial database keeps it, or as given (ADDEC). Time-to-event parameters of a "
    "randomised trial: Kaplan-Meier by arm and the log-rank test (R survdiff). Paired comparisons: "
    "Wilcoxon signed-rank test as R wilcox.test and paired t-test."
)


def _table_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows for :data:`TABLE_TEMPLATE`: cells as text, the first cell's indentation level
    (from its leading spaces) and whether the row heads a group."""
    rows: list[dict[str, Any]] = []
    for values in frame.astype(object).where(frame.notna(), "").itertuples(index=False):
        cells = [str(v) for v in values]
        first = cells[0] if cells else ""
        stripped = first.lstrip(" ")
        level = (len(first) - len(stripped)) // 4
        rows.append({"cells": [stripped, *cells[1:]], "level": level, "group": False})
    for this, after in pairwise(rows):
        this["group"] = after["level"] > this["level"]
    return rows


def sup_html(text: Any) -> Markup:
    """``text`` escaped, with powers (``10^6``) as ``<sup>`` elements."""
    return Markup("").join(
        Markup("<sup>{}</sup>").format(piece) if up else escape(piece)
        for piece, up in split_powers(str(text))
    )


def _css_string(text: str) -> str:
    """``text`` as the inside of a CSS string in a <style> element: quotes and backslashes
    escaped, no markup (``<`` as a CSS escape), on one line."""
    out = []
    for ch in " ".join(text.split()):
        if ch in '"\\' or ch in "<>&" or ord(ch) < 32:
            out.append(f"\\{ord(ch):X} ")
        else:
            out.append(ch)
    return "".join(out)


_ENV = Environment(autoescape=True)
_ENV.filters["sup"] = sup_html


def _header_rows(columns: pd.Index) -> list[list[dict[str, Any]]]:
    """Header rows: one for plain columns; for a two-level index (group, category), a row of
    groups spanning their categories above the row of categories (publication layout)."""
    if not isinstance(columns, pd.MultiIndex):
        return [[{"text": str(c), "span": 1} for c in columns]]
    top: list[dict[str, Any]] = []
    for group, _ in columns:
        if top and top[-1]["text"] == str(group) and group != "":
            top[-1]["span"] += 1
        else:
            top.append({"text": str(group), "span": 1})
    return [top, [{"text": str(c), "span": 1} for _, c in columns]]


def flat_columns(columns: pd.Index) -> list[str]:
    """Column names in one row (``group: category`` for a two-level index), for CSV/XLSX."""
    if not isinstance(columns, pd.MultiIndex):
        return [str(c) for c in columns]
    return [": ".join(str(p) for p in parts if str(p)) for parts in columns]


def render_table(result: TableResult) -> str:
    """One table as HTML (escaped), indentation of the display text kept as levels."""
    return _ENV.from_string(TABLE_TEMPLATE).render(
        header_rows=_header_rows(result.display.columns),
        rows=_table_rows(result.display),
        not_collected=NOT_COLLECTED,
    )


def _table_item(result: TableResult, key: str | None = None) -> dict[str, Any]:
    body = render_table(result)
    return {
        "kind": "table",
        "key": key,
        "title": result.title,
        "html": body,
        "notes": result.footnotes,
        "ard": result.ard,
        "display": result.display,
        "small": len(result.display) <= SMALL_TABLE_ROWS,
        "wide": len(result.display.columns) > WIDE_TABLE_COLUMNS,
    }


def _figure_item(title: str, fig: Any, svg: bool = False, key: str | None = None) -> dict[str, Any]:
    png = to_png(fig)
    return {
        "kind": "figure",
        "key": key,
        "title": title,
        "png_bytes": png,
        "png": base64.b64encode(png).decode("ascii"),
        "svg": to_svg(fig) if svg else None,
    }


def _text_item(*paragraphs: str) -> dict[str, Any]:
    return {"kind": "text", "paragraphs": list(paragraphs)}


def _list_item(title: str, entries: list[str], key: str | None = None) -> dict[str, Any]:
    return {"kind": "list", "key": key, "title": title, "entries": entries}


def _define_section(trial: TrialData, design: DesignInfo | None, svg: bool) -> dict[str, Any]:
    """The CONSORT-DEFINE section: design, flow per dose level, dose-transition record and
    recommended dose."""
    items: list[dict[str, Any]] = []
    if design is not None:
        text = [p.replace("Table 1 gives", "The decision table gives") for p in design.text]
        items.append(_text_item(*text))
        items.append(_table_item(define.design_table(design), "design"))
        items.append(_table_item(define.decision_table(design), "decision"))
        items.append(_list_item("Stopping rules", list(design.stopping_rules), "stopping"))
        if design.design is not None:
            from earlyphase.figures.flowchart import flowchart_figure

            items.append(
                _figure_item(
                    f"Design schema: decision flow of the {design.name} design",
                    flowchart_figure(design.design),
                    svg,
                    "schema",
                )
            )
    else:
        items.append(
            _text_item(
                "The design (decision table, stopping rules, dose levels and schedule) is not "
                "shown: give it in trial.json (design), or make the report from the trial "
                "database."
            )
        )
    items.append(_table_item(define_tables.flow_table(trial), "flow"))
    items.append(_table_item(define_tables.transition_table(trial), "transitions"))
    items.append(_table_item(define.recommended_dose(trial), "recommended"))
    return {"heading": define.SECTION, "items": items}


def build_report(
    trial: TrialData, design: DesignInfo | None = None, svg: bool = False
) -> dict[str, Any]:
    """The report's content (sections of tables, figures, text and lists) as a plain
    structure. ``design``: the dose-finding design for the CONSORT-DEFINE section; ``svg``:
    also keep every figure as SVG (``item["svg"]``)."""
    meta = trial.meta
    unit = str(meta.get("dose_unit", ""))
    sections: list[dict[str, Any]] = []
    adsl = trial.adsl
    groups = arm_order(adsl, "TRT01A")
    by = "TRT01A" if len(groups) > 1 else None
    randomised = bool(meta.get("randomised", collected(adsl, "RANDFL") or collected(adsl, "ITTFL")))

    if trial.unused:
        sections.append(
            {
                "heading": "Data",
                "items": [],
                "text": (
                    "Datasets in the trial folder not used by this report: "
                    f"{', '.join(trial.unused)}."
                ),
            }
        )
    dose_finding = define.is_dose_finding(trial, design, randomised)
    if dose_finding:
        sections.append(_define_section(trial, design, svg))
    flow: list[dict[str, Any]] = [
        _figure_item("Participant flow", consort_figure(trial), svg, "flow_figure"),
        _table_item(tt.disposition_table(trial, by=by)),
    ]
    if not dose_finding:
        flow.append(_table_item(define_tables.flow_table(trial), "flow"))
    label = "arms" if randomised else "dose levels"
    sections.append(
        {
            "heading": "Participants",
            "items": flow,
            "text": f"{len(adsl)} subjects; {label}: {', '.join(groups)}.",
        }
    )

    # ADaM IG ADSL names; WEIGHT is the older name of the baseline weight WEIGHTBL
    weight = "WEIGHT" if "WEIGHT" in adsl.columns and "WEIGHTBL" not in adsl.columns else "WEIGHTBL"
    baseline_vars = meta.get("baseline") or [
        ["AGE", "Age, years", "mean_sd_median_range"],
        ["SEX", "Sex", "n_pct"],
        ["RACE", "Race", "n_pct"],
        [weight, "Weight, kg", "mean_sd_median_range"],
        ["HEIGHTBL", "Height, cm", "mean_sd_median_range"],
        ["BMIBL", "Body-mass index, kg/m²", "mean_sd_median_range"],
    ]
    if baseline_vars:
        sections.append(
            {
                "heading": "Baseline characteristics",
                "items": [
                    _table_item(
                        tt.baseline_table(trial, [tuple(v) for v in baseline_vars], by=by),
                        "baseline",
                    )
                ],
            }
        )

    treat: list[dict[str, Any]] = []
    if trial.adex is not None:
        treat.append(_table_item(tt.exposure_table(trial, by=by), "exposure"))
    if "DOSELVL" in adsl.columns and adsl["DOSELVL"].nunique() > 1:
        if trial.n <= PER_SUBJECT_FIGURES_MAX:
            treat.append(
                _figure_item(
                    "Dose escalation by enrolment order",
                    escalation_figure(trial, unit=unit),
                    svg,
                    "escalation",
                )
            )
        treat.append(_table_item(tt.dlt_table(trial), "dlt"))
    elif collected(trial.adae, "AEDLT"):
        treat.append(_table_item(tt.dlt_table(trial), "dlt"))
    if treat:
        sections.append({"heading": "Treatment and dose-limiting toxicities", "items": treat})

    efficacy: list[dict[str, Any]] = []
    if meta.get("response"):
        r = meta["response"]
        if r.get("visit"):
            efficacy.append(
                _table_item(
                    eff.response_table(trial, r["visit"], r.get("paramcd", "OVRLRESP"), by=by),
                    "response",
                )
            )
        efficacy.append(
            _table_item(
                eff.best_response_table(
                    trial,
                    r.get("paramcd", "OVRLRESP"),
                    r.get("visit"),
                    by=by,
                    positive=tuple(r.get("positive", ("CR", "PR"))),
                    categories=r.get("categories"),
                )
            )
        )
    param = meta.get("survival_param", "OS")
    tte = trial.adtte
    if tte is not None and randomised and by is not None:
        # every parameter by arm under its own name, with the log-rank test; not pooled
        for code in dict.fromkeys(tte["PARAMCD"].dropna().astype(str)):
            name = eff.param_name(trial, code)
            efficacy.append(
                _table_item(
                    eff.time_to_event_table(trial, code, by=by, times=meta.get("landmarks", []))
                )
            )
            efficacy.append(
                _figure_item(
                    f"Kaplan-Meier estimate by arm: {name}",
                    km_figure(trial, code, by=by, risk_times=meta.get("risk_times")),
                    svg,
                )
            )
    elif tte is not None and (tte["PARAMCD"] == param).any():
        days = meta.get("landmarks", [])
        if days:
            efficacy.append(_table_item(eff.survival_tables(trial, param, days)))
        efficacy.append(
            _figure_item(
                f"Kaplan-Meier estimate: {eff.param_name(trial, param)}",
                km_figure(trial, param, risk_times=meta.get("risk_times")),
                svg,
            )
        )
        if trial.n <= PER_SUBJECT_FIGURES_MAX:
            efficacy.append(
                _figure_item("Follow-up of each subject", swimmer_figure(trial, param), svg)
            )
    if meta.get("competing"):
        c = meta["competing"]
        causes = {int(k): v for k, v in c.get("causes", {}).items()}
        efficacy.append(
            _table_item(eff.cumulative_incidence_table(trial, c["paramcd"], c["times"], causes))
        )
        efficacy.append(
            _figure_item("Cumulative incidence", cif_figure(trial, c["paramcd"], causes), svg)
        )
    for e in meta.get("endpoints", []):
        efficacy.append(
            _table_item(
                eff.proportion_table(
                    trial,
                    e["paramcd"],
                    e["visits"],
                    tuple(e.get("positive", ["Y"])),
                    e.get("label"),
                )
            )
        )
    if meta.get("free_days"):
        f = meta["free_days"]
        efficacy.append(
            _table_item(tt.free_days_table(trial, f["paramcd"], f["horizons"], f["label"]))
        )
    if efficacy:
        sections.append({"heading": "Efficacy", "items": efficacy})

    if trial.adae is not None:
        safety = [_table_item(ae.ae_table(trial, by=by), "safety")]
        if meta.get("ae_window"):
            safety.append(_table_item(ae.ae_table(trial, by=by, window=float(meta["ae_window"]))))
        safety.append(
            _table_item(ae.ae_grade_table(trial, by=by, detail=meta.get("ae_grades") == "detail"))
        )
        if meta.get("aesi"):
            safety.append(_table_item(ae.aesi_table(trial, list(meta["aesi"]), by=by)))
        sections.append({"heading": "Safety", "items": safety})

    if trial.adlb is not None:
        bio: list[dict[str, Any]] = []
        for p in sorted(trial.adlb["PARAMCD"].unique()):
            per_day = trial.adlb.loc[trial.adlb["PARAMCD"] == p, "ADY"].nunique()
            if trial.n <= PER_SUBJECT_FIGURES_MAX and per_day > 1:
                bio.append(_figure_item(f"{p} over time", spaghetti_figure(trial, p), svg))
        if meta.get("biomarkers"):
            b = meta["biomarkers"]
            bio.append(_table_item(tt.biomarker_change_table(trial, b["paramcds"], b["day"])))
        if bio:
            sections.append({"heading": "Biomarkers", "items": bio})
    sections.append(
        {
            "heading": "Listings",
            "items": [_table_item(t, "listings") for t in listings.all_listings(trial)],
        }
    )
    sections.append({"heading": "Methods", "items": [], "text": METHODS, "key": "methods"})
    if dose_finding:
        sections.append(
            {
                "heading": define.APPENDIX,
                "items": [_table_item(define.checklist(trial, design, _where(sections)))],
            }
        )
    return {"title": trial.title, "sections": sections}


def _where(sections: list[dict[str, Any]]) -> dict[str, str]:
    """Where each keyed part of the report is: ``section: title`` of its first item."""
    out: dict[str, str] = {}
    for sec in sections:
        if sec.get("key"):
            out.setdefault(sec["key"], sec["heading"])
        for item in sec["items"]:
            key = item.get("key")
            if key and key not in out:
                title = item.get("title")
                out[key] = f"{sec['heading']}: {title}" if title else sec["heading"]
    return out


def _slug(text: str, limit: int) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")[:limit] or "table"


def write_tables(
    content: dict[str, Any], csv_dir: str | Path | None = None, xlsx: str | Path | None = None
) -> list[Path]:
    """Every table of the report as data for programmers: with ``csv_dir``, one CSV per table
    (``NN_title.csv``, display text as printed, one header row: ``group: category`` for
    grouped columns) and ``index.csv`` (file, title, footnotes); with ``xlsx``, one workbook
    with a sheet per table and an ``index`` sheet. Returns the files written."""
    tables = [
        item for sec in content["sections"] for item in sec["items"] if item["kind"] == "table"
    ]
    written: list[Path] = []
    names = []
    for i, item in enumerate(tables, 1):
        names.append(f"{i:02d}_{_slug(item['title'], 60)}")
    index = pd.DataFrame(
        {
            "name": names,
            "title": [t["title"] for t in tables],
            "footnotes": [" ".join(t["notes"]) for t in tables],
        }
    )

    def plain(item: dict[str, Any]) -> pd.DataFrame:
        frame: pd.DataFrame = item["display"].copy()
        frame.columns = flat_columns(frame.columns)
        return frame

    if csv_dir is not None:
        folder = Path(csv_dir)
        folder.mkdir(parents=True, exist_ok=True)
        for name, item in zip(names, tables, strict=True):
            path = folder / f"{name}.csv"
            plain(item).to_csv(path, index=False)
            written.append(path)
        index.assign(name=[f"{n}.csv" for n in names]).rename(columns={"name": "file"}).to_csv(
            folder / "index.csv", index=False
        )
        written.append(folder / "index.csv")
    if xlsx is not None:
        path = Path(xlsx)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Excel limits sheet names to 31 characters
        sheets = [f"{i:02d}_{_slug(t['title'], 28)}" for i, t in enumerate(tables, 1)]
        with pd.ExcelWriter(path, engine="openpyxl") as book:
            index.assign(name=sheets).rename(columns={"name": "sheet"}).to_excel(
                book, sheet_name="index", index=False
            )
            for sheet, item in zip(sheets, tables, strict=True):
                plain(item).to_excel(book, sheet_name=sheet, index=False)
        written.append(path)
    return written


def running_header(trial: TrialData, date: str | None = None) -> tuple[str, str]:
    """The running header of the printed and Word report: the title, and the version with
    the date (trial.json ``version``; default the earlyphase version that wrote it)."""
    version = trial.meta.get("version")
    text = f"Version {version}" if version else f"earlyphase {__version__}"
    return trial.title, f"{text} | {date or _dt.date.today().isoformat()}"


def svg_name(index: int, title: str) -> str:
    """File name of the ``index``-th figure (from 1) written as SVG."""
    return f"{index:02d}_{_slug(title, 60)}.svg"


def write_svgs(content: dict[str, Any], folder: str | Path) -> list[Path]:
    """Every figure of ``content`` (built with ``svg=True``) as ``NN_title.svg`` in
    ``folder``; returns the files written."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    figures = [i for sec in content["sections"] for i in sec["items"] if i["kind"] == "figure"]
    written = []
    for k, item in enumerate(figures, 1):
        if item.get("svg") is None:
            raise ValueError("svg: build the report with svg=True to write SVG figures")
        path = out / svg_name(k, item["title"])
        path.write_text(item["svg"], encoding="utf-8")
        written.append(path)
    return written


def render_report(
    trial: TrialData,
    path: str | Path,
    ard_path: str | Path | None = None,
    tables_dir: str | Path | None = None,
    xlsx_path: str | Path | None = None,
    *,
    docx_path: str | Path | None = None,
    svg_dir: str | Path | None = None,
    paper: str = "a4",
    design: DesignInfo | None = None,
) -> Path:
    """Write the self-contained HTML report to ``path`` and, on request, the same content in
    other forms: with ``ard_path``, every number of every table as one long CSV (the analysis
    results data); with ``tables_dir`` / ``xlsx_path``, every table as CSV files / one
    workbook (see :func:`write_tables`); with ``docx_path``, a Word document
    (:func:`earlyphase.report.word.write_docx`); with ``svg_dir``, every figure as SVG.

    ``paper`` (``a4`` or ``letter``) is the page size of the printed (PDF) and Word report;
    ``design`` the dose-finding design for the CONSORT-DEFINE section. Returns the report's
    path."""
    if paper not in PAPER:
        raise ValueError(f"paper: one of {', '.join(PAPER)}, got {paper!r}")
    content = build_report(trial, design=design, svg=svg_dir is not None)
    if tables_dir is not None or xlsx_path is not None:
        write_tables(content, tables_dir, xlsx_path)
    if ard_path is not None:
        ards = [
            item["ard"]
            for sec in content["sections"]
            for item in sec["items"]
            if "ard" in item and len(item["ard"])
        ]
        ard = Path(ard_path)
        ard.parent.mkdir(parents=True, exist_ok=True)
        pd.concat(ards, ignore_index=True).to_csv(ard, index=False)
    if svg_dir is not None:
        write_svgs(content, svg_dir)
    date = _dt.date.today().isoformat()
    left, right = running_header(trial, date)
    subtitle = f"{trial.n} subjects. Generated {date} by earlyphase {__version__}."
    if docx_path is not None:
        from earlyphase.report.word import write_docx

        write_docx(content, docx_path, subtitle=subtitle, header=(left, right), paper=paper)
    page = _ENV.from_string(TEMPLATE).render(
        title=content["title"],
        subtitle=subtitle,
        sections=content["sections"],
        page_size=PAPER[paper],
        header_left=Markup(_css_string(unicode_powers(left))),
        header_right=Markup(_css_string(right)),
    )
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".part")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)  # never leave a half-written report
    return out


def write_pdf(html_path: str | Path, pdf_path: str | Path) -> Path:
    """Print the HTML report to PDF with headless Chromium (Debian package ``chromium``). The
    page's CSS sets the paper, the running header and the page numbers (``@page`` and its
    margin boxes), so Chromium's own header and footer are turned off."""
    browser = (
        shutil.which("chromium")
        or shutil.which("chromium-browser")
        or shutil.which("google-chrome")
    )
    if browser is None:
        raise ValueError("pdf: needs Chromium (apt-get install chromium) to print the report")
    pdf = Path(pdf_path).resolve()
    with tempfile.TemporaryDirectory() as profile:
        cmd = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            f"--print-to-pdf={pdf}",
            "--no-pdf-header-footer",
            Path(html_path).resolve().as_uri(),
        ]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if res.returncode != 0 or not pdf.exists():
        raise ValueError(
            f"pdf: Chromium could not print the report: {html.escape(res.stderr[-300:])}"
        )
    return pdf
