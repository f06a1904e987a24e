"""Simulation at scale: peak memory of 10^6 and 10^7 simulated BOIN trials, and the time of
exact BOIN operating characteristics for N = 30, 60 and 90.

Each measurement runs in a fresh subprocess, which reports its wall and CPU time and its peak
resident memory (``resource.getrusage(RUSAGE_SELF).ru_maxrss``, which includes the
interpreter and NumPy/SciPy, about 100 MiB). Simulation: BOIN (target 0.3, 5 doses, 10
cohorts of 3) under one scenario, in chunks of the default size; "one chunk" holds every
trial at once, as simulation did before it ran in chunks. Exact: BOIN with 5 doses and cohorts
of 3, 10, 20 and 30 cohorts; a run is stopped past ``--exact-limit`` seconds or
``--exact-memory`` GiB of address space and reported as such.

Usage: python benchmarks/bench_scale.py [--write-readme] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys

from _readme import write_results

TRUTH = [0.05, 0.12, 0.25, 0.40, 0.55]

CHILD = """
import json, resource, sys, time
import numpy as np
from earlyphase.designs import BOIN
from earlyphase.engine.exact import exact_oc
from earlyphase.engine.monte_carlo import simulate_oc
kind, size, chunk = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
p = np.array({truth})
t0, c0 = time.perf_counter(), time.process_time()
if kind == "simulate":
    oc = simulate_oc(BOIN(0.3, 5, n_cohorts=10), p, n_sims=size, seed=1, chunk_size=chunk)
    extra = dict(p_select_3=float(oc.selection[2]))
else:
    oc = exact_oc(BOIN(0.3, 5, n_cohorts=size), p)
    extra = dict(states=oc.n_terminal_states, p_select_3=float(oc.selection[2]))
print(json.dumps(dict(
    wall=time.perf_counter() - t0,
    cpu=time.process_time() - c0,
    maxrss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    **extra,
)))
"""


def run(kind: str, size: int, chunk: int, limit: float | None, memory_gib: float | None) -> dict:
    """One measurement in a fresh interpreter; {"error": why} when it did not finish."""

    def cap() -> None:
        if memory_gib is not None:
            import resource

            lim = int(memory_gib * 2**30)
            resource.setrlimit(resource.RLIMIT_AS, (lim, lim))

    try:
        out = subprocess.run(
            [sys.executable, "-c", CHILD.format(truth=TRUTH), kind, str(size), str(chunk)],
            capture_output=True,
            text=True,
            timeout=limit,
            preexec_fn=cap,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"stopped after {limit:.0f} s"}
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["?"])[-1]
        if "MemoryError" in out.stderr or out.returncode < 0:
            return {"error": f"out of memory (address space limited to {memory_gib:g} GiB)"}
        return {"error": last}
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write-readme", action="store_true", help="record in benchmarks/README.md")
    ap.add_argument("--quick", action="store_true", help="10^5 and 10^6 trials; N = 30, 60")
    ap.add_argument("--exact-limit", type=float, default=1800.0, help="seconds per exact run")
    ap.add_argument("--exact-memory", type=float, default=12.0, help="GiB per exact run")
    args = ap.parse_args()

    from earlyphase.engine.monte_carlo import CHUNK

    sims = [10**5, 10**6] if args.quick else [10**6, 10**7]
    lines = [
        f"Python {platform.python_version()}, {os.cpu_count()} cores "
        f"(shared with other work while measured; CPU time is the steadier figure).",
        "",
        "| simulated BOIN trials (N = 30) | chunk | wall s | CPU s | peak RSS MiB |",
        "|---:|---:|---:|---:|---:|",
    ]
    cases = [(n, CHUNK) for n in sims] + [(sims[0], sims[0])]
    for n, chunk in cases:
        r = run("simulate", n, chunk, None, None)
        label = f"{chunk:,}" if chunk != n else "one chunk"
        if "error" in r:
            lines.append(f"| {n:,} | {label} | {r['error']} | | |")
        else:
            lines.append(
                f"| {n:,} | {label} | {r['wall']:.1f} | {r['cpu']:.1f} | {r['maxrss_mib']:.0f} |"
            )
        print(lines[-1], flush=True)
    lines += [
        "",
        "| exact BOIN, 5 doses, cohorts of 3 | wall s | CPU s | peak RSS MiB | terminal states |",
        "|---|---:|---:|---:|---:|",
    ]
    for cohorts in [10, 20] if args.quick else [10, 20, 30]:
        r = run("exact", cohorts, 0, args.exact_limit, args.exact_memory)
        label = f"N = {3 * cohorts} ({cohorts} cohorts)"
        if "error" in r:
            lines.append(f"| {label} | {r['error']} | | | |")
        else:
            lines.append(
                f"| {label} | {r['wall']:.2f} | {r['cpu']:.2f} | {r['maxrss_mib']:.0f} "
                f"| {r['states']:,} |"
            )
        print(lines[-1], flush=True)
    report = "\n".join(lines)
    if args.write_readme:
        write_results("scale", report)


if __name__ == "__main__":
    main()
