"""Estimators and tests for small early-phase trials (pure functions, no I/O).

Every function follows the R (and, where it differs, SAS) definition named in its docstring
and is tested against reference values computed in R.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from earlyphase.stats.beta import BetaPosterior, beta_hpd
    from earlyphase.stats.binomial import BINOMIAL_METHODS, binomial_ci
    from earlyphase.stats.competing_risks import (
        CumulativeIncidenceResult,
        cumulative_incidence,
        gray_test,
    )
    from earlyphase.stats.contingency import FisherResult, fisher_exact
    from earlyphase.stats.paired import (
        PairedTResult,
        WilcoxonResult,
        paired_t,
        wilcoxon_signed_rank,
    )
    from earlyphase.stats.survival import (
        KaplanMeierResult,
        LogRankResult,
        kaplan_meier,
        logrank_test,
    )

#: Where each public name lives; a module is imported on first use of one of its names, so
#: importing the package (e.g. for the command line) does not load SciPy or pandas.
_EXPORTS: dict[str, str] = {
    "BetaPosterior": "earlyphase.stats.beta",
    "beta_hpd": "earlyphase.stats.beta",
    "BINOMIAL_METHODS": "earlyphase.stats.binomial",
    "binomial_ci": "earlyphase.stats.binomial",
    "CumulativeIncidenceResult": "earlyphase.stats.competing_risks",
    "cumulative_incidence": "earlyphase.stats.competing_risks",
    "gray_test": "earlyphase.stats.competing_risks",
    "FisherResult": "earlyphase.stats.contingency",
    "fisher_exact": "earlyphase.stats.contingency",
    "PairedTResult": "earlyphase.stats.paired",
    "WilcoxonResult": "earlyphase.stats.paired",
    "paired_t": "earlyphase.stats.paired",
    "wilcoxon_signed_rank": "earlyphase.stats.paired",
    "KaplanMeierResult": "earlyphase.stats.survival",
    "LogRankResult": "earlyphase.stats.survival",
    "kaplan_meier": "earlyphase.stats.survival",
    "logrank_test": "earlyphase.stats.survival",
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
