"""CRM skeleton calibration by indifference intervals against R dfcrm 0.2-2.1 ``getprior``
(fixtures/dfcrm_getprior.json, made by fixtures/r/make_getprior_fixture.R) and the defining
property of Lee & Cheung (2009), Clin Trials 6:227-238."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from earlyphase.designs.calibration import calibrate_skeleton
from earlyphase.designs.crm import CRM

GETPRIOR = json.loads((Path(__file__).parent / "fixtures" / "dfcrm_getprior.json").read_text())


def test_against_getprior_fixture() -> None:
    """360 skeletons: 4 targets x 3 half-widths x 4 or 6 levels x every prior MTD level x
    empiric / logistic (intercepts 3 and 2); closed forms, so equal to rounding."""
    rows = GETPRIOR["rows"]
    assert len(rows) == 360
    for r in rows:
        s = calibrate_skeleton(
            r["target"], r["nlevel"], r["nu"], r["halfwidth"], r["model"], r["intcpt"]
        )
        np.testing.assert_allclose(s, r["skeleton"], rtol=0, atol=1e-13)


def test_getprior_help_example() -> None:
    # R dfcrm 0.2-2.1: getprior(0.05, 0.25, 3, 5) and getprior(0.05, 0.25, 3, 5, "logistic")
    np.testing.assert_allclose(
        calibrate_skeleton(0.25, 5, 3, delta=0.05),
        [0.08397349, 0.15674102, 0.25, 0.35450043, 0.46034311],
        atol=5e-9,
    )
    rows = [
        r
        for r in GETPRIOR["rows"]
        if (r["model"], r["intcpt"], r["target"], r["halfwidth"], r["nlevel"], r["nu"])
        == ("logistic", 3, 0.25, 0.05, 6, 3)
    ]
    assert len(rows) == 1
    np.testing.assert_allclose(
        calibrate_skeleton(0.25, 6, 3, 0.05, model="logistic"), rows[0]["skeleton"], atol=1e-13
    )


@pytest.mark.parametrize("model", ["empiric", "logistic"])
def test_indifference_interval_property(model: str) -> None:
    """Lee & Cheung (2009): at the beta where dose k's curve reaches target + delta,
    dose k - 1's curve is at target - delta, so the model switches from k - 1 to k exactly
    at the ends of the interval."""
    target, delta = 0.2, 0.04
    skel = calibrate_skeleton(target, 6, 4, delta, model=model)
    assert skel[3] == pytest.approx(target, abs=1e-15)
    assert np.all(np.diff(skel) > 0)
    crm = CRM(skel.tolist(), target, model=model)
    for k in range(1, 6):
        if model == "empiric":
            beta = math.log(math.log(target + delta) / math.log(skel[k]))
        else:
            x = crm.scaled_doses
            beta = math.log((math.log((target + delta) / (1 - target - delta)) - 3.0) / x[k])
        p = crm.dose_tox(np.array([beta]))[:, 0]
        assert p[k] == pytest.approx(target + delta, abs=1e-12)
        assert p[k - 1] == pytest.approx(target - delta, abs=1e-12)


def test_one_dose_and_prior_mtd_at_the_ends() -> None:
    assert calibrate_skeleton(0.3, 1, 1, 0.05).tolist() == pytest.approx([0.3])
    low = calibrate_skeleton(0.3, 4, 1, 0.05)
    high = calibrate_skeleton(0.3, 4, 4, 0.05)
    assert low[0] == pytest.approx(0.3) and high[-1] == pytest.approx(0.3)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target": 0.25, "n_doses": 5, "mtd_prior_level": 6}, "mtd_prior_level"),
        ({"target": 0.25, "n_doses": 0, "mtd_prior_level": 1}, "n_doses"),
        ({"target": 1.2, "n_doses": 5, "mtd_prior_level": 2}, "target"),
        ({"target": 0.25, "n_doses": 5, "mtd_prior_level": 2, "delta": 0.3}, "delta"),
        ({"target": 0.25, "n_doses": 5, "mtd_prior_level": 2, "model": "power"}, "model"),
        (
            {
                "target": 0.4,
                "n_doses": 5,
                "mtd_prior_level": 2,
                "model": "logistic",
                "intercept": -1,
            },
            "intercept",
        ),
    ],
)
def test_bad_settings(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        calibrate_skeleton(**kwargs)  # type: ignore[arg-type]
