"""The trial record: enrolment into cohorts, decisions with signature, audit chain, access rules,
and durability when the writer is killed."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from earlyphase.conduct import ConductError, PermissionDenied, TrialService, audit, open_store
from earlyphase.conduct.models import AuditEntry
from earlyphase.conduct.protocol import build_protocol
from earlyphase.report import render_report

#: Calendar of the tests' subjects: enrolled on D0, infused the next day (study day 1), a DLT
#: on day 5, the 28-day DLT window over on day 28.
D0 = "2026-01-05"
INFUSED = "2026-01-06T10:00"
DLT_ONSET = "2026-01-10"
WINDOW_OVER = "2026-02-02"


def _subject(svc: TrialService, inv: Any, trial: str, code: str, dose: float, dlt: bool) -> None:
    """Enrol, infuse and either record a DLT (an adverse event meeting the DLT criteria) or
    the end-of-window 'no DLT' assessment."""
    svc.enrol(inv, trial, code, 60, enrolled_on=D0)
    svc.record_infusion(inv, trial, code, INFUSED, dose, "L1")
    if dlt:
        svc.record_ae(
            inv,
            trial,
            code,
            "Immune system disorders",
            "Cytokine release syndrome",
            3,
            related=True,
            onset_on=DLT_ONSET,
            dlt=True,
        )
    else:
        svc.record_dlt(inv, trial, code, False, assessed_on=WINDOW_OVER)


def _latest(svc: TrialService, user: Any, trial: str) -> Any:
    return svc.recommendation(user, trial)["latest"]


def _setup(path: Path | str) -> tuple[TrialService, dict[str, object]]:
    svc = TrialService(open_store(path))
    svc.bootstrap_admin("admin", "Ada Admin", "admin-pass-1")
    admin = svc.authenticate("admin", "admin-pass-1")
    svc.create_site(admin, "Tokyo")
    svc.create_site(admin, "Osaka")
    svc.create_user(admin, "stat", "Sam Statistician", "statistician", "stat-passwd-1")
    svc.create_user(admin, "inv1", "Ivy One", "investigator", "inv1-passwd-1", "Tokyo")
    svc.create_user(admin, "inv2", "Ian Two", "investigator", "inv2-passwd-1", "Osaka")
    svc.create_user(admin, "mon", "Mo Monitor", "monitor", "mon-passwd-11")
    svc.create_trial(admin, "GVHD", "3+3", {"n_doses": 3}, [0.5, 1.0, 2.0])
    users = {
        u: svc.authenticate(u, p)
        for u, p in (
            ("admin", "admin-pass-1"),
            ("stat", "stat-passwd-1"),
            ("inv1", "inv1-passwd-1"),
            ("inv2", "inv2-passwd-1"),
            ("mon", "mon-passwd-11"),
        )
    }
    return svc, users


def test_full_three_plus_three_trial_to_report(tmp_path: Path, db_url: str) -> None:
    svc, u = _setup(db_url)
    inv, stat = u["inv1"], u["stat"]
    outcomes = [[False] * 3, [False, True, False], [False] * 3, [True, True, False]]
    n = 0
    for k, cohort in enumerate(outcomes):
        for dlt in cohort:
            n += 1
            _subject(svc, inv, "GVHD", f"S{n:02d}", [0.5, 1.0, 1.0, 2.0][k], dlt)
        dec = _latest(svc, stat, "GVHD")
        assert dec["after_cohort"] == k + 1
        svc.confirm_decision(stat, dec["id"], "stat-passwd-1")
    st = svc.status(stat, "GVHD")
    # the 3+3 rule applied to the recorded data: 1NNN 2NTN 2NNN 3TTN -> stop, MTD = dose 2
    assert st["outcomes"] == "1NNN 2NTN 2NNN 3TTN"
    last = st["decisions"][-1]
    assert last["stop"] and last["selected"] == 2 and last["confirmed"]
    with pytest.raises(ConductError, match=r"^cohort: the trial has stopped"):
        svc.enrol(inv, "GVHD", "S99", 60)
    trial = svc.export("GVHD")
    assert trial.n == 12 and int((trial.adae["AEDLT"] == "Y").sum()) == 3
    page = render_report(trial, tmp_path / "r.html").read_text()
    assert "Dose-limiting toxicities by dose level" in page
    with svc.sessions() as s:
        assert audit.verify(s).ok


def test_simon_two_stage_trial_pauses_at_the_interim_look(db_url: str) -> None:
    """A phase II trial run by the service: Simon's optimal design for p0 = 0.1, p1 = 0.3,
    alpha = 0.05, beta = 0.2 is r1/n1 = 1/10, r/n = 5/29 (Simon 1989, Table 1)."""
    svc, u = _setup(db_url)
    admin, inv, stat = u["admin"], u["inv1"], u["stat"]
    spec = {"p0": 0.1, "p1": 0.3, "alpha": 0.05, "beta": 0.2, "endpoint_visit": "Day 28"}
    svc.create_trial(admin, "ITP", "simon", spec, [1.0])
    with pytest.raises(ConductError, match=r"^dose_levels"):
        svc.create_trial(admin, "ITP2", "simon", spec, [1.0, 2.0])
    for i in range(10):
        svc.enrol(inv, "ITP", f"P{i:02d}", 60, enrolled_on=D0)
    with pytest.raises(ConductError, match="cohort 1 is full"):
        svc.enrol(inv, "ITP", "P10", 60)
    for i in range(10):
        # an early visit does not count; the endpoint is the day-28 response
        svc.record_response(inv, "ITP", f"P{i:02d}", "Day 7", "CR", "2026-01-12")
        value = "PR" if i < 2 else "NR"
        svc.record_response(inv, "ITP", f"P{i:02d}", "Day 28", value, "2026-02-02")
    st = svc.status(stat, "ITP")
    assert st["outcomes"] == "1RRNNNNNNNN"
    (dec,) = st["decisions"]
    assert not dec["stop"] and dec["next_dose"] == 1 and "continue" in dec["reason"]
    svc.confirm_decision(stat, dec["id"], "stat-passwd-1")
    svc.enrol(inv, "ITP", "P10", 60)
    assert svc.status(stat, "ITP")["cohorts"][1]["size"] == 19

    svc.create_trial(admin, "ITP-futile", "simon", spec, [1.0])
    for i in range(10):
        svc.enrol(inv, "ITP-futile", f"F{i:02d}", 60, enrolled_on=D0)
        value = "CR" if i == 0 else "PD"
        svc.record_response(inv, "ITP-futile", f"F{i:02d}", "Day 28", value, "2026-02-02")
    (dec,) = svc.status(stat, "ITP-futile")["decisions"]
    assert dec["stop"] and "lower boundary" in dec["reason"]
    svc.confirm_decision(stat, dec["id"], "stat-passwd-1")
    with pytest.raises(ConductError, match=r"^cohort: the trial has stopped"):
        svc.enrol(inv, "ITP-futile", "F99", 60)


def test_toxicity_monitor_stops_on_dlts(db_url: str) -> None:
    """Bayesian monitoring, stop when P(p > 0.3 | data) > 0.95 under Beta(1, 1), worked by
    hand: 1 DLT in 1 patient gives 1 - 0.3^2 = 0.91 (continue), 2 in 2 give 1 - 0.3^3 = 0.973
    (stop)."""
    svc, u = _setup(db_url)
    admin, inv, stat = u["admin"], u["inv1"], u["stat"]
    spec = {"limit": 0.3, "cutoff": 0.95, "n_max": 10}
    svc.create_trial(admin, "IPS", "tox-monitor", spec, [2.0])
    _subject(svc, inv, "IPS", "T1", 2.0, dlt=True)
    dec = _latest(svc, stat, "IPS")
    assert dec is not None and not dec["stop"]
    svc.confirm_decision(stat, dec["id"], "stat-passwd-1")
    _subject(svc, inv, "IPS", "T2", 2.0, dlt=True)
    dec = _latest(svc, stat, "IPS")
    assert dec["stop"] and "upper boundary" in dec["reason"]
    assert svc.status(stat, "IPS")["outcomes"] == "1T 1T"


def test_last_slot_cannot_be_taken_twice(db_url: str) -> None:
    svc, u = _setup(db_url)
    svc.enrol(u["inv1"], "GVHD", "A1", 60)
    svc.enrol(u["inv1"], "GVHD", "A2", 60)
    barrier = threading.Barrier(2)
    results: list[str] = []

    def enrol(who: str, code: str) -> None:
        barrier.wait()
        try:
            svc.enrol(u[who], "GVHD", code, 60)
            results.append("ok")
        except ConductError as exc:
            results.append(str(exc))

    threads = [
        threading.Thread(target=enrol, args=("inv1", "B1")),
        threading.Thread(target=enrol, args=("inv2", "B2")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("ok") == 1
    assert any(r.startswith("cohort: cohort 1 is full") for r in results)
    assert svc.status(u["admin"], "GVHD")["cohorts"][0]["enrolled"] == 3


def test_audit_is_append_only_and_tamper_evident(db_url: str, backend: str) -> None:
    svc, u = _setup(db_url)
    svc.enrol(u["inv1"], "GVHD", "A1", 60, enrolled_on=D0)
    ae = svc.record_ae(u["inv1"], "GVHD", "A1", "General disorders", "Pyrexia", 1, onset_on=D0)
    with pytest.raises(ConductError, match=r"^reason:"):
        svc.change_ae_grade(u["inv1"], ae.id, 2, "")
    svc.change_ae_grade(u["inv1"], ae.id, 2, "source document says grade 2")
    with svc.sessions() as s:
        entry = s.query(AuditEntry).filter_by(table_name="adverse_event", action="change").one()
        assert (entry.old_value, entry.new_value, entry.reason) == (
            "1",
            "2",
            "source document says grade 2",
        )
        entry.new_value = "3"
        with pytest.raises(DBAPIError, match="append-only"):
            s.commit()
    # an attacker with database access removes the guard and edits an entry: the chain breaks
    drop = (
        "DROP TRIGGER audit_no_update"
        if backend == "sqlite"
        else "DROP TRIGGER audit_no_change ON audit_entry"
    )
    with svc.sessions() as s:
        s.execute(text(drop))
        s.execute(text("UPDATE audit_entry SET new_value = 'grade 5' WHERE id = 3"))
        s.commit()
    with svc.sessions() as s:
        result = audit.verify(s)
    assert not result.ok and result.first_bad == 3
    with svc.sessions() as s:
        csv_text = audit.export_csv(s)
    assert csv_text.splitlines()[0].startswith("id,at,username,action")


def test_every_creation_and_change_is_audited(db_url: str) -> None:
    """Cohorts opened by enrolment and a follow-up that changes vital status are in the trail."""
    svc, u = _setup(db_url)
    svc.enrol(u["inv1"], "GVHD", "A1", 60, enrolled_on=D0)
    svc.record_follow_up(u["inv1"], "GVHD", "A1", "2026-02-04", False)
    svc.record_follow_up(u["inv1"], "GVHD", "A1", "2026-02-19", True)
    with svc.sessions() as s:
        cohort = s.query(AuditEntry).filter_by(table_name="cohort").one()
        assert (cohort.action, cohort.username) == ("create", "inv1")
        assert cohort.new_value == "cohort 1: dose level 1, 3 patients"
        changes = {
            e.field: (e.old_value, e.new_value)
            for e in s.query(AuditEntry).filter_by(table_name="follow_up", action="change")
        }
        assert changes == {"last_on": ("2026-02-04", "2026-02-19"), "died": ("False", "True")}
        assert audit.verify(s).ok


def test_roles_and_sites(db_url: str) -> None:
    svc, u = _setup(db_url)
    _subject(svc, u["inv1"], "GVHD", "A1", 0.5, False)
    # another site's subject is answered as an unknown code is: its existence is not told
    with pytest.raises(ConductError) as other_site:
        svc.record_ae(u["inv2"], "GVHD", "A1", "General disorders", "Pyrexia", 1, onset_on=D0)
    with pytest.raises(ConductError) as unknown:
        svc.record_ae(u["inv2"], "GVHD", "A9", "General disorders", "Pyrexia", 1, onset_on=D0)
    assert str(other_site.value) == "code: no subject 'A1' in 'GVHD'"
    assert type(other_site.value) is type(unknown.value) is ConductError
    assert str(unknown.value) == "code: no subject 'A9' in 'GVHD'"
    with pytest.raises(PermissionDenied, match=r"^role:"):
        svc.enrol(u["mon"], "GVHD", "M1", 60)
    with pytest.raises(PermissionDenied, match=r"^role:"):
        svc.create_trial(u["inv1"], "X", "3+3", {"n_doses": 3}, [1, 2, 3])
    assert (
        svc.status(u["inv2"], "GVHD")["cohorts"][0]["subjects"] == []
    )  # cannot see Tokyo's subjects
    for _ in range(2):
        _subject(svc, u["inv1"], "GVHD", f"A{time.time_ns()}", 0.5, False)
    dec_id = _latest(svc, u["mon"], "GVHD")["id"]
    with pytest.raises(PermissionDenied, match=r"^role:"):
        svc.confirm_decision(u["inv1"], dec_id, "inv1-passwd-1")
    with pytest.raises(PermissionDenied, match=r"^password:"):
        svc.confirm_decision(u["stat"], dec_id, "wrong-password")
    svc.confirm_decision(u["stat"], dec_id, "stat-passwd-1")
    with pytest.raises(ConductError, match=r"^decision: decision \d+ is already signed"):
        svc.confirm_decision(u["stat"], dec_id, "stat-passwd-1")


@pytest.mark.parametrize(
    "call, field",
    [
        (lambda svc, u: svc.enrol(u["inv1"], "GVHD", "A1", 0.1), "weight_kg"),
        (lambda svc, u: svc.enrol(u["inv1"], "GVHD", " ", 60), "code"),
        (lambda svc, u: svc.enrol(u["inv1"], "NOPE", "A1", 60), "trial"),
        (lambda svc, u: svc.record_ae(u["inv1"], "GVHD", "ZZ", "S", "P", 2), "code"),
        (
            lambda svc, u: svc.create_trial(
                u["admin"], "T2", "boin", {"target": 1.5, "n_doses": 3}, [1, 2, 3]
            ),
            "target",
        ),
        (lambda svc, u: svc.create_user(u["admin"], "x", "X", "boss", "password-1"), "role"),
    ],
)
def test_bad_input_names_the_field(db_url: str, call, field: str) -> None:  # type: ignore[no-untyped-def]
    svc, u = _setup(db_url)
    with pytest.raises(ValueError, match=rf"^{field}:"):
        call(svc, u)


SIMON = {"p0": 0.1, "p1": 0.3, "alpha": 0.05, "beta": 0.2}


@pytest.mark.parametrize(
    "name, spec, field",
    [
        ("simon", {**SIMON, "responders": "CR,XX"}, "responders"),
        ("simon", {**SIMON, "responders": 3}, "responders"),
        ("simon", {**SIMON, "endpoint_visit": 28}, "endpoint_visit"),
        ("simon", {**SIMON, "n_doses": 1}, "n_doses"),
        ("tox-monitor", {"limit": 0.3, "responders": ["CR"]}, "responders"),
        ("tox-monitor", {"limit": 0.3, "endpoint_visit": "Day 28"}, "endpoint_visit"),
    ],
)
def test_protocol_settings_are_checked(name: str, spec: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=rf"^{field}:"):
        build_protocol(name, spec)


WRITER = textwrap.dedent("""
    import sys
    from earlyphase.conduct import TrialService, open_store
    svc = TrialService(open_store(sys.argv[1]))
    inv = svc.authenticate("inv1", "inv1-passwd-1")
    admin = svc.authenticate("admin", "admin-pass-1")
    i = 0
    while True:
        svc.record_ae(
            inv, "GVHD", "K1", "General disorders", f"Event {i}", 1, onset_on="2026-01-06"
        )
        print(f"ack {i}", flush=True)
        i += 1
""")


def test_sigkill_loses_nothing_acknowledged(db_url: str) -> None:
    db = db_url
    svc, u = _setup(db)
    svc.enrol(u["inv1"], "GVHD", "K1", 60, enrolled_on=D0)
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db)], stdout=subprocess.PIPE, text=True
    )
    acked = -1
    assert proc.stdout is not None
    deadline = time.time() + 60
    while acked < 25 and time.time() < deadline:
        line = proc.stdout.readline()
        if line.startswith("ack"):
            acked = int(line.split()[1])
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert acked >= 25
    trial = TrialService(open_store(db)).export("GVHD")
    names = set(trial.adae["AEDECOD"])
    assert all(f"Event {i}" in names for i in range(acked + 1))
    with TrialService(open_store(db)).sessions() as s:
        assert audit.verify(s).ok
        n_audit = s.query(AuditEntry).filter_by(table_name="adverse_event").count()
    assert n_audit == len(trial.adae)  # no record without its audit entry, and vice versa


def test_migrations_match_the_models(db_url: str) -> None:
    """The schema Alembic builds is exactly the models' (no change left to migrate)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from earlyphase.conduct.models import Base

    sessions = open_store(db_url)
    with sessions() as s:
        ctx = MigrationContext.configure(s.connection())
        assert ctx.get_current_revision() == "0004"
        assert compare_metadata(ctx, Base.metadata) == []
    svc, u = _setup(db_url)
    svc.enrol(u["inv1"], "GVHD", "B1", 60, enrolled_on=D0)
    svc.record_biomarker(u["inv1"], "GVHD", "B1", "PLT", "2026-01-05", 21.0, baseline=True)
    svc.record_biomarker(u["inv1"], "GVHD", "B1", "PLT", "2026-02-02", 64.0)
    trial = svc.export("GVHD")
    assert trial.adlb["CHG"].tolist() == [0.0, 43.0]


def test_a_trial_keeps_the_settings_it_was_created_with(db_url: str) -> None:
    """The defaults in force at creation are written into the trial record, so a later change
    of a default (Thall-Simon's futility rule, p_lower 0.05) cannot change a running trial's
    protocol; the creation's audit record shows them too."""
    svc, u = _setup(db_url)
    spec = {"standard_prior": [15, 35], "experimental_prior": [0.6, 1.4], "n_max": 20}
    svc.create_trial(u["admin"], "LUPUS", "thall-simon", spec, [1.0])
    trial = svc.get_trial("LUPUS")
    stored = dict(trial.design_spec)
    assert stored["p_lower"] == 0.05 and stored["p_upper"] == 0.95 and stored["n_max"] == 20
    assert stored["delta"] == 0.0 and "experimental_ess" not in stored
    rebuilt = build_protocol("thall-simon", stored)
    assert rebuilt.design.boundary_table().equals(
        build_protocol("thall-simon", spec).design.boundary_table()
    )


@pytest.mark.parametrize("design", ["mtpi2", "keyboard", "i3+3"])
def test_interval_designs_run_in_the_service(tmp_path: Any, design: str) -> None:
    """The interval designs run cohort by cohort as BOIN does. Hand-worked: with target 0.3,
    0 DLTs in 3 patients lies below each design's escalation interval (mTPI-2's and the
    Keyboard's lowest key, i3+3's 0/3 < target - 0.05), so each escalates to level 2."""
    from earlyphase.conduct.demo import DEMO_CONDUCT, seed_demo

    db = str(tmp_path / "interval.db")
    seed_demo(db)
    svc = TrialService(open_store(db))
    admin = svc.authenticate("admin", "admin-demo-pass")
    inv = svc.authenticate("inv", "inv-demo-pass")
    stat = svc.authenticate("stat", "stat-demo-pass")
    svc.create_trial(admin, design, design, {"target": 0.3}, [0.5, 1.0, 2.0], conduct=DEMO_CONDUCT)
    for i in range(3):
        code = f"P{i}"
        svc.enrol(inv, design, code, 60, enrolled_on="2026-01-05")
        svc.record_infusion(inv, design, code, "2026-01-06T10:00", 0.5, "L1")
        svc.record_dlt(inv, design, code, False, assessed_on="2026-02-02")
    latest = svc.recommendation(stat, design)["latest"]
    assert (latest["reason"], latest["next_dose"], latest["stop"]) == ("escalate", 2, False)
