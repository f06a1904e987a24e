"""Several designs on the same simulated patients (common random numbers)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from earlyphase.designs import DoseFindingDesign
from earlyphase.engine.monte_carlo import CHUNK, chunks, from_tally, patient_tolerances
from earlyphase.engine.results import OperatingCharacteristics
from earlyphase.engine.states import check_truth
from earlyphase.engine.tally import Tally
from earlyphase.engine.transitions import Transitions
from earlyphase.stats.checks import check_count


def compare_designs(
    designs: Mapping[str, DoseFindingDesign],
    true_tox: Sequence[float],
    n_sims: int = 10_000,
    seed: int | None = None,
    chunk_size: int = CHUNK,
    tables: Mapping[str, Transitions] | None = None,
) -> tuple[pd.DataFrame, dict[str, OperatingCharacteristics]]:
    """Simulate several designs on the *same* patients (common random numbers).

    Returns a table with one row per design (P(select each dose), P(none), E[N], E[DLTs], and
    the share of trials in which the design picks the same dose as the first design) and the
    full operating characteristics of each. Trials run ``chunk_size`` at a time, every design
    on the chunk's patients, keeping running totals only; the results do not depend on
    ``chunk_size`` (:mod:`earlyphase.engine.monte_carlo`). ``tables`` gives a design's
    transition table (:class:`~earlyphase.engine.transitions.Transitions`) to keep what it
    learnt from earlier calls; by default each design starts a table for this call.
    """
    if not designs:
        raise ValueError("designs: give at least one design")
    ks = {d.n_doses for d in designs.values()}
    if len(ks) != 1:
        raise ValueError("designs: all designs must have the same number of doses")
    p = check_truth(true_tox, ks.pop())
    n_sims = check_count(n_sims, "n_sims", minimum=1)
    chunk_size = check_count(chunk_size, "chunk_size", minimum=1)
    width = max(d.max_patients for d in designs.values())
    seq = np.random.SeedSequence(seed)
    tallies = {name: Tally(d.n_doses, p, d.target) for name, d in designs.items()}
    known = tables or {}
    machines = {name: known.get(name) or Transitions(d) for name, d in designs.items()}
    same = dict.fromkeys(designs, 0)
    for lo, m in chunks(n_sims, chunk_size):
        u = patient_tolerances(m, width, seq, start=lo)
        first: NDArray[np.int64] | None = None
        for name in designs:
            table = machines[name]
            ends = table.run(p, u)
            table.add_to(tallies[name], ends)
            selected = table.outcomes(ends)[0]
            if first is None:
                first = selected
            same[name] += int(np.sum(selected == first))
    rows, ocs = [], {}
    for name, design in designs.items():
        oc = from_tally(design, p, tallies[name])
        ocs[name] = oc
        row: dict[str, object] = {"design": name}
        for dose in dose_rows(oc):
            row[f"P(select {dose['dose']})"] = dose["prob_selected"]
        row["mean_n"] = oc.mean_total_n
        row["mean_dlt"] = oc.mean_total_dlt
        row["same_choice_as_first"] = same[name] / n_sims
        rows.append(row)
    return pd.DataFrame(rows), ocs


def dose_rows(oc: OperatingCharacteristics) -> list[dict[str, Any]]:
    """A design's operating characteristics as one row per dose and a last row for no dose
    (``dose`` "none", ``dose_index`` 0): the true DLT rate, P(selected), E[patients] and
    E[DLTs] (NaN where they do not apply). The rows :func:`compare_designs` and the scenario
    grid (:mod:`earlyphase.simulate.grid`) build their tables from."""
    labels = [*oc.dose_labels, "none"]
    rows = []
    for i, label in enumerate(labels):
        last = i == len(labels) - 1
        rows.append(
            {
                "dose": label,
                "dose_index": i + 1 if not last else 0,
                "true_tox": np.nan if last else float(oc.true_tox[i]),
                "prob_selected": float(oc.selection[i]),
                "mean_patients": np.nan if last else float(oc.mean_n[i]),
                "mean_dlt": np.nan if last else float(oc.mean_dlt[i]),
            }
        )
    return rows
