"""Decision rules of early-phase designs: what to do after any outcome."""

from earlyphase.designs.base import Decision, DoseFindingDesign
from earlyphase.designs.boin import BOIN
from earlyphase.designs.crm import CRM, CRMFit
from earlyphase.designs.doses import DoseLevels
from earlyphase.designs.outcomes import History, history_from_counts, parse_outcomes
from earlyphase.designs.three_plus_three import ThreePlusThree

__all__ = [
    "BOIN",
    "CRM",
    "CRMFit",
    "Decision",
    "DoseFindingDesign",
    "DoseLevels",
    "History",
    "ThreePlusThree",
    "history_from_counts",
    "parse_outcomes",
]
