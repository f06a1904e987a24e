"""Enrolment over the web: the trial's status and recommendation, enrolment through the API and
the dashboard's form, and the dashboard itself (cohorts, pending subjects, decisions, entry
forms, the decision rules)."""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import (
    HTMLResponse,
    RedirectResponse,
    Response,
)

from earlyphase.conduct.models import User
from earlyphase.conduct.service import ConductError
from earlyphase.conduct.web_common import (
    EnrolIn,
    FormCsrf,
    FormDate,
    FormLine40,
    FormLine200,
    TrialPath,
    Web,
)
from earlyphase.conduct.web_decisions import decision_rules_html
from earlyphase.conduct.web_trials import _today


def add_routes(app: FastAPI, web: Web) -> None:
    """Register this room's routes on ``app``."""
    service = web.service
    session_user = web.session_user
    api_user = web.api_user
    page = web.page
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
        return {"id": subj.id, "code": subj.code, "cohort_id": subj.cohort_id}

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
            review = (
                f"<a href='/trials/{quote(name, safe='')}/decisions/{d['id']}'"
                f" id='review-{d['id']}'>review and sign-off</a> "
            )
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
        rules = decision_rules_html(service, name, design_rules)
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
