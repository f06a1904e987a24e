"""Accounts over the web: API tokens, signing in and out of the pages (server-side sessions,
CSRF-protected forms), changing a password and revoking a user's sessions."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import quote

from fastapi import Body, Depends, FastAPI, Form, Request
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
)

from earlyphase.conduct.accounts import TooManyAttempts
from earlyphase.conduct.models import User
from earlyphase.conduct.service import ConductError
from earlyphase.conduct.web_common import (
    LOGIN_COOKIE,
    LOGIN_COOKIE_SECONDS,
    SESSION_COOKIE,
    TokenIn,
    Web,
)


def add_routes(app: FastAPI, web: Web) -> None:
    """Register this room's routes on ``app``."""
    service = web.service
    sign = web.sign
    same = web.same
    client_address = web.client_address
    over_https = web.over_https
    make_session = web.make_session
    session_user = web.session_user
    api_user = web.api_user
    render = web.render

    # --- JSON API -----------------------------------------------------------------------------
    @app.post(
        "/api/token",
        response_model=dict[str, str],
        responses={429: {"description": "too many failed sign-ins (see Retry-After)"}},
    )
    def token(body: TokenIn, request: Request) -> Any:
        """An API token for the username and password; failures are rate limited and locked
        out like the sign-in form's (429 with Retry-After while locked)."""
        try:
            user = service.authenticate(body.username, body.password, client_address(request))
        except TooManyAttempts as exc:
            return JSONResponse(
                {"detail": str(exc), "field": "password"},
                status_code=429,
                headers={"Retry-After": str(exc.retry_after)},
            )
        return {"token": service.issue_token(user)}

    @app.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, msg: str = "") -> HTMLResponse:
        """The sign-in form. Its CSRF token is an HMAC of a random pre-session cookie (OWASP
        signed double-submit cookie), so another site cannot sign a browser in under the
        attacker's account (login CSRF)."""
        nonce = request.cookies.get(LOGIN_COOKIE, "")
        fresh = not (16 <= len(nonce) <= 64)
        if fresh:
            nonce = secrets.token_urlsafe(24)
        resp = render("login.html", request, None, login_csrf=sign("login:" + nonce))
        if fresh:
            resp.set_cookie(
                LOGIN_COOKIE,
                nonce,
                max_age=LOGIN_COOKIE_SECONDS,
                httponly=True,
                samesite="strict",
                secure=over_https(request),
            )
        return resp

    @app.post("/login")
    def login(
        request: Request,
        csrf: str = Form(""),
        username: str = Form(""),
        password: str = Form(""),
    ) -> Response:
        """Sign in: a new session (any session the browser held is ended: no fixation);
        failures are rate limited and locked out (:mod:`earlyphase.conduct.accounts`)."""

        nonce = request.cookies.get(LOGIN_COOKIE, "")
        if not nonce or not same(csrf, sign("login:" + nonce)):
            msg = "csrf: the sign-in form is stale or forged; try again"
            return RedirectResponse(f"/login?msg={quote(msg)}", status_code=303)
        try:
            user = service.authenticate(username, password, client_address(request))
        except ConductError as exc:
            return RedirectResponse(f"/login?msg={quote(str(exc))}", status_code=303)
        old = request.cookies.get(SESSION_COOKIE)
        if old:
            service.end_session(old, "signed in again")
        resp = RedirectResponse("/", status_code=303)
        resp.set_cookie(  # no max_age: the cookie ends with the browser, the session sooner
            SESSION_COOKIE,
            make_session(user, request),
            httponly=True,
            samesite="strict",
            secure=over_https(request),
        )
        return resp

    @app.get("/logout", response_class=HTMLResponse)
    def logout_form(request: Request) -> Response:
        """A page with the sign-out button (sign-out is a POST with the CSRF token)."""
        found = session_user(request)
        if found is None:
            return RedirectResponse("/login", status_code=303)
        return render("logout.html", request, found)

    @app.post("/logout")
    def logout(request: Request, csrf: str = Form("")) -> Response:
        """Sign out: the session is revoked on the server, not only forgotten by the
        browser (OWASP Session Management Cheat Sheet)."""

        found = session_user(request)
        if found is not None and not same(csrf, found[1]):
            msg = "csrf: the form is stale or forged; reload the page"
            return RedirectResponse(f"/?msg={quote(msg)}", status_code=303)
        raw = request.cookies.get(SESSION_COOKIE)
        if found is not None and raw:
            service.end_session(raw)
        resp = RedirectResponse("/login?msg=signed%20out&ok=1", status_code=303)
        resp.delete_cookie(
            SESSION_COOKIE, httponly=True, samesite="strict", secure=over_https(request)
        )
        return resp

    @app.post("/api/password")
    def change_password_api(
        request: Request,
        new_password: str = Body(
            description="at least 12 characters; not the username or a common password"
        ),
        current_password: str = Body("", description="required to change one's own"),
        username: str | None = Body(None, description="an admin sets another user's"),
        user: User = Depends(api_user),
    ) -> dict[str, Any]:
        """Change one's own password (with the current one), or, as an admin, another user's.
        Every session of that user and the API token are revoked: sign in again."""
        target = username or user.username
        ended = service.change_password(
            user, target, new_password, current_password, client_address(request)
        )
        return {"username": target, "sessions_ended": ended, "api_token": "revoked"}

    @app.post("/api/users/{username}/revoke-sessions")
    def revoke_sessions_api(
        username: str,
        reason: str = Body("", embed=True, description="why (kept in the audit trail)"),
        user: User = Depends(api_user),
    ) -> dict[str, Any]:
        """End every browser session of a user and withdraw the API token (an admin, or the
        user themself, e.g. after a lost laptop); audited."""
        ended = service.revoke_sessions(user, username, reason)
        return {"username": username, "sessions_ended": ended, "api_token": "revoked"}
