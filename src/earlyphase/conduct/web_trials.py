"""Trials over the web: the list of trials, and a new trial created through the API or from the
form generated from the design's settings and the protocol's conduct settings."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import (
    HTMLResponse,
    RedirectResponse,
    Response,
)
from pydantic import (
    AfterValidator,
)

from earlyphase.conduct.models import User
from earlyphase.conduct.protocol import CONDUCT_DESIGNS, service_settings
from earlyphase.conduct.service import ConductError
from earlyphase.conduct.web_common import (
    FormCsrf,
    FormLine40,
    FormLine200,
    TrialIn,
    Web,
    _note,
    _one_line,
)
from earlyphase.designs.settings import (
    CONDUCT,
    TITLES,
    Setting,
    coerce,
    describe_setting,
    settings_for,
)

#: The designs a new trial may use, as the form offers them: every design the service runs,
#: titled as the registry titles it.
DESIGN_CHOICES = tuple((key, TITLES.get(key, key)) for key in CONDUCT_DESIGNS)


#: Settings the form does not ask per design: the dose levels are the form's own field, and
#: a time-to-event design's window is the protocol's DLT window (the conduct settings).
_FORM_SKIPS = ("n_doses", "dose_values", "unit", "window")


def _form_settings(design: str) -> list[Setting]:
    """The settings the trial form asks for ``design``: the registry's, plus those the service
    takes for it (the response endpoint of the designs counting responses, the backfill
    group of BOIN and 3+3)."""
    own = [s for s in settings_for(design) if s.name not in _FORM_SKIPS]
    names = {s.name for s in own}
    return own + [s for s in service_settings(design) if s.name not in names]


def _setting_field(design: str, s: Setting) -> dict[str, Any]:
    """One row of the trial form: the setting's field (blank = its default) and its help."""
    default = s.default_display()
    field: dict[str, Any] = {
        "name": f"{design}.{s.name}",
        "id": f"s-{design}-{s.name}".replace("+", "p"),
        "label": s.name,
        "help": describe_setting(s),
    }
    if s.type in ("bool", "choice"):
        field["options"] = ("on", "off") if s.type == "bool" else tuple(s.choices)
        field["blank"] = f"default ({default})" if default else "default"
    else:
        field["hint"] = f"default: {default}" if default else ("required" if s.required else "none")
    return field


def _settings_groups() -> list[dict[str, Any]]:
    """Every design's settings, each design a group the form folds under its name, then the
    protocol's conduct settings."""
    groups = [
        {
            "id": f"settings-{key.replace('+', 'p')}",
            "title": f"{label} settings",
            "fields": [_setting_field(key, s) for s in _form_settings(key)],
            "open": False,
        }
        for key, label in DESIGN_CHOICES
    ]
    groups.append(
        {
            "id": "settings-conduct",
            "title": "Conduct settings (DLT window, schedule, dose tolerance, time zone)",
            "fields": [_setting_field("conduct", s) for s in CONDUCT],
            "open": True,
        }
    )
    return groups


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


def _form_conduct(form: Any) -> dict[str, Any]:
    return {
        s.name: str(form.get(f"conduct.{s.name}", "") or "").strip()
        for s in CONDUCT
        if str(form.get(f"conduct.{s.name}", "") or "").strip()
    }


async def _form_data(request: Request) -> Any:
    return await request.form()


def add_routes(app: FastAPI, web: Web) -> None:
    """Register this room's routes on ``app``."""
    service = web.service
    session_user = web.session_user
    api_user = web.api_user
    render = web.render
    form_user = web.form_user

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

    @app.get("/", response_class=HTMLResponse)
    def home(request: Request, msg: str = "") -> Response:
        found = session_user(request)
        if found is None:
            return RedirectResponse("/login", status_code=303)
        user = found[0]
        return render(
            "trials.html",
            request,
            found,
            trials=[{"name": n, "url": quote(n, safe="")} for n in service.trial_names()],
            can_create=user.role in ("admin", "statistician"),
            designs=DESIGN_CHOICES,
            groups=_settings_groups() if user.role in ("admin", "statistician") else [],
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
            return RedirectResponse(
                f"/trials/{quote(t.name)}?msg=trial%20created&ok=1", status_code=303
            )
        except ConductError as exc:
            return RedirectResponse(f"/?msg={quote(str(exc))}", status_code=303)
