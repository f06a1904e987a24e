"""BOIN12: Bayesian optimal interval phase I/II design on toxicity and efficacy.

Each patient has two binary outcomes, written per patient as N (neither), E (efficacy
without toxicity), T (toxicity without efficacy) or B (both), e.g. ``"1NEN 2EBT"``. The
design (Lin, Zhou, Yuan et al. 2020) moves by BOIN's toxicity boundaries and, among the
doses it may go to, picks the most desirable one by the posterior probability that the
dose's mean utility beats a benchmark.

Utility (Lin et al. 2020, Sec. "Utility"): u = ``utility`` = (u1, u2, u3, u4) for
(efficacy without toxicity, neither, both, toxicity without efficacy), default
(100, 40, 60, 0). With n patients at a dose and x = sum of their utilities / 100 (a
quasi-binomial count), the mean utility has the posterior Beta(1 + x, 1 + n - x); the
desirability of the dose is Pr(utility > u_b | data) with the benchmark
u_b = u_bar + (100 - u_bar) / 2, u_bar being the utility of a dose with toxicity
``tox_target`` and efficacy ``eff_lower`` (the highest undesirable utility). The paper's
rank-based desirability score (RDS) ranks the doses by this probability, so the choices
below are the same.

Decision at the current dose d, with toxicity rate p = tox/n there (BOIN boundaries
lambda_e, lambda_d for ``tox_target``; Lin et al. 2020, Table 2 and the dose-exploration rule
of the supplement, as escalation 0.2.3's ``get_boin12`` implements them):

1. dose exploration: if n >= ``explore_n``, p < lambda_d, d is not the top dose and d + 1 has
   no patient yet, escalate;
2. if p >= lambda_d, de-escalate (stay at dose 1);
3. if lambda_e < p < lambda_d and n >= ``n_star``, go to whichever of d - 1, d is admissible
   and, when both are, the more desirable (d - 1 on a tie); dose 1 if neither is;
4. otherwise go to the most desirable admissible dose of d - 1, d, d + 1 (the higher on a tie);
   stop if none is admissible.

A dose is admissible unless Pr(p_T > ``tox_target``) >= ``c_t`` or
Pr(p_E < ``eff_lower``) >= ``c_e`` (Beta(1, 1) priors). The trial also stops, recommending
no dose, when dose 1 has at least 3 patients and Pr(p_T > ``tox_target``) > ``c_t`` there
(the safety rule of the paper and of BOIN; escalation's ``get_boin12`` lacks it, so
``stop_if_lowest_toxic=False`` reproduces it), when the dose to be given already has
``n_earlystop`` patients, or after ``n_cohorts`` cohorts. The optimal biological dose (OBD)
is then selected as escalation's ``select_boin12_obd`` does: the MTD is the treated dose whose
isotonic (unweighted PAVA) toxicity rate is closest to ``tox_target`` (the highest on a tie),
and the OBD the most desirable dose at or below it.

Differences from the software of trialdesign.org: escalation's BOIN12 neither eliminates
doses for good nor stops when dose 1 is too toxic, and a report on its GitHub
(brockk/escalation #8) finds its selection probabilities a few points apart from
trialdesign.org's; here the dose-1 stop is on by default and everything else follows
escalation, whose decisions are the reference the tests compare with.

References
----------
Lin R, Zhou Y, Yan F, Li D, Yuan Y (2020). BOIN12: Bayesian optimal interval phase I/II trial
    design for utility-based dose finding in immunotherapy and targeted therapies. JCO Precis
    Oncol 4:PO.20.00257.
Liu S, Yuan Y (2015). Bayesian optimal interval designs for phase I clinical trials. J R Stat
    Soc C 64:507-523 (the boundaries lambda_e, lambda_d, eq. 2-3).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from earlyphase.designs.boin import beta_sf_whole, boin_lambdas
from earlyphase.designs.contract import Decision, Design
from earlyphase.designs.doses import start_index
from earlyphase.designs.phase12 import LETTERS as LETTERS  # still importable from here
from earlyphase.designs.phase12 import Truth as Truth
from earlyphase.designs.phase12 import (
    category_probs,
    cohort_outcomes,
    count_outcomes,
    multiset_prob,
    outcome_paths,
    path_decisions,
    phase12_characteristics,
    simulated_characteristics,
    truth_rates,
)
from earlyphase.engine.results import OperatingCharacteristics
from earlyphase.stats.checks import check_count, check_level

if TYPE_CHECKING:
    import pandas as pd

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
Rows = list[list[int]]  # counts as [N, E, T, B] per dose


def parse_outcomes(text: str, n_doses: int) -> tuple[IntArray, int]:
    """Counts (K, 4) of N, E, T, B per dose from ``"1NEN 2EBT"``, and the last cohort's
    dose (1-based; 0 for an empty string)."""
    return count_outcomes(text, n_doses, "history", letters_required=False)


class BOIN12(Design):
    """BOIN12 phase I/II design (see the module docstring for the rule).

    Parameters
    ----------
    n_doses : int
    tox_target : float
        phi_T, the highest acceptable toxicity rate (BOIN target).
    eff_lower : float
        phi_E, the lowest acceptable efficacy rate.
    utility : (u1, u2, u3, u4)
        Utilities of efficacy without toxicity, neither, both, toxicity without efficacy;
        u1 = 100 and u4 = 0 as the paper scales them, u2 and u3 between.
    cohort_size, n_cohorts : int
        The trial stops after ``n_cohorts`` cohorts (36 patients by default).
    n_star : int
        N*: with moderate toxicity and at least this many patients, do not escalate.
    c_t, c_e : float
        Admissibility cut-offs for toxicity and efficacy.
    explore_n : int or None
        Escalate to an untried next dose once this many patients are at the current dose and
        p < lambda_d (9, as escalation's ``n > 8``); None switches the rule off.
    n_earlystop : int or None
        Stop when the dose to be given already has this many patients.
    stop_if_lowest_toxic : bool
        Stop when dose 1 (n >= 3) has Pr(p_T > tox_target) > c_t.
    start_dose : int

    Examples
    --------
    >>> b = BOIN12(5, tox_target=0.35, eff_lower=0.25)
    >>> b.benchmark
    70.5
    >>> b.decide("1NNN").dose, b.decide("1TTN").action
    (2, 'stay')
    """

    name = "boin12"
    oc_methods = ("simulate", "exact")

    def __init__(
        self,
        n_doses: int,
        tox_target: float,
        eff_lower: float,
        utility: Sequence[float] = (100.0, 40.0, 60.0, 0.0),
        cohort_size: int = 3,
        n_cohorts: int = 12,
        n_star: int = 6,
        c_t: float = 0.95,
        c_e: float = 0.9,
        explore_n: int | None = 9,
        n_earlystop: int | None = None,
        stop_if_lowest_toxic: bool = True,
        start_dose: int = 1,
    ) -> None:
        self.n_doses = check_count(n_doses, "n_doses", minimum=1)
        self.tox_target = check_level(tox_target, "tox_target")
        self.eff_lower = check_level(eff_lower, "eff_lower")
        try:
            u = tuple(float(v) for v in utility)
        except (TypeError, ValueError):
            raise ValueError("utility: must be four numbers (u1, u2, u3, u4)") from None
        if len(u) != 4:
            raise ValueError(f"utility: must be four numbers (u1, u2, u3, u4), got {len(u)}")
        if u[0] != 100 or u[3] != 0:
            raise ValueError(
                "utility: u1 (efficacy without toxicity) must be 100 and u4 (toxicity without "
                f"efficacy) 0, got {u[0]:g} and {u[3]:g}"
            )
        if not (0 <= u[1] <= 100 and 0 <= u[2] <= 100):
            raise ValueError(f"utility: u2 and u3 must lie in [0, 100], got {u[1]:g}, {u[2]:g}")
        self.utility = u
        self.cohort_size = check_count(cohort_size, "cohort_size", minimum=1)
        self.n_cohorts = check_count(n_cohorts, "n_cohorts", minimum=1)
        self.n_star = check_count(n_star, "n_star", minimum=1)
        self.c_t = check_level(c_t, "c_t")
        self.c_e = check_level(c_e, "c_e")
        self.explore_n = None if explore_n is None else check_count(explore_n, "explore_n", 1)
        self.n_earlystop = (
            None if n_earlystop is None else check_count(n_earlystop, "n_earlystop", 1)
        )
        self.stop_if_lowest_toxic = bool(stop_if_lowest_toxic)
        self.start_index = start_index(start_dose, self.n_doses)
        # BOIN boundaries with phi1 = 0.6 and phi2 = 1.4 times the target (get.boundary's
        # defaults, which escalation's get_boin12 uses)
        self.lambda_e, self.lambda_d = boin_lambdas(
            self.tox_target, 0.6 * self.tox_target, 1.4 * self.tox_target
        )
        pt, pe = self.tox_target, self.eff_lower
        u_bar = (
            u[0] * pe * (1 - pt)
            + u[1] * (1 - pt) * (1 - pe)
            + u[2] * pt * pe
            + u[3] * pt * (1 - pe)
        )
        #: the benchmark utility u_b (Lin et al. 2020: halfway from u_bar to 100)
        self.benchmark = u_bar + (100 - u_bar) / 2
        self._tox_over = lru_cache(maxsize=None)(self._tox_over_uncached)
        self._eff_under = lru_cache(maxsize=None)(self._eff_under_uncached)
        self._desirability = lru_cache(maxsize=None)(self._desirability_uncached)

    @property
    def start_dose(self) -> int:
        return self.start_index + 1

    @property
    def n_patients(self) -> int:
        return self.n_cohorts * self.cohort_size

    # --- posterior quantities (cached: they depend on whole counts only) ----------------------
    def _tox_over_uncached(self, tox: int, n: int) -> float:
        """Pr(p_T > tox_target | tox of n), Beta(1, 1) prior."""
        return float(beta_sf_whole(self.tox_target, tox + 1, n - tox + 1))

    def _eff_under_uncached(self, eff: int, n: int) -> float:
        """Pr(p_E < eff_lower | eff of n), Beta(1, 1) prior."""
        return 1.0 - float(beta_sf_whole(self.eff_lower, eff + 1, n - eff + 1))

    def _desirability_uncached(self, n_n: int, n_e: int, n_t: int, n_b: int) -> float:
        """Pr(mean utility > u_b | data): x = sum of utilities / 100 quasi-events in n
        patients, Beta(1 + x, 1 + n - x) (Lin et al. 2020, eq. for the RDS)."""
        from scipy.special import betainc

        u1, u2, u3, u4 = self.utility
        n = n_n + n_e + n_t + n_b
        x = (u1 * n_e + u2 * n_n + u3 * n_b + u4 * n_t) / 100
        return float(1.0 - betainc(1 + x, 1 + n - x, self.benchmark / 100))

    def desirability(self, counts: IntArray) -> FloatArray:
        """Pr(utility > benchmark) per dose from counts (K, 4) of N, E, T, B (escalation's
        ``utility()`` is 100 times this)."""
        return np.array([self._desirability(*(int(v) for v in row)) for row in counts])

    def _admissible(self, counts: IntArray | Rows, j: int) -> bool:
        row = [int(v) for v in counts[j]]
        n = sum(row)
        return (
            self._tox_over(row[2] + row[3], n) < self.c_t
            and self._eff_under(row[1] + row[3], n) < self.c_e
        )

    # --- the rule -------------------------------------------------------------------------
    # The rule works on plain integers (counts as a list of (N, E, T, B) per dose): it is
    # asked once per distinct state met in a simulation, and small-array numpy calls would
    # cost more than the arithmetic.
    def next_dose(self, counts: IntArray, current: int) -> tuple[int, str]:
        """The 0-based next dose after data ``counts`` (K, 4) with the last cohort at
        ``current`` (0-based), before the stopping rules; -1 when no dose is admissible.
        Also the branch of the rule taken."""
        return self._next_dose(_rows(counts), current)

    def _next_dose(self, c: Rows, current: int) -> tuple[int, str]:
        k = self.n_doses
        d = current
        n = sum(c[d])
        tox = c[d][2] + c[d][3]
        p = tox / n if n else 0.0
        if (
            self.explore_n is not None
            and n >= self.explore_n
            and p < self.lambda_d
            and d < k - 1
            and sum(c[d + 1]) == 0
        ):
            return d + 1, "explore"
        if p >= self.lambda_d:
            return max(d - 1, 0), "toxicity above lambda_d"
        if self.lambda_e < p < self.lambda_d and n >= self.n_star:
            lower_ok = d > 0 and self._admissible(c, d - 1)
            here_ok = self._admissible(c, d)
            if lower_ok and here_ok:
                below, here = self._desirability(*c[d - 1]), self._desirability(*c[d])
                return (d - 1 if below >= here else d), "moderate toxicity"
            return (d - 1 if lower_ok else d if here_ok else 0), "moderate toxicity"
        candidates = sorted({max(d - 1, 0), d, min(d + 1, k - 1)})
        adm = [j for j in candidates if self._admissible(c, j)]
        if not adm:
            return -1, "no admissible dose"
        rds = [self._desirability(*c[j]) for j in adm]
        top = max(rds)
        # the highest of equally desirable doses
        best = max(i for i, v in enumerate(rds) if v == top)
        return adm[best], "most desirable"

    def select_obd(self, counts: IntArray) -> int | None:
        """The OBD (0-based) from counts (K, 4), as escalation's ``select_boin12_obd``; None
        when no patient was treated."""
        return self._select_obd(_rows(counts))

    def _select_obd(self, c: Rows) -> int | None:
        n = [sum(r) for r in c]
        given = [j for j, v in enumerate(n) if v > 0]
        if not given:
            return None
        fit = _pava([(c[j][2] + c[j][3]) / n[j] for j in given])
        dist = [abs(v - self.tox_target) for v in fit]
        # the highest of equally close doses, compared exactly as R's tail(u[u == min(u)], 1)
        mtd = given[max(i for i, v in enumerate(dist) if v == min(dist))]
        rds = [self._desirability(*c[j]) for j in range(mtd + 1)]
        # the lowest of equally desirable doses (R's which.max)
        return rds.index(max(rds))

    def _decide_counts(self, counts: IntArray, current: int) -> tuple[int | None, str, int | None]:
        """(next dose 0-based or None to stop, reason, selected 0-based or None)."""
        return self._decide_rows(_rows(counts), current)

    def _decide_rows(self, c: Rows, current: int) -> tuple[int | None, str, int | None]:
        total = sum(sum(r) for r in c)
        if self.stop_if_lowest_toxic:
            n0 = sum(c[0])
            if n0 >= 3 and self._tox_over(c[0][2] + c[0][3], n0) > self.c_t:
                return None, "stop: lowest dose too toxic", None
        nxt, branch = self._next_dose(c, current)
        if nxt < 0:
            return None, "stop: no dose is admissible", None
        if total >= self.n_patients:
            return None, "stop: maximum sample size reached", self._select_obd(c)
        if self.n_earlystop is not None and sum(c[nxt]) >= self.n_earlystop:
            return None, "stop: enough patients at the dose to be given", self._select_obd(c)
        action = "escalate" if nxt > current else "de-escalate" if nxt < current else "stay"
        return nxt, f"{action} ({branch})", None

    def decide(self, history: str | None = None) -> Decision:
        """The next dose (or stop, with the OBD) after ``history`` such as ``"1NEN 2EBT"``.

        ``estimates`` holds patients, toxicities and responses per dose, the observed rates,
        the admissible doses and the desirability Pr(utility > benchmark) per dose."""
        text = (history or "").strip()
        if not text:
            d = self.start_dose
            return Decision(dose=d, stop=False, reason="start", action="start")
        counts, last = parse_outcomes(text, self.n_doses)
        nxt, reason, sel = self._decide_counts(counts, last - 1)
        n = counts.sum(axis=1)
        tox = counts[:, 2] + counts[:, 3]
        eff = counts[:, 1] + counts[:, 3]
        estimates: dict[str, Any] = {
            "n": n.tolist(),
            "tox": tox.tolist(),
            "eff": eff.tolist(),
            "observed_tox": [None if m == 0 else float(t / m) for t, m in zip(tox, n, strict=True)],
            "observed_eff": [None if m == 0 else float(e / m) for e, m in zip(eff, n, strict=True)],
            "admissible": [j + 1 for j in range(self.n_doses) if self._admissible(counts, j)],
            "desirability": self.desirability(counts).tolist(),
        }
        if nxt is None:
            return Decision(
                dose=None,
                stop=True,
                reason=reason,
                selected=None if sel is None else sel + 1,
                action="stop",
                estimates=estimates,
            )
        action = reason.split(" (")[0]
        return Decision(dose=nxt + 1, stop=False, reason=reason, action=action, estimates=estimates)

    # --- tables -------------------------------------------------------------------------------
    def dose_paths(
        self, n_cohorts: int, history: str | None = None, truth: Truth | None = None
    ) -> pd.DataFrame:
        """Every outcome of the next ``n_cohorts`` cohorts (unordered N/E/T/B letters) with
        its probability under ``truth`` = (true efficacy, true toxicity) rates, outcomes
        independent given the dose (:data:`PATH_COLUMNS`; ``n_dlt`` counts toxicities)."""
        return outcome_paths(self, n_cohorts, history, truth)

    def decision_table(self, n_cohorts: int = 1) -> pd.DataFrame:
        """The decision after every outcome path of the first ``n_cohorts`` cohorts
        (:data:`DECISION_COLUMNS`; ``events`` counts toxicities, the path shows responses)."""
        return path_decisions(self.dose_paths(n_cohorts))

    def boundary_table(self) -> pd.DataFrame:
        """The toxicity boundaries per number of patients at the dose (cohort multiples):
        de-escalate if #toxicities >= (p >= lambda_d), consider only d - 1 and d if
        #toxicities > n lambda_e and n >= N*, and the admissibility limits: a dose is out if
        #toxicities >= (Pr(p_T > tox_target) >= c_t) or #responses <= (Pr(p_E < eff_lower)
        >= c_e)."""
        import pandas as pd

        rows = []
        for c in range(1, self.n_cohorts + 1):
            m = c * self.cohort_size
            down = next((t for t in range(m + 1) if t / m >= self.lambda_d), None)
            moderate = next((t for t in range(m + 1) if t / m > self.lambda_e), None)
            tox_out = next((t for t in range(m + 1) if self._tox_over(t, m) >= self.c_t), None)
            eff_out = [e for e in range(m + 1) if self._eff_under(e, m) >= self.c_e]
            rows.append(
                {
                    "n": m,
                    "deescalate_if_tox_ge": down,
                    "moderate_if_tox_ge": moderate if m >= self.n_star else None,
                    "inadmissible_if_tox_ge": tox_out,
                    "inadmissible_if_eff_le": max(eff_out) if eff_out else None,
                }
            )
        frame = pd.DataFrame(rows)
        for col in frame.columns[1:]:
            frame[col] = frame[col].astype("Int64")
        return frame

    def utility_table(self) -> pd.DataFrame:
        """The utility of each outcome and the benchmark (the table a protocol prints)."""
        import pandas as pd

        u1, u2, u3, u4 = self.utility
        return pd.DataFrame(
            {
                "outcome": [
                    "efficacy, no toxicity (E)",
                    "no efficacy, no toxicity (N)",
                    "efficacy and toxicity (B)",
                    "toxicity, no efficacy (T)",
                    "benchmark u_b",
                ],
                "utility": [u1, u2, u3, u4, self.benchmark],
            }
        )

    def protocol_table(self) -> pd.DataFrame:
        """:meth:`boundary_table`."""
        return self.boundary_table()

    def describe(self) -> str:
        u1, u2, u3, u4 = self.utility
        parts = [
            f"BOIN12 (toxicity target {self.tox_target:g}: lambda_e {self.lambda_e:.4f}, "
            f"lambda_d {self.lambda_d:.4f}; lowest efficacy {self.eff_lower:g}; utilities "
            f"E {u1:g}, N {u2:g}, B {u3:g}, T {u4:g}, benchmark {self.benchmark:.2f}; "
            f"N* = {self.n_star}), {self.n_doses} doses from dose {self.start_dose}, "
            f"{self.n_cohorts} cohorts of {self.cohort_size}",
            f"a dose is admissible unless Pr(toxicity > {self.tox_target:g}) >= {self.c_t:g} or "
            f"Pr(efficacy < {self.eff_lower:g}) >= {self.c_e:g}",
        ]
        if self.explore_n is not None:
            parts.append(f"explore an untried next dose once {self.explore_n} are at the dose")
        if self.stop_if_lowest_toxic:
            parts.append(f"stop if Pr(toxicity at dose 1 > {self.tox_target:g}) > {self.c_t:g}")
        if self.n_earlystop is not None:
            parts.append(f"stop when {self.n_earlystop} patients are at the dose to be given")
        parts.append("OBD: the most desirable dose at or below the isotonic MTD")
        return "; ".join(parts)

    # --- operating characteristics ----------------------------------------------------------
    def operating_characteristics(
        self,
        truth: Truth,
        method: str = "simulate",
        n_sims: int = 1000,
        seed: int | None = None,
    ) -> OperatingCharacteristics:
        """OCs under ``truth`` = (true efficacy rates, true toxicity rates) per dose (or a
        mapping with keys ``eff`` and ``tox``), outcomes independent given the dose:
        P(select each dose as OBD / none), mean patients, toxicities and responses per dose.
        ``method="simulate"`` (``n_sims`` trials) or ``"exact"`` (:meth:`_exact`)."""
        self._check_method(method)
        pe, pt = truth_rates(truth, self.n_doses)
        if method == "exact":
            return self._exact(pe, pt)
        n_sims = check_count(n_sims, "n_sims", minimum=1)
        cum = np.cumsum(category_probs(pe, pt), axis=1)
        rng = np.random.default_rng(seed)
        u = rng.random((n_sims, self.n_patients))
        k = self.n_doses
        all_counts = np.zeros((n_sims, k, 4), dtype=np.int64)
        selected = np.full(n_sims, -1, dtype=np.int64)
        cur = np.full(n_sims, self.start_index, dtype=np.int64)
        rows = np.arange(n_sims)
        # all trials advance cohort by cohort; the rule is asked once per distinct state (the
        # counts and the current dose), since trials meet the same states over and over
        known: dict[bytes, tuple[int, int]] = {}
        for c in range(self.n_cohorts):
            if rows.size == 0:
                break
            lo = c * self.cohort_size
            size = min(self.cohort_size, self.n_patients - lo)
            d = cur[rows]
            # category of each patient: as searchsorted(cum[d], u, side="right"), capped at B
            cats = (cum[d][:, None, :] <= u[rows, lo : lo + size, None]).sum(axis=2)
            cats = np.minimum(cats, 3)
            for j in range(size):
                all_counts[rows, d, cats[:, j]] += 1
            state = np.concatenate((all_counts[rows].reshape(rows.size, -1), d[:, None]), axis=1)
            # rows as opaque byte strings: one sort of 1-d keys instead of a row-wise unique
            width = state.shape[1]
            keys = np.ascontiguousarray(state).view(np.dtype((np.void, 8 * width))).ravel()
            uniq_keys, inverse = np.unique(keys, return_inverse=True)
            uniq = uniq_keys.view(np.int64).reshape(-1, width)
            out = np.empty((len(uniq), 2), dtype=np.int64)
            for i, row in enumerate(uniq):
                key = row.tobytes()
                hit = known.get(key)
                if hit is None:
                    flat = row.tolist()
                    c4 = [flat[4 * j : 4 * j + 4] for j in range(k)]
                    nxt, _, sel = self._decide_rows(c4, flat[-1])
                    hit = (-1 if nxt is None else nxt, -1 if sel is None else sel)
                    known[key] = hit
                out[i] = hit
            nxt_r = out[inverse.reshape(-1), 0]
            stop = nxt_r < 0
            selected[rows[stop]] = out[inverse.reshape(-1), 1][stop]
            cur[rows[~stop]] = nxt_r[~stop]
            rows = rows[~stop]
        return simulated_characteristics(all_counts, selected, pe, pt, self.describe())

    def _exact(self, pe: FloatArray, pt: FloatArray) -> OperatingCharacteristics:
        """Exact OCs by carrying the probability of every reachable trial state forward,
        cohort by cohort, with the paths that meet in one state merged.

        The state is what the rule decides from: each dose's counts of N, E, T and B and the
        dose just given (Lin et al. 2020's decisions, admissibility and OBD selection depend
        on nothing else). A cohort at dose d has multinomial outcomes with the category
        probabilities of d (toxicity and efficacy independent given the dose, as escalation's
        ``calculate_probabilities``). With the paper's utilities the rule reads each dose's
        patients, toxicities and responses only, and states are merged on these; other
        utilities need all four counts and far more states. More than
        :data:`EXACT_MAX_STATES` states after a cohort is refused (use the simulation)."""
        k, size = self.n_doses, self.cohort_size
        u1, u2, u3, u4 = self.utility
        # the utility of a dose's data is u2 n + (u1 - u2) eff + (u4 - u2) tox + (u3 - u1 -
        # u4 + u2) B: when u1 + u4 = u2 + u3 (the paper's 100, 40, 60, 0) it depends on the
        # patients, toxicities and responses only, so states that differ only in how many
        # had both are one state for the rule and are merged
        merge_both = u1 + u4 == u2 + u3
        cat_p = category_probs(pe, pt)
        # each cohort size's outcomes as counts of N, E, T, B, and their probability at each
        # dose, computed once
        outcomes: dict[int, list[tuple[list[int], list[float]]]] = {}
        for m in {size, self.n_patients % size} - {0}:
            outcomes[m] = [
                ([combo.count(ch) for ch in LETTERS], [multiset_prob(combo, q) for q in cat_p])
                for combo in cohort_outcomes(m)
            ]
        start = (tuple([0] * (4 * k)), self.start_index)
        states: dict[tuple[tuple[int, ...], int], float] = {start: 1.0}
        known: dict[tuple[tuple[int, ...], int], tuple[int | None, int | None]] = {}
        selection = np.zeros(k + 1)
        totals = np.zeros((k, 4))  # expected final counts per dose and category
        n_dist: dict[int, float] = {}
        finished: set[tuple[tuple[int, ...], int | None]] = set()

        def finish(flat: tuple[int, ...], sel: int | None, p: float) -> None:
            finished.add((flat, sel))
            selection[k if sel is None else sel] += p
            counts = np.asarray(flat, dtype=np.float64).reshape(k, 4)
            totals[:] += p * counts
            n = int(sum(flat))
            n_dist[n] = n_dist.get(n, 0.0) + p

        for c in range(self.n_cohorts):
            m = min(size, self.n_patients - c * size)
            new: dict[tuple[tuple[int, ...], int], float] = {}
            for (flat, cur), prob in states.items():
                for comp, at_dose in outcomes[m]:
                    p = prob * at_dose[cur]
                    if p == 0.0:
                        continue
                    counts = list(flat)
                    for i in range(4):
                        counts[4 * cur + i] += comp[i]
                    if merge_both:
                        _canonical(counts, cur)
                    key = (tuple(counts), cur)
                    hit = known.get(key)
                    if hit is None:
                        rows = [counts[4 * j : 4 * j + 4] for j in range(k)]
                        nxt, _, sel = self._decide_rows(rows, cur)
                        hit = known[key] = (nxt, sel)
                    if hit[0] is None:
                        finish(key[0], hit[1], p)
                    else:
                        nxt_key = (key[0], hit[0])
                        new[nxt_key] = new.get(nxt_key, 0.0) + p
            states = new
            if len(states) > EXACT_MAX_STATES:
                raise ValueError(
                    f"method: the exact computation would follow more than {EXACT_MAX_STATES:,}"
                    f" trial states after cohort {c + 1}; use method='simulate'"
                )
        for (flat, _cur), p in states.items():  # the rule never stopped: no dose selected
            finish(flat, None, p)
        return phase12_characteristics(
            selection,
            totals.sum(axis=1),
            totals[:, 2] + totals[:, 3],
            totals[:, 1] + totals[:, 3],
            dict(sorted(n_dist.items())),
            pe,
            pt,
            self.describe(),
            n_terminal_states=len(finished),
        )


#: States the exact computation follows at most after a cohort (some 10 s and 150 MiB).
EXACT_MAX_STATES = 200_000


def _canonical(counts: list[int], j: int) -> None:
    """Dose ``j``'s counts of N, E, T, B rewritten with as many "both" as the toxicities and
    responses allow, keeping the patients, toxicities and responses (in place)."""
    n_n, n_e, n_t, n_b = counts[4 * j : 4 * j + 4]
    tox, eff = n_t + n_b, n_e + n_b
    both = min(tox, eff)
    counts[4 * j : 4 * j + 4] = [
        n_n + n_e + n_t + n_b - max(tox, eff),
        eff - both,
        tox - both,
        both,
    ]


def _rows(counts: IntArray) -> Rows:
    """Counts (K, 4) as a list of per-dose [N, E, T, B] Python integers."""
    return [[int(v) for v in r] for r in np.asarray(counts).tolist()]


def _pava(x: list[float]) -> list[float]:
    """Unweighted isotonic regression by pooling adjacent violators, step for step as
    escalation's internal ``pava``: the leftmost violation is pooled first and a pool's
    value is the plain mean of its members (summed exactly, as R's extended-precision ``sum``
    all but always rounds), so ties between pooled doses are exact as in R."""
    values = list(x)
    levels = list(range(len(values)))
    while True:
        viol = [i for i in range(len(values) - 1) if values[i + 1] < values[i]]
        if not viol:
            return values
        i = viol[0]
        lvl1, lvl2 = levels[i], levels[i + 1]
        members = [j for j, lv in enumerate(levels) if lv in (lvl1, lvl2)]
        mean = math.fsum(values[j] for j in members) / len(members)
        for j in members:
            values[j] = mean
            levels[j] = lvl1
