"""Decision rules of early-phase designs: what to do after any outcome."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from earlyphase.designs.base import DoseFindingDesign
    from earlyphase.designs.boin import BOIN
    from earlyphase.designs.boin12 import BOIN12
    from earlyphase.designs.bop2 import BOP2
    from earlyphase.designs.calibration import calibrate_skeleton
    from earlyphase.designs.contract import (
        ACTIONS,
        DECISION_COLUMNS,
        PATH_COLUMNS,
        Decision,
        Design,
    )
    from earlyphase.designs.crm import CRM, CRMFit
    from earlyphase.designs.doses import DoseLevels
    from earlyphase.designs.efftox import EffTox
    from earlyphase.designs.interval import MTPI2, I3Plus3, Keyboard
    from earlyphase.designs.monitoring import ToxicityMonitor, bdrycross_prob, toxbdry
    from earlyphase.designs.mtd_table import mtd_estimates
    from earlyphase.designs.multi_outcome import MultiOutcomeMonitor
    from earlyphase.designs.outcomes import History, history_from_counts, parse_outcomes
    from earlyphase.designs.predictive import PredictiveProbability, predictive_probability
    from earlyphase.designs.rolling_six import RollingSix
    from earlyphase.designs.simon import SimonTwoStage
    from earlyphase.designs.thall_simon import ThallSimon, beta_prior
    from earlyphase.designs.three_plus_three import ThreePlusThree
    from earlyphase.designs.tite_boin import TITEBOIN
    from earlyphase.designs.tite_crm import TITECRM

#: Where each public name lives; a module is imported on first use of one of its names, so
#: importing one design (e.g. for the command line) does not load every other.
_EXPORTS: dict[str, str] = {
    "DoseFindingDesign": "earlyphase.designs.base",
    "BOIN": "earlyphase.designs.boin",
    "ACTIONS": "earlyphase.designs.contract",
    "DECISION_COLUMNS": "earlyphase.designs.contract",
    "PATH_COLUMNS": "earlyphase.designs.contract",
    "Decision": "earlyphase.designs.contract",
    "Design": "earlyphase.designs.contract",
    "CRM": "earlyphase.designs.crm",
    "CRMFit": "earlyphase.designs.crm",
    "DoseLevels": "earlyphase.designs.doses",
    "EffTox": "earlyphase.designs.efftox",
    "ToxicityMonitor": "earlyphase.designs.monitoring",
    "bdrycross_prob": "earlyphase.designs.monitoring",
    "toxbdry": "earlyphase.designs.monitoring",
    "MultiOutcomeMonitor": "earlyphase.designs.multi_outcome",
    "History": "earlyphase.designs.outcomes",
    "history_from_counts": "earlyphase.designs.outcomes",
    "parse_outcomes": "earlyphase.designs.outcomes",
    "PredictiveProbability": "earlyphase.designs.predictive",
    "predictive_probability": "earlyphase.designs.predictive",
    "SimonTwoStage": "earlyphase.designs.simon",
    "ThallSimon": "earlyphase.designs.thall_simon",
    "beta_prior": "earlyphase.designs.thall_simon",
    "ThreePlusThree": "earlyphase.designs.three_plus_three",
    "BOP2": "earlyphase.designs.bop2",
    "RollingSix": "earlyphase.designs.rolling_six",
    "TITECRM": "earlyphase.designs.tite_crm",
    "TITEBOIN": "earlyphase.designs.tite_boin",
    "mtd_estimates": "earlyphase.designs.mtd_table",
    "calibrate_skeleton": "earlyphase.designs.calibration",
    "BOIN12": "earlyphase.designs.boin12",
    "MTPI2": "earlyphase.designs.interval",
    "Keyboard": "earlyphase.designs.interval",
    "I3Plus3": "earlyphase.designs.interval",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(_EXPORTS)


__all__ = [
    "ACTIONS",
    "BOIN",
    "BOIN12",
    "BOP2",
    "CRM",
    "DECISION_COLUMNS",
    "MTPI2",
    "PATH_COLUMNS",
    "TITEBOIN",
    "TITECRM",
    "CRMFit",
    "Decision",
    "Design",
    "DoseFindingDesign",
    "DoseLevels",
    "EffTox",
    "History",
    "I3Plus3",
    "Keyboard",
    "MultiOutcomeMonitor",
    "PredictiveProbability",
    "RollingSix",
    "SimonTwoStage",
    "ThallSimon",
    "ThreePlusThree",
    "ToxicityMonitor",
    "bdrycross_prob",
    "beta_prior",
    "calibrate_skeleton",
    "history_from_counts",
    "mtd_estimates",
    "parse_outcomes",
    "predictive_probability",
    "toxbdry",
]
