"""The end-to-end example behind ``earlyphase demo``.

It analyses the reference trials from their published data through the public API only, and
returns plain data (DataFrames, numbers) that the CLI renders.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from earlyphase.datasets import load_ips_hlc001
from earlyphase.stats import BetaPosterior, kaplan_meier
from earlyphase.tables import landmark_survival_table

#: Day-56 survival on standard therapy in the IPS trial's design (126 historical patients).
IPS_HISTORICAL_DAY56_SURVIVAL = 0.245


@dataclass(frozen=True)
class IpsSurvivalSummary:
    """Survival results of the HLC-001 trial (Table 3 and the primary endpoint)."""

    patients: pd.DataFrame
    landmarks: pd.DataFrame
    median: tuple[float, float, float]
    prob_day56_above_historical: float


def ips_survival_summary() -> IpsSurvivalSummary:
    """Day-56/100/365 survival of the IPS trial, Kaplan-Meier median and posterior probability."""
    patients = load_ips_hlc001()
    landmarks = landmark_survival_table(
        patients["os_days"],
        patients["died"],
        days=[56, 100, 365],
        ci_method="clopper-pearson",
        prior=(1.0, 1.0),
        conf_type="log",
    )
    fit = kaplan_meier(patients["os_days"], patients["died"], conf_type="log")
    day56 = landmarks.iloc[0]
    post = BetaPosterior.from_data(int(day56["n_alive"]), int(day56["n_known"]), prior=(1.0, 1.0))
    return IpsSurvivalSummary(
        patients=patients,
        landmarks=landmarks,
        median=fit.median(),
        prob_day56_above_historical=post.prob_greater(IPS_HISTORICAL_DAY56_SURVIVAL),
    )
