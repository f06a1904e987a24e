"""The rolling six design for phase I trials: two to six patients enrolled concurrently at a dose.

Skolnik JM, Barrett JS, Jayaraman B, Patel D, Adamson PC (2008). Shortening the timeline of
pediatric phase I trials: the rolling six design. J Clin Oncol 26:190-195.

The rolling six keeps the 3+3's escalation logic but does not close accrual while the first
cohort's DLT assessments are pending: a dose takes two to six patients at once, and each new
patient is placed according to the number enrolled at the current dose, the DLTs seen, the
patients who completed the DLT window without one, and those still pending (Skolnik et al.
2008, Table 1):

- two or more DLTs: de-escalate;
- fewer than six enrolled: escalate if at least three are enrolled, none had a DLT and none is
  pending (0/3, 0/4, 0/5); otherwise enrol at the same dose;
- six enrolled: escalate if the DLTs and the pending patients number at most one together (so
  that the dose passes the 3+3's "at most 1 DLT in 6" whatever the pending patients show);
  otherwise suspend accrual until the pending assessments resolve.

The same decisions are restated by patients enrolled, evaluated and with DLT in the "Rolling
6" column of Table 2 of the comparison of the rolling six with the phase 1 queue design, JAMA
Netw Open 2020;3(5):e204787 (doi:10.1001/jamanetworkopen.2020.4787).

The paper leaves some situations to the investigators; this module settles them as the 3+3 with
de-escalation (Korn et al. 1994) does, so that when nobody is ever pending the two designs
recommend the same dose:

- de-escalating to a dose with six patients, all evaluated, stops with that dose as the MTD
  (accrual is suspended while any of them is pending); with fewer than six, patients are
  enrolled there;
- a dose that would escalate but is the highest, or lies below a dose with two or more DLTs,
  is confirmed before stopping: the highest dose once nobody at it is pending, a dose below a
  toxic one once six patients are evaluated there (enrolling up to six meanwhile);
- a history in which a dose already left behind has two or more DLTs (which the rule itself
  cannot produce, since it escalates only when the pending patients cannot change the verdict)
  is not ignored: the rule de-escalates from the lowest such dose;
- two or more DLTs at the lowest dose stop the trial with no dose recommended.

"Suspend accrual" is returned as action ``"stay"`` at the dose concerned, with a reason that
starts with ``"suspend"`` and ``estimates["suspend"] = True``: nobody is enrolled until a pending
assessment resolves.
"""

from __future__ import annotations

import heapq
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from earlyphase.designs.contract import Decision, Design, decision_frame
from earlyphase.designs.doses import DoseLevels
from earlyphase.designs.path_tree import PathNode, grow_paths, known_outcomes, outcome_token
from earlyphase.designs.pending_paths import (
    check_pending_follow_up,
    history_state,
    pending_dose_paths,
)
from earlyphase.engine.results import OperatingCharacteristics
from earlyphase.stats.checks import check_count, check_positive

if TYPE_CHECKING:
    import pandas as pd

FloatArray = NDArray[np.float64]

#: Outcome letters of a patient: DLT, no DLT (window completed), pending.
OUTCOMES: tuple[str, ...] = ("T", "N", "P")
_TOKEN = re.compile(r"(\d+)([A-Za-z]+)")
MAX_AT_DOSE = 6


class Step(NamedTuple):
    """The rule's answer on counts: action, 0-based dose (None to stop), 0-based selected dose
    (None for none), the reason, and whether accrual is suspended."""

    action: str
    dose: int | None
    selected: int | None
    reason: str
    suspend: bool = False


def rolling_six_rule(
    enrolled: Sequence[int], dlt: Sequence[int], pending: Sequence[int], current: int
) -> Step:
    """The rolling six rule (Skolnik et al. 2008, Table 1, with the conventions of the module
    docstring) on per-dose counts; ``current`` is the 0-based dose of the last patient."""
    k = len(enrolled)
    toxic = [d for d in range(current + 1) if dlt[d] >= 2]
    if toxic:
        c = toxic[0]
        if c == 0:
            return Step("stop", None, None, "stop: >= 2 DLTs at the lowest dose")
        b = c - 1
        if enrolled[b] >= MAX_AT_DOSE:
            if pending[b] == 0:
                return Step("stop", None, b, "stop: MTD (6 evaluated, <= 1 DLT; dose above toxic)")
            return Step("stay", b, None, "suspend accrual: MTD confirmation pending", True)
        return Step("de-escalate", b, None, "de-escalate: >= 2 DLTs")
    c = current
    m, t, p = enrolled[c], dlt[c], pending[c]
    clear = m - t - p
    # escalation must stand whatever the pending patients show: with fewer than six, a clean
    # 0/3, 0/4 or 0/5 with nobody pending; with six, at most one DLT counting the pending as DLTs
    eligible = (t == 0 and p == 0 and clear >= 3) if m < MAX_AT_DOSE else (t + p <= 1)
    if eligible:
        top = c == k - 1
        blocked = any(dlt[d] >= 2 for d in range(c + 1, k))
        if not top and not blocked:
            return Step("escalate", c + 1, None, "escalate")
        done = (p == 0) if top and not blocked else (m == MAX_AT_DOSE and p == 0)
        if done:
            why = "highest dose cleared" if top and not blocked else "6 evaluated, <= 1 DLT"
            return Step("stop", None, c, f"stop: MTD ({why})")
        if m < MAX_AT_DOSE:
            return Step("stay", c, None, "same dose: confirm the MTD")
        return Step("stay", c, None, "suspend accrual: MTD confirmation pending", True)
    if m >= MAX_AT_DOSE:
        return Step("stay", c, None, "suspend accrual: 6 enrolled, DLT data pending", True)
    return Step("stay", c, None, "same dose")


#: Action codes of :func:`rolling_six_rule_batch`.
STAY, ESCALATE, DEESCALATE, STOP = 0, 1, 2, 3
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


def rolling_six_rule_batch(
    enrolled: IntArray, dlt: IntArray, pending: IntArray, current: IntArray
) -> tuple[IntArray, IntArray, IntArray, BoolArray]:
    """:func:`rolling_six_rule` for many trials at once: (T, K) counts and (T,) 0-based current
    doses give the action codes (``STAY``, ``ESCALATE``, ``DEESCALATE``, ``STOP``), the next
    dose (0-based, -1 to stop), the selected dose (-1 for none) and the suspension flags."""
    size, k = enrolled.shape
    rows = np.arange(size)
    idx = np.arange(k)[None, :]
    toxic_all = dlt >= 2
    toxic = toxic_all & (idx <= current[:, None])
    any_toxic = toxic.any(axis=1)
    low = np.where(any_toxic, toxic.argmax(axis=1), current)
    below = np.maximum(low - 1, 0)
    n_b, p_b = enrolled[rows, below], pending[rows, below]

    c = current
    m, t, p = enrolled[rows, c], dlt[rows, c], pending[rows, c]
    clear = m - t - p
    eligible = np.where(m < MAX_AT_DOSE, (t == 0) & (p == 0) & (clear >= 3), t + p <= 1)
    top = c == k - 1
    blocked = (toxic_all & (idx > c[:, None])).any(axis=1)
    confirm_top = top & ~blocked
    done = np.where(confirm_top, p == 0, (m == MAX_AT_DOSE) & (p == 0))

    action = np.full(size, STAY, dtype=np.int64)
    dose = c.astype(np.int64).copy()
    selected = np.full(size, -1, dtype=np.int64)
    suspend = np.zeros(size, dtype=bool)

    # no toxic dose at or below the current one: Table 1 at the current dose
    esc = ~any_toxic & eligible & ~top & ~blocked
    action[esc] = ESCALATE
    dose[esc] = c[esc] + 1
    confirm = ~any_toxic & eligible & (top | blocked)
    stop_mtd = confirm & done
    action[stop_mtd] = STOP
    selected[stop_mtd] = c[stop_mtd]
    suspend |= confirm & ~done & (m >= MAX_AT_DOSE)
    suspend |= ~any_toxic & ~eligible & (m >= MAX_AT_DOSE)

    # a toxic dose at or below the current one: de-escalate from the lowest
    none_left = any_toxic & (low == 0)
    action[none_left] = STOP
    back = any_toxic & (low > 0)
    full = back & (n_b >= MAX_AT_DOSE)
    mtd = full & (p_b == 0)
    action[mtd] = STOP
    selected[mtd] = below[mtd]
    wait = full & (p_b > 0)
    dose[wait] = below[wait]
    suspend |= wait
    go_back = back & ~full
    action[go_back] = DEESCALATE
    dose[go_back] = below[go_back]
    dose[action == STOP] = -1
    return action, dose, selected, suspend


@dataclass(frozen=True)
class RollingSixCharacteristics(OperatingCharacteristics):
    """Simulated operating characteristics of the rolling six, with the time it takes: mean
    (and SD of) trial duration, mean number of patients pending at each enrolment, the
    probability that accrual is ever suspended and the mean time it stays suspended."""

    mean_duration: float = float("nan")
    sd_duration: float = float("nan")
    mean_pending_at_enrolment: float = float("nan")
    prob_suspended: float = float("nan")
    mean_time_suspended: float = float("nan")
    accrual_rate: float = float("nan")
    dlt_window: float = float("nan")

    def summary(self) -> dict[str, Any]:
        return {
            **super().summary(),
            "mean_duration": self.mean_duration,
            "sd_duration": self.sd_duration,
            "mean_pending_at_enrolment": self.mean_pending_at_enrolment,
            "prob_suspended": self.prob_suspended,
            "mean_time_suspended": self.mean_time_suspended,
            "accrual_rate": self.accrual_rate,
            "dlt_window": self.dlt_window,
        }


class RollingSix(Design):
    """Rolling six design (Skolnik et al. 2008) over ``n_doses`` levels.

    A history lists the patients in order of enrolment with their dose and outcome: a string
    ``"1NNN 2TNP"`` (dose, then one letter per patient: ``T`` DLT, ``N`` no DLT, ``P``
    pending) or a sequence of ``(dose, outcome)`` pairs. The current dose is the last
    patient's.

    Examples
    --------
    >>> d = RollingSix(4)
    >>> d.decide("1NNN").action
    'escalate'
    >>> d.decide("1NNPPP").action
    'stay'
    """

    name = "rolling-six"
    oc_methods = ("simulate",)

    def __init__(self, n_doses: int, doses: DoseLevels | None = None, start_dose: int = 1) -> None:
        self.n_doses = check_count(n_doses, "n_doses", minimum=1)
        self.doses = DoseLevels.for_design(doses, self.n_doses)
        start = check_count(start_dose, "start_dose", minimum=1)
        if start > self.n_doses:
            raise ValueError(f"start_dose: {start} is outside 1..{self.n_doses}")
        self.start_dose = start

    # -- history -----------------------------------------------------------------------------

    def _patients(self, history: Any) -> list[tuple[int, str]]:
        """(0-based dose, outcome letter) per patient, in order of enrolment."""
        if history is None:
            return []
        pairs: list[tuple[int, str]] = []
        if isinstance(history, str):
            for tok in history.split():
                match = _TOKEN.fullmatch(tok)
                if match is None:
                    raise ValueError(f"history: tokens are a dose then T/N/P letters, got {tok!r}")
                pairs.extend((int(match.group(1)), ch) for ch in match.group(2))
        else:
            for item in history:
                dose, outcome = item
                pairs.append((int(dose), str(outcome)))
        out = []
        for dose, outcome in pairs:
            letter = outcome.upper()
            if letter not in OUTCOMES:
                raise ValueError(f"history: outcome must be T, N or P, got {outcome!r}")
            if not 1 <= dose <= self.n_doses:
                raise ValueError(f"history: dose {dose} is outside 1..{self.n_doses}")
            out.append((dose - 1, letter))
        return out

    def _counts(self, patients: list[tuple[int, str]]) -> tuple[list[int], list[int], list[int]]:
        n = [0] * self.n_doses
        t = [0] * self.n_doses
        p = [0] * self.n_doses
        for dose, letter in patients:
            n[dose] += 1
            t[dose] += letter == "T"
            p[dose] += letter == "P"
        too_many = [d + 1 for d in range(self.n_doses) if n[d] > MAX_AT_DOSE]
        if too_many:
            raise ValueError(f"history: more than {MAX_AT_DOSE} patients at dose {too_many[0]}")
        return n, t, p

    # -- decide ------------------------------------------------------------------------------

    def decide(self, history: Any = None) -> Decision:
        """Where the next patient goes, or suspend, or stop (Skolnik et al. 2008, Table 1)."""
        patients = self._patients(history)
        if not patients:
            return Decision(
                dose=self.start_dose,
                stop=False,
                reason="start",
                action="start",
                dose_label=self.doses.label(self.start_dose),
            )
        n, t, p = self._counts(patients)
        step = rolling_six_rule(n, t, p, patients[-1][0])
        estimates = {
            "enrolled": n,
            "dlt": t,
            "pending": p,
            "current_dose": patients[-1][0] + 1,
            "suspend": step.suspend,
        }
        selected = None if step.selected is None else step.selected + 1
        dose = None if step.dose is None else step.dose + 1
        message = ""
        if step.suspend and dose is not None:
            message = f"{step.reason}: enrol nobody until a DLT assessment at dose {dose} ends"
        return Decision(
            dose=dose,
            stop=step.action == "stop",
            reason=step.reason,
            selected=selected,
            dose_label=None if dose is None else self.doses.label(dose),
            action=step.action,
            estimates=estimates,
            message=message,
        )

    def _table_dose(self) -> int:
        """The dose (1-based) whose states the tables show: one with doses above and below
        where there are enough, so that every action appears."""
        return 2 if self.n_doses >= 3 else 1

    def _states(self) -> list[tuple[int, int, int, int]]:
        """(enrolled, DLTs, without DLT, pending) at one dose, in the paper's order."""
        return [
            (m, t, m - t - p, p)
            for m in range(1, MAX_AT_DOSE + 1)
            for t in range(m + 1)
            for p in range(m - t, -1, -1)
        ]

    def decision_table(self) -> pd.DataFrame:
        """Every state at a dose (enrolled, DLTs, without DLT, pending) with its action, for a
        dose with nothing tried above it (dose 2 when there are three doses or more)."""
        d0 = self._table_dose()
        rows = []
        for m, t, e, p in self._states():
            path = f"{d0}" + "T" * t + "N" * e + "P" * p
            dec = self.decide(path)
            rows.append(
                {
                    "state": f"{m} enrolled: {t} with DLT, {e} without DLT, {p} pending",
                    "path": path,
                    "n": m,
                    "events": t,
                    "endpoint": "DLT",
                    "action": dec.action,
                    "next_dose": dec.dose,
                    "reason": dec.reason,
                }
            )
        return decision_frame(rows)

    def protocol_table(self) -> pd.DataFrame:
        """Skolnik et al. (2008) Table 1 in its layout: patients enrolled, with DLT, without
        DLT, with data pending, and the decision, the states of each row listed as the paper
        lists them (DLT counts of two or more grouped)."""
        import pandas as pd

        words = {
            "stay": "Same dose level",
            "escalate": "Escalate",
            "de-escalate": "De-escalate",
        }
        d0 = self._table_dose()
        groups: dict[tuple[int, str, str], list[tuple[int, int]]] = {}
        for m, t, e, p in self._states():
            if m < 2:
                continue  # the table starts at two patients
            step = rolling_six_rule(
                [m if i == d0 - 1 else 0 for i in range(self.n_doses)],
                [t if i == d0 - 1 else 0 for i in range(self.n_doses)],
                [p if i == d0 - 1 else 0 for i in range(self.n_doses)],
                d0 - 1,
            )
            decision = "Suspend" if step.suspend else words.get(step.action, step.action)
            if t >= 2 and step.action in ("de-escalate", "stop"):
                decision = "De-escalate"
            groups.setdefault((m, str(t) if t < 2 else ">= 2", decision), []).append((e, p))
        rows = []
        for (m, t_label, decision), states in groups.items():
            without = sorted({e for e, _ in states})
            pend = sorted({p for _, p in states}, reverse=True)
            rows.append(
                {
                    "patients enrolled": m,
                    "patients with DLT": t_label,
                    "patients without DLT": ", ".join(str(v) for v in without),
                    "patients with data pending": ", ".join(str(v) for v in pend),
                    "decision": decision,
                }
            )
        return pd.DataFrame(rows)

    # -- paths -------------------------------------------------------------------------------

    def dose_paths(
        self,
        n_cohorts: int,
        history: Any = None,
        truth: Any = None,
        *,
        pending_follow_up: float | None = None,
    ) -> pd.DataFrame:
        """Every way the next ``n_cohorts`` patients can go, with the probability of each path
        under the true DLT rates ``truth`` (a cohort is one patient).

        By default each patient is evaluated before the next is enrolled (nobody is pending,
        so suspensions cannot occur); paths start with the outcome string of ``history``.

        With ``pending_follow_up=g`` (a fraction of the window in (0, 1)) a patient arrives
        every g windows, while earlier ones are pending: each decision is Table 1's with the
        patients enrolled, with DLT and pending at that moment; its "suspend" rows are nodes
        where enrolment waits one interval, no one dosed, before the rule is applied again.
        Pending outcomes resolve at later decisions with the probabilities of a time to DLT
        uniform on the window; the history's pending patients are taken to have just been
        dosed (:mod:`~earlyphase.designs.pending_paths`, which states the semantics and the
        size limit).
        """
        probs = None if truth is None else self._truth(truth)
        if pending_follow_up is not None:
            check_pending_follow_up(pending_follow_up)
            pats = self._patients(history)
            start = history_state([d + 1 for d, _ in pats], [o for _, o in pats], [0.0] * len(pats))
            return pending_dose_paths(
                n_cohorts,
                start,
                lambda st: self.decide(st.snapshot() or None),
                lambda _st: 1,
                pending_follow_up,
                probs,
                by_dose=True,
            )
        base = "" if history is None else str(history).strip()
        if not isinstance(history, (str, type(None))):
            base = " ".join(f"{d}{o}" for d, o in history)

        def probability(dose: int, _size: int, tox: int) -> float:
            if probs is None:
                return float("nan")
            q = float(probs[dose - 1])
            return q if tox else 1.0 - q

        branch = known_outcomes(
            lambda _h: 1,
            lambda h, dose, size, k: (h + " " + outcome_token(dose, size, k)).strip(),
            probability,
        )
        root = PathNode(base, base, 0, 0, 0, 1.0)
        return grow_paths(root, n_cohorts, lambda h: self.decide(h or None), branch)

    # -- operating characteristics -----------------------------------------------------------

    def _truth(self, truth: Any) -> FloatArray:
        arr = np.asarray(truth, dtype=np.float64)
        if arr.shape != (self.n_doses,) or np.any(np.isnan(arr)) or np.any((arr < 0) | (arr > 1)):
            raise ValueError(f"truth: one DLT rate in [0, 1] per dose ({self.n_doses}) needed")
        return arr

    def operating_characteristics(
        self,
        truth: Any,
        method: str = "simulate",
        n_sims: int = 10_000,
        seed: int | None = None,
        *,
        accrual_rate: float = 1.0 / 7.0,
        dlt_window: float = 28.0,
    ) -> RollingSixCharacteristics:
        """Simulated operating characteristics with time: patients arrive as a Poisson
        process with ``accrual_rate`` patients per unit time, each patient's DLT window lasts
        ``dlt_window``, and a DLT occurs with the dose's true rate at a time uniform over the
        window (so the patient stops being pending at the DLT, or at the end of the window).
        Patients arriving while accrual is suspended are not enrolled; by the memorylessness of
        Poisson arrivals the next one arrives an exponential time after accrual reopens. The
        trial ends when the rule stops; DLTs of patients still pending then are counted in
        ``mean_dlt``. Duration runs from the first enrolment to the stopping decision.

        The trials run together as arrays: at each step every trial still running takes its
        next event (an arrival, or the end of a DLT assessment), and the rule is applied to all
        of them at once (:func:`rolling_six_rule_batch`).
        """
        self._check_method(method)
        p = self._truth(truth)
        n_sims = check_count(n_sims, "n_sims", minimum=1)
        rate = check_positive(accrual_rate, "accrual_rate")
        window = check_positive(dlt_window, "dlt_window")
        k = self.n_doses
        max_pat = MAX_AT_DOSE * k
        rng = np.random.default_rng(seed)
        # enough exponential gaps for every enrolment and every reopening of accrual
        gaps = rng.exponential(1.0 / rate, size=(n_sims, 2 * max_pat + 2))
        u_dlt = rng.random((n_sims, max_pat))
        u_time = rng.random((n_sims, max_pat))
        sel, n_at, dlt_at, duration, suspended_time, pending = self._simulate_batch(
            p, window, gaps, u_dlt, u_time
        )
        selected = np.where(sel < 0, k, sel)
        enrolments = int(n_at.sum())
        pending_sum = int(pending.sum())
        selection = np.bincount(selected, minlength=k + 1).astype(np.float64) / n_sims
        totals = n_at.sum(axis=1)
        values, counts = np.unique(totals, return_counts=True)
        return RollingSixCharacteristics(
            true_tox=p,
            dose_labels=tuple(self.doses.label(d) for d in range(1, k + 1)),
            selection=selection,
            mean_n=n_at.mean(axis=0).astype(np.float64),
            mean_dlt=dlt_at.mean(axis=0).astype(np.float64),
            n_distribution={int(v): float(c) / n_sims for v, c in zip(values, counts, strict=True)},
            prob_overdose_60=None,
            prob_overdose_80=None,
            mean_n_above_target=None,
            method="simulate",
            n_sims=n_sims,
            mc_se=np.sqrt(selection * (1.0 - selection) / n_sims),
            design=self.describe(),
            mean_duration=float(duration.mean()),
            sd_duration=float(duration.std(ddof=1)) if n_sims > 1 else 0.0,
            mean_pending_at_enrolment=pending_sum / enrolments if enrolments else 0.0,
            prob_suspended=float((suspended_time > 0).mean()),
            mean_time_suspended=float(suspended_time.mean()),
            accrual_rate=rate,
            dlt_window=window,
        )

    def _simulate_batch(
        self,
        p: FloatArray,
        window: float,
        gaps: FloatArray,
        u_dlt: FloatArray,
        u_time: FloatArray,
    ) -> tuple[IntArray, IntArray, IntArray, FloatArray, FloatArray, IntArray]:
        """All trials together, event by event: what :meth:`_one_trial` does for one trial,
        with the same random numbers (row ``i`` of each array is trial ``i``). Returns the
        selected dose (0-based, -1 for none), patients and DLTs per dose, duration, time
        suspended and the sum of patients pending at each enrolment, per trial."""
        size, max_pat = u_dlt.shape
        k = self.n_doses
        rows_all = np.arange(size)
        n = np.zeros((size, k), dtype=np.int64)
        t_seen = np.zeros((size, k), dtype=np.int64)
        pend = np.zeros((size, k), dtype=np.int64)
        t_all = np.zeros((size, k), dtype=np.int64)
        ends = np.full((size, max_pat), np.inf)  # inf: not enrolled, or already resolved
        dose_of = np.zeros((size, max_pat), dtype=np.int64)
        tox_of = np.zeros((size, max_pat), dtype=bool)
        clock = np.zeros(size)
        next_arrival = np.zeros(size)
        gap_i = np.zeros(size, dtype=np.int64)
        n_pat = np.zeros(size, dtype=np.int64)
        current = np.full(size, self.start_dose - 1, dtype=np.int64)
        suspended_at = np.full(size, np.nan)
        suspended = np.zeros(size)
        pending_sum = np.zeros(size, dtype=np.int64)
        selected = np.full(size, -1, dtype=np.int64)
        active = np.ones(size, dtype=bool)
        while active.any():
            j_res = ends.argmin(axis=1)
            next_res = ends[rows_all, j_res]
            is_susp = ~np.isnan(suspended_at)
            do_res = active & (is_susp | (next_res <= next_arrival))

            # the end of a DLT assessment: update the counts and look at the rule again
            r = np.flatnonzero(do_res)
            if r.size:
                j = j_res[r]
                clock[r] = next_res[r]
                ends[r, j] = np.inf
                d = dose_of[r, j]
                pend[r, d] -= 1
                t_seen[r, d] += tox_of[r, j]
                action, _, sel, susp = rolling_six_rule_batch(n[r], t_seen[r], pend[r], current[r])
                stop = action == STOP
                selected[r[stop]] = sel[stop]
                active[r[stop]] = False
                reopen = r[~stop & is_susp[r] & ~susp]
                suspended[reopen] += clock[reopen] - suspended_at[reopen]
                suspended_at[reopen] = np.nan
                next_arrival[reopen] = clock[reopen] + gaps[reopen, gap_i[reopen]]
                gap_i[reopen] += 1

            # an arrival: stop, suspend accrual, or enrol at the dose the rule gives
            a = np.flatnonzero(active & ~do_res)
            if not a.size:
                continue
            clock[a] = next_arrival[a]
            action, dose, sel, susp = rolling_six_rule_batch(n[a], t_seen[a], pend[a], current[a])
            first = n_pat[a] == 0
            stop = (action == STOP) & ~first
            selected[a[stop]] = sel[stop]
            active[a[stop]] = False
            hold = susp & ~first & ~stop
            suspended_at[a[hold]] = clock[a[hold]]
            go = ~stop & ~hold
            e = a[go]
            dose_e = np.where(first[go], self.start_dose - 1, dose[go])
            j = n_pat[e]
            tox = u_dlt[e, j] < p[dose_e]
            ends[e, j] = clock[e] + np.where(tox, u_time[e, j] * window, window)
            dose_of[e, j] = dose_e
            tox_of[e, j] = tox
            pending_sum[e] += pend[e].sum(axis=1)
            n[e, dose_e] += 1
            pend[e, dose_e] += 1
            t_all[e, dose_e] += tox
            current[e] = dose_e
            n_pat[e] += 1
            next_arrival[e] = clock[e] + gaps[e, gap_i[e]]
            gap_i[e] += 1
        still = ~np.isnan(suspended_at)
        suspended[still] += clock[still] - suspended_at[still]
        return selected, n, t_all, clock, suspended, pending_sum

    def _one_trial(
        self,
        p: FloatArray,
        window: float,
        gaps: FloatArray,
        u_dlt: FloatArray,
        u_time: FloatArray,
    ) -> tuple[int | None, list[int], list[int], float, float, int]:
        """One trial, event by event, one patient at a time (the reference for
        :meth:`_simulate_batch`): (selected 0-based or None, patients per dose, DLTs per
        dose (including those still pending at the end), duration, time suspended, sum over
        enrolments of the patients pending then)."""
        k = self.n_doses
        n = [0] * k
        t_seen = [0] * k
        pend = [0] * k
        t_all = [0] * k
        resolutions: list[tuple[float, int, bool]] = []  # (time, dose, DLT) heap
        clock = 0.0
        next_arrival = 0.0
        gap_i = 0
        current = self.start_dose - 1
        suspended_at: float | None = None
        suspended = 0.0
        pending_sum = 0
        n_pat = 0
        while True:
            next_res = resolutions[0][0] if resolutions else math.inf
            if suspended_at is not None or next_res <= next_arrival:
                # a DLT assessment ends: update the counts and look at the rule again
                clock, dose, tox = heapq.heappop(resolutions)
                pend[dose] -= 1
                t_seen[dose] += tox
                step = rolling_six_rule(n, t_seen, pend, current)
                if step.action == "stop":
                    final = step
                    break
                if suspended_at is not None and not step.suspend:
                    suspended += clock - suspended_at
                    suspended_at = None
                    next_arrival = clock + float(gaps[gap_i])
                    gap_i += 1
                continue
            clock = next_arrival
            arrival = rolling_six_rule(n, t_seen, pend, current) if n_pat else None
            if arrival is not None and arrival.action == "stop":
                final = arrival
                break
            if arrival is not None and arrival.suspend:
                suspended_at = clock
                continue
            dose = current if arrival is None or arrival.dose is None else arrival.dose
            tox = bool(u_dlt[n_pat] < p[dose])
            ends = clock + (float(u_time[n_pat]) * window if tox else window)
            pending_sum += sum(pend)
            n[dose] += 1
            pend[dose] += 1
            t_all[dose] += tox
            heapq.heappush(resolutions, (ends, dose, tox))
            current = dose
            n_pat += 1
            next_arrival = clock + float(gaps[gap_i])
            gap_i += 1
        if suspended_at is not None:
            suspended += clock - suspended_at
        return final.selected, n, t_all, clock, suspended, pending_sum

    def describe(self) -> str:
        """The design in words."""
        start = f", starting at dose {self.start_dose}" if self.start_dose > 1 else ""
        return (
            f"Rolling six (Skolnik et al. 2008), {self.n_doses} doses{start}: 2 to 6 patients "
            "enrolled concurrently at a dose; >= 2 DLTs de-escalate; 0 DLTs among 3 to 5 "
            "patients all evaluated, or DLTs plus pending <= 1 among 6, escalate; accrual is "
            "suspended when 6 are enrolled otherwise; the MTD is confirmed with 6 evaluated "
            "patients and <= 1 DLT below a toxic dose (the highest dose once nobody at it is "
            "pending)"
        )
