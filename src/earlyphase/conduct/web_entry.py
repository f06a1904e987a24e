"""Data entry over the web: infusions, DLT assessments, adverse events, responses, follow-up and
biomarkers through the API and the dashboard's forms, and corrections and voiding of any
record through the API (the pages' correction forms are in :mod:`web_pages`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import (
    Response,
)
from pydantic import (
    AfterValidator,
)

from earlyphase.conduct.models import User
from earlyphase.conduct.service import ConductError
from earlyphase.conduct.web_common import (
    COLLECTIONS,
    MAX_INT,
    AeGradeChange,
    AeIn,
    BiomarkerIn,
    CorrectionIn,
    DltIn,
    FollowUpIn,
    FormAnswer,
    FormCsrf,
    FormDate,
    FormInstant,
    FormLine40,
    FormLine80,
    FormLine200,
    FormNote,
    InfusionIn,
    RecordId,
    ResponseIn,
    TrialPath,
    VoidIn,
    Web,
    _dlt_choice,
)


def add_routes(app: FastAPI, web: Web) -> None:
    """Register this room's routes on ``app``."""
    service = web.service
    api_user = web.api_user
    submit = web.submit
    latest_id = web.latest_id
    new_decision = web.new_decision
    recommends = web.recommends

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

    @app.post("/trials/{name}/dlt")
    def dlt_form(
        name: TrialPath,
        request: Request,
        csrf: FormCsrf = "",
        code: FormLine40 = "",
        assessed_on: FormDate = "",
        dlt: Annotated[str, Form(), AfterValidator(_dlt_choice)] = "",
        description: FormNote = "",
    ) -> Response:
        def action(user: User) -> str:
            if not dlt:  # FastAPI does not validate a default: an unanswered form lands here
                raise ConductError("dlt: choose no DLT in the window or not evaluable")
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
        serious: FormAnswer = "",
        related: FormAnswer = "",
        dlt: FormAnswer = "",
    ) -> Response:
        def action(user: User) -> str:
            # an unanswered question is named, never read as "no" (a missed DLT flag would
            # let the next cohort open on a DLT the design never saw)
            unanswered = [
                f"{field}: answer yes or no"
                for field, value in (("serious", serious), ("related", related), ("dlt", dlt))
                if not value
            ]
            if unanswered:
                raise ConductError("; ".join(unanswered))
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
