"""Dose paths in which the next cohort arrives while earlier patients are still pending.

The designs that decide while patients are inside the DLT window (TITE-CRM, TITE-BOIN, the
rolling six) answer ``dose_paths(..., pending_follow_up=g)`` with the tree grown here by
:func:`earlyphase.designs.path_tree.grow_paths`. Its semantics:

Time
    Decisions are taken every ``g`` DLT windows (0 < g < 1): the cohort the tree starts with
    is dosed at time 0 (the decision on ``history``), the next decision, for the next cohort,
    is at time g, the one after at 2 g, and so on: cohorts arrive at a fixed interval of g
    windows, each as one group dosed together.
Patients
    At a decision each patient is ``T`` (a DLT seen by then), ``N`` (window completed without
    DLT) or ``P`` (pending: no DLT yet, followed for a fraction u < 1 of the window). A
    patient dosed at time s has u = t - s at time t: the cohort dosed at the previous decision
    has u = g, the one before 2 g, ...; at u >= 1 a patient without DLT is ``N``.
Outcomes
    Each patient at dose d has a DLT within the window with the true rate p_d, at a time
    uniform on the window given a DLT (the time-to-event assumption of Cheung & Chappell
    2000's linear weight and of Yuan et al. 2018's imputation), independently of the others.
    So a patient pending at u has, by the next decision at u' = min(u + g, 1), a DLT with
    probability p_d (u' - u) / (1 - p_d u), the probability of a DLT in (u, u'] given none by
    u; a new patient (u = 0) has one by u' = g with probability p_d g, and over the whole
    window a pending patient has one with probability p_d (1 - u) / (1 - p_d u). The
    patients of a cohort who are pending with the same follow-up are exchangeable: k new DLTs
    among m of them has the binomial probability, and the tree has one child per
    combination of counts.
Decisions
    The decision at a node is the design's, made with the patients as they are then (TITE-CRM's
    weights u, TITE-BOIN's imputation from the standardised follow-up, the rolling six's
    table). When the design suspends accrual (TITE-BOIN's rule, the rolling six's "suspend"
    rows) the node's children are the same patients one interval later, with no cohort
    dosed: enrolment waits g windows and the design decides again. A stop is a leaf.
History
    Patients of ``history`` keep their status and follow-up and resolve in the tree as any
    other (a rolling six history gives no follow-up: its pending patients are taken to have
    just been dosed, u = 0, the latest their outcomes can come).
Rows
    One row per decision below the start (columns
    :data:`~earlyphase.designs.contract.PATH_COLUMNS`): ``cohort`` counts the cohorts dosed in
    the tree (a wait keeps its parent's), ``dose`` and ``n_dlt`` are the dose of the most
    recent cohort and the DLTs seen among its patients at that decision, ``probability`` that
    of reaching the decision under ``truth``. ``path`` lists the data at each decision from
    the start of the tree, separated by `` / ``: all patients, one token per cohort (a dose,
    then the patients' letters N, T, P), e.g. ``"1PPP / 1NNT 2PPP"``: cohort 1 pending at
    the first decision, one DLT and two completed at the second, where cohort 2 (dose 2) is
    pending. A run of the history's patients at one dose is one token, its letters in order of
    enrolment (its pending patients differ in follow-up, so each letter stays with its
    patient); so is a run of the rolling six's patients, whose cohorts are single patients.
    A node is grown while fewer than ``n_cohorts`` cohorts have been dosed on its path; the
    leaves' probabilities sum to 1.
Size
    The tree is limited to :data:`MAX_PENDING_NODES` nodes; beyond that
    :func:`pending_dose_paths` raises ValueError naming ``n_cohorts`` (fewer cohorts, or a
    longer interval, keep it small: with g >= 1/2 a patient is pending at one decision only).

References
----------
Cheung YK, Chappell R (2000). Sequential designs for phase I clinical trials with late-onset
    toxicities. Biometrics 56:1177-1182.
Yuan Y, Lin R, Li D, Nie L, Warren KE (2018). Time-to-event Bayesian optimal interval design to
    accelerate phase I trials. Clin Cancer Res 24(20):4921-4930.
Skolnik JM, Barrett JS, Jayaraman B, Patel D, Adamson PC (2008). Shortening the timeline of
    pediatric phase I trials: the rolling six design. J Clin Oncol 26:190-195.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from earlyphase.designs.contract import Decision
from earlyphase.designs.path_tree import PathNode, grow_paths

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "MAX_PENDING_NODES",
    "Patient",
    "PendingState",
    "check_pending_follow_up",
    "history_state",
    "pending_dose_paths",
]

#: The most nodes a tree with pending patients may hold (a few seconds of decisions).
MAX_PENDING_NODES = 20_000

#: Follow-up within this of the window's end counts as complete (sums of fractions such as
#: 1/3 + 1/3 + 1/3 need not give 1 exactly).
_EPS = 1e-9
_ORDER = {"N": 0, "T": 1, "P": 2}


@dataclass(frozen=True)
class Patient:
    """A patient at a decision: 1-based ``dose``, ``status`` T, N or P, the fraction of the
    window followed (for T, by which the DLT was seen; 1 for N), the ``group`` (cohort, or
    run of the history at one dose) the patient is shown in, and whether the group is a
    cohort of the tree, dosed together (``cohort``): its patients are exchangeable, so its
    letters are written in a fixed order, N, T, P; a history's are written in order of
    enrolment, since its pending patients differ in follow-up."""

    dose: int
    status: str
    follow_up: float
    group: int
    cohort: bool = True


@dataclass(frozen=True)
class PendingState:
    """The patients at a decision, in order of enrolment."""

    patients: tuple[Patient, ...]

    def snapshot(self, by_dose: bool = False) -> str:
        """The patients as one token per group: dose, then N, T, P letters (``"1NT 2PP"``);
        with ``by_dose``, one token per run of patients at one dose, in order of enrolment
        (``"1NPTP 2P"``), so that each letter stays with its patient."""
        tokens: list[str] = []
        groups: dict[int, list[Patient]] = {}
        run = -1
        for i, pat in enumerate(self.patients):
            prev = self.patients[i - 1] if i else None
            if prev is None or (pat.dose != prev.dose if by_dose else pat.group != prev.group):
                run += 1
            groups.setdefault(run, []).append(pat)
        for members in groups.values():
            letters = [p.status for p in members]
            if not by_dose and all(p.cohort for p in members):
                letters.sort(key=_ORDER.__getitem__)
            tokens.append(f"{members[0].dose}" + "".join(letters))
        return " ".join(tokens)

    def arrays(self) -> tuple[NDArray[np.int64], NDArray[np.bool_], NDArray[np.float64]]:
        """Dose level, DLT seen and follow-up (fraction of the window) of each patient."""
        return (
            np.array([p.dose for p in self.patients], dtype=np.int64),
            np.array([p.status == "T" for p in self.patients], dtype=bool),
            np.array([p.follow_up for p in self.patients], dtype=np.float64),
        )

    @property
    def last_group(self) -> list[Patient]:
        """The patients of the most recent group."""
        g = self.patients[-1].group
        return [p for p in self.patients if p.group == g]


def check_pending_follow_up(value: object) -> float:
    """The interval between decisions, a fraction of the DLT window in (0, 1)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not (math.isfinite(value) and 0 < value < 1)
    ):
        raise ValueError(
            "pending_follow_up: must be a fraction of the DLT window in (0, 1) (the time "
            f"between decisions), got {value!r}"
        )
    return float(value)


def history_state(
    level: Sequence[int], status: Sequence[str], follow_up: Sequence[float]
) -> PendingState:
    """The patients of a history (in order of enrolment), grouped in runs at one dose."""
    patients: list[Patient] = []
    group = -1
    for i, (d, s, u) in enumerate(zip(level, status, follow_up, strict=True)):
        if i == 0 or d != level[i - 1]:
            group += 1
        patients.append(Patient(int(d), s, 1.0 if s == "N" else float(u), group, cohort=False))
    return PendingState(tuple(patients))


def _advance(
    state: PendingState, g: float, truth: NDArray[np.float64] | None
) -> list[tuple[PendingState, float]]:
    """Every state one interval ``g`` later, with its probability (module docstring)."""
    from scipy.stats import binom

    # pending patients of a group with the same follow-up are exchangeable: one class each
    classes: dict[tuple[int, float], list[int]] = {}
    for i, pat in enumerate(state.patients):
        if pat.status == "P":
            classes.setdefault((pat.group, round(pat.follow_up, 12)), []).append(i)
    keys = list(classes)
    choices = [range(len(classes[k]) + 1) for k in keys]
    out: list[tuple[PendingState, float]] = []
    for counts in itertools.product(*choices):
        patients = list(state.patients)
        prob = 1.0
        for key, k in zip(keys, counts, strict=True):
            members = classes[key]
            first = patients[members[0]]
            u = first.follow_up
            u_next = u + g
            done = u_next >= 1.0 - _EPS
            u_next = 1.0 if done else u_next
            if truth is not None:
                p = float(truth[first.dose - 1])
                # a DLT in (u, u'] given none by u, the time to DLT uniform on the window
                q = p * (u_next - u) / (1.0 - p * u)
                prob *= float(binom.pmf(k, len(members), q))
            for j, i in enumerate(members):
                if j < k:
                    patients[i] = replace(patients[i], status="T", follow_up=u_next)
                else:
                    patients[i] = replace(
                        patients[i], status="N" if done else "P", follow_up=u_next
                    )
        out.append((PendingState(tuple(patients)), prob if truth is not None else math.nan))
    return out


def pending_dose_paths(
    n_cohorts: int,
    start: PendingState,
    decide: Callable[[PendingState], Decision],
    cohort_size: Callable[[PendingState], int],
    pending_follow_up: float,
    truth: NDArray[np.float64] | None,
    *,
    by_dose: bool = False,
) -> pd.DataFrame:
    """The tree of the module docstring from the patients of ``start``: ``decide`` is the
    design's decision on a state, ``cohort_size`` the size of the next cohort after it,
    ``truth`` the true DLT rate per dose (None: probabilities are NaN). With ``by_dose`` the
    paths have one token per run of patients at one dose (for cohorts of one patient, as the
    rolling six's, whose outcome strings are written so)."""
    g = check_pending_follow_up(pending_follow_up)

    def branch(node: PathNode[PendingState], dec: Decision) -> list[PathNode[PendingState]]:
        assert dec.dose is not None  # a node that stops has no children
        state = node.history
        cohort = node.cohort
        if not dec.estimates.get("suspend", False):
            # the next cohort is dosed now, at follow-up 0
            group = state.patients[-1].group + 1 if state.patients else 0
            new = tuple(
                Patient(dose=dec.dose, status="P", follow_up=0.0, group=group)
                for _ in range(cohort_size(state))
            )
            state = PendingState(state.patients + new)
            cohort += 1
        children: list[PathNode[PendingState]] = []
        for child, prob in _advance(state, g, truth):
            last = child.last_group
            snap = child.snapshot(by_dose)
            children.append(
                PathNode(
                    history=child,
                    path=f"{node.path} / {snap}" if node.path else snap,
                    cohort=cohort,
                    dose=last[0].dose,
                    n_dlt=sum(p.status == "T" for p in last),
                    probability=node.probability * prob,
                )
            )
        return children

    root = PathNode(start, "", 0, 0, 0, 1.0)
    return grow_paths(
        root,
        n_cohorts,
        decide,
        branch,
        max_nodes=MAX_PENDING_NODES,
        too_large=(
            f"choose fewer cohorts or a longer pending_follow_up than {g:g} (fewer patients "
            "pending at once)"
        ),
    )
