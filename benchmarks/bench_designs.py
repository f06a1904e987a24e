"""Dose-finding designs: our simulation and exact OCs against R BOIN::get.oc and dfcrm::crmsim.

Run on demand (``make benchmark``). R with BOIN 2.7.2 and dfcrm 0.2-2.1 is looked for through
``R_LIBS`` (default /opt/peers/Rlib, see ../shared/peers/SETUP.md); without it only our times
are reported. Both sides simulate the same design and scenario with the same number of trials
(one call each; every call starts from an empty transition table, so nothing learnt by an
earlier call is reused), and
each comparison first checks that both give the same selection probabilities within Monte
Carlo error, so the timings compare like with like. R and our runs alternate ``--repeat``
times and the medians are compared per trial. The 10^6-trial CRM run is one process.

Usage: python benchmarks/bench_designs.py [--write-readme] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable

import numpy as np
from _readme import write_results

from earlyphase.designs import BOIN, CRM, ThreePlusThree
from earlyphase.engine.results import OperatingCharacteristics

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
BOIN_TRIALS, CRM_TRIALS, CRM_MILLION = 10_000, 1_000, 1_000_000


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


def side_by_side(
    ours: Callable[[], OperatingCharacteristics], r_code: str, n_sims: int, repeat: int
) -> tuple[float, float]:
    """Median seconds of ours and of R, alternating; checks the selections agree first."""
    t_ours, t_r = [], []
    for _ in range(repeat):
        t, oc = timed(ours, repeat=3)
        t_ours.append(t)
        r = run_r(r_code)
        if r is None:
            continue
        k = len(r[1])
        se = np.sqrt(2 * 0.25 / n_sims)
        diff = np.abs(oc.selection[:k] - r[1])
        assert np.all(diff < 5 * se), f"selections differ from R: {oc.selection[:k]} vs {r[1]}"
        t_r.append(r[0])
    return statistics.median(t_ours), statistics.median(t_r) if t_r else float("nan")


def per_trial(seconds: float, n_sims: int) -> str:
    us = 1e6 * seconds / n_sims
    return f"{us:,.1f} µs" if us < 1000 else f"{us / 1000:,.2f} ms"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--write-readme", action="store_true")
    ap.add_argument("--repeat", type=int, default=3, help="alternating runs of ours and R")
    args = ap.parse_args()
    load_before = os.getloadavg()[0]

    boin = BOIN(0.3, 5, cohort_size=3, n_cohorts=10)
    crms = {c: CRM(CRM_SKELETON, 0.25, n_patients=24, cohort_size=c) for c in (1, 3)}

    def boin_oc() -> OperatingCharacteristics:
        return boin.operating_characteristics(BOIN_TRUTH, "simulate", BOIN_TRIALS, seed=1)

    def crm_oc(n_sims: int, cohort: int) -> OperatingCharacteristics:
        return crms[cohort].operating_characteristics(CRM_TRUTH, "simulate", n_sims, seed=1)

    boin_ours, boin_r = side_by_side(boin_oc, R_CODE["boin"], BOIN_TRIALS, args.repeat)
    crm_ours, crm_r = side_by_side(
        lambda: crm_oc(CRM_TRIALS, 1), R_CODE["crm"], CRM_TRIALS, args.repeat
    )
    million, _ = timed(lambda: crm_oc(CRM_MILLION, 3), repeat=args.repeat)
    t_exact_boin, _ = timed(lambda: boin.operating_characteristics(BOIN_TRUTH, "exact"))
    t_exact_33, _ = timed(
        lambda: ThreePlusThree(5).operating_characteristics(
            [0.05, 0.10, 0.20, 0.30, 0.50], "exact"
        ),
        repeat=5,
    )
    load_after = os.getloadavg()[0]

    def ratio(ours: float, theirs: float, target: int) -> str:
        if np.isnan(theirs):
            return "(R not found)"
        x = theirs / ours
        return f"{x:.0f}x ({'meets' if x >= target else 'misses'} the {target}x target)"

    def r_txt(theirs: float, n_sims: int) -> str:
        return "" if np.isnan(theirs) else f"{theirs:.2f} s ({per_trial(theirs, n_sims)})"

    lines = [
        "| task | trials, each side | earlyphase: total (per trial) | R: total (per trial) "
        "| R per trial / earlyphase per trial |",
        "| --- | ---: | --- | --- | --- |",
        f"| BOIN (5 doses, 10 cohorts of 3) vs BOIN::get.oc | {BOIN_TRIALS:,} "
        f"| {boin_ours:.4f} s ({per_trial(boin_ours, BOIN_TRIALS)}) "
        f"| {r_txt(boin_r, BOIN_TRIALS)} | {ratio(boin_ours, boin_r, 300)} |",
        f"| CRM (6 doses, N = 24, cohorts of 1) vs dfcrm::crmsim | {CRM_TRIALS:,} "
        f"| {crm_ours:.4f} s ({per_trial(crm_ours, CRM_TRIALS)}) "
        f"| {r_txt(crm_r, CRM_TRIALS)} | {ratio(crm_ours, crm_r, 200)} |",
        f"| CRM (6 doses, N = 24, cohorts of 3), one process | {CRM_MILLION:,} "
        f"| {million:.2f} s ({per_trial(million, CRM_MILLION)}) | | "
        f"target under 60 s: {'met' if million < 60 else 'missed'} |",
        f"| BOIN exact OCs, N = 30 (target: under 1 s) | | {t_exact_boin:.3f} s | | |",
        f"| 3+3 exact OCs, 5 doses (target: under 0.05 s) | | {t_exact_33:.3f} s | | |",
        "",
        f"Medians of {args.repeat} alternating runs (ours: each the median of 3 calls); "
        f"Python {platform.python_version()}, {os.cpu_count()} cores, 1-minute load average "
        f"{load_before:.1f} before and {load_after:.1f} after"
        + (
            " (the machine was shared: other work ran alongside)."
            if max(load_before, load_after) > 0.5
            else "."
        ),
    ]
    report = "\n".join(lines)
    print(report)
    if args.write_readme:
        write_results("design", report)


if __name__ == "__main__":
    main()
