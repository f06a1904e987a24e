"""What the phase I/II designs on toxicity and efficacy share: outcome strings, true rates,
the tree of outcome paths and simulated operating characteristics.

Each patient has two binary outcomes, written N (neither), E (efficacy without toxicity),
T (toxicity without efficacy) or B (both), e.g. ``"1NEN 2EBT"``. BOIN12 (Lin et al. 2020) and
EffTox (Thall & Cook 2004) read these strings, take true scenarios as (efficacy rates,
toxicity rates) per dose, enumerate the unordered outcomes of the next cohorts as R
escalation's ``get_dose_paths`` does for them, and summarise simulated trials the same way;
each design keeps its own rule.

References
----------
Lin R, Zhou Y, Yan F, Li D, Yuan Y (2020). BOIN12: Bayesian optimal interval phase I/II trial
    design for utility-based dose finding in immunotherapy and targeted therapies. JCO Precis
    Oncol 4:PO.20.00257.
Thall PF, Cook JD (2004). Dose-finding based on efficacy-toxicity trade-offs. Biometrics
    60:684-693 (the Gumbel copula joining the two outcomes).
Brock K (2019). trialr and escalation: dose paths (``get_dose_paths``) of phase I/II designs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from itertools import combinations_with_replacement
from typing import TYPE_CHECKING, Protocol

import numpy as np
from numpy.typing import NDArray

from earlyphase.designs.contract import PATH_COLUMNS, Decision, decision_frame
from earlyphase.engine.results import OperatingCharacteristics
from earlyphase.stats.checks import check_count

if TYPE_CHECKING:
    import pandas as pd

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Outcome letters, in the column order of the count arrays.
LETTERS = "NETB"

Truth = tuple[Sequence[float], Sequence[float]] | Mapping[str, Sequence[float]]

_TOKEN = re.compile(r"^(\d+)([NETBnetb]*)$")


class Phase12Design(Protocol):
    """What :func:`outcome_paths` reads of a design."""

    @property
    def n_doses(self) -> int: ...

    @property
    def start_dose(self) -> int: ...

    @property
    def cohort_size(self) -> int: ...

    @property
    def n_patients(self) -> int: ...

    def decide(self, history: str | None = ...) -> Decision: ...


def count_outcomes(
    text: str, n_doses: int, what: str, letters_required: bool
) -> tuple[IntArray, int]:
    """Counts (K, 4) of N, E, T, B per dose from ``"1NEN 2EBT"`` and the last cohort's dose
    (1-based; 0 for an empty string). ``what`` names the argument in errors; with
    ``letters_required`` a dose without letters is an error."""
    counts = np.zeros((n_doses, 4), dtype=np.int64)
    last = 0
    for i, token in enumerate(text.split(), start=1):
        m = _TOKEN.match(token)
        if not m or (letters_required and not m.group(2)):
            raise ValueError(
                f"{what}: cohort {i} ({token!r}) must be a dose level followed by N/E/T/B letters"
            )
        dose = int(m.group(1))
        if not 1 <= dose <= n_doses:
            raise ValueError(
                f"{what}: cohort {i} ({token!r}) uses dose {dose}, outside 1..{n_doses}"
            )
        for ch in m.group(2).upper():
            counts[dose - 1, LETTERS.index(ch)] += 1
        last = dose
    return counts, last


def truth_rates(truth: Truth, n_doses: int) -> tuple[FloatArray, FloatArray]:
    """(true efficacy rates, true toxicity rates) per dose from a pair or a mapping with keys
    ``eff`` and ``tox``."""
    if isinstance(truth, Mapping):
        missing = [k for k in ("eff", "tox") if k not in truth]
        if missing:
            raise ValueError(f"truth: missing {missing[0]!r} (true efficacy and toxicity rates)")
        pair = (truth["eff"], truth["tox"])
    else:
        try:
            eff, tox = truth
        except (TypeError, ValueError):
            raise ValueError(
                "truth: give (true efficacy rates, true toxicity rates), one per dose each"
            ) from None
        pair = (eff, tox)
    out = []
    for name, vals in zip(("true_eff", "true_tox"), pair, strict=True):
        try:
            arr = np.asarray(vals, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{name}: needs {n_doses} probabilities in [0, 1]") from None
        # NaN fails both comparisons, so it is refused too
        if arr.shape != (n_doses,) or not np.all((arr >= 0) & (arr <= 1)):
            raise ValueError(f"{name}: needs {n_doses} probabilities in [0, 1]")
        out.append(arr)
    return out[0], out[1]


def category_probs(pe: FloatArray, pt: FloatArray, psi: float = 0.0) -> FloatArray:
    """P(N), P(E), P(T), P(B) per dose with marginal rates ``pe``, ``pt`` joined by a Gumbel
    copula with association ``psi`` (Thall & Cook 2004); ``psi = 0`` is independence, as
    escalation's ``calculate_probabilities`` draws BOIN12's outcomes."""
    c = pe * (1 - pe) * pt * (1 - pt) * math.tanh(psi / 2)
    cat_p = np.stack(
        [(1 - pe) * (1 - pt) + c, pe * (1 - pt) - c, (1 - pe) * pt - c, pe * pt + c], axis=1
    )
    if np.any(cat_p < -1e-12):
        raise ValueError("psi: too strong an association for these marginal rates")
    return np.asarray(np.clip(cat_p, 0, None), dtype=np.float64)


def multiset_prob(combo: str, cat_p: FloatArray) -> float:
    """Probability of the unordered outcomes ``combo`` (N/E/T/B letters): multinomial."""
    counts = [combo.count(ch) for ch in LETTERS]
    coef = math.factorial(len(combo))
    for c in counts:
        coef //= math.factorial(c)
    return float(coef * np.prod([cat_p[i] ** c for i, c in enumerate(counts)]))


def cohort_outcomes(size: int) -> list[str]:
    """All multisets of N/E/T/B letters of a cohort (order does not matter)."""
    return ["".join(c) for c in combinations_with_replacement(LETTERS, size)]


def outcome_paths(
    design: Phase12Design, n_cohorts: int, history: str | None, truth: Truth | None
) -> pd.DataFrame:
    """Every outcome of the next ``n_cohorts`` cohorts (unordered N/E/T/B letters) after
    ``history``, as ``design`` decides it, with its probability under ``truth`` = (true
    efficacy, true toxicity) rates, outcomes independent given the dose
    (:data:`PATH_COLUMNS`; ``n_dlt`` counts toxicities)."""
    import pandas as pd

    n_cohorts = check_count(n_cohorts, "n_cohorts", minimum=1)
    cat_p = None if truth is None else category_probs(*truth_rates(truth, design.n_doses))
    start = (history or "").strip()
    if start:
        first = design.decide(start)
        if first.stop:
            return pd.DataFrame(columns=list(PATH_COLUMNS))
        done = sum(len(t.lstrip("0123456789")) for t in start.split())
        nodes = [(start, int(first.dose or 1), 1.0, done)]
    else:
        nodes = [("", design.start_dose, 1.0, 0)]
    rows: list[dict[str, object]] = []
    for c in range(1, n_cohorts + 1):
        grown = []
        for path, dose, prob, n_done in nodes:
            size = min(design.cohort_size, design.n_patients - n_done)
            if size <= 0:
                continue
            for combo in cohort_outcomes(size):
                full = f"{path} {dose}{combo}".strip()
                pr = (
                    prob * multiset_prob(combo, cat_p[dose - 1])
                    if cat_p is not None
                    else float("nan")
                )
                d = design.decide(full)
                rows.append(
                    {
                        "cohort": c,
                        "path": full[len(start) :].strip() if start else full,
                        "dose": dose,
                        "n_dlt": sum(ch in "TB" for ch in combo),
                        "next": d.dose,
                        "decision": d.reason,
                        "selected": d.selected,
                        "probability": pr,
                    }
                )
                if not d.stop and d.dose is not None:
                    grown.append((full, d.dose, pr, n_done + size))
        nodes = grown
    frame = pd.DataFrame(rows, columns=list(PATH_COLUMNS))
    for col in ("next", "selected"):
        frame[col] = frame[col].astype("Int64")
    return frame


def path_decisions(paths: pd.DataFrame) -> pd.DataFrame:
    """The decision after every outcome path of :func:`outcome_paths`
    (:data:`DECISION_COLUMNS`; ``events`` counts toxicities, the path shows responses)."""
    import pandas as pd

    rows = []
    for _, r in paths.iterrows():
        letters = "".join(t.lstrip("0123456789") for t in str(r["path"]).split())
        stop = bool(pd.isna(r["next"]))
        rows.append(
            {
                "state": f"after {r['path']}",
                "path": r["path"],
                "n": len(letters),
                "events": sum(ch in "TB" for ch in letters),
                "endpoint": "toxicity",
                # the action is the reason without the branch of the rule in brackets
                "action": "stop" if stop else str(r["decision"]).split(" (")[0],
                "next_dose": None if stop else int(r["next"]),
                "reason": r["decision"],
            }
        )
    return decision_frame(rows)


def phase12_characteristics(
    selection: FloatArray,
    mean_n: FloatArray,
    mean_dlt: FloatArray,
    mean_eff: FloatArray,
    n_distribution: dict[int, float],
    true_eff: FloatArray,
    true_tox: FloatArray,
    design: str,
    n_sims: int | None = None,
    n_terminal_states: int | None = None,
) -> OperatingCharacteristics:
    """Operating characteristics of a toxicity-and-efficacy design: exact when ``n_sims`` is
    None, otherwise from ``n_sims`` simulated trials (with the Monte Carlo standard errors of
    ``selection``)."""
    return OperatingCharacteristics(
        true_tox=true_tox,
        dose_labels=tuple(str(i + 1) for i in range(len(mean_n))),
        selection=selection,
        mean_n=mean_n,
        mean_dlt=mean_dlt,
        n_distribution=n_distribution,
        prob_overdose_60=None,
        prob_overdose_80=None,
        mean_n_above_target=None,
        method="exact" if n_sims is None else "simulate",
        n_sims=n_sims,
        mc_se=None if n_sims is None else np.sqrt(selection * (1 - selection) / n_sims),
        design=design,
        n_terminal_states=n_terminal_states,
        extra={"true_eff": true_eff, "mean_eff": mean_eff},
    )


def simulated_characteristics(
    counts: NDArray[np.int64] | FloatArray,
    selected: IntArray,
    true_eff: FloatArray,
    true_tox: FloatArray,
    design: str,
) -> OperatingCharacteristics:
    """Operating characteristics of simulated trials from their outcome counts (trials, K, 4)
    of N, E, T, B and the selected dose of each (0-based, -1 none): P(select each dose / none),
    mean patients, toxicities and responses per dose."""
    n_sims, k = counts.shape[0], counts.shape[1]
    sel = np.bincount(np.where(selected < 0, k, selected), minlength=k + 1) / n_sims
    per_trial_n = counts.sum(axis=(1, 2)).astype(np.int64)
    ns, freq = np.unique(per_trial_n, return_counts=True)
    return phase12_characteristics(
        sel,
        counts.sum(axis=2).mean(axis=0),
        (counts[:, :, 2] + counts[:, :, 3]).mean(axis=0),
        (counts[:, :, 1] + counts[:, :, 3]).mean(axis=0),
        {int(a): float(b) / n_sims for a, b in zip(ns, freq, strict=True)},
        true_eff,
        true_tox,
        design,
        n_sims=n_sims,
    )
