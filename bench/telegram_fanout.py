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
from datetime import UTC, datetime

from bench.platform_fanout import FanoutResult, depth, fan_out, latencies, loaded_core, print_table, queue_anker_alerts
from bot.config import TelegramConfig
from bot.delivery import DeliveryWorker
from bot.events import Destination
from notifiers.telegram_bot import telegram_running
from tests.fake_telegram import TOKEN, FakeBotApi

NOW = datetime.now(UTC)
ASKER = 999_999_999


def asker(api: FakeBotApi):
    """Return a coroutine function that sends one /check and waits for the reply."""

    async def ask() -> None:
        before = len(api.sent(ASKER))
        api.push_message(ASKER, "/check PAC20-272")
        while len(api.sent(ASKER)) == before:
            await asyncio.sleep(0.005)

    return ask


async def run(chats: int) -> None:
    api = FakeBotApi(max_per_second=30)
    await api.start()
    with loaded_core(NOW) as core:
        config = TelegramConfig(token=TOKEN, api_base_url=api.base_url, api_file_url=api.base_url)
        async with telegram_running(config, core) as notifier:
            idle = await latencies(asker(api), 40, 0.05)
            dests = [Destination("telegram", 5_000_000 + chat) for chat in range(1, chats + 1)]
            queued = await asyncio.to_thread(queue_anker_alerts, core, dests, NOW)
            elapsed, busy = await fan_out(DeliveryWorker(core, {"telegram": notifier}), asker(api))
        pending = depth(core)
    await api.stop()
    delivered = len({p["chat_id"] for p in api.sent() if p["chat_id"] != ASKER})
    attempts = len([c for c in api.calls if c.method == "sendMessage"])
    budget = notifier.limits.per_second
    print_table(FanoutResult(queued, delivered, pending, elapsed, budget, api.too_many, attempts, idle, busy))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=1000)
    args, _ = parser.parse_known_args()
    asyncio.run(run(args.chats))


if __name__ == "__main__":
    main()
