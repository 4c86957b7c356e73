"""Discord fan-out: 1,000 alerts to 1,000 channels through the real discord.py client and a
loopback fake Discord server that allows 50 requests a second (Discord's global limit;
429 with retry_after above it), while people run /check.

Reports the achieved send rate as a fraction of the configured budget and of the fake's
enforced limit, 429 answers, alerts lost, and /check answer latency during the fan-out;
the baseline in the same run is /check latency with no fan-out going on. A second run has
the fake enforce a limit the bot was not told (20 a second, the budget left at its default).

Run: python -m bench.discord_fanout [--channels 1000] [--server-limit 50] [--untold-limit 20]
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime

import discord

from bench.platform_fanout import FanoutResult, depth, fan_out, latencies, loaded_core, print_table, queue_anker_alerts
from bot.config import DiscordConfig
from bot.delivery import DeliveryWorker
from bot.events import Destination
from notifiers.discord_lifecycle import discord_running
from tests.fake_discord import GUILD_ID, TOKEN, FakeDiscord

NOW = datetime.now(UTC)
FIRST_CHANNEL = 960_000_000_000_000_000


def asker(server: FakeDiscord):
    """Return a coroutine function that runs /check in the fake server and waits for the answer."""

    async def ask() -> None:
        await server.answer(await server.slash("check", {"model": "PAC20-272"}), timeout=30)

    return ask


async def run(channels: int, server_limit: float) -> FanoutResult:
    server = FakeDiscord(max_per_second=server_limit)
    await server.start()
    base, gateway = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    with loaded_core(NOW) as core:
        urls = {"api_base_url": server.api_base_url, "gateway_url": server.gateway_url}
        config = DiscordConfig(token=TOKEN, command_guild_id=GUILD_ID, **urls)
        async with discord_running(config, core) as notifier:
            await asyncio.wait_for(server.ready.wait(), 30)
            idle = await latencies(asker(server), 40, 0.05)
            dests = [Destination("discord", FIRST_CHANNEL + n) for n in range(channels)]
            queued = await asyncio.to_thread(queue_anker_alerts, core, dests, NOW)
            elapsed, busy = await fan_out(DeliveryWorker(core, {"discord": notifier}), asker(server))
        pending = depth(core)
    await server.stop()
    discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = base, gateway
    delivered = len([c for c in server.messages if c >= FIRST_CHANNEL])
    attempts = len([r for r in server.requests if r.method == "POST" and r.path.startswith("/channels/")])
    budget = notifier.limits.per_second
    too_many = server.too_many
    return FanoutResult(queued, delivered, pending, elapsed, budget, too_many, attempts, idle, busy, server_limit)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=1000)
    parser.add_argument("--server-limit", type=float, default=50.0, help="sends a second the fake server allows")
    parser.add_argument("--untold-limit", type=float, default=20.0, help="the second run's limit (0: no second run)")
    args, _ = parser.parse_known_args()
    for limit in [args.server_limit, args.untold_limit] if args.untold_limit else [args.server_limit]:
        print_table(asyncio.run(run(args.channels, limit)))


if __name__ == "__main__":
    main()
