"""Decisions over the web: the review a statistician signs under, the signature with its meaning,
recomputing a decision, asking a design that decides while subjects are pending for the next
dose, the decision rules table, and the safety review packet for the escalation meeting."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import (
    HTMLResponse,
    RedirectResponse,
    Response,
)

from earlyphase.conduct.models import User
from earlyphase.conduct.service import ConductError, TrialService
from earlyphase.conduct.web_common import (
    ConfirmIn,
    FormCsrf,
    FormLine40,
    FormLine200,
    FormNote,
    FormPassword,
    RecomputeIn,
    RecordId,
    TrialPath,
    Web,
    refusal_status,
)
from earlyphase.designs.spec import decision_rules


def decision_rules_html(
    service: TrialService, name: str, found: tuple[tuple[Any, ...], Any] | None = None
) -> str:
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


def add_routes(app: FastAPI, web: Web) -> None:
    """Register this room's routes on ``app``."""
    service = web.service
    session_user = web.session_user
    api_user = web.api_user
    message = web.message
    submit = web.submit

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

    @app.post("/trials/{name}/decide")
    def decide_form(name: TrialPath, request: Request, csrf: FormCsrf = "") -> Response:
        def action(user: User) -> str:
            dec = service.decide_now(user, name)
            return (
                f"the design recommends, from the follow-up as of today: {dec.reason}; the "
                "decision awaits the statistician's signature"
            )

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
        """The review and sign-off page of the decision, under its trial (an older address,
        kept for links already given)."""
        found = session_user(request)
        if found is None:
            return RedirectResponse("/login", status_code=303)
        try:
            rv = service.review(found[0], decision_id)
        except ConductError as exc:
            return message(request, found, "Decision not shown", str(exc), refusal_status(exc))
        trial = quote(str(rv["trial"]), safe="")
        return RedirectResponse(f"/trials/{trial}/decisions/{decision_id}", status_code=303)

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
            return message(request, found, "Packet not shown", str(exc), refusal_status(exc))

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
            return message(request, found, "Packet not shown", str(exc), refusal_status(exc))
        except ValueError as exc:  # no Chromium on this server
            return message(request, found, "PDF unavailable", str(exc), 503)
        return Response(
            pdf,
            media_type="application/pdf",
            headers={"Content-Disposition": 'inline; filename="safety-review-packet.pdf"'},
        )
