"""CRM skeletons from an indifference interval, as R ``dfcrm::getprior``.

Lee & Cheung (2009) choose the skeleton p_1 < ... < p_K of a one-parameter CRM so that the
model, fitted to any data, moves from dose k to dose k + 1 exactly when the estimated rate at
dose k falls below target - delta and the rate at k + 1 is within target + delta: with the
prior MTD at level nu, p_nu = target, and the skeleton is built outward from nu by requiring
that the two doses' curves cross the interval's ends at the same value of beta (Lee & Cheung
2009, the indifference interval):

- empiric model p_k(beta) = p_k^exp(beta): the beta_k with p_k^exp(beta_k) = target + delta
  gives p_{k-1} = (target - delta)^(1 / exp(beta_k)), and going up, the beta with
  p_k^exp(beta) = target - delta gives p_{k+1} = (target + delta)^(1 / exp(beta));
- logistic model logit p_k(beta) = a + exp(beta) x_k: the same on the scaled doses x_k, with
  x_nu = logit(target) - a and logit(target -+ delta) - a in place of log(target -+ delta).

References
----------
Lee SM, Cheung YK (2009). Model calibration in the continual reassessment method. Clinical
    Trials 6:227-238.
Cheung YK (2011). Dose Finding by the Continual Reassessment Method. CRC Press.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

__all__ = ["calibrate_skeleton"]


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def calibrate_skeleton(
    target: float,
    n_doses: int,
    mtd_prior_level: int,
    delta: float = 0.05,
    model: str = "empiric",
    intercept: float = 3.0,
) -> FloatArray:
    """The CRM skeleton with indifference interval target -+ ``delta`` and the prior MTD at
    dose ``mtd_prior_level`` (1-based): ``dfcrm::getprior(halfwidth = delta, target,
    nu = mtd_prior_level, nlevel = n_doses, model, intcpt = intercept)``.

    Lee & Cheung (2009), Clin Trials 6:227-238 (equations in the module docstring). The result
    is strictly increasing, equals ``target`` at ``mtd_prior_level`` and can be given as the
    ``skeleton`` of :class:`~earlyphase.designs.crm.CRM` or
    :class:`~earlyphase.designs.tite_crm.TITECRM` with the same ``model`` (and ``intercept``).

    Examples
    --------
    As ``dfcrm::getprior(0.05, 0.25, 3, 5)``:

    >>> calibrate_skeleton(0.25, 5, 3, delta=0.05).round(4).tolist()
    [0.084, 0.1567, 0.25, 0.3545, 0.4603]
    """
    if model not in ("empiric", "logistic"):
        raise ValueError(f"model: must be 'empiric' or 'logistic', got {model!r}")
    if isinstance(n_doses, bool) or not isinstance(n_doses, int) or n_doses < 1:
        raise ValueError(f"n_doses: must be an integer >= 1, got {n_doses!r}")
    if (
        isinstance(mtd_prior_level, bool)
        or not isinstance(mtd_prior_level, int)
        or not 1 <= mtd_prior_level <= n_doses
    ):
        raise ValueError(f"mtd_prior_level: must be an integer in 1..{n_doses}")
    if not 0.0 < target < 1.0:
        raise ValueError(f"target: must be in (0, 1), got {target!r}")
    if not 0.0 < delta < min(target, 1.0 - target):
        raise ValueError(
            f"delta: the interval target -+ delta must lie inside (0, 1), got {delta!r}"
        )
    nu = mtd_prior_level - 1
    lo, hi = target - delta, target + delta
    x = np.empty(n_doses, dtype=np.float64)
    if model == "empiric":
        # on the log scale, log p_k^exp(beta) = exp(beta) log p_k: equal betas at the ends
        # of the interval make log p_{k-1} / log p_k = log(lo) / log(hi), and the reverse above
        x[nu] = math.log(target)
        down, up = math.log(lo) / math.log(hi), math.log(hi) / math.log(lo)
    else:
        if not _logit(hi) - intercept < 0.0:
            raise ValueError(
                "intercept: too small for the logistic model (scaled doses must be < 0)"
            )
        # the same on the scaled doses x_k = (logit p_k(beta) - a) / exp(beta)
        x[nu] = _logit(target) - intercept
        down = (_logit(lo) - intercept) / (_logit(hi) - intercept)
        up = 1.0 / down
    for k in range(nu, 0, -1):
        x[k - 1] = x[k] * down
    for k in range(nu, n_doses - 1):
        x[k + 1] = x[k] * up
    if model == "empiric":
        return np.asarray(np.exp(x), dtype=np.float64)
    return np.asarray(1.0 / (1.0 + np.exp(-intercept - x)), dtype=np.float64)
