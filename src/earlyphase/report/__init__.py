"""The HTML report: a trial's results section as one self-contained file."""

from earlyphase.report.html import build_report, render_report, write_pdf, write_tables

__all__ = ["build_report", "render_report", "write_pdf", "write_tables"]
