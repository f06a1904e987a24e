"""Brent's root finder exactly as R's ``uniroot`` runs it.

Some R results are only as precise as ``uniroot``'s default tolerance
(``.Machine$double.eps^0.25``, about 1.2e-4): ``fisher.test``'s conditional odds ratio and its
confidence limits, for instance. Reproducing R's printed digits therefore means taking the same
steps R takes. This is Brent's algorithm (Brent 1973, *Algorithms for Minimization without
Derivatives*, chapter 4), in the form of the netlib ``zeroin`` routine R uses, written from the
published algorithm.
"""

from __future__ import annotations

from collections.abc import Callable

EPSILON = 2.220446049250313e-16
#: R's ``uniroot`` default tolerance, ``.Machine$double.eps^0.25``.
R_UNIROOT_TOL = EPSILON**0.25


def r_uniroot(
    f: Callable[[float], float],
    lower: float,
    upper: float,
    tol: float = R_UNIROOT_TOL,
    maxiter: int = 1000,
) -> float:
    """Root of ``f`` in ``[lower, upper]`` by Brent's method with R ``uniroot`` semantics."""
    a, b = lower, upper
    fa, fb = f(a), f(b)
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    if (fa > 0) == (fb > 0):
        raise ValueError("f() values at the interval ends are not of opposite sign")
    c, fc = a, fa
    for _ in range(maxiter + 1):
        prev_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2 * EPSILON * abs(b) + tol / 2
        new_step = (c - b) / 2
        if abs(new_step) <= tol_act or fb == 0.0:
            return b
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:
                q = fa / fc
                t1 = fb / fc
                t2 = fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            if p < (0.75 * cb * q - abs(tol_act * q) / 2) and p < abs(prev_step * q / 2):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = f(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    return b
