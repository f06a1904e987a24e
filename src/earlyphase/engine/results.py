"""Operating characteristics: one result type, with tidy tables, for every design.

Every design's ``operating_characteristics`` returns an :class:`OCResult`: ``table()`` (one
row per dose, or per true scenario for a single-arm design), ``summary()`` (scalars) and
``to_dict()`` (both, for JSON). Dose-finding designs return :class:`OperatingCharacteristics`;
single-arm and monitoring designs, one row per true scenario, :class:`ScenarioCharacteristics`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    import pandas as pd

FloatArray = NDArray[np.float64]


class OCResult(ABC):
    """What a design does under a true scenario."""

    design: str
    method: str
    n_sims: int | None

    @abstractmethod
    def table(self) -> pd.DataFrame:
        """The per-dose (or per-scenario) table."""

    @abstractmethod
    def summary(self) -> dict[str, Any]:
        """Scalar summaries, for printing or JSON."""

    def to_dict(self) -> dict[str, Any]:
        rows = self.table()
        return {
            **self.summary(),
            "rows": rows.astype(object).where(rows.notna(), None).to_dict(orient="records"),
        }


@dataclass(frozen=True)
class ScenarioCharacteristics(OCResult):
    """Exact or simulated operating characteristics, one row per true scenario (e.g. true
    response rate): probabilities of each stopping outcome and the expected sample size."""

    rows: pd.DataFrame
    design: str
    method: str
    n_sims: int | None = None

    def table(self) -> pd.DataFrame:
        return self.rows.copy()

    def summary(self) -> dict[str, Any]:
        return {
            "design": self.design,
            "method": self.method,
            "n_sims": self.n_sims,
            "n_scenarios": len(self.rows),
        }

    def __getitem__(self, column: str) -> pd.Series:
        return self.rows[column]

    def __len__(self) -> int:
        return len(self.rows)


@dataclass(frozen=True)
class OperatingCharacteristics(OCResult):
    """What a design does under a true dose-toxicity curve.

    ``selection`` has one entry per dose (1..K) and a last entry for "no dose selected";
    ``mean_n`` and ``mean_dlt`` are expected patients and DLTs per dose; ``n_distribution``
    maps total sample size to its probability. With ``method="simulate"``, ``mc_se`` holds
    the Monte Carlo standard errors of ``selection``. ``extra`` holds further per-dose
    columns of a design with a second endpoint (e.g. ``true_eff`` and ``mean_eff``).
    With ``method="exact"``, ``n_terminal_states`` counts the distinct finished trial states
    the enumeration reached (paths meeting in one state count once).
    """

    true_tox: FloatArray
    dose_labels: tuple[str, ...]
    selection: FloatArray
    mean_n: FloatArray
    mean_dlt: FloatArray
    n_distribution: dict[int, float]
    prob_overdose_60: float | None
    prob_overdose_80: float | None
    mean_n_above_target: float | None
    method: str
    n_sims: int | None
    mc_se: FloatArray | None
    design: str
    n_terminal_states: int | None = None
    extra: Mapping[str, FloatArray] = field(default_factory=dict)

    @property
    def prob_no_selection(self) -> float:
        """Probability that no dose is selected (the trial stops for toxicity)."""
        return float(self.selection[-1])

    @property
    def mean_total_n(self) -> float:
        return float(self.mean_n.sum())

    @property
    def mean_total_dlt(self) -> float:
        return float(self.mean_dlt.sum())

    def table(self) -> pd.DataFrame:
        """One row per dose and a final "none" row: true rate, P(selected), E[patients], E[DLTs]."""
        import pandas as pd

        k = len(self.true_tox)
        frame = pd.DataFrame(
            {
                "dose": [*self.dose_labels, "none"],
                "true_tox": [*self.true_tox.tolist(), np.nan],
                "prob_selected": self.selection,
                "mean_patients": [*self.mean_n.tolist(), np.nan],
                "mean_dlt": [*self.mean_dlt.tolist(), np.nan],
            }
        )
        for name, values in self.extra.items():
            frame[name] = [*np.asarray(values, dtype=np.float64).tolist(), np.nan]
        if self.mc_se is not None:
            frame["mc_se"] = self.mc_se
        assert len(frame) == k + 1
        return frame

    def summary(self) -> dict[str, Any]:
        """Scalar summaries, for printing or JSON."""
        ns = np.array(sorted(self.n_distribution))
        ps = np.array([self.n_distribution[int(v)] for v in ns])
        return {
            "design": self.design,
            "method": self.method,
            "n_sims": self.n_sims,
            "prob_no_selection": self.prob_no_selection,
            "mean_total_n": self.mean_total_n,
            "sd_total_n": float(np.sqrt(max(0.0, (ps * ns**2).sum() - (ps * ns).sum() ** 2))),
            "min_total_n": int(ns[ps > 0].min()),
            "max_total_n": int(ns[ps > 0].max()),
            "mean_total_dlt": self.mean_total_dlt,
            "prob_overdose_60": self.prob_overdose_60,
            "prob_overdose_80": self.prob_overdose_80,
            "mean_n_above_target": self.mean_n_above_target,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.summary(),
            "doses": self.table().replace({np.nan: None}).to_dict(orient="records"),
            "n_distribution": {str(k): v for k, v in sorted(self.n_distribution.items())},
        }
