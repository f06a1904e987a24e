"""BOIN12 (Lin et al. 2020) run by the trial service: each subject's DLT outcome from the
dated record and efficacy from the recorded response (a responder by the protocol's
``responders`` at ``endpoint_visit``); a subject is evaluated once both are known, the
decisions are frozen and signed, and the stopped trial names its optimal biological dose. The
design's numbers are validated in tests/test_boin12.py; here, the conduct and the service's
consistency with the design's own ``decide`` on the same data."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from earlyphase.conduct import ConductError, TrialService, open_store
from earlyphase.conduct.protocol import build_protocol
from earlyphase.conduct.web import create_app
from earlyphase.designs.boin12 import BOIN12
from helpers import csrf_of

TRIAL = "PHASE-I-II"
D0 = "2026-01-05"
INFUSED = "2026-01-06T10:00"
DLT_ONSET = "2026-01-10"
WINDOW_OVER = "2026-02-02"
SPEC: dict[str, Any] = {
    "tox_target": 0.35,
    "eff_lower": 0.25,
    "n_cohorts": 3,
    "endpoint_visit": "Day 28",
}
DOSES = [1.0, 2.0, 4.0]
#: Each letter's DLT and response: N neither, E efficacy only, T DLT only, B both.
LETTERS = {"N": (False, "SD"), "E": (False, "PR"), "T": (True, "PD"), "B": (True, "CR")}


def _setup(db: str) -> tuple[TrialService, dict[str, Any]]:
    svc = TrialService(open_store(db))
    svc.bootstrap_admin("admin", "Ada Admin", "admin-pass-1")
    admin = svc.authenticate("admin", "admin-pass-1")
    svc.create_site(admin, "Tokyo")
    svc.create_user(admin, "stat", "Sam Statistician", "statistician", "stat-passwd-1")
    svc.create_user(admin, "inv", "Ivy One", "investigator", "inv-passwd-11", "Tokyo")
    svc.create_trial(admin, TRIAL, "boin12", SPEC, DOSES, conduct={"time_zone": "UTC"})
    return svc, {
        "admin": admin,
        "stat": svc.authenticate("stat", "stat-passwd-1"),
        "inv": svc.authenticate("inv", "inv-passwd-11"),
    }


def _patient(svc: TrialService, inv: Any, code: str, letter: str, response: bool = True) -> None:
    svc.enrol(inv, TRIAL, code, 60, enrolled_on=D0)
    level = svc.placement(inv, TRIAL, code)["dose_level"]
    svc.record_infusion(inv, TRIAL, code, INFUSED, DOSES[level - 1], "L1")
    dlt, value = LETTERS[letter]
    if dlt:
        svc.record_ae(
            inv, TRIAL, code, "Immune system disorders", "Cytokine release syndrome", 3,
            related=True, onset_on=DLT_ONSET, dlt=True,
        )  # fmt: skip
    else:
        svc.record_dlt(inv, TRIAL, code, assessed_on=WINDOW_OVER)
    if response:
        svc.record_response(inv, TRIAL, code, "Day 28", value, WINDOW_OVER)


def test_boin12_settings_are_checked_with_the_response_rule(db_url: str) -> None:
    svc, u = _setup(db_url)
    design = build_protocol("boin12", {**SPEC, "n_doses": 3})
    assert isinstance(design, BOIN12)
    with pytest.raises(ConductError) as err:
        svc.create_trial(
            u["admin"], "BAD", "boin12", {**SPEC, "responders": ["XX"], "c_t": 2}, DOSES
        )
    assert "responders: " in str(err.value) and "c_t: " in str(err.value)
    with pytest.raises(ConductError, match="tox_target: required"):
        svc.create_trial(u["admin"], "BAD", "boin12", {"eff_lower": 0.25}, DOSES)


def test_a_boin12_trial_run_through_the_service(db_url: str) -> None:
    svc, u = _setup(db_url)
    inv, stat = u["inv"], u["stat"]
    design = BOIN12(3, 0.35, 0.25, n_cohorts=3)
    _patient(svc, inv, "S1", "E")
    _patient(svc, inv, "S2", "N")
    _patient(svc, inv, "S3", "T", response=False)  # DLT known, response awaited
    st = svc.status(stat, TRIAL)
    assert st["decisions"] == [] and st["pending"][0]["awaiting"] == "response at Day 28"
    assert st["pending_rule"].startswith("BOIN12")
    with pytest.raises(ConductError, match=r"S3 \(awaiting response at Day 28\).*response"):
        svc.enrol(inv, TRIAL, "S4", 60)
    svc.record_response(inv, TRIAL, "S3", "Day 28", "PD", WINDOW_OVER)
    plan = ["ENT", "EEB", "ETE"]
    codes = 3
    for k in range(len(plan)):
        st = svc.status(stat, TRIAL)
        dec = st["decisions"][-1]
        own = design.decide(st["outcomes"])
        assert dec["outcomes"] == st["outcomes"]
        assert (dec["next_dose"], dec["stop"], dec["selected"]) == (
            own.dose,
            own.stop,
            own.selected,
        )
        # the sign-off review counts each dose's efficacy beside its DLTs
        by_dose = {r["dose_level"]: r for r in dec["per_dose"]}
        assert sum(r["responses"] for r in dec["per_dose"]) == sum(own.estimates["eff"])
        assert sum(r["dlt"] for r in by_dose.values()) == sum(own.estimates["tox"])
        if own.stop:
            break
        svc.confirm_decision(stat, dec["id"], "stat-passwd-1")
        if k == 0:
            # a corrected response behind the signed decision flags it
            rid = svc.subject_record(stat, TRIAL, "S2")["records"]["response"][0]["id"]
            svc.correct(u["admin"], TRIAL, "response", rid, {"value": "CR"}, "central review")
            rv = svc.review(stat, dec["id"])
            assert rv["recommendation"]["data_changed"]
            assert rv["outcomes_now"] == "1EET" and dec["outcomes"] == "1ENT"
            assert [x["response"] for x in rv["subjects"]] == [True, True, False]
            new = svc.recompute_decision(stat, dec["id"], "S2 responded (central review)")
            assert new.outcomes == "1EET"
            svc.confirm_decision(stat, new.id, "stat-passwd-1")
        for letter in plan[k]:
            codes += 1
            _patient(svc, inv, f"S{codes}", letter)
    st = svc.status(stat, TRIAL)
    last = st["decisions"][-1]
    own = design.decide(st["outcomes"])
    assert last["stop"] and own.stop and last["selected"] == own.selected
    assert last["selected_label"] == "optimal biological dose (OBD)"
    svc.confirm_decision(stat, last["id"], "stat-passwd-1", meaning="stop")
    with pytest.raises(ConductError, match=r"^cohort: the trial has stopped"):
        svc.enrol(inv, TRIAL, "S99", 60)


def test_boin12_through_the_api(db_url: str) -> None:
    svc, u = _setup(db_url)
    client = TestClient(create_app(db_url, secret="test-secret"))
    tok = client.post("/api/token", json={"username": "inv", "password": "inv-passwd-11"})
    auth = {"Authorization": f"Bearer {tok.json()['token']}"}
    for code, letter in (("A1", "E"), ("A2", "B"), ("A3", "N")):
        _patient(svc, u["inv"], code, letter)
    st = client.get(f"/api/trials/{TRIAL}", headers=auth).json()
    assert st["efficacy"] and st["outcomes"] == "1EBN"
    assert st["per_dose"][0]["responses"] == 2 and st["per_dose"][0]["dlt"] == 1
    login = client.get("/login").text
    client.post(
        "/login", data={"csrf": csrf_of(login), "username": "inv", "password": "inv-passwd-11"}
    )
    page = client.get(f"/trials/{TRIAL}").text
    table = re.search(r'<table id="per-dose">(.*?)</table>', page, re.S)
    assert table is not None and '<th scope="col">Desirability</th>' in table.group(1)
    first = re.findall(r"<td>([^<]*)</td>", table.group(1))[:4]
    assert first[1:] == ["3", "1", "2"]  # evaluated, DLT, responses at level 1
    assert "Nobody can be enrolled now: cohort:" in page
    dec = st["decisions"][0]
    refused = client.post(
        f"/api/trials/{TRIAL}/subjects", headers=auth, json={"code": "A4", "weight_kg": 60.0}
    )
    assert refused.status_code == 422 and refused.json()["field"] == "cohort"
    review = client.get(f"/api/decisions/{dec['id']}/review", headers=auth)
    assert review.status_code == 403  # investigators do not review
    stat_tok = client.post("/api/token", json={"username": "stat", "password": "stat-passwd-1"})
    stat = {"Authorization": f"Bearer {stat_tok.json()['token']}"}
    rv = client.get(f"/api/decisions/{dec['id']}/review", headers=stat).json()
    assert [r["responses"] for r in rv["recommendation"]["per_dose"]] == [2, 0, 0]
