"""Trial operations: enrolment into cohorts, data entry, design-driven decisions with an
electronic signature, and export to the report's ADaM-style tables.

Every write happens in one transaction together with its audit entries; on SQLite each
transaction starts with ``BEGIN IMMEDIATE`` so two coordinators enrolling at once are
serialised (the second sees the first's subject and cannot take the same last slot).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import pandas as pd
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from earlyphase.conduct import audit
from earlyphase.conduct.models import (
    AdverseEvent,
    BiomarkerValue,
    Cohort,
    Decision,
    DltAssessment,
    FollowUp,
    Infusion,
    Response,
    Site,
    Subject,
    Trial,
    User,
    utcnow,
)
from earlyphase.conduct.protocol import SINGLE_ARM, SingleArmProtocol, build_protocol
from earlyphase.conduct.security import hash_password, new_token, token_hash, verify_password
from earlyphase.conduct.store import READ_ONLY
from earlyphase.data.trial import TrialData, build_trial
from earlyphase.designs.settings import with_defaults

ROLES = ("admin", "statistician", "investigator", "monitor")
T = TypeVar("T")


class ConductError(ValueError):
    """Rejected input or an operation not allowed in the trial's current state."""


class PermissionDenied(ConductError):  # noqa: N818 - reads as a verdict
    """The user's role or site does not allow the operation."""


def _builds(design_name: str, spec: dict[str, Any]) -> bool:
    try:
        build_protocol(design_name, spec)
    except ValueError:
        return False
    return True


class TrialService:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        """A write transaction. SQLite serialises writers with BEGIN IMMEDIATE; on PostgreSQL
        a transaction-scoped advisory lock does the same, so the audit chain never forks and
        the last slot of a cohort is taken once."""
        with self.sessions() as s, s.begin():
            if s.get_bind().dialect.name == "postgresql":
                s.execute(text("SELECT pg_advisory_xact_lock(424242)"))
            yield s

    def read(self, fn: Callable[[Session], T]) -> T:
        """A read-only transaction (on SQLite it does not wait for, or block, the writer)."""
        with self.sessions() as s:
            s.connection(execution_options={READ_ONLY: True})
            return fn(s)

    # --- users --------------------------------------------------------------------------------
    def bootstrap_admin(self, username: str, full_name: str, password: str) -> None:
        with self._tx() as s:
            if s.execute(select(func.count(User.id))).scalar_one():
                raise ConductError("username: users already exist; ask an administrator")
            u = User(
                username=username,
                full_name=full_name,
                role="admin",
                password_hash=hash_password(password),
            )
            audit.created(s, username, u, new=f"{username} (admin)")

    def authenticate(self, username: str, password: str) -> User:
        def get(s: Session) -> User:
            u = s.execute(select(User).where(User.username == username)).scalar()
            if u is None or not verify_password(password, u.password_hash):
                raise PermissionDenied("password: unknown user or wrong password")
            return u

        return self.read(get)

    def user_from_token(self, token: str) -> User:
        def get(s: Session) -> User:
            u = s.execute(select(User).where(User.api_token_hash == token_hash(token))).scalar()
            if u is None:
                raise PermissionDenied("token: not a valid API token")
            return u

        return self.read(get)

    def issue_token(self, actor: User) -> str:
        token, hashed = new_token()
        with self._tx() as s:
            u = s.get(User, actor.id)
            assert u is not None
            u.api_token_hash = hashed
            audit.record(
                s,
                actor.username,
                "change",
                "user_account",
                u.id,
                "api_token",
                None,
                "issued",
                "API token issued",
            )
        return token

    def create_site(self, actor: User, name: str) -> Site:
        _require(actor, "admin")
        name = _text(name, "name")
        with self._tx() as s:
            if s.execute(select(Site).where(Site.name == name)).scalar():
                raise ConductError(f"name: site {name!r} exists")
            site = Site(name=name)
            audit.created(s, actor.username, site, new=name)
            return site

    def create_user(
        self,
        actor: User,
        username: str,
        full_name: str,
        role: str,
        password: str,
        site: str | None = None,
    ) -> User:
        _require(actor, "admin")
        if role not in ROLES:
            raise ConductError(f"role: must be one of {list(ROLES)}")
        username = _text(username, "username")
        with self._tx() as s:
            if s.execute(select(User).where(User.username == username)).scalar():
                raise ConductError(f"username: {username!r} is taken")
            site_id = None
            if role == "investigator":
                if site is None:
                    raise ConductError("site: an investigator belongs to a site")
                site_id = _site(s, site).id
            u = User(
                username=username,
                full_name=_text(full_name, "full_name"),
                role=role,
                site_id=site_id,
                password_hash=hash_password(password),
            )
            audit.created(s, actor.username, u, new=f"{username} ({role})")
            return u

    # --- trials ---------------------------------------------------------------------------------
    def create_trial(
        self,
        actor: User,
        name: str,
        design_name: str,
        design_spec: dict[str, Any],
        dose_levels: list[float],
        dose_unit: str = "x 10^6 cells/kg",
        schedule: str = "",
    ) -> Trial:
        _require(actor, "admin", "statistician")
        spec = dict(design_spec)
        if design_name != "crm" and design_name not in SINGLE_ARM:
            spec.setdefault("n_doses", len(dose_levels))
        try:
            # the defaults are written into the record: the trial keeps its protocol even if
            # a later release changes a default
            spec = with_defaults(design_name, spec, accept=lambda s: _builds(design_name, s))
            design = build_protocol(design_name, spec)  # validates the protocol's design
        except ConductError:
            raise
        except ValueError as exc:
            raise ConductError(str(exc)) from None
        if design.n_doses != len(dose_levels):
            raise ConductError(
                f"dose_levels: {len(dose_levels)} levels for a {design.n_doses}-dose design"
            )
        with self._tx() as s:
            if s.execute(select(Trial).where(Trial.name == name)).scalar():
                raise ConductError(f"name: trial {name!r} exists")
            trial = Trial(
                name=_text(name, "name"),
                design_name=design_name,
                design_spec=spec,
                dose_levels=[float(v) for v in dose_levels],
                dose_unit=dose_unit,
                cohort_size=design.cohort_size,
                schedule=schedule,
            )
            audit.created(
                s,
                actor.username,
                trial,
                new=json.dumps(
                    {"name": name, "design": design_name, "spec": spec, "doses": dose_levels}
                ),
            )
            return trial

    def design(self, trial: Trial) -> Any:
        spec = dict(trial.design_spec)
        return build_protocol(trial.design_name, spec)

    def get_trial(self, name: str) -> Trial:
        def get(s: Session) -> Trial:
            t = s.execute(select(Trial).where(Trial.name == name)).scalar()
            if t is None:
                raise ConductError(f"trial: no trial named {name!r}")
            return t

        return self.read(get)

    # --- enrolment ----------------------------------------------------------------------------
    def enrol(
        self, actor: User, trial_name: str, code: str, weight_kg: float, site: str | None = None
    ) -> Subject:
        """Enrol a subject into the open cohort (opening the next one once the previous
        cohort's decision is confirmed). Investigators enrol at their own site."""
        _require(actor, "admin", "investigator")
        code = _text(code, "code")
        weight = _number(weight_kg, "weight_kg", 1.0, 400.0)
        with self._tx() as s:
            trial = _trial(s, trial_name)
            if actor.role == "investigator":
                site_id = actor.site_id
                if site is not None:
                    own = s.get(Site, site_id) if site_id is not None else None
                    if own is None or own.name != site:
                        raise PermissionDenied("site: investigators enrol at their own site only")
            else:
                if site is None:
                    raise ConductError("site: which site enrols the subject?")
                site_id = _site(s, site).id
            if s.execute(
                select(Subject).where(Subject.trial_id == trial.id, Subject.code == code)
            ).scalar():
                raise ConductError(f"code: subject {code!r} is already enrolled")
            cohort = self._open_cohort(s, trial, actor.username)
            subj = Subject(
                trial_id=trial.id, site_id=site_id, cohort_id=cohort.id, code=code, weight_kg=weight
            )
            audit.created(
                s,
                actor.username,
                subj,
                new=f"{code}, {weight:g} kg, cohort {cohort.number}, dose {cohort.dose_level}",
            )
            return subj

    def _open_cohort(self, s: Session, trial: Trial, who: str) -> Cohort:
        last = s.execute(
            select(Cohort)
            .where(Cohort.trial_id == trial.id)
            .order_by(Cohort.number.desc())
            .limit(1)
            .with_for_update()
        ).scalar()
        if last is None:
            design = self.design(trial)
            cohort = Cohort(
                trial_id=trial.id,
                number=1,
                dose_level=design.start_dose,
                size=design.cohort_size,
            )
            audit.created(s, who, cohort, new=_cohort_text(cohort))
            return cohort
        filled = s.execute(
            select(func.count(Subject.id)).where(Subject.cohort_id == last.id)
        ).scalar_one()
        if filled < last.size:
            return last
        dec = s.execute(
            select(Decision).where(
                Decision.trial_id == trial.id, Decision.after_cohort == last.number
            )
        ).scalar()
        if dec is None:
            raise ConductError(
                f"cohort: cohort {last.number} is full; its DLT assessments and the "
                "dose decision come first"
            )
        if dec.confirmed_at is None:
            raise ConductError(
                f"cohort: the decision after cohort {last.number} awaits the "
                "statistician's signature"
            )
        if dec.stop or dec.next_dose is None:
            raise ConductError(f"cohort: the trial has stopped ({dec.reason})")
        design = self.design(trial)
        size = (
            design.size_of_cohort(last.number + 1)
            if isinstance(design, SingleArmProtocol)
            else trial.cohort_size
        )
        cohort = Cohort(
            trial_id=trial.id,
            number=last.number + 1,
            dose_level=dec.next_dose,
            size=size,
            decision_id=dec.id,
        )
        audit.created(s, who, cohort, new=_cohort_text(cohort))
        return cohort

    # --- data entry -----------------------------------------------------------------------------
    def _subject_for_write(self, s: Session, actor: User, trial_name: str, code: str) -> Subject:
        _require(actor, "admin", "investigator")
        trial = _trial(s, trial_name)
        subj = s.execute(
            select(Subject).where(Subject.trial_id == trial.id, Subject.code == code)
        ).scalar()
        if subj is None:
            raise ConductError(f"code: no subject {code!r} in {trial_name!r}")
        if actor.role == "investigator" and subj.site_id != actor.site_id:
            raise PermissionDenied("code: the subject belongs to another site")
        return subj

    def record_infusion(
        self,
        actor: User,
        trial_name: str,
        code: str,
        study_day: int,
        cells_per_kg: float,
        lot: str,
        lot_released: bool = True,
    ) -> Infusion:
        with self._tx() as s:
            subj = self._subject_for_write(s, actor, trial_name, code)
            day = int(_number(study_day, "study_day", 0, 3650))
            dose = _number(cells_per_kg, "cells_per_kg", 0.0, 1000.0)
            inf = Infusion(
                subject_id=subj.id,
                study_day=day,
                cells_per_kg=dose,
                weight_kg=subj.weight_kg,
                total_cells=dose * subj.weight_kg,
                lot=_text(lot, "lot"),
                lot_released=lot_released,
            )
            audit.created(
                s,
                actor.username,
                inf,
                new=(
                    f"{code} day {day}: {dose:g} x 10^6/kg x {subj.weight_kg:g} kg "
                    f"= {inf.total_cells:g} x 10^6, lot {lot}"
                ),
            )
            return inf

    def record_dlt(
        self, actor: User, trial_name: str, code: str, dlt: bool, description: str = ""
    ) -> Decision | None:
        """Record the DLT assessment; when it completes the cohort, the design's decision is
        computed and frozen (returned), awaiting the statistician's signature."""
        with self._tx() as s:
            subj = self._subject_for_write(s, actor, trial_name, code)
            if s.execute(select(DltAssessment).where(DltAssessment.subject_id == subj.id)).scalar():
                raise ConductError(f"dlt: {code} is already assessed; change it with a reason")
            a = DltAssessment(subject_id=subj.id, dlt=bool(dlt), description=description)
            audit.created(s, actor.username, a, new=f"{code}: {'DLT' if dlt else 'no DLT'}")
            trial = _trial(s, trial_name)
            return self._maybe_decide(s, actor, trial, subj.cohort, self.design(trial))

    def _evaluation(self, s: Session, design: Any, subj: Subject) -> str | None:
        """The subject's letter in the outcome string, or None while not yet evaluated."""
        if isinstance(design, SingleArmProtocol) and design.endpoint == "response":
            query = select(Response).where(Response.subject_id == subj.id)
            if design.endpoint_visit is not None:
                query = query.where(Response.visit == design.endpoint_visit)
            r = s.execute(query.order_by(Response.id).limit(1)).scalar()
            if r is None:
                return None
            return "R" if r.value in design.responders else "N"
        a = s.execute(select(DltAssessment).where(DltAssessment.subject_id == subj.id)).scalar()
        if a is None:
            return None
        return "T" if a.dlt else "N"

    def _outcomes(self, s: Session, trial: Trial, design: Any) -> tuple[str, list[Cohort]]:
        tokens = []
        cohorts = list(
            s.execute(
                select(Cohort).where(Cohort.trial_id == trial.id).order_by(Cohort.number)
            ).scalars()
        )
        for c in cohorts:
            letters = ""
            for subj in s.execute(
                select(Subject).where(Subject.cohort_id == c.id).order_by(Subject.id)
            ).scalars():
                letters += self._evaluation(s, design, subj) or ""
            if letters:
                tokens.append(f"{c.dose_level}{letters}")
        return " ".join(tokens), cohorts

    def _maybe_decide(
        self, s: Session, actor: User, trial: Trial, cohort: Cohort, design: Any
    ) -> Decision | None:
        """Once every subject of a full cohort is evaluated, compute the design's decision and
        freeze it (None before that, or when the decision exists already)."""
        members = list(s.execute(select(Subject).where(Subject.cohort_id == cohort.id)).scalars())
        if len(members) < cohort.size or any(
            self._evaluation(s, design, m) is None for m in members
        ):
            return None
        if s.execute(
            select(Decision).where(
                Decision.trial_id == trial.id, Decision.after_cohort == cohort.number
            )
        ).scalar():
            return None  # frozen: never recomputed silently
        outcomes, _ = self._outcomes(s, trial, design)
        d = design.decide(outcomes)
        dec = Decision(
            trial_id=trial.id,
            after_cohort=cohort.number,
            outcomes=outcomes,
            next_dose=d.dose,
            stop=d.stop,
            selected=d.selected,
            reason=d.reason[:200],
        )
        audit.created(s, actor.username, dec, new=f"after cohort {cohort.number} ({outcomes}): {d}")
        return dec

    def confirm_decision(
        self,
        actor: User,
        decision_id: int,
        password: str,
        meaning: str = "Approved: next cohort as recommended",
    ) -> Decision:
        """Electronic signature (21 CFR 11.50/11.200): the statistician re-enters the password;
        the signature records the printed name, time and meaning, bound to the decision."""
        _require(actor, "statistician")
        self.authenticate(actor.username, password)
        with self._tx() as s:
            dec = s.get(Decision, decision_id)
            if dec is None:
                raise ConductError(f"decision: no decision {decision_id}")
            if dec.confirmed_at is not None:
                raise ConductError(f"decision: decision {decision_id} is already signed")
            dec.confirmed_by = actor.id
            dec.signer_name = actor.full_name
            dec.signature_meaning = _text(meaning, "meaning")
            dec.confirmed_at = utcnow()
            content = json.dumps(
                {
                    "id": dec.id,
                    "outcomes": dec.outcomes,
                    "next": dec.next_dose,
                    "stop": dec.stop,
                    "selected": dec.selected,
                    "signer": actor.username,
                    "meaning": dec.signature_meaning,
                    "at": dec.confirmed_at.isoformat(),
                },
                sort_keys=True,
            )
            dec.signature_hash = hashlib.sha256(content.encode()).hexdigest()
            audit.record(
                s,
                actor.username,
                "sign",
                "decision",
                dec.id,
                "signature",
                None,
                f"{actor.full_name}: {dec.signature_meaning}",
            )
            return dec

    def record_ae(
        self,
        actor: User,
        trial_name: str,
        code: str,
        soc: str,
        pt: str,
        grade: int,
        serious: bool = False,
        related: bool = False,
        onset_day: int | None = None,
    ) -> AdverseEvent:
        with self._tx() as s:
            subj = self._subject_for_write(s, actor, trial_name, code)
            g = int(_number(grade, "grade", 1, 5))
            if g != grade:
                raise ConductError("grade: must be a whole number 1-5")
            ae = AdverseEvent(
                subject_id=subj.id,
                soc=_text(soc, "soc"),
                pt=_text(pt, "pt"),
                grade=g,
                serious=serious,
                related=related,
                onset_day=onset_day,
            )
            audit.created(s, actor.username, ae, new=f"{code}: {pt} grade {g}")
            return ae

    def record_response(
        self, actor: User, trial_name: str, code: str, visit: str, value: str
    ) -> Response:
        if value not in ("CR", "PR", "SD", "PD", "NR", "NE"):
            raise ConductError("value: response must be CR, PR, SD, PD, NR or NE")
        with self._tx() as s:
            subj = self._subject_for_write(s, actor, trial_name, code)
            r = Response(subject_id=subj.id, visit=_text(visit, "visit"), value=value)
            audit.created(s, actor.username, r, new=f"{code} {visit}: {value}")
            trial = _trial(s, trial_name)
            design = self.design(trial)
            if isinstance(design, SingleArmProtocol) and design.endpoint == "response":
                self._maybe_decide(s, actor, trial, subj.cohort, design)
            return r

    def record_follow_up(
        self, actor: User, trial_name: str, code: str, last_day: int, died: bool
    ) -> FollowUp:
        with self._tx() as s:
            subj = self._subject_for_write(s, actor, trial_name, code)
            f = s.execute(select(FollowUp).where(FollowUp.subject_id == subj.id)).scalar()
            day = int(_number(last_day, "last_day", 0, 36500))
            if f is None:
                f = FollowUp(subject_id=subj.id, last_day=day, died=died)
                audit.created(s, actor.username, f, new=f"{code}: day {day}, died={died}")
            else:
                audit.record(
                    s,
                    actor.username,
                    "change",
                    "follow_up",
                    f.id,
                    "last_day",
                    f.last_day,
                    day,
                    "follow-up update",
                )
                if f.died != died:
                    audit.record(
                        s,
                        actor.username,
                        "change",
                        "follow_up",
                        f.id,
                        "died",
                        f.died,
                        died,
                        "follow-up update",
                    )
                f.last_day, f.died = day, died
            return f

    def record_biomarker(
        self,
        actor: User,
        trial_name: str,
        code: str,
        parameter: str,
        study_day: int,
        value: float,
        baseline: bool = False,
    ) -> BiomarkerValue:
        with self._tx() as s:
            subj = self._subject_for_write(s, actor, trial_name, code)
            b = BiomarkerValue(
                subject_id=subj.id,
                parameter=_text(parameter, "parameter"),
                study_day=int(_number(study_day, "study_day", -365, 3650)),
                value=_number(value, "value", -1e12, 1e12),
                baseline=baseline,
            )
            audit.created(
                s, actor.username, b, new=f"{code} {parameter} day {study_day}: {value:g}"
            )
            return b

    def change_ae_grade(self, actor: User, ae_id: int, grade: int, reason: str) -> AdverseEvent:
        """Corrections need a reason; the old value stays in the audit trail."""
        reason = _text(reason, "reason")
        with self._tx() as s:
            ae = s.get(AdverseEvent, ae_id)
            if ae is None:
                raise ConductError(f"ae: no adverse event {ae_id}")
            subj = s.get(Subject, ae.subject_id)
            assert subj is not None
            _require(actor, "admin", "investigator")
            if actor.role == "investigator" and subj.site_id != actor.site_id:
                raise PermissionDenied("ae: the subject belongs to another site")
            g = int(_number(grade, "grade", 1, 5))
            audit.record(
                s, actor.username, "change", "adverse_event", ae.id, "grade", ae.grade, g, reason
            )
            ae.grade = g
            return ae

    # --- reading ----------------------------------------------------------------------------------
    def status(self, actor: User, trial_name: str) -> dict[str, Any]:
        """Cohorts, subjects (own site for investigators), the outcome string and the decisions."""

        def get(s: Session) -> dict[str, Any]:
            trial = _trial(s, trial_name)
            outcomes, cohorts = self._outcomes(s, trial, self.design(trial))
            out_cohorts = []
            for c in cohorts:
                subs = list(s.execute(select(Subject).where(Subject.cohort_id == c.id)).scalars())
                visible = [
                    x for x in subs if actor.role != "investigator" or x.site_id == actor.site_id
                ]
                out_cohorts.append(
                    {
                        "number": c.number,
                        "dose_level": c.dose_level,
                        "dose": trial.dose_levels[c.dose_level - 1],
                        "size": c.size,
                        "enrolled": len(subs),
                        "subjects": [x.code for x in visible],
                    }
                )
            decisions = [
                {
                    "id": d.id,
                    "after_cohort": d.after_cohort,
                    "outcomes": d.outcomes,
                    "next_dose": d.next_dose,
                    "stop": d.stop,
                    "selected": d.selected,
                    "reason": d.reason,
                    "confirmed": d.confirmed_at is not None,
                    "signer": d.signer_name,
                    "meaning": d.signature_meaning,
                    "confirmed_at": d.confirmed_at.isoformat() if d.confirmed_at else None,
                }
                for d in s.execute(
                    select(Decision).where(Decision.trial_id == trial.id).order_by(Decision.id)
                ).scalars()
            ]
            return {
                "trial": trial.name,
                "design": trial.design_name,
                "dose_levels": trial.dose_levels,
                "dose_unit": trial.dose_unit,
                "outcomes": outcomes,
                "cohorts": out_cohorts,
                "decisions": decisions,
            }

        return self.read(get)

    def recommendation(self, actor: User, trial_name: str) -> dict[str, Any]:
        """The latest frozen decision and the data it was computed from (one query)."""
        del actor  # every role may read the recommendation

        def get(s: Session) -> dict[str, Any]:
            row = s.execute(
                select(Decision)
                .join(Trial, Trial.id == Decision.trial_id)
                .where(Trial.name == trial_name)
                .order_by(Decision.id.desc())
                .limit(1)
            ).scalar()
            if row is None:
                _trial(s, trial_name)  # raises for an unknown trial
                return {"outcomes": "", "latest": None}
            return {
                "outcomes": row.outcomes,
                "latest": {
                    "id": row.id,
                    "after_cohort": row.after_cohort,
                    "next_dose": row.next_dose,
                    "stop": row.stop,
                    "selected": row.selected,
                    "reason": row.reason,
                    "confirmed": row.confirmed_at is not None,
                    "signer": row.signer_name,
                },
            }

        return self.read(get)

    def export(self, trial_name: str) -> TrialData:
        """The trial as ADaM-style tables for :func:`earlyphase.report.render_report`."""

        def get(s: Session) -> TrialData:
            trial = _trial(s, trial_name)
            subs = list(
                s.execute(
                    select(Subject).where(Subject.trial_id == trial.id).order_by(Subject.id)
                ).scalars()
            )
            adsl, adex, adae, adtte, adrs, adlb = [], [], [], [], [], []
            for x in subs:
                c = s.get(Cohort, x.cohort_id)
                assert c is not None
                dose = trial.dose_levels[c.dose_level - 1]
                fu = s.execute(select(FollowUp).where(FollowUp.subject_id == x.id)).scalar()
                dlt = s.execute(
                    select(DltAssessment).where(DltAssessment.subject_id == x.id)
                ).scalar()
                adsl.append(
                    {
                        "USUBJID": x.code,
                        "TRT01A": f"{dose:g} {trial.dose_unit}",
                        "DOSELVL": dose,
                        "WEIGHT": x.weight_kg,
                        "SAFFL": "Y",
                        "DTHFL": "Y" if fu is not None and fu.died else "N",
                        "DTHDY": fu.last_day if fu is not None and fu.died else None,
                    }
                )
                for inf in s.execute(select(Infusion).where(Infusion.subject_id == x.id)).scalars():
                    adex.append(
                        {
                            "USUBJID": x.code,
                            "EXDY": inf.study_day,
                            "EXDOSE": inf.cells_per_kg,
                            "WEIGHT": inf.weight_kg,
                            "TOTCELLS": inf.total_cells,
                            "LOT": inf.lot,
                        }
                    )
                for ae in s.execute(
                    select(AdverseEvent).where(AdverseEvent.subject_id == x.id)
                ).scalars():
                    adae.append(
                        {
                            "USUBJID": x.code,
                            "AESOC": ae.soc,
                            "AEDECOD": ae.pt,
                            "AETOXGR": ae.grade,
                            "AESER": "Y" if ae.serious else "N",
                            "AEREL": "Y" if ae.related else "N",
                            "ASTDY": ae.onset_day,
                            "AEDLT": "N",
                        }
                    )
                if dlt is not None and dlt.dlt:
                    adae.append(
                        {
                            "USUBJID": x.code,
                            "AESOC": "Dose-limiting toxicity",
                            "AEDECOD": dlt.description or "DLT",
                            "AETOXGR": 3,
                            "AESER": "N",
                            "AEREL": "Y",
                            "ASTDY": None,
                            "AEDLT": "Y",
                        }
                    )
                if fu is not None:
                    adtte.append(
                        {
                            "USUBJID": x.code,
                            "PARAMCD": "OS",
                            "AVAL": fu.last_day,
                            "CNSR": 0 if fu.died else 1,
                        }
                    )
                for b in s.execute(
                    select(BiomarkerValue).where(BiomarkerValue.subject_id == x.id)
                ).scalars():
                    adlb.append(
                        {
                            "USUBJID": x.code,
                            "PARAMCD": b.parameter,
                            "ADY": b.study_day,
                            "AVAL": b.value,
                            "ABLFL": "Y" if b.baseline else "N",
                        }
                    )
                for r in s.execute(select(Response).where(Response.subject_id == x.id)).scalars():
                    adrs.append(
                        {
                            "USUBJID": x.code,
                            "PARAMCD": "OVRLRESP",
                            "AVISIT": r.visit,
                            "AVALC": r.value,
                        }
                    )
            frames = {"ADSL": pd.DataFrame(adsl)}
            for name, rows in (
                ("ADEX", adex),
                ("ADAE", adae),
                ("ADTTE", adtte),
                ("ADRS", adrs),
                ("ADLB", adlb),
            ):
                if rows:
                    frames[name] = pd.DataFrame(rows)
            text_frames = {
                k: v.astype(object).where(v.notna(), "").astype(str) for k, v in frames.items()
            }
            return build_trial(
                text_frames, meta={"title": trial.name, "dose_unit": trial.dose_unit}
            )

        return self.read(get)


def _cohort_text(c: Cohort) -> str:
    return f"cohort {c.number}: dose level {c.dose_level}, {c.size} patients"


def _require(actor: User, *roles: str) -> None:
    if actor.role not in roles:
        raise PermissionDenied(f"role: {actor.role} may not do this (needs {' or '.join(roles)})")


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConductError(f"{field}: required")
    if len(value) > 200:
        raise ConductError(f"{field}: at most 200 characters")
    return value.strip()


def _number(value: Any, field: str, lo: float, hi: float) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConductError(f"{field}: must be a number") from None
    if not lo <= v <= hi:
        raise ConductError(f"{field}: must lie between {lo:g} and {hi:g}, got {v:g}")
    return v


def _trial(s: Session, name: str) -> Trial:
    t = s.execute(select(Trial).where(Trial.name == name)).scalar()
    if t is None:
        raise ConductError(f"trial: no trial named {name!r}")
    return t


def _site(s: Session, name: str) -> Site:
    site = s.execute(select(Site).where(Site.name == name)).scalar()
    if site is None:
        raise ConductError(f"site: no site named {name!r}")
    return site
