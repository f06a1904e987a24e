"""Phase II and monitoring designs against R (ph2bayes 0.0.2, clinfun 1.1.5), published values
(Lee & Liu 2008; IPS trial Table 1) and closed forms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom

from earlyphase.designs.monitoring import ToxicityMonitor, bdrycross_prob, toxbdry
from earlyphase.designs.predictive import PredictiveProbability, predictive_probability
from earlyphase.designs.simon import SimonTwoStage, simon_search
from earlyphase.designs.spec import build_phase2
from earlyphase.designs.thall_simon import ThallSimon, beta_prior


def _changes(values: pd.Series, looks: pd.Series) -> str:
    """'n:b' at each look where the boundary takes a new value (ph2bayes' printing)."""
    out, prev = [], None
    for n, v in zip(looks, values, strict=True):
        cur = None if pd.isna(v) else int(v)
        if cur is not None and cur != prev:
            out.append(f"{int(n)}:{cur}")
        prev = cur
    return " ".join(out)


# --- Thall-Simon ---------------------------------------------------------------------------


def test_postprob_equals_ph2bayes() -> None:
    # R ph2bayes 0.0.2: postprob(5, 20, 0.6, 1.4, 15, 35, 0) and
    # postprob(10, 20, 0.6, 1.4, 15, 35, 0.15) (Thall & Simon 1994 posterior probability)
    ts = ThallSimon((15, 35), (0.6, 1.4), n_max=20)
    assert ts.prob_superior(5, 20, 0.0)[0] == pytest.approx(0.33089588699, abs=1e-10)
    assert ts.prob_superior(10, 20, 0.15)[0] == pytest.approx(0.60163217413, abs=1e-10)


@pytest.mark.parametrize(
    "kwargs, column, expected",
    [  # R ph2bayes 0.0.2: stopbound_post(theta, type, nmax, alpha_e, beta_e, alpha_s, beta_s,
        # delta): (0.05, "futility", 40, 0.6, 1.4, 15, 35, 0), (0.05, "futility", 30, 0.4, 1.6,
        # 10, 40, 0), (0.05, "futility", 40, 0.6, 1.4, 15, 35, 0.15) and (0.95, "superiority",
        # 40, 0.6, 1.4, 15, 35, 0); "n:b" = first n at which the printed bound becomes b
        (
            {
                "standard_prior": (15, 35),
                "experimental_prior": (0.6, 1.4),
                "delta": 0.0,
                "p_upper": None,
                "p_lower": 0.05,
                "n_max": 40,
            },
            "lower_stop_if_le",
            "6:0 13:1 18:2 24:3 29:4 35:5 40:6",
        ),
        (
            {
                "standard_prior": (10, 40),
                "experimental_prior": (0.4, 1.6),
                "delta": 0.0,
                "p_upper": None,
                "p_lower": 0.05,
                "n_max": 30,
            },
            "lower_stop_if_le",
            "7:0 19:1 29:2",
        ),
        (
            {
                "standard_prior": (15, 35),
                "experimental_prior": (0.6, 1.4),
                "delta": 0.15,
                "p_upper": None,
                "p_lower": 0.05,
                "n_max": 40,
            },
            "lower_stop_if_le",
            "3:0 7:1 11:2 14:3 17:4 20:5 23:6 26:7 29:8 32:9 35:10 38:11",
        ),
        (
            {
                "standard_prior": (15, 35),
                "experimental_prior": (0.6, 1.4),
                "p_upper": 0.95,
                "p_lower": None,
                "n_max": 40,
            },
            "upper_stop_if_ge",
            "3:3 4:4 6:5 8:6 10:7 13:8 15:9 17:10 19:11 22:12 24:13 26:14 29:15 31:16 34:17 "
            "36:18 38:19",
        ),
    ],
)
def test_stopbound_post(kwargs: dict, column: str, expected: str) -> None:
    tab = ThallSimon(**kwargs).boundary_table()
    assert _changes(tab[column], tab["n"]) == expected


def test_exact_oc_equals_bdrycross_prob() -> None:
    # first futility boundary above, continuous monitoring n = 1..40. R clinfun 1.1.5:
    # bdrycross.prob(1:40, r = n - L_n - 1 (r = n before n = 6), 1 - c(0.15, 0.30, 0.45)), with
    # L_n the stopbound_post bound (stop if responses <= L_n): pcross and ess; P(stop before
    # the final look) is its pstop
    ts = ThallSimon((15, 35), (0.6, 1.4), delta=0.0, p_upper=None, p_lower=0.05, n_max=40)
    oc = ts.operating_characteristics([0.15, 0.30, 0.45])
    np.testing.assert_allclose(oc["prob_lower"], [0.7750973, 0.1798477, 0.0308330], atol=5e-8)
    np.testing.assert_allclose(oc["expected_n"], [19.95181, 34.73822, 38.98152], atol=5e-6)
    np.testing.assert_allclose(
        oc["prob_lower_before_final"], [0.74423411, 0.17716414, 0.03082464], atol=5e-9
    )


def test_ips_trial_table_1() -> None:
    """IPS trial (HLC-001) Table 1: minimum survivors 5,5,5,6,6,6,7,7,8,8,8,9,9,9,10 for
    n = 6..20; reproduced by the parameterisation shipped in examples/."""
    ts = ThallSimon(
        beta_prior(0.245, 126),
        beta_prior(0.245, 5),
        delta=0.0,
        p_upper=0.95,
        p_lower=None,
        n_min=6,
        n_max=20,
    )
    assert ts.boundary_table()["upper_stop_if_ge"].tolist() == [
        5,
        5,
        5,
        6,
        6,
        6,
        7,
        7,
        8,
        8,
        8,
        9,
        9,
        9,
        10,
    ]
    # the trial: 5 of 7 alive at day 56 -> promising
    assert ts.decide(5, 7).crossed == "upper"
    assert ts.decide(4, 7).action == "continue"


def test_beta_prior_and_bad_input() -> None:
    assert beta_prior(0.245, 126) == (30.87, 95.13)
    with pytest.raises(ValueError, match=r"^standard_prior:"):
        ThallSimon((0, 1), (1, 1))
    with pytest.raises(ValueError, match=r"^experimental_prior:"):
        ThallSimon((1, 1), (1, -2))
    with pytest.raises(ValueError, match=r"^n_max:"):
        ThallSimon((1, 1), (1, 1), n_min=10, n_max=5)
    with pytest.raises(ValueError, match=r"^x:"):
        ThallSimon((15, 35), (0.6, 1.4), n_max=10).decide(6, 5)


# --- predictive probability ----------------------------------------------------------------


def test_lee_liu_example() -> None:
    # Lee & Liu (2008) p. 97: 0.5656; ph2bayes::predprob = 0.565558897525
    assert predictive_probability(16, 23, 40, (0.6, 0.4), 0.6, 0.9) == pytest.approx(
        0.565558897525, abs=1e-12
    )


@pytest.mark.parametrize(
    "prior, p0, n_max, expected",
    [  # R ph2bayes 0.0.2: stopbound_pred(0.05, "futility", 40, 0.6, 1.4, 0.3, 0.85) and
        # stopbound_pred(0.05, "futility", 30, 0.4, 1.6, 0.2, 0.85)
        (
            (0.6, 1.4),
            0.3,
            40,
            "4:0 8:1 11:2 14:3 17:4 20:5 22:6 25:7 27:8 29:9 32:10 34:11 36:12 37:13 39:14 40:15",
        ),
        ((0.4, 1.6), 0.2, 30, "4:0 10:1 14:2 18:3 21:4 24:5 27:6 29:7 30:8"),
    ],
)
def test_stopbound_pred(prior: tuple[float, float], p0: float, n_max: int, expected: str) -> None:
    tab = PredictiveProbability(
        prior, p0=p0, theta_t=0.85, theta_lower=0.05, n_max=n_max
    ).boundary_table()
    assert _changes(tab["lower_stop_if_le"], tab["n"]) == expected


# --- toxicity monitoring ----------------------------------------------------------------------


def test_bdrycross_prob() -> None:
    # R clinfun 1.1.5: bdrycross.prob(c(10, 20, 30), c(3, 5, 7), c(0.1, 0.2, 0.3))
    r = bdrycross_prob([10, 20, 30], [3, 5, 7], [0.1, 0.2, 0.3])
    np.testing.assert_allclose(r["pcross"], [0.0233419, 0.3123307, 0.7659352], atol=5e-8)
    np.testing.assert_allclose(r["pstop"], [0.01998704, 0.23173094, 0.61641612], atol=5e-9)
    np.testing.assert_allclose(r["ess"], [29.67218, 26.47395, 20.33195], atol=5e-6)


def test_toxbdry() -> None:
    # R clinfun 1.1.5: toxbdry(0.2, 0.35, c(20, 40, 60, 75)) and toxbdry(0.1, 0.3, 2:30) (the
    # Ivanova, Qaqish & Schell 2005 boundary): boundaries and the printed OC rows
    t = toxbdry(0.2, 0.35, [20, 40, 60, 75])
    assert t.lo_bdry.tolist() == [7, 12, 17, 20] and t.hi_bdry.tolist() == [7, 12, 17, 21]
    oc = t.oc.round(3)
    assert oc[["pcross_lo", "pstop_lo"]].iloc[0].tolist() == [0.101, 0.079]
    assert round(t.oc["ess_lo"].iloc[0], 1) == 72.0
    assert oc[["pcross_lo", "pstop_lo"]].iloc[-1].tolist() == [0.935, 0.859]
    assert round(t.oc["ess_lo"].iloc[-1], 1) == 39.9
    low = ToxicityMonitor.ivanova(0.1, 0.3, list(range(2, 31)))
    assert low.boundary_text() == "1/3, 2/8, 3/13, 4/20, 5/26, 6/30"
    high = ToxicityMonitor.ivanova(0.1, 0.3, list(range(2, 31)), boundary="high")
    assert high.boundary_text() == "1/3, 2/8, 3/13, 4/19, 5/26, 6/30"
    oc = low.operating_characteristics([0.1, 0.3])
    assert np.round(oc["prob_upper"], 3).tolist() == [0.100, 0.901]
    assert np.round(oc["prob_upper_before_final"], 3).tolist() == [0.099, 0.891]
    assert np.round(oc["expected_n"], 1).tolist() == [28.1, 12.6]


def test_bayesian_monitor_closed_form() -> None:
    # Beta(1, 1) prior, limit 0.3, cutoff 0.9: stop at the first x with 1 - pbeta(0.3, 1 + x,
    # 1 + n - x) > 0.9. For n = 3 that is x = 2 (0.9163) since x = 1 gives 0.6517.
    m = ToxicityMonitor.bayesian(0.3, cutoff=0.9, n_max=10)
    assert m.boundary_table().set_index("n").loc[3, "upper_stop_if_ge"] == 2
    assert m.decide(2, 3).stop and not m.decide(1, 3).stop
    # its P(stop) at p by brute-force enumeration of all 2^n outcome sequences for n_max = 4
    m4 = ToxicityMonitor.bayesian(0.3, cutoff=0.9, n_max=4)
    p = 0.25
    stop_at = dict(zip(m4.looks.tolist(), m4.upper.tolist(), strict=True))
    total = 0.0
    for code in range(16):
        seq = [(code >> i) & 1 for i in range(4)]
        prob = np.prod([p if s else 1 - p for s in seq])
        cum = np.cumsum(seq)
        if any(cum[n - 1] >= stop_at[n] for n in m4.looks.tolist()):
            total += prob
    assert m4.operating_characteristics(p)["prob_upper"].iloc[0] == pytest.approx(total, abs=1e-14)


def test_monitor_bad_input() -> None:
    with pytest.raises(ValueError, match=r"^p_hi:"):
        toxbdry(0.3, 0.2, [10, 20])
    with pytest.raises(ValueError, match=r"^looks:"):
        toxbdry(0.1, 0.3, [10])
    with pytest.raises(ValueError, match=r"^limit:"):
        ToxicityMonitor.bayesian(1.3)


# --- Simon ------------------------------------------------------------------------------------

# R clinfun 1.1.5: ph2simon(p0, p1, alpha, beta, nmax = 150)$out, Optimal and Minimax rows
# (r1, n1, r, n, EN(p0)); the designs of Simon (1989, Control Clin Trials 10:1-10)
SIMON = [
    (0.05, 0.25, 0.05, 0.20, (0, 9, 2, 17), 11.96, (0, 12, 2, 16), 13.84),
    (0.05, 0.25, 0.10, 0.10, (0, 9, 2, 24), 14.55, (0, 13, 2, 20), 16.41),
    (0.05, 0.25, 0.05, 0.10, (0, 9, 3, 30), 16.76, (0, 15, 3, 25), 20.37),
    (0.05, 0.20, 0.05, 0.20, (0, 10, 3, 29), 17.62, (0, 13, 3, 27), 19.81),
    (0.10, 0.30, 0.05, 0.20, (1, 10, 5, 29), 15.01, (1, 15, 5, 25), 19.51),
    (0.10, 0.30, 0.10, 0.10, (1, 12, 5, 35), 19.84, (1, 16, 4, 25), 20.37),
    (0.10, 0.30, 0.05, 0.10, (2, 18, 6, 35), 22.53, (2, 22, 6, 33), 26.18),
    (0.10, 0.25, 0.05, 0.20, (2, 18, 7, 43), 24.66, (2, 22, 7, 40), 28.84),
    (0.20, 0.40, 0.05, 0.20, (3, 13, 12, 43), 20.58, (4, 18, 10, 33), 22.25),
    (0.20, 0.40, 0.10, 0.10, (3, 17, 10, 37), 26.02, (3, 19, 10, 36), 28.26),
    (0.20, 0.40, 0.05, 0.10, (4, 19, 15, 54), 30.43, (5, 24, 13, 45), 31.23),
    (0.20, 0.35, 0.05, 0.20, (5, 22, 19, 72), 35.37, (6, 31, 15, 53), 40.44),
    (0.30, 0.50, 0.05, 0.20, (5, 15, 18, 46), 23.63, (6, 19, 16, 39), 25.69),
    (0.30, 0.45, 0.05, 0.20, (9, 27, 30, 81), 41.71, (16, 46, 25, 65), 49.63),
    (0.40, 0.60, 0.05, 0.20, (7, 16, 23, 46), 24.52, (17, 34, 20, 39), 34.44),
    (0.50, 0.70, 0.05, 0.20, (8, 15, 26, 43), 23.50, (12, 23, 23, 37), 27.74),
    (0.60, 0.80, 0.05, 0.20, (7, 11, 30, 43), 20.48, (8, 13, 25, 35), 20.77),
    (0.70, 0.90, 0.05, 0.20, (4, 6, 22, 27), 14.82, (19, 23, 21, 26), 23.16),
]


@pytest.mark.parametrize("p0, p1, alpha, beta, opt, en_opt, mm, en_mm", SIMON)
def test_simon_designs(
    p0: float,
    p1: float,
    alpha: float,
    beta: float,
    opt: tuple,
    en_opt: float,
    mm: tuple,
    en_mm: float,
) -> None:
    o = SimonTwoStage.optimal(p0, p1, alpha, beta)
    m = SimonTwoStage.minimax(p0, p1, alpha, beta)
    assert (o.r1, o.n1, o.r, o.n) == opt and round(o.error_rates()["en0"], 2) == en_opt
    assert (m.r1, m.n1, m.r, m.n) == mm and round(m.error_rates()["en0"], 2) == en_mm


def test_simon_admissible_oc_and_inference() -> None:
    adm = SimonTwoStage.admissible(0.1, 0.3, 0.05, 0.2)
    # R clinfun 1.1.5: print(ph2simon(0.1, 0.3, 0.05, 0.2)) lists the Admissible designs
    # (Jung et al. 2004) 1/12, 5/26 (EN 16.77) and 1/11, 5/27 (EN 15.84)
    mid = adm[adm.index == "Admissible"]
    assert mid[["r1", "n1", "r", "n"]].values.tolist() == [[1, 12, 5, 26], [1, 11, 5, 27]]
    assert np.round(mid["EN0"], 2).tolist() == [16.77, 15.84]
    d = SimonTwoStage(0.1, 0.3, 1, 10, 5, 29)
    er = d.error_rates()  # R clinfun 1.1.5: oc.twostage.bdry(0.1, 0.3, 1, 10, 5, 29)
    assert er["alpha"] == pytest.approx(0.04708631, abs=5e-9)
    assert er["power"] == pytest.approx(0.80506291, abs=5e-9)
    assert er["pet0"] == pytest.approx(0.73609893, abs=5e-9)
    assert er["en0"] == pytest.approx(15.01412035, abs=5e-9)
    inf6 = d.inference(6, method="clinfun")  # twostage.inference(6, 1, 10, 29, 0.1)
    assert inf6["umvue"] == pytest.approx(0.26130853, abs=5e-9)
    assert inf6["p_value"] == pytest.approx(0.04708631, abs=5e-9)
    assert (round(inf6["lower"], 4), round(inf6["upper"], 4)) == (0.1016, 0.4007)
    inf4 = d.inference(4, method="clinfun")
    assert inf4["umvue"] == pytest.approx(0.2265096, abs=5e-8)
    assert inf4["p_value"] == pytest.approx(0.1747381, abs=5e-8)
    assert (round(inf4["lower"], 4), round(inf4["upper"], 4)) == (0.0623, 0.3943)
    # closed form: alpha = sum_{x1 > r1} b(x1; n1, p0) P(X2 > r - x1)
    alpha = sum(binom.pmf(x1, 10, 0.1) * binom.sf(5 - x1, 19, 0.1) for x1 in range(2, 11))
    assert er["alpha"] == pytest.approx(alpha, abs=1e-14)


def test_simon_decisions_and_bad_input() -> None:
    d = SimonTwoStage(0.1, 0.3, 1, 10, 5, 29)
    assert d.decide(1, 10).crossed == "lower"
    assert d.decide(2, 10).action == "continue"
    assert d.decide(6, 29).crossed == "upper"
    assert d.decide(5, 29).crossed == "lower"
    with pytest.raises(ValueError, match=r"^p1:"):
        SimonTwoStage.optimal(0.3, 0.2, 0.05, 0.2)
    with pytest.raises(ValueError, match=r"^alpha:"):
        SimonTwoStage.optimal(0.1, 0.3, 1.0, 0.2)
    with pytest.raises(ValueError, match=r"^n_max:"):
        simon_search(0.1, 0.3, 0.05, 0.2, n_max=5)


@pytest.mark.parametrize(
    ("name", "spec", "message"),
    [
        ("simon", {"p0": 0.1, "p1": 0.3, "alpha": 0.05, "beta": 0.2, "p_uper": 0.9}, "p_uper"),
        ("tox-monitor", {"limit": 0.3, "target": 0.3}, "target"),
        ("efftox", {"skeleton": [0.1, 0.2]}, "skeleton"),
    ],
)
def test_build_phase2_names_settings_the_design_does_not_have(
    name: str, spec: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=rf"^{message}: not a setting of the {name} design"):
        build_phase2(name, spec)
    with pytest.raises(ValueError, match=r"^design: unknown design 'fibonacci'"):
        build_phase2("fibonacci", {})
