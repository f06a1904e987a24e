"""Shared fixtures: reference values computed in R (see tests/fixtures/r/make_fixtures.R)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


def _decode(value: Any) -> Any:
    if value == "Inf":
        return float("inf")
    if value == "-Inf":
        return float("-inf")
    if value is None:
        return float("nan")
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        return {k: _decode(v) for k, v in value.items()}
    return value


@pytest.fixture(scope="session")
def r_reference() -> dict[str, Any]:
    """Values printed by R 4.2.2 (survival 3.5-3, cmprsk 2.2-11), regenerated on demand by
    ``Rscript tests/fixtures/r/make_fixtures.R``."""
    with open(FIXTURES / "r_reference.json", encoding="utf-8") as fh:
        return _decode(json.load(fh))  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def bmtcrr() -> Any:
    """Scrucca, Santucci & Aversa (2007) bmtcrr data (tests/fixtures/bmtcrr.csv)."""
    import pandas as pd

    return pd.read_csv(FIXTURES / "bmtcrr.csv")


#: The services ``make test`` starts (scripts/test-services.sh), by the variable that names them.
SERVICES = {
    "EARLYPHASE_TEST_PG": "PostgreSQL (conduct tests on the second backend)",
    "EARLYPHASE_CHROMIUM": "Chromium (browser test and PDF output)",
}


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def pytest_configure(config: pytest.Config) -> None:
    """In CI (``CI=true``) a missing service fails the run instead of skipping its tests."""
    missing = [f"{var} ({what})" for var, what in SERVICES.items() if not os.environ.get(var)]
    if _in_ci() and missing:
        raise pytest.UsageError(
            "CI=true but these test services are missing: "
            + "; ".join(missing)
            + ". Run the tests with `make test`, which starts them (scripts/test-services.sh)."
        )


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [
        f"test service {what}: {os.environ.get(var) or 'NOT AVAILABLE, its tests are skipped'}"
        for var, what in SERVICES.items()
    ]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Conduct tests take ``backend``: SQLite always, PostgreSQL when the test services script
    (scripts/test-services.sh, run by ``make test``) started one (EARLYPHASE_TEST_PG)."""
    if "backend" in metafunc.fixturenames:
        backends = ["sqlite"] + (["postgresql"] if os.environ.get("EARLYPHASE_TEST_PG") else [])
        metafunc.parametrize("backend", backends)


@pytest.fixture()
def db_url(backend: str, tmp_path: Any) -> Any:
    """A fresh, empty trial database for one test."""
    import uuid

    if backend == "sqlite":
        yield str(tmp_path / "trial.db")
        return
    from sqlalchemy import create_engine, text

    admin_url = os.environ["EARLYPHASE_TEST_PG"].replace("postgresql://", "postgresql+psycopg://")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    base = os.environ["EARLYPHASE_TEST_PG"].rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture()
def server(tmp_path: Path) -> Any:
    """The service on the demo database, served by uvicorn on a free port for one browser
    test; its URL."""
    import socket
    import threading
    import time

    import uvicorn

    from earlyphase.conduct.demo import seed_demo
    from earlyphase.conduct.web import create_app

    db = tmp_path / "ui.db"
    seed_demo(db)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(db, secret="e2e"), host="127.0.0.1", port=port, log_level="warning"
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not srv.started and time.time() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)
