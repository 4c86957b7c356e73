"""Telegram fan-out: 1,000 alerts to 1,000 chats through a loopback fake Bot API that allows
30 messages a second (429 with retry_after above it), while people send /check.

Reports the achieved send rate as a fraction of the configured budget and of the fake's
enforced limit, 429 answers, alerts lost, and /check reply latency during the fan-out; the
baseline in the same run is /check latency with no fan-out going on. A second run has the
fake enforce a limit the bot was not told (20 a second, the budget left at its default).

Run: python -m bench.telegram_fanout [--chats 1000] [--server-limit 30] [--untold-limit 20]
"""

from __future__ import annotations

import argparse
import asyncio
import time
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
        deadline = time.monotonic() + 5.0  # an answer refused with 429 never comes: count it as 5 s
        while len(api.sent(ASKER)) == before and time.monotonic() < deadline:
            await asyncio.sleep(0.005)

    return ask


async def run(chats: int, server_limit: float) -> FanoutResult:
    api = FakeBotApi(max_per_second=server_limit)
    await api.start()
    with loaded_core(NOW) as core:
        config = TelegramConfig(token=TOKEN, api_base_url=api.base_url, api_file_url=api.base_url)
        async with telegram_running(config, core) as notifier:
            idle = await latencies(asker(api), 40, 0.05)
            answered_before = len(api.sent(ASKER))
            dests = [Destination("telegram", 5_000_000 + chat) for chat in range(1, chats + 1)]
            queued = await asyncio.to_thread(queue_anker_alerts, core, dests, NOW)
            elapsed, busy = await fan_out(DeliveryWorker(core, {"telegram": notifier}), asker(api))
        pending = depth(core)
    await api.stop()
    delivered = len({p["chat_id"] for p in api.sent() if p["chat_id"] != ASKER})
    attempts = len([c for c in api.calls if c.method == "sendMessage"])
    budget = notifier.limits.per_second
    result = FanoutResult(queued, delivered, pending, elapsed, budget, api.too_many, attempts, idle, busy, server_limit)
    result.replies = len(api.sent(ASKER)) - answered_before  # /check answers sent during the fan-out
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=1000)
    parser.add_argument("--server-limit", type=float, default=30.0, help="sends a second the fake allows")
    parser.add_argument("--untold-limit", type=float, default=20.0, help="the second run's limit (0: no second run)")
    args, _ = parser.parse_known_args()
    for limit in [args.server_limit, args.untold_limit] if args.untold_limit else [args.server_limit]:
        print_table(asyncio.run(run(args.chats, limit)))


if __name__ == "__main__":
    main()
