"""Cold start of the command line: ``earlyphase decide`` as a whole process, against
``python -c pass``.

Target: ``earlyphase decide boin ...`` answers in under 0.5 s. The CLI imports only Typer,
Rich and the settings registry at start; a dose-finding decision then needs NumPy and the
design's own modules, never pandas, SciPy or Matplotlib (``tests/test_cli_designs.py`` checks
that without timing anything). Each command runs as a fresh process, in turn with the baseline
(A B A B ...), after warm-up runs that fill the file cache; the table gives the median wall
time of each and the median of the per-pair ratios, which stays meaningful when the machine's
speed drifts. Run on demand (``make benchmark``); ``--write-readme`` writes the table into
benchmarks/README.md. ``python -X importtime -c "import earlyphase.cli"`` shows where the rest
of the time goes.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _readme import write_results

SCRIPT = Path(sys.executable).with_name("earlyphase")
BASELINE = [sys.executable, "-c", "pass"]
COMMANDS = {
    "earlyphase decide boin --target 0.3 --n-doses 5 --outcomes '1NNN 2NTN'": [
        "decide",
        "boin",
        "--target",
        "0.3",
        "--n-doses",
        "5",
        "--outcomes",
        "1NNN 2NTN",
    ],
    "earlyphase decide 3+3 --doses 3 --outcomes '1NNN 2NTN'": [
        "decide",
        "3+3",
        "--doses",
        "3",
        "--outcomes",
        "1NNN 2NTN",
    ],
    "earlyphase decide crm --skeleton 0.05,0.12,0.25,0.4 --target 0.25 --outcomes '1NNN 2NTN'": [
        "decide",
        "crm",
        "--skeleton",
        "0.05,0.12,0.25,0.4",
        "--target",
        "0.25",
        "--outcomes",
        "1NNN 2NTN",
    ],
    "earlyphase --help": ["--help"],
}


def cli(args: list[str]) -> list[str]:
    """The installed console script (or the same app through this interpreter)."""
    if SCRIPT.exists():
        return [str(SCRIPT), *args]
    return [sys.executable, "-c", "from earlyphase.cli import app; app()", *args]


def wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def paired(cmd: list[str], runs: int, warmup: int) -> tuple[float, float, float]:
    """Median wall time of ``cmd`` and of the baseline, and the median per-pair ratio."""
    for _ in range(warmup):
        wall(cmd)
        wall(BASELINE)
    a, b = [], []
    for _ in range(runs):
        a.append(wall(cmd))
        b.append(wall(BASELINE))
    ratios = [x / y for x, y in zip(a, b, strict=True)]
    return statistics.median(a), statistics.median(b), statistics.median(ratios)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=30, help="timed runs of each command")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--write-readme", action="store_true")
    args = ap.parse_args()
    lines = [
        f"Median of {args.runs} runs each (after {args.warmup} warm-up runs), whole processes "
        f"alternating with `python -c pass`; {platform.machine()}, Python "
        f"{platform.python_version()}.",
        "",
        "| command | wall (s) | `python -c pass` (s) | ratio |",
        "| --- | --- | --- | --- |",
    ]
    for label, argv in COMMANDS.items():
        ours, base, ratio = paired(cli(argv), args.runs, args.warmup)
        lines.append(f"| `{label}` | {ours:.3f} | {base:.3f} | {ratio:.1f}x |")
    report = "\n".join(lines)
    print(report)
    if args.write_readme:
        write_results("cli-start", report)


if __name__ == "__main__":
    main()
