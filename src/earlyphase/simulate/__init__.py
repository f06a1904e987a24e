"""Operating characteristics of designs: exact enumeration and vectorised simulation.

The engine that runs a design (:mod:`earlyphase.engine`) lies below :mod:`earlyphase.designs`;
this package holds what compares designs: several designs on the same simulated patients.
"""

from earlyphase.engine.exact import exact_oc
from earlyphase.engine.monte_carlo import simulate_oc
from earlyphase.engine.results import OperatingCharacteristics
from earlyphase.simulate.monte_carlo import compare_designs

__all__ = ["OperatingCharacteristics", "compare_designs", "exact_oc", "simulate_oc"]
