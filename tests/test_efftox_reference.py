"""``EffTox.fit``/``decide``/``decision_table``/``operating_characteristics`` against R trialr.

The design is Thall, Herrick, Nguyen, Venier & Norris (2014, Clin Trials 11:657-666), as
parameterised by trialr's ``stan_efftox_demo`` and earlyphase's ``THALL_2014``: doses 1, 2, 4,
6.6, 10; hurdles 0.5 / 0.3; p_e = p_t = 0.1; hinge points (0.5, 0), (1, 0.65), (0.7, 0.25).
tests/test_efftox_multi_outcome.py already checks the MD Anderson software's values after
"1NNN" (atol 0.02) and the trialr vignette's "1NNE 2EEB" -> dose 3.

References (none of them earlyphase output):

1. ``tests/fixtures/trialr_efftox.json``: trialr 0.1.6 ``stan_efftox_demo`` (rstan 2.21.7, 4 chains
   x 40000 iterations, 5000 warm-up) for the 20 possible first cohorts at dose 1 and six later
   outcome strings (script ``tests/fixtures/r/make_efftox_trialr_fixture.R``). MCMC tolerance:
   0.003 (the posterior-mean accuracy earlyphase's EffTox documents for its quadrature) plus 4
   Monte Carlo standard errors: rstan's ``se_mean`` for the posterior means of pi_E and pi_T;
   sqrt(p (1 - p) / n_eff) for the acceptability probabilities, with ``n_eff`` of the matching
   pi_E or pi_T (an approximation: the indicator's own n_eff is not saved). A recommendation is
   compared only where no acceptability probability of an admissible dose lies within that
   tolerance of its cut-off 0.1 and the utility gap between the best two admissible acceptable
   doses exceeds it.
2. ``tests/fixtures/trialr_efftox_simulate_{A,B}.json``: trialr ``efftox_simulate`` (250 trials per
   scenario, 12 patients, script ``tests/fixtures/r/make_efftox_simulate_fixture.R``), with the
   same rules as earlyphase for a trial starting at dose 1 (trialr admits doses in [lowest given
   - 1, highest given + 1]; earlyphase never skips above the highest given + 1).
3. Closed form (Wald's identity): in any sequential design, E[toxicities at dose d] =
   pi_T(d) E[patients at dose d], and likewise for responses.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.stats import chi2_contingency

from earlyphase.designs.efftox import THALL_2014, EffTox

FIXTURES = Path(__file__).parent / "fixtures"
TRIALR = json.loads((FIXTURES / "trialr_efftox.json").read_text(encoding="utf-8"))
FITS: dict[str, dict[str, Any]] = {f["outcomes"]: f for f in TRIALR["fits"]}
FIRST_COHORTS = [o for o in FITS if " " not in o]
LATER = [o for o in FITS if " " in o]
DOC_ACCURACY = 0.003  # earlyphase EffTox's documented quadrature accuracy of posterior means


@pytest.fixture(scope="module")
def default() -> EffTox:
    return EffTox(**THALL_2014)


def _tolerances(f: dict[str, Any]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(trialr value, tolerance) per summary."""
    pae, pat = np.array(f["prob_acc_eff"]), np.array(f["prob_acc_tox"])
    ne, nt = np.array(f["n_eff_prob_eff"]), np.array(f["n_eff_prob_tox"])
    se_ae = np.sqrt(np.maximum(pae * (1 - pae), 1e-4) / ne)
    se_at = np.sqrt(np.maximum(pat * (1 - pat), 1e-4) / nt)
    return {
        "prob_eff": (np.array(f["prob_eff"]), DOC_ACCURACY + 4 * np.array(f["se_prob_eff"])),
        "prob_tox": (np.array(f["prob_tox"]), DOC_ACCURACY + 4 * np.array(f["se_prob_tox"])),
        "prob_acc_eff": (pae, DOC_ACCURACY + 4 * se_ae),
        "prob_acc_tox": (pat, DOC_ACCURACY + 4 * se_at),
    }


def _check_posterior(design: EffTox, outcomes: str) -> None:
    f = FITS[outcomes]
    got = design.fit(outcomes)
    for name, (want, tol) in _tolerances(f).items():
        diff = np.abs(getattr(got, name) - want)
        # source: trialr 0.1.6 stan_efftox_demo posterior means (fixture)
        assert np.all(diff <= tol), (
            f"{outcomes} {name}: |diff| {diff.round(4)} > tol {tol.round(4)}"
        )


def _robust_recommendation(f: dict[str, Any]) -> bool:
    """True when trialr's recommendation is not decided within the comparison tolerance."""
    tol = _tolerances(f)
    doses = [int(x) for x in _given_doses(f["outcomes"])]
    lo, hi = min(doses) - 1, max(doses) + 1
    admissible = [k for k in range(5) if lo <= k + 1 <= hi]
    for key in ("prob_acc_eff", "prob_acc_tox"):
        want, t = tol[key]
        if any(abs(want[k] - 0.1) <= t[k] for k in admissible):
            return False
    acc = [k for k in admissible if f["prob_acc_eff"][k] > 0.1 and f["prob_acc_tox"][k] > 0.1]
    util = sorted((f["utility"][k] for k in acc), reverse=True)
    return len(util) < 2 or util[0] - util[1] > 0.02


def _given_doses(outcomes: str) -> list[str]:
    return [tok[0] for tok in outcomes.split()]


@pytest.mark.parametrize("outcomes", list(FITS))
def test_posterior_matches_trialr(default: EffTox, outcomes: str) -> None:
    _check_posterior(default, outcomes)


def test_decision_table_matches_trialr_first_cohorts(default: EffTox) -> None:
    """The 20 possible first cohorts at dose 1: next dose = trialr's ``recommended_dose``, and the
    acceptable doses = those with trialr's Pr(pi_E > 0.5) > 0.1 and Pr(pi_T < 0.3) > 0.1
    (earlyphase's column ignores admissibility; trialr's ``acceptable`` also requires the dose
    to be within one level of those given), checked where the call is not within tolerance."""
    tab = default.first_cohort_table()
    assert sorted(tab["first cohort"]) == sorted(FIRST_COHORTS)
    for _, row in tab.iterrows():
        f = FITS[row["first cohort"]]
        assert _robust_recommendation(f), row["first cohort"]
        assert row["next dose"] == int(f["recommended_dose"][0])  # source: trialr (all 2)
        tol = _tolerances(f)
        listed = {int(v) for v in str(row["acceptable doses"]).split(",") if v}
        for k in range(5):
            pe, te = tol["prob_acc_eff"][0][k], tol["prob_acc_eff"][1][k]
            pt, tt = tol["prob_acc_tox"][0][k], tol["prob_acc_tox"][1][k]
            if abs(pe - 0.1) <= te or abs(pt - 0.1) <= tt:
                continue  # too close to the cut-off to call
            assert ((k + 1) in listed) == (pe > 0.1 and pt > 0.1), (row["first cohort"], k + 1)


@pytest.mark.parametrize("outcomes", [o for o in LATER if o != "1NNN 2TTT"])
def test_decide_matches_trialr_later_cohorts(default: EffTox, outcomes: str) -> None:
    f = FITS[outcomes]
    assert _robust_recommendation(f)
    # source: trialr stan_efftox_demo(outcomes)$recommended_dose
    assert (
        str(default.decide(outcomes))
        == f"treat the next cohort at dose {int(f['recommended_dose'][0])}"
    )


def test_decide_after_three_toxicities_at_dose_2(default: EffTox) -> None:
    """A knife-edge case: trialr's Pr(pi_T(3) < 0.3) is 0.1032, just above the 0.1 cut-off, so
    dose 3 stays acceptable (a 4096-point rule gave 0.0985 and stopped)."""
    assert FITS["1NNN 2TTT"]["recommended_dose"] == [3]  # source: trialr
    assert default.decide("1NNN 2TTT").dose == 3


def test_decide_start_and_maximum_sample_size() -> None:
    """Hand-worked: before any data the first cohort gets the starting dose; once n_patients
    are treated the trial stops, recommending trialr's dose for the data (1NNN 2ENN -> 3)."""
    six = EffTox(**{**THALL_2014, "n_patients": 6})
    assert str(six.decide("")) == "start: treat the first cohort at dose 1"
    assert int(FITS["1NNN 2ENN"]["recommended_dose"][0]) == 3  # source: trialr
    dec = six.decide("1NNN 2ENN")
    assert dec.stop and dec.selected == 3
    assert str(dec) == "stop: maximum sample size reached; recommend dose 3"


# --- operating characteristics ------------------------------------------------------------------


def _oc_fixture(scenario: str) -> dict[str, Any]:
    path = FIXTURES / f"trialr_efftox_simulate_{scenario}.json"
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def oc_runs() -> dict[str, Any]:
    et = EffTox(**{**THALL_2014, "n_patients": 12})
    out = {}
    for sc in ("A", "B"):
        r = _oc_fixture(sc)
        out[sc] = et.operating_characteristics(
            (r["true_eff"], r["true_tox"]), n_sims=1000, seed=29
        ).table()
    return out


@pytest.mark.parametrize("scenario", ["A", "B"])
def test_operating_characteristics_match_trialr_efftox_simulate(
    oc_runs: dict[str, Any], scenario: str
) -> None:
    """Selection probabilities (doses 1-5 and none) against trialr ``efftox_simulate``:
    tolerance 4 standard errors of the difference of two independent Monte Carlo proportions,
    sqrt(p (1 - p) / 1000 + p (1 - p) / 250) with p the pooled proportion; and a chi-square test
    of homogeneity of the two selection distributions (p > 0.001)."""
    r = _oc_fixture(scenario)
    oc = oc_runs[scenario]
    n_r, n_e = int(r["num_sims"]), 1000
    rec = [5 if v is None else int(v) - 1 for v in r["recommended_dose"]]
    counts_r = np.bincount(rec, minlength=6)
    counts_e = np.rint(oc["prob_selected"].to_numpy() * n_e).astype(int)
    p_r, p_e = counts_r / n_r, counts_e / n_e
    pooled = (counts_r + counts_e) / (n_r + n_e)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n_r + 1 / n_e))
    assert np.all(np.abs(p_e - p_r) <= 4 * se + 1e-12), (p_e.round(3), p_r.round(3))
    table = np.array([counts_r, counts_e])
    table = table[:, table.sum(axis=0) > 0]
    assert chi2_contingency(table)[1] > 0.001
    # mean patients per dose: n_d lies in [0, 12], so Var(n_d) <= m (12 - m) for its mean m
    # (Bhatia-Davis); tolerance 4 standard errors of the difference under that bound
    m_e, m_r = oc["mean_patients"].iloc[:5].to_numpy(), np.array(r["mean_patients"])
    se_n = np.sqrt(m_e * (12 - m_e) / n_e + m_r * (12 - m_r) / n_r)
    assert np.all(np.abs(m_e - m_r) <= 4 * se_n + 1e-12), (m_e.round(2), m_r.round(2))


@pytest.mark.parametrize("scenario", ["A", "B"])
def test_operating_characteristics_wald_identity(oc_runs: dict[str, Any], scenario: str) -> None:
    """Closed form: E[DLTs at d] = pi_T(d) E[n_d] and E[responses at d] = pi_E(d) E[n_d]. With
    1000 trials of 12 patients the sum over doses of the simulated difference has standard error
    at most sqrt(12 * 0.25 / 1000) = 0.055 per outcome; tolerance 4 SE = 0.22 patients."""
    oc = oc_runs[scenario].iloc[:5]
    for col, truth in (("mean_dlt", "true_tox"), ("mean_eff", "true_eff")):
        diff = oc[col].to_numpy() - oc[truth].to_numpy() * oc["mean_patients"].to_numpy()
        assert abs(diff.sum()) <= 0.22, (col, diff.round(3))
        assert np.all(np.abs(diff) <= 0.22), (col, diff.round(3))
