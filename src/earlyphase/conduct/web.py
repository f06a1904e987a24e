"""Web UI and JSON API (FastAPI) over :class:`TrialService`.

Pages are server-rendered (server-side sessions: the cookie holds a random identifier; a
CSRF token in every form, the sign-in form included); the API under ``/api`` takes
``Authorization: Bearer <token>`` (a session cookie only reads it: GET). Every response carries
security headers (CSP, frame-ancestors 'none', nosniff). Every route checks the role,
and the service checks the site. Errors name the field: ``{"detail": "weight_kg: ...",
"field": "weight_kg", "errors": [{"field": "weight_kg", "message": "..."}]}`` (every problem
of the request listed) with status 422 (403 for permission, 409 for a conflict, 400/413 for a
request refused before any route: docs/bounds.md says what each field accepts).
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import math
import os
import re
import secrets
import unicodedata
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import Body, Depends, FastAPI, Form, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StringConstraints,
    field_validator,
)
from sqlalchemy.exc import DataError, IntegrityError, StatementError
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from earlyphase.conduct import audit
from earlyphase.conduct.accounts import TooManyAttempts
from earlyphase.conduct.entry import unprintable
from earlyphase.conduct.models import User
from earlyphase.conduct.protocol import CONDUCT_DESIGNS
from earlyphase.conduct.security import load_secret
from earlyphase.conduct.service import ConductError, PermissionDenied, TrialService
from earlyphase.conduct.store import database_url, open_store
from earlyphase.designs.settings import (
    CONDUCT,
    MAX_DOSE,
    MAX_DOSES,
    PROTOCOL,
    SINGLE_ARM,
    TITLES,
    Setting,
    coerce,
    describe_setting,
    settings_for,
)
from earlyphase.designs.spec import decision_rules

SESSION_COOKIE = "earlyphase_session"
SESSION_SECONDS = 8 * 3600
#: The pre-session cookie the sign-in form's CSRF token is bound to (signed double submit).
LOGIN_COOKIE = "earlyphase_login"
LOGIN_COOKIE_SECONDS = 12 * 3600
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
#: The designs a new trial may use, as the form offers them: every design the service runs,
#: titled as the registry titles it.
DESIGN_CHOICES = tuple((key, TITLES.get(key, key)) for key in CONDUCT_DESIGNS)


#: Settings the form does not ask per design: the dose levels are the form's own field, and
#: a time-to-event design's window is the protocol's DLT window (the conduct settings).
_FORM_SKIPS = ("n_doses", "dose_values", "unit", "window")


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


def _today(zone: str) -> str:
    import datetime as dt
    from zoneinfo import ZoneInfo

    return dt.datetime.now(ZoneInfo(zone)).date().isoformat()


def _review_html(rv: dict[str, Any]) -> str:
    """The review payload as a page: what the statistician checks before signing."""
    esc = html.escape
    rec = rv["recommendation"]
    c = rv["cohort"]
    rows = ""
    for x in rv["subjects"]:
        doses = "<br>".join(
            f"{i['number']}: {esc(i['infused_at'] or '')} (day {i['study_day']}) "
            f"{i['cells_per_kg']:g}" + (" DEVIATION" if i["deviation"] else "")
            for i in x["infusions"]
        )
        aes = "<br>".join(
            f"{esc(a['pt'])} grade {a['grade']} {esc(a['onset_on'] or '')}"
            + (" <strong>DLT</strong>" if a["dlt"] else "")
            for a in x["adverse_events"]
        )
        w = x["window"]
        rows += (
            f"<tr><td>{esc(x['code'])}{' (voided)' if x['voided'] else ''}</td>"
            f"<td>{esc(x['enrolled_on'] or '')}</td><td>{doses}</td>"
            f"<td>{esc(str(w['start']))} to {esc(str(w['end']))}"
            f"{' (completed)' if w['completed'] else ''}</td>"
            f"<td>{esc(x['evaluable'])}</td><td>{aes}</td></tr>"
        )
    earlier = "".join(
        f"<li>after cohort {d['after_cohort']}: {esc(d['reason'])} "
        f"({esc(d['verdict'] or 'unsigned')})</li>"
        for d in rv["earlier_decisions"]
    )
    changed = (
        f"<p class='msg'>{esc(rec['data_changed_label'])}: {esc(rec['data_changed_note'])}</p>"
        if rec["data_changed"]
        else ""
    )
    return (
        f"<p><a href='/trials/{esc(rv['trial'])}'>{esc(rv['trial'])}</a></p>"
        f"<h1>Decision after cohort {c['number']}</h1>{changed}"
        f"<p>Cohort {c['number']} at dose level {c['dose_level']} ({c['dose']:g} "
        f"{esc(c['dose_unit'])}); dates in {esc(rv['time_zone'])}.</p>"
        f"<p id='recommendation'>Recommendation: {esc(rec['message'] or rec['reason'])} "
        f"(rule: {esc(rec['reason'])}; data {esc(rec['outcomes'])}, now "
        f"{esc(rv['outcomes_now'])})</p>"
        f"<pre>{esc(json.dumps(rec['estimates'], indent=1))}</pre>"
        "<table><tr><th>Subject</th><th>Enrolled</th><th>Infusions</th><th>DLT window</th>"
        f"<th>Evaluable</th><th>Adverse events</th></tr>{rows}</table>"
        f"<h2>Earlier decisions</h2><ul>{earlier}</ul>"
    )


def _conduct_fieldset() -> str:
    """The protocol's conduct settings, from the registry (blank = the default)."""
    return (
        "<details id='settings-conduct' open><summary>Conduct settings (DLT window,"
        " schedule, dose tolerance, time zone)</summary><table>"
        + "".join(_setting_input("conduct", s) for s in CONDUCT)
        + "</table></details>"
    )


def _form_conduct(form: Any) -> dict[str, Any]:
    return {
        s.name: str(form.get(f"conduct.{s.name}", "") or "").strip()
        for s in CONDUCT
        if str(form.get(f"conduct.{s.name}", "") or "").strip()
    }


async def _form_data(request: Request) -> Any:
    return await request.form()


# --- what a request may hold -------------------------------------------------------------
# Every value is checked before it reaches the service: types are strict (JSON ``true`` is
# not 1, ``"3"`` is not 3), numbers are finite and bounded by what a trial can be (and by
# what SQLite and PostgreSQL integers hold), text is stripped, at most as long as its column
# (models.py) and free of NUL and control characters, which no column stores the same way.

#: The largest integer either database's INTEGER column holds (PostgreSQL's is 32-bit).
MAX_INT = 2**31 - 1
#: A JSON number inside a free-form object (settings, corrections): exactly representable.
MAX_JSON_INT = 2**53
#: Characters of a free-text note (reasons, descriptions, the schedule).
MAX_NOTE = 2000
#: Entries of a free-form object (settings, conduct settings, corrections).
MAX_KEYS = 60
#: Calendar dates the service accepts: a trial's records lie in this span (the service
#: refuses future dates in the trial's time zone, and checks each date against the subject's).
FIRST_YEAR, LAST_YEAR = 1980, 2100


def _one_line(value: str) -> str:
    """Text on one line: no NUL, control or unpaired surrogate characters (unprintable)."""
    if unprintable(value):
        raise ValueError("control or unprintable characters are not allowed")
    return value


def _note(value: str) -> str:
    """Text that may span lines (tabs and line breaks allowed)."""
    if unprintable(value, multiline=True):
        raise ValueError("control or unprintable characters are not allowed")
    return value


def _date_text(value: str) -> str:
    """A calendar date YYYY-MM-DD in the span a trial's record covers ("" = not given)."""
    if not value:
        return value
    import datetime as dt

    try:
        if len(value) != 10:
            raise ValueError
        d = dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"a date YYYY-MM-DD, e.g. 2026-03-01, got {value[:40]!r}") from None
    if not FIRST_YEAR <= d.year <= LAST_YEAR:
        raise ValueError(f"a date between {FIRST_YEAR} and {LAST_YEAR}, got {value}")
    return value


def _instant_text(value: str) -> str:
    """A date and time (2026-03-01T10:30, an offset optional) in the span a record covers."""
    if not value:
        return value
    import datetime as dt

    raw = value.replace(" ", "T", 1)
    raw = raw[:-1] + "+00:00" if raw.endswith("Z") else raw
    try:
        t = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"a date and time YYYY-MM-DDTHH:MM, got {value[:40]!r}") from None
    if not FIRST_YEAR <= t.year <= LAST_YEAR:
        raise ValueError(f"a date between {FIRST_YEAR} and {LAST_YEAR}, got {value}")
    return value


def _line(n: int, min_length: int = 0) -> Any:
    return StringConstraints(strip_whitespace=True, min_length=min_length, max_length=n)


# The rules as the OpenAPI schema states them, for clients (and the fuzzer) to read; the
# validators above enforce them, with messages that say what is wrong.
_DAY = r"(19[89]\d|20\d\d)-(0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8])"
ONE_LINE = Field(json_schema_extra={"pattern": r"^[^\u0000-\u001f\u007f]*$"})
MULTI_LINE = Field(
    json_schema_extra={"pattern": r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]*$"}
)
A_DATE = Field(json_schema_extra={"pattern": f"^{_DAY}$", "examples": ["2026-03-01"]})
AN_INSTANT = Field(
    json_schema_extra={
        "pattern": f"^{_DAY}T([01]\\d|2[0-3]):[0-5]\\d$",
        "examples": ["2026-03-01T10:30"],
    }
)

#: Subject codes (Subject.code is 40 characters).
Code = Annotated[str, _line(40, 1), AfterValidator(_one_line), ONE_LINE]
#: One-line texts by their column's length.
Text40 = Annotated[str, _line(40, 1), AfterValidator(_one_line), ONE_LINE]
Text80 = Annotated[str, _line(80, 1), AfterValidator(_one_line), ONE_LINE]
Text200 = Annotated[str, _line(200, 1), AfterValidator(_one_line), ONE_LINE]
#: A reason or a description (Text columns, bounded all the same).
Note = Annotated[str, _line(MAX_NOTE), AfterValidator(_note), MULTI_LINE]
#: A password: not stripped (spaces may be part of it), bounded so hashing stays cheap.
Password = Annotated[str, StringConstraints(max_length=1024), AfterValidator(_one_line), ONE_LINE]
DateText = Annotated[str, _line(10), AfterValidator(_date_text), A_DATE]
InstantText = Annotated[str, _line(40), AfterValidator(_instant_text), AN_INSTANT]
#: A trial's name: the service also collapses inner spaces, so " GVHD" is "GVHD".
TrialName = Annotated[str, _line(200, 1), AfterValidator(_one_line), ONE_LINE]


def _trial_ref(value: str) -> str:
    """A trial named in a path, read as names are stored (spaces collapsed, Unicode NFC), so
    that " GVHD" finds the trial "GVHD" as it would refuse to create it twice."""
    return " ".join(unicodedata.normalize("NFC", value).split())


#: A trial's name in a path.
TrialPath = Annotated[str, PathParam(), AfterValidator(_trial_ref)]
#: A dose amount of a dose level.
DoseAmount = Annotated[StrictFloat, Field(gt=0, le=MAX_DOSE, allow_inf_nan=False)]
#: Names of settings and of corrected fields.
Key = Annotated[str, StringConstraints(max_length=60, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
#: Database record numbers in paths.
RecordId = Annotated[int, PathParam(ge=1, le=MAX_INT)]


def _scalar(value: Any) -> Any:
    """A JSON scalar a setting or a correction may take: a bounded finite number, a bool,
    short printable text, or null."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if abs(value) > MAX_JSON_INT:
            raise ValueError("a number between -2^53 and 2^53")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"a finite number, got {value}")
        return value
    if isinstance(value, str):
        if len(value) > MAX_NOTE:
            raise ValueError(f"at most {MAX_NOTE} characters")
        return _note(value.strip())
    raise ValueError(f"a number, true/false, text or null, not {type(value).__name__}")


def _setting_value(value: Any) -> Any:
    """A design setting: a scalar, or a list of scalars (a skeleton, a prior, the looks)."""
    if isinstance(value, list):
        if len(value) > 100:
            raise ValueError("a list of at most 100 values")
        try:
            return [_scalar(v) for v in value]
        except ValueError as exc:
            raise ValueError(f"a list of numbers or words: {exc}") from None
    return _scalar(value)


Scalar = Annotated[Any, AfterValidator(_scalar)]
SettingValue = Annotated[Any, AfterValidator(_setting_value)]


class EnrolIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: Code
    weight_kg: Annotated[StrictFloat, Field(ge=1, le=400, allow_inf_nan=False)]
    site: Text200 | None = None
    enrolled_on: DateText | None = Field(
        None, description="YYYY-MM-DD; default today (trial's zone)"
    )


class InfusionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    infused_at: InstantText | None = Field(
        None, description="date and time, e.g. 2026-03-01T10:30 (trial's local time)"
    )
    cells_per_kg: Annotated[StrictFloat, Field(ge=0, le=1000, allow_inf_nan=False)]
    lot: Text80
    number: Annotated[StrictInt, Field(ge=1, le=52)] | None = Field(
        None, description="place in the schedule; default the next"
    )
    lot_released: StrictBool = True
    deviation_reason: Note | None = Field(
        None, description="required when the dose is outside the protocol's tolerance"
    )


class DltIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dlt: StrictBool = Field(False, description="a DLT is an adverse event with dlt = true")
    assessed_on: DateText | None = None
    evaluable: StrictBool = Field(
        True, description="true: no DLT in the window; false: not evaluable"
    )
    description: Note = ""


class AeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    soc: Text200
    pt: Text200
    grade: Annotated[StrictInt, Field(ge=1, le=5)]
    serious: StrictBool = False
    related: StrictBool = False
    onset_on: DateText | None = None
    resolved_on: DateText | None = None
    dlt: StrictBool = Field(False, description="meets the protocol's DLT criteria")


class AeGradeChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    grade: Annotated[StrictInt, Field(ge=1, le=5)]
    reason: Note


class ResponseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    visit: Text40
    value: Literal["CR", "PR", "SD", "PD", "NR", "NE"]
    assessed_on: DateText | None = None


class FollowUpIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    last_on: DateText | None = Field(None, description="last date known alive, or date of death")
    died: StrictBool = False


class BiomarkerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    parameter: Text40
    measured_on: DateText | None = None
    value: Annotated[StrictFloat, Field(ge=-1e12, le=1e12, allow_inf_nan=False)]
    baseline: StrictBool = False


class CorrectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    changes: dict[Key, Scalar] = Field(
        description="field: corrected value", min_length=1, max_length=MAX_KEYS
    )
    reason: Note = ""


class VoidIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Note = ""


class RecomputeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Note = ""


class TrialIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: TrialName
    design: Text40 = Field(
        description="3+3, boin, crm, thall-simon, simon, predictive or tox-monitor",
        json_schema_extra={"enum": list(CONDUCT_DESIGNS)},
    )
    dose_levels: list[DoseAmount] = Field(
        min_length=1,
        max_length=MAX_DOSES,
        description=f"dose amounts, positive and strictly increasing (at most {MAX_DOSES})",
    )
    dose_unit: Annotated[str, _line(40), AfterValidator(_one_line)] = "x 10^6 cells/kg"
    settings: dict[Key, SettingValue] = Field(
        default_factory=dict, max_length=MAX_KEYS, description="design settings, e.g. target"
    )
    schedule: Note = ""
    conduct: dict[Key, Scalar] = Field(
        default_factory=dict,
        max_length=MAX_KEYS,
        description="conduct settings: dlt_window_days, n_infusions, time_zone...",
    )

    @field_validator("dose_levels")
    @classmethod
    def _increasing(cls, levels: list[float]) -> list[float]:
        for a, b in pairwise(levels):
            if b == a:
                raise ValueError(f"dose {a:g} is given twice; each level is a different dose")
            if b < a:
                raise ValueError(f"strictly increasing, but {b:g} follows {a:g}")
        return levels


class ConfirmIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: Password
    meaning: Literal["approve", "approve_other_dose", "stop", "reject"] = Field(
        "approve", description="approve, approve_other_dose, stop or reject (21 CFR 11.50)"
    )
    dose: Annotated[StrictInt, Field(ge=1, le=MAX_DOSES)] | None = Field(
        None, description="the dose level approved instead (1-based)"
    )
    reason: Note | None = None


def _dlt_choice(value: str) -> str:
    if value not in ("no", "ne"):
        raise ValueError(
            "no (no DLT in the window) or ne (not evaluable), got "
            f"{value[:20]!r}; a DLT is recorded as the adverse event that meets the criteria"
        )
    return value


def _csrf_text(value: str) -> str:
    """The service's CSRF tokens are hex: anything not printable ASCII was not made here."""
    if not all(0x21 <= ord(c) <= 0x7E for c in value):
        raise ValueError("not a token this service issued; reload the page")
    return value


# The pages' form fields: the API's bounds, with numbers and dates left as the text typed
# (the service parses them and names the field). A choice outside a form's options is an
# error, never read as the default: a DLT form saying "maybe" records nothing.
_LINE_RULE = {"pattern": r"^[^\u0000-\u001f\u007f]*$"}
FormCsrf = Annotated[
    str,
    Form(max_length=128, json_schema_extra={"pattern": "^[!-~]*$"}),
    AfterValidator(_csrf_text),
]
FormLine40 = Annotated[
    str, Form(max_length=40, json_schema_extra=_LINE_RULE), AfterValidator(_one_line)
]
FormLine80 = Annotated[
    str, Form(max_length=80, json_schema_extra=_LINE_RULE), AfterValidator(_one_line)
]
FormLine200 = Annotated[
    str, Form(max_length=200, json_schema_extra=_LINE_RULE), AfterValidator(_one_line)
]
FormNote = Annotated[
    str,
    Form(max_length=MAX_NOTE, json_schema_extra=MULTI_LINE.json_schema_extra),
    AfterValidator(_note),
]
FormDate = Annotated[
    str,
    Form(max_length=10, json_schema_extra={"pattern": f"^$|^{_DAY}$"}),
    AfterValidator(_date_text),
]
FormInstant = Annotated[
    str,
    Form(max_length=40, json_schema_extra=AN_INSTANT.json_schema_extra),
    AfterValidator(_instant_text),
]
FormPassword = Annotated[
    str, Form(max_length=1024, json_schema_extra=_LINE_RULE), AfterValidator(_one_line)
]
#: A checkbox: "yes" when ticked, absent (the default, "no") when not.
FormYesNo = Annotated[Literal["yes", "no"], Form()]


#: The API's record collections and the record type each holds.
COLLECTIONS = {
    "subjects": "subject",
    "infusions": "infusion",
    "aes": "adverse_event",
    "dlt-assessments": "dlt_assessment",
    "responses": "response",
    "follow-ups": "follow_up",
    "biomarkers": "biomarker",
}


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: Text80
    password: Password


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

    def sign(value: str) -> str:
        return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()

    def same(given: str, expected: str) -> bool:
        """Constant-time comparison of a token (bytes: a non-ASCII forgery is just wrong)."""
        return hmac.compare_digest(given.encode(), expected.encode())

    def client_address(request: Request) -> str:
        """The client's address (behind a proxy, run uvicorn with --proxy-headers and
        --forwarded-allow-ips so this is the client's, not the proxy's)."""
        return request.client.host if request.client else "unknown"

    def over_https(request: Request) -> bool:
        flag = os.environ.get("EARLYPHASE_HTTPS", "").strip().lower()
        return request.url.scheme == "https" or flag in ("1", "true", "yes")

    def make_session(user: User, request: Request) -> str:
        """A new server-side session (its random identifier goes in the cookie)."""
        return service.start_session(user, client_address(request))

    def session_user(request: Request) -> tuple[User, str] | None:
        """The signed-in user and the session's CSRF token (an HMAC of the session id), or
        None when the session is unknown, ended, idle too long or past its limit."""
        raw = request.cookies.get(SESSION_COOKIE)
        if not raw or len(raw) > 128:
            return None
        user = service.session_user(raw)
        return (user, sign("csrf:" + raw)) if user is not None else None

    def api_user(request: Request) -> User:
        """The API's caller, by bearer token. A session cookie is accepted for reading only
        (GET, HEAD: the dashboard links the report): a write needs the token, which a forged
        cross-site request cannot carry (OWASP CSRF Prevention Cheat Sheet)."""
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return service.user_from_token(auth[7:].strip())
        found = session_user(request)
        if found is None:
            raise PermissionDenied("token: sign in or send an API token")
        if request.method not in ("GET", "HEAD"):
            raise PermissionDenied(
                "token: changes through the API need an API token (Authorization: Bearer);"
                " a session cookie is not enough"
            )
        return found[0]

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
            body.conduct,
        )
        return {
            "name": t.name,
            "design": t.design_name,
            "cohort_size": t.cohort_size,
            "conduct": t.conduct,
        }

    @app.get("/api/trials/{name}")
    def trial_status(name: TrialPath, user: User = Depends(api_user)) -> dict[str, Any]:
        return service.status(user, name)

    @app.get("/api/trials/{name}/recommendation")
    def recommendation(name: TrialPath, user: User = Depends(api_user)) -> dict[str, Any]:
        return service.recommendation(user, name)

    def latest_id(user: User, name: str) -> int | None:
        latest = service.recommendation(user, name)["latest"]
        return None if latest is None else int(latest["id"])

    def new_decision(user: User, name: str, before: int | None) -> dict[str, Any] | None:
        """The decision an entry froze (completing its cohort), if it did."""
        latest = service.recommendation(user, name)["latest"]
        if latest is None or latest["id"] == before:
            return None
        keys = ("id", "reason", "next_dose", "stop")
        return {k: latest[k] for k in keys}

    @app.post("/api/trials/{name}/subjects", status_code=201)
    def enrol(name: TrialPath, body: EnrolIn, user: User = Depends(api_user)) -> dict[str, Any]:
        subj = service.enrol(user, name, body.code, body.weight_kg, body.site, body.enrolled_on)
        return {"id": subj.id, "code": subj.code, "cohort_id": subj.cohort_id}

    @app.post("/api/trials/{name}/subjects/{code}/infusions", status_code=201)
    def infusion(
        name: TrialPath, code: str, body: InfusionIn, user: User = Depends(api_user)
    ) -> dict[str, Any]:
        inf = service.record_infusion(
            user,
            name,
            code,
            body.infused_at or "",
            body.cells_per_kg,
            body.lot,
            body.lot_released,
            body.number,
            body.deviation_reason,
        )
        return {
            "id": inf.id,
            "number": inf.number,
            "total_cells": inf.total_cells,
            "deviation": inf.deviation,
        }

    @app.post("/api/trials/{name}/subjects/{code}/dlt", status_code=201)
    def dlt(
        name: TrialPath, code: str, body: DltIn, user: User = Depends(api_user)
    ) -> dict[str, Any]:
        """The end-of-window DLT assessment (no DLT, or not evaluable)."""
        dec = service.record_dlt(
            user, name, code, body.dlt, body.description, body.assessed_on, body.evaluable
        )
        return {
            "decision": None
            if dec is None
            else {"id": dec.id, "reason": dec.reason, "next_dose": dec.next_dose, "stop": dec.stop}
        }

    @app.post("/api/trials/{name}/subjects/{code}/aes", status_code=201)
    def ae(
        name: TrialPath, code: str, body: AeIn, user: User = Depends(api_user)
    ) -> dict[str, Any]:
        """An adverse event; ``dlt: true`` when it meets the DLT criteria (it may complete the
        cohort: the decision it froze is returned)."""
        before = latest_id(user, name)
        rec = service.record_ae(
            user,
            name,
            code,
            body.soc,
            body.pt,
            body.grade,
            body.serious,
            body.related,
            body.onset_on,
            body.resolved_on,
            body.dlt,
        )
        return {"id": rec.id, "decision": new_decision(user, name, before)}

    @app.patch("/api/aes/{ae_id}")
    def ae_grade(
        ae_id: RecordId, body: AeGradeChange, user: User = Depends(api_user)
    ) -> dict[str, Any]:
        """Correct an adverse event's grade; the reason and the old grade go to the audit trail."""
        rec = service.change_ae_grade(user, ae_id, body.grade, body.reason)
        return {"id": rec.id, "grade": rec.grade}

    @app.post("/api/trials/{name}/subjects/{code}/responses", status_code=201)
    def response(
        name: TrialPath, code: str, body: ResponseIn, user: User = Depends(api_user)
    ) -> dict[str, Any]:
        rec = service.record_response(user, name, code, body.visit, body.value, body.assessed_on)
        return {"id": rec.id}

    @app.post("/api/trials/{name}/subjects/{code}/follow-up", status_code=201)
    def follow_up(
        name: TrialPath, code: str, body: FollowUpIn, user: User = Depends(api_user)
    ) -> dict[str, Any]:
        return {"id": service.record_follow_up(user, name, code, body.last_on, body.died).id}

    @app.post("/api/trials/{name}/subjects/{code}/biomarkers", status_code=201)
    def biomarker(
        name: TrialPath, code: str, body: BiomarkerIn, user: User = Depends(api_user)
    ) -> dict[str, Any]:
        rec = service.record_biomarker(
            user, name, code, body.parameter, body.measured_on, body.value, body.baseline
        )
        return {"id": rec.id}

    def record_kind(collection: str) -> str:
        if collection not in COLLECTIONS:
            raise ConductError(f"collection: one of {', '.join(COLLECTIONS)}, got {collection!r}")
        return COLLECTIONS[collection]

    def record_ref(kind: str, record: str) -> int | str:
        if kind == "subject" and not (record.isascii() and record.isdigit()):
            return record  # a subject by its code
        number = record.isascii() and record.isdigit() and len(record) <= 10
        if not number or not 1 <= int(record) <= MAX_INT:
            raise ConductError(f"{kind}: not a record number, got {record[:40]!r}")
        return int(record)

    @app.patch("/api/trials/{name}/{collection}/{record}")
    def correct(
        name: TrialPath,
        collection: str,
        record: str,
        body: CorrectionIn,
        user: User = Depends(api_user),
    ) -> dict[str, Any]:
        """Correct fields of a record (subjects by code or id; the others by id) with a
        required reason; each old value stays in the audit trail."""
        kind = record_kind(collection)
        row = service.correct(user, name, kind, record_ref(kind, record), body.changes, body.reason)
        return {"id": row.id, "kind": kind, "corrected": sorted(body.changes)}

    @app.post("/api/trials/{name}/{collection}/{record}/void")
    def void(
        name: TrialPath, collection: str, record: str, body: VoidIn, user: User = Depends(api_user)
    ) -> dict[str, Any]:
        """Void a record with a required reason (kept, left out of analyses)."""
        kind = record_kind(collection)
        row = service.void(user, name, kind, record_ref(kind, record), body.reason)
        return {"id": row.id, "kind": kind, "voided": row.voided, "reason": row.void_reason}

    @app.get("/api/decisions/{decision_id}/review")
    def review(decision_id: RecordId, user: User = Depends(api_user)) -> dict[str, Any]:
        return service.review(user, decision_id)

    @app.post("/api/decisions/{decision_id}/confirm")
    def confirm(
        decision_id: RecordId, body: ConfirmIn, user: User = Depends(api_user)
    ) -> dict[str, Any]:
        dec = service.confirm_decision(
            user, decision_id, body.password, body.meaning, body.dose, body.reason
        )
        return {
            "id": dec.id,
            "signer": dec.signer_name,
            "meaning": dec.signature_meaning,
            "verdict": dec.verdict,
            "approved_dose": dec.approved_dose,
            "confirmed_at": dec.confirmed_at.isoformat() if dec.confirmed_at else None,
        }

    @app.post("/api/trials/{name}/decide", status_code=201)
    def decide_now(name: TrialPath, user: User = Depends(api_user)) -> dict[str, Any]:
        """Ask a design that decides while subjects are pending for the next dose, from the
        follow-up as of today (422 naming the reason when it suspends accrual or waits)."""
        dec = service.decide_now(user, name)
        detail = dec.detail or {}
        return {
            "id": dec.id,
            "reason": dec.reason,
            "next_dose": dec.next_dose,
            "stop": dec.stop,
            "as_of": detail.get("as_of"),
            "follow_up": detail.get("follow_up", []),
        }

    @app.post("/api/decisions/{decision_id}/recompute", status_code=201)
    def recompute(
        decision_id: RecordId, body: RecomputeIn, user: User = Depends(api_user)
    ) -> dict[str, Any]:
        dec = service.recompute_decision(user, decision_id, body.reason)
        return {"id": dec.id, "reason": dec.reason, "next_dose": dec.next_dose, "stop": dec.stop}

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
    def report(name: TrialPath, user: User = Depends(api_user)) -> HTMLResponse:
        import tempfile

        from earlyphase.conduct.reporting import stored_trial_report
        from earlyphase.report import render_report

        if user.role == "investigator":
            raise PermissionDenied("role: the report covers every site; ask a statistician")
        trial, design = stored_trial_report(service, name)
        with tempfile.TemporaryDirectory() as tmp:
            out = render_report(trial, Path(tmp) / "report.html", design=design)
            page = out.read_text(encoding="utf-8")
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
    def login_form(request: Request, msg: str = "") -> HTMLResponse:
        """The sign-in form. Its CSRF token is an HMAC of a random pre-session cookie (OWASP
        signed double-submit cookie), so another site cannot sign a browser in under the
        attacker's account (login CSRF)."""
        nonce = request.cookies.get(LOGIN_COOKIE, "")
        fresh = not (16 <= len(nonce) <= 64)
        if fresh:
            nonce = secrets.token_urlsafe(24)
        note = f"<p class='msg' id='msg'>{html.escape(msg)}</p>" if msg else ""
        resp = page(
            "Sign in",
            f"<h1>earlyphase</h1>{note}<form method='post' action='/login'>"
            f"<input type='hidden' name='csrf' value='{sign('login:' + nonce)}'>"
            "<label>User <input name='username' id='username' autocomplete='username'></label> "
            "<label>Password <input type='password' name='password' id='password'"
            " autocomplete='current-password'></label> "
            "<button type='submit' id='signin'>Sign in</button></form>",
        )
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
        from urllib.parse import quote

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
        user, csrf = found
        return page(
            "Sign out",
            f"<p>Signed in as {html.escape(user.full_name)} ({user.role})</p>"
            "<form method='post' action='/logout'>"
            f"<input type='hidden' name='csrf' value='{csrf}'>"
            "<button type='submit' id='signout'>Sign out</button></form>",
        )

    @app.post("/logout")
    def logout(request: Request, csrf: str = Form("")) -> Response:
        """Sign out: the session is revoked on the server, not only forgotten by the
        browser (OWASP Session Management Cheat Sheet)."""
        from urllib.parse import quote

        found = session_user(request)
        if found is not None and not same(csrf, found[1]):
            msg = "csrf: the form is stale or forged; reload the page"
            return RedirectResponse(f"/?msg={quote(msg)}", status_code=303)
        raw = request.cookies.get(SESSION_COOKIE)
        if found is not None and raw:
            service.end_session(raw)
        resp = RedirectResponse("/login?msg=signed%20out", status_code=303)
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
                "<p><label>trial name <input name='name' id='trial-name' required></label> "
                "<label>design <select name='design' id='trial-design'>"
                + "".join(
                    f"<option value='{html.escape(k)}'>{html.escape(v)}</option>"
                    for k, v in DESIGN_CHOICES
                )
                + "</select></label> "
                "<label>dose levels, e.g. 0.5,1,2 (phase II: 1) <input name='doses' "
                "id='trial-doses' required></label></p>"
                "<p>Settings of the chosen design (a blank field keeps its default):</p>"
                + _settings_fieldsets()
                + _conduct_fieldset()
                + '<p><label>or settings as JSON, e.g. {"skeleton": [0.05, 0.15, 0.3]} <input'
                " name='settings' size='60' id='trial-settings'></label> "
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
        csrf: FormCsrf = "",
        name: FormLine200 = "",
        design: FormLine40 = "3+3",
        doses: Annotated[str, Form(max_length=2000), AfterValidator(_one_line)] = "",
        settings_json: Annotated[
            str, Form(max_length=10_000, alias="settings"), AfterValidator(_note)
        ] = "",
        form: Any = Depends(_form_data),
    ) -> Response:
        from urllib.parse import quote

        if design not in dict(DESIGN_CHOICES):  # the form's select offers only these
            choices = ", ".join(k for k, _ in DESIGN_CHOICES)
            raise RequestValidationError(
                [{"type": "value_error", "loc": ("body", "design"), "msg": f"one of {choices}"}]
            )
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
                except (ValueError, RecursionError) as exc:
                    raise ConductError(f"settings: not valid JSON ({exc})") from None
                if not isinstance(extra, dict):
                    raise ConductError('settings: a JSON object, e.g. {"n_cohorts": 10}')
                settings.update(extra)
            t = service.create_trial(
                user, name, design, settings, levels, conduct=_form_conduct(form)
            )
            return RedirectResponse(f"/trials/{quote(t.name)}?msg=trial%20created", status_code=303)
        except ConductError as exc:
            return RedirectResponse(f"/?msg={quote(str(exc))}", status_code=303)

    @app.get("/trials/{name}", response_class=HTMLResponse)
    def dashboard(name: TrialPath, request: Request, msg: str = "") -> Response:
        found = session_user(request)
        if found is None:
            return RedirectResponse("/login", status_code=303)
        user, csrf = found
        try:
            st, design_rules = service.status_and_rules(user, name, depth=1)
        except ConductError as exc:
            return page("Error", f"<p class='msg'>{html.escape(str(exc))}</p>")
        from earlyphase.conduct.records import dose_label

        esc = html.escape
        rows = "".join(
            f"<tr><td>{c['number']}</td><td>"
            f"{dose_label(c['dose_level'], c['dose'], st['dose_unit'])}</td>"
            f"<td>{c['enrolled']}/{c['size']}</td><td>"
            + ", ".join(
                f"<a href='/trials/{quote(name)}/subjects/{quote(code)}'>{esc(code)}</a>"
                for code in c["subjects"]
            )
            + "</td></tr>"
            for c in st["cohorts"]
        )
        decs = ""
        today = _today(st["conduct"]["time_zone"])
        for d in st["decisions"]:
            review = f"<a href='/decisions/{d['id']}/review' id='review-{d['id']}'>review</a> "
            if d["confirmed"]:
                action = "signed by " + esc(d["signer"] or "") + ": " + esc(d["meaning"] or "")
            elif user.role == "statistician":
                action = (
                    f"<form method='post' action='/decisions/{d['id']}/confirm'>"
                    f"<input type='hidden' name='csrf' value='{csrf}'>"
                    f"<input type='hidden' name='trial' value='{esc(name)}'>"
                    "<select name='meaning' id='sign-meaning'>"
                    "<option value='approve'>approve the recommendation</option>"
                    "<option value='approve_other_dose'>approve a different dose</option>"
                    "<option value='stop'>stop the trial</option>"
                    "<option value='reject'>reject (enrolment stays paused)</option></select> "
                    "<label>dose level (a different dose) <input name='dose' size='4'"
                    " id='sign-dose'></label> "
                    "<label>reason <input name='reason' id='sign-reason'></label> "
                    "<label>password <input type='password' name='password'"
                    " id='sign-password' autocomplete='current-password'></label> "
                    "<button type='submit' id='sign'>Sign</button></form>"
                )
            else:
                action = "awaiting the statistician's signature"
            if d["data_changed"]:
                action += (
                    f"<br><strong class='changed'>{esc(d['data_changed_label'])}</strong>: "
                    f"<small>{esc(d['data_changed_note'] or '')}</small>"
                )
            nxt = (
                "stop"
                if d["stop"]
                else dose_label(
                    d["next_dose"], st["dose_levels"][d["next_dose"] - 1], st["dose_unit"]
                )
            )
            decs += (
                f"<tr><td>{d['after_cohort']}</td><td>{esc(d['outcomes'])}</td><td>{esc(d['reason'])}"
                f"</td><td id='decision-{d['id']}'>{nxt}</td><td>{review}{action}</td></tr>"
            )
        devs = "".join(
            f"<li>{esc(x['code'])} infusion {x['number']} ({esc(x['infused_at'] or '')}): "
            f"{x['cells_per_kg']:g} for {x['assigned']:g}: {esc(x['reason'] or '')}</li>"
            for x in st["deviations"]
        )
        if devs:
            devs = f"<h2>Dose deviations</h2><ul id='deviations'>{devs}</ul>"
        forms = ""
        date_in = f"type='date' value='{today}'"
        if user.role in ("admin", "investigator"):
            forms = (
                f"<h2>Enrol</h2><form method='post' action='/trials/{esc(name)}/enrol'>"
                f"<input type='hidden' name='csrf' value='{csrf}'>"
                "<label>subject code <input name='code' id='code' required></label> "
                "<label>weight (kg) <input name='weight_kg' id='weight' inputmode='decimal'"
                " required></label> "
                f"<label>enrolled <input name='enrolled_on' {date_in} id='enrolled-on'></label> "
                + (
                    "<label>site <input name='site' id='site'></label> "
                    if user.role == "admin"
                    else ""
                )
                + "<button type='submit' id='enrol'>Enrol</button></form>"
                f"<h2>Infusion</h2><form method='post' action='/trials/{esc(name)}/infusion'>"
                f"<input type='hidden' name='csrf' value='{csrf}'>"
                "<label>subject code <input name='code' id='inf-code' required></label> "
                "<label>date and time <input type='datetime-local' name='infused_at'"
                " id='inf-at'></label> "
                "<label>infusion number <input name='number' size='3' id='inf-number'"
                " inputmode='numeric'></label> "
                f"<label>dose given ({esc(st['dose_unit'])}) <input name='cells_per_kg'"
                " id='inf-dose' inputmode='decimal' required></label> "
                "<label>lot <input name='lot' id='inf-lot'></label> "
                "<label>reason for a dose outside the tolerance <input"
                " name='deviation_reason' id='inf-deviation'></label> "
                "<button type='submit' id='record-infusion'>Record</button></form>"
                f"<h2>Adverse event</h2><form method='post' action='/trials/{esc(name)}/ae'>"
                f"<input type='hidden' name='csrf' value='{csrf}'>"
                "<label>subject code <input name='code' id='ae-code' required></label> "
                "<label>system organ class <input name='soc' id='ae-soc' required></label> "
                "<label>preferred term <input name='pt' id='ae-pt' required></label> "
                "<label>grade <select name='grade' id='ae-grade' required>"
                "<option value=''>choose</option>"
                + "".join(f"<option value='{g}'>{g}</option>" for g in range(1, 6))
                + "</select></label> "
                f"<label>onset <input name='onset_on' {date_in} id='ae-onset'></label> "
                "<label>resolved <input name='resolved_on' type='date' id='ae-resolved'></label> "
                "<label><input type='checkbox' name='serious' value='yes' id='ae-serious'>"
                " serious</label> "
                "<label><input type='checkbox' name='related' value='yes' id='ae-related'>"
                " related</label> "
                "<label><input type='checkbox' name='dlt' value='yes' id='ae-dlt'> meets the"
                " DLT criteria</label> "
                "<button type='submit' id='record-ae'>Record</button></form>"
                "<h2>DLT assessment (end of window)</h2>"
                f"<form method='post' action='/trials/{esc(name)}/dlt'>"
                f"<input type='hidden' name='csrf' value='{csrf}'>"
                "<label>subject code <input name='code' id='dlt-code' required></label> "
                f"<label>assessed on <input name='assessed_on' {date_in} id='dlt-date'></label> "
                "<label>outcome <select name='dlt' id='dlt-value' required>"
                "<option value=''>choose</option><option value='no'>no DLT in the window"
                "</option><option value='ne'>not evaluable</option></select></label> "
                "<label>why not evaluable <input name='description' id='dlt-why'></label> "
                "<button type='submit' id='record-dlt'>Record</button></form>"
                f"<h2>Response</h2><form method='post' action='/trials/{esc(name)}/response'>"
                f"<input type='hidden' name='csrf' value='{csrf}'>"
                "<label>subject code <input name='code' id='resp-code' required></label> "
                "<label>visit (e.g. Day 28) <input name='visit' id='resp-visit'></label> "
                f"<label>assessed on <input name='assessed_on' {date_in} id='resp-date'></label> "
                "<label>response <select name='value' id='resp-value' required>"
                "<option value=''>choose</option>"
                + "".join(f"<option>{v}</option>" for v in ("CR", "PR", "SD", "PD", "NR", "NE"))
                + "</select></label> "
                "<button type='submit' id='record-response'>Record</button></form>"
            )
        rules = decision_rules_html(name, design_rules)
        note = f"<p class='msg' id='msg'>{esc(msg)}</p>" if msg else ""
        pending = "".join(
            f"<tr><td><a href='/trials/{quote(name)}/subjects/{quote(p['code'])}'>"
            f"{esc(p['code'])}</a></td><td>{p['cohort']}</td><td>"
            + dose_label(p["dose_level"], st["dose_levels"][p["dose_level"] - 1], st["dose_unit"])
            + "</td><td>"
            + (
                f"day {p['day_of_window']} of {p['window_days']}"
                if p["day_of_window"] is not None and p["day_of_window"] <= p["window_days"]
                else f"window ended {esc(p['window_end'] or '')}: DLT assessment due"
                if p["day_of_window"] is not None
                else "window not started"
            )
            + f"</td><td>{p['follow_up_days']:g} of {p['window_days']}</td></tr>"
            for p in st["pending"]
        )
        ask = (
            f"<form method='post' action='/trials/{esc(name)}/decide'>"
            f"<input type='hidden' name='csrf' value='{csrf}'>"
            "<button type='submit' id='decide'>Ask the design for the next dose (follow-up as"
            " of today)</button></form>"
            if st["waiting"] and st["decides_while_pending"] and user.role != "monitor"
            else ""
        )
        pending_html = (
            f"<h2>Pending subjects</h2><p id='pending-rule'>{esc(st['pending_rule'])}</p>"
            + (
                "<table id='pending'><tr><th>Subject</th><th>Cohort</th><th>Dose</th>"
                f"<th>DLT window (as of {esc(st['as_of'])})</th><th>Follow-up (days)</th></tr>"
                f"{pending}</table>"
                if pending
                else "<p>No subject is pending.</p>"
            )
            + (f"<p class='msg' id='waiting'>{esc(st['waiting'])}</p>" if st["waiting"] else "")
            + ask
        )
        return page(
            name,
            f"<p><a href='/'>Trials</a> | {esc(user.full_name)} ({user.role})</p>"
            f"<h1>{esc(name)}</h1>{note}<p>Design: {esc(st['design'])}. Outcomes so far: "
            f"<code id='outcomes'>{esc(st['outcomes']) or '-'}</code> <small>(per cohort: its "
            "dose level's number, then each subject: T a DLT, N no DLT, P pending (designs that"
            " decide while subjects are pending); subjects not evaluable are left out)"
            "</small></p>"
            f"<h2>Cohorts</h2><table><tr><th>Cohort</th><th>Dose</th><th>Enrolled</th>"
            f"<th>Subjects</th></tr>{rows}</table>{pending_html}"
            f"<h2>Decisions</h2><table><tr><th>After cohort</th><th>Data</th><th>Rule</th>"
            f"<th>Next</th><th>Signature</th></tr>{decs}</table>{devs}{forms}{rules}"
            + (
                f"<p><a id='report' href='/api/trials/{esc(name)}/report'>Report</a></p>"
                if user.role != "investigator"
                else ""
            ),
        )

    def decision_rules_html(name: str, found: tuple[tuple[Any, ...], Any] | None = None) -> str:
        """The protocol's decision table for the trial's design (``found``: the design and
        its table's key, when the caller read them), computed once per design; a table too
        large to compute is named instead of shown."""
        from earlyphase.conduct.cache import TABLES, check_paths

        try:
            key, design = found if found is not None else service.rules_design(name, depth=1)
            if getattr(design, "table_by_paths", False):
                check_paths(design, 1)
        except ConductError as exc:
            return f"<h2>Decision rules</h2><p class='msg'>{html.escape(str(exc))}</p>"

        def table() -> str:
            frame = decision_rules(design, depth=1)
            return str(frame.to_html(index=False, border=0, na_rep=""))

        return "<h2>Decision rules</h2>" + TABLES.get(("html", *key), table)

    def form_user(request: Request, csrf: str) -> User:
        found = session_user(request)
        if found is None:
            raise PermissionDenied("session: sign in again")
        if not same(csrf, found[1]):
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
        name: TrialPath,
        request: Request,
        csrf: FormCsrf = "",
        code: FormLine40 = "",
        weight_kg: FormLine40 = "",
        enrolled_on: FormDate = "",
        site: FormLine200 = "",
    ) -> Response:
        def action(user: User) -> str:
            service.enrol(user, name, code, weight_kg, site or None, enrolled_on or None)  # type: ignore[arg-type]
            return f"{code} enrolled"

        return submit(name, request, csrf, action)

    @app.post("/trials/{name}/decide")
    def decide_form(name: TrialPath, request: Request, csrf: FormCsrf = "") -> Response:
        def action(user: User) -> str:
            dec = service.decide_now(user, name)
            return (
                f"the design recommends, from the follow-up as of today: {dec.reason}; the "
                "decision awaits the statistician's signature"
            )

        return submit(name, request, csrf, action)

    def recommends(user: User, name: str, before: int | None) -> str:
        dec = new_decision(user, name, before)
        return "" if dec is None else f"; the design recommends: {dec['reason']}"

    @app.post("/trials/{name}/dlt")
    def dlt_form(
        name: TrialPath,
        request: Request,
        csrf: FormCsrf = "",
        code: FormLine40 = "",
        assessed_on: FormDate = "",
        dlt: Annotated[str, Form(), AfterValidator(_dlt_choice)] = "no",
        description: FormNote = "",
    ) -> Response:
        def action(user: User) -> str:
            before = latest_id(user, name)
            service.record_dlt(
                user, name, code, False, description, assessed_on, evaluable=dlt == "no"
            )
            return f"DLT assessment of {code} recorded{recommends(user, name, before)}"

        return submit(name, request, csrf, action)

    @app.post("/trials/{name}/infusion")
    def infusion_form(
        name: TrialPath,
        request: Request,
        csrf: FormCsrf = "",
        code: FormLine40 = "",
        infused_at: FormInstant = "",
        number: FormLine40 = "",
        cells_per_kg: FormLine40 = "",
        lot: FormLine80 = "",
        deviation_reason: FormNote = "",
    ) -> Response:
        def action(user: User) -> str:
            inf = service.record_infusion(
                user,
                name,
                code,
                infused_at,
                cells_per_kg,  # type: ignore[arg-type]
                lot,
                True,
                number or None,  # type: ignore[arg-type]
                deviation_reason or None,
            )
            dev = " (dose deviation recorded)" if inf.deviation else ""
            return f"infusion recorded: {inf.total_cells:g} x 10^6 cells{dev}"

        return submit(name, request, csrf, action)

    @app.post("/trials/{name}/ae")
    def ae_form(
        name: TrialPath,
        request: Request,
        csrf: FormCsrf = "",
        code: FormLine40 = "",
        soc: FormLine200 = "",
        pt: FormLine200 = "",
        grade: FormLine40 = "",
        onset_on: FormDate = "",
        resolved_on: FormDate = "",
        serious: FormYesNo = "no",
        related: FormYesNo = "no",
        dlt: FormYesNo = "no",
    ) -> Response:
        def action(user: User) -> str:
            before = latest_id(user, name)
            service.record_ae(
                user,
                name,
                code,
                soc,
                pt,
                grade,  # type: ignore[arg-type]
                serious == "yes",
                related == "yes",
                onset_on,
                resolved_on or None,
                dlt == "yes",
            )
            kind = "DLT" if dlt == "yes" else "adverse event"
            return f"{kind} recorded for {code}{recommends(user, name, before)}"

        return submit(name, request, csrf, action)

    @app.post("/trials/{name}/response")
    def response_form(
        name: TrialPath,
        request: Request,
        value: Annotated[Literal["CR", "PR", "SD", "PD", "NR", "NE"], Form()],
        csrf: FormCsrf = "",
        code: FormLine40 = "",
        visit: FormLine40 = "",
        assessed_on: FormDate = "",
    ) -> Response:
        def action(user: User) -> str:
            service.record_response(user, name, code, visit, value, assessed_on)
            return f"response {value} recorded for {code}"

        return submit(name, request, csrf, action)

    @app.post("/decisions/{decision_id}/confirm")
    def confirm_form(
        decision_id: RecordId,
        request: Request,
        trial: FormLine200,  # the page's hidden field: where to go back to
        csrf: FormCsrf = "",
        password: FormPassword = "",
        meaning: Annotated[
            Literal["approve", "approve_other_dose", "stop", "reject"], Form()
        ] = "approve",
        dose: FormLine40 = "",
        reason: FormNote = "",
    ) -> Response:
        def action(user: User) -> str:
            service.confirm_decision(
                user,
                decision_id,
                password,
                meaning,
                dose or None,  # type: ignore[arg-type]
                reason or None,
            )
            return "decision signed"

        return submit(trial, request, csrf, action)

    @app.get("/decisions/{decision_id}/review", response_class=HTMLResponse)
    def review_page(decision_id: RecordId, request: Request) -> Response:
        """The cohort's data, the recommendation with its rule, and the earlier decisions."""
        found = session_user(request)
        if found is None:
            return RedirectResponse("/login", status_code=303)
        try:
            rv = service.review(found[0], decision_id)
        except ConductError as exc:
            return page("Error", f"<p class='msg'>{html.escape(str(exc))}</p>")
        return page(f"Review of decision {decision_id}", _review_html(rv))

    @app.get("/trials/{name}/packet", response_class=HTMLResponse)
    def packet_page(name: TrialPath, request: Request) -> Response:
        """The safety review packet for the escalation meeting (print it, or take the PDF)."""
        found = session_user(request)
        if found is None:
            return RedirectResponse("/login", status_code=303)
        from earlyphase.conduct.packet import render_packet

        try:
            return HTMLResponse(render_packet(service.safety_packet(found[0], name)))
        except ConductError as exc:
            return page("Error", f"<p class='msg'>{html.escape(str(exc))}</p>")

    @app.get("/trials/{name}/packet.pdf")
    def packet_pdf(name: TrialPath, request: Request) -> Response:
        """The packet printed to A4 PDF by headless Chromium."""
        found = session_user(request)
        if found is None:
            return RedirectResponse("/login", status_code=303)
        import tempfile

        from earlyphase.conduct.packet import render_packet
        from earlyphase.report import write_pdf

        try:
            text_ = render_packet(service.safety_packet(found[0], name))
            with tempfile.TemporaryDirectory() as tmp:
                source = Path(tmp) / "packet.html"
                source.write_text(text_, encoding="utf-8")
                pdf = write_pdf(source, Path(tmp) / "packet.pdf").read_bytes()
        except ConductError as exc:
            return page("Error", f"<p class='msg'>{html.escape(str(exc))}</p>")
        except ValueError as exc:  # no Chromium on this server
            return page("PDF unavailable", f"<p class='msg'>{html.escape(str(exc))}</p>")
        return Response(
            pdf,
            media_type="application/pdf",
            headers={"Content-Disposition": 'inline; filename="safety-review-packet.pdf"'},
        )

    from earlyphase.conduct.web_pages import register_pages

    register_pages(app, service, session_user, form_user)
    app.add_middleware(SecurityHeaders)
    app.state.service = service
    return app


def app_from_env() -> FastAPI:
    """Factory for several server processes (``uvicorn --factory``): the database and the
    session secret come from EARLYPHASE_DATABASE and EARLYPHASE_SECRET, shared by all workers."""
    import os

    return create_app(os.environ.get("EARLYPHASE_DATABASE"), os.environ.get("EARLYPHASE_SECRET"))
