"""Append-only audit trail bound to the data it describes (21 CFR 11.10(e): secure,
computer-generated, time-stamped audit trails that record the creation, modification or
deletion of electronic records, with previously recorded information not obscured).

Design
------
*Hash chain.* Each entry's hash covers its content and the previous entry's hash, so changing
or removing an entry in the middle of the trail breaks the chain.

*Row binding.* An entry's hash also covers ``row_state``: the full content of the row it
describes, as canonical JSON, as the row stands when the writing transaction commits. The
entries are sealed (chained and hashed) in ``before_commit``, after the data are flushed, so
the state is what the database holds, whatever order the service wrote the entry and the
change in. A write to an audited table that the service made without an entry still gets one
(action ``write``), so every committed ORM write is in the trail. ``verify`` replays the trail
(the last state recorded for each row is what the row must read) and compares it with every
table: each differing field is reported by table, row id and field, as are rows with no entry
and entries whose row is gone. A direct ``UPDATE`` of a grade, a DLT flag, a role or a signed
decision is therefore detected without trusting the tables. Secrets (password and token
hashes) are bound through their SHA-256, so the trail does not disclose them while a hash
copied onto another account still differs. Signature hashes are recomputed from the
decision's content and signer.

*Time zone.* Timestamps are hashed in UTC ISO 8601 with the offset (``+00:00``), whatever time
zone the database session returns them in. Entries written before row binding (no
``row_state``) keep their original format, the UTC wall time without offset, and verify as
they were; their rows are listed as not bound rather than failed (they carry no state to
compare with).

*Guards and anchoring.* The database refuses UPDATE, DELETE and (PostgreSQL) TRUNCATE on the
trail (triggers created by the store's setup and migrations, never by ``verify``, which
reports a missing trigger as a failure). What a chain cannot prove by itself is that its tail
was not cut off or the whole trail rewritten by someone able to drop the triggers: for that
``verify`` prints the head (last hash) and the count, and checks them against a head kept
outside the database (``expect_head``; ``earlyphase audit export --head-file``).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Table, event, select, text
from sqlalchemy.orm import Session, UOWTransaction

from earlyphase.conduct import anchor
from earlyphase.conduct.models import (
    AuditCheckpoint,
    AuditEntry,
    Base,
    Decision,
    User,
    as_utc,
    utcnow,
)

GENESIS = "0" * 64

#: Columns bound through their SHA-256: the trail is exported and must not disclose them.
SECRET_COLUMNS = frozenset({"password_hash", "api_token_hash"})

#: Session.info keys: entries waiting to be sealed, and audited rows the ORM wrote.
_PENDING = "earlyphase_audit_pending"
_WRITTEN = "earlyphase_audit_written"
_USER = "earlyphase_audit_user"

#: Triggers that make the trail append-only, per dialect (store.py and the migrations create
#: them).
GUARD_TRIGGERS = {
    "sqlite": (
        "audit_no_delete",
        "audit_no_update",
        "checkpoint_no_delete",
        "checkpoint_no_update",
    ),
    "postgresql": (
        "audit_no_change",
        "audit_no_truncate",
        "checkpoint_no_change",
        "checkpoint_no_truncate",
    ),
}

#: The trail and its checkpoints prove the record; they are not part of it.
_TRAIL_TABLES = frozenset({AuditEntry.__tablename__, AuditCheckpoint.__tablename__})


def audited_tables() -> dict[str, Table]:
    """Every table of the record: all but the trail, its checkpoints, and the tables the
    models declare unaudited (sign-in bookkeeping that churns and proves nothing)."""
    from earlyphase.conduct import models

    skip = _TRAIL_TABLES | frozenset(getattr(models, "UNAUDITED_TABLES", ()))
    return {name: table for name, table in Base.metadata.tables.items() if name not in skip}


def _canonical(column: str, value: Any) -> Any:
    if isinstance(value, dt.datetime):
        value = as_utc(value).isoformat(timespec="microseconds")
    elif isinstance(value, dt.date):
        value = value.isoformat()
    if column in SECRET_COLUMNS and value is not None:
        return "sha256:" + hashlib.sha256(str(value).encode()).hexdigest()
    return value


def canonical_state(row: Mapping[Any, Any]) -> dict[str, Any]:
    """The row as JSON-ready values: instants in UTC with offset, dates ISO, secrets hashed.
    The JSON round trip makes the Python values compare as the stored state does."""
    state = {k: _canonical(k, v) for k, v in row.items()}
    loaded: dict[str, Any] = json.loads(json.dumps(state, sort_keys=True, default=str))
    return loaded


def _state_json(row: Mapping[Any, Any] | None) -> str:
    if row is None:
        return "null"
    return json.dumps(canonical_state(row), sort_keys=True, separators=(",", ":"))


def _digest(prev: str, fields: dict[str, object]) -> str:
    payload = json.dumps(fields, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256((prev + payload).encode()).hexdigest()


def _fields(e: AuditEntry) -> dict[str, object]:
    at: str | None = None
    if e.at is not None:
        utc = as_utc(e.at)
        # entries from before row binding were hashed as UTC wall time without offset
        at = (
            utc.replace(tzinfo=None).isoformat(timespec="microseconds")
            if e.row_state is None
            else utc.isoformat(timespec="microseconds")
        )
    fields: dict[str, object] = {
        "at": at,
        "username": e.username,
        "action": e.action,
        "table": e.table_name,
        "record_id": e.record_id,
        "field": e.field,
        "old": e.old_value,
        "new": e.new_value,
        "reason": e.reason,
    }
    if e.row_state is not None:
        fields["row_state"] = e.row_state
    return fields


class _Row(Protocol):
    __tablename__: str

    @property
    def id(self) -> int: ...


def created(session: Session, username: str, row: _Row, new: object) -> None:
    """Insert ``row`` (so that it has its id) and append its creation to the trail, in the
    caller's transaction; ``new`` is the entry's readable description of the record."""
    session.add(row)
    session.flush()
    record(session, username, "create", row.__tablename__, row.id, new=new)


def record(
    session: Session,
    username: str,
    action: str,
    table: str,
    record_id: int,
    field: str | None = None,
    old: object = None,
    new: object = None,
    reason: str | None = None,
) -> AuditEntry:
    """Queue one entry in the caller's transaction; it is chained, bound to the row's state
    and written when the transaction commits (``_seal``)."""
    entry = AuditEntry(
        at=utcnow(),
        username=username,
        action=action,
        table_name=table,
        record_id=record_id,
        field=field,
        old_value=None if old is None else str(old),
        new_value=None if new is None else str(new),
        reason=reason,
        prev_hash="",
        hash="",
    )
    session.info.setdefault(_PENDING, []).append(entry)
    session.info[_USER] = username
    return entry


@event.listens_for(Session, "after_flush")
def _track_writes(session: Session, _flush: UOWTransaction) -> None:
    # Every ORM write to an audited table is remembered, so one the service did not describe
    # with an entry still ends up bound in the trail.
    written: set[tuple[str, int]] = session.info.setdefault(_WRITTEN, set())
    for obj in [*session.new, *session.dirty]:
        table = getattr(obj, "__tablename__", None)
        if table is None or table not in audited_tables():
            continue
        if obj in session.dirty and not session.is_modified(obj):
            continue
        written.add((table, obj.id))


@event.listens_for(Session, "before_commit")
def _seal(session: Session) -> None:
    """Chain and write the transaction's entries, each bound to its row's committed state."""
    if not session.info.get(_PENDING) and not session.info.get(_WRITTEN):
        return
    session.flush()  # the data first: the state recorded is what the database holds
    pending: list[AuditEntry] = session.info.pop(_PENDING, [])
    written: set[tuple[str, int]] = session.info.pop(_WRITTEN, set())
    described = {(e.table_name, e.record_id) for e in pending}
    for table, record_id in sorted(written - described):
        pending.append(
            AuditEntry(
                at=utcnow(),
                username=session.info.get(_USER, "system"),
                action="write",
                table_name=table,
                record_id=record_id,
                reason="written without a described change",
                prev_hash="",
                hash="",
            )
        )
    tables = audited_tables()
    states: dict[tuple[str, int], str] = {}
    for table, record_id in {(e.table_name, e.record_id) for e in pending}:
        t = tables.get(table)
        row = (
            None
            if t is None
            else session.execute(select(t).where(t.c.id == record_id)).mappings().one_or_none()
        )
        states[(table, record_id)] = _state_json(row)
    last = session.execute(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).scalar()
    prev = last.hash if last is not None else GENESIS
    key = session.info.get(anchor.KEY_INFO)
    before = 0
    if key is not None:
        # counted before the new entries are added (a query would flush them)
        cp = session.execute(
            select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1)
        ).scalar()
        if cp is not None and cp.head == prev:
            before = cp.entries
        else:
            before = session.query(AuditEntry).count()
    for e in pending:
        e.row_state = states[(e.table_name, e.record_id)]
        e.prev_hash = prev
        e.hash = _digest(prev, _fields(e))
        prev = e.hash
        session.add(e)
    if key is not None:
        # every commit is anchored, so an entry appended outside the service stands out
        reason = "signature" if any(e.action == "sign" for e in pending) else "commit"
        anchor.write_checkpoint(session, key, before + len(pending), len(pending), prev, reason)
    session.flush()
    session.info.pop(_WRITTEN, None)  # the entries' own flush wrote no audited row


@event.listens_for(Session, "after_rollback")
def _discard(session: Session) -> None:
    # entries of a transaction that did not commit describe nothing
    session.info.pop(_PENDING, None)
    session.info.pop(_WRITTEN, None)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    entries: int
    first_bad: int | None
    message: str
    head: str = GENESIS
    problems: tuple[str, ...] = field(default=())


def signature_hash(dec: Mapping[Any, Any], signer: str) -> str:
    """The signature hash of a decision, as ``decisions.confirm_decision`` computes it."""
    at = dec["confirmed_at"]
    content = json.dumps(
        {
            "id": dec["id"],
            "outcomes": dec["outcomes"],
            "next": dec["next_dose"],
            "stop": dec["stop"],
            "selected": dec["selected"],
            "signer": signer,
            "meaning": dec["signature_meaning"],
            "verdict": dec["verdict"],
            "approved_dose": dec["approved_dose"],
            "reason": dec["verdict_reason"],
            "at": None if at is None else as_utc(at).isoformat(),
        },
        sort_keys=True,
    )
    return hashlib.sha256(content.encode()).hexdigest()


def missing_guards(session: Session) -> list[str]:
    """The append-only triggers missing from the trail and its checkpoints."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        sql = (
            "SELECT name FROM sqlite_master WHERE type = 'trigger' "
            "AND tbl_name IN ('audit_entry', 'audit_checkpoint')"
        )
    elif dialect == "postgresql":
        sql = (
            "SELECT tgname FROM pg_trigger WHERE tgrelid IN "
            "('audit_entry'::regclass, 'audit_checkpoint'::regclass) AND NOT tgisinternal"
        )
    else:
        return []
    present = {str(r[0]) for r in session.execute(text(sql))}
    return [t for t in GUARD_TRIGGERS[dialect] if t not in present]


def _check_chain(
    entries: Iterable[AuditEntry], problems: list[str]
) -> tuple[int, int | None, str, list[str]]:
    prev = GENESIS
    n = 0
    first_bad: int | None = None
    hashes: list[str] = []
    for e in entries:
        n += 1
        if e.prev_hash != prev:
            problems.append(f"audit_entry row {e.id}: link to the previous entry is broken")
            first_bad = e.id if first_bad is None else first_bad
        elif _digest(prev, _fields(e)) != e.hash:
            problems.append(f"audit_entry row {e.id}: content does not match its hash")
            first_bad = e.id if first_bad is None else first_bad
        prev = e.hash
        hashes.append(e.hash)
    return n, first_bad, prev, hashes


def _check_data(session: Session, entries: list[AuditEntry], problems: list[str]) -> int:
    """Replay the trail and compare with the tables; return the number of legacy rows."""
    expected: dict[tuple[str, int], Any] = {}
    legacy: set[tuple[str, int]] = set()
    for e in entries:
        key = (e.table_name, e.record_id)
        if e.row_state is None:
            legacy.add(key)
        else:
            try:
                expected[key] = json.loads(e.row_state)
            except ValueError:
                problems.append(f"audit_entry row {e.id}: row state is not JSON")
    unbound = 0
    seen: set[tuple[str, int]] = set()
    for name, table in sorted(audited_tables().items()):
        for row in session.execute(select(table).order_by(table.c.id)).mappings():
            key = (name, int(row["id"]))
            seen.add(key)
            if key not in expected:
                if key in legacy:
                    unbound += 1
                else:
                    problems.append(f"{name} row {key[1]}: no audit entry")
                continue
            want = expected[key]
            if not isinstance(want, dict):
                problems.append(f"{name} row {key[1]}: the trail records no such row")
                continue
            have = canonical_state(row)
            for col in sorted(set(have) | set(want)):
                if have.get(col) != want.get(col):
                    shown_have = "(secret)" if col in SECRET_COLUMNS else have.get(col)
                    shown_want = "(secret)" if col in SECRET_COLUMNS else want.get(col)
                    problems.append(
                        f"{name} row {key[1]} field {col}: {shown_have!r} in the table, "
                        f"{shown_want!r} in the audit trail"
                    )
    for key, want in sorted(expected.items()):
        if key not in seen and want is not None:
            problems.append(f"{key[0]} row {key[1]}: in the audit trail but gone from the table")
    signers = {
        int(u["id"]): str(u["username"]) for u in session.execute(select(User.__table__)).mappings()
    }
    for dec in session.execute(select(Decision.__table__).order_by(Decision.id)).mappings():
        if dec["signature_hash"] is None:
            continue
        signer = signers.get(dec["confirmed_by"], "")
        if signature_hash(dec, signer) != dec["signature_hash"]:
            problems.append(
                f"decision row {dec['id']} field signature_hash: does not match the signed content"
            )
    return unbound


def verify(
    session: Session,
    key: bytes | None = None,
    witness: anchor.Anchor | None = None,
) -> VerifyResult:
    """Check the append-only triggers, the chain, every audited row against the state the
    trail records for it, signatures, the checkpoints (authenticated with ``key``; by default
    the one the session factory holds) and, given, an anchor kept by an external witness."""
    problems: list[str] = []
    missing = missing_guards(session)
    if missing:
        problems.append(f"audit trail: append-only trigger missing: {', '.join(missing)}")
    entries = list(session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars())
    n, first_bad, head, hashes = _check_chain(entries, problems)
    unbound = _check_data(session, entries, problems)
    if key is None:
        key = session.info.get(anchor.KEY_INFO)
    checkpoints = anchor.check(session, key, hashes, problems, witness)
    summary = f"{n} entries; head {head}; {checkpoints} checkpoints"
    if unbound:
        summary += f"; {unbound} rows recorded before row binding (not compared)"
    if problems:
        message = "\n".join([f"audit trail NOT intact: {summary}", *problems])
        return VerifyResult(False, n, first_bad, message, head, tuple(problems))
    return VerifyResult(True, n, None, f"audit trail intact: {summary}", head, ())


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run: text starting as a formula gets a leading
    apostrophe (OWASP, CSV injection). Numbers are written as they are."""
    if isinstance(value, int | float):
        return str(value)
    text_ = str(value)
    return "'" + text_ if text_.startswith(_FORMULA_START) else text_


def export_csv(session: Session) -> str:
    """The whole trail as CSV, one row per entry (formula-like cells neutralised)."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(
        [
            "id",
            "at",
            "username",
            "action",
            "table",
            "record_id",
            "field",
            "old_value",
            "new_value",
            "reason",
            "row_state",
            "prev_hash",
            "hash",
        ]
    )
    for e in session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars():
        row = [
            e.id,
            as_utc(e.at).isoformat() if e.at else "",
            e.username,
            e.action,
            e.table_name,
            e.record_id,
            e.field or "",
            e.old_value or "",
            e.new_value or "",
            e.reason or "",
            e.row_state or "",
            e.prev_hash,
            e.hash,
        ]
        w.writerow([_cell(v) for v in row])
    return out.getvalue()
