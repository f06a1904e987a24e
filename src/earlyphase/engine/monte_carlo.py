"""Vectorised Monte Carlo operating characteristics: all simulated trials advance together.

Each simulated patient ``j`` of trial ``t`` carries a latent uniform ``u[t, j]`` and has a DLT
at dose ``d`` when ``u[t, j] < p[d]`` (the tolerance model of O'Quigley, Paoletti & Maccario
2002). Drawing ``u`` once from ``seed`` gives every design the same patients: common random
numbers, so designs are compared on identical simulated trials.

Trials are simulated in chunks of ``chunk_size`` and added to running totals
(:class:`~earlyphase.engine.tally.Tally`), so memory does not grow with the number of trials:
10^7 BOIN trials run in a few hundred MiB (``benchmarks/README.md``). Trial ``t``'s uniforms
are the numbers ``t * width`` to ``(t + 1) * width - 1`` of one PCG64 stream from ``seed``
(the generator of a chunk is advanced to its first trial), and the totals are sums of whole
numbers, so the results do not depend on the chunk size, and equal those of drawing every
trial's uniforms at once with ``numpy.random.default_rng(seed)``.

The design is asked once per state its trials meet, not once per trial and cohort: a
:class:`~earlyphase.engine.transitions.Transitions` table, kept across the chunks of one call,
holds where each state goes after each number of DLTs, and a step of all trials is a lookup.
Finished trials are added to the totals per distinct outcome, weighted by their number.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from earlyphase.engine.results import OperatingCharacteristics
from earlyphase.engine.rule import BatchRule
from earlyphase.engine.tally import Tally
from earlyphase.engine.transitions import Transitions
from earlyphase.stats.checks import check_count

FloatArray = NDArray[np.float64]


#: Trials simulated at once by default: about 10 MiB of uniforms for 30 patients a trial.
CHUNK = 50_000

Seed = int | np.random.SeedSequence | None


def patient_tolerances(n_sims: int, max_patients: int, seed: Seed, start: int = 0) -> FloatArray:
    """Latent uniforms ``u[trial, patient]`` (common random numbers for all designs) of
    trials ``start`` to ``start + n_sims - 1`` of the stream from ``seed``.

    Row ``t`` is the same whichever chunk draws it: the PCG64 generator (as
    ``numpy.random.default_rng(seed)``) is advanced past the ``start * max_patients`` numbers
    of the earlier trials. Pass one :class:`numpy.random.SeedSequence` to every chunk when
    ``seed`` is None, so that the chunks come from one stream.
    """
    seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    bits = np.random.PCG64(seq)
    if start:
        bits.advance(start * max_patients)
    return np.random.Generator(bits).random((n_sims, max_patients))


@dataclass(frozen=True)
class SimulatedTrials:
    """Per-trial results of a simulation: selected dose (0-based, -1 none), patients and DLTs."""

    selected: NDArray[np.int64]
    n: NDArray[np.int64]
    y: NDArray[np.int64]


def run_trials(
    design: BatchRule,
    p: FloatArray,
    tolerances: FloatArray,
    progress: Callable[[int, int], None] | None = None,
    table: Transitions | None = None,
) -> SimulatedTrials:
    """Run ``len(tolerances)`` trials of ``design`` together; patient j of trial t has a DLT at
    dose d when ``tolerances[t, j] < p[d]``.

    The design decides once per state met (:class:`~earlyphase.engine.transitions.Transitions`;
    pass ``table`` to keep what earlier runs of the same design learnt)."""
    table = Transitions(design) if table is None else table
    selected, n, y = table.outcomes(table.run(p, tolerances, progress))
    return SimulatedTrials(selected=selected, n=n, y=y)


def summarise(
    design: BatchRule, p: FloatArray, trials: SimulatedTrials
) -> OperatingCharacteristics:
    """Operating characteristics from simulated trials."""
    tally = Tally(design.n_doses, p, design.target)
    add_trials(tally, trials)
    return from_tally(design, p, tally)


def add_trials(tally: Tally, trials: SimulatedTrials) -> None:
    """Add simulated trials (weight one each) to running totals."""
    tally.add(trials.selected, trials.n, trials.y, np.ones(len(trials.selected)))


def from_tally(design: BatchRule, p: FloatArray, tally: Tally) -> OperatingCharacteristics:
    """Operating characteristics of ``tally.count`` simulated trials, with Monte Carlo standard
    errors of the selection probabilities."""
    k = design.n_doses
    n_sims = tally.count
    sel = tally.selection / n_sims
    od60, od80, above = tally.overdose()
    return OperatingCharacteristics(
        true_tox=p,
        dose_labels=tuple(design.doses.label(i + 1) for i in range(k)),
        selection=sel,
        mean_n=tally.n / n_sims,
        mean_dlt=tally.y / n_sims,
        n_distribution=tally.n_distribution(n_sims),
        prob_overdose_60=od60,
        prob_overdose_80=od80,
        mean_n_above_target=above,
        method="simulate",
        n_sims=n_sims,
        mc_se=np.sqrt(sel * (1 - sel) / n_sims),
        design=design.describe(),
    )


def chunks(n_sims: int, chunk_size: int) -> list[tuple[int, int]]:
    """(first trial, number of trials) of each chunk."""
    return [(lo, min(chunk_size, n_sims - lo)) for lo in range(0, n_sims, chunk_size)]


def simulate_oc(
    design: BatchRule,
    p: FloatArray,
    n_sims: int = 10_000,
    seed: int | None = None,
    tolerances: FloatArray | None = None,
    progress: Callable[[int, int], None] | None = None,
    chunk_size: int = CHUNK,
) -> OperatingCharacteristics:
    """Simulated operating characteristics of ``design`` under true DLT probabilities ``p``.

    ``n_sims`` trials run ``chunk_size`` at a time and only running totals are kept, so
    memory is bounded by the chunk; the results do not depend on ``chunk_size`` (module
    docstring). ``tolerances`` gives the patients' uniforms instead of ``seed``.
    """
    n_sims = check_count(n_sims, "n_sims", minimum=1)
    chunk_size = check_count(chunk_size, "chunk_size", minimum=1)
    if tolerances is not None and len(tolerances) < n_sims:
        raise ValueError("tolerances: need a row of latent uniforms for each of n_sims trials")
    seq = np.random.SeedSequence(seed)
    tally = Tally(design.n_doses, p, design.target)
    table = Transitions(design)  # every chunk meets mostly the states of the first
    for lo, m in chunks(n_sims, chunk_size):
        u = (
            tolerances[lo : lo + m]
            if tolerances is not None
            else patient_tolerances(m, design.max_patients, seq, start=lo)
        )
        tick = None if progress is None else _offset(progress, lo, n_sims)
        table.add_to(tally, table.run(p, u, tick))
    return from_tally(design, p, tally)


def _offset(
    progress: Callable[[int, int], None], done_before: int, n_sims: int
) -> Callable[[int, int], None]:
    """Report a chunk's progress as progress over all ``n_sims`` trials."""
    return lambda done, _n: progress(done_before + done, n_sims)
