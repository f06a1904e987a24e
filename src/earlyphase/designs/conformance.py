"""The design contract, checked: :func:`check_design` runs every method of
:class:`~earlyphase.designs.contract.Design` on a design and verifies the result types, the
frame layouts and that the methods agree with each other (in the manner of scikit-learn's
``check_estimator``).

A new design, or a new stack of behaviours, passes :func:`check_design` before it is used in a
trial; ``tests/test_conformance.py`` runs it on every design and behaviour stack shipped.
"""

from __future__ import annotations

import json
import math
from typing import Any

from earlyphase.designs.contract import ACTIONS, DECISION_COLUMNS, PATH_COLUMNS, Decision, Design


class ContractError(AssertionError):
    """A design breaks the contract; the message names the method and what is wrong."""


def _fail(design: Design, method: str, what: str) -> ContractError:
    return ContractError(f"{type(design).__name__}.{method}: {what}")


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN and pandas' NA
    except TypeError:
        return True  # pd.NA raises on bool()


def check_decision(design: Design, decision: Any, where: str) -> None:
    """A :class:`Decision` whose fields agree: a stop has no next dose and action "stop";
    a decision to go on names a dose and an action other than "stop"; it serialises to JSON."""
    if not isinstance(decision, Decision):
        raise _fail(design, "decide", f"{where}: returned {type(decision).__name__}, not Decision")
    if decision.action not in ACTIONS:
        raise _fail(design, "decide", f"{where}: action {decision.action!r} not in {ACTIONS}")
    if decision.stop != (decision.action == "stop"):
        raise _fail(design, "decide", f"{where}: stop={decision.stop} but {decision.action!r}")
    if decision.stop and decision.dose is not None:
        raise _fail(design, "decide", f"{where}: stops but names dose {decision.dose}")
    if not decision.stop and decision.dose is None:
        raise _fail(design, "decide", f"{where}: goes on without a dose")
    if not decision.reason or not str(decision):
        raise _fail(design, "decide", f"{where}: no reason")
    json.dumps(decision.to_dict())


def check_design(
    design: Design,
    truth: Any,
    *,
    n_cohorts: int = 2,
    n_sims: int = 200,
    seed: int = 1,
) -> None:
    """Run the whole contract on ``design`` under the true scenario ``truth``.

    Checks ``describe``; ``decide`` before any data; ``decision_table`` (columns, actions,
    next doses) and, for every row that names its outcome path, that ``decide`` on that path
    gives the same action and dose; ``dose_paths`` (columns; ``decide`` on every path agrees
    with the row; the first cohort's probabilities sum to 1 under ``truth``);
    ``operating_characteristics`` by every method in ``oc_methods`` (``table``, ``summary``,
    ``to_dict`` serialisable to JSON), and that any other method is refused with a
    ``ValueError`` naming ``method``; ``protocol_table``. Raises :class:`ContractError`.
    """
    import pandas as pd

    if not isinstance(design, Design):
        raise ContractError(f"{type(design).__name__}: not an earlyphase Design")
    text = design.describe()
    if not isinstance(text, str) or not text.strip():
        raise _fail(design, "describe", "empty description")

    first = design.decide(None)
    check_decision(design, first, "before any data")
    if first.stop or first.action != "start":
        raise _fail(design, "decide", "before any data the decision must be to start")

    table = design.decision_table()
    if not isinstance(table, pd.DataFrame) or list(table.columns) != list(DECISION_COLUMNS):
        raise _fail(design, "decision_table", f"columns must be {DECISION_COLUMNS}")
    if table.empty:
        raise _fail(design, "decision_table", "no rows")
    bad = sorted(set(table["action"]) - set(ACTIONS))
    if bad:
        raise _fail(design, "decision_table", f"unknown actions {bad}")
    stops = table["action"] == "stop"
    if table.loc[stops, "next_dose"].notna().any():
        raise _fail(design, "decision_table", "a stop row names a next dose")
    if table.loc[~stops, "next_dose"].isna().any():
        raise _fail(design, "decision_table", "a row that goes on names no next dose")
    for _, row in table[table["path"].notna()].iterrows():
        d = design.decide(row["path"])
        check_decision(design, d, f"path {row['path']!r}")
        got = None if d.dose is None else int(d.dose)
        want = None if _is_missing(row["next_dose"]) else int(row["next_dose"])
        if got != want or d.stop != (row["action"] == "stop"):
            raise _fail(
                design,
                "decision_table",
                f"row {row['path']!r} says {row['action']} {want}, decide says {d.action} {got}",
            )

    paths = design.dose_paths(n_cohorts, truth=truth)
    if not isinstance(paths, pd.DataFrame) or list(paths.columns) != list(PATH_COLUMNS):
        raise _fail(design, "dose_paths", f"columns must be {PATH_COLUMNS}")
    if paths.empty:
        raise _fail(design, "dose_paths", "no paths from the start")
    for _, row in paths.iterrows():
        d = design.decide(row["path"])
        check_decision(design, d, f"path {row['path']!r}")
        want = None if _is_missing(row["next"]) else int(row["next"])
        if d.dose != want:
            raise _fail(design, "dose_paths", f"{row['path']!r}: next {want}, decide says {d.dose}")
    total = float(paths.loc[paths["cohort"] == 1, "probability"].sum())
    if not math.isclose(total, 1.0, abs_tol=1e-9):
        raise _fail(design, "dose_paths", f"first cohort's probabilities sum to {total}")

    if not design.oc_methods:
        raise _fail(design, "oc_methods", "no method")
    for method in design.oc_methods:
        oc = design.operating_characteristics(truth, method=method, n_sims=n_sims, seed=seed)
        frame = oc.table()
        if not isinstance(frame, pd.DataFrame) or frame.empty:
            raise _fail(design, "operating_characteristics", f"{method}: empty table()")
        summary = oc.summary()
        if summary.get("method") != method:
            raise _fail(
                design,
                "operating_characteristics",
                f"{method}: summary names method {summary.get('method')!r}",
            )
        json.dumps(oc.to_dict())
    try:
        design.operating_characteristics(truth, method="no-such-method")
    except ValueError as exc:
        if not str(exc).startswith("method:"):
            raise _fail(
                design, "operating_characteristics", f"bad method refused with {exc}"
            ) from None
    else:
        raise _fail(design, "operating_characteristics", "accepted method 'no-such-method'")

    proto = design.protocol_table()
    if not isinstance(proto, pd.DataFrame) or proto.empty:
        raise _fail(design, "protocol_table", "empty")
