"""Comparison to the digits R prints."""

from __future__ import annotations

import math
import os
from collections.abc import Iterable


def agrees(got: float, want: float, sig: int = 7) -> bool:
    """True when ``got`` rounds to ``want`` printed with ``sig`` significant digits.

    The tolerance is half a unit in the last printed digit of ``want`` (R prints 7 significant
    digits by default). NaN agrees with NaN (R's NA); exact 0 and 1 must be met to 1e-12.
    """
    if math.isnan(want):
        return math.isnan(got)
    if math.isinf(want):
        return got == want
    if want == 0:
        return abs(got) <= 1e-12
    exponent = math.floor(math.log10(abs(want)))
    half_unit = 0.5 * 10.0 ** (exponent - sig + 1)
    return abs(got - want) <= half_unit * (1 + 1e-9) + 1e-15


def all_agree(got: Iterable[float], want: Iterable[float], sig: int = 7) -> bool:
    g, w = list(got), list(want)
    return len(g) == len(w) and all(agrees(a, b, sig) for a, b in zip(g, w, strict=True))


def assert_agree(got: Iterable[float], want: Iterable[float], sig: int = 7, what: str = "") -> None:
    g, w = [float(v) for v in got], [float(v) for v in want]
    assert len(g) == len(w), f"{what}: lengths differ {len(g)} vs {len(w)}"
    bad = [(i, a, b) for i, (a, b) in enumerate(zip(g, w, strict=True)) if not agrees(a, b, sig)]
    assert not bad, f"{what}: (index, got, R) differing at {sig} significant digits: {bad[:5]}"


def assert_agree_decimals(
    got: Iterable[float], want: Iterable[float], decimals: int, what: str = ""
) -> None:
    """Agreement with a table R printed with a fixed number of decimals."""
    g, w = [float(v) for v in got], [float(v) for v in want]
    assert len(g) == len(w), f"{what}: lengths differ {len(g)} vs {len(w)}"
    tol = 0.5 * 10.0**-decimals * (1 + 1e-9)
    bad = [
        (i, a, b)
        for i, (a, b) in enumerate(zip(g, w, strict=True))
        if not ((math.isnan(a) and math.isnan(b)) or abs(a - b) <= tol)
    ]
    assert not bad, f"{what}: (index, got, R) differing at {decimals} decimals: {bad[:5]}"


# R survival::aml (Miller RG 1997, Survival Analysis, Wiley; 23 patients, time in weeks),
# used by the Kaplan-Meier and log-rank tests. ``print(aml)`` in R 4.2.2, survival 3.5-3.
MAINT_T = [9, 13, 13, 18, 23, 28, 31, 34, 45, 48, 161]  # x == "Maintained"
MAINT_S = [1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0]
NONM_T = [5, 5, 8, 8, 12, 16, 23, 27, 30, 33, 43, 45]  # x == "Nonmaintained"
NONM_S = [1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1]


def csrf_of(page: str) -> str:
    """The CSRF token a form of ``page`` carries (the sign-in form's, or a signed-in page's)."""
    import re

    found = re.search(r"name=['\"]csrf['\"] value=['\"]([0-9a-f]+)['\"]", page)
    assert found is not None, "the page has no form with a CSRF token"
    return found.group(1)


#: The Chromium the browser tests drive (scripts/test-services.sh sets it), and its flags.
CHROMIUM = os.environ.get("EARLYPHASE_CHROMIUM")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def sign_in(page: object, server: str, user: str) -> None:
    """Sign a Playwright page in as a demo user (``seed_demo``'s password: USER-demo-pass)."""
    page.goto(f"{server}/login")  # type: ignore[attr-defined]
    page.fill("#username", user)  # type: ignore[attr-defined]
    page.fill("#password", f"{user}-demo-pass")  # type: ignore[attr-defined]
    page.click("#signin")  # type: ignore[attr-defined]
