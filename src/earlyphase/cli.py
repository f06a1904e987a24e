"""Command-line interface: ``earlyphase demo`` and friends."""

from __future__ import annotations

import math

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
        f"Posterior P(day-56 survival > {IPS_HISTORICAL_DAY56_SURVIVAL:.1%} | 5/7 alive, "
        f"uniform prior) = {s.prob_day56_above_historical:.4f}."
    )
    console.print(
        "Published: day-56 survival 71.4% (5/7; 95% CI 29.0%-96.3%), the same at day 100."
    )


if __name__ == "__main__":  # pragma: no cover
    app()
