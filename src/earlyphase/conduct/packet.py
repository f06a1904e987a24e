"""The safety review packet for a dose-escalation meeting: what the safety review committee
reads before the next cohort opens (cohort listing, doses given, AEs and DLTs by subject,
evaluability and DLT windows, the design's decision table and recommendation, earlier decisions
with their signatures, and open dose deviations), as one self-contained HTML page that prints
to A4 PDF with headless Chromium.

The packet only reads the record; it changes nothing and recomputes no decision: the
recommendation shown is the frozen one, with its mark if data changed after it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader
from sqlalchemy.orm import Session

from earlyphase.conduct.backfilling import backfill_cohorts, is_backfill_cohort
from earlyphase.conduct.common import (
    conduct_of,
    design_of,
    require,
    trial_named,
    zone_of,
)
from earlyphase.conduct.decisions import cohorts_of, members, subject_review
from earlyphase.conduct.status import StatusMixin


class PacketMixin(StatusMixin):
    """``safety_packet``: the data of the packet (the web page and ``earlyphase packet``)."""

    def safety_packet(self, actor: Any, trial_name: str) -> dict[str, Any]:
        """Everything the packet shows, as JSON-ready values. Statisticians, monitors and
        administrators see every site; the committee's packet is not split by site."""
        require(actor, "statistician", "admin", "monitor")
        status = self.status(actor, trial_name)

        def get(s: Session) -> dict[str, Any]:
            trial = trial_named(s, trial_name)
            design = design_of(trial)
            zone = zone_of(trial)
            cohorts = []
            # the backfill subjects too: the committee reviews every subject's safety data
            for c in cohorts_of(s, trial) + backfill_cohorts(s, trial):
                cohorts.append(
                    {
                        "number": c.number,
                        "label": f"backfill, dose level {c.dose_level}"
                        if is_backfill_cohort(c)
                        else f"cohort {c.number}",
                        "dose_level": c.dose_level,
                        "dose": trial.dose_levels[c.dose_level - 1],
                        "size": c.size,
                        "subjects": [subject_review(s, trial, m) for m in members(s, c)],
                    }
                )
            table = design.protocol_table()
            return {
                "trial": trial.name,
                "design": trial.design_name,
                "rules": design.describe(),
                "dose_levels": list(trial.dose_levels),
                "dose_unit": trial.dose_unit,
                "conduct": conduct_of(trial),
                "time_zone": str(zone.key),
                "generated_at": dt.datetime.now(zone).isoformat(timespec="minutes"),
                "generated_by": actor.full_name,
                "cohorts": cohorts,
                "decision_table": {
                    "columns": [str(c) for c in table.columns],
                    "rows": [[_cell(v) for v in row] for row in table.itertuples(index=False)],
                },
            }

        data = self.read(get)
        zone = ZoneInfo(data["time_zone"])
        decisions = [
            {**d, "confirmed_at": _local(d["confirmed_at"], zone)} for d in status["decisions"]
        ]
        data["outcomes"] = status["outcomes"]
        data["decisions"] = decisions
        data["recommendation"] = decisions[-1] if decisions else None
        data["deviations"] = status["deviations"]
        return data


def _local(instant: str | None, zone: ZoneInfo) -> str | None:
    """An instant stored in UTC, as the trial's clock read it, with the zone's abbreviation."""
    if instant is None:
        return None
    at = dt.datetime.fromisoformat(instant)
    at = at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at
    local = at.astimezone(zone)
    return f"{local.isoformat(timespec='minutes')} {local.tzname()}"


def _cell(value: Any) -> Any:
    if isinstance(value, float) and value != value:  # NaN: nothing to print
        return ""
    if hasattr(value, "item"):  # NumPy scalars
        return value.item()
    return value


def render_packet(packet: dict[str, Any]) -> str:
    """The packet as one self-contained HTML page (``templates/packet.html``, autoescaped:
    every value is data)."""
    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("packet.html").render(p=packet)
