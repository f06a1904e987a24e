"""Dose-finding designs: our simulation and exact OCs against R BOIN::get.oc and dfcrm::crmsim.

Run on demand (``make benchmark``). R with BOIN 2.7.2 and dfcrm 0.2-2.1 is looked for through
``R_LIBS`` (default /opt/peers/Rlib, see ../shared/peers/SETUP.md); without it only our times
are reported. Each comparison also checks that both sides give the same selection
probabilities within Monte Carlo error, so the timings compare like with like.

Usage: python benchmarks/bench_designs.py [--write-readme]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable

import numpy as np
from _readme import write_results

from earlyphase.designs import BOIN, CRM, ThreePlusThree

BOIN_TRUTH = [0.05, 0.15, 0.30, 0.45, 0.60]
CRM_SKELETON = [0.05, 0.12, 0.25, 0.40, 0.55, 0.70]
CRM_TRUTH = [0.02, 0.05, 0.12, 0.25, 0.40, 0.55]

R_CODE = {
    "boin": """suppressMessages(library(BOIN))
t <- system.time(oc <- get.oc(target = 0.3, p.true = c(0.05, 0.15, 0.30, 0.45, 0.60),
                 ncohort = 10, cohortsize = 3, ntrial = 10000, seed = 6))[["elapsed"]]
cat(sprintf("time %.4f\\n", t)); cat("sel", oc$selpercent / 100, "\\n")""",
    "crm": """suppressMessages(library(dfcrm))
t <- system.time(s <- crmsim(PI = c(0.02, 0.05, 0.12, 0.25, 0.40, 0.55),
                 prior = c(0.05, 0.12, 0.25, 0.40, 0.55, 0.70), target = 0.25, n = 24, x0 = 1,
                 nsim = 1000, mcohort = 1, restrict = TRUE, count = FALSE))[["elapsed"]]
cat(sprintf("time %.4f\\n", t)); cat("sel", s$MTD, "\\n")""",
}


def timed(fn: Callable[[], object], repeat: int = 3) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def run_r(code: str) -> tuple[float, np.ndarray] | None:
    if not shutil.which("Rscript"):
        return None
    env = {**os.environ, "R_LIBS": os.environ.get("R_LIBS", "/opt/peers/Rlib")}
    res = subprocess.run(["Rscript", "-e", code], capture_output=True, text=True, env=env)
    if res.returncode != 0:
        return None
    lines = dict(line.split(" ", 1) for line in res.stdout.strip().splitlines())
    return float(lines["time"]), np.array([float(v) for v in lines["sel"].split()])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--write-readme", action="store_true")
    args = ap.parse_args()
    rows = []

    boin = BOIN(0.3, 5, cohort_size=3, n_cohorts=10)
    t_boin, oc = timed(
        lambda: boin.operating_characteristics(BOIN_TRUTH, "simulate", 10_000, seed=1)
    )
    r = run_r(R_CODE["boin"])
    if r is not None:
        se = np.sqrt(2 * 0.25 / 10_000)
        assert np.all(np.abs(oc.selection[:5] - r[1]) < 5 * se), "BOIN selections differ from R"  # type: ignore[attr-defined]
    rows.append(
        (
            "BOIN, 10,000 simulated trials (5 doses, 10 cohorts of 3) vs BOIN::get.oc",
            t_boin,
            r[0] if r else float("nan"),
        )
    )

    crm = CRM(CRM_SKELETON, 0.25, n_patients=24, cohort_size=1)
    t_crm, oc_c = timed(lambda: crm.operating_characteristics(CRM_TRUTH, "simulate", 1_000, seed=1))
    r = run_r(R_CODE["crm"])
    if r is not None:
        r_sel = r[1]  # crmsim's $MTD: selection proportions per dose
        se = np.sqrt(2 * 0.25 / 1_000)
        assert np.all(np.abs(oc_c.selection[:6] - r_sel) < 5 * se), "CRM selections differ from R"  # type: ignore[attr-defined]
    rows.append(
        (
            "CRM, 1,000 simulated trials (6 doses, N = 24, cohorts of 1) vs dfcrm::crmsim",
            t_crm,
            r[0] if r else float("nan"),
        )
    )

    t_exact_boin, _ = timed(lambda: boin.operating_characteristics(BOIN_TRUTH, "exact"))
    t_exact_33, _ = timed(
        lambda: ThreePlusThree(5).operating_characteristics(
            [0.05, 0.10, 0.20, 0.30, 0.50], "exact"
        ),
        repeat=5,
    )
    rows.append(("BOIN exact OCs, N = 30 (target: under 1 s)", t_exact_boin, float("nan")))
    rows.append(("3+3 exact OCs, 5 doses (target: under 0.05 s)", t_exact_33, float("nan")))

    lines = [
        "| task | earlyphase (s) | R (s) | R time / earlyphase time |",
        "| --- | --- | --- | --- |",
    ]
    for name, ours, theirs in rows:
        ratio = "" if np.isnan(theirs) else f"{theirs / ours:.0f}x"
        r_txt = "" if np.isnan(theirs) else f"{theirs:.2f}"
        lines.append(f"| {name} | {ours:.3f} | {r_txt} | {ratio} |")
    report = "\n".join(lines)
    print(report)
    if args.write_readme:
        write_results("design", report)


if __name__ == "__main__":
    main()
