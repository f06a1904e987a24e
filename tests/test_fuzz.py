"""No input breaks the conduct service: Schemathesis fuzzes every operation of the OpenAPI
schema (valid and invalid requests) and none answers a server error, on SQLite and, when the
test services run one, on PostgreSQL; then one test per input an attacker's test found to
break it or to pass unchecked, each refused with 4xx and the field named."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.generation import GenerationMode

from earlyphase.conduct import ConductError, TrialService, open_store
from earlyphase.conduct.web import create_app
from earlyphase.designs.settings import BEHAVIOURS, CONDUCT, PROTOCOL, SETTINGS

TRIAL = "GVHD"
PASSWORDS = {"admin": "admin-pass-fuzz-1", "stat": "stat-pass-fuzz-1", "inv": "inv-pass-fuzz-1"}


def _seed(db: str) -> tuple[TrialService, dict[str, str]]:
    """Users of every role, one trial with a subject infused, and a bearer token each."""
    svc = TrialService(open_store(db))
    svc.bootstrap_admin("admin", "Ada Admin", PASSWORDS["admin"])
    admin = svc.authenticate("admin", PASSWORDS["admin"])
    svc.create_site(admin, "Tokyo")
    svc.create_user(admin, "stat", "Sam Statistician", "statistician", PASSWORDS["stat"])
    svc.create_user(admin, "inv", "Ivy One", "investigator", PASSWORDS["inv"], "Tokyo")
    svc.create_trial(admin, TRIAL, "3+3", {}, [0.5, 1.0, 2.0])
    svc.enrol(admin, TRIAL, "S1", 60, "Tokyo", "2026-01-05")
    svc.record_infusion(admin, TRIAL, "S1", "2026-01-06T10:00", 0.5, "L1")
    tokens = {
        role: svc.issue_token(svc.authenticate(role, password))
        for role, password in PASSWORDS.items()
    }
    return svc, tokens


Seeded = tuple[FastAPI, TrialService, dict[str, str]]


@pytest.fixture()
def fresh(db_url: str) -> Iterator[Seeded]:
    """A seeded service on a database of its own (the fuzzer writes whatever it likes)."""
    svc, tokens = _seed(db_url)
    yield create_app(db_url, secret="fuzz-secret"), svc, tokens
    svc.sessions.kw["bind"].dispose()


def _pg_admin() -> Any:
    from sqlalchemy import create_engine

    url = os.environ["EARLYPHASE_TEST_PG"].replace("postgresql://", "postgresql+psycopg://")
    return create_engine(url, isolation_level="AUTOCOMMIT")


class _Shared:
    """One seeded service per backend, and the PostgreSQL databases made for them."""

    def __init__(self) -> None:
        self.seeded: dict[str, Seeded] = {}
        self.databases: list[str] = []


@pytest.fixture(scope="module")
def _shared() -> Iterator[_Shared]:
    from sqlalchemy import text

    shared = _Shared()
    yield shared
    for _, svc, _ in shared.seeded.values():
        svc.sessions.kw["bind"].dispose()
    if shared.databases:
        admin = _pg_admin()
        with admin.connect() as conn:
            for name in shared.databases:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


@pytest.fixture()
def service(backend: str, _shared: _Shared, tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    """The seeded service of ``backend`` for the tests of single inputs, which are refused
    and leave the record as it was (seeding hashes passwords: once, not per test)."""
    if backend not in _shared.seeded:
        if backend == "sqlite":
            db = str(tmp_path_factory.mktemp("fuzz") / "trial.db")
        else:
            import uuid

            from sqlalchemy import text

            name = f"t_{uuid.uuid4().hex[:12]}"
            admin = _pg_admin()
            with admin.connect() as conn:
                conn.execute(text(f"CREATE DATABASE {name}"))
            admin.dispose()
            _shared.databases.append(name)
            db = f"{os.environ['EARLYPHASE_TEST_PG'].rsplit('/', 1)[0]}/{name}"
        svc, tokens = _seed(db)
        _shared.seeded[backend] = (create_app(db, secret="fuzz-secret"), svc, tokens)
    return _shared.seeded[backend]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- the whole schema, fuzzed -------------------------------------------------------------
#: Examples per operation and generation mode: enough to reach every validator, and the whole
#: file runs in about a minute on one core.
EXAMPLES = 10

#: Operations left out: the PDF prints with Chromium (seconds a request), and needs a session.
SKIP = ("/trials/{name}/packet.pdf",)


def _operations(app: FastAPI) -> list[Any]:
    """Every route of the service, the pages left out of the published schema included."""
    for route in app.routes:
        if getattr(route, "include_in_schema", True) is False:
            route.include_in_schema = True  # type: ignore[attr-defined]
    app.openapi_schema = None
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    ops = [r.ok() for r in schema.get_all_operations() if isinstance(r, Ok)]
    return [op for op in ops if op.path not in SKIP]


def test_the_schema_covers_every_route(fresh: Seeded) -> None:
    app, _, _ = fresh
    paths = {op.path for op in _operations(app)}
    assert "/api/trials" in paths and "/trials/{name}/dlt" in paths
    assert len(paths) >= 25


def _fuzz(op: Any, mode: GenerationMode, headers: dict[str, str], fixed: dict[str, Any]) -> None:
    path_parameters = {k: v for k, v in fixed.items() if "{" + k + "}" in op.path}

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=op.as_strategy(generation_mode=mode, path_parameters=path_parameters or None))
    def run(case: Any) -> None:
        response = case.call(headers=headers)
        case.validate_response(response, checks=[not_a_server_error])

    try:
        run()
    except Unsatisfiable:
        # nothing of the operation can be made invalid: no body, and any text is a name
        assert mode is GenerationMode.NEGATIVE and not op.body, op.label


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_request_is_a_server_error(fresh: Seeded, mode: GenerationMode) -> None:
    """Every operation, with generated bodies, queries and paths (once aimed at the seeded
    trial and subject, so that the service's own checks run), answers below 500."""
    app, _, tokens = fresh
    for op in _operations(app):
        headers = _bearer(tokens[_role(op.path)])
        _fuzz(op, mode, headers, {})
        if mode is GenerationMode.POSITIVE and "{name}" in op.path and op.method != "get":
            # a body aimed at the seeded trial and subject: the service's own checks run
            _fuzz(op, mode, headers, {"name": TRIAL, "code": "S1"})


def _role(path: str) -> str:
    """Who may use the operation, so that valid requests get past the role check and into
    the service's own: investigators enter data, statisticians create trials and sign."""
    if path.startswith(("/api/trials/{name}/subjects", "/api/aes")):
        return "inv"
    if path == "/api/trials" or path.startswith("/api/decisions"):
        return "stat"
    return "admin"


# --- what the attacker's test found -------------------------------------------------------
@pytest.fixture()
def client(service: Any) -> TestClient:
    return TestClient(service[0])


def _refused(r: Any, field: str, status: int = 422) -> dict[str, Any]:
    """A 4xx naming ``field``, with every problem listed as {field, message}."""
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    assert body["errors"] and all(e["field"] and e["message"] for e in body["errors"]), body
    assert field in {e["field"] for e in body["errors"]}, body
    return body


SUBJECTS = f"/api/trials/{TRIAL}/subjects"
AES = f"{SUBJECTS}/S1/aes"
TRIAL_BODY = {"name": "New trial", "design": "3+3", "dose_levels": [1.0, 2.0, 4.0]}


def test_huge_integers_are_refused_not_overflowed(client: TestClient, service: Any) -> None:
    h = _bearer(service[2]["admin"])
    huge = 10**30
    _refused(client.post(SUBJECTS, json={"code": "X", "weight_kg": huge}, headers=h), "weight_kg")
    ae = {"soc": "Blood", "pt": "Anaemia", "grade": huge, "onset_on": "2026-01-07"}
    _refused(client.post(AES, json=ae, headers=h), "grade")
    inf = {"infused_at": "2026-01-09T10:00", "cells_per_kg": 0.5, "lot": "L", "number": huge}
    _refused(client.post(f"{SUBJECTS}/S1/infusions", json=inf, headers=h), "number")
    _refused(client.get(f"/api/decisions/{huge}/review", headers=h), "decision_id")
    _refused(client.patch(f"/api/aes/{huge}", json={"grade": 2, "reason": "x"}, headers=h), "ae_id")
    r = client.post(f"/api/trials/{TRIAL}/aes/{huge}/void", json={"reason": "x"}, headers=h)
    _refused(r, "adverse_event")
    body = {**TRIAL_BODY, "settings": {"n_cohorts": huge}}
    _refused(client.post("/api/trials", json=body, headers=h), "settings")
    body = {**TRIAL_BODY, "conduct": {"dlt_window_days": 10**400}}
    _refused(client.post("/api/trials", json=body, headers=h), "conduct")
    r = client.patch(
        f"/api/trials/{TRIAL}/subjects/S1",
        json={"changes": {"weight_kg": 10**400}, "reason": "typo"},
        headers=h,
    )
    _refused(r, "changes")


def test_a_name_differing_only_in_spaces_or_case_is_the_same_trial(
    client: TestClient, service: Any
) -> None:
    h = _bearer(service[2]["stat"])
    for name in (f" {TRIAL}", f"{TRIAL}  ", TRIAL.lower(), f"\u00a0{TRIAL}"):
        body = _refused(
            client.post("/api/trials", json={**TRIAL_BODY, "name": name}, headers=h), "name"
        )
        assert "exists" in body["detail"]
    r = client.post("/api/trials", json={**TRIAL_BODY, "name": "\u00c9tude"}, headers=h)
    assert r.status_code == 201, r.text
    for name in ("\u00e9tude", "E\u0301tude"):  # another case; the accent as a combining mark
        _refused(client.post("/api/trials", json={**TRIAL_BODY, "name": name}, headers=h), "name")
    r = client.post("/api/trials", json={**TRIAL_BODY, "name": "  Two   words "}, headers=h)
    assert r.status_code == 201 and r.json()["name"] == "Two words"
    assert client.get("/api/trials/ Two  words", headers=h).status_code == 200  # found
    _refused(
        client.post("/api/trials", json={**TRIAL_BODY, "name": "Two words"}, headers=h), "name"
    )


def test_deeply_nested_or_oversized_json_is_refused(client: TestClient, service: Any) -> None:
    h = {**_bearer(service[2]["admin"]), "Content-Type": "application/json"}
    deep = "[" * 100_000 + "]" * 100_000
    _refused(client.post("/api/trials", content=deep, headers=h), "body")
    nested = json.dumps({**TRIAL_BODY, "settings": {"skeleton": deep}})
    r = client.post("/api/trials", content=nested.replace(f'"{deep}"', deep), headers=h)
    _refused(r, "body")
    big = json.dumps({**TRIAL_BODY, "schedule": "x" * (2 << 20)})
    _refused(client.post("/api/trials", content=big, headers=h), "body", 413)
    shallow = {**TRIAL_BODY, "settings": {"skeleton": [[[[0.1]]]]}}
    _refused(client.post("/api/trials", json=shallow, headers=h), "settings")


def test_non_ascii_cookie_or_csrf_is_refused(client: TestClient) -> None:
    r = client.get("/", headers={"Cookie": "earlyphase_session=caf\u00e9:1:2:3".encode()})
    _refused(r, "session", 400)
    r = client.post(
        f"/trials/{TRIAL}/enrol", data={"csrf": "t\u00f6ken", "code": "W1", "weight_kg": "60"}
    )
    _refused(r, "csrf", 403)


def test_nul_and_control_characters_are_refused(client: TestClient, service: Any) -> None:
    h = _bearer(service[2]["admin"])
    _refused(client.post(SUBJECTS, json={"code": "P\x00", "weight_kg": 60}, headers=h), "code")
    r = client.post("/api/trials", json={**TRIAL_BODY, "name": "A\x00B"}, headers=h)
    _refused(r, "name")
    ae = {"soc": "Blood\x07", "pt": "Anaemia", "grade": 2, "onset_on": "2026-01-07"}
    _refused(client.post(AES, json=ae, headers=h), "soc")
    _refused(client.get(f"/api/trials/{TRIAL}%00", headers=h), "path", 400)
    r = client.patch(
        f"/api/trials/{TRIAL}/subjects/S1",
        json={"changes": {"code": "S\x001"}, "reason": "typo"},
        headers=h,
    )
    _refused(r, "changes")
    svc: TrialService = service[1]
    admin = svc.authenticate("admin", PASSWORDS["admin"])
    with pytest.raises(ConductError, match=r"^lot: control"):
        svc.record_infusion(admin, TRIAL, "S1", "2026-01-09T10:00", 0.5, "L\x00")


def test_strings_longer_than_their_column_are_refused(client: TestClient, service: Any) -> None:
    h = _bearer(service[2]["admin"])
    _refused(client.post(SUBJECTS, json={"code": "C" * 41, "weight_kg": 60}, headers=h), "code")
    inf = {"infused_at": "2026-01-09T10:00", "cells_per_kg": 0.5, "lot": "L" * 81}
    _refused(client.post(f"{SUBJECTS}/S1/infusions", json=inf, headers=h), "lot")
    ae = {"soc": "S" * 201, "pt": "P", "grade": 2, "onset_on": "2026-01-07"}
    _refused(client.post(AES, json=ae, headers=h), "soc")
    resp = {"visit": "V" * 41, "value": "PR"}
    _refused(client.post(f"{SUBJECTS}/S1/responses", json=resp, headers=h), "visit")
    r = client.post("/api/trials", json={**TRIAL_BODY, "name": "N" * 201}, headers=h)
    _refused(r, "name")
    r = client.post("/api/trials", json={**TRIAL_BODY, "dose_unit": "u" * 41}, headers=h)
    _refused(r, "dose_unit")
    body = {**TRIAL_BODY, "settings": {"unit": "u" * 41, "dose_values": [1, 2, 4]}}
    _refused(client.post("/api/trials", json=body, headers=h), "unit")


@pytest.mark.parametrize(
    "levels",
    [[1.0, math.nan, 2.0], [1.0, math.inf], [-1.0, 1.0], [0.0, 1.0], [1.0, 1.0, 2.0], [2.0, 1.0]],
    ids=["nan", "inf", "negative", "zero", "duplicated", "decreasing"],
)
def test_dose_levels_must_be_finite_positive_and_increasing(
    client: TestClient, service: Any, levels: list[float]
) -> None:
    h = {**_bearer(service[2]["stat"]), "Content-Type": "application/json"}
    body = json.dumps(
        {**TRIAL_BODY, "dose_levels": levels}
    )  # NaN and Infinity as Python writes them
    _refused(client.post("/api/trials", content=body, headers=h), "dose_levels")
    svc: TrialService = service[1]
    stat = svc.authenticate("stat", PASSWORDS["stat"])
    with pytest.raises(ConductError, match=r"^dose_levels: "):  # the service's own check
        svc.create_trial(stat, "Direct", "3+3", {}, levels)


def test_too_many_dose_levels_or_cohorts_are_refused(client: TestClient, service: Any) -> None:
    h = _bearer(service[2]["stat"])
    body = {**TRIAL_BODY, "dose_levels": [float(i) for i in range(1, 22)]}
    _refused(client.post("/api/trials", json=body, headers=h), "dose_levels")
    boin = {**TRIAL_BODY, "design": "boin", "settings": {"target": 0.3, "n_cohorts": 101}}
    _refused(client.post("/api/trials", json=boin, headers=h), "n_cohorts")
    boin["settings"] = {"target": 0.3, "cohort_size": 13}
    _refused(client.post("/api/trials", json=boin, headers=h), "cohort_size")


@pytest.mark.parametrize("days", [-100_000, 100_000])
def test_dates_far_from_the_trial_are_refused(client: TestClient, service: Any, days: int) -> None:
    h = _bearer(service[2]["admin"])
    onset = (dt.date(2026, 1, 7) + dt.timedelta(days=days)).isoformat()
    ae = {"soc": "Blood", "pt": "Anaemia", "grade": 2, "onset_on": onset}
    _refused(client.post(AES, json=ae, headers=h), "onset_on")
    svc: TrialService = service[1]
    admin = svc.authenticate("admin", PASSWORDS["admin"])
    with pytest.raises(ConductError, match=r"^onset_on: "):  # before 1980, or in the future
        svc.record_ae(admin, TRIAL, "S1", "Blood", "Anaemia", 2, onset_on=onset)


def test_true_is_not_one(client: TestClient, service: Any) -> None:
    h = _bearer(service[2]["admin"])
    ae = {"soc": "Blood", "pt": "Anaemia", "grade": True, "onset_on": "2026-01-07"}
    _refused(client.post(AES, json=ae, headers=h), "grade")
    _refused(client.post(SUBJECTS, json={"code": "T1", "weight_kg": True}, headers=h), "weight_kg")
    ae = {"soc": "Blood", "pt": "Anaemia", "grade": 2, "onset_on": "2026-01-07", "dlt": 1}
    _refused(client.post(AES, json=ae, headers=h), "dlt")
    ae = {"soc": "Blood", "pt": "Anaemia", "grade": "2", "onset_on": "2026-01-07"}
    _refused(client.post(AES, json=ae, headers=h), "grade")
    stat = _bearer(service[2]["stat"])
    boin = {**TRIAL_BODY, "design": "boin", "settings": {"target": 0.3, "n_cohorts": True}}
    _refused(client.post("/api/trials", json=boin, headers=stat), "n_cohorts")
    boin["settings"] = {"target": 0.3, "extra_safe": 1}  # nor 1 a switch
    _refused(client.post("/api/trials", json=boin, headers=stat), "extra_safe")
    three = {**TRIAL_BODY, "conduct": {"replace_non_evaluable": 0}}
    _refused(client.post("/api/trials", json=three, headers=stat), "replace_non_evaluable")


def test_every_problem_is_named_at_once(client: TestClient, service: Any) -> None:
    h = _bearer(service[2]["admin"])
    r = client.post(SUBJECTS, json={"code": "C" * 41, "weight_kg": True, "site": 3}, headers=h)
    body = _refused(r, "code")
    assert {e["field"] for e in body["errors"]} == {"code", "weight_kg", "site"}
    assert body["detail"].startswith("code: ")


@pytest.mark.parametrize(("form", "field"), [("dlt", "dlt"), ("ae", "dlt"), ("response", "value")])
def test_form_values_outside_their_choices_are_errors(
    client: TestClient, form: str, field: str
) -> None:
    data = {"csrf": "0" * 64, "code": "S1", "dlt": "maybe", "value": "maybe"}
    _refused(client.post(f"/trials/{TRIAL}/{form}", data=data), field)


def test_unknown_paths_and_methods_name_what_was_wrong(client: TestClient) -> None:
    _refused(client.get("/api/no-such-thing"), "path", 404)
    r = _refused(client.delete("/api/trials"), "method", 405)
    assert r["detail"] == "method: Method Not Allowed"


def test_a_database_conflict_is_409_not_500(client: TestClient, service: Any) -> None:
    """Two requests taking the same name at once: the second meets the unique constraint."""
    from sqlalchemy.exc import IntegrityError

    app = service[0]

    @app.get("/conflict")
    def conflict() -> None:
        raise IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed: trial.name"))

    _refused(client.get("/conflict"), "record", 409)


#: Where docs/bounds.md's tables of settings start (everything after is generated).
TABLES_FROM = "<!-- generated from the settings registry: python tests/test_fuzz.py -->"


#: Settings the service fills in or checks against the protocol's conduct settings.
SERVICE_FILLS = {
    "window": "the protocol's `dlt_window_days` (if given, must equal it)",
    "backfill_window": "no backfill; giving it switches backfill on and it must equal "
    "`dlt_window_days`",
}


def _service_designs() -> list[str]:
    """The designs a trial can be created with (a design may be registered before the
    service runs it)."""
    from earlyphase.conduct.protocol import CONDUCT_DESIGNS
    from earlyphase.designs import settings

    pending = getattr(settings, "NOT_IN_TRIAL_SERVICE", {})
    return [d for d in CONDUCT_DESIGNS if d not in pending]


def settings_tables() -> str:
    """The tables of docs/bounds.md: every setting the conduct service accepts, per design,
    with its type, bounds and default, as the registry declares them."""
    groups = [(d, SETTINGS[d]) for d in _service_designs()]
    groups.append(
        (
            "behaviours (any dose-finding design)",
            tuple(s for group in BEHAVIOURS.values() for s in group),
        )
    )
    groups += [("protocol (single-arm response endpoint)", PROTOCOL), ("conduct", CONDUCT)]
    out = []
    for name, group in groups:
        out += [f"### {name}", "", "| setting | type | allowed | default |", "|---|---|---|---|"]
        for s in group:
            allowed = "on/off" if s.type == "bool" else s.bounds_text() or "-"
            default = s.default_display() or ("required" if s.required else "none")
            if s.name in SERVICE_FILLS:  # the service takes these from the protocol
                default = SERVICE_FILLS[s.name]
            out.append(f"| `{s.name}` | {s.type} | {allowed} | {default} |")
        out.append("")
    return "\n".join(out)


def test_the_bounds_are_documented() -> None:
    """docs/bounds.md lists every setting the service accepts with the registry's bounds,
    and every number the service accepts is bounded both ways."""
    text = (Path(__file__).parents[1] / "docs" / "bounds.md").read_text(encoding="utf-8")
    for word in ("dose_levels", "onset_on", "MAX_BODY", "MAX_DEPTH", "EARLIEST_DATE"):
        assert word in text
    assert text.split(TABLES_FROM, 1)[-1].strip() == settings_tables().strip(), (
        "docs/bounds.md is behind the settings registry: python tests/test_fuzz.py"
    )
    accepted = [s for d in _service_designs() for s in SETTINGS[d]]
    accepted += [s for group in BEHAVIOURS.values() for s in group] + [*PROTOCOL, *CONDUCT]
    for s in accepted:
        if s.type in ("int", "float", "ints", "floats"):
            assert s.low is not None and s.high is not None, f"{s.name} is unbounded"


def test_the_command_line_states_the_bounds() -> None:
    """``earlyphase design DESIGN --help`` says each setting's bounds, from the registry."""
    import re

    from typer.testing import CliRunner

    from earlyphase.cli import app

    r = CliRunner().invoke(app, ["design", "boin", "--help"], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    text = re.sub(r"[\s│]+", " ", r.output)
    assert "Maximum number of cohorts" in text and "Allowed: [1, 100]" in text
    assert "Patients per cohort. Allowed: [1, 12]" in text
    assert "Allowed: (0, 1e+09], at most 20 values" in text


if __name__ == "__main__":  # rewrite docs/bounds.md's tables from the registry
    doc = Path(__file__).parents[1] / "docs" / "bounds.md"
    head = doc.read_text(encoding="utf-8").split(TABLES_FROM, 1)[0]
    doc.write_text(f"{head}{TABLES_FROM}\n\n{settings_tables().strip()}\n", encoding="utf-8")
