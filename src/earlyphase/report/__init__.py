"""The report: a trial's results section as one self-contained HTML file, printable to PDF,
and the same content as a Word document, SVG figures and tables as data."""

from earlyphase.report.define import DesignInfo
from earlyphase.report.html import build_report, render_report, write_pdf, write_tables
from earlyphase.report.word import render_docx, write_docx

__all__ = [
    "DesignInfo",
    "build_report",
    "render_docx",
    "render_report",
    "write_docx",
    "write_pdf",
    "write_tables",
]
