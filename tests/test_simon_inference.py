"""Inference after a Simon two-stage trial: UMVUE, p-value and confidence limits.

References: R clinfun 1.1.5 ``twostage.inference`` and R ``binom.test`` (fixture
``fixtures/simon_inference.json``, made by ``fixtures/r/make_simon_inference_fixture.R``); the
closed form 1 - alpha^(1/n1) for no responses in stage 1; and the exact coverage of each
one-sided limit, enumerated over every outcome of the design with binomial probabilities.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.stats import binom

from earlyphase.designs import SimonTwoStage

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "simon_inference.json").read_text())
DESIGNS: list[dict[str, Any]] = FIXTURE["designs"]


def _design(d: dict[str, Any]) -> SimonTwoStage:
    return SimonTwoStage(d["p0"], d["p1"], d["r1"], d["n1"], d["r"], d["n"])


def _ids(d: dict[str, Any]) -> str:
    return f"{d['r1']}/{d['n1']},{d['r']}/{d['n']}"


@pytest.mark.parametrize("d", DESIGNS, ids=_ids)
def test_clinfun_method_reproduces_twostage_inference(d: dict[str, Any]) -> None:
    design = _design(d)
    for row in d["rows"]:
        x = row["x"]
        if x == 0:
            continue  # R prints NA; see test_no_response_limits
        got = design.inference(x, alpha=0.05, method="clinfun")
        assert got["umvue"] == pytest.approx(row["umvue"], rel=1e-9, abs=1e-12), x
        if row["p_value"] > 1e-12:  # below that R's 1 - pbinom() is rounding noise
            assert got["p_value"] == pytest.approx(row["p_value"], rel=1e-7), x
        # clinfun prints grid points 1e-4 apart
        assert (round(got["lower"], 4), round(got["upper"], 4)) == (row["lower"], row["upper"]), x


@pytest.mark.parametrize("d", DESIGNS, ids=_ids)
def test_no_response_limits(d: dict[str, Any]) -> None:
    """x = 0 (R's twostage.inference returns NA for both limits): the exact interval is
    [0, 1 - alpha^(1/n1)], the one-sided Clopper-Pearson bound of 0 / n1 (R binom.test)."""
    design = _design(d)
    exact = design.inference(0)
    assert exact["lower"] == 0.0
    assert exact["upper"] == pytest.approx(1 - 0.05 ** (1 / d["n1"]), abs=1e-12)
    assert exact["upper"] == pytest.approx(d["rows"][0]["cp_upper"], abs=1e-12)
    # the limit never lies below the one for a better outcome: the old grid search wrapped to
    # its last point and returned 0.01 here
    assert exact["upper"] <= design.inference(1)["upper"]
    with pytest.warns(RuntimeWarning, match=r"^upper: clinfun's rule defines no upper limit"):
        r_like = design.inference(0, method="clinfun")
    assert r_like["lower"] == 0.0 and math.isnan(r_like["upper"])


@pytest.mark.parametrize("d", DESIGNS, ids=_ids)
def test_exact_stage_one_limits_are_clopper_pearson(d: dict[str, Any]) -> None:
    design = _design(d)
    for row in d["rows"][: d["r1"] + 1]:
        got = design.inference(row["x"])
        assert got["lower"] == pytest.approx(row["cp_lower"], abs=1e-10), row["x"]
        assert got["upper"] == pytest.approx(row["cp_upper"], abs=1e-10), row["x"]


@pytest.mark.parametrize("d", DESIGNS, ids=_ids)
def test_exact_lower_limit_is_clinfuns_without_the_grid(d: dict[str, Any]) -> None:
    """Both define the lower limit by P_p(T >= t) = alpha; clinfun's is the grid point above."""
    design = _design(d)
    for row in d["rows"][1:]:
        lo = design.inference(row["x"])["lower"]
        assert row["lower"] - 1e-4 - 1e-12 <= lo <= row["lower"] + 1e-12, row["x"]


def _outcomes(design: SimonTwoStage, p: float) -> tuple[np.ndarray, np.ndarray]:
    """Every outcome's total x and its probability under p, enumerated independently of the
    library: stage-1 stops x1 <= r1, then x1 > r1 followed by x2 of n - n1 (a convolution)."""
    n1, n2, r1 = design.n1, design.n - design.n1, design.r1
    stage1 = binom.pmf(np.arange(n1 + 1), n1, p)
    completed = np.convolve(
        np.where(np.arange(n1 + 1) > r1, stage1, 0.0), binom.pmf(np.arange(n2 + 1), n2, p)
    )
    xs = np.concatenate((np.arange(r1 + 1), np.arange(r1 + 1, design.n + 1)))
    return xs, np.concatenate((stage1[: r1 + 1], completed[r1 + 1 :]))


@pytest.mark.parametrize("d", DESIGNS, ids=_ids)
def test_exact_limits_keep_their_coverage(d: dict[str, Any]) -> None:
    """Each one-sided exact limit misses the true rate with probability at most alpha, for every
    true rate; clinfun's upper limit does not (which is why it is not the default)."""
    design = _design(d)
    limits = {x: design.inference(int(x)) for x in range(design.n + 1)}
    r_upper = {row["x"]: row["upper"] for row in d["rows"]}
    worst_r = 0.0
    for p in np.linspace(0.01, 0.99, 99):
        xs, probs = _outcomes(design, float(p))
        assert probs.sum() == pytest.approx(1.0, abs=1e-12)
        lower = np.array([limits[x]["lower"] for x in xs])
        upper = np.array([limits[x]["upper"] for x in xs])
        assert probs[lower > p].sum() <= 0.05 + 1e-9, p
        assert probs[upper < p].sum() <= 0.05 + 1e-9, p
        r_up = np.array([r_upper[x] if x > 0 else 1.0 for x in xs])
        worst_r = max(worst_r, float(probs[r_up < p].sum()))
    assert worst_r > 0.05


def test_bad_input() -> None:
    d = SimonTwoStage(0.2, 0.4, 3, 12, 10, 35)
    with pytest.raises(ValueError, match=r"^method:"):
        d.inference(4, method="grid")
    with pytest.raises(ValueError, match=r"^x:"):
        d.inference(36)
