"""``CRM.dose_paths`` and ``CRM.decision_table`` (dose-transition pathways) against R dfcrm
0.2-2.1.

Reference: ``tests/fixtures/dfcrm_crm_paths.json``, written by
``tests/fixtures/r/make_crm_decision_table_fixture.R``, which enumerates the same tree in R and
takes every next dose from ``dfcrm::crm(prior, target, tox, level, model, intcpt, scale)$mtd``.
dfcrm's ``crm`` has no restrictions, so the tables are compared with ``no_skipping`` and
``coherence`` off; the restricted trees use the rule of dfcrm's own simulator
(``dfcrm:::onetrial`` with ``restrict = TRUE``), and each restriction on its own is checked on
hand-worked cases below (the rule applied by hand to dfcrm's unrestricted ``$mtd``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from earlyphase.designs.crm import CRM

FIXTURE = Path(__file__).parent / "fixtures" / "dfcrm_crm_paths.json"
CONFIGS: list[dict[str, Any]] = json.loads(FIXTURE.read_text(encoding="utf-8"))["configs"]


def _scalar(v: Any) -> Any:
    return v[0] if isinstance(v, list) else v


def _design(cfg: dict[str, Any], no_skipping: bool, coherence: bool) -> CRM:
    return CRM(
        cfg["skeleton"],
        _scalar(cfg["target"]),
        model=cfg["model"],
        prior_sd=_scalar(cfg["prior_sd"]),
        intercept=_scalar(cfg["intercept"]),
        n_patients=int(_scalar(cfg["n_patients"])),
        cohort_size=int(_scalar(cfg["cohort_size"])),
        start_dose=int(_scalar(cfg["start_dose"])),
        no_skipping=no_skipping,
        coherence=coherence,
    )


def _opt(v: Any) -> int | None:
    return None if v is None or v is pd.NA else int(_scalar(v))


def _table(cfg: dict[str, Any], no_skipping: bool, coherence: bool) -> dict[str, Any]:
    tab = _design(cfg, no_skipping, coherence).dose_paths(int(_scalar(cfg["n_cohorts"])))
    return {row["path"]: row for _, row in tab.iterrows()}


def _r_rows(cfg_id: str) -> dict[str, dict[str, Any]]:
    (cfg,) = [c for c in CONFIGS if c["id"] == cfg_id]
    return {r["path"]: r for r in cfg["rows"]}


@pytest.mark.parametrize("cfg", CONFIGS, ids=[c["id"] for c in CONFIGS])
def test_decision_table_matches_dfcrm_crm_mtd(cfg: dict[str, Any]) -> None:
    """Every node of the tree: the same paths, and next dose = dfcrm ``crm()$mtd`` (restricted
    trees: dfcrm:::onetrial's restrict rule applied to it); at the sample size the trial stops
    and the selected dose is dfcrm's final ``$mtd``."""
    restrict = bool(cfg["restrict"])
    got = _table(cfg, no_skipping=restrict, coherence=restrict)
    want = {r["path"]: r for r in cfg["rows"]}
    assert set(got) == set(want), "the tree's paths differ from the R enumeration"
    for path, r in want.items():
        row = got[path]
        assert int(row["dose"]) == int(_scalar(r["dose"])), path
        assert int(row["n_dlt"]) == int(_scalar(r["n_dlt"])), path
        # source: dfcrm 0.2-2.1 crm(...)$mtd for the data of `path` (fixture field "next")
        assert _opt(row["next"]) == _opt(r["next"]), (path, row["next"], r["next"], r["mtd"])
        assert _opt(row["selected"]) == _opt(r["selected"]), path
        if r["next"] is not None:
            nxt, cur = int(_scalar(r["next"])), int(_scalar(r["dose"]))
            want_reason = "escalate" if nxt > cur else "de-escalate" if nxt < cur else "stay"
            assert row["decision"] == want_reason, path
        else:
            assert row["decision"] == "stop: maximum sample size reached", path


@pytest.mark.parametrize("cfg", CONFIGS, ids=[c["id"] for c in CONFIGS])
def test_tidy_decision_table_matches_dfcrm(cfg: dict[str, Any]) -> None:
    """The contract's decision table (one row per path, with the patients and DLTs it holds):
    next dose = dfcrm ``crm()$mtd`` for the path's data, action "stop" where R's tree ends."""
    restrict = bool(cfg["restrict"])
    design = _design(cfg, no_skipping=restrict, coherence=restrict)
    tab = design.decision_table(int(_scalar(cfg["n_cohorts"]))).set_index("path")
    for r in cfg["rows"]:
        row = tab.loc[r["path"]]
        tokens = r["path"].split()
        assert row["n"] == sum(len(t) - 1 for t in tokens)
        assert row["events"] == r["path"].count("T")
        assert _opt(row["next_dose"]) == _opt(r["next"]), r["path"]  # source: dfcrm (fixture)
        assert (row["action"] == "stop") == (r["next"] is None), r["path"]


def test_the_fixture_exercises_ties_far_from_quadrature_error() -> None:
    """The closest-to-target choice is never decided by less than 1e-3 in R's fitted rates, so
    quadrature differences (dfcrm: R ``integrate``; earlyphase: Gauss-Legendre) cannot flip it."""
    gaps = [_scalar(r["gap"]) for c in CONFIGS for r in c["rows"]]
    assert min(gaps) > 1e-3


def test_unrestricted_trees_contain_skips_that_the_restrictions_remove() -> None:
    """The comparison is informative: dfcrm's unrestricted ``$mtd`` skips doses in these trees
    (e.g. config C after 2NNN: $mtd = 5)."""
    c = _r_rows("C-unrestricted")
    assert int(_scalar(c["2NNN"]["mtd"])) == 5  # source: dfcrm crm() on 3 patients at dose 2
    assert int(_scalar(_r_rows("C-restricted")["2NNN"]["next"])) == 3


# --- hand-worked restriction cases -----------------------------------------------------------
# Skeleton C: (0.02, 0.06, 0.12, 0.20, 0.30), target 0.25, empiric, cohorts of 3 from dose 2.
# dfcrm $mtd (fixture, config C) for each path, and the rules worked by hand:
#   no skipping: next <= current + 1;  coherence: if the last cohort's DLT rate >= target,
#   next <= current (1/3 = 0.333 >= 0.25, so one DLT in a cohort of 3 forbids escalation).
HAND_C = [
    # path,             dfcrm $mtd, no-skip only, coherence only, both
    ("2NNN", 5, 3, 5, 3),  # 0/3: coherence silent; no skipping caps 5 -> 3
    ("2NNT", 2, 2, 2, 2),  # $mtd = 2 = current: nothing binds
    ("2NNN 3NNT", 4, 4, 3, 3),  # 1/3 >= 0.25: coherence caps 4 -> 3; 4 = 3 + 1 is no skip
    ("2NNN 3NNN 4NNT", 5, 5, 4, 4),  # coherence caps 5 -> 4; no skipping allows 5 = 4 + 1
]


@pytest.mark.parametrize(("path", "mtd", "noskip", "coherent", "both"), HAND_C)
def test_restrictions_worked_by_hand(
    path: str, mtd: int, noskip: int, coherent: int, both: int
) -> None:
    r = _r_rows("C-unrestricted") | _r_rows("C-restricted")
    assert int(_scalar(r[path]["mtd"])) == mtd  # the dfcrm value the hand rule starts from
    (cfg,) = [c for c in CONFIGS if c["id"] == "C-unrestricted"]
    for flags, want in (((True, False), noskip), ((False, True), coherent), ((True, True), both)):
        table = _table(cfg, *flags)
        if path in table:  # the node exists in this design's tree
            assert int(table[path]["next"]) == want, (path, flags)
    # every case is reached by the fully restricted design, whose tree contains the path
    assert int(_table(cfg, True, True)[path]["next"]) == both


def test_coherence_alone_after_a_dlt_at_the_start_dose() -> None:
    """Skeleton D (0.1, ..., 0.5), logistic, target 0.3, cohorts of 3 from dose 1: after 1NNN
    2NNT dfcrm's $mtd is 3; 1/3 >= 0.3 so the coherent design stays at 2 (hand-worked), while
    without coherence (no skipping only) 3 = 2 + 1 is allowed."""
    (cfg,) = [c for c in CONFIGS if c["id"] == "D-restricted"]
    assert int(_scalar(_r_rows("D-restricted")["1NNN 2NNT"]["mtd"])) == 3  # source: dfcrm
    assert int(_table(cfg, True, True)["1NNN 2NNT"]["next"]) == 2
    assert int(_table(cfg, True, False)["1NNN 2NNT"]["next"]) == 3
