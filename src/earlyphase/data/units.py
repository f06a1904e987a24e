"""Units as people print them: ``10^6 cells/kg`` carries a power of ten that the data keep as
plain text (``^``, as CSV and XPT labels can hold nothing else) and a report prints as a
superscript: ``<sup>6</sup>`` in HTML and PDF, a superscript run in Word, the Unicode
superscript digits (``10⁶``) in figures.

Only a caret followed by an optionally signed whole number is read as a power (``10^6``,
``10^-3``, ``m^2``); any other caret is left as it is.
"""

from __future__ import annotations

import re

#: A power written with a caret: the exponent is group 1.
POWER = re.compile(r"\^([+-]?\d+)")

_SUPERSCRIPT = str.maketrans("0123456789+-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻")


def split_powers(text: str) -> list[tuple[str, bool]]:
    """``text`` as (piece, is_superscript) pieces, in order; empty pieces are left out.

    >>> split_powers("0.5 x 10^6 cells/kg")
    [('0.5 x 10', False), ('6', True), (' cells/kg', False)]
    """
    out: list[tuple[str, bool]] = []
    at = 0
    for m in POWER.finditer(text):
        if m.start() > at:
            out.append((text[at : m.start()], False))
        out.append((m.group(1), True))
        at = m.end()
    if at < len(text):
        out.append((text[at:], False))
    return out


def unicode_powers(text: str) -> str:
    """Powers as Unicode superscript digits, for figures and plain text.

    >>> unicode_powers("10^6 cells/kg")
    '10⁶ cells/kg'
    """
    return POWER.sub(lambda m: m.group(1).translate(_SUPERSCRIPT), text)
