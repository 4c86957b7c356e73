"""Telegram fan-out: 1,000 alerts to 1,000 chats through a loopback fake Bot API that allows
30 messages a second (429 with retry_after above it), while people send /check.

Reports the achieved send rate as a fraction of the configured budget, 429 answers,
alerts lost, and /check reply latency during the fan-out; the baseline in the same run is
/check latency with no fan-out going on.

Run: python -m bench.telegram_fanout [--chats 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.check_latency import percentile
from bot.alerts import alert_keys
from bot.commands import Core
from bot.config import TelegramConfig
from bot.dataset import load_bundled
from bot.delivery import DeliveryWorker
from bot.events import Destination
from notifiers.telegram_bot import telegram_running
from storage import outbox, repo
from storage.db import make_engine, migrate
from tests.fake_telegram import TOKEN, FakeBotApi

NOW = datetime.now(UTC)
ASKER = 999_999_999


async def check_latencies(api: FakeBotApi, count: int, gap: float) -> list[float]:
    """Send /check from one person ``count`` times; return each reply's latency in seconds."""
    latencies = []
    for _ in range(count):
        before = len(api.sent(ASKER))
        start = time.monotonic()
        api.push_message(ASKER, "/check PAC20-272")
        while len(api.sent(ASKER)) == before:
            await asyncio.sleep(0.005)
        latencies.append(time.monotonic() - start)
        await asyncio.sleep(gap)
    return latencies


def queue(core: Core, chats: int) -> int:
    with core.session() as session:
        event = repo.get_events(session, ["cpsc-25338"])["cpsc-25338"]
        for chat in range(1, chats + 1):
            dest = Destination("telegram", 5_000_000 + chat)
            repo.add_subscription(session, dest, "brand", "anker", "Anker", NOW - timedelta(days=1))
        queued = outbox.queue_alerts(
            session, event, alert_keys(session, event), is_update=False, subscribed_before=NOW, now=NOW
        )
        session.commit()
    return queued


async def run(chats: int) -> None:
    api = FakeBotApi(max_per_second=30)
    await api.start()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        migrate(engine)
        core = Core(engine)
        with core.session() as session:
            load_bundled(session, NOW)
            session.commit()
        config = TelegramConfig(token=TOKEN, api_base_url=api.base_url, api_file_url=api.base_url)
        async with telegram_running(config, core) as notifier:
            idle = await check_latencies(api, 40, 0.05)
            queued = await asyncio.to_thread(queue, core, chats)
            worker = DeliveryWorker(core, {"telegram": notifier})
            started = time.monotonic()
            delivery = asyncio.create_task(worker.drain())
            busy: list[float] = []
            while not delivery.done():
                busy += await check_latencies(api, 1, 0.25)
            await delivery
            elapsed = time.monotonic() - started
        alerts = [p for p in api.sent() if p["chat_id"] != ASKER]
        with core.session() as session:
            pending = outbox.queue_depth(session)
        engine.dispose()
    await api.stop()
    budget = notifier.limits.per_second
    delivered = len({p["chat_id"] for p in alerts})
    rate = delivered / elapsed
    attempts = len([c for c in api.calls if c.method == "sendMessage"])
    row = "{:<44} {:>12}  {}"
    print(row.format("measure", "value", "target"))
    print(row.format("alerts queued / delivered / lost", f"{queued}/{delivered}/{queued - delivered}", "lost = 0"))
    print(row.format("still pending after the run", pending, "0"))
    print(row.format("fan-out time (s)", f"{elapsed:.1f}", ""))
    print(row.format(f"achieved rate (msg/s, budget {budget:.0f}/s)", f"{rate:.2f}", ""))
    print(row.format("achieved / budget", f"{rate / budget:.3f}", ">= 0.95"))
    print(row.format("429 answers / send attempts", f"{api.too_many}/{attempts}", "<= 1 %"))
    print(row.format("/check p95 (s), no fan-out (baseline)", f"{percentile(idle, 0.95):.3f}", ""))
    print(row.format(f"/check p95 (s), during fan-out (n={len(busy)})", f"{percentile(busy, 0.95):.3f}", "<= 1 s"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=1000)
    args, _ = parser.parse_known_args()
    asyncio.run(run(args.chats))


if __name__ == "__main__":
    main()
