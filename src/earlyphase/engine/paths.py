"""Dose paths: every way the next cohorts can go, and where each leaves the trial.

As R escalation's ``get_dose_paths`` (Brock et al. 2017, "dose-transition pathways"), with the
probability of each path under a true dose-toxicity curve when one is given.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from earlyphase.engine.rule import BatchRule
from earlyphase.engine.states import REASONS, States
from earlyphase.engine.step import add_cohort, apply_decisions, finish, take_decisions
from earlyphase.stats.checks import check_count

if TYPE_CHECKING:
    import pandas as pd


def dose_paths(
    design: BatchRule,
    n_cohorts: int,
    start: States | None,
    p: NDArray[np.float64] | None,
) -> pd.DataFrame:
    """One row per node of the tree of the next ``n_cohorts`` cohorts.

    Columns: ``cohort`` (1 = the next cohort), ``path`` (outcome string from the start of the
    tree, e.g. ``"1NNN 2NNT"``), ``dose`` and ``n_dlt`` of that cohort, ``next`` (next dose
    level, or None when the trial stops), ``decision`` (reason), ``selected`` (the recommended
    dose if it stops) and ``probability`` (of reaching this node, when ``p`` is given).
    ``start`` is the state the tree grows from (None: before the first cohort).
    """
    import pandas as pd
    from scipy.stats import binom

    n_cohorts = check_count(n_cohorts, "n_cohorts", minimum=1)
    if start is None:
        st = design.initial_states(1)
    else:
        st = start
        dec0 = finish(design, st, design.decide_batch(st))
        if bool(dec0.stop[0]):
            return pd.DataFrame(
                columns=[
                    "cohort",
                    "path",
                    "dose",
                    "n_dlt",
                    "next",
                    "decision",
                    "selected",
                    "probability",
                ]
            )
        st = apply_decisions(st, dec0)
    paths = [""]
    probs = np.ones(1)
    rows: list[dict[str, object]] = []
    for c in range(1, n_cohorts + 1):
        if st.size == 0:
            break
        sizes = design.cohort_sizes(st)
        new_paths: list[str] = []
        rep_list: list[int] = []
        k_list: list[int] = []
        for i in range(st.size):
            for k in range(int(sizes[i]) + 1):
                rep_list.append(i)
                k_list.append(k)
                token = f"{int(st.current[i]) + 1}" + "N" * (int(sizes[i]) - k) + "T" * k
                new_paths.append((paths[i] + " " + token).strip())
        rep = np.array(rep_list, dtype=np.int64)
        kk = np.array(k_list, dtype=np.int64)
        new = add_cohort(st.take(rep), sizes[rep], kk)
        if p is not None:
            pr = probs[rep] * binom.pmf(kk, sizes[rep], p[st.current[rep]])
        else:
            pr = np.full(len(rep), np.nan)
        dec = finish(design, new, design.decide_batch(new))
        for j in range(len(rep)):
            stop = bool(dec.stop[j])
            sel = int(dec.selected[j])
            rows.append(
                {
                    "cohort": c,
                    "path": new_paths[j],
                    "dose": int(new.current[j]) + 1,
                    "n_dlt": int(kk[j]),
                    "next": None if stop else int(dec.next_dose[j]) + 1,
                    "decision": REASONS[int(dec.reason[j])],
                    "selected": (None if sel < 0 else sel + 1) if stop else None,
                    "probability": float(pr[j]),
                }
            )
        go = ~dec.stop
        keep = np.flatnonzero(go)
        st = apply_decisions(new.take(keep), take_decisions(dec, go))
        paths = [new_paths[j] for j in keep]
        probs = pr[keep]
    frame = pd.DataFrame(rows)
    for col in ("next", "selected"):
        frame[col] = frame[col].astype("Int64")
    return frame
