"""Decision rules of early-phase designs: what to do after any outcome."""

from earlyphase.designs.base import DoseFindingDesign
from earlyphase.designs.boin import BOIN
from earlyphase.designs.contract import ACTIONS, DECISION_COLUMNS, PATH_COLUMNS, Decision, Design
from earlyphase.designs.crm import CRM, CRMFit
from earlyphase.designs.doses import DoseLevels
from earlyphase.designs.efftox import EffTox
from earlyphase.designs.monitoring import ToxicityMonitor, bdrycross_prob, toxbdry
from earlyphase.designs.multi_outcome import MultiOutcomeMonitor
from earlyphase.designs.outcomes import History, history_from_counts, parse_outcomes
from earlyphase.designs.predictive import PredictiveProbability, predictive_probability
from earlyphase.designs.simon import SimonTwoStage
from earlyphase.designs.thall_simon import ThallSimon, beta_prior
from earlyphase.designs.three_plus_three import ThreePlusThree

__all__ = [
    "ACTIONS",
    "BOIN",
    "CRM",
    "DECISION_COLUMNS",
    "PATH_COLUMNS",
    "CRMFit",
    "Decision",
    "Design",
    "DoseFindingDesign",
    "DoseLevels",
    "EffTox",
    "History",
    "MultiOutcomeMonitor",
    "PredictiveProbability",
    "SimonTwoStage",
    "ThallSimon",
    "ThreePlusThree",
    "ToxicityMonitor",
    "bdrycross_prob",
    "beta_prior",
    "history_from_counts",
    "parse_outcomes",
    "predictive_probability",
    "toxbdry",
]
