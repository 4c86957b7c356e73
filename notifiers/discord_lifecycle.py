"""Discord start-up and shut-down: pointing the library, logging in, publishing the
slash commands when they changed, and holding the gateway with rationed reconnects.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp
import discord
import yarl
from discord import app_commands

from bot.app import StartupError, open_core
from bot.config import Config, DiscordConfig, load_config
from bot.core import Core
from bot.errors import RecallbotError
from bot.leadership import Cadence, Leadership, hold
from bot.logs import hide_secrets
from bot.photos import PhotoReader
from notifiers.discord_bot import CatalogTranslator, build_client
from notifiers.discord_notifier import DISCORD_LIMITS, DiscordNotifier, InvalidRequestGuard

logger = logging.getLogger(__name__)

CONNECTS_META = "discord_gateway_connects"


def point_at(config: DiscordConfig) -> None:
    """Aim discord.py at the configured REST and gateway servers.

    discord.py has no public setting for either: its REST base is the class attribute
    ``discord.http.Route.BASE`` and its first gateway is
    ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY``. Both are process-wide; set
    them here, before any login, and nowhere else.
    """
    discord.http.Route.BASE = config.api_base_url.rstrip("/")
    if config.gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(config.gateway_url)
    # recallbot has no voice features: skip discord.py's warning that voice libraries are missing
    discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False


async def commands_digest(tree: app_commands.CommandTree, guild: discord.abc.Snowflake | None) -> str:
    """Return a digest of the command definitions as Discord would receive them, translations included."""
    translator = CatalogTranslator()
    payload = [await c.get_translated_payload(tree, translator) for c in tree.get_commands(guild=guild)]
    payload.sort(key=lambda c: c["name"])
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


async def sync_commands(
    core: Core, client: discord.Client, tree: app_commands.CommandTree, guild_id: int | None, force: bool = False
) -> bool:
    """Register the commands with Discord (in one server, or globally) if they changed; return True if sent.

    Discord allows 200 command creations a day per server, so the definitions' digest
    is kept in the database and an unchanged set is never sent again.
    """
    guild = discord.Object(id=guild_id) if guild_id else None
    if guild is not None:
        tree.copy_global_to(guild=guild)
    digest = await commands_digest(tree, guild)
    await tree.set_translator(CatalogTranslator())  # the names and descriptions in each language
    name = _digest_name(client, guild_id)
    if not force and core.recalled(name) == digest:
        return False
    try:
        await tree.sync(guild=guild)
    except discord.HTTPException as error:
        where = f"server {guild_id}" if guild_id else "Discord"
        raise StartupError(
            f"{where} refused the slash commands ({error.status} {error.code}: {error.text}). Is the bot in that "
            "server, invited with the applications.commands scope?"
        ) from None
    core.remember(name, digest)
    logger.info("Discord: commands registered %s", f"in server {guild_id}" if guild_id else "globally")
    return True


def connect_delay(history: list[datetime], now: datetime) -> float:
    """Return the seconds to wait before the next gateway login, given the recent ones.

    Discord allows 1,000 logins a day. Up to three in six hours go at once; beyond
    that the wait doubles from 10 s to 15 minutes, and stays there while the logins
    keep coming, so a crash loop makes about four an hour.
    """
    recent = sum(now - t < timedelta(hours=6) for t in history)
    if recent < 3:
        return 0.0
    return min(900.0, 10.0 * 2 ** (recent - 3))


def _logins(core: Core, now: datetime) -> list[datetime]:
    """Return the gateway logins of the last day, as recorded in the database."""
    history = [datetime.fromisoformat(t) for t in json.loads(core.recalled(CONNECTS_META) or "[]")]
    return [t for t in history if now - t < timedelta(days=1)]


def _recent_logins(core: Core) -> tuple[list[datetime], datetime]:
    now = core.clock()
    return _logins(core, now), now


def _record_login(core: Core) -> None:
    """Add a gateway login to the record (the last 50 are kept)."""
    now = core.clock()
    history = [*_logins(core, now), now][-50:]  # only the gateway lock's holder logs in: no race here
    core.remember(CONNECTS_META, json.dumps([t.isoformat() for t in history]))


class GatewayHolder:
    """Keeps one gateway connection open while this instance holds the gateway lock.

    discord.py cannot log a closed client in again (its connector is closed with it),
    so a connection that ends for good is replaced by a new client, and logins are
    rationed by :func:`connect_delay`.
    """

    def __init__(self, client: discord.Client, make_client: Callable[[], discord.Client], core: Core) -> None:
        self.client = client
        self.make_client = make_client
        self.core = core
        self._connection: asyncio.Task[None] | None = None

    async def run(self, lock: Leadership, cadence: Cadence, *, held: bool) -> None:
        """Be on the gateway whenever this instance holds the gateway lock (``held``: it does now), until cancelled."""
        if held:
            await self.connect()
        await hold(lock, cadence, self.connect, self.close, held=held)

    async def connect(self) -> None:
        """Start connecting to the gateway, and stay connected until :meth:`close`."""
        self._connection = asyncio.create_task(self._stay_connected(), name="discord-gateway")

    async def close(self) -> None:
        """Leave the gateway (the lock was lost, or shut-down); alerts still go through the REST sender."""
        if self._connection is not None:
            self._connection.cancel()
            await asyncio.wait([self._connection])
            self._connection = None
        await self.client.close()  # the next _stay_connected logs in a new client

    async def _stay_connected(self) -> None:
        token = self.client.http.token or ""
        while True:
            history, now = await asyncio.to_thread(_recent_logins, self.core)
            delay = connect_delay(history, now)
            if delay:
                logger.warning("Discord: %d gateway logins in the last day; waiting %.0f s", len(history), delay)
                await asyncio.sleep(delay)
            await asyncio.to_thread(_record_login, self.core)
            try:
                if self.client.is_closed():  # closed by connect() on a close code it cannot resume from, or by us
                    self.client = self.make_client()
                    await self.client.login(token)
                await self.client.connect(reconnect=True)  # resumes by itself after network faults
            except discord.LoginFailure:
                logger.error("Discord: the bot token was revoked; slash commands stay unanswered until a restart")
                return
            except Exception as error:  # whatever ended it, connect again (rationed above)
                logger.error(
                    "Discord: the gateway connection ended (%s: %s); connecting again", type(error).__name__, error
                )


async def _login(client: discord.Client, config: DiscordConfig) -> None:
    try:
        await client.login(config.token or "")
    except discord.LoginFailure:
        await client.close()
        raise StartupError(
            "Discord rejected the bot token; check [discord] token (or RECALLBOT_DISCORD__TOKEN) "
            "in the Developer Portal."
        ) from None
    except (discord.HTTPException, aiohttp.ClientError, OSError) as error:
        await client.close()
        raise StartupError(
            f"Could not reach the Discord API at {config.api_base_url} ({error}). "
            "Is the network up, and is [discord] api_base_url right?"
        ) from None


@asynccontextmanager
async def discord_running(
    config: DiscordConfig, core: Core, *, gateway_retry: float = 15.0, gateway_check: float = 5.0
) -> AsyncIterator[DiscordNotifier]:
    """Answer slash commands until the block exits; yield the alert notifier.

    Alerts go through a REST-only client of their own, so a gateway reconnect never
    stops delivery. Of several instances sharing PostgreSQL only the holder of the
    gateway lock connects to the gateway (each session receives every interaction);
    every instance delivers. The others try for the lock every ``gateway_retry``
    seconds; the holder confirms it every ``gateway_check`` seconds and leaves the
    gateway as soon as it is lost, before another instance connects (``storage.leader``
    explains the timing).
    """
    cadence = Cadence(retry_every=gateway_retry, check_every=gateway_check)
    point_at(config)
    limits = dataclasses.replace(
        DISCORD_LIMITS, per_second=config.messages_per_second, per_chat_per_second=config.channel_messages_per_second
    )
    guard = InvalidRequestGuard()
    photos = PhotoReader()  # one for the gateway clients this instance makes, reconnects included
    client, tree = build_client(core, guard, photos)
    # Waits under 30 s (discord.py's least) are waited out inside a send; longer ones come
    # back as RateLimited and the outbox retries that channel later.
    sender = discord.Client(
        intents=discord.Intents(guilds=True), http_trace=guard.trace_config(), max_ratelimit_timeout=30.0
    )
    await _login(client, config)
    try:
        await _login(sender, config)
        if config.command_guild_id:
            await sync_commands(core, client, tree, config.command_guild_id)
        elif await _unsynced(core, client, tree):
            logger.warning("Discord: the slash commands changed; run `recallbot discord sync-commands` to publish them")
        lock = core.lock("discord-gateway")
        held = await asyncio.to_thread(lock.try_acquire)
    except BaseException:
        await client.close()
        await sender.close()
        photos.close(wait=False)
        raise
    holder = GatewayHolder(client, lambda: build_client(core, guard, photos)[0], core)
    leading = asyncio.create_task(holder.run(lock, cadence, held=held), name="gateway-lock")
    try:
        yield DiscordNotifier(sender, guard, limits)
    finally:
        leading.cancel()
        await asyncio.wait([leading])  # ended for good before the gateway is closed below
        await holder.close()
        await asyncio.to_thread(lock.release)
        await sender.close()
        photos.close(wait=False)  # a label being read is dropped with the process


def _digest_name(client: discord.Client, guild_id: int | None) -> str:
    """Return the meta key under which the published commands' digest is kept."""
    return f"discord_commands:{client.application_id}:{guild_id or 'global'}"


async def _unsynced(core: Core, client: discord.Client, tree: app_commands.CommandTree) -> bool:
    published = await asyncio.to_thread(core.recalled, _digest_name(client, None))
    return published != await commands_digest(tree, None)


async def sync_global(config: DiscordConfig, core: Core, force: bool) -> bool:
    """Log in over REST only and register the commands globally; return True if they were sent."""
    point_at(config)
    client, tree = build_client(core, InvalidRequestGuard())
    await _login(client, config)
    try:
        return await sync_commands(core, client, tree, None, force=force)
    finally:
        await client.close()


class DiscordPlatform:
    """Discord as a recallbot platform (entry point ``discord``): on when a bot token is set."""

    name = "discord"
    fallback = False

    def configured(self, config: Config) -> bool:
        return bool(config.discord.token)

    def running(self, config: Config, core: Core, stop: asyncio.Event) -> AbstractAsyncContextManager[DiscordNotifier]:
        return discord_running(config.discord, core)


def platform() -> DiscordPlatform:
    """Return the Discord platform (the ``recallbot.platforms`` entry point)."""
    return DiscordPlatform()


def cli(argv: Sequence[str]) -> int:
    """`recallbot discord sync-commands [--force]`: publish the slash commands in every server if they changed."""
    parser = argparse.ArgumentParser(prog="recallbot discord", description="Discord set-up tasks")
    tasks = parser.add_subparsers(dest="task", required=True)
    sync = tasks.add_parser("sync-commands", help="publish the slash commands in every server (only if they changed)")
    sync.add_argument("--config", type=Path, help="TOML config file (default: $RECALLBOT_CONFIG, else none)")
    sync.add_argument("--force", action="store_true", help="publish even if unchanged")
    args = parser.parse_args(list(argv))
    config = load_config(args.config)
    if not config.discord.token:
        raise RecallbotError("Set [discord] token (or RECALLBOT_DISCORD__TOKEN) to publish the slash commands.")
    hide_secrets([config.discord.token])
    sent = asyncio.run(sync_global(config.discord, open_core(config), args.force))
    print(
        "Slash commands published globally (Discord may take up to an hour to show them everywhere)."
        if sent
        else "Slash commands unchanged since the last publish; nothing sent (use --force to send anyway)."
    )
    return 0
