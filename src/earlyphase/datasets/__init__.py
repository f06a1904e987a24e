"""Data sets of the reference trials, rebuilt from what their papers publish.

Each loader returns a pandas DataFrame with one row per patient and documents its source.
"""

from __future__ import annotations

from importlib import resources

import pandas as pd


def load_ips_hlc001() -> pd.DataFrame:
    """Patients of the HLC-001 phase II trial in steroid-refractory idiopathic pneumonia syndrome.

    Seven patients given allogeneic umbilical-cord MSCs (2 x 10^6 cells/kg) after
    allogeneic HSCT; single arm, Thall-Simon Bayesian design on day-56 survival.

    Source: Table 3 of the trial's report (individual patient backgrounds and outcomes), one row
    per patient as printed. ``os_days`` is the day of death (``died = 1``) or of the last
    observation alive (``died = 0``) counted from the first HLC-001 administration;
    ``outcome`` is the cause of death or "alive". Patient 4's steroid dose is printed as
    ">= 1.0 mg/kg/day" and is stored as 1.0. All patients were male (text of the report).
    """
    with resources.files(__package__).joinpath("ips_hlc001.csv").open("r", encoding="utf-8") as fh:
        frame = pd.read_csv(fh)
    return frame


__all__ = ["load_ips_hlc001"]
