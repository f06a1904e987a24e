"""The report as a Word document (python-docx), for pasting into a clinical study report or a
manuscript: the same sections as the HTML page, every table a real Word table, every figure an
inline PNG.

Layout, as the protocol writer (:mod:`earlyphase.protocol.render`) lays out its Word tables
(8-point text, bold headings, notes in italics under the table), with what a results report
adds:

- a running header (title, version, date) and "Page X of Y" in the footer (Word fields, so
  the numbers are right after any edit);
- A4 or Letter paper; a table too wide for a portrait page sits on a landscape page;
- tables in publication style (rules above and below the header and under the last row, no
  vertical lines), the header repeated on every page, a group of columns (a dose level over
  its grade columns) as one merged cell, the SOC / PT hierarchy as indentation with the SOC
  rows in bold; a table of up to 25 rows kept on one page;
- powers in units (``10^6``) as superscript runs; headings kept with what follows.

Tables are written as WordprocessingML directly (one parse per table): a listing of thousands
of rows costs milliseconds where cell-by-cell python-docx calls would cost seconds.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pandas as pd

from earlyphase.data.adam import NOT_COLLECTED
from earlyphase.data.units import split_powers

#: Paper sizes in mm (width, height), portrait.
PAPER_MM = {"a4": (210.0, 297.0), "letter": (215.9, 279.4)}
#: Page margins in mm.
MARGIN_MM = 20.0
#: A table with more columns than this is printed on a landscape page.
LANDSCAPE_COLUMNS = 9
#: A table of at most this many rows is kept on one page.
SMALL_TABLE_ROWS = 25
#: Twentieths of a point per mm (Word's "dxa" unit).
_DXA_PER_MM = 56.6929
#: Characters XML 1.0 does not allow.
_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
#: Indentation of one level of the first column (SOC > PT ...), in dxa.
_INDENT = 240


def _runs(text: str, *, bold: bool = False, italic: bool = False, size: int = 16) -> str:
    """``text`` as runs (``size`` in half-points), powers as superscript runs."""
    out = []
    for piece, up in split_powers(_BAD_XML.sub("", text)):
        props = (
            ("<w:b/>" if bold else "")
            + ("<w:i/>" if italic else "")
            + ('<w:color w:val="777777"/>' if italic else "")
            + f'<w:sz w:val="{size}"/><w:szCs w:val="{size}"/>'
            + ('<w:vertAlign w:val="superscript"/>' if up else "")
        )
        out.append(
            f'<w:r><w:rPr>{props}</w:rPr><w:t xml:space="preserve">{escape(piece)}</w:t></w:r>'
        )
    return "".join(out)


def _cell(
    text: str,
    width: int,
    *,
    span: int = 1,
    bold: bool = False,
    level: int = 0,
    header: bool = False,
    keep: bool = False,
) -> str:
    props = f'<w:tcW w:w="{width}" w:type="dxa"/>'
    if span > 1:
        props += f'<w:gridSpan w:val="{span}"/>'
    if header:
        props += '<w:tcBorders><w:bottom w:val="single" w:sz="6" w:color="000000"/></w:tcBorders>'
    para = '<w:spacing w:before="20" w:after="20"/>'
    if keep:
        para = "<w:keepNext/>" + para
    if level:
        para += f'<w:ind w:left="{_INDENT * level}"/>'
    italic = text == NOT_COLLECTED
    return (
        f"<w:tc><w:tcPr>{props}</w:tcPr><w:p><w:pPr>{para}</w:pPr>"
        f"{_runs(text, bold=bold, italic=italic)}</w:p></w:tc>"
    )


def _header_rows(columns: pd.Index) -> list[list[tuple[str, int]]]:
    """Header rows as (text, span): for a two-level index, groups spanning their columns."""
    if not isinstance(columns, pd.MultiIndex):
        return [[(str(c), 1) for c in columns]]
    top: list[tuple[str, int]] = []
    for group, _ in columns:
        if top and top[-1][0] == str(group) and group != "":
            top[-1] = (top[-1][0], top[-1][1] + 1)
        else:
            top.append((str(group), 1))
    return [top, [(str(c), 1) for _, c in columns]]


def _widths(frame: pd.DataFrame, total: int, headers: list[list[tuple[str, int]]]) -> list[int]:
    """Column widths (dxa) in proportion to their longest text, within bounds."""
    weights = []
    for j in range(len(frame.columns)):
        cells = frame.iloc[:, j].astype(str)
        longest = int(cells.str.len().max()) if len(cells) else 0
        head = max((len(w) for w in headers[-1][j][0].split()), default=4)
        weights.append(float(min(max(longest, head, 4), 45 if j == 0 else 28)))
    scale = total / sum(weights)
    return [max(400, int(w * scale)) for w in weights]


def table_xml(frame: pd.DataFrame, total_width: int) -> str:
    """A display frame as a ``w:tbl`` element: the first column's leading spaces (four per
    level) as indentation, a row followed by deeper rows in bold."""
    headers = _header_rows(frame.columns)
    widths = _widths(frame, total_width, headers)
    ns = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    parts = [
        f"<w:tbl {ns}><w:tblPr>"
        f'<w:tblW w:w="{sum(widths)}" w:type="dxa"/>'
        "<w:tblBorders>"
        '<w:top w:val="single" w:sz="12" w:color="000000"/>'
        '<w:bottom w:val="single" w:sz="12" w:color="000000"/>'
        '<w:insideH w:val="single" w:sz="2" w:color="D9D9D9"/>'
        "</w:tblBorders>"
        '<w:tblLayout w:type="fixed"/>'
        '<w:tblCellMar><w:left w:w="70" w:type="dxa"/><w:right w:w="70" w:type="dxa"/>'
        "</w:tblCellMar>"
        "</w:tblPr><w:tblGrid>",
        *(f'<w:gridCol w:w="{w}"/>' for w in widths),
        "</w:tblGrid>",
    ]
    keep = len(frame) <= SMALL_TABLE_ROWS
    for hrow in headers:
        parts.append("<w:tr><w:trPr><w:tblHeader/><w:cantSplit/></w:trPr>")
        j = 0
        for text, span in hrow:
            parts.append(
                _cell(text, sum(widths[j : j + span]), span=span, bold=True, header=True, keep=True)
            )
            j += span
        parts.append("</w:tr>")
    values = frame.astype(object).where(frame.notna(), "").to_numpy().tolist()
    levels = []
    for row in values:
        first = str(row[0]) if row else ""
        levels.append((len(first) - len(first.lstrip(" "))) // 4)
    for i, row in enumerate(values):
        group = i + 1 < len(values) and levels[i + 1] > levels[i]
        last = i == len(values) - 1
        parts.append("<w:tr><w:trPr><w:cantSplit/></w:trPr>")
        for j, value in enumerate(row):
            text = str(value)
            parts.append(
                _cell(
                    text.lstrip(" ") if j == 0 else text,
                    widths[j],
                    bold=group and j == 0,
                    level=levels[i] if j == 0 else 0,
                    keep=keep and not last,
                )
            )
        parts.append("</w:tr>")
    parts.append("</w:tbl>")
    return "".join(parts)


def _paragraph(
    doc: Any,
    text: str,
    *,
    style: str | None = None,
    size: float | None = None,
    italic: bool = False,
    keep: bool = False,
) -> Any:
    """A paragraph of ``text`` with powers as superscript runs."""
    from docx.shared import Pt

    para = doc.add_paragraph(style=style)
    for piece, up in split_powers(_BAD_XML.sub("", text)):
        run = para.add_run(piece)
        run.font.superscript = up or None
        run.italic = italic or None
        if size is not None:
            run.font.size = Pt(size)
    if keep:
        para.paragraph_format.keep_with_next = True
    return para


def _heading(doc: Any, text: str, level: int) -> Any:
    para = doc.add_heading("", level=level)
    for piece, up in split_powers(_BAD_XML.sub("", text)):
        run = para.add_run(piece)
        run.font.superscript = up or None
    para.paragraph_format.keep_with_next = True
    return para


def _field(paragraph: Any, instruction: str) -> None:
    """A Word field (PAGE, NUMPAGES) in ``paragraph``; Word computes it when it lays out."""
    from docx.oxml import parse_xml

    paragraph._p.append(
        parse_xml(
            '<w:fldSimple xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
            f' w:instr="{instruction}"><w:r><w:rPr><w:sz w:val="16"/></w:rPr><w:t>1</w:t></w:r>'
            "</w:fldSimple>"
        )
    )


def _page_setup(section: Any, paper: str, landscape: bool) -> None:
    from docx.enum.section import WD_ORIENT
    from docx.shared import Mm

    width, height = PAPER_MM[paper]
    if landscape:
        width, height = height, width
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(width), Mm(height)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Mm(MARGIN_MM))
    section.header_distance = section.footer_distance = Mm(9)


def _header_footer(section: Any, header: tuple[str, str], paper: str, landscape: bool) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT
    from docx.shared import Mm, Pt

    width = PAPER_MM[paper][1 if landscape else 0] - 2 * MARGIN_MM
    para = section.header.paragraphs[0]
    para.text = ""
    para.paragraph_format.tab_stops.add_tab_stop(Mm(width), WD_TAB_ALIGNMENT.RIGHT)
    for piece, up in split_powers(f"{header[0]}\t{header[1]}"):
        run = para.add_run(piece)
        run.font.size = Pt(8)
        run.font.superscript = up or None
    foot = section.footer.paragraphs[0]
    foot.text = ""
    foot.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for piece, instr in (("Page ", "PAGE"), (" of ", "NUMPAGES")):
        run = foot.add_run(piece)
        run.font.size = Pt(8)
        _field(foot, instr)


def render_docx(
    content: dict[str, Any],
    *,
    subtitle: str = "",
    header: tuple[str, str] = ("", ""),
    paper: str = "a4",
) -> bytes:
    """The report's content (:func:`earlyphase.report.html.build_report`) as a .docx file."""
    from docx import Document
    from docx.enum.section import WD_SECTION
    from docx.oxml import parse_xml
    from docx.shared import Mm, Pt

    if paper not in PAPER_MM:
        raise ValueError(f"paper: one of {', '.join(PAPER_MM)}, got {paper!r}")
    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.name = "Calibri"
    normal.font.size = Pt(10)
    section = doc.sections[0]
    _page_setup(section, paper, landscape=False)
    _header_footer(section, header, paper, landscape=False)
    landscape = False

    def orient(wide: bool) -> None:
        nonlocal landscape
        if wide == landscape:
            return
        new = doc.add_section(WD_SECTION.NEW_PAGE)
        _page_setup(new, paper, landscape=wide)
        # the header's right tab stop moves with the page width; the text stays linked
        new.header.is_linked_to_previous = False
        new.footer.is_linked_to_previous = False
        _header_footer(new, header, paper, landscape=wide)
        landscape = wide

    _heading(doc, content["title"], 0)
    if subtitle:
        _paragraph(doc, subtitle, size=9, italic=True)
    figure = 0
    for sec in content["sections"]:
        orient(False)
        _heading(doc, sec["heading"], 1)
        if sec.get("text"):
            _paragraph(doc, sec["text"])
        for item in sec["items"]:
            kind = item["kind"]
            if kind == "text":
                for text in item["paragraphs"]:
                    _paragraph(doc, text)
            elif kind == "list":
                orient(False)
                _heading(doc, item["title"], 3)
                for entry in item["entries"]:
                    _paragraph(doc, entry, style="List Bullet")
            elif kind == "figure":
                orient(False)
                figure += 1
                doc.add_picture(io.BytesIO(item["png_bytes"]), width=Mm(160))
                doc.paragraphs[-1].paragraph_format.keep_with_next = True
                cap = _paragraph(doc, f"Figure {figure}. {item['title']}", size=9)
                cap.runs[0].bold = True
            else:
                frame: pd.DataFrame = item["display"]
                wide = len(frame.columns) > LANDSCAPE_COLUMNS
                orient(wide)
                title = _heading(doc, item["title"], 3)
                paper_w = PAPER_MM[paper][1 if wide else 0]
                total = int((paper_w - 2 * MARGIN_MM) * _DXA_PER_MM)
                title._p.addnext(parse_xml(table_xml(frame, total)))
                spacer = doc.add_paragraph()  # Word needs a paragraph between two tables
                spacer.paragraph_format.space_after = Pt(0)
                for note in item["notes"]:
                    _paragraph(doc, note, size=8, italic=True)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def write_docx(
    content: dict[str, Any],
    path: str | Path,
    *,
    subtitle: str = "",
    header: tuple[str, str] = ("", ""),
    paper: str = "a4",
) -> Path:
    """Write :func:`render_docx` to ``path`` atomically (a failure leaves no partial file)."""
    data = render_docx(content, subtitle=subtitle, header=header, paper=paper)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".part")
    tmp.write_bytes(data)
    tmp.replace(out)
    return out
