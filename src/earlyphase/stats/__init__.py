"""Estimators and tests for small early-phase trials (pure functions, no I/O).

Every function follows the R (and, where it differs, SAS) definition named in its docstring
and is tested against reference values computed in R.
"""

from earlyphase.stats.beta import BetaPosterior, beta_hpd
from earlyphase.stats.binomial import BINOMIAL_METHODS, binomial_ci
from earlyphase.stats.competing_risks import (
    CumulativeIncidenceResult,
    cumulative_incidence,
    gray_test,
)
from earlyphase.stats.contingency import FisherResult, fisher_exact
from earlyphase.stats.paired import PairedTResult, WilcoxonResult, paired_t, wilcoxon_signed_rank
from earlyphase.stats.survival import (
    KaplanMeierResult,
    LogRankResult,
    kaplan_meier,
    logrank_test,
)

__all__ = [
    "BINOMIAL_METHODS",
    "BetaPosterior",
    "CumulativeIncidenceResult",
    "FisherResult",
    "KaplanMeierResult",
    "LogRankResult",
    "PairedTResult",
    "WilcoxonResult",
    "beta_hpd",
    "binomial_ci",
    "cumulative_incidence",
    "fisher_exact",
    "gray_test",
    "kaplan_meier",
    "logrank_test",
    "paired_t",
    "wilcoxon_signed_rank",
]
