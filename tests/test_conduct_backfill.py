"""Backfill (BF-BOIN, Zhao et al. 2024) in the trial service: while the escalation cohort is
full and its DLT outcomes are pending, an arriving subject is backfilled at the cleared lower
dose the design opens (after a response there, up to the cap), or refused naming why no dose
is open; the backfill subjects' known outcomes join the frozen, signed decisions. The design's
numbers are validated in tests/test_backfill.py; here, the conduct and the service's
consistency with the design's own ``decide`` on the same data."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from earlyphase.conduct import ConductError, TrialService, open_store
from earlyphase.conduct.protocol import build_protocol
from earlyphase.conduct.web import create_app
from earlyphase.designs import BOIN
from earlyphase.designs.backfill import Backfill
from helpers import csrf_of

TRIAL = "BACKFILL"
TODAY = dt.datetime.now(dt.UTC).date()
DOSES = [0.5, 1.0, 2.0]
SPEC: dict[str, Any] = {
    "target": 0.3,
    "n_cohorts": 4,
    "backfill_window": 28,
    "backfill_cap": 6,
    "endpoint_visit": "Day 28",
}


def _day(offset: int) -> str:
    return (TODAY + dt.timedelta(days=offset)).isoformat()


def _setup(db: str, spec: dict[str, Any] = SPEC) -> tuple[TrialService, dict[str, Any]]:
    svc = TrialService(open_store(db))
    svc.bootstrap_admin("admin", "Ada Admin", "admin-pass-1")
    admin = svc.authenticate("admin", "admin-pass-1")
    svc.create_site(admin, "Tokyo")
    svc.create_site(admin, "Osaka")
    svc.create_user(admin, "stat", "Sam Statistician", "statistician", "stat-passwd-1")
    svc.create_user(admin, "inv", "Ivy One", "investigator", "inv-passwd-11", "Tokyo")
    svc.create_user(admin, "inv2", "Ian Two", "investigator", "inv2-passwd-11", "Osaka")
    svc.create_trial(admin, TRIAL, "boin", spec, DOSES, conduct={"time_zone": "UTC"})
    return svc, {
        "admin": admin,
        "stat": svc.authenticate("stat", "stat-passwd-1"),
        "inv": svc.authenticate("inv", "inv-passwd-11"),
        "inv2": svc.authenticate("inv2", "inv2-passwd-11"),
    }


def _treat(svc: TrialService, inv: Any, code: str, days_ago: int) -> dict[str, Any]:
    """Enrol where the service places the subject and infuse its dose ``days_ago`` days ago."""
    svc.enrol(inv, TRIAL, code, 60, enrolled_on=_day(-days_ago - 1))
    placed = svc.placement(inv, TRIAL, code)
    svc.record_infusion(inv, TRIAL, code, f"{_day(-days_ago)}T10:00", placed["dose"], "L1")
    return placed


def _dlt(svc: TrialService, inv: Any, code: str, onset: int) -> None:
    svc.record_ae(
        inv, TRIAL, code, "Immune system disorders", "Cytokine release syndrome", 3,
        related=True, onset_on=_day(onset), dlt=True,
    )  # fmt: skip


def test_backfill_settings_are_checked_at_creation(db_url: str) -> None:
    svc, u = _setup(db_url)
    assert isinstance(build_protocol("boin", {**SPEC, "n_doses": 3}), Backfill)
    bad = {**SPEC, "backfill_cap": 0, "backfill_assign": "middle", "responders": ["XX"]}
    with pytest.raises(ConductError) as err:
        svc.create_trial(u["admin"], "BAD", "boin", bad, DOSES)
    for field in ("backfill_cap", "backfill_assign", "responders"):
        assert f"{field}: " in str(err.value)
    with pytest.raises(ConductError, match="stop_at_n: backfill wraps"):
        svc.create_trial(u["admin"], "BAD", "boin", {**SPEC, "stop_at_n": 12}, DOSES)
    with pytest.raises(ConductError, match="backfill_cap: 500 a dose"):
        svc.create_trial(u["admin"], "BAD", "boin", {**SPEC, "backfill_cap": 500}, DOSES)
    with pytest.raises(ConductError, match="backfill_window: not a setting of the crm design"):
        svc.create_trial(
            u["admin"], "BAD", "crm",
            {"skeleton": [0.1, 0.2, 0.3], "target": 0.3, "backfill_window": 28}, DOSES,
        )  # fmt: skip
    with pytest.raises(ConductError, match=r"backfill_window: .*dlt_window_days \(28 days\)"):
        svc.create_trial(u["admin"], "BAD", "boin", {**SPEC, "backfill_window": 21}, DOSES)
    assert "BAD" not in svc.trial_names()
    svc.create_trial(u["admin"], "PLAIN", "3+3", {"backfill_window": 28}, DOSES)


def test_a_backfill_trial_run_through_the_service(db_url: str) -> None:
    svc, u = _setup(db_url)
    inv, stat = u["inv"], u["stat"]
    for code in ("S1", "S2", "S3"):
        _treat(svc, inv, code, 40)
        svc.record_dlt(inv, TRIAL, code, assessed_on=_day(-13))
    first = svc.recommendation(stat, TRIAL)["latest"]
    assert first["next_dose"] == 2 and first["backfill_subjects"] == []
    svc.confirm_decision(stat, first["id"], "stat-passwd-1")
    for code in ("S4", "S5", "S6"):  # their window ended; the assessments are due
        assert _treat(svc, inv, code, 30)["arm"] == "escalation"

    # cohort 2 is pending; dose 1 is cleared but no response was seen there yet
    st = svc.status(stat, TRIAL)
    assert st["backfill"]["doses_open"] == [] and st["next_subject"]["arm"] is None
    why = {r["dose_level"]: r["why_closed"] for r in st["backfill"]["per_dose"]}
    assert why[1] == "no response seen there yet" and "not below" in why[2]
    with pytest.raises(ConductError, match=r"^cohort: cohort 2 is full .*no dose is open for "
                       r"backfill \(dose 1: no response seen there yet"):  # fmt: skip
        svc.enrol(inv, TRIAL, "S7", 60)
    svc.record_response(inv, TRIAL, "S1", "Day 28", "PR", _day(-13))
    st = svc.status(stat, TRIAL)
    assert st["backfill"]["doses_open"] == [1]
    assert (st["next_subject"]["arm"], st["next_subject"]["dose_level"]) == ("backfill", 1)

    # backfilled at dose 1 up to the cap of 6 treated there
    for code in ("S7", "S8", "S9"):
        placed = _treat(svc, inv, code, 4)
        assert (placed["arm"], placed["dose_level"], placed["cohort"]) == ("backfill", 1, -1)
    st = svc.status(stat, TRIAL)
    dose1 = st["backfill"]["per_dose"][0]
    assert (dose1["treated"], dose1["escalation"], dose1["backfill"], dose1["cap"]) == (6, 3, 3, 6)
    assert st["backfill"]["cohorts"] == [{"number": -1, "dose_level": 1,
                                          "subjects": ["S7", "S8", "S9"]}]  # fmt: skip
    assert [c["number"] for c in st["cohorts"]] == [1, 2]
    assert {p["code"]: p["backfill"] for p in st["pending"]}["S7"] is True
    with pytest.raises(ConductError, match=r"dose 1: at the cap \(6 of 6 treated\)"):
        svc.enrol(inv, TRIAL, "S10", 60)
    # an investigator of another site sees the counts, not the other site's subjects
    other = svc.status(u["inv2"], TRIAL)
    assert other["backfill"]["cohorts"][0]["subjects"] == []
    assert other["backfill"]["per_dose"][0]["treated"] == 6

    _dlt(svc, inv, "S7", -2)  # a backfill subject's DLT, known before the decision
    assert svc.recommendation(stat, TRIAL)["latest"]["id"] == first["id"]  # never waited for
    for code in ("S4", "S5", "S6"):
        svc.record_dlt(inv, TRIAL, code, assessed_on=_day(0))
    st = svc.status(stat, TRIAL)
    dec = st["decisions"][-1]
    assert dec["after_cohort"] == 2 and dec["outcomes"] == "1NNN 2NNN | backfill 1TPP"
    assert dec["backfill_subjects"] == ["S7", "S8", "S9"]
    # the design's own decision on the same data (S8 and S9 pending)
    own = (
        BOIN(0.3, 3, n_cohorts=4)
        .with_backfill(28, cap_per_dose=6)
        .decide(
            {
                "level": [1, 1, 1, 2, 2, 2, 1, 1, 1],
                "dlt": [False] * 6 + [True, False, False],
                "follow_up": [28.0] * 7 + [4.0, 4.0],
                "backfill": [False] * 6 + [True] * 3,
                "response": [True] + [False] * 8,
            }
        )
    )
    assert (dec["next_dose"], dec["stop"], dec["reason"]) == (own.dose, own.stop, own.reason)
    assert {r["dose_level"]: (r["known"], r["dlt"]) for r in dec["per_dose"]}[1] == (4, 1)
    # outcomes known, decision unsigned: nobody is backfilled meanwhile
    with pytest.raises(ConductError, match="awaits the statistician's signature"):
        svc.enrol(inv, TRIAL, "S10", 60)
    review = svc.review(stat, dec["id"])
    assert [x["code"] for x in review["backfill_subjects"]] == ["S7", "S8", "S9"]
    assert review["pending_rule"].startswith("Backfill (BF-BOIN")
    svc.confirm_decision(stat, dec["id"], "stat-passwd-1")

    # a pending backfill subject's outcome is new data for the next decision, not a change
    _dlt(svc, inv, "S8", -1)
    assert not svc.review(stat, dec["id"])["recommendation"]["data_changed"]
    # a correction of a backfill subject's data behind the signed decision flags it
    ae = svc.subject_record(stat, TRIAL, "S7")["records"]["adverse_event"][0]["id"]
    svc.void(u["admin"], TRIAL, "adverse_event", ae, "entered for the wrong subject")
    flagged = svc.review(stat, dec["id"])["recommendation"]
    assert flagged["data_changed"] and flagged["confirmed"]
    assert "after signature" in flagged["data_changed_label"]
    assert len(svc.status(stat, TRIAL)["decisions"]) == 2  # nothing recomputed silently
    # the safety packet lists the backfill subjects with the escalation cohorts
    packet = svc.safety_packet(stat, TRIAL)
    labels = {c["label"]: [x["code"] for x in c["subjects"]] for c in packet["cohorts"]}
    assert labels["backfill, dose level 1"] == ["S7", "S8", "S9"]
    from earlyphase.conduct.packet import render_packet

    assert "backfill, dose level 1" in render_packet(packet)


def test_backfill_through_the_api(db_url: str) -> None:
    svc, u = _setup(db_url, {**SPEC, "backfill_require_response": False})
    inv, stat = u["inv"], u["stat"]
    for code in ("S1", "S2", "S3"):
        _treat(svc, inv, code, 40)
        svc.record_dlt(inv, TRIAL, code, assessed_on=_day(-13))
    svc.confirm_decision(stat, svc.recommendation(stat, TRIAL)["latest"]["id"], "stat-passwd-1")
    client = TestClient(create_app(db_url, secret="test-secret"))
    tok = client.post("/api/token", json={"username": "inv", "password": "inv-passwd-11"})
    auth = {"Authorization": f"Bearer {tok.json()['token']}"}

    def enrol(code: str) -> Any:
        return client.post(
            f"/api/trials/{TRIAL}/subjects", headers=auth, json={"code": code, "weight_kg": 70.0}
        )

    for code in ("A1", "A2", "A3"):
        assert enrol(code).status_code == 201
    st = client.get(f"/api/trials/{TRIAL}", headers=auth).json()
    assert st["backfill"]["doses_open"] == [1] and st["backfill"]["require_response"] is False
    assert st["next_subject"] == {
        "arm": "backfill", "dose_level": 1, "dose": 0.5, "dose_unit": "x 10^6 cells/kg",
        "cohort": -1, "opens_cohort": True, "while_pending": 2, "refusal": None,
    }  # fmt: skip
    # the dashboard says where the next subject goes, and each dose's backfill state
    login = client.get("/login").text
    client.post(
        "/login", data={"csrf": csrf_of(login), "username": "inv", "password": "inv-passwd-11"}
    )
    page = client.get(f"/trials/{TRIAL}").text
    assert (
        'id="next-subject">The next subject enrolled goes as a backfill subject at Level 1: '
        "0.5 x 10^6 cells/kg." in page
    )
    backfill = re.search(r'<table id="backfill">(.*?)</table>', page, re.S)
    assert backfill is not None and "<td>open</td>" in backfill.group(1)
    r = enrol("B1")
    assert r.status_code == 201, r.text
    assert (r.json()["arm"], r.json()["dose_level"], r.json()["cohort"]) == ("backfill", 1, -1)
    assert svc.placement(inv, TRIAL, "B1")["arm"] == "backfill"
    form = client.post(
        f"/trials/{TRIAL}/enrol",
        data={"csrf": csrf_of(page), "code": "B2", "weight_kg": "70"},
    )
    assert "Saved: B2 enrolled as a backfill subject at Level 1" in form.text
    # the infusion is checked against the backfill dose, not the escalation cohort's
    bad = client.post(
        f"/api/trials/{TRIAL}/subjects/B1/infusions",
        headers=auth,
        json={"infused_at": f"{_day(0)}T08:00", "cells_per_kg": 1.0, "lot": "L2"},
    )
    assert bad.status_code == 422 and "backfill dose level 1" in bad.json()["detail"], bad.text
    assert enrol("B3").status_code == 201
    refused = enrol("B4")
    assert refused.status_code == 422 and refused.json()["field"] == "cohort"
    assert "at the cap" in refused.json()["detail"]


def test_a_stop_waits_for_the_backfill_subjects_in_their_window(db_url: str) -> None:
    """BF-BOIN selects the MTD with every patient's outcome (Zhao et al. 2024), so the stop
    at the last escalation cohort is frozen only once the backfill subject is evaluated."""
    svc, u = _setup(db_url, {**SPEC, "n_cohorts": 2, "backfill_require_response": False})
    inv, stat = u["inv"], u["stat"]
    for code in ("S1", "S2", "S3"):
        _treat(svc, inv, code, 40)
        svc.record_dlt(inv, TRIAL, code, assessed_on=_day(-13))
    svc.confirm_decision(stat, svc.recommendation(stat, TRIAL)["latest"]["id"], "stat-passwd-1")
    for code in ("S4", "S5", "S6"):
        _treat(svc, inv, code, 30)
    assert _treat(svc, inv, "B1", 4)["arm"] == "backfill"
    for code in ("S4", "S5", "S6"):
        svc.record_dlt(inv, TRIAL, code, assessed_on=_day(0))
    st = svc.status(stat, TRIAL)
    assert len(st["decisions"]) == 1  # the stop is not frozen while B1 is pending
    assert st["waiting"].startswith("the design would stop the trial")
    assert "B1 (day 5 of 28)" in st["waiting"]
    _dlt(svc, inv, "B1", 0)
    latest = svc.recommendation(stat, TRIAL)["latest"]
    assert latest["stop"] and latest["after_cohort"] == 2
    assert latest["outcomes"] == "1NNN 2NNN | backfill 1T"
    # the report's record lists the backfill subject with its outcome, beside the cohorts
    record = svc.export_decisions(TRIAL)
    arms = {c["number"]: (c["arm"], c["dose_level"], c["outcomes"]) for c in record["cohorts"]}
    assert arms[-1] == ("backfill", 1, {"B1": "T"})
    assert arms[2] == ("escalation", 2, {"S4": "N", "S5": "N", "S6": "N"})
