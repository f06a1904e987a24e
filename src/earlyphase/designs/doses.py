"""Dose levels with units, so that every table speaks the trial's language."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from earlyphase.stats.checks import check_count


@dataclass(frozen=True)
class DoseLevels:
    """The doses of a dose-finding trial, numbered 1..K in the order given.

    Examples
    --------
    >>> d = DoseLevels([0.5, 1.0, 2.0], unit="x 10^6 cells/kg")
    >>> d.label(2)
    '2 (1 x 10^6 cells/kg)'
    """

    values: tuple[float, ...]
    unit: str = ""

    def __init__(self, values: Sequence[float], unit: str = "") -> None:
        vals = tuple(float(v) for v in values)
        if not vals:
            raise ValueError("doses: at least one dose level is needed")
        if any(b <= a for a, b in pairwise(vals)):
            raise ValueError(f"doses: dose levels must increase, got {list(vals)}")
        object.__setattr__(self, "values", vals)
        object.__setattr__(self, "unit", unit)

    @classmethod
    def numbered(cls, n_doses: int) -> DoseLevels:
        """Doses known only by their number, 1..n_doses."""
        return cls(list(range(1, n_doses + 1)))

    @classmethod
    def for_design(cls, doses: DoseLevels | None, n_doses: int) -> DoseLevels:
        """``doses`` checked to have ``n_doses`` levels, or the levels numbered 1..n_doses."""
        if doses is None:
            return cls.numbered(n_doses)
        if len(doses) != n_doses:
            raise ValueError(f"doses: {len(doses)} dose levels given for a {n_doses}-dose design")
        return doses

    def __len__(self) -> int:
        return len(self.values)

    @property
    def has_amounts(self) -> bool:
        return bool(self.unit) or self.values != tuple(float(i) for i in range(1, len(self) + 1))

    def label(self, level: int) -> str:
        """``"2 (1 x 10^6 cells/kg)"`` for dose level 2 (1-based); just ``"2"`` without amounts."""
        if not 1 <= level <= len(self):
            raise ValueError(f"dose: level {level} is outside 1..{len(self)}")
        if not self.has_amounts:
            return str(level)
        amount = f"{self.values[level - 1]:g}"
        return f"{level} ({amount} {self.unit})".replace(" )", ")")


def start_index(start_dose: int, n_doses: int) -> int:
    """The 0-based index of the 1-based ``start_dose``, checked to lie in 1..n_doses."""
    start = check_count(start_dose, "start_dose", minimum=1)
    if start > n_doses:
        raise ValueError(f"start_dose: {start} is outside 1..{n_doses}")
    return start - 1
