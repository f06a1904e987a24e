"""The end-to-end example behind ``earlyphase demo``.

It analyses the reference trials from their published data through the public API only, and
returns plain data (DataFrames, numbers) that the CLI renders.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from earlyphase.datasets import REFERENCE_TRIALS, load_ips_hlc001, load_reference_trial
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
    #: Patients alive at day 56 and patients whose day-56 status is known.
    day56_alive: int
    day56_known: int


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
    day56 = landmarks[landmarks["day"] == 56.0].iloc[0]
    alive, known = int(day56["n_alive"]), int(day56["n_known"])
    post = BetaPosterior.from_data(alive, known, prior=(1.0, 1.0))
    return IpsSurvivalSummary(
        patients=patients,
        landmarks=landmarks,
        median=fit.median(),
        prob_day56_above_historical=post.prob_greater(IPS_HISTORICAL_DAY56_SURVIVAL),
        day56_alive=alive,
        day56_known=known,
    )


#: Cell doses of the GVHD trial's phase Ib escalation (x 10^6 cells/kg, twice weekly).
GVHD_DOSES = (0.5, 1.0, 2.0)
GVHD_UNIT = "x 10^6 cells/kg"
#: Illustrative true DLT rates for the operating characteristics (not estimates).
GVHD_SCENARIOS: dict[str, tuple[float, float, float]] = {
    "all doses safe": (0.05, 0.08, 0.12),
    "top dose toxic": (0.05, 0.15, 0.40),
    "all doses toxic": (0.35, 0.45, 0.60),
}


@dataclass(frozen=True)
class GvhdDesignSummary:
    """The GVHD trial's 3+3 (then expansion) design: decision table and exact OCs."""

    description: str
    decision_table: pd.DataFrame
    scenarios: dict[str, pd.DataFrame]
    summaries: dict[str, dict[str, object]]


def gvhd_design_summary(expansion: int = 6) -> GvhdDesignSummary:
    """3+3 over 0.5/1.0/2.0 x 10^6 cells/kg followed by an expansion cohort at the RP2D."""
    from earlyphase.designs import DoseLevels, ThreePlusThree

    base = ThreePlusThree(3, doses=DoseLevels(GVHD_DOSES, GVHD_UNIT))
    design = base.with_expansion(expansion, tox_limit=0.33, cutoff=0.9)
    tables, summaries = {}, {}
    for name, truth in GVHD_SCENARIOS.items():
        oc = design.operating_characteristics(list(truth), method="exact")
        tables[name] = oc.table()
        summaries[name] = oc.summary()
    return GvhdDesignSummary(
        description=design.describe(),
        decision_table=base.decision_table(),
        scenarios=tables,
        summaries=summaries,
    )


@dataclass(frozen=True)
class IpsDesignSummary:
    """The IPS trial's Thall-Simon design (Table 1) and its exact operating characteristics."""

    description: str
    table: pd.DataFrame
    operating_characteristics: pd.DataFrame


def ips_design_summary() -> IpsDesignSummary:
    """Thall-Simon: theta_S ~ Beta(30.87, 95.13) (24.5% of 126), theta_E ~ Beta(1.225, 3.775)
    (same mean, ESS 5), declare efficacy when Pr(theta_E > theta_S) >= 0.95, n = 6..20.
    This parameterisation reproduces Table 1 of the report (see examples/ips_thall_simon.py)."""
    from earlyphase.designs.thall_simon import ThallSimon, beta_prior

    design = ThallSimon(
        beta_prior(0.245, 126),
        beta_prior(0.245, 5),
        delta=0.0,
        p_upper=0.95,
        p_lower=None,
        n_min=6,
        n_max=20,
    )
    return IpsDesignSummary(
        description=(
            "Thall-Simon: standard Beta(30.87, 95.13) = 24.5% of 126 patients; "
            "experimental Beta(1.225, 3.775) (ESS 5); efficacy if "
            "Pr(theta_E > theta_S | data) >= 0.95; n = 6 to 20"
        ),
        table=design.boundary_table()[["n", "upper_stop_if_ge"]],
        operating_characteristics=design.operating_characteristics(
            [0.245, 0.35, 0.45, 0.60]
        ).table(),
    )


def write_reference_reports(folder: Path) -> dict[str, Path]:
    """Render the four reference trials' HTML reports into ``folder``, from the datasets shipped
    in the package (:func:`earlyphase.datasets.load_reference_trial`)."""
    from earlyphase.report import render_report

    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name in REFERENCE_TRIALS:
        out[name] = render_report(load_reference_trial(name), folder / f"{name}.html")
    return out
