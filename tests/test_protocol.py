"""The protocol's statistical section: every written format opened and checked against the
design it came from, and some numbers against independent references (R BOIN 2.7.2
get.boundary, bcrm 0.5.4 threep3, clinfun 1.1.5 oc.twostage.bdry, the IPS trial's Table 1)."""

from __future__ import annotations

import base64
import os
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import docx
import pandas as pd
import pytest

from earlyphase.designs import BOIN, CRM, SimonTwoStage, ThreePlusThree
from earlyphase.figures.flowchart import behaviour_rules, flowchart_figure
from earlyphase.protocol import (
    ProtocolSection,
    default_scenarios,
    protocol_section,
    write_demo_protocols,
    write_protocol,
)
from earlyphase.protocol import render as render_module
from earlyphase.protocol.demo import GVHD_EXPANSION, GVHD_SCENARIOS, gvhd_design
from earlyphase.protocol.section import format_cell, percent

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# R BOIN 2.7.2: get.boundary(target = 0.3, ncohort = 10, cohortsize = 3)$boundary_tab
# (tests/test_boin.py checks the design against the same values)
R_BOIN_ESCALATE = ["0", "1", "2", "2", "3", "4", "4", "5", "6", "7"]
R_BOIN_DEESCALATE = ["2", "3", "4", "5", "6", "7", "8", "9", "10", "11"]

# bcrm 0.5.4: threep3(truep = c(0.05, 0.10, 0.20, 0.30, 0.50), threep3.esc.only = TRUE):
# P(MTD = none, dose 1..5) and E[N] (tests/test_three_plus_three.py, first scenario)
BCRM_TRUTH = [0.05, 0.10, 0.20, 0.30, 0.50]
BCRM_SELECTION = [0.026558, 0.091360, 0.257032, 0.316111, 0.255840, 0.053099]
BCRM_MEAN_N = 14.674960

BOIN_SCENARIOS = {
    "MTD at dose 3": [0.10, 0.20, 0.30, 0.45, 0.60],
    "all doses too toxic": [0.45, 0.55, 0.65, 0.75, 0.85],
}


# --- readers ---------------------------------------------------------------------------------


def docx_text(doc: Any) -> str:
    return "\n".join(p.text for p in doc.paragraphs)


def docx_tables(doc: Any) -> list[list[list[str]]]:
    return [[[c.text for c in row.cells] for row in t.rows] for t in doc.tables]


def table_starting(tables: list[list[list[str]]], first_header: str) -> list[list[str]]:
    hits = [t for t in tables if t and t[0] and t[0][0].startswith(first_header)]
    assert hits, f"no table whose first heading starts with {first_header!r}"
    return hits[0]


def rows_by_label(table: list[list[str]]) -> dict[str, list[str]]:
    """A transposed table (row labels in the first column) as label -> cells."""
    return {row[0]: row[1:] for row in table}


def oc_rows(table: list[list[str]], scenario: str) -> dict[str, list[str]]:
    """The rows of one scenario's block of the OC table: characteristic -> cells."""
    out: dict[str, list[str]] = {}
    current = None
    for row in table[1:]:
        if row[0]:
            current = row[0]
        if current == scenario:
            out[row[1]] = row[2:]
    assert out, f"scenario {scenario!r} not in the OC table"
    return out


class _HTMLTables(HTMLParser):
    """Tables (rows of cell text) and image sources of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.images: list[str] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "img":
            self.images.append(dict(attrs).get("src") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[-1].append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def parse_html(path: Path) -> _HTMLTables:
    parser = _HTMLTables()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def md_tables(text: str) -> list[list[list[str]]]:
    """Pipe tables of a Markdown file (separator rows dropped, bold marks removed)."""
    tables: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            cells = [c.strip().replace("**", "") for c in line.strip().strip("|").split(" | ")]
            if not all(set(c) <= {"-"} for c in line.strip().strip("|").split("|")):
                current.append(cells)
        elif current:
            tables.append(current)
            current = []
    return tables


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def boin_section() -> ProtocolSection:
    return protocol_section(BOIN(0.3, 5, cohort_size=3, n_cohorts=10), BOIN_SCENARIOS)


@pytest.fixture(scope="module")
def tpt_section() -> ProtocolSection:
    return protocol_section(ThreePlusThree(5), {"bcrm scenario": BCRM_TRUTH})


# --- docx ------------------------------------------------------------------------------------


def test_boin_docx_rules_table_and_r_boundaries(
    boin_section: ProtocolSection, tmp_path: Path
) -> None:
    design = BOIN(0.3, 5, cohort_size=3, n_cohorts=10)
    out = write_protocol(boin_section, tmp_path / "boin.docx")
    doc = docx.Document(str(out))
    text = docx_text(doc)
    # the interval rule in words, with the design's own lambda_e / lambda_d
    assert f"λe = {design.lambda_e:.4f}" in text and f"λd = {design.lambda_d:.4f}" in text
    assert "λe = 0.2365" in text and "λd = 0.3585" in text  # Liu & Yuan (2015), target 0.3
    assert "Pr(DLT rate > 0.3 | data) > 0.95 under a Beta(1, 1) prior" in text
    assert "isotonic regression" in text
    rules = rows_by_label(table_starting(docx_tables(doc), "Number of patients treated"))
    # independent reference: R BOIN 2.7.2 get.boundary
    assert rules["Escalate if number of DLTs ≤"] == R_BOIN_ESCALATE
    assert rules["De-escalate if number of DLTs ≥"] == R_BOIN_DEESCALATE
    # every cell is the design's protocol_table() value
    tab = design.protocol_table()
    headings = {
        "n": "Number of patients treated at the current dose",
        "escalate_if_dlt_le": "Escalate if number of DLTs ≤",
        "deescalate_if_dlt_ge": "De-escalate if number of DLTs ≥",
        "eliminate_if_dlt_ge": "Eliminate the dose if number of DLTs ≥",
    }
    for col, label in headings.items():
        want = ["NA" if pd.isna(v) else str(int(v)) for v in tab[col]]
        assert rules[label] == want, col


def test_boin_docx_oc_table_and_figure(boin_section: ProtocolSection, tmp_path: Path) -> None:
    design = BOIN(0.3, 5, cohort_size=3, n_cohorts=10)
    doc = docx.Document(str(write_protocol(boin_section, tmp_path / "boin.docx")))
    oc_table = table_starting(docx_tables(doc), "Scenario")
    for name, truth in BOIN_SCENARIOS.items():
        oc = design.operating_characteristics(truth, method="exact")
        tab = oc.table()
        rows = oc_rows(oc_table, name)
        assert rows["True DLT rate"][:5] == [f"{v:.2f}" for v in truth]
        assert rows["Selected (%)"][:6] == [f"{100 * v:.1f}" for v in tab["prob_selected"]]
        per_dose = tab["mean_patients"].iloc[:-1]
        assert rows["Mean patients"][:5] == [f"{v:.1f}" for v in per_dose]
        assert rows["Mean patients"][-1] == f"{oc.summary()['mean_total_n']:.1f}"
    # the schema is an inline PNG
    assert len(doc.inline_shapes) == 1
    images = [p for p in doc.part.package.parts if p.content_type == "image/png"]
    assert images and images[0].blob.startswith(PNG_MAGIC)
    # the references and the checklist's headings are in the document
    text = docx_text(doc)
    assert "Series C (Applied Statistics) 2015;64:507-523" in text
    assert "Clinical Cancer Research 2016;22:4291-4301" in text
    headings = {p.text for p in doc.paragraphs if p.style.name.startswith("Heading")}
    checklist = table_starting(docx_tables(doc), "Topic")
    where = {row[2] for row in checklist[1:] if row[2][:1].isdigit()}
    assert where and where <= headings


def test_three_plus_three_docx_matches_bcrm(tpt_section: ProtocolSection, tmp_path: Path) -> None:
    design = ThreePlusThree(5)
    doc = docx.Document(str(write_protocol(tpt_section, tmp_path / "tpt.docx")))
    text = docx_text(doc)
    assert "three more patients are treated at the same dose" in text
    assert "next lower dose is the MTD" in text
    assert "Storer BE. Design and analysis of phase I clinical trials" in text
    # the rules in words: cells equal design.protocol_table()
    rules = table_starting(docx_tables(doc), "Patients at dose")
    want = design.protocol_table()
    assert rules[0] == ["Patients at dose", "DLTs", "Decision"]
    assert rules[1:] == want.astype(str).values.tolist()
    # bcrm 0.5.4 threep3: % selection of each dose, of none, and E[N]
    rows = oc_rows(table_starting(docx_tables(doc), "Scenario"), "bcrm scenario")
    sel = [*BCRM_SELECTION[1:], BCRM_SELECTION[0]]
    assert rows["Selected (%)"][:6] == [f"{100 * v:.1f}" for v in sel]
    assert rows["Mean patients"][-1] == f"{BCRM_MEAN_N:.1f}"
    assert rows["Selected (%)"][:6] == ["9.1", "25.7", "31.6", "25.6", "5.3", "2.7"]
    # the rule-based design has no prior, and says so
    assert "uses no model and no prior distribution" in text


# --- html and md -----------------------------------------------------------------------------


def test_html_tables_and_embedded_figure(boin_section: ProtocolSection, tmp_path: Path) -> None:
    out = write_protocol(boin_section, tmp_path / "boin.html")
    page = parse_html(out)
    rules = rows_by_label(table_starting(page.tables, "Number of patients treated"))
    assert rules["Escalate if number of DLTs ≤"] == R_BOIN_ESCALATE
    assert rules["De-escalate if number of DLTs ≥"] == R_BOIN_DEESCALATE
    oc = BOIN(0.3, 5, n_cohorts=10).operating_characteristics(BOIN_SCENARIOS["MTD at dose 3"])
    rows = oc_rows(table_starting(page.tables, "Scenario"), "MTD at dose 3")
    assert rows["Selected (%)"][:6] == [percent(v) for v in oc.table()["prob_selected"]]
    assert len(page.images) == 1
    src = page.images[0]
    assert src.startswith("data:image/png;base64,")
    assert base64.b64decode(src.split(",", 1)[1]).startswith(PNG_MAGIC)
    html = out.read_text(encoding="utf-8")
    assert "SPIRIT-DEFINE" in html and "<h2>" in html


def test_markdown_pipe_tables_and_figure_file(tpt_section: ProtocolSection, tmp_path: Path) -> None:
    out = write_protocol(tpt_section, tmp_path / "protocol.md")
    text = out.read_text(encoding="utf-8")
    assert "| Patients at dose | DLTs | Decision |" in text
    assert "| 3 | 1 | treat 3 more at the same dose |" in text
    png = tmp_path / "protocol_flowchart.png"
    assert png.read_bytes().startswith(PNG_MAGIC)
    assert "](protocol_flowchart.png)" in text
    rows = oc_rows(table_starting(md_tables(text), "Scenario"), "bcrm scenario")
    assert rows["Selected (%)"][:6] == ["9.1", "25.7", "31.6", "25.6", "5.3", "2.7"]


# --- writing ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["protocol.pdf", "protocol.txt", "protocol"])
def test_unknown_suffix_raises_and_writes_nothing(name: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"output: .*\.docx, \.html, \.md"):
        write_protocol(ThreePlusThree(3), tmp_path / name, {"a": [0.1, 0.2, 0.3]})
    assert list(tmp_path.iterdir()) == []


def test_failed_write_leaves_no_partial_file(
    tpt_section: ProtocolSection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = tmp_path / "old.html"
    old.write_text("previous version", encoding="utf-8")

    def broken_replace(src: Any, dst: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(render_module.os, "replace", broken_replace)
    for name in ("new.docx", "old.html", "new.md"):
        with pytest.raises(OSError, match="disk full"):
            write_protocol(tpt_section, tmp_path / name)
    # the old file is intact, nothing new (not even a temporary file or a lone figure) remains
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.html"]
    assert old.read_text(encoding="utf-8") == "previous version"


def test_write_protocol_from_a_design_and_file_mode(tmp_path: Path) -> None:
    out = write_protocol(
        ThreePlusThree(3), tmp_path / "sub" / "p.html", {"a": [0.1, 0.2, 0.3]}, title="My trial"
    )
    assert "<title>My trial</title>" in out.read_text(encoding="utf-8")
    assert os.stat(out).st_mode & 0o777 == 0o644
    with pytest.raises(ValueError, match="scenarios:"):
        write_protocol(protocol_section(ThreePlusThree(3), {"a": [0.1, 0.2, 0.3]}), out, {})


def test_scenarios_are_checked() -> None:
    with pytest.raises(ValueError, match="scenarios: 'short' has 2 rates for 3 doses"):
        protocol_section(ThreePlusThree(3), {"short": [0.1, 0.2]})
    with pytest.raises(ValueError, match="scenarios: 'bad'"):
        protocol_section(ThreePlusThree(3), {"bad": [0.1, 0.2, 1.5]})
    with pytest.raises(ValueError, match="method:"):
        protocol_section(ThreePlusThree(3), {"a": [0.1, 0.2, 0.3]}, method="fast")


def test_default_scenarios_put_the_target_at_each_end() -> None:
    sc = default_scenarios(BOIN(0.3, 5, n_cohorts=4))
    assert sc["target at dose 1"][0] == 0.3 and sc["target at dose 5"][-1] == 0.3
    assert min(sc["all doses overly toxic"]) >= 1.4 * 0.3
    section = protocol_section(BOIN(0.3, 3, n_cohorts=4))
    assert list(section.scenarios) == list(default_scenarios(BOIN(0.3, 3, n_cohorts=4)))


def test_simulated_operating_characteristics_are_reproducible() -> None:
    design = BOIN(0.3, 4, n_cohorts=6)
    truth = [0.1, 0.3, 0.45, 0.6]
    section = protocol_section(design, {"s": truth}, method="simulate", n_sims=2000, seed=7)
    oc = design.operating_characteristics(truth, method="simulate", n_sims=2000, seed=7)
    rows = oc_rows([list(section.oc_table.columns), *section.oc_table.values.tolist()], "s")
    assert rows["Selected (%)"][:5] == [percent(v) for v in oc.table()["prob_selected"]]
    assert any("2,000 trials per scenario from seed 7" in n for n in section.oc_notes)


# --- CRM and behaviours ----------------------------------------------------------------------


def test_crm_section_paths_prior_and_references(tmp_path: Path) -> None:
    design = CRM([0.05, 0.12, 0.25, 0.40], 0.25, n_patients=9, cohort_size=3)
    section = protocol_section(design, {"target at dose 3": [0.05, 0.12, 0.25, 0.40]})
    # dose-transition pathways: the kept columns equal design.protocol_table()
    want = design.protocol_table()
    got = section.decision_table
    for col, heading in [
        ("path", "Outcomes so far"),
        ("n", "Patients"),
        ("events", "DLTs"),
        ("action", "Decision"),
        ("next_dose", "Next dose"),
    ]:
        assert got[heading].tolist() == [format_cell(v) for v in want[col]], col
    priors = " ".join(section.priors)
    assert "β ~ Normal(0, 1.34)" in priors and "default of R dfcrm" in priors
    refs = " ".join(section.references)
    assert "Biometrics 1990;46:33-48" in refs and "2017;23:7440-7447" in refs
    assert "Cheung YK. Dose Finding by the Continual Reassessment Method" in refs
    text = " ".join(section.design_text)
    assert "skeleton" in text and "coherence" in text
    doc = docx.Document(str(write_protocol(section, tmp_path / "crm.docx")))
    paths = table_starting(docx_tables(doc), "Outcomes so far")
    assert [r[0] for r in paths[1:]] == want["path"].tolist()


def test_flowcharts_show_each_design_and_behaviour() -> None:
    def texts(design: Any) -> str:
        fig = flowchart_figure(design)
        return " ".join(t.get_text() for t in fig.axes[0].texts).replace("\n", " ")

    boin = texts(BOIN(0.3, 5, n_cohorts=10).with_expansion(6))
    assert "λe = 0.2365" in boin and "λd = 0.3585" in boin
    assert "Pr(DLT rate > 0.3 | data) > 0.95" in boin and "isotonic" in boin
    assert "Then expand with 6 at the RP2D" in boin
    tpt = texts(ThreePlusThree(3).stop_at_n(12))
    for label in ("0 of 3", "1 of 3", "≥ 2 of 3", "≤ 1 of 6", "≥ 2 of 6", "Stop at n = 12"):
        assert label in tpt
    crm = texts(CRM([0.1, 0.2, 0.35], 0.25, n_patients=12).dont_skip_doses())
    assert "closest to the target 0.25" in crm and "Restrictions" in crm
    assert "No dose skipping when escalating" in crm
    simon = texts(SimonTwoStage(0.1, 0.3, 1, 10, 5, 29))
    assert "n = 10 and 29" in simon and "upper boundary" in simon
    # a behaviour's rule is the part of describe() it adds, innermost first
    stacked = ThreePlusThree(3).dont_skip_doses().with_expansion(6)
    rules = behaviour_rules(stacked)
    assert len(rules) == 2 and rules[0] == "no dose skipping when escalating"
    assert rules[1].startswith("then expand with 6 at the RP2D")


# --- single-arm designs ----------------------------------------------------------------------


def test_simon_two_stage_section_matches_clinfun(tmp_path: Path) -> None:
    design = SimonTwoStage(0.1, 0.3, 1, 10, 5, 29)
    section = protocol_section(design)
    # clinfun 1.1.5 oc.twostage.bdry(0.1, 0.3, 1, 10, 5, 29): alpha 0.04708631, power 0.80506291
    col = "Stop at the upper boundary (%)"
    assert section.oc_table[col].tolist() == ["4.7", "80.5"]
    tab = design.protocol_table()
    got = section.decision_table
    assert got["Patients evaluated"].tolist() == [str(v) for v in tab["n"]]
    text = write_protocol(section, tmp_path / "simon.md").read_text(encoding="utf-8")
    assert "Simon R. Optimal two-stage designs for phase II clinical trials" in text
    assert "| 10 | 1 |" in text and "| 29 | 5 | 6 |" in text


def test_thall_simon_section_shows_the_ips_table_1(tmp_path: Path) -> None:
    from earlyphase.designs import ThallSimon, beta_prior

    design = ThallSimon(
        beta_prior(0.245, 126),
        beta_prior(0.245, 5),
        delta=0.0,
        p_upper=0.95,
        p_lower=None,
        n_min=6,
        n_max=20,
    )
    section = protocol_section(design)
    # IPS trial (HLC-001) Table 1: minimum survivors to declare efficacy, n = 6..20
    heading = "Declare the treatment promising if responses ≥"
    assert section.decision_table[heading].tolist() == [
        str(v) for v in [5, 5, 5, 6, 6, 6, 7, 7, 8, 8, 8, 9, 9, 9, 10]
    ]
    assert not any("futility" in c for c in section.decision_table.columns)
    assert "Beta(30.87, 95.13)" in " ".join(section.priors)
    page = parse_html(write_protocol(section, tmp_path / "ts.html"))
    assert table_starting(page.tables, "Patients evaluated")[1] == ["6", "5"]


# --- the example protocols -------------------------------------------------------------------


def test_demo_protocols_are_written_and_open(tmp_path: Path) -> None:
    out = write_demo_protocols(tmp_path)
    assert set(out) == {
        f"{stem}{suffix}"
        for stem in ("gvhd_3plus3_expansion", "boin_target_0.3")
        for suffix in (".docx", ".html", ".md")
    }
    gvhd = docx.Document(str(out["gvhd_3plus3_expansion.docx"]))
    text = docx_text(gvhd)
    assert "0.5, 1, 2 x 10^6 cells/kg" in text
    assert f"{GVHD_EXPANSION} further patients are treated at it" in text
    oc = gvhd_design().operating_characteristics(list(GVHD_SCENARIOS["top dose toxic"]))
    rows = oc_rows(table_starting(docx_tables(gvhd), "Scenario"), "top dose toxic")
    assert rows["Selected (%)"][:4] == [percent(v) for v in oc.table()["prob_selected"]]
    assert len(gvhd.inline_shapes) == 1
    boin = docx.Document(str(out["boin_target_0.3.docx"]))
    rules = rows_by_label(table_starting(docx_tables(boin), "Number of patients treated"))
    assert rules["Escalate if number of DLTs ≤"] == R_BOIN_ESCALATE
    assert len(oc_rows(table_starting(docx_tables(boin), "Scenario"), "MTD at dose 3")) == 4
    for name in ("gvhd_3plus3_expansion.html", "boin_target_0.3.html"):
        page = parse_html(out[name])
        assert len(page.tables) == 3 and page.images[0].startswith("data:image/png;base64,")
    for stem in ("gvhd_3plus3_expansion", "boin_target_0.3"):
        assert "| Scenario | Characteristic |" in out[f"{stem}.md"].read_text(encoding="utf-8")
        assert (tmp_path / f"{stem}_flowchart.png").read_bytes().startswith(PNG_MAGIC)


def test_gvhd_design_is_the_demo_design() -> None:
    """The protocol's GVHD design is the one the ``earlyphase demo`` summary builds, with the
    trial's expansion: 25 patients, 3 per level at 0.5, 1.0 and 2.0 x 10^6 cells/kg in
    escalation, then 16 at the RP2D (datasets/trials/gvhd/README.md)."""
    from earlyphase.demo import gvhd_design_summary

    design = gvhd_design()
    assert gvhd_design_summary(GVHD_EXPANSION).description == design.describe()
    assert [design.doses.label(i) for i in (1, 2, 3)] == [
        "1 (0.5 x 10^6 cells/kg)",
        "2 (1 x 10^6 cells/kg)",
        "3 (2 x 10^6 cells/kg)",
    ]
    assert 3 * 3 + GVHD_EXPANSION == 25


def test_protocol_command_writes_the_section(tmp_path: Path) -> None:
    """``earlyphase protocol boin ... -o FILE``: the Word file opens and its decision table is
    R BOIN 2.7.2 ``get.boundary(0.3, ncohort = 6, cohortsize = 3)``'s (escalate if DLTs <= 0,
    1, 2, 2, 3, 4 at n = 3..18); a suffix it cannot write is refused and nothing is written."""
    from docx import Document
    from typer.testing import CliRunner

    from earlyphase.cli import app

    runner = CliRunner()
    out = tmp_path / "boin.docx"
    args = ["protocol", "boin", "--target", "0.3", "--n-doses", "5", "--n-cohorts", "6"]
    r = runner.invoke(app, [*args, "-o", str(out)])
    assert r.exit_code == 0, r.output
    doc = Document(str(out))
    rows = [[c.text for c in row.cells] for t in doc.tables for row in t.rows]
    escalate = next(row for row in rows if row and "scalate" in row[0])
    assert escalate[1:7] == ["0", "1", "2", "2", "3", "4"]
    bad = runner.invoke(app, [*args, "-o", str(tmp_path / "boin.pdf")])
    assert bad.exit_code == 2 and "output:" in bad.output
    assert not (tmp_path / "boin.pdf").exists()
