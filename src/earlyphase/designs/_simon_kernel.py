"""The compiled kernel of the Simon two-stage search (Numba), in a module of its own so that
Numba is imported only when a search runs, not whenever a Simon design is named.

Its algorithm is described in :mod:`earlyphase.designs.simon`.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


@njit(cache=True)
def search_kernel(
    pmf0: FloatArray,
    pmf1: FloatArray,
    tail0: FloatArray,
    tail1: FloatArray,
    alpha: float,
    beta: float,
    n_max: int,
) -> FloatArray:  # pragma: no cover - compiled
    """Best design per n: rows (r1, n1, r, n, EN0, PET0), n-th row all zero if infeasible.

    tailX[m, k] = P(X >= k) for X ~ Bin(m, pX), k = 0..n_max + 1. Order of the search and
    tie-breaking as clinfun's f2bdry: n1 ascending, r1 descending, r descending, strict
    improvement of E[N | p0].
    """
    out = np.zeros((n_max + 1, 6))
    a0 = np.zeros(n_max + 2)
    a1 = np.zeros(n_max + 2)
    for n in range(2, n_max + 1):
        best = float(n)
        for n1 in range(1, n):
            if n1 >= best:
                break
            n2 = n - n1
            for s in range(n + 1):
                a0[s] = 0.0
                a1[s] = 0.0
            pet = 1.0
            for s1 in range(n1 - 1, -2, -1):
                # add the x1 = s1 + 1 term: a[s] = sum_{x1 > s1} b(x1) P(X2 >= s + 1 - x1)
                x1 = s1 + 1
                pet -= pmf0[n1, x1]
                for s in range(-1, n):
                    k = s + 1 - x1
                    if k > n2:
                        break
                    t0 = 1.0 if k <= 0 else tail0[n2, k]
                    t1 = 1.0 if k <= 0 else tail1[n2, k]
                    a0[s + 1] += pmf0[n1, x1] * t0
                    a1[s + 1] += pmf1[n1, x1] * t1
                pet_s1 = pet if s1 >= 0 else 0.0
                en = n1 + (1.0 - pet_s1) * n2
                if en >= best:
                    break
                found = -2
                for s in range(n2 + s1, s1 - 1, -1):
                    if a0[s + 1] < alpha and 1.0 - a1[s + 1] < beta:
                        found = s
                        break
                if found > -2:
                    best = en
                    out[n, 0] = s1
                    out[n, 1] = n1
                    out[n, 2] = found
                    out[n, 3] = n
                    out[n, 4] = en
                    out[n, 5] = pet_s1
                    break
    return out
