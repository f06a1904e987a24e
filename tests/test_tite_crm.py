"""TITE-CRM against R dfcrm 0.2-2.1: ``titecrm`` fits (fixtures/dfcrm_titecrm.json, made by
fixtures/r/make_titecrm_fixture.R) and ``titesim`` operating characteristics
(fixtures/dfcrm_titesim_{A,B,C}.json, made by fixtures/r/make_titesim_fixture.R), plus the
design contract."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from earlyphase.designs.calibration import calibrate_skeleton
from earlyphase.designs.conformance import check_design
from earlyphase.designs.contract import DECISION_COLUMNS, PATH_COLUMNS
from earlyphase.designs.crm import CRM
from earlyphase.designs.tite_crm import (
    TITECRM,
    PatientHistory,
    TimedOperatingCharacteristics,
    tite_weights,
)

FIXTURES = Path(__file__).parent / "fixtures"
TITECRM_R = json.loads((FIXTURES / "dfcrm_titecrm.json").read_text())
SKELETON = [0.05, 0.12, 0.25, 0.40, 0.55]
TRUTH = [0.05, 0.10, 0.25, 0.40, 0.55]


def test_against_titecrm_fixture() -> None:
    """26 fits: 6 histories x empiric/logistic x linear/adaptive weights, and 2 with prior
    variance 0.75. dfcrm integrates with R integrate() (relative accuracy ~1e-7 on the worst
    history, 3 patients with 2 DLTs); weights are closed forms."""
    fits = TITECRM_R["fits"]
    assert len(fits) == 26
    for f in fits:
        d = TITECRM(
            TITECRM_R["skeleton"],
            TITECRM_R["target"],
            TITECRM_R["obswin"],
            model=f["model"],
            scheme=f["scheme"],
            prior_sd=f["scale"],
        )
        r = d.fit(level=f["level"], dlt=f["tox"], follow_up=f["followup"])
        where = f"{f['history']} {f['model']} {f['scheme']}"
        np.testing.assert_allclose(r.weights, f["weights"], atol=1e-13, err_msg=where)
        assert r.estimate == pytest.approx(f["estimate"], abs=5e-7), where
        assert r.post_var == pytest.approx(f["post_var"], abs=5e-7), where
        np.testing.assert_allclose(r.ptox, f["ptox"], atol=5e-7, err_msg=where)
        np.testing.assert_allclose(r.ptox_lower, f["ptoxL"], atol=5e-7, err_msg=where)
        np.testing.assert_allclose(r.ptox_upper, f["ptoxU"], atol=5e-7, err_msg=where)
        assert r.mtd == f["mtd"], where


def test_titecrm_help_example() -> None:
    """dfcrm ?titecrm example: 10 patients, window 180 days, linear and adaptive weights, both
    models, and the same data as entry and exit dates (follow-up = exit - entry)."""
    h = TITECRM_R["help"]
    follow_up = np.subtract(h["exit"], h["entry"])
    np.testing.assert_array_equal(follow_up, h["followup"])
    for f in h["fits"]:
        d = TITECRM(
            TITECRM_R["skeleton"], TITECRM_R["target"], 180, model=f["model"], scheme=f["scheme"]
        )
        r = d.fit(level=h["level"], dlt=h["tox"], follow_up=follow_up.tolist())
        np.testing.assert_allclose(r.weights, f["weights"], atol=1e-13)
        assert r.estimate == pytest.approx(f["estimate"], abs=5e-8)
        assert r.post_var == pytest.approx(f["post_var"], abs=5e-8)
        np.testing.assert_allclose(r.ptox, f["ptox"], atol=5e-8)
        np.testing.assert_allclose(r.ptox_lower, f["ptoxL"], atol=5e-8)
        np.testing.assert_allclose(r.ptox_upper, f["ptoxU"], atol=5e-8)
        assert r.mtd == f["mtd"] == 3


def test_weights_by_hand() -> None:
    # linear: u / T capped at 1, DLTs 1
    np.testing.assert_allclose(
        tite_weights([3, 6, 9, 1.5], [0, 0, 0, 1], 6.0), [0.5, 1.0, 1.0, 1.0], atol=1e-15
    )
    # adaptive (Cheung & Chappell 2000): DLT times 2 and 4 in a window of 6, so
    # z = 2; u = 1 -> (0 + 1/2)/3; u = 3 -> (1 + 1/2)/3; u = 5 -> (2 + 1/2)/3; u = 6 -> 1
    w = tite_weights([1, 3, 5, 6, 2, 4], [0, 0, 0, 0, 1, 1], 6.0, "adaptive")
    np.testing.assert_allclose(w, [0.5 / 3, 1.5 / 3, 2.5 / 3, 1.0, 1.0, 1.0], atol=1e-15)
    # adaptive without any DLT is linear
    np.testing.assert_allclose(tite_weights([3, 1], [0, 0], 6.0, "adaptive"), [0.5, 1 / 6])
    with pytest.raises(ValueError, match="scheme"):
        tite_weights([1], [0], 6.0, "quadratic")


@pytest.mark.parametrize("model", ["empiric", "logistic"])
def test_complete_follow_up_is_the_crm(model: str) -> None:
    """With every weight 1 the likelihood is the CRM's (Cheung & Chappell 2000)."""
    path = "3N 4N 4T 3N 3N 4T 3T 2N 2N 2N"  # dfcrm::crm help example
    skel = [0.05, 0.10, 0.20, 0.35, 0.50, 0.70]
    a = TITECRM(skel, 0.2, window=30, model=model).fit(path)
    b = CRM(skel, 0.2, model=model).fit(path)
    assert a.estimate == pytest.approx(b.estimate, abs=1e-12)
    assert a.post_var == pytest.approx(b.post_var, abs=1e-12)
    np.testing.assert_allclose(a.ptox_upper, b.ptox_upper, atol=1e-12)
    assert a.mtd == b.mtd
    np.testing.assert_array_equal(a.weights, 1.0)


def test_history_forms_agree() -> None:
    d = TITECRM(SKELETON, 0.25, window=6)
    mapping = {"level": [1, 1, 2], "dlt": [0, 1, 0], "follow_up": [6, 2, 3]}
    tuples = [(1, False, 6.0), (1, True, 2.0), (2, False, 3.0)]
    patients = PatientHistory(
        np.array([1, 1, 2]), np.array([False, True, False]), np.array([6.0, 2.0, 3.0])
    )
    import pandas as pd

    frame = pd.DataFrame(mapping)
    fits = [d.fit(h) for h in (mapping, tuples, patients, frame)]
    fits.append(d.fit(level=[1, 1, 2], dlt=[0, 1, 0], follow_up=[6, 2, 3]))
    for f in fits[1:]:
        assert f.estimate == fits[0].estimate
    # outcome strings and counts mean complete follow-up
    a = d.decide("1NT 2N")
    b = d.decide({"n": [2, 1, 0, 0, 0], "y": [1, 0, 0, 0, 0], "current_dose": 2})
    c = d.decide({"level": [1, 1, 2], "dlt": [0, 1, 0], "follow_up": [6, 6, 6]})
    assert a.dose == b.dose == c.dose
    assert a.estimates["beta"] == pytest.approx(c.estimates["beta"], abs=1e-14)
    with pytest.raises(ValueError, match="follow_up"):
        d.fit({"level": [1], "dlt": [0]})
    with pytest.raises(ValueError, match="dose levels"):
        d.fit(level=[6], dlt=[0], follow_up=[1])
    with pytest.raises(ValueError, match="follow-up"):
        d.fit(level=[1], dlt=[0], follow_up=[-1])
    with pytest.raises(ValueError, match="tuples"):
        d.decide(3)  # type: ignore[arg-type]


def test_decisions() -> None:
    d = TITECRM(SKELETON, 0.25, window=6, n_patients=6)
    first = d.decide()
    assert (first.action, first.dose) == ("start", 1)
    # no DLT at dose 1 after a third of the window: the model wants a higher dose, no skipping
    # holds it to dose 2
    dec = d.decide({"level": [1], "dlt": [0], "follow_up": [2]})
    assert dec.estimates["model_mtd"] > 2 and (dec.action, dec.dose) == ("escalate", 2)
    assert dec.estimates["pending"] == [1, 0, 0, 0, 0]
    free = TITECRM(SKELETON, 0.25, window=6, no_skipping=False, coherence=False)
    assert (
        free.decide({"level": [1], "dlt": [0], "follow_up": [2]}).dose == dec.estimates["model_mtd"]
    )
    # coherence: 1 DLT in 3 at dose 2 (rate 1/3 >= 0.30) forbids escalating to dose 3 although
    # the model, with a skeleton far below the target, recommends it
    h_up = {"level": [1, 2, 2, 2], "dlt": [0, 1, 0, 0], "follow_up": [6, 0.5, 6, 6]}
    skel_low = [0.01, 0.02, 0.03, 0.04, 0.05]
    coherent = TITECRM(skel_low, 0.30, window=6, n_patients=12)
    incoherent = TITECRM(skel_low, 0.30, window=6, n_patients=12, coherence=False)
    assert incoherent.decide(h_up).dose == 3
    assert coherent.decide(h_up).dose == 2
    # at N the trial stops with the model's dose
    done = d.decide("1N 1N 2N 2N 3T 2N")
    assert done.stop and done.selected == done.estimates["model_mtd"]
    assert str(done).endswith(f"recommend dose {done.selected}")
    early = d.decide({"level": [1, 1, 2, 2, 3, 2], "dlt": [0] * 6, "follow_up": [6] * 5 + [1]})
    assert early.stop and "1 patient(s) still in the DLT window" in str(early)
    # cohorts of 3: the cohort is filled at its dose before the model is asked again
    c3 = TITECRM(SKELETON, 0.25, window=6, cohort_size=3, n_patients=9)
    fill = c3.decide({"level": [1, 1], "dlt": [0, 0], "follow_up": [6, 6]})
    assert (fill.action, fill.dose) == ("stay", 1) and "cohort" in fill.reason


def test_decision_table_layout_and_meaning() -> None:
    d = TITECRM(SKELETON, 0.25, window=6, n_patients=12)
    table = d.decision_table()
    assert list(table.columns) == list(DECISION_COLUMNS)
    # 4 statuses (DLT, complete, pending at 1/3 and at 2/3 of the window): multisets of 1..3
    assert len(table) == 4 + 10 + 20
    complete = table[table["path"].notna()]
    assert len(complete) == 2 + 3 + 4
    for _, row in table.iterrows():
        if row["path"] is not None and isinstance(row["path"], str):
            assert d.decide(row["path"]).dose == row["next_dose"]
    # one pending patient at a third of the window: escalate to dose 2 (see test_decisions)
    row = table[table["state"].str.startswith("1 at dose 1: 0 with DLT, 0 complete")].iloc[0]
    assert (row["action"], row["next_dose"]) == ("escalate", 2)
    assert (d.decision_table(n_patients=1, follow_up_fractions=[0.5])["n"] == 1).all()
    proto = d.protocol_table()
    assert list(proto.columns) == ["item", "rule"] and "Coherence" in set(proto["item"])


def test_dose_paths() -> None:
    d = TITECRM(SKELETON, 0.25, window=6, n_patients=12)
    paths = d.dose_paths(3, truth=TRUTH)
    assert list(paths.columns) == list(PATH_COLUMNS)
    for c in (1, 2, 3):
        assert paths.loc[paths["cohort"] == c, "probability"].sum() == pytest.approx(1.0)
    # pending patients of the history count as complete without DLT by the next decision
    h = {"level": [1, 1, 2], "dlt": [0, 0, 0], "follow_up": [6, 4, 1]}
    from_h = d.dose_paths(1, history=h)
    nxt = d.decide({"level": [1, 1, 2], "dlt": [0, 0, 0], "follow_up": [6, 6, 6]}).dose
    assert set(from_h["dose"]) == {nxt}
    assert d.dose_paths(1, history="1N 1N 1N 2N 2N 2N 3N 3N 3N 3N 3N 3N").empty


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"model": "logistic", "scheme": "adaptive", "cohort_size": 2, "start_dose": 2},
        {"n_patients": 2, "coherence": False, "no_skipping": False},
    ],
)
def test_contract(kwargs: dict[str, Any]) -> None:
    n = kwargs.pop("n_patients", 8)
    check_design(TITECRM(SKELETON, 0.25, window=6, n_patients=n, **kwargs), TRUTH, n_sims=100)


def _titesim(name: str) -> dict[str, Any]:
    out: dict[str, Any] = json.loads((FIXTURES / f"dfcrm_titesim_{name}.json").read_text())
    return out


@pytest.mark.parametrize("name", ["A", "B", "C"])
def test_against_titesim(name: str) -> None:
    """dfcrm ``titesim``, 2000 trials each (settings in the fixture: A empiric/linear/Poisson
    accrual 2 per window, B logistic/linear/fixed accrual 4 per window, C empiric/adaptive/
    Poisson 3 per window starting at dose 2; skeletons from ``getprior``). ``titesim`` restricts
    only skipping, so coherence is off here. Both are Monte Carlo: selection probabilities
    agree within 4 standard errors of the difference; mean patients and DLTs per dose within
    4 standard errors using a per-trial SD of 4 patients (the largest seen is 3.7) and 2 DLTs;
    durations within 4 standard errors."""
    r = _titesim(name)
    skeleton = calibrate_skeleton(r["target"], len(r["PI"]), r["nu"], r["halfwidth"], r["model"])
    np.testing.assert_allclose(skeleton, r["prior"], atol=1e-13)
    d = TITECRM(
        skeleton.tolist(),
        r["target"],
        r["obswin"],
        model=r["model"],
        scheme=r["scheme"],
        n_patients=r["n"],
        start_dose=r["x0"],
        coherence=False,
    )
    n_sims = 2000
    oc = d.operating_characteristics(
        r["PI"], n_sims=n_sims, seed=2024, accrual_rate=r["rate"], accrual=r["accrual"]
    )
    assert isinstance(oc, TimedOperatingCharacteristics)
    sel, ref = oc.selection[:-1], np.asarray(r["selection"])
    se = np.sqrt(sel * (1 - sel) / n_sims + ref * (1 - ref) / r["nsim"])
    assert np.all(np.abs(sel - ref) <= 4 * se + 1e-3), (sel, ref)
    se_n = 4.0 * math.sqrt(1 / n_sims + 1 / r["nsim"])
    np.testing.assert_allclose(oc.mean_n, r["mean_n"], atol=4 * se_n)
    np.testing.assert_allclose(oc.mean_dlt, r["mean_dlt"], atol=4 * se_n / 2)
    assert oc.selection[-1] == 0.0 and oc.mean_total_n == pytest.approx(r["n"])
    assert oc.mean_duration is not None and oc.sd_duration is not None
    se_dur = math.sqrt((oc.sd_duration**2 + r["sd_duration"] ** 2) / n_sims)
    assert abs(oc.mean_duration - r["mean_duration"]) <= 4 * se_dur + 1e-9


@pytest.mark.parametrize(
    "kwargs",
    [
        {"scheme": "adaptive"},
        {"model": "logistic", "cohort_size": 2, "start_dose": 2},
        {"coherence": False, "no_skipping": False},
    ],
)
def test_simulation_follows_decide(kwargs: dict[str, Any]) -> None:
    """Replaying simulated trials through :meth:`decide`, with what is known at each arrival,
    gives the doses the vectorised simulation gave: one rule for conduct and simulation."""
    d = TITECRM(SKELETON, 0.25, window=6, n_patients=10, **kwargs)
    sim = d.simulate_trials([0.08, 0.15, 0.3, 0.45, 0.6], n_sims=40, seed=3, accrual_rate=3)
    for t in range(40):
        assert sim.level[t, 0] == d.start_dose
        for i in range(1, 10):
            h = sim.history_at(t, float(sim.arrival[t, i]))
            assert len(h) == i
            assert d.decide(h).dose == sim.level[t, i], (t, i)
    with pytest.raises(ValueError, match="accrual"):
        d.simulate_trials(TRUTH, 5, accrual="daily")


def test_operating_characteristics_result() -> None:
    d = TITECRM(SKELETON, 0.25, window=30, n_patients=10)
    oc = d.operating_characteristics(TRUTH, n_sims=300, seed=5, accrual_rate=2, accrual="fixed")
    again = d.operating_characteristics(TRUTH, n_sims=300, seed=5, accrual_rate=2, accrual="fixed")
    np.testing.assert_array_equal(oc.selection, again.selection)
    # fixed gaps of 30 / 2: the last of 10 patients arrives at 150, the window ends at 180
    assert oc.mean_duration == pytest.approx(180.0) and oc.sd_duration == pytest.approx(0.0)
    s = oc.summary()
    assert s["method"] == "simulate" and s["accrual"] == "fixed" and s["window"] == 30.0
    table = oc.table()
    assert "pct_patients" in table.columns
    assert table["pct_patients"].iloc[:-1].sum() == pytest.approx(100.0)
    json.dumps(oc.to_dict())
    assert oc.selection.sum() == pytest.approx(1.0)
    for kwargs, message in (
        ({"method": "exact"}, "method"),
        ({"accrual": "weekly"}, "accrual"),
        ({"accrual_rate": 0.0}, "accrual_rate"),
        ({"time_to_dlt": "gamma"}, "time_to_dlt"),
        ({"dropout": 1.5}, "dropout"),
        ({"screen_fail": -0.1}, "screen_fail"),
        ({"n_sims": 0}, "n_sims"),
    ):
        with pytest.raises(ValueError, match=message):
            d.operating_characteristics(TRUTH, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"skeleton": [0.2, 0.1]}, "skeleton"),
        ({"target": 0.0}, "target"),
        ({"window": 0}, "window"),
        ({"model": "power"}, "model"),
        ({"scheme": "step"}, "scheme"),
        ({"n_patients": 0}, "n_patients"),
        ({"cohort_size": 1.5}, "cohort_size"),
        ({"model": "logistic", "intercept": -2.0}, "intercept"),
    ],
)
def test_bad_settings(kwargs: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {"skeleton": SKELETON, "target": 0.25, "window": 6.0, **kwargs}
    with pytest.raises(ValueError, match=message):
        TITECRM(**args)


def test_describe_names_every_setting() -> None:
    text = TITECRM(SKELETON, 0.25, window=6, scheme="adaptive", cohort_size=2).describe()
    for part in ("TITE-CRM", "adaptive", "window of 6", "target 0.25", "cohorts of 2"):
        assert part in text
