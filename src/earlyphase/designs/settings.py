"""Every design's settings, declared once: name, type, default, bounds or choices, help and the
R argument (or paper) each follows.

The registry :data:`SETTINGS` is the single source for

- the checks of a specification (``earlyphase.designs.spec.build_design``): unknown keys, wrong
  types, values out of bounds and missing required settings are all reported in one
  ``ValueError``, one ``"name: why"`` clause per bad setting;
- the checks in the design classes' constructors (:func:`validate`);
- the command-line options of ``earlyphase design|simulate|decide DESIGN`` and their defaults;
- the protocol settings of the conduct service and the web form that creates a trial.

This module imports nothing heavier than the standard library, so that the command line can
read it before deciding whether NumPy, SciPy or pandas are needed at all.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

#: Types a setting can have. ``floats``/``ints`` are lists, given as ``0.1,0.2`` on the command
#: line or in a form (a list of ``length`` 2, such as a Beta prior a,b, is returned as a tuple).
#: ``words`` is a list of words from ``choices`` (e.g. the responses that count as responders).
TYPES = ("float", "int", "bool", "choice", "text", "floats", "ints", "words")

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0", ""}


@dataclass(frozen=True)
class Setting:
    """One setting of one design.

    ``default`` is the value used when the setting is not given (None: no default; the
    design then either does without the rule, or, with ``required``, refuses to build);
    ``default_text`` says the default in words when it depends on other settings.
    ``low``/``high`` bound a number (each element of a list), open when ``low_open``/
    ``high_open``; ``max_len`` bounds a list's length or a text's characters; ``choices``
    lists the accepted words. ``param`` names the constructor (or
    behaviour) parameter the setting feeds when it differs from ``name``; ``flags`` are the
    command-line spellings (default ``--name-with-dashes``). ``only_with`` = (setting, value)
    and ``requires`` = setting restrict where a setting may be given, so that no setting is
    ever silently ignored. ``reference`` names the R argument or paper the setting follows.
    """

    name: str
    type: str
    default: Any = None
    help: str = ""
    reference: str = ""
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[str, ...] = ()
    required: bool = False
    param: str | None = None
    flags: tuple[str, ...] = ()
    length: int | None = None
    increasing: bool = False
    only_with: tuple[str, Any] | None = None
    requires: str | None = None
    from_length_of: str | None = None
    default_text: str = ""
    #: at most this many values (lists) or characters (text): what a trial can hold and what
    #: the trial record's columns store
    max_len: int | None = None

    @property
    def target(self) -> str:
        """The constructor (or behaviour) parameter this setting feeds."""
        return self.param or self.name

    @property
    def option(self) -> str:
        """The main command-line spelling, e.g. ``--n-doses``."""
        return self.flags[0].split("/")[0] if self.flags else "--" + self.name.replace("_", "-")

    @property
    def is_list(self) -> bool:
        return self.type in ("floats", "ints")

    def default_display(self) -> str:
        """The default as a person types it (``0.05,0.1`` for lists, ``on``/``off``)."""
        if self.default_text:
            return self.default_text
        return format_value(self.default)

    def bounds_text(self) -> str:
        """``[0.05, 0.6]``, ``(0, 1)``, ``>= 1``, ``(0, 1e+09], at most 20 values``... ("" when
        unbounded)."""
        if self.choices:
            return "one of " + ", ".join(self.choices)
        size = ""
        if self.max_len is not None:
            size = f"at most {self.max_len} {'characters' if self.type == 'text' else 'values'}"
        lo, hi = self.low, self.high
        if lo is not None and hi is not None:
            left = "(" if self.low_open else "["
            right = ")" if self.high_open else "]"
            span = f"{left}{_num(lo)}, {_num(hi)}{right}"
        elif lo is not None:
            span = f"{'>' if self.low_open else '>='} {_num(lo)}"
        elif hi is not None:
            span = f"{'<' if self.high_open else '<='} {_num(hi)}"
        else:
            span = ""
        return ", ".join(x for x in (span, size) if x)


def _num(v: float) -> str:
    return f"{v:g}"


def format_value(value: Any) -> str:
    """A value as typed on the command line: lists comma-separated, booleans on/off."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list | tuple):
        return ",".join(format_value(v) for v in value)
    if isinstance(value, float):
        return f"{value:.12g}"
    return str(value)


def S(name: str, type: str, default: Any = None, help: str = "", **kw: Any) -> Setting:  # noqa: N802
    """Shorthand for the table below."""
    return Setting(name, type, default, help, **kw)


_PROB_OPEN = {"low": 0.0, "high": 1.0, "low_open": True, "high_open": True}
_PROB = {"low": 0.0, "high": 1.0}

# What a trial can be: every number a design or the conduct service accepts is bounded, so
# that no setting asks for a trial no one could run (or a number no database column holds).
#: Dose levels of a dose-finding trial.
MAX_DOSES = 20
#: Patients in one cohort.
MAX_COHORT_SIZE = 12
#: Cohorts of a dose-finding trial.
MAX_COHORTS = 100
#: Patients of a trial (sample sizes, looks, stopping counts).
MAX_PATIENTS = 1000
#: Looks of a monitoring design.
MAX_LOOKS = 100
#: Beta prior parameters (pseudo-patients) and historical sample sizes.
MAX_PRIOR = 100_000.0
#: A dose amount, whatever its unit.
MAX_DOSE = 1e9
#: Characters of a free-text setting (the dose unit and the visit are 40 in the record).
MAX_TEXT = 40
#: A positive number: prior parameters, sample sizes behind a rate.
_POSITIVE = {"low": 0.0, "low_open": True, "high": MAX_PRIOR}
#: A count of patients.
_PATIENTS = {"low": 1, "high": MAX_PATIENTS}

# --- dose levels, shared by the dose-finding designs ---------------------------------------
_DOSE_LEVELS = (
    S(
        "dose_values",
        "floats",
        None,
        "Dose amounts, increasing, e.g. 0.5,1,2 (levels numbered 1..K if not given).",
        param="doses",
        increasing=True,
        low=0.0,
        low_open=True,
        high=MAX_DOSE,
        max_len=MAX_DOSES,
        reference="earlyphase.designs.DoseLevels",
    ),
    S(
        "unit",
        "text",
        "",
        "Unit of the dose amounts, e.g. 'x 10^6 cells/kg'.",
        param="doses",
        requires="dose_values",
        max_len=MAX_TEXT,
        reference="earlyphase.designs.DoseLevels",
    ),
)


def _n_doses(ref: str) -> Setting:
    return S(
        "n_doses",
        "int",
        None,
        "Number of dose levels (default: the number of dose values, or of true rates).",
        low=1,
        high=MAX_DOSES,
        required=True,
        from_length_of="dose_values",
        flags=("--n-doses", "--doses"),
        reference=ref,
    )


def _start_dose(ref: str) -> Setting:
    return S(
        "start_dose",
        "int",
        1,
        "Starting dose level (1-based).",
        low=1,
        high=MAX_DOSES,
        reference=ref,
    )


THREE_PLUS_THREE = (
    _n_doses("escalation::get_three_plus_three num_doses"),
    S(
        "deescalation",
        "bool",
        False,
        "Korn et al. (1994) variant: after >= 2 DLTs go back to the dose below unless 6 "
        "were treated there.",
        reference="escalation::get_three_plus_three allow_deescalate",
    ),
    _start_dose("escalation::get_three_plus_three (starting dose)"),
    *_DOSE_LEVELS,
)

BOIN_SETTINGS = (
    S(
        "target",
        "float",
        None,
        "Target DLT rate.",
        low=0.05,
        high=0.6,
        required=True,
        reference="BOIN::get.boundary target",
    ),
    _n_doses("BOIN::get.oc p.true (its length)"),
    S(
        "cohort_size",
        "int",
        3,
        "Patients per cohort.",
        low=1,
        high=MAX_COHORT_SIZE,
        reference="BOIN::get.boundary cohortsize",
    ),
    S(
        "n_cohorts",
        "int",
        10,
        "Maximum number of cohorts; the trial stops at n_cohorts x cohort_size patients.",
        low=1,
        high=MAX_COHORTS,
        flags=("--n-cohorts", "--cohorts"),
        reference="BOIN::get.boundary ncohort",
    ),
    S(
        "phi1",
        "float",
        None,
        "Highest DLT rate deemed sub-therapeutic (below the target by >= 10% of it).",
        default_text="0.6 x target",
        reference="BOIN::get.boundary p.saf",
        **_PROB_OPEN,
    ),
    S(
        "phi2",
        "float",
        None,
        "Lowest DLT rate deemed overly toxic (above the target by >= 10% of it).",
        default_text="1.4 x target",
        reference="BOIN::get.boundary p.tox",
        **_PROB_OPEN,
    ),
    S(
        "cutoff_eli",
        "float",
        0.95,
        "Eliminate a dose (and higher ones) when Pr(DLT rate > target) exceeds this.",
        reference="BOIN::get.boundary cutoff.eli",
        **_PROB_OPEN,
    ),
    S(
        "extra_safe",
        "bool",
        False,
        "Stop the trial when Pr(DLT rate at dose 1 > target) > cutoff_eli - offset.",
        reference="BOIN::get.boundary extrasafe",
    ),
    S(
        "offset",
        "float",
        0.05,
        "Offset of the extra-safe stopping rule.",
        only_with=("extra_safe", True),
        low=0.0,
        high=0.5,
        high_open=True,
        reference="BOIN::get.boundary offset",
    ),
    S(
        "get_oc_compatible",
        "bool",
        False,
        "Apply the extra-safe stop only where BOIN::get.oc does (see the BOIN docstring).",
        only_with=("extra_safe", True),
        reference="BOIN::get.oc (extrasafe check nested under the elimination rule)",
    ),
    S(
        "n_earlystop",
        "int",
        None,
        "Stop when this many patients are at the dose to be given next.",
        **_PATIENTS,
        default_text="none",
        reference="BOIN::get.oc n.earlystop",
    ),
    S(
        "bound_mtd",
        "bool",
        False,
        "Select only a dose whose isotonic DLT estimate is <= lambda_d.",
        reference="BOIN::select.mtd boundMTD",
    ),
    _start_dose("BOIN::get.oc startdose"),
    *_DOSE_LEVELS,
)

CRM_SETTINGS = (
    S(
        "skeleton",
        "floats",
        None,
        "Prior guesses of the DLT rate per dose, strictly increasing, e.g. 0.05,0.12,0.25,0.4.",
        required=True,
        increasing=True,
        max_len=MAX_DOSES,
        reference="dfcrm::crm prior",
        **_PROB_OPEN,
    ),
    S(
        "target",
        "float",
        None,
        "Target DLT rate.",
        required=True,
        reference="dfcrm::crm target",
        **_PROB_OPEN,
    ),
    S(
        "model",
        "choice",
        "empiric",
        "Dose-toxicity model: empiric (power) or logistic.",
        choices=("empiric", "logistic"),
        reference="dfcrm::crm model",
    ),
    S(
        "prior_sd",
        "float",
        math.sqrt(1.34),
        "Standard deviation of the normal prior on beta.",
        reference="dfcrm::crm scale",
        low=0.0,
        low_open=True,
        high=100.0,
    ),
    S(
        "intercept",
        "float",
        3.0,
        "Intercept of the logistic model.",
        only_with=("model", "logistic"),
        low=-100.0,
        high=100.0,
        reference="dfcrm::crm intcpt",
    ),
    S(
        "n_patients",
        "int",
        24,
        "Sample size; the trial stops when it is reached.",
        **_PATIENTS,
        flags=("--n-patients", "--patients"),
        reference="dfcrm::crmsim n",
    ),
    S(
        "cohort_size",
        "int",
        1,
        "Patients per cohort.",
        low=1,
        high=MAX_COHORT_SIZE,
        reference="dfcrm::crmsim mcohort",
    ),
    _start_dose("dfcrm::crmsim x0"),
    S(
        "no_skipping",
        "bool",
        True,
        "Never skip an untried dose when escalating.",
        flags=("--no-skipping/--allow-skipping",),
        reference="dfcrm::crmsim restrict",
    ),
    S(
        "coherence",
        "bool",
        True,
        "No escalation right after a cohort whose DLT rate reached the target (Cheung 2005).",
        flags=("--coherence/--no-coherence",),
        reference="dfcrm::crmsim restrict",
    ),
    S(
        "conf_level",
        "float",
        0.9,
        "Level of the reported limits on the DLT rates.",
        reference="dfcrm::crm conf.level",
        **_PROB_OPEN,
    ),
    *_DOSE_LEVELS,
)

#: Behaviours stacked on a dose-finding design, applied in this order (the expansion last, so
#: that it follows the whole escalation). Modelled on R ``escalation`` (Brock 2019).
BEHAVIOURS: dict[str, tuple[Setting, ...]] = {
    "dont_skip_doses": (
        S(
            "dont_skip_doses",
            "bool",
            False,
            "Escalate at most one dose level at a time.",
            param="when_escalating",
            reference="escalation::dont_skip_doses when_escalating",
        ),
        S(
            "dont_skip_when_deescalating",
            "bool",
            False,
            "De-escalate at most one dose level at a time.",
            param="when_deescalating",
            reference="escalation::dont_skip_doses when_deescalating",
        ),
    ),
    "stop_when_n_at_dose": (
        S(
            "stop_when_n_at_dose",
            "int",
            None,
            "Stop when this many patients have had the dose named by at_dose.",
            **_PATIENTS,
            param="n",
            default_text="none",
            reference="escalation::stop_when_n_at_dose n",
        ),
        S(
            "at_dose",
            "text",
            "recommended",
            "Dose counted by stop_when_n_at_dose: recommended, any, or a dose level.",
            param="dose",
            requires="stop_when_n_at_dose",
            max_len=MAX_TEXT,
            reference="escalation::stop_when_n_at_dose dose",
        ),
    ),
    "stop_at_n": (
        S(
            "stop_at_n",
            "int",
            None,
            "Stop once this many patients have been treated.",
            **_PATIENTS,
            param="n",
            default_text="none",
            reference="escalation::stop_at_n n",
        ),
    ),
    "stop_when_too_toxic": (
        S(
            "stop_when_too_toxic",
            "float",
            None,
            "Stop, recommending no dose, when Pr(DLT rate at dose 1 > THRESHOLD) > confidence.",
            param="threshold",
            default_text="none",
            reference="escalation::stop_when_too_toxic tox_threshold",
            **_PROB,
        ),
        S(
            "confidence",
            "float",
            0.95,
            "Posterior probability that makes the lowest dose too toxic.",
            requires="stop_when_too_toxic",
            reference="escalation::stop_when_too_toxic confidence",
            **_PROB_OPEN,
        ),
        S(
            "too_toxic_prior",
            "floats",
            (1.0, 1.0),
            "Beta prior a,b of the DLT rate at dose 1 for stop_when_too_toxic.",
            param="prior",
            length=2,
            requires="stop_when_too_toxic",
            reference="Beta-binomial posterior (Thall, Simon & Estey 1995)",
            **_POSITIVE,
        ),
    ),
    "expansion": (
        S(
            "expansion",
            "int",
            None,
            "Expansion cohort: this many more patients at the selected dose (RP2D).",
            **_PATIENTS,
            param="n",
            default_text="none",
            reference="earlyphase DoseFindingDesign.with_expansion",
        ),
        S(
            "expansion_cohort_size",
            "int",
            None,
            "Cohort size in the expansion.",
            low=1,
            high=MAX_COHORT_SIZE,
            param="cohort_size",
            requires="expansion",
            default_text="the design's cohort size",
            reference="earlyphase DoseFindingDesign.with_expansion",
        ),
        S(
            "expansion_tox_limit",
            "float",
            None,
            "Stop the expansion if Pr(DLT rate > limit | patients at the RP2D) > cutoff.",
            param="tox_limit",
            requires="expansion",
            default_text="no safety rule",
            reference="Thall, Simon & Estey (1995) monitoring",
            **_PROB,
        ),
        S(
            "expansion_cutoff",
            "float",
            0.9,
            "Posterior probability that stops the expansion (with expansion_tox_limit).",
            param="cutoff",
            requires="expansion_tox_limit",
            reference="Thall, Simon & Estey (1995) monitoring",
            **_PROB_OPEN,
        ),
        S(
            "expansion_prior",
            "floats",
            (1.0, 1.0),
            "Beta prior a,b of the DLT rate in the expansion's safety rule.",
            param="prior",
            length=2,
            requires="expansion_tox_limit",
            reference="Thall, Simon & Estey (1995) monitoring",
            **_POSITIVE,
        ),
    ),
}

# --- interval designs (mTPI-2, Keyboard, i3+3) -------------------------------------------------
#: Longest DLT assessment window, in whatever time unit the trial uses (10 000 days is 27 years).
MAX_WINDOW = 10_000.0


def _interval_common(ref: str) -> tuple[Setting, ...]:
    """The settings mTPI-2, Keyboard and i3+3 share (``ref`` names the R function or paper)."""
    return (
        S(
            "target",
            "float",
            None,
            "Target DLT rate.",
            low=0.05,
            high=0.6,
            required=True,
            reference=f"{ref} target",
        ),
        _n_doses(f"{ref} (number of doses)"),
        S(
            "cohort_size",
            "int",
            3,
            "Patients per cohort.",
            low=1,
            high=MAX_COHORT_SIZE,
            reference=f"{ref} cohortsize",
        ),
        S(
            "n_cohorts",
            "int",
            10,
            "Maximum number of cohorts; the trial stops at n_cohorts x cohort_size patients.",
            low=1,
            high=MAX_COHORTS,
            flags=("--n-cohorts", "--cohorts"),
            reference=f"{ref} ncohort",
        ),
        S(
            "cutoff_eli",
            "float",
            0.95,
            "Eliminate a dose (and higher ones) when Pr(DLT rate > target) exceeds this "
            "(n >= 3, Beta(1, 1) prior).",
            reference=f"{ref} cutoff.eli",
            **_PROB_OPEN,
        ),
        _start_dose(f"{ref} startdose"),
        *_DOSE_LEVELS,
    )


MTPI2_SETTINGS = (
    *_interval_common("escalation::get_mtpi2"),
    S(
        "epsilon1",
        "float",
        0.05,
        "Width of the equivalence interval below the target (target - epsilon1); below target.",
        reference="escalation::get_mtpi2 epsilon1; Guo et al. 2017",
        **_PROB_OPEN,
    ),
    S(
        "epsilon2",
        "float",
        0.05,
        "Width of the equivalence interval above the target (target + epsilon2); below 1 - target.",
        reference="escalation::get_mtpi2 epsilon2; Guo et al. 2017",
        **_PROB_OPEN,
    ),
)

KEYBOARD_SETTINGS = (
    *_interval_common("Keyboard::get.boundary.kb"),
    S(
        "margin",
        "float",
        0.05,
        "Half-width of the target key (target - margin, target + margin).",
        reference="Keyboard::get.boundary.kb marginL, marginR; Yan et al. 2017",
        **_PROB_OPEN,
    ),
    S(
        "margin_left",
        "float",
        None,
        "Margin below the target, when it differs from the one above (below target).",
        default_text="margin",
        reference="Keyboard::get.boundary.kb marginL",
        **_PROB_OPEN,
    ),
    S(
        "margin_right",
        "float",
        None,
        "Margin above the target, when it differs from the one below (below 1 - target).",
        default_text="margin",
        reference="Keyboard::get.boundary.kb marginR",
        **_PROB_OPEN,
    ),
)

I3PLUS3_SETTINGS = (
    *_interval_common("Liu, Wang & Ji 2020 (i3+3)"),
    S(
        "eps1",
        "float",
        0.05,
        "Width of the equivalence interval below the target, [target - eps1, ...]; below target.",
        reference="Liu, Wang & Ji 2020 epsilon_1",
        **_PROB_OPEN,
    ),
    S(
        "eps2",
        "float",
        0.05,
        "Width of the equivalence interval above the target, [..., target + eps2]; below "
        "1 - target.",
        reference="Liu, Wang & Ji 2020 epsilon_2",
        **_PROB_OPEN,
    ),
)

ROLLING_SIX = (
    _n_doses("Skolnik et al. 2008 (dose levels)"),
    _start_dose("Skolnik et al. 2008 (starting dose)"),
    *_DOSE_LEVELS,
)

# --- time-to-event designs ------------------------------------------------------------------


def _window(ref: str) -> Setting:
    return S(
        "window",
        "float",
        None,
        "Length of the DLT assessment window (follow-up, accrual and durations use its unit).",
        low=0,
        low_open=True,
        high=MAX_WINDOW,
        required=True,
        reference=ref,
    )


TITE_CRM_SETTINGS = (
    *CRM_SETTINGS,
    _window("dfcrm::titecrm obswin"),
    S(
        "scheme",
        "choice",
        "linear",
        "Weight of a patient without DLT: linear, min(follow-up / window, 1), or adaptive "
        "(through the observed times to DLT).",
        choices=("linear", "adaptive"),
        reference="dfcrm::titecrm scheme; Cheung & Chappell 2000",
    ),
)

TITE_BOIN_SETTINGS = (
    *(s for s in BOIN_SETTINGS if s.name != "get_oc_compatible"),
    _window("Yuan et al. 2018 (T); TITEgBOIN maxt"),
    S(
        "max_pending",
        "float",
        0.5,
        "Suspend accrual when more than this fraction of the patients at the current dose are "
        "pending.",
        low=0,
        low_open=True,
        high=1,
        reference="Yuan et al. 2018; TITEgBOIN maxpen",
    ),
    S(
        "estimator",
        "choice",
        "imputed",
        "How pending patients enter the DLT rate: imputed (Yuan et al. 2018) or ess (Lin & "
        "Yuan 2020).",
        choices=("imputed", "ess"),
        reference="TITEgBOIN next_TITE_QuasiBOIN (ess)",
    ),
    S(
        "titegboin_compatible",
        "bool",
        False,
        "Suspend as R TITEgBOIN does (also when DLTs force de-escalation, and at dose 1).",
        reference="TITEgBOIN next_TITE_QuasiBOIN",
    ),
)

# --- phase I/II and phase II on two outcomes --------------------------------------------------
BOIN12_SETTINGS = (
    _n_doses("escalation::get_boin12 num_doses"),
    S(
        "tox_target",
        "float",
        None,
        "phi_T, the highest acceptable toxicity rate (BOIN's target).",
        low=0.05,
        high=0.6,
        required=True,
        reference="escalation::get_boin12 phi_t",
    ),
    S(
        "eff_lower",
        "float",
        None,
        "phi_E, the lowest acceptable efficacy rate.",
        required=True,
        reference="escalation::get_boin12 phi_e",
        **_PROB_OPEN,
    ),
    S(
        "utility",
        "floats",
        (100.0, 40.0, 60.0, 0.0),
        "Utilities u1,u2,u3,u4 of efficacy without toxicity (100), neither, both, toxicity "
        "without efficacy (0).",
        length=4,
        low=0.0,
        high=100.0,
        reference="escalation::get_boin12 u1, u2, u3, u4 (Lin et al. 2020)",
    ),
    S(
        "cohort_size",
        "int",
        3,
        "Patients per cohort.",
        low=1,
        high=MAX_COHORT_SIZE,
        reference="BOIN12 cohortsize",
    ),
    S(
        "n_cohorts",
        "int",
        12,
        "Maximum number of cohorts; the trial stops at n_cohorts x cohort_size patients.",
        low=1,
        high=MAX_COHORTS,
        flags=("--n-cohorts", "--cohorts"),
        reference="BOIN12 ncohort",
    ),
    S(
        "n_star",
        "int",
        6,
        "N*: with moderate toxicity and at least this many patients, do not escalate.",
        **_PATIENTS,
        reference="escalation::get_boin12 n_star; Lin et al. 2020",
    ),
    S(
        "c_t",
        "float",
        0.95,
        "A dose is inadmissible when Pr(toxicity rate > tox_target) >= c_t.",
        reference="escalation::get_boin12 c_t",
        **_PROB_OPEN,
    ),
    S(
        "c_e",
        "float",
        0.9,
        "A dose is inadmissible when Pr(efficacy rate < eff_lower) >= c_e.",
        reference="escalation::get_boin12 c_e",
        **_PROB_OPEN,
    ),
    S(
        "explore_n",
        "int",
        9,
        "Escalate to an untried next dose once this many patients are at the current dose "
        "(0: no exploration rule).",
        low=0,
        high=MAX_PATIENTS,
        reference="escalation::get_boin12 (n > 8 exploration rule)",
    ),
    S(
        "n_earlystop",
        "int",
        None,
        "Stop when the dose to be given already has this many patients.",
        **_PATIENTS,
        default_text="none",
        reference="BOIN12 n.earlystop",
    ),
    S(
        "stop_if_lowest_toxic",
        "bool",
        True,
        "Stop when dose 1 (n >= 3) has Pr(toxicity rate > tox_target) > c_t.",
        flags=("--stop-if-lowest-toxic/--no-stop-if-lowest-toxic",),
        reference="Lin et al. 2020 safety rule (escalation::get_boin12 lacks it)",
    ),
    _start_dose("escalation::get_boin12 (starting dose)"),
)

BOP2_SETTINGS = (
    S(
        "null",
        "floats",
        None,
        "Response rate under H0, or the four joint probabilities (response and toxicity, "
        "response only, toxicity only, neither) summing to 1.",
        required=True,
        max_len=4,
        reference="BOP2 (Zhou et al. 2017) phi_E / the null's Dirichlet",
        **_PROB,
    ),
    S(
        "alternative",
        "floats",
        None,
        "Response rate under H1, or the four joint probabilities, in the same form as null.",
        required=True,
        max_len=4,
        reference="BOP2 (Zhou et al. 2017) H1",
        **_PROB,
    ),
    S(
        "looks",
        "ints",
        None,
        "Sample sizes of the interim analyses, e.g. 10,20,30 (n_max may be included or not).",
        required=True,
        increasing=True,
        low=1,
        high=MAX_PATIENTS,
        max_len=MAX_LOOKS,
        reference="BOP2 interim looks n_1 < ... < n_K",
    ),
    S(
        "n_max",
        "int",
        None,
        "Maximum sample size N, the final analysis.",
        param="N",
        required=True,
        **_PATIENTS,
        reference="BOP2 N",
    ),
    S(
        "alpha",
        "float",
        0.1,
        "Largest acceptable type I error.",
        reference="BOP2 type I error",
        **_PROB_OPEN,
    ),
    S(
        "lam",
        "float",
        None,
        "Fix lambda of the cutoff C(n) = 1 - lambda (n/N)^gamma (with gamma) instead of "
        "optimising it.",
        default_text="optimised",
        requires="gamma",
        reference="Zhou et al. 2017 lambda",
        **_PROB_OPEN,
    ),
    S(
        "gamma",
        "float",
        None,
        "Fix gamma of the cutoff C(n) (with lam) instead of optimising it.",
        low=0.0,
        high=10.0,
        default_text="optimised",
        requires="lam",
        reference="Zhou et al. 2017 gamma",
    ),
    S(
        "lambdas",
        "floats",
        None,
        "The lambdas searched.",
        max_len=200,
        default_text="0.01..0.99 by 0.01",
        reference="Zhou et al. 2017 (grid search)",
        **_PROB_OPEN,
    ),
    S(
        "gammas",
        "floats",
        None,
        "The gammas searched.",
        low=0.0,
        high=10.0,
        max_len=200,
        default_text="0..3 by 0.05",
        reference="Zhou et al. 2017 (grid search)",
    ),
    S(
        "prior",
        "floats",
        None,
        "Beta a,b or Dirichlet prior (four parameters).",
        low=0.0,
        high=MAX_PRIOR,
        max_len=4,
        default_text="the null with one patient's weight",
        reference="Zhou et al. 2017 (prior)",
    ),
)

# --- single-arm phase II and monitoring -------------------------------------------------------
THALL_SIMON = (
    S(
        "standard_prior",
        "floats",
        None,
        "Beta prior a,b of the standard therapy's rate (or give standard_rate and standard_n).",
        length=2,
        reference="ph2bayes::stopbound_post alpha_s, beta_s",
        **_POSITIVE,
    ),
    S(
        "standard_rate",
        "float",
        None,
        "Historical rate on standard therapy (mean of the standard prior).",
        param="standard_prior",
        reference="Thall & Simon (1994) section 3",
        **_PROB_OPEN,
    ),
    S(
        "standard_n",
        "float",
        None,
        "Patients behind the historical rate (effective sample size of the standard prior).",
        param="standard_prior",
        reference="Thall & Simon (1994) section 3",
        **_POSITIVE,
    ),
    S(
        "experimental_prior",
        "floats",
        None,
        "Beta prior a,b of the experimental rate (or give experimental_ess).",
        length=2,
        reference="ph2bayes::stopbound_post alpha_e, beta_e",
        **_POSITIVE,
    ),
    S(
        "experimental_ess",
        "float",
        2.0,
        "Effective sample size of the experimental prior, whose mean is the standard rate.",
        param="experimental_prior",
        reference="Thall & Simon (1994): c_E between 2 and 10",
        **_POSITIVE,
    ),
    S(
        "delta",
        "float",
        0.0,
        "Targeted improvement delta_0 of the futility rule: stop when Pr(theta_E > theta_S + "
        "delta) <= p_lower.",
        low=0.0,
        high=1.0,
        high_open=True,
        reference="Thall & Simon (1994) delta_0",
    ),
    S(
        "p_upper",
        "float",
        0.95,
        "Declare the treatment promising when Pr(theta_E > theta_S + delta_efficacy) >= "
        "p_upper (1: no efficacy rule).",
        low=0.0,
        high=1.0,
        low_open=True,
        reference="Thall & Simon (1994) p_U; ph2bayes::stopbound_post theta",
    ),
    S(
        "p_lower",
        "float",
        0.05,
        "Stop for futility when Pr(theta_E > theta_S + delta) <= p_lower (0: no futility rule).",
        low=0.0,
        high=1.0,
        high_open=True,
        reference="Thall & Simon (1994) p_L",
    ),
    S(
        "n_min",
        "int",
        1,
        "First look (patients evaluated).",
        **_PATIENTS,
        reference="Thall & Simon (1994)",
    ),
    S(
        "n_max",
        "int",
        40,
        "Maximum sample size; a look after every patient from n_min on.",
        **_PATIENTS,
        reference="ph2bayes::stopbound_post nmax",
    ),
    S(
        "delta_efficacy",
        "float",
        0.0,
        "Improvement the efficacy rule requires (0: superiority).",
        low=0.0,
        high=1.0,
        high_open=True,
        reference="ph2bayes::stopbound_post delta",
    ),
)

SIMON = (
    S(
        "p0",
        "float",
        None,
        "Uninteresting response rate.",
        required=True,
        reference="clinfun::ph2simon pu",
        **_PROB_OPEN,
    ),
    S(
        "p1",
        "float",
        None,
        "Desirable response rate.",
        required=True,
        reference="clinfun::ph2simon pa",
        **_PROB_OPEN,
    ),
    S(
        "alpha",
        "float",
        None,
        "Type I error (needed for the search).",
        reference="clinfun::ph2simon ep1",
        **_PROB_OPEN,
    ),
    S(
        "beta",
        "float",
        None,
        "Type II error (needed for the search).",
        reference="clinfun::ph2simon ep2",
        **_PROB_OPEN,
    ),
    S(
        "kind",
        "choice",
        "optimal",
        "optimal (smallest E[N | p0]), minimax (smallest n) or admissible (Jung et al. 2004; "
        "pick one with q).",
        choices=("optimal", "minimax", "admissible"),
        reference="clinfun::ph2simon, clinfun::twostage.admissible",
    ),
    S(
        "q",
        "float",
        None,
        "Weight of n in q n + (1 - q) E[N | p0]: picks the admissible design minimising it.",
        only_with=("kind", "admissible"),
        default_text="all admissible designs",
        reference="clinfun::twostage.admissible qLo, qHi",
        **_PROB,
    ),
    S(
        "n_max",
        "int",
        100,
        "Largest maximum sample size searched.",
        low=2,
        high=1000,
        reference="clinfun::ph2simon nmax",
    ),
    S(
        "r1",
        "int",
        None,
        "Fixed design: stop after stage 1 if responses <= r1.",
        low=-1,
        high=MAX_PATIENTS,
        reference="clinfun::oc.twostage.bdry r1",
    ),
    S(
        "n1",
        "int",
        None,
        "Fixed design: stage-1 sample size.",
        **_PATIENTS,
        reference="clinfun::oc.twostage.bdry n1",
    ),
    S(
        "r",
        "int",
        None,
        "Fixed design: promising if total responses > r.",
        low=0,
        high=MAX_PATIENTS,
        reference="clinfun::oc.twostage.bdry r",
    ),
    S(
        "n",
        "int",
        None,
        "Fixed design: total sample size.",
        low=2,
        high=MAX_PATIENTS,
        reference="clinfun::oc.twostage.bdry n",
    ),
)

PREDICTIVE = (
    S(
        "prior",
        "floats",
        (1.0, 1.0),
        "Beta prior a,b of the response rate.",
        length=2,
        reference="ph2bayes::predprob alpha_e, beta_e",
        **_POSITIVE,
    ),
    S(
        "p0",
        "float",
        None,
        "Response rate to beat.",
        required=True,
        reference="ph2bayes::predprob p_s",
        **_PROB_OPEN,
    ),
    S(
        "theta_t",
        "float",
        None,
        "Success at the end: Pr(p > p0 | all data) >= theta_t.",
        required=True,
        reference="ph2bayes::predprob theta_t",
        **_PROB_OPEN,
    ),
    S(
        "theta_lower",
        "float",
        0.05,
        "Stop for futility when the predictive probability of success is <= this.",
        reference="Lee & Liu (2008) theta_L; ph2bayes::stopbound_pred theta",
        **_PROB_OPEN,
    ),
    S(
        "theta_upper",
        "float",
        None,
        "Stop for efficacy when the predictive probability of success is >= this.",
        default_text="no efficacy stop",
        reference="Lee & Liu (2008) theta_U",
        **_PROB_OPEN,
    ),
    S("n_min", "int", 1, "First look.", reference="Lee & Liu (2008)", **_PATIENTS),
    S(
        "n_max",
        "int",
        40,
        "Maximum sample size.",
        reference="ph2bayes::predprob nmax",
        **_PATIENTS,
    ),
)

TOX_MONITOR = (
    S(
        "method",
        "choice",
        "bayesian",
        "bayesian (posterior rule) or ivanova (Ivanova-Qaqish-Schell boundary).",
        choices=("bayesian", "ivanova"),
        reference="Thall, Simon & Estey (1995); Ivanova, Qaqish & Schell (2005)",
    ),
    S(
        "limit",
        "float",
        None,
        "Bayesian: unacceptable toxicity rate (required).",
        only_with=("method", "bayesian"),
        reference="Thall, Simon & Estey (1995)",
        **_PROB,
    ),
    S(
        "cutoff",
        "float",
        0.9,
        "Bayesian: stop when Pr(toxicity rate > limit | data) > cutoff.",
        only_with=("method", "bayesian"),
        reference="Thall, Simon & Estey (1995)",
        **_PROB_OPEN,
    ),
    S(
        "prior",
        "floats",
        (1.0, 1.0),
        "Bayesian: Beta prior a,b of the toxicity rate.",
        length=2,
        only_with=("method", "bayesian"),
        reference="Thall, Simon & Estey (1995)",
        **_POSITIVE,
    ),
    S(
        "n_min",
        "int",
        1,
        "Bayesian: first look (looks after every patient up to n_max, unless looks is given).",
        **_PATIENTS,
        only_with=("method", "bayesian"),
    ),
    S(
        "n_max",
        "int",
        30,
        "Bayesian: maximum sample size.",
        **_PATIENTS,
        only_with=("method", "bayesian"),
    ),
    S(
        "looks",
        "ints",
        None,
        "Sample sizes of the looks, e.g. 10,20,30 (required by ivanova; for bayesian it "
        "replaces n_min/n_max).",
        low=1,
        high=MAX_PATIENTS,
        max_len=MAX_LOOKS,
        increasing=True,
        default_text="every patient from n_min to n_max",
        reference="clinfun::toxbdry n",
    ),
    S(
        "p0",
        "float",
        None,
        "Ivanova: acceptable toxicity rate.",
        param="p_lo",
        only_with=("method", "ivanova"),
        reference="clinfun::toxbdry pLo",
        **_PROB_OPEN,
    ),
    S(
        "p1",
        "float",
        None,
        "Ivanova: unacceptable toxicity rate.",
        param="p_hi",
        only_with=("method", "ivanova"),
        reference="clinfun::toxbdry pHi",
        **_PROB_OPEN,
    ),
    S(
        "boundary",
        "choice",
        "low",
        "Ivanova: the low boundary (P(stop | p0) just above cp0) or the high one.",
        choices=("low", "high"),
        only_with=("method", "ivanova"),
        reference="clinfun::toxbdry lo.bdry, hi.bdry",
    ),
    S(
        "cp0",
        "float",
        0.1,
        "Ivanova: P(stop) at p0.",
        only_with=("method", "ivanova"),
        reference="clinfun::toxbdry cP0",
        **_PROB_OPEN,
    ),
    S(
        "cp1",
        "float",
        0.9,
        "Ivanova: P(stop) at p1.",
        only_with=("method", "ivanova"),
        reference="clinfun::toxbdry cP1",
        **_PROB_OPEN,
    ),
    S(
        "shape",
        "float",
        0.0,
        "Ivanova: boundary shape, 0 Pocock to 0.5 O'Brien-Fleming.",
        low=0.0,
        high=0.5,
        param="delta",
        only_with=("method", "ivanova"),
        reference="clinfun::toxbdry delta",
    ),
    S(
        "priority",
        "choice",
        "null",
        "Ivanova: meet cp0 (null) or cp1 (alt) first.",
        choices=("null", "alt"),
        only_with=("method", "ivanova"),
        reference="clinfun::toxbdry priority",
    ),
)

#: The Thall et al. (2014) example (trialr ``stan_efftox_demo``): EffTox's defaults here.
EFFTOX_PRIORS = (
    -7.9593,
    3.5487,
    1.5482,
    3.5018,
    0.7367,
    2.5423,
    3.4181,
    2.4406,
    0.0,
    0.2,
    0.0,
    1.0,
)

EFFTOX = (
    S(
        "dose_values",
        "floats",
        (1.0, 2.0, 4.0, 6.6, 10.0),
        "Dose amounts, positive and increasing.",
        param="doses",
        increasing=True,
        reference="trialr::stan_efftox real_doses",
        low=0.0,
        low_open=True,
        high=MAX_DOSE,
        max_len=MAX_DOSES,
    ),
    S(
        "eff_hurdle",
        "float",
        0.5,
        "Minimum acceptable efficacy rate.",
        reference="trialr::stan_efftox eff0",
        **_PROB,
    ),
    S(
        "tox_hurdle",
        "float",
        0.3,
        "Maximum acceptable toxicity rate.",
        reference="trialr::stan_efftox tox1",
        **_PROB,
    ),
    S(
        "p_e",
        "float",
        0.1,
        "Certainty required for efficacy acceptability.",
        reference="trialr::stan_efftox p_e",
        **_PROB_OPEN,
    ),
    S(
        "p_t",
        "float",
        0.1,
        "Certainty required for toxicity acceptability.",
        reference="trialr::stan_efftox p_t",
        **_PROB_OPEN,
    ),
    S(
        "hinge",
        "floats",
        (0.5, 0.65, 0.7, 0.25),
        "Hinge points eff0,tox1,eff_star,tox_star: the utility contour through (eff0, 0), "
        "(1, tox1) and (eff_star, tox_star).",
        length=4,
        reference="trialr::efftox_solve_p",
        **_PROB_OPEN,
    ),
    S(
        "priors",
        "floats",
        EFFTOX_PRIORS,
        "12 numbers: mean and sd of alpha, beta, gamma, zeta, eta, psi.",
        length=12,
        low=-1000.0,
        high=1000.0,
        flags=("--priors", "--efftox-priors"),
        reference="Thall et al. (2014); trialr::stan_efftox alpha_mean ... psi_sd",
    ),
    S(
        "cohort_size",
        "int",
        3,
        "Patients per cohort.",
        low=1,
        high=MAX_COHORT_SIZE,
        reference="trialr::efftox_simulate cohort_sizes",
    ),
    S(
        "n_patients",
        "int",
        30,
        "Sample size.",
        **_PATIENTS,
        flags=("--n-patients", "--n-max"),
        reference="trialr::efftox_simulate",
    ),
    S(
        "n_points",
        "int",
        65536,
        "Quasi-Monte Carlo points for the posterior integrals (decisions).",
        low=64,
        high=2**22,
        reference="Genz & Monahan (1998)",
    ),
    S("start_dose", "int", 1, "Starting dose level (1-based).", low=1, high=MAX_DOSES),
    S(
        "no_skipping",
        "bool",
        True,
        "Never skip an untried dose when escalating.",
        flags=("--no-skipping/--allow-skipping",),
        reference="Thall & Cook (2004)",
    ),
)

MULTI_OUTCOME = (
    S(
        "eff_standard_prior",
        "floats",
        None,
        "Beta prior a,b of the standard therapy's response rate.",
        length=2,
        required=True,
        reference="Thall, Simon & Estey (1995)",
        **_POSITIVE,
    ),
    S(
        "tox_standard_prior",
        "floats",
        None,
        "Beta prior a,b of the standard therapy's toxicity rate.",
        length=2,
        required=True,
        reference="Thall, Simon & Estey (1995)",
        **_POSITIVE,
    ),
    S(
        "eff_experimental_prior",
        "floats",
        None,
        "Beta prior a,b of the experimental response rate.",
        length=2,
        required=True,
        reference="Thall, Simon & Estey (1995)",
        **_POSITIVE,
    ),
    S(
        "tox_experimental_prior",
        "floats",
        None,
        "Beta prior a,b of the experimental toxicity rate.",
        length=2,
        required=True,
        reference="Thall, Simon & Estey (1995)",
        **_POSITIVE,
    ),
    S(
        "delta_eff",
        "float",
        0.0,
        "Improvement in response required over standard therapy.",
        reference="Thall, Simon & Estey (1995) delta_E",
        **_PROB,
    ),
    S(
        "delta_tox",
        "float",
        0.0,
        "Excess toxicity tolerated over standard therapy.",
        reference="Thall, Simon & Estey (1995) delta_T",
        **_PROB,
    ),
    S(
        "p_eff",
        "float",
        0.95,
        "Stop if Pr(theta_E < theta_S,E + delta_eff) > p_eff.",
        reference="Thall, Simon & Estey (1995) p_E",
        **_PROB_OPEN,
    ),
    S(
        "p_tox",
        "float",
        0.95,
        "Stop if Pr(theta_T > theta_S,T + delta_tox) > p_tox.",
        reference="Thall, Simon & Estey (1995) p_T",
        **_PROB_OPEN,
    ),
    S("n_min", "int", 1, "First look.", **_PATIENTS),
    S("n_max", "int", 40, "Maximum sample size.", **_PATIENTS),
)

#: Response categories a single-arm protocol can count.
RESPONSES = ("CR", "PR", "SD", "PD", "NR", "NE")

#: Settings of a single-arm protocol run by the conduct service with a response endpoint
#: (thall-simon, simon, predictive; tox-monitor counts DLTs).
PROTOCOL = (
    S(
        "responders",
        "words",
        ("CR", "PR"),
        "Responses that count as responders.",
        choices=RESPONSES,
        reference="conduct service: SingleArmProtocol",
    ),
    S(
        "endpoint_visit",
        "text",
        None,
        "The visit whose response is the endpoint, as recorded, e.g. 'Day 28'.",
        default_text="any visit",
        max_len=MAX_TEXT,
        reference="conduct service: SingleArmProtocol",
    ),
)

#: How a trial is run, as the conduct service checks it at entry: the DLT window, the
#: evaluability rule, the infusion schedule, the dose tolerance, replacement and the time zone
#: its dates are shown in. They belong to the protocol, not to the design's decision rule.
CONDUCT = (
    S(
        "dlt_window_days",
        "int",
        28,
        "Length of the DLT observation window in days (day 1 of the window is its first day).",
        low=1,
        high=365,
        reference="protocol: DLT definition",
    ),
    S(
        "dlt_window_from",
        "choice",
        "first",
        "Whether the DLT window counts from the first or the last infusion.",
        choices=("first", "last"),
        reference="protocol: DLT definition",
    ),
    S(
        "evaluable_if",
        "choice",
        "all-infusions",
        "Evaluable for DLT: received all planned infusions (all-infusions) or at least one "
        "(any-infusion) and completed the window without a DLT, or had a DLT.",
        choices=("all-infusions", "any-infusion"),
        reference="protocol: DLT-evaluable population",
    ),
    S(
        "n_infusions",
        "int",
        1,
        "Planned infusions per subject.",
        low=1,
        high=52,
        reference="protocol: treatment schedule",
    ),
    S(
        "infusion_interval_days",
        "int",
        7,
        "Days between two planned infusions (used when n_infusions > 1).",
        low=1,
        high=365,
        reference="protocol: treatment schedule",
    ),
    S(
        "dose_tolerance",
        "float",
        0.1,
        "Relative difference between the infused and the assigned dose beyond which the "
        "infusion is a dose deviation that needs a reason (0.1 = 10 %).",
        low=0.0,
        high=1.0,
        high_open=True,
        reference="protocol: dose preparation and administration",
    ),
    S(
        "replace_non_evaluable",
        "bool",
        True,
        "Whether a subject not evaluable for DLT is replaced (does not fill a cohort slot).",
        reference="protocol: replacement of subjects",
    ),
    S(
        "time_zone",
        "text",
        "UTC",
        "The trial's time zone (IANA name, e.g. Asia/Tokyo): dates are shown and study days "
        "counted in it; times are stored in UTC.",
        max_len=64,
        reference="IANA time zone database (zoneinfo)",
    ),
)


def check_conduct(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The conduct settings of ``spec``, typed, checked and with every default written in
    (a running trial keeps the protocol it was created with). Every problem, including an
    unknown time zone, is named in one ``ValueError``."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    known = {s.name: s for s in CONDUCT}
    problems = [f"{k}: not a conduct setting" for k in spec if k not in known]
    out: dict[str, Any] = {}
    for name, s in known.items():
        value = spec.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            out[name] = s.default
            continue
        try:
            out[name] = _coerce(s, value)
        except _BadValueError as exc:
            problems.append(f"{name}: {exc}")
    zone = out.get("time_zone")
    if isinstance(zone, str):
        try:
            ZoneInfo(zone.strip())
            out["time_zone"] = zone.strip()
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name no file can have
            problems.append(f"time_zone: not an IANA time zone name, got {_shown(zone)}")
    if problems:
        raise ValueError("; ".join(problems))
    return out


#: Settings per design name.
# --- backfill (BF-BOIN) ---------------------------------------------------------------------------
#: Designs that take backfill (:meth:`~earlyphase.designs.base.DoseFindingDesign.with_backfill`).
BACKFILL_DESIGNS = ("3+3", "boin")
#: Backfill's settings (Zhao et al. 2024), a group of their own: backfill wraps the escalation
#: design (without other behaviours) and its trials run in calendar time, so it is built apart
#: from the behaviours of :data:`BEHAVIOURS`. Giving ``backfill_window`` switches it on. They
#: are settings of the command line, of :func:`~earlyphase.designs.spec.build` and of a trial
#: run by the conduct service (which measures follow-up on the protocol's DLT window).
BACKFILL: tuple[Setting, ...] = (
    S(
        "backfill_window",
        "float",
        None,
        "Backfill cleared lower doses while the current cohort's DLT outcomes are pending: "
        "the DLT assessment window (follow-up and accrual use its unit).",
        param="window",
        low=0,
        low_open=True,
        high=MAX_WINDOW,
        default_text="no backfill",
        reference="Zhao et al. 2024 (BF-BOIN); R bfboin DLT.window",
    ),
    S(
        "backfill_cap",
        "int",
        12,
        "A dose closes to backfilling once this many patients (escalation and backfill) have "
        "been treated there.",
        param="cap_per_dose",
        requires="backfill_window",
        **_PATIENTS,
        reference="Zhao et al. 2024; R bfboin n.cap (give n.cap + 1)",
    ),
    S(
        "backfill_max",
        "int",
        None,
        "At most this many backfill patients in the trial.",
        param="max_backfill",
        requires="backfill_window",
        low=0,
        high=MAX_PATIENTS,
        default_text="no limit",
        reference="earlyphase Backfill max_backfill",
    ),
    S(
        "backfill_require_response",
        "bool",
        True,
        "Open a dose to backfilling only after a response has been seen there.",
        param="require_response",
        flags=("--backfill-require-response/--no-backfill-require-response",),
        requires="backfill_window",
        reference="Zhao et al. 2024 (BF-BOIN)",
    ),
    S(
        "backfill_assign",
        "choice",
        "highest",
        "Which open dose a backfilled patient gets: highest or lowest.",
        param="assign",
        choices=("highest", "lowest"),
        requires="backfill_window",
        reference="earlyphase Backfill assign",
    ),
)

SETTINGS: dict[str, tuple[Setting, ...]] = {
    "3+3": THREE_PLUS_THREE,
    "boin": BOIN_SETTINGS,
    "crm": CRM_SETTINGS,
    "mtpi2": MTPI2_SETTINGS,
    "keyboard": KEYBOARD_SETTINGS,
    "i3+3": I3PLUS3_SETTINGS,
    "rolling6": ROLLING_SIX,
    "tite-crm": TITE_CRM_SETTINGS,
    "tite-boin": TITE_BOIN_SETTINGS,
    "thall-simon": THALL_SIMON,
    "simon": SIMON,
    "predictive": PREDICTIVE,
    "tox-monitor": TOX_MONITOR,
    "efftox": EFFTOX,
    "multi-outcome": MULTI_OUTCOME,
    "bop2": BOP2_SETTINGS,
    "boin12": BOIN12_SETTINGS,
    **BEHAVIOURS,
    "backfill": BACKFILL,
    "protocol": PROTOCOL,
    "conduct": CONDUCT,
}

#: Designs, in the order they are listed to people. ``DOSE_FINDING``: one DLT outcome per
#: patient and a dose to choose; ``SINGLE_ARM``: the boundary designs the conduct service runs
#: with looks as cohorts; then BOP2 (single arm, its own outcome notation) and the designs on
#: efficacy and toxicity together.
DOSE_FINDING = (
    "3+3",
    "boin",
    "crm",
    "mtpi2",
    "keyboard",
    "i3+3",
    "rolling6",
    "tite-crm",
    "tite-boin",
)
SINGLE_ARM = ("thall-simon", "simon", "predictive", "tox-monitor")
DESIGNS = (*DOSE_FINDING, *SINGLE_ARM, "bop2", "efftox", "boin12", "multi-outcome")
#: Dose-finding designs built on ``DoseFindingDesign``, which take the behaviours of
#: :data:`BEHAVIOURS` (stop_at_n, expansion...) and its exact operating characteristics. The
#: rolling six and the time-to-event designs decide from pending patients and follow-up, which
#: the behaviours cannot see, so they take none.
WITH_BEHAVIOURS = ("3+3", "boin", "crm", "mtpi2", "keyboard", "i3+3")
#: Designs whose trials need what the conduct service does not record yet, with the reason:
#: it refuses to create such a trial rather than run it wrongly. None now: the service feeds
#: the rolling six and the time-to-event designs each subject's follow-up and pending status
#: from the dated record, BOIN12 and BOP2 the recorded responses beside the DLTs, and BOIN or
#: 3+3 with backfill where each arriving subject goes.
NOT_IN_TRIAL_SERVICE: dict[str, str] = {}

#: One line per design, for listings and help.
TITLES = {
    "3+3": "3+3 dose escalation (Storer 1989; Korn et al. 1994 with de-escalation)",
    "boin": "Bayesian optimal interval design (Liu & Yuan 2015; R BOIN)",
    "crm": "Continual reassessment method (O'Quigley et al. 1990; R dfcrm)",
    "mtpi2": "mTPI-2 interval design (Guo et al. 2017; R escalation get_mtpi2)",
    "keyboard": "Keyboard interval design (Yan, Mandrekar & Yuan 2017; R Keyboard)",
    "i3+3": "i3+3 interval design (Liu, Wang & Ji 2020)",
    "rolling6": "Rolling six: 2 to 6 patients enrolled concurrently (Skolnik et al. 2008)",
    "tite-crm": "Time-to-event CRM (Cheung & Chappell 2000; R dfcrm titecrm)",
    "tite-boin": "Time-to-event BOIN (Yuan et al. 2018; R TITEgBOIN)",
    "thall-simon": "Thall-Simon Bayesian phase IIB monitoring (Thall & Simon 1994)",
    "simon": "Simon two-stage phase II design (Simon 1989; R clinfun)",
    "predictive": "Predictive-probability phase II monitoring (Lee & Liu 2008)",
    "tox-monitor": "Continuous toxicity monitoring (Bayesian or Ivanova et al. 2005)",
    "efftox": "EffTox efficacy-toxicity trade-off dose finding (Thall & Cook 2004)",
    "multi-outcome": "Efficacy and toxicity monitoring (Thall, Simon & Estey 1995)",
    "bop2": "Bayesian optimal phase II design, BOP2 (Zhou, Lee & Yuan 2017)",
    "boin12": "BOIN12 utility-based phase I/II dose finding (Lin et al. 2020)",
}

_ALIASES = {
    "three_plus_three": "3+3",
    "3plus3": "3+3",
    "tox_monitor": "tox-monitor",
    "mtpi-2": "mtpi2",
    "mtpi_2": "mtpi2",
    "i3plus3": "i3+3",
    "rolling-six": "rolling6",
    "rolling_six": "rolling6",
    "rolling-6": "rolling6",
    "titecrm": "tite-crm",
    "tite_crm": "tite-crm",
    "titeboin": "tite-boin",
    "tite_boin": "tite-boin",
}


def design_key(name: str) -> str:
    """The registry key of a design name (case and a few spellings forgiven)."""
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in DESIGNS:
        raise ValueError(f"design: unknown design {name!r}; choose one of {list(DESIGNS)}")
    return key


def settings_for(
    design: str, behaviours: bool = True, backfill: bool = False
) -> tuple[Setting, ...]:
    """The settings of ``design`` (with the behaviours, for a design that takes them; with
    ``backfill``, backfill's settings for a design that takes backfill)."""
    own = SETTINGS[design]
    if behaviours and design in WITH_BEHAVIOURS:
        own = own + tuple(s for group in BEHAVIOURS.values() for s in group)
    if backfill and design in BACKFILL_DESIGNS:
        own = own + BACKFILL
    return own


def lookup(design: str, name: str) -> Setting:
    for s in settings_for(design):
        if s.name == name:
            return s
    raise KeyError(f"{name}: not a setting of the {design} design")


# --- checking ------------------------------------------------------------------------------


class _BadValueError(Exception):
    """One setting's problem (the reason, without the name)."""


def _shown(value: Any) -> str:
    """A value as an error message quotes it: a long one cut short, so that an error never
    echoes a whole request back."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _to_float(value: Any) -> float:
    if isinstance(value, bool) or value is None:
        raise _BadValueError(f"must be a number, got {_shown(value)}")
    try:
        out = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an integer beyond any float
        raise _BadValueError(f"must be a number, got {_shown(value)}") from None
    if not math.isfinite(out):
        raise _BadValueError(f"must be a finite number, got {_shown(value)}")
    return out


def _to_int(value: Any) -> int:
    if isinstance(value, bool) or value is None:
        raise _BadValueError(f"must be a whole number, got {_shown(value)}")
    try:
        f = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError, OverflowError):
        raise _BadValueError(f"must be a whole number, got {_shown(value)}") from None
    if not math.isfinite(f) or f != int(f):
        raise _BadValueError(f"must be a whole number, got {_shown(value)}")
    return int(f)


def _in_bounds(s: Setting, v: float) -> bool:
    if s.low is not None and (v <= s.low if s.low_open else v < s.low):
        return False
    return not (s.high is not None and (v >= s.high if s.high_open else v > s.high))


def _must(s: Setting, whole: bool) -> str:
    noun = "a whole number" if whole else "a number"
    b = s.bounds_text()
    if not b:
        return noun
    if b.startswith(("[", "(")):
        return f"{noun} in {b}"
    return f"{noun} {b}"


def coerce(s: Setting, value: Any) -> Any:
    """``value`` as the setting's type, checked against its bounds; raises ``ValueError``
    ``"name: why"`` (strings from a form or the command line are parsed)."""
    try:
        return _coerce(s, value)
    except _BadValueError as exc:
        raise ValueError(f"{s.name}: {exc}") from None


def _coerce(s: Setting, value: Any) -> Any:
    if s.type == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        # a number is not a switch: JSON 1 for true is a type error, as true for 1 is
        raise _BadValueError(f"must be true or false, got {_shown(value)}")
    if s.type == "choice":
        text = str(value).strip().lower() if isinstance(value, str) else value
        if text not in s.choices:
            raise _BadValueError(f"must be one of {', '.join(s.choices)}, got {_shown(value)}")
        return text
    if s.type == "text":
        if not isinstance(value, str):
            raise _BadValueError(f"must be text, got {_shown(value)}")
        if s.max_len is not None and len(value) > s.max_len:
            raise _BadValueError(f"at most {s.max_len} characters, got {len(value)}")
        if any(not c.isprintable() for c in value):  # NUL, control and unpaired characters
            raise _BadValueError(f"must be printable text, got {_shown(value)}")
        return value
    if s.type == "words":
        if isinstance(value, str):
            words = [w.strip() for w in value.split(",") if w.strip()]
        elif isinstance(value, list | tuple) and all(isinstance(w, str) for w in value):
            words = [w.strip() for w in value]
        else:
            raise _BadValueError(f"a list such as {format_value(s.default)}, got {_shown(value)}")
        canon = {c.upper(): c for c in s.choices}
        bad = [w for w in words if w.upper() not in canon]
        if bad or not words:
            raise _BadValueError(f"must be among {', '.join(s.choices)}, got {_shown(value)}")
        return [canon[w.upper()] for w in words]
    if s.type in ("float", "int"):
        whole = s.type == "int"
        v: float = _to_int(value) if whole else _to_float(value)
        if not _in_bounds(s, v):
            raise _BadValueError(f"must be {_must(s, whole)}, got {_shown(value)}")
        return v
    # lists
    whole = s.type == "ints"
    items: list[Any]
    if isinstance(value, str):
        items = [t for t in value.replace(" ", "").replace(";", ",").split(",") if t]
    elif isinstance(value, Iterable) and not isinstance(value, Mapping):
        items = list(value)
    else:
        raise _BadValueError(f"must be a list of numbers such as 1,2,3, got {_shown(value)}")
    try:
        out: list[float] = [_to_int(t) if whole else _to_float(t) for t in items]
    except _BadValueError:
        raise _BadValueError(f"must be comma-separated numbers, got {_shown(value)}") from None
    if not out:
        raise _BadValueError("must not be empty")
    if s.max_len is not None and len(out) > s.max_len:
        raise _BadValueError(f"at most {s.max_len} values, got {len(out)}")
    if s.length is not None and len(out) != s.length:
        raise _BadValueError(f"needs {s.length} numbers, got {len(out)}")
    outside = [v for v in out if not _in_bounds(s, v)]
    if outside:
        raise _BadValueError(
            f"every value must be {_must(s, whole)}, got {format_value(outside[0])}"
        )
    if s.increasing and any(b <= a for a, b in pairwise(out)):
        raise _BadValueError(f"must be strictly increasing, got {format_value(out)}")
    return tuple(out) if s.length == 2 else out


def check(
    design: str, spec: Mapping[str, Any], behaviours: bool = True, backfill: bool = False
) -> dict[str, Any]:
    """The settings of ``spec`` for ``design``, typed and checked.

    Keys that are not settings of the design, values of the wrong type or out of bounds,
    settings given where they do not apply (``only_with``, ``requires``) and missing
    required settings are all collected and raised together: one ``ValueError`` whose clauses
    read ``"name: why"``, joined by ``"; "`` (so the message starts with the first bad
    setting's name). ``None`` values count as not given. Returns the given settings, typed,
    plus any filled from ``from_length_of``; defaults are left to the constructors.
    """
    known = {s.name: s for s in settings_for(design, behaviours, backfill)}
    problems: list[str] = []
    given = {k: v for k, v in spec.items() if v is not None}
    for key in given:
        if key not in known:
            problems.append(f"{key}: not a setting of the {design} design")
    out: dict[str, Any] = {}
    for name, s in known.items():
        if name not in given:
            continue
        try:
            out[name] = _coerce(s, given[name])
        except _BadValueError as exc:
            problems.append(f"{name}: {exc}")
    for name, s in known.items():
        if name not in out and s.from_length_of and s.from_length_of in out:
            out[name] = len(out[s.from_length_of])
    for name in list(out):
        s = known[name]
        if s.only_with is not None:
            other, wanted = s.only_with
            actual = out.get(other, known[other].default)
            if actual != wanted:
                problems.append(
                    f"{name}: applies only with {other} = {format_value(wanted)} "
                    f"(it is {format_value(actual)})"
                )
        if s.requires is not None and s.requires not in out:
            problems.append(f"{name}: applies only together with {s.requires}")
    for name, s in known.items():
        if s.required and name not in out and not any(p.startswith(f"{name}:") for p in problems):
            problems.append(f"{name}: required by the {design} design")
    if problems:
        raise ValueError("; ".join(problems))
    return out


def with_defaults(
    design: str,
    spec: Mapping[str, Any],
    accept: Callable[[dict[str, Any]], bool] | None = None,
) -> dict[str, Any]:
    """``spec`` with the default of every setting of ``design`` that it leaves out written in
    (where the default applies: a default that would break an ``only_with`` or ``requires``
    rule, or that ``accept`` refuses, e.g. because the design then no longer builds, is left
    out). Keys that are not design settings pass through unchanged.

    A stored trial keeps the settings it was created with: its protocol must not change
    because a default changes in a later release, so the conduct service stores this."""
    key = design_key(design)
    out = {k: v for k, v in spec.items() if v is not None}
    known = {s.name for s in settings_for(key)}
    for s in SETTINGS[key]:
        if s.name in out or s.default is None or s.default_text:
            continue
        trial = {**out, s.name: s.default}
        try:
            check(key, {k: v for k, v in trial.items() if k in known})
        except ValueError:
            continue
        if accept is not None and not accept(trial):
            continue
        out = trial
    return out


def validate(design: str, **values: Any) -> dict[str, Any]:
    """Check constructor arguments against the registry: each value (None = not given) is
    typed and bounds-checked, every problem reported in one ``ValueError``. Returns the
    typed values. Cross-setting rules (phi1 below the target, n_max >= n_min...) stay with
    the constructors, which run them after this."""
    known = {s.name: s for s in SETTINGS[design]}
    problems: list[str] = []
    out: dict[str, Any] = {}
    for name, value in values.items():
        s = known[name]  # a programming error if not: the registry and the class disagree
        if value is None:
            if s.required:
                problems.append(f"{name}: required by the {design} design")
            out[name] = None
            continue
        try:
            out[name] = _coerce(s, value)
        except _BadValueError as exc:
            problems.append(f"{name}: {exc}")
    if problems:
        raise ValueError("; ".join(problems))
    return out


def describe_setting(s: Setting) -> str:
    """One line of help: what it does, its bounds, its default and its source."""
    parts = [s.help]
    b = s.bounds_text()
    if b and not s.choices:
        parts.append(f"Allowed: {b}.")
    if s.required and not s.from_length_of:
        parts.append("Required.")
    if s.reference:
        parts.append(f"({s.reference})")
    return " ".join(p for p in parts if p)
