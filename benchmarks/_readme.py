"""Write a benchmark's results table into its section of ``benchmarks/README.md``."""

from __future__ import annotations

from pathlib import Path

README = Path(__file__).parent / "README.md"


def write_results(section: str, report: str) -> None:
    """Replace what stands between ``<!-- {section}-results -->`` and
    ``<!-- /{section}-results -->`` with ``report``; refuse (README untouched) when the
    markers are not there exactly once and in order."""
    start, end = f"<!-- {section}-results -->", f"<!-- /{section}-results -->"
    text = README.read_text()
    if text.count(start) != 1 or text.count(end) != 1 or text.index(start) > text.index(end):
        raise SystemExit(f"{README}: needs one '{start}' followed by one '{end}'")
    head, _, rest = text.partition(start)
    _, _, tail = rest.partition(end)
    README.write_text(f"{head}{start}\n{report}\n{end}{tail}")
