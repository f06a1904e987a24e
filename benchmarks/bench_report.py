"""A 1,000-subject trial with 20,000 AE records: load, every table, the HTML report and the
same report as a Word document.

Target: under 10 s in all. Run on demand: ``python benchmarks/bench_report.py
[--write-readme]`` (which rewrites the report section of benchmarks/README.md only).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _readme import write_results
from docx import Document

from earlyphase.data import load_trial
from earlyphase.report import build_report, render_report
from earlyphase.report.html import running_header
from earlyphase.report.word import write_docx


def make_trial(folder: Path, n: int = 1000, n_ae: int = 20_000, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    ids = [f"S{i:04d}" for i in range(n)]
    dose = rng.choice([0.5, 1.0, 2.0], n)
    death = rng.random(n) < 0.3
    t = np.round(rng.exponential(400, n), 0) + 1
    pd.DataFrame(
        {
            "USUBJID": ids,
            "TRT01A": [f"{d:.1f} x 10^6 cells/kg" for d in dose],
            "DOSELVL": dose,
            "AGE": rng.integers(18, 80, n),
            "SEX": rng.choice(["M", "F"], n),
            "WEIGHT": np.round(rng.normal(65, 12, n).clip(35, 150), 1),
            "SAFFL": "Y",
            "EOSSTT": np.where(death, "DISCONTINUED", "COMPLETED"),
            "DCSREAS": np.where(death, "DEATH", ""),
            "DTHFL": np.where(death, "Y", "N"),
        }
    ).to_csv(folder / "adsl.csv", index=False)
    pd.DataFrame(
        {"USUBJID": ids, "PARAMCD": "OS", "AVAL": t, "CNSR": np.where(death, 0, 1)}
    ).to_csv(folder / "adtte.csv", index=False)
    socs = [f"SOC {k}" for k in range(25)]
    pts = {s: [f"{s} term {j}" for j in range(12)] for s in socs}
    soc = rng.choice(socs, n_ae)
    subject = rng.choice(n, n_ae)
    grade = rng.choice([1, 2, 3, 4, 5], n_ae, p=[0.5, 0.3, 0.15, 0.04, 0.01])
    # a grade 5 (fatal) event only for a subject who died: the loader checks it against DTHFL
    grade = np.where((grade == 5) & ~death[subject], 4, grade)
    pd.DataFrame(
        {
            "USUBJID": np.asarray(ids)[subject],
            "AESOC": soc,
            "AEDECOD": [pts[s][k] for s, k in zip(soc, rng.integers(0, 12, n_ae), strict=True)],
            "AETOXGR": grade,
            "AESER": rng.choice(["Y", "N"], n_ae, p=[0.1, 0.9]),
            "AEREL": rng.choice(["Y", "N"], n_ae),
            "ASTDY": rng.integers(1, 365, n_ae),
        }
    ).to_csv(folder / "adae.csv", index=False)
    pd.DataFrame(
        [
            {"USUBJID": s, "EXSEQ": k + 1, "EXDY": 1 + 7 * k, "EXDOSE": d}
            for s, d in zip(ids, dose, strict=True)
            for k in range(4)
        ]
    ).to_csv(folder / "adex.csv", index=False)
    (folder / "trial.json").write_text('{"title": "Benchmark trial", "landmarks": [100, 365]}')


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--write-readme", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        make_trial(folder)
        start = time.perf_counter()
        trial = load_trial(folder)
        loaded = time.perf_counter()
        render_report(trial, folder / "report.html", docx_path=folder / "report.docx")
        done = time.perf_counter()
        # the Word document's share, timed again on its own
        content = build_report(trial)
        word_start = time.perf_counter()
        write_docx(content, folder / "again.docx", header=running_header(trial))
        word = time.perf_counter() - word_start
        rows = max(len(t.rows) for t in Document(str(folder / "report.docx")).tables)
    report = (
        f"| 1,000 subjects, 20,000 AE records: load and validate | {loaded - start:.2f} s |\n"
        f"| all tables, figures, the HTML report and the Word document | "
        f"{done - loaded:.2f} s |\n"
        f"| of which the Word document (longest table: {rows:,} rows) | {word:.2f} s |\n"
        f"| total (target under 10 s) | {done - start:.2f} s |"
    )
    print(report)
    if args.write_readme:
        write_results("report", f"| step | time |\n| --- | --- |\n{report}")


if __name__ == "__main__":
    main()
