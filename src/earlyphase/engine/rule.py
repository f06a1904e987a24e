"""The extension points of a dose-finding design: what the engine asks of a rule.

A new design implements :meth:`BatchRule.decide_batch` and :meth:`BatchRule.select_batch`
(and, when its cohorts are not all of one size, :meth:`BatchRule.cohort_sizes`) by subclassing
:class:`earlyphase.designs.DoseFindingDesign`, which supplies the rest. Everything in
:mod:`earlyphase.engine` (exact enumeration, Monte Carlo, dose paths) works through these
methods only, so a design written this way gets ``decide``, ``decision_table``, exact and
simulated operating characteristics and dose paths without further code.
"""

from __future__ import annotations

from typing import Protocol

from earlyphase.engine.states import Decisions, IntArray, States


class DoseLabels(Protocol):
    def label(self, level: int) -> str:
        """The printed name of 1-based dose ``level`` (e.g. "2 (1.0 x 10^6 cells/kg)")."""
        ...


class BatchRule(Protocol):
    """A dose-finding rule applied to many trials at once (0-based doses)."""

    n_doses: int
    cohort_size: int
    start_index: int  # 0-based

    @property
    def doses(self) -> DoseLabels:
        """The dose levels, for labels in results."""
        ...

    @property
    def aux_width(self) -> int:
        """Columns of extra state the rule keeps per trial (e.g. an expansion phase)."""
        ...

    @property
    def max_patients(self) -> int:
        """An upper bound on the sample size (sizes the arrays of a simulation)."""
        ...

    @property
    def uses_last_cohort(self) -> bool:
        """Whether decisions depend on the last cohort's outcome beyond the per-dose counts;
        when not, exact enumeration merges states that differ only there."""
        ...

    @property
    def target(self) -> float | None:
        """Target DLT rate, when the design has one (for overdosing summaries)."""
        ...

    def initial_states(self, size: int) -> States:
        """``size`` trials before their first cohort."""
        ...

    def decide_batch(self, st: States) -> Decisions:
        """The decision after each trial's latest cohort."""
        ...

    def select_batch(self, st: States) -> IntArray:
        """The dose each trial would recommend now (0-based, -1 for none)."""
        ...

    def cohort_sizes(self, st: States) -> IntArray:
        """The size of each trial's next cohort (0 when it can treat no one else)."""
        ...

    def describe(self) -> str:
        """Every setting that changes the rule's behaviour, in words."""
        ...
