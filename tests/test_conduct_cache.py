"""The views kept per state of the record (status, recommendation, decision rules) are never
served after new data: after each kind of write they equal a computation from scratch. A
design or table too large to compute is refused with a named reason, before any of it is
built, and the service answers with that reason (no server error)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from earlyphase.conduct import ConductError, TrialService, cache, open_store
from earlyphase.conduct.cache import DESIGNS, STATES, TABLES
from earlyphase.conduct.web import create_app

TRIAL = "GVHD"
D0 = "2026-01-05"
INFUSED = "2026-01-06T10:00"
DLT_ONSET = "2026-01-10"
WINDOW_OVER = "2026-02-02"
PASSWORDS = {
    "admin": "admin-pass-1",
    "stat": "stat-passwd-1",
    "inv1": "inv1-passwd-1",
    "inv2": "inv2-passwd-1",
}


def _setup(path: str) -> tuple[TrialService, dict[str, Any]]:
    svc = TrialService(open_store(path))
    svc.bootstrap_admin("admin", "Ada Admin", PASSWORDS["admin"])
    admin = svc.authenticate("admin", PASSWORDS["admin"])
    svc.create_site(admin, "Tokyo")
    svc.create_site(admin, "Osaka")
    svc.create_user(admin, "stat", "Sam Statistician", "statistician", PASSWORDS["stat"])
    svc.create_user(admin, "inv1", "Ivy One", "investigator", PASSWORDS["inv1"], "Tokyo")
    svc.create_user(admin, "inv2", "Ian Two", "investigator", PASSWORDS["inv2"], "Osaka")
    svc.create_trial(admin, TRIAL, "3+3", {"n_doses": 3}, [0.5, 1.0, 2.0])
    return svc, {u: svc.authenticate(u, p) for u, p in PASSWORDS.items()}


def _views(svc: TrialService, u: dict[str, Any]) -> dict[str, Any]:
    """What each role sees (an investigator only the own site's subjects)."""
    return {
        who: (svc.status(u[who], TRIAL), svc.recommendation(u[who], TRIAL))
        for who in ("stat", "inv1", "inv2")
    }


def _checked(svc: TrialService, u: dict[str, Any], before: dict[str, Any] | None) -> Any:
    """The views after a write: equal to a computation from scratch, served again from the
    cache, and (``before`` given) different from the views before the write."""
    after = _views(svc, u)
    hits = STATES.hits
    again = _views(svc, u)
    assert STATES.hits > hits  # the second reading was served from the cache
    STATES.clear()
    fresh = _views(svc, u)
    assert after == again == fresh
    if before is not None:
        assert after != before
    return after


def test_every_kind_of_write_invalidates_the_kept_views(db_url: str) -> None:
    svc, u = _setup(db_url)
    inv, stat = u["inv1"], u["stat"]
    seen = _checked(svc, u, None)
    for code in ("A1", "A2", "A3"):  # enrolment
        svc.enrol(inv, TRIAL, code, 60, enrolled_on=D0)
        seen = _checked(svc, u, seen)
    assert seen["inv1"][0]["cohorts"][0]["subjects"] == ["A1", "A2", "A3"]
    assert seen["inv2"][0]["cohorts"][0]["subjects"] == []  # Tokyo's subjects stay hidden

    svc.record_infusion(inv, TRIAL, "A1", INFUSED, 0.5, "L1")  # infusion
    seen = _checked(svc, u, None)
    svc.record_infusion(inv, TRIAL, "A2", INFUSED, 0.5, "L1")
    svc.record_infusion(inv, TRIAL, "A3", INFUSED, 0.8, "L1", deviation_reason="pump fault")
    seen = _checked(svc, u, seen)  # a deviation shows
    assert [d["code"] for d in seen["stat"][0]["deviations"]] == ["A3"]
    assert seen["inv2"][0]["deviations"] == []

    ae = svc.record_ae(  # an adverse event meeting the DLT criteria
        inv, TRIAL, "A1", "Immune system disorders", "Cytokine release syndrome", 3,
        related=True, onset_on=DLT_ONSET, dlt=True,
    )  # fmt: skip
    seen = _checked(svc, u, seen)
    assert seen["stat"][0]["outcomes"] == "1T"
    svc.record_dlt(inv, TRIAL, "A2", False, assessed_on=WINDOW_OVER)  # DLT assessments
    seen = _checked(svc, u, seen)
    svc.record_dlt(inv, TRIAL, "A3", False, assessed_on=WINDOW_OVER)  # completes the cohort
    seen = _checked(svc, u, seen)
    latest = seen["stat"][1]["latest"]
    assert latest is not None and not latest["confirmed"]

    svc.confirm_decision(stat, latest["id"], PASSWORDS["stat"])  # signature
    seen = _checked(svc, u, seen)
    assert seen["stat"][1]["latest"]["confirmed"]

    svc.correct(inv, TRIAL, "adverse_event", ae.id, {"grade": 4}, "source verification")
    seen = _checked(svc, u, seen)  # correction: the signed decision's data changed
    assert seen["stat"][1]["latest"]["data_changed"]

    svc.void(inv, TRIAL, "adverse_event", ae.id, "entered for the wrong subject")  # void
    seen = _checked(svc, u, seen)
    assert seen["stat"][0]["outcomes"] == "1NN"


def test_a_kept_view_is_a_copy(tmp_path: Path) -> None:
    svc, u = _setup(str(tmp_path / "t.db"))
    svc.enrol(u["inv1"], TRIAL, "A1", 60, enrolled_on=D0)
    first = svc.status(u["stat"], TRIAL)
    first["cohorts"][0]["subjects"].append("forged")
    first["conduct"]["time_zone"] = "forged"
    assert svc.status(u["stat"], TRIAL)["cohorts"][0]["subjects"] == ["A1"]
    assert svc.status(u["stat"], TRIAL)["conduct"]["time_zone"] != "forged"


def test_an_oversized_design_is_refused_before_it_is_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # at the bounds of the settings, BOIN's boundaries would take minutes and gigabytes
    def never(*_: Any) -> Any:
        raise AssertionError("the design was built")

    monkeypatch.setattr("earlyphase.conduct.common.build_protocol", never)
    DESIGNS.clear()
    huge = {"n_doses": 5, "target": 0.3, "n_cohorts": 100, "cohort_size": 12}
    with pytest.raises(ConductError, match=r"^design: n_cohorts x cohort_size = 1200 patients"):
        cache.check_design_size("boin", huge)
    from earlyphase.conduct.common import design_for

    with pytest.raises(ConductError, match="too large"):
        design_for("boin", huge)
    with pytest.raises(ConductError, match=r"^design: n_max = 5000"):
        design_for("thall-simon", {"n_max": 5000})


def test_the_service_refuses_an_oversized_computation_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A BOIN trial made too large for the service (by lowering the bound, so that the test
    itself stays small) and a CRM dose-path table too large: the service names the problem
    with a 4xx, and the dashboard shows it in place of the table."""
    db = str(tmp_path / "t.db")
    svc, u = _setup(db)
    admin = u["admin"]
    crm = {"skeleton": [0.05, 0.12, 0.25, 0.4], "target": 0.25, "cohort_size": 12}
    svc.create_trial(admin, "CRM", "crm", crm, [1.0, 2.0, 3.0, 4.0])
    with pytest.raises(ConductError, match=r"^design: the dose paths of 4 cohorts of 12"):
        svc.rules_design("CRM", depth=4)
    svc.create_trial(admin, "BOIN", "boin", {"target": 0.3, "n_cohorts": 10}, [1.0, 2.0, 3.0])
    monkeypatch.setattr(cache, "MAX_WORK", 100.0)
    monkeypatch.setattr(cache, "MAX_PATHS", 5)
    DESIGNS.clear()
    TABLES.clear()
    STATES.clear()
    with pytest.raises(ConductError, match=r"^design: .* too large"):
        svc.enrol(u["inv1"], "BOIN", "B1", 60, enrolled_on=D0)

    client = TestClient(create_app(db, secret="k" * 32))
    token = client.post("/api/token", json={"username": "stat", "password": PASSWORDS["stat"]})
    headers = {"Authorization": f"Bearer {token.json()['token']}"}
    r = client.get("/api/trials/BOIN", headers=headers)
    assert r.status_code in (400, 409, 422) and "too large" in r.text
    page = client.get("/login").text
    csrf = re.search(r"name=['\"]csrf['\"] value=['\"]([^'\"]+)", page)
    assert csrf is not None
    client.post(
        "/login",
        data={"username": "stat", "password": PASSWORDS["stat"], "csrf": csrf.group(1)},
    )
    r = client.get("/trials/CRM")
    assert r.status_code == 200 and "more than the service computes" in r.text
    r = client.get("/trials/BOIN")
    assert r.status_code == 422 and "too large" in r.text


def test_readers_missing_one_key_wait_for_one_computation() -> None:
    """After a write every reader misses the same key at once: one thread computes, the
    others are given its value (not a queue of identical rebuilds)."""
    import threading
    import time

    kept = cache.BoundedCache(8)
    calls: list[int] = []
    started = threading.Barrier(12)
    got: list[int] = []

    def compute() -> int:
        calls.append(1)
        time.sleep(0.2)  # long enough for every other thread to arrive while it runs
        return 42

    def reader() -> None:
        started.wait()
        got.append(kept.get("view", compute))

    threads = [threading.Thread(target=reader) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert got == [42] * 12
    assert len(calls) == 1
    assert kept.get("view", compute) == 42 and len(calls) == 1


def test_a_failed_computation_is_not_shared_and_not_kept() -> None:
    """When the computing thread fails, each waiter computes for itself (and meets the same
    error, as without a cache); nothing is kept, so the next request tries again."""
    import threading
    import time

    kept = cache.BoundedCache(8)
    calls: list[int] = []
    errors: list[str] = []
    started = threading.Barrier(4)

    def compute() -> int:
        calls.append(1)
        time.sleep(0.1)
        raise ConductError("design: too large")

    def reader() -> None:
        started.wait()
        try:
            kept.get("view", compute)
        except ConductError as exc:
            errors.append(str(exc))

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert errors == ["design: too large"] * 4
    assert len(calls) >= 2  # the owner, then the waiters on their own
    assert len(kept) == 0
    assert kept.get("view", lambda: 7) == 7


def test_the_server_runs_route_functions_on_a_few_threads(tmp_path: Path) -> None:
    """Route functions hold the GIL: a worker runs them on WORKER_THREADS threads, not
    Starlette's 40 (consistency check of the setting taking effect in the server's loop)."""
    import anyio.to_thread

    from earlyphase.conduct.web import WORKER_THREADS

    with TestClient(create_app(tmp_path / "t.db", secret="threads")) as c:
        assert c.portal is not None
        tokens = c.portal.call(
            lambda: anyio.to_thread.current_default_thread_limiter().total_tokens
        )
        assert tokens == WORKER_THREADS == 8
        assert c.get("/login").status_code == 200
