"""Data sets of the reference trials, rebuilt from what their papers publish.

Shipped inside the package (so ``earlyphase demo`` works from an installed wheel) and read
through :mod:`importlib.resources`:

- :func:`load_ips_hlc001`: the HLC-001 trial's patient listing (Table 3 of its report);
- :func:`load_reference_trial`: the four reference trials' ADaM-style tables (``ips``, ``gvhd``,
  ``itp``, ``sle``). They are written by ``examples/build_datasets.py``, together with the
  identical user-facing copies in ``examples/trials/`` of a source checkout; each trial's
  ``README.md`` lists the choices the paper leaves open.
"""

from __future__ import annotations

import json
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

import pandas as pd

from earlyphase.data.schema import SPECS
from earlyphase.data.trial import TrialData, build_trial

#: Names of the reference trials shipped with the package.
REFERENCE_TRIALS = ("ips", "gvhd", "itp", "sle")


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


def reference_trial_files(name: str) -> Traversable:
    """The packaged folder of reference trial ``name`` (CSV tables, ``trial.json``, README)."""
    if name not in REFERENCE_TRIALS:
        raise ValueError(f"name: {name!r} is not one of {', '.join(REFERENCE_TRIALS)}")
    return resources.files(__package__).joinpath("trials", name)


def load_reference_trial(name: str) -> TrialData:
    """Reference trial ``name`` (one of :data:`REFERENCE_TRIALS`) as validated
    :class:`~earlyphase.data.TrialData`, read from the package like
    :func:`earlyphase.data.load_trial` reads a folder."""
    folder = reference_trial_files(name)
    frames: dict[str, pd.DataFrame] = {}
    sources: dict[str, str] = {}
    meta: dict[str, Any] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        stem, _, ext = entry.name.rpartition(".")
        if ext.lower() == "csv" and stem.upper() in SPECS:
            with entry.open("r", encoding="utf-8") as fh:
                frames[stem.upper()] = pd.read_csv(fh, dtype=str, keep_default_na=False)
            sources[stem.upper()] = entry.name
        elif entry.name == "trial.json":
            meta = json.loads(entry.read_text(encoding="utf-8"))
    if not frames:
        raise ValueError(f"name: the data of reference trial {name!r} are not installed")
    return build_trial(frames, sources, meta)


__all__ = ["REFERENCE_TRIALS", "load_ips_hlc001", "load_reference_trial", "reference_trial_files"]
