"""The shared dose-path enumerator (:mod:`earlyphase.designs.path_tree`).

Consistency checks: the trees of backfill, TITE-BOIN, TITE-CRM and the rolling six are the ones
each design enumerated itself before the enumerator was shared
(``fixtures/dose_paths_before_path_tree.json``, earlyphase's own earlier output, not a
reference: the decisions and probabilities themselves are validated in each design's tests).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from earlyphase.designs import BOIN, TITEBOIN, TITECRM, Design, RollingSix, ThreePlusThree
from earlyphase.designs.contract import PATH_COLUMNS, Decision
from earlyphase.designs.path_tree import PathNode, grow_paths, known_outcomes, outcome_token

FIXTURE = Path(__file__).parent / "fixtures" / "dose_paths_before_path_tree.json"
TR = [0.05, 0.12, 0.25, 0.40, 0.55]
SK = [0.05, 0.12, 0.25, 0.40, 0.55]

#: design, and the (n_cohorts, history, truth) of each call, as the fixture was made
CASES: dict[str, tuple[Callable[[], Design], list[tuple[int, Any, Any]]]] = {
    "bf-boin": (
        lambda: BOIN(0.3, 5, n_cohorts=6).with_backfill(window=28, cap_per_dose=12),
        [(3, None, TR), (3, "1NNN 2NTN", TR), (2, None, None)],
    ),
    "bf-33": (
        lambda: ThreePlusThree(4).with_backfill(window=28),
        [(3, None, TR[:4]), (2, "1NNN", None)],
    ),
    "tite-boin": (
        lambda: TITEBOIN(0.3, 5, window=28, n_cohorts=4),
        [
            (3, None, TR),
            (
                2,
                {"level": [1, 1, 1, 2, 2], "dlt": [0, 0, 0, 0, 1], "follow_up": [28, 28, 10, 5, 3]},
                TR,
            ),
            (4, None, None),
            (1, "1NNN 2NNN 3NNN 4NNN", TR),
        ],
    ),
    "tite-boin-ess": (
        lambda: TITEBOIN(0.25, 4, window=1, n_cohorts=3, estimator="ess", extra_safe=True),
        [(3, None, TR[:4])],
    ),
    "tite-crm": (
        lambda: TITECRM(SK, 0.25, window=6, n_patients=12),
        [
            (3, None, TR),
            (2, {"level": [1, 1, 2], "dlt": [0, 0, 0], "follow_up": [6, 4, 1]}, TR),
            (4, None, None),
        ],
    ),
    "tite-crm-c3": (
        lambda: TITECRM(
            SK, 0.25, window=6, n_patients=7, cohort_size=3, model="logistic", start_dose=2
        ),
        [(3, None, TR), (2, "2NNN", None)],
    ),
    "r6": (
        lambda: RollingSix(4),
        [
            (5, None, TR[:4]),
            (4, "1NNN 2T", TR[:4]),
            (3, [(1, "N"), (1, "N"), (1, "N")], None),
            (6, None, None),
        ],
    ),
}


def _expected() -> dict[str, list[list[Any]]]:
    data: dict[str, list[list[Any]]] = json.loads(FIXTURE.read_text())["cases"]
    return data


@pytest.mark.parametrize("key", sorted(_expected()))
def test_consistency_trees_unchanged_by_the_shared_enumerator(key: str) -> None:
    name, i = key.split("/")
    make, calls = CASES[name]
    n, history, truth = calls[int(i)]
    got = make().dose_paths(n, history=history, truth=truth)
    want = _expected()[key]
    assert len(got) == len(want)
    for row, ref in zip(got.itertuples(index=False), want, strict=True):
        cohort, path, dose, n_dlt, nxt, decision, selected, prob = ref
        assert (row.cohort, row.path, row.dose, row.n_dlt, row.decision) == (
            cohort,
            path,
            dose,
            n_dlt,
            decision,
        )
        assert (None if pd.isna(row.next) else int(row.next)) == nxt
        assert (None if pd.isna(row.selected) else int(row.selected)) == selected
        if prob is None:
            assert math.isnan(row.probability)
        else:
            assert row.probability == prob  # the same arithmetic, so the same bits


def _toy_decide(history: str) -> Decision:
    """Escalate from dose 1 while no DLT has been seen; stop at the first DLT."""
    if "T" in history:
        return Decision(dose=None, stop=True, reason="stop", selected=1)
    return Decision(dose=history.count(" ") + 2 if history else 1, stop=False, reason="go")


def test_tree_of_a_rule_worked_by_hand() -> None:
    """A rule worked by hand: cohorts of 2, escalate while no DLT, stop at any DLT; with DLT
    rates 0.1 and 0.2 the first cohort has no DLT with probability 0.9^2 = 0.81, one with
    2 x 0.1 x 0.9 = 0.18, two with 0.01; the second (at dose 2, after 1NN) 0.81 x 0.8^2 =
    0.5184, 0.81 x 2 x 0.2 x 0.8 = 0.2592, 0.81 x 0.04 = 0.0324."""
    truth = [0.1, 0.2]

    def probability(dose: int, size: int, k: int) -> float:
        p = truth[dose - 1]
        return math.comb(size, k) * p**k * (1 - p) ** (size - k)

    branch = known_outcomes(
        lambda _h: 2, lambda h, d, m, k: (h + " " + outcome_token(d, m, k)).strip(), probability
    )
    tree = grow_paths(PathNode("", "", 0, 0, 0, 1.0), 2, _toy_decide, branch)
    assert list(tree.columns) == list(PATH_COLUMNS)
    assert list(tree["path"]) == ["1NN", "1NT", "1TT", "1NN 2NN", "1NN 2NT", "1NN 2TT"]
    assert list(tree["probability"]) == pytest.approx([0.81, 0.18, 0.01, 0.5184, 0.2592, 0.0324])
    assert list(tree["next"].astype(object).where(tree["next"].notna(), None)) == [
        2,
        None,
        None,
        3,
        None,
        None,
    ]
    assert list(tree["selected"].dropna()) == [1, 1, 1, 1]


def test_tree_size_limit_names_the_argument() -> None:
    branch = known_outcomes(
        lambda _h: 2, lambda h, d, m, k: (h + " " + outcome_token(d, m, k)).strip(), lambda *_: 1.0
    )
    with pytest.raises(ValueError, match=r"n_cohorts: 2 cohorts make a tree of more than 4"):
        grow_paths(PathNode("", "", 0, 0, 0, 1.0), 2, _toy_decide, branch, max_nodes=4)
    with pytest.raises(ValueError, match="n_cohorts"):
        grow_paths(PathNode("", "", 0, 0, 0, 1.0), 0, _toy_decide, branch)
