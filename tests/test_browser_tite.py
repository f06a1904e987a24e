"""A TITE-CRM trial in headless Chromium: created from the form, three subjects infused on
different days, the dashboard listing them as pending with their day of the DLT window, the
design asked for the next dose while they are pending, the statistician signing it on the
review page with the follow-up in view, and the next subject enrolled at the signed dose."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from helpers import CHROMIUM, CHROMIUM_FLAGS, sign_in

TRIAL = "Browser TITE-CRM"
PATH = "/trials/Browser%20TITE-CRM"


@pytest.mark.skipif(CHROMIUM is None, reason="make test starts Chromium (scripts/test-services.sh)")
def test_a_tite_crm_trial_decides_while_subjects_are_pending(server: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    today = dt.datetime.now(dt.UTC).date()

    def days_ago(n: int) -> str:
        return (today - dt.timedelta(days=n)).isoformat()

    trial = server + PATH
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        inv = browser.new_context().new_page()
        stat = browser.new_context().new_page()
        sign_in(inv, server, "inv")
        sign_in(stat, server, "stat")

        # the statistician creates the trial from the form generated from the settings
        stat.fill("#trial-name", TRIAL)
        stat.select_option("#trial-design", "tite-crm")
        stat.fill("#trial-doses", "0.5,1,2")
        stat.click("#settings-tite-crm summary")
        stat.fill("#s-tite-crm-skeleton", "0.05,0.12,0.25")
        stat.fill("#s-tite-crm-target", "0.25")
        stat.fill("#s-tite-crm-cohort_size", "1")
        stat.fill("#s-conduct-dlt_window_days", "28")
        stat.fill("#s-conduct-time_zone", "UTC")
        stat.click("#create-trial")
        assert "trial created" in stat.inner_text("#msg"), stat.inner_text("#msg")
        assert "TITE-CRM" in stat.inner_text("#pending-rule")

        # subject 1 is infused 20 days ago; the first decision needs a signature, so the
        # design is asked while P01 is pending
        inv.goto(trial)
        inv.fill("#code", "P01")
        inv.fill("#weight", "62")
        inv.fill("#enrolled-on", days_ago(21))
        inv.click("#enrol")
        assert "P01 enrolled" in inv.inner_text("#msg")
        inv.fill("#inf-code", "P01")
        inv.fill("#inf-at", f"{days_ago(20)}T10:00")
        inv.fill("#inf-dose", "0.5")
        inv.fill("#inf-lot", "L1")
        inv.click("#record-infusion")
        assert "infusion recorded" in inv.inner_text("#msg")
        assert inv.inner_text("#msg").startswith("Saved: ")
        rows = inv.locator("#pending tr").all_inner_texts()
        assert len(rows) == 2 and "P01" in rows[1]
        assert "day 21 of 28" in rows[1] and "20 of 28" in rows[1]
        inv.click("#decide")
        msg = inv.inner_text("#msg")
        assert "the design recommends, from the follow-up as of today" in msg, msg
        assert "awaits the statistician's signature" in msg

        # enrolment waits for the signature
        inv.fill("#code", "P02")
        inv.fill("#weight", "62")
        inv.click("#enrol")
        assert inv.inner_text("#msg").startswith("Not saved: ")
        assert "signature" in inv.inner_text("#msg")

        # the statistician reviews: the pending subject is listed with its follow-up
        stat.goto(trial)
        stat.locator("a[id^=review-]").last.click()
        review = stat.content()
        assert "P01" in review and "pending" in review
        stat.check("#meaning-approve")
        stat.fill("#sign-password", "stat-demo-pass")
        stat.click("#sign")
        assert "decision signed" in stat.inner_text("#msg"), stat.inner_text("#msg")
        stat.goto(trial)
        signed_to = stat.locator("td[id^=decision-]").last.inner_text()
        assert signed_to.startswith("Level ")

        # the next subject is enrolled at the signed dose, while P01 is still pending
        inv.goto(trial)
        inv.fill("#code", "P02")
        inv.fill("#weight", "62")
        inv.fill("#enrolled-on", days_ago(1))
        inv.click("#enrol")
        assert "P02 enrolled" in inv.inner_text("#msg")
        cohorts = inv.locator("#cohorts tr").all_inner_texts()
        assert signed_to in cohorts[2] and "P02" in cohorts[2]
        assert "P01" in inv.inner_text("#pending")
        inv.screenshot(path=str(tmp_path / "tite-dashboard.png"), full_page=True)
        browser.close()
