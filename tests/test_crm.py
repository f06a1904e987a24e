"""CRM against R dfcrm 0.2-2.1 (crm, crmsim; fixtures/r_design_reference.json) and Cheung
(2011)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from earlyphase.designs import CRM

DESIGN_R = json.loads((Path(__file__).parent / "fixtures" / "r_design_reference.json").read_text())
SKELETON = [0.05, 0.10, 0.20, 0.35, 0.50, 0.70]
HELP = "3N 4N 4T 3N 3N 4T 3T 2N 2N 2N"  # dfcrm::crm help example (level, tox)


def test_crm_help_example() -> None:
    # R dfcrm 0.2-2.1, ?crm example (empiric, Bayes, defaults): crm(prior = SKELETON,
    # target = 0.2, tox = c(0,0,1,0,0,1,1,0,0,0), level = c(3,4,4,3,3,4,3,2,2,2)): $estimate,
    # sqrt($post.var), $ptox, $ptoxL, $ptoxU, $mtd; then the same with model = "logistic"
    f = CRM(SKELETON, 0.2).fit(HELP)
    assert f.estimate == pytest.approx(-0.2121715263, abs=1e-9)
    assert np.sqrt(f.post_var) == pytest.approx(0.3969830325, abs=1e-9)
    np.testing.assert_allclose(
        f.ptox,
        [0.08865294696, 0.1553009274, 0.2720538785, 0.4277897776, 0.5708462173, 0.7493958348],
        atol=1e-9,
    )
    np.testing.assert_allclose(
        f.ptox_lower,
        [0.00951151, 0.02792792, 0.08200259, 0.19565877, 0.34057361, 0.57449774],
        atol=5e-9,
    )
    np.testing.assert_allclose(
        f.ptox_upper,
        [0.28332294, 0.37932530, 0.50785752, 0.64277360, 0.74691284, 0.86057377],
        atol=5e-9,
    )
    assert f.mtd == 2
    g = CRM(SKELETON, 0.2, model="logistic").fit(HELP)
    assert g.estimate == pytest.approx(-0.1101116088, abs=1e-9)
    np.testing.assert_allclose(
        g.ptox, [0.08910298, 0.16038967, 0.28313704, 0.43986818, 0.57756796, 0.74492980], atol=5e-9
    )


def test_against_dfcrm_fixture() -> None:
    """20 fits: 5 data sets x empiric/logistic x prior variance 1.34/0.75. dfcrm integrates
    with R integrate(), accurate to about 1e-8 here; our quadrature is exact to ~1e-13."""
    for c in DESIGN_R["crm"]:
        h = " ".join(
            f"{int(lv)}{'T' if t else 'N'}" for lv, t in zip(c["level"], c["tox"], strict=True)
        )
        f = CRM(SKELETON, 0.2, model=c["model"], prior_sd=c["scale"][0]).fit(h)
        assert f.estimate == pytest.approx(c["estimate"][0], abs=5e-8)
        assert f.post_var == pytest.approx(c["post_var"][0], abs=5e-8)
        np.testing.assert_allclose(f.ptox, c["ptox"], atol=5e-8)
        np.testing.assert_allclose(f.ptox_lower, c["ptoxL"], atol=5e-8)
        np.testing.assert_allclose(f.ptox_upper, c["ptoxU"], atol=5e-8)
        assert f.mtd == int(c["mtd"][0])


def test_cheung_table_3_2() -> None:
    """Cheung (2011) Table 3.2, reproduced by dfcrm: logistic, intercept 3, start at dose 3,
    patient tolerances u_i with DLT if u_i < p(dose); no restrictions."""
    crm = CRM(
        [0.05, 0.12, 0.25, 0.40, 0.55],
        0.25,
        model="logistic",
        start_dose=3,
        n_patients=20,
        no_skipping=False,
        coherence=False,
    )
    p = [0.02, 0.04, 0.10, 0.25, 0.50]
    u = [
        0.571,
        0.642,
        0.466,
        0.870,
        0.634,
        0.390,
        0.524,
        0.773,
        0.175,
        0.627,
        0.321,
        0.099,
        0.383,
        0.995,
        0.628,
        0.346,
        0.919,
        0.022,
        0.647,
        0.469,
    ]
    hist: list[str] = []
    dose: int | None = 3
    doses, betas = [], []
    for ui in u:
        assert dose is not None
        doses.append(dose)
        hist.append(f"{dose}{'T' if ui < p[dose - 1] else 'N'}")
        betas.append(round(crm.fit(" ".join(hist)).estimate, 3))
        dec = crm.decide(" ".join(hist))
        dose = dec.dose
    assert doses == [3, 5, 5, 3, 4, 4, 5, 5, 5, 5, 5, 4, 4, 4, 4, 4, 4, 4, 4, 4]
    assert betas == [
        0.599,
        0.935,
        0.044,
        0.182,
        0.279,
        0.345,
        0.413,
        0.467,
        0.307,
        0.353,
        0.255,
        0.148,
        0.182,
        0.211,
        0.235,
        0.257,
        0.276,
        0.206,
        0.224,
        0.242,
    ]
    final = crm.fit(" ".join(hist))
    np.testing.assert_allclose(final.ptox, [0.0103, 0.0337, 0.0981, 0.2082, 0.3626], atol=5e-5)
    assert dec.stop and dec.selected == 4


def test_escalation_dfcrm_cases() -> None:
    # brockk/escalation 0.2.3 tests/testthat/test_dfcrm.R; re-run in R with dfcrm 0.2-2.1:
    # crm(c(.1, .2, .4, .55), 0.2, tox = c(0,0,1,0,0,0,0,1,1,0,0,1),
    #     level = c(2,2,2,2,2,2,3,3,3,2,2,2), scale = sqrt(0.75))$mtd = 1 and
    # crm(c(.1, .2, .33, .45, .6, .7, .8), .33, tox = ..., level = ..., model = "logistic",
    #     intcpt = 4)$mtd = 3 for the second history
    crm = CRM(
        [0.1, 0.2, 0.4, 0.55], 0.2, prior_sd=np.sqrt(0.75), no_skipping=False, coherence=False
    )
    assert crm.fit("2NNT 2NNN 3NTT 2NNT").mtd == 1
    crm = CRM(
        [0.1, 0.2, 0.33, 0.45, 0.6, 0.7, 0.8],
        0.33,
        model="logistic",
        intercept=4,
        no_skipping=False,
        coherence=False,
    )
    assert crm.fit("1NNN 2NNN 3NTT 2NNN 3TNN 3TNT 2NNN").mtd == 3


def test_restrictions() -> None:
    crm = CRM(SKELETON, 0.2, cohort_size=3)
    # no skipping: the model would jump from dose 1 after 0/3
    free = CRM(SKELETON, 0.2, cohort_size=3, no_skipping=False, coherence=False)
    assert free.decide("1NNN").dose is not None and free.decide("1NNN").dose > 2
    assert crm.decide("1NNN").dose == 2


def test_coherence_blocks_escalation_after_toxic_cohort() -> None:
    """Coherence (Cheung 2005): no escalation right after a cohort whose DLT rate reached the
    target. After '1NNN 2NNN 2TNN' the last cohort has 1/3 >= 0.2 at dose 2, but the model
    alone recommends dose 3 (found by searching short histories with this library). R dfcrm
    0.2-2.1: crm(prior = SKELETON, target = 0.2, tox = c(0,0,0, 0,0,0, 1,0,0),
    level = c(1,1,1, 2,2,2, 2,2,2)) gives $estimate -0.1076014, $mtd 3."""
    history = "1NNN 2NNN 2TNN"
    coherent = CRM(SKELETON, 0.2, cohort_size=3, coherence=True)
    free = CRM(SKELETON, 0.2, cohort_size=3, coherence=False)
    assert free.fit(history).estimate == pytest.approx(-0.1076013738, abs=1e-8)
    assert free.fit(history).mtd == 3
    assert free.decide(history).dose == 3  # no skipping allows 2 -> 3: only coherence differs
    assert coherent.decide(history).dose == 2


def test_exact_and_simulated_oc_consistency() -> None:
    """Consistency check, not validation: the exact and simulated OCs of earlyphase agree."""
    p = [0.02, 0.05, 0.12, 0.25, 0.40, 0.55]
    crm = CRM([0.05, 0.12, 0.25, 0.40, 0.55, 0.70], 0.25, n_patients=12, cohort_size=3)
    exact = crm.operating_characteristics(p)
    sim = crm.operating_characteristics(p, method="simulate", n_sims=20_000, seed=5)
    assert exact.selection.sum() == pytest.approx(1.0)
    assert np.all(np.abs(sim.selection - exact.selection) < 4.5 * sim.mc_se + 1e-4)
    assert exact.mean_total_n == pytest.approx(12.0)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"skeleton": [0.1, 0.3, 0.2], "target": 0.2}, "skeleton"),
        ({"skeleton": [0.1, 0.2, 1.0], "target": 0.2}, "skeleton"),
        ({"skeleton": [0.1, 0.2, 0.3], "target": 1.5}, "target"),
        ({"skeleton": [0.1, 0.2, 0.3], "target": 0.2, "model": "probit"}, "model"),
        ({"skeleton": [0.1, 0.2, 0.99], "target": 0.2, "model": "logistic"}, "intercept"),
        ({"skeleton": [0.1, 0.2, 0.3], "target": 0.2, "start_dose": 4}, "start_dose"),
    ],
)
def test_bad_input(kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=rf"^{field}:"):
        CRM(**kwargs)


def test_exact_oc_agrees_with_dfcrm_crmsim() -> None:
    """dfcrm::crmsim (restrict = TRUE, 4000 trials; fixtures/dfcrm_crmsim.json, made by
    fixtures/r/make_crmsim_fixture.R): our exact OCs lie within its Monte Carlo error."""
    ref = json.loads((Path(__file__).parent / "fixtures" / "dfcrm_crmsim.json").read_text())
    crm = CRM([0.05, 0.12, 0.25, 0.40, 0.55, 0.70], 0.25, n_patients=12, cohort_size=3)
    oc = crm.operating_characteristics([0.02, 0.05, 0.12, 0.25, 0.40, 0.55])
    r_sel = np.array(ref["selection"])
    se = np.sqrt(np.maximum(oc.selection[:6] * (1 - oc.selection[:6]), 1e-6) / ref["nsim"])
    assert np.all(np.abs(r_sel - oc.selection[:6]) < 4 * se)
    assert np.all(np.abs(np.array(ref["mean_n"]) - oc.mean_n) < 0.15)
    assert oc.selection[4] == 0.0 and r_sel[4] == 0.0  # dfcrm's "all below target -> top dose"
