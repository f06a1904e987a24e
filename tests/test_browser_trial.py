"""A whole 3+3 trial in headless Chromium through the pages a coordinator and the
statistician work in: a dose deviation with its reason, a correction checked before it is
saved, a DLT found after a "no DLT" assessment (the assessment voided, the adverse event
recorded as the DLT, each with a reason), a decision rejected, recomputed and approved at a
different dose, the trial run to its stop, and the safety review packet."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from helpers import CHROMIUM, CHROMIUM_FLAGS, sign_in

TRIAL = "GVHD phase Ib"  # the demo's 3+3 at 0.5 / 1.0 / 2.0 x 10^6 cells/kg, Tokyo time
PATH = "/trials/GVHD%20phase%20Ib"


def _msg(page: Any) -> str:
    return str(page.inner_text("#msg"))


@pytest.mark.skipif(CHROMIUM is None, reason="make test starts Chromium (scripts/test-services.sh)")
def test_a_trial_with_corrections_and_a_rejected_decision(server: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    started = time.monotonic()
    trial = server + PATH
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        inv = browser.new_context().new_page()
        stat = browser.new_context().new_page()
        sign_in(inv, server, "inv")
        sign_in(stat, server, "stat")

        def enrol(code: str, dose: str, deviation: str = "") -> None:
            inv.goto(trial)
            inv.fill("#code", code)
            inv.fill("#weight", "62")
            inv.fill("#enrolled-on", "2026-01-05")
            inv.click("#enrol")
            assert f"{code} enrolled" in _msg(inv)
            inv.fill("#inf-code", code)
            inv.fill("#inf-at", "2026-01-06T10:00")
            inv.fill("#inf-dose", dose)
            inv.fill("#inf-lot", "L1")
            if deviation:
                inv.fill("#inf-deviation", deviation)
            inv.click("#record-infusion")
            assert "infusion recorded" in _msg(inv)

        def subject(code: str) -> None:
            inv.goto(f"{trial}/subjects/{code}")

        def no_dlt(code: str) -> None:
            inv.fill("#dlt-code", code)
            inv.fill("#dlt-date", "2026-02-02")
            inv.select_option("#dlt-value", "no")
            inv.click("#record-dlt")

        def dlt(code: str) -> None:
            """A DLT is the adverse event that meets the criteria, from the subject's page."""
            subject(code)
            inv.click("#new-ae summary")
            inv.fill("#ae-soc", "Immune system disorders")
            inv.fill("#ae-pt", "Cytokine release syndrome")
            inv.select_option("#ae-grade", "3")
            inv.fill("#ae-onset-on", "2026-01-10")
            inv.check("#ae-serious-yes")
            inv.check("#ae-related-yes")
            inv.check("#ae-dlt-yes")
            inv.click("#record-ae")
            assert f"DLT recorded for {code}" in _msg(inv)

        def latest_decision() -> int:
            stat.goto(trial)
            cell = stat.locator("td[id^=decision-]").last.get_attribute("id")
            assert cell is not None
            return int(cell.split("-")[1])

        def sign(meaning: str, reason: str = "", dose: str = "") -> str:
            stat.goto(f"{trial}/decisions/{latest_decision()}")
            stat.check(f"#meaning-{meaning}")
            if dose:
                stat.select_option("#sign-dose", dose)
            if reason:
                stat.fill("#sign-reason", reason)
            stat.fill("#sign-password", "stat-demo-pass")
            stat.click("#sign")
            assert "decision signed" in _msg(stat), _msg(stat)
            return str(stat.inner_text("#verdict"))

        # cohort 1 at level 1, one infusion outside the 10 % tolerance with its reason
        enrol("P01", "0.5")
        enrol("P02", "0.4", deviation="bag partly lost in thawing")
        enrol("P03", "0.5")
        subject("P02")
        assert "Dose deviation: bag partly lost in thawing" in inv.content()
        assert "0.4 x 10^6 cells/kg" in inv.inner_text("#infusion-2")
        assert "assigned 0.5 x 10^6 cells/kg" in inv.inner_text("#infusion-2")
        assert "Asia/Tokyo" in inv.inner_text("#infusion-2")  # the time with its zone
        # a correction is shown before it is saved, and saved with its reason
        subject("P01")
        inv.click("#correct-subject-1 summary")
        inv.fill("#c-subject-1-weight-kg", "64")
        inv.fill("#c-subject-1-reason", "scale read in the wrong unit")
        inv.click("#c-subject-1-preview")
        changes = inv.inner_text("#changes")
        assert "Weight (kg)" in changes and "62.0" in changes and "64" in changes
        inv.click("#apply-correction")
        assert "corrected" in _msg(inv) and "64 kg" in inv.content()
        inv.goto(trial)
        for code in ("P01", "P02", "P03"):
            no_dlt(code)
        assert "the design recommends" in _msg(inv)
        verdict = sign("approve")
        assert "dose level 2" in verdict
        stat.screenshot(path=str(tmp_path / "decision-1.png"), full_page=True)

        # cohort 2 at level 2: P06 assessed "no DLT", then a DLT comes to light
        for code in ("P04", "P05", "P06"):
            enrol(code, "1")
        inv.goto(trial)
        for code in ("P04", "P05", "P06"):
            no_dlt(code)
        first = latest_decision()
        subject("P06")
        box = inv.locator("div.record[id^=dlt-assessment-]").first.get_attribute("id")
        assert box is not None
        key = box  # dlt-assessment-<id>
        inv.click(f"#void-{key} summary")
        inv.fill(f"#v-{key}-reason", "DLT found on source review: CRS grade 3 on day 5")
        inv.click(f"#v-{key}-void")
        assert "voided" in _msg(inv) and "msg ok" in inv.inner_html("main")
        dlt("P06")
        assert "DLT: yes" in inv.inner_text("div.record[id^=adverse-event-]")
        inv.screenshot(path=str(tmp_path / "subject.png"), full_page=True)

        # the statistician sees the changed data, rejects, recomputes, approves level 1
        stat.goto(f"{trial}/decisions/{first}")
        assert stat.locator("#data-changed").count() == 1
        verdict = sign("reject", reason="computed before the DLT of P06 was recorded")
        assert "Rejected" in verdict
        stat.fill("#recompute-reason", "P06's DLT is now on record")
        stat.click("#recompute")
        assert "recomputed" in _msg(stat)
        assert "1 DLT" in stat.inner_text("#cohort-dlts")
        assert "Level 2: 1.0 x 10^6 cells/kg" in stat.inner_text("#cohort-dose")
        assert not re.search(r"\b\d[NT]{2,}\b", stat.inner_text("main"))  # no outcome strings
        assert latest_decision() > first
        verdict = sign(
            "other", reason="severity of the CRS: more experience at level 1 first", dose="1"
        )
        assert "dose level 1 instead of" in verdict

        # cohort 3 at level 1, then cohort 4 back at level 2 with two DLTs: the trial stops
        for code in ("P07", "P08", "P09"):
            enrol(code, "0.5")
        inv.goto(trial)
        for code in ("P07", "P08", "P09"):
            no_dlt(code)
        sign("approve")
        for code in ("P10", "P11", "P12"):
            enrol(code, "1")
        dlt("P10")
        dlt("P11")
        inv.goto(trial)
        no_dlt("P12")
        assert "the design recommends" in _msg(inv)
        verdict = sign("approve")
        assert "stop" in verdict.lower()
        inv.goto(trial)
        assert inv.inner_text("#outcomes") == "1NNN 2NNT 1NNN 2TTN"

        # the safety review packet for the escalation meeting
        stat.goto(f"{trial}/packet")
        packet = stat.content()
        assert "Safety review packet" in packet
        assert "bag partly lost in thawing" in packet
        stat.screenshot(path=str(tmp_path / "packet.png"), full_page=True)
        browser.close()
    assert time.monotonic() - started < 90


@pytest.mark.skipif(CHROMIUM is None, reason="make test starts Chromium (scripts/test-services.sh)")
def test_api_docs_render_offline(server: str) -> None:
    """Swagger UI renders the OpenAPI 3.1 document with every request to another host
    refused, and without a CSP violation (which Chromium reports on the console)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        context = browser.new_context()
        elsewhere: list[str] = []

        def only_here(route: Any) -> None:
            if route.request.url.startswith(server):
                route.continue_()
            else:
                elsewhere.append(route.request.url)
                route.abort()

        context.route("**/*", only_here)
        page = context.new_page()
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.goto(f"{server}/docs")
        page.wait_for_selector(".opblock", timeout=20_000)
        assert "earlyphase conduct" in page.inner_text(".swagger-ui .info .title")
        assert page.locator(".opblock").count() > 10
        assert not elsewhere and not problems, (elsewhere, problems)
        browser.close()
