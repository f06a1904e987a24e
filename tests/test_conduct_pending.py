"""Time-aware enrolment: the service gives the design each subject's follow-up within the DLT
window and pending status from the dated record, as of today in the trial's time zone.
TITE-CRM, TITE-BOIN and the rolling six recommend while subjects are pending (unless their own
rule suspends accrual); 3+3 waits until the cohort is evaluated."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient

from earlyphase.conduct import ConductError, TrialService, open_store
from earlyphase.conduct.protocol import CONDUCT_DESIGNS
from earlyphase.conduct.web import DESIGN_CHOICES, create_app
from earlyphase.designs.settings import DOSE_FINDING, SINGLE_ARM
from helpers import csrf_of

TRIAL = "LATE"
TODAY = dt.datetime.now(dt.UTC).date()


def _day(offset: int) -> str:
    return (TODAY + dt.timedelta(days=offset)).isoformat()


def _setup(db: str, design: str, settings: dict[str, Any]) -> tuple[TrialService, dict[str, Any]]:
    svc = TrialService(open_store(db))
    svc.bootstrap_admin("admin", "Ada Admin", "admin-pass-1")
    admin = svc.authenticate("admin", "admin-pass-1")
    svc.create_site(admin, "Tokyo")
    svc.create_user(admin, "stat", "Sam Statistician", "statistician", "stat-passwd-1")
    svc.create_user(admin, "inv", "Ivy One", "investigator", "inv-passwd-11", "Tokyo")
    svc.create_trial(admin, TRIAL, design, settings, [0.5, 1.0, 2.0], conduct={"time_zone": "UTC"})
    users = {
        "admin": admin,
        "stat": svc.authenticate("stat", "stat-passwd-1"),
        "inv": svc.authenticate("inv", "inv-passwd-11"),
    }
    return svc, users


def _treat(svc: TrialService, inv: Any, code: str, days_ago: int, dose: float) -> None:
    """Enrol and infuse ``days_ago`` days ago (the window starts on the infusion day)."""
    svc.enrol(inv, TRIAL, code, 60, enrolled_on=_day(-days_ago - 1))
    svc.record_infusion(inv, TRIAL, code, f"{_day(-days_ago)}T10:00", dose, "L1")


def _no_dlt(svc: TrialService, inv: Any, code: str) -> None:
    svc.record_dlt(inv, TRIAL, code, assessed_on=_day(0))


def _approve(svc: TrialService, u: dict[str, Any]) -> dict[str, Any]:
    latest = svc.recommendation(u["stat"], TRIAL)["latest"]
    assert latest is not None and not latest["confirmed"]
    svc.confirm_decision(u["stat"], latest["id"], "stat-passwd-1")
    return latest  # type: ignore[no-any-return]


def test_every_dose_finding_design_runs_in_the_service() -> None:
    assert set(CONDUCT_DESIGNS) == {*DOSE_FINDING, "boin12", *SINGLE_ARM, "bop2"}
    assert {key for key, _title in DESIGN_CHOICES} == set(CONDUCT_DESIGNS)


def test_tite_window_is_the_protocols(db_url: str) -> None:
    svc = TrialService(open_store(db_url))
    svc.bootstrap_admin("admin", "Ada Admin", "admin-pass-1")
    admin = svc.authenticate("admin", "admin-pass-1")
    settings = {"skeleton": [0.05, 0.12, 0.25], "target": 0.25, "window": 21}
    with pytest.raises(ConductError, match="window: the design's DLT window is the protocol"):
        svc.create_trial(admin, TRIAL, "tite-crm", settings, [0.5, 1.0, 2.0])
    t = svc.create_trial(admin, TRIAL, "tite-crm", {**settings, "window": 28}, [0.5, 1, 2])
    assert t.design_spec["window"] == 28
    t2 = svc.create_trial(admin, "OTHER", "tite-boin", {"target": 0.3}, [0.5, 1, 2])
    assert t2.design_spec["window"] == 28 and t2.cohort_size == 3


def test_tite_crm_weighs_a_pending_subject_by_its_follow_up(db_url: str) -> None:
    """TITE-CRM (cohorts of one): S1 completed the window; S2, infused 7 days ago, is pending
    on day 8 of 28 and counts with weight 7/28 in the dose recommended for S3."""
    svc, u = _setup(
        db_url, "tite-crm", {"skeleton": [0.05, 0.12, 0.25], "target": 0.25, "n_patients": 12}
    )
    _treat(svc, u["inv"], "S1", 30, 0.5)
    _no_dlt(svc, u["inv"], "S1")  # evaluated: the decision is computed at once
    first = _approve(svc, u)
    assert first["next_dose"] == 2
    _treat(svc, u["inv"], "S2", 7, 1.0)
    status = svc.status(u["stat"], TRIAL)
    assert status["decides_while_pending"] and "TITE-CRM" in status["pending_rule"]
    [pending] = status["pending"]
    assert pending["code"] == "S2" and pending["day_of_window"] == 8
    assert pending["follow_up_days"] == 7 and pending["fraction"] == 0.25
    assert "ask it for the next dose" in status["waiting"]
    with pytest.raises(ConductError, match=r"cohort: cohort 2 is full .*S2 \(day 8 of 28\)"):
        svc.enrol(u["inv"], TRIAL, "S3", 60, enrolled_on=_day(0))

    dec = svc.decide_now(u["inv"], TRIAL)
    assert dec.next_dose is not None and not dec.stop
    detail = dec.detail or {}
    assert detail["as_of"] == _day(0)
    rows = {r["code"]: r for r in detail["follow_up"]}
    assert rows["S2"]["pending"] and rows["S2"]["weight"] == 0.25
    assert rows["S1"]["weight"] == 1.0 and not rows["S1"]["pending"]
    assert dec.outcomes == "1N 2P"
    review = svc.review(u["stat"], dec.id)
    assert review["pending_rule"].startswith("TITE-CRM")
    assert review["follow_up"][1]["code"] == "S2"
    svc.confirm_decision(u["stat"], dec.id, "stat-passwd-1")
    s3 = svc.enrol(u["inv"], TRIAL, "S3", 60, enrolled_on=_day(0))  # while S2 is pending
    assert s3.code == "S3"
    # enrolling S3 at the approved dose does not touch the data behind the decision
    with svc.sessions() as s:
        from earlyphase.conduct.models import Decision

        assert not s.get(Decision, dec.id).data_changed  # type: ignore[union-attr]


def test_tite_boin_suspends_accrual_then_decides_while_pending(db_url: str) -> None:
    svc, u = _setup(db_url, "tite-boin", {"target": 0.3, "n_cohorts": 4})
    _treat(svc, u["inv"], "S1", 40, 0.5)
    _treat(svc, u["inv"], "S2", 10, 0.5)
    _treat(svc, u["inv"], "S3", 5, 0.5)
    _no_dlt(svc, u["inv"], "S1")
    # 2 of 3 at dose 1 pending: more than half, so TITE-BOIN suspends accrual
    with pytest.raises(ConductError, match="decision: suspend accrual: 2 of the 3 patients"):
        svc.decide_now(u["inv"], TRIAL)
    with pytest.raises(ConductError, match=r"cohort: cohort 1 is full \(2 pending"):
        svc.enrol(u["inv"], TRIAL, "S4", 60, enrolled_on=_day(0))
    # a DLT for S3 leaves one pending subject: the design decides with S2's follow-up
    svc.record_ae(
        u["inv"], TRIAL, "S3", "Immune system disorders", "CRS", 3,
        related=True, onset_on=_day(-2), dlt=True,
    )  # fmt: skip
    dec = svc.decide_now(u["admin"], TRIAL)
    assert dec.outcomes == "1NPT" and not dec.stop
    rows = {r["code"]: r for r in (dec.detail or {})["follow_up"]}
    assert rows["S2"]["follow_up_days"] == 10 and rows["S3"]["follow_up_days"] == 3
    assert (dec.detail or {})["estimates"]["pending"][0] == 1
    svc.confirm_decision(u["stat"], dec.id, "stat-passwd-1")
    svc.enrol(u["inv"], TRIAL, "S4", 60, enrolled_on=_day(0))  # while S2 is pending
    # a DLT among the subjects pending at the decision changes the data behind it
    svc.record_ae(
        u["inv"], TRIAL, "S2", "Immune system disorders", "CRS", 3,
        related=True, onset_on=_day(-1), dlt=True,
    )  # fmt: skip
    flagged = svc.review(u["stat"], dec.id)["recommendation"]
    assert flagged["data_changed"] and "1NTT" in flagged["data_changed_note"]


def test_three_plus_three_waits_while_a_subject_is_pending(db_url: str) -> None:
    svc, u = _setup(db_url, "3+3", {})
    for code, days in (("S1", 40), ("S2", 40), ("S3", 10)):
        _treat(svc, u["inv"], code, days, 0.5)
    _no_dlt(svc, u["inv"], "S1")
    _no_dlt(svc, u["inv"], "S2")
    status = svc.status(u["admin"], TRIAL)
    assert not status["decides_while_pending"]
    assert status["cohorts"][0]["pending"] == 1 and status["decisions"] == []
    msg = r"cohort: cohort 1 is full and its subjects are not all evaluated \(S3 \(day 11 of 28"
    with pytest.raises(ConductError, match=msg):
        svc.enrol(u["inv"], TRIAL, "S4", 60, enrolled_on=_day(0))
    with pytest.raises(ConductError, match="design: cohort 1 is full"):
        svc.decide_now(u["inv"], TRIAL)


def test_rolling_six_places_subjects_while_others_are_pending(db_url: str) -> None:
    """Skolnik et al. (2008), Table 1: with fewer than six enrolled and a subject pending, the
    next one is enrolled at the same dose; with six enrolled and more than one pending (or
    with a DLT), accrual is suspended until assessments resolve."""
    svc, u = _setup(db_url, "rolling6", {})
    _treat(svc, u["inv"], "S1", 40, 0.5)
    _no_dlt(svc, u["inv"], "S1")
    assert _approve(svc, u)["reason"] == "same dose"
    _treat(svc, u["inv"], "S2", 40, 0.5)
    _no_dlt(svc, u["inv"], "S2")
    assert _approve(svc, u)["reason"] == "same dose"
    for i, code in enumerate(("S3", "S4", "S5", "S6")):
        _treat(svc, u["inv"], code, 5 + i, 0.5)
        if code == "S6":
            break
        dec = svc.decide_now(u["inv"], TRIAL)
        assert (dec.reason, dec.next_dose) == ("same dose", 1)  # pending: no escalation
        svc.confirm_decision(u["stat"], dec.id, "stat-passwd-1")
    with pytest.raises(ConductError, match="suspend accrual: 6 enrolled, DLT data pending"):
        svc.decide_now(u["inv"], TRIAL)


def test_rolling_six_escalates_after_three_clean(db_url: str) -> None:
    svc, u = _setup(db_url, "rolling6", {})
    for code in ("S1", "S2", "S3"):
        _treat(svc, u["inv"], code, 40, 0.5)
        _no_dlt(svc, u["inv"], code)
        latest = _approve(svc, u)
    assert (latest["reason"], latest["next_dose"]) == ("escalate", 2)


def test_decide_through_the_api(db_url: str) -> None:
    svc, u = _setup(db_url, "tite-boin", {"target": 0.3, "n_cohorts": 4})
    for code, days in (("S1", 40), ("S2", 40), ("S3", 14)):
        _treat(svc, u["inv"], code, days, 0.5)
    _no_dlt(svc, u["inv"], "S1")
    _no_dlt(svc, u["inv"], "S2")
    client = TestClient(create_app(db_url, secret="test-secret"))
    token = client.post("/api/token", json={"username": "inv", "password": "inv-passwd-11"})
    auth = {"Authorization": f"Bearer {token.json()['token']}"}
    status = client.get(f"/api/trials/{TRIAL}", headers=auth).json()
    assert [p["code"] for p in status["pending"]] == ["S3"]
    assert status["pending"][0]["day_of_window"] == 15
    r = client.post(f"/api/trials/{TRIAL}/decide", headers=auth)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["as_of"] == _day(0) and body["next_dose"] == 2
    assert [f["code"] for f in body["follow_up"] if f["pending"]] == ["S3"]
    again = client.post(f"/api/trials/{TRIAL}/decide", headers=auth)
    assert again.status_code == 422 and again.json()["field"] == "decision"


def _session(client: TestClient, user: str, password: str) -> str:
    """Sign in through the form; the dashboard's CSRF token for its forms."""

    page = client.get("/login").text
    csrf = csrf_of(page)
    assert client.post("/login", data={"csrf": csrf, "username": user, "password": password})
    dash = client.get(f"/trials/{TRIAL}").text
    return csrf_of(dash)


def test_dashboard_and_sign_off_page_show_pending_subjects(db_url: str) -> None:
    svc, u = _setup(db_url, "tite-boin", {"target": 0.3, "n_cohorts": 4})
    for code, days in (("S1", 40), ("S2", 40), ("S3", 14)):
        _treat(svc, u["inv"], code, days, 0.5)
    _no_dlt(svc, u["inv"], "S1")
    _no_dlt(svc, u["inv"], "S2")
    inv = TestClient(create_app(db_url, secret="test-secret"))
    csrf = _session(inv, "inv", "inv-passwd-11")
    dash = inv.get(f"/trials/{TRIAL}").text
    assert 'id="pending-rule">TITE-BOIN' in dash
    assert "<td>S3</a>" not in dash and ">S3</a></td><td>1</td>" in dash
    assert "day 15 of 28" in dash and "Level 1: 0.5 x 10^6 cells/kg" in dash
    assert 'id="decide"' in dash
    r = inv.post(f"/trials/{TRIAL}/decide", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303 and "awaits%20the%20statistician" in r.headers["location"]
    dec = svc.recommendation(u["stat"], TRIAL)["latest"]
    assert dec is not None and dec["outcomes"] == "1NNP"
    stat = TestClient(create_app(db_url, secret="test-secret"))
    _session(stat, "stat", "stat-passwd-1")
    page = stat.get(f"/trials/{TRIAL}/decisions/{dec['id']}").text
    assert 'id="pending-rule">TITE-BOIN' in page and 'id="as-of">' + _day(0) in page
    assert "today day 15 of 28" in page and "<td>pending</td>" in page


def test_a_stop_waits_for_the_pending_subjects(db_url: str) -> None:
    """TITE-CRM at its sample size (2 patients) with S2 pending: a stop names the dose the
    trial selects, so it is not frozen on partial follow-up; once S2's outcome is known (a DLT
    here) the stop is frozen on complete data, for the statistician to sign."""
    svc, u = _setup(
        db_url, "tite-crm", {"skeleton": [0.05, 0.12, 0.25], "target": 0.25, "n_patients": 2}
    )
    _treat(svc, u["inv"], "S1", 30, 0.5)
    _no_dlt(svc, u["inv"], "S1")
    _approve(svc, u)
    _treat(svc, u["inv"], "S2", 7, 1.0)
    with pytest.raises(
        ConductError,
        match=r"^decision: the design would stop the trial .*decided on complete data, so the "
        r"decision waits until the pending subjects are evaluated: S2 \(day 8 of 28\)",
    ):
        svc.decide_now(u["inv"], TRIAL)
    assert len(svc.status(u["stat"], TRIAL)["decisions"]) == 1  # nothing frozen
    with pytest.raises(ConductError, match="cohort: cohort 2 is full"):
        svc.enrol(u["inv"], TRIAL, "S3", 60, enrolled_on=_day(0))
    svc.record_ae(
        u["inv"], TRIAL, "S2", "Immune system disorders", "Cytokine release syndrome", 3,
        related=True, onset_on=_day(0), dlt=True,
    )  # fmt: skip
    latest = svc.recommendation(u["stat"], TRIAL)["latest"]
    assert latest["stop"] and latest["after_cohort"] == 2 and latest["outcomes"] == "1N 2T"
