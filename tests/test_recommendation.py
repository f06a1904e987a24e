"""``TrialService.recommendation`` and ``GET /api/trials/{name}/recommendation``.

Expected recommendations are not taken from earlyphase:

- 3+3 (Storer 1989; the variant without de-escalation of R escalation's
  ``get_three_plus_three``, and Korn et al. 1994 with de-escalation), worked by hand:
  0/3 DLTs -> escalate; 1/3 -> stay (3 more at the dose); 1/6 -> escalate; >= 2 DLTs at a dose
  -> the MTD is exceeded: stop and recommend the dose below (none below dose 1), or, with
  de-escalation, treat 3 more at the dose below when it has only 3 patients.
- BOIN (Liu & Yuan 2015): the boundaries of R BOIN 2.7.2 ``get.boundary(target = 0.3,
  ncohort = 10, cohortsize = 3)`` (``tests/fixtures/boin_get_boundary_recommendation.json``,
  from ``tests/fixtures/r/make_boin_recommendation_fixture.R``), applied by the small rule
  ``_boin_next`` written in this file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from earlyphase.conduct import ConductError, TrialService, open_store
from earlyphase.conduct.web import create_app

BOIN_R = json.loads(
    (Path(__file__).parent / "fixtures" / "boin_get_boundary_recommendation.json").read_text(
        encoding="utf-8"
    )
)


def _service(db: str) -> tuple[TrialService, dict[str, Any]]:
    svc = TrialService(open_store(db))
    svc.bootstrap_admin("admin", "Ada Admin", "admin-pass-1")
    admin = svc.authenticate("admin", "admin-pass-1")
    svc.create_site(admin, "Tokyo")
    svc.create_user(admin, "stat", "Sam Statistician", "statistician", "stat-passwd-1")
    svc.create_user(admin, "inv", "Ivy One", "investigator", "inv-passwd-11", "Tokyo")
    svc.create_user(admin, "mon", "Mo Monitor", "monitor", "mon-passwd-11")
    users = {
        name: svc.authenticate(name, pw)
        for name, pw in (
            ("admin", "admin-pass-1"),
            ("stat", "stat-passwd-1"),
            ("inv", "inv-passwd-11"),
            ("mon", "mon-passwd-11"),
        )
    }
    return svc, users


#: Each subject is enrolled on 2026-01-05 and infused the next day; a DLT (an adverse event
#: meeting the DLT criteria) starts on day 5, and 'no DLT' is assessed when the 28-day window
#: is over (2026-02-02).
ENROLLED = "2026-01-05"
INFUSED = "2026-01-06T10:00"
DLT_ONSET = "2026-01-10"
WINDOW_OVER = "2026-02-02"


def _evaluate(svc: TrialService, u: dict[str, Any], trial: str, code: str, letter: str) -> None:
    """Infuse the subject at its cohort's dose, then record its DLT outcome."""
    st = svc.status(u["mon"], trial)
    dose = next(c["dose"] for c in st["cohorts"] if code in c["subjects"])
    svc.record_infusion(u["inv"], trial, code, INFUSED, dose, "L1")
    if letter == "T":
        svc.record_ae(
            u["inv"],
            trial,
            code,
            "Immune system disorders",
            "Cytokine release syndrome",
            3,
            related=True,
            onset_on=DLT_ONSET,
            dlt=True,
        )
    else:
        svc.record_dlt(u["inv"], trial, code, assessed_on=WINDOW_OVER)


def _run_cohort(
    svc: TrialService, u: dict[str, Any], trial: str, dlts: str, start: int
) -> dict[str, Any]:
    """Enrol a cohort, record its DLTs ("NTN"), return the recommendation before signing."""
    before = svc.recommendation(u["mon"], trial)["latest"]
    for i, letter in enumerate(dlts):
        code = f"S{start + i:03d}"
        svc.enrol(u["inv"], trial, code, 60, enrolled_on=ENROLLED)
        _evaluate(svc, u, trial, code, letter)
        if i < len(dlts) - 1:  # the cohort is not complete yet: no new decision
            assert svc.recommendation(u["mon"], trial)["latest"] == before
    rec = svc.recommendation(u["mon"], trial)
    assert rec["latest"] is not None and rec["latest"] != before
    return rec


# 3+3 trials worked by hand: (cohort DLT letters, dose of the cohort, expected next dose or
# None, stop, selected dose). Doses 1..3.
THREE_PLUS_THREE = {
    "escalation-only": (
        {"n_doses": 3},
        [
            ("NNN", 1, 2, False, None),  # 0/3 at dose 1 -> escalate to 2
            ("NTN", 2, 2, False, None),  # 1/3 at dose 2 -> 3 more at 2
            ("NNN", 2, 3, False, None),  # 1/6 at dose 2 -> escalate to 3
            ("TTN", 3, None, True, 2),  # 2/3 at dose 3 -> stop, MTD = dose 2 (6 treated)
        ],
    ),
    "mtd-exceeded-at-2": (
        {"n_doses": 3},
        [
            ("NNN", 1, 2, False, None),  # 0/3 -> escalate
            ("TTN", 2, None, True, 1),  # 2/3 at dose 2, no de-escalation -> stop, MTD = 1
        ],
    ),
    "too-toxic-at-1": (
        {"n_doses": 3},
        [("TTN", 1, None, True, None)],  # 2/3 at the lowest dose -> stop, no dose
    ),
    "with-deescalation": (
        {"n_doses": 3, "deescalation": True},
        [
            ("NNN", 1, 2, False, None),  # 0/3 -> escalate
            ("TTN", 2, 1, False, None),  # 2/3 at 2, dose 1 has only 3 -> de-escalate to 1
            ("NTN", 1, None, True, 1),  # dose 1: 1/6 -> stop, MTD = 1
        ],
    ),
}


@pytest.mark.parametrize("case", list(THREE_PLUS_THREE))
def test_recommendation_follows_the_three_plus_three_rules(db_url: str, case: str) -> None:
    spec, cohorts = THREE_PLUS_THREE[case]
    svc, u = _service(db_url)
    svc.create_trial(u["admin"], "T33", "3+3", spec, [0.5, 1.0, 2.0])
    assert svc.recommendation(u["mon"], "T33") == {"outcomes": "", "latest": None}
    tokens: list[str] = []
    n = 0
    for k, (dlts, dose, nxt, stop, selected) in enumerate(cohorts, start=1):
        rec = _run_cohort(svc, u, "T33", dlts, n)
        n += len(dlts)
        tokens.append(f"{dose}{dlts}")
        latest = rec["latest"]
        assert rec["outcomes"] == " ".join(tokens)
        assert latest["after_cohort"] == k
        assert (latest["next_dose"], latest["stop"], latest["selected"]) == (nxt, stop, selected)
        assert latest["reason"].startswith("stop") == stop
        assert latest["confirmed"] is False and latest["signer"] is None
        svc.confirm_decision(u["stat"], latest["id"], "stat-passwd-1")
        signed = svc.recommendation(u["inv"], "T33")["latest"]
        assert signed["confirmed"] is True and signed["signer"] == "Sam Statistician"
        assert signed["id"] == latest["id"]
    with pytest.raises(ConductError, match=r"^cohort: the trial has stopped"):
        svc.enrol(u["inv"], "T33", "S999", 60)


def test_recommendation_mid_cohort_keeps_the_last_decision(db_url: str) -> None:
    """Until a cohort is complete the latest decision is the previous one (3+3: 0/3 ->
    escalate to 2, worked by hand); an unknown trial is an error naming the field."""
    svc, u = _service(db_url)
    svc.create_trial(u["admin"], "T33", "3+3", {"n_doses": 3}, [0.5, 1.0, 2.0])
    first = _run_cohort(svc, u, "T33", "NNN", 0)["latest"]
    svc.confirm_decision(u["stat"], first["id"], "stat-passwd-1")
    svc.enrol(u["inv"], "T33", "S100", 60, enrolled_on=ENROLLED)
    _evaluate(svc, u, "T33", "S100", "T")
    rec = svc.recommendation(u["mon"], "T33")
    assert rec["latest"]["id"] == first["id"] and rec["latest"]["next_dose"] == 2
    assert rec["outcomes"] == "1NNN"
    with pytest.raises(ConductError, match=r"^trial: no trial named 'nope'"):
        svc.recommendation(u["mon"], "nope")


# --- BOIN over HTTP -----------------------------------------------------------------------------


def _boin_next(history: list[tuple[int, str]], n_doses: int) -> tuple[int | None, bool]:
    """BOIN's next dose from R get.boundary's table (escalate if y <= e_n, de-escalate if
    y >= d_n, eliminate the dose and all above if y >= elim_n), written independently of
    earlyphase. Returns (next dose or None, stop)."""
    n = [0] * (n_doses + 1)
    y = [0] * (n_doses + 1)
    for dose, letters in history:
        n[dose] += len(letters)
        y[dose] += letters.count("T")
    cur = history[-1][0]
    index = {int(v): i for i, v in enumerate(BOIN_R["n"])}
    top = n_doses  # highest admissible dose
    for d in range(1, n_doses + 1):
        i = index.get(n[d])
        elim = None if i is None else BOIN_R["eliminate_if_ge"][i]
        if n[d] >= 3 and elim is not None and y[d] >= elim:
            top = d - 1
            break
    if top < 1:
        return None, True
    i = index[n[cur]]
    if y[cur] <= BOIN_R["escalate_if_le"][i] and cur < top:
        nxt = cur + 1
    elif y[cur] >= BOIN_R["deescalate_if_ge"][i]:
        nxt = max(cur - 1, 1)
    else:
        nxt = cur
    return min(nxt, top), False


# (dose given, cohort DLTs): each next dose is derived by _boin_next from the R boundaries.
BOIN_COHORTS = [
    (1, "NNN"),  # n=3, y=0 <= e_3 = 0 -> escalate
    (2, "NTN"),  # n=3, y=1: 0 < 1 < d_3 = 2 -> stay
    (2, "NNN"),  # n=6, y=1 <= e_6 = 1 -> escalate
    (3, "TTN"),  # n=3, y=2 >= d_3 = 2 -> de-escalate
    (2, "NTN"),  # n=9, y=2 <= e_9 = 2 -> escalate
    (3, "TTT"),  # n=6, y=5 >= elim_6 = 4 -> doses 3-4 eliminated, de-escalate
    (2, "NNN"),  # n=12, y=2 <= e_12 = 2 but dose 3 is eliminated -> stay at 2
]


def test_boin_boundaries_of_the_fixture_are_the_published_ones() -> None:
    """R get.boundary's lambdas for target 0.3 are Liu & Yuan's (2015, Table 1) 0.236 / 0.358."""
    assert abs(BOIN_R["lambda_e"][0] - 0.236) < 1e-3
    assert abs(BOIN_R["lambda_d"][0] - 0.358) < 1e-3


def test_recommendation_route_on_a_boin_trial_matches_r_get_boundary(db_url: str) -> None:
    _service(db_url)
    client = TestClient(create_app(db_url, secret="rec-test"))

    def token(user: str, password: str) -> dict[str, str]:
        r = client.post("/api/token", json={"username": user, "password": password})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['token']}"}

    admin = token("admin", "admin-pass-1")
    inv, stat, mon = (
        token("inv", "inv-passwd-11"),
        token("stat", "stat-passwd-1"),
        token("mon", "mon-passwd-11"),
    )
    body = {
        "name": "B30",
        "design": "boin",
        "dose_levels": [1.0, 2.0, 3.0, 4.0],
        "settings": {"target": 0.3, "n_cohorts": 10},
    }
    r = client.post("/api/trials", json=body, headers=admin)
    assert r.status_code == 201, r.text
    url = "/api/trials/B30/recommendation"
    assert client.get(url, headers=mon).json() == {"outcomes": "", "latest": None}
    history: list[tuple[int, str]] = []
    code = 0
    for k, (dose, dlts) in enumerate(BOIN_COHORTS, start=1):
        for letter in dlts:
            code += 1
            subject = f"/api/trials/B30/subjects/B{code:02d}"
            r = client.post(
                "/api/trials/B30/subjects",
                json={"code": f"B{code:02d}", "weight_kg": 70, "enrolled_on": ENROLLED},
                headers=inv,
            )
            assert r.status_code == 201, r.text
            infusion = {"infused_at": INFUSED, "cells_per_kg": float(dose), "lot": "L1"}
            r = client.post(f"{subject}/infusions", json=infusion, headers=inv)
            assert r.status_code == 201, r.text
            if letter == "T":  # a DLT is the adverse event that meets the DLT criteria
                ae = {"soc": "Immune", "pt": "CRS", "grade": 3, "onset_on": DLT_ONSET}
                r = client.post(f"{subject}/aes", json={**ae, "dlt": True}, headers=inv)
            else:
                r = client.post(f"{subject}/dlt", json={"assessed_on": WINDOW_OVER}, headers=inv)
            assert r.status_code == 201, r.text
        history.append((dose, dlts))
        want_next, want_stop = _boin_next(history, 4)
        r = client.get(url, headers=mon)
        assert r.status_code == 200, r.text
        rec = r.json()
        assert rec["outcomes"] == " ".join(f"{d}{s}" for d, s in history)
        latest = rec["latest"]
        assert latest["after_cohort"] == k
        # source: R BOIN 2.7.2 get.boundary(0.3, 10, 3) applied by _boin_next
        assert (latest["next_dose"], latest["stop"]) == (want_next, want_stop), history
        assert latest["confirmed"] is False
        r = client.post(
            f"/api/decisions/{latest['id']}/confirm",
            json={"password": "stat-passwd-1"},
            headers=stat,
        )
        assert r.status_code == 200, r.text
        assert client.get(url, headers=inv).json()["latest"]["confirmed"] is True
    # the next cohort is enrolled at the recommended dose
    r = client.post("/api/trials/B30/subjects", json={"code": "B99", "weight_kg": 70}, headers=inv)
    assert r.status_code == 201
    st = client.get("/api/trials/B30", headers=stat).json()
    assert st["cohorts"][-1]["dose_level"] == _boin_next(history, 4)[0] == 2


def test_recommendation_route_errors(db_url: str) -> None:
    _service(db_url)
    client = TestClient(create_app(db_url, secret="rec-test"))
    assert client.get("/api/trials/B30/recommendation").status_code == 403  # no token
    tok = client.post("/api/token", json={"username": "mon", "password": "mon-passwd-11"}).json()
    r = client.get(
        "/api/trials/nope/recommendation", headers={"Authorization": f"Bearer {tok['token']}"}
    )
    assert r.status_code == 422 and r.json()["field"] == "trial"


def test_boin_rule_of_this_file_reproduces_r_examples() -> None:
    """Sanity of the independent rule against BOIN's boundary table rows, read off by hand:
    1/3 stays (e_3 = 0, d_3 = 2), 3/3 at dose 1 eliminates every dose and stops."""
    assert _boin_next([(1, "NTN")], 4) == (1, False)
    assert _boin_next([(1, "TTT")], 4) == (None, True)
    assert BOIN_R["escalate_if_le"][2] == 0 and BOIN_R["deescalate_if_ge"][2] == 2
    assert BOIN_R["eliminate_if_ge"][2] == 3
