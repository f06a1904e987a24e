"""Build a design from a plain specification (command-line options, a JSON file, a stored
trial's protocol).

``build_design("boin", {"target": 0.3, "n_doses": 5, "n_cohorts": 10})`` returns the same
object as ``BOIN(0.3, 5, n_cohorts=10)``. The settings and their bounds are those of the
registry :mod:`earlyphase.designs.settings`: unknown keys, wrong types, values out of bounds,
settings given where they do not apply and missing required settings are all reported in one
``ValueError`` (``"name: why; other: why"``), never ignored.

The design classes are imported inside the functions, so that reading a specification costs
nothing until a design is built (the command line starts fast).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from earlyphase.designs.settings import (
    BACKFILL,
    BACKFILL_DESIGNS,
    BEHAVIOURS,
    DOSE_FINDING,
    SETTINGS,
    WITH_BEHAVIOURS,
    check,
    design_key,
)
from earlyphase.designs.settings import DESIGNS as ALL_DESIGNS

if TYPE_CHECKING:
    import pandas as pd

    from earlyphase.designs.base import DoseFindingDesign
    from earlyphase.designs.contract import Design

#: Dose-finding designs built by :func:`build_design`, with behaviours.
DESIGNS = WITH_BEHAVIOURS
#: Dose-finding designs without behaviours (rolling six, TITE-CRM, TITE-BOIN), built by
#: :func:`build_dose_finding`.
TIMED_DESIGNS = tuple(d for d in DOSE_FINDING if d not in WITH_BEHAVIOURS)
#: Single-arm, monitoring and phase I/II designs built by :func:`build_phase2`.
PHASE2_DESIGNS = tuple(d for d in ALL_DESIGNS if d not in DOSE_FINDING)


def _problems(problems: list[str]) -> None:
    if problems:
        raise ValueError("; ".join(problems))


def build(name: str, spec: Mapping[str, Any]) -> Design:
    """Any design of the registry, by name, from keyword settings."""
    key = design_key(name)
    if key in BACKFILL_DESIGNS and any(spec.get(s.name) is not None for s in BACKFILL):
        return build_backfill(key, spec)
    if key in WITH_BEHAVIOURS:
        return build_design(key, spec)
    if key in DOSE_FINDING:
        return build_dose_finding(key, spec)
    return build_phase2(key, spec)  # type: ignore[no-any-return]


def _kwargs(key: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Constructor arguments from checked settings: each setting feeds its parameter, and
    ``dose_values`` with ``unit`` make the :class:`~earlyphase.designs.DoseLevels`."""
    kwargs: dict[str, Any] = {}
    for s in SETTINGS[key]:
        if s.name in values and s.target != "doses":
            kwargs[s.target] = values[s.name]
    if "dose_values" in values:
        from earlyphase.designs.doses import DoseLevels

        kwargs["doses"] = DoseLevels(values["dose_values"], values.get("unit", ""))
    return kwargs


def build_dose_finding(name: str, spec: Mapping[str, Any]) -> Design:
    """A dose-finding design that takes no behaviours, from keyword settings:

    - ``rolling6``: :class:`~earlyphase.designs.rolling_six.RollingSix` (``n_doses``,
      ``start_dose``, dose levels);
    - ``tite-crm``: :class:`~earlyphase.designs.tite_crm.TITECRM` (the CRM's settings, the
      DLT ``window`` and the weight ``scheme``);
    - ``tite-boin``: :class:`~earlyphase.designs.tite_boin.TITEBOIN` (BOIN's settings, the
      ``window``, ``max_pending``, ``estimator`` and ``titegboin_compatible``).
    """
    try:
        key = design_key(name)
    except ValueError:
        key = name
    if key not in TIMED_DESIGNS:
        raise ValueError(f"design: unknown design {name!r}; choose one of {list(TIMED_DESIGNS)}")
    kwargs = _kwargs(key, check(key, spec))
    if key == "rolling6":
        from earlyphase.designs.rolling_six import RollingSix

        return RollingSix(**kwargs)
    if key == "tite-crm":
        from earlyphase.designs.tite_crm import TITECRM

        return TITECRM(**kwargs)
    from earlyphase.designs.tite_boin import TITEBOIN

    return TITEBOIN(**kwargs)


def build_design(name: str, spec: Mapping[str, Any]) -> DoseFindingDesign:
    """A design named ``"3+3"``, ``"boin"``, ``"crm"``, ``"mtpi2"``, ``"keyboard"`` or
    ``"i3+3"`` from keyword settings.

    Besides each class's parameters, ``dose_values`` and ``unit`` make a
    :class:`~earlyphase.designs.DoseLevels` (and give ``n_doses``), and the behaviours of
    :data:`~earlyphase.designs.settings.BEHAVIOURS` are stacked in their order:
    ``dont_skip_doses``, ``stop_when_n_at_dose`` (with ``at_dose``), ``stop_at_n``,
    ``stop_when_too_toxic`` (with ``confidence``), then ``expansion`` (with
    ``expansion_tox_limit``, ``expansion_cutoff``...), so that the expansion follows the whole
    escalation.
    """
    try:
        key = design_key(name)
    except ValueError:
        key = name
    if key in TIMED_DESIGNS:
        raise ValueError(
            f"design: {key} takes no behaviours and is built by build() or build_dose_finding(); "
            f"build_design builds {', '.join(WITH_BEHAVIOURS)}"
        )
    if key not in WITH_BEHAVIOURS:
        raise ValueError(f"design: unknown design {name!r}; choose one of {list(WITH_BEHAVIOURS)}")
    values = check(key, spec)
    own = {s.name for s in SETTINGS[key]}
    kwargs = _kwargs(key, values)
    if key == "boin":
        from earlyphase.designs.boin import BOIN

        design: DoseFindingDesign = BOIN(**kwargs)
    elif key == "crm":
        from earlyphase.designs.crm import CRM

        design = CRM(**kwargs)
    elif key in ("mtpi2", "keyboard", "i3+3"):
        from earlyphase.designs import interval

        cls = {"mtpi2": interval.MTPI2, "keyboard": interval.Keyboard, "i3+3": interval.I3Plus3}
        design = cls[key](**kwargs)
    else:
        from earlyphase.designs.three_plus_three import ThreePlusThree

        design = ThreePlusThree(**kwargs)
    given = {k: v for k, v in values.items() if k not in own}
    return apply_behaviours(design, given)


def build_backfill(name: str, spec: Mapping[str, Any]) -> Design:
    """A BOIN or 3+3 design with backfill (BF-BOIN, Zhao et al. 2024): the design's settings
    and those of :data:`~earlyphase.designs.settings.BACKFILL` (``backfill_window`` switches
    backfill on; ``backfill_cap``, ``backfill_max``, ``backfill_require_response``,
    ``backfill_assign``), as ``design.with_backfill(window, ...)``.

    Backfill wraps the escalation design as it is: the behaviours (``stop_at_n``,
    ``expansion``...) are refused with it, each named, rather than dropped.
    """
    try:
        key = design_key(name)
    except ValueError:
        key = name
    if key not in BACKFILL_DESIGNS:
        raise ValueError(
            f"backfill_window: backfill applies to {', '.join(BACKFILL_DESIGNS)}, not {name!r}"
        )
    values = check(key, spec, backfill=True)
    own = {s.name for s in SETTINGS[key]}
    extra = {s.name for s in BACKFILL}
    _problems(
        [
            f"{k}: backfill wraps the {key} design without behaviours; give {k} or "
            "backfill_window, not both"
            for k in values
            if k not in own and k not in extra
        ]
    )
    if "backfill_window" not in values:
        raise ValueError("backfill_window: required to switch backfill on")
    design = build_design(key, {k: v for k, v in spec.items() if k not in extra})
    args = {
        s.target: values[s.name]
        for s in BACKFILL
        if s.name in values and s.name != "backfill_window"
    }
    return design.with_backfill(values["backfill_window"], **args)


def apply_behaviours(design: DoseFindingDesign, values: Mapping[str, Any]) -> DoseFindingDesign:
    """Stack the behaviours named in ``values`` (checked settings) on ``design``, in the order
    of :data:`~earlyphase.designs.settings.BEHAVIOURS`."""
    for group, settings in BEHAVIOURS.items():
        args = {s.target: values[s.name] for s in settings if s.name in values}
        if group == "dont_skip_doses":
            up, down = bool(args.get("when_escalating")), bool(args.get("when_deescalating"))
            if up or down:
                design = design.dont_skip_doses(when_escalating=up, when_deescalating=down)
            continue
        if values.get(settings[0].name) is None:
            continue  # not asked for
        if group == "stop_when_n_at_dose":
            word = str(args.get("dose", "recommended")).strip().lower()
            try:
                design = design.stop_when_n_at_dose(
                    args["n"], int(word) if word.isdigit() else word
                )
            except ValueError as exc:  # the behaviour names its own parameter
                raise ValueError(str(exc).replace("dose:", "at_dose:", 1)) from None
        elif group == "stop_at_n":
            design = design.stop_at_n(args["n"])
        elif group == "stop_when_too_toxic":
            design = design.stop_when_too_toxic(
                args["threshold"],
                confidence=args.get("confidence", 0.95),
                prior=tuple(args.get("prior", (1.0, 1.0))),
            )
        else:  # expansion
            design = design.with_expansion(
                args["n"],
                cohort_size=args.get("cohort_size"),
                tox_limit=args.get("tox_limit"),
                cutoff=args.get("cutoff", 0.9),
                prior=tuple(args.get("prior", (1.0, 1.0))),
            )
    return design


def decision_rules(design: Any, *, depth: int = 2, full: bool = False) -> pd.DataFrame:
    """The table a protocol prints for ``design``: BOIN's boundary table (every n with
    ``full``), the decision table of 3+3 and of the single-arm boundary designs, and for
    model-based designs such as CRM, whose rules have no closed table, the dose paths of the
    next ``depth`` cohorts. Behaviours added on top (``stop_at_n`` ...) are looked through to
    the underlying rule for the tables, and kept for the dose paths."""
    if getattr(design, "table_by_paths", False):
        return design.dose_paths(depth)  # type: ignore[no-any-return]
    base = design
    while hasattr(base, "parent"):
        base = base.parent
    if full and hasattr(base, "boundary_table") and hasattr(base, "decision_grid"):
        return base.boundary_table(full=True)  # type: ignore[no-any-return]
    return design.protocol_table()  # type: ignore[no-any-return]


# --- phase II, monitoring, phase I/II -------------------------------------------------------


def build_phase2(name: str, spec: Mapping[str, Any]) -> Any:
    """A single-arm phase II / monitoring design, EffTox or the Thall-Simon-Estey monitor from
    keyword settings (see :data:`~earlyphase.designs.settings.SETTINGS` for each).

    - ``thall-simon``: ``standard_prior`` (a, b) or ``standard_rate`` + ``standard_n``;
      ``experimental_prior`` or ``experimental_ess`` (same mean as the standard rate);
      efficacy rule ``p_upper`` (1: none) with ``delta_efficacy``; futility rule
      ``p_lower`` (0: none) with ``delta``; ``n_min``, ``n_max``.
    - ``simon``: ``p0``, ``p1``, ``alpha``, ``beta``, ``kind`` (optimal, minimax, or
      admissible with the weight ``q``), ``n_max``; or a fixed design ``r1``, ``n1``, ``r``,
      ``n``.
    - ``predictive``: ``prior``, ``p0``, ``theta_t``, ``theta_lower``, ``theta_upper``,
      ``n_min``, ``n_max``.
    - ``tox-monitor``: ``limit``, ``cutoff``, ``prior`` and ``n_min``/``n_max`` or ``looks``
      (Bayesian), or ``p0``, ``p1``, ``looks`` and the ``clinfun::toxbdry`` tuning
      (``method="ivanova"``).
    - ``efftox``: defaults are the Thall et al. (2014) example.
    - ``multi-outcome``: the four Beta priors, ``delta_eff``, ``delta_tox``, ``p_eff``,
      ``p_tox``, ``n_min``, ``n_max``.
    - ``bop2``: ``null`` and ``alternative`` (a response rate, or four joint probabilities),
      ``looks``, ``n_max`` (N), ``alpha``; ``lam`` with ``gamma`` fix the cutoff, else the
      grid ``lambdas`` x ``gammas`` is searched; ``prior``.
    - ``boin12``: ``n_doses``, ``tox_target``, ``eff_lower``, ``utility`` and the rule's
      settings (``explore_n`` = 0 switches the exploration rule off).
    """
    key = name.strip().lower()
    if key not in PHASE2_DESIGNS:
        raise ValueError(f"design: unknown design {name!r}; choose one of {list(ALL_DESIGNS)}")
    o = check(key, spec)
    return _PHASE2[key](o)


def _thall_simon(o: dict[str, Any]) -> Any:
    from earlyphase.designs.thall_simon import ThallSimon, beta_prior

    problems: list[str] = []
    std = o.get("standard_prior")
    rate, n_hist = o.get("standard_rate"), o.get("standard_n")
    if std is not None and (rate is not None or n_hist is not None):
        problems.append(
            "standard_rate: give standard_prior, or standard_rate with standard_n, not both"
        )
    elif std is None and (rate is None or n_hist is None):
        missing = "standard_n" if rate is not None else "standard_rate"
        if rate is None and n_hist is None:
            problems.append("standard_prior: give it, or standard_rate and standard_n")
        else:
            problems.append(f"{missing}: needed with the other to make the standard prior")
    if "experimental_prior" in o and "experimental_ess" in o:
        problems.append("experimental_ess: give experimental_prior or experimental_ess, not both")
    if o.get("delta", 0.0) > 0 and o.get("p_lower", 0.05) == 0:
        problems.append(
            "delta: it sets the futility rule's targeted improvement, but the futility rule is "
            "off (p_lower = 0)"
        )
    _problems(problems)
    if std is None:
        std = beta_prior(o["standard_rate"], o["standard_n"])  # both given: checked above
    exp = o.get("experimental_prior")
    if exp is None:
        mean = std[0] / (std[0] + std[1])
        exp = beta_prior(mean, o.get("experimental_ess", 2.0))
    kwargs = {
        k: o[k]
        for k in ("delta", "p_upper", "p_lower", "n_min", "n_max", "delta_efficacy")
        if k in o
    }
    return ThallSimon(std, exp, **kwargs)


def simon_admissible(spec: Mapping[str, Any]) -> pd.DataFrame:
    """The minimax, admissible and optimal Simon designs for ``spec`` (``p0``, ``p1``,
    ``alpha``, ``beta``, ``n_max``), with the weights (qLo, qHi) over which each minimises
    q n + (1 - q) E[N | p0] (Jung et al. 2004; ``clinfun::twostage.admissible``)."""
    from earlyphase.designs.simon import SimonTwoStage

    o = check("simon", spec)
    _problems([f"{k}: required by the Simon search" for k in ("alpha", "beta") if k not in o])
    tab = SimonTwoStage.admissible(o["p0"], o["p1"], o["alpha"], o["beta"], o.get("n_max", 100))
    out = tab.reset_index(names="design")
    return out


def _simon(o: dict[str, Any]) -> Any:
    from earlyphase.designs.simon import SimonTwoStage

    fixed = [k for k in ("r1", "n1", "r", "n") if k in o]
    problems: list[str] = []
    if fixed:
        problems += [
            f"{k}: needed with {', '.join(fixed)} for a fixed design"
            for k in ("r1", "n1", "r", "n")
            if k not in o
        ]
        problems += [
            f"{k}: not used by a fixed design (r1, n1, r, n)"
            for k in ("alpha", "beta", "kind", "q", "n_max")
            if k in o
        ]
        _problems(problems)
        return SimonTwoStage(o["p0"], o["p1"], o["r1"], o["n1"], o["r"], o["n"])
    problems += [
        f"{k}: required by the simon design (or give a fixed design r1, n1, r, n)"
        for k in ("alpha", "beta")
        if k not in o
    ]
    kind = o.get("kind", "optimal")
    if kind == "admissible" and "q" not in o:
        problems.append(
            "q: kind = admissible needs the weight q in [0, 1] to pick one design "
            "(q = 0 optimal ... q = 1 minimax)"
        )
    _problems(problems)
    args = (o["p0"], o["p1"], o["alpha"], o["beta"], o.get("n_max", 100))
    if kind == "optimal":
        return SimonTwoStage.optimal(*args)
    if kind == "minimax":
        return SimonTwoStage.minimax(*args)
    tab = SimonTwoStage.admissible(*args)
    q = o["q"]
    row = tab[(tab["qLo"] <= q) & (q <= tab["qHi"])].iloc[0]
    return SimonTwoStage(o["p0"], o["p1"], int(row.r1), int(row.n1), int(row.r), int(row.n))


def _predictive(o: dict[str, Any]) -> Any:
    from earlyphase.designs.predictive import PredictiveProbability

    kwargs = {k: o[k] for k in ("theta_lower", "theta_upper", "n_min", "n_max") if k in o}
    return PredictiveProbability(o.get("prior", (1.0, 1.0)), o["p0"], o["theta_t"], **kwargs)


def _tox_monitor(o: dict[str, Any]) -> Any:
    from earlyphase.designs.monitoring import ToxicityMonitor

    problems: list[str] = []
    if o.get("method", "bayesian") == "ivanova":
        problems += [
            f"{k}: required by the Ivanova toxicity boundary"
            for k in ("p0", "p1", "looks")
            if k not in o
        ]
        _problems(problems)
        tuning: dict[str, Any] = {k: o[k] for k in ("cp0", "cp1", "priority") if k in o}
        if "shape" in o:
            tuning["delta"] = o["shape"]
        return ToxicityMonitor.ivanova(
            o["p0"], o["p1"], o["looks"], boundary=o.get("boundary", "low"), **tuning
        )
    if "limit" not in o:
        problems.append("limit: required by the Bayesian toxicity monitor")
    if "looks" in o:
        problems += [
            f"{k}: give the looks or n_min and n_max, not both"
            for k in ("n_min", "n_max")
            if k in o
        ]
    _problems(problems)
    return ToxicityMonitor.bayesian(
        o["limit"],
        cutoff=o.get("cutoff", 0.9),
        prior=o.get("prior", (1.0, 1.0)),
        n_max=o.get("n_max", 30),
        n_min=o.get("n_min", 1),
        looks=o.get("looks"),
    )


def _efftox(o: dict[str, Any]) -> Any:
    from earlyphase.designs.efftox import PARAMS, EffTox

    cfg = {s.name: o.get(s.name, s.default) for s in SETTINGS["efftox"]}
    pri = list(cfg.pop("priors"))
    kwargs = {s.target: cfg[s.name] for s in SETTINGS["efftox"] if s.name in cfg}
    kwargs["doses"] = list(kwargs["doses"])
    kwargs["hinge"] = tuple(kwargs["hinge"])
    kwargs["priors"] = {k: (pri[2 * i], pri[2 * i + 1]) for i, k in enumerate(PARAMS)}
    return EffTox(**kwargs)


def _bop2(o: dict[str, Any]) -> Any:
    from earlyphase.designs.bop2 import BOP2

    kwargs = _kwargs("bop2", o)
    for k in ("null", "alternative"):
        v = list(kwargs[k])
        if len(v) not in (1, 4):
            _problems(
                [
                    f"{k}: give a response rate or the four joint probabilities (response and "
                    f"toxicity, response only, toxicity only, neither), got {len(v)} numbers"
                ]
            )
        kwargs[k] = v[0] if len(v) == 1 else v
    if "lam" in kwargs:  # with gamma (the registry requires them together)
        grids = [k for k in ("lambdas", "gammas") if k in kwargs]
        _problems([f"{k}: not searched when lam and gamma are fixed" for k in grids])
    return BOP2(**kwargs)


def _boin12(o: dict[str, Any]) -> Any:
    from earlyphase.designs.boin12 import BOIN12

    kwargs = _kwargs("boin12", o)
    if kwargs.get("explore_n") == 0:
        kwargs["explore_n"] = None  # 0 switches the exploration rule off
    if "utility" in kwargs:
        kwargs["utility"] = tuple(kwargs["utility"])
    return BOIN12(**kwargs)


def _multi_outcome(o: dict[str, Any]) -> Any:
    from earlyphase.designs.multi_outcome import MultiOutcomeMonitor

    return MultiOutcomeMonitor(**o)


_PHASE2 = {
    "thall-simon": _thall_simon,
    "simon": _simon,
    "predictive": _predictive,
    "tox-monitor": _tox_monitor,
    "efftox": _efftox,
    "multi-outcome": _multi_outcome,
    "bop2": _bop2,
    "boin12": _boin12,
}
