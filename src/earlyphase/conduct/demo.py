"""A demo trial for ``earlyphase serve --demo``: the GVHD trial's 3+3 at 0.5/1.0/2.0 x 10^6
cells/kg with one site, an investigator, a statistician and a monitor. Its protocol gives six
infusions twice weekly (every 3 days here, as the schedule has whole-day intervals), a 28-day
DLT window from the first infusion, evaluability after at least one infusion, a 10 % dose
tolerance, replacement of non-evaluable subjects, and dates in Tokyo time."""

from __future__ import annotations

from pathlib import Path

from earlyphase.conduct.service import ConductError, TrialService
from earlyphase.conduct.store import open_store

DEMO_USERS = (
    ("stat", "Sam Statistician", "statistician", "stat-demo-pass", None),
    ("inv", "Ivy Investigator", "investigator", "inv-demo-pass", "Site A"),
    ("monitor", "Mo Monitor", "monitor", "monitor-demo-pass", None),
)

DEMO_CONDUCT = {
    "dlt_window_days": 28,
    "dlt_window_from": "first",
    "evaluable_if": "any-infusion",
    "n_infusions": 6,
    "infusion_interval_days": 3,
    "dose_tolerance": 0.1,
    "replace_non_evaluable": True,
    "time_zone": "Asia/Tokyo",
}


def seed_demo(database: str | Path | None = None) -> list[str]:
    """Create the demo users and trial if absent; returns what was done, with passwords."""
    svc = TrialService(open_store(database))
    lines = []
    try:
        svc.bootstrap_admin("admin", "Ada Admin", "admin-demo-pass")
        lines.append("created user admin / admin-demo-pass")
    except ConductError:
        lines.append("users exist; demo seeding skipped")
        return lines
    admin = svc.authenticate("admin", "admin-demo-pass")
    svc.create_site(admin, "Site A")
    for username, name, role, password, site in DEMO_USERS:
        svc.create_user(admin, username, name, role, password, site)
        lines.append(f"created user {username} / {password} ({role})")
    svc.create_trial(
        admin,
        "GVHD phase Ib",
        "3+3",
        {"n_doses": 3},
        [0.5, 1.0, 2.0],
        schedule="twice weekly for 3 weeks",
        conduct=DEMO_CONDUCT,
    )
    lines.append("created trial 'GVHD phase Ib' (3+3 at 0.5 / 1.0 / 2.0 x 10^6 cells/kg)")
    return lines
