"""End to end in a real browser: a whole 3+3 trial through the web UI, from the first
enrolment to the report, in headless Chromium (Debian's chromium, driven by Playwright)."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import CHROMIUM, CHROMIUM_FLAGS, sign_in


@pytest.mark.skipif(CHROMIUM is None, reason="make test starts Chromium (scripts/test-services.sh)")
def test_three_plus_three_trial_in_the_browser(server: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    trial = f"{server}/trials/Browser%203%2B3"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        inv = browser.new_context().new_page()
        stat = browser.new_context().new_page()

        # the statistician creates the trial in the browser
        sign_in(stat, server, "stat")
        stat.fill("#trial-name", "Browser 3+3")
        stat.select_option("#trial-design", "3+3")
        stat.fill("#trial-doses", "0.5,1,2")
        stat.click("#create-trial")
        assert "trial created" in stat.inner_text("#msg")
        assert "treat 3 more at the same dose" in stat.content()  # the protocol's decision table
        sign_in(inv, server, "inv")
        inv.goto(trial)
        stat.goto(trial)
        cohorts = [["N", "N", "N"], ["N", "T", "N"], ["N", "N", "N"], ["T", "T", "N"]]
        n = 0
        for cohort in cohorts:
            for _ in cohort:
                n += 1
                inv.fill("#code", f"P{n:02d}")
                inv.fill("#weight", "62")
                inv.fill("#enrolled-on", "2026-01-05")
                inv.click("#enrol")
                assert f"P{n:02d} enrolled" in inv.inner_text("#msg")
                inv.fill("#inf-code", f"P{n:02d}")
                inv.fill("#inf-at", "2026-01-06T10:00")
                inv.fill("#inf-dose", "0.5" if n <= 3 else ("1" if n <= 9 else "2"))
                inv.fill("#inf-lot", "L1")
                inv.click("#record-infusion")
                assert "infusion recorded" in inv.inner_text("#msg")
            for j, outcome in enumerate(cohort):
                code = f"P{n - len(cohort) + j + 1:02d}"
                if outcome == "T":  # a DLT is the adverse event that meets the DLT criteria
                    inv.fill("#ae-code", code)
                    inv.fill("#ae-soc", "Immune system disorders")
                    inv.fill("#ae-pt", "Cytokine release syndrome")
                    inv.select_option("#ae-grade", "3")
                    inv.fill("#ae-onset", "2026-01-10")
                    inv.check("#ae-serious-yes")
                    inv.check("#ae-related-yes")
                    inv.check("#ae-dlt-yes")
                    inv.click("#record-ae")
                    assert f"DLT recorded for {code}" in inv.inner_text("#msg")
                else:
                    inv.fill("#dlt-code", code)
                    inv.fill("#dlt-date", "2026-02-02")
                    inv.select_option("#dlt-value", "no")
                    inv.click("#record-dlt")
            assert "the design recommends" in inv.inner_text("#msg")
            # enrolment waits for the signature
            inv.fill("#code", "WAIT")
            inv.fill("#weight", "62")
            inv.click("#enrol")
            assert "awaits the statistician's signature" in inv.inner_text("#msg")
            stat.goto(trial)  # the signature is given on the review page, data in view
            stat.locator("a[id^=review-]").last.click()
            stat.check("#meaning-approve")
            stat.fill("#sign-password", "stat-demo-pass")
            stat.click("#sign")
            assert "decision signed" in stat.inner_text("#msg")
            inv.goto(trial)
        assert inv.inner_text("#outcomes") == "1NNN 2NTN 2NNN 3TTN"
        stat.goto(trial)
        last = stat.locator("td[id^=decision-]").last.inner_text()
        assert last == "stop"
        inv.fill("#code", "LATE")
        inv.fill("#weight", "62")
        inv.click("#enrol")
        assert "the trial has stopped" in inv.inner_text("#msg")
        stat.click("#report")
        assert "Dose-limiting toxicities by dose level" in stat.content()
        stat.screenshot(path=str(tmp_path / "report.png"))
        browser.close()
