"""Phase II designs: Simon search against clinfun's Fortran, Thall-Simon against ph2bayes, and
the EffTox simulation time.

Run on demand (``make benchmark``). R with clinfun 1.1.5 and ph2bayes 0.0.2 is looked for
through ``R_LIBS`` (default /opt/peers/Rlib). Results are written to benchmarks/README.md with
``--write-readme``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable

from _readme import write_results

from earlyphase.designs import EffTox, SimonTwoStage, ThallSimon, beta_prior
from earlyphase.designs.efftox import THALL_2014
from earlyphase.designs.simon import _search, simon_search

R_CODE = {
    "simon": """suppressMessages(library(clinfun))
invisible(ph2simon(0.1, 0.3, 0.05, 0.2, 100))
t <- system.time(for (i in 1:20) x <- ph2simon(0.1, 0.3, 0.05, 0.2, 100))[["elapsed"]] / 20
cat(sprintf("time %.5f\\n", t))""",
    "ts": """suppressMessages(library(ph2bayes))
t <- system.time(b <- stopbound_post(0.95, "superiority", 200, 1.225, 3.775, 30.87, 95.13,
                 0))[["elapsed"]]
cat(sprintf("time %.5f\\n", t))""",
}


def timed(fn: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run_r(code: str) -> float | None:
    if not shutil.which("Rscript"):
        return None
    env = {**os.environ, "R_LIBS": os.environ.get("R_LIBS", "/opt/peers/Rlib")}
    res = subprocess.run(["Rscript", "-e", code], capture_output=True, text=True, env=env)
    if res.returncode != 0:
        return None
    return float(res.stdout.split()[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--write-readme", action="store_true")
    args = ap.parse_args()
    simon_search(0.1, 0.3, 0.05, 0.2, 100)  # compile the kernel once (cached on disk)

    def simon() -> None:
        _search.cache_clear()
        SimonTwoStage.optimal(0.1, 0.3, 0.05, 0.2, 100)

    def ts() -> None:
        ThallSimon(
            beta_prior(0.245, 126), beta_prior(0.245, 5), p_upper=0.95, p_lower=None, n_max=200
        ).operating_characteristics([0.245, 0.45])

    def efftox() -> None:
        EffTox(**THALL_2014, n_patients=30).operating_characteristics(
            ([0.1, 0.2, 0.4, 0.6, 0.7], [0.05, 0.1, 0.15, 0.3, 0.5]), n_sims=1000, seed=1
        )

    rows = [
        (
            "Simon optimal/minimax search, n <= 100, vs clinfun::ph2simon (Fortran)",
            timed(simon, 5),
            run_r(R_CODE["simon"]),
        ),
        (
            "Thall-Simon efficacy boundaries and exact OCs, n_max = 200 (target under 1 s); R: "
            "ph2bayes::stopbound_post boundaries only",
            timed(ts),
            run_r(R_CODE["ts"]),
        ),
        (
            "EffTox, 1,000 simulated trials of 30 patients (target: well under a minute)",
            timed(efftox, 1),
            None,
        ),
    ]
    lines = [
        "| task | earlyphase (s) | R (s) | R time / earlyphase time |",
        "| --- | --- | --- | --- |",
    ]
    for name, ours, theirs in rows:
        r_txt = "" if theirs is None else f"{theirs:.4f}"
        ratio = "" if theirs is None else f"{theirs / ours:.1f}x"
        lines.append(f"| {name} | {ours:.4f} | {r_txt} | {ratio} |")
    report = "\n".join(lines)
    print(report)
    if args.write_readme:
        write_results("phase2", report)


if __name__ == "__main__":
    main()
