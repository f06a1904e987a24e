"""The tree of dose paths for designs that decide from a history, grown in one place.

A dose path (Brock et al. 2017, "dose-transition pathways"; R escalation ``get_dose_paths``)
follows the trial from a history through every way the next cohorts can turn out, with the
decision the design takes at each node. Designs whose rule works on the batch states of
:mod:`earlyphase.engine` use :func:`earlyphase.engine.paths.dose_paths`; the designs that
decide from a history of patients (backfill, TITE-CRM, TITE-BOIN, rolling six) grow the tree
here, and differ only in

- how a history is extended with a branch's outcomes (``branch``: the children of a node),
- how the design decides from a history (``decide``), and
- the probability of each branch under the true DLT rates (part of ``branch``).

:func:`known_outcomes` is the branch of the classical tree, in which every cohort's outcomes
are known before the next decision: k DLTs among the cohort's patients, with the binomial
probability under the truth. :mod:`earlyphase.designs.pending_paths` gives the branch in which
the next cohort arrives while earlier patients are still inside the DLT window.

References
----------
Brock K, Billingham L, Copland M, Siddique S, Sirovica M, Yap C (2017). Implementing the
    EffTox dose-finding design in the Matchpoint trial. BMC Med Res Methodol 17:112.
Yap C, Billingham LJ, Cheung YK, Craddock C, O'Quigley J (2017). Dose transition pathways:
    the missing link between complex dose-finding designs and simple decision-making. Clin
    Cancer Res 23:7440-7447.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import numpy as np
from numpy.typing import NDArray

from earlyphase.designs.contract import PATH_COLUMNS, Decision
from earlyphase.stats.checks import check_count

if TYPE_CHECKING:
    import pandas as pd

H = TypeVar("H")

__all__ = [
    "Branch",
    "PathNode",
    "binomial_probability",
    "grow_paths",
    "known_outcomes",
    "outcome_token",
]


@dataclass(frozen=True)
class PathNode(Generic[H]):
    """A node of the tree: the ``history`` the design decides from, the ``path`` that leads
    there, the number of cohorts dosed in the tree (``cohort``), the dose (1-based) and DLTs
    seen of the most recent of them, and the probability of reaching the node (NaN without a
    truth)."""

    history: H
    path: str
    cohort: int
    dose: int
    n_dlt: int
    probability: float


#: The children of a node, given the decision taken there (never a stop).
Branch = Callable[[PathNode[H], Decision], Sequence[PathNode[H]]]


def outcome_token(dose: int, size: int, k: int) -> str:
    """A cohort of ``size`` at ``dose`` with ``k`` DLTs, as outcome strings write it:
    the dose, then N for each patient without DLT and T for each with one (``"2NNT"``)."""
    return f"{dose}" + "N" * (size - k) + "T" * k


def binomial_probability(
    truth: Sequence[float] | NDArray[np.float64] | None,
) -> Callable[[int, int, int], float]:
    """Pr(k DLTs among ``size`` patients at ``dose``) under the true DLT rates ``truth``
    (binomial, patients independent); NaN for every outcome without a truth."""
    from scipy.stats import binom

    def probability(dose: int, size: int, k: int) -> float:
        if truth is None:
            return math.nan
        return float(binom.pmf(k, size, truth[dose - 1]))

    return probability


def known_outcomes(
    size: Callable[[H], int],
    extend: Callable[[H, int, int, int], H],
    probability: Callable[[int, int, int], float],
) -> Branch[H]:
    """The branch of the classical tree: the next cohort, of ``size(history)`` patients, is
    treated at the dose decided and its outcomes are known before the next decision; one
    child per number of DLTs k = 0..size, whose history is ``extend(history, dose, size, k)``
    and whose probability is the parent's times ``probability(dose, size, k)``."""

    def branch(node: PathNode[H], decision: Decision) -> list[PathNode[H]]:
        assert decision.dose is not None  # a node that stops has no children
        dose = decision.dose
        m = size(node.history)
        return [
            PathNode(
                history=extend(node.history, dose, m, k),
                path=(node.path + " " + outcome_token(dose, m, k)).strip(),
                cohort=node.cohort + 1,
                dose=dose,
                n_dlt=k,
                probability=node.probability * probability(dose, m, k),
            )
            for k in range(m + 1)
        ]

    return branch


def grow_paths(
    root: PathNode[H],
    n_cohorts: int,
    decide: Callable[[H], Decision],
    branch: Branch[H],
    *,
    max_nodes: int | None = None,
    too_large: str = "",
) -> pd.DataFrame:
    """The tree from ``root`` to the nodes where ``n_cohorts`` cohorts have been dosed (or the
    trial stops), one row per node below the root in the columns
    :data:`~earlyphase.designs.contract.PATH_COLUMNS`, level by level.

    Each node's ``decision`` is ``decide(history)``; ``next`` is its dose, ``selected`` the
    recommended dose when it stops. A node is grown further while the trial goes on and fewer
    than ``n_cohorts`` cohorts have been dosed on its path. The tree is empty when the design
    stops at the root. With ``max_nodes``, a tree that would hold more nodes raises
    ValueError, naming ``n_cohorts`` and adding ``too_large``, before the decisions of the
    level that crosses the limit are taken.
    """
    import pandas as pd

    n_cohorts = check_count(n_cohorts, "n_cohorts", minimum=1)
    first = decide(root.history)
    if first.stop or first.dose is None:
        return pd.DataFrame(columns=list(PATH_COLUMNS))
    frontier: list[tuple[PathNode[H], Decision]] = [(root, first)]
    rows: list[dict[str, Any]] = []
    while frontier:
        children = [child for node, dec in frontier for child in branch(node, dec)]
        if max_nodes is not None and len(rows) + len(children) > max_nodes:
            raise ValueError(
                f"n_cohorts: {n_cohorts} cohorts make a tree of more than {max_nodes:,} nodes"
                + (f"; {too_large}" if too_large else "")
            )
        frontier = []
        for child in children:
            dec = decide(child.history)
            rows.append(
                {
                    "cohort": child.cohort,
                    "path": child.path,
                    "dose": child.dose,
                    "n_dlt": child.n_dlt,
                    "next": dec.dose,
                    "decision": dec.reason,
                    "selected": dec.selected if dec.stop else None,
                    "probability": child.probability,
                }
            )
            if not dec.stop and dec.dose is not None and child.cohort < n_cohorts:
                frontier.append((child, dec))
    frame = pd.DataFrame(rows, columns=list(PATH_COLUMNS))
    for col in ("next", "selected"):
        frame[col] = frame[col].astype("Int64")
    return frame
