"""Scenario grids (designs x settings x scenarios): validation of the grid file, common random
numbers, the same numbers in this process and on a Dask cluster, chunks combined exactly,
PCS and calibration."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from earlyphase.cli import app
from earlyphase.designs.spec import build_design
from earlyphase.simulate import compare_designs
from earlyphase.simulate.grid import (
    GridError,
    _designs,
    calibrate,
    parse_grid,
    prepare_workers,
    read_grid,
    run_grid,
    run_task,
    run_tasks,
    task_seed,
)

SMALL: dict[str, Any] = {
    "seed": 7,
    "target": 0.3,
    "n_sims": 600,
    "chunk": 200,
    "designs": [
        {"label": "BOIN", "design": "boin", "settings": {"target": 0.3, "n_doses": 4}},
        {
            "label": "3+3",
            "design": "3+3",
            "settings": {"n_doses": 4},
        },
    ],
    "scenarios": [
        {"label": "MTD at 2", "truth": [0.1, 0.3, 0.5, 0.7]},
        {"label": "safe", "truth": [0.02, 0.05, 0.08, 0.1]},
    ],
}


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    from dask.distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as c:
        yield c


def test_every_problem_of_a_grid_file_is_named_at_once() -> None:
    bad = {
        "seed": 1,
        "n_sim": 10,
        "designs": [
            {"design": "boin", "settings": {"target": 1.5, "n_doses": 4}},
            {"design": "crm", "settings": {"target": 0.3, "skeleton": [0.1, 0.2]}, "vary": {}},
        ],
        "scenarios": [{"label": "x", "truth": [0.1, 0.2, 0.3, 1.2]}, {"truth": [0.1, 0.2, 0.3]}],
    }
    with pytest.raises(GridError) as err:
        parse_grid(bad)
    text = str(err.value)
    assert "unknown key 'n_sim' (did you mean 'n_sims'?)" in text
    assert "designs[1] boin: target" in text
    assert "scenarios[1]: truth" in text
    assert "scenario 'scenario 2' has 3 doses, crm has 2" in text
    with pytest.raises(GridError, match="has no target DLT rate"):
        parse_grid({**SMALL, "target": None})


def test_vary_makes_every_combination() -> None:
    spec = {
        **SMALL,
        "designs": [
            {
                "label": "BOIN",
                "design": "boin",
                "settings": {"target": 0.3, "n_doses": 4},
                "vary": {"cohort_size": [2, 3], "n_cohorts": [8, 10]},
            }
        ],
    }
    grid = parse_grid(spec)
    assert [v.label for v in grid.variants] == [
        "BOIN (cohort_size=2, n_cohorts=8)",
        "BOIN (cohort_size=2, n_cohorts=10)",
        "BOIN (cohort_size=3, n_cohorts=8)",
        "BOIN (cohort_size=3, n_cohorts=10)",
    ]
    assert grid.tasks() == [(s, c, 200) for s in (0, 1) for c in (0, 1, 2)]


def test_one_chunk_is_compare_designs_on_common_random_numbers() -> None:
    """Consistency check: a one-chunk grid is compare_designs with the task's seed."""
    grid = parse_grid({**SMALL, "chunk": 600})
    result = run_grid(grid, workers=0)
    designs = {v.label: build_design(v.design, v.settings) for v in grid.variants}
    _table, ocs = compare_designs(designs, [0.1, 0.3, 0.5, 0.7], 600, task_seed(7, 0, 0))
    got = result[(result["scenario"] == "MTD at 2") & (result["variant"] == "BOIN")]
    np.testing.assert_allclose(got["prob_selected"], ocs["BOIN"].selection)
    np.testing.assert_allclose(got["mean_patients"].iloc[:-1], ocs["BOIN"].mean_n)


def test_chunks_combine_to_the_simulation_of_all_their_trials() -> None:
    """Consistency check: the weighted means of the chunks are the means over all trials."""
    grid = parse_grid(SMALL)
    result = run_grid(grid, workers=0)
    # both designs, as in the grid: the patients' latent uniforms are shared by all
    designs = {v.label: build_design(v.design, v.settings) for v in grid.variants}
    parts = []
    for c in range(3):
        _t, ocs = compare_designs(designs, [0.02, 0.05, 0.08, 0.1], 200, task_seed(7, 1, c))
        parts.append(ocs["3+3"].selection)
    got = result[(result["scenario"] == "safe") & (result["variant"] == "3+3")]
    np.testing.assert_allclose(got["prob_selected"], np.mean(parts, axis=0))


def test_the_grid_agrees_with_exact_operating_characteristics() -> None:
    """Simulated selection within 4 Monte Carlo standard errors of the exact OCs (the exact
    3+3 and BOIN OCs are validated against R elsewhere: tests/test_three_plus_three.py,
    tests/test_boin.py)."""
    grid = parse_grid({**SMALL, "n_sims": 8000, "chunk": 4000})
    result = run_grid(grid, workers=0)
    for label, design in (("BOIN", "boin"), ("3+3", "3+3")):
        exact = build_design(design, grid.variants[0 if label == "BOIN" else 1].settings)
        oc = exact.operating_characteristics([0.1, 0.3, 0.5, 0.7], method="exact")
        got = result[(result["scenario"] == "MTD at 2") & (result["variant"] == label)]
        p = np.asarray(oc.selection)
        se = np.sqrt(p * (1 - p) / 8000) + 1e-9
        assert np.all(np.abs(got["prob_selected"].to_numpy() - p) < 4 * se + 1e-12)


def test_same_numbers_in_process_on_a_local_and_on_a_remote_cluster(cluster: Any) -> None:
    grid = parse_grid(SMALL)
    alone = run_grid(grid, workers=0)
    local = run_grid(grid, workers=2)
    remote = run_grid(grid, scheduler=cluster.scheduler_address)
    pd.testing.assert_frame_equal(alone, local)
    pd.testing.assert_frame_equal(alone, remote)


def test_a_connected_client_and_one_worker_give_the_same_numbers(cluster: Any) -> None:
    """Tasks in batches (one batch for one worker, a few per worker for several) on a client
    the caller connected: the same numbers as in this process."""
    from dask.distributed import Client

    grid = parse_grid(SMALL)
    alone = run_grid(grid, workers=0)
    with Client(cluster) as client:
        prepare_workers(client)
        pd.testing.assert_frame_equal(alone, run_grid(grid, client=client))
    pd.testing.assert_frame_equal(alone, run_grid(grid, workers=1))


def test_a_thread_builds_each_design_once_per_run() -> None:
    """Tasks of one run share the designs (and what they learnt); another run starts afresh;
    sharing does not change a task's numbers."""
    grid = parse_grid(SMALL)
    first, tables = _designs(grid, "run-a")
    again, tables_again = _designs(grid, "run-a")
    assert all(first[k] is again[k] and tables[k] is tables_again[k] for k in first)
    other, _ = _designs(grid, "run-b")
    assert all(other[k] is not first[k] for k in first)
    # another thread never shares a table that fills while it is used
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        elsewhere, _ = pool.submit(_designs, grid, "run-b").result()
    assert all(elsewhere[k] is not other[k] for k in first)
    tasks = grid.tasks()
    shared = run_tasks(grid, tasks, "run-c")
    alone = pd.concat([run_task(grid, *t) for t in tasks], ignore_index=True)
    pd.testing.assert_frame_equal(shared, alone)


def _frame(rows: list[tuple[str, str, int, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        rows, columns=["scenario", "variant", "dose_index", "true_tox", "prob_selected"]
    )


def test_pcs_and_calibration_worked_by_hand() -> None:
    """Target 0.3: in "mid" the correct dose is 2 (|0.28 - 0.3| smallest); in "toxic" every
    dose is more than 0.1 above the target, so the correct decision is to select none."""
    from earlyphase.simulate.grid import _add_summaries

    grid = parse_grid(
        {
            **SMALL,
            "designs": [
                {"label": "A", "design": "boin", "settings": {"target": 0.3, "n_doses": 2}},
                {"label": "B", "design": "boin", "settings": {"target": 0.3, "n_doses": 2}},
            ],
            "scenarios": [
                {"label": "mid", "truth": [0.1, 0.28]},
                {"label": "toxic", "truth": [0.5, 0.6]},
            ],
        }
    )
    frame = _frame(
        [
            ("mid", "A", 1, 0.1, 0.3),
            ("mid", "A", 2, 0.28, 0.6),
            ("mid", "A", 0, np.nan, 0.1),
            ("toxic", "A", 1, 0.5, 0.2),
            ("toxic", "A", 2, 0.6, 0.0),
            ("toxic", "A", 0, np.nan, 0.8),
            ("mid", "B", 1, 0.1, 0.1),
            ("mid", "B", 2, 0.28, 0.9),
            ("mid", "B", 0, np.nan, 0.0),
            ("toxic", "B", 1, 0.5, 0.6),
            ("toxic", "B", 2, 0.6, 0.1),
            ("toxic", "B", 0, np.nan, 0.3),
        ]
    )
    out = _add_summaries(frame, grid).drop_duplicates(["scenario", "variant"])
    pcs = dict(zip(zip(out["scenario"], out["variant"], strict=True), out["pcs"], strict=True))
    assert pcs == pytest.approx(
        {("mid", "A"): 0.6, ("toxic", "A"): 0.8, ("mid", "B"): 0.9, ("toxic", "B"): 0.3}
    )
    over = dict(zip(out["variant"] + out["scenario"], out["prob_select_overdose"], strict=True))
    assert over["Atoxic"] == pytest.approx(0.2) and over["Btoxic"] == pytest.approx(0.7)
    ranked = calibrate(_add_summaries(frame, grid))
    # A: (0.6 + 0.8) / 2 = 0.7; B: (0.9 + 0.3) / 2 = 0.6
    assert list(ranked["variant"]) == ["A", "B"]
    assert ranked["score"].tolist() == pytest.approx([0.7, 0.6])


def test_the_grid_command(tmp_path: Path) -> None:
    grid_file = tmp_path / "g.yaml"
    grid_file.write_text(
        "seed: 3\nn_sims: 300\nchunk: 150\n"
        "designs:\n  - {label: BOIN, design: boin, settings: {target: 0.3, n_doses: 3}}\n"
        "scenarios:\n  - {label: s1, truth: [0.1, 0.3, 0.5]}\n"
        "calibrate: {objective: pcs}\n"
    )
    out = tmp_path / "r.parquet"
    res = CliRunner().invoke(
        app,
        [
            "grid",
            str(grid_file),
            "-o",
            str(out),
            "--workers",
            "0",
            "--figure",
            str(tmp_path / "f.svg"),
        ],
    )
    assert res.exit_code == 0, res.output
    frame = pd.read_parquet(out)
    assert len(frame) == 4 and frame["dose"].iloc[-1] == "none"
    assert "best variant: BOIN" in res.output
    assert (tmp_path / "f.svg").read_text().lstrip().startswith("<?xml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("designs: [\n")
    res = CliRunner().invoke(app, ["grid", str(bad)])
    assert res.exit_code == 2 and "not valid yaml" in res.output


def test_the_example_grid_parses() -> None:
    root = Path(__file__).resolve().parents[1]
    grid = read_grid(root / "examples" / "grids" / "boin_vs_crm.yaml")
    assert len(grid.variants) == 7 and len(grid.scenarios) == 4


def test_skeletons_calibrated_in_the_grid_are_getprior_skeletons() -> None:
    """dfcrm::getprior(0.05, 0.25, 3, 5) = 0.084 0.1567 0.25 0.3545 0.4603 (dfcrm 0.2-2.1, as
    in the calibrate_skeleton doctest); every delta x prior-MTD combination is a variant."""
    grid = parse_grid(
        {
            **SMALL,
            "designs": [
                {
                    "label": "CRM",
                    "design": "crm",
                    "settings": {"target": 0.25, "n_patients": 12},
                    "skeleton_from": {"n_doses": 5, "delta": [0.05, 0.07], "mtd_prior_level": 3},
                }
            ],
            "scenarios": [{"label": "s", "truth": [0.1, 0.2, 0.25, 0.4, 0.5]}],
        }
    )
    assert [v.label for v in grid.variants] == [
        "CRM (skeleton_delta=0.05, skeleton_mtd_prior_level=3)",
        "CRM (skeleton_delta=0.07, skeleton_mtd_prior_level=3)",
    ]
    np.testing.assert_allclose(
        grid.variants[0].settings["skeleton"], [0.084, 0.1567, 0.25, 0.3545, 0.4603], atol=5e-5
    )
    with pytest.raises(GridError, match="skeleton_from: mtd_prior_level: required"):
        parse_grid(
            {
                **SMALL,
                "designs": [
                    {
                        "design": "crm",
                        "settings": {"target": 0.3},
                        "skeleton_from": {"n_doses": 4, "delta": 0.05},
                    }
                ],
            }
        )
