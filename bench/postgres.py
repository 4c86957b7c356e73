"""PostgreSQL beside SQLite, in one run: /check latency at 100,000 recalls, one event fanned out
to 1,000,000 matching subscriptions, and outbox claim throughput with 1 and 3 workers.

Needs the PostgreSQL server at TEST_DATABASE_URL (default postgresql+psycopg://127.0.0.1:5432/test);
every case gets a schema of its own, dropped afterwards.

Run: python -m bench.postgres [--recalls 100000] [--subscriptions 1000000] [--deliveries 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

from bench import check_latency, fanout
from bot.core import Core
from bot.delivery import DeliveryWorker, Limits, Outcome
from bot.events import Alert
from storage.db import make_engine

PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://127.0.0.1:5432/test")


@contextmanager
def database(backend: str, tmp: Path):
    """Yield the URL of a fresh database: a SQLite file or a PostgreSQL schema."""
    if backend == "sqlite":
        yield str(tmp / f"{uuid.uuid4().hex}.db")
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


class NullNotifier:
    """Accepts every alert at once: measures the outbox, not a platform."""

    platform = "telegram"
    limits = Limits(per_second=1e6, per_chat_per_second=1e6, per_group_per_minute=1e8, concurrency=64)

    def is_group(self, address: str) -> bool:
        return False

    async def send(self, alert: Alert) -> Outcome:
        return Outcome.sent()


def case_drain(url: str) -> dict:
    """One worker process: claim and settle until the queue is empty."""
    core = Core(make_engine(check_latency.db_url(url)))
    worker = DeliveryWorker(core, {"telegram": NullNotifier()}, batch=500)
    start = time.perf_counter()
    settled = asyncio.run(worker.drain())
    return {"settled": settled, "seconds": time.perf_counter() - start}


def claim_throughput(url: str, deliveries: int, workers: int, case: str) -> tuple[int, float]:
    """Queue ``deliveries`` alerts, run ``workers`` processes of ``case``; return (count, per second)."""
    fanout.make_subscriptions(url, deliveries, deliveries)
    assert fanout.run_case("queue", url)["rows"] == deliveries
    start = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "bench.postgres", "--case", "drain", url], stdout=subprocess.PIPE, text=True
        )
        for _ in range(workers)
    ]
    results = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    elapsed = time.perf_counter() - start
    settled = sum(r["settled"] for r in results)
    return settled, settled / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--recalls", type=int, default=100_000)
    parser.add_argument("--subscriptions", type=int, default=1_000_000)
    parser.add_argument("--deliveries", type=int, default=20_000)
    args, _ = parser.parse_known_args()
    if args.case:
        print(json.dumps(case_drain(args.case[1])))
        return
    row = "{:<11} {:<52} {:>22}  {}"
    print(row.format("backend", "case", "result", "target"))
    events = check_latency.synthetic_events(args.recalls, 3, random.Random(42))
    with tempfile.TemporaryDirectory() as tmp:
        for backend in ("sqlite", "postgresql"):
            with database(backend, Path(tmp)) as url:
                core, labels, records = check_latency.build(url, events)
                timings, _ = check_latency.measure(core, labels, records, 1000, random.Random(1))
                core.engine.dispose()
            hits = timings["exact hit"]
            p50, p99 = check_latency.percentile(hits, 0.5), check_latency.percentile(hits, 0.99)
            label = f"/check exact hit, {args.recalls:,} recalls (p50 / p99)"
            print(row.format(backend, label, f"{p50:.3f} / {p99:.3f} ms", "p99 < 2 ms"))
            with database(backend, Path(tmp)) as url:
                fanout.make_subscriptions(url, args.subscriptions, args.subscriptions)
                result = fanout.run_case("queue", url)
            label = f"one event to {args.subscriptions:,} matching subscriptions"
            target = "< 5 s, < 300 MB (issue 3, SQLite)" if backend == "sqlite" else "reported: time, peak RSS"
            print(row.format(backend, label, f"{result['seconds']:.2f} s, {result['rss']:.0f} MB", target))
            for workers in (1, 3) if backend == "postgresql" else (1,):
                with database(backend, Path(tmp)) as url:
                    count, rate = claim_throughput(url, args.deliveries, workers, "drain")
                label = f"outbox claim, send (null), settle: {workers} worker{'s' if workers > 1 else ''} ({count:,})"
                print(row.format(backend, label, f"{rate:,.0f} /s", ">= 1,000 /s"))
    print("SQLite serves one process, so it is measured with one worker only. Outbox rates include")
    print("starting the worker processes; the null notifier accepts every alert at once.")


if __name__ == "__main__":
    main()
