"""Time kaplan_meier and cumulative_incidence on 10^6 subjects against R survfit and cmprsk.

Run on demand (``make benchmark``); not part of the test suite. Both sides get the same data
(written to a CSV that R reads) and are timed in-process on data already in memory, as the
median of several repetitions. R must be on the PATH with the survival and cmprsk packages
(Debian: r-base-core r-cran-survival r-cran-cmprsk); without it only our times are reported.

Usage: python benchmarks/bench_survival.py [--n 1000000] [--repeat 3] [--write-readme]
"""

from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from _readme import write_results

from earlyphase.stats import cumulative_incidence, kaplan_meier

HERE = Path(__file__).parent
WORK = HERE / "_work"

R_SCRIPT = r"""
suppressMessages({library(survival); library(cmprsk)})
args <- commandArgs(TRUE); d <- read.csv(args[1]); rep <- as.integer(args[2])
tm <- function(expr) {
  ts <- c()
  for (i in 1:rep) ts <- c(ts, system.time(eval.parent(substitute(expr)))[["elapsed"]])
  median(ts)
}
km <- tm(f <- survfit(Surv(time, event) ~ 1, data = d))
ci <- tm(g <- cuminc(d$time, d$cause, cencode = 0))
cat(sprintf("km %.6f\nci %.6f\n", km, ci))
cat(sprintf("check_km %.10f\n", summary(f, times = 1)$surv))
cat(sprintf("check_ci %.10f\n", timepoints(g, 1)$est[1, 1]))
"""


def make_data(n: int, seed: int = 20261122) -> pd.DataFrame:
    """Exponential event and censoring times rounded to 0.01 (many ties), two causes."""
    rng = np.random.default_rng(seed)
    event_time = rng.exponential(2.0, n)
    censor_time = rng.uniform(0, 6, n)
    time_ = np.round(np.minimum(event_time, censor_time), 2)
    observed = event_time <= censor_time
    cause = np.where(observed, rng.integers(1, 3, n), 0)
    return pd.DataFrame({"time": time_, "event": observed.astype(int), "cause": cause})


def median_time(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--write-readme", action="store_true")
    args = ap.parse_args()

    data = make_data(args.n)
    t, e, c = data["time"].to_numpy(), data["event"].to_numpy(), data["cause"].to_numpy()
    ours_km = median_time(lambda: kaplan_meier(t, e), args.repeat)
    ours_ci = median_time(lambda: cumulative_incidence(t, c), args.repeat)
    check_km = float(kaplan_meier(t, e).survival_at([1.0])[0])
    check_ci = float(cumulative_incidence(t, c).estimate_at([1.0], cause=1)[0])

    r_km = r_ci = float("nan")
    r_version = "R not found"
    if shutil.which("Rscript"):
        WORK.mkdir(exist_ok=True)
        csv = WORK / "survival_data.csv"
        data.to_csv(csv, index=False)
        script = WORK / "bench.R"
        script.write_text(R_SCRIPT)
        out = subprocess.run(
            ["Rscript", str(script), str(csv), str(args.repeat)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        vals = dict(line.split() for line in out.strip().splitlines())
        r_km, r_ci = float(vals["km"]), float(vals["ci"])
        assert abs(float(vals["check_km"]) - check_km) < 1e-9, "KM estimates differ from R"
        assert abs(float(vals["check_ci"]) - check_ci) < 1e-9, "CIF estimates differ from R"
        r_version = subprocess.run(
            [
                "Rscript",
                "-e",
                'cat(R.version.string, "survival", format(packageVersion("survival")),'
                ' "cmprsk", format(packageVersion("cmprsk")))',
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    rows = [
        ("kaplan_meier vs survfit", ours_km, r_km),
        ("cumulative_incidence vs cmprsk::cuminc", ours_ci, r_ci),
    ]
    cpu = platform.processor() or platform.machine()
    lines = [
        f"n = {args.n:,} subjects, median of {args.repeat} runs; {cpu},"
        f" Python {platform.python_version()}, {r_version}.",
        "",
        "| task | earlyphase (s) | R (s) | R time / earlyphase time |",
        "| --- | --- | --- | --- |",
    ]
    for name, ours, theirs in rows:
        lines.append(f"| {name} | {ours:.3f} | {theirs:.3f} | {theirs / ours:.1f}x |")
    report = "\n".join(lines)
    print(report)
    if args.write_readme:
        write_results("survival", report)


if __name__ == "__main__":
    main()
