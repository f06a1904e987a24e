"""Which SPIRIT-DEFINE topics the statistical section covers, and where.

SPIRIT-DEFINE (Yap et al. 2023, BMJ 383:e076386) extends the SPIRIT 2013 protocol checklist
for early-phase dose-finding trials. The rows below are the topics of that extension that
belong to (or border on) a protocol's statistical section, phrased here in our own words; each
names the SPIRIT 2013 item it extends and the heading of this section that addresses it.
Topics the statistical section cannot settle by itself (the DLT definition, who takes the dose
decisions) are listed too, marked for the trial team to complete elsewhere in the protocol.
The DEFINE sub-item numbers are not repeated here: check them against Table 1 of the paper.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from earlyphase.protocol import headings as h

if TYPE_CHECKING:
    import pandas as pd

ADDRESSED = "addressed"
PARTLY = "partly addressed"
NOT_APPLICABLE = "not applicable"
TO_COMPLETE = "to complete elsewhere in the protocol"

#: Column headings of the checklist table.
COLUMNS = ("Topic", "SPIRIT 2013 item extended", "Where addressed", "Status")


@dataclass(frozen=True)
class ChecklistItem:
    """One checklist row: the topic, the SPIRIT 2013 item it extends, where and how covered."""

    topic: str
    spirit_item: str
    where: str
    status: str


def checklist_items(
    *,
    dose_finding: bool,
    has_prior: bool,
    has_paths: bool,
    rules_heading: str,
) -> list[ChecklistItem]:
    """The checklist for a design: ``dose_finding`` (False for single-arm monitoring),
    ``has_prior`` (the design uses a model or prior), ``has_paths`` (its rule table is a set
    of dose-transition pathways), ``rules_heading`` (the heading of its rule table)."""

    def at(heading: str) -> str:
        return h.number(heading, rules_heading)

    rows = [
        ChecklistItem(
            "Diagram of the trial's decision flow and of its transition points (for example "
            "from escalation to an expansion cohort)",
            "8 (trial design)",
            at(h.SCHEMA),
            ADDRESSED,
        ),
        ChecklistItem(
            "The design named and described: method, cohort size, starting dose and dose levels"
            if dose_finding
            else "The design named and described: endpoint, looks and maximum sample size",
            "8 (trial design)",
            at(h.DESIGN),
            ADDRESSED,
        ),
    ]
    if dose_finding:
        rows += [
            ChecklistItem(
                "Why this starting dose and these dose levels were chosen",
                "11a (interventions)",
                at(h.DESIGN),
                PARTLY + ": dose levels listed; the clinical rationale is to be added",
            ),
            ChecklistItem(
                "Rules for moving between dose levels (escalate, stay, de-escalate, skipping), "
                "in a form the clinical team can apply",
                "8 (trial design)",
                at(rules_heading),
                ADDRESSED,
            ),
            ChecklistItem(
                "Dose-transition pathways for a model-based design",
                "8 (trial design)",
                at(rules_heading),
                ADDRESSED if has_paths else NOT_APPLICABLE + " (rule-based decision table)",
            ),
        ]
    else:
        rows.append(
            ChecklistItem(
                "Interim looks and the boundaries applied at each",
                "21b (interim analyses and stopping guidelines)",
                at(rules_heading),
                ADDRESSED,
            )
        )
    rows += [
        ChecklistItem(
            "Statistical model, prior distributions (and skeleton) with their justification",
            "20a (statistical methods)",
            at(h.PRIORS),
            ADDRESSED if has_prior else NOT_APPLICABLE + " (no model or prior)",
        ),
        ChecklistItem(
            "Stopping rules: maximum sample size, early stopping for safety or futility",
            "21b (interim analyses and stopping guidelines)",
            at(h.STOPPING),
            ADDRESSED,
        ),
    ]
    if dose_finding:
        rows.append(
            ChecklistItem(
                "How the recommended dose (MTD or RP2D) is chosen when escalation ends",
                "20a (statistical methods)",
                at(h.DESIGN),
                ADDRESSED,
            )
        )
    rows += [
        ChecklistItem(
            "Sample size justified by operating characteristics under stated scenarios",
            "14 (sample size)",
            at(h.SAMPLE_SIZE),
            ADDRESSED,
        ),
        ChecklistItem(
            "Software (and version) used for the rules and the operating characteristics",
            "20a (statistical methods)",
            at(h.SAMPLE_SIZE),
            ADDRESSED,
        ),
    ]
    if dose_finding:
        rows += [
            ChecklistItem(
                "Definition of a dose-limiting toxicity and of its assessment window",
                "12 (outcomes)",
                "outcomes section",
                TO_COMPLETE,
            ),
            ChecklistItem(
                "Who reviews the data and decides each dose (safety review committee), and how "
                "a decision that departs from the design's recommendation is handled",
                "21a (data monitoring)",
                "data monitoring section",
                TO_COMPLETE,
            ),
        ]
    return rows


def checklist_frame(items: list[ChecklistItem]) -> pd.DataFrame:
    """The checklist as a table with the :data:`COLUMNS` headings."""
    import pandas as pd

    return pd.DataFrame(
        [(i.topic, i.spirit_item, i.where, i.status) for i in items], columns=list(COLUMNS)
    )
