"""Outputs people paste, and the CONSORT-DEFINE section.

- Word (``--docx``): opened with python-docx; every table of the report is a real Word table
  with the cells the report prints, the running header and the page-number fields are there,
  powers of ten are superscript runs, the SOC / PT hierarchy is indentation;
- PDF (``--pdf --paper a4|letter``): the page size read from the PDF's MediaBox, the running
  header and "Page X of Y" read from the PDF's text (needs Chromium: ``make test`` starts it;
  under ``CI=true`` a missing Chromium fails the run, see tests/conftest.py);
- SVG figures (``--svg``), the colour-blind-safe DLT coding, superscripts in HTML;
- CONSORT-DEFINE: the flow counts against a separate pandas count written from the ADaM rules
  on the raw files (the synthetic escalation example, a reference trial, the CDISC pilot), and
  the dose-transition record against a conduct store built here, decision by decision.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import zlib
from pathlib import Path
from typing import Any

import docx
import pandas as pd
import pyreadstat
import pytest
from typer.testing import CliRunner

from earlyphase.cli import app
from earlyphase.data import DataError, load_trial
from earlyphase.figures.trial import OKABE_ITO, escalation_figure, km_figure
from earlyphase.report import build_report, render_report
from earlyphase.tables.define import flow_table, transition_table
from earlyphase.tables.listings import arm_deviation_listing

ROOT = Path(__file__).parents[1]
EXAMPLE = ROOT / "examples" / "escalation"
TRIALS = ROOT / "examples" / "trials"
PILOT = Path(__file__).parent / "fixtures" / "cdiscpilot01"
CHROMIUM = os.environ.get("EARLYPHASE_CHROMIUM")
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example trial through ``earlyphase report`` with Word and SVG output."""
    out = tmp_path_factory.mktemp("esc")
    r = CliRunner().invoke(
        app,
        ["report", str(EXAMPLE), "-o", str(out / "r.html"), "--docx", str(out / "r.docx"), "--svg"],
    )
    assert r.exit_code == 0, r.output
    return out


def _plain(text: str) -> str:
    """Display text as a Word cell reads it: powers lose their caret, indentation goes."""
    return re.sub(r"\^([+-]?\d+)", r"\1", str(text)).strip(" ")


# --- Word ------------------------------------------------------------------------------------


def test_word_tables_are_the_report_tables(outputs: Path) -> None:
    from earlyphase.cli import _report_trial

    document = docx.Document(str(outputs / "r.docx"))
    trial, design = _report_trial(str(EXAMPLE), None)
    content = build_report(trial, design=design)
    items = [i for s in content["sections"] for i in s["items"] if i["kind"] == "table"]
    assert len(document.tables) == len(items)
    for table, item in zip(document.tables, items, strict=True):
        frame: pd.DataFrame = item["display"]
        n_head = 2 if isinstance(frame.columns, pd.MultiIndex) else 1
        assert len(table.rows) == n_head + len(frame), item["title"]
        last_head = [c[-1] if isinstance(c, tuple) else c for c in frame.columns]
        assert [c.text for c in table.rows[n_head - 1].cells] == [_plain(c) for c in last_head]
        for row, values in zip(table.rows[n_head:], frame.itertuples(index=False), strict=True):
            assert [c.text for c in row.cells] == [_plain(v) for v in values], item["title"]


def test_word_layout_header_footer_superscripts_indentation(outputs: Path) -> None:
    document = docx.Document(str(outputs / "r.docx"))
    meta = json.loads((EXAMPLE / "trial.json").read_text())
    head = document.sections[0].header.paragraphs[0].text
    assert head.startswith(meta["title"]) and "Version 1.0 | 20" in head  # title, version, date
    footer = document.sections[0].footer._element
    fields = [f.get(f"{W}instr") for f in footer.iter(f"{W}fldSimple")]
    assert fields == ["PAGE", "NUMPAGES"]
    assert "Page" in document.sections[0].footer.paragraphs[0].text
    # A4 by default
    assert round(document.sections[0].page_width.mm) == 210
    # the flow table's header: "0.5 x 10" then a superscript "6"
    flow = next(t for t in document.tables if t.rows[0].cells[0].text == "Participants")
    runs = flow.rows[0].cells[1].paragraphs[0].runs
    assert [(r.text, bool(r.font.superscript)) for r in runs] == [
        ("0.5 x 10", False),
        ("6", True),
        (" cells/kg (N = 3)", False),
    ]
    # SOC rows in bold, their PTs indented one level (240 twentieths of a point)
    ae = next(t for t in document.tables if t.rows[0].cells[0].text.startswith("System organ"))
    soc = next(r for r in ae.rows if r.cells[0].text == "Immune system disorders")
    pt = next(r for r in ae.rows if r.cells[0].text == "Cytokine release syndrome")
    assert soc.cells[0].paragraphs[0].runs[0].bold
    indent = pt.cells[0].paragraphs[0]._p.find(f"{W}pPr/{W}ind")
    assert indent is not None and indent.get(f"{W}left") == "240"
    # a table too wide for a portrait page sits on a landscape page
    orientations = {s.orientation for s in document.sections}
    assert len(orientations) == 2
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert "Dose finding (CONSORT-DEFINE)" in headings
    assert "Appendix: CONSORT-DEFINE checklist" in headings
    # figures are inline pictures
    assert len(document.inline_shapes) == len(list((outputs / "r_figures").glob("*.svg")))


def test_word_letter_paper(tmp_path: Path) -> None:
    r = CliRunner().invoke(
        app,
        [
            "report",
            str(TRIALS / "itp"),
            "-o",
            str(tmp_path / "r.html"),
            "--docx",
            str(tmp_path / "r.docx"),
            "--paper",
            "letter",
        ],
    )
    assert r.exit_code == 0, r.output
    section = docx.Document(str(tmp_path / "r.docx")).sections[0]
    assert (round(section.page_width.inches, 2), round(section.page_height.inches, 2)) == (8.5, 11)
    assert "@page { size: letter;" in (tmp_path / "r.html").read_text()
    bad = CliRunner().invoke(app, ["report", str(TRIALS / "itp"), "--paper", "a5"])
    assert bad.exit_code == 2 and "--paper: a4 or letter" in bad.output


# --- HTML, SVG and figures ---------------------------------------------------------------------


def test_html_superscripts_page_rules_and_svg(outputs: Path) -> None:
    page = (outputs / "r.html").read_text()
    assert "<th>1.0 x 10<sup>6</sup> cells/kg (N = 7)</th>" in page
    assert "10^6" not in re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", page)
    # printed pages: size, running header (title, version, date), page numbers, no orphans
    assert "@page { size: A4;" in page
    assert re.search(r'@top-left \{ content: "XYZ-19 CAR-T cells', page)
    assert re.search(r'@top-right \{ content: "Version 1\.0 \| \d{4}-\d\d-\d\d"', page)
    assert 'content: "Page " counter(page) " of " counter(pages)' in page
    assert "h1, h2, h3, figcaption { break-after: avoid;" in page
    assert ".item.small, figure { break-inside: avoid;" in page
    svgs = sorted((outputs / "r_figures").glob("*.svg"))
    figures = page.count("<figure>")
    assert len(svgs) == figures >= 3
    assert [p.name[:3] for p in svgs] == [f"{k:02d}_" for k in range(1, figures + 1)]
    for p in svgs:
        text = p.read_text()
        assert text.startswith("<?xml") and "<svg" in text
    assert any("Design_schema" in p.name for p in svgs)


def test_dlt_is_not_told_by_red_and_green_alone() -> None:
    trial = load_trial(EXAMPLE)
    ax = escalation_figure(trial, unit="x 10^6 cells/kg").axes[0]
    marks = {
        line.get_label(): (line.get_marker(), line.get_markerfacecolor(), line.get_color())
        for line in ax.get_lines()
        if line.get_label() in ("DLT", "no DLT")
    }
    dlt, none = marks["DLT"], marks["no DLT"]
    assert dlt[0] != none[0]  # shape
    assert none[1] == "white" and dlt[1] == OKABE_ITO["vermillion"]  # fill
    assert {dlt[2], none[2]} <= set(OKABE_ITO.values())
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["no DLT", "DLT"]
    assert ax.get_yticklabels()[0].get_text() == "0.5 x 10⁶ cells/kg"
    pilot = load_trial(PILOT)
    km = km_figure(pilot, "TTDE", by="TRT01A").axes[0]
    styles = [line.get_linestyle() for line in km.get_lines() if line.get_label()[:1] != "_"]
    assert len(set(styles)) == 3  # the arms differ by line style too


# --- PDF (Chromium) --------------------------------------------------------------------------


def _pdf_text(data: bytes) -> str:
    """The text a Chromium (Skia) PDF shows: its streams inflated, glyphs mapped to text
    through each font's ToUnicode CMap; one line per text object."""
    objects = {
        int(m.group(1)): m.group(2) for m in re.finditer(rb"(\d+) 0 obj\s*(.*?)endobj", data, re.S)
    }

    def stream(body: bytes) -> bytes:
        m = re.search(rb"stream\r?\n", body)
        if m is None:
            return b""
        raw = body[m.end() :]
        if b"/FlateDecode" in body[: m.start()]:
            return zlib.decompressobj().decompress(raw)
        return raw

    def cmap(body: bytes) -> dict[int, str]:
        table: dict[int, str] = {}
        text = stream(body)
        for block in re.findall(rb"beginbfchar(.*?)endbfchar", text, re.S):
            for src, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
                table[int(src, 16)] = bytes.fromhex(dst.decode()).decode("utf-16-be")
        for block in re.findall(rb"beginbfrange(.*?)endbfrange", text, re.S):
            for lo, hi, dst in re.findall(
                rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block
            ):
                for k in range(int(lo, 16), int(hi, 16) + 1):
                    table[k] = chr(int(dst, 16) + k - int(lo, 16))
        return table

    fonts = {}
    for num, body in objects.items():
        m = re.search(rb"/ToUnicode (\d+) 0 R", body)
        if m is not None and int(m.group(1)) in objects:
            fonts[num] = cmap(objects[int(m.group(1))])
    names = {
        name: fonts[int(num)]
        for body in objects.values()
        for name, num in re.findall(rb"/(F\w*) (\d+) 0 R", body)
        if int(num) in fonts
    }
    lines = []
    for body in objects.values():
        content = stream(body) if b"stream" in body else b""
        if b"BT" not in content or b"Tf" not in content:
            continue
        font: dict[int, str] = {}
        line = ""
        for m in re.finditer(rb"/(F\w*)\s+[-\d.]+\s+Tf|<([0-9A-Fa-f]*)>|\bET\b", content):
            if m.group(1) is not None:
                font = names.get(m.group(1), {})
            elif m.group(2) is not None:
                h = m.group(2).decode()
                line += "".join(font.get(int(h[i : i + 4], 16), "") for i in range(0, len(h), 4))
            else:
                lines.append(line)
                line = ""
    return "\n".join(lines)


@pytest.mark.skipif(CHROMIUM is None, reason="make test starts Chromium (scripts/test-services.sh)")
@pytest.mark.parametrize(("paper", "size"), [("a4", (595, 842)), ("letter", (612, 792))])
def test_pdf_paper_page_numbers_and_running_header(
    tmp_path: Path, paper: str, size: tuple[int, int]
) -> None:
    html = tmp_path / "r.html"
    r = CliRunner().invoke(
        app, ["report", str(EXAMPLE), "-o", str(html), "--pdf", "--paper", paper]
    )
    assert r.exit_code == 0, r.output
    data = (tmp_path / "r.pdf").read_bytes()
    boxes = re.findall(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", data)
    pages = [(round(float(w)), round(float(h))) for w, h in boxes]
    assert pages, "no page found"
    portrait = [p for p in pages if p[0] < p[1]]
    # wide tables print on landscape pages of the same paper
    assert set(portrait) == {size} and set(pages) <= {size, size[::-1]}
    assert size[::-1] in pages
    text = re.sub(r"\s+", " ", _pdf_text(data))  # the footer's pieces are text objects apart
    n = len(pages)
    for k in (1, n):
        assert f"Page {k} of {n}" in text
    assert text.count("XYZ-19 CAR-T cells in relapsed B-cell lymphoma") >= n  # every page
    assert re.search(r"Version 1\.0 \| \d{4}-\d\d-\d\d", text)


# --- CONSORT-DEFINE: flow against pandas counts from the ADaM rules ---------------------------


def _flow_by_pandas(adsl: pd.DataFrame) -> dict[str, dict[str, int | None]]:
    """Flow counts per TRT01A (and Total) from the raw ADSL, from the ADaM flags: enrolled
    (every row), treated (SAFFL = Y), DLT-evaluable (DLTEVLFL = Y), analysed for DLT
    (DLTEVLFL = Y, else SAFFL = Y), for safety (SAFFL not N) and for activity (EFFFL = Y).
    None: the flag is not in the data."""
    has = {c: c in adsl.columns and (adsl[c].astype(str).str.strip() != "").any() for c in adsl}
    out: dict[str, dict[str, int | None]] = {}
    for g, d in [*adsl.groupby("TRT01A"), ("Total", adsl)]:
        flag = {
            c: d[c].astype(str).str.strip() for c in ("SAFFL", "DLTEVLFL", "EFFFL") if has.get(c)
        }
        out[str(g)] = {
            "Enrolled": len(d),
            "Treated": int((flag["SAFFL"] == "Y").sum()) if "SAFFL" in flag else None,
            "DLT-evaluable": int((flag["DLTEVLFL"] == "Y").sum()) if "DLTEVLFL" in flag else None,
            "Analysed for DLT": int(
                (flag["DLTEVLFL"] == "Y").sum()
                if "DLTEVLFL" in flag
                else (flag["SAFFL"] == "Y").sum()
            ),
            "Analysed for safety": int((flag["SAFFL"] != "N").sum()) if "SAFFL" in flag else len(d),
            "Analysed for activity": int((flag["EFFFL"] == "Y").sum()) if "EFFFL" in flag else None,
        }
    return out


def _check_flow(trial: Any, adsl_raw: pd.DataFrame) -> None:
    table = flow_table(trial)
    labels = table.display.iloc[:, 0].str.strip().tolist()
    for group, counts in _flow_by_pandas(adsl_raw).items():
        for label, n in counts.items():
            if n is None:
                row = table.display[table.display.iloc[:, 0] == label].iloc[0]
                assert set(row.iloc[1:]) == {"not collected"}, label
            else:
                assert label in labels
                assert table.value(label, "n", group, "flow") == n, (group, label)


def test_flow_example_matches_pandas_with_reasons() -> None:
    raw = pd.read_csv(EXAMPLE / "adsl.csv", dtype=str, keep_default_na=False)
    trial = load_trial(EXAMPLE)
    _check_flow(trial, raw)
    table = flow_table(trial)
    # exclusions with their reasons, counted from the raw file
    not_treated = raw[raw["SAFFL"] == "N"]
    for why, d in not_treated.groupby("DCSREAS"):
        for g, n in d.groupby("TRT01A").size().items():
            assert table.value(why, "n", g, "flow") == n
    out = raw[(raw["SAFFL"] == "Y") & (raw["DLTEVLFL"] == "N")]
    assert len(out) == 1
    assert table.value("Treated, not DLT-evaluable", "n", "Total", "flow") == len(out)
    assert table.value(out["DLTEVLRS"].iloc[0], "n", out["TRT01A"].iloc[0], "flow") == 1


def test_flow_reference_trial_matches_pandas() -> None:
    for name in ("itp", "ips"):
        raw = pd.read_csv(TRIALS / name / "adsl.csv", dtype=str, keep_default_na=False)
        _check_flow(load_trial(TRIALS / name), raw)


def test_flow_cdisc_pilot_matches_pandas() -> None:
    raw, _ = pyreadstat.read_xport(str(PILOT / "adsl.xpt"))
    pilot = load_trial(PILOT)
    _check_flow(pilot, raw)
    # 20 of 254 subjects are outside the efficacy population (EFFFL = N)
    assert flow_table(pilot).value("Analysed for activity", "n", "Total", "flow") == 234
    # a randomised trial: no CONSORT-DEFINE section, the flow table with the participants
    content = build_report(pilot)
    headings = [s["heading"] for s in content["sections"]]
    assert "Dose finding (CONSORT-DEFINE)" not in headings and not any(
        h.startswith("Appendix") for h in headings
    )
    part = next(s for s in content["sections"] if s["heading"] == "Participants")
    assert any(i.get("title") == "Participant flow by group" for i in part["items"])
    # planned and actual arms agree for every subject of the pilot
    listing = arm_deviation_listing(pilot)
    assert len(listing.display) == 0 and listing.footnotes[0].startswith("None: all 254")


def test_transition_record_example_matches_the_file() -> None:
    raw = pd.read_csv(EXAMPLE / "addec.csv", dtype=str, keep_default_na=False)
    table = transition_table(load_trial(EXAMPLE))
    d = table.display
    assert d["Cohort"].tolist() == raw["COHORT"].tolist()
    assert d["Design's recommendation"].tolist() == raw["RECOMM"].tolist()
    assert d["Decision taken"].tolist() == raw["DECISION"].tolist()
    assert d["Signed by"].tolist() == raw["DECIDER"].tolist()
    assert d["Date"].tolist() == raw["DECDT"].tolist()
    dev = raw["DEVFL"] == "Y"
    assert (d["Deviation"].str.startswith("yes")).tolist() == dev.tolist()
    assert d.loc[dev.to_numpy(), "Deviation"].iloc[0] == f"yes: {raw.loc[dev, 'DEVREAS'].iloc[0]}"
    assert f"Decisions departing from the design's recommendation: {int(dev.sum())}." in (
        table.footnotes
    )
    assert d["Dose level"].tolist()[0] == "0.5 x 10^6 cells/kg"  # label from ADSL by DOSELVL


def test_define_section_and_checklist(outputs: Path) -> None:
    page = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "IMG", (outputs / "r.html").read_text())
    for title in (
        "Design, dose levels and schedule",
        "Decision table: 3+3 dose-escalation rules",
        "Stopping rules",
        "Participant flow by dose level",
        "Dose-transition record",
        "Recommended dose",
        "CONSORT-DEFINE items and where this report covers them",
        "Listing of treatment deviations: planned vs actual arm or dose level",
    ):
        assert f"<h3>{title}</h3>" in page, title
    assert "<figcaption>Design schema: decision flow of the 3+3 design</figcaption>" in page
    assert "BMJ 2023;383:e076387" in page
    content = build_report(load_trial(EXAMPLE))
    appendix = content["sections"][-1]["items"][0]["display"]
    status = dict(zip(appendix["Item"], appendix["Status"], strict=True))
    for item in ("1a (DEFINE)", "13a (CONSORT)", "13b (CONSORT)", "14a (CONSORT)", "14b (CONSORT)"):
        assert status[item] == "addressed", item
    # without a design, the design items are left to complete
    bare = build_report(load_trial(TRIALS / "itp"))["sections"][-1]["items"][0]["display"]
    bare_status = dict(zip(bare["Item"], bare["Status"], strict=True))
    assert bare_status["3a.1 (DEFINE)"].startswith("to complete")
    assert bare_status["14a (CONSORT)"].startswith("to complete")
    assert bare_status["13a (CONSORT)"].startswith("partly")  # no DLTEVLFL in the ITP data


def test_arm_deviation_listed_not_rejected() -> None:
    frames = {
        name: pd.read_csv(EXAMPLE / f"{name.lower()}.csv", dtype=str, keep_default_na=False)
        for name in ("ADSL", "ADAE", "ADEX")
    }
    adsl = frames["ADSL"]
    adsl.loc[adsl["USUBJID"] == "E12", ["TRT01A", "TRT01AN", "DOSELVL"]] = [
        "1.0 x 10^6 cells/kg",
        "2",
        "1.0",
    ]
    from earlyphase.data import build_trial

    meta = json.loads((EXAMPLE / "trial.json").read_text())
    listing = arm_deviation_listing(build_trial(frames, meta=meta))
    assert listing.display.values.tolist() == [
        ["E12", "2.0 x 10^6 cells/kg", "1.0 x 10^6 cells/kg"]
    ]
    no_plan = build_trial({**frames, "ADSL": adsl.drop(columns=["TRT01P", "TRT01PN"])}, meta=meta)
    assert arm_deviation_listing(no_plan).display.iloc[0].tolist() == ["not collected"] * 3


def test_design_and_record_problems_are_reported(tmp_path: Path) -> None:
    folder = tmp_path / "esc"
    shutil.copytree(EXAMPLE, folder)
    addec = pd.read_csv(folder / "addec.csv", dtype=str, keep_default_na=False)
    addec.loc[1, "DOSELVL"] = "1.5"
    addec.to_csv(folder / "addec.csv", index=False)
    meta = json.loads((folder / "trial.json").read_text())
    meta["recommended_dose"]["dose"] = "1.5 x 10^6 cells/kg"
    meta["design"]["setings"] = {}
    (folder / "trial.json").write_text(json.dumps(meta))
    with pytest.raises(DataError) as err:
        load_trial(folder)
    where = {(p.source, p.row, p.field) for p in err.value.problems}
    assert ("addec.csv", 2, "DOSELVL") in where
    assert ("trial.json", None, "recommended_dose.dose") in where
    assert ("trial.json", None, "design.setings") in where
    # a setting the design does not have is named when the report builds the design
    meta = json.loads((EXAMPLE / "trial.json").read_text())
    meta["design"]["settings"] = {"n_doses": 3, "cohort_sise": 3}
    (folder / "trial.json").write_text(json.dumps(meta))
    shutil.copy(EXAMPLE / "addec.csv", folder / "addec.csv")
    r = CliRunner().invoke(app, ["report", str(folder), "-o", str(tmp_path / "x.html")])
    assert r.exit_code == 2 and "trial.json, field design" in r.output and "cohort_sise" in r.output
    assert not (tmp_path / "x.html").exists()


# --- CONSORT-DEFINE from a trial database -----------------------------------------------------


def _store(path: Path) -> None:
    """A 3+3 at two dose levels, run through the service: cohort 1 with a subject not
    evaluable (replaced), its escalation approved at another dose (a deviation), cohort 2 at
    the same dose, cohort 3 with two DLTs: stop, MTD dose level 1, approved."""
    from earlyphase.conduct import TrialService, open_store

    svc = TrialService(open_store(path))
    svc.bootstrap_admin("admin", "Ada Admin", "admin-pass-1")
    admin = svc.authenticate("admin", "admin-pass-1")
    svc.create_site(admin, "Site")
    svc.create_user(admin, "stat", "Sam Statistician", "statistician", "stat-passwd-1")
    svc.create_user(admin, "inv", "Ivy Investigator", "investigator", "inv-passwd-11", "Site")
    svc.create_trial(
        admin,
        "T",
        "3+3",
        {"n_doses": 2},
        [1.0, 2.0],
        schedule="one infusion",
        conduct={"dlt_window_days": 28, "n_infusions": 1},
    )
    inv = svc.authenticate("inv", "inv-passwd-11")
    stat = svc.authenticate("stat", "stat-passwd-1")

    def subject(code: str, dose: float, month: int, dlt: bool = False, ok: bool = True) -> None:
        svc.enrol(inv, "T", code, 70.0, enrolled_on=f"2025-{month:02d}-01")
        svc.record_infusion(inv, "T", code, f"2025-{month:02d}-02T10:00", dose, "LOT")
        if dlt:
            svc.record_ae(
                inv,
                "T",
                code,
                "Immune system disorders",
                "Cytokine release syndrome",
                3,
                related=True,
                onset_on=f"2025-{month:02d}-05",
                dlt=True,
            )
        else:
            svc.record_dlt(
                inv,
                "T",
                code,
                False,
                "left the trial" if not ok else "",
                assessed_on=f"2025-{month + 1:02d}-05",
                evaluable=ok,
            )

    for code, ok in (("A1", True), ("A2", False), ("A3", True), ("A4", True)):
        subject(code, 1.0, 1, ok=ok)
    first = svc.recommendation(stat, "T")["latest"]
    svc.confirm_decision(
        stat,
        first["id"],
        "stat-passwd-1",
        "approve_other_dose",
        dose=1,
        reason="SRC: a second cohort at level 1 first",
    )
    for code in ("B1", "B2", "B3"):
        subject(code, 1.0, 4)
    second = svc.recommendation(stat, "T")["latest"]
    svc.confirm_decision(stat, second["id"], "stat-passwd-1")
    for code, dlt in (("C1", True), ("C2", True), ("C3", False)):
        subject(code, 2.0, 7, dlt=dlt)
    third = svc.recommendation(stat, "T")["latest"]
    svc.confirm_decision(stat, third["id"], "stat-passwd-1")


def test_report_from_a_trial_database(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    _store(db)
    html, word = tmp_path / "r.html", tmp_path / "r.docx"
    r = CliRunner().invoke(
        app, ["report", str(db), "--trial", "T", "-o", str(html), "--docx", str(word)]
    )
    assert r.exit_code == 0, r.output
    from earlyphase.cli import _report_trial

    trial, design = _report_trial(str(db), "T")
    assert design is not None and design.name == "3+3" and design.dose_levels == [1.0, 2.0]
    assert design.conduct["dlt_window_days"] == 28 and design.schedule == "one infusion"
    # flow: what the store was given (7 at level 1, one of them not evaluable; 3 at level 2)
    flow = flow_table(trial)
    low, high = "1 x 10^6 cells/kg", "2 x 10^6 cells/kg"
    for label, n_low, n_high in (
        ("Enrolled", 7, 3),
        ("Treated", 7, 3),
        ("DLT-evaluable", 6, 3),
        ("Treated, not DLT-evaluable", 1, 0),
        ("Analysed for DLT", 6, 3),
    ):
        assert flow.value(label, "n", low, "flow") == n_low, label
        assert flow.value(label, "n", high, "flow") == n_high, label
    assert flow.value("not evaluable (DLT assessment in the trial database)", "n", low, "flow") == 1
    # the record: one row per decision, as signed
    d = transition_table(trial).display
    assert d["Cohort"].tolist() == ["1", "2", "3"]
    assert d["Dose level"].tolist() == [low, low, high]
    assert d["Evaluable"].tolist() == ["3", "3", "3"]
    assert d["With DLT"].tolist() == ["0", "0", "2"]
    assert d["Data (cumulative)"].tolist() == ["1NNN", "1NNN 1NNN", "1NNN 1NNN 2TTN"]
    assert (
        d["Design's recommendation"]
        .str.startswith(
            (
                "next cohort at dose level 2",
                "next cohort at dose level 2",
                "stop, select dose level 1",
            )
        )
        .all()
    )
    assert d["Decision taken"].tolist() == [
        "approved: next cohort at dose level 1 (1 x 10^6 cells/kg)",
        "approved as recommended",
        "approved as recommended",
    ]
    assert set(d["Signed by"]) == {"Sam Statistician"}
    assert d["Deviation"].tolist() == ["yes: SRC: a second cohort at level 1 first", "no", "no"]
    # the recommended dose from the last signed decision, with its DLT data
    rec = build_report(trial, design=design)["sections"][0]["items"][-1]["display"]
    values = dict(zip(rec["Item"], rec["Value"], strict=True))
    assert values["Recommended dose"] == low and values["DLT-evaluable"] == "6"
    assert values["With DLT"] == "0" and "signed by Sam Statistician" in values["Rationale"]
    page = html.read_text()
    assert "<h3>Decision table: 3+3 dose-escalation rules</h3>" in page
    document = docx.Document(str(word))
    record = next(t for t in document.tables if t.rows[0].cells[0].text == "Cohort")
    assert [c.text for c in record.rows[1].cells][
        -1
    ] == "yes: SRC: a second cohort at level 1 first"


def test_render_report_rejects_unknown_paper(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^paper:"):
        render_report(load_trial(TRIALS / "sle"), tmp_path / "r.html", paper="a3")


def test_a_database_without_decisions_has_no_record_yet() -> None:
    from earlyphase.report.define import decisions_frame, transitions_from_store

    trial = load_trial(TRIALS / "gvhd")
    record = {
        "design": "3+3",
        "settings": {"n_doses": 3},
        "dose_levels": [0.5, 1.0, 2.0],
        "dose_unit": "x 10^6 cells/kg",
        "schedule": "",
        "conduct": {"time_zone": "UTC"},
        "cohorts": [],
        "decisions": [],
    }
    assert decisions_frame(record).empty
    empty = transitions_from_store(trial, record)
    table = transition_table(empty)
    assert table.display.iloc[0].tolist() == ["not collected"] * len(table.display.columns)
    assert "no decision taken yet" in table.footnotes[0]
    appendix = build_report(empty)["sections"][-1]["items"][0]["display"]
    status = dict(zip(appendix["Item"], appendix["Status"], strict=True))
    assert status["14a (CONSORT)"].startswith("to complete")
