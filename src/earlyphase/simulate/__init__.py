"""Operating characteristics of designs: exact enumeration and vectorised simulation."""

from earlyphase.simulate.exact import exact_oc
from earlyphase.simulate.monte_carlo import compare_designs, simulate_oc
from earlyphase.simulate.results import OperatingCharacteristics

__all__ = ["OperatingCharacteristics", "compare_designs", "exact_oc", "simulate_oc"]
