"""Scenario grids: designs x settings x scenarios, on one machine or a Dask cluster.

A grid file (YAML or JSON) names the designs, the settings to vary, and the true
dose-toxicity scenarios::

    seed: 2026
    n_sims: 4000          # simulated trials per scenario
    chunk: 2000           # trials per task (results depend on it, not on the cluster)
    target: 0.3           # optional: the rate PCS is scored against (default: each design's)
    designs:
      - label: BOIN
        design: boin
        settings: {target: 0.3, n_doses: 5, n_cohorts: 10}
        vary: {cohort_size: [2, 3]}          # every combination becomes a variant
      - label: CRM
        design: crm
        settings: {target: 0.3, skeleton: [0.05, 0.12, 0.25, 0.4, 0.55], n_patients: 30}
      - label: CRM calibrated
        design: crm
        settings: {target: 0.3, n_patients: 30, cohort_size: 3}
        skeleton_from: {n_doses: 5, delta: [0.04, 0.06, 0.08], mtd_prior_level: [2, 3]}
    scenarios:
      - {label: "MTD at 3", truth: [0.05, 0.12, 0.3, 0.45, 0.6]}
      - {label: "all toxic", truth: [0.45, 0.55, 0.65, 0.75, 0.85]}
    calibrate: {objective: pcs}             # optional: the variant with the best mean PCS

``skeleton_from`` calibrates a CRM skeleton for every combination of indifference half-width
``delta`` and prior MTD level (Lee & Cheung 2009; ``dfcrm::getprior``), so a grid searches the
quantities the calibration literature varies rather than raw skeletons.

Every variant of every design runs on the *same* simulated patients within a scenario and
chunk (common random numbers, :func:`earlyphase.simulate.compare_designs`), so differences
between designs are not Monte Carlo noise between patient samples. A task is one scenario and
one chunk of trials; its seed is drawn from ``SeedSequence([seed, scenario, chunk])``, so the
same grid file gives the same numbers sequentially, on a local cluster or on a remote one.
Chunks are combined exactly (selection probabilities and expected counts are means over
trials, weighted by the chunk's size).

The result is tidy: one row per scenario, variant and dose (plus "none"), with the true
toxicity, the probability of selecting the dose, expected patients and DLTs, and per row of a
variant the percentage of correct selection (PCS: selecting the dose whose true toxicity is
closest to the target, Cheung 2011, section 4.2; when even that dose is an overdose, more than
``OVERDOSE_MARGIN`` above the target, the correct decision is to select none) and the
probability of selecting an overdose.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: Keys a grid file may hold; anything else is a mistake worth naming.
_TOP = {"seed", "n_sims", "chunk", "target", "designs", "scenarios", "calibrate"}
_DESIGN = {"label", "design", "settings", "vary", "skeleton_from"}
_SKELETON = {"delta", "mtd_prior_level", "n_doses"}
_SCENARIO = {"label", "truth"}


class GridError(ValueError):
    """A grid file that cannot be run; the message names every problem ("where: why")."""


@dataclass(frozen=True)
class Variant:
    """One design with one combination of the varied settings."""

    label: str
    design: str
    settings: dict[str, Any]
    varied: dict[str, Any]


@dataclass(frozen=True)
class Scenario:
    label: str
    truth: tuple[float, ...]


@dataclass(frozen=True)
class Grid:
    """A parsed, validated grid."""

    seed: int
    n_sims: int
    chunk: int
    variants: tuple[Variant, ...]
    scenarios: tuple[Scenario, ...]
    calibrate: Mapping[str, Any] = field(default_factory=dict)
    #: the DLT rate PCS is scored against; None: each design's own target
    target: float | None = None

    def tasks(self) -> list[tuple[int, int, int]]:
        """(scenario index, chunk index, trials in the chunk) for every task."""
        out = []
        for s in range(len(self.scenarios)):
            for c, start in enumerate(range(0, self.n_sims, self.chunk)):
                out.append((s, c, min(self.chunk, self.n_sims - start)))
        return out


def _unknown(keys: Any, allowed: set[str], where: str, problems: list[str]) -> None:
    import difflib

    for k in keys:
        if k not in allowed:
            near = difflib.get_close_matches(str(k), sorted(allowed), n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            problems.append(f"{where}: unknown key {k!r}{hint}")


def _whole(value: Any, where: str, low: int, high: int, problems: list[str]) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        problems.append(f"{where}: a whole number from {low} to {high}, got {value!r}")
        return low
    return value


def _entries(
    spec: Mapping[str, Any],
    key: str,
    what: str,
    fields: str,
    allowed: set[str],
    source: str,
    problems: list[str],
) -> Iterator[tuple[int, str, Mapping[str, Any]]]:
    """The mappings listed under ``key`` (designs, scenarios), numbered from 1 with where
    each stands; the problems of each entry are noted as it is reached, so they are named in
    the order of the file."""
    entries = spec.get(key)
    if not isinstance(entries, list) or not entries:
        problems.append(f"{source}: {key}: a list of at least one {what}")
        entries = []
    for i, entry in enumerate(entries, start=1):
        where = f"{source}: {key}[{i}]"
        if not isinstance(entry, Mapping):
            problems.append(f"{where}: a mapping with {fields}")
            continue
        _unknown(entry, allowed, where, problems)
        yield i, where, entry


def parse_grid(spec: Mapping[str, Any], source: str = "grid") -> Grid:
    """Validate a grid (a mapping, as read from YAML or JSON); every design variant is built
    once here, so a bad setting is reported before anything runs, all problems together."""
    from earlyphase.designs.spec import build_design

    problems: list[str] = []
    if not isinstance(spec, Mapping):
        raise GridError(f"{source}: a mapping with designs and scenarios")
    _unknown(spec, _TOP, source, problems)
    seed = _whole(spec.get("seed", 0), f"{source}: seed", 0, 2**63 - 1, problems)
    n_sims = _whole(spec.get("n_sims", 10_000), f"{source}: n_sims", 1, 10**9, problems)
    chunk = _whole(spec.get("chunk", 10_000), f"{source}: chunk", 1, 10**7, problems)
    target = spec.get("target")
    if target is not None and (
        isinstance(target, bool) or not isinstance(target, int | float) or not 0 < target < 1
    ):
        problems.append(f"{source}: target: a DLT rate in (0, 1), got {target!r}")
        target = None
    variants: list[Variant] = []
    listed = _entries(spec, "designs", "design", "design and settings", _DESIGN, source, problems)
    for _i, where, d in listed:
        name = d.get("design")
        base = d.get("settings", {}) or {}
        vary = d.get("vary", {}) or {}
        if not isinstance(name, str):
            problems.append(f"{where}: design: the design's name (e.g. boin, crm, 3+3)")
            continue
        if not isinstance(base, Mapping) or not isinstance(vary, Mapping):
            problems.append(f"{where}: settings and vary are mappings")
            continue
        bad_vary = [k for k, v in vary.items() if not isinstance(v, list) or not v]
        for k in bad_vary:
            problems.append(f"{where}: vary: {k}: a non-empty list of values")
        if bad_vary:
            continue
        label = str(d.get("label", name))
        skel = _skeleton_grid(d.get("skeleton_from"), where, problems)
        if skel is None:
            continue
        keys = list(vary) + list(skel)
        lists = [*vary.values(), *skel.values()]
        for combo in itertools.product(*lists):
            varied = dict(zip(keys, combo, strict=True))
            settings = {**base, **{k: v for k, v in varied.items() if k not in skel}}
            shown = ", ".join(f"{k}={v}" for k, v in varied.items())
            vlabel = f"{label} ({shown})" if shown else label
            try:
                if skel:
                    settings["skeleton"] = _skeleton(d["skeleton_from"], settings, varied)
                built = build_design(name, settings)
            except ValueError as exc:
                problems.append(f"{where} {vlabel}: {exc}")
                continue
            if target is None and getattr(built, "target", None) is None:
                problems.append(
                    f"{where} {vlabel}: has no target DLT rate to score selection against; "
                    "give the grid a target"
                )
            variants.append(Variant(vlabel, name, settings, varied))
    labels = [v.label for v in variants]
    for dup in sorted({x for x in labels if labels.count(x) > 1}):
        problems.append(f"{source}: designs: two variants are labelled {dup!r}; give labels")
    scenarios: list[Scenario] = []
    for i, where, entry in _entries(
        spec, "scenarios", "scenario", "label and truth", _SCENARIO, source, problems
    ):
        truth = entry.get("truth")
        ok = (
            isinstance(truth, list)
            and truth
            and all(
                isinstance(p, int | float) and not isinstance(p, bool) and 0 <= p <= 1
                for p in truth
            )
        )
        if not ok or not isinstance(truth, list):
            problems.append(f"{where}: truth: a list of probabilities in [0, 1], one per dose")
            continue
        scenarios.append(
            Scenario(str(entry.get("label", f"scenario {i}")), tuple(map(float, truth)))
        )
    if variants and scenarios:
        for sc in scenarios:
            for v in variants:
                k = build_design(v.design, v.settings).n_doses
                if k != len(sc.truth):
                    problems.append(
                        f"{source}: scenario {sc.label!r} has {len(sc.truth)} doses, "
                        f"{v.label} has {k}"
                    )
    calibrate = spec.get("calibrate", {}) or {}
    if not isinstance(calibrate, Mapping):
        problems.append(f"{source}: calibrate: a mapping such as {{objective: pcs}}")
        calibrate = {}
    else:
        _unknown(calibrate, {"objective"}, f"{source}: calibrate", problems)
        if calibrate.get("objective", "pcs") not in OBJECTIVES:
            problems.append(f"{source}: calibrate: objective: one of {sorted(OBJECTIVES)}")
    if problems:
        raise GridError("; ".join(dict.fromkeys(problems)))
    return Grid(
        seed,
        n_sims,
        chunk,
        tuple(variants),
        tuple(scenarios),
        dict(calibrate),
        None if target is None else float(target),
    )


def _skeleton_grid(spec: Any, where: str, problems: list[str]) -> dict[str, list[Any]] | None:
    """The varied values of a ``skeleton_from`` block (``delta`` and ``mtd_prior_level``,
    lists or single values; ``n_doses`` fixed)."""
    if spec is None:
        return {}
    if not isinstance(spec, Mapping) or "n_doses" not in spec:
        problems.append(
            f"{where}: skeleton_from: a mapping with n_doses, delta and mtd_prior_level"
        )
        return None
    _unknown(spec, _SKELETON, f"{where}: skeleton_from", problems)
    out: dict[str, list[Any]] = {}
    for key in ("delta", "mtd_prior_level"):
        values = spec.get(key)
        if values is None or values == []:
            problems.append(f"{where}: skeleton_from: {key}: required")
            return None
        out[f"skeleton_{key}"] = values if isinstance(values, list) else [values]
    return out


def _skeleton(
    spec: Mapping[str, Any], settings: Mapping[str, Any], varied: Mapping[str, Any]
) -> list[float]:
    """A CRM skeleton by Lee & Cheung (2009) calibration (``dfcrm::getprior``), so that a
    grid searches indifference intervals and prior MTDs rather than raw skeletons."""
    from earlyphase.designs import calibrate_skeleton

    if "target" not in settings:
        raise ValueError("skeleton_from: the design's target is needed to calibrate a skeleton")
    n_doses = spec["n_doses"]
    if isinstance(n_doses, bool) or not isinstance(n_doses, int):
        raise ValueError(f"skeleton_from: n_doses: a whole number, got {n_doses!r}")
    return [
        float(x)
        for x in calibrate_skeleton(
            float(settings["target"]),
            n_doses,
            int(varied["skeleton_mtd_prior_level"]),
            delta=float(varied["skeleton_delta"]),
            model=str(settings.get("model", "empiric")),
            intercept=float(settings.get("intercept", 3.0)),
        )
    ]


def read_grid(path: str | Path) -> Grid:
    """Read a grid file (``.yaml``/``.yml`` or ``.json``)."""
    path = Path(path)
    try:
        text_ = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise GridError(f"{path}: cannot read ({exc.strerror})") from exc
    try:
        if path.suffix.lower() == ".json":
            spec = json.loads(text_)
        else:
            import yaml

            spec = yaml.safe_load(text_)
    except Exception as exc:  # the parsers' own errors, with line and column
        raise GridError(f"{path}: not valid {path.suffix.lstrip('.') or 'YAML'}: {exc}") from exc
    return parse_grid(spec, str(path))


def task_seed(seed: int, scenario: int, chunk: int) -> int:
    """The seed of one task: independent streams whatever runs it, wherever."""
    return int(np.random.SeedSequence([seed, scenario, chunk]).generate_state(1, np.uint64)[0])


#: Designs built in this thread for the current run, with their transition tables, by
#: variant (a worker runs many tasks of one grid: each design is built and its decisions are
#: learnt once, not once per task). Per thread, as a table fills while it is used; emptied
#: when a task of another run arrives.
_BUILT = threading.local()


def _designs(grid: Grid, run: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The grid's designs and their transition tables, built once per thread and run."""
    from earlyphase.designs.spec import build_design
    from earlyphase.engine.transitions import Transitions

    if run is None:  # a task on its own: nothing shared
        built = {
            v.label: (d, Transitions(d))
            for v in grid.variants
            for d in [build_design(v.design, v.settings)]
        }
    else:
        if getattr(_BUILT, "run", None) != run:
            _BUILT.run, _BUILT.designs = run, {}
        cache: dict[str, tuple[Any, Any]] = _BUILT.designs
        built = {}
        for v in grid.variants:
            key = json.dumps([v.design, v.settings], sort_keys=True, default=str)
            if key not in cache:
                design = build_design(v.design, v.settings)
                cache[key] = (design, Transitions(design))
            built[v.label] = cache[key]
    return {k: d for k, (d, _t) in built.items()}, {k: t for k, (_d, t) in built.items()}


def run_task(grid: Grid, scenario: int, chunk: int, n: int, run: str | None = None) -> pd.DataFrame:
    """One scenario, one chunk of ``n`` trials, every variant on the same patients. Tasks of
    one ``run`` share the designs this thread built (results are the same either way)."""
    from earlyphase.simulate.monte_carlo import compare_designs, dose_rows

    designs, tables = _designs(grid, run)
    sc = grid.scenarios[scenario]
    _table, ocs = compare_designs(
        designs,
        list(sc.truth),
        n_sims=n,
        seed=task_seed(grid.seed, scenario, chunk),
        tables=tables,
    )
    rows = [
        {"scenario": sc.label, "variant": v.label, "design": v.design, **dose, "n_sims": n}
        for v in grid.variants
        for dose in dose_rows(ocs[v.label])
    ]
    return pd.DataFrame(rows)


def run_tasks(grid: Grid, tasks: Sequence[tuple[int, int, int]], run: str) -> pd.DataFrame:
    """Several tasks of one run, their rows in task order: one Dask task carries many, so
    scheduling and transfers are paid per batch, not per chunk of trials."""
    return pd.concat([run_task(grid, *t, run=run) for t in tasks], ignore_index=True)


def _combine(parts: Sequence[pd.DataFrame], grid: Grid) -> pd.DataFrame:
    """Chunks to one result: means over trials, weighted by chunk size."""
    frame = pd.concat(parts, ignore_index=True)
    keys = ["scenario", "variant", "design", "dose", "dose_index", "true_tox"]
    values = ["prob_selected", "mean_patients", "mean_dlt"]
    w = frame["n_sims"].to_numpy(dtype=np.float64)
    weighted = frame[values].mul(w, axis=0)
    weighted[keys] = frame[keys]
    weighted["n_sims"] = w
    out = weighted.groupby(keys, sort=False, dropna=False).sum().reset_index()
    out[values] = out[values].div(out["n_sims"], axis=0)
    out["n_sims"] = out["n_sims"].astype(np.int64)
    # the grid's own order: scenarios, variants, doses, then "none"
    rank = pd.DataFrame(
        {
            "s": out["scenario"].map({s.label: i for i, s in enumerate(grid.scenarios)}),
            "v": out["variant"].map({v.label: i for i, v in enumerate(grid.variants)}),
            "d": out["dose_index"].where(out["dose_index"] > 0, 10**6),
        }
    )
    out = out.loc[rank.sort_values(["s", "v", "d"]).index].reset_index(drop=True)
    return _add_summaries(out, grid)


#: A dose whose true toxicity exceeds the target by more than this is an overdose (the upper
#: edge of the usual target interval, e.g. 0.3 +- 0.1; Liu & Yuan 2015).
OVERDOSE_MARGIN = 0.1


def _target(design: Any) -> float:
    target = getattr(design, "target", None)
    if target is None:
        raise GridError(f"{type(design).__name__}: has no target toxicity to score PCS against")
    return float(target)


def _add_summaries(out: pd.DataFrame, grid: Grid) -> pd.DataFrame:
    """PCS and the risk of overdosing per scenario and variant, repeated on its rows."""
    from earlyphase.designs.spec import build_design

    targets = {
        v.label: grid.target
        if grid.target is not None
        else _target(build_design(v.design, v.settings))
        for v in grid.variants
    }
    pcs: dict[tuple[str, str], float] = {}
    over: dict[tuple[str, str], float] = {}
    for (sc, var), g in out.groupby(["scenario", "variant"], sort=False):
        doses = g[g["dose_index"] > 0]
        tox = doses["true_tox"].to_numpy()
        target = targets[str(var)]
        gap = np.abs(tox - target)
        correct = np.isclose(gap, gap.min())
        above = tox > target + OVERDOSE_MARGIN
        prob = doses["prob_selected"].to_numpy()
        if above[correct].all():
            # every dose is an overdose: the correct decision is to stop without a dose
            pcs[(str(sc), str(var))] = float(g.loc[g["dose_index"] == 0, "prob_selected"].sum())
        else:
            pcs[(str(sc), str(var))] = float(prob[correct].sum())
        over[(str(sc), str(var))] = float(prob[above].sum())
    key = list(zip(out["scenario"], out["variant"], strict=True))
    out["target"] = [targets[v] for v in out["variant"]]
    out["pcs"] = [pcs[k] for k in key]
    out["prob_select_overdose"] = [over[k] for k in key]
    return out


OBJECTIVES: dict[str, Callable[[pd.DataFrame], float]] = {
    "pcs": lambda g: float(g["pcs"].mean()),
    "safety": lambda g: -float(g["prob_select_overdose"].mean()),
}


def calibrate(result: pd.DataFrame, objective: str = "pcs") -> pd.DataFrame:
    """The variants ranked by the objective averaged over scenarios (``pcs``: mean PCS;
    ``safety``: least mean probability of selecting an overdose), best first; ties keep the
    grid's order. The grid search of Lee & Cheung (2009) for CRM skeletons and priors is this
    with the skeleton's settings varied."""
    summary = result.drop_duplicates(["scenario", "variant"])
    score = OBJECTIVES[objective]
    per = pd.DataFrame(
        [
            {"variant": var, "score": score(g), "scenarios": len(g)}
            for var, g in summary.groupby("variant", sort=False)
        ]
    )
    return per.sort_values("score", ascending=False, kind="stable").reset_index(drop=True)


def local_cluster(workers: int | None = None) -> Any:
    """A Dask ``LocalCluster`` of ``workers`` single-threaded processes (default: the CPU
    count), as ``earlyphase grid`` starts one.

    Its workers keep glibc's own heap trimming: Dask's nannies set ``MALLOC_TRIM_THRESHOLD_``
    to 64 KiB, which also fixes glibc's mmap threshold, so every array of 128 KiB or more is
    mapped and faulted in afresh, and freed memory is returned to the system and faulted in
    again; the grid benchmark ran 1.2 times slower in one process with that setting (1.6
    times before CRM's posterior was computed in blocks under 128 KiB). Its workers also do not
    sample their threads' stacks for the dashboard's profile (every 10 ms by default), which
    cost about 6 % of the run. A cluster started by hand (``dask-worker``) can be configured
    the same way (``MALLOC_TRIM_THRESHOLD_`` unset, ``distributed.worker.profile.enabled:
    false``).
    """
    import os

    import dask.config
    import dask.distributed

    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {})
    environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    dist: Any = dask.distributed
    settings = {
        "distributed.nanny.pre-spawn-environ": environ,
        "distributed.worker.profile.enabled": False,
    }
    with dask.config.set(settings):
        return dist.LocalCluster(
            n_workers=workers or os.cpu_count() or 1,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
        )


def prepare_workers(client: Any, grid: Grid | None = None) -> None:
    """Ready every worker of ``client`` for tasks (part of start-up): import NumPy, pandas and
    the designs, and, given the ``grid``, build its designs once, as reading the grid file
    does in this process (first calls fill caches and finish lazy imports). A fresh worker
    would otherwise do this during its first task."""
    client.run(_import_task_modules, grid)


def _import_task_modules(grid: Grid | None = None) -> None:
    from earlyphase.designs.spec import build_design
    from earlyphase.simulate import monte_carlo  # noqa: F401

    for v in grid.variants if grid is not None else ():
        build_design(v.design, v.settings)


def run_grid(
    grid: Grid,
    scheduler: str | None = None,
    workers: int | None = None,
    client: Any = None,
) -> pd.DataFrame:
    """Run every task and combine them. ``workers=0`` runs in this process; otherwise a
    Dask ``LocalCluster`` with ``workers`` processes (default: the CPU count), the cluster
    whose scheduler listens at ``scheduler`` (``tcp://host:8786``), or a connected Dask
    ``client``.

    Tasks go to the workers in a few batches each (:func:`run_tasks`), in task order, and
    every worker thread builds each design once per run; results are identical however the
    tasks are spread."""
    import uuid

    tasks = grid.tasks()
    run = uuid.uuid4().hex
    if client is None and scheduler is None and workers == 0:
        return _combine([run_tasks(grid, tasks, run)], grid)
    if client is not None:
        return _combine(_on_client(client, grid, tasks, run), grid)
    import dask.distributed

    # distributed is untyped: its two entry points are used through Any
    dist: Any = dask.distributed
    cluster = None
    if scheduler is not None:
        client = dist.Client(scheduler)
    else:
        cluster = local_cluster(workers)
        client = dist.Client(cluster)
    try:
        prepare_workers(client, grid)
        parts = _on_client(client, grid, tasks, run)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return _combine(parts, grid)


#: Batches per worker thread when there are several: more than one, so a slow worker does not
#: hold the last batch alone; few, so scheduling costs little against the simulation. A single
#: worker has nothing to balance and gets all tasks in one batch (one round trip, about 10 ms).
BATCHES_PER_WORKER = 2


def _on_client(
    client: Any, grid: Grid, tasks: list[tuple[int, int, int]], run: str
) -> list[pd.DataFrame]:
    """The tasks in contiguous batches on ``client``'s workers, results in task order."""
    threads = sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values())
    n_batches = 1 if threads <= 1 else max(1, min(len(tasks), BATCHES_PER_WORKER * threads))
    bounds = np.linspace(0, len(tasks), n_batches + 1).round().astype(int)
    futures = [
        client.submit(run_tasks, grid, tasks[lo:hi], run, pure=False)
        for lo, hi in itertools.pairwise(bounds.tolist())
        if hi > lo
    ]
    return list(client.gather(futures))


def comparison_figure(result: pd.DataFrame) -> Any:
    """PCS by scenario for every variant (bars), with the probability of selecting an
    overdose as hatched bars: colour-blind-safe (Okabe-Ito) colours."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = result.drop_duplicates(["scenario", "variant"])
    scenarios = list(dict.fromkeys(summary["scenario"]))
    variants = list(dict.fromkeys(summary["variant"]))
    colours = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442"]
    fig, ax = plt.subplots(figsize=(max(6.0, 1.2 * len(scenarios) * max(1, len(variants)) / 2), 4))
    width = 0.8 / max(1, len(variants))
    x = np.arange(len(scenarios))
    for i, var in enumerate(variants):
        g = summary[summary["variant"] == var].set_index("scenario").reindex(scenarios)
        colour = colours[i % len(colours)]
        ax.bar(x + i * width, g["pcs"], width, label=var, color=colour)
        ax.bar(
            x + i * width,
            g["prob_select_overdose"],
            width,
            fill=False,
            hatch="//",
            edgecolor="#222222",
        )
    ax.set_xticks(x + width * (len(variants) - 1) / 2, scenarios, rotation=15, ha="right")
    ax.set_ylim(0, 1)
    ax.set_ylabel("Probability")
    ax.set_title("Correct selection (bars) and overdose selection (hatched)")
    ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return fig
