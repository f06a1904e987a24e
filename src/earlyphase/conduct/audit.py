"""Append-only audit trail with a hash chain: each entry's hash covers its content and the
previous entry's hash, so changing or removing any entry breaks the chain (``verify``)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from earlyphase.conduct.models import AuditEntry, utcnow

GENESIS = "0" * 64


def _digest(prev: str, fields: dict[str, object]) -> str:
    payload = json.dumps(fields, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256((prev + payload).encode()).hexdigest()


def _fields(e: AuditEntry) -> dict[str, object]:
    at = e.at.replace(tzinfo=None).isoformat(timespec="microseconds") if e.at else None
    return {
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
    """Append one entry in the caller's transaction."""
    last = session.execute(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).scalar()
    prev = last.hash if last is not None else GENESIS
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
        prev_hash=prev,
        hash="",
    )
    entry.hash = _digest(prev, _fields(entry))
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    entries: int
    first_bad: int | None
    message: str


def verify(session: Session) -> VerifyResult:
    """Recompute the chain; report the first entry whose hash or link does not match."""
    prev = GENESIS
    n = 0
    for e in session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars():
        n += 1
        if e.prev_hash != prev:
            return VerifyResult(
                False, n, e.id, f"entry {e.id}: link to the previous entry is broken"
            )
        if _digest(prev, _fields(e)) != e.hash:
            return VerifyResult(False, n, e.id, f"entry {e.id}: content does not match its hash")
        prev = e.hash
    return VerifyResult(True, n, None, f"audit trail intact: {n} entries")


def export_csv(session: Session) -> str:
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
            "prev_hash",
            "hash",
        ]
    )
    for e in session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars():
        w.writerow(
            [
                e.id,
                e.at.isoformat() if e.at else "",
                e.username,
                e.action,
                e.table_name,
                e.record_id,
                e.field or "",
                e.old_value or "",
                e.new_value or "",
                e.reason or "",
                e.prev_hash,
                e.hash,
            ]
        )
    return out.getvalue()
