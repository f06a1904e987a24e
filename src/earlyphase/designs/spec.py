"""Build a design from a plain specification (CLI options, a JSON file, a stored trial).

``build_design("boin", {"target": 0.3, "n_doses": 5, "n_cohorts": 10})`` returns the same
object as ``BOIN(0.3, 5, n_cohorts=10)``. Unknown keys are errors, named, never ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from earlyphase.designs.base import DoseFindingDesign
from earlyphase.designs.boin import BOIN
from earlyphase.designs.crm import CRM
from earlyphase.designs.doses import DoseLevels
from earlyphase.designs.three_plus_three import ThreePlusThree

DESIGNS = ("3+3", "boin", "crm")
_BEHAVIOURS = {
    "stop_at_n",
    "dont_skip_doses",
    "expansion",
    "expansion_tox_limit",
    "expansion_cutoff",
    "stop_when_n_at_dose",
}


def build_design(name: str, spec: Mapping[str, Any]) -> DoseFindingDesign:
    """A design named ``"3+3"``, ``"boin"`` or ``"crm"`` from keyword settings.

    Besides each class's parameters, ``dose_values`` and ``unit`` make a
    :class:`DoseLevels`, and behaviours are added by ``stop_at_n``, ``stop_when_n_at_dose``,
    ``dont_skip_doses`` (bool) and ``expansion`` (patients) with ``expansion_tox_limit`` and
    ``expansion_cutoff``.
    """
    key = name.lower().replace("three_plus_three", "3+3").replace("3plus3", "3+3")
    if key not in DESIGNS:
        raise ValueError(f"design: unknown design {name!r}; choose one of {list(DESIGNS)}")
    opts = {k: v for k, v in spec.items() if v is not None}
    dose_values = opts.pop("dose_values", None)
    unit = opts.pop("unit", "")
    behaviours = {k: opts.pop(k) for k in list(opts) if k in _BEHAVIOURS}
    if dose_values is not None:
        opts["doses"] = DoseLevels(dose_values, unit)
        if key != "crm":
            opts.setdefault("n_doses", len(dose_values))
    allowed = {
        "3+3": {"n_doses", "deescalation", "doses", "start_dose"},
        "boin": {
            "target",
            "n_doses",
            "cohort_size",
            "n_cohorts",
            "phi1",
            "phi2",
            "cutoff_eli",
            "extra_safe",
            "offset",
            "n_earlystop",
            "bound_mtd",
            "doses",
            "start_dose",
        },
        "crm": {
            "skeleton",
            "target",
            "model",
            "prior_sd",
            "intercept",
            "n_patients",
            "cohort_size",
            "start_dose",
            "no_skipping",
            "coherence",
            "conf_level",
            "doses",
        },
    }[key]
    unknown = sorted(set(opts) - allowed)
    if unknown:
        raise ValueError(f"{unknown[0]}: not a setting of the {key} design")
    try:
        design: DoseFindingDesign
        if key == "3+3":
            design = ThreePlusThree(**opts)
        elif key == "boin":
            design = BOIN(**opts)
        else:
            design = CRM(**opts)
    except TypeError as exc:  # a required setting is missing
        missing = str(exc).split("'")[1] if "'" in str(exc) else "settings"
        raise ValueError(f"{missing}: required by the {key} design") from None
    if behaviours.get("dont_skip_doses"):
        design = design.dont_skip_doses()
    if behaviours.get("stop_when_n_at_dose"):
        design = design.stop_when_n_at_dose(int(behaviours["stop_when_n_at_dose"]))
    if behaviours.get("stop_at_n"):
        design = design.stop_at_n(int(behaviours["stop_at_n"]))
    if behaviours.get("expansion"):
        design = design.with_expansion(
            int(behaviours["expansion"]),
            tox_limit=behaviours.get("expansion_tox_limit"),
            cutoff=float(behaviours.get("expansion_cutoff", 0.9)),
        )
    return design
