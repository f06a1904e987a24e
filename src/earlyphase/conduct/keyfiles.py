"""Files kept beside a trial database but outside it: the service's secret (security.py) and
the audit trail's anchoring key (anchor.py). Both live beside a SQLite file, or for a server
database under ``$XDG_CONFIG_HOME/earlyphase/`` (default ``~/.config``), named from host, port
and database name (never the password), and both are created once with mode 0600."""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path


def sqlite_path(url: str) -> str | None:
    """The file of a ``sqlite:///`` URL; None for an in-memory database or another URL."""
    if not url.startswith("sqlite") or ":///" not in url:
        return None
    path = url.split(":///", 1)[1].split("?", 1)[0]
    return path if path and path != ":memory:" else None


def key_file_path(url: str, suffix: str, prefix: str) -> Path | None:
    """``FILE{suffix}`` beside a SQLite file, ``{prefix}-<id>.key`` in the configuration
    directory for a server database, None for an in-memory database."""
    if url.startswith("sqlite"):
        path = sqlite_path(url)
        return Path(path + suffix) if path else None
    from sqlalchemy.engine import make_url

    u = make_url(url)
    ident = f"{u.host}:{u.port}/{u.database}"
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "earlyphase"
    return base / f"{prefix}-{hashlib.sha256(ident.encode()).hexdigest()[:16]}.key"


def create_once(path: Path) -> None:
    """Write 32 random bytes (hexadecimal) to ``path`` unless it exists: whole under a
    temporary name, then linked in, so workers starting together agree on the first one's
    value and never read a half-written file."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32) + "\n")
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
