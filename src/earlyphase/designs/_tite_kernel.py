"""Compiled kernels of the TITE-CRM simulation (Numba), in a module of their own so that Numba
is imported only when trials are simulated, not whenever a TITE-CRM design is named.

The simulation asks for the posterior mean of beta at every arrival of every trial. On the
quadrature grid of :mod:`~earlyphase.designs.tite_crm` the posterior density is

    prior(beta_g) W_g  x  L_complete(beta_g)  x  prod_pending {1 - w_j p_{d_j}(beta_g)},

where L_complete is the likelihood of the patients whose outcome is final (a DLT seen, or the
window completed): a product of p_d(beta_g) or 1 - p_d(beta_g) per patient (Cheung & Chappell
2000). A final outcome never changes, so L_complete is kept per trial and multiplied by one
factor when a patient's outcome becomes final, instead of being rebuilt from logarithms at
every arrival; only the few pending patients are multiplied in afresh. No exponential or
logarithm is evaluated per arrival, and the result equals the log-domain computation of
:meth:`~earlyphase.designs.tite_crm.TITECRM.fit` to rounding.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

# a row of L_complete is rescaled (the posterior does not depend on its scale) when its largest
# value falls below this, long before products of probabilities could underflow
_TINY = 1e-200


@njit(cache=True)
def absorb(
    lik: FloatArray,
    level0: IntArray,
    tox: BoolArray,
    new: BoolArray,
    p: FloatArray,
    q: FloatArray,
) -> None:  # pragma: no cover - compiled
    """Multiply each trial's (rows) complete-data likelihood ``lik`` (trials x grid) by the
    factor of every patient whose outcome became final (``new``): p_d on the grid for a DLT,
    1 - p_d otherwise (``p``, ``q``: doses x grid; ``level0`` 0-based)."""
    t, m = new.shape
    g = lik.shape[1]
    for r in range(t):
        changed = False
        for j in range(m):
            if new[r, j]:
                f = p[level0[r, j]] if tox[r, j] else q[level0[r, j]]
                for k in range(g):
                    lik[r, k] *= f[k]
                changed = True
        if changed:
            top = 0.0
            for k in range(g):
                top = max(top, lik[r, k])
            if 0.0 < top < _TINY:
                for k in range(g):
                    lik[r, k] /= top


@njit(cache=True)
def posterior_mean(
    lik: FloatArray,
    prior_w: FloatArray,
    beta: FloatArray,
    p: FloatArray,
    level0: IntArray,
    w: FloatArray,
    pending: BoolArray,
) -> FloatArray:  # pragma: no cover - compiled
    """Posterior mean of beta per trial: ``lik`` (complete patients) times ``prior_w`` (prior
    density times quadrature weight) times 1 - w_j p_{d_j} for each ``pending`` patient j."""
    t, m = pending.shape
    g = lik.shape[1]
    out = np.empty(t)
    dens = np.empty(g)
    for r in range(t):
        for k in range(g):
            dens[k] = prior_w[k]
        for j in range(m):
            if pending[r, j]:
                wj = w[r, j]
                pj = p[level0[r, j]]
                for k in range(g):
                    dens[k] *= 1.0 - wj * pj[k]
        s0 = 0.0
        s1 = 0.0
        for k in range(g):
            v = dens[k] * lik[r, k]
            s0 += v
            s1 += v * beta[k]
        out[r] = s1 / s0
    return out
