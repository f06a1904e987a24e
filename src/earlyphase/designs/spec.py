"""Build a design from a plain specification (CLI options, a JSON file, a stored trial).

``build_design("boin", {"target": 0.3, "n_doses": 5, "n_cohorts": 10})`` returns the same
object as ``BOIN(0.3, 5, n_cohorts=10)``. Unknown keys are errors, named, never ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

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
            "get_oc_compatible",
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


def decision_rules(design: Any, *, depth: int = 2, full: bool = False) -> pd.DataFrame:
    """The table a protocol prints for ``design``: BOIN's boundary table (every n with
    ``full``), the decision table of 3+3 and of the single-arm boundary designs, and for
    model-based designs such as CRM, whose rules have no closed table, the dose paths of the
    next ``depth`` cohorts. Behaviours added on top (``stop_at_n`` ...) are looked through to
    the underlying rule for the tables, and kept for the dose paths."""
    if design.table_by_paths:
        return design.dose_paths(depth)  # type: ignore[no-any-return]
    base = design
    while hasattr(base, "parent"):
        base = base.parent
    if full and hasattr(base, "boundary_table"):
        return base.boundary_table(full=True)  # type: ignore[no-any-return]
    return design.protocol_table()  # type: ignore[no-any-return]


PHASE2_DESIGNS = ("thall-simon", "simon", "predictive", "tox-monitor", "efftox")
_PHASE2_SETTINGS = {
    "thall-simon": {
        "standard_prior",
        "standard_rate",
        "standard_n",
        "experimental_prior",
        "experimental_ess",
        "delta",
        "p_upper",
        "p_lower",
        "n_min",
        "n_max",
    },
    "simon": {"p0", "p1", "alpha", "beta", "kind", "n_max"},
    "predictive": {"prior", "p0", "theta_t", "theta_lower", "theta_upper", "n_min", "n_max"},
    "tox-monitor": {"method", "limit", "cutoff", "prior", "n_min", "n_max", "p0", "p1", "looks"},
    "efftox": {"dose_values", "eff_hurdle", "tox_hurdle", "efftox_priors", "cohort_size", "n_max"},
}


def _pair(value: Any, name: str) -> tuple[float, float] | None:
    if value is None:
        return None
    try:
        a, b = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: must be two numbers a,b") from None
    return a, b


def build_phase2(name: str, spec: Mapping[str, Any]) -> Any:
    """A single-arm phase II / monitoring design from keyword settings (used by the CLI).

    - ``thall-simon``: ``standard_prior`` (a, b) or ``standard_rate`` + ``standard_n``;
      ``experimental_prior`` or ``experimental_ess`` (same mean as the standard rate);
      ``delta``, ``p_upper``, ``p_lower``, ``n_min``, ``n_max``.
    - ``simon``: ``p0``, ``p1``, ``alpha``, ``beta``, ``kind`` ("optimal" or "minimax"), ``n_max``.
    - ``predictive``: ``prior``, ``p0``, ``theta_t``, ``theta_lower``, ``theta_upper``,
      ``n_min``, ``n_max``.
    - ``tox-monitor``: ``limit``, ``cutoff``, ``prior``, ``n_min``, ``n_max`` (Bayesian), or
      ``p0``, ``p1``, ``looks`` (Ivanova-Qaqish-Schell, ``method="ivanova"``).
    """
    from earlyphase.designs.monitoring import ToxicityMonitor
    from earlyphase.designs.predictive import PredictiveProbability
    from earlyphase.designs.simon import SimonTwoStage
    from earlyphase.designs.thall_simon import ThallSimon, _check_prior, beta_prior

    o = {k: v for k, v in spec.items() if v is not None}
    key = name.lower()
    if key not in _PHASE2_SETTINGS:
        raise ValueError(
            f"design: unknown design {name!r}; choose one of {list(DESIGNS + PHASE2_DESIGNS)}"
        )
    unknown = sorted(set(o) - _PHASE2_SETTINGS[key])
    if unknown:
        raise ValueError(f"{unknown[0]}: not a setting of the {key} design")
    if key == "thall-simon":
        std = _pair(o.get("standard_prior"), "standard_prior")
        if std is not None:
            std = _check_prior(std, "standard_prior")
        if std is None:
            if "standard_rate" not in o or "standard_n" not in o:
                raise ValueError("standard_prior: give it, or standard_rate and standard_n")
            std = beta_prior(o["standard_rate"], o["standard_n"])
        exp = _pair(o.get("experimental_prior"), "experimental_prior")
        if exp is None:
            mean = std[0] / (std[0] + std[1])
            exp = beta_prior(mean, o.get("experimental_ess", 2.0))
        return ThallSimon(
            std,
            exp,
            delta=o.get("delta", 0.0),
            p_upper=o.get("p_upper", 0.95),
            p_lower=o.get("p_lower"),
            n_min=o.get("n_min", 1),
            n_max=o.get("n_max", 40),
        )
    if key == "simon":
        for req in ("p0", "p1", "alpha", "beta"):
            if req not in o:
                raise ValueError(f"{req}: required by the Simon two-stage design")
        kind = o.get("kind", "optimal")
        if kind not in ("optimal", "minimax"):
            raise ValueError(f"kind: must be 'optimal' or 'minimax', got {kind!r}")
        maker = SimonTwoStage.optimal if kind == "optimal" else SimonTwoStage.minimax
        return maker(o["p0"], o["p1"], o["alpha"], o["beta"], o.get("n_max", 100))
    if key == "predictive":
        for req in ("p0", "theta_t"):
            if req not in o:
                raise ValueError(f"{req}: required by the predictive-probability design")
        prior = _pair(o.get("prior"), "prior") or (1.0, 1.0)
        return PredictiveProbability(
            prior,
            o["p0"],
            o["theta_t"],
            theta_lower=o.get("theta_lower", 0.05),
            theta_upper=o.get("theta_upper"),
            n_min=o.get("n_min", 1),
            n_max=o.get("n_max", 40),
        )
    if key == "tox-monitor":
        if o.get("method", "bayesian") == "ivanova":
            for req in ("p0", "p1", "looks"):
                if req not in o:
                    raise ValueError(f"{req}: required by the Ivanova toxicity boundary")
            return ToxicityMonitor.ivanova(o["p0"], o["p1"], o["looks"])
        if "limit" not in o:
            raise ValueError("limit: required by the Bayesian toxicity monitor")
        prior = _pair(o.get("prior"), "prior") or (1.0, 1.0)
        return ToxicityMonitor.bayesian(
            o["limit"],
            cutoff=o.get("cutoff", 0.9),
            prior=prior,
            n_min=o.get("n_min", 1),
            n_max=o.get("n_max", 30),
        )
    from earlyphase.designs.efftox import PARAMS, THALL_2014, EffTox  # key == "efftox"

    cfg: dict[str, Any] = dict(THALL_2014)
    if o.get("dose_values") is not None:
        cfg["doses"] = list(o["dose_values"])
    for field_ in ("eff_hurdle", "tox_hurdle"):
        if o.get(field_) is not None:
            cfg[field_] = o[field_]
    if o.get("efftox_priors") is not None:
        vals = list(o["efftox_priors"])
        if len(vals) != 12:
            raise ValueError("efftox-priors: give 12 numbers, mean and sd of " + ", ".join(PARAMS))
        cfg["priors"] = {k: (vals[2 * i], vals[2 * i + 1]) for i, k in enumerate(PARAMS)}
    if o.get("cohort_size") is not None:
        cfg["cohort_size"] = o["cohort_size"]
    if o.get("n_max") is not None:
        cfg["n_patients"] = o["n_max"]
    return EffTox(**cfg)
