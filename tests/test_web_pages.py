"""The coordinator's and the statistician's pages over HTTP: a subject's record corrected and
voided through the forms (every record type), the reason and the CSRF token required, inputs
labelled and typed, the sign-off's four meanings, and the API docs served from this server."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from earlyphase.conduct.demo import seed_demo
from earlyphase.conduct.service import TrialService
from earlyphase.conduct.store import open_store
from earlyphase.conduct.web import create_app
from helpers import csrf_of

TRIAL = "/trials/GVHD%20phase%20Ib"
API = "/api/trials/GVHD phase Ib"


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    path = tmp_path / "t.db"
    seed_demo(path)
    return path


@pytest.fixture()
def client(db: Path) -> TestClient:
    return TestClient(create_app(db, secret="test-secret"))


def _login(client: TestClient, user: str, password: str) -> None:
    page = client.get("/login").text
    csrf = csrf_of(page)
    r = client.post("/login", data={"csrf": csrf, "username": user, "password": password})
    assert r.status_code == 200


def _token(client: TestClient, user: str, password: str) -> dict[str, str]:
    r = client.post("/api/token", json={"username": user, "password": password})
    return {"Authorization": f"Bearer {r.json()['token']}"}


def _csrf(page: str) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)  # type: ignore[union-attr]


def _msg(page: str) -> str:
    found = re.search(r'id="msg"[^>]*>([^<]*)<', page)
    return found.group(1) if found else ""


def _subject(client: TestClient, code: str = "P1", dose: float = 0.5, every: bool = True) -> None:
    """A subject with one record of every type (or only the infusion), entered through the
    API."""
    inv = _token(client, "inv", "inv-demo-pass")
    r = client.post(
        f"{API}/subjects",
        json={"code": code, "weight_kg": 62.0, "enrolled_on": "2026-01-05"},
        headers=inv,
    )
    assert r.status_code == 201, r.text
    for path, body in (
        ("infusions", {"infused_at": "2026-01-06T10:00", "cells_per_kg": dose, "lot": "L1"}),
        (
            "aes",
            {"soc": "Blood", "pt": "Anaemia", "grade": 2, "onset_on": "2026-01-08"},
        ),
        ("dlt", {"assessed_on": "2026-02-02"}),
        ("responses", {"visit": "Day 28", "value": "SD", "assessed_on": "2026-02-02"}),
        ("follow-up", {"last_on": "2026-03-01"}),
        ("biomarkers", {"parameter": "PLT", "measured_on": "2026-01-05", "value": 210.0}),
    )[: None if every else 1]:
        r = client.post(f"{API}/subjects/{code}/{path}", json=body, headers=inv)
        assert r.status_code == 201, r.text


class _Inputs(HTMLParser):
    """The form controls of a page, and the ids its labels name."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, Any]] = []
        self.labelled: set[str] = set()
        self.assets: list[str] = []
        self._in_label = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("input", "select", "textarea") and a.get("type") != "hidden":
            self.controls.append({"tag": tag, **a})
            if self._in_label and a.get("id"):
                self.labelled.add(str(a["id"]))  # a control inside its label
        if tag == "label":
            self._in_label += 1
            if a.get("for"):
                self.labelled.add(str(a["for"]))
        if tag in ("script", "img") and a.get("src"):
            self.assets.append(str(a["src"]))
        if tag == "link" and a.get("href"):
            self.assets.append(str(a["href"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "label" and self._in_label:
            self._in_label -= 1


def _inputs(page: str) -> _Inputs:
    p = _Inputs()
    p.feed(page)
    return p


# the record types, the field a form corrects, its new value, and how the page then reads
CORRECTIONS = [
    ("subject", "weight_kg", "64", "64 kg"),
    ("infusion", "infused_at", "2026-01-06T11:30", "2026-01-06 11:30 (Asia/Tokyo"),
    ("adverse_event", "grade", "3", "</strong>: Grade 3: severe;"),
    ("dlt_assessment", "assessed_on", "2026-02-03", "Assessed 2026-02-03"),
    ("response", "value", "PR", "<strong>PR: partial response</strong>"),
    ("follow_up", "last_on", "2026-03-02", "Alive on 2026-03-02"),
    ("biomarker", "value", "215", "<strong>215</strong>"),
]


def test_every_record_type_is_corrected_through_the_form(client: TestClient) -> None:
    _subject(client)
    _login(client, "inv", "inv-demo-pass")
    page = client.get(f"{TRIAL}/subjects/P1").text
    csrf = _csrf(page)
    for kind, field, value, reads in CORRECTIONS:
        url = f"{TRIAL}/records/{kind}/1/correct"
        data = {"csrf": csrf, f"f.{field}": value, "reason": "source document says so"}
        preview = client.post(url, data=data)
        assert preview.status_code == 200, (kind, _msg(preview.text))
        assert 'id="changes"' in preview.text and "apply-correction" in preview.text
        assert reads not in client.get(f"{TRIAL}/subjects/P1").text  # not saved yet
        done = client.post(url, data={**data, "step": "apply"}, follow_redirects=False)
        assert done.status_code == 303
        after = client.get(done.headers["location"]).text
        assert 'class="msg ok"' in after and "corrected" in _msg(after), (kind, _msg(after))
        assert reads in after, kind


def test_the_preview_shows_what_changes(client: TestClient) -> None:
    _subject(client)
    _login(client, "inv", "inv-demo-pass")
    csrf = _csrf(client.get(f"{TRIAL}/subjects/P1").text)
    r = client.post(
        f"{TRIAL}/records/adverse_event/1/correct",
        data={
            "csrf": csrf,
            "f.soc": "Blood",  # unchanged: not part of the correction
            "f.grade": "4",
            "f.dlt": "yes",
            "reason": "graded again by the investigator",
        },
    )
    rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td><strong>(.*?)</strong>", r.text)
    assert rows == [
        ("Grade (CTCAE)", "Grade 2: moderate", "Grade 4: life-threatening"),
        ("Meets the protocol&#39;s DLT criteria", "no", "yes"),
    ]
    assert "graded again by the investigator" in r.text
    # nothing changed: said so, nothing saved
    r = client.post(
        f"{TRIAL}/records/adverse_event/1/correct",
        data={"csrf": csrf, "f.grade": "2", "reason": "checked"},
    )
    assert 'class="msg error"' in r.text and "nothing to correct" in _msg(r.text)


def test_every_record_type_is_voided_through_the_form(client: TestClient) -> None:
    _subject(client)
    _login(client, "inv", "inv-demo-pass")
    csrf = _csrf(client.get(f"{TRIAL}/subjects/P1").text)
    for kind, *_ in reversed(CORRECTIONS):
        r = client.post(
            f"{TRIAL}/records/{kind}/1/void",
            data={"csrf": csrf, "reason": "entered for the wrong subject"},
        )
        assert 'class="msg ok"' in r.text and "voided" in _msg(r.text), (kind, _msg(r.text))
    page = client.get(f"{TRIAL}/subjects/P1").text
    assert page.count("Voided: entered for the wrong subject") == 6  # the subject's own too
    assert "(voided: entered for the wrong subject)" in page
    assert "void-infusion-1" not in page  # a voided record offers no forms


@pytest.mark.parametrize("action", ["correct", "void"])
def test_the_reason_is_required(client: TestClient, action: str) -> None:
    _subject(client)
    _login(client, "inv", "inv-demo-pass")
    csrf = _csrf(client.get(f"{TRIAL}/subjects/P1").text)
    for reason in ("", "   "):
        r = client.post(
            f"{TRIAL}/records/infusion/1/{action}",
            data={"csrf": csrf, "f.lot": "L2", "reason": reason},
        )
        assert 'class="msg error"' in r.text
        assert _msg(r.text).startswith("Not saved: reason: required")
    page = client.get(f"{TRIAL}/subjects/P1").text
    assert "lot L1" in page and "Voided" not in page


@pytest.mark.parametrize("action", ["correct", "void"])
def test_a_form_without_the_session_token_changes_nothing(client: TestClient, action: str) -> None:
    _subject(client)
    _login(client, "inv", "inv-demo-pass")
    data = {"f.lot": "L2", "reason": "forged", "step": "apply"}
    for csrf in ("", "0" * 64):
        r = client.post(f"{TRIAL}/records/infusion/1/{action}", data={**data, "csrf": csrf})
        assert "csrf:" in _msg(r.text)
    client.cookies.clear()  # signed out: sent to sign in, nothing changed
    r = client.post(f"{TRIAL}/records/infusion/1/{action}", data=data, follow_redirects=False)
    assert r.status_code == 303
    _login(client, "inv", "inv-demo-pass")
    page = client.get(f"{TRIAL}/subjects/P1").text
    assert "lot L1" in page and "Voided" not in page


def test_another_sites_subject_and_records_read_as_missing(client: TestClient, db: Path) -> None:
    _subject(client)
    svc = TrialService(open_store(db))
    admin = svc.authenticate("admin", "admin-demo-pass")
    svc.create_site(admin, "Site B")
    svc.create_user(admin, "inv2", "Bo Investigator", "investigator", "inv2-demo-pass-x", "Site B")
    _login(client, "inv2", "inv2-demo-pass-x")
    r = client.get(f"{TRIAL}/subjects/P1")
    assert r.status_code == 404 and "no subject" in r.text
    csrf = _csrf(client.get(f"{TRIAL}/subjects").text)
    r = client.post(f"{TRIAL}/records/infusion/1/void", data={"csrf": csrf, "reason": "probing"})
    assert "no infusion 1" in _msg(r.text)


def test_inputs_are_labelled_and_typed(client: TestClient) -> None:
    _subject(client)
    _login(client, "inv", "inv-demo-pass")
    page = client.get(f"{TRIAL}/subjects/P1").text
    assert page.startswith('<!DOCTYPE html>\n<html lang="en">')
    assert '<meta name="viewport"' in page
    form = _inputs(page)
    unlabelled = [c for c in form.controls if c.get("id") not in form.labelled]
    assert not unlabelled
    assert not [c for c in form.controls if "placeholder" in c]
    by_id = {c["id"]: c for c in form.controls}
    assert by_id["ae-grade"]["tag"] == "select"
    grades = re.search(r'<select name="grade" id="ae-grade".*?</select>', page, re.S)
    assert grades is not None
    assert re.findall(r'<option value="(\d)"', grades.group(0)) == ["1", "2", "3", "4", "5"]
    # the DLT question is answered yes or no: nothing chosen beforehand
    assert by_id["ae-dlt-yes"]["type"] == by_id["ae-dlt-no"]["type"] == "radio"
    assert "checked" not in by_id["ae-dlt-yes"] and "checked" not in by_id["ae-dlt-no"]
    assert by_id["ae-onset-on"]["type"] == "date"
    assert by_id["c-infusion-1-infused-at"]["type"] == "datetime-local"
    assert by_id["c-infusion-1-infused-at"]["value"] == "2026-01-06T10:00"
    assert by_id["c-subject-1-enrolled-on"]["type"] == "date"
    assert "Level 1: 0.5 x 10^6 cells/kg" in page
    assert "1NNN" not in page
    # the sign-out is a POST with the session's token
    assert re.search(
        r'<form method="post" action="/logout">\s*<input type="hidden" name="csrf"', page
    )


def test_the_dashboard_forms_are_labelled_with_nothing_chosen_beforehand(
    client: TestClient,
) -> None:
    _subject(client)
    _login(client, "inv", "inv-demo-pass")
    page = client.get(TRIAL).text
    form = _inputs(page)
    assert form.controls
    assert not [c for c in form.controls if c.get("id") not in form.labelled]
    assert not [c for c in form.controls if "placeholder" in c]
    by_id = {c["id"]: c for c in _inputs(page).controls}
    assert by_id["ae-grade"]["tag"] == by_id["dlt-value"]["tag"] == "select"
    for select in ("ae-grade", "dlt-value", "resp-value"):
        options = re.search(rf'id="{select}"[^>]*>(.*?)</select>', page, re.S)
        assert options is not None
        assert re.match(r'\s*<option value="">choose', options.group(1))
        assert "selected" not in options.group(1)
    # serious, related and the DLT criteria are each answered yes or no, nothing chosen
    for question in ("serious", "related", "dlt"):
        yes, no = by_id[f"ae-{question}-yes"], by_id[f"ae-{question}-no"]
        assert yes["type"] == no["type"] == "radio"
        assert "checked" not in yes and "checked" not in no
    assert "Dose given (x 10^6 cells/kg)" in page  # the unit of the trial's dose levels
    # each subject of a cohort links to the subject's page
    assert f'href="{TRIAL}/subjects/P1"' in page
    # a statistician signs on the review page, with the data in view, never from the list
    assert 'name="password"' not in page


def test_the_dashboards_ae_form_refuses_unanswered_questions_by_name(client: TestClient) -> None:
    _subject(client, every=False)
    _login(client, "inv", "inv-demo-pass")
    csrf = _csrf(client.get(TRIAL).text)
    ae = {
        "csrf": csrf,
        "code": "P1",
        "soc": "Immune system disorders",
        "pt": "Cytokine release syndrome",
        "grade": "3",
        "onset_on": "2026-01-10",
    }
    r = client.post(f"{TRIAL}/ae", data=ae)
    assert _msg(r.text) == (
        "Not saved: serious: answer yes or no; related: answer yes or no; dlt: answer yes or no"
    )
    rec = client.get(f"{TRIAL}/subjects/P1").text
    assert "Cytokine release syndrome" not in rec
    r = client.post(f"{TRIAL}/ae", data={**ae, "serious": "yes", "related": "yes", "dlt": "yes"})
    assert _msg(r.text).startswith("Saved: DLT recorded for P1")


def test_an_unanswered_dlt_question_records_nothing(client: TestClient) -> None:
    _subject(client, every=False)
    _login(client, "inv", "inv-demo-pass")
    csrf = _csrf(client.get(f"{TRIAL}/subjects/P1").text)
    ae = {
        "csrf": csrf,
        "soc": "Immune system disorders",
        "pt": "Cytokine release syndrome",
        "grade": "3",
        "onset_on": "2026-01-10",
        "serious": "yes",
        "related": "yes",
    }
    r = client.post(f"{TRIAL}/subjects/P1/ae", data=ae)
    assert _msg(r.text) == "Not saved: dlt: answer yes or no"
    r = client.post(f"{TRIAL}/subjects/P1/ae", data={**ae, "dlt": "yes"})
    assert "DLT recorded for P1" in _msg(r.text)
    assert r.text.count("DLT: yes") == 1


def test_an_unanswered_end_of_window_assessment_records_nothing(client: TestClient) -> None:
    """The dashboard's DLT assessment form posted without an answer is refused by name; it
    is never read as "no DLT in the window"."""
    _subject(client, every=False)
    _login(client, "inv", "inv-demo-pass")
    csrf = _csrf(client.get(f"{TRIAL}/subjects/P1").text)  # the session's token
    form = {"csrf": csrf, "code": "P1", "assessed_on": "2026-02-02"}
    r = client.post(f"{TRIAL}/dlt", data=form)
    assert "dlt: choose no DLT in the window or not evaluable" in r.text
    assert "Assessed 2026-02-02" not in client.get(f"{TRIAL}/subjects/P1").text
    r = client.post(f"{TRIAL}/dlt", data={**form, "dlt": "no"})
    assert "DLT assessment of P1 recorded" in r.text
    assert "Assessed 2026-02-02" in client.get(f"{TRIAL}/subjects/P1").text


def test_follow_up_and_biomarker_entry(client: TestClient) -> None:
    _subject(client)
    _login(client, "inv", "inv-demo-pass")
    csrf = _csrf(client.get(f"{TRIAL}/subjects/P1").text)
    r = client.post(
        f"{TRIAL}/subjects/P1/biomarker",
        data={
            "csrf": csrf,
            "parameter": "KL6",
            "measured_on": "2026-01-20",
            "value": "480",
            "baseline": "no",
        },
    )
    assert "KL6 of P1 on 2026-01-20 recorded" in _msg(r.text) and "KL6 on 2026-01-20" in r.text
    r = client.post(
        f"{TRIAL}/subjects/P1/follow-up",
        data={"csrf": csrf, "last_on": "2026-03-10", "died": "no"},
    )
    assert "alive on 2026-03-10" in _msg(r.text)
    r = client.post(f"{TRIAL}/subjects/P1/follow-up", data={"csrf": csrf, "last_on": "2026-03-10"})
    assert _msg(r.text) == "Not saved: died: answer yes or no"


def test_monitor_reads_the_subject_without_forms(client: TestClient) -> None:
    _subject(client)
    _login(client, "monitor", "monitor-demo-pass")
    page = client.get(f"{TRIAL}/subjects/P1").text
    assert "Anaemia" in page and "/correct" not in page and "/void" not in page


def _cohort(client: TestClient) -> int:
    """Three subjects at level 1 without DLT: the decision (escalate) awaits signature."""
    inv = _token(client, "inv", "inv-demo-pass")
    for i in range(3):
        client.post(
            f"{API}/subjects",
            json={"code": f"C{i}", "weight_kg": 60.0, "enrolled_on": "2026-01-05"},
            headers=inv,
        )
        client.post(
            f"{API}/subjects/C{i}/infusions",
            json={"infused_at": "2026-01-06T10:00", "cells_per_kg": 0.5, "lot": "L1"},
            headers=inv,
        )
        r = client.post(f"{API}/subjects/C{i}/dlt", json={"assessed_on": "2026-02-02"}, headers=inv)
    decision: int = r.json()["decision"]["id"]
    return decision


def test_sign_off_meanings_and_recompute(client: TestClient) -> None:
    dec = _cohort(client)
    _login(client, "stat", "stat-demo-pass")
    url = f"{TRIAL}/decisions/{dec}"
    page = client.get(url).text
    for meaning in ("approve", "approve_other_dose", "stop", "reject"):
        assert f'name="meaning" value="{meaning}"' in page
    assert "checked" not in re.search(r"<fieldset>.*?</fieldset>", page, re.S).group(0)  # type: ignore[union-attr]
    assert '<option value="2">Level 2: 1.0 x 10^6 cells/kg</option>' in page
    assert "Next cohort at Level 2: 1.0 x 10^6 cells/kg" in page
    form = _inputs(page)
    assert not [c for c in form.controls if c.get("id") not in form.labelled]
    csrf = _csrf(page)
    sign = f"{url}/sign"
    base = {"csrf": csrf, "password": "stat-demo-pass"}
    r = client.post(sign, data={**base, "meaning": "reject"})
    assert "reason: required to reject" in _msg(r.text)
    r = client.post(sign, data={**base, "meaning": "approve_other_dose", "dose": "1"})
    assert "reason: required" in _msg(r.text)
    r = client.post(sign, data={**base, "meaning": ""})
    assert "meaning: choose" in _msg(r.text)
    r = client.post(sign, data={**base, "meaning": "approve", "password": "wrong"})
    assert "password:" in _msg(r.text)
    r = client.post(sign, data={**base, "csrf": "", "meaning": "approve"})
    assert "csrf:" in _msg(r.text)
    r = client.post(sign, data={**base, "meaning": "reject", "reason": "wait for PK data"})
    assert 'class="msg ok"' in r.text and "Rejected" in r.text
    assert 'id="sign-form"' not in r.text and 'id="recompute-form"' in r.text
    r = client.post(f"{url}/recompute", data={"csrf": csrf, "reason": ""})
    assert "reason: required" in _msg(r.text)
    r = client.post(f"{url}/recompute", data={"csrf": csrf, "reason": "PK data in"})
    assert "recomputed" in _msg(r.text) and 'id="sign-form"' in r.text
    new = int(re.search(r"/decisions/(\d+)/sign", r.text).group(1))  # type: ignore[union-attr]
    assert new > dec
    r = client.post(
        f"{TRIAL}/decisions/{new}/sign",
        data={**base, "meaning": "approve_other_dose", "dose": "1", "reason": "PK high"},
    )
    assert "dose level 1 instead of dose level 2" in r.text
    assert re.search(r"on \d{4}-\d\d-\d\d \d\d:\d\d \(Asia/Tokyo, UTC\+09:00\)", r.text)
    # the old decision stays readable, marked as replaced, without forms
    old = client.get(url).text
    assert "A later decision for this cohort replaces this one" in old
    assert 'id="sign-form"' not in old and 'id="recompute-form"' not in old


def test_a_decision_of_another_trial_is_not_shown_under_this_one(client: TestClient) -> None:
    dec = _cohort(client)
    _login(client, "stat", "stat-demo-pass")
    r = client.get(f"/trials/Other/decisions/{dec}")
    assert r.status_code == 404
    r = client.get(f"{TRIAL}/decisions/{dec}")
    assert r.status_code == 200
    _login(client, "inv", "inv-demo-pass")
    assert client.get(f"{TRIAL}/decisions/{dec}").status_code == 403


def test_docs_load_only_this_servers_assets(client: TestClient) -> None:
    r = client.get("/docs")
    assert r.status_code == 200
    assets = _inputs(r.text).assets
    assert assets and all(a.startswith("/static/swagger/") for a in assets)
    assert "cdn" not in r.text.lower() and "https://" not in r.text
    csp = r.headers["content-security-policy"]
    assert "https:" not in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    for a in assets:
        assert client.get(a).status_code == 200, a
    routes = client.app.routes  # type: ignore[attr-defined]
    assert len([x for x in routes if getattr(x, "path", None) == "/docs"]) == 1
    assert client.get("/openapi.json").status_code == 200


def test_pages_ask_to_sign_in(client: TestClient) -> None:
    for url in (f"{TRIAL}/subjects/P1", f"{TRIAL}/subjects", f"{TRIAL}/decisions/1"):
        r = client.get(url, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login"
    assert isinstance(client.get("/login"), httpx.Response)
