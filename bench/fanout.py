"""Fan-out and checker benchmarks on SQLite.

- one new event against 1,000,000 subscriptions of which 100,000 match, and of which all
  match: outbox rows written, time and peak RSS (each case in a fresh process);
- a naive baseline in the same run: one ORM object per matching subscription;
- a checker pass with nothing new over 100,000 known events: the payload unchanged, a
  day's re-published records, and for reference a source that re-sends everything.

Peak RSS is that of the fresh process that ran the case, set-up included.

Run: python -m bench.fanout
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert
from sqlmodel import select

from bench.check_latency import db_url, synthetic_events
from bot.alerts import alert_keys
from bot.checker import Checker
from bot.core import Core
from bot.dataset import store_events
from bot.events import Event, EventKind, Reason
from bot.sources.base import FetchResult
from storage import outbox, repo
from storage.db import make_engine, migrate
from storage.sources import record_success
from storage.tables import DeliveryRow, SubscriptionRow

NOW = datetime(2026, 1, 1, tzinfo=UTC)
EVENT = Event(
    id="bench-anker",
    kind=EventKind.RECALL,
    date=NOW.date(),
    title="Anker power banks recalled",
    authority="bench",
    source="bench",
    brand="Anker",
    models=("A1263",),
    hazard="Overheating.",
)


def peak_rss_mb() -> float:
    """Return this process's peak resident set size in MiB.

    VmHWM, not getrusage: Linux carries ru_maxrss over an exec, so a case process
    would report the peak of the benchmark process that started it.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_subscriptions(path: str | Path, total: int, matching: int) -> None:
    """Fill a database with ``total`` subscriptions, ``matching`` of them to brand Anker."""
    engine = make_engine(db_url(path))
    migrate(engine)
    core = Core(engine)
    rng = random.Random(7)
    chats = rng.sample(range(10**9, 10**9 + total * 10), total)  # 64-bit-sized ids, no repeats
    with core.session() as session:
        store_events(session, [EVENT], "bench", NOW - timedelta(days=1))
        session.commit()
    rows = (
        {
            "platform": "telegram",
            "address": str(chat * 1000),
            "key_type": "brand",
            "key": "anker" if n < matching else f"brand{n % 50_000}",
            "label": "Anker" if n < matching else f"Brand{n % 50_000}",
            "created_at": NOW - timedelta(days=2),
        }
        for n, chat in enumerate(chats)
    )
    with engine.begin() as connection:
        batch = []
        for row in rows:
            batch.append(row)
            if len(batch) == 50_000:
                connection.execute(insert(SubscriptionRow), batch)
                batch = []
        if batch:
            connection.execute(insert(SubscriptionRow), batch)
    engine.dispose()


def case_queue(path: str | Path) -> dict:
    """Queue the alerts for one new event the set-based way."""
    core = Core(make_engine(db_url(path)))
    start = time.perf_counter()
    with core.session() as session:
        rows = outbox.queue_alerts(
            session, EVENT, alert_keys(session, EVENT), is_update=False, subscribed_before=NOW, now=NOW
        )
        session.commit()
    return {"seconds": time.perf_counter() - start, "rows": rows, "rss": peak_rss_mb()}


def case_naive(path: str | Path) -> dict:
    """Baseline: load each matching subscription as an object and add one delivery object per row."""
    core = Core(make_engine(db_url(path)))
    start = time.perf_counter()
    with core.session() as session:
        subs = session.exec(
            select(SubscriptionRow).where(SubscriptionRow.key_type == "brand", SubscriptionRow.key == "anker")
        ).all()
        for sub in subs:
            session.add(
                DeliveryRow(
                    event_id=EVENT.id,
                    event_hash=EVENT.content_hash,
                    platform=sub.platform,
                    address=sub.address,
                    reasons=Reason("brand", sub.label).line(),
                    next_attempt_at=NOW,
                    created_at=NOW,
                )
            )
        session.commit()
    return {"seconds": time.perf_counter() - start, "rows": len(subs), "rss": peak_rss_mb()}


class ReplaySource:
    """A source whose payload holds the same events every pass."""

    def __init__(self, events: list[Event], digest: str) -> None:
        self.name = "bench:replay"
        self.events = events
        self.digest = digest

    async def fetch(self, cursor: str | None, now: datetime) -> FetchResult:
        # Fresh objects each parse, as a parser would build them: no cached hashes.
        return FetchResult(self.digest, lambda: ([dataclasses.replace(e) for e in self.events], []))


def case_checker(path: Path, known: int, returned: int, same_payload: bool) -> dict:
    """A checker pass whose source returns ``returned`` events, all already known."""
    engine = make_engine(db_url(path))
    migrate(engine)
    core = Core(engine, clock=lambda: NOW)
    events = synthetic_events(known, 3, random.Random(3))
    with core.session() as session:
        repo.insert_events(session, events, "bench:replay", NOW - timedelta(days=1))
        record_success(session, "bench:replay", None, "last-payload", known, NOW - timedelta(days=1))
        session.commit()
    source = ReplaySource(events[:returned], "last-payload" if same_payload else "new-payload")
    checker = Checker(core, [source], interval=timedelta(minutes=15), max_age=timedelta(days=90))
    start = time.perf_counter()
    report = asyncio.run(checker.run_pass())
    seconds = time.perf_counter() - start
    assert report.total("new") == 0 and report.total("alerts_queued") == 0, report
    return {"seconds": seconds, "rows": returned, "rss": peak_rss_mb()}


def run_case(*args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "bench.fanout", "--case", *args], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--subscriptions", type=int, default=1_000_000)
    parser.add_argument("--known", type=int, default=100_000)
    args, _ = parser.parse_known_args()
    if args.case:
        name, path, *rest = args.case
        result = {"queue": case_queue, "naive": case_naive}.get(name)
        out = result(path) if result else case_checker(Path(path), int(rest[0]), int(rest[1]), rest[2] == "same")
        print(json.dumps(out))
        return
    total = args.subscriptions
    row = "{:<58} {:>9} {:>10} {:>9}  {}"
    print(row.format("case", "rows", "seconds", "peak MB", "target"))
    with tempfile.TemporaryDirectory() as tmp:
        for matching, target in ((total // 10, 1.0), (total, 5.0)):
            db = Path(tmp) / f"subs-{matching}.db"
            make_subscriptions(db, total, matching)
            result = run_case("queue", str(db))
            met = "met" if result["seconds"] < target and result["rss"] < 300 else "MISSED"
            label = f"new event, {total:,} subscriptions, {matching:,} match"
            print(
                row.format(
                    label,
                    f"{result['rows']:,}",
                    f"{result['seconds']:.3f}",
                    f"{result['rss']:.0f}",
                    f"< {target:.0f} s, < 300 MB: {met}",
                )
            )
            if matching == total // 10:
                make_subscriptions(Path(tmp) / "naive.db", total, matching)
                naive = run_case("naive", str(Path(tmp) / "naive.db"))
                print(
                    row.format(
                        "  baseline: one ORM object per matching subscription",
                        f"{naive['rows']:,}",
                        f"{naive['seconds']:.3f}",
                        f"{naive['rss']:.0f}",
                        "baseline",
                    )
                )
        checker_cases = (
            (args.known, "same", "payload unchanged", True),
            (1000, "new", "1,000 re-published, all known", True),
            (args.known, "new", "whole payload re-parsed", False),
        )
        for returned, payload, label, judged in checker_cases:
            db = Path(tmp) / f"checker-{returned}-{payload}.db"
            result = run_case("checker", str(db), str(args.known), str(returned), payload)
            met = ("met" if result["seconds"] < 1 else "MISSED") if judged else "reference: a source re-sent everything"
            print(
                row.format(
                    f"checker pass, {args.known:,} known, nothing new: {label}",
                    f"{returned:,}",
                    f"{result['seconds']:.3f}",
                    f"{result['rss']:.0f}",
                    f"< 1 s: {met}",
                )
            )


if __name__ == "__main__":
    main()
