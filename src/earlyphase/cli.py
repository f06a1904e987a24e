"""Command-line interface: ``earlyphase design|simulate|decide DESIGN``, ``demo``, ``report``,
``serve`` and ``audit``.

The design commands are generated from the settings registry
(:mod:`earlyphase.designs.settings`): one command per design, one option per setting, with its
default, bounds and source in ``--help``. Only Typer, Rich and the registry are imported at
start; NumPy, SciPy, pandas and Matplotlib are imported inside the commands that need them,
so that ``earlyphase decide`` answers in a fraction of a second
(``benchmarks/bench_cli_start.py``).
"""

from __future__ import annotations

import importlib
import inspect
import math
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperCommand, TyperGroup

from earlyphase import __version__
from earlyphase.designs.settings import (
    BACKFILL,
    BACKFILL_DESIGNS,
    DESIGNS,
    DOSE_FINDING,
    SINGLE_ARM,
    TITLES,
    WITH_BEHAVIOURS,
    Setting,
    describe_setting,
    design_key,
    format_value,
    settings_for,
)

app = typer.Typer(
    help="earlyphase: design, conduct and report small early-phase clinical trials.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"earlyphase {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """earlyphase: design, conduct and report small early-phase clinical trials."""


def _pct(value: float, digits: int = 1) -> str:
    return "NA" if value is None or math.isnan(value) else f"{100 * value:.{digits}f}%"


def _days(value: float) -> str:
    return "NA" if math.isnan(value) else f"{value:g}"


@app.command()
def demo() -> None:
    """Run the most complete worked example: the reference trials' published analyses."""
    from earlyphase.demo import IPS_HISTORICAL_DAY56_SURVIVAL, ips_survival_summary

    console = Console(width=120)
    s = ips_survival_summary()
    console.rule("[bold]HLC-001: UC-MSC in steroid-refractory idiopathic pneumonia syndrome")
    console.print(
        f"Single-arm phase II, n = {len(s.patients)}; primary endpoint survival at day 56 "
        "(Thall-Simon design against 24.5% on standard therapy)."
    )
    pts = Table(title="Patients (Table 3 of the report)", show_lines=False)
    for col in ("Patient", "Age", "Malignancy", "Days HSCT to MSC", "Outcome", "Day"):
        pts.add_column(col, justify="right" if col in ("Age", "Day", "Patient") else "left")
    for _, r in s.patients.iterrows():
        status = f"died ({r['outcome']})" if r["died"] == 1 else "alive"
        pts.add_row(
            str(r["subject"]),
            str(r["age"]),
            str(r["malignancy"]),
            str(r["days_hsct_to_treatment"]),
            status,
            str(r["os_days"]),
        )
    console.print(pts)

    tab = Table(title="Overall survival at landmark days")
    for col in (
        "Day",
        "Alive / known",
        "Rate",
        "95% CI (clopper-pearson)",
        "95% HPD (Beta(1,1) prior)",
        "KM S(t)",
        "95% CI (KM, log)",
        "At risk",
    ):
        tab.add_column(col, justify="right")
    for _, r in s.landmarks.iterrows():
        tab.add_row(
            f"{r['day']:g}",
            f"{int(r['n_alive'])}/{int(r['n_known'])}",
            _pct(r["proportion"]),
            f"{_pct(r['ci_lower'])} - {_pct(r['ci_upper'])}",
            f"{_pct(r['hpd_lower'])} - {_pct(r['hpd_upper'])}",
            _pct(r["km_survival"]),
            f"{_pct(r['km_lower'])} - {_pct(r['km_upper'])}",
            str(int(r["km_n_risk"])),
        )
    console.print(tab)
    med, lo, hi = s.median
    console.print(
        f"Median overall survival (Kaplan-Meier): {_days(med)} days "
        f"(95% CI {_days(lo)} - {_days(hi)}, log; NA = not reached)."
    )
    console.print(
        f"Posterior P(day-56 survival > {IPS_HISTORICAL_DAY56_SURVIVAL:.1%} | "
        f"{s.day56_alive}/{s.day56_known} alive, uniform prior) = "
        f"{s.prob_day56_above_historical:.4f}."
    )
    console.print(
        "Published: day-56 survival 71.4% (5/7; 95% CI 29.0%-96.3%), the same at day 100."
    )
    _demo_ips_design(console)
    _demo_gvhd(console)
    _demo_reports(console)
    _demo_protocols(console)


def _demo_reports(console: Console) -> None:
    from earlyphase.demo import write_reference_reports

    console.print()
    console.rule("[bold]Reports of the four reference trials")
    for name, path in write_reference_reports(Path("reports")).items():
        console.print(f"{name}: {path}")


def _demo_protocols(console: Console) -> None:
    from earlyphase.protocol import write_demo_protocols

    console.print()
    console.rule("[bold]Protocol sections: GVHD 3+3 with expansion, and a BOIN design")
    for name, path in write_demo_protocols(Path("protocols")).items():
        console.print(f"{name}: {path}")


def _demo_ips_design(console: Console) -> None:
    from earlyphase.demo import ips_design_summary

    d = ips_design_summary()
    console.print()
    console.print(f"Design: {d.description}.", highlight=False)
    tab = Table(title="Minimum survivors at day 56 to declare efficacy (Table 1 reproduced)")
    tab.add_column("Enrolled")
    for n in d.table["n"]:
        tab.add_column(str(int(n)), justify="right")
    tab.add_row("Minimum", *[str(int(v)) for v in d.table["upper_stop_if_ge"]])
    console.print(tab)
    oc = Table(title="Exact operating characteristics (continuous monitoring, n = 6..20)")
    for col in ("True day-56 survival", "P(declare efficacy)", "Mean patients"):
        oc.add_column(col, justify="right")
    for _, r in d.operating_characteristics.iterrows():
        oc.add_row(f"{r['p']:.3f}", f"{100 * r['prob_upper']:.1f}%", f"{r['expected_n']:.1f}")
    console.print(oc)


def _demo_gvhd(console: Console) -> None:
    from earlyphase.demo import gvhd_design_summary

    g = gvhd_design_summary()
    console.print()
    console.rule("[bold]hUC-MSC in steroid-refractory acute GVHD: phase Ib 3+3, then expansion")
    console.print(f"Design: {g.description}.")
    rules = Table(title="3+3 decision rules")
    for col in g.decision_table.columns:
        rules.add_column(str(col))
    for _, r in g.decision_table.iterrows():
        rules.add_row(*[str(v) for v in r.tolist()])
    console.print(rules)
    for name, frame in g.scenarios.items():
        tab = Table(title=f"Exact operating characteristics: {name}")
        for col in ("Dose", "True DLT rate", "P(RP2D)", "Mean patients", "Mean DLTs"):
            tab.add_column(col, justify="right")
        for _, r in frame.iterrows():
            tab.add_row(
                str(r["dose"]),
                "" if math.isnan(r["true_tox"]) else f"{r['true_tox']:.2f}",
                f"{100 * r['prob_selected']:.1f}%",
                "" if math.isnan(r["mean_patients"]) else f"{r['mean_patients']:.2f}",
                "" if math.isnan(r["mean_dlt"]) else f"{r['mean_dlt']:.2f}",
            )
        console.print(tab)
        s = g.summaries[name]
        console.print(
            f"  E[N] = {s['mean_total_n']:.2f} (range {s['min_total_n']}-{s['max_total_n']}); "
            f"P(no RP2D) = {100 * float(s['prob_no_selection']):.1f}%"  # type: ignore[arg-type]
        )


# --- designs: output --------------------------------------------------------------------------

#: Readable headings and formats of the columns the design commands print (the column's own
#: name, which --csv and --json use, is shown under its heading).
_COLUMNS: dict[str, tuple[str, str]] = {
    "dose": ("Dose", "text"),
    "true_tox": ("True DLT rate", "rate"),
    "true_eff": ("True efficacy rate", "rate"),
    "prob_selected": ("P(selected)", "pct"),
    "mean_patients": ("Mean patients", "mean"),
    "mean_dlt": ("Mean DLTs", "mean"),
    "mean_eff": ("Mean responses", "mean"),
    "mc_se": ("Monte Carlo SE", "pct2"),
    "pct_patients": ("% of patients", "mean"),
    "prob_go": ("P(go)", "pct"),
    "prob_stop_futility": ("P(stop: futility)", "pct"),
    "prob_stop_early": ("P(stop early)", "pct"),
    "p_response": ("True response rate", "rate"),
    "p_toxicity": ("True toxicity rate", "rate"),
    "p": ("True rate", "rate"),
    "p_eff": ("True response rate", "rate"),
    "p_tox": ("True toxicity rate", "rate"),
    "prob_upper": ("P(upper boundary)", "pct"),
    "prob_lower": ("P(lower boundary)", "pct"),
    "prob_upper_before_final": ("P(upper, early)", "pct"),
    "prob_lower_before_final": ("P(lower, early)", "pct"),
    "prob_no_crossing": ("P(no boundary)", "pct"),
    "mc_se_upper": ("MC SE upper", "pct2"),
    "mc_se_lower": ("MC SE lower", "pct2"),
    "prob_stop_toxicity": ("P(stop: toxicity)", "pct"),
    "prob_stop_efficacy": ("P(stop: efficacy)", "pct"),
    "prob_no_stop": ("P(no stop)", "pct"),
    "expected_n": ("E[N]", "mean"),
    "probability": ("Probability", "pct"),
    "n": ("Patients", "text"),
    "lower_stop_if_le": ("Stop low if events <=", "text"),
    "upper_stop_if_ge": ("Stop high if events >=", "text"),
    "escalate_if_dlt_le": ("Escalate if DLTs <=", "text"),
    "deescalate_if_dlt_ge": ("De-escalate if DLTs >=", "text"),
    "eliminate_if_dlt_ge": ("Eliminate if DLTs >=", "text"),
    "stop_trial_if_dose1_dlt_ge": ("Stop trial if dose-1 DLTs >=", "text"),
    "eff_stop_if_le": ("Stop if responses <=", "text"),
    "tox_stop_if_ge": ("Stop if toxicities >=", "text"),
    "EN0": ("E[N | p0]", "mean"),
    "PET0": ("P(early stop | p0)", "pct"),
}


def _missing(v: Any) -> bool:
    if v is None:
        return True
    try:
        return bool(v != v)  # NaN
    except TypeError:  # pandas' NA refuses to be a truth value
        return True


def _cell(column: str, v: Any) -> str:
    if _missing(v):
        return ""
    style = _COLUMNS.get(column, ("", "auto"))[1]
    if isinstance(v, float) and style == "text" and v.is_integer():
        return str(int(v))  # a count in a column that also holds blanks
    if isinstance(v, str) or style == "text":
        return str(v)
    if style == "pct":
        return _pct(float(v))
    if style == "pct2":
        return _pct(float(v), 2)
    if style == "rate":
        return f"{float(v):.3g}"
    if style == "mean":
        return f"{float(v):.2f}"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _print_frame(frame: Any, title: str, caption: str = "") -> None:
    """A table with readable headings (the column's name underneath) and percentages."""
    table = Table(title=title, caption=caption or None, title_justify="left")
    for col in frame.columns:
        heading = _COLUMNS.get(str(col), (str(col), ""))[0]
        label = heading if heading == str(col) else f"{heading}\n[dim]{col}[/dim]"
        table.add_column(
            label,
            justify="left"
            if str(col) in ("dose", "design", "path", "state", "decision")
            else "right",
        )
    for row in frame.itertuples(index=False):
        table.add_row(*[_cell(str(c), v) for c, v in zip(frame.columns, row, strict=True)])
    Console(width=160).print(table)


def _emit(frame: Any, title: str, as_json: bool, as_csv: bool, caption: str = "") -> None:
    """The frame as JSON records, CSV, or a table."""
    if as_json:
        typer.echo(frame.to_json(orient="records"))
    elif as_csv:
        typer.echo(frame.to_csv(index=False), nl=False)
    else:
        _print_frame(frame, title, caption)


def _say(text: str) -> None:
    Console(width=160).print(text, highlight=False, markup=False)


@contextmanager
def _progress(label: str, total: float | None, quiet: bool) -> Iterator[Callable[[float], None]]:
    """A Rich progress bar on stderr (a spinner when ``total`` is None), only for a person at
    a terminal: never in --json or --csv output, never in a pipe."""
    err = Console(stderr=True)
    if quiet or not err.is_terminal:
        yield lambda _done: None
        return
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done: bar.update(task, completed=done)


# --- designs: options from the settings registry ----------------------------------------------


def _floats(text: str | None, field: str) -> list[float] | None:
    if text is None:
        return None
    try:
        return [float(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        raise ValueError(f"{field}: must be comma-separated numbers, got {text!r}") from None


def _fail(message: str, code: int = 2) -> typer.Exit:
    Console(stderr=True, soft_wrap=True).print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code=code)


_PY_TYPES: dict[str, Any] = {"float": float, "int": int, "bool": bool}


def _setting_parameter(s: Setting) -> inspect.Parameter:
    """A Typer option for one setting: its spellings, type, default (shown in --help) and help
    from the registry."""
    dash = "--" + s.name.replace("_", "-")
    flags = s.flags or (dash,)
    py = _PY_TYPES.get(s.type, str)
    default: Any
    if s.type == "bool":
        default = bool(s.default)
        annotation: Any = bool
    else:
        default = (
            None
            if s.default is None
            else (s.default if s.type in ("float", "int") else format_value(s.default))
        )
        annotation = py | None
    help_text = describe_setting(s)
    if s.choices and s.type == "choice":
        help_text += f" One of: {', '.join(s.choices)}."
    show: bool | str = True
    if s.default_text:
        show = s.default_text
    elif s.default is None or s.default == "":
        show = False
    option = typer.Option(default, *flags, help=help_text, show_default=show)
    return inspect.Parameter(
        s.name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=annotation
    )


def _given(ctx: typer.Context, name: str) -> bool:
    """Whether the person typed the option (a default is left to the design)."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")


#: Designs deciding while patients are pending, whose dose paths can show them (Yuan et al.
#: 2018; Cheung & Chappell 2000; Skolnik et al. 2008).
_PENDING_PATH_DESIGNS = ("tite-crm", "tite-boin", "rolling6")
_JSON = typer.Option(False, "--json", help="Machine-readable JSON output.")
_CSV = typer.Option(False, "--csv", help="CSV output.")


def _common(kind: str, design: str) -> list[tuple[str, Any, Any]]:
    """The options of a command besides the design's settings: (name, type, Option)."""
    out: list[tuple[str, Any, Any]] = []
    if kind == "design":
        if design in _BOUNDARY_DESIGNS:
            out.append(
                (
                    "full",
                    bool,
                    typer.Option(False, "--full", help="Every n, not only cohort multiples."),
                )
            )
        if design == "crm":  # the one design tabulated by its dose paths
            out.append(
                (
                    "depth",
                    int,
                    typer.Option(
                        2,
                        "--depth",
                        help="Cohorts of dose paths shown (CRM's rule has no closed table).",
                        min=1,
                        max=6,
                    ),
                )
            )
        if design in _PENDING_PATH_DESIGNS:
            out.append(
                (
                    "paths",
                    int | None,
                    typer.Option(
                        None,
                        "--paths",
                        help="Show the dose paths of the next N cohorts instead of the "
                        "protocol's table (with --pending-follow-up: cohorts arriving while "
                        "earlier patients are pending).",
                        min=1,
                        max=4,
                    ),
                )
            )
            out.append(
                (
                    "pending_follow_up",
                    float | None,
                    typer.Option(
                        None,
                        "--pending-follow-up",
                        help="With --paths: a new cohort arrives every this fraction of the DLT "
                        "window, in (0, 1), so earlier patients may still be pending.",
                    ),
                )
            )
    elif kind == "simulate":
        truth_help = {
            "efftox": "True toxicity rates per dose, e.g. 0.05,0.1,0.15,0.3,0.5.",
            "boin12": "True toxicity rates per dose, e.g. 0.05,0.1,0.2,0.35,0.5 "
            "(with --truth-eff).",
            "multi-outcome": "True toxicity rate of each scenario, e.g. 0.1,0.3 "
            "(with --truth-eff).",
            "bop2": "True response rates, one scenario each, e.g. 0.2,0.4; with a joint null, "
            "four joint probabilities per scenario (response and toxicity, response only, "
            "toxicity only, neither), scenarios separated by ';'.",
        }.get(
            design,
            "True DLT rates per dose, e.g. 0.05,0.1,0.2,0.3,0.5."
            if design in DOSE_FINDING
            else "True event rates, one scenario each, e.g. 0.1,0.3.",
        )
        out.append(("truth", str, typer.Option(..., "--truth", help=truth_help)))
        if design in ("efftox", "boin12", "multi-outcome", *BACKFILL_DESIGNS):
            out.append(
                (
                    "truth_eff",
                    str | None,
                    typer.Option(
                        None,
                        "--truth-eff",
                        help="True efficacy (response) rates, paired with --truth"
                        + (
                            " (with --backfill-window: the response rates that open doses to "
                            "backfilling; default: every patient responds)."
                            if design in BACKFILL_DESIGNS
                            else "."
                        ),
                    ),
                )
            )
        if design == "efftox":
            out.append(
                (
                    "psi",
                    float,
                    typer.Option(
                        0.0,
                        "--psi",
                        help="Association of efficacy and toxicity (Gumbel copula; 0 independent).",
                    ),
                )
            )
        sims_default = _SIMULATED_ONLY.get(design)
        if sims_default is None or design in _EXACT_ON_REQUEST:
            exact_help = (
                "Exact operating characteristics (the default)."
                if sims_default is None
                else "Exact operating characteristics instead of simulated ones (small trials: "
                "refused, naming the size, when the trial's states are too many)."
            )
            out.append(("exact", bool, typer.Option(False, "--exact", help=exact_help)))
        if design != "bop2":  # BOP2's operating characteristics are exact only
            sims_help = (
                "Simulate this many trials instead."
                if sims_default is None
                else f"Trials simulated (default {sims_default:,})."
                if design in _EXACT_ON_REQUEST
                else "Trials simulated (this design has no exact operating characteristics)."
            )
            # a design exact on request leaves --sims unset so that --exact alone is not a
            # conflict; its handler fills in the default
            shown = None if design in _EXACT_ON_REQUEST else sims_default
            out.append(
                (
                    "sims",
                    int | None,
                    typer.Option(shown, "--sims", help=sims_help, min=1),
                )
            )
        out.append(
            (
                "seed",
                int | None,
                typer.Option(
                    None, "--seed", help="Random seed (the same patients for every design)."
                ),
            )
        )
        if design in WITH_BEHAVIOURS or design in SINGLE_ARM:
            out.append(
                ("plot", Path | None, typer.Option(None, "--plot", help="Write a figure (PNG)."))
            )
        out += _timing_options(design)
    elif kind == "protocol":
        out.append(
            (
                "output",
                Path,
                typer.Option(
                    ...,
                    "--output",
                    "-o",
                    help="The file to write: .docx (Word), .html or .md (with a PNG beside it).",
                ),
            )
        )
        out.append(
            (
                "scenarios",
                Path | None,
                typer.Option(
                    None,
                    "--scenarios",
                    help="True-rate scenarios for the operating characteristics (CSV with a "
                    "scenario column and dose1..doseK; YAML with PyYAML); default: a standard set.",
                ),
            )
        )
        out.append(("title", str | None, typer.Option(None, "--title", help="Section title.")))
        if design in DOSE_FINDING:
            out.append(
                (
                    "sims",
                    int | None,
                    typer.Option(
                        None,
                        "--sims",
                        help="Simulate this many trials per scenario instead of exact results.",
                        min=1,
                    ),
                )
            )
        return out
    else:  # decide
        hint = {
            "efftox": "Outcomes so far: dose then N/E/T/B per patient, e.g. '1NNE 2EBN'.",
            "boin12": "Outcomes so far: dose then N/E/T/B per patient (N neither, E efficacy "
            "only, T toxicity only, B both), e.g. '1NEN 2EBT'.",
            "multi-outcome": "Outcomes so far as N/E/T/B letters ('1NETN'), or counts "
            "'x_eff,x_tox/n'.",
            "rolling6": "Patients so far in order of enrolment: dose then T (DLT), N (window "
            "completed without DLT) or P (pending) per patient, e.g. '1NNN 2TNP'.",
            "tite-crm": _TITE_HINT,
            "tite-boin": _TITE_HINT,
            "bop2": "Outcomes so far: R (response) or N per patient, e.g. 'RNNRN'; with a joint "
            "null B (response and toxicity), R, T (toxicity only), N; or counts 'x/n' "
            "(responses) or 'x,y/n' (responses, toxicities).",
        }.get(
            design,
            "Outcomes so far, e.g. '1NNN 2NTN' (T = DLT)."
            if design in DOSE_FINDING
            else "Outcomes so far as letters (N = no event), e.g. '1NRNN', or 'x/n'.",
        )
        out.append(("outcomes", str, typer.Option("", "--outcomes", help=hint)))
        if design in ("tite-crm", "tite-boin", *BACKFILL_DESIGNS):
            out.append(
                (
                    "history",
                    Path | None,
                    typer.Option(
                        None,
                        "--history",
                        help="CSV of the patients so far, in order of enrolment, with the "
                        "columns dose, dlt (0/1) and follow_up (time followed, or time to the "
                        "DLT); instead of --outcomes."
                        + (
                            " With --backfill-window: also backfill (0/1, a backfill patient) "
                            "and response (0/1, a response seen)."
                            if design in BACKFILL_DESIGNS
                            else ""
                        ),
                    ),
                )
            )
    out.append(("as_json", bool, _JSON))
    out.append(("as_csv", bool, _CSV))
    return out


#: Designs whose table has a row per n and a --full variant (every n).
_BOUNDARY_DESIGNS = ("boin", "mtpi2", "keyboard", "i3+3")
#: Designs simulated by default whose exact operating characteristics may be asked for.
_EXACT_ON_REQUEST = ("boin12",)
#: Designs whose operating characteristics are simulated by default, with the default trials.
_SIMULATED_ONLY = {
    "efftox": 1000,
    "boin12": 1000,
    "rolling6": 2000,
    "tite-crm": 1000,
    "tite-boin": 2000,
}
_TITE_HINT = (
    "Patients so far: dose then one letter per patient, T (DLT) or N (no DLT), each followed "
    "by its follow-up time in brackets when it is short of the window (for T, the time to the "
    "DLT); a bare letter has completed the window. E.g. '1NNN 2NT(12)N(5)': at dose 2 one "
    "patient completed, one had a DLT at 12, one is pending after 5. Or give --history."
)


def _timing_options(design: str) -> list[tuple[str, Any, Any]]:
    """The calendar-time options of the simulations of the rolling six and the TITE designs."""
    if design == "rolling6":
        return [
            (
                "accrual_rate",
                float,
                typer.Option(
                    1.0 / 7.0,
                    "--accrual-rate",
                    help="Patients arriving per unit of time (Poisson).",
                    min=1e-6,
                    max=1e6,
                ),
            ),
            (
                "dlt_window",
                float,
                typer.Option(
                    28.0,
                    "--dlt-window",
                    help="Length of each patient's DLT window.",
                    min=1e-6,
                    max=1e4,
                ),
            ),
        ]
    if design not in ("tite-crm", "tite-boin", *BACKFILL_DESIGNS):
        return []
    # backfill (a BOIN or 3+3 with --backfill-window) takes the TITE designs' options; there
    # they default to "not given", so that one given without backfill is refused, not ignored
    backfill = design in BACKFILL_DESIGNS
    with_bf = " (with --backfill-window; default 3)" if backfill else ""
    out: list[tuple[str, Any, Any]] = [
        (
            "accrual_rate",
            float | None if backfill else float,
            typer.Option(
                None if backfill else 1.0 if design == "tite-crm" else 2.0,
                "--accrual-rate",
                help=f"Patients arriving per DLT window, on average{with_bf}.",
                min=1e-6,
                max=1e6,
            ),
        ),
        (
            "accrual",
            str | None if backfill else str,
            typer.Option(
                None if backfill else "poisson",
                "--accrual",
                help="Arrivals: poisson (exponential gaps), fixed gaps"
                + (
                    ", or uniform gaps (with --backfill-window; default poisson)."
                    if backfill
                    else "."
                ),
            ),
        ),
    ]
    if design != "tite-crm":
        out += [
            (
                "time_to_dlt",
                str | None if backfill else str,
                typer.Option(
                    None if backfill else "uniform",
                    "--time-to-dlt",
                    help="Time to DLT within the window: uniform or weibull (late onset)"
                    + (" (with --backfill-window; default weibull)." if backfill else "."),
                ),
            ),
            (
                "late_fraction",
                float | None if backfill else float,
                typer.Option(
                    None if backfill else 0.5,
                    "--late-fraction",
                    help="With weibull, the fraction of DLTs in the second half of the window"
                    + (" (default 0.5)." if backfill else "."),
                    min=0.01,
                    max=0.99,
                ),
            ),
        ]
    return out


def _make_command(kind: str, design: str) -> Callable[..., None]:
    """The ``earlyphase KIND DESIGN`` command, its options generated from the registry."""
    # backfill is built by the design, simulate and decide commands, not by the protocol writer
    settings = [s for s in settings_for(design, backfill=kind != "protocol")]
    common = _common(kind, design)

    def command(ctx: typer.Context, **kw: Any) -> None:
        spec = {s.name: kw[s.name] for s in settings if _given(ctx, s.name)}
        opts = {name: kw[name] for name, _, _ in common}
        try:
            _HANDLERS[kind](design, spec, opts)
        except ValueError as exc:
            raise _fail(str(exc)) from None

    params = [
        inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context)
    ]
    params += [_setting_parameter(s) for s in settings]
    params += [
        inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=o, annotation=t)
        for n, t, o in common
    ]
    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params} | {"return": None}
    command.__name__ = f"{kind}_{design}".replace("+", "p").replace("-", "_")
    command.__doc__ = f"{TITLES[design]}.\n\n{_KIND_HELP[kind]}"
    return command


_KIND_HELP = {
    "design": "Prints the design in words and the table its protocol prints.",
    "simulate": "Prints the operating characteristics under --truth (exact, or simulated with "
    "--sims).",
    "decide": "Prints what to do after the outcomes so far.",
    "protocol": "Writes the statistical section of the protocol: the rules in prose, the "
    "decision table, the flowchart, stopping rules, priors, operating characteristics over "
    "the scenarios and the references.",
}


# --- designs: the three commands ---------------------------------------------------------------

_TABLE_TITLES = {
    "3+3": "3+3 rules",
    "boin": "BOIN boundaries (DLTs among patients at the current dose)",
    "crm": "CRM dose paths",
    "mtpi2": "mTPI-2 boundaries (DLTs among patients at the current dose)",
    "keyboard": "Keyboard boundaries (DLTs among patients at the current dose)",
    "i3+3": "i3+3 boundaries (DLTs among patients at the current dose)",
    "rolling6": "Rolling six: the decision for each state of the current dose",
    "tite-crm": "TITE-CRM rules",
    "tite-boin": "TITE-BOIN decisions with pending patients (STFT: standardised follow-up)",
    "bop2": "BOP2 stopping boundaries per look",
    "boin12": "BOIN12 boundaries and utilities",
}


def _design_handler(design: str, spec: dict[str, Any], opts: dict[str, Any]) -> None:
    from earlyphase.designs.spec import build, decision_rules, simon_admissible

    as_json, as_csv = opts["as_json"], opts["as_csv"]
    quiet = as_json or as_csv
    if design == "simon" and spec.get("kind") == "admissible" and "q" not in spec:
        frame = simon_admissible(spec)
        caption = (
            "Each design minimises q n + (1 - q) E[N | p0] for qLo <= q <= qHi "
            "(Jung et al. 2004); pick one with --q."
        )
        _emit(
            frame,
            "Simon two-stage: minimax, admissible and optimal designs",
            as_json,
            as_csv,
            caption,
        )
        return
    d = build(design, spec)
    if opts.get("pending_follow_up") is not None and opts.get("paths") is None:
        raise ValueError("pending-follow-up: applies only with --paths N")
    if opts.get("paths") is not None:
        n, g = opts["paths"], opts.get("pending_follow_up")
        if g is not None and not 0 < g < 1:
            raise ValueError(
                f"pending-follow-up: a fraction of the DLT window in (0, 1), got {g:g}"
            )
        with _progress("enumerating the dose paths", None, quiet):
            paths: Any = d.dose_paths  # the designs of _PENDING_PATH_DESIGNS take g
            frame = paths(n, pending_follow_up=g)
        if not quiet:
            _say(f"Design: {_description(d)}.")
        when = (
            f", a cohort every {g:g} of the DLT window (P: pending)"
            if g is not None
            else ", each cohort's outcomes known before the next"
        )
        _emit(frame, f"Dose paths of the next {n} cohorts{when}", as_json, as_csv)
        return
    with _progress("computing the decision table", None, quiet):
        if design in DOSE_FINDING:
            if design in _BOUNDARY_DESIGNS and design != "boin":
                base: Any = d
                while hasattr(base, "parent"):  # the rule under any behaviours
                    base = base.parent
                frame = base.protocol_table(full=opts.get("full", False))
            else:
                frame = decision_rules(d, depth=opts.get("depth", 2), full=opts.get("full", False))
        else:
            frame = d.protocol_table()
    if not quiet:
        _say(f"Design: {_description(d)}.")
    title = _TABLE_TITLES.get(design, "Stopping boundaries per look")
    if design == "crm":
        title = f"CRM dose paths of the next {opts.get('depth', 2)} cohorts"
    _emit(frame, title, as_json, as_csv)


def _description(d: Any) -> str:
    """The design in words (a toxicity monitor's rule first, as its boundaries follow)."""
    rule = getattr(d, "description", "")
    return f"{rule}; {d.describe()}" if isinstance(rule, str) and rule else str(d.describe())


def _simulate_handler(design: str, spec: dict[str, Any], opts: dict[str, Any]) -> None:
    text = opts["truth"].replace(";", ",") if design == "bop2" else opts["truth"]
    truth = _floats(text, "truth") or []  # BOP2's joint scenarios are regrouped later
    if not truth:
        raise ValueError("truth: give the true rates, e.g. --truth 0.05,0.1,0.2")
    if design in BACKFILL_DESIGNS:
        if _wants_backfill(design, spec):
            _simulate_backfill(design, spec, opts, truth)
            return
        for name in ("truth_eff", *_BACKFILL_TIMING):
            if opts.get(name) is not None:
                flag = name.replace("_", "-")
                raise ValueError(f"{flag}: applies only with --backfill-window (backfill)")
    if opts.get("exact") and opts.get("sims") is not None:
        raise ValueError("sims: choose --exact or --sims N, not both")
    simulated = opts.get("sims") is not None or (
        design in _EXACT_ON_REQUEST and not opts.get("exact")
    )
    if opts.get("seed") is not None and not simulated:
        raise ValueError("seed: applies only to simulations (--sims N); exact results have none")
    if design in WITH_BEHAVIOURS:
        _simulate_dose_finding(design, spec, opts, truth)
    elif design in DOSE_FINDING:
        _simulate_timed(design, spec, opts, truth)
    elif design in ("efftox", "boin12", "multi-outcome"):
        _simulate_two_outcomes(design, spec, opts, truth)
    else:
        _simulate_single_arm(design, spec, opts, truth)


def _wants_backfill(design: str, spec: dict[str, Any]) -> bool:
    """Whether any backfill setting was given (built, or refused, by ``build_backfill``)."""
    return design in BACKFILL_DESIGNS and any(spec.get(s.name) is not None for s in BACKFILL)


#: The calendar-time options a backfill simulation takes (those of the TITE designs).
_BACKFILL_TIMING = ("accrual_rate", "accrual", "time_to_dlt", "late_fraction")


def _simulate_backfill(
    design: str, spec: dict[str, Any], opts: dict[str, Any], truth: list[float]
) -> None:
    """A BOIN or 3+3 with backfill (BF-BOIN): simulated trials in calendar time."""
    from earlyphase.designs.spec import build_backfill

    as_json, as_csv, seed = opts["as_json"], opts["as_csv"], opts["seed"]
    if opts.get("exact"):
        raise ValueError("exact: backfill's operating characteristics are simulated (--sims N)")
    if opts.get("plot") is not None:
        raise ValueError("plot: no figure is drawn for backfill designs")
    sims = opts.get("sims") or 2000
    if "n_doses" not in spec and "dose_values" not in spec:
        spec["n_doses"] = len(truth)  # one true rate per dose
    d: Any = build_backfill(design, spec)
    timing = {k: opts[k] for k in _BACKFILL_TIMING if opts.get(k) is not None}
    response = _floats(opts["truth_eff"], "truth-eff") if opts.get("truth_eff") else None
    with _progress(f"simulating {sims:,} trials", None, as_json or as_csv):
        oc = d.operating_characteristics(truth, n_sims=sims, seed=seed, response=response, **timing)
    _emit_dose_finding_oc(d, oc, as_json, as_csv)


def _simulate_dose_finding(
    design: str, spec: dict[str, Any], opts: dict[str, Any], truth: list[float]
) -> None:
    import json

    from earlyphase.designs.spec import build_design

    as_json, as_csv, sims, seed = opts["as_json"], opts["as_csv"], opts["sims"], opts["seed"]
    quiet = as_json or as_csv
    if "n_doses" not in spec and "dose_values" not in spec and design != "crm":
        spec["n_doses"] = len(truth)  # one true rate per dose
    d = build_design(design, spec)
    if sims is None:
        with _progress("exact operating characteristics", None, quiet):
            oc = d.operating_characteristics(truth, method="exact")
    else:
        from earlyphase.engine.monte_carlo import simulate_oc
        from earlyphase.engine.states import check_truth

        p = check_truth(truth, d.n_doses)
        with _progress(f"simulating {sims:,} trials", sims, quiet) as tick:
            oc = simulate_oc(d, p, n_sims=sims, seed=seed, progress=lambda done, _n: tick(done))
    if opts["plot"] is not None:
        from earlyphase.figures import plot_design_summary

        plot_design_summary(oc, d.dose_paths(3 if d.cohort_size > 1 else 4), opts["plot"])
    if as_json:
        typer.echo(json.dumps(oc.to_dict(), indent=2))
        return
    if as_csv:
        typer.echo(oc.table().to_csv(index=False), nl=False)
        return
    _say(f"Design: {d.describe()}.")
    how = "exact" if oc.method == "exact" else f"{oc.n_sims:,} simulated trials"
    _print_frame(oc.table(), f"Operating characteristics ({how})")
    s = oc.summary()
    over = (
        ""
        if s["prob_overdose_60"] is None
        else f"; P(>60% of patients above target) = {_pct(s['prob_overdose_60'])}"
    )
    _say(
        f"P(no dose selected) = {_pct(s['prob_no_selection'])}; E[N] = {s['mean_total_n']:.2f} "
        f"(SD {s['sd_total_n']:.2f}, range {s['min_total_n']}-{s['max_total_n']}); "
        f"E[DLTs] = {s['mean_total_dlt']:.2f}{over}"
    )
    if opts["plot"] is not None:
        _say(f"figure written to {opts['plot']}")


def _simulate_single_arm(
    design: str, spec: dict[str, Any], opts: dict[str, Any], truth: list[float]
) -> None:
    from earlyphase.designs.spec import build_phase2

    as_json, as_csv, seed = opts["as_json"], opts["as_csv"], opts["seed"]
    sims = opts.get("sims")
    quiet = as_json or as_csv
    method = "exact" if sims is None else "simulate"
    if design == "bop2":
        _simulate_bop2(spec, opts, truth)
        return
    if design == "simon" and spec.get("kind") == "admissible" and "q" not in spec:
        frame = _simon_admissible_oc(spec, truth, method, sims, seed, quiet)
        _emit(frame, "Simon two-stage designs: operating characteristics", as_json, as_csv)
        return
    d = build_phase2(design, spec)
    with _progress("operating characteristics", None, quiet):
        oc = d.operating_characteristics(truth, method=method, n_sims=sims or 10_000, seed=seed)
    if opts.get("plot") is not None:
        from earlyphase.figures.boundaries import plot_boundaries

        plot_boundaries(d, opts["plot"], title=TITLES[design])
    if not quiet:
        _say(f"Design: {_description(d)}.")
    how = "exact" if method == "exact" else f"{sims:,} simulated trials per rate"
    _emit(oc.table(), f"Operating characteristics ({how})", as_json, as_csv)
    if opts.get("plot") is not None and not quiet:
        _say(f"figure written to {opts['plot']}")


def _simon_admissible_oc(
    spec: dict[str, Any],
    truth: list[float],
    method: str,
    sims: int | None,
    seed: int | None,
    quiet: bool,
) -> Any:
    """Operating characteristics of every admissible Simon design, one block per design."""
    import pandas as pd

    from earlyphase.designs.simon import SimonTwoStage
    from earlyphase.designs.spec import simon_admissible

    table = simon_admissible(spec)
    frames = []
    with _progress("admissible designs", len(table), quiet) as tick:
        for i, r in enumerate(table.to_dict(orient="records")):
            r1, n1, r_, n = (int(r[c]) for c in ("r1", "n1", "r", "n"))
            d = SimonTwoStage(spec["p0"], spec["p1"], r1, n1, r_, n)
            oc = d.operating_characteristics(truth, method=method, n_sims=sims or 10_000, seed=seed)
            f = oc.table()
            f.insert(0, "design", f"{r['design']} {r1}/{n1}, {r_}/{n}")
            frames.append(f)
            tick(i + 1)
    return pd.concat(frames, ignore_index=True)


def _simulate_two_outcomes(
    design: str, spec: dict[str, Any], opts: dict[str, Any], truth: list[float]
) -> None:
    from earlyphase.designs.spec import build_phase2

    as_json, as_csv, sims, seed = opts["as_json"], opts["as_csv"], opts["sims"], opts["seed"]
    quiet = as_json or as_csv
    eff = _floats(opts["truth_eff"], "truth-eff")
    name = {"efftox": "EffTox", "boin12": "BOIN12"}.get(design, "the Thall-Simon-Estey monitor")
    if eff is None:
        raise ValueError(f"truth-eff: {name} needs the true efficacy rates too")
    if design == "boin12":
        if "n_doses" not in spec:
            spec["n_doses"] = len(truth)  # one true rate per dose
        if len(eff) != len(truth):
            raise ValueError(
                f"truth-eff: one efficacy rate per dose ({len(truth)} toxicity rates), "
                f"got {len(eff)}"
            )
    d = build_phase2(design, spec)
    if design == "boin12":
        if opts.get("exact"):
            with _progress("exact BOIN12 operating characteristics", None, quiet):
                oc = d.operating_characteristics((eff, truth), method="exact")
        else:
            sims = opts["sims"] or _SIMULATED_ONLY[design]
            with _progress(f"simulating {sims:,} BOIN12 trials", None, quiet):
                oc = d.operating_characteristics((eff, truth), n_sims=sims, seed=seed)
        _emit_dose_finding_oc(d, oc, as_json, as_csv)
        return
    if design == "efftox":
        with _progress(f"simulating {sims:,} EffTox trials", None, quiet):
            oc = d.operating_characteristics((eff, truth), n_sims=sims, seed=seed, psi=opts["psi"])
        title = "EffTox: simulated operating characteristics"
    else:
        if len(eff) != len(truth):
            raise ValueError(
                f"truth-eff: one efficacy rate per scenario ({len(truth)} toxicity rates), "
                f"got {len(eff)}"
            )
        method = "exact" if sims is None else "simulate"
        oc = d.operating_characteristics(
            [(e, t) for e, t in zip(eff, truth, strict=True)],
            method=method,
            n_sims=sims or 10_000,
            seed=seed,
        )
        title = "Thall-Simon-Estey monitoring: operating characteristics"
    if not quiet:
        _say(f"Design: {d.describe()}.")
    _emit(oc.table(), title, as_json, as_csv)


def _decide_handler(design: str, spec: dict[str, Any], opts: dict[str, Any]) -> None:
    import json
    import re

    from earlyphase.designs.spec import build

    d: Any = build(design, spec)
    text = opts["outcomes"].strip()
    counts = re.fullmatch(r"(\d+)\s*/\s*(\d+)", text)
    pair = re.fullmatch(r"(\d+)\s*,\s*(\d+)\s*/\s*(\d+)", text)
    if design in ("tite-crm", "tite-boin") or _wants_backfill(design, spec):
        backfill = design in BACKFILL_DESIGNS
        decision = d.decide(_timed_history(text, opts.get("history"), d.window, backfill))
    elif opts.get("history") is not None:
        raise ValueError("history: applies only with --backfill-window (backfill)")
    elif counts and design in SINGLE_ARM:
        decision = d.decide(int(counts.group(1)), int(counts.group(2)))
    elif counts and design == "bop2":
        decision = d.decide({"responses": int(counts.group(1)), "n": int(counts.group(2))})
    elif pair and design == "bop2":
        x, y, n = (int(v) for v in pair.groups())
        decision = d.decide({"responses": x, "toxicities": y, "n": n})
    elif pair and design == "multi-outcome":
        decision = d.decide(*(int(v) for v in pair.groups()))
    else:
        decision = d.decide(text or None)
    record = decision.to_dict()
    if opts["as_json"]:
        typer.echo(json.dumps(record, indent=2, default=str))
    elif opts["as_csv"]:
        import csv
        import io

        # one row; the estimates (lists per dose) as JSON in their cell
        record["estimates"] = json.dumps(record["estimates"], default=str)
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(record), lineterminator="\n")
        writer.writeheader()
        writer.writerow({k: "" if v is None else v for k, v in record.items()})
        typer.echo(buf.getvalue(), nl=False)
    else:
        _say(str(decision))
        if "backfill_dose" in decision.estimates and not decision.stop:
            bf = decision.estimates["backfill_dose"]
            _say(
                "backfill: no dose is open"
                if bf is None
                else f"backfill: a patient arriving now goes to dose {bf} (open: "
                f"{', '.join(map(str, decision.estimates['backfill_open']))})"
            )


_PATIENT = re.compile(r"([TNtn])(?:\(([^()]*)\))?")


def _timed_history(
    text: str, path: Path | None, window: float, backfill: bool = False
) -> dict[str, list[Any]] | None:
    """Per-patient dose, DLT and follow-up for the TITE designs and backfill, from the
    notation of ``_TITE_HINT`` or from a CSV file (columns dose, dlt, follow_up; for
    ``backfill`` also the optional columns backfill and response, 0/1); None before anyone."""
    if path is not None and text:
        raise ValueError("history: give --outcomes or --history, not both")
    level: list[int] = []
    dlt: list[int] = []
    follow: list[float] = []
    flags: dict[str, list[bool]] = {}
    if path is not None:
        import csv

        if not path.is_file():
            raise ValueError(f"history: no file {path}")
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        for i, raw in enumerate(rows, start=2):  # line 1 is the header
            row = {str(k).strip().lower(): v for k, v in raw.items() if k is not None}
            missing = [c for c in ("dose", "dlt", "follow_up") if c not in row]
            if missing:
                raise ValueError(f"history: {path.name} needs the columns dose, dlt, follow_up")
            try:
                dose = int(str(row["dose"]).strip())
                event = str(row["dlt"]).strip().lower()
                fu = float(str(row["follow_up"]).strip())
            except ValueError:
                raise ValueError(
                    f"history: line {i} of {path.name} must hold a dose level, a dlt 0/1 and a "
                    f"follow-up time, got {raw!r}"
                ) from None
            if event not in ("0", "1", "true", "false", "yes", "no"):
                raise ValueError(f"history: line {i}: dlt must be 0 or 1, got {row['dlt']!r}")
            for col in ("backfill", "response") if backfill else ():
                if col not in row:
                    continue
                word = str(row[col]).strip().lower()
                if word not in ("0", "1", "true", "false", "yes", "no", ""):
                    raise ValueError(f"history: line {i}: {col} must be 0 or 1, got {row[col]!r}")
                flags.setdefault(col, []).append(word in ("1", "true", "yes"))
            level.append(dose)
            dlt.append(int(event in ("1", "true", "yes")))
            follow.append(fu)
    else:
        for token in text.split():
            m = re.fullmatch(r"(\d+)((?:[TNtn](?:\([^()]*\))?)+)", token)
            if m is None:
                raise ValueError(
                    f"outcomes: {token!r} must be a dose then T/N letters, each with an "
                    "optional follow-up time in brackets, e.g. 2NT(12)N(5)"
                )
            for letter, time in _PATIENT.findall(m.group(2)):
                try:
                    fu = window if not time else float(time)
                except ValueError:
                    raise ValueError(
                        f"outcomes: the follow-up time in {token!r} must be a number, got {time!r}"
                    ) from None
                level.append(int(m.group(1)))
                dlt.append(int(letter.upper() == "T"))
                follow.append(fu)
    if not level:
        return None
    return {"level": level, "dlt": dlt, "follow_up": follow, **flags}


def _simulate_timed(
    design: str, spec: dict[str, Any], opts: dict[str, Any], truth: list[float]
) -> None:
    """The rolling six, TITE-CRM and TITE-BOIN: simulated trials in calendar time."""
    from earlyphase.designs.spec import build_dose_finding

    as_json, as_csv, sims, seed = opts["as_json"], opts["as_csv"], opts["sims"], opts["seed"]
    quiet = as_json or as_csv
    if "n_doses" not in spec and "dose_values" not in spec and design != "tite-crm":
        spec["n_doses"] = len(truth)  # one true rate per dose
    d: Any = build_dose_finding(design, spec)
    timing: dict[str, Any] = {"accrual_rate": opts["accrual_rate"]}
    if design == "rolling6":
        timing["dlt_window"] = opts["dlt_window"]
    else:
        timing["accrual"] = opts["accrual"]
    if design == "tite-boin":
        timing["time_to_dlt"] = opts["time_to_dlt"]
        timing["late_fraction"] = opts["late_fraction"]
    with _progress(f"simulating {sims:,} trials", None, quiet):
        oc = d.operating_characteristics(truth, method="simulate", n_sims=sims, seed=seed, **timing)
    _emit_dose_finding_oc(d, oc, as_json, as_csv)


def _emit_dose_finding_oc(d: Any, oc: Any, as_json: bool, as_csv: bool) -> None:
    """Operating characteristics of a design without the dose-finding engine: its table and
    summary (with the trial's duration and suspensions where it has them)."""
    import json

    if as_json:
        typer.echo(json.dumps(oc.to_dict(), indent=2, default=float))
        return
    if as_csv:
        typer.echo(oc.table().to_csv(index=False), nl=False)
        return
    _say(f"Design: {d.describe()}.")
    how = "exact" if oc.n_sims is None else f"{oc.n_sims:,} simulated trials"
    _print_frame(oc.table(), f"Operating characteristics ({how})")
    s = oc.summary()
    line = f"P(no dose selected) = {_pct(s['prob_no_selection'])}; E[N] = {s['mean_total_n']:.2f}"
    if s.get("mean_total_dlt") is not None:
        line += f"; E[DLTs] = {s['mean_total_dlt']:.2f}"
    if s.get("mean_duration") is not None:
        line += f"; mean duration {s['mean_duration']:.1f} (SD {s['sd_duration']:.1f})"
    if s.get("prob_suspended") is not None:
        line += f"; P(accrual ever suspended) = {_pct(s['prob_suspended'])}"
    _say(line)


def _simulate_bop2(spec: dict[str, Any], opts: dict[str, Any], truth: list[float]) -> None:
    """BOP2's exact operating characteristics: response rates, or with a joint null four joint
    probabilities per scenario."""
    from earlyphase.designs.spec import build_phase2

    d = build_phase2("bop2", spec)
    scenarios: Any = truth
    if d.joint:
        groups = [g for g in str(opts["truth"]).split(";") if g.strip()]
        scenarios = [_floats(g, "truth") for g in groups]
        if any(len(g or []) != 4 for g in scenarios):
            raise ValueError(
                "truth: with a joint null give four joint probabilities per scenario (response "
                "and toxicity, response only, toxicity only, neither), scenarios separated by ';'"
            )
    oc = d.operating_characteristics(scenarios, method="exact")
    if not (opts["as_json"] or opts["as_csv"]):
        _say(f"Design: {d.describe()}.")
    _emit(oc.table(), "Operating characteristics (exact)", opts["as_json"], opts["as_csv"])


def _protocol_handler(design: str, spec: dict[str, Any], opts: dict[str, Any]) -> None:
    from earlyphase.designs.spec import build
    from earlyphase.protocol import FORMATS, write_protocol

    out: Path = opts["output"]
    if out.suffix.lower() not in FORMATS:
        raise ValueError(f"output: {out.name} must end in one of {', '.join(FORMATS)}")
    scenarios = None if opts["scenarios"] is None else _read_scenarios(opts["scenarios"])
    d = build(design, spec)
    sims = opts.get("sims")
    kw: dict[str, Any] = {"title": opts["title"]}
    if sims is not None:
        kw.update(method="simulate", n_sims=sims)
    with _progress("writing the protocol section", None, False):
        path = write_protocol(d, out, scenarios, **kw)
    _say(f"Protocol section for {TITLES[design]} written to {path}")


_HANDLERS: dict[str, Callable[[str, dict[str, Any], dict[str, Any]], None]] = {
    "design": _design_handler,
    "simulate": _simulate_handler,
    "decide": _decide_handler,
    "protocol": _protocol_handler,
}


class _DesignGroup(TyperGroup):
    """A group of one command per design that also finds ``BOIN``, ``three_plus_three``...,
    and answers an unknown design with the list of known ones (exit status 2)."""

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        cmd = super().get_command(ctx, cmd_name)
        if cmd is not None:
            return cmd
        try:
            return super().get_command(ctx, design_key(cmd_name))
        except ValueError as exc:
            message = str(exc)

        def refuse() -> None:
            raise _fail(message)

        return TyperCommand(
            name=cmd_name,
            callback=refuse,
            context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
        )


design_app = typer.Typer(
    cls=_DesignGroup,
    no_args_is_help=True,
    help="Print a design's rules: what to do after any outcome. One command per design; "
    "`earlyphase design DESIGN --help` lists its settings with their defaults.",
)
simulate_app = typer.Typer(
    cls=_DesignGroup,
    help="Operating characteristics of a design under true rates (--truth), exact or simulated; "
    "or several dose-finding designs across scenarios (--scenarios FILE --design SPEC ...).",
)
decide_app = typer.Typer(
    cls=_DesignGroup,
    no_args_is_help=True,
    help="What to do after the outcomes so far (--outcomes), for any design.",
)
app.add_typer(design_app, name="design")
app.add_typer(simulate_app, name="simulate")
app.add_typer(decide_app, name="decide")

#: Designs whose protocol section can be written (the others have design, simulate, decide).
_PROTOCOL_DESIGNS = (*WITH_BEHAVIOURS, *SINGLE_ARM, "efftox", "multi-outcome")
protocol_app = typer.Typer(
    cls=_DesignGroup,
    help="Write a design's protocol section (.docx, .html or .md).",
    no_args_is_help=True,
)
app.add_typer(protocol_app, name="protocol")

for _kind, _group in (
    ("design", design_app),
    ("simulate", simulate_app),
    ("decide", decide_app),
    ("protocol", protocol_app),
):
    for _name in DESIGNS:
        if _kind == "protocol" and _name not in _PROTOCOL_DESIGNS:
            continue
        _group.command(_name, help=None)(_make_command(_kind, _name))


# --- several designs across scenarios ----------------------------------------------------------


def _read_scenarios(path: Path) -> dict[str, list[float]]:
    """Scenarios from a CSV file (a ``scenario`` column and ``dose1``..``doseK``), or a YAML
    file with the same content (a list of such records, or ``name: [rates]``)."""
    if not path.exists():
        raise ValueError(f"scenarios: no file {path}")
    records: list[dict[str, Any]]
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            yaml: Any = importlib.import_module("yaml")  # optional: PyYAML, when installed
        except ImportError:
            raise ValueError(
                "scenarios: reading YAML needs PyYAML (pip install pyyaml); give a CSV file"
            ) from None
        data = yaml.safe_load(path.read_text())
        if isinstance(data, dict):
            records = [
                {"scenario": k, **{f"dose{i + 1}": v for i, v in enumerate(vals)}}
                if isinstance(vals, list)
                else {"scenario": k, **vals}
                for k, vals in data.items()
            ]
        elif isinstance(data, list) and all(isinstance(r, dict) for r in data):
            records = data
        else:
            raise ValueError(f"scenarios: {path} must hold a list of scenarios or name: [rates]")
    else:
        import csv

        with path.open(newline="") as fh:
            records = list(csv.DictReader(fh))
    out: dict[str, list[float]] = {}
    for i, rec in enumerate(records, start=1):
        keys = {str(k).strip().lower(): v for k, v in rec.items() if k is not None}
        if "scenario" not in keys:
            raise ValueError(f"scenarios: row {i} has no 'scenario' column (and dose1..doseK)")
        doses = sorted((int(m.group(1)), k) for k in keys if (m := re.fullmatch(r"dose(\d+)", k)))
        if not doses or [n for n, _ in doses] != list(range(1, len(doses) + 1)):
            raise ValueError(f"scenarios: row {i} needs the columns dose1..doseK")
        name = str(keys["scenario"]).strip() or f"scenario {i}"
        rates = []
        for _, col in doses:
            try:
                v = float(keys[col])
            except (TypeError, ValueError):
                v = float("nan")
            if not 0 <= v <= 1:
                raise ValueError(
                    f"scenarios: row {i} ({name}), {col}: must be a rate in [0, 1], "
                    f"got {keys[col]!r}"
                )
            rates.append(v)
        if name in out:
            raise ValueError(f"scenarios: row {i}: scenario {name!r} appears twice")
        out[name] = rates
    if not out:
        raise ValueError(f"scenarios: {path} holds no scenario")
    if len({len(v) for v in out.values()}) != 1:
        raise ValueError("scenarios: every scenario needs the same number of doses")
    return out


def _parse_design_spec(text: str) -> tuple[str, str, dict[str, Any]]:
    """``"boin target=0.3 n_cohorts=10 label=BOIN-30"`` -> (label, design, settings)."""
    import shlex

    tokens = shlex.split(text)
    if not tokens:
        raise ValueError("design: an empty --design; e.g. --design 'boin target=0.3'")
    key = design_key(tokens[0])
    if key not in WITH_BEHAVIOURS:
        raise ValueError(
            f"design: scenario comparisons take the dose-finding designs "
            f"({', '.join(WITH_BEHAVIOURS)}), not {tokens[0]!r}"
        )
    spec: dict[str, Any] = {}
    label = ""
    for tok in tokens[1:]:
        if "=" not in tok:
            raise ValueError(f"design: {tok!r} in {text!r} is not setting=value")
        k, v = tok.split("=", 1)
        k = k.strip().replace("-", "_")
        if k == "label":
            label = v
        else:
            spec[k] = v
    return label or text.strip(), key, spec


def _compare(
    scenarios_file: Path,
    specs: list[str],
    sims: int | None,
    seed: int | None,
    plot: Path | None,
    as_json: bool,
    as_csv: bool,
) -> None:
    import json

    from earlyphase.designs.spec import build_design

    if seed is not None and sims is None:
        raise ValueError("seed: applies only to simulations (--sims N); exact results have none")
    scenarios = _read_scenarios(scenarios_file)
    k = len(next(iter(scenarios.values())))
    if not specs:
        raise ValueError("design: give one or more --design 'boin target=0.3 ...'")
    designs = []
    for text in specs:
        label, key, spec = _parse_design_spec(text)
        if "n_doses" not in spec and "dose_values" not in spec and key != "crm":
            spec["n_doses"] = k
        try:
            d = build_design(key, spec)
        except ValueError as exc:
            raise ValueError(f"{exc} (in --design {text!r})") from None
        if d.n_doses != k:
            raise ValueError(f"design: {label!r} has {d.n_doses} doses, the scenarios {k}")
        designs.append((label, d))
    quiet = as_json or as_csv
    rows: list[dict[str, Any]] = []
    total = len(scenarios) * len(designs)
    with _progress("operating characteristics", total, quiet) as tick:
        for name, truth in scenarios.items():
            if sims is None:
                ocs = [d.operating_characteristics(truth, method="exact") for _, d in designs]
            else:
                from earlyphase.engine.monte_carlo import patient_tolerances, simulate_oc
                from earlyphase.engine.states import check_truth

                p = check_truth(truth, k)
                # the same simulated patients for every design: common random numbers
                u = patient_tolerances(sims, max(d.max_patients for _, d in designs), seed)
                ocs = [simulate_oc(d, p, n_sims=sims, tolerances=u) for _, d in designs]
            for (label, _), oc in zip(designs, ocs, strict=True):
                rows.append(
                    {
                        "scenario": name,
                        "design": label,
                        "selection": [float(v) for v in oc.selection[:-1]],
                        "no_selection": float(oc.selection[-1]),
                        "mean_n": oc.mean_total_n,
                        "mean_dlt": oc.mean_total_dlt,
                    }
                )
                tick(len(rows))
    if plot is not None:
        from earlyphase.figures.comparison import plot_scenario_comparison

        targets = {d.target for _, d in designs}
        target = targets.pop() if len(targets) == 1 else None
        plot_scenario_comparison(rows, scenarios, plot, target=target)
    method = "exact" if sims is None else f"{sims:,} simulated trials (common random numbers)"
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "method": "exact" if sims is None else "simulate",
                    "n_sims": sims,
                    "scenarios": scenarios,
                    "rows": rows,
                },
                indent=2,
            )
        )
        return
    if as_csv:
        import csv
        import io

        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(
            [
                "scenario",
                "design",
                *(f"dose{i + 1}" for i in range(k)),
                "none",
                "mean_n",
                "mean_dlt",
            ]
        )
        for r in rows:
            w.writerow(
                [
                    r["scenario"],
                    r["design"],
                    *r["selection"],
                    r["no_selection"],
                    r["mean_n"],
                    r["mean_dlt"],
                ]
            )
        typer.echo(buf.getvalue(), nl=False)
        return
    table = Table(
        title=f"Selection per dose (% of trials), by scenario and design: {method}",
        title_justify="left",
    )
    table.add_column("Scenario")
    table.add_column("Design")
    for i in range(k):
        table.add_column(f"Dose {i + 1}", justify="right")
    table.add_column("None", justify="right")
    table.add_column("Mean N", justify="right")
    for name, truth in scenarios.items():
        table.add_row(
            name, "[dim]true DLT rate[/dim]", *(f"[dim]{v:.2f}[/dim]" for v in truth), "", ""
        )
        for r in (r for r in rows if r["scenario"] == name):
            table.add_row(
                "",
                r["design"],
                *(_pct(v) for v in r["selection"]),
                _pct(r["no_selection"]),
                f"{r['mean_n']:.1f}",
            )
        table.add_section()
    Console(width=160).print(table)
    if plot is not None:
        _say(f"figure written to {plot}")


@simulate_app.callback(invoke_without_command=True)
def simulate_main(
    ctx: typer.Context,
    scenarios: Path | None = typer.Option(
        None,
        "--scenarios",
        help="CSV (or YAML) of true DLT rates: a 'scenario' column and dose1..doseK.",
    ),
    design: list[str] | None = typer.Option(
        None,
        "--design",
        help="A design to compare, as 'boin target=0.3 n_cohorts=10' (settings as in "
        "`earlyphase design DESIGN --help`, with _ for -; label=NAME names it); repeat it.",
    ),
    sims: int | None = typer.Option(
        None, "--sims", help="Simulate this many trials per scenario (default: exact).", min=1
    ),
    seed: int | None = typer.Option(
        None, "--seed", help="Random seed (the same patients for every design)."
    ),
    plot: Path | None = typer.Option(None, "--plot", help="Write the comparison figure (PNG)."),
    as_json: bool = _JSON,
    as_csv: bool = _CSV,
) -> None:
    """Operating characteristics: `earlyphase simulate DESIGN --truth ...` for one design, or
    `earlyphase simulate --scenarios FILE --design SPEC [--design SPEC ...]` to compare
    dose-finding designs across scenarios in one protocol-style table."""
    if ctx.invoked_subcommand is not None:
        if scenarios is not None or design:
            raise _fail("scenarios: --scenarios and --design go without a design command")
        return
    if scenarios is None:
        if design:
            raise _fail("scenarios: --design needs --scenarios FILE")
        typer.echo(ctx.get_help())
        raise typer.Exit(0)
    try:
        _compare(scenarios, list(design or []), sims, seed, plot, as_json, as_csv)
    except ValueError as exc:
        raise _fail(str(exc)) from None


_SOURCE = typer.Argument(..., help="Folder of ADaM-style tables, or a trial database file / URL.")
_TRIAL = typer.Option(None, "--trial", help="Trial name, when reporting from a database.")
_ARD = typer.Option(None, "--ard", help="Also write every table's numbers (ARD) as CSV.")
_OUTPUT = typer.Option(Path("report.html"), "-o", "--output", help="HTML file to write.")


def _report_trial(source: str, trial_name: str | None) -> tuple[Any, Any]:
    """The trial's data and its design (None when not given): from a folder of ADaM-style
    tables (the design from ``trial.json`` ``design``), or from a trial database (its design,
    the dose-transition record and the DLT evaluability from the store)."""
    from earlyphase.conduct.reporting import report_design, stored_trial_report
    from earlyphase.data import DataError, Problem, load_trial

    if Path(source).is_dir():
        trial = load_trial(source)
        spec = trial.meta.get("design")
        if not spec:
            return trial, None
        try:
            design = report_design(
                spec["name"],
                dict(spec.get("settings") or {}),
                list(spec.get("dose_levels") or []),
                str(trial.meta.get("dose_unit", "")),
                str(spec.get("schedule", "")),
                source="trial.json design",
                dlt_window_days=spec.get("dlt_window_days"),
                dlt_definition=str(spec.get("dlt_definition", "")),
            )
        except (ValueError, TypeError) as exc:
            raise DataError([Problem("trial.json", None, "design", str(exc))]) from None
        return trial, design
    from earlyphase.conduct import TrialService, open_store

    if not trial_name:
        raise ValueError("trial: name the trial to report from the database (--trial)")
    if "://" not in str(source) and not Path(source).exists():
        raise ValueError(f"source: {source} is neither a data folder nor a database file")
    return stored_trial_report(TrialService(open_store(str(source))), trial_name)


@app.command("report")
def report_cmd(
    source: str = _SOURCE,
    output: Path = _OUTPUT,
    pdf: bool = typer.Option(False, "--pdf", help="Also print a PDF next to it (needs Chromium)."),
    ard: Path | None = _ARD,
    trial_name: str | None = _TRIAL,
    tables_dir: Path | None = typer.Option(
        None, "--tables-dir", "--csv", help="Also write every table as CSV into this folder."
    ),
    xlsx: Path | None = typer.Option(
        None, "--xlsx", help="Also write every table into this Excel workbook (a sheet each)."
    ),
    docx: Path | None = typer.Option(
        None, "--docx", help="Also write the report as a Word document (real Word tables)."
    ),
    paper: str = typer.Option(
        "a4", "--paper", help="Page size of the PDF and Word document: a4 or letter."
    ),
    svg: bool = typer.Option(
        False, "--svg", help="Also write every figure as SVG, into OUTPUT_figures/ beside it."
    ),
) -> None:
    """Write the trial's results as one self-contained HTML report (and optionally PDF and
    Word), from a folder of ADaM-style tables or from a trial database
    (``earlyphase report trial.db --trial X``); ``--tables-dir`` / ``--xlsx`` also write every
    table as data. A dose-finding trial gets a CONSORT-DEFINE section (design, participant
    flow, dose-transition record, recommended dose) and its checklist."""
    from earlyphase.data import DataError
    from earlyphase.report import render_report, write_pdf

    paper = paper.strip().lower()
    if paper not in ("a4", "letter"):
        raise _fail(f"--paper: a4 or letter, got {paper!r}")
    try:
        trial, design = _report_trial(source, trial_name)
        figures = output.with_name(f"{output.stem}_figures") if svg else None
        path = render_report(
            trial,
            output,
            ard_path=ard,
            tables_dir=tables_dir,
            xlsx_path=xlsx,
            docx_path=docx,
            svg_dir=figures,
            paper=paper,
            design=design,
        )
        Console().print(f"report written to {path}")
        if tables_dir is not None:
            Console().print(f"tables written to {tables_dir}")
        if xlsx is not None:
            Console().print(f"workbook written to {xlsx}")
        if docx is not None:
            Console().print(f"Word document written to {docx}")
        if figures is not None:
            Console().print(f"figures written to {figures} (SVG)")
        if pdf:
            pdf_path = write_pdf(path, path.with_suffix(".pdf"))
            Console().print(
                f"PDF written to {pdf_path} ({paper.upper() if paper == 'a4' else 'Letter'})"
            )
    except DataError as exc:
        raise _fail(str(exc)) from None
    except ValueError as exc:
        raise _fail(str(exc)) from None


_DATABASE = typer.Option(
    None, "--database", help="SQLite file (default ./earlyphase.db) or postgresql://..."
)


@app.command("grid")
def grid_cmd(
    grid_file: Path = typer.Argument(..., help="The grid: designs, settings to vary, scenarios."),
    output: Path = typer.Option(
        Path("grid.parquet"), "-o", "--output", help="Results (.parquet or .csv)."
    ),
    figure: Path | None = typer.Option(
        None, "--figure", help="Also draw the comparison (PNG, SVG or PDF by suffix)."
    ),
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="A running Dask scheduler (tcp://host:8786)."
    ),
    workers: int | None = typer.Option(
        None,
        "--workers",
        min=0,
        help="Local worker processes (default: one per core; 0 runs in this process).",
    ),
) -> None:
    """Run designs x settings x scenarios with common random numbers, locally or on a Dask
    cluster, and write one tidy table (and the best variant when the grid asks to
    calibrate). The same grid file gives the same numbers wherever it runs."""
    from earlyphase.simulate.grid import GridError, calibrate, comparison_figure, read_grid
    from earlyphase.simulate.grid import run_grid as _run

    try:
        grid = read_grid(grid_file)
    except GridError as exc:
        raise _fail(str(exc)) from None
    if output.suffix.lower() not in (".parquet", ".csv"):
        raise _fail(f"--output: {output} must end in .parquet or .csv")
    result = _run(grid, scheduler=scheduler, workers=workers)
    if output.suffix.lower() == ".csv":
        result.to_csv(output, index=False)
    else:
        result.to_parquet(output, index=False)
    console = Console()
    summary = result.drop_duplicates(["scenario", "variant"])[
        ["scenario", "variant", "pcs", "prob_select_overdose"]
    ]
    # plain text: a wide frame must not be wrapped by the terminal's width
    typer.echo(summary.to_string(index=False))
    console.print(f"{len(result)} rows written to {output}")
    if grid.calibrate:
        ranked = calibrate(result, str(grid.calibrate.get("objective", "pcs")))
        typer.echo(f"best variant: {ranked.iloc[0]['variant']}")
        typer.echo(ranked.to_string(index=False))
    if figure is not None:
        comparison_figure(result).savefig(figure)
        console.print(f"figure written to {figure}")


@app.command("packet")
def packet_cmd(
    trial_name: str = typer.Option(..., "--trial", help="The trial's name."),
    user: str = typer.Option(
        ..., "--user", help="Who prepares the packet (a statistician, monitor or admin)."
    ),
    database: str | None = _DATABASE,
    output: Path = typer.Option(Path("packet.html"), "-o", "--output", help="HTML file."),
    pdf: bool = typer.Option(False, "--pdf", help="Also print an A4 PDF (needs Chromium)."),
) -> None:
    """Write the safety review packet for the dose-escalation meeting: cohorts, doses given,
    AEs and DLTs by subject, evaluability, the recommendation and its rule, earlier decisions
    with their signatures, open deviations and the decision table. Reads only."""
    from sqlalchemy import select

    from earlyphase.conduct import ConductError, TrialService
    from earlyphase.conduct.models import User
    from earlyphase.conduct.packet import render_packet
    from earlyphase.report import write_pdf

    sessions = _inspect_store(database, None)
    try:
        svc = TrialService(sessions)
        with sessions() as s:
            actor = s.execute(select(User).where(User.username == user)).scalar()
        if actor is None:
            raise _fail(f"--user: no user {user!r} in this database")
        try:
            html_text = render_packet(svc.safety_packet(actor, trial_name))
        except ConductError as exc:
            raise _fail(str(exc)) from None
        output.write_text(html_text, encoding="utf-8")
        Console().print(f"packet written to {output}")
        if pdf:
            try:
                Console().print(f"PDF written to {write_pdf(output, output.with_suffix('.pdf'))}")
            except ValueError as exc:
                raise _fail(str(exc)) from None
    finally:
        sessions.kw["bind"].dispose()


audit_app = typer.Typer(help="The audit trail of a trial database.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


_KEY_FILE = typer.Option(
    None,
    "--key-file",
    help="The trail's anchoring key (default: EARLYPHASE_AUDIT_KEY, EARLYPHASE_AUDIT_KEY_FILE, "
    "or the key file beside the database).",
)
_ANCHOR_IN = typer.Option(
    None,
    "--anchor",
    help="An anchor written earlier by 'audit anchor -o', kept outside the database: fail if "
    "the trail no longer holds it (rollback, truncation, rewriting).",
)
_ANCHOR_OUT = typer.Option(
    None, "--output", "-o", help="Write the anchor here (JSON) as well as printing it."
)


def _audit_key(key_file: Path | None) -> bytes | None:
    from earlyphase.conduct.anchor import AuditKeyError, parse_key

    if key_file is None:
        return None
    try:
        return parse_key(key_file.read_text(), str(key_file))
    except OSError as exc:
        typer.echo(f"--key-file: cannot read {key_file} ({exc.strerror})", err=True)
        raise typer.Exit(code=2) from exc
    except AuditKeyError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(code=2) from exc


def _inspect_store(database: str | None, key: bytes | None) -> Any:
    """The database as it is: verify and anchor create neither a file nor a trigger."""
    from earlyphase.conduct.anchor import AuditKeyError
    from earlyphase.conduct.store import NoSuchDatabaseError, open_store

    try:
        return open_store(database, setup=False, key=key)
    except (NoSuchDatabaseError, AuditKeyError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(code=2) from exc


@audit_app.command("verify")
def audit_verify_cmd(
    database: str | None = _DATABASE,
    key_file: Path | None = _KEY_FILE,
    anchor_file: Path | None = _ANCHOR_IN,
) -> None:
    """Check the audit trail (21 CFR 11.10(e)): its append-only triggers, its hash chain,
    every audited row against the content the trail records for it, signatures, and the
    checkpoints that authenticate its length and head. Exit 1 on any difference, 2 if the
    database, key or anchor cannot be read."""
    from earlyphase.conduct import audit
    from earlyphase.conduct.anchor import Anchor

    witness = None
    if anchor_file is not None:
        try:
            witness = Anchor.from_json(anchor_file.read_text())
        except (OSError, KeyError, ValueError, TypeError) as exc:
            typer.echo(f"--anchor: cannot read {anchor_file} ({exc})", err=True)
            raise typer.Exit(code=2) from exc
    sessions = _inspect_store(database, _audit_key(key_file))
    with sessions() as s:
        res = audit.verify(s, witness=witness)
    sessions.kw["bind"].dispose()
    Console().print(res.message, markup=False, highlight=False)
    if not res.ok:
        raise typer.Exit(code=1)


@audit_app.command("anchor")
def audit_anchor_cmd(
    database: str | None = _DATABASE,
    key_file: Path | None = _KEY_FILE,
    output: Path | None = _ANCHOR_OUT,
) -> None:
    """Write a checkpoint of the trail now and print it as an anchor for an external witness
    (keep it outside the database: 'audit verify --anchor' then detects a rollback). Refused
    when the trail does not verify (a trail from before checkpoints existed excepted), so an
    anchor never covers a forged entry."""
    from earlyphase.conduct import audit
    from earlyphase.conduct.anchor import KEY_INFO, anchor_of, checkpoint_now
    from earlyphase.conduct.store import database_url

    sessions = _inspect_store(database, _audit_key(key_file))
    try:
        with sessions() as s, s.begin():
            key = s.info.get(KEY_INFO)
            if key is None:
                typer.echo(
                    "audit key: none found (set EARLYPHASE_AUDIT_KEY or give --key-file)",
                    err=True,
                )
                raise typer.Exit(code=2)
            res = audit.verify(s)
            # a trail written before checkpoints existed is what an on-demand anchor is for;
            # an uncovered tail after a checkpoint was appended outside the service
            blocking = [p for p in res.problems if not p.startswith("audit_checkpoint: none")]
            if blocking:
                Console().print(res.message, markup=False, highlight=False)
                typer.echo("anchor: refused, the trail does not verify", err=True)
                raise typer.Exit(code=1)
            cp = checkpoint_now(s, key)
            text_ = anchor_of(cp, database_url(database).split("@")[-1]).to_json()
    finally:
        sessions.kw["bind"].dispose()
    if output is not None:
        output.write_text(text_)
    typer.echo(text_, nl=False)


@audit_app.command("export")
def audit_export_cmd(database: str | None = _DATABASE) -> None:
    """Print the audit trail as CSV (cells that a spreadsheet would run as a formula are
    prefixed with an apostrophe)."""
    from earlyphase.conduct import audit, open_store

    with open_store(database)() as s:
        typer.echo(audit.export_csv(s), nl=False)


@app.command("serve")
def serve_cmd(
    database: str | None = _DATABASE,
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port"),
    demo: bool = typer.Option(False, "--demo", help="Seed a demo 3+3 trial and users first."),
) -> None:
    """Run the trial web service (UI on /, JSON API on /api, OpenAPI on /docs)."""
    import uvicorn

    from earlyphase.conduct.demo import seed_demo
    from earlyphase.conduct.web import create_app

    if demo:
        for line in seed_demo(database):
            Console().print(line)
    uvicorn.run(create_app(database), host=host, port=port, log_level="info")


if __name__ == "__main__":  # pragma: no cover
    app()
