"""Tampering with the trial database directly, as someone with write access to it would: each
scenario is detected by ``audit verify`` (named by table, row and field) or refused by the
database. SQLite always; PostgreSQL too when the test services run (``backend`` fixture).

The scenarios follow what an attacker with database access can do: edit data rows (a grade, a
DLT flag, a signed decision, a role, a password hash), delete or insert rows, drop the
append-only triggers and then cut, empty, rewrite or extend the trail, forge checkpoints,
roll the whole file back, and run verify on a mistyped path."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from earlyphase.cli import app
from earlyphase.conduct import TrialService, audit, open_store
from earlyphase.conduct.anchor import Anchor, default_key_path
from earlyphase.conduct.models import AuditEntry
from earlyphase.conduct.store import database_url

D0 = "2026-01-05"
INFUSED = "2026-01-06T10:00"
WINDOW_OVER = "2026-02-02"


@pytest.fixture
def keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Key files of server databases go under this test's own configuration directory."""
    monkeypatch.delenv("EARLYPHASE_AUDIT_KEY", raising=False)
    monkeypatch.delenv("EARLYPHASE_AUDIT_KEY_FILE", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path / "config"


def _trial(db_url: str) -> tuple[TrialService, dict[str, Any]]:
    """A 3+3 trial with one cohort: two subjects without DLT, one with a DLT (an adverse
    event), the decision signed by the statistician."""
    svc = TrialService(open_store(db_url))
    svc.bootstrap_admin("admin", "Ada Admin", "admin-pass-1")
    admin = svc.authenticate("admin", "admin-pass-1")
    svc.create_site(admin, "Tokyo")
    svc.create_user(admin, "stat", "Sam Statistician", "statistician", "stat-passwd-1")
    svc.create_user(admin, "inv1", "Ivy One", "investigator", "inv1-passwd-1", "Tokyo")
    svc.create_trial(admin, "GVHD", "3+3", {"n_doses": 3}, [0.5, 1.0, 2.0])
    inv = svc.authenticate("inv1", "inv1-passwd-1")
    stat_ = svc.authenticate("stat", "stat-passwd-1")
    for code, dlt in (("A1", False), ("A2", True), ("A3", False)):
        svc.enrol(inv, "GVHD", code, 60, enrolled_on=D0)
        svc.record_infusion(inv, "GVHD", code, INFUSED, 0.5, "L1")
        if dlt:
            svc.record_ae(
                inv,
                "GVHD",
                code,
                "Immune system disorders",
                "Cytokine release syndrome",
                3,
                related=True,
                onset_on="2026-01-10",
                dlt=True,
            )
        else:
            svc.record_dlt(inv, "GVHD", code, False, assessed_on=WINDOW_OVER)
    dec = svc.recommendation(stat_, "GVHD")["latest"]
    svc.confirm_decision(stat_, dec["id"], "stat-passwd-1")
    return svc, {"admin": admin, "inv": inv, "stat": stat_}


@pytest.fixture
def trial(db_url: str, keys: Path) -> Iterator[tuple[str, TrialService, dict[str, Any]]]:
    svc, users = _trial(db_url)
    yield db_url, svc, users
    svc.sessions.kw["bind"].dispose()


def _sql(db_url: str, *statements: str) -> None:
    """Statements run directly on the database, bypassing the service."""
    engine = create_engine(database_url(db_url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            for st in statements:
                conn.execute(text(st))
    finally:
        engine.dispose()


def _verify(db_url: str, **kwargs: Any) -> audit.VerifyResult:
    """verify as ``earlyphase audit verify`` runs it: the database opened as it is."""
    sessions = open_store(db_url, setup=False)
    try:
        with sessions() as s:
            return audit.verify(s, **kwargs)
    finally:
        sessions.kw["bind"].dispose()


def _drop_guards(db_url: str) -> None:
    if db_url.startswith("postgresql"):
        _sql(
            db_url,
            "DROP TRIGGER audit_no_change ON audit_entry",
            "DROP TRIGGER audit_no_truncate ON audit_entry",
            "DROP TRIGGER checkpoint_no_change ON audit_checkpoint",
            "DROP TRIGGER checkpoint_no_truncate ON audit_checkpoint",
        )
    else:
        _sql(
            db_url,
            "DROP TRIGGER audit_no_update",
            "DROP TRIGGER audit_no_delete",
            "DROP TRIGGER checkpoint_no_update",
            "DROP TRIGGER checkpoint_no_delete",
        )


def _problems(result: audit.VerifyResult) -> str:
    assert not result.ok, result.message
    return "\n".join(result.problems)


def test_an_untouched_record_verifies(trial: Any) -> None:
    db_url, _svc, _u = trial
    result = _verify(db_url)
    assert result.ok, result.message
    assert result.entries > 10 and "checkpoints" in result.message


def test_the_hash_does_not_depend_on_the_server_time_zone(trial: Any, backend: str) -> None:
    """PostgreSQL returns instants in the session's zone; the hashes are of UTC instants."""
    db_url, _svc, _u = trial
    if backend == "postgresql":
        name = db_url.rsplit("/", 1)[1]
        _sql(db_url, f"ALTER DATABASE {name} SET timezone TO 'Pacific/Chatham'")
    else:
        os.environ["TZ"] = "Pacific/Chatham"  # SQLite stores UTC; nothing may read local time
    try:
        assert _verify(db_url).ok
    finally:
        os.environ.pop("TZ", None)


DATA_EDITS = {
    "an AE's grade": (
        "UPDATE adverse_event SET grade = 2 WHERE id = 1",
        "adverse_event row 1 field grade: 2 in the table, 3 in the audit trail",
    ),
    "a DLT flag": ("UPDATE adverse_event SET dlt = false WHERE id = 1", "field dlt"),
    "a no-DLT assessment turned into a DLT": (
        "UPDATE dlt_assessment SET dlt = true WHERE id = 1",
        "dlt_assessment row 1 field dlt",
    ),
    "a signed decision's dose": (
        "UPDATE decision SET next_dose = 3 WHERE id = 1",
        "decision row 1 field next_dose",
    ),
    "a signed decision's signer": (
        "UPDATE decision SET confirmed_by = 1, signer_name = 'Ada Admin' WHERE id = 1",
        "decision row 1 field signature_hash: does not match the signed content",
    ),
    "a signature hash": (
        "UPDATE decision SET signature_hash = '" + "a" * 64 + "' WHERE id = 1",
        "decision row 1 field signature_hash",
    ),
    "a user's role": (
        "UPDATE user_account SET role = 'admin' WHERE username = 'inv1'",
        "field role: 'admin' in the table, 'investigator' in the audit trail",
    ),
    "a password hash copied onto the statistician": (
        "UPDATE user_account SET password_hash = (SELECT password_hash FROM user_account "
        "WHERE username = 'inv1') WHERE username = 'stat'",
        "field password_hash: '(secret)' in the table, '(secret)' in the audit trail",
    ),
    "a dose given": (
        "UPDATE infusion SET cells_per_kg = 5.0 WHERE id = 1",
        "infusion row 1 field cells_per_kg: 5.0 in the table, 0.5 in the audit trail",
    ),
    "a row deleted": ("DELETE FROM dlt_assessment WHERE id = 2", "gone from the table"),
    "a row inserted": (
        "INSERT INTO site (id, name) VALUES (99, 'Nowhere')",
        "site row 99: no audit entry",
    ),
}


@pytest.mark.parametrize("what", list(DATA_EDITS))
def test_a_direct_edit_of_the_data_is_found(trial: Any, what: str) -> None:
    db_url, _svc, _u = trial
    statement, expected = DATA_EDITS[what]
    _sql(db_url, statement)
    assert expected in _problems(_verify(db_url))


def test_the_trail_and_its_checkpoints_refuse_change(trial: Any, backend: str) -> None:
    db_url, _svc, _u = trial
    attempts = [
        "UPDATE audit_entry SET reason = 'x' WHERE id = 1",
        "DELETE FROM audit_entry WHERE id = 1",
        "UPDATE audit_checkpoint SET entries = 1 WHERE id = 1",
        "DELETE FROM audit_checkpoint WHERE id = 1",
    ]
    if backend == "postgresql":
        attempts += ["TRUNCATE audit_entry", "TRUNCATE audit_checkpoint"]
    for st in attempts:
        with pytest.raises(DBAPIError, match="append-only"):
            _sql(db_url, st)
    assert _verify(db_url).ok


def test_dropped_triggers_are_reported_not_recreated(trial: Any) -> None:
    db_url, _svc, _u = trial
    _drop_guards(db_url)
    for _ in range(2):  # a second verify still sees them missing
        assert "append-only trigger missing: audit_no" in _problems(_verify(db_url))


def test_cutting_the_tail_is_found(trial: Any) -> None:
    db_url, _svc, _u = trial
    _drop_guards(db_url)
    _sql(db_url, "DELETE FROM audit_entry WHERE id > (SELECT MAX(id) - 3 FROM audit_entry)")
    assert "entries removed" in _problems(_verify(db_url))


def test_emptying_the_trail_is_found(trial: Any) -> None:
    db_url, _svc, _u = trial
    _drop_guards(db_url)
    _sql(db_url, "DELETE FROM audit_entry")
    found = _problems(_verify(db_url))
    assert "entries removed" in found and "subject row 1: no audit entry" in found


def test_emptying_the_trail_and_its_checkpoints_is_found(trial: Any) -> None:
    """Even with the triggers put back: the data rows have no entries."""
    db_url, _svc, _u = trial
    _drop_guards(db_url)
    _sql(db_url, "DELETE FROM audit_entry", "DELETE FROM audit_checkpoint")
    open_store(db_url).kw["bind"].dispose()  # the service's setup re-creates the triggers
    found = _problems(_verify(db_url))
    assert "decision row 1: no audit entry" in found


def test_removing_a_checkpoint_is_found(trial: Any) -> None:
    db_url, _svc, _u = trial
    _drop_guards(db_url)
    _sql(db_url, "DELETE FROM audit_checkpoint WHERE id = 3")
    assert "does not follow the previous checkpoint" in _problems(_verify(db_url))


def _rewrite_from(db_url: str, entry_id: int, new_value: str) -> None:
    """Change one entry and recompute every hash after it: the chain is consistent again."""
    sessions = open_store(db_url, setup=False)
    with sessions() as s:
        prev = audit.GENESIS
        for e in s.query(AuditEntry).order_by(AuditEntry.id):
            if e.id == entry_id:
                e.new_value = new_value
            e.prev_hash = prev
            e.hash = audit._digest(prev, audit._fields(e))
            prev = e.hash
            s.flush()
        s.commit()
    sessions.kw["bind"].dispose()


def test_a_rewritten_chain_is_found(trial: Any) -> None:
    db_url, _svc, _u = trial
    _drop_guards(db_url)
    _rewrite_from(db_url, 5, "rewritten")
    found = _problems(_verify(db_url))
    assert "trail rewritten" in found
    assert "content does not match" not in found  # the chain itself is consistent


def _forge_entry(db_url: str) -> None:
    """Append an entry chained correctly to the head (INSERT is allowed by the triggers)."""
    sessions = open_store(db_url, setup=False)
    with sessions() as s:
        head = s.query(AuditEntry).order_by(AuditEntry.id.desc()).first()
        assert head is not None
        forged = AuditEntry(
            at=head.at,
            username="stat",
            action="sign",
            table_name="decision",
            record_id=1,
            field="signature",
            new_value="Sam Statistician: approved escalation",
            row_state=head.row_state if head.table_name == "decision" else None,
            prev_hash=head.hash,
            hash="",
        )
        forged.hash = audit._digest(head.hash, audit._fields(forged))
        s.add(forged)
        s.commit()
    sessions.kw["bind"].dispose()


def test_a_forged_append_is_found(trial: Any) -> None:
    db_url, _svc, _u = trial
    _forge_entry(db_url)
    assert "not covered by an authenticated checkpoint" in _problems(_verify(db_url))
    # and an anchor taken on demand does not launder it
    refused = CliRunner().invoke(app, ["audit", "anchor", "--database", db_url])
    assert refused.exit_code == 1 and "refused" in refused.output


def test_a_forged_append_stays_found_after_later_writes(trial: Any) -> None:
    """The next legitimate commit checkpoints the trail; it does not launder the entry."""
    db_url, svc, u = trial
    _forge_entry(db_url)
    svc.enrol(u["inv"], "GVHD", "B1", 60, enrolled_on=D0)
    assert "appended outside the service" in _problems(_verify(db_url))


def test_a_forged_checkpoint_is_found(trial: Any, backend: str) -> None:
    db_url, _svc, _u = trial
    _forge_entry(db_url)
    # a checkpoint made with a key the attacker chose
    sessions = open_store(db_url, setup=False, key=b"k" * 32)
    with sessions() as s, s.begin():
        from earlyphase.conduct.anchor import checkpoint_now

        checkpoint_now(s, b"k" * 32, "commit")
    sessions.kw["bind"].dispose()
    assert "not authenticated by the key" in _problems(_verify(db_url))


def test_without_the_key_the_checkpoints_are_not_taken_on_trust(trial: Any) -> None:
    db_url, _svc, _u = trial
    default_key_path(database_url(db_url)).unlink()
    assert "no key to authenticate the checkpoints" in _problems(_verify(db_url))


def test_the_key_file_is_private(trial: Any) -> None:
    db_url, _svc, _u = trial
    path = default_key_path(database_url(db_url))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(bytes.fromhex(path.read_text().strip())) == 32


def _backup(src: Path, dst: Path) -> None:
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)


def test_rolling_the_file_back_is_found_with_an_external_anchor(tmp_path: Path, keys: Path) -> None:
    """A consistent earlier copy verifies on its own (nothing inside it can tell); the anchor
    an external witness kept shows the rollback."""
    db = tmp_path / "trial.db"
    svc, u = _trial(str(db))
    _backup(db, tmp_path / "earlier.db")
    svc.enrol(u["inv"], "GVHD", "B1", 60, enrolled_on=D0)
    runner = CliRunner()
    out = runner.invoke(app, ["audit", "anchor", "--database", str(db), "-o", str(tmp_path / "a")])
    assert out.exit_code == 0, out.output
    anchor = Anchor.from_json((tmp_path / "a").read_text())
    svc.sessions.kw["bind"].dispose()
    shutil.copy(tmp_path / "earlier.db", db)
    for suffix in ("-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    assert _verify(str(db)).ok
    found = _problems(_verify(str(db), witness=anchor))
    assert "no longer has entry" in found and "is not in the database" in found
    cli = runner.invoke(
        app, ["audit", "verify", "--database", str(db), "--anchor", str(tmp_path / "a")]
    )
    assert cli.exit_code == 1 and "rolled back" in cli.output


def test_verify_on_a_missing_file_is_an_error_and_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "mistyped.db"
    out = CliRunner().invoke(app, ["audit", "verify", "--database", str(missing)])
    assert out.exit_code == 2
    assert "no such file" in out.output
    assert not missing.exists()


def test_cli_verify_and_anchor(trial: Any, tmp_path: Path) -> None:
    db_url, _svc, _u = trial
    runner = CliRunner()
    ok = runner.invoke(app, ["audit", "verify", "--database", db_url])
    assert ok.exit_code == 0 and "audit trail intact" in ok.output
    anchored = runner.invoke(app, ["audit", "anchor", "--database", db_url])
    assert anchored.exit_code == 0
    assert json.loads(anchored.output)["entries"] == _verify(db_url).entries
    _sql(db_url, "UPDATE adverse_event SET grade = 4 WHERE id = 1")
    bad = runner.invoke(app, ["audit", "verify", "--database", db_url])
    assert bad.exit_code == 1 and "adverse_event row 1 field grade" in bad.output
    refused = runner.invoke(app, ["audit", "anchor", "--database", db_url])
    assert refused.exit_code == 1


def test_a_trail_written_before_checkpoints_is_anchored_on_demand(
    tmp_path: Path, keys: Path
) -> None:
    db = tmp_path / "trial.db"
    svc, _u = _trial(str(db))
    svc.sessions.kw["bind"].dispose()
    _drop_guards(str(db))
    _sql(str(db), "DELETE FROM audit_checkpoint")  # as a database from before checkpoints
    open_store(str(db)).kw["bind"].dispose()
    assert "not anchored" in _problems(_verify(str(db)))
    out = CliRunner().invoke(app, ["audit", "anchor", "--database", str(db)])
    assert out.exit_code == 0, out.output
    assert _verify(str(db)).ok


def test_the_csv_export_neutralises_formulas(trial: Any) -> None:
    _db_url, svc, u = trial
    svc.correct(
        u["inv"],
        "GVHD",
        "adverse_event",
        1,
        {"grade": 4},
        '=HYPERLINK("http://example.invalid","source")',
    )
    with svc.sessions() as s:
        exported = audit.export_csv(s)
    assert "'=HYPERLINK" in exported
    assert ",=HYPERLINK" not in exported and '"=HYPERLINK' not in exported
