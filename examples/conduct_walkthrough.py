"""A first-in-human 3+3 trial of a cell therapy, run through the trial service from Python.

Three dose levels of cells (0.5, 1 and 2 x 10^6 cells/kg), one infusion, a 28-day DLT window.
The walk goes through what a unit meets: a dose deviation that needs its reason, a DLT
discovered after a "no DLT" assessment and corrected with a reason (which marks the signed
decision "data changed after signature"), a recommendation rejected and then one approved at a
different dose, the safety review packet, and the audit trail verified and anchored.

Run: python examples/conduct_walkthrough.py [DIRECTORY]   (writes trial.db and packet.html)
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from earlyphase.conduct import ConductError, TrialService, audit, open_store
from earlyphase.conduct.packet import render_packet


def main(directory: Path) -> None:
    svc = TrialService(open_store(directory / "trial.db"))
    svc.bootstrap_admin("admin", "Ada Admin", "admin-pass-1")
    admin = svc.authenticate("admin", "admin-pass-1")
    svc.create_site(admin, "Tokyo")
    svc.create_user(admin, "stat", "Sam Statistician", "statistician", "stat-passwd-1")
    svc.create_user(admin, "ivy", "Ivy Investigator", "investigator", "ivy-passwd-11", "Tokyo")
    # the protocol: design settings and the conduct settings (window, schedule, tolerance)
    svc.create_trial(
        admin,
        "UC-MSC GVHD",
        "3+3",
        {"n_doses": 3},
        [0.5, 1.0, 2.0],
        conduct={"dlt_window_days": 28, "n_infusions": 1, "dose_tolerance": 0.1},
    )
    ivy = svc.authenticate("ivy", "ivy-passwd-11")
    stat = svc.authenticate("stat", "stat-passwd-1")
    trial = "UC-MSC GVHD"

    # cohort 1 at 0.5 x 10^6 cells/kg
    for code in ("001", "002", "003"):
        svc.enrol(ivy, trial, code, 62.0, enrolled_on="2026-03-02")
    try:  # a tenfold error is caught at entry, naming the field
        svc.record_infusion(ivy, trial, "001", "2026-03-03T10:00", 5.0, "LOT-A")
    except ConductError as exc:
        print("refused:", exc)
    svc.record_infusion(ivy, trial, "001", "2026-03-03T10:00", 0.5, "LOT-A")
    svc.record_infusion(ivy, trial, "002", "2026-03-03T11:00", 0.5, "LOT-A")
    # 8 % over the assigned dose is within the +-10 % tolerance; 12 % needs a reason
    svc.record_infusion(
        ivy,
        trial,
        "003",
        "2026-03-03T12:00",
        0.56,
        "LOT-A",
        deviation_reason="vial overfill, documented in the pharmacy log",
    )
    for code in ("001", "002", "003"):
        svc.record_dlt(ivy, trial, code, False, assessed_on="2026-03-30")
    first = svc.recommendation(stat, trial)["latest"]
    print("after cohort 1:", first["outcomes"], "->", first["reason"])
    svc.confirm_decision(stat, first["id"], "stat-passwd-1")  # approve: escalate to level 2

    # a DLT found on source verification after the "no DLT" assessment: the assessment is
    # voided with its reason (it stays in the record), and the DLT recorded as the adverse
    # event it is
    review = svc.review(stat, first["id"])
    wrong = next(x["assessment"]["id"] for x in review["subjects"] if x["code"] == "002")
    svc.void(ivy, trial, "dlt_assessment", wrong, "source: grade 3 CRS on day 18, missed")
    svc.record_ae(
        ivy,
        trial,
        "002",
        "Immune system disorders",
        "Cytokine release syndrome",
        3,
        related=True,
        onset_on="2026-03-20",
        dlt=True,
    )
    status = svc.status(stat, trial)
    print("decision 1 now:", status["decisions"][0]["data_changed_label"])

    # cohort 2 at dose level 2; the statistician rejects, then approves a different dose
    for code in ("004", "005", "006"):
        svc.enrol(ivy, trial, code, 70.0, enrolled_on="2026-04-06")
        svc.record_infusion(ivy, trial, code, "2026-04-07T10:00", 1.0, "LOT-B")
        svc.record_dlt(ivy, trial, code, False, assessed_on="2026-05-04")
    second = svc.recommendation(stat, trial)["latest"]
    svc.confirm_decision(
        stat, second["id"], "stat-passwd-1", "reject", reason="await the SRC's review of 002"
    )
    # the committee has met: a new decision from the same data, approved at another dose (the
    # deviation from the design is recorded and reported)
    third = svc.recompute_decision(stat, second["id"], "safety review committee met")
    svc.confirm_decision(
        stat,
        third.id,
        "stat-passwd-1",
        "approve_other_dose",
        dose=2,
        reason="SRC: expand dose level 2 before escalating after the late DLT at level 1",
    )

    for d in svc.status(stat, trial)["decisions"]:
        print(f"decision {d['id']}: {d['meaning']}")
    packet = svc.safety_packet(stat, trial)
    (directory / "packet.html").write_text(render_packet(packet), encoding="utf-8")
    with svc.sessions() as s:
        result = audit.verify(s)
    print(result.message.splitlines()[0])
    print("packet:", directory / "packet.html")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp()))
