"""TITE-BOIN (Yuan et al. 2018, Clin Cancer Res 24:4921-4930).

Validation:

- the decision table with pending patients against a published protocol's TITE-BOIN table
  (Contemp Clin Trials Commun, PMC9260438, Table 1: target 0.2, cohorts of 3, 9 patients),
  typed in below, and the estimator's closed form worked by hand;
- decisions with pending patients (effective-sample-size estimator) against R TITEgBOIN 0.4.0
  ``next_TITE_QuasiBOIN``, and simulated operating characteristics against its
  ``get_oc_TITE_QuasiBOIN`` (20,000 trials each side, compared within Monte Carlo error):
  fixtures/titegboin_reference.json, made by fixtures/r/make_titegboin_fixture.R.

The rest are consistency checks (the design against itself or against BOIN).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from earlyphase.designs.boin import BOIN
from earlyphase.designs.late_onset import Accrual, dlt_times
from earlyphase.designs.tite_boin import TITEBOIN, tite_boin_estimate
from earlyphase.designs.tite_crm import PatientHistory

FIXTURES = Path(__file__).parent / "fixtures"
TITEGBOIN = json.loads((FIXTURES / "titegboin_reference.json").read_text())
TRUTH = [0.05, 0.12, 0.25, 0.40, 0.55]


def test_estimator_closed_form() -> None:
    """Worked by hand from Yuan et al. (2018) and Lin & Yuan (2020), target 0.3: at a dose with
    n = 6, y = 1 DLT, m = 2 pending followed 0.25 and 0.5 of the window (STFT = 0.75):

    imputed: pi = (1 + 0.15) / (6 - 2 + 1) = 0.23; pi / (1 - pi) = 0.23 / 0.77 = 0.298701...;
    p = {1 + 0.298701 x (2 - 0.75)} / 6 = (1 + 0.373377) / 6 = 0.228896...
    ESS: p = 1 / (6 - 2 + 0.75) = 1 / 4.75 = 0.210526...
    With m = 0 both are y / n.
    """
    imp = tite_boin_estimate(1, 6, 2, 0.75, 0.3, "imputed")
    assert float(imp) == pytest.approx((1 + 0.23 / 0.77 * 1.25) / 6, rel=1e-14)
    assert float(imp) == pytest.approx(0.2288961, abs=1e-7)
    assert float(tite_boin_estimate(1, 6, 2, 0.75, 0.3, "ess")) == pytest.approx(1 / 4.75)
    for est in ("imputed", "ess"):
        assert float(tite_boin_estimate(2, 9, 0, 0.0, 0.3, est)) == pytest.approx(2 / 9)
    with pytest.raises(ValueError, match="estimator"):
        tite_boin_estimate(1, 6, 2, 0.75, 0.3, "other")


# PMC9260438 Table 1 (TITE-BOIN, target 0.2, cohorts of 3): (n, DLTs, pending) ->
# escalate / stay / de-escalate / suspend, with the printed STFT thresholds. Ranges in the
# printed table ("<= 1", ">= 2") are expanded to every number of pending patients they cover;
# both tables end each n at the first DLT count that eliminates the dose (">= 2 DLTs").
PUBLISHED: list[tuple[int, int, range, str]] = [
    (3, 0, range(0, 2), "escalate"),
    (3, 0, range(2, 4), "suspend"),
    (3, 1, range(0, 3), "de-escalate"),
    (3, 2, range(0, 2), "eliminate"),
    (6, 0, range(0, 4), "escalate"),
    (6, 0, range(4, 7), "suspend"),
    (6, 1, range(0, 2), "stay"),
    (6, 1, range(4, 6), "suspend"),
    (6, 2, range(0, 5), "de-escalate"),
    (6, 3, range(0, 4), "eliminate"),
    (9, 0, range(0, 5), "escalate"),
    (9, 0, range(5, 10), "suspend"),
    (9, 1, range(0, 3), "escalate"),
    (9, 1, range(5, 9), "suspend"),
    (9, 2, range(0, 1), "stay"),
    (9, 2, range(5, 8), "suspend"),
    (9, 3, range(0, 7), "de-escalate"),
    (9, 4, range(0, 6), "eliminate"),
]
# rows whose decision depends on STFT: (n, DLTs, pending): (escalate if STFT >=, de-escalate
# if STFT <=), as printed (two decimals)
PUBLISHED_STFT: dict[tuple[int, int, int], tuple[float | None, float | None]] = {
    (9, 1, 3): (0.77, None),
    (9, 1, 4): (2.15, None),
    (9, 2, 1): (None, 0.52),
    (9, 2, 2): (None, 1.59),
    (9, 2, 3): (None, 2.66),
    (9, 2, 4): (None, 3.73),
}


def _outcome(row: Any) -> str:
    if row["suspend"]:
        return "suspend"
    if row["de_escalate"] == "Y & eliminate":
        return "eliminate"
    for col in ("escalate", "stay", "de_escalate"):
        if row[col] == "Y":
            return col.replace("_", "-")
    return "stft"


def test_stft_table_against_published_protocol() -> None:
    """Every entry of the published table, its six STFT thresholds to the printed two
    decimals. One hand-worked threshold (n = 9, y = 1, m = 3; lambda_e = 0.157242 for target
    0.2): pi = 1.1 / 7, pi / (1 - pi) = 1.1 / 5.9; escalate when {1 + (1.1 / 5.9)(3 - STFT)} / 9
    <= lambda_e, i.e. STFT >= 3 - (9 lambda_e - 1) x 5.9 / 1.1 = 0.773."""
    d = TITEBOIN(0.2, 5, window=90, cohort_size=3, n_cohorts=10)
    tab = d.stft_table(max_n=9).set_index(["n_treated", "n_dlt", "n_pending"])
    for n, y, ms, want in PUBLISHED:
        for m in ms:
            assert _outcome(tab.loc[(n, y, m)]) == want, (n, y, m)
    for (n, y, m), (esc, deesc) in PUBLISHED_STFT.items():
        row = tab.loc[(n, y, m)]
        assert _outcome(row) == "stft"
        if esc is not None:
            assert round(row["stft_escalate"], 2) == esc
            assert row["escalate"] == f"STFT >= {esc:.2f}"
            assert row["stay"] == f"STFT < {esc:.2f}"
        if deesc is not None:
            # the table prints "de-escalate if STFT <= x", here "< x": equal only on a null set
            assert round(row["stft_deescalate"], 2) == deesc
            assert row["de_escalate"] == f"STFT < {deesc:.2f}"
    # the one disagreement: the published table prints "stay" for 6 treated, 1 DLT and 2 or 3
    # pending; the paper's estimate, which gives all six printed thresholds at 9 patients,
    # de-escalates there when STFT < 0.47 (2 pending: pi = 1.1 / 5, {1 + (0.22 / 0.78)
    # (2 - STFT)} / 6 > lambda_d = 0.238462) or STFT < 1.86 (3 pending)
    for m, cut in ((2, 0.47), (3, 1.86)):
        row = tab.loc[(6, 1, m)]
        assert row["stay"] == f"STFT >= {cut:.2f}" and row["de_escalate"] == f"STFT < {cut:.2f}"
    s_e, _ = d.stft_thresholds(9, 1, 3)
    assert s_e == pytest.approx(3 - (9 * d.lambda_e - 1) * 5.9 / 1.1, rel=1e-12)
    assert s_e == pytest.approx(0.7731, abs=1e-4)


def _history(case: dict[str, Any], maxt: float) -> PatientHistory:
    """Patients of an R case: per dose, the DLTs, the complete patients and the pending ones
    (follow-up ft / npend each), the current dose's patients last."""
    k = len(case["n"])
    d = int(case["d"]) - 1
    lv: list[int] = []
    dlt: list[bool] = []
    fu: list[float] = []
    for j in [*(j for j in range(k) if j != d), d]:
        n, y, m, ft = case["n"][j], case["y"][j], case["npend"][j], case["ft"][j]
        lv += [j + 1] * n
        dlt += [True] * y + [False] * (n - y)
        fu += [maxt / 2] * y + [maxt] * (n - y - m) + ([ft / m] * m if m else [])
    return PatientHistory(np.array(lv), np.array(dlt), np.array(fu, dtype=np.float64))


@pytest.mark.parametrize("compatible", [True, False])
def test_decide_against_titegboin(compatible: bool) -> None:
    """R TITEgBOIN ``next_TITE_QuasiBOIN`` (target 0.3, window 28 days, maxpen 0.5) on 14
    histories with pending patients: next dose, suspension and early stop. With
    ``titegboin_compatible=True`` every case agrees. By default two differ on purpose, as the
    paper's table does: when the DLTs seen already force de-escalation (2 of 5 with 3 pending,
    2 / 5 > lambda_d) TITE-BOIN de-escalates where TITEgBOIN suspends; at dose 1 with the rule
    saying de-escalate it stays without waiting for the pending patient."""
    ref = TITEGBOIN["decide"]
    differ = {"DLTs force de-escalation, most pending": (1, False)}
    differ["de-escalate at dose 1 with pending"] = (1, False)
    for case in ref["cases"]:
        k = len(case["n"])
        d = TITEBOIN(
            ref["target"],
            k,
            window=ref["maxt"],
            cohort_size=1,
            n_cohorts=60,
            estimator="ess",
            titegboin_compatible=compatible,
        )
        dec = d.decide(_history(case, ref["maxt"]))
        name = case["name"]
        if case["earlystop"]:
            assert dec.stop and dec.selected is None, name
            continue
        want_dose, want_suspend = case["next_dose"], bool(case["pending"])
        if not compatible and name in differ:
            want_dose, want_suspend = differ[name]
        assert not dec.stop, name
        assert dec.dose == want_dose, name
        assert bool(dec.estimates["suspend"]) == want_suspend, name
        elim = [i for i, v in enumerate(case["elimi"]) if v]
        if elim and elim[0] < int(case["d"]) - 1:
            pass  # an eliminated dose above: shown by staying (case "next dose eliminated")
        if name == "eliminate dose 2":
            assert dec.reason.startswith("de-escalate: the dose and all higher")


def test_operating_characteristics_against_titegboin() -> None:
    """R TITEgBOIN ``get_oc_TITE_QuasiBOIN`` (target 0.25, 10 cohorts of 3, window 1,
    2 patients per window by Poisson accrual, Weibull times to DLT with half the DLTs in each
    half of the window, maxpen 0.5, 20,000 trials) against 20,000 trials here with the
    estimator, suspensions and resumption at the next arrival of TITEgBOIN. Selection within
    3.5 standard errors of the difference of two Monte Carlo estimates; patients and DLTs per
    dose within 0.15; duration within 0.1 window (R's first patient arrives at time 0, here
    one mean gap, 0.5, later). R selects the MTD with a Beta(0.005, 0.005) prior, BOIN with
    Beta(0.05, 0.05): selection percentages can differ slightly beyond chance."""
    r = TITEGBOIN["oc"]
    s = r["settings"]
    d = TITEBOIN(
        s["target"],
        len(s["prob"]),
        window=s["maxt"],
        cohort_size=s["cohortsize"],
        n_cohorts=s["ncohort"],
        max_pending=s["maxpen"],
        estimator="ess",
        titegboin_compatible=True,
    )
    n_sims = s["ntrial"]
    oc = d.operating_characteristics(
        s["prob"],
        n_sims=n_sims,
        seed=11,
        accrual_rate=s["accrual"] * s["maxt"],
        time_to_dlt="weibull",
        late_fraction=s["alpha1"],
        resume="arrival",
    )
    sel = 100 * oc.selection[:-1]
    ref = np.asarray(r["selpercent"], dtype=np.float64)
    p = (sel + ref) / 200
    se = 100 * np.sqrt(2 * p * (1 - p) / n_sims)
    assert np.all(np.abs(sel - ref) <= 3.5 * se + 0.05), (sel, ref)
    assert 100 * oc.selection[-1] == pytest.approx(r["percentstop"], abs=0.1)
    np.testing.assert_allclose(oc.mean_n, r["npatients"], atol=0.15)
    np.testing.assert_allclose(oc.mean_dlt, r["ntox"], atol=0.1)
    assert oc.mean_total_n == pytest.approx(r["totaln"], abs=0.05)
    assert oc.mean_duration is not None and oc.sd_duration is not None
    assert oc.mean_duration - 0.5 == pytest.approx(r["duration"], abs=0.1)
    assert oc.sd_duration == pytest.approx(r["sdduration"], rel=0.08)


def test_no_pending_decides_as_boin() -> None:
    """Consistency check: with every patient followed to the end of the window, TITE-BOIN
    decides as BOIN at every count of 3..30 patients at dose 2."""
    t = TITEBOIN(0.3, 5, window=30, n_cohorts=12)
    b = BOIN(0.3, 5, n_cohorts=12)
    for n in range(3, 31, 3):
        for y in range(n + 1):
            path = "1NNN 2" + "N" * (n - y) + "T" * y
            dt, db = t.decide(path), b.decide(path)
            assert (dt.dose, dt.stop, dt.action) == (db.dose, db.stop, db.action), path


def test_decision_table_rows_agree_with_decide() -> None:
    """Consistency check: every decision-table row (including STFT ranges) is what decide
    says; suspensions stay at the dose with reason "suspend accrual"."""
    d = TITEBOIN(0.25, 4, window=10, n_cohorts=4)
    tab = d.decision_table()
    assert set(tab["action"]) <= {"escalate", "stay", "de-escalate", "stop"}
    assert tab["reason"].str.startswith("suspend accrual").any()
    assert tab["state"].str.contains("STFT in").any()
    rows = tab[tab["state"].str.startswith("6 at dose 2, 1 with DLT, 2 pending, STFT in")]
    # target 0.25: pi = 1.125 / 5; escalate when {1 + (0.225 / 0.775)(2 - STFT)} / 6 <=
    # lambda_e = 0.196840, i.e. STFT >= 1.376
    assert list(rows["action"]) == ["stay", "escalate"]
    assert d.stft_thresholds(6, 1, 2)[0] == pytest.approx(
        2 - (6 * d.lambda_e - 1) / (0.225 / 0.775)
    )
    assert "1.38" in rows["state"].iloc[0]


def test_suspension_and_messages() -> None:
    d = TITEBOIN(0.3, 5, window=28, n_cohorts=10)
    h = {
        "level": [1, 1, 1, 2, 2, 2],
        "dlt": [0, 0, 0, 0, 0, 0],
        "follow_up": [28, 28, 28, 28, 5, 3],
    }
    dec = d.decide(h)
    assert dec.action == "stay" and dec.dose == 2 and dec.estimates["suspend"]
    assert "suspend accrual" in str(dec)
    # one patient later completes: 1 of 3 pending, escalate
    h["follow_up"] = [28, 28, 28, 28, 28, 3]
    dec = d.decide(h)
    assert dec.action == "escalate" and dec.dose == 3 and not dec.estimates["suspend"]
    # incomplete cohort: stay
    assert d.decide("1NNN 2NN").reason == "stay: the current cohort is not complete"
    assert "STFT" in d.describe() or "follow-up" in d.describe()
    with pytest.raises(ValueError, match="window"):
        TITEBOIN(0.3, 5, window=0)
    with pytest.raises(ValueError, match="max_pending"):
        TITEBOIN(0.3, 5, window=1, max_pending=1.5)


def test_stop_at_max_n_with_pending() -> None:
    d = TITEBOIN(0.3, 3, window=10, n_cohorts=2)
    h = {
        "level": [1, 1, 1, 2, 2, 2],
        "dlt": [0, 0, 0, 0, 1, 0],
        "follow_up": [10, 10, 10, 10, 4, 2],
    }
    dec = d.decide(h)
    assert dec.stop and dec.reason == "stop: maximum sample size reached"
    assert dec.selected is not None and "to be confirmed" in str(dec)


def test_simulated_trials_replay_through_decide() -> None:
    """Consistency check: in 40 simulated trials, the dose each cohort's first patient got is
    what decide says on the data known at that patient's dosing (DLTs seen by then, follow-up
    of the others), with suspensions resolved at the next outcome."""
    d = TITEBOIN(0.25, 5, window=1, n_cohorts=8)
    p = np.asarray(TRUTH)
    sim = d._simulate(p, 40, 5, Accrual("poisson", 1 / 3.0), "uniform", 0.5)
    level, enrol, dlt, resolve = sim["level"], sim["enrol"], sim["dlt"], sim["resolve"]
    checked = 0
    for r in range(40):
        on = np.flatnonzero(level[r] >= 0)
        for i in on[3::3]:
            now = enrol[r, i]
            known = resolve[r, :i] <= now
            seen = dlt[r, :i] & known
            fu = np.where(known, d.window, np.minimum(now - enrol[r, :i], d.window))
            h = PatientHistory(level[r, :i] + 1, seen, fu.astype(np.float64))
            dec = d.decide(h)
            assert dec.dose == level[r, i] + 1 and not dec.estimates["suspend"], (r, i)
            checked += 1
    assert checked > 100


def test_weibull_times_put_the_late_fraction_in_the_second_half() -> None:
    u = np.random.default_rng(1).random(200_000)
    for late in (0.5, 0.7):
        times = dlt_times(np.full(len(u), 0.3), u, 2.0, "weibull", late)
        assert times.max() <= 2.0
        assert float((times > 1.0).mean()) == pytest.approx(late, abs=0.005)


def test_timing_and_pending_summaries() -> None:
    """10,000 trials in well under 2 s on one core; with slow accrual no one is dosed while
    another is pending and the trial lasts about N (gaps) + 1 windows; with fast accrual most
    patients are."""
    d = TITEBOIN(0.25, 5, window=1, n_cohorts=10)
    best = math.inf
    for _ in range(2):
        t0 = time.perf_counter()
        fast = d.operating_characteristics(TRUTH, n_sims=10_000, seed=1, accrual_rate=3.0)
        best = min(best, time.perf_counter() - t0)
    assert best < 2.0
    slow = d.operating_characteristics(TRUTH, n_sims=2_000, seed=2, accrual_rate=0.01)
    assert slow.mean_n_treated_while_pending is not None
    assert slow.mean_n_treated_while_pending < 0.5  # a gap shorter than the window: ~1%
    assert slow.mean_suspensions is not None and slow.mean_suspensions < 0.01
    assert slow.mean_duration == pytest.approx(100 * slow.mean_total_n + 1, rel=0.05)
    assert fast.mean_n_treated_while_pending is not None
    assert fast.mean_n_treated_while_pending > 0.5 * fast.mean_total_n
    summary = fast.summary()
    for key in ("mean_duration", "mean_n_treated_while_pending", "prob_suspended"):
        assert key in summary
    json.dumps(fast.to_dict())
