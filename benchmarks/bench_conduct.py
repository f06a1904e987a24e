"""Load on the conduct service: 50 concurrent clients against `earlyphase serve` (uvicorn, 2
workers), on SQLite and, when EARLYPHASE_TEST_PG is set (``source scripts/test-services.sh``),
on PostgreSQL.

Two loads per database:

- paced: each client asks for the recommendation (GET /api/trials/<trial>/recommendation,
  bearer token) every 0.5 s;
- closed loop: each client sends its next request as soon as the last one is answered. 49
  clients alternate the dashboard (GET /trials/<trial>, a signed-in session) and the
  recommendation; one statistician signs decisions (POST /api/decisions/<id>/confirm with the
  password re-entered: scrypt on every signature), a bounded number of them, reading the
  dashboard and the recommendation in between, so signatures (writes that change what every
  reader sees) are spread over the run.

Records p50 / p95 latency per kind of request (target p95 < 200 ms for the dashboard and the
recommendation). The clients are plain HTTP/1.1 keep-alive connections (``http.client``) in
several processes, so that the load generator, which shares the 2 cores with the server, costs
as little as it can. Bounded in count and time; traffic stays on 127.0.0.1.

Usage: python benchmarks/bench_conduct.py [--write-readme]
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

from _readme import write_results

CLIENTS, REQUESTS, WORKERS = 50, 40, 2
#: client processes (each with CLIENTS / PROCESSES threads)
PROCESSES = 5
#: signatures in a closed-loop run, and reads the signer makes between two of them
SIGNINGS, READS_BETWEEN = 20, 4
TRIAL = "GVHD phase Ib"
PAUSE = 0.5
D0, INFUSED, WINDOW_OVER = "2026-01-05", "2026-01-06T10:00", "2026-02-02"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed(database: str) -> list[int]:
    """The demo trial with one complete cohort (its decision awaits signature), and
    :data:`SIGNINGS` more trials in the same state; returns the decisions to sign."""
    from earlyphase.conduct import TrialService, open_store
    from earlyphase.conduct.demo import DEMO_CONDUCT, seed_demo

    seed_demo(database)
    svc = TrialService(open_store(database))
    inv = svc.authenticate("inv", "inv-demo-pass")
    admin = svc.authenticate("admin", "admin-demo-pass")
    stat = svc.authenticate("stat", "stat-demo-pass")
    names = [TRIAL] + [f"Signing {k:02d}" for k in range(SIGNINGS)]
    for name in names[1:]:
        svc.create_trial(admin, name, "3+3", {"n_doses": 3}, [0.5, 1.0, 2.0], conduct=DEMO_CONDUCT)
    decisions = []
    for t, name in enumerate(names):
        for i in range(3):
            code = f"S{t:02d}-{i}"
            svc.enrol(inv, name, code, 60, enrolled_on=D0)
            svc.record_infusion(inv, name, code, INFUSED, 0.5, "L1")
            svc.record_dlt(inv, name, code, False, assessed_on=WINDOW_OVER)
        latest = svc.recommendation(stat, name)["latest"]
        assert latest is not None, f"{name}: the cohort should have frozen a decision"
        decisions.append(int(latest["id"]))
    return decisions[1:]


def sign_in(port: int) -> tuple[str, str]:
    """A bearer token for the API and a session cookie for the pages (statistician)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = json.dumps({"username": "stat", "password": "stat-demo-pass"})
    conn.request("POST", "/api/token", body, {"Content-Type": "application/json"})
    token = json.loads(conn.getresponse().read())["token"]
    conn.request("GET", "/login")
    r = conn.getresponse()
    page = r.read().decode()
    nonce = r.getheader("set-cookie", "").split(";", 1)[0]
    csrf = re.search(r"name='csrf' value='([^']+)'", page)
    assert csrf is not None, "no CSRF token on the sign-in page"
    form = f"username=stat&password=stat-demo-pass&csrf={quote(csrf.group(1))}"
    conn.request(
        "POST",
        "/login",
        form,
        {"Content-Type": "application/x-www-form-urlencoded", "Cookie": nonce},
    )
    r = conn.getresponse()
    r.read()
    from earlyphase.conduct.web import SESSION_COOKIE

    cookies = [c.split(";", 1)[0] for c in r.msg.get_all("set-cookie") or []]
    session = next((c for c in cookies if c.startswith(f"{SESSION_COOKIE}=")), "")
    assert r.status == 303 and session, f"sign-in failed ({r.status})"
    conn.close()
    return token, session


class Client:
    """One keep-alive connection; reconnects once if the server closed it between requests."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def send(self, method: str, path: str, headers: dict[str, str], body: str = "") -> int:
        for attempt in (0, 1):
            try:
                self.conn.request(method, path, body or None, headers)
                r = self.conn.getresponse()
                r.read()
                return int(r.status)
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt:
                    raise
        raise AssertionError("unreachable")


DASHBOARD = f"/trials/{quote(TRIAL)}"
RECOMMENDATION = f"/api/trials/{quote(TRIAL)}/recommendation"


def reader(
    port: int, token: str, session: str, paced: bool, threads: int, out: Any, start: float
) -> None:
    """``threads`` clients in one process; puts {kind: [(latency s, status)]} on ``out``."""
    got: dict[str, list[tuple[float, int]]] = {"dashboard": [], "recommendation": []}
    lock = threading.Lock()
    api = {"Authorization": f"Bearer {token}"}
    page = {"Cookie": session}

    def run(k: int) -> None:
        c = Client(port)
        time.sleep(max(0.0, start - time.time()) + (PAUSE * k / threads if paced else 0.0))
        for i in range(REQUESTS):
            kind = "recommendation" if paced or (i + k) % 2 else "dashboard"
            path, headers = (RECOMMENDATION, api) if kind == "recommendation" else (DASHBOARD, page)
            t0 = time.perf_counter()
            try:
                status = c.send("GET", path, headers)
            except (OSError, http.client.HTTPException):
                status = 0
            dt = time.perf_counter() - t0
            with lock:
                got[kind].append((dt, status))
            if paced:
                time.sleep(max(0.0, PAUSE - dt))

    workers = [threading.Thread(target=run, args=(k,)) for k in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(timeout=300)
    out.put(got)


def signer(
    port: int, token: str, session: str, decisions: list[int], got: dict[str, Any], start: float
) -> None:
    """The statistician: signs each decision (password re-entered), reading in between."""
    c = Client(port)
    api = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    body = json.dumps({"password": "stat-demo-pass", "meaning": "approve"})
    time.sleep(max(0.0, start - time.time()))
    for dec in decisions:
        t0 = time.perf_counter()
        status = c.send("POST", f"/api/decisions/{dec}/confirm", api, body)
        got["signing"].append((time.perf_counter() - t0, status))
        for i in range(READS_BETWEEN):
            kind = "recommendation" if i % 2 else "dashboard"
            page = {"Cookie": session}
            path, headers = (RECOMMENDATION, api) if kind == "recommendation" else (DASHBOARD, page)
            t0 = time.perf_counter()
            status = c.send("GET", path, headers)
            got[kind].append((time.perf_counter() - t0, status))


def run(database: str, paced: bool) -> dict[str, tuple[float, float, int, int, float]]:
    """{kind: (p50 ms, p95 ms, count, errors, requests/s of the whole run)}."""
    decisions = seed(database)
    port = free_port()
    env = {**os.environ, "EARLYPHASE_DATABASE": database, "EARLYPHASE_SECRET": uuid.uuid4().hex}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "earlyphase.conduct.web:app_from_env",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(WORKERS),
            "--log-level",
            "warning",
        ],
        env=env,
    )
    try:
        deadline = time.time() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        token, session = sign_in(port)
        warm = Client(port)  # each worker imports and builds what its first requests need
        for _ in range(10 * WORKERS):
            warm.send("GET", DASHBOARD, {"Cookie": session})
            warm.send("GET", RECOMMENDATION, {"Authorization": f"Bearer {token}"})
        warm.conn.close()
        got: dict[str, list[tuple[float, int]]] = {
            "dashboard": [],
            "recommendation": [],
            "signing": [],
        }
        readers = CLIENTS if paced else CLIENTS - 1
        per = [readers // PROCESSES + (p < readers % PROCESSES) for p in range(PROCESSES)]
        queue: Any = mp.get_context("fork").Queue()
        start = time.time() + 1.0  # every client starts together, after the forks
        procs = [
            mp.get_context("fork").Process(
                target=reader, args=(port, token, session, paced, n, queue, start)
            )
            for n in per
        ]
        for p in procs:
            p.start()
        sign = None
        if not paced:
            who = (port, token, session, decisions, got, start)
            sign = threading.Thread(target=signer, args=who)
            sign.start()
        for _ in procs:
            for kind, values in queue.get(timeout=600).items():
                got[kind] += values
        for p in procs:
            p.join(timeout=60)
        if sign is not None:
            sign.join(timeout=600)
        elapsed = time.time() - start
        total = sum(len(v) for v in got.values())
        out = {}
        for kind, values in got.items():
            if not values:
                continue
            ms = sorted(1000 * dt for dt, _ in values)
            q = statistics.quantiles(ms, n=100) if len(ms) > 1 else [ms[0]] * 99
            errors = sum(status != 200 for _, status in values)
            out[kind] = (q[49], q[94], len(ms), errors, total / elapsed)
        return out
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def postgres_database(pg: str) -> str:
    from sqlalchemy import create_engine, text

    name = f"load_{uuid.uuid4().hex[:8]}"
    admin = create_engine(
        pg.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return f"{pg.rsplit('/', 1)[0]}/{name}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--write-readme", action="store_true")
    args = ap.parse_args()
    backends = [("SQLite", None)]
    pg = os.environ.get("EARLYPHASE_TEST_PG")
    if pg:
        backends.append(("PostgreSQL", pg))
    rows = []
    for label, url in backends:
        for paced in (True, False):
            with tempfile.TemporaryDirectory() as tmp:
                database = str(Path(tmp) / "load.db") if url is None else postgres_database(url)
                load = f"each client every {PAUSE:g} s" if paced else "closed loop (saturation)"
                for kind, figures in run(database, paced).items():
                    rows.append((f"{label}, {load}", kind, *figures))
                    print(rows[-1], flush=True)
    lines = [
        f"{CLIENTS} concurrent clients, {WORKERS} uvicorn workers (2 cores, shared with the "
        f"load generator: {PROCESSES} processes of plain keep-alive HTTP/1.1 clients), "
        "loopback. Paced: every client asks for the recommendation every "
        f"{PAUSE:g} s, {REQUESTS} times. Closed loop: {CLIENTS - 1} clients alternate the "
        f"dashboard (signed-in session) and the recommendation (bearer token), {REQUESTS} "
        f"requests each, while a statistician signs {SIGNINGS} decisions (password re-entered) "
        f"with {READS_BETWEEN} reads between signatures; every signature changes the record "
        "the readers see. Requests/s counts every kind together.",
        "",
        "| database, load | request | p50 (ms) | p95 (ms) | count | errors | requests/s |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| {db} | {kind} | {p50:.1f} | {p95:.1f} | {n} | {err} | {rate:.0f} |"
        for db, kind, p50, p95, n, err, rate in rows
    ]
    report = "\n".join(lines)
    print(report)
    if args.write_readme:
        write_results("conduct", report)


if __name__ == "__main__":
    main()
