"""Ingest of 10,000 CPSC-shaped records, as `recallbot backfill cpsc` does it (progress off).

The records are the 589 bundled real recalls repeated under new recall numbers until there
are 10,000, served by httpx's MockTransport as one response (the CPSC API has no paging).
Rows, each measured in the same run: reading the JSON alone and parsing it into events
(the floor any ingest pays), the backfill into a fresh SQLite file in steps of 500 records
(one transaction and one resume point each), and the same events stored in one
transaction (the baseline the steps are compared with). Time is one run without tracing;
peak memory is a second run under tracemalloc (Python allocations, not the process RSS).

Run: python -m bench.ingest [--records 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import gzip
import json
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import httpx

from bot.backfill import backfill
from bot.core import Core
from bot.dataset import store_events
from bot.sources.base import HistoryStep
from bot.sources.cpsc import CpscSource, parse_records
from storage.db import make_engine, migrate

NOW = datetime(2026, 1, 1, tzinfo=UTC)


class Silent:
    """Backfill progress that shows nothing (the bar is off in the benchmark)."""

    def update(self, step: HistoryStep, stored: int) -> None:
        pass


def cpsc_shaped(n: int) -> bytes:
    """Return ``n`` CPSC API records: the bundled real ones, repeated under new numbers."""
    snapshot = resources.files("bot") / "data" / "cpsc-snapshot.json.gz"
    with gzip.open(snapshot.open("rb"), "rt", encoding="utf-8") as fh:
        real = json.load(fh)
    records = []
    for i in range(n):
        record = copy.deepcopy(real[i % len(real)])
        record["RecallID"] = 100_000 + i
        record["RecallNumber"] = f"{90000 + i}" if i >= len(real) else record["RecallNumber"]
        records.append(record)
    return json.dumps(records).encode()


def fresh_core(tmp: Path, name: str) -> Core:
    engine = make_engine(f"sqlite:///{tmp / name}")
    migrate(engine)
    return Core(engine, clock=lambda: NOW)


def parse_only(body: bytes) -> int:
    events, _ = parse_records(json.loads(body), "bench")
    return len(events)


def backfill_sqlite(body: bytes, tmp: Path, name: str) -> int:
    core = fresh_core(tmp, name)

    async def go() -> int:
        transport = httpx.MockTransport(lambda request: httpx.Response(200, content=body))
        async with httpx.AsyncClient(transport=transport) as client:
            report = await backfill(core, CpscSource("https://cpsc.bench/Recall", client), None, Silent())
        return report.new

    try:
        return asyncio.run(go())
    finally:
        core.engine.dispose()


def one_transaction(body: bytes, tmp: Path, name: str) -> int:
    core = fresh_core(tmp, name)
    try:
        events, _ = parse_records(json.loads(body), "bench")
        with core.session(write=True) as session:
            stored = store_events(session, events, "bench", NOW)
            session.commit()
        return len(stored.new)
    finally:
        core.engine.dispose()


def measure(fn: Callable[[str], int]) -> tuple[float, float, int]:
    """Return (seconds, peak MiB under tracemalloc, result) of two runs of ``fn``."""
    start = time.perf_counter()
    result = fn("timed.db")
    seconds = time.perf_counter() - start
    tracemalloc.start()
    fn("traced.db")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, peak / 2**20, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    args, _ = parser.parse_known_args()
    body = cpsc_shaped(args.records)
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        rows = [
            ("read the JSON only (floor)", lambda name: len(json.loads(body))),
            ("parse into events, no storage (floor)", lambda name: parse_only(body)),
            ("store in one transaction (baseline)", lambda name: one_transaction(body, tmp, "one-" + name)),
            ("backfill in 500-record steps (SQLite)", lambda name: backfill_sqlite(body, tmp, "bf-" + name)),
        ]
        print(f"ingest of {args.records:,} CPSC-shaped records ({len(body) / 2**20:.1f} MiB of JSON)")
        line = "{:<42} {:>9} {:>10} {:>9} {:>10}"
        print(line.format("what", "seconds", "records/s", "events", "peak MiB"))
        for label, fn in rows:
            seconds, peak, count = measure(fn)
            print(line.format(label, f"{seconds:.2f}", f"{args.records / seconds:,.0f}", count, f"{peak:.1f}"))


if __name__ == "__main__":
    main()
