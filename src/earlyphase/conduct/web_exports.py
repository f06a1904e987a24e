"""Exports over the web: the audit trail's verification and CSV export, and the trial's report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.responses import (
    HTMLResponse,
    PlainTextResponse,
)

from earlyphase.conduct import audit
from earlyphase.conduct.models import User
from earlyphase.conduct.service import PermissionDenied
from earlyphase.conduct.web_common import (
    TrialPath,
    Web,
)


def add_routes(app: FastAPI, web: Web) -> None:
    """Register this room's routes on ``app``."""
    service = web.service
    api_user = web.api_user

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
