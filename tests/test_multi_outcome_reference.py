"""``MultiOutcomeMonitor.boundary_table`` (Thall, Simon & Estey 1995) against independent values.

The TSE rule at a look with ``n`` patients, written with the marginal Beta posteriors of the
Dirichlet model (TSE 1995, section 2; Thall & Simon 1994, eq. 1-3):

    P_E(x, n) = Pr(theta_E > theta_S + delta | x, n)
              = int_0^(1 - delta) [1 - F_Beta(t + delta; a_E + x, b_E + n - x)]
                                  f_Beta(t; a_S, b_S) dt

- efficacy: stop if responses <= L_n, the largest x with P_E(x, n) <= 1 - p_eff
  (equivalently Pr(theta_E < theta_S + delta_E | data) >= p_eff);
- toxicity: stop if toxicities >= U_n, the smallest x with P_T(x, n) >= p_tox.

References used here, none of them earlyphase output:
1. R ph2bayes 0.0.2 ``postprob`` (the integral above with R ``integrate``), boundaries found in R:
   ``tests/fixtures/ph2bayes_multi_outcome.json`` from
   ``tests/fixtures/r/make_multi_outcome_fixture.R``;
2. the same integral computed in this file with ``scipy.integrate.quad`` (Beta survival
   function from ``scipy.special.betainc``, density written out);
3. a closed form: with a uniform Beta(1, 1) standard prior and delta = 0,
   P(x, n) = Pr(theta_E > U) = E[theta_E] = (a_E + x) / (a_E + b_E + n); with a Beta(2, 1)
   standard prior (F_S(t) = t^2) it is E[theta_E^2] = (a+x)(a+x+1) / ((a+b+n)(a+b+n+1)).

(Thall, Simon & Estey's published AML boundaries could not be checked: their table is not
available here, and the values are not quoted from memory.)
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from scipy import integrate
from scipy.special import betainc, betaln

from earlyphase.designs.multi_outcome import MultiOutcomeMonitor

FIXTURE = Path(__file__).parent / "fixtures" / "ph2bayes_multi_outcome.json"
CONFIGS: list[dict[str, Any]] = json.loads(FIXTURE.read_text(encoding="utf-8"))["configs"]


def _s(v: Any) -> Any:
    return v[0] if isinstance(v, list) else v


def _monitor(cfg: dict[str, Any]) -> MultiOutcomeMonitor:
    return MultiOutcomeMonitor(
        tuple(cfg["eff_standard_prior"]),
        tuple(cfg["tox_standard_prior"]),
        tuple(cfg["eff_experimental_prior"]),
        tuple(cfg["tox_experimental_prior"]),
        delta_eff=_s(cfg["delta_eff"]),
        delta_tox=_s(cfg["delta_tox"]),
        p_eff=_s(cfg["p_eff"]),
        p_tox=_s(cfg["p_tox"]),
        n_min=int(_s(cfg["n_min"])),
        n_max=int(_s(cfg["n_max"])),
    )


def _column(frame: Any, col: str) -> list[int | None]:
    return [None if v is None or v is _NA else int(v) for v in frame[col].tolist()]


_NA: Any = __import__("pandas").NA


def _prob_superior(
    x: int, n: int, exp: tuple[float, float], std: tuple[float, float], delta: float
) -> float:
    """Pr(theta_E > theta_S + delta | x of n), by direct quadrature (independent of earlyphase)."""
    a_e, b_e = exp[0] + x, exp[1] + n - x
    a_s, b_s = std
    log_norm = float(betaln(a_s, b_s))

    def integrand(t: float) -> float:
        if t <= 0.0 or t >= 1.0:
            return 0.0
        # survival function of Beta(a_e, b_e) at t + delta times the Beta(a_s, b_s) density
        sf = 1.0 - float(betainc(a_e, b_e, min(t + delta, 1.0)))
        return sf * math.exp((a_s - 1) * math.log(t) + (b_s - 1) * math.log1p(-t) - log_norm)

    value, _ = integrate.quad(integrand, 0.0, 1.0 - delta, epsabs=1e-12, epsrel=1e-10, limit=200)
    return float(value)


def _boundaries(cfg: dict[str, Any]) -> tuple[list[int | None], list[int | None]]:
    eff, tox = [], []
    for n in range(int(_s(cfg["n_min"])), int(_s(cfg["n_max"])) + 1):
        pe = [
            _prob_superior(
                x,
                n,
                tuple(cfg["eff_experimental_prior"]),
                tuple(cfg["eff_standard_prior"]),
                _s(cfg["delta_eff"]),
            )
            for x in range(n + 1)
        ]
        pt = [
            _prob_superior(
                x,
                n,
                tuple(cfg["tox_experimental_prior"]),
                tuple(cfg["tox_standard_prior"]),
                _s(cfg["delta_tox"]),
            )
            for x in range(n + 1)
        ]
        low = [x for x in range(n + 1) if pe[x] <= 1 - _s(cfg["p_eff"])]
        high = [x for x in range(n + 1) if pt[x] >= _s(cfg["p_tox"])]
        eff.append(max(low) if low else None)
        tox.append(min(high) if high else None)
    return eff, tox


@pytest.mark.parametrize("cfg", CONFIGS, ids=[c["id"] for c in CONFIGS])
def test_decision_table_matches_ph2bayes_postprob(cfg: dict[str, Any]) -> None:
    tab = _monitor(cfg).boundary_table()
    assert tab["n"].tolist() == [int(v) for v in cfg["n"]]
    # source: R ph2bayes 0.0.2 postprob(), boundaries searched in R (fixture)
    assert _column(tab, "eff_stop_if_le") == [
        None if v is None else int(v) for v in cfg["eff_stop_if_le"]
    ]
    assert _column(tab, "tox_stop_if_ge") == [
        None if v is None else int(v) for v in cfg["tox_stop_if_ge"]
    ]
    # no boundary of the fixture is decided by less than 1e-5 of posterior probability
    assert min(cfg["margin_eff"] + cfg["margin_tox"]) > 1e-5


@pytest.mark.parametrize("cfg", CONFIGS, ids=[c["id"] for c in CONFIGS])
def test_decision_table_matches_scipy_quadrature(cfg: dict[str, Any]) -> None:
    tab = _monitor(cfg).boundary_table()
    eff, tox = _boundaries(cfg)  # source: scipy quad of the TSE integral, in this file
    assert _column(tab, "eff_stop_if_le") == eff
    assert _column(tab, "tox_stop_if_ge") == tox


def test_decision_table_closed_form_uniform_and_power_standard_priors() -> None:
    """Closed form (module docstring, item 3): efficacy with standard Beta(1, 1), experimental
    Beta(1, 1): P = (x + 1)/(n + 2); toxicity with standard Beta(2, 1), experimental Beta(1, 1):
    P = (x + 1)(x + 2)/((n + 2)(n + 3)). Thresholds 0.77 avoid exact ties for n <= 30."""
    p = 0.77
    m = MultiOutcomeMonitor((1, 1), (2, 1), (1, 1), (1, 1), p_eff=p, p_tox=p, n_min=1, n_max=30)
    tab = m.boundary_table()
    for row in tab.itertuples():
        n = int(row.n)
        low = [x for x in range(n + 1) if (x + 1) / (n + 2) <= 1 - p]
        high = [x for x in range(n + 1) if (x + 1) * (x + 2) / ((n + 2) * (n + 3)) >= p]
        want_eff = max(low) if low else None
        want_tox = min(high) if high else None
        got_eff = None if row.eff_stop_if_le is _NA else int(row.eff_stop_if_le)
        got_tox = None if row.tox_stop_if_ge is _NA else int(row.tox_stop_if_ge)
        assert (got_eff, got_tox) == (want_eff, want_tox), n
    # spot values worked by hand: n = 10: (x + 1)/12 <= 0.23 -> x <= 1.76 -> stop if <= 1;
    # (x + 1)(x + 2)/156 >= 0.77 -> (x + 1)(x + 2) >= 120.12 -> x = 10 (132), not 9 (110)
    ten = tab.set_index("n").loc[10]
    assert int(ten["eff_stop_if_le"]) == 1
    assert int(ten["tox_stop_if_ge"]) == 10
    # n = 1: (x + 1)/3 <= 0.23 has no solution -> no efficacy stop (NA)
    assert tab.set_index("n").loc[1, "eff_stop_if_le"] is _NA
    assert math.isclose((1 + 1) / (10 + 2), 1 / 6)


def test_decide_follows_the_table_of_the_docstring_design() -> None:
    """``decide`` applies the ph2bayes-checked boundaries (docstring config, n = 10: stop for
    efficacy if responses <= 0, for toxicity if toxicities >= 5; R fixture)."""
    (cfg,) = [c for c in CONFIGS if c["id"] == "docstring"]
    m = _monitor(cfg)
    i = [int(v) for v in cfg["n"]].index(10)
    assert cfg["eff_stop_if_le"][i] == 0 and cfg["tox_stop_if_ge"][i] == 5
    assert m.decide(0, 0, 10).reason == "stop: probably less effective than standard therapy"
    assert m.decide(1, 4, 10).reason == "continue"
    assert m.decide(1, 5, 10).reason == "stop: probably more toxic than standard therapy"
