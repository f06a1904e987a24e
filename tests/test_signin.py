"""Sign-in and sessions: password rules, rate limiting and lockout with their audit entries,
server-side sessions (expiry, sign-out, revocation), CSRF on the sign-in form, the API's
bearer-only writes, security headers, the persistent secret, and the same answer for another
site's subject as for an unknown one."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from earlyphase.conduct import accounts, audit, security
from earlyphase.conduct.accounts import (
    ADDRESS_FAILURES,
    LOCKOUT_FAILURES,
    SESSION_IDLE,
    TooManyAttempts,
)
from earlyphase.conduct.demo import seed_demo
from earlyphase.conduct.models import UNAUDITED_TABLES, AuditEntry, WebSession, utcnow
from earlyphase.conduct.security import (
    MIN_PASSWORD_LENGTH,
    check_password,
    hash_password,
    verify_password,
)
from earlyphase.conduct.service import ConductError, PermissionDenied, TrialService
from earlyphase.conduct.store import open_store
from earlyphase.conduct.web import PAGE_CSP, SESSION_COOKIE, create_app
from helpers import csrf_of

TRIAL = "GVHD phase Ib"


@pytest.fixture()
def svc(db_url: str) -> TrialService:
    seed_demo(db_url)
    return TrialService(open_store(db_url))


@pytest.fixture()
def client(tmp_path: Path) -> Iterator[TestClient]:
    db = tmp_path / "s.db"
    seed_demo(db)
    with TestClient(create_app(db, secret="signin-test")) as c:
        yield c


class Clock:
    """Moves the sign-in code's clock forward (lockouts and session expiry)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.offset = dt.timedelta()
        monkeypatch.setattr(accounts, "utcnow", lambda: utcnow() + self.offset)

    def advance(self, delta: dt.timedelta) -> None:
        self.offset += delta


def _csrf(page: str) -> str:
    return csrf_of(page)


def _login(
    client: TestClient, user: str, password: str, follow_redirects: bool = False
) -> httpx.Response:
    csrf = _csrf(client.get("/login").text)
    data = {"csrf": csrf, "username": user, "password": password}
    return client.post("/login", data=data, follow_redirects=follow_redirects)


def _entries(svc: TrialService, *actions: str) -> list[AuditEntry]:
    return svc.read(
        lambda s: list(
            s.execute(
                select(AuditEntry).where(AuditEntry.action.in_(actions)).order_by(AuditEntry.id)
            ).scalars()
        )
    )


# --- password rules (NIST SP 800-63B 5.1.1.2) -----------------------------------------------


@pytest.mark.parametrize(
    "password, why",
    [
        ("short-pass1", "at least 12"),
        ("x" * 257, "at most 256"),
        ("Ivy-Investigator", "username"),
        ("password1234", "too common"),
        ("PASSWORD1234", "too common"),
        ("aaaaaaaaaaaaaa", "too common"),
    ],
)
def test_password_rules_refuse(password: str, why: str) -> None:
    with pytest.raises(ValueError, match=rf"^password: .*{why}"):
        check_password(password, "ivy-investigator")


def test_password_rules_accept_long_phrases_without_composition_rules() -> None:
    assert MIN_PASSWORD_LENGTH == 12
    for pw in ("correct horse battery", "all lowercase words", "ｆｕｌｌｗｉｄｔｈ１２３４"):
        check_password(pw, "ivy")
    stored = hash_password("Café au lait, s'il vous plaît", "ivy")
    # the same password typed with a decomposed accent is the same password (NFKC)
    assert verify_password("Cafe\u0301 au lait, s'il vous plai\u0302t", stored)
    assert not verify_password("Cafe au lait, s'il vous plait", stored)
    # a hash made before normalisation still verifies with the password as it was typed
    raw, salt = "Cafe\u0301 cre\u0300me passphrase", b"0123456789abcdef"
    key = hashlib.scrypt(raw.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    legacy = "$".join(
        [
            "scrypt",
            "16384",
            "8",
            "1",
            base64.b64encode(salt).decode(),
            base64.b64encode(key).decode(),
        ]
    )
    assert verify_password(raw, legacy) and not verify_password("other passphrase", legacy)


def test_new_users_follow_the_rules(svc: TrialService) -> None:
    admin = svc.authenticate("admin", "admin-demo-pass")
    with pytest.raises(ConductError, match=r"^password: must have at least 12"):
        svc.create_user(admin, "new", "New User", "monitor", "too-short")
    with pytest.raises(ConductError, match=r"^password: must not be the username"):
        svc.create_user(admin, "new-monitor-1", "New User", "monitor", "New-Monitor-1")


# --- rate limiting and lockout ----------------------------------------------------------------


def test_five_failures_lock_the_username_for_fifteen_minutes(
    svc: TrialService, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(monkeypatch)
    for _ in range(LOCKOUT_FAILURES):
        with pytest.raises(PermissionDenied, match=r"^password: unknown user or wrong password$"):
            svc.authenticate("inv", "not-the-password", "10.0.0.1")
    # locked: even the right password is refused, from any address
    with pytest.raises(TooManyAttempts, match=r"try again in 15 minutes") as exc:
        svc.authenticate("inv", "inv-demo-pass", "10.0.0.2")
    assert 14 * 60 < exc.value.retry_after <= 15 * 60 + 1
    svc.authenticate("stat", "stat-demo-pass", "10.0.0.1")  # other users are not locked
    clock.advance(dt.timedelta(minutes=14))
    with pytest.raises(TooManyAttempts):
        svc.authenticate("inv", "inv-demo-pass", "10.0.0.1")
    clock.advance(dt.timedelta(minutes=2))
    assert svc.authenticate("inv", "inv-demo-pass", "10.0.0.1").username == "inv"
    failed = _entries(svc, "login_failed")
    assert len(failed) == LOCKOUT_FAILURES
    assert {(e.username, e.table_name, e.new_value) for e in failed} == {
        ("inv", "user_account", "from 10.0.0.1")
    }
    (locked,) = _entries(svc, "login_locked")
    assert locked.username == "inv" and locked.table_name == "user_account"
    assert locked.new_value is not None and locked.new_value.startswith("until ")
    # a success clears the count: four more failures do not lock
    for _ in range(LOCKOUT_FAILURES - 1):
        with pytest.raises(PermissionDenied):
            svc.authenticate("inv", "wrong-again", "10.0.0.1")
    svc.authenticate("inv", "inv-demo-pass", "10.0.0.1")
    with svc.sessions() as s:
        assert audit.verify(s).ok


def test_guesses_at_the_signature_prompt_count_towards_the_lockout(svc: TrialService) -> None:
    """A stolen session or token cannot try passwords at the signature prompt without limit:
    each wrong password there is a failed, audited sign-in, and the fifth locks the account."""
    stat = svc.authenticate("stat", "stat-demo-pass")
    for _ in range(LOCKOUT_FAILURES):
        with pytest.raises(PermissionDenied, match=r"^password: unknown user or wrong password$"):
            svc.confirm_decision(stat, 1, "a-wrong-guess-123")
    with pytest.raises(TooManyAttempts):
        svc.confirm_decision(stat, 1, "stat-demo-pass")
    with pytest.raises(TooManyAttempts):
        svc.authenticate("stat", "stat-demo-pass")
    failed = _entries(svc, "login_failed")
    assert len(failed) == LOCKOUT_FAILURES and {e.username for e in failed} == {"stat"}
    assert [e.username for e in _entries(svc, "login_locked")] == ["stat"]


def test_unknown_users_get_the_same_answer_the_same_work_and_the_same_lockout(
    svc: TrialService, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real = security._scrypt

    def counting(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
        calls.append(password)
        return real(password, salt, n, r, p)

    monkeypatch.setattr(security, "_scrypt", counting)
    answers = []
    for name in ("inv", "nobody"):
        calls.clear()
        with pytest.raises(PermissionDenied) as exc:
            svc.authenticate(name, "guess-number-1", "10.0.0.3")
        answers.append((type(exc.value), str(exc.value), len(calls)))
    assert (
        answers[0]
        == answers[1]
        == (PermissionDenied, "password: unknown user or wrong password", 1)
    )
    for _ in range(LOCKOUT_FAILURES - 1):
        with pytest.raises(PermissionDenied):
            svc.authenticate("nobody", "guess", "10.0.0.3")
    with pytest.raises(TooManyAttempts):
        svc.authenticate("nobody", "guess", "10.0.0.3")
    unknown = [e for e in _entries(svc, "login_failed", "login_locked") if e.username == "nobody"]
    assert [(e.action, e.table_name, e.record_id) for e in unknown] == [
        ("login_failed", "user", 0)
    ] * LOCKOUT_FAILURES + [("login_locked", "user", 0)]
    assert unknown[0].reason == "unknown username"


def test_many_failures_from_one_address_lock_the_address(
    svc: TrialService, monkeypatch: pytest.MonkeyPatch
) -> None:
    Clock(monkeypatch)
    for i in range(ADDRESS_FAILURES):
        with pytest.raises(PermissionDenied):
            svc.authenticate(f"user{i % 7}", "spray-password", "192.0.2.9")
    with pytest.raises(TooManyAttempts):
        svc.authenticate("monitor", "monitor-demo-pass", "192.0.2.9")
    assert svc.authenticate("monitor", "monitor-demo-pass", "192.0.2.10").username == "monitor"
    (locked,) = [e for e in _entries(svc, "login_locked") if e.field == "address"]
    assert locked.new_value is not None and locked.new_value.startswith("192.0.2.9 until")


def test_token_route_answers_429_while_locked(client: TestClient) -> None:
    for _ in range(LOCKOUT_FAILURES):
        r = client.post("/api/token", json={"username": "stat", "password": "wrong-password"})
        assert r.status_code == 403 and r.json()["field"] == "password"
    r = client.post("/api/token", json={"username": "stat", "password": "stat-demo-pass"})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 800
    assert r.json()["detail"].startswith("password: too many failed sign-ins")


def test_the_login_form_is_throttled_too(client: TestClient) -> None:
    for _ in range(LOCKOUT_FAILURES):
        r = _login(client, "inv", "wrong-password", follow_redirects=True)
        assert "unknown user or wrong password" in r.text
    r = _login(client, "inv", "inv-demo-pass", follow_redirects=True)
    assert "too many failed sign-ins" in r.text and SESSION_COOKIE not in client.cookies


# --- sessions ---------------------------------------------------------------------------------


def test_session_cookie_is_random_and_only_its_hash_is_stored(client: TestClient) -> None:
    r = _login(client, "inv", "inv-demo-pass")
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = client.cookies[SESSION_COOKIE]
    assert len(cookie) >= 43 and ":" not in cookie  # 256 random bits, no user id in it
    set_cookie = r.headers["set-cookie"].lower()
    assert "httponly" in set_cookie and "samesite=strict" in set_cookie
    assert "secure" not in set_cookie and "max-age" not in set_cookie  # plain HTTP here
    svc: TrialService = client.app.state.service  # type: ignore[attr-defined]
    rows = svc.read(lambda s: list(s.execute(select(WebSession)).scalars()))
    assert [w.token_hash for w in rows] == [hashlib.sha256(cookie.encode()).hexdigest()]
    assert "Ivy Investigator" in client.get("/").text
    # signing in again replaces the session (no fixation)
    _login(client, "inv", "inv-demo-pass")
    assert client.cookies[SESSION_COOKIE] != cookie
    client.cookies.set(SESSION_COOKIE, cookie)
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"


def test_logout_needs_the_csrf_token_and_revokes_the_session(client: TestClient) -> None:
    _login(client, "inv", "inv-demo-pass")
    cookie = client.cookies[SESSION_COOKIE]
    page = client.get("/logout").text
    r = client.post("/logout", data={"csrf": "forged"}, follow_redirects=False)
    assert r.status_code == 303 and "csrf" in r.headers["location"]
    assert "Ivy Investigator" in client.get("/").text  # still signed in
    r = client.post("/logout", data={"csrf": _csrf(page)}, follow_redirects=False)
    assert r.headers["location"].startswith("/login")
    client.cookies.set(SESSION_COOKIE, cookie)  # a copy of the cookie is worthless now
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    assert client.get(f"/api/trials/{TRIAL}").status_code == 403


def test_sessions_expire_when_idle_and_at_their_absolute_limit(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(monkeypatch)
    _login(client, "inv", "inv-demo-pass")
    for _ in range(3):  # activity keeps the session alive
        clock.advance(SESSION_IDLE - dt.timedelta(minutes=5))
        assert client.get("/", follow_redirects=False).status_code == 200
    clock.advance(SESSION_IDLE + dt.timedelta(seconds=1))
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    _login(client, "inv", "inv-demo-pass")
    svc: TrialService = client.app.state.service  # type: ignore[attr-defined]
    with svc.sessions() as s, s.begin():
        s.execute(update(WebSession).values(expires_at=accounts.utcnow()))
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"


def test_password_change_and_admin_revoke_every_session(client: TestClient) -> None:
    _login(client, "inv", "inv-demo-pass")
    assert "Ivy Investigator" in client.get("/").text
    token = client.post("/api/token", json={"username": "inv", "password": "inv-demo-pass"})
    inv = {"Authorization": f"Bearer {token.json()['token']}"}
    r = client.post(
        "/api/password",
        json={"current_password": "wrong-password", "new_password": "a new long passphrase"},
        headers=inv,
    )
    assert r.status_code == 403
    r = client.post(
        "/api/password",
        json={"current_password": "inv-demo-pass", "new_password": "short"},
        headers=inv,
    )
    assert r.status_code == 422 and r.json()["detail"].startswith("password: must have")
    r = client.post(
        "/api/password",
        json={"current_password": "inv-demo-pass", "new_password": "a new long passphrase"},
        headers=inv,
    )
    assert r.status_code == 200 and r.json()["sessions_ended"] == 1
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    assert client.get(f"/api/trials/{TRIAL}", headers=inv).status_code == 403  # token revoked
    _login(client, "inv", "a new long passphrase")
    assert "Ivy Investigator" in client.get("/").text
    stat = client.post("/api/token", json={"username": "stat", "password": "stat-demo-pass"})
    stat_h = {"Authorization": f"Bearer {stat.json()['token']}"}
    r = client.post("/api/users/inv/revoke-sessions", json={"reason": "x"}, headers=stat_h)
    assert r.status_code == 403 and r.json()["field"] == "role"
    admin = client.post("/api/token", json={"username": "admin", "password": "admin-demo-pass"})
    admin_h = {"Authorization": f"Bearer {admin.json()['token']}"}
    r = client.post(
        "/api/users/inv/revoke-sessions", json={"reason": "laptop lost"}, headers=admin_h
    )
    assert r.status_code == 200 and r.json()["sessions_ended"] == 1
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    svc: TrialService = client.app.state.service  # type: ignore[attr-defined]
    (revoke,) = _entries(svc, "revoke")
    assert (revoke.username, revoke.reason, revoke.new_value) == ("admin", "laptop lost", "1 ended")
    with svc.sessions() as s:
        assert audit.verify(s).ok


# --- CSRF, bearer-only API writes, headers ----------------------------------------------------


def test_login_form_needs_its_csrf_token(client: TestClient) -> None:
    data = {"username": "inv", "password": "inv-demo-pass"}
    r = client.post("/login", data=data, follow_redirects=False)
    assert "csrf" in r.headers["location"] and SESSION_COOKIE not in client.cookies
    csrf = _csrf(client.get("/login").text)
    client.cookies.set("earlyphase_login", "another-browser-nonce-0123456789")
    r = client.post("/login", data={**data, "csrf": csrf}, follow_redirects=False)
    assert "csrf" in r.headers["location"] and SESSION_COOKIE not in client.cookies


def test_a_session_cookie_reads_the_api_but_does_not_write_it(client: TestClient) -> None:
    _login(client, "inv", "inv-demo-pass")
    assert client.get(f"/api/trials/{TRIAL}").status_code == 200
    r = client.post(f"/api/trials/{TRIAL}/subjects", json={"code": "C1", "weight_kg": 60})
    assert r.status_code == 403 and r.json()["field"] == "token"


@pytest.mark.parametrize("path", ["/login", f"/api/trials/{TRIAL}", "/nowhere", "/openapi.json"])
def test_security_headers_on_every_response(client: TestClient, path: str) -> None:
    h = client.get(path).headers
    assert h["content-security-policy"] == PAGE_CSP
    assert "frame-ancestors 'none'" in h["content-security-policy"]
    assert h["x-content-type-options"] == "nosniff"
    assert h["referrer-policy"] == "no-referrer"
    assert h["x-frame-options"] == "DENY"
    assert "strict-transport-security" not in h


def test_docs_still_answer_with_their_own_policy(client: TestClient) -> None:
    r = client.get("/docs")
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    # /docs is served from bundled assets: its own policy allows this server's scripts only
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "cdn.jsdelivr.net" not in csp


def test_cookies_are_secure_over_https(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "h.db"
    seed_demo(db)
    app = create_app(db, secret="https-test")
    with TestClient(app, base_url="https://testserver") as c:
        r = c.get("/login")
        assert "secure" in r.headers["set-cookie"].lower()
        assert r.headers["strict-transport-security"].startswith("max-age=")
        r = _login(c, "inv", "inv-demo-pass")
        assert "secure" in r.headers["set-cookie"].lower()
    monkeypatch.setenv("EARLYPHASE_HTTPS", "1")  # TLS ends at a proxy in front
    with TestClient(app) as c:
        assert "secure" in c.get("/login").headers["set-cookie"].lower()


# --- the persistent secret --------------------------------------------------------------------


def test_the_secret_is_made_once_and_shared_by_restarts_and_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EARLYPHASE_SECRET", raising=False)
    monkeypatch.delenv("EARLYPHASE_SECRET_FILE", raising=False)
    db = tmp_path / "w.db"
    seed_demo(db)
    first, second = TestClient(create_app(db)), TestClient(create_app(db))
    key_file = Path(str(db) + ".secret")
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert len(key_file.read_text().strip()) == 64
    # a form served by one worker is accepted by the other, and so is the session
    page = first.get("/login")
    second.cookies.update(first.cookies)
    data = {"csrf": _csrf(page.text), "username": "stat", "password": "stat-demo-pass"}
    r = second.post("/login", data=data, follow_redirects=False)
    assert r.headers["location"] == "/"
    first.cookies.update(second.cookies)
    home = first.get("/").text
    assert "Sam Statistician" in home
    form = {"csrf": _csrf(home), "name": "X", "design": "3+3", "doses": "1,2"}
    assert "trial created" in second.post("/trials", data=form).text


def test_secret_locations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EARLYPHASE_SECRET", raising=False)
    monkeypatch.delenv("EARLYPHASE_SECRET_FILE", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    url = "postgresql+psycopg://u:pw@db.example:5432/trial"
    path = security.default_secret_path(url)
    assert path is not None and path.parent == tmp_path / "cfg" / "earlyphase"
    assert "pw" not in path.name
    assert security.load_secret(url) == security.load_secret(url)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert security.default_secret_path("sqlite:///:memory:") is None
    monkeypatch.setenv("EARLYPHASE_SECRET", "from-the-environment")
    assert security.load_secret(url) == b"from-the-environment"


# --- another site's subject -------------------------------------------------------------------


def test_another_sites_subject_reads_as_unknown(client: TestClient) -> None:
    svc: TrialService = client.app.state.service  # type: ignore[attr-defined]
    admin = svc.authenticate("admin", "admin-demo-pass")
    svc.create_site(admin, "Site B")
    svc.create_user(admin, "inv-b", "Ian B", "investigator", "site-b-passphrase", "Site B")
    inv = svc.authenticate("inv", "inv-demo-pass")
    svc.enrol(inv, TRIAL, "A1", 60, enrolled_on="2026-01-05")

    def headers(user: str, password: str) -> dict[str, str]:
        r = client.post("/api/token", json={"username": user, "password": password})
        return {"Authorization": f"Bearer {r.json()['token']}"}

    b = headers("inv-b", "site-b-passphrase")
    body = {"infused_at": "2026-01-06T10:00", "cells_per_kg": 0.5, "lot": "L1"}
    answers: list[Any] = []
    for code in ("A1", "ZZ"):
        r = client.post(f"/api/trials/{TRIAL}/subjects/{code}/infusions", json=body, headers=b)
        answers.append((r.status_code, r.json()["detail"].replace(code, "?")))
    assert answers[0] == answers[1]
    assert answers[0][0] == 422


def test_unaudited_tables_are_the_sign_in_bookkeeping() -> None:
    assert {"web_session", "login_attempt"} == UNAUDITED_TABLES
    assert not UNAUDITED_TABLES & set(audit.audited_tables())
