"""Creating a trial: the design's settings and the protocol's conduct settings, both checked
against the settings registry (every problem named at once) and stored with their defaults
written in, so that a running trial keeps the protocol it was created with."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from earlyphase.conduct import audit
from earlyphase.conduct.common import ConductError, ServiceBase, require, text_value, trial_named
from earlyphase.conduct.models import Trial, User
from earlyphase.conduct.protocol import SINGLE_ARM, build_protocol
from earlyphase.designs.settings import CONDUCT, check_conduct, with_defaults

#: Names of the conduct settings, which may also be given among a design's settings.
CONDUCT_NAMES = frozenset(s.name for s in CONDUCT)


def _builds(design_name: str, spec: dict[str, Any]) -> bool:
    try:
        build_protocol(design_name, spec)
    except ValueError:
        return False
    return True


class TrialsMixin(ServiceBase):
    def create_trial(
        self,
        actor: User,
        name: str,
        design_name: str,
        design_spec: dict[str, Any],
        dose_levels: list[float],
        dose_unit: str = "x 10^6 cells/kg",
        schedule: str = "",
        conduct: Mapping[str, Any] | None = None,
    ) -> Trial:
        """``conduct`` holds the protocol's conduct settings (``designs.settings.CONDUCT``:
        DLT window, evaluability, infusion schedule, dose tolerance, replacement, time zone);
        they may also come among ``design_spec``'s keys (one JSON object in a form)."""
        require(actor, "admin", "statistician")
        spec = {k: v for k, v in design_spec.items() if k not in CONDUCT_NAMES}
        given = {k: v for k, v in design_spec.items() if k in CONDUCT_NAMES}
        given.update(conduct or {})
        problems: list[str] = []
        settings: dict[str, Any] = {}
        try:
            settings = check_conduct(given)
        except ValueError as exc:
            problems.append(str(exc))
        if design_name != "crm" and design_name not in SINGLE_ARM:
            spec.setdefault("n_doses", len(dose_levels))
        design: Any = None
        try:
            # the defaults are written into the record: the trial keeps its protocol even if
            # a later release changes a default
            spec = with_defaults(design_name, spec, accept=lambda s: _builds(design_name, s))
            design = build_protocol(design_name, spec)  # validates the protocol's design
        except ValueError as exc:
            problems.append(str(exc))
        if design is not None and design.n_doses != len(dose_levels):
            problems.append(
                f"dose_levels: {len(dose_levels)} levels for a {design.n_doses}-dose design"
            )
        if problems:
            raise ConductError("; ".join(problems))
        name = text_value(name, "name")
        with self._tx() as s:
            if s.execute(select(Trial).where(Trial.name == name)).scalar():
                raise ConductError(f"name: trial {name!r} exists")
            trial = Trial(
                name=name,
                design_name=design_name,
                design_spec=spec,
                dose_levels=[float(v) for v in dose_levels],
                dose_unit=dose_unit,
                cohort_size=design.cohort_size,
                schedule=schedule,
                conduct=settings,
            )
            audit.created(
                s,
                actor.username,
                trial,
                new=json.dumps(
                    {
                        "name": name,
                        "design": design_name,
                        "spec": spec,
                        "doses": dose_levels,
                        "conduct": settings,
                    }
                ),
            )
            return trial

    def get_trial(self, name: str) -> Trial:
        def get(s: Session) -> Trial:
            return trial_named(s, name)

        return self.read(get)
