"""Load on the decision endpoint: 50 concurrent clients against `earlyphase serve`.

Starts the service on loopback (SQLite, and PostgreSQL when EARLYPHASE_TEST_PG is set, e.g.
after ``source scripts/test-services.sh``), seeds the demo trial with one complete cohort, then
50 client threads each send 40 GET requests to /api/trials/<trial>/recommendation. Records the
p50 / p95 latency (target p95 < 100 ms). Bounded in count and time; traffic stays on 127.0.0.1.

Usage: python benchmarks/bench_conduct.py [--write-readme]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
from _readme import write_results

CLIENTS, REQUESTS, WORKERS = 50, 40, 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(database: str, pause: float) -> tuple[float, float, int, float]:
    from earlyphase.conduct import TrialService, open_store
    from earlyphase.conduct.demo import seed_demo

    seed_demo(database)
    svc = TrialService(open_store(database))
    inv = svc.authenticate("inv", "inv-demo-pass")
    for i in range(3):
        svc.enrol(inv, "GVHD phase Ib", f"L{i}", 60)
        svc.record_dlt(inv, "GVHD phase Ib", f"L{i}", False)
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
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                httpx.get(f"{base}/openapi.json", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        token = httpx.post(
            f"{base}/api/token", json={"username": "stat", "password": "stat-demo-pass"}
        ).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        latencies: list[float] = []
        errors = 0
        lock = threading.Lock()

        def client(k: int) -> None:
            nonlocal errors
            time.sleep(pause * k / CLIENTS)  # spread the clients' phases
            with httpx.Client(base_url=base, headers=headers, timeout=10) as c:
                for _ in range(REQUESTS):
                    t0 = time.perf_counter()
                    r = c.get("/api/trials/GVHD phase Ib/recommendation")
                    dt = time.perf_counter() - t0
                    with lock:
                        latencies.append(dt)
                        errors += r.status_code != 200
                    time.sleep(max(0.0, pause - dt))

        threads = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        rate = len(latencies) / (time.perf_counter() - start)
        q = statistics.quantiles(latencies, n=100)
        return q[49] * 1000, q[94] * 1000, errors, rate
    finally:
        proc.kill()
        proc.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--write-readme", action="store_true")
    args = ap.parse_args()
    rows = []
    for label, pause in (("each client every 0.5 s", 0.5), ("closed loop (saturation)", 0.0)):
        with tempfile.TemporaryDirectory() as tmp:
            rows.append((f"SQLite, {label}", *run(str(Path(tmp) / "load.db"), pause)))
    pg = os.environ.get("EARLYPHASE_TEST_PG")
    if pg:
        from sqlalchemy import create_engine, text

        name = f"load_{uuid.uuid4().hex[:8]}"
        admin = create_engine(
            pg.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
        rows.append(
            ("PostgreSQL, each client every 0.5 s", *run(f"{pg.rsplit('/', 1)[0]}/{name}", 0.5))
        )
    lines = [
        f"{CLIENTS} concurrent clients x {REQUESTS} requests, {WORKERS} uvicorn workers "
        "(2 cores, shared with the 50 client threads), loopback.",
        "",
        "| database, load | p50 (ms) | p95 (ms) | errors | requests/s |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| {db} | {p50:.1f} | {p95:.1f} | {err} | {rate:.0f} |" for db, p50, p95, err, rate in rows
    ]
    report = "\n".join(lines)
    print(report)
    if args.write_readme:
        write_results("conduct", report)


if __name__ == "__main__":
    main()
