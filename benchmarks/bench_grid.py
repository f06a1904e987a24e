"""Overhead of the scenario-grid runner (``earlyphase grid``) against running the same tasks
in one process.

The grid: BOIN, 3+3 and CRM (two skeletons) over 6 scenarios of 5 doses, 24,000 trials per
scenario in chunks of 4,000 (36 tasks). Timed: the tasks in this process (``workers=0``), on a
Dask LocalCluster with one worker process (the runner's overhead: scheduling, pickling, result
transfer and combination), and with one worker per core. Cluster start-up is included, as a
user meets it. The numbers must be identical in all three (checked).

Usage: python benchmarks/bench_grid.py [--write-readme]
"""

from __future__ import annotations

import argparse
import os
import time

import pandas as pd
from _readme import write_results

from earlyphase.simulate.grid import parse_grid, run_grid

SCENARIOS = [
    [0.30, 0.45, 0.55, 0.65, 0.75],
    [0.10, 0.30, 0.45, 0.55, 0.65],
    [0.05, 0.12, 0.30, 0.45, 0.60],
    [0.02, 0.06, 0.12, 0.30, 0.50],
    [0.02, 0.05, 0.08, 0.12, 0.30],
    [0.45, 0.55, 0.65, 0.75, 0.85],
]
GRID = {
    "seed": 2026,
    "n_sims": 24_000,
    "chunk": 4_000,
    "target": 0.3,
    "designs": [
        {"label": "BOIN", "design": "boin", "settings": {"target": 0.3, "n_doses": 5}},
        {"label": "3+3", "design": "3+3", "settings": {"n_doses": 5}},
        {
            "label": "CRM",
            "design": "crm",
            "settings": {"target": 0.3, "cohort_size": 3, "n_patients": 30},
            "vary": {"skeleton": [[0.05, 0.12, 0.25, 0.4, 0.55], [0.1, 0.2, 0.3, 0.4, 0.5]]},
        },
    ],
    "scenarios": [{"label": f"S{i + 1}", "truth": t} for i, t in enumerate(SCENARIOS)],
}


def timed(**kw: object) -> tuple[float, pd.DataFrame]:
    grid = parse_grid(GRID)
    t0 = time.perf_counter()
    result = run_grid(grid, **kw)  # type: ignore[arg-type]
    return time.perf_counter() - t0, result


def on_cluster(workers: int) -> tuple[float, float, pd.DataFrame]:
    """Start-up of a LocalCluster, then the grid on it (its workers import and compile what
    they need during the run, as the single process does)."""
    from dask.distributed import LocalCluster

    t0 = time.perf_counter()
    cluster = LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    start = time.perf_counter() - t0
    try:
        run, result = timed(scheduler=cluster.scheduler_address)
    finally:
        cluster.close()
    return start, run, result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--write-readme", action="store_true")
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    # interleaved twice, best of two: the machine's other load falls on both alike
    runs = [(timed(workers=0), on_cluster(1), on_cluster(cores)) for _ in range(2)]
    t_alone, alone = min((r[0] for r in runs), key=lambda x: x[0])
    s_one, t_one, one = min((r[1] for r in runs), key=lambda x: x[1])
    s_all, t_all, every = min((r[2] for r in runs), key=lambda x: x[1])
    pd.testing.assert_frame_equal(alone, one)
    pd.testing.assert_frame_equal(alone, every)
    n_tasks = len(parse_grid(GRID).tasks())
    report = "\n".join(
        [
            f"| run ({n_tasks} tasks: 4 variants x 6 scenarios x 24,000 trials) | start-up, s |"
            " run, s | run vs one process |",
            "|---|---:|---:|---:|",
            f"| one process (`--workers 0`) | - | {t_alone:.2f} | 1.00 |",
            f"| LocalCluster, 1 worker (runner overhead) | {s_one:.2f} | {t_one:.2f} |"
            f" {t_one / t_alone:.2f} |",
            f"| LocalCluster, {cores} workers | {s_all:.2f} | {t_all:.2f} |"
            f" {t_all / t_alone:.2f} |",
            "",
            f"Overhead of the runner with one worker: {100 * (t_one / t_alone - 1):+.1f} % of the "
            f"run, plus {s_one:.1f} s to start the cluster (paid once per `earlyphase grid`); "
            "identical results in all three runs. Each run includes its processes' first-call "
            "compilation.",
        ]
    )
    print(report)
    if args.write_readme:
        write_results("grid", report)


if __name__ == "__main__":
    main()
