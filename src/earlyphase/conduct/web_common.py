"""What the service's web rooms share: the session cookies, what a request may hold (the
bounds and types every value is checked against before it reaches the service, and the API's
input models), and :class:`Web`, the service with the sign-in and form helpers each room's
routes use (built once per application by :func:`build_web`)."""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import Form, Request
from fastapi import Path as PathParam
from fastapi.responses import (
    HTMLResponse,
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

from earlyphase.conduct.entry import unprintable
from earlyphase.conduct.models import User
from earlyphase.conduct.protocol import CONDUCT_DESIGNS
from earlyphase.conduct.service import ConductError, PermissionDenied, TrialService
from earlyphase.conduct.web_templates import render as render_template
from earlyphase.designs.settings import (
    MAX_DOSE,
    MAX_DOSES,
)

SESSION_COOKIE = "earlyphase_session"
SESSION_SECONDS = 8 * 3600
#: The pre-session cookie the sign-in form's CSRF token is bound to (signed double submit).
LOGIN_COOKIE = "earlyphase_login"
LOGIN_COOKIE_SECONDS = 12 * 3600


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
#: A yes/no question the form asks with two radio buttons and nothing chosen beforehand: blank
#: when unanswered, which the route refuses by name.
FormAnswer = Annotated[Literal["yes", "no", ""], Form()]


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


def refusal_status(exc: ConductError) -> int:
    """The HTTP status of a page the service refused: 403 not allowed, 404 no such trial or
    record, 422 anything else it will not do (e.g. a computation too large)."""
    if isinstance(exc, PermissionDenied):
        return 403
    field, _, text = str(exc).partition(": ")
    return 404 if text.startswith("no ") and field in ("trial", "decision", "subject") else 422


@dataclass(frozen=True)
class Web:
    """The service and the session helpers every room's routes use."""

    service: TrialService
    sign: Callable[[str], str]
    same: Callable[[str, str], bool]
    client_address: Callable[[Request], str]
    over_https: Callable[[Request], bool]
    make_session: Callable[[User, Request], str]
    session_user: Callable[[Request], tuple[User, str] | None]
    api_user: Callable[[Request], User]
    render: Callable[..., HTMLResponse]
    message: Callable[..., HTMLResponse]
    form_user: Callable[[Request, str], User]
    back: Callable[..., RedirectResponse]
    submit: Callable[[str, Request, str, Callable[[User], str]], Response]
    latest_id: Callable[[User, str], int | None]
    new_decision: Callable[[User, str, int | None], dict[str, Any] | None]
    recommends: Callable[[User, str, int | None], str]


def build_web(service: TrialService, key: bytes) -> Web:
    """The helpers over ``service``; ``key`` signs the CSRF tokens."""

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

    # --- pages ---------------------------------------------------------------------------------
    def render(
        template: str,
        request: Request,
        found: tuple[User, str] | None,
        status_code: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        """``template`` for the signed-in user (``found``: the user and the session's CSRF
        token; None on the sign-in page), with the page's message from the query string:
        ``ok=1`` marks a success, anything else an error."""
        user, csrf = found if found is not None else (None, "")
        context.setdefault("msg", request.query_params.get("msg", "")[:2000])
        context.setdefault("ok", request.query_params.get("ok") == "1")
        return HTMLResponse(
            render_template(template, user=user, csrf=csrf, **context), status_code=status_code
        )

    def message(
        request: Request,
        found: tuple[User, str] | None,
        title: str,
        text: str,
        status_code: int = 200,
    ) -> HTMLResponse:
        """A page that only says ``text`` (an error, styled as one)."""
        return render("message.html", request, found, status_code, title=title, msg=text, ok=False)

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

    def form_user(request: Request, csrf: str) -> User:
        found = session_user(request)
        if found is None:
            raise PermissionDenied("session: sign in again")
        if not same(csrf, found[1]):
            raise PermissionDenied("csrf: the form is stale or forged; reload the page")
        return found[0]

    def back(name: str, text: str, ok: bool = False) -> RedirectResponse:
        return RedirectResponse(
            f"/trials/{quote(name)}?msg={quote(text)}{'&ok=1' if ok else ''}", status_code=303
        )

    def submit(name: str, request: Request, csrf: str, action: Callable[[User], str]) -> Response:
        """Check the session and its CSRF token, run ``action`` as the signed-in user and go
        back to the trial's dashboard with its message (styled as saved), or with the error
        naming the field (styled as not saved)."""
        try:
            return back(name, action(form_user(request, csrf)), ok=True)
        except ConductError as exc:
            return back(name, str(exc))

    def recommends(user: User, name: str, before: int | None) -> str:
        dec = new_decision(user, name, before)
        return "" if dec is None else f"; the design recommends: {dec['reason']}"

    return Web(
        service=service,
        sign=sign,
        same=same,
        client_address=client_address,
        over_https=over_https,
        make_session=make_session,
        session_user=session_user,
        api_user=api_user,
        render=render,
        message=message,
        form_user=form_user,
        back=back,
        submit=submit,
        latest_id=latest_id,
        new_decision=new_decision,
        recommends=recommends,
    )
