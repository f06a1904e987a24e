"""The pages a trial coordinator and the statistician work in, from Jinja2 templates
(``templates/*.html``, autoescaped): a subject's whole record with a correction and a void
form on every record, entry of follow-up, adverse events and biomarkers, the decision's
review with its sign-off, and Swagger UI served from this server (``/docs`` works offline).

What a page shows is chosen so that it cannot be misread: dose levels by number, amount and
unit, never as an outcome string; every date and time with the trial's time zone; a DLT as
an explicit yes or no; a correction shown as "was / becomes" before it is applied. Nothing
here changes the record except through :class:`TrialService`, which checks roles, sites and
values; the pages carry no script (the site's CSP forbids it) and every form its CSRF token.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import Depends, FastAPI, Request
from fastapi import Path as PathParam
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from earlyphase.conduct.common import (
    ConductError,
    PermissionDenied,
)
from earlyphase.conduct.entry import unprintable
from earlyphase.conduct.models import (
    User,
)
from earlyphase.conduct.records import (
    GRADES,
    KIND_LABELS,
    OPTIONAL,
    RESPONSES,
    dose_label,
    iso_instant,
    when,
    zone_text,
)
from earlyphase.conduct.web_common import Web

Kind = Literal[
    "subject",
    "infusion",
    "adverse_event",
    "dlt_assessment",
    "response",
    "follow_up",
    "biomarker",
]
#: A typed value's length: the longest column a form field is stored in (a reason, a note).
MAX_VALUE = 2000
MAX_INT = 2**31 - 1
RecordNo = Annotated[int, PathParam(ge=1, le=MAX_INT)]


#: Where Swagger UI's files are served from: the API docs need no CDN.
SWAGGER_STATIC = "/static/swagger"


def shown(value: str, widget: str) -> str:
    """A form value as the preview of a correction shows it."""
    if value == "":
        return "(none)"
    if widget == "instant":
        return value.replace("T", " ")
    if widget == "grade":
        return dict(GRADES).get(value, value)
    if widget == "response":
        return dict(RESPONSES).get(value, value)
    return value


def _clean(value: Any, field: str) -> str:
    """A typed value: bounded, printable (tabs and line breaks allowed in notes)."""
    text = str(value if value is not None else "").strip()
    if len(text) > MAX_VALUE:
        raise ConductError(f"{field}: at most {MAX_VALUE} characters")
    if unprintable(text, multiline=True):
        raise ConductError(f"{field}: control or unprintable characters are not allowed")
    return text


def _reason(form: Mapping[str, Any], what: str) -> str:
    reason = _clean(form.get("reason"), "reason")
    if not reason:
        raise ConductError(f"reason: required: say why the record is {what}")
    return reason


def _yes_no(form: Mapping[str, Any], field: str) -> bool:
    """An explicit yes or no: an unanswered question is an error, never read as "no"."""
    value = str(form.get(field) or "")
    if value not in ("yes", "no"):
        raise ConductError(f"{field}: answer yes or no")
    return value == "yes"


async def _form(request: Request) -> Any:
    return await request.form()


# --- Swagger UI without a CDN -----------------------------------------------------------------
def _script_hashes(page: str) -> str:
    """CSP source expressions for the page's inline scripts (Swagger UI's bootstrap), so
    that no other inline script may run there."""
    scripts = re.findall(r"<script>(.*?)</script>", page, flags=re.S)
    return " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(x.encode()).digest()).decode() + "'"
        for x in scripts
    )


def docs_csp(page: str) -> str:
    """What /docs needs: its own server only, plus the bootstrap script by its hash."""
    return (
        f"default-src 'none'; script-src 'self' {_script_hashes(page)}; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )


def swagger_static() -> Path:
    """Swagger UI's files as the swagger-ui-py package ships them (Swagger UI 5, which
    renders OpenAPI 3.1 as FastAPI writes it; Swagger UI 4 cannot), found without importing
    the package's framework adapters."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("swagger-ui-py is not installed (pip install swagger-ui-py)")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


def _serve_swagger(app: FastAPI) -> None:
    docs = app.docs_url or "/docs"
    app.router.routes[:] = [r for r in app.router.routes if getattr(r, "path", None) != docs]
    app.mount(SWAGGER_STATIC, StaticFiles(directory=swagger_static()), name="swagger")

    @app.get(docs, include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title}: API",
            swagger_js_url=f"{SWAGGER_STATIC}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER_STATIC}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER_STATIC}/favicon-32x32.png",
            oauth2_redirect_url=app.swagger_ui_oauth2_redirect_url,
        )
        body = bytes(page.body).decode()
        # set here, the security headers keep it (they only fill in what a response lacks)
        return HTMLResponse(body, headers={"Content-Security-Policy": docs_csp(body)})


# --- the pages ------------------------------------------------------------------------------
def register_pages(app: FastAPI, web: Web) -> None:
    """Add the subject, correction and decision pages, and the offline /docs, to ``app``,
    with the session helpers and the page rendering of ``web``."""
    _serve_swagger(app)
    service, session_user, form_user = web.service, web.session_user, web.form_user
    render = web.render

    def error_page(
        request: Request, found: tuple[User, str], message: str, denied: bool = False
    ) -> HTMLResponse:
        return render("error.html", request, found, 403 if denied else 404, msg=message, ok=False)

    def subject_url(name: str, code: str) -> str:
        return f"/trials/{quote(name, safe='')}/subjects/{quote(code, safe='')}"

    def go(url: str, message: str, ok: bool) -> RedirectResponse:
        return RedirectResponse(
            f"{url}?msg={quote(message)}{'&ok=1' if ok else ''}", status_code=303
        )

    def code_of(name: str, kind: str, record_id: int, user: User) -> str:
        return str(service.record_fields(user, name, kind, record_id)["code"])

    # -- subjects ------------------------------------------------------------------------
    @app.get("/trials/{name}/subjects", response_class=HTMLResponse, include_in_schema=False)
    def subject_list(name: str, request: Request) -> Response:
        found = session_user(request)
        if found is None:
            return RedirectResponse("/login", status_code=303)
        try:
            st = service.status(found[0], name)
        except ConductError as exc:
            return error_page(request, found, str(exc), isinstance(exc, PermissionDenied))
        cohorts = [
            {
                "number": c["number"],
                "dose": dose_label(c["dose_level"], c["dose"], st["dose_unit"]),
                "enrolled": c["enrolled"],
                "size": c["size"],
                "subjects": c["subjects"],
            }
            for c in st["cohorts"]
        ]
        return render(
            "subjects.html",
            request,
            found,
            trial=name,
            trial_url=quote(name, safe=""),
            cohorts=cohorts,
        )

    @app.get("/trials/{name}/subjects/{code}", response_class=HTMLResponse, include_in_schema=False)
    def subject_page(name: str, code: str, request: Request) -> Response:
        """A subject's timeline, every record with its correction and void forms."""
        found = session_user(request)
        if found is None:
            return RedirectResponse("/login", status_code=303)
        try:
            rec = service.subject_record(found[0], name, code)
        except ConductError as exc:
            return error_page(request, found, str(exc), isinstance(exc, PermissionDenied))
        writer = found[0].role in ("admin", "investigator")
        return render(
            "subject.html",
            request,
            found,
            r=rec,
            writer=writer,
            grades=GRADES,
            responses=RESPONSES,
        )

    def entry(
        name: str, code: str, request: Request, csrf: str, action: Callable[[User], str]
    ) -> Response:
        url = subject_url(name, code)
        try:
            return go(url, action(form_user(request, csrf)), True)
        except ConductError as exc:
            return go(url, str(exc), False)

    @app.post("/trials/{name}/subjects/{code}/follow-up", include_in_schema=False)
    def follow_up_form(
        name: str, code: str, request: Request, form: Any = Depends(_form)
    ) -> Response:
        def action(user: User) -> str:
            last_on = _clean(form.get("last_on"), "last_on")
            died = _yes_no(form, "died")
            service.record_follow_up(user, name, code, last_on, died)
            return f"follow-up of {code} recorded: {'died' if died else 'alive'} on {last_on}"

        return entry(name, code, request, str(form.get("csrf") or ""), action)

    @app.post("/trials/{name}/subjects/{code}/biomarker", include_in_schema=False)
    def biomarker_form(
        name: str, code: str, request: Request, form: Any = Depends(_form)
    ) -> Response:
        def action(user: User) -> str:
            parameter = _clean(form.get("parameter"), "parameter")
            value = _clean(form.get("value"), "value")
            measured_on = _clean(form.get("measured_on"), "measured_on")
            baseline = _yes_no(form, "baseline")
            service.record_biomarker(
                user,
                name,
                code,
                parameter,
                measured_on,
                value,  # type: ignore[arg-type]  # the service parses the typed number
                baseline,
            )
            return f"{parameter} of {code} on {measured_on} recorded"

        return entry(name, code, request, str(form.get("csrf") or ""), action)

    @app.post("/trials/{name}/subjects/{code}/ae", include_in_schema=False)
    def ae_form(name: str, code: str, request: Request, form: Any = Depends(_form)) -> Response:
        def action(user: User) -> str:
            values = {
                k: _clean(form.get(k), k) for k in ("soc", "pt", "grade", "onset_on", "resolved_on")
            }
            dlt = _yes_no(form, "dlt")
            service.record_ae(
                user,
                name,
                code,
                values["soc"],
                values["pt"],
                values["grade"],  # type: ignore[arg-type]  # the service parses it
                _yes_no(form, "serious"),
                _yes_no(form, "related"),
                values["onset_on"],
                values["resolved_on"] or None,
                dlt,
            )
            kind = "DLT" if dlt else "adverse event"
            return f"{kind} recorded for {code}: {values['pt']}, grade {values['grade']}"

        return entry(name, code, request, str(form.get("csrf") or ""), action)

    # -- corrections and voids -------------------------------------------------------------
    @app.post("/trials/{name}/records/{kind}/{record_id}/correct", include_in_schema=False)
    def correct_form(
        name: str,
        kind: Kind,
        record_id: RecordNo,
        request: Request,
        form: Any = Depends(_form),
    ) -> Response:
        """Step one shows what the correction would change (was / becomes) with the reason;
        step two (``step=apply``, from that page) applies it through the service."""
        found = session_user(request)
        if found is None:
            return RedirectResponse("/login", status_code=303)
        back = f"/trials/{quote(name, safe='')}/subjects"
        try:
            current = service.record_fields(found[0], name, kind, record_id)
            back = subject_url(name, current["code"])
            user = form_user(request, str(form.get("csrf") or ""))
            reason = _reason(form, "corrected")
            changes: dict[str, str | None] = {}
            rows = []
            for f in current["fields"]:
                key = f"f.{f['name']}"
                if key not in form:
                    continue  # not offered: left as it is
                new = _clean(form.get(key), f["name"])
                if new != f["value"]:
                    changes[f["name"]] = new if new or f["name"] not in OPTIONAL else None
                    rows.append(
                        {
                            **f,
                            "new": new,
                            "was_text": shown(f["value"], f["widget"]),
                            "new_text": shown(new, f["widget"]),
                        }
                    )
            if not changes:
                raise ConductError(
                    f"changes: nothing to correct: the {kind.replace('_', ' ')} already reads so"
                )
            if form.get("step") != "apply":
                return render(
                    "correct.html",
                    request,
                    found,
                    trial=name,
                    trial_url=quote(name, safe=""),
                    kind=kind,
                    kind_label=KIND_LABELS[kind],
                    record_id=record_id,
                    code=current["code"],
                    zone=current["zone"],
                    rows=rows,
                    reason=reason,
                    back=back,
                )
            service.correct(user, name, kind, record_id, dict(changes), reason)
            what = ", ".join(r["label"].lower() for r in rows)
            return go(back, f"{KIND_LABELS[kind]} {record_id} corrected ({what}): {reason}", True)
        except ConductError as exc:
            return go(back, str(exc), False)

    @app.post("/trials/{name}/records/{kind}/{record_id}/void", include_in_schema=False)
    def void_form(
        name: str,
        kind: Kind,
        record_id: RecordNo,
        request: Request,
        form: Any = Depends(_form),
    ) -> Response:
        found = session_user(request)
        if found is None:
            return RedirectResponse("/login", status_code=303)
        back = f"/trials/{quote(name, safe='')}/subjects"
        try:
            back = subject_url(name, code_of(name, kind, record_id, found[0]))
            user = form_user(request, str(form.get("csrf") or ""))
            reason = _reason(form, "voided")
            service.void(user, name, kind, record_id, reason)
            return go(back, f"{KIND_LABELS[kind]} {record_id} voided: {reason}", True)
        except ConductError as exc:
            return go(back, str(exc), False)

    # -- the decision: review, sign-off, recompute -------------------------------------------
    def decision_url(name: str, decision_id: int) -> str:
        return f"/trials/{quote(name, safe='')}/decisions/{decision_id}"

    @app.get(
        "/trials/{name}/decisions/{decision_id}",
        response_class=HTMLResponse,
        include_in_schema=False,
    )
    def decision_page(name: str, decision_id: RecordNo, request: Request) -> Response:
        """The review the statistician signs under: the cohort's subjects with their doses
        and adverse events, the recommendation in words, and the sign-off form."""
        found = session_user(request)
        if found is None:
            return RedirectResponse("/login", status_code=303)
        try:
            rv = service.review(found[0], decision_id)
            if rv["trial"] != name:
                raise ConductError(f"decision: no decision {decision_id} in {name!r}")
            st = service.status(found[0], name)
        except ConductError as exc:
            return error_page(request, found, str(exc), isinstance(exc, PermissionDenied))
        return render(
            "decision.html",
            request,
            found,
            **decision_context(rv, st, found[0]),
        )

    @app.post("/trials/{name}/decisions/{decision_id}/sign", include_in_schema=False)
    def sign_form(
        name: str, decision_id: RecordNo, request: Request, form: Any = Depends(_form)
    ) -> Response:
        url = decision_url(name, decision_id)
        try:
            user = form_user(request, str(form.get("csrf") or ""))
            if service.review(user, decision_id)["trial"] != name:
                raise ConductError(f"decision: no decision {decision_id} in {name!r}")
            meaning = str(form.get("meaning") or "")
            if meaning not in ("approve", "approve_other_dose", "stop", "reject"):
                raise ConductError(
                    "meaning: choose approve, approve a different dose, stop or reject"
                )
            dose = _clean(form.get("dose"), "dose") if meaning == "approve_other_dose" else ""
            reason = _clean(form.get("reason"), "reason")
            password = str(form.get("password") or "")
            if len(password) > 1024:
                raise ConductError("password: unknown user or wrong password")
            dec = service.confirm_decision(
                user,
                decision_id,
                password,
                meaning,
                dose or None,  # type: ignore[arg-type]  # the service parses the level
                reason or None,
            )
            return go(url, f"decision signed: {dec.signature_meaning}", True)
        except ConductError as exc:
            return go(url, str(exc), False)

    @app.post("/trials/{name}/decisions/{decision_id}/recompute", include_in_schema=False)
    def recompute_form(
        name: str, decision_id: RecordNo, request: Request, form: Any = Depends(_form)
    ) -> Response:
        url = decision_url(name, decision_id)
        try:
            user = form_user(request, str(form.get("csrf") or ""))
            if service.review(user, decision_id)["trial"] != name:
                raise ConductError(f"decision: no decision {decision_id} in {name!r}")
            reason = _clean(form.get("reason"), "reason")
            if not reason:
                raise ConductError("reason: required: say why the decision is recomputed")
            dec = service.recompute_decision(user, decision_id, reason)
            return go(
                decision_url(name, dec.id),
                "decision recomputed from the data as they are now",
                True,
            )
        except ConductError as exc:
            return go(url, str(exc), False)


def decision_context(rv: dict[str, Any], st: dict[str, Any], user: User) -> dict[str, Any]:
    """The review in words: doses by level, amount and unit; the verdict and its time."""
    zone = ZoneInfo(str(rv["time_zone"]))
    unit = st["dose_unit"]
    levels = [dose_label(i + 1, d, unit) for i, d in enumerate(st["dose_levels"])]
    rec = rv["recommendation"]
    c = rv["cohort"]
    advice = "Stop the trial" if rec["stop"] else f"Next cohort at {levels[rec['next_dose'] - 1]}"
    subjects = []
    dlts = evaluable = 0
    for x in rv["subjects"]:
        has_dlt = any(a["dlt"] for a in x["adverse_events"])
        dlts += has_dlt and not x["voided"]
        evaluable += x["evaluable"] == "yes" and not x["voided"]
        subjects.append(
            {
                **x,
                "has_dlt": has_dlt,
                "doses": [
                    {
                        **i,
                        "at": when(iso_instant(i["infused_at"], zone), zone),
                        "given": f"{float(i['cells_per_kg'])} {unit}",
                        "assigned": f"{float(i['assigned'])} {unit}",
                    }
                    for i in x["infusions"]
                ],
            }
        )
    later = [d for d in st["decisions"] if d["after_cohort"] == rec["after_cohort"]]
    in_force = bool(later) and later[-1]["id"] == rec["id"]
    signed_at = iso_instant(rec["confirmed_at"], zone)
    return {
        "trial": rv["trial"],
        "trial_url": quote(str(rv["trial"]), safe=""),
        "zone": zone_text(zone),
        "dose_levels": levels,
        "cohort": {**c, "dose": dose_label(c["dose_level"], c["dose"], c["dose_unit"])},
        "rec": rec,
        "advice": advice,
        "dlts": dlts,
        "evaluable": evaluable,
        "subjects": subjects,
        "signed_at": when(signed_at, zone) if signed_at else None,
        "earlier": rv["earlier_decisions"],
        "in_force": in_force,
        "pending_rule": rv.get("pending_rule"),
        "as_of": rv.get("as_of"),
        "follow_up": [
            {
                **f,
                "dose": levels[f["dose_level"] - 1],
                "status": {"T": "DLT", "N": "completed the window, no DLT"}.get(
                    f["outcome"], "pending"
                ),
            }
            for f in rv.get("follow_up", [])
        ],
        "can_sign": user.role == "statistician" and not rec["confirmed"] and in_force,
        "can_recompute": user.role == "statistician"
        and in_force
        and (rec["verdict"] == "REJECTED" or rec["data_changed"]),
    }
