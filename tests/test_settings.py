"""The settings registry is the one declaration of every design's settings: each is accepted at
its default, its bounds are enforced everywhere, the command line and the trial form offer
it with its default, and no constructor parameter is missing from it."""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Callable
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from earlyphase.cli import app
from earlyphase.designs import (
    BOIN,
    CRM,
    EffTox,
    MultiOutcomeMonitor,
    PredictiveProbability,
    SimonTwoStage,
    ThallSimon,
    ThreePlusThree,
    ToxicityMonitor,
)
from earlyphase.designs.backfill import Backfill
from earlyphase.designs.base import DoseFindingDesign
from earlyphase.designs.boin12 import BOIN12
from earlyphase.designs.bop2 import BOP2
from earlyphase.designs.efftox import PARAMS, THALL_2014
from earlyphase.designs.interval import MTPI2, I3Plus3, Keyboard
from earlyphase.designs.rolling_six import RollingSix
from earlyphase.designs.settings import (
    BEHAVIOURS,
    DESIGNS,
    NOT_IN_TRIAL_SERVICE,
    SETTINGS,
    Setting,
    check,
    settings_for,
    validate,
)
from earlyphase.designs.spec import build
from earlyphase.designs.tite_boin import TITEBOIN
from earlyphase.designs.tite_crm import TITECRM
from helpers import csrf_of

#: The least each design needs to be built.
MINIMAL: dict[str, dict[str, Any]] = {
    "3+3": {"n_doses": 3},
    "boin": {"target": 0.3, "n_doses": 3},
    "crm": {"skeleton": [0.05, 0.15, 0.3], "target": 0.25},
    "thall-simon": {"standard_rate": 0.245, "standard_n": 126, "n_max": 10},
    "simon": {"p0": 0.1, "p1": 0.3, "alpha": 0.05, "beta": 0.2},
    "predictive": {"p0": 0.3, "theta_t": 0.85, "n_max": 10},
    "tox-monitor": {"limit": 0.3},
    "efftox": {"n_points": 256},
    "multi-outcome": {
        "eff_standard_prior": [15, 35],
        "tox_standard_prior": [10, 40],
        "eff_experimental_prior": [0.6, 1.4],
        "tox_experimental_prior": [0.4, 1.6],
        "n_max": 10,
    },
    "mtpi2": {"target": 0.3, "n_doses": 3},
    "keyboard": {"target": 0.3, "n_doses": 3},
    "i3+3": {"target": 0.3, "n_doses": 3},
    "rolling6": {"n_doses": 3},
    "tite-crm": {"skeleton": [0.05, 0.15, 0.3], "target": 0.25, "window": 28},
    "tite-boin": {"target": 0.3, "n_doses": 3, "window": 28},
    "bop2": {"null": [0.2], "alternative": [0.4], "looks": [10, 20], "n_max": 30},
    "boin12": {"n_doses": 3, "tox_target": 0.35, "eff_lower": 0.25},
}

#: A valid value for every setting that has no default, to switch on what depends on it.
SAMPLE: dict[str, Any] = {
    "dose_values": [0.5, 1.0, 2.0],
    "stop_when_n_at_dose": 6,
    "stop_at_n": 12,
    "stop_when_too_toxic": 0.4,
    "expansion": 6,
    "expansion_cohort_size": 2,
    "expansion_tox_limit": 0.33,
    "phi1": 0.2,
    "phi2": 0.4,
    "n_earlystop": 9,
    "standard_prior": [30.87, 95.13],
    "experimental_prior": [1.2, 3.8],
    "q": 0.5,
    "theta_upper": 0.99,
    "looks": [10, 20, 30],
    "p0": 0.2,
    "p1": 0.35,
    "endpoint_visit": "Day 28",
    # a fixed Simon design: the optimal one for p0 = 0.1, p1 = 0.3 (Simon 1989, Table 1)
    "r1": 1,
    "n1": 10,
    "r": 5,
    "n": 29,
    "margin_left": 0.04,
    "margin_right": 0.06,
    "lam": 0.8,
    "gamma": 1.0,
    "lambdas": [0.5, 0.8],
    "gammas": [0.5, 1.0],
    "prior": [0.2, 0.8],
}

#: Settings that exclude others when given (an alternative way to give the same thing).
EXCLUSIVE: dict[tuple[str, str], tuple[str, ...]] = {
    ("thall-simon", "standard_prior"): ("standard_rate", "standard_n"),
    ("thall-simon", "experimental_prior"): ("experimental_ess",),
    ("thall-simon", "experimental_ess"): ("experimental_prior",),
    ("tox-monitor", "looks"): ("n_min", "n_max"),
}


def _spec_with(design: str, s: Setting, value: Any) -> dict[str, Any]:
    """A buildable spec of ``design`` with ``s`` set to ``value`` (and what it depends on)."""
    spec = dict(MINIMAL[design])
    for drop in EXCLUSIVE.get((design, s.name), ()):
        spec.pop(drop, None)
    if s.only_with is not None:
        spec[s.only_with[0]] = s.only_with[1]
        if s.only_with == ("method", "ivanova"):
            spec = {"method": "ivanova", "p0": 0.2, "p1": 0.35, "looks": [10, 20, 30]}
        if s.only_with == ("kind", "admissible"):
            spec["kind"] = "admissible"
    if s.requires is not None:
        spec[s.requires] = SAMPLE[s.requires]
        dep = next(t for t in settings_for(design) if t.name == s.requires)
        if dep.requires is not None:
            spec[dep.requires] = SAMPLE[dep.requires]
    if design == "simon" and s.name in ("r1", "n1", "r", "n"):
        spec = {"p0": 0.1, "p1": 0.3, "r1": 1, "n1": 10, "r": 5, "n": 29}
    spec[s.name] = value
    return spec


def _cases() -> list[tuple[str, Setting]]:
    return [(d, s) for d in DESIGNS for s in settings_for(d)]


@pytest.mark.parametrize(("design", "setting"), _cases(), ids=lambda v: getattr(v, "name", v))
def test_every_setting_is_accepted_at_its_default_or_a_sample(
    design: str, setting: Setting
) -> None:
    value = setting.default
    if value is None:
        value = MINIMAL[design].get(setting.name, SAMPLE.get(setting.name))
    assert value is not None, f"give {setting.name} a value in SAMPLE"
    built = build(design, _spec_with(design, setting, value))
    assert built.describe()


@pytest.mark.parametrize(("design", "setting"), _cases(), ids=lambda v: getattr(v, "name", v))
def test_bounds_are_enforced_with_the_setting_named(design: str, setting: Setting) -> None:
    bad: list[Any] = []
    if setting.type in ("float", "int", "floats", "ints"):
        if setting.low is not None:
            bad.append(setting.low if setting.low_open else setting.low - 1)
        if setting.high is not None:
            bad.append(setting.high if setting.high_open else setting.high + 1)
        bad.append("x")
    elif setting.type == "choice":
        bad.append("no-such-choice")
    elif setting.type == "bool":
        bad.append("maybe")
    for value in bad:
        if setting.type in ("floats", "ints") and value != "x":
            value = [value] * (setting.length or 1)
        with pytest.raises(ValueError, match=rf"^{setting.name}:"):
            build(design, _spec_with(design, setting, value))


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ValueError) as err:
        check("boin", {"target": 2, "n_doses": 0, "cohort_size": "x", "cohorts": 3})
    msg = str(err.value)
    assert msg.startswith("cohorts: not a setting of the boin design")
    for field in ("target:", "n_doses:", "cohort_size:"):
        assert field in msg
    with pytest.raises(ValueError, match=r"^target: .*; n_doses: "):
        BOIN(2, 0)  # the constructors read the same registry


def test_settings_apply_only_where_they_mean_something() -> None:
    with pytest.raises(ValueError, match=r"^offset: applies only with extra_safe = on"):
        build("boin", {**MINIMAL["boin"], "offset": 0.1})
    with pytest.raises(ValueError, match=r"^confidence: applies only together with"):
        build("crm", {**MINIMAL["crm"], "confidence": 0.9})
    with pytest.raises(ValueError, match=r"^p0: applies only with method = ivanova"):
        build("tox-monitor", {"limit": 0.3, "p0": 0.2})


# --- constructors and the registry agree ---------------------------------------------------

#: The callables whose parameters each design's settings feed.
BUILDERS: dict[str, list[Callable[..., Any]]] = {
    "3+3": [ThreePlusThree.__init__],
    "boin": [BOIN.__init__],
    "crm": [CRM.__init__],
    "thall-simon": [ThallSimon.__init__],
    "simon": [SimonTwoStage.__init__, SimonTwoStage.optimal, SimonTwoStage.admissible],
    "predictive": [PredictiveProbability.__init__],
    "tox-monitor": [ToxicityMonitor.bayesian, ToxicityMonitor.ivanova],
    "efftox": [EffTox.__init__],
    "multi-outcome": [MultiOutcomeMonitor.__init__],
    "mtpi2": [MTPI2.__init__],
    "keyboard": [Keyboard.__init__],
    "i3+3": [I3Plus3.__init__],
    "rolling6": [RollingSix.__init__],
    "tite-crm": [TITECRM.__init__],
    "tite-boin": [TITEBOIN.__init__],
    "bop2": [BOP2.__init__],
    "boin12": [BOIN12.__init__],
    "stop_at_n": [DoseFindingDesign.stop_at_n],
    "stop_when_n_at_dose": [DoseFindingDesign.stop_when_n_at_dose],
    "dont_skip_doses": [DoseFindingDesign.dont_skip_doses],
    "stop_when_too_toxic": [DoseFindingDesign.stop_when_too_toxic],
    "expansion": [DoseFindingDesign.with_expansion],
    "backfill": [DoseFindingDesign.with_backfill],
}


def _params(fn: Callable[..., Any]) -> list[inspect.Parameter]:
    return [
        p
        for p in inspect.signature(fn).parameters.values()
        if p.name not in ("self", "cls") and p.kind is not inspect.Parameter.VAR_KEYWORD
    ]


def test_the_registry_covers_every_design_and_behaviour() -> None:
    assert set(BUILDERS) == {k for k in SETTINGS if k not in ("protocol", "conduct")}


@pytest.mark.parametrize("key", sorted(BUILDERS))
def test_no_constructor_parameter_is_missing_from_the_registry(key: str) -> None:
    targets = {s.target for s in SETTINGS[key]}
    for fn in BUILDERS[key]:
        missing = [p.name for p in _params(fn) if p.name not in targets]
        assert not missing, f"{fn.__qualname__}: {missing} not in SETTINGS[{key!r}]"


@pytest.mark.parametrize("key", [k for k in BUILDERS if k not in BEHAVIOURS])
def test_registry_defaults_are_the_constructor_defaults(key: str) -> None:
    by_target = {s.target: s for s in SETTINGS[key] if s.name == s.target}
    for fn in BUILDERS[key]:
        for p in _params(fn):
            s = by_target.get(p.name)
            if s is None or p.default is inspect.Parameter.empty or s.default is None:
                continue
            want, have = p.default, s.default
            if isinstance(want, tuple | list):
                assert list(have) == pytest.approx(list(want)), (fn.__qualname__, p.name)
            elif isinstance(want, float):
                assert math.isclose(have, want), (fn.__qualname__, p.name)
            else:
                assert have == want, (fn.__qualname__, p.name)


def test_efftox_defaults_are_the_thall_2014_example() -> None:
    by = {s.name: s.default for s in SETTINGS["efftox"]}
    assert list(by["dose_values"]) == THALL_2014["doses"]
    assert list(by["hinge"]) == list(THALL_2014["hinge"])  # type: ignore[call-overload]
    for k in ("eff_hurdle", "tox_hurdle", "p_e", "p_t"):
        assert by[k] == THALL_2014[k]
    priors = THALL_2014["priors"]
    assert list(by["priors"]) == [v for k in PARAMS for v in priors[k]]  # type: ignore[index]


def test_validate_types_and_reports_all() -> None:
    assert validate("boin", target="0.3", n_doses=5.0) == {"target": 0.3, "n_doses": 5}
    with pytest.raises(ValueError, match=r"^target: .*n_doses: must be a whole number"):
        validate("boin", target=0.9, n_doses=2.5)


# --- the command line and the form offer every setting with its default -------------------


def _command(group: str, design: str) -> Any:
    root = typer.main.get_command(app)
    ctx = typer.Context(root)
    return root.get_command(ctx, group).get_command(ctx, design)  # type: ignore[attr-defined]


@pytest.mark.parametrize("group", ["design", "simulate", "decide"])
@pytest.mark.parametrize("design", DESIGNS)
def test_cli_has_an_option_per_setting_with_its_default(group: str, design: str) -> None:
    cmd = _command(group, design)
    params = {p.name: p for p in cmd.params}
    for s in settings_for(design):
        p = params[s.name]
        assert s.option in p.opts
        assert s.help in (p.help or "")
        if s.default_text:
            assert p.show_default == s.default_text
        elif s.default not in (None, "", False):
            assert p.show_default is True
            if s.type in ("float", "int"):
                assert p.default == s.default


@pytest.mark.parametrize("design", DESIGNS)
def test_cli_help_lists_each_setting(design: str) -> None:
    r = CliRunner().invoke(app, ["design", design, "--help"], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    text = re.sub(r"\s+", " ", r.output)
    for s in settings_for(design):
        assert s.option in text, s.name
        if s.default_text:
            assert s.default_text in text, s.name


def test_the_trial_form_lists_each_setting(tmp_path: Any) -> None:
    from fastapi.testclient import TestClient

    from earlyphase.conduct.demo import seed_demo
    from earlyphase.conduct.web import DESIGN_CHOICES, _form_settings, create_app

    db = f"sqlite:///{tmp_path / 'form.db'}"
    for _ in seed_demo(db):
        pass
    client = TestClient(create_app(db))
    form = client.get("/login").text
    csrf = csrf_of(form)
    client.post("/login", data={"csrf": csrf, "username": "stat", "password": "stat-demo-pass"})
    page = client.get("/").text
    for key, _label in DESIGN_CHOICES:
        for s in _form_settings(key):
            assert f'name="{key}.{s.name}"' in page, (key, s.name)
    assert 'placeholder="default: 0.95"' in page  # BOIN cutoff_eli, for one
    offered = {k for k, _ in DESIGN_CHOICES}
    assert offered <= set(DESIGNS)
    assert {"3+3", "boin", "crm"} <= offered
    assert offered.isdisjoint(NOT_IN_TRIAL_SERVICE)  # the service refuses them at creation


#: Base settings per design, in variants so that every setting applies in one of them.
_DESCRIBE_BASES: list[tuple[str, dict[str, Any]]] = [
    ("3+3", {"n_doses": 4}),
    ("boin", {"target": 0.3, "n_doses": 4}),
    ("boin", {"target": 0.3, "n_doses": 4, "extra_safe": True}),
    ("crm", {"skeleton": [0.05, 0.12, 0.25, 0.4], "target": 0.25}),
    ("crm", {"skeleton": [0.05, 0.12, 0.25, 0.4], "target": 0.25, "model": "logistic"}),
    ("thall-simon", {"standard_prior": [15, 35], "experimental_prior": [0.6, 1.4]}),
    ("simon", {"p0": 0.1, "p1": 0.3, "alpha": 0.05, "beta": 0.2}),
    ("predictive", {"prior": [0.6, 0.4], "p0": 0.3, "theta_t": 0.9}),
    ("tox-monitor", {"limit": 0.3}),
]
#: Settings that change what is reported, not what the design does.
_NOT_BEHAVIOUR = {
    ("crm", "conf_level"),
    ("simon", "n_max"),  # a bound on the search: describe() states the design it finds
}


def _other_value(s: Setting, v: Any) -> Any:
    if s.type == "bool":
        return not v
    if s.choices:
        return next(c for c in s.choices if c != v)
    if s.type == "int":
        return v + 1 if s.high is None or v + 1 <= s.high else v - 1
    if s.type == "float":
        return v * 0.9 if v else 0.01
    return None


@pytest.mark.parametrize(("design", "base"), _DESCRIBE_BASES)
def test_describe_names_every_setting_that_changes_behaviour(
    design: str, base: dict[str, Any]
) -> None:
    """Changing any setting from its default (where it applies) changes ``describe()``: a
    design's description never reads the same for two different rules."""
    from earlyphase.designs.spec import build

    before = build(design, base).describe()
    checked = 0
    for s in SETTINGS[design]:
        if s.name in base or s.default is None or (design, s.name) in _NOT_BEHAVIOUR:
            continue
        value = _other_value(s, s.default)
        if value is None:
            continue
        try:
            changed = build(design, {**base, s.name: value})
        except ValueError:
            continue  # does not apply with these base settings; another variant covers it
        checked += 1
        assert changed.describe() != before, f"{design}: {s.name} = {value!r} not described"
    assert checked > 0


# --- backfill: a group of its own, for BOIN and 3+3 ------------------------------------------


def test_backfill_settings_feed_every_backfill_parameter_with_its_default() -> None:
    """Every parameter of Backfill (besides the wrapped design) is a backfill setting, with
    the constructor's default."""
    from earlyphase.designs.settings import BACKFILL

    by_target = {s.target: s for s in BACKFILL}
    params = [p for p in _params(Backfill.__init__) if p.name != "parent"]
    assert {p.name for p in params} == set(by_target)
    for p in params:
        s = by_target[p.name]
        if p.default is not inspect.Parameter.empty and p.default is not None:
            assert s.default == p.default, p.name


@pytest.mark.parametrize("design", ["boin", "3+3"])
def test_backfill_settings_build_and_are_checked(design: str) -> None:
    from earlyphase.designs.settings import BACKFILL

    spec = {**MINIMAL[design], "backfill_window": 28}
    for s in BACKFILL:
        value = s.default if s.default is not None else {"backfill_max": 4}.get(s.name, 28)
        built = build(design, {**spec, s.name: value})
        assert isinstance(built, Backfill) and built.describe()
    d = build(design, {**spec, "backfill_cap": 9, "backfill_max": 4, "backfill_assign": "lowest"})
    assert isinstance(d, Backfill)
    assert (d.window, d.cap_per_dose, d.max_backfill, d.assign) == (28.0, 9, 4, "lowest")
    for bad, name in (
        ({"backfill_window": 0}, "backfill_window"),
        ({"backfill_cap": 0}, "backfill_cap"),
        ({"backfill_max": -1}, "backfill_max"),
        ({"backfill_require_response": 2}, "backfill_require_response"),
        ({"stop_at_n": 12}, "stop_at_n"),
        ({"expansion": 6}, "expansion"),
    ):
        with pytest.raises(ValueError, match=rf"^{name}: "):
            build(design, {**spec, **bad})
    with pytest.raises(ValueError, match="backfill_cap: applies only together with"):
        build(design, {**MINIMAL[design], "backfill_cap": 6})


def test_backfill_is_not_a_setting_of_other_designs_or_of_a_stored_trial() -> None:
    """Only BOIN and 3+3 take backfill; build_design (the conduct service's builder) does
    not, so a trial cannot be stored with settings the service would not run."""
    from earlyphase.designs.spec import build_design

    with pytest.raises(ValueError, match="backfill_window: not a setting of the crm design"):
        build("crm", {**MINIMAL["crm"], "backfill_window": 28})
    with pytest.raises(ValueError, match="backfill_window: not a setting of the boin design"):
        build_design("boin", {**MINIMAL["boin"], "backfill_window": 28})
    assert "backfill_window" not in {s.name for s in settings_for("boin")}
    assert "backfill_window" in {s.name for s in settings_for("boin", backfill=True)}
    assert "backfill_window" not in {s.name for s in settings_for("crm", backfill=True)}
