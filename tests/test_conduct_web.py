"""The web UI and JSON API: a trial driven end to end over HTTP, access rules, CSRF, errors."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from earlyphase.conduct.demo import seed_demo
from earlyphase.conduct.web import create_app
from helpers import csrf_of


@pytest.fixture()
def client(tmp_path: Path) -> TestClient:
    db = tmp_path / "t.db"
    seed_demo(db)
    return TestClient(create_app(db, secret="test-secret"))


def _login(
    client: TestClient, user: str, password: str, follow_redirects: bool = True
) -> httpx.Response:
    """Sign in through the form, with the CSRF token its page carries."""
    page = client.get("/login").text
    csrf = csrf_of(page)
    data = {"csrf": csrf, "username": user, "password": password}
    return client.post("/login", data=data, follow_redirects=follow_redirects)


def _token(client: TestClient, user: str, password: str) -> dict[str, str]:
    r = client.post("/api/token", json={"username": user, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def test_api_runs_a_cohort_and_decision(client: TestClient) -> None:
    inv = _token(client, "inv", "inv-demo-pass")
    stat = _token(client, "stat", "stat-demo-pass")
    trial = "/api/trials/GVHD phase Ib"
    for i in range(3):
        r = client.post(
            f"{trial}/subjects",
            json={"code": f"P{i}", "weight_kg": 60 + i, "enrolled_on": "2026-01-05"},
            headers=inv,
        )
        assert r.status_code == 201, r.text
        r = client.post(
            f"{trial}/subjects/P{i}/infusions",
            json={"infused_at": "2026-01-06T10:00", "cells_per_kg": 0.5, "lot": "L1"},
            headers=inv,
        )
        assert r.json()["total_cells"] == pytest.approx(0.5 * (60 + i))
    r = client.post(f"{trial}/subjects", json={"code": "P9", "weight_kg": 60}, headers=inv)
    assert r.status_code == 422 and r.json()["field"] == "cohort"
    dec = None
    for i in range(3):
        dec = client.post(
            f"{trial}/subjects/P{i}/dlt", json={"assessed_on": "2026-02-02"}, headers=inv
        ).json()["decision"]
    assert dec == {"id": 1, "reason": "escalate", "next_dose": 2, "stop": False}
    r = client.post("/api/decisions/1/confirm", json={"password": "stat-demo-pass"}, headers=inv)
    assert r.status_code == 403 and r.json()["field"] == "role"
    r = client.post("/api/decisions/1/confirm", json={"password": "stat-demo-pass"}, headers=stat)
    assert r.status_code == 200 and r.json()["signer"] == "Sam Statistician"
    st = client.get(trial, headers=stat).json()
    assert st["outcomes"] == "1NNN" and st["decisions"][0]["confirmed"]
    assert (
        client.post(
            f"{trial}/subjects", json={"code": "P3", "weight_kg": 70}, headers=inv
        ).status_code
        == 201
    )
    assert client.get(trial, headers=stat).json()["cohorts"][1]["dose"] == 1.0
    rep = client.get(f"{trial}/report", headers=stat)
    assert rep.status_code == 200 and "<h2>Participants</h2>" in rep.text
    # the service's report has the CONSORT-DEFINE section with the signed decision in it
    assert "CONSORT-DEFINE" in rep.text and "Sam Statistician" in rep.text
    assert client.get(f"{trial}/report", headers=inv).status_code == 403
    assert client.get("/api/audit/verify", headers=stat).json()["ok"]
    assert client.get("/api/audit.csv", headers=stat).status_code == 403
    assert "openapi" in client.get("/openapi.json").json()


def test_api_rejects_bad_input_naming_the_field(client: TestClient) -> None:
    inv = _token(client, "inv", "inv-demo-pass")
    trial = "/api/trials/GVHD phase Ib"
    r = client.post(f"{trial}/subjects", json={"code": "P1", "weight_kg": -3}, headers=inv)
    assert r.status_code == 422 and r.json()["detail"].startswith("weight_kg:")
    r = client.post(f"{trial}/subjects", json={"code": "P1"}, headers=inv)
    assert r.status_code == 422 and "weight_kg" in r.text  # schema validation names the field
    r = client.post(
        f"{trial}/subjects", json={"code": "P1", "weight_kg": 60, "site": "Site B"}, headers=inv
    )
    assert r.status_code == 403
    assert client.get(trial).status_code == 403  # no credentials
    assert client.get(trial, headers={"Authorization": "Bearer nonsense"}).status_code == 403
    r = client.post("/api/token", json={"username": "inv", "password": "wrong"})
    assert r.status_code == 403


def test_pages_with_session_and_csrf(client: TestClient) -> None:
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    r = _login(client, "inv", "inv-demo-pass", follow_redirects=False)
    assert r.status_code == 303 and "earlyphase_session" in r.cookies
    page = client.get("/trials/GVHD phase Ib").text
    csrf = csrf_of(page)
    r = client.post(
        "/trials/GVHD phase Ib/enrol", data={"csrf": csrf, "code": "W1", "weight_kg": "64"}
    )
    assert "W1 enrolled" in r.text and "W1" in r.text
    r = client.post(
        "/trials/GVHD phase Ib/enrol", data={"csrf": "forged", "code": "W2", "weight_kg": "64"}
    )
    assert "csrf:" in r.text and "W2" not in client.get("/api/trials/GVHD phase Ib").text
    r = client.post(
        "/trials/GVHD phase Ib/enrol", data={"csrf": csrf, "code": "W3", "weight_kg": "heavy"}
    )
    assert "weight_kg: must be a number" in r.text


def test_report_and_audit_commands_on_a_database(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from earlyphase.cli import app
    from earlyphase.conduct import TrialService, open_store

    db = tmp_path / "d.db"
    seed_demo(db)
    svc = TrialService(open_store(db))
    inv = svc.authenticate("inv", "inv-demo-pass")
    for i in range(3):
        svc.enrol(inv, "GVHD phase Ib", f"P{i}", 60, enrolled_on="2026-01-05")
        svc.record_infusion(inv, "GVHD phase Ib", f"P{i}", "2026-01-06T10:00", 0.5, "L1")
        svc.record_dlt(inv, "GVHD phase Ib", f"P{i}", False, assessed_on="2026-02-02")
    runner = CliRunner()
    out = tmp_path / "r.html"
    r = runner.invoke(app, ["report", str(db), "--trial", "GVHD phase Ib", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "<h2>Participants</h2>" in out.read_text()
    r = runner.invoke(app, ["audit", "verify", "--database", str(db)])
    assert r.exit_code == 0 and "intact" in r.output
    r = runner.invoke(app, ["audit", "export", "--database", str(db)])
    assert r.output.startswith("id,at,username,action")
    r = runner.invoke(app, ["report", str(db), "-o", str(tmp_path / "x.html")])
    assert r.exit_code == 2 and "trial:" in r.output


def test_forms_for_infusion_ae_and_the_decision_table(client: TestClient) -> None:
    _login(client, "inv", "inv-demo-pass")
    page = client.get("/trials/GVHD phase Ib").text
    assert "<h2>Decision rules</h2>" in page and "treat 3 more at the same dose" in page
    csrf = csrf_of(page)
    client.post(
        "/trials/GVHD phase Ib/enrol",
        data={"csrf": csrf, "code": "F1", "weight_kg": "50", "enrolled_on": "2026-01-05"},
    )
    r = client.post(
        "/trials/GVHD phase Ib/infusion",
        data={
            "csrf": csrf,
            "code": "F1",
            "infused_at": "2026-01-06T10:00",
            "cells_per_kg": "0.5",
            "lot": "A",
        },
    )
    assert "infusion recorded: 25 x 10^6 cells" in r.text
    r = client.post(
        "/trials/GVHD phase Ib/ae",
        data={
            "csrf": csrf,
            "code": "F1",
            "soc": "General disorders",
            "pt": "Pyrexia",
            "grade": "7",
            "onset_on": "2026-01-07",
            "serious": "no",
            "related": "no",
            "dlt": "no",
        },
    )
    assert "grade: must lie between 1 and 5" in r.text
    r = client.post(
        "/trials/GVHD phase Ib/ae",
        data={
            "csrf": csrf,
            "code": "F1",
            "soc": "General disorders",
            "pt": "Pyrexia",
            "grade": "2",
            "serious": "no",
            "related": "yes",
            "dlt": "no",
            "onset_on": "2026-01-07",
        },
    )
    assert "adverse event recorded for F1" in r.text
    r = client.post(
        "/trials/GVHD phase Ib/response",
        data={
            "csrf": csrf,
            "code": "F1",
            "visit": "Day 28",
            "value": "PR",
            "assessed_on": "2026-02-02",
        },
    )
    assert "response PR recorded for F1" in r.text
    r = client.post(
        "/trials/GVHD phase Ib/response",
        data={"csrf": csrf, "code": "F1", "visit": "", "value": "PR"},
    )
    assert "visit:" in r.text
    inv = _token(client, "inv", "inv-demo-pass")
    ae_id = int(
        client.get("/api/audit.csv", headers=_token(client, "admin", "admin-demo-pass"))
        .text.split("adverse_event,")[1]
        .split(",")[0]
    )
    r = client.patch(f"/api/aes/{ae_id}", json={"grade": 3, "reason": ""}, headers=inv)
    assert r.status_code == 422 and r.json()["field"] == "reason"
    r = client.patch(
        f"/api/aes/{ae_id}", json={"grade": 3, "reason": "source document review"}, headers=inv
    )
    assert r.status_code == 200 and r.json()["grade"] == 3
    monitor = _token(client, "monitor", "monitor-demo-pass")
    r = client.patch(f"/api/aes/{ae_id}", json={"grade": 4, "reason": "x"}, headers=monitor)
    assert r.status_code == 403
    audit_csv = client.get("/api/audit.csv", headers=_token(client, "admin", "admin-demo-pass"))
    assert "source document review" in audit_csv.text
    base = "/api/trials/GVHD phase Ib/subjects/F1"
    assert (
        client.post(
            f"{base}/responses",
            json={"visit": "DAY 28", "value": "CR", "assessed_on": "2026-02-02"},
            headers=inv,
        ).status_code
        == 201
    )
    r = client.post(f"{base}/responses", json={"visit": "DAY 28", "value": "GOOD"}, headers=inv)
    assert r.status_code == 422 and r.json()["field"] == "value"
    r = client.post(f"{base}/follow-up", json={"last_on": "2026-04-15"}, headers=inv)
    assert r.status_code == 201
    assert (
        client.post(
            f"{base}/biomarkers",
            json={
                "parameter": "PLT",
                "measured_on": "2026-01-05",
                "value": 30,
                "baseline": True,
            },
            headers=inv,
        ).status_code
        == 201
    )


def test_create_trials_through_the_api(client: TestClient) -> None:
    stat = _token(client, "stat", "stat-demo-pass")
    inv = _token(client, "inv", "inv-demo-pass")
    body = {
        "name": "BOIN trial",
        "design": "boin",
        "dose_levels": [1, 2, 4],
        "settings": {"target": 0.3, "n_cohorts": 6},
    }
    r = client.post("/api/trials", json=body, headers=stat)
    assert r.status_code == 201 and r.json()["cohort_size"] == 3
    assert (
        client.post("/api/trials", json={**body, "name": "Other"}, headers=inv).status_code == 403
    )
    r = client.post(
        "/api/trials", json={**body, "name": "Bad", "settings": {"target": 0.9}}, headers=stat
    )
    assert r.status_code == 422 and r.json()["field"] == "target"
    r = client.post(
        "/api/trials",
        json={
            **body,
            "name": "Bad",
            "dose_levels": [1, 2],
            "settings": {"target": 0.3, "n_doses": 3},
        },
        headers=stat,
    )
    assert r.status_code == 422 and r.json()["field"] == "dose_levels"
    crm = {
        "name": "CRM trial",
        "design": "crm",
        "dose_levels": [1, 2, 3],
        "settings": {
            "skeleton": [0.05, 0.15, 0.3],
            "target": 0.25,
            "n_patients": 12,
            "cohort_size": 3,
        },
    }
    assert client.post("/api/trials", json=crm, headers=stat).status_code == 201
    for i in range(3):
        client.post(
            "/api/trials/CRM trial/subjects",
            json={"code": f"C{i}", "weight_kg": 70, "enrolled_on": "2026-01-05"},
            headers=inv,
        )
        client.post(
            f"/api/trials/CRM trial/subjects/C{i}/infusions",
            json={"infused_at": "2026-01-06T10:00", "cells_per_kg": 1, "lot": "L"},
            headers=inv,
        )
        dec = client.post(
            f"/api/trials/CRM trial/subjects/C{i}/dlt",
            json={"assessed_on": "2026-02-02"},
            headers=inv,
        ).json()
    assert dec["decision"]["next_dose"] == 2  # dfcrm's no-skipping restriction after 0/3 at dose 1
    thall_simon = {
        "name": "IPS phase II",
        "design": "thall-simon",
        "dose_levels": [2],
        "settings": {
            "standard_rate": 0.245,
            "standard_n": 126,
            "experimental_ess": 5,
            "p_upper": 0.95,
            "n_min": 6,
            "n_max": 20,
        },
    }
    r = client.post("/api/trials", json=thall_simon, headers=stat)
    assert r.status_code == 201 and r.json()["cohort_size"] == 6  # first look after 6 patients
    _login(client, "stat", "stat-demo-pass")
    page = client.get("/trials/IPS phase II").text
    assert "<h2>Decision rules</h2>" in page and "upper_stop_if_ge" in page
    bad = {**thall_simon, "name": "Bad", "settings": {**thall_simon["settings"], "responders": "X"}}
    r = client.post("/api/trials", json=bad, headers=stat)
    assert r.status_code == 422 and r.json()["field"] == "responders"


def test_create_any_design_from_the_page(client: TestClient) -> None:
    """The form asks each design's settings by name (``crm.target``...), typed by the settings
    registry; blank fields keep their defaults and the JSON box adds to them."""
    _login(client, "stat", "stat-demo-pass")
    page = client.get("/").text
    assert "Simon two-stage" in page and "Thall-Simon" in page
    assert 'name="crm.target"' in page and 'name="boin.cutoff_eli"' in page
    csrf = csrf_of(page)
    form = {"csrf": csrf, "name": "CRM page", "design": "crm", "doses": "1,2,3"}
    form["crm.target"] = "0.25"
    r = client.post("/trials", data={**form, "settings": "{skeleton: 1}"})
    assert "settings: not valid JSON" in r.text
    r = client.post("/trials", data={**form, "settings": "[1, 2]"})
    assert "settings: a JSON object" in r.text
    r = client.post(
        "/trials",
        data={**form, "crm.skeleton": "0.05,0.15,0.3", "crm.n_patients": "12.5"},
    )
    assert "n_patients: must be a whole number" in r.text  # named by the registry
    fields = {"crm.skeleton": "0.05,0.15,0.3", "crm.n_patients": "12", "crm.cohort_size": "3"}
    r = client.post("/trials", data={**form, **fields, "boin.target": "0.9"})
    assert "trial created" in r.text and "<h1>CRM page</h1>" in r.text  # other designs' ignored
    simon = {"csrf": csrf, "name": "Simon page", "design": "simon", "doses": "1"}
    r = client.post("/trials", data={**simon, "simon.p0": "0.1", "simon.p1": "0.3"})
    assert "alpha: required" in r.text
    r = client.post(
        "/trials",
        data={**simon, "settings": '{"p0": 0.1, "p1": 0.3, "alpha": 0.05, "beta": 0.2}'},
    )
    assert "trial created" in r.text
