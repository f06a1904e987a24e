"""Shared fixtures: reference values computed in R (see tests/fixtures/r/make_fixtures.R)."""

from __future__ import annotations

import json
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
    """Scrucca et al. (2007) bmtcrr data, copied from ../shared/data/bmtcrr.csv."""
    import pandas as pd

    return pd.read_csv(FIXTURES / "bmtcrr.csv")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Conduct tests take ``backend``: SQLite always, PostgreSQL when the test services script
    (scripts/test-services.sh, run by ``make test``) started one (EARLYPHASE_TEST_PG)."""
    if "backend" in metafunc.fixturenames:
        import os

        backends = ["sqlite"] + (["postgresql"] if os.environ.get("EARLYPHASE_TEST_PG") else [])
        metafunc.parametrize("backend", backends)


@pytest.fixture()
def db_url(backend: str, tmp_path: Any) -> Any:
    """A fresh, empty trial database for one test."""
    import os
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
