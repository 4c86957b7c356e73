"""What the Telegram and Discord fan-out benchmarks share: the queue they fill and the table they print."""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from bench.check_latency import percentile
from bot.alerts import alert_keys
from bot.core import Core
from bot.dataset import load_bundled
from bot.delivery import DeliveryWorker
from bot.events import Destination
from storage import outbox, repo
from storage.db import make_engine, migrate


def queue_anker_alerts(core: Core, dests: Iterable[Destination], now: datetime) -> int:
    """Subscribe every destination to Anker and queue the A1263 recall's alerts; return how many."""
    with core.session() as session:
        event = repo.get_events(session, ["cpsc-25338"])["cpsc-25338"]
        for dest in dests:
            repo.add_subscription(session, dest, "brand", "anker", "Anker", now - timedelta(days=1))
        queued = outbox.queue_alerts(
            session, event, alert_keys(session, event), is_update=False, subscribed_before=now, now=now
        )
        session.commit()
    return queued


async def latencies(ask: Callable[[], Awaitable[None]], count: int, gap: float) -> list[float]:
    """Time ``ask`` (one /check, awaited until answered) ``count`` times, ``gap`` seconds apart."""
    out = []
    for _ in range(count):
        start = time.monotonic()
        await ask()
        out.append(time.monotonic() - start)
        await asyncio.sleep(gap)
    return out


async def fan_out(worker: DeliveryWorker, ask: Callable[[], Awaitable[None]]) -> tuple[float, list[float]]:
    """Deliver everything queued while asking /check every quarter second; return seconds and latencies."""
    started = time.monotonic()
    delivery = asyncio.create_task(_drain_all(worker))
    busy: list[float] = []
    while not delivery.done():
        busy += await latencies(ask, 1, 0.25)
    await delivery
    return time.monotonic() - started, busy


@contextmanager
def loaded_core(now: datetime) -> Iterator[Core]:
    """Yield a core on a temporary SQLite file holding the bundled dataset."""
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        migrate(engine)
        core = Core(engine)
        with core.session() as session:
            load_bundled(session, now)
            session.commit()
        try:
            yield core
        finally:
            engine.dispose()


def depth(core: Core) -> int:
    """Return how many alerts are still waiting."""
    with core.session() as session:
        return outbox.queue_depth(session)


async def _drain_all(worker: DeliveryWorker, limit: float = 300.0) -> None:
    """Deliver until the queue is empty, waiting for retries that are not due yet (at most ``limit`` s)."""
    deadline = time.monotonic() + limit
    while True:
        await worker.drain()
        if await asyncio.to_thread(depth, worker.core) == 0 or time.monotonic() > deadline:
            return
        await asyncio.sleep(0.1)


@dataclass
class FanoutResult:
    queued: int
    delivered: int
    pending: int
    elapsed: float
    budget: float
    too_many: int
    attempts: int
    idle: list[float]
    busy: list[float]
    enforced: float | None = None  # the send rate the fake platform allows, told to the bot or not
    replies: int = 0  # other sends the fake counted against that limit during the fan-out (/check answers)


def print_table(r: FanoutResult) -> None:
    """Print the fan-out measures beside their targets; the idle /check latency is the baseline."""
    rate = r.delivered / r.elapsed
    row = "{:<44} {:>12}  {}"
    if r.enforced is not None:
        print(f"-- fake platform enforcing {r.enforced:.0f}/s, bot budget {r.budget:.0f}/s")
    print(row.format("measure", "value", "target"))
    counts = f"{r.queued}/{r.delivered}/{r.queued - r.delivered - r.pending}"
    print(row.format("alerts queued / delivered / lost", counts, "lost = 0"))
    print(row.format("still pending after the run", r.pending, "0"))
    print(row.format("fan-out time (s)", f"{r.elapsed:.1f}", ""))
    print(row.format(f"achieved rate (msg/s, budget {r.budget:.0f}/s)", f"{rate:.2f}", ""))
    print(row.format("achieved / budget", f"{rate / r.budget:.3f}", ">= 0.95"))
    print(row.format("429 answers / send attempts", f"{r.too_many}/{r.attempts}", "<= 1 %"))
    if r.enforced is not None:
        label = f"achieved / enforced limit ({r.enforced:.0f}/s)"
        if r.replies:  # the platform counts the bot's command answers against the same limit
            print(row.format(f"{label}, alerts only", f"{rate / r.enforced:.3f}", ""))
            label = f"{label}, + {r.replies} answers"
        total = (r.delivered + r.replies) / r.elapsed
        print(row.format(label, f"{total / r.enforced:.3f}", ">= 0.95"))
        print(row.format("429 share of send attempts", f"{r.too_many / max(1, r.attempts):.2%}", "<= 1 %"))
    print(row.format("/check p95 (s), no fan-out (baseline)", f"{percentile(r.idle, 0.95):.3f}", ""))
    print(row.format(f"/check p95 (s), during fan-out (n={len(r.busy)})", f"{percentile(r.busy, 0.95):.3f}", "<= 1 s"))
