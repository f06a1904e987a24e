"""Command-line interface: ``earlyphase demo`` and friends."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from earlyphase import __version__

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


def _demo_reports(console: Console) -> None:
    from earlyphase.demo import write_reference_reports

    console.print()
    console.rule("[bold]Reports of the four reference trials")
    for name, path in write_reference_reports(Path("reports")).items():
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


# --- designs -------------------------------------------------------------------------------


def _floats(text: str | None, field: str) -> list[float] | None:
    if text is None:
        return None
    try:
        return [float(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        raise ValueError(f"{field}: must be comma-separated numbers, got {text!r}") from None


def _fail(message: str) -> typer.Exit:
    Console(stderr=True).print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code=2)


def _print_frame(frame: Any, title: str, as_json: bool, as_csv: bool) -> None:
    import pandas as pd

    if as_json:
        typer.echo(frame.to_json(orient="records"))
        return
    if as_csv:
        typer.echo(frame.to_csv(index=False), nl=False)
        return
    table = Table(title=title)
    for col in frame.columns:
        table.add_column(str(col), justify="right")
    for _, row in frame.iterrows():
        cells = []
        for v in row.tolist():
            if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
                cells.append("")
            elif isinstance(v, float):
                cells.append(f"{v:.4f}")
            else:
                cells.append(str(v))
        table.add_row(*cells)
    Console(width=140).print(table)


def _phase2_options(params: Mapping[str, Any]) -> dict[str, Any]:
    """Phase II, monitoring and EffTox settings (``build_phase2`` keywords) from a command's
    parameters (its ``locals()``), with the list-valued options parsed."""
    return {
        "p0": params["p0"],
        "p1": params["p1"],
        "alpha": params["alpha"],
        "beta": params["beta"],
        "kind": params["kind"],
        "standard_rate": params["standard_rate"],
        "standard_n": params["standard_n"],
        "standard_prior": _floats(params["standard_prior"], "standard-prior"),
        "experimental_prior": _floats(params["experimental_prior"], "experimental-prior"),
        "experimental_ess": params["experimental_ess"],
        "delta": params["delta"],
        "p_upper": params["p_upper"],
        "p_lower": params["p_lower"],
        "n_min": params["n_min"],
        "n_max": params["n_max"],
        "prior": _floats(params["prior"], "prior"),
        "theta_t": params["theta_t"],
        "theta_lower": params["theta_lower"],
        "limit": params["limit"],
        "cutoff": params["cutoff"],
        "method": params["method"],
        "looks": None
        if params["looks"] is None
        else [int(v) for v in _floats(params["looks"], "looks") or []],
        "eff_hurdle": params["eff_hurdle"],
        "tox_hurdle": params["tox_hurdle"],
        "efftox_priors": _floats(params["efftox_priors"], "efftox-priors"),
        "dose_values": _floats(params["dose_values"], "dose-values"),
        "cohort_size": params["cohort_size"],
    }


DESIGN_HELP = "Design: 3+3, boin, crm, thall-simon, simon, predictive or tox-monitor."


def _design_from_options(name: str, opts: Mapping[str, Any]) -> Any:
    from earlyphase.designs.spec import build_design

    return build_design(name, opts)


def _design_options(params: Mapping[str, Any]) -> dict[str, Any]:
    """Dose-finding settings (``build_design`` keywords) from a command's parameters (its
    ``locals()``), with the list-valued options parsed."""
    return {
        "target": params["target"],
        "n_doses": params["doses"],
        "cohort_size": params["cohort_size"],
        "n_cohorts": params["cohorts"],
        "skeleton": _floats(params["skeleton"], "skeleton"),
        "model": params["model"],
        "n_patients": params["patients"],
        "deescalation": params["deescalation"] or None,
        "dose_values": _floats(params["dose_values"], "dose-values"),
        "unit": params["unit"],
        "start_dose": params["start_dose"],
        "expansion": params["expansion"],
        "expansion_tox_limit": params["expansion_tox_limit"],
        "n_earlystop": params["n_earlystop"],
    }


_TARGET = typer.Option(None, "--target", help="Target DLT rate (BOIN, CRM).")
_DOSES = typer.Option(None, "--doses", help="Number of dose levels.")
_COHORT = typer.Option(None, "--cohort-size", help="Patients per cohort.")
_COHORTS = typer.Option(None, "--cohorts", help="Maximum number of cohorts (BOIN).")
_SKELETON = typer.Option(None, "--skeleton", help="CRM skeleton, e.g. 0.05,0.12,0.25,0.4.")
_MODEL = typer.Option(None, "--model", help="CRM model: empiric or logistic.")
_PATIENTS = typer.Option(None, "--patients", help="Sample size (CRM).")
_DEESC = typer.Option(False, "--deescalation", help="3+3 with de-escalation (Korn et al.).")
_DVALUES = typer.Option(None, "--dose-values", help="Dose amounts, e.g. 0.5,1,2.")
_UNIT = typer.Option("", "--unit", help="Unit of the dose amounts, e.g. 'x 10^6 cells/kg'.")
_START = typer.Option(None, "--start-dose", help="Starting dose level (1-based).")
_EXPANSION = typer.Option(None, "--expansion", help="Expansion cohort size at the RP2D.")
_EXP_TOX = typer.Option(
    None, "--expansion-tox-limit", help="Stop the expansion if Pr(DLT rate > limit) > 0.9."
)
_EARLY = typer.Option(
    None, "--n-earlystop", help="BOIN: stop when this many are at the current dose."
)
_P0 = typer.Option(
    None,
    "--p0",
    help="Uninteresting response rate (Simon, predictive) or acceptable toxicity (Ivanova).",
)
_P1 = typer.Option(
    None, "--p1", help="Desirable response rate (Simon) or unacceptable toxicity (Ivanova)."
)
_ALPHA = typer.Option(None, "--alpha", help="Type I error (Simon).")
_BETA = typer.Option(None, "--beta", help="Type II error (Simon).")
_KIND = typer.Option(None, "--kind", help="Simon: optimal or minimax.")
_STD_RATE = typer.Option(
    None, "--standard-rate", help="Thall-Simon: historical rate on standard therapy."
)
_STD_N = typer.Option(
    None, "--standard-n", help="Thall-Simon: patients behind the historical rate."
)
_STD_PRIOR = typer.Option(
    None, "--standard-prior", help="Thall-Simon: Beta prior a,b of the standard rate."
)
_EXP_PRIOR = typer.Option(
    None, "--experimental-prior", help="Thall-Simon: Beta prior a,b of the experimental rate."
)
_EXP_ESS = typer.Option(
    None, "--experimental-ess", help="Thall-Simon: effective sample size of the experimental prior."
)
_DELTA = typer.Option(None, "--delta", help="Thall-Simon: targeted improvement (futility rule).")
_P_UPPER = typer.Option(
    None, "--p-upper", help="Thall-Simon: posterior threshold to declare efficacy."
)
_P_LOWER = typer.Option(
    None, "--p-lower", help="Thall-Simon: posterior threshold to stop for futility."
)
_N_MIN = typer.Option(None, "--n-min", help="First look (phase II / monitoring).")
_N_MAX = typer.Option(None, "--n-max", help="Maximum sample size (phase II / monitoring).")
_PRIOR = typer.Option(None, "--prior", help="Beta prior a,b (predictive, tox-monitor).")
_THETA_T = typer.Option(None, "--theta-t", help="Predictive: end-of-trial posterior threshold.")
_THETA_L = typer.Option(None, "--theta-lower", help="Predictive: futility threshold.")
_LIMIT = typer.Option(None, "--limit", help="Tox-monitor: unacceptable toxicity rate.")
_CUTOFF = typer.Option(
    None, "--cutoff", help="Tox-monitor: posterior probability that stops the trial."
)
_METHOD = typer.Option(None, "--method", help="Tox-monitor: bayesian or ivanova.")
_LOOKS = typer.Option(
    None, "--looks", help="Tox-monitor (ivanova): sample sizes of the looks, e.g. 10,20,30."
)
_EFF_H = typer.Option(None, "--eff-hurdle", help="EffTox: minimum acceptable efficacy rate.")
_TOX_H = typer.Option(None, "--tox-hurdle", help="EffTox: maximum acceptable toxicity rate.")
_EFF_PRIORS = typer.Option(
    None,
    "--efftox-priors",
    help="EffTox: 12 numbers, mean and sd of alpha, beta, gamma, zeta, eta, psi "
    "(default: Thall et al. 2014).",
)
_TRUTH_EFF = typer.Option(None, "--truth-eff", help="EffTox: true efficacy rates per dose.")
_PLOT = typer.Option(None, "--plot", help="Write the OC and dose-path figure (PNG).")
_JSON = typer.Option(False, "--json", help="Machine-readable JSON output.")
_CSV = typer.Option(False, "--csv", help="CSV output.")


@app.command("design")
def design_cmd(
    name: str = typer.Argument(..., help=DESIGN_HELP),
    target: float | None = _TARGET,
    doses: int | None = _DOSES,
    cohort_size: int | None = _COHORT,
    cohorts: int | None = _COHORTS,
    skeleton: str | None = _SKELETON,
    model: str | None = _MODEL,
    patients: int | None = _PATIENTS,
    deescalation: bool = _DEESC,
    dose_values: str | None = _DVALUES,
    unit: str = _UNIT,
    start_dose: int | None = _START,
    expansion: int | None = _EXPANSION,
    expansion_tox_limit: float | None = _EXP_TOX,
    n_earlystop: int | None = _EARLY,
    full: bool = typer.Option(False, "--full", help="BOIN: every n, not only cohort multiples."),
    p0: float | None = _P0,
    p1: float | None = _P1,
    alpha: float | None = _ALPHA,
    beta: float | None = _BETA,
    kind: str | None = _KIND,
    standard_rate: float | None = _STD_RATE,
    standard_n: float | None = _STD_N,
    standard_prior: str | None = _STD_PRIOR,
    experimental_prior: str | None = _EXP_PRIOR,
    experimental_ess: float | None = _EXP_ESS,
    delta: float | None = _DELTA,
    p_upper: float | None = _P_UPPER,
    p_lower: float | None = _P_LOWER,
    n_min: int | None = _N_MIN,
    n_max: int | None = _N_MAX,
    prior: str | None = _PRIOR,
    theta_t: float | None = _THETA_T,
    theta_lower: float | None = _THETA_L,
    limit: float | None = _LIMIT,
    cutoff: float | None = _CUTOFF,
    method: str | None = _METHOD,
    looks: str | None = _LOOKS,
    eff_hurdle: float | None = _EFF_H,
    tox_hurdle: float | None = _TOX_H,
    efftox_priors: str | None = _EFF_PRIORS,
    as_json: bool = _JSON,
    as_csv: bool = _CSV,
) -> None:
    """Print a design's decision table: what to do after any outcome.

    Dose finding: 3+3, boin, crm. Phase II and monitoring: thall-simon, simon, predictive,
    tox-monitor (boundaries per look).
    """
    params = dict(locals())  # the options, by name, for the settings builders
    from earlyphase.designs.spec import PHASE2_DESIGNS, build_phase2, decision_rules

    try:
        p2 = _phase2_options(params)
        if name.lower() in PHASE2_DESIGNS:
            d2 = build_phase2(name, p2)
            _print_frame(d2.protocol_table(), f"{name} boundaries", as_json, as_csv)
            return
        design = _design_from_options(name, _design_options(params))
        frame = decision_rules(design, depth=2, full=full)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    _print_frame(frame, design.describe(), as_json, as_csv)


@app.command("simulate")
def simulate_cmd(
    name: str = typer.Argument(..., help=DESIGN_HELP),
    truth: str = typer.Option(..., "--truth", help="True DLT rates, e.g. 0.05,0.1,0.2,0.3,0.5."),
    exact: bool = typer.Option(False, "--exact", help="Exact operating characteristics."),
    sims: int | None = typer.Option(None, "--sims", help="Number of simulated trials."),
    seed: int | None = typer.Option(None, "--seed", help="Random seed (common random numbers)."),
    plot: Path | None = _PLOT,
    target: float | None = _TARGET,
    doses: int | None = _DOSES,
    cohort_size: int | None = _COHORT,
    cohorts: int | None = _COHORTS,
    skeleton: str | None = _SKELETON,
    model: str | None = _MODEL,
    patients: int | None = _PATIENTS,
    deescalation: bool = _DEESC,
    dose_values: str | None = _DVALUES,
    unit: str = _UNIT,
    start_dose: int | None = _START,
    expansion: int | None = _EXPANSION,
    expansion_tox_limit: float | None = _EXP_TOX,
    n_earlystop: int | None = _EARLY,
    p0: float | None = _P0,
    p1: float | None = _P1,
    alpha: float | None = _ALPHA,
    beta: float | None = _BETA,
    kind: str | None = _KIND,
    standard_rate: float | None = _STD_RATE,
    standard_n: float | None = _STD_N,
    standard_prior: str | None = _STD_PRIOR,
    experimental_prior: str | None = _EXP_PRIOR,
    experimental_ess: float | None = _EXP_ESS,
    delta: float | None = _DELTA,
    p_upper: float | None = _P_UPPER,
    p_lower: float | None = _P_LOWER,
    n_min: int | None = _N_MIN,
    n_max: int | None = _N_MAX,
    prior: str | None = _PRIOR,
    theta_t: float | None = _THETA_T,
    theta_lower: float | None = _THETA_L,
    limit: float | None = _LIMIT,
    cutoff: float | None = _CUTOFF,
    method: str | None = _METHOD,
    looks: str | None = _LOOKS,
    eff_hurdle: float | None = _EFF_H,
    tox_hurdle: float | None = _TOX_H,
    efftox_priors: str | None = _EFF_PRIORS,
    truth_eff: str | None = _TRUTH_EFF,
    as_json: bool = _JSON,
    as_csv: bool = _CSV,
) -> None:
    """Operating characteristics under a true dose-toxicity curve (exact or simulated).

    For phase II and monitoring designs, --truth lists true rates; the exact probabilities of
    crossing each boundary and the expected sample size are printed.
    """
    params = dict(locals())  # the options, by name, for the settings builders
    import json

    from earlyphase.designs.spec import PHASE2_DESIGNS, build_phase2
    from earlyphase.simulate import simulate_oc

    try:
        p = _floats(truth, "truth") or []
        p2 = _phase2_options(params)
        if name.lower() == "efftox":
            d2 = build_phase2(name, p2)
            eff = _floats(truth_eff, "truth-eff")
            if eff is None:
                raise ValueError("truth-eff: EffTox needs the true efficacy rates too")
            frame = d2.operating_characteristics((eff, p), n_sims=sims or 1000, seed=seed).table()
            _print_frame(frame, "EffTox: simulated operating characteristics", as_json, as_csv)
            return
        if name.lower() in PHASE2_DESIGNS:
            d2 = build_phase2(name, p2)
            frame = d2.operating_characteristics(p).table()
            if plot is not None:
                from earlyphase.figures.boundaries import plot_boundaries

                plot_boundaries(d2, plot, title=name)
            _print_frame(frame, f"{name}: exact operating characteristics", as_json, as_csv)
            if plot is not None and not (as_json or as_csv):
                Console().print(f"figure written to {plot}")
            return
        opts = _design_options(params)
        if opts["n_doses"] is None and name.lower() != "crm" and opts["dose_values"] is None:
            opts["n_doses"] = len(p)
        design = _design_from_options(name, opts)
        if exact and sims is not None:
            raise ValueError("sims: choose --exact or --sims N, not both")
        if exact or sims is None:
            oc = design.operating_characteristics(p, method="exact")
        else:
            from earlyphase.engine.states import check_truth

            truth_arr = check_truth(p, design.n_doses)
            if sims >= 20_000 and not (as_json or as_csv):
                from rich.progress import Progress

                with Progress(transient=True, console=Console(stderr=True)) as bar:
                    task = bar.add_task("simulating", total=sims)
                    oc = simulate_oc(
                        design,
                        truth_arr,
                        n_sims=sims,
                        seed=seed,
                        progress=lambda done, _n: bar.update(task, completed=done),
                    )
            else:
                oc = simulate_oc(design, truth_arr, n_sims=sims, seed=seed)
        if plot is not None:
            from earlyphase.figures import plot_design_summary

            plot_design_summary(oc, design.dose_paths(3 if design.cohort_size > 1 else 4), plot)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps(oc.to_dict(), indent=2))
        return
    if as_csv:
        typer.echo(oc.table().to_csv(index=False), nl=False)
        return
    _print_frame(
        oc.table(),
        f"{oc.design} ({oc.method}" + (f", {oc.n_sims} trials)" if oc.n_sims else ")"),
        False,
        False,
    )
    s = oc.summary()
    console = Console(width=140)
    console.print(
        f"P(no dose selected) = {s['prob_no_selection']:.4f}; E[N] = {s['mean_total_n']:.2f} "
        f"(SD {s['sd_total_n']:.2f}, range {s['min_total_n']}-{s['max_total_n']}); "
        f"E[DLTs] = {s['mean_total_dlt']:.2f}"
        + (
            ""
            if s["prob_overdose_60"] is None
            else f"; P(>60% of patients above target) = {s['prob_overdose_60']:.4f}"
        )
    )
    if plot is not None:
        console.print(f"figure written to {plot}")


@app.command("decide")
def decide_cmd(
    name: str = typer.Argument(..., help=DESIGN_HELP),
    outcomes: str = typer.Option("", "--outcomes", help="Outcomes so far, e.g. '1NNN 2NTN'."),
    target: float | None = _TARGET,
    doses: int | None = _DOSES,
    cohort_size: int | None = _COHORT,
    cohorts: int | None = _COHORTS,
    skeleton: str | None = _SKELETON,
    model: str | None = _MODEL,
    patients: int | None = _PATIENTS,
    deescalation: bool = _DEESC,
    dose_values: str | None = _DVALUES,
    unit: str = _UNIT,
    start_dose: int | None = _START,
    expansion: int | None = _EXPANSION,
    expansion_tox_limit: float | None = _EXP_TOX,
    n_earlystop: int | None = _EARLY,
) -> None:
    """What the next cohort gets after the outcomes so far."""
    params = dict(locals())  # the options, by name, for the settings builders
    try:
        design = _design_from_options(name, _design_options(params))
        decision = design.decide(outcomes or None)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    Console().print(str(decision))


_SOURCE = typer.Argument(..., help="Folder of ADaM-style tables, or a trial database file / URL.")
_TRIAL = typer.Option(None, "--trial", help="Trial name, when reporting from a database.")
_ARD = typer.Option(None, "--ard", help="Also write every table's numbers (ARD) as CSV.")
_OUTPUT = typer.Option(Path("report.html"), "-o", "--output", help="HTML file to write.")


@app.command("report")
def report_cmd(
    source: str = _SOURCE,
    output: Path = _OUTPUT,
    pdf: bool = typer.Option(False, "--pdf", help="Also print a PDF next to it (needs Chromium)."),
    ard: Path | None = _ARD,
    trial_name: str | None = _TRIAL,
) -> None:
    """Write the trial's results as one self-contained HTML report (and optionally PDF), from a
    folder of ADaM-style tables or from a trial database
    (``earlyphase report trial.db --trial X``)."""
    from earlyphase.data import DataError, load_trial
    from earlyphase.report import render_report, write_pdf

    try:
        if Path(source).is_dir():
            trial = load_trial(source)
        else:
            from earlyphase.conduct import TrialService, open_store

            if not trial_name:
                raise ValueError("trial: name the trial to report from the database (--trial)")
            if "://" not in str(source) and not Path(source).exists():
                raise ValueError(f"source: {source} is neither a data folder nor a database file")
            trial = TrialService(open_store(str(source))).export(trial_name)
        path = render_report(trial, output, ard_path=ard)
        Console().print(f"report written to {path}")
        if pdf:
            pdf_path = write_pdf(path, path.with_suffix(".pdf"))
            Console().print(f"PDF written to {pdf_path}")
    except DataError as exc:
        raise _fail(str(exc)) from None
    except ValueError as exc:
        raise _fail(str(exc)) from None


_DATABASE = typer.Option(
    None, "--database", help="SQLite file (default ./earlyphase.db) or postgresql://..."
)
audit_app = typer.Typer(help="The audit trail of a trial database.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify_cmd(database: str | None = _DATABASE) -> None:
    """Recompute the hash chain; exit 1 if any entry was altered or removed."""
    from earlyphase.conduct import audit, open_store

    with open_store(database)() as s:
        res = audit.verify(s)
    Console().print(res.message)
    if not res.ok:
        raise typer.Exit(code=1)


@audit_app.command("export")
def audit_export_cmd(database: str | None = _DATABASE) -> None:
    """Print the audit trail as CSV."""
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
