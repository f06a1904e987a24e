"""Database engine and schema: SQLite file by default (WAL, immediate transactions), or any
SQLAlchemy URL (``postgresql://...``). The audit table is made append-only in the database
itself (triggers), not only by the application."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

SQLITE_AUDIT_GUARDS = (
    "CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit_entry "
    "BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit_entry "
    "BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS checkpoint_no_update BEFORE UPDATE ON audit_checkpoint "
    "BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS checkpoint_no_delete BEFORE DELETE ON audit_checkpoint "
    "BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END",
)
POSTGRES_AUDIT_GUARDS = (
    "CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger AS $$ BEGIN "
    "RAISE EXCEPTION 'audit trail is append-only'; END; $$ LANGUAGE plpgsql",
    "DROP TRIGGER IF EXISTS audit_no_change ON audit_entry",
    "CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit_entry "
    "FOR EACH ROW EXECUTE FUNCTION audit_append_only()",
    # row triggers do not fire on TRUNCATE: a statement trigger refuses it
    "DROP TRIGGER IF EXISTS audit_no_truncate ON audit_entry",
    "CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit_entry "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()",
    "DROP TRIGGER IF EXISTS checkpoint_no_change ON audit_checkpoint",
    "CREATE TRIGGER checkpoint_no_change BEFORE UPDATE OR DELETE ON audit_checkpoint "
    "FOR EACH ROW EXECUTE FUNCTION audit_append_only()",
    "DROP TRIGGER IF EXISTS checkpoint_no_truncate ON audit_checkpoint",
    "CREATE TRIGGER checkpoint_no_truncate BEFORE TRUNCATE ON audit_checkpoint "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()",
)


#: Execution option marking a read-only transaction (deferred BEGIN on SQLite).
READ_ONLY = "earlyphase_read_only"


def database_url(database: str | Path | None) -> str:
    """``./earlyphase.db`` by default; a path means a SQLite file; URLs pass through
    (``postgresql://`` uses the psycopg 3 driver)."""
    if database is None:
        return "sqlite:///earlyphase.db"
    text_ = str(database)
    if text_.startswith("postgresql://"):
        return "postgresql+psycopg://" + text_[len("postgresql://") :]
    return text_ if "://" in text_ else f"sqlite:///{text_}"


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let SQLAlchemy's "begin" event issue BEGIN
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        if conn.get_execution_options().get(READ_ONLY):
            conn.exec_driver_sql("BEGIN")  # readers run beside the writer (WAL)
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # writers serialise: no lost updates


def alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the latest Alembic revision (creating it on an empty database)."""
    from alembic import command

    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


class NoSuchDatabaseError(Exception):
    """The SQLite file to inspect does not exist (nothing was created)."""


def open_store(
    database: str | Path | None = None, *, setup: bool = True, key: bytes | None = None
) -> sessionmaker[Session]:
    """Create (if needed) the schema, the audit trail's guards and its anchoring key
    (anchor.py), and return a session factory whose sessions checkpoint the trail with that
    key. ``setup=False`` opens an existing database as it is, for inspection (``audit
    verify``): nothing is created, so a missing file, key or trigger is found, not repaired.
    ``key`` overrides the key the environment or the key file gives."""
    from earlyphase.conduct.anchor import KEY_INFO, load_key
    from earlyphase.conduct.keyfiles import sqlite_path

    url = database_url(database)
    if not setup and url.startswith("sqlite"):
        path = sqlite_path(url)
        if path is None or not Path(path).is_file():
            raise NoSuchDatabaseError(f"database: no such file: {path or url}")
    if url.startswith("sqlite"):
        # More connections than the server's worker threads (web.WORKER_THREADS) and scripts
        # use at once: with fewer, readers would queue for a connection although WAL lets
        # them all read together.
        in_memory = sqlite_path(url) is None
        pool: dict[str, Any] = {} if in_memory else {"pool_size": 20, "max_overflow": 20}
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **pool
        )
        _sqlite_setup(engine)
    else:
        engine = create_engine(url, pool_size=20, max_overflow=20, pool_recycle=1800)
    if key is None:
        key = load_key(url, create=setup)
    info = {} if key is None else {KEY_INFO: key}
    if not setup:
        return sessionmaker(engine, expire_on_commit=False, info=info)
    migrate(engine)
    guards = SQLITE_AUDIT_GUARDS if engine.dialect.name == "sqlite" else POSTGRES_AUDIT_GUARDS
    with engine.begin() as conn:
        for stmt in guards:
            conn.execute(text(stmt))
    return sessionmaker(engine, expire_on_commit=False, info=info)
