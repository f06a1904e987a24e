"""Write a :class:`~earlyphase.protocol.section.ProtocolSection` as .docx, .html or .md.

The three writers lay out the same outline (numbered headings, paragraphs, bullet lists,
captioned tables and the schema figure), so the formats cannot say different things:

- ``.docx`` (python-docx): Word tables and the schema as an inline PNG, ready to paste into a
  protocol template;
- ``.html`` (Jinja2): one self-contained file, the schema embedded as a ``data:`` URI;
- ``.md``: pipe tables, the schema written next to the file (``protocol.md`` +
  ``protocol_flowchart.png``) and linked by a relative path.

Files are written atomically: the content is rendered in memory, written to a temporary file
in the target folder and renamed over the target, so a failure leaves no partial file.
"""

from __future__ import annotations

import base64
import contextlib
import io
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from earlyphase.protocol import headings as h
from earlyphase.protocol.section import ProtocolSection, protocol_section

if TYPE_CHECKING:
    import pandas as pd

#: File types :func:`write_protocol` writes, by suffix.
FORMATS: tuple[str, ...] = (".docx", ".html", ".md")


# --- the outline every writer follows ------------------------------------------------------


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    label: str  # "Table 1"
    caption: str
    frame: pd.DataFrame
    notes: tuple[str, ...] = ()
    #: The first column holds row labels (a transposed table): printed in bold.
    row_labels: bool = False


@dataclass(frozen=True)
class Image:
    label: str  # "Figure 1"
    caption: str
    png: bytes


Block = Paragraph | Bullets | Table | Image


def outline(section: ProtocolSection) -> list[tuple[str, list[Block]]]:
    """The section as (numbered heading, blocks) pairs, in the order of :data:`headings.ORDER`."""
    rh = section.rules_heading

    def num(heading: str) -> str:
        return h.number(heading, rh)

    design: list[Block] = [Paragraph(f"Design settings: {section.summary}.")]
    design += [Paragraph(t) for t in section.design_text]
    rules: list[Block] = [
        Table(
            "Table 1",
            section.decision_caption,
            section.decision_table,
            section.decision_notes,
            row_labels=section.decision_transposed,
        )
    ]
    size: list[Block] = [Paragraph(t) for t in section.sample_size_text]
    size.append(Table("Table 2", section.oc_caption, section.oc_table, section.oc_notes))
    scenario_text = "; ".join(
        f"'{name}': {', '.join(f'{v:g}' for v in truth)}"
        for name, truth in section.scenarios.items()
    )
    size.append(Paragraph(f"Scenarios (true rates): {scenario_text}."))
    checklist: list[Block] = [
        Paragraph(
            "Table 3 maps the topics of the SPIRIT-DEFINE extension for early-phase "
            "dose-finding protocols (Yap et al. 2023) that concern the statistical section to "
            "the part of this section that addresses them."
        ),
        Table("Table 3", "SPIRIT-DEFINE checklist for the statistical section", section.checklist),
    ]
    return [
        (num(h.DESIGN), design),
        (
            num(h.SCHEMA),
            [Image("Figure 1", section.flowchart_caption, section.flowchart_png)],
        ),
        (num(rh), rules),
        (num(h.STOPPING), [Bullets(section.stopping_rules)]),
        (num(h.PRIORS), [Paragraph(t) for t in section.priors]),
        (num(h.SAMPLE_SIZE), size),
        (num(h.CHECKLIST), checklist),
        (num(h.REFERENCES), [Paragraph(f"{i}. {r}") for i, r in enumerate(section.references, 1)]),
    ]


# --- docx ----------------------------------------------------------------------------------


def render_docx(section: ProtocolSection) -> bytes:
    """The section as a Word document (python-docx), returned as bytes."""
    from docx import Document
    from docx.shared import Inches, Pt

    doc = Document()
    doc.add_heading(section.title, level=1)
    for heading, blocks in outline(section):
        doc.add_heading(heading, level=2)
        for block in blocks:
            if isinstance(block, Paragraph):
                doc.add_paragraph(block.text)
            elif isinstance(block, Bullets):
                for item in block.items:
                    doc.add_paragraph(item, style="List Bullet")
            elif isinstance(block, Image):
                doc.add_picture(io.BytesIO(block.png), width=Inches(6.0))
                cap = doc.add_paragraph()
                cap.add_run(f"{block.label}. ").bold = True
                cap.add_run(block.caption)
            else:
                cap = doc.add_paragraph()
                cap.add_run(f"{block.label}. ").bold = True
                cap.add_run(block.caption)
                frame = block.frame
                table = doc.add_table(rows=len(frame) + 1, cols=len(frame.columns))
                table.style = "Table Grid"
                for j, col in enumerate(frame.columns):
                    cell = table.cell(0, j)
                    cell.text = ""
                    run = cell.paragraphs[0].add_run(str(col))
                    run.bold = True
                    run.font.size = Pt(8)
                for i, row in enumerate(frame.itertuples(index=False), start=1):
                    for j, value in enumerate(row):
                        cell = table.cell(i, j)
                        cell.text = ""
                        run = cell.paragraphs[0].add_run(str(value))
                        run.font.size = Pt(8)
                        run.bold = block.row_labels and j == 0
                for note in block.notes:
                    para = doc.add_paragraph()
                    run = para.add_run(note)
                    run.italic = True
                    run.font.size = Pt(8)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


# --- html ----------------------------------------------------------------------------------

_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{{ title }}</title>
<style>
body { font-family: Georgia, 'Times New Roman', serif; max-width: 980px; margin: 2em auto;
       color: #222; line-height: 1.45; padding: 0 1em; }
h1 { font-size: 1.6em; border-bottom: 2px solid #333; padding-bottom: .3em; }
h2 { font-size: 1.25em; margin-top: 1.8em; border-bottom: 1px solid #bbb; }
table { border-collapse: collapse; margin: .4em 0 .3em; font-size: .85em;
        font-family: Arial, sans-serif; }
th { border-top: 2px solid #333; border-bottom: 1px solid #333; padding: 4px 8px;
     text-align: left; vertical-align: bottom; }
td { padding: 3px 8px; border-bottom: 1px solid #eee; vertical-align: top; }
td.label { font-weight: bold; }
tr:last-child td { border-bottom: 2px solid #333; }
.caption { font-weight: bold; margin: 1em 0 .2em; font-family: Arial, sans-serif;
           font-size: .9em; }
.note { font-size: .8em; color: #555; margin: 0 0 .4em; }
figure { margin: 1em 0; } figure img { max-width: 100%; }
figcaption { font-size: .85em; color: #444; }
.meta { color: #666; font-size: .85em; }
</style></head><body>
<h1>{{ title }}</h1>
<p class="meta">Written with {{ software }} from the design object.</p>
{% for heading, blocks in sections %}
<h2>{{ heading }}</h2>
{% for b in blocks %}
{% if b.kind == "paragraph" %}<p>{{ b.text }}</p>
{% elif b.kind == "bullets" %}<ul>{% for item in b["items"] %}<li>{{ item }}</li>{% endfor %}</ul>
{% elif b.kind == "image" %}<figure>
<img alt="{{ b.caption }}" src="data:image/png;base64,{{ b.png }}">
<figcaption><b>{{ b.label }}.</b> {{ b.caption }}</figcaption></figure>
{% else %}<p class="caption">{{ b.label }}. {{ b.caption }}</p>
<table>
<thead><tr>{% for c in b.columns %}<th>{{ c }}</th>{% endfor %}</tr></thead>
<tbody>
{% for row in b.rows %}<tr>
{% for v in row %}
<td{% if b.row_labels and loop.first %} class="label"{% endif %}>{{ v }}</td>
{% endfor %}
</tr>
{% endfor %}</tbody>
</table>
{% for note in b.notes %}<p class="note">{{ note }}</p>{% endfor %}
{% endif %}
{% endfor %}
{% endfor %}
</body></html>
"""


def _html_block(block: Block) -> dict[str, Any]:
    if isinstance(block, Paragraph):
        return {"kind": "paragraph", "text": block.text}
    if isinstance(block, Bullets):
        return {"kind": "bullets", "items": list(block.items)}
    if isinstance(block, Image):
        return {
            "kind": "image",
            "label": block.label,
            "caption": block.caption,
            "png": base64.b64encode(block.png).decode("ascii"),
        }
    return {
        "kind": "table",
        "label": block.label,
        "caption": block.caption,
        "columns": [str(c) for c in block.frame.columns],
        "rows": [[str(v) for v in row] for row in block.frame.itertuples(index=False)],
        "notes": list(block.notes),
        "row_labels": block.row_labels,
    }


def render_html(section: ProtocolSection) -> bytes:
    """The section as one self-contained HTML page (Jinja2, autoescaped), as UTF-8 bytes."""
    from jinja2 import Environment

    env = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    page = env.from_string(_HTML).render(
        title=section.title,
        software=section.software,
        sections=[
            (heading, [_html_block(b) for b in blocks]) for heading, blocks in outline(section)
        ],
    )
    return page.encode("utf-8")


# --- markdown ------------------------------------------------------------------------------


def _md_cell(value: object) -> str:
    # a pipe would end the cell and a newline the row
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(frame: pd.DataFrame, row_labels: bool = False) -> str:
    """``frame`` as a pipe table (GitHub-flavoured Markdown)."""
    cols = [_md_cell(c) for c in frame.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in frame.itertuples(index=False):
        cells = [_md_cell(v) for v in row]
        if row_labels and cells:
            cells[0] = f"**{cells[0]}**"
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def flowchart_path(path: Path) -> Path:
    """Where the schema PNG of a Markdown protocol goes: ``protocol.md`` ->
    ``protocol_flowchart.png`` in the same folder."""
    return path.with_name(f"{path.stem}_flowchart.png")


def render_markdown(section: ProtocolSection, image_name: str) -> bytes:
    """The section as Markdown, the schema linked as ``image_name`` (a relative path)."""
    out = [f"# {section.title}", ""]
    for heading, blocks in outline(section):
        out += [f"## {heading}", ""]
        for block in blocks:
            if isinstance(block, Paragraph):
                out += [block.text, ""]
            elif isinstance(block, Bullets):
                out += [f"- {item}" for item in block.items] + [""]
            elif isinstance(block, Image):
                out += [
                    f"![{block.caption}]({image_name})",
                    "",
                    f"**{block.label}.** {block.caption}",
                    "",
                ]
            else:
                out += [
                    f"**{block.label}.** {block.caption}",
                    "",
                    markdown_table(block.frame, block.row_labels),
                    "",
                ]
                out += [f"*{note}*\n" for note in block.notes]
    return ("\n".join(out).rstrip() + "\n").encode("utf-8")


# --- writing -------------------------------------------------------------------------------


def atomic_write(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename, so
    that readers see the old file or the new one, never a partial one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # keep the mode of a file being replaced; a new file gets the usual rw-r--r--
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def check_output(path: str | Path) -> Path:
    """``path`` as a Path, checked to end in a suffix :func:`write_protocol` writes."""
    p = Path(path)
    if p.suffix.lower() not in FORMATS:
        raise ValueError(
            f"output: cannot write {p.suffix or 'a file without a suffix'!r} "
            f"({p.name}); use one of {', '.join(FORMATS)}"
        )
    return p


def _write_markdown(section: ProtocolSection, path: Path) -> None:
    png_path = flowchart_path(path)
    text = render_markdown(section, png_path.name)
    existed = png_path.exists()
    atomic_write(png_path, section.flowchart_png)
    try:
        atomic_write(path, text)
    except BaseException:
        # the figure alone is no protocol: take back a figure this call created
        if not existed:
            with contextlib.suppress(FileNotFoundError):
                png_path.unlink()
        raise


_RENDERERS: Mapping[str, Callable[[ProtocolSection], bytes]] = {
    ".docx": render_docx,
    ".html": render_html,
}


def write_protocol(
    section_or_design: ProtocolSection | Any,
    path: str | Path,
    scenarios: Mapping[str, Sequence[float]] | None = None,
    **kw: Any,
) -> Path:
    """Write the statistical section of a protocol to ``path``, by its suffix: ``.docx``,
    ``.html`` or ``.md`` (any other suffix raises ``ValueError("output: ...")`` before
    anything is computed or written).

    ``section_or_design`` is a :class:`ProtocolSection`, or a design from which
    :func:`~earlyphase.protocol.section.protocol_section` builds one with ``scenarios`` and
    the keywords ``title``, ``method``, ``n_sims``, ``seed``. A Markdown protocol's schema
    is written next to it (:func:`flowchart_path`). Returns the path written.

    Examples
    --------
    >>> import tempfile
    >>> from earlyphase.designs import ThreePlusThree
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = write_protocol(ThreePlusThree(3), Path(tmp) / "protocol.md",
    ...                          {"middle dose at target": [0.05, 0.25, 0.5]})
    ...     "| Patients at dose | DLTs | Decision |" in out.read_text()
    True
    """
    out = check_output(path)
    if isinstance(section_or_design, ProtocolSection):
        if scenarios is not None or kw:
            raise ValueError(
                "scenarios: a ProtocolSection is already computed; give the design instead to "
                "change its scenarios or settings"
            )
        section = section_or_design
    else:
        section = protocol_section(section_or_design, scenarios, **kw)
    suffix = out.suffix.lower()
    if suffix == ".md":
        _write_markdown(section, out)
    else:
        atomic_write(out, _RENDERERS[suffix](section))
    return out
