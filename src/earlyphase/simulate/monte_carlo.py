"""Several designs on the same simulated patients (common random numbers)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from earlyphase.designs import DoseFindingDesign
from earlyphase.engine.monte_carlo import patient_tolerances, run_trials, summarise
from earlyphase.engine.results import OperatingCharacteristics
from earlyphase.engine.states import check_truth
from earlyphase.stats.checks import check_count


def compare_designs(
    designs: Mapping[str, DoseFindingDesign],
    true_tox: Sequence[float],
    n_sims: int = 10_000,
    seed: int | None = None,
) -> tuple[pd.DataFrame, dict[str, OperatingCharacteristics]]:
    """Simulate several designs on the *same* patients (common random numbers).

    Returns a table with one row per design (P(select each dose), P(none), E[N], E[DLTs], and
    the share of trials in which the design picks the same dose as the first design) and the
    full operating characteristics of each.
    """
    if not designs:
        raise ValueError("designs: give at least one design")
    ks = {d.n_doses for d in designs.values()}
    if len(ks) != 1:
        raise ValueError("designs: all designs must have the same number of doses")
    p = check_truth(true_tox, ks.pop())
    n_sims = check_count(n_sims, "n_sims", minimum=1)
    u = patient_tolerances(n_sims, max(d.max_patients for d in designs.values()), seed)
    rows, ocs = [], {}
    first: NDArray[np.int64] | None = None
    for name, design in designs.items():
        trials = run_trials(design, p, u)
        oc = summarise(design, p, trials)
        ocs[name] = oc
        if first is None:
            first = trials.selected
        row: dict[str, object] = {"design": name}
        for label, prob in zip([*oc.dose_labels, "none"], oc.selection, strict=True):
            row[f"P(select {label})"] = float(prob)
        row["mean_n"] = oc.mean_total_n
        row["mean_dlt"] = oc.mean_total_dlt
        row["same_choice_as_first"] = float(np.mean(trials.selected == first))
        rows.append(row)
    return pd.DataFrame(rows), ocs
