"""BOP2 (Zhou, Lee & Yuan 2017) run by the trial service as an expansion cohort: one dose,
the patients between two looks a cohort, a frozen and signed go/no-go decision at each look,
response from the recorded responses and toxicity from the DLT assessments. The design's
numbers are validated in tests/test_bop2.py; here, the service's conduct and its consistency
with the design's own ``decide`` on the same data."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from earlyphase.conduct import ConductError, TrialService, open_store
from earlyphase.conduct.protocol import SingleArmProtocol, build_protocol
from earlyphase.conduct.web import create_app
from earlyphase.designs.bop2 import BOP2

TRIAL = "EXPANSION"
D0 = "2026-01-05"
INFUSED = "2026-01-06T10:00"
DLT_ONSET = "2026-01-10"
WINDOW_OVER = "2026-02-02"
#: Joint null and alternative (response and toxicity, response only, toxicity only, neither):
#: looks at 5 and 10 stop if responses <= 0 / 3 or toxicities >= 3 (the grid's optimum).
SPEC: dict[str, Any] = {
    "null": [0.15, 0.15, 0.15, 0.55],
    "alternative": [0.18, 0.42, 0.02, 0.38],
    "looks": [5],
    "n_max": 10,
    "endpoint_visit": "Day 28",
}


def _setup(db: str) -> tuple[TrialService, dict[str, Any]]:
    svc = TrialService(open_store(db))
    svc.bootstrap_admin("admin", "Ada Admin", "admin-pass-1")
    admin = svc.authenticate("admin", "admin-pass-1")
    svc.create_site(admin, "Tokyo")
    svc.create_user(admin, "stat", "Sam Statistician", "statistician", "stat-passwd-1")
    svc.create_user(admin, "inv", "Ivy One", "investigator", "inv-passwd-11", "Tokyo")
    svc.create_trial(admin, TRIAL, "bop2", SPEC, [2.0], conduct={"time_zone": "UTC"})
    return svc, {
        "admin": admin,
        "stat": svc.authenticate("stat", "stat-passwd-1"),
        "inv": svc.authenticate("inv", "inv-passwd-11"),
    }


def _patient(
    svc: TrialService, inv: Any, code: str, dlt: bool | None, response: str | None
) -> None:
    """Enrol and infuse; a DLT (or the end-of-window 'no DLT'; None: not yet) and the day-28
    response (None: not yet)."""
    svc.enrol(inv, TRIAL, code, 60, enrolled_on=D0)
    svc.record_infusion(inv, TRIAL, code, INFUSED, 2.0, "L1")
    if dlt:
        svc.record_ae(
            inv, TRIAL, code, "Immune system disorders", "Cytokine release syndrome", 3,
            related=True, onset_on=DLT_ONSET, dlt=True,
        )  # fmt: skip
    elif dlt is not None:
        svc.record_dlt(inv, TRIAL, code, assessed_on=WINDOW_OVER)
    if response is not None:
        svc.record_response(inv, TRIAL, code, "Day 28", response, WINDOW_OVER)


def test_bop2_is_a_single_arm_protocol_with_both_endpoints() -> None:
    design = build_protocol("bop2", dict(SPEC))
    assert isinstance(design, SingleArmProtocol) and design.endpoint == "both"
    assert design.cohort_sizes == [5, 5]
    efficacy = build_protocol("bop2", {**SPEC, "null": [0.2], "alternative": [0.4]})
    assert efficacy.endpoint == "response"


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ({"responders": "CR,XX"}, ["responders"]),
        ({"endpoint_visit": " ", "alpha": 2}, ["endpoint_visit", "alpha"]),
        ({"n_max": 100, "looks": [20, 40, 60, 80]}, ["n_max"]),
        ({"alternative": [0.4]}, ["alternative"]),
    ],
)
def test_bad_bop2_settings_are_named_at_creation(
    db_url: str, change: dict[str, Any], fields: list[str]
) -> None:
    svc, u = _setup(db_url)
    with pytest.raises(ConductError) as err:
        svc.create_trial(u["admin"], "BAD", "bop2", {**SPEC, **change}, [2.0])
    for field in fields:
        assert f"{field}: " in str(err.value)
    assert "BAD" not in svc.trial_names()


def test_a_bop2_trial_run_through_the_service(db_url: str) -> None:
    svc, u = _setup(db_url)
    inv, stat = u["inv"], u["stat"]
    _patient(svc, inv, "P1", True, "PR")  # B: response and DLT
    _patient(svc, inv, "P2", False, "CR")  # R
    _patient(svc, inv, "P3", False, "SD")  # N
    _patient(svc, inv, "P4", True, "PD")  # T
    _patient(svc, inv, "P5", False, None)  # the response is awaited
    st = svc.status(stat, TRIAL)
    assert st["efficacy"] and "Day 28" in st["response_rule"]
    assert st["next_subject"]["arm"] is None
    assert "P5 (awaiting response at Day 28)" in st["next_subject"]["refusal"]
    with pytest.raises(ConductError, match=r"^cohort: cohort 1 is full .*P5 \(awaiting response"):
        svc.enrol(inv, TRIAL, "P6", 60)
    svc.record_response(inv, TRIAL, "P5", "Day 28", "NE", WINDOW_OVER)  # NE: no response
    st = svc.status(stat, TRIAL)
    (dec,) = st["decisions"]
    assert st["outcomes"] == "1BRNTN" and dec["outcomes"] == "1BRNTN"
    # the design's own decision on the same counts: 2 responses, 2 toxicities of 5
    own = BOP2(SPEC["null"], SPEC["alternative"], looks=SPEC["looks"], N=SPEC["n_max"]).decide(
        {"responses": 2, "toxicities": 2, "n": 5}
    )
    assert (dec["stop"], dec["reason"]) == (own.stop, own.message) and not own.stop
    assert dec["per_dose"] == [{"dose_level": 1, "n": 5, "dlt": 2, "responses": 2}]
    with pytest.raises(ConductError, match="awaits the statistician's signature"):
        svc.enrol(inv, TRIAL, "P6", 60)
    svc.confirm_decision(stat, dec["id"], "stat-passwd-1")
    assert svc.status(stat, TRIAL)["next_subject"]["opens_cohort"]

    # a correction behind the signed decision flags it, nothing is recomputed
    rid = svc.subject_record(stat, TRIAL, "P2")["records"]["response"][0]["id"]
    svc.correct(u["admin"], TRIAL, "response", rid, {"value": "SD"}, "source document says SD")
    flagged = svc.review(stat, dec["id"])["recommendation"]
    assert (
        flagged["data_changed"] and "data changed after signature" in flagged["data_changed_label"]
    )
    assert "1BNNTN" in flagged["data_changed_note"]
    assert len(svc.status(stat, TRIAL)["decisions"]) == 1

    for i in range(6, 11):
        _patient(svc, inv, f"P{i}", i == 6, "CR")
    st = svc.status(stat, TRIAL)
    last = st["decisions"][-1]
    # 6 responses but 3 toxicities of 10: BOP2 stops for toxicity
    assert last["after_cohort"] == 2 and last["stop"] and "toxicit" in last["reason"]
    svc.confirm_decision(stat, last["id"], "stat-passwd-1", meaning="stop")
    with pytest.raises(ConductError, match=r"^cohort: the trial has stopped"):
        svc.enrol(inv, TRIAL, "P11", 60)


def test_bop2_through_the_api(db_url: str) -> None:
    """Creation with a bad setting is refused naming it; the enrolment and its refusal."""
    client = TestClient(create_app(db_url, secret="test-secret"))
    svc, u = _setup(db_url)
    tok = client.post("/api/token", json={"username": "admin", "password": "admin-pass-1"})
    auth = {"Authorization": f"Bearer {tok.json()['token']}"}
    bad = client.post(
        "/api/trials",
        headers=auth,
        json={"name": "B2", "design": "bop2", "dose_levels": [1.0],
              "settings": {**SPEC, "responders": ["XX"]}},
    )  # fmt: skip
    assert bad.status_code == 422 and bad.json()["field"] == "responders", bad.text
    for i in range(1, 6):
        r = client.post(
            f"/api/trials/{TRIAL}/subjects",
            headers=auth,
            json={"code": f"A{i}", "weight_kg": 60.0, "site": "Tokyo"},
        )
        assert r.status_code == 201, r.text
    refused = client.post(
        f"/api/trials/{TRIAL}/subjects",
        headers=auth,
        json={"code": "A6", "weight_kg": 60.0, "site": "Tokyo"},
    )
    assert refused.status_code == 422 and refused.json()["field"] == "cohort"
    status = client.get(f"/api/trials/{TRIAL}", headers=auth).json()
    assert status["next_subject"]["refusal"].startswith("cohort: cohort 1 is full")
    placed = svc.placement(u["admin"], TRIAL, "A1")
    assert (placed["arm"], placed["cohort"], placed["dose_level"]) == ("escalation", 1, 1)
