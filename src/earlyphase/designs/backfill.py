"""Backfill: patients enrolled at cleared lower doses while dose escalation proceeds (BF-BOIN,
Zhao, Yuan, Korn & Freidlin 2024), for BOIN and the 3+3.

``BOIN(...).with_backfill(window=28)`` or ``ThreePlusThree(...).with_backfill(window=28)``.
Escalation runs in cohorts as the wrapped design says; while the current cohort's DLT
outcomes are pending, a new patient is *backfilled* at a lower dose that is open for
backfilling, instead of being turned away. Every patient's outcome, once known, joins the
decisions.

Notation: dose c is the current escalation dose; for each dose, n and y are the patients and
DLTs whose outcomes are known (escalation and backfill together). E(n) and D(n) are the
escalation and de-escalation boundaries on the DLT count: BOIN's y <= floor(n lambda_e) and
y >= its de-escalation boundary (Liu & Yuan 2015); for the 3+3, D(n) = max(2, ceil(n / 3))
(2 of 3 or 6, a third of more patients) and E(n) = D(n) - 1.

Backfill eligibility (settings of :class:`Backfill`): a dose b is open for backfilling when

1. b < c and b was treated during escalation (the trial has escalated from it);
2. with ``require_response``, at least one response has been seen at b (BF-BOIN);
3. it is safe: y_b < D(n_b), or the data of b and b + 1 pooled are below D (BF-BOIN), and no
   lower dose is unsafe (a dose above an unsafe dose is closed too);
4. fewer than ``cap_per_dose`` patients (escalation and backfill) have been treated at b, and
   fewer than ``max_backfill`` backfill patients in the trial.

A backfilled patient goes to the highest open dose (``assign="highest"``) or the lowest. A
dose closes when the escalation de-escalates to or below it (it is then no longer below the
current dose), when it turns unsafe, or at the cap; backfill ends with the escalation.

Decisions with backfill data (BF-BOIN), when the current cohort's outcomes are all known:
each dose's data give escalate (y <= E(n)), de-escalate (y >= D(n)) or stay. When no lower
dose contradicts the current dose's decision, the wrapped design decides from the data (with
the backfill patients counted). A lower dose contradicts an escalation when it does not say
escalate, and it contradicts stay or de-escalate when it says de-escalate. Then, with b* the
highest contradicting dose and (Y, N) the data of doses b*..c pooled:

- Y <= E(N): escalate (stay if c is the top dose or c + 1 is eliminated);
- Y >= D(N): go to the highest dose k in b*..c whose pooled data from b* to k are below the
  boundary (cumulative sums from b*), or to b* - 1 if there is none (at dose 1: stop if it is
  eliminated, otherwise stay);
- otherwise stay.

This is the rule of R ``bfboin`` (Magirr & Zhang 2025, ``sim.one.trial``), an implementation
of the published design; it reproduces the operating characteristics of Zhao et al. (2024),
Table 4 (``tests/test_backfill.py``). At the end, the MTD is selected from all patients whose
outcomes are known when the last cohort's are: BOIN's isotonic selection; for the 3+3 the
highest dose below the lowest dose with y >= D(n) that has 0 of 3, or fewer than a third
with DLT among 6 or more (the 3+3's own rule at 3 and 6 patients).

References
----------
Zhao Y, Yuan Y, Korn EL, Freidlin B (2024). Backfilling patients in phase I dose-escalation
    trials using Bayesian optimal interval design (BOIN). Clin Cancer Res 30(4):673-679.
Liu S, Yuan Y (2015). Bayesian optimal interval designs for phase I clinical trials. J R Stat
    Soc C 64:507-523.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from earlyphase.designs.base import DoseFindingDesign
from earlyphase.designs.contract import Decision, Design, decision_frame
from earlyphase.designs.late_onset import (
    TIMES_TO_DLT,
    Accrual,
    dlt_times,
    schedule_from,
    unit_gaps_of,
)
from earlyphase.designs.path_tree import (
    PathNode,
    binomial_probability,
    grow_paths,
    known_outcomes,
    outcome_token,
)
from earlyphase.designs.tite_crm import (
    HistoryLike,
    TimedOperatingCharacteristics,
    as_patient_history,
)
from earlyphase.engine.states import (
    R_DEESCALATE,
    R_ESCALATE,
    R_MAX_N,
    R_N_AT_DOSE,
    R_STAY,
    R_TOO_TOXIC,
    REASONS,
    States,
    check_truth,
)
from earlyphase.engine.step import overdose_summaries

if TYPE_CHECKING:
    import pandas as pd

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

__all__ = ["ASSIGNS", "Backfill", "BackfillOperatingCharacteristics"]

ASSIGNS: tuple[str, ...] = ("highest", "lowest")
_WAIT = "stay: wait for the current cohort's DLT outcomes (backfill meanwhile)"
_FILL = "stay: the current cohort is not complete"


@dataclass(frozen=True)
class BackfillOperatingCharacteristics(TimedOperatingCharacteristics):
    """Operating characteristics of a design with backfill: those of
    :class:`~earlyphase.designs.tite_crm.TimedOperatingCharacteristics` (``mean_n`` counts
    every patient treated, escalation and backfill) and the backfill patients per trial, the
    arrivals turned away (no cohort open and no dose open for backfilling), and the patients
    per dose whose outcomes the final selection used (``extra["mean_n_analysed"]``)."""

    mean_n_backfill: float | None = None
    mean_n_turned_away: float | None = None

    def summary(self) -> dict[str, Any]:
        return {
            **super().summary(),
            "mean_n_backfill": self.mean_n_backfill,
            "mean_n_turned_away": self.mean_n_turned_away,
        }


class Backfill(Design):
    """A BOIN or 3+3 design with backfilling of cleared lower doses (module docstring).

    Parameters
    ----------
    parent : BOIN or ThreePlusThree
        The escalation design (without other behaviours).
    window : float
        DLT assessment window, in the time unit of follow-up and accrual.
    cap_per_dose : int
        A dose closes to backfilling once this many patients (escalation and backfill) have
        been treated there (R ``bfboin``'s ``n.cap`` allows one more: give ``n.cap + 1``).
    max_backfill : int, optional
        At most this many backfill patients in the trial (no limit by default).
    require_response : bool
        Open a dose only after a response has been seen there (BF-BOIN).
    assign : {"highest", "lowest"}
        Which open dose a backfilled patient gets.
    """

    name = "backfill"
    oc_methods = ("simulate",)

    def __init__(
        self,
        parent: DoseFindingDesign,
        window: float,
        cap_per_dose: int = 12,
        max_backfill: int | None = None,
        require_response: bool = True,
        assign: str = "highest",
    ) -> None:
        from earlyphase.designs.boin import BOIN
        from earlyphase.designs.three_plus_three import ThreePlusThree

        if type(parent) not in (BOIN, ThreePlusThree):
            raise ValueError("design: backfill wraps a BOIN or 3+3 design without other behaviours")
        if isinstance(window, bool) or not (
            isinstance(window, int | float) and math.isfinite(window) and window > 0
        ):
            raise ValueError(f"window: must be a positive time, got {window!r}")
        if isinstance(cap_per_dose, bool) or not isinstance(cap_per_dose, int) or cap_per_dose < 1:
            raise ValueError(f"cap_per_dose: must be an integer >= 1, got {cap_per_dose!r}")
        if max_backfill is not None and (
            isinstance(max_backfill, bool) or not isinstance(max_backfill, int) or max_backfill < 0
        ):
            raise ValueError(f"max_backfill: must be an integer >= 0, got {max_backfill!r}")
        if assign not in ASSIGNS:
            raise ValueError(f"assign: must be one of {list(ASSIGNS)}, got {assign!r}")
        self.parent = parent
        self.window = float(window)
        self.cap_per_dose = cap_per_dose
        self.max_backfill = max_backfill
        self.require_response = bool(require_response)
        self.assign = assign
        self.n_doses = parent.n_doses
        self.cohort_size = parent.cohort_size
        self.doses = parent.doses
        self.start_index = parent.start_index
        self.is_boin = isinstance(parent, BOIN)
        k = self.n_doses
        if isinstance(parent, BOIN):
            self.n_cohorts = parent.n_cohorts
            # the same BOIN with room for every backfill patient in its boundary tables, so
            # that only escalation cohorts count towards the end of the trial
            extra = math.ceil(k * cap_per_dose / parent.cohort_size)
            self.inner: DoseFindingDesign = BOIN(
                parent.target,
                k,
                cohort_size=parent.cohort_size,
                n_cohorts=parent.n_cohorts + extra,
                phi1=parent.phi1,
                phi2=parent.phi2,
                cutoff_eli=parent.cutoff_eli,
                extra_safe=parent.extra_safe,
                offset=parent.offset,
                get_oc_compatible=parent.get_oc_compatible,
                n_earlystop=parent.n_earlystop,
                bound_mtd=parent.bound_mtd,
                doses=parent.doses,
                start_dose=parent.start_dose,
            )
            inner: Any = self.inner
            top = inner.max_n
            self._e = np.asarray(inner._b_e[: top + 1], dtype=np.int64)
            self._d = np.asarray(inner._b_d[: top + 1], dtype=np.int64)
            self._elim = np.asarray(inner._elim[: top + 1], dtype=np.int64)
        else:
            self.n_cohorts = 2 * k  # the 3+3 ends by its rules: at most two cohorts a dose
            self.inner = parent
            top = 6 * k + k * cap_per_dose
            n = np.arange(top + 1)
            self._d = np.maximum(2, np.ceil(n / 3)).astype(np.int64)
            self._e = self._d - 1
            self._elim = np.full(top + 1, top + 1, dtype=np.int64)  # no elimination rule

    # --- boundaries ---------------------------------------------------------------------------
    def _bound(self, table: IntArray, n: Any) -> IntArray:
        """A boundary at sample sizes ``n`` (as at 1 for a dose without data)."""
        m = np.clip(np.asarray(n), 1, len(table) - 1)
        return np.asarray(table[m], dtype=np.int64)

    @property
    def target(self) -> float | None:
        return self.parent.target

    @property
    def start_dose(self) -> int:
        return self.start_index + 1

    def describe(self) -> str:
        rules = [
            f"backfill doses below the current dose that escalation has cleared, while the "
            f"current cohort's outcomes (DLT window {self.window:g}) are pending",
            "a dose is open while its DLT count is below the de-escalation boundary (alone or "
            "pooled with the dose above) and no lower dose is unsafe",
            f"at most {self.cap_per_dose} patients a dose",
        ]
        if self.require_response:
            rules.append("only after a response at the dose")
        if self.max_backfill is not None:
            rules.append(f"at most {self.max_backfill} backfill patients")
        rules.append(f"backfill patients go to the {self.assign} open dose")
        rules.append(
            "decisions pool the backfill data: a lower dose whose data contradict the current "
            "dose's decision is pooled with the doses above it (BF-BOIN, Zhao et al. 2024)"
        )
        return f"{self.parent.describe()}; " + "; ".join(rules)

    def protocol_table(self) -> pd.DataFrame:
        import pandas as pd

        rows = [
            ("Escalation", self.parent.describe()),
            (
                "Backfill eligibility",
                "doses below the current dose, treated during escalation"
                + (", with at least one response" if self.require_response else "")
                + ", safe (DLTs below the de-escalation boundary, alone or pooled with the "
                "dose above; no lower dose unsafe)"
                + f", fewer than {self.cap_per_dose} patients at the dose"
                + (
                    f", fewer than {self.max_backfill} backfill patients in all"
                    if self.max_backfill is not None
                    else ""
                ),
            ),
            ("Backfill assignment", f"the {self.assign} open dose"),
            (
                "Decisions",
                "with every known outcome; a contradicting lower dose b* is pooled with the "
                "doses up to the current one: escalate if the pooled DLTs are at or below the "
                "escalation boundary, de-escalate to the highest dose whose pooled data from "
                "b* are below the de-escalation boundary if they are at or above it, "
                "otherwise stay",
            ),
            ("End", "backfill ends with the escalation"),
        ]
        return pd.DataFrame(rows, columns=["item", "rule"])

    # --- the rule, for many trials ------------------------------------------------------------
    def _select(self, n: IntArray, y: IntArray) -> IntArray:
        """The MTD (0-based, -1 for none) from the final data (module docstring)."""
        if self.is_boin:
            t = n.shape[0]
            z = np.zeros(t, dtype=np.int64)
            st = States(n, y, z, z, z, np.zeros((t, 0), dtype=np.int64))
            return self.inner.select_batch(st)
        k = self.n_doses
        toxic = (n >= 3) & (y >= self._bound(self._d, n))
        cap = np.where(toxic.any(axis=1), toxic.argmax(axis=1), k)
        cleared = ((n >= 3) & (y == 0)) | ((n >= 6) & ~toxic & (n > 0))
        idx = np.arange(k)[None, :]
        ok = cleared & (idx < cap[:, None])
        return np.asarray(np.where(ok, idx, -1).max(axis=1), dtype=np.int64)

    def _decide(
        self, n: IntArray, y: IntArray, cur: IntArray
    ) -> tuple[IntArray, IntArray, BoolArray, IntArray]:
        """Next dose (0-based), reason code, stop and selected dose for many trials, from the
        known outcomes per dose ``n``, ``y`` and the current dose ``cur`` (module docstring)."""
        t, k = n.shape
        rows = np.arange(t)
        z = np.zeros(t, dtype=np.int64)
        st = States(n, y, cur.copy(), z, z, np.zeros((t, 0), dtype=np.int64))
        dec = self.inner.decide_batch(st)
        nxt, reason, stop = dec.next_dose.copy(), dec.reason.copy(), dec.stop.copy()
        selected = dec.selected.copy()
        # each dose's own decision: 0 escalate, 1 stay, 2 de-escalate (or eliminate)
        cat = np.where(
            y <= self._bound(self._e, n), 0, np.where(y >= self._bound(self._d, n), 2, 1)
        )
        cat = np.where(n > 0, cat, 0)
        idx = np.arange(k)[None, :]
        below = idx < cur[:, None]
        c_cat = cat[rows, cur]
        against = below & np.where(c_cat[:, None] == 0, cat != 0, cat == 2)
        conflict = against.any(axis=1) & (dec.reason != R_TOO_TOXIC)
        if conflict.any():
            r = np.flatnonzero(conflict)
            c = cur[r]
            bstar = np.where(against[r], idx, -1).max(axis=1)
            span = (idx >= bstar[:, None]) & (idx <= c[:, None])
            cum_n = np.cumsum(np.where(span, n[r], 0), axis=1)
            cum_y = np.cumsum(np.where(span, y[r], 0), axis=1)
            big_n, big_y = cum_n[np.arange(len(r)), c], cum_y[np.arange(len(r)), c]
            up = big_y <= self._bound(self._e, big_n)
            down = ~up & (big_y >= self._bound(self._d, big_n))
            # escalation is blocked at the top dose and below an eliminated dose
            elim = (n[r] >= 3) & (y[r] >= self._bound(self._elim, n[r]))
            first_elim = np.where(elim.any(axis=1), elim.argmax(axis=1), k)
            can_up = (c < k - 1) & (c + 1 < first_elim)
            safe = span & (cum_y < self._bound(self._d, cum_n))
            k_safe = np.where(safe, idx, -1).max(axis=1)
            go = np.where(
                up & can_up,
                c + 1,
                np.where(down, np.where(k_safe >= 0, k_safe, bstar - 1), c),
            )
            # below dose 1: stop if it is eliminated, otherwise stay there
            toxic1 = (go < 0) & elim[:, 0]
            go = np.maximum(go, 0)
            code = np.where(go > c, R_ESCALATE, np.where(go < c, R_DEESCALATE, R_STAY))
            code = np.where(toxic1, R_TOO_TOXIC, code)
            halt = toxic1.copy()
            ne = getattr(self.inner, "n_earlystop", None)
            if ne is not None:
                early = (code == R_STAY) & (n[r, c] >= ne)
                code = np.where(early, R_N_AT_DOSE, code)
                halt |= early
            nxt[r] = go
            reason[r] = code
            stop[r] = halt
            selected[r] = np.where(halt & ~toxic1, self._select(n[r], y[r]), -1)
        selected = np.where(stop & (reason != R_TOO_TOXIC), selected, -1)
        return nxt.astype(np.int64), reason.astype(np.int64), stop, selected.astype(np.int64)

    def _open(
        self,
        n: IntArray,
        y: IntArray,
        n_esc: IntArray,
        treated: IntArray,
        responded: BoolArray,
        cur: IntArray,
        n_bf_total: IntArray,
    ) -> BoolArray:
        """Doses open for backfilling (module docstring): ``n``, ``y`` known outcomes,
        ``n_esc`` escalation patients, ``treated`` every patient dosed (known or pending),
        ``responded`` a response seen, per dose; backfill patients so far per trial."""
        k = self.n_doses
        idx = np.arange(k)[None, :]
        d_n = self._bound(self._d, n)
        own = y < d_n
        n_up = n + np.concatenate((n[:, 1:], np.zeros((n.shape[0], 1), dtype=np.int64)), axis=1)
        y_up = y + np.concatenate((y[:, 1:], np.zeros((y.shape[0], 1), dtype=np.int64)), axis=1)
        safe = own | (y_up < self._bound(self._d, n_up))
        # doses above the lowest unsafe one are closed too
        unsafe_below = np.cumsum(~safe, axis=1) > 0
        ok = (idx < cur[:, None]) & (n_esc > 0) & ~unsafe_below & (treated < self.cap_per_dose)
        if self.require_response:
            ok &= responded
        if self.max_backfill is not None:
            ok &= (n_bf_total < self.max_backfill)[:, None]
        return np.asarray(ok, dtype=bool)

    # --- the trial being run --------------------------------------------------------------------
    def _parse(self, history: Any) -> tuple[Any, BoolArray, BoolArray]:
        backfill = response = None
        if isinstance(history, Mapping) and "level" in history:
            backfill = history.get("backfill")
            response = history.get("response")
            history = {key: history[key] for key in ("level", "dlt", "follow_up") if key in history}
        h = as_patient_history(history, self.n_doses, self.window)
        m = len(h)
        bf = np.zeros(m, dtype=bool) if backfill is None else np.asarray(backfill, dtype=bool)
        rs = np.zeros(m, dtype=bool) if response is None else np.asarray(response, dtype=bool)
        if bf.shape != (m,) or rs.shape != (m,):
            raise ValueError("history: backfill and response need one entry per patient")
        return h, bf, rs

    def decide(self, history: HistoryLike = None) -> Decision:
        """What to do after ``history``: the dose for the next escalation cohort (or stop), and
        where a patient arriving now would be backfilled.

        ``history`` is an outcome string (escalation cohorts with complete follow-up) or a
        mapping ``{"level", "dlt", "follow_up"}`` with, optionally, ``"backfill"`` (True for a
        backfill patient) and ``"response"`` (True where a response has been seen), one entry
        per patient in order of enrolment. A patient without DLT followed for less than
        ``window`` is pending; decisions use the known outcomes. While the current cohort is
        incomplete its next patient gets the same dose; once complete, until its outcomes are
        known, the decision is to stay and wait. ``estimates["backfill_open"]`` lists the
        doses open for backfilling (1-based) and ``estimates["backfill_dose"]`` the one a
        patient arriving now gets (None: none open).
        """
        h, bf, rs = self._parse(history)
        k = self.n_doses
        if len(h) == 0:
            d = self.start_dose
            return Decision(
                dose=d, stop=False, reason="start", dose_label=self.doses.label(d), action="start"
            )
        esc = ~bf
        if not esc.any():
            raise ValueError("history: backfill patients before any escalation patient")
        lv = h.level - 1
        known = h.dlt | (h.follow_up >= self.window)
        n = np.bincount(lv[known], minlength=k).astype(np.int64)
        y = np.bincount(lv[known & h.dlt], minlength=k).astype(np.int64)
        n_esc = np.bincount(lv[esc], minlength=k).astype(np.int64)
        treated = np.bincount(lv, minlength=k).astype(np.int64)
        responded = np.bincount(lv[rs], minlength=k) > 0
        cur = int(lv[esc][-1])
        n_esc_all = int(esc.sum())
        n_bf = int(bf.sum())
        open_ = self._open(
            n[None],
            y[None],
            n_esc[None],
            treated[None],
            responded[None],
            np.array([cur]),
            np.array([n_bf]),
        )[0]
        doses_open = [int(i) + 1 for i in np.flatnonzero(open_)]
        bf_dose = None
        if doses_open:
            bf_dose = max(doses_open) if self.assign == "highest" else min(doses_open)
        estimates: dict[str, Any] = {
            "n": n.tolist(),
            "dlt": y.tolist(),
            "n_treated": treated.tolist(),
            "n_escalation": n_esc.tolist(),
            "n_backfill": (treated - n_esc).tolist(),
            "pending": (treated - np.bincount(lv[known], minlength=k)).tolist(),
            "backfill_open": doses_open,
            "backfill_dose": bf_dose,
        }
        in_cohort = n_esc_all % self.cohort_size
        cohort = np.flatnonzero(esc)[-(in_cohort or self.cohort_size) :]
        if in_cohort:
            return Decision(
                dose=cur + 1,
                stop=False,
                reason=_FILL,
                dose_label=self.doses.label(cur + 1),
                action="stay",
                estimates=estimates,
            )
        if not known[cohort].all():
            return Decision(
                dose=cur + 1,
                stop=False,
                reason=_WAIT,
                dose_label=self.doses.label(cur + 1),
                action="stay",
                estimates=estimates,
            )
        nxt, code, stop, sel = (
            a[0] for a in self._decide(n[None], y[None], np.array([cur], dtype=np.int64))
        )
        if not stop and n_esc_all // self.cohort_size >= self.n_cohorts:
            stop, code = True, R_MAX_N
            sel = int(self._select(n[None], y[None])[0])
        if stop:
            selected = None if int(sel) < 0 else int(sel) + 1
            estimates["backfill_open"], estimates["backfill_dose"] = [], None
            return Decision(
                dose=None,
                stop=True,
                reason=REASONS[int(code)],
                selected=selected,
                action="stop",
                estimates=estimates,
            )
        nd = int(nxt) + 1
        action = "escalate" if nd > cur + 1 else "de-escalate" if nd < cur + 1 else "stay"
        return Decision(
            dose=nd,
            stop=False,
            reason=REASONS[int(code)],
            dose_label=self.doses.label(nd),
            action=action,
            estimates=estimates,
        )

    # --- tables ---------------------------------------------------------------------------------
    def decision_table(self) -> pd.DataFrame:
        """The rule as state -> action rows (columns
        :data:`~earlyphase.designs.contract.DECISION_COLUMNS`): the wrapped design's rows (no
        backfill data: the same decisions, with their outcome ``path``), then the rows where
        backfill data at dose 2 meet the current dose 3 (1 and 2 with fewer doses): every DLT
        count among 3, 6, 9... patients up to the cap at dose 2 (escalation and backfill; at
        most 1 DLT among the first 3, who cleared it) with 0 or 1 DLT among 3 at the current
        dose. Every row is what :meth:`decide` says."""
        rows: list[dict[str, Any]] = []
        for rec in self.parent.decision_table().to_dict("records"):
            path = rec["path"]
            if path is None or (isinstance(path, float) and math.isnan(path)):
                # a count-based row: rebuild its outcome string (3 without DLT at dose 1 first)
                m, j = int(rec["n"]), int(rec["events"])
                d = 2 if self.n_doses >= 3 else 1
                if m % self.cohort_size:
                    continue
                toks = ["1NNN"] if d > 1 else []
                left, dl = m, j
                while left:
                    size = min(self.cohort_size, left)
                    t_here = min(dl, size)
                    toks.append(f"{d}" + "N" * (size - t_here) + "T" * t_here)
                    left, dl = left - size, dl - t_here
                path = " ".join(toks)
            dec = self.decide(path)
            rows.append(self._row(str(rec["state"]), path, dec, int(rec["n"]), int(rec["events"])))
        if self.n_doses >= 2:
            c = min(2, self.n_doses - 1)
            b = c - 1
            for nb in range(3, max(self.cap_per_dose, 3) + 1, 3):
                for yb in range(nb + 1):
                    if yb - (nb - 3) > 1:
                        continue  # escalation left dose b with at most 1 DLT among 3
                    for yc in (0, 1):
                        h = self._table_history(b, nb, yb, c, yc)
                        dec = self.decide(h)
                        state = (
                            f"{nb} at dose {b + 1} ({nb - 3} backfilled), {yb} with DLT; "
                            f"3 at dose {c + 1}, {yc} with DLT"
                        )
                        rows.append(self._row(state, None, dec, 3, yc))
        return decision_frame(rows)

    def _row(self, state: str, path: str | None, dec: Decision, n: int, ev: int) -> dict[str, Any]:
        return {
            "state": state,
            "path": path,
            "n": n,
            "events": ev,
            "endpoint": "DLT",
            "action": dec.action,
            "next_dose": dec.dose,
            "reason": dec.reason,
        }

    def _table_history(self, b: int, nb: int, yb: int, c: int, yc: int) -> dict[str, Any]:
        """Escalation 3 at each dose up to b (no DLT below b), nb - 3 backfilled at b, then 3
        at c with yc DLTs; every outcome known, one response at b."""
        level: list[int] = []
        dlt: list[int] = []
        back: list[bool] = []
        resp: list[bool] = []
        for d in range(b):
            level += [d + 1] * 3
            dlt += [0, 0, 0]
            back += [False] * 3
            resp += [False] * 3
        # escalation went on from b: at most 1 DLT among its first 3
        yb_esc = max(min(yb, 1), yb - (nb - 3))
        level += [b + 1] * 3
        dlt += [1] * yb_esc + [0] * (3 - yb_esc)
        back += [False] * 3
        resp += [True, False, False]
        level += [c + 1] * 3
        dlt += [1] * yc + [0] * (3 - yc)
        back += [False] * 3
        resp += [False] * 3
        rest = nb - 3
        y_rest = yb - yb_esc
        level += [b + 1] * rest
        dlt += [1] * y_rest + [0] * (rest - y_rest)
        back += [True] * rest
        resp += [False] * rest
        return {
            "level": level,
            "dlt": dlt,
            "follow_up": [self.window] * len(level),
            "backfill": back,
            "response": resp,
        }

    def dose_paths(
        self, n_cohorts: int, history: HistoryLike = None, truth: Sequence[float] | None = None
    ) -> pd.DataFrame:
        """Every path of the next ``n_cohorts`` escalation cohorts, each cohort's outcomes known
        before the next (no backfill patients in the tree: the wrapped design's paths, decided
        with :meth:`decide`), with probabilities under ``truth``. Paths start with the
        outcome string of ``history``."""
        p = None if truth is None else check_truth(truth, self.n_doses)
        start = "" if history is None else str(history)
        branch = known_outcomes(
            lambda _h: self.cohort_size,
            lambda h, dose, size, k: (h + " " + outcome_token(dose, size, k)).strip(),
            binomial_probability(p),
        )
        root = PathNode(start, start, 0, 0, 0, 1.0)
        return grow_paths(root, n_cohorts, lambda h: self.decide(h or None), branch)

    # --- operating characteristics --------------------------------------------------------------
    def operating_characteristics(
        self,
        truth: Sequence[float],
        method: str = "simulate",
        n_sims: int = 2_000,
        seed: int | None = None,
        *,
        response: Sequence[float] | None = None,
        accrual_rate: float = 3.0,
        accrual: str = "poisson",
        time_to_dlt: str = "weibull",
        late_fraction: float = 0.5,
        screen_fail: float = 0.0,
        schedule: Sequence[Sequence[float]] | None = None,
    ) -> BackfillOperatingCharacteristics:
        """Simulated operating characteristics in calendar time (BF-BOIN's simulation).

        Patients arrive ``accrual_rate`` per DLT window on average (``accrual``: ``"poisson"``,
        ``"fixed"`` or ``"uniform"`` gaps; a piecewise ``schedule``; ``screen_fail`` of
        arrivals not enrolled; :mod:`~earlyphase.designs.late_onset`), the first at the
        opening. An arrival joins the current cohort while it is incomplete; once the cohort
        is complete and its outcomes are known, the next arrival triggers the decision and
        starts the next cohort; meanwhile arrivals are backfilled at the open dose or turned
        away. A patient at dose d has a DLT with probability ``truth[d]`` within the window, at
        a Weibull time (half in the second half of the window by default, as Zhao et al.
        2024) or uniform; a response with probability ``response[d]`` (seen at the end of the
        window; without ``response`` every patient responds, as R ``bfboin``'s default). The
        trial ends with its last escalation cohort's outcomes (its duration), and the MTD is
        selected from the outcomes known then. All trials run together.
        """
        self._check_method(method)
        p = check_truth(truth, self.n_doses)
        if response is None:
            q = np.ones(self.n_doses)  # every patient responds (R bfboin's default)
        else:
            try:
                q = check_truth(response, self.n_doses)
            except ValueError as exc:
                raise ValueError(str(exc).replace("true_tox", "response", 1)) from None
        if isinstance(n_sims, bool) or not isinstance(n_sims, int) or n_sims < 1:
            raise ValueError(f"n_sims: must be an integer >= 1, got {n_sims!r}")
        if not (math.isfinite(accrual_rate) and accrual_rate > 0):
            raise ValueError(f"accrual_rate: must be > 0 patients per window, got {accrual_rate}")
        if time_to_dlt not in TIMES_TO_DLT:
            raise ValueError(
                f"time_to_dlt: must be one of {list(TIMES_TO_DLT)}, got {time_to_dlt!r}"
            )
        acc = Accrual(
            accrual, self.window / accrual_rate, schedule_from(schedule), screen_fail, first="zero"
        )
        sim = self._simulate(p, q, n_sims, seed, acc, time_to_dlt, late_fraction)
        k, t = self.n_doses, n_sims
        n, treated = sim["n"], sim["treated"]
        sel_idx = np.where(sim["toxic"], -1, sim["selected"])
        sel = np.bincount(np.where(sel_idx < 0, k, sel_idx), minlength=k + 1) / t
        uniq, counts = np.unique(treated.sum(axis=1), return_counts=True)
        tox_target = self.target if self.target is not None else 1 / 3
        od60, od80, above = overdose_summaries(p, tox_target, treated, np.ones(t))
        duration = sim["duration"]
        mean_n = treated.mean(axis=0)
        return BackfillOperatingCharacteristics(
            true_tox=p,
            dose_labels=tuple(self.doses.label(i + 1) for i in range(k)),
            selection=sel.astype(np.float64),
            mean_n=mean_n,
            mean_dlt=sim["dlt_treated"].mean(axis=0),
            n_distribution={int(a): float(b) / t for a, b in zip(uniq, counts, strict=True)},
            prob_overdose_60=od60,
            prob_overdose_80=od80,
            mean_n_above_target=above,
            method="simulate",
            n_sims=t,
            mc_se=np.sqrt(sel * (1 - sel) / t),
            design=self.describe(),
            extra={
                "pct_patients": 100.0 * mean_n / max(float(mean_n.sum()), 1e-300),
                "mean_n_analysed": n.mean(axis=0),
                "mean_n_backfill_at": (treated - sim["n_esc"]).mean(axis=0),
            },
            mean_duration=float(duration.mean()),
            sd_duration=float(duration.std(ddof=1)) if t > 1 else 0.0,
            median_duration=float(np.median(duration)),
            window=self.window,
            accrual=accrual,
            accrual_rate=float(accrual_rate),
            mean_screened=float(sim["screened"].mean()),
            mean_n_backfill=float(sim["n_backfill"].mean()),
            mean_n_turned_away=float(sim["turned_away"].mean()),
        )

    def _simulate(
        self,
        p: FloatArray,
        q: FloatArray,
        n_sims: int,
        seed: int | None,
        accrual: Accrual,
        time_to_dlt: str,
        late: float,
    ) -> dict[str, Any]:
        """All trials together, one arrival at a time (see :meth:`operating_characteristics`)."""
        rng = np.random.default_rng(seed)
        t, k, cs, w = n_sims, self.n_doses, self.cohort_size, self.window
        cap = self.cap_per_dose
        cur = np.full(t, self.start_index, dtype=np.int64)
        alive = np.ones(t, dtype=bool)
        toxic = np.zeros(t, dtype=bool)
        cohorts = np.zeros(t, dtype=np.int64)
        n_esc = np.zeros((t, k), dtype=np.int64)
        y_esc = np.zeros((t, k), dtype=np.int64)
        treated = np.zeros((t, k), dtype=np.int64)
        dlt_treated = np.zeros((t, k), dtype=np.int64)
        coh_res = np.full((t, cs), np.inf)
        coh_dlt = np.zeros((t, cs), dtype=bool)
        fill = np.zeros(t, dtype=np.int64)
        bf_res = np.full((t, k, cap), np.inf)  # when each backfill patient's outcome is known
        bf_dlt = np.zeros((t, k, cap), dtype=bool)
        bf_count = np.zeros((t, k), dtype=np.int64)
        first_resp = np.full((t, k), np.inf)
        turned_away = np.zeros(t, dtype=np.int64)
        screened = np.zeros(t, dtype=np.int64)
        end = np.zeros(t)
        unit = np.zeros(t)
        first = True
        chunk = 64
        step = chunk
        gaps = np.zeros((t, chunk))
        scr = np.zeros((t, chunk), dtype=np.int64)

        def enrol(r: IntArray, d: IntArray, now: FloatArray) -> tuple[FloatArray, BoolArray]:
            """DLT and its known time for patients of trials ``r`` dosed at ``d`` at ``now``."""
            has = rng.random(len(r)) < p[d]
            t_dlt = dlt_times(p[d], rng.random(len(r)), w, time_to_dlt, late)
            treated[r, d] += 1
            dlt_treated[r, d] += has
            return now + np.where(has, t_dlt, w), has

        while alive.any():
            if step == chunk:
                gaps, scr = unit_gaps_of(rng, t, chunk, accrual)
                step = 0
            a = np.flatnonzero(alive)
            if not first:
                unit[a] += gaps[a, step]
            screened[a] += scr[a, step]
            first = False
            step += 1
            now = accrual.calendar(unit[a])
            open_coh = fill[a] < cs
            ready = ~open_coh & (coh_res[a].max(axis=1) < now)
            # 1) evaluate the complete cohort, then this patient starts the next one
            if ready.any():
                r = a[ready]
                nw = now[ready]
                c = cur[r]
                n_esc[r, c] += cs
                y_esc[r, c] += coh_dlt[r].sum(axis=1)
                cohorts[r] += 1
                known = bf_res[r] < nw[:, None, None]
                n = n_esc[r] + known.sum(axis=2)
                y = y_esc[r] + (known & bf_dlt[r]).sum(axis=2)
                nxt, code, stop, _ = self._decide(n, y, c)
                done = ~stop & (cohorts[r] >= self.n_cohorts)
                stop = stop | done
                ended = r[stop]
                alive[ended] = False
                toxic[ended] = code[stop] == R_TOO_TOXIC
                end[ended] = coh_res[ended].max(axis=1)
                go = r[~stop]
                cur[go] = nxt[~stop]
                coh_res[go] = np.inf
                coh_dlt[go] = False
                fill[go] = 0
                open_coh[np.flatnonzero(ready)[~stop]] = True
            # 2) join the open cohort
            join = open_coh & alive[a]
            if join.any():
                r = a[join]
                d = cur[r]
                pos = fill[r]
                res, has = enrol(r, d, now[join])
                coh_res[r, pos] = res
                coh_dlt[r, pos] = has
                fill[r] += 1
                resp = rng.random(len(r)) < q[d]
                first_resp[r, d] = np.where(
                    resp, np.minimum(first_resp[r, d], now[join] + w), first_resp[r, d]
                )
            # 3) the cohort's outcomes are pending: backfill, or turn the patient away
            wait = ~open_coh & ~ready & alive[a]
            if wait.any():
                r = a[wait]
                nw = now[wait]
                c = cur[r]
                known = bf_res[r] < nw[:, None, None]
                n = n_esc[r] + known.sum(axis=2)
                y = y_esc[r] + (known & bf_dlt[r]).sum(axis=2)
                # the current cohort's outcomes known so far count in the pooled safety check
                # of the dose below it
                seen = coh_res[r] < nw[:, None]
                n[np.arange(len(r)), c] += seen.sum(axis=1)
                y[np.arange(len(r)), c] += (seen & coh_dlt[r]).sum(axis=1)
                is_open = self._open(
                    n, y, n_esc[r], treated[r], first_resp[r] < nw[:, None], c, bf_count[r].sum(1)
                )
                any_open = is_open.any(axis=1)
                idx = np.arange(k)[None, :]
                pick = (
                    np.where(is_open, idx, -1).max(axis=1)
                    if self.assign == "highest"
                    else np.where(is_open, idx, k).min(axis=1)
                )
                turned_away[r[~any_open]] += 1
                rb = r[any_open]
                if len(rb):
                    db = pick[any_open]
                    res, has = enrol(rb, db, nw[any_open])
                    slot = bf_count[rb, db]
                    bf_res[rb, db, slot] = res
                    bf_dlt[rb, db, slot] = has
                    bf_count[rb, db] += 1
        # the outcomes known when the last cohort's are: the final analysis
        known = bf_res < end[:, None, None]
        n = n_esc + known.sum(axis=2)
        y = y_esc + (known & bf_dlt).sum(axis=2)
        sel_final = np.where(toxic, -1, self._select(n, y))
        return {
            "n": n,
            "y": y,
            "n_esc": n_esc,
            "treated": treated,
            "dlt_treated": dlt_treated,
            "toxic": toxic,
            "selected": sel_final,
            "duration": end,
            "n_backfill": bf_count.sum(axis=1),
            "turned_away": turned_away,
            "screened": screened,
        }
