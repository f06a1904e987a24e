"""Dose paths with pending patients (``dose_paths(..., pending_follow_up=g)``) of TITE-CRM,
TITE-BOIN and the rolling six (:mod:`earlyphase.designs.pending_paths`).

Validation:

- whole trees (paths, next dose, suspensions, probabilities) against the same trees enumerated
  in R with the decisions of dfcrm ``titecrm`` and TITEgBOIN ``next_TITE_QuasiBOIN``
  (``fixtures/pending_paths_reference.json``, made by
  ``fixtures/r/make_pending_paths_fixture.R``);
- every TITE-BOIN node (the paper's imputed estimator) against the decision table with
  pending columns, :meth:`TITEBOIN.stft_table`, itself checked against a published protocol's
  table in ``test_tite_boin.py``; every rolling-six node against Skolnik et al. (2008) Table 1;
- the probabilities against cases worked by hand (two patients; a history's pending patient;
  a patient's DLT probability over the whole window, p, whatever the decisions).

Consistency checks: leaf probabilities sum to 1; a suspension is followed by a wait.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from earlyphase.designs import TITEBOIN, TITECRM, RollingSix
from earlyphase.designs.contract import PATH_COLUMNS
from earlyphase.designs.pending_paths import MAX_PENDING_NODES
from test_rolling_six import SKOLNIK_TABLE_1

REF = json.loads((Path(__file__).parent / "fixtures" / "pending_paths_reference.json").read_text())
TRUTH = [0.05, 0.12, 0.25, 0.40, 0.55]
SKELETON = [0.05, 0.12, 0.25, 0.40, 0.55]


def _config(cid: str) -> dict[str, Any]:
    return next(c for c in REF["configs"] if c["id"] == cid)


def _leaves(tree: pd.DataFrame) -> pd.DataFrame:
    paths = list(tree["path"])
    inner = {p.rsplit(" / ", 1)[0] for p in paths if " / " in p}
    return tree[[p not in inner for p in paths]]


def _compare(tree: pd.DataFrame, cfg: dict[str, Any]) -> None:
    got = {r.path: r for r in tree.itertuples(index=False)}
    want = {r["path"]: r for r in cfg["rows"]}
    assert set(got) == set(want)
    for path, ref in want.items():
        row = got[path]
        nxt = None if pd.isna(row.next) else int(row.next)
        assert nxt == ref["next"], path
        assert row.decision.startswith("suspend") == ref["suspend"], path
        assert row.cohort == ref["cohort"], path
        assert row.probability == pytest.approx(ref["probability"], rel=1e-12), path


@pytest.mark.parametrize("cid", ["crm-A", "crm-B", "crm-C"])
def test_tite_crm_tree_against_dfcrm(cid: str) -> None:
    """Every node's next dose (dfcrm ``titecrm``'s MTD with the weights of the moment, no
    skipping, coherence as stated) and probability, as enumerated in R."""
    cfg = _config(cid)
    d = TITECRM(
        cfg["skeleton"],
        cfg["target"],
        window=cfg["obswin"],
        model=cfg["model"],
        prior_sd=cfg["scale"],
        intercept=cfg["intcpt"],
        n_patients=cfg["n"],
        cohort_size=cfg["cohortsize"],
        start_dose=cfg["x0"],
        coherence=cfg["coherence"],
    )
    tree = d.dose_paths(cfg["ncohorts"], truth=cfg["truth"], pending_follow_up=cfg["g"])
    assert list(tree.columns) == list(PATH_COLUMNS)
    _compare(tree, cfg)


@pytest.mark.parametrize("cid", ["boin-A", "boin-B"])
def test_tite_boin_tree_against_titegboin(cid: str) -> None:
    """Every node's next dose, suspension and probability with the effective-sample-size
    estimator (TITEgBOIN ``next_TITE_QuasiBOIN``, whose suspension rule
    ``titegboin_compatible`` follows), as enumerated in R."""
    cfg = _config(cid)
    d = TITEBOIN(
        cfg["target"],
        len(cfg["truth"]),
        window=28,
        cohort_size=cfg["cohortsize"],
        n_cohorts=cfg["maxn"] // cfg["cohortsize"],
        estimator="ess",
        titegboin_compatible=True,
    )
    tree = d.dose_paths(cfg["ncohorts"], truth=cfg["truth"], pending_follow_up=cfg["g"])
    _compare(tree, cfg)
    assert tree["decision"].str.startswith("suspend").any()


def _follow_ups(path: str, g: float) -> list[list[float]]:
    """Each patient's follow-up (windows) at the last decision of ``path``, per cohort token,
    read from the path: a cohort first seen at decision s has (t - s + 1) g at decision t."""
    snaps = path.split(" / ")
    t = len(snaps)
    first: list[int] = []
    for s, snap in enumerate(snaps, start=1):
        while len(first) < len(snap.split()):
            first.append(s)
    return [
        [min((t - first[j] + 1) * g, 1.0)] * (len(tok) - 1)
        for j, tok in enumerate(snaps[-1].split())
    ]


def _counts(snapshot: str, k: int) -> tuple[list[int], list[int], list[int], int]:
    n, y, m = [0] * k, [0] * k, [0] * k
    cur = 0
    for tok in snapshot.split():
        cur = int(tok[0]) - 1
        n[cur] += len(tok) - 1
        y[cur] += tok.count("T")
        m[cur] += tok.count("P")
    return n, y, m, cur


@pytest.mark.parametrize(("target", "size", "g"), [(0.3, 3, 0.5), (0.25, 3, 1 / 3), (0.2, 2, 0.4)])
def test_tite_boin_nodes_follow_the_decision_table(target: float, size: int, g: float) -> None:
    """Each node of the paper's TITE-BOIN (imputed estimator) decides as the row of the
    decision table with pending columns (n treated, DLTs, pending, STFT thresholds) says:
    suspend, escalate when STFT >= the escalation threshold, de-escalate below the
    de-escalation one, else stay (nodes where another dose is eliminated or the sample size is
    reached are left to test_tite_boin.py)."""
    k = 5
    d = TITEBOIN(target, k, window=28, cohort_size=size, n_cohorts=6)
    table = d.stft_table()
    rows = {(r.n_treated, r.n_dlt, r.n_pending): r for r in table.itertuples(index=False)}
    # the table's rows stop at the DLT count that eliminates the dose
    elim_y = {
        int(r.n_treated): int(r.n_dlt)
        for r in table.itertuples(index=False)
        if "eliminate" in r.de_escalate
    }
    tree = d.dose_paths(4, truth=TRUTH, pending_follow_up=g)
    checked = 0
    for r in tree.itertuples(index=False):
        snap = r.path.split(" / ")[-1]
        n, y, m, cur = _counts(snap, k)
        if any(y[j] >= elim_y.get(n[j], n[j] + 1) for j in range(k) if j != cur):
            continue  # another dose eliminated
        if sum(n) >= d.max_n:
            assert pd.isna(r.next)
            continue
        row = rows[(n[cur], min(y[cur], elim_y.get(n[cur], y[cur])), m[cur])]
        fu = _follow_ups(r.path, g)
        toks = snap.split()
        stft = sum(
            u
            for tok, us in zip(toks, fu, strict=True)
            if int(tok[0]) - 1 == cur
            for letter, u in zip(tok[1:], us, strict=True)
            if letter == "P"
        )
        if "eliminate" in row.de_escalate:
            want, suspend = (None if cur == 0 else cur), False
        elif row.suspend:
            want, suspend = cur + 1, True
        else:
            if row.escalate == "Y" or (
                not math.isnan(row.stft_escalate) and stft >= row.stft_escalate and row.escalate
            ):
                move = 1
            elif row.de_escalate == "Y" or (
                not math.isnan(row.stft_deescalate)
                and stft < row.stft_deescalate
                and row.de_escalate
            ):
                move = -1
            else:
                move = 0
            nxt = cur + move
            nxt = min(max(nxt, 0), k - 1)
            want, suspend = nxt + 1, False
        got = None if pd.isna(r.next) else int(r.next)
        assert got == want, r.path
        assert r.decision.startswith("suspend") == suspend, r.path
        checked += 1
    assert checked > 50


def test_rolling_six_nodes_follow_skolnik_table_1() -> None:
    """Each node at the highest dose tried (below the top, no dose below with two DLTs)
    decides as Skolnik et al. (2008) Table 1 says for the patients enrolled, with DLT, without
    DLT and pending there; a suspension is followed by a wait (no one dosed, one interval)."""
    table: dict[tuple[int, str, int, int], str] = {}
    for m, t, without, pend, decision in SKOLNIK_TABLE_1:
        for e, p in zip(without.split(", "), pend.split(", "), strict=True):
            table[(m, t, int(e), int(p))] = decision
    k = 4
    d = RollingSix(k)
    tree = d.dose_paths(8, truth=TRUTH[:k], pending_follow_up=0.3)
    seen: set[str] = set()
    checked = 0
    for r in tree.itertuples(index=False):
        snap = r.path.split(" / ")[-1]
        n, y, pend, cur = _counts(snap, k)
        if cur != max(j for j in range(k) if n[j]) or cur == k - 1 or n[cur] < 2:
            continue
        if any(y[j] >= 2 for j in range(cur)):
            continue
        t = y[cur]
        # the rows of two or more DLTs all say de-escalate
        decision = (
            "De-escalate" if t >= 2 else table[(n[cur], str(t), n[cur] - t - pend[cur], pend[cur])]
        )
        seen.add(decision)
        got = None if pd.isna(r.next) else int(r.next)
        want = {"Escalate": cur + 2, "De-escalate": cur}.get(decision, cur + 1)
        suspend = decision == "Suspend"
        if decision == "De-escalate" and (cur == 0 or n[cur - 1] >= 6):
            # no dose below, or six there (the module's convention, as the 3+3): stop when
            # all six are evaluated, else wait for them
            want = None if cur == 0 or pend[cur - 1] == 0 else cur
            suspend = want is not None
        assert got == want, r.path
        assert r.decision.startswith("suspend") == suspend, r.path
        checked += 1
    assert seen == {"Escalate", "De-escalate", "Same dose level", "Suspend"}
    # a wait: the children of a suspension keep the cohort count and the patients
    for r in tree[tree["decision"].str.startswith("suspend")].itertuples(index=False):
        kids = tree[tree["path"].str.startswith(r.path + " / ")]
        kids = kids[kids["path"].str.count(" / ") == r.path.count(" / ") + 1]
        if r.cohort < 8:
            assert len(kids) and (kids["cohort"] == r.cohort).all()
            n_before = sum(len(tok) - 1 for tok in r.path.split(" / ")[-1].split())
            for p in kids["path"]:
                assert sum(len(tok) - 1 for tok in p.split(" / ")[-1].split()) == n_before


def test_two_patients_worked_by_hand() -> None:
    """TITE-CRM, one patient per cohort, a decision every half window, DLT rates 0.05 at dose
    1 and 0.12 at dose 2. First decision: patient 1 has a DLT by half the window with
    probability 0.05 x 0.5 = 0.025 (1T), none with 0.975 (1P). At the second decision patient
    1 (if pending) has completed the window: a DLT in the second half given none in the first
    with probability 0.05 x 0.5 / 0.975; patient 2 at the dose decided (2 after 1P: R dfcrm
    titecrm in the fixture; 1 after 1T) has one by half the window with probability p / 2.
    So 1P / 1N 2P = 0.975 x (0.95 / 0.975) x (1 - 0.06) = 0.893, 1P / 1T 2T = 0.025 x 0.06 =
    0.0015, 1T / 1T 1T = 0.025 x 0.025 = 0.000625."""
    d = TITECRM(SKELETON, 0.25, window=6, n_patients=24, coherence=False)
    tree = d.dose_paths(2, truth=TRUTH, pending_follow_up=0.5)
    prob = dict(zip(tree["path"], tree["probability"], strict=True))
    assert set(prob) == {
        "1P",
        "1T",
        "1P / 1N 2P",
        "1P / 1N 2T",
        "1P / 1T 2P",
        "1P / 1T 2T",
        "1T / 1T 1P",
        "1T / 1T 1T",
    }
    assert prob["1P"] == pytest.approx(0.975)
    assert prob["1T"] == pytest.approx(0.025)
    assert prob["1P / 1N 2P"] == pytest.approx(0.95 * 0.94)
    assert prob["1P / 1N 2T"] == pytest.approx(0.95 * 0.06)
    assert prob["1P / 1T 2P"] == pytest.approx(0.025 * 0.94)
    assert prob["1P / 1T 2T"] == pytest.approx(0.025 * 0.06)
    assert prob["1T / 1T 1P"] == pytest.approx(0.025 * 0.975)
    assert prob["1T / 1T 1T"] == pytest.approx(0.025 * 0.025)
    # a patient's DLT over the whole window has probability p, whatever was decided meanwhile
    first_t = sum(
        p
        for path, p in prob.items()
        if path.count(" / ") == 1 and path.split(" / ")[1].startswith("1T")
    )
    assert first_t == pytest.approx(0.05)


def test_pending_patient_of_the_history_worked_by_hand() -> None:
    """A history with patient 2 pending at half the window (follow-up 3 of 6): at the first
    decision, half a window later, patient 2 has completed it, with a DLT in the second half
    with probability 0.05 x 0.5 / (1 - 0.05 x 0.5) = 0.025 / 0.975; patient 3, dosed at the
    start, has one by then with probability p_d / 2."""
    d = TITECRM(SKELETON, 0.25, window=6, n_patients=24)
    h = {"level": [1, 1], "dlt": [0, 0], "follow_up": [6, 3]}
    nxt = d.decide(h).dose
    assert nxt is not None
    tree = d.dose_paths(1, history=h, truth=TRUTH, pending_follow_up=0.5)
    prob = dict(zip(tree["path"], tree["probability"], strict=True))
    q = TRUTH[nxt - 1] / 2
    late = 0.025 / 0.975
    assert prob[f"1NN {nxt}P"] == pytest.approx((1 - late) * (1 - q))
    assert prob[f"1NT {nxt}T"] == pytest.approx(late * q)
    assert len(prob) == 4


@pytest.mark.parametrize(
    "make",
    [
        lambda: TITECRM(SKELETON, 0.25, window=6, n_patients=24, cohort_size=2),
        lambda: TITEBOIN(0.25, 5, window=28, n_cohorts=5),
        lambda: RollingSix(5),
    ],
)
@pytest.mark.parametrize("g", [0.25, 0.5, 0.8])
def test_consistency_leaf_probabilities_sum_to_one(make: Any, g: float) -> None:
    design = make()
    n = 3 if isinstance(design, TITECRM | TITEBOIN) else 6
    tree = design.dose_paths(n, truth=TRUTH, pending_follow_up=g)
    assert _leaves(tree)["probability"].sum() == pytest.approx(1.0, abs=1e-12)
    assert (tree["probability"] > 0).all()
    no_truth = design.dose_paths(n, pending_follow_up=g)
    assert list(no_truth["path"]) == list(tree["path"])
    assert no_truth["probability"].isna().all()


def test_bad_settings_are_refused() -> None:
    d = TITEBOIN(0.25, 5, window=28)
    for bad in (0, 1, 1.5, -0.2, True, float("nan"), "0.5"):
        with pytest.raises(ValueError, match="pending_follow_up"):
            d.dose_paths(2, pending_follow_up=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="pending_follow_up: needs scheme='linear'"):
        TITECRM(SKELETON, 0.25, window=6, scheme="adaptive").dose_paths(2, pending_follow_up=0.5)
    with pytest.raises(
        ValueError, match=f"n_cohorts: 12 cohorts make a tree of more than {MAX_PENDING_NODES:,}"
    ):
        RollingSix(5).dose_paths(12, pending_follow_up=0.1)


def test_history_patients_keep_their_own_follow_up() -> None:
    """TITE-BOIN, target 0.25, cohorts of 3: three patients completed at dose 1, three at
    dose 2 followed for 20, 10 and 3 days of a 28-day window, none with DLT. Two of three
    pending is more than half, so accrual waits; half a window (14 days) later the first has
    completed the window (a DLT in the last 8 days given none in 20 with probability
    q1 = 0.12 x 8/28 / (1 - 0.12 x 20/28), dose 2's rate 0.12), the others have reached 24
    and 17 days (q2 = 0.12 x 14/28 / (1 - 0.12 x 10/28), q3 = 0.12 x 14/28 /
    (1 - 0.12 x 3/28)). The history's letters are in order of enrolment, so each stays with
    its patient."""
    d = TITEBOIN(0.25, 5, window=28, cohort_size=3, n_cohorts=10)
    h = {"level": [1, 1, 1, 2, 2, 2], "dlt": [0] * 6, "follow_up": [28, 28, 28, 20, 10, 3]}
    assert d.decide(h).reason.startswith("suspend")
    tree = d.dose_paths(1, history=h, truth=TRUTH, pending_follow_up=0.5)
    assert tree["path"].is_unique
    first = tree[~tree["path"].str.contains(" / ")]
    assert (first["cohort"] == 0).all()  # a wait: no cohort dosed yet
    prob = dict(zip(first["path"], first["probability"], strict=True))
    q1 = 0.12 * (8 / 28) / (1 - 0.12 * 20 / 28)
    q2 = 0.12 * (14 / 28) / (1 - 0.12 * 10 / 28)
    q3 = 0.12 * (14 / 28) / (1 - 0.12 * 3 / 28)
    assert prob["1NNN 2NTP"] == pytest.approx((1 - q1) * q2 * (1 - q3))
    assert prob["1NNN 2NPT"] == pytest.approx((1 - q1) * (1 - q2) * q3)
    assert prob["1NNN 2TPP"] == pytest.approx(q1 * (1 - q2) * (1 - q3))
    assert sum(prob.values()) == pytest.approx(1.0)


def test_consistency_rolling_six_history_paths_are_distinct() -> None:
    """A rolling-six history's pending patient (taken as just dosed) and the next patient
    resolve separately: 2NPT and 2NTP are different nodes, each 0.94 x 0.06 (dose 2's rate
    0.12 over half the window is 0.06)."""
    tree = RollingSix(5).dose_paths(2, history="1NNN 2NP", truth=TRUTH, pending_follow_up=0.5)
    assert tree["path"].is_unique
    prob = dict(zip(tree["path"], tree["probability"], strict=True))
    assert prob["1NNN 2NPT"] == pytest.approx(0.94 * 0.06)
    assert prob["1NNN 2NTP"] == pytest.approx(0.06 * 0.94)
