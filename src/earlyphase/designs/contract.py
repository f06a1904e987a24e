"""The contract every design keeps, whatever kind of trial it runs.

Dose-finding (3+3, BOIN, CRM and their behaviour stacks), single-arm phase II and monitoring
designs (Thall-Simon, Simon, predictive probability, toxicity monitoring, Thall-Simon-Estey)
and phase I/II designs (EffTox) all answer the same five questions, with the same result
types, in the manner of scikit-learn's estimator contract:

``decide(history) -> Decision``
    What to do after the data so far: the next dose (or continue), or stop, with the reason
    and what the design estimated.
``decision_table() -> DataFrame``
    The rule as state -> action rows, with the columns :data:`DECISION_COLUMNS`.
``operating_characteristics(truth, method=..., n_sims=..., seed=...) -> OCResult``
    What the design does under a true scenario, exactly or by simulation (``oc_methods``
    says which it supports), with ``table()``, ``summary()`` and ``to_dict()``.
``dose_paths(n_cohorts, history=None, truth=None) -> DataFrame``
    Every way the next cohorts (or looks) can go, with the columns :data:`PATH_COLUMNS`.
``describe() -> str``
    Every setting that changes the design's behaviour, in words.

and ``protocol_table()``, the rule as a protocol prints it.

:func:`earlyphase.designs.conformance.check_design` runs the whole contract on a design.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import pandas as pd

    from earlyphase.engine.results import OCResult

#: What a decision tells the team to do.
ACTIONS: tuple[str, ...] = (
    "start",
    "escalate",
    "stay",
    "de-escalate",
    "expand",
    "continue",
    "stop",
)

#: Columns of every design's ``decision_table()``: one row per state the rule can meet.
#: ``state`` says the state in words; ``n`` and ``events`` are the patients and events the
#: rule looks at (at the current dose, or in total for path-based rules, whose rows carry the
#: outcome ``path``); ``endpoint`` names what ``events`` counts; ``action`` is one of
#: :data:`ACTIONS`; ``next_dose`` is the dose level given next where the rule names one.
DECISION_COLUMNS: tuple[str, ...] = (
    "state",
    "path",
    "n",
    "events",
    "endpoint",
    "action",
    "next_dose",
    "reason",
)

#: Columns of every design's ``dose_paths()``: one row per node of the tree of outcomes.
PATH_COLUMNS: tuple[str, ...] = (
    "cohort",
    "path",
    "dose",
    "n_dlt",
    "next",
    "decision",
    "selected",
    "probability",
)


@dataclass(frozen=True)
class Decision:
    """What to do next, for the trial being run.

    ``dose`` is the 1-based dose level for the next cohort (None when the trial stops; 1 for a
    single-arm design that continues); ``selected`` is the recommended dose (MTD, RP2D, OBD)
    when a dose-finding trial stops, None if no dose is acceptable; ``action`` is one of
    :data:`ACTIONS`; ``crossed`` names the boundary a single-arm design crossed ("upper" or
    "lower"); ``estimates`` holds what the design estimated from the data (posterior DLT
    rates, observed rates, posterior probabilities...); ``message``, when set, is the
    sentence to show instead of the one built from the other fields.
    """

    dose: int | None
    stop: bool
    reason: str
    selected: int | None = None
    dose_label: str | None = None
    action: str = ""
    crossed: str | None = None
    estimates: Mapping[str, Any] = field(default_factory=dict)
    message: str = ""

    def __str__(self) -> str:
        if self.message:
            return self.message
        if self.stop:
            sel = "no dose" if self.selected is None else f"dose {self.selected}"
            return f"{self.reason}; recommend {sel}"
        return f"{self.reason}: treat the next cohort at {self.dose_label or self.dose}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "dose": self.dose,
            "dose_label": self.dose_label,
            "stop": self.stop,
            "action": self.action,
            "reason": self.reason,
            "selected": self.selected,
            "crossed": self.crossed,
            "estimates": dict(self.estimates),
            "message": str(self),
        }


def decision_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows in the :data:`DECISION_COLUMNS` layout, with nullable integer columns."""
    import pandas as pd

    frame = pd.DataFrame(rows, columns=list(DECISION_COLUMNS))
    for col in ("n", "events", "next_dose"):
        frame[col] = frame[col].astype("Int64")
    return frame


class Design(ABC):
    """A design of any kind: the five methods of the contract, and its settings.

    ``name`` is the design's key in the settings registry (``"boin"``, ``"thall-simon"``...);
    ``oc_methods`` lists the ``method`` values ``operating_characteristics`` accepts.
    """

    name: ClassVar[str] = ""
    oc_methods: ClassVar[tuple[str, ...]] = ("exact", "simulate")

    @abstractmethod
    def decide(self, history: Any = None) -> Decision:
        """What to do after ``history``."""

    @abstractmethod
    def decision_table(self) -> pd.DataFrame:
        """The rule as state -> action rows (:data:`DECISION_COLUMNS`)."""

    @abstractmethod
    def operating_characteristics(
        self, truth: Any, method: str = "exact", n_sims: int = 10_000, seed: int | None = None
    ) -> OCResult:
        """What the design does under the true scenario ``truth``."""

    @abstractmethod
    def dose_paths(self, n_cohorts: int, history: Any = None, truth: Any = None) -> pd.DataFrame:
        """Every path of the next ``n_cohorts`` cohorts (:data:`PATH_COLUMNS`)."""

    @abstractmethod
    def describe(self) -> str:
        """Every setting that changes the design's behaviour, in words."""

    def protocol_table(self) -> pd.DataFrame:
        """The rule as a protocol prints it (BOIN's boundaries, 3+3's rules in words, the
        boundaries per look of a single-arm design); the decision table by default."""
        return self.decision_table()

    def _check_method(self, method: str) -> None:
        if method not in self.oc_methods:
            raise ValueError(
                f"method: {type(self).__name__} supports {list(self.oc_methods)}, got {method!r}"
            )
