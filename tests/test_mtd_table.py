"""The end-of-trial MTD table against R BOIN 2.7.2 ``select.mtd`` (the table it prints to two
decimals and the MTD) on four data sets: fixtures/boin_select_mtd_table.json, made by
fixtures/r/make_mtd_table_fixture.R. Pool-adjacent-violators is also checked on cases worked by
hand."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from earlyphase.designs.mtd_table import MTD_TABLE_COLUMNS, mtd_estimates, pava
from earlyphase.designs.tite_crm import PatientHistory

FIXTURES = Path(__file__).parent / "fixtures"
SELECT_MTD = json.loads((FIXTURES / "boin_select_mtd_table.json").read_text())


def _printed(value: float) -> str:
    return "----" if math.isnan(value) else f"{value:.2f}"


@pytest.mark.parametrize("case", SELECT_MTD["sets"], ids=lambda c: c["name"])
def test_against_select_mtd(case: dict[str, object]) -> None:
    """Each printed entry: isotonic estimate, 95% limits, Pr(toxicity > target); and the MTD."""
    n, y = case["npts"], case["ntox"]
    t = mtd_estimates(
        {"n": n, "y": y},
        float(case["target"]),  # type: ignore[arg-type]
        bound_mtd=bool(case["boundMTD"]),
    )
    assert list(t.columns) == list(MTD_TABLE_COLUMNS)
    assert [_printed(v) for v in t["estimate"]] == case["phat"]
    given = t["n"] > 0
    assert [_printed(v) for v in t.loc[given, "lower"]] == [
        v
        for v, g in zip(case["lower"], given, strict=True)
        if g  # type: ignore[call-overload]
    ]
    assert [_printed(v) for v in t.loc[given, "upper"]] == [
        v
        for v, g in zip(case["upper"], given, strict=True)
        if g  # type: ignore[call-overload]
    ]
    assert [_printed(v) for v in t["p_over_target"]] == case["p_overdose"]
    mtd = case["mtd"]
    assert t.attrs["mtd"] == (None if mtd == 99 else mtd)
    assert t["mtd"].sum() == (0 if mtd == 99 else 1)


def test_pava_by_hand() -> None:
    """(1, 3, 2) -> (1, 2.5, 2.5); with weights (1, 1, 3): (3 + 6) / 4 = 2.25; (3, 2, 1) with
    unit weights pools to 2 everywhere; a non-decreasing input is returned unchanged."""
    np.testing.assert_allclose(pava([1, 3, 2]), [1, 2.5, 2.5])
    np.testing.assert_allclose(pava([1, 3, 2], [1, 1, 3]), [1, 2.25, 2.25])
    np.testing.assert_allclose(pava([3, 2, 1]), [2, 2, 2])
    np.testing.assert_allclose(pava([0.1, 0.2, 0.2, 0.5]), [0.1, 0.2, 0.2, 0.5])
    with pytest.raises(ValueError):
        pava([1.0, 2.0], [1.0, 0.0])


def test_forms_of_history_and_untreated_doses() -> None:
    """An outcome string, counts and per-patient (TITE) data give the same table; untreated
    doses have no estimates; an untreated dose between treated ones keeps each dose's own
    limits (R's select.mtd shifts them there: see the module docstring)."""
    a = mtd_estimates("1NNN 2NNT 2NNN 3TTN", 0.3)
    b = mtd_estimates({"n": [3, 6, 3], "y": [0, 1, 2]}, 0.3)
    c = mtd_estimates(
        PatientHistory(
            np.array([1, 1, 1, 2, 2, 2, 2, 2, 2, 3, 3, 3]),
            np.array([0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0], dtype=bool),
            np.full(12, 28.0),
        ),
        0.3,
        n_doses=3,
    )
    for other in (b, c):
        np.testing.assert_allclose(a["estimate"], other["estimate"])
        assert a.attrs["mtd"] == other.attrs["mtd"]
    gap = mtd_estimates({"n": [3, 0, 6], "y": [0, 0, 1]}, 0.3)
    assert math.isnan(gap.loc[1, "estimate"]) and math.isnan(gap.loc[1, "lower"])
    alone = mtd_estimates({"n": [6], "y": [1]}, 0.3)
    assert gap.loc[2, "upper"] == pytest.approx(alone.loc[0, "upper"])
    with pytest.raises(ValueError, match="target"):
        mtd_estimates({"n": [3], "y": [0]}, 1.5)
    with pytest.raises(ValueError, match="DLTs"):
        mtd_estimates({"n": [3], "y": [4]}, 0.3)


def test_dose_one_too_toxic_selects_none() -> None:
    t = mtd_estimates({"n": [3, 0], "y": [3, 0]}, 0.3)
    assert t.attrs["mtd"] is None and t["eliminated"].all() and not t["mtd"].any()
