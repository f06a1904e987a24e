"""The ``earlyphase serve`` and ``earlyphase simulate efftox`` commands, run as subprocesses.

``serve``: started on a free loopback port with a temporary SQLite database and ``--demo``;
polled until it answers; its pages and JSON API are checked; then it is terminated.
``simulate efftox``: exit status, the printed table, probabilities in [0, 1], a consistency
check against the Python API with the same seed, and clear errors for bad input.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

SCRIPT = Path(sys.executable).with_name("earlyphase")
TRUTH_TOX = "0.05,0.1,0.15,0.3,0.5"
TRUTH_EFF = "0.1,0.2,0.4,0.6,0.7"


def _cli(*args: str) -> list[str]:
    """The installed ``earlyphase`` console script (or the same app through the interpreter)."""
    if SCRIPT.exists():
        return [str(SCRIPT), *args]
    return [sys.executable, "-c", "from earlyphase.cli import app; app()", *args]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> Any:
    req = urllib.request.Request(url, data=data, headers=headers or {})
    return urllib.request.urlopen(req, timeout=5)  # a loopback URL built here


def test_serve_demo_answers_pages_and_api(tmp_path: Path) -> None:
    port = _free_port()
    db = tmp_path / "serve.db"
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        _cli("serve", "--database", str(db), "--host", "127.0.0.1", "--port", str(port), "--demo"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 15
        up = False
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with _get(f"{base}/openapi.json") as r:
                    up = r.status == 200
                    spec = json.load(r)
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.1)
        assert up, "the server did not answer within 15 s"
        assert "/api/trials/{name}/recommendation" in spec["paths"]
        with _get(f"{base}/docs") as r:
            assert r.status == 200 and "swagger" in r.read().decode().lower()
        with _get(f"{base}/login") as r:
            assert r.status == 200 and "<form" in r.read().decode().lower()
        # the demo seeding worked: its users can sign in to the API and read the demo trial
        body = json.dumps({"username": "stat", "password": "stat-demo-pass"}).encode()
        with _get(f"{base}/api/token", body, {"Content-Type": "application/json"}) as r:
            token = json.load(r)["token"]
        auth = {"Authorization": f"Bearer {token}"}
        name = urllib.parse.quote("GVHD phase Ib")
        with _get(f"{base}/api/trials/{name}/recommendation", headers=auth) as r:
            assert r.status == 200 and json.load(r) == {"outcomes": "", "latest": None}
        with pytest.raises(urllib.error.HTTPError) as err:
            _get(f"{base}/api/trials/{name}")  # no token
        assert err.value.code == 403
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    assert "created user admin / admin-demo-pass" in out
    assert db.exists()


def _simulate(*extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _cli("simulate", "efftox", *extra),
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "160"},
    )


def _ok_args(*extra: str) -> tuple[str, ...]:
    return (
        "--truth",
        TRUTH_TOX,
        "--truth-eff",
        TRUTH_EFF,
        "--sims",
        "20",
        "--seed",
        "11",
        "--n-max",
        "12",
        *extra,
    )


def test_simulate_efftox_prints_the_table() -> None:
    res = _simulate(*_ok_args())
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "EffTox: simulated operating characteristics" in out
    for col in ("dose", "true_eff", "true_tox", "prob_selected", "mean_patients"):
        assert col in out
    assert "none" in out and "Traceback" not in res.stderr


def test_simulate_efftox_json_consistency_with_python_api() -> None:
    """Consistency check (not an external reference): the CLI's JSON equals
    ``EffTox.operating_characteristics`` called with the same settings and seed."""
    from earlyphase.designs.efftox import THALL_2014, EffTox

    res = _simulate(*_ok_args("--json"))
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    probs = [r["prob_selected"] for r in rows]
    assert [r["dose"] for r in rows] == ["1", "2", "3", "4", "5", "none"]
    assert all(0.0 <= p <= 1.0 for p in probs)
    assert sum(probs) == pytest.approx(1.0)
    # 20 trials: every probability is a multiple of 1/20
    assert all(abs(20 * p - round(20 * p)) < 1e-9 for p in probs)
    api = (
        EffTox(**{**THALL_2014, "n_patients": 12})
        .operating_characteristics(
            (
                [float(v) for v in TRUTH_EFF.split(",")],
                [float(v) for v in TRUTH_TOX.split(",")],
            ),
            n_sims=20,
            seed=11,
        )
        .table()
    )
    assert probs == pytest.approx(api["prob_selected"].tolist(), abs=1e-12)
    assert [r["mean_patients"] for r in rows[:5]] == pytest.approx(
        api["mean_patients"].iloc[:5].tolist(), abs=1e-12
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--truth", TRUTH_TOX, "--truth-eff", "0.1,0.2,0.4,0.6", "--sims", "5"),
            "true_eff: needs 5 probabilities",
        ),
        (
            ("--truth", "0.05,0.1,0.15,0.3", "--truth-eff", TRUTH_EFF, "--sims", "5"),
            "true_tox: needs 5 probabilities",
        ),
        (("--truth", TRUTH_TOX, "--sims", "5"), "truth-eff: EffTox needs the true efficacy"),
        (
            ("--truth", TRUTH_TOX, "--truth-eff", "0.1,0.2,x,0.6,0.7", "--sims", "5"),
            "truth-eff: must be comma-separated numbers",
        ),
    ],
)
def test_simulate_efftox_bad_input_is_a_clear_error(args: tuple[str, ...], message: str) -> None:
    res = _simulate(*args)
    assert res.returncode != 0
    assert "Traceback" not in res.stderr and "Traceback" not in res.stdout
    assert message in " ".join(res.stderr.split()), res.stderr
