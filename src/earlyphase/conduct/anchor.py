"""Checkpoints that anchor the audit trail with a key kept outside the database.

A hash chain proves only that it is consistent with itself: whoever can write the database
(and drop its triggers) can cut the tail, roll the file back, rewrite the chain from any point
or append a forged entry, and the chain still verifies. A checkpoint is the statement "the
trail had *n* entries ending in hash *h*", authenticated with HMAC-SHA256 (RFC 2104) under a
key the database does not hold. Checkpoints are written in the same transaction as every
audited commit (so every entry the service writes is covered, and signatures always are),
and on demand (``earlyphase audit anchor``); each one's MAC covers the previous one's, so
removing one from the middle is seen. Without the key nobody can write a checkpoint that
verifies, so:

- a rewritten or edited chain no longer matches the head a checkpoint authenticated;
- entries removed from the tail leave a checkpoint counting more entries than the trail has;
- an entry appended outside the service is not covered by any checkpoint;
- what remains is a rollback of the whole file (trail and checkpoints together) to an earlier
  consistent state: an anchor exported to an external witness (``audit anchor -o``; e-mail it
  to QA, print it in the safety-review minutes) shows it, because the anchored head is then
  missing from the trail.

The key is 32 random bytes, from ``EARLYPHASE_AUDIT_KEY`` (hex), or the file named by
``EARLYPHASE_AUDIT_KEY_FILE``, or by default a file created once with mode 0600: beside a
SQLite database (``trial.db.audit-key``), and for a server database under
``$XDG_CONFIG_HOME/earlyphase/`` (``~/.config``) named from the URL without its password.
Keep a copy of the key with the backups, separately from the database: without it, the
checkpoints cannot be verified.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from earlyphase.conduct.keyfiles import create_once, key_file_path
from earlyphase.conduct.models import AuditCheckpoint, AuditEntry, as_utc, utcnow

GENESIS = "0" * 64

#: Session.info key holding the key (set by the store's session factory).
KEY_INFO = "earlyphase_audit_key"


class AuditKeyError(ValueError):
    """The anchoring key is malformed or cannot be read."""


def default_key_path(url: str) -> Path | None:
    """Where the key of the database at ``url`` lives when no variable names it (None for
    an in-memory database, whose key lives no longer than the process)."""
    return key_file_path(url, ".audit-key", "audit")


def parse_key(text_: str, where: str) -> bytes:
    """A key written as hexadecimal (at least 16 bytes); ``where`` names its source."""
    try:
        key = bytes.fromhex(text_.strip())
    except ValueError as exc:
        raise AuditKeyError(f"audit key: {where} is not hexadecimal") from exc
    if len(key) < 16:
        raise AuditKeyError(f"audit key: {where} is shorter than 16 bytes")
    return key


def load_key(url: str, *, create: bool) -> bytes | None:
    """The anchoring key: from the environment, or the key file (created with mode 0600 when
    ``create`` and absent). ``None`` if there is none and none may be created."""
    env = os.environ.get("EARLYPHASE_AUDIT_KEY")
    if env:
        return parse_key(env, "EARLYPHASE_AUDIT_KEY")
    named = os.environ.get("EARLYPHASE_AUDIT_KEY_FILE")
    path = Path(named) if named else default_key_path(url)
    if path is None:
        return secrets.token_bytes(32) if create else None
    if not path.exists():
        if not create or named:
            return None
        create_once(path)
    try:
        return parse_key(path.read_text(), str(path))
    except OSError as exc:
        raise AuditKeyError(f"audit key: cannot read {path} ({exc.strerror})") from exc


def mac(
    key: bytes, entries: int, added: int, head: str, at: dt.datetime, reason: str, prev: str
) -> str:
    """HMAC-SHA256 of a checkpoint's content (timestamp in UTC, so the server's time zone
    does not matter)."""
    content = json.dumps(
        {
            "entries": entries,
            "added": added,
            "head": head,
            "at": as_utc(at).isoformat(timespec="microseconds"),
            "reason": reason,
            "prev": prev,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hmac.new(key, content.encode(), hashlib.sha256).hexdigest()


def write_checkpoint(
    session: Session, key: bytes, entries: int, added: int, head: str, reason: str
) -> AuditCheckpoint:
    """Append a checkpoint for the trail as it stands in this transaction, which appended
    ``added`` of its ``entries``."""
    last = session.execute(
        select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1)
    ).scalar()
    prev = last.mac if last is not None else GENESIS
    at = utcnow()
    cp = AuditCheckpoint(
        at=at,
        entries=entries,
        added=added,
        head=head,
        reason=reason,
        prev_mac=prev,
        mac=mac(key, entries, added, head, at, reason, prev),
    )
    session.add(cp)
    return cp


def checkpoint_now(session: Session, key: bytes, reason: str = "on demand") -> AuditCheckpoint:
    """A checkpoint of the whole trail (``audit anchor``), in the caller's transaction."""
    n = session.query(AuditEntry).count()
    last = session.execute(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).scalar()
    before = session.execute(
        select(AuditCheckpoint.entries).order_by(AuditCheckpoint.id.desc()).limit(1)
    ).scalar()
    added = n - (before or 0)
    cp = write_checkpoint(session, key, n, added, GENESIS if last is None else last.hash, reason)
    session.flush()
    return cp


@dataclass(frozen=True)
class Anchor:
    """A checkpoint as exported to an external witness."""

    database: str
    entries: int
    head: str
    at: str
    mac: str

    def to_json(self) -> str:
        return json.dumps(self.__dict__, indent=2) + "\n"

    @classmethod
    def from_json(cls, text_: str) -> Anchor:
        data: dict[str, Any] = json.loads(text_)
        return cls(
            database=str(data.get("database", "")),
            entries=int(data["entries"]),
            head=str(data["head"]),
            at=str(data.get("at", "")),
            mac=str(data.get("mac", "")),
        )


def anchor_of(cp: AuditCheckpoint, database: str) -> Anchor:
    return Anchor(database, cp.entries, cp.head, as_utc(cp.at).isoformat(), cp.mac)


def check(
    session: Session,
    key: bytes | None,
    hashes: list[str],
    problems: list[str],
    anchor: Anchor | None = None,
) -> int:
    """Check the checkpoints against the trail (``hashes``: the entries' hashes in order);
    append a problem for each failure; return the number of checkpoints."""
    cps = list(session.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.id)).scalars())
    n = len(hashes)
    if not cps:
        if n:
            problems.append(
                f"audit_checkpoint: none, so the {n} entries are not anchored "
                "(run 'earlyphase audit anchor' once on a trail written before checkpoints)"
            )
    elif key is None:
        problems.append(
            "audit_checkpoint: no key to authenticate the checkpoints "
            "(set EARLYPHASE_AUDIT_KEY or EARLYPHASE_AUDIT_KEY_FILE, or give --key-file)"
        )
    else:
        prev = GENESIS
        covered = 0
        for cp in cps:
            if cp.prev_mac != prev:
                problems.append(
                    f"audit_checkpoint row {cp.id}: does not follow the previous checkpoint "
                    "(checkpoints removed)"
                )
            if not hmac.compare_digest(
                mac(key, cp.entries, cp.added, cp.head, cp.at, cp.reason, cp.prev_mac), cp.mac
            ):
                problems.append(
                    f"audit_checkpoint row {cp.id}: not authenticated by the key (forged or "
                    "altered)"
                )
            elif cp.entries < covered:
                problems.append(f"audit_checkpoint row {cp.id}: counts fewer entries than before")
            elif cp.entries - covered != cp.added:
                first, last = covered + 1, cp.entries - cp.added
                problems.append(
                    f"audit_entry: entries {first}-{last} were appended outside the service "
                    f"(not written by the transaction of checkpoint row {cp.id} or before it)"
                )
            elif cp.entries > n:
                problems.append(
                    f"audit_checkpoint row {cp.id}: the trail had {cp.entries} entries, it now "
                    f"has {n} (entries removed)"
                )
            elif (hashes[cp.entries - 1] if cp.entries else GENESIS) != cp.head:
                problems.append(
                    f"audit_checkpoint row {cp.id}: entry {cp.entries} is not the head it "
                    "authenticated (trail rewritten)"
                )
            covered = max(covered, cp.entries)
            prev = cp.mac
        if covered < n:
            problems.append(
                f"audit_entry: entries {covered + 1}-{n} are not covered by an authenticated "
                "checkpoint (appended outside the service)"
            )
    if anchor is not None:
        at = anchor.entries
        if anchor.mac and not any(cp.mac == anchor.mac for cp in cps):
            problems.append(
                f"anchor: checkpoint {anchor.mac[:12]}... is not in the database "
                "(checkpoints rolled back or removed)"
            )
        if at > n or (hashes[at - 1] if at else GENESIS) != anchor.head:
            problems.append(
                f"anchor: the trail no longer has entry {at} with head {anchor.head} "
                "(rolled back, cut or rewritten since the anchor was taken)"
            )
    return len(cps)
