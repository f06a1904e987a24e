"""Benchmark of the late-onset and dose-optimisation designs' simulations.

- TITE-CRM against R ``dfcrm::titesim`` (same scenario, measured in the same run): the
  selection probabilities are checked to agree within Monte Carlo error first, then the time
  per simulated trial is compared (target: at least 100x faster);
- BOIN12 and TITE-BOIN: 10,000 trials each (target: under 2 s each);
- BF-BOIN (backfill): 10,000 trials, for the record.

R runs with ``R_LIBS`` (default /opt/peers/Rlib); without Rscript only our times are shown.
``--write-readme`` writes the results between the ``late-onset-results`` markers of
benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

SKELETON = [0.05, 0.12, 0.25, 0.40, 0.55]
TRUTH = [0.05, 0.10, 0.25, 0.45, 0.60]
N_PATIENTS = 24
R_TRIALS = 200


def _r_titesim(n_trials: int) -> tuple[np.ndarray, float] | None:
    """dfcrm::titesim selection (per dose) and seconds per trial, or None without R."""
    if not shutil.which("Rscript"):
        return None
    code = f"""
suppressMessages(library(dfcrm))
set.seed(7)
t0 <- proc.time()[["elapsed"]]
s <- titesim(PI = c({", ".join(map(str, TRUTH))}), prior = c({", ".join(map(str, SKELETON))}),
             target = 0.25, n = {N_PATIENTS}, x0 = 1, nsim = {n_trials}, obswin = 1,
             rate = 1, restrict = TRUE, scheme = "linear")
el <- proc.time()[["elapsed"]] - t0
m <- s$MTD
if (length(m) == {n_trials}) m <- tabulate(m, nbins = {len(TRUTH)}) / {n_trials}
cat("RESULT", paste(m, collapse = ","), el, "\\n")
"""
    env = {**os.environ, "R_LIBS": os.environ.get("R_LIBS", "/opt/peers/Rlib")}
    res = subprocess.run(["Rscript", "-e", code], capture_output=True, text=True, env=env)
    if res.returncode:
        print(res.stderr, file=sys.stderr)
        return None
    line = next(v for v in res.stdout.splitlines() if v.startswith("RESULT"))
    _, sel, elapsed = line.split()
    return np.array([float(v) for v in sel.split(",")]), float(elapsed) / n_trials


def _median(fn: object, repeat: int = 3) -> float:
    """Median wall time of ``repeat`` calls (after the caller's warm-up call)."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--write-readme", action="store_true")
    ap.add_argument("--repeat", type=int, default=3, help="alternating runs of ours and R")
    args = ap.parse_args()
    load_before = os.getloadavg()[0]
    from earlyphase.designs.boin import BOIN
    from earlyphase.designs.boin12 import BOIN12
    from earlyphase.designs.tite_boin import TITEBOIN
    from earlyphase.designs.tite_crm import TITECRM

    lines = [
        "| simulation | trials | our time | per trial | reference | target | met |",
        "| --- | ---: | ---: | ---: | --- | --- | --- |",
    ]
    # TITE-CRM against dfcrm::titesim (titesim has no coherence rule)
    crm = TITECRM(SKELETON, 0.25, window=1.0, n_patients=N_PATIENTS, coherence=False)
    n_ours = 2000
    oc = crm.operating_characteristics(TRUTH, n_sims=n_ours, seed=1, accrual_rate=1.0)
    # ours (each the median of 3 calls) and R alternate, so the machine's other load falls on
    # both; the figures are the medians over the alternations
    ours_runs, r_runs = [], []
    sel_r = None
    for _ in range(args.repeat):
        ours_runs.append(
            _median(lambda: crm.operating_characteristics(TRUTH, n_sims=n_ours, seed=2))
        )
        r = _r_titesim(R_TRIALS)
        if r is not None:
            sel_r = r[0] if sel_r is None else sel_r
            r_runs.append(r[1])
    ours = float(np.median(ours_runs))
    per = ours / n_ours
    if sel_r is None:
        lines.append(
            f"| TITE-CRM | {n_ours} | {ours:.3f} s | {per * 1e3:.3f} ms | R unavailable | "
            "100x | n/a |"
        )
    else:
        per_r = float(np.median(r_runs))
        sel = oc.selection[: len(TRUTH)]
        se = np.sqrt(sel * (1 - sel) / n_ours + sel_r * (1 - sel_r) / R_TRIALS)
        agree = bool(np.all(np.abs(sel - sel_r) <= 4 * se + 0.01))
        ratio = per_r / per
        lines.append(
            f"| TITE-CRM (N = {N_PATIENTS}) | {n_ours} | {ours:.3f} s | {per * 1e3:.3f} ms | "
            f"dfcrm::titesim {per_r * 1e3:.1f} ms/trial ({R_TRIALS} trials); selections "
            f"{'agree' if agree else 'DISAGREE'} | 100x | {ratio:.0f}x "
            f"{'yes' if ratio >= 100 and agree else 'no'} |"
        )
    # BOIN12 and TITE-BOIN: 10,000 trials
    b12 = BOIN12(n_doses=5, tox_target=0.35, eff_lower=0.25, n_cohorts=10)
    eff_tox = ([0.1, 0.25, 0.4, 0.45, 0.5], [0.05, 0.1, 0.2, 0.3, 0.45])
    b12.operating_characteristics(eff_tox, n_sims=100, seed=1)  # warm-up: imports
    t_b12 = _median(lambda: b12.operating_characteristics(eff_tox, n_sims=10_000, seed=1))
    lines.append(
        f"| BOIN12 | 10000 | {t_b12:.2f} s | {t_b12 / 1e4 * 1e6:.0f} us | - | < 2 s | "
        f"{'yes' if t_b12 < 2 else 'no'} |"
    )
    tb = TITEBOIN(0.25, 5, window=1.0, n_cohorts=10)
    tb.operating_characteristics(TRUTH, n_sims=100, seed=1)
    t_tb = _median(lambda: tb.operating_characteristics(TRUTH, n_sims=10_000, seed=1))
    lines.append(
        f"| TITE-BOIN | 10000 | {t_tb:.2f} s | {t_tb / 1e4 * 1e6:.0f} us | - | < 2 s | "
        f"{'yes' if t_tb < 2 else 'no'} |"
    )
    bf = BOIN(0.25, 5, n_cohorts=10, n_earlystop=9).with_backfill(window=1.0, cap_per_dose=13)
    t_bf = _median(
        lambda: bf.operating_characteristics(  # type: ignore[call-arg]
            TRUTH, n_sims=10_000, seed=1, response=[0.1, 0.2, 0.3, 0.4, 0.5]
        ),
    )
    lines.append(
        f"| BF-BOIN (backfill) | 10000 | {t_bf:.2f} s | {t_bf / 1e4 * 1e6:.0f} us | - | "
        "for the record | - |"
    )
    load_after = os.getloadavg()[0]
    lines += [
        "",
        f"Medians of {args.repeat} alternating runs for TITE-CRM and R (ours: each the median of "
        "3 calls), of 3 calls for the others; Python "
        f"{sys.version.split()[0]}, {os.cpu_count()} cores, 1-minute load average "
        f"{load_before:.1f} before and {load_after:.1f} after (the machine was shared: other "
        "work ran alongside).",
    ]
    report = "\n".join(lines)
    print(report)
    if args.write_readme:
        from _readme import write_results

        write_results("late-onset", report)


if __name__ == "__main__":
    main()
