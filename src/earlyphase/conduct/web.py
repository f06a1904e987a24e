"""Web UI and JSON API (FastAPI) over :class:`TrialService`.

Pages are server-rendered (server-side sessions: the cookie holds a random identifier; a
CSRF token in every form, the sign-in form included); the API under ``/api`` takes
``Authorization: Bearer <token>`` (a session cookie only reads it: GET). Every response carries
security headers (CSP, frame-ancestors 'none', nosniff). Every route checks the role,
and the service checks the site. Errors name the field: ``{"detail": "weight_kg: ...",
"field": "weight_kg", "errors": [{"field": "weight_kg", "message": "..."}]}`` (every problem
of the request listed) with status 422 (403 for permission, 409 for a conflict, 400/413 for a
request refused before any route: docs/bounds.md says what each field accepts).

The routes are grouped by room, each in its module: :mod:`web_accounts` (tokens, sign-in,
passwords), :mod:`web_trials` (creating trials), :mod:`web_enrolment` (status, enrolment,
the dashboard), :mod:`web_entry` (data entry and corrections through the API),
:mod:`web_decisions` (review, signature, the packet), :mod:`web_exports` (audit trail,
report) and :mod:`web_pages` (the subject and sign-off pages); this module builds the
application, its middleware and its error handlers.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, IntegrityError, StatementError
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from earlyphase.conduct import (
    web_accounts,
    web_decisions,
    web_enrolment,
    web_entry,
    web_exports,
    web_trials,
)
from earlyphase.conduct.security import load_secret
from earlyphase.conduct.service import ConductError, PermissionDenied, TrialService
from earlyphase.conduct.store import database_url, open_store
from earlyphase.conduct.web_common import (
    LOGIN_COOKIE,
    LOGIN_COOKIE_SECONDS,
    SESSION_COOKIE,
    SESSION_SECONDS,
    build_web,
)
from earlyphase.conduct.web_trials import DESIGN_CHOICES
from earlyphase.conduct.web_trials import _form_settings as _form_settings

__all__ = [
    "DESIGN_CHOICES",
    "LOGIN_COOKIE",
    "LOGIN_COOKIE_SECONDS",
    "PAGE_CSP",
    "SESSION_COOKIE",
    "SESSION_SECONDS",
    "WORKER_THREADS",
    "RequestGuard",
    "app_from_env",
    "create_app",
]

#: Pages and the API: nothing from elsewhere, no script at all, no framing (OWASP Secure
#: Headers; CSP Level 3). Inline <style> is the pages' only inline content.
PAGE_CSP = (
    "default-src 'none'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
#: /docs and /redoc load Swagger UI / ReDoc from their CDN with an inline bootstrap script.
DOCS_CSP = (
    "default-src 'none'; script-src 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com "
    "https://cdn.redoc.ly; connect-src 'self'; worker-src blob:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


# --- errors: every problem named, all at once ---------------------------------------------
#: What a clause's field looks like: ``weight_kg``, ``settings.n_cohorts``.
_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


def _problems(message: str) -> list[dict[str, str]]:
    """``"field: why; other: why"`` as ``[{field, message}, ...]``; a clause that names no
    field continues the one before it (a reason may contain "; "), or is the request's."""
    out: list[dict[str, str]] = []
    for clause in message.split("; "):
        head, sep, rest = clause.partition(":")
        if sep and _FIELD.match(head.strip()):
            out.append({"field": head.strip(), "message": rest.strip()})
        elif out:
            out[-1]["message"] += "; " + clause
        else:
            out.append({"field": "request", "message": clause.strip()})
    return out


def _problem_response(problems: list[dict[str, str]], status: int) -> JSONResponse:
    """The one shape of every refusal: ``detail`` reads ``"field: why; other: why"``,
    ``field`` is the first field named, ``errors`` lists each problem."""
    detail = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
    return JSONResponse(
        {"detail": detail, "field": problems[0]["field"], "errors": problems},
        status_code=status,
    )


def _error(exc: ConductError) -> JSONResponse:
    return _problem_response(_problems(str(exc)), 403 if isinstance(exc, PermissionDenied) else 422)


def _validation_problems(errors: Any) -> list[dict[str, str]]:
    """Pydantic's errors as ``{field, message}``: the field is the request's own name for it
    (the body's key, the path or form parameter); a nested place is said in the message."""
    out: list[dict[str, str]] = []
    for e in errors:
        loc = [str(x) for x in e.get("loc", ())]
        if loc and loc[0] in ("body", "query", "path", "header", "cookie"):
            loc = loc[1:]
        if e.get("type") == "json_invalid" or not loc:
            field, inner = "body", []
        else:
            field, inner = loc[0], loc[1:]
        msg = str(e.get("msg", "invalid")).removeprefix("Value error, ")
        # a union's branch names (``str``, ``int``...) say nothing to the person who sent it
        inner = [x for x in inner if x and not x.startswith(("function-", "constrained-"))]
        where = ".".join(
            f"item {x}" if x.isdigit() else "name" if x == "[key]" else x for x in inner
        )
        out.append({"field": field, "message": f"{where}: {msg}" if where else msg})
    return out or [{"field": "request", "message": "invalid request"}]


# --- a guard in front of every route ------------------------------------------------------
#: A request body larger than this is refused (413): no entry of the service comes near it.
MAX_BODY = 1 << 20
#: JSON nested deeper than this is refused before it is parsed: Python's parser recurses,
#: and a few thousand brackets would exhaust its stack (no request needs more than 3).
MAX_DEPTH = 32
#: Characters of a request's path.
MAX_PATH = 2000


def _json_depth(body: bytes, limit: int) -> int:
    """How deeply ``body``'s arrays and objects nest (strings skipped), up to ``limit + 1``."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def _header(scope: Scope, name: bytes) -> bytes:
    return b", ".join(v for k, v in scope.get("headers", ()) if k.lower() == name)


def _cookie_problem(scope: Scope) -> str | None:
    """The session cookie, if sent, must be what the service issues: printable ASCII."""
    for part in _header(scope, b"cookie").split(b";"):
        key, _, value = part.strip().partition(b"=")
        if key == SESSION_COOKIE.encode() and any(not 0x21 <= b <= 0x7E for b in value):
            return "not a session this service issued; sign in again"
    return None


class RequestGuard:
    """Refuses, before any route runs, what no route can take: a path with control
    characters or too long, a session cookie that is not printable ASCII, a body over
    :data:`MAX_BODY` bytes, and JSON nested deeper than :data:`MAX_DEPTH`. Each refusal is
    4xx and names what was wrong, in the shape of every other error."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        if len(path) > MAX_PATH or any(not c.isprintable() for c in path):
            await self._refuse(scope, send, 400, "path", "control characters or too long")
            return
        cookie = _cookie_problem(scope)
        if cookie is not None:
            await self._refuse(scope, send, 400, "session", cookie)
            return
        declared = _header(scope, b"content-length")
        if declared.isdigit() and int(declared) > MAX_BODY:
            await self._refuse(scope, send, 413, "body", f"at most {MAX_BODY} bytes")
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client left
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY:
                await self._refuse(scope, send, 413, "body", f"at most {MAX_BODY} bytes")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        kind = _header(scope, b"content-type").lower()
        parsed_as_json = not kind.startswith((b"application/x-www-form-urlencoded", b"multipart/"))
        if body and parsed_as_json and _json_depth(body, MAX_DEPTH) > MAX_DEPTH:
            await self._refuse(scope, send, 422, "body", f"nested deeper than {MAX_DEPTH}")
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(scope: Scope, send: Send, status: int, field: str, message: str) -> None:
        response = _problem_response([{"field": field, "message": message}], status)
        await response(scope, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


#: Threads a worker process runs its route functions in (Starlette's default is 40). The work
#: of a request holds the GIL, so on 2 cores 40 threads only take turns at it, and each turn
#: costs a switch: with 50 clients in a closed loop, 8 threads answered more requests per
#: second and cut the p95 latency of the dashboard by about half (benchmarks/bench_conduct.py).
#: Waiting requests queue in the event loop instead, which costs nothing.
WORKER_THREADS = 8


@asynccontextmanager
async def _lifespan(_app: FastAPI) -> AsyncIterator[None]:
    import anyio.to_thread

    anyio.to_thread.current_default_thread_limiter().total_tokens = WORKER_THREADS
    yield


def create_app(database: str | Path | None = None, secret: str | None = None) -> FastAPI:
    """The service on ``database``. ``secret`` keys the CSRF tokens; without it the secret
    comes from EARLYPHASE_SECRET, EARLYPHASE_SECRET_FILE or a key file created once beside
    the database (:func:`earlyphase.conduct.security.load_secret`), so restarts and several
    workers agree. Cookies are ``Secure`` when the request came over HTTPS, and always with
    EARLYPHASE_HTTPS=1 (behind a proxy that terminates TLS)."""
    service = TrialService(open_store(database))
    key = secret.encode() if secret else load_secret(database_url(database))
    app = FastAPI(title="earlyphase conduct", version="1", lifespan=_lifespan)
    web = build_web(service, key)

    docs_paths = {app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url}

    class SecurityHeaders:
        """OWASP Secure Headers on every response, refusals of the outer guards included:
        CSP (Swagger UI's CDN allowed on the docs only), no framing, no MIME sniffing, no
        referrer, no caching of the record, and HSTS over HTTPS. Added last, so outermost."""

        def __init__(self, inner: ASGIApp) -> None:
            self.inner = inner

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await self.inner(scope, receive, send)
                return
            csp = DOCS_CSP if scope.get("path") in docs_paths else PAGE_CSP
            flag = os.environ.get("EARLYPHASE_HTTPS", "").strip().lower()
            https = scope.get("scheme") == "https" or flag in ("1", "true", "yes")

            async def send_with_headers(message: Message) -> None:
                if message["type"] == "http.response.start":
                    headers = MutableHeaders(scope=message)
                    headers.setdefault("Content-Security-Policy", csp)
                    headers.setdefault("X-Content-Type-Options", "nosniff")
                    headers.setdefault("X-Frame-Options", "DENY")
                    headers.setdefault("Referrer-Policy", "no-referrer")
                    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
                    headers.setdefault("Cache-Control", "no-store")
                    if https:
                        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
                await send(message)

            await self.inner(scope, receive, send_with_headers)

    @app.exception_handler(ConductError)
    async def conduct_error(_request: Request, exc: ConductError) -> JSONResponse:
        return _error(exc)

    @app.exception_handler(ValueError)
    async def value_error(_request: Request, exc: ValueError) -> JSONResponse:
        if isinstance(exc, UnicodeError):  # text no database encodes (unpaired surrogates)
            return _problem_response([{"field": "text", "message": "not valid Unicode"}], 422)
        return _error(ConductError(str(exc)))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = _validation_problems(exc.errors())
        # a form whose CSRF token is malformed was not made by this service's pages
        forged = any(p["field"] == "csrf" for p in problems)
        return _problem_response(problems, 403 if forged else 422)

    @app.exception_handler(IntegrityError)
    async def conflict(_request: Request, exc: IntegrityError) -> JSONResponse:
        # a unique record taken meanwhile (two coordinators, the same code or name at once)
        msg = "conflicts with a record stored meanwhile (the same name or code); reload"
        return _problem_response([{"field": "record", "message": msg}], 409)

    @app.exception_handler(DataError)
    async def data_error(_request: Request, exc: DataError) -> JSONResponse:
        msg = "a value the database cannot store (too long, out of range or a NUL character)"
        return _problem_response([{"field": "value", "message": msg}], 422)

    @app.exception_handler(StatementError)
    async def statement_error(_request: Request, exc: StatementError) -> JSONResponse:
        if isinstance(exc.orig, OverflowError | ValueError | TypeError):
            msg = "a value the database cannot store (a number out of range?)"
            return _problem_response([{"field": "value", "message": msg}], 422)
        raise exc  # the database itself failed: a server error, logged as one

    @app.exception_handler(OverflowError)
    async def overflow(_request: Request, exc: OverflowError) -> JSONResponse:
        msg = "a number out of range"
        return _problem_response([{"field": "value", "message": msg}], 422)

    @app.exception_handler(RecursionError)
    async def too_deep(_request: Request, exc: RecursionError) -> JSONResponse:
        msg = f"nested deeper than {MAX_DEPTH}"
        return _problem_response([{"field": "body", "message": msg}], 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> Response:
        """The router's refusals (no such path, method not allowed) in the same shape."""
        if exc.status_code in (204, 304):
            return Response(status_code=exc.status_code, headers=exc.headers)
        field = {404: "path", 405: "method"}.get(exc.status_code, "request")
        problem = {"field": field, "message": str(exc.detail)}
        response = _problem_response([problem], exc.status_code)
        response.headers.update(exc.headers or {})  # Allow on a 405
        return response

    app.add_middleware(RequestGuard)

    for room in (web_accounts, web_trials, web_enrolment, web_entry, web_decisions, web_exports):
        room.add_routes(app, web)
    from earlyphase.conduct.web_pages import register_pages

    register_pages(app, web)
    app.add_middleware(SecurityHeaders)
    app.state.service = service
    return app


def app_from_env() -> FastAPI:
    """Factory for several server processes (``uvicorn --factory``): the database and the
    session secret come from EARLYPHASE_DATABASE and EARLYPHASE_SECRET, shared by all workers."""
    import os

    return create_app(os.environ.get("EARLYPHASE_DATABASE"), os.environ.get("EARLYPHASE_SECRET"))
