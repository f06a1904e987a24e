"""Enrolment over the web: the trial's status and recommendation, enrolment through the API and
the dashboard's form, and the dashboard itself (cohorts, pending subjects, decisions, entry
forms, the decision rules)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import Depends, FastAPI, Request
from fastapi.responses import (
    HTMLResponse,
    RedirectResponse,
    Response,
)
from markupsafe import Markup

from earlyphase.conduct.models import User
from earlyphase.conduct.records import GRADES, RESPONSES, dose_label, when, zone_text
from earlyphase.conduct.service import ConductError
from earlyphase.conduct.web_common import (
    EnrolIn,
    FormCsrf,
    FormDate,
    FormLine40,
    FormLine200,
    TrialPath,
    Web,
    refusal_status,
)
from earlyphase.conduct.web_decisions import decision_rules_html
from earlyphase.conduct.web_trials import _today
from earlyphase.designs.settings import TITLES


def _window_text(p: dict[str, Any]) -> str:
    """Where a pending subject stands in the DLT window, as the coordinator reads it."""
    day = p["day_of_window"]
    if day is None:
        return "window not started"
    if day <= p["window_days"]:
        return f"day {day} of {p['window_days']}"
    return f"window ended {p['window_end'] or ''}: DLT assessment due"


def placed_text(placed: dict[str, Any]) -> str:
    """Where the design placed a subject, as the coordinator confirms it on the dashboard."""
    dose = dose_label(placed["dose_level"], placed["dose"], placed["dose_unit"])
    if placed["arm"] == "backfill":
        return f"as a backfill subject at {dose}"
    return f"in cohort {placed['cohort']} at {dose}"


def dashboard_view(st: dict[str, Any], name: str, role: str) -> dict[str, Any]:
    """What the dashboard shows of the trial's status ``st`` to a user in ``role``: every
    dose named with its level, amount and unit, every subject with the link to its page."""
    trial_url = quote(name, safe="")
    unit = st["dose_unit"]

    def dose(level: int) -> str:
        return dose_label(level, st["dose_levels"][level - 1], unit)

    def subject(code: str) -> dict[str, str]:
        return {"code": code, "url": f"/trials/{trial_url}/subjects/{quote(code, safe='')}"}

    zone = ZoneInfo(st["conduct"]["time_zone"])
    decisions = [
        {
            **d,
            "signed_at": (
                when(dt.datetime.fromisoformat(d["confirmed_at"]), zone)
                if d["confirmed_at"]
                else None
            ),
            "next": "stop" if d["stop"] else dose(d["next_dose"]),
            "url": f"/trials/{trial_url}/decisions/{d['id']}",
        }
        for d in st["decisions"]
    ]
    backfill = st.get("backfill")
    codes = sorted(
        {code for c in st["cohorts"] for code in c["subjects"]}
        | {code for c in (backfill or {}).get("cohorts", []) for code in c["subjects"]}
    )
    nxt = st["next_subject"]
    return {
        "trial": name,
        "trial_url": trial_url,
        "design": TITLES.get(st["design"], st["design"]),
        "outcomes": st["outcomes"],
        "dose_unit": unit,
        "cohorts": [
            {
                "number": c["number"],
                "dose": dose(c["dose_level"]),
                "enrolled": c["enrolled"],
                "size": c["size"],
                "subjects": [subject(code) for code in c["subjects"]],
            }
            for c in st["cohorts"]
        ],
        "pending": [
            {
                **subject(p["code"]),
                "cohort": p["cohort"],
                "dose": dose(p["dose_level"]),
                "window": _window_text(p),
                "follow_up": f"{p['follow_up_days']:g} of {p['window_days']}",
            }
            for p in st["pending"]
        ],
        "pending_rule": st["pending_rule"],
        "as_of": st["as_of"],
        "waiting": st["waiting"],
        "can_ask": bool(st["waiting"] and st["decides_while_pending"] and role != "monitor"),
        "decisions": decisions,
        "deviations": [
            {**x, "given": f"{x['cells_per_kg']:g}", "assigned": f"{x['assigned']:g}"}
            for x in st["deviations"]
        ],
        "next_subject": {
            "refusal": nxt["refusal"],
            "text": None if nxt["refusal"] else placed_text(nxt),
        },
        "per_dose": [
            {
                **row,
                "dose": dose(row["dose_level"]),
                "n": row.get("n", row.get("known")),
                "responses": row.get("responses"),
            }
            for row in st["per_dose"]
        ],
        "efficacy": st["efficacy"],
        "response_rule": st["response_rule"],
        "phase12": any("desirability" in row for row in st["per_dose"]),
        "backfill": None
        if backfill is None
        else {
            **backfill,
            "cohorts": [
                {"dose": dose(c["dose_level"]), "subjects": [subject(x) for x in c["subjects"]]}
                for c in backfill["cohorts"]
            ],
            "per_dose": [{**row, "dose": dose(row["dose_level"])} for row in backfill["per_dose"]],
        },
        "writer": role in ("admin", "investigator"),
        "admin": role == "admin",
        "statistician": role == "statistician",
        "reader": role != "investigator",
        "codes": codes,
        "today": _today(st["conduct"]["time_zone"]),
        "zone": zone_text(zone),
    }


def add_routes(app: FastAPI, web: Web) -> None:
    """Register this room's routes on ``app``."""
    service = web.service
    session_user = web.session_user
    api_user = web.api_user
    render = web.render
    message = web.message
    submit = web.submit

    @app.get("/api/trials/{name}")
    def trial_status(name: TrialPath, user: User = Depends(api_user)) -> dict[str, Any]:
        return service.status(user, name)

    @app.get("/api/trials/{name}/recommendation")
    def recommendation(name: TrialPath, user: User = Depends(api_user)) -> dict[str, Any]:
        return service.recommendation(user, name)

    @app.post("/api/trials/{name}/subjects", status_code=201)
    def enrol(name: TrialPath, body: EnrolIn, user: User = Depends(api_user)) -> dict[str, Any]:
        subj = service.enrol(user, name, body.code, body.weight_kg, body.site, body.enrolled_on)
        # where the design placed the subject: the escalation cohort, or backfill at a dose
        placed = service.placement(user, name, subj.code)
        return {"id": subj.id, "code": subj.code, "cohort_id": subj.cohort_id, **placed}

    @app.get("/trials/{name}", response_class=HTMLResponse)
    def dashboard(name: TrialPath, request: Request) -> Response:
        found = session_user(request)
        if found is None:
            return RedirectResponse("/login", status_code=303)
        user = found[0]
        try:
            st, design_rules = service.status_and_rules(user, name, depth=1)
        except ConductError as exc:
            return message(request, found, "Trial not shown", str(exc), refusal_status(exc))
        return render(
            "dashboard.html",
            request,
            found,
            **dashboard_view(st, name, user.role),
            # pandas writes the table with its cells escaped; the error text is escaped too
            rules=Markup(decision_rules_html(service, name, design_rules)),
            grades=GRADES,
            responses=RESPONSES,
        )

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
            subj = service.enrol(user, name, code, weight_kg, site or None, enrolled_on or None)  # type: ignore[arg-type]
            return f"{subj.code} enrolled {placed_text(service.placement(user, name, subj.code))}"

        return submit(name, request, csrf, action)
