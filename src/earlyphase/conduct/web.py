"""Web UI and JSON API (FastAPI) over :class:`TrialService`.

Pages are server-rendered (sessions in an HMAC-signed cookie, a CSRF token in every form);
the API under ``/api`` takes ``Authorization: Bearer <token>``. Every route checks the role,
and the service checks the site. Errors name the field: ``{"detail": "weight_kg: ...",
"field": "weight_kg"}`` with status 422 (403 for permission).
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from pydantic import BaseModel, Field

from earlyphase.conduct import audit
from earlyphase.conduct.models import User
from earlyphase.conduct.service import ConductError, PermissionDenied, TrialService
from earlyphase.conduct.store import open_store
from earlyphase.designs.settings import (
    PROTOCOL,
    SINGLE_ARM,
    Setting,
    coerce,
    describe_setting,
    settings_for,
)
from earlyphase.designs.spec import decision_rules

SESSION_COOKIE = "earlyphase_session"
SESSION_SECONDS = 8 * 3600
DESIGN_CHOICES = (
    ("3+3", "3+3"),
    ("boin", "BOIN"),
    ("crm", "CRM"),
    ("thall-simon", "Thall-Simon phase IIB"),
    ("simon", "Simon two-stage"),
    ("predictive", "Predictive probability"),
    ("tox-monitor", "Toxicity monitoring"),
)


#: Settings the form does not ask per design: the dose levels are the form's own field.
_FORM_SKIPS = ("n_doses", "dose_values", "unit")


def _form_settings(design: str) -> list[Setting]:
    """The settings the trial form asks for ``design``: the registry's, plus the protocol's
    response endpoint for single-arm designs that count responses."""
    own = [s for s in settings_for(design) if s.name not in _FORM_SKIPS]
    if design in SINGLE_ARM and design != "tox-monitor":
        own += list(PROTOCOL)
    return own


def _setting_input(design: str, s: Setting) -> str:
    """One row of the trial form: the setting's field (blank = its default) and its help."""
    esc = html.escape
    name = f"{design}.{s.name}"
    field_id = f"s-{design}-{s.name}".replace("+", "p")
    default = s.default_display()
    if s.type in ("bool", "choice"):
        options = ("on", "off") if s.type == "bool" else s.choices
        shown = f"default ({default})" if default else "default"
        field = (
            f"<select name='{esc(name)}' id='{esc(field_id)}'>"
            f"<option value=''>{esc(shown)}</option>"
            + "".join(f"<option value='{esc(o)}'>{esc(o)}</option>" for o in options)
            + "</select>"
        )
    else:
        hint = f"default: {default}" if default else ("required" if s.required else "none")
        field = (
            f"<input name='{esc(name)}' id='{esc(field_id)}' size='16' placeholder='{esc(hint)}'>"
        )
    return (
        f"<tr><td><label for='{esc(field_id)}'>{esc(s.name)}</label></td><td>{field}</td>"
        f"<td><small>{esc(describe_setting(s))}</small></td></tr>"
    )


def _settings_fieldsets() -> str:
    """Every design's settings, each design folded under its name."""
    return "".join(
        f"<details id='settings-{key.replace('+', 'p')}'><summary>{html.escape(label)} settings"
        "</summary><table>"
        + "".join(_setting_input(key, s) for s in _form_settings(key))
        + "</table></details>"
        for key, label in DESIGN_CHOICES
    )


def _form_spec(design: str, form: Any) -> dict[str, Any]:
    """The chosen design's settings from the form's fields, typed by the registry (blank
    fields are left to the defaults); every bad field is named in one error."""
    spec: dict[str, Any] = {}
    problems = []
    for s in _form_settings(design):
        raw = str(form.get(f"{design}.{s.name}", "") or "").strip()
        if not raw:
            continue
        try:
            spec[s.name] = coerce(s, raw)
        except ValueError as exc:
            problems.append(str(exc))
    if problems:
        raise ConductError("; ".join(problems))
    return spec


async def _form_data(request: Request) -> Any:
    return await request.form()


class EnrolIn(BaseModel):
    code: str = Field(min_length=1, max_length=40)
    weight_kg: float
    site: str | None = None


class InfusionIn(BaseModel):
    study_day: int
    cells_per_kg: float
    lot: str


class DltIn(BaseModel):
    dlt: bool
    description: str = ""


class AeIn(BaseModel):
    soc: str
    pt: str
    grade: int
    serious: bool = False
    related: bool = False
    onset_day: int | None = None


class AeGradeChange(BaseModel):
    grade: int
    reason: str


class ResponseIn(BaseModel):
    visit: str
    value: str


class FollowUpIn(BaseModel):
    last_day: int
    died: bool = False


class BiomarkerIn(BaseModel):
    parameter: str
    study_day: int
    value: float
    baseline: bool = False


class TrialIn(BaseModel):
    name: str
    design: str = Field(description="3+3, boin, crm, thall-simon, simon, predictive or tox-monitor")
    dose_levels: list[float]
    dose_unit: str = "x 10^6 cells/kg"
    settings: dict[str, Any] = Field(
        default_factory=dict, description="design settings, e.g. target"
    )
    schedule: str = ""


class ConfirmIn(BaseModel):
    password: str
    meaning: str = "Approved: next cohort as recommended"


class TokenIn(BaseModel):
    username: str
    password: str


def _error(exc: ConductError) -> JSONResponse:
    msg = str(exc)
    field = msg.split(":", 1)[0] if ":" in msg else None
    return JSONResponse(
        {"detail": msg, "field": field},
        status_code=403 if isinstance(exc, PermissionDenied) else 422,
    )


def create_app(database: str | Path | None = None, secret: str | None = None) -> FastAPI:
    service = TrialService(open_store(database))
    key = (secret or secrets.token_hex(32)).encode()
    app = FastAPI(title="earlyphase conduct", version="1")

    def sign(value: str) -> str:
        return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()

    def make_session(user: User) -> str:
        expires = int(time.time()) + SESSION_SECONDS
        body = f"{user.id}:{expires}:{secrets.token_hex(8)}"
        return f"{body}:{sign(body)}"

    def session_user(request: Request) -> tuple[User, str] | None:
        raw = request.cookies.get(SESSION_COOKIE)
        if not raw or raw.count(":") != 3:
            return None
        body, mac = raw.rsplit(":", 1)
        if not hmac.compare_digest(mac, sign(body)):
            return None
        uid, expires, _nonce = body.split(":")
        if int(expires) < time.time():
            return None
        user = service.read(lambda s: s.get(User, int(uid)))
        return (user, sign("csrf:" + body)) if user is not None else None

    def api_user(request: Request) -> User:
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return service.user_from_token(auth[7:].strip())
        found = session_user(request)
        if found is None:
            raise PermissionDenied("token: sign in or send an API token")
        return found[0]

    @app.exception_handler(ConductError)
    async def conduct_error(_request: Request, exc: ConductError) -> JSONResponse:
        return _error(exc)

    @app.exception_handler(ValueError)
    async def value_error(_request: Request, exc: ValueError) -> JSONResponse:
        return _error(ConductError(str(exc)))

    # --- JSON API -----------------------------------------------------------------------------
    @app.post("/api/token")
    def token(body: TokenIn) -> dict[str, str]:
        user = service.authenticate(body.username, body.password)
        return {"token": service.issue_token(user)}

    @app.post("/api/trials", status_code=201)
    def create_trial_api(body: TrialIn, user: User = Depends(api_user)) -> dict[str, Any]:
        t = service.create_trial(
            user,
            body.name,
            body.design,
            body.settings,
            body.dose_levels,
            body.dose_unit,
            body.schedule,
        )
        return {"name": t.name, "design": t.design_name, "cohort_size": t.cohort_size}

    @app.get("/api/trials/{name}")
    def trial_status(name: str, user: User = Depends(api_user)) -> dict[str, Any]:
        return service.status(user, name)

    @app.get("/api/trials/{name}/recommendation")
    def recommendation(name: str, user: User = Depends(api_user)) -> dict[str, Any]:
        return service.recommendation(user, name)

    @app.post("/api/trials/{name}/subjects", status_code=201)
    def enrol(name: str, body: EnrolIn, user: User = Depends(api_user)) -> dict[str, Any]:
        subj = service.enrol(user, name, body.code, body.weight_kg, body.site)
        return {"code": subj.code, "cohort_id": subj.cohort_id}

    @app.post("/api/trials/{name}/subjects/{code}/infusions", status_code=201)
    def infusion(
        name: str, code: str, body: InfusionIn, user: User = Depends(api_user)
    ) -> dict[str, Any]:
        inf = service.record_infusion(user, name, code, body.study_day, body.cells_per_kg, body.lot)
        return {"id": inf.id, "total_cells": inf.total_cells}

    @app.post("/api/trials/{name}/subjects/{code}/dlt", status_code=201)
    def dlt(name: str, code: str, body: DltIn, user: User = Depends(api_user)) -> dict[str, Any]:
        dec = service.record_dlt(user, name, code, body.dlt, body.description)
        return {
            "decision": None
            if dec is None
            else {"id": dec.id, "reason": dec.reason, "next_dose": dec.next_dose, "stop": dec.stop}
        }

    @app.post("/api/trials/{name}/subjects/{code}/aes", status_code=201)
    def ae(name: str, code: str, body: AeIn, user: User = Depends(api_user)) -> dict[str, Any]:
        rec = service.record_ae(
            user,
            name,
            code,
            body.soc,
            body.pt,
            body.grade,
            body.serious,
            body.related,
            body.onset_day,
        )
        return {"id": rec.id}

    @app.patch("/api/aes/{ae_id}")
    def ae_grade(ae_id: int, body: AeGradeChange, user: User = Depends(api_user)) -> dict[str, Any]:
        """Correct an adverse event's grade; the reason and the old grade go to the audit trail."""
        rec = service.change_ae_grade(user, ae_id, body.grade, body.reason)
        return {"id": rec.id, "grade": rec.grade}

    @app.post("/api/trials/{name}/subjects/{code}/responses", status_code=201)
    def response(
        name: str, code: str, body: ResponseIn, user: User = Depends(api_user)
    ) -> dict[str, Any]:
        return {"id": service.record_response(user, name, code, body.visit, body.value).id}

    @app.post("/api/trials/{name}/subjects/{code}/follow-up", status_code=201)
    def follow_up(
        name: str, code: str, body: FollowUpIn, user: User = Depends(api_user)
    ) -> dict[str, Any]:
        return {"id": service.record_follow_up(user, name, code, body.last_day, body.died).id}

    @app.post("/api/trials/{name}/subjects/{code}/biomarkers", status_code=201)
    def biomarker(
        name: str, code: str, body: BiomarkerIn, user: User = Depends(api_user)
    ) -> dict[str, Any]:
        rec = service.record_biomarker(
            user, name, code, body.parameter, body.study_day, body.value, body.baseline
        )
        return {"id": rec.id}

    @app.post("/api/decisions/{decision_id}/confirm")
    def confirm(
        decision_id: int, body: ConfirmIn, user: User = Depends(api_user)
    ) -> dict[str, Any]:
        dec = service.confirm_decision(user, decision_id, body.password, body.meaning)
        return {
            "id": dec.id,
            "signer": dec.signer_name,
            "meaning": dec.signature_meaning,
            "confirmed_at": dec.confirmed_at.isoformat() if dec.confirmed_at else None,
        }

    @app.get("/api/audit/verify")
    def audit_verify(user: User = Depends(api_user)) -> dict[str, Any]:
        if user.role not in ("admin", "monitor", "statistician"):
            raise PermissionDenied("role: investigators cannot read the whole audit trail")
        res = service.read(audit.verify)
        return {
            "ok": res.ok,
            "entries": res.entries,
            "first_bad": res.first_bad,
            "message": res.message,
        }

    @app.get("/api/audit.csv")
    def audit_csv(user: User = Depends(api_user)) -> PlainTextResponse:
        if user.role not in ("admin", "monitor"):
            raise PermissionDenied("role: only admins and monitors export the audit trail")
        return PlainTextResponse(service.read(audit.export_csv), media_type="text/csv")

    @app.get("/api/trials/{name}/report", response_class=HTMLResponse)
    def report(name: str, user: User = Depends(api_user)) -> HTMLResponse:
        import tempfile

        from earlyphase.report import render_report

        if user.role == "investigator":
            raise PermissionDenied("role: the report covers every site; ask a statistician")
        trial = service.export(name)
        with tempfile.TemporaryDirectory() as tmp:
            page = render_report(trial, Path(tmp) / "report.html").read_text(encoding="utf-8")
        return HTMLResponse(page)

    # --- pages ---------------------------------------------------------------------------------
    def page(title: str, body: str) -> HTMLResponse:
        return HTMLResponse(
            "<!DOCTYPE html><html><head><meta charset='utf-8'><title>"
            + html.escape(title)
            + "</title><style>body{font-family:Arial,sans-serif;max-width:960px;margin:2em auto}"
            "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px}"
            ".msg{background:#ffe;border:1px solid #cc9;padding:6px}</style></head><body>"
            + body
            + "</body></html>"
        )

    @app.get("/login", response_class=HTMLResponse)
    def login_form(msg: str = "") -> HTMLResponse:
        note = f"<p class='msg' id='msg'>{html.escape(msg)}</p>" if msg else ""
        return page(
            "Sign in",
            f"<h1>earlyphase</h1>{note}<form method='post' action='/login'>"
            "<label>User <input name='username' id='username'></label> "
            "<label>Password <input type='password' name='password' id='password'></label> "
            "<button type='submit' id='signin'>Sign in</button></form>",
        )

    @app.post("/login")
    def login(username: str = Form(""), password: str = Form("")) -> Response:
        try:
            user = service.authenticate(username, password)
        except ConductError as exc:
            return RedirectResponse(f"/login?msg={html.escape(str(exc))}", status_code=303)
        resp = RedirectResponse("/", status_code=303)
        resp.set_cookie(
            SESSION_COOKIE,
            make_session(user),
            httponly=True,
            samesite="strict",
            max_age=SESSION_SECONDS,
        )
        return resp

    @app.get("/", response_class=HTMLResponse)
    def home(request: Request, msg: str = "") -> Response:
        found = session_user(request)
        if found is None:
            return RedirectResponse("/login", status_code=303)
        from sqlalchemy import select

        from earlyphase.conduct.models import Trial

        names = service.read(lambda s: [t.name for t in s.execute(select(Trial)).scalars()])
        items = "".join(
            f"<li><a href='/trials/{html.escape(n)}'>{html.escape(n)}</a></li>" for n in names
        )
        user, csrf = found
        create = ""
        if user.role in ("admin", "statistician"):
            create = (
                "<h2>New trial</h2><form method='post' action='/trials'>"
                f"<input type='hidden' name='csrf' value='{csrf}'>"
                "<p><input name='name' placeholder='trial name' id='trial-name'> "
                "<select name='design' id='trial-design'>"
                + "".join(f"<option value='{k}'>{v}</option>" for k, v in DESIGN_CHOICES)
                + "</select> "
                "<input name='doses' placeholder='doses, e.g. 0.5,1,2 (phase II: 1)' "
                "id='trial-doses'></p>"
                "<p>Settings of the chosen design (a blank field keeps its default):</p>"
                + _settings_fieldsets()
                + "<p><input name='settings' size='60' id='trial-settings' placeholder="
                "'or settings as JSON, e.g. {\"skeleton\": [0.05, 0.15, 0.3]}'> "
                "<button type='submit' id='create-trial'>Create</button></p></form>"
            )
        note = f"<p class='msg' id='msg'>{html.escape(msg)}</p>" if msg else ""
        return page(
            "Trials",
            f"<p>Signed in as {html.escape(user.full_name)} ({user.role})</p>{note}"
            f"<h1>Trials</h1><ul>{items}</ul>{create}",
        )

    @app.post("/trials")
    def create_trial_form(
        request: Request,
        csrf: str = Form(""),
        name: str = Form(""),
        design: str = Form("3+3"),
        doses: str = Form(""),
        settings_json: str = Form("", alias="settings"),
        form: Any = Depends(_form_data),
    ) -> Response:
        from urllib.parse import quote

        try:
            user = form_user(request, csrf)
            try:
                levels = [float(v) for v in doses.replace(" ", "").split(",") if v]
            except ValueError:
                raise ConductError("doses: comma-separated numbers, e.g. 0.5,1,2") from None
            if not levels:
                raise ConductError("doses: give the dose levels, e.g. 0.5,1,2")
            settings = _form_spec(design, form)
            if settings_json.strip():
                try:
                    extra = json.loads(settings_json)
                except ValueError as exc:
                    raise ConductError(f"settings: not valid JSON ({exc})") from None
                if not isinstance(extra, dict):
                    raise ConductError('settings: a JSON object, e.g. {"n_cohorts": 10}')
                settings.update(extra)
            service.create_trial(user, name, design, settings, levels)
            return RedirectResponse(f"/trials/{quote(name)}?msg=trial%20created", status_code=303)
        except ConductError as exc:
            return RedirectResponse(f"/?msg={quote(str(exc))}", status_code=303)

    @app.get("/trials/{name}", response_class=HTMLResponse)
    def dashboard(name: str, request: Request, msg: str = "") -> Response:
        found = session_user(request)
        if found is None:
            return RedirectResponse("/login", status_code=303)
        user, csrf = found
        try:
            st = service.status(user, name)
        except ConductError as exc:
            return page("Error", f"<p class='msg'>{html.escape(str(exc))}</p>")
        esc = html.escape
        rows = "".join(
            f"<tr><td>{c['number']}</td><td>{c['dose']:g} {esc(st['dose_unit'])}</td>"
            f"<td>{c['enrolled']}/{c['size']}</td><td>{esc(', '.join(c['subjects']))}</td></tr>"
            for c in st["cohorts"]
        )
        decs = ""
        for d in st["decisions"]:
            action = (
                ("signed by " + esc(d["signer"] or "") + ": " + esc(d["meaning"] or ""))
                if d["confirmed"]
                else (
                    f"<form method='post' action='/decisions/{d['id']}/confirm'>"
                    f"<input type='hidden' name='csrf' value='{csrf}'>"
                    f"<input type='hidden' name='trial' value='{esc(name)}'>"
                    "<input type='password' name='password' placeholder='password'"
                    " id='sign-password'> "
                    "<button type='submit' id='sign'>Sign and confirm</button></form>"
                    if user.role == "statistician"
                    else "awaiting the statistician's signature"
                )
            )
            nxt = "stop" if d["stop"] else f"dose {d['next_dose']}"
            decs += (
                f"<tr><td>{d['after_cohort']}</td><td>{esc(d['outcomes'])}</td><td>{esc(d['reason'])}"
                f"</td><td id='decision-{d['id']}'>{nxt}</td><td>{action}</td></tr>"
            )
        forms = ""
        if user.role in ("admin", "investigator"):
            forms = (
                f"<h2>Enrol</h2><form method='post' action='/trials/{esc(name)}/enrol'>"
                f"<input type='hidden' name='csrf' value='{csrf}'>"
                "<input name='code' placeholder='subject code' id='code'> "
                "<input name='weight_kg' placeholder='weight kg' id='weight'> "
                + (
                    "<input name='site' placeholder='site' id='site'> "
                    if user.role == "admin"
                    else ""
                )
                + "<button type='submit' id='enrol'>Enrol</button></form>"
                f"<h2>DLT assessment</h2><form method='post' action='/trials/{esc(name)}/dlt'>"
                f"<input type='hidden' name='csrf' value='{csrf}'>"
                "<input name='code' placeholder='subject code' id='dlt-code'> "
                "<select name='dlt' id='dlt-value'><option value='no'>no DLT</option>"
                "<option value='yes'>DLT</option></select> "
                "<button type='submit' id='record-dlt'>Record</button></form>"
            )
        if user.role in ("admin", "investigator"):
            forms += (
                f"<h2>Infusion</h2><form method='post' action='/trials/{esc(name)}/infusion'>"
                f"<input type='hidden' name='csrf' value='{csrf}'>"
                "<input name='code' placeholder='subject code' id='inf-code'> "
                "<input name='study_day' placeholder='day' id='inf-day'> "
                "<input name='cells_per_kg' placeholder='10^6 cells/kg' id='inf-dose'> "
                "<input name='lot' placeholder='lot' id='inf-lot'> "
                "<button type='submit' id='record-infusion'>Record</button></form>"
                f"<h2>Adverse event</h2><form method='post' action='/trials/{esc(name)}/ae'>"
                f"<input type='hidden' name='csrf' value='{csrf}'>"
                "<input name='code' placeholder='subject code' id='ae-code'> "
                "<input name='soc' placeholder='system organ class' id='ae-soc'> "
                "<input name='pt' placeholder='preferred term' id='ae-pt'> "
                "<input name='grade' placeholder='grade 1-5' id='ae-grade'> "
                "<label><input type='checkbox' name='serious' value='yes'> serious</label> "
                "<label><input type='checkbox' name='related' value='yes'> related</label> "
                "<button type='submit' id='record-ae'>Record</button></form>"
                f"<h2>Response</h2><form method='post' action='/trials/{esc(name)}/response'>"
                f"<input type='hidden' name='csrf' value='{csrf}'>"
                "<input name='code' placeholder='subject code' id='resp-code'> "
                "<input name='visit' placeholder='visit, e.g. Day 28' id='resp-visit'> "
                "<select name='value' id='resp-value'>"
                + "".join(f"<option>{v}</option>" for v in ("CR", "PR", "SD", "PD", "NR", "NE"))
                + "</select> <button type='submit' id='record-response'>Record</button></form>"
            )
        rules = decision_rules_html(name)
        note = f"<p class='msg' id='msg'>{esc(msg)}</p>" if msg else ""
        return page(
            name,
            f"<p><a href='/'>Trials</a> | {esc(user.full_name)} ({user.role})</p>"
            f"<h1>{esc(name)}</h1>{note}<p>Design: {esc(st['design'])}. Outcomes so far: "
            f"<code id='outcomes'>{esc(st['outcomes']) or '-'}</code></p>"
            f"<h2>Cohorts</h2><table><tr><th>Cohort</th><th>Dose</th><th>Enrolled</th>"
            f"<th>Subjects</th></tr>{rows}</table>"
            f"<h2>Decisions</h2><table><tr><th>After cohort</th><th>Data</th><th>Rule</th>"
            f"<th>Next</th><th>Signature</th></tr>{decs}</table>{forms}{rules}"
            + (
                f"<p><a id='report' href='/api/trials/{esc(name)}/report'>Report</a></p>"
                if user.role != "investigator"
                else ""
            ),
        )

    def decision_rules_html(name: str) -> str:
        """The protocol's decision table for the trial's design."""
        trial = service.get_trial(name)
        frame = decision_rules(service.design(trial), depth=1)
        return "<h2>Decision rules</h2>" + str(frame.to_html(index=False, border=0, na_rep=""))

    def form_user(request: Request, csrf: str) -> User:
        found = session_user(request)
        if found is None:
            raise PermissionDenied("session: sign in again")
        if not hmac.compare_digest(found[1], csrf):
            raise PermissionDenied("csrf: the form is stale or forged; reload the page")
        return found[0]

    def back(name: str, message: str) -> RedirectResponse:
        from urllib.parse import quote

        return RedirectResponse(f"/trials/{quote(name)}?msg={quote(message)}", status_code=303)

    def submit(name: str, request: Request, csrf: str, action: Callable[[User], str]) -> Response:
        """Check the session and its CSRF token, run ``action`` as the signed-in user and go
        back to the trial's dashboard with its message, or with the error naming the field."""
        try:
            return back(name, action(form_user(request, csrf)))
        except ConductError as exc:
            return back(name, str(exc))

    @app.post("/trials/{name}/enrol")
    def enrol_form(
        name: str,
        request: Request,
        csrf: str = Form(""),
        code: str = Form(""),
        weight_kg: str = Form(""),
        site: str | None = Form(None),
    ) -> Response:
        def action(user: User) -> str:
            service.enrol(user, name, code, weight_kg, site or None)  # type: ignore[arg-type]
            return f"{code} enrolled"

        return submit(name, request, csrf, action)

    @app.post("/trials/{name}/dlt")
    def dlt_form(
        name: str,
        request: Request,
        csrf: str = Form(""),
        code: str = Form(""),
        dlt: str = Form("no"),
    ) -> Response:
        def action(user: User) -> str:
            dec = service.record_dlt(user, name, code, dlt == "yes")
            extra = "" if dec is None else f"; the design recommends: {dec.reason}"
            return f"DLT assessment of {code} recorded{extra}"

        return submit(name, request, csrf, action)

    @app.post("/trials/{name}/infusion")
    def infusion_form(
        name: str,
        request: Request,
        csrf: str = Form(""),
        code: str = Form(""),
        study_day: str = Form(""),
        cells_per_kg: str = Form(""),
        lot: str = Form(""),
    ) -> Response:
        def action(user: User) -> str:
            inf = service.record_infusion(user, name, code, study_day, cells_per_kg, lot)  # type: ignore[arg-type]
            return f"infusion recorded: {inf.total_cells:g} x 10^6 cells"

        return submit(name, request, csrf, action)

    @app.post("/trials/{name}/ae")
    def ae_form(
        name: str,
        request: Request,
        csrf: str = Form(""),
        code: str = Form(""),
        soc: str = Form(""),
        pt: str = Form(""),
        grade: str = Form(""),
        serious: str = Form("no"),
        related: str = Form("no"),
    ) -> Response:
        def action(user: User) -> str:
            try:
                g = int(grade)
            except ValueError:
                raise ConductError("grade: must be a whole number 1-5") from None
            service.record_ae(user, name, code, soc, pt, g, serious == "yes", related == "yes")
            return f"adverse event recorded for {code}"

        return submit(name, request, csrf, action)

    @app.post("/trials/{name}/response")
    def response_form(
        name: str,
        request: Request,
        csrf: str = Form(""),
        code: str = Form(""),
        visit: str = Form(""),
        value: str = Form(""),
    ) -> Response:
        def action(user: User) -> str:
            service.record_response(user, name, code, visit, value)
            return f"response {value} recorded for {code}"

        return submit(name, request, csrf, action)

    @app.post("/decisions/{decision_id}/confirm")
    def confirm_form(
        decision_id: int,
        request: Request,
        csrf: str = Form(""),
        trial: str = Form(""),
        password: str = Form(""),
    ) -> Response:
        def action(user: User) -> str:
            service.confirm_decision(user, decision_id, password)
            return "decision signed"

        return submit(trial, request, csrf, action)

    app.state.service = service
    return app


def app_from_env() -> FastAPI:
    """Factory for several server processes (``uvicorn --factory``): the database and the
    session secret come from EARLYPHASE_DATABASE and EARLYPHASE_SECRET, shared by all workers."""
    import os

    return create_app(os.environ.get("EARLYPHASE_DATABASE"), os.environ.get("EARLYPHASE_SECRET"))
