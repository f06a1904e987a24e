"""The safety review packet: what the committee reads before the next cohort opens, from the
trial record (HTML and, with Chromium, PDF), and the ``earlyphase packet`` command."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from earlyphase.cli import app
from earlyphase.conduct import PermissionDenied
from earlyphase.conduct.packet import render_packet
from helpers import csrf_of
from test_audit_tamper import _trial


@pytest.fixture
def record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, object, dict]:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    db = tmp_path / "trial.db"
    svc, users = _trial(str(db))
    inv = users["inv"]
    # a second cohort with a dose deviation and its reason
    svc.enrol(inv, "GVHD", "B1", 60, enrolled_on="2026-02-10")
    svc.record_infusion(
        inv, "GVHD", "B1", "2026-02-11T09:30", 0.6, "L2", deviation_reason="vial overfill"
    )
    return db, svc, users


def test_the_packet_shows_the_record_the_committee_needs(record: tuple) -> None:
    _db, svc, users = record
    packet = svc.safety_packet(users["stat"], "GVHD")
    page = render_packet(packet)
    # cohorts and subjects, with doses given and their dates
    assert [c["number"] for c in packet["cohorts"]] == [1, 2]
    assert [x["code"] for x in packet["cohorts"][0]["subjects"]] == ["A1", "A2", "A3"]
    assert "2026-01-06T10:00+00:00" in page
    # the DLT is an adverse event, shown with its grade and flag
    a2 = packet["cohorts"][0]["subjects"][1]
    assert [(a["pt"], a["grade"], a["dlt"]) for a in a2["adverse_events"]] == [
        ("Cytokine release syndrome", 3, True)
    ]
    assert 'class="dlt">DLT<' in page
    # evaluability and windows
    assert {x["evaluable"] for x in packet["cohorts"][0]["subjects"]} == {"yes"}
    assert packet["cohorts"][1]["subjects"][0]["evaluable"] == "pending"
    # the frozen recommendation with its rule and signature, with the zone of the time
    rec = packet["recommendation"]
    assert rec["confirmed"] and rec["signer"] == "Sam Statistician"
    assert rec["confirmed_at"].endswith(" UTC")
    assert "Signed by Sam Statistician" in page
    # the open deviation with its reason
    assert [(d["code"], d["reason"]) for d in packet["deviations"]] == [("B1", "vial overfill")]
    assert "vial overfill" in page
    # the design's decision table
    assert "treat 3 more at the same dose" in page


def test_values_are_escaped(record: tuple) -> None:
    _db, svc, users = record
    svc.record_ae(
        users["inv"],
        "GVHD",
        "B1",
        "General disorders",
        "<script>alert(1)</script>",
        1,
        onset_on="2026-02-12",
    )
    page = render_packet(svc.safety_packet(users["stat"], "GVHD"))
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)" in page


def test_investigators_do_not_get_the_whole_packet(record: tuple) -> None:
    _db, svc, users = record
    with pytest.raises(PermissionDenied, match=r"^role"):
        svc.safety_packet(users["inv"], "GVHD")


def test_the_packet_command(record: tuple, tmp_path: Path) -> None:
    db, _svc, _users = record
    out = tmp_path / "packet.html"
    runner = CliRunner()
    res = runner.invoke(
        app,
        ["packet", "--database", str(db), "--trial", "GVHD", "--user", "stat", "-o", str(out)],
    )
    assert res.exit_code == 0, res.output
    assert "Safety review packet" in out.read_text()
    unknown = runner.invoke(
        app, ["packet", "--database", str(db), "--trial", "GVHD", "--user", "nobody"]
    )
    assert unknown.exit_code == 2 and "no user 'nobody'" in unknown.output
    missing = runner.invoke(
        app, ["packet", "--database", str(tmp_path / "x.db"), "--trial", "GVHD", "--user", "stat"]
    )
    assert missing.exit_code == 2 and not (tmp_path / "x.db").exists()


@pytest.mark.skipif(not os.environ.get("EARLYPHASE_CHROMIUM"), reason="needs Chromium")
def test_the_packet_prints_to_pdf(record: tuple, tmp_path: Path) -> None:
    db, _svc, _users = record
    out = tmp_path / "packet.html"
    args = ["packet", "--database", str(db), "--trial", "GVHD", "--user", "stat"]
    res = CliRunner().invoke(app, [*args, "-o", str(out), "--pdf"])
    assert res.exit_code == 0, res.output
    assert out.with_suffix(".pdf").read_bytes().startswith(b"%PDF")


def test_the_packet_page_and_its_pdf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Signed-in users with a reviewing role get the page; others are sent to sign in."""

    from fastapi.testclient import TestClient

    from earlyphase.conduct.demo import seed_demo
    from earlyphase.conduct.web import create_app

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    db = tmp_path / "demo.db"
    seed_demo(db)
    client = TestClient(create_app(db, secret="test-secret"))
    r = client.get("/trials/GVHD phase Ib/packet", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    page = client.get("/login").text
    csrf = csrf_of(page)
    client.post("/login", data={"csrf": csrf, "username": "stat", "password": "stat-demo-pass"})
    r = client.get("/trials/GVHD phase Ib/packet")
    assert r.status_code == 200 and "Safety review packet" in r.text
    if os.environ.get("EARLYPHASE_CHROMIUM"):
        pdf = client.get("/trials/GVHD phase Ib/packet.pdf")
        assert pdf.headers["content-type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF")
