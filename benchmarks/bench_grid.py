"""Overhead of the scenario-grid runner (``earlyphase grid``) against running the same tasks
in one process.

The grid: BOIN, 3+3 and CRM (two skeletons) over 6 scenarios of 5 doses, 24,000 trials per
scenario in chunks of 4,000 (36 tasks), and the same with ten times the trials (360 tasks), to
show which part of the overhead is fixed per run. Timed: the tasks in one fresh process
(``workers=0``, timed after it has imported the designs and read the grid, which builds every
design once), on a Dask LocalCluster with one worker process (the runner's overhead:
scheduling, pickling, result transfer and combination), and with one worker per core.
Start-up (starting the cluster, connecting a client, every worker importing and building the
grid's designs once, as reading the grid does in the main process) is timed apart from the
run; both are reported, with and without it. The numbers must be identical in all runs
(checked). Every run builds its designs and learns their decisions afresh, in each process.

Usage: python benchmarks/bench_grid.py [--write-readme] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import pickle
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from _readme import write_results

from earlyphase.simulate.grid import Grid, local_cluster, parse_grid, prepare_workers, run_grid

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


def grid_of(scale: int) -> Grid:
    """The grid with ``scale`` times its trials (chunks of the same size: more tasks)."""
    return parse_grid({**GRID, "n_sims": GRID["n_sims"] * scale})  # type: ignore[operator]


def timed(scale: int, **kw: object) -> tuple[float, pd.DataFrame]:
    grid = grid_of(scale)
    t0 = time.perf_counter()
    result = run_grid(grid, **kw)  # type: ignore[arg-type]
    return time.perf_counter() - t0, result


ALONE = """
import pickle, sys, time
sys.path.insert(0, {here!r})
from bench_grid import grid_of
from earlyphase.simulate.grid import _import_task_modules, run_grid
_import_task_modules()
grid = grid_of(int(sys.argv[2]))
t0 = time.perf_counter()
result = run_grid(grid, workers=0)
elapsed = time.perf_counter() - t0
with open(sys.argv[1], "wb") as f:
    pickle.dump((elapsed, result), f)
"""


def in_one_process(scale: int) -> tuple[float, pd.DataFrame]:
    """The grid with ``workers=0`` in a fresh interpreter, timed after it has imported the
    designs and read the grid, as a worker has after start-up; so the difference is the
    runner's."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "alone.pkl"
        code = ALONE.format(here=str(Path(__file__).parent))
        subprocess.run([sys.executable, "-c", code, str(out), str(scale)], check=True)
        with out.open("rb") as f:
            elapsed, result = pickle.load(f)
    return float(elapsed), result


def on_cluster(workers: int, scale: int) -> tuple[float, float, pd.DataFrame]:
    """Start-up of a LocalCluster as ``earlyphase grid`` starts one (cluster, client, the
    workers importing and building the grid's designs, as this process did when it read the
    grid), then the grid on it."""
    from dask.distributed import Client

    t0 = time.perf_counter()
    cluster = local_cluster(workers)
    client = Client(cluster)
    prepare_workers(client, grid_of(scale))
    start = time.perf_counter() - t0
    try:
        run, result = timed(scale, client=client)
    finally:
        client.close()
        cluster.close()
    return start, run, result


def measure(scale: int, repeat: int, cores: int) -> tuple[list[str], float, float]:
    """Table rows for the grid at ``scale``; the runner's overhead without and with start-up."""
    # interleaved, median of ``repeat``: the machine's other load falls on all alike
    runs = [
        (in_one_process(scale), on_cluster(1, scale), on_cluster(cores, scale))
        for _ in range(repeat)
    ]
    for r in runs:
        pd.testing.assert_frame_equal(runs[0][0][1], r[0][1])
        pd.testing.assert_frame_equal(runs[0][0][1], r[1][2])
        pd.testing.assert_frame_equal(runs[0][0][1], r[2][2])
    med = statistics.median
    t_alone = med(r[0][0] for r in runs)
    s_one, t_one = med(r[1][0] for r in runs), med(r[1][1] for r in runs)
    s_all, t_all = med(r[2][0] for r in runs), med(r[2][1] for r in runs)
    grid = grid_of(scale)
    what = f"{len(grid.tasks())} tasks, {grid.n_sims:,} trials per scenario"
    rows = [
        f"| {what}: one fresh process (`--workers 0`) | - | {t_alone:.2f} | 1.00 | 1.00 |",
        f"| {what}: LocalCluster, 1 worker (runner overhead) | {s_one:.2f} | {t_one:.2f} |"
        f" {t_one / t_alone:.3f} | {(s_one + t_one) / t_alone:.2f} |",
        f"| {what}: LocalCluster, {cores} workers | {s_all:.2f} | {t_all:.2f} |"
        f" {t_all / t_alone:.3f} | {(s_all + t_all) / t_alone:.2f} |",
    ]
    return rows, t_one / t_alone - 1, (s_one + t_one) / t_alone - 1


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--write-readme", action="store_true")
    ap.add_argument("--repeat", type=int, default=5, help="interleaved runs of each kind")
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    load_before = os.getloadavg()[0]
    rows, notes = [], []
    for scale in (1, 10):
        got, over, over_start = measure(scale, args.repeat, cores)
        rows += got
        verdict = "met" if over < 0.10 else "missed"
        notes.append(
            f"{grid_of(scale).n_sims:,} trials per scenario: {100 * over:+.1f} % without "
            f"start-up (target under 10 %: {verdict}), {100 * over_start:+.0f} % with it"
        )
    load_after = os.getloadavg()[0]
    report = "\n".join(
        [
            "| grid (4 variants x 6 scenarios, chunks of 4,000), run | start-up, s | run, s |"
            " run vs one process | start-up + run vs one process |",
            "|---|---:|---:|---:|---:|",
            *rows,
            "",
            "Runner overhead with one worker against the same grid in one process: "
            + "; ".join(notes)
            + ". Start-up (the cluster, a client, the workers importing and building the "
            "designs) is paid "
            f"once per `earlyphase grid`. Medians of {args.repeat} interleaved runs; identical "
            f"results in all of them. Python {platform.python_version()}, {cores} cores, "
            f"1-minute load average {load_before:.1f} before and {load_after:.1f} after"
            + (
                " (the machine was shared: other work ran alongside)."
                if max(load_before, load_after) > 0.5
                else "."
            ),
        ]
    )
    print(report)
    if args.write_readme:
        write_results("grid", report)


if __name__ == "__main__":
    main()
