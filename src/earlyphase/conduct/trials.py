"""Creating a trial: the design's settings and the protocol's conduct settings, both checked
against the settings registry (every problem named at once) and stored with their defaults
written in, so that a running trial keeps the protocol it was created with."""

from __future__ import annotations

import json
import math
import unicodedata
from collections.abc import Mapping
from itertools import pairwise
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from earlyphase.conduct import audit
from earlyphase.conduct.common import ConductError, ServiceBase, require, trial_named
from earlyphase.conduct.entry import unprintable
from earlyphase.conduct.models import Trial, User
from earlyphase.conduct.protocol import SINGLE_ARM, WITH_WINDOW, build_protocol
from earlyphase.designs.settings import (
    BACKFILL_DESIGNS,
    CONDUCT,
    MAX_DOSE,
    MAX_DOSES,
    MAX_TEXT,
    check_conduct,
    design_key,
    with_defaults,
)

#: Names of the conduct settings, which may also be given among a design's settings.
CONDUCT_NAMES = frozenset(s.name for s in CONDUCT)
#: Characters of a trial's name (the record's column holds 200).
MAX_NAME = 200


def trial_name(value: Any) -> str:
    """The trial's name as it is stored: Unicode NFC, spaces collapsed and stripped, so that
    " GVHD" and "GVHD" (or a name typed with a different space or accent encoding) are one
    trial. Control characters are refused: a name is shown on pages and in URLs."""
    if not isinstance(value, str):
        raise ConductError(f"name: text, got {type(value).__name__}")
    name = " ".join(unicodedata.normalize("NFC", value).split())
    if not name:
        raise ConductError("name: required")
    if len(name) > MAX_NAME:
        raise ConductError(f"name: at most {MAX_NAME} characters, got {len(name)}")
    if unprintable(name):
        raise ConductError("name: control or unprintable characters are not allowed")
    if "/" in name:  # the name is a path segment of the trial's pages and API
        raise ConductError("name: must not contain '/'")
    return name


def dose_problems(dose_levels: Any) -> list[str]:
    """What is wrong with a trial's dose levels: each a finite positive amount, strictly
    increasing (so unique), at most :data:`MAX_DOSES` of them."""
    if not isinstance(dose_levels, list | tuple) or not dose_levels:
        return ["dose_levels: give the dose levels, e.g. [0.5, 1, 2]"]
    if len(dose_levels) > MAX_DOSES:
        return [f"dose_levels: at most {MAX_DOSES} levels, got {len(dose_levels)}"]
    values: list[float] = []
    for v in dose_levels:
        if isinstance(v, bool) or not isinstance(v, int | float):
            return [f"dose_levels: numbers, got {type(v).__name__}"]
        try:
            f = float(v)
        except OverflowError:
            return [f"dose_levels: every dose at most {MAX_DOSE:g}"]
        if not math.isfinite(f):
            return [f"dose_levels: finite numbers, got {f}"]
        if not 0 < f <= MAX_DOSE:
            return [f"dose_levels: every dose above 0 and at most {MAX_DOSE:g}, got {f:g}"]
        values.append(f)
    for a, b in pairwise(values):
        if b == a:
            return [f"dose_levels: dose {a:g} is given twice; each level is a different dose"]
        if b < a:
            return [f"dose_levels: strictly increasing, but {b:g} follows {a:g}"]
    return []


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
        problems: list[str] = []
        try:
            name = trial_name(name)
        except ConductError as exc:
            problems.append(str(exc))
        problems += dose_problems(dose_levels)
        if not isinstance(dose_unit, str) or len(dose_unit) > MAX_TEXT:
            problems.append(f"dose_unit: text of at most {MAX_TEXT} characters")
        elif unprintable(dose_unit):
            problems.append("dose_unit: control or unprintable characters are not allowed")
        if not isinstance(schedule, str) or len(schedule) > 2000:
            problems.append("schedule: text of at most 2000 characters")
        elif unprintable(schedule, multiline=True):
            problems.append("schedule: control characters are not allowed")
        if problems:  # the design is built for these dose levels only once they are sound
            raise ConductError("; ".join(problems))
        spec = {k: v for k, v in design_spec.items() if k not in CONDUCT_NAMES}
        given = {k: v for k, v in design_spec.items() if k in CONDUCT_NAMES}
        given.update(conduct or {})
        settings: dict[str, Any] = {}
        try:
            settings = check_conduct(given)
        except ValueError as exc:
            problems.append(str(exc))
        try:
            key = design_key(str(design_name))
        except ValueError:
            key = str(design_name)  # an unknown design: build_protocol names it below
        if key in WITH_WINDOW and settings:
            # the design weighs follow-up within its window: it is the protocol's DLT window,
            # in days, since the service measures follow-up in days from the dated record
            days = settings["dlt_window_days"]
            given_window = spec.get("window")
            if given_window is None:
                spec["window"] = days
            elif given_window != days:
                problems.append(
                    f"window: the design's DLT window is the protocol's dlt_window_days "
                    f"({days} days), got {given_window!r}"
                )
        backfill_window = spec.get("backfill_window")
        if key in BACKFILL_DESIGNS and backfill_window is not None and settings:
            # the service follows every subject over the protocol's DLT window; a backfill
            # window of its own would be a second, silently ignored, definition of "pending"
            days = settings["dlt_window_days"]
            try:
                same_window = float(backfill_window) == float(days)
            except (TypeError, ValueError):
                same_window = True  # not a number: the registry names it below
            if not same_window:
                problems.append(
                    f"backfill_window: backfill follows subjects over the protocol's "
                    f"dlt_window_days ({days} days), got {backfill_window!r}"
                )
        if key not in ("crm", "tite-crm") and key not in SINGLE_ARM:  # CRMs: the skeleton
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
        with self._tx() as s:
            # names differing only in case are one trial to the people who read them; compared
            # here, as SQLite's lower() knows only ASCII (a site runs a few dozen trials)
            folded = name.casefold()
            names = s.execute(select(Trial.name)).scalars()
            same = next((n for n in names if n.casefold() == folded), None)
            if same is not None:
                raise ConductError(f"name: trial {same!r} exists")
            trial = Trial(
                name=name,
                design_name=design_name,
                design_spec=spec,
                dose_levels=[float(v) for v in dose_levels],
                dose_unit=dose_unit,
                cohort_size=getattr(design, "cohort_size", 1),  # rolling six: one at a time
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

    def trial_names(self) -> list[str]:
        """Every trial's name, in the order they were created."""
        return self.read(lambda s: list(s.execute(select(Trial.name).order_by(Trial.id)).scalars()))

    def get_trial(self, name: str) -> Trial:
        def get(s: Session) -> Trial:
            return trial_named(s, name)

        return self.read(get)
