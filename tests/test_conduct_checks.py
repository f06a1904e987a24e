"""The record as evidence: checks at entry (each naming its field, all at once), dose
deviations with reasons, DLTs as adverse events, corrections and voiding of every record type
with audited reasons, decisions marked when their data change after signature, and the
meanings of a signature (only an approval opens the next cohort)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from earlyphase.conduct import ConductError, TrialService, audit, open_store
from earlyphase.conduct.demo import seed_demo
from earlyphase.conduct.models import AuditEntry
from earlyphase.conduct.web import create_app
from helpers import csrf_of

D0 = "2026-01-05"
INFUSED = "2026-01-06T10:00"
OVER = "2026-02-02"  # day 28: the 28-day DLT window from the infusion on 2026-01-06 is over
TRIAL = "GVHD"


def _setup(db: str, **conduct: Any) -> tuple[TrialService, dict[str, Any]]:
    svc = TrialService(open_store(db))
    svc.bootstrap_admin("admin", "Ada Admin", "admin-pass-1")
    admin = svc.authenticate("admin", "admin-pass-1")
    svc.create_site(admin, "Tokyo")
    svc.create_user(admin, "stat", "Sam Statistician", "statistician", "stat-passwd-1")
    svc.create_user(admin, "inv", "Ivy One", "investigator", "inv-passwd-11", "Tokyo")
    svc.create_trial(admin, TRIAL, "3+3", {}, [0.5, 1.0, 2.0], conduct=conduct)
    users = {
        "admin": admin,
        "stat": svc.authenticate("stat", "stat-passwd-1"),
        "inv": svc.authenticate("inv", "inv-passwd-11"),
    }
    return svc, users


def _cohort(svc: TrialService, inv: Any, codes: list[str], dlts: str, dose: float) -> None:
    for code, letter in zip(codes, dlts, strict=True):
        svc.enrol(inv, TRIAL, code, 60, enrolled_on=D0)
        svc.record_infusion(inv, TRIAL, code, INFUSED, dose, "L1")
        if letter == "T":
            svc.record_ae(
                inv,
                TRIAL,
                code,
                "Immune system disorders",
                "CRS",
                3,
                related=True,
                onset_on="2026-01-10",
                dlt=True,
            )
        else:
            svc.record_dlt(inv, TRIAL, code, assessed_on=OVER)


def _latest(svc: TrialService, u: dict[str, Any]) -> dict[str, Any]:
    latest = svc.recommendation(u["stat"], TRIAL)["latest"]
    assert latest is not None
    return latest  # type: ignore[no-any-return]


def _entries(svc: TrialService, table: str, action: str) -> list[AuditEntry]:
    with svc.sessions() as s:
        return list(
            s.execute(
                select(AuditEntry).where(
                    AuditEntry.table_name == table, AuditEntry.action == action
                )
            ).scalars()
        )


# --- 2: conduct settings at creation -------------------------------------------------------


def test_conduct_settings_are_checked_at_creation_all_at_once(db_url: str) -> None:
    svc, u = _setup(db_url)
    with pytest.raises(ConductError) as err:
        svc.create_trial(
            u["admin"],
            "Bad",
            "3+3",
            {},
            [1, 2, 3],
            conduct={"dlt_window_days": 0, "time_zone": "Mars/Olympus", "dlt_window_from": "x"},
        )
    msg = str(err.value)
    assert msg.startswith("dlt_window_days:")
    assert "time_zone: not an IANA time zone" in msg and "dlt_window_from:" in msg
    trial = svc.get_trial(TRIAL)
    assert trial.conduct["dlt_window_days"] == 28 and trial.conduct["time_zone"] == "UTC"
    assert trial.conduct["dose_tolerance"] == 0.1 and trial.conduct["replace_non_evaluable"]


# --- 3: checks at entry --------------------------------------------------------------------


def test_dose_outside_tolerance_is_a_deviation_with_a_reason(db_url: str) -> None:
    svc, u = _setup(db_url)
    inv = u["inv"]
    svc.enrol(inv, TRIAL, "A1", 60, enrolled_on=D0)
    svc.record_infusion(inv, TRIAL, "A1", INFUSED, 0.54, "L1")  # within 10 %: no deviation
    with pytest.raises(ConductError, match=r"^number: .*; cells_per_kg: 0.8 is 60% above"):
        svc.record_infusion(inv, TRIAL, "A1", "2026-01-07T10:00", 0.8, "L1", number=1)
    svc.void(inv, TRIAL, "infusion", 1, "entered twice")
    inf = svc.record_infusion(
        inv, TRIAL, "A1", INFUSED, 0.8, "L1", deviation_reason="cell count error at release"
    )
    assert inf.deviation and inf.deviation_reason == "cell count error at release"
    (dev,) = svc.status(u["stat"], TRIAL)["deviations"]
    assert dev["code"] == "A1" and dev["reason"] == "cell count error at release"
    assert any("DOSE DEVIATION" in (e.new_value or "") for e in _entries(svc, "infusion", "create"))


def test_duplicate_infusion_and_out_of_schedule_numbers(db_url: str) -> None:
    svc, u = _setup(db_url, n_infusions=2, infusion_interval_days=7)
    inv = u["inv"]
    svc.enrol(inv, TRIAL, "A1", 60, enrolled_on=D0)
    svc.record_infusion(inv, TRIAL, "A1", INFUSED, 0.5, "L1")
    with pytest.raises(ConductError, match=r"^number: infusion 1 of A1 is already recorded"):
        svc.record_infusion(inv, TRIAL, "A1", INFUSED, 0.5, "L1", number=1)
    with pytest.raises(ConductError, match=r"^infused_at: A1 already has infusion 1 on"):
        svc.record_infusion(inv, TRIAL, "A1", "2026-01-06T15:00", 0.5, "L1")
    with pytest.raises(ConductError, match=r"^number: the protocol plans 2 infusion"):
        svc.record_infusion(inv, TRIAL, "A1", "2026-01-20T10:00", 0.5, "L1", number=3)
    assert svc.record_infusion(inv, TRIAL, "A1", "2026-01-13T10:00", 0.5, "L1").number == 2


def test_dlt_assessment_before_infusion_or_before_the_window_ends(db_url: str) -> None:
    svc, u = _setup(db_url)
    inv = u["inv"]
    svc.enrol(inv, TRIAL, "A1", 60, enrolled_on=D0)
    with pytest.raises(ConductError, match=r"^assessed_on: no infusion of A1 is recorded"):
        svc.record_dlt(inv, TRIAL, "A1", assessed_on=OVER)
    svc.record_infusion(inv, TRIAL, "A1", INFUSED, 0.5, "L1")
    with pytest.raises(ConductError, match=r"^assessed_on: 2026-01-05 is before the first"):
        svc.record_dlt(inv, TRIAL, "A1", assessed_on=D0, evaluable=False, description="x")
    with pytest.raises(ConductError, match=r"before the DLT window ends on 2026-02-02"):
        svc.record_dlt(inv, TRIAL, "A1", assessed_on="2026-02-01")
    with pytest.raises(ConductError, match=r"^dlt: a DLT is recorded as the adverse event"):
        svc.record_dlt(inv, TRIAL, "A1", True, assessed_on=OVER)
    assert svc.record_dlt(inv, TRIAL, "A1", assessed_on=OVER) is None


def test_all_infusions_rule_makes_a_short_course_not_evaluable(db_url: str) -> None:
    svc, u = _setup(db_url, n_infusions=2)
    inv = u["inv"]
    svc.enrol(inv, TRIAL, "A1", 60, enrolled_on=D0)
    svc.record_infusion(inv, TRIAL, "A1", INFUSED, 0.5, "L1")
    with pytest.raises(ConductError, match=r"^evaluable: A1 received 1 of 2 planned"):
        svc.record_dlt(inv, TRIAL, "A1", assessed_on=OVER)
    with pytest.raises(ConductError, match=r"^description: say why A1 is not evaluable"):
        svc.record_dlt(inv, TRIAL, "A1", assessed_on=OVER, evaluable=False)
    svc.record_dlt(inv, TRIAL, "A1", assessed_on=OVER, evaluable=False, description="withdrew")
    # a non-evaluable subject is replaced: the cohort still has three slots open
    st = svc.status(u["stat"], TRIAL)
    assert st["cohorts"][0]["enrolled"] == 0 and st["outcomes"] == ""


def test_ae_onset_before_enrolment_and_several_problems_at_once(db_url: str) -> None:
    svc, u = _setup(db_url)
    inv = u["inv"]
    svc.enrol(inv, TRIAL, "A1", 60, enrolled_on=D0)
    with pytest.raises(ConductError) as err:
        svc.record_ae(inv, TRIAL, "A1", "", "Pyrexia", 9, onset_on="2026-01-01")
    msg = str(err.value)
    assert msg.startswith("soc: required")
    assert "grade: must lie between 1 and 5" in msg
    assert "onset_on: 2026-01-01 is before A1's enrolment on 2026-01-05" in msg
    with pytest.raises(ConductError, match=r"^resolved_on: 2026-01-06 is before the onset"):
        svc.record_ae(
            inv, TRIAL, "A1", "G", "Pyrexia", 1, onset_on="2026-01-07", resolved_on="2026-01-06"
        )
    with pytest.raises(ConductError, match=r"^onset_on: 2999-01-01 is in the future"):
        svc.record_ae(inv, TRIAL, "A1", "G", "Pyrexia", 1, onset_on="2999-01-01")
    with pytest.raises(ConductError, match=r"^dlt: A1 has no infusion recorded"):
        svc.record_ae(inv, TRIAL, "A1", "G", "CRS", 3, onset_on="2026-01-07", dlt=True)


def test_nothing_is_dated_after_death(db_url: str) -> None:
    svc, u = _setup(db_url)
    inv = u["inv"]
    svc.enrol(inv, TRIAL, "A1", 60, enrolled_on=D0)
    svc.record_infusion(inv, TRIAL, "A1", INFUSED, 0.5, "L1")
    svc.record_ae(inv, TRIAL, "A1", "G", "Pyrexia", 1, onset_on="2026-01-20")
    with pytest.raises(ConductError, match=r"^last_on: death on 2026-01-15 precedes A1's"):
        svc.record_follow_up(inv, TRIAL, "A1", "2026-01-15", died=True)
    svc.record_follow_up(inv, TRIAL, "A1", "2026-01-25", died=True)
    for call, field in (
        (lambda: svc.record_ae(inv, TRIAL, "A1", "G", "Rash", 1, onset_on="2026-01-26"), "onset"),
        (lambda: svc.record_response(inv, TRIAL, "A1", "Day 28", "PD", "2026-02-02"), "assessed"),
        (lambda: svc.record_biomarker(inv, TRIAL, "A1", "PLT", "2026-02-01", 3.0), "measured"),
        (lambda: svc.record_infusion(inv, TRIAL, "A1", "2026-01-27T09:00", 0.5, "L"), "infused"),
    ):
        with pytest.raises(
            ConductError, match=rf"{field}\w*: \S+ is after A1's death on 2026-01-25"
        ):
            call()


# --- 4: a DLT is an adverse event ----------------------------------------------------------


def test_dlts_are_adverse_events_written_once_in_adae(db_url: str) -> None:
    svc, u = _setup(db_url)
    inv = u["inv"]
    _cohort(svc, inv, ["A1", "A2", "A3"], "NTN", 0.5)
    assert svc.status(u["stat"], TRIAL)["outcomes"] == "1NTN"
    svc.record_ae(inv, TRIAL, "A1", "General disorders", "Fatigue", 1, onset_on="2026-01-08")
    adae = svc.export(TRIAL).adae
    assert adae is not None
    assert len(adae) == 2 and adae["AEDLT"].tolist() == ["N", "Y"]
    assert adae.loc[adae["AEDLT"] == "Y", "ASTDY"].tolist() == [5]  # 2026-01-10 is day 5
    # a DLT after a 'no DLT' assessment contradicts it: the assessment is corrected first
    with pytest.raises(ConductError, match=r"^dlt: A1 is assessed 'no DLT'"):
        svc.record_ae(inv, TRIAL, "A1", "G", "CRS", 3, onset_on="2026-01-10", dlt=True)


# --- 5: corrections and voiding ------------------------------------------------------------

CORRECTIONS = [
    ("subject", "A1", {"weight_kg": 61.5}, "weight_kg", "60.0", "61.5"),
    ("infusion", 1, {"lot": "L1-B"}, "lot", "L1", "L1-B"),
    ("adverse_event", 1, {"grade": 4}, "grade", "3", "4"),
    ("dlt_assessment", 1, {"assessed_on": "2026-02-03"}, "assessed_on", OVER, "2026-02-03"),
    ("response", 1, {"value": "CR"}, "value", "PR", "CR"),
    ("follow_up", 1, {"last_on": "2026-03-02"}, "last_on", "2026-03-01", "2026-03-02"),
    ("biomarker", 1, {"value": 22.0}, "value", "21.0", "22.0"),
]


def _one_of_each(svc: TrialService, u: dict[str, Any]) -> None:
    inv = u["inv"]
    _cohort(svc, inv, ["A1", "A2", "A3"], "TNN", 0.5)
    svc.record_response(inv, TRIAL, "A1", "Day 28", "PR", OVER)
    svc.record_follow_up(inv, TRIAL, "A1", "2026-03-01")
    svc.record_biomarker(inv, TRIAL, "A1", "PLT", D0, 21.0, baseline=True)


@pytest.mark.parametrize(("kind", "record", "changes", "field", "old", "new"), CORRECTIONS)
def test_every_record_type_is_corrected_with_an_audited_reason(
    db_url: str, kind: str, record: Any, changes: dict[str, Any], field: str, old: str, new: str
) -> None:
    svc, u = _setup(db_url)
    _one_of_each(svc, u)
    inv = u["inv"]
    with pytest.raises(ConductError, match=r"^reason: required"):
        svc.correct(inv, TRIAL, kind, record, changes, "")
    with pytest.raises(ConductError, match=r"^colour: not a field"):
        svc.correct(inv, TRIAL, kind, record, {"colour": "red"}, "typo")
    row = svc.correct(inv, TRIAL, kind, record, changes, "source document verification")
    table = row.__tablename__
    (entry,) = [e for e in _entries(svc, table, "change") if e.field == field]
    assert (entry.old_value, entry.new_value, entry.reason) == (
        old,
        new,
        "source document verification",
    )
    with svc.sessions() as s:
        assert audit.verify(s).ok
    # the decision after cohort 1 was taken on these data: it is marked, not recomputed
    dec = _latest(svc, u)
    assert dec["data_changed"] and dec["outcomes"] == "1TNN"


@pytest.mark.parametrize(("kind", "record"), [(k, r) for k, r, *_ in CORRECTIONS])
def test_every_record_type_is_voided_not_deleted(db_url: str, kind: str, record: Any) -> None:
    svc, u = _setup(db_url)
    _one_of_each(svc, u)
    with pytest.raises(ConductError, match=r"^reason: required"):
        svc.void(u["inv"], TRIAL, kind, record, " ")
    row = svc.void(u["inv"], TRIAL, kind, record, "entered for the wrong subject")
    assert row.voided and row.void_reason == "entered for the wrong subject"
    (entry,) = _entries(svc, row.__tablename__, "void")
    assert entry.reason == "entered for the wrong subject" and entry.new_value == "True"
    with svc.sessions() as s:
        assert audit.verify(s).ok
        assert "entered for the wrong subject" in audit.export_csv(s)
    with pytest.raises(ConductError, match=rf"^{kind}: .* already voided"):
        svc.void(u["inv"], TRIAL, kind, record, "again")
    trial = svc.export(TRIAL)
    if kind == "subject":
        assert "A1" not in set(trial.adsl["USUBJID"])
    if kind == "adverse_event":
        assert trial.adae is None or "Y" not in set(trial.adae["AEDLT"])


def test_a_correction_after_signature_marks_the_decision(db_url: str) -> None:
    svc, u = _setup(db_url)
    inv, stat = u["inv"], u["stat"]
    _cohort(svc, inv, ["A1", "A2", "A3"], "NNN", 0.5)
    dec = _latest(svc, u)
    svc.confirm_decision(stat, dec["id"], "stat-passwd-1")
    svc.void(inv, TRIAL, "dlt_assessment", 1, "assessment entered for the wrong subject")
    svc.record_ae(inv, TRIAL, "A1", "Immune", "CRS", 3, onset_on="2026-01-12", dlt=True)
    st = svc.status(stat, TRIAL)
    (d,) = st["decisions"]
    assert d["data_changed"] and d["data_changed_label"] == "data changed after signature"
    assert "outcomes now '1TNN'" in d["data_changed_note"] and d["outcomes"] == "1NNN"
    assert d["next_dose"] == 2  # nothing recomputed silently
    assert _entries(svc, "decision", "flag")
    assert svc.recommendation(stat, TRIAL)["latest"]["data_changed"]


# --- 6: review and the meanings of a signature ----------------------------------------------


def test_rejected_decision_keeps_enrolment_paused(db_url: str) -> None:
    svc, u = _setup(db_url)
    inv, stat = u["inv"], u["stat"]
    _cohort(svc, inv, ["A1", "A2", "A3"], "NNN", 0.5)
    dec = _latest(svc, u)
    with pytest.raises(ConductError, match=r"^reason: required to reject"):
        svc.confirm_decision(stat, dec["id"], "stat-passwd-1", "reject")
    signed = svc.confirm_decision(stat, dec["id"], "stat-passwd-1", "reject", reason="query open")
    assert signed.verdict == "REJECTED" and signed.approved_dose is None
    with pytest.raises(ConductError, match=r"^cohort: the decision after cohort 1 was rejected"):
        svc.enrol(inv, TRIAL, "B1", 60, enrolled_on=D0)
    assert len(svc.status(stat, TRIAL)["cohorts"]) == 1
    new = svc.recompute_decision(stat, dec["id"], "query resolved")
    assert new.id != dec["id"] and new.next_dose == 2
    svc.confirm_decision(stat, new.id, "stat-passwd-1")
    svc.enrol(inv, TRIAL, "B1", 60, enrolled_on=D0)
    assert svc.status(stat, TRIAL)["cohorts"][1]["dose_level"] == 2


def test_a_different_dose_needs_a_reason_and_opens_the_next_cohort_at_it(db_url: str) -> None:
    svc, u = _setup(db_url)
    inv, stat = u["inv"], u["stat"]
    _cohort(svc, inv, ["A1", "A2", "A3"], "NNN", 0.5)
    dec = _latest(svc, u)
    assert dec["next_dose"] == 2
    with pytest.raises(ConductError) as err:
        svc.confirm_decision(stat, dec["id"], "stat-passwd-1", "approve_other_dose")
    assert str(err.value).startswith("dose:") and "reason: required" in str(err.value)
    with pytest.raises(ConductError, match=r"^dose: dose level 2 is the recommendation"):
        svc.confirm_decision(stat, dec["id"], "stat-passwd-1", "approve_other_dose", 2, "x")
    signed = svc.confirm_decision(
        stat, dec["id"], "stat-passwd-1", "approve_other_dose", 1, "SRC: expand the first dose"
    )
    assert signed.verdict == "APPROVED_OTHER_DOSE" and signed.approved_dose == 1
    assert "deviation from the design" in (signed.signature_meaning or "")
    (deviation,) = _entries(svc, "decision", "deviation")
    assert (deviation.old_value, deviation.new_value) == ("2", "1")
    svc.enrol(inv, TRIAL, "B1", 60, enrolled_on=D0)
    assert svc.status(stat, TRIAL)["cohorts"][1]["dose_level"] == 1


def test_stop_meaning_stops_the_trial(db_url: str) -> None:
    svc, u = _setup(db_url)
    inv, stat = u["inv"], u["stat"]
    _cohort(svc, inv, ["A1", "A2", "A3"], "NNN", 0.5)
    dec = _latest(svc, u)
    with pytest.raises(ConductError, match=r"^meaning: one of"):
        svc.confirm_decision(stat, dec["id"], "stat-passwd-1", "maybe")
    with pytest.raises(ConductError, match=r"^reason: required to stop"):
        svc.confirm_decision(stat, dec["id"], "stat-passwd-1", "stop")
    svc.confirm_decision(stat, dec["id"], "stat-passwd-1", "stop", reason="sponsor decision")
    with pytest.raises(ConductError, match=r"^cohort: the trial has stopped"):
        svc.enrol(inv, TRIAL, "B1", 60, enrolled_on=D0)


def test_review_shows_the_cohort_the_rule_and_earlier_decisions(db_url: str) -> None:
    svc, u = _setup(db_url)
    inv, stat = u["inv"], u["stat"]
    _cohort(svc, inv, ["A1", "A2", "A3"], "NNN", 0.5)
    svc.confirm_decision(stat, _latest(svc, u)["id"], "stat-passwd-1")
    _cohort(svc, inv, ["B1", "B2", "B3"], "NTN", 1.0)
    rv = svc.review(stat, _latest(svc, u)["id"])
    assert rv["cohort"]["number"] == 2 and rv["cohort"]["dose"] == 1.0
    b2 = rv["subjects"][1]
    assert b2["code"] == "B2" and b2["evaluable"] == "yes" and b2["outcome"] == "T"
    assert b2["infusions"][0]["date"] == "2026-01-06" and b2["infusions"][0]["study_day"] == 1
    assert b2["dlts"][0]["grade"] == 3 and b2["dlts"][0]["onset_day"] == 5
    assert rv["subjects"][0]["window"]["end"] == OVER and rv["subjects"][0]["window"]["completed"]
    rec = rv["recommendation"]
    assert rec["reason"] == "stay" and rec["estimates"]["dlt"] == [0, 1, 0]
    assert [d["after_cohort"] for d in rv["earlier_decisions"]] == [1]
    with pytest.raises(ConductError, match=r"^role:"):
        svc.review(inv, rec["id"])


# --- the same over the JSON API -------------------------------------------------------------


@pytest.fixture()
def client(tmp_path: Path) -> TestClient:
    db = tmp_path / "t.db"
    seed_demo(db)
    return TestClient(create_app(db, secret="test-secret"))


def _token(client: TestClient, user: str, password: str) -> dict[str, str]:
    r = client.post("/api/token", json={"username": user, "password": password})
    return {"Authorization": f"Bearer {r.json()['token']}"}


def test_api_checks_corrections_review_and_meanings(client: TestClient) -> None:
    inv = _token(client, "inv", "inv-demo-pass")
    stat = _token(client, "stat", "stat-demo-pass")
    base = "/api/trials/GVHD phase Ib"
    for i in range(3):
        code = f"P{i}"
        r = client.post(
            f"{base}/subjects",
            json={"code": code, "weight_kg": 60, "enrolled_on": D0},
            headers=inv,
        )
        assert r.status_code == 201, r.text
        r = client.post(
            f"{base}/subjects/{code}/infusions",
            json={"infused_at": INFUSED, "cells_per_kg": 0.5, "lot": "L1"},
            headers=inv,
        )
        assert r.status_code == 201, r.text
    r = client.post(
        f"{base}/subjects/P0/infusions",
        json={"infused_at": INFUSED, "cells_per_kg": 0.5, "lot": "L1", "number": 1},
        headers=inv,
    )
    assert r.status_code == 422 and r.json()["field"] == "number"
    r = client.post(
        f"{base}/subjects/P0/infusions",
        json={"infused_at": "2026-01-09T10:00", "cells_per_kg": 2.0, "lot": "L1"},
        headers=inv,
    )
    assert r.status_code == 422 and r.json()["field"] == "cells_per_kg"
    r = client.post(f"{base}/subjects/P0/dlt", json={"assessed_on": "2026-01-20"}, headers=inv)
    assert r.status_code == 422 and r.json()["field"] == "assessed_on"
    r = client.post(
        f"{base}/subjects/P0/aes",
        json={"soc": "G", "pt": "Pyrexia", "grade": 1, "onset_on": "2026-01-01"},
        headers=inv,
    )
    assert r.status_code == 422 and r.json()["field"] == "onset_on"
    r = client.post(
        f"{base}/subjects/P0/aes",
        json={"soc": "Immune", "pt": "CRS", "grade": 3, "onset_on": "2026-01-09", "dlt": True},
        headers=inv,
    )
    assert r.status_code == 201 and r.json()["decision"] is None
    client.post(f"{base}/subjects/P1/dlt", json={"assessed_on": OVER}, headers=inv)
    dec = client.post(f"{base}/subjects/P2/dlt", json={"assessed_on": OVER}, headers=inv).json()[
        "decision"
    ]
    assert dec["next_dose"] == 1 and dec["reason"] == "stay"
    # corrections and voiding by API, each with its reason
    r = client.patch(f"{base}/aes/1", json={"changes": {"grade": 4}, "reason": ""}, headers=inv)
    assert r.status_code == 422 and r.json()["field"] == "reason"
    r = client.patch(
        f"{base}/aes/1", json={"changes": {"grade": 4}, "reason": "source data"}, headers=inv
    )
    assert r.status_code == 200 and r.json()["corrected"] == ["grade"]
    r = client.patch(
        f"{base}/subjects/P1", json={"changes": {"weight_kg": 62}, "reason": "scale"}, headers=inv
    )
    assert r.status_code == 200
    r = client.post(f"{base}/biomarkers/99/void", json={"reason": "x"}, headers=inv)
    assert r.status_code == 422 and r.json()["field"] == "biomarker"
    r = client.post(f"{base}/widgets/1/void", json={"reason": "x"}, headers=inv)
    assert r.status_code == 422 and r.json()["field"] == "collection"
    # review, then sign: reject keeps enrolment paused
    rv = client.get(f"/api/decisions/{dec['id']}/review", headers=stat).json()
    assert rv["subjects"][0]["dlts"][0]["grade"] == 4 and rv["recommendation"]["data_changed"]
    assert rv["time_zone"] == "Asia/Tokyo"
    assert client.get(f"/api/decisions/{dec['id']}/review", headers=inv).status_code == 403
    r = client.post(
        f"/api/decisions/{dec['id']}/confirm",
        json={"password": "stat-demo-pass", "meaning": "reject", "reason": "grade query"},
        headers=stat,
    )
    assert r.status_code == 200 and r.json()["verdict"] == "REJECTED"
    r = client.post(f"{base}/subjects", json={"code": "Q1", "weight_kg": 60}, headers=inv)
    assert r.status_code == 422 and "rejected" in r.json()["detail"]
    r = client.post(
        f"/api/decisions/{dec['id']}/recompute", json={"reason": "query closed"}, headers=stat
    )
    assert r.status_code == 201
    new_id = r.json()["id"]
    r = client.post(
        f"/api/decisions/{new_id}/confirm",
        json={"password": "stat-demo-pass", "meaning": "approve_other_dose", "dose": 2},
        headers=stat,
    )
    assert r.status_code == 422 and r.json()["field"] == "reason"
    r = client.post(
        f"/api/decisions/{new_id}/confirm",
        json={
            "password": "stat-demo-pass",
            "meaning": "approve_other_dose",
            "dose": 2,
            "reason": "safety review committee",
        },
        headers=stat,
    )
    assert r.status_code == 200 and r.json()["approved_dose"] == 2
    r = client.post(
        f"{base}/subjects", json={"code": "Q1", "weight_kg": 60, "enrolled_on": D0}, headers=inv
    )
    assert r.status_code == 201
    assert client.get(base, headers=stat).json()["cohorts"][1]["dose_level"] == 2
    assert client.get("/api/audit/verify", headers=stat).json()["ok"]


def test_new_trial_form_has_the_conduct_settings(client: TestClient) -> None:

    login = client.get("/login").text
    csrf = csrf_of(login)
    client.post("/login", data={"csrf": csrf, "username": "stat", "password": "stat-demo-pass"})
    page = client.get("/").text
    assert 'name="conduct.dlt_window_days"' in page and 'name="conduct.time_zone"' in page
    csrf = csrf_of(page)
    form = {"csrf": csrf, "name": "Form trial", "design": "3+3", "doses": "1,2"}
    r = client.post("/trials", data={**form, "conduct.time_zone": "Nowhere/City"})
    assert "time_zone: not an IANA time zone" in r.text
    r = client.post("/trials", data={**form, "conduct.n_infusions": "4"})
    assert "trial created" in r.text
    stat = _token(client, "stat", "stat-demo-pass")
    assert client.get("/api/trials/Form trial", headers=stat).json()["conduct"]["n_infusions"] == 4
