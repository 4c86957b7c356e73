"""Discord: slash commands in servers and DMs, buttons, server events, and start-up.

Every handler parses the interaction, calls the core off the event loop, renders
embeds and answers; all commands are declared in :func:`build_client`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiohttp
import discord
import yarl
from discord import app_commands
from discord.app_commands import Choice

from bot import messages
from bot.app import StartupError
from bot.commands import Button, Core, Reply, dispatch
from bot.config import DiscordConfig
from bot.events import Destination
from notifiers.discord_notifier import (
    DISCORD_LIMITS,
    MANAGE_ID,
    NO_MENTIONS,
    PLATFORM,
    DiscordNotifier,
    InvalidRequestGuard,
)
from notifiers.discord_render import reply_pages
from storage import outbox, repo
from storage.leader import Leadership

logger = logging.getLogger(__name__)

ANSWER_WITHIN = 2.0  # Discord drops an interaction not answered in 3 s: defer after 2
BUTTON_PREFIX = "recallbot:"
MUTATING = {"subscribe", "unsubscribe"}
TYPE_CHOICES = [Choice(name=kind, value=kind) for kind in ("brand", "model", "supplier")]
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


def buttons_view(buttons: tuple[Button, ...]) -> discord.ui.View | None:
    """Return the reply's buttons (at most 25); a command too long for a custom id is left out."""
    view = discord.ui.View(timeout=None)
    for button in buttons:
        custom_id = BUTTON_PREFIX + button.command
        if len(custom_id) <= 100 and len(view.children) < 25:
            view.add_item(discord.ui.Button(label=button.label[:80], custom_id=custom_id))
    view.stop()  # a layout only: presses arrive through the client's interaction listener
    return view if view.children else None


@dataclass
class DiscordHandlers:
    """The interaction handlers, holding the core they call."""

    core: Core

    async def handle_command(self, interaction: discord.Interaction, command: str, args: str = "") -> None:
        """A slash command: check permission, call the core, render, answer."""
        await self._run(interaction, command, args, interaction.channel_id)

    async def handle_subscription(
        self, interaction: discord.Interaction, command: str, name: str, kind: str | None, channel: object
    ) -> None:
        """/subscribe or /unsubscribe, in this channel or in the one given."""
        if channel is not None and interaction.guild_id is None:
            await self._answer(interaction, lambda: Reply(messages.DM_NO_CHANNEL), ephemeral=True)
            return
        target = channel.id if channel is not None else interaction.channel_id
        where = f"<#{target}>: " if target != interaction.channel_id else ""  # a channel mention pings no one
        await self._run(interaction, command, f"{kind} {name}" if kind else name, target, prefix=where)

    async def handle_interaction(self, interaction: discord.Interaction) -> None:
        """A button press under a reply or an alert: run the command the button names."""
        custom_id = (interaction.data or {}).get("custom_id", "")
        if interaction.type is not discord.InteractionType.component or not custom_id.startswith(BUTTON_PREFIX):
            return
        command, _, args = custom_id.removeprefix(BUTTON_PREFIX).partition(" ")
        # The alert's button opens the list of what the channel follows, each with its own
        # Unsubscribe button; in a server it is for those who may change subscriptions.
        manage = custom_id == MANAGE_ID or command in MUTATING
        await self._run(interaction, command, args, interaction.channel_id, ephemeral=True, manage=manage)

    async def _run(
        self,
        interaction: discord.Interaction,
        command: str,
        args: str,
        channel_id: int | None,
        ephemeral: bool = False,
        prefix: str = "",
        manage: bool = False,
    ) -> None:
        in_server = interaction.guild_id is not None
        if (manage or command in MUTATING) and in_server and not interaction.permissions.manage_guild:
            await self._answer(interaction, lambda: Reply(messages.SERVER_MANAGE_ONLY), ephemeral=True)
            return
        dest = Destination(PLATFORM, channel_id or 0)

        def work() -> Reply:
            reply = dispatch(self.core, dest, f"/{command} {args}".strip())
            return dataclasses.replace(reply, text=prefix + reply.text)

        await self._answer(interaction, work, ephemeral)

    async def _answer(self, interaction: discord.Interaction, work: Callable[[], Reply], ephemeral: bool) -> None:
        """Answer once: at once if the core is quick, else defer within the 3 seconds and follow up."""
        task = asyncio.ensure_future(asyncio.to_thread(work))
        done, _ = await asyncio.wait({task}, timeout=ANSWER_WITHIN)
        if not done:
            await interaction.response.defer(thinking=True, ephemeral=ephemeral)
        reply = await task
        pages = reply_pages(reply)
        for n, page in enumerate(pages, start=1):
            view = buttons_view(reply.buttons) if n == len(pages) else None
            extra = {"view": view} if view else {}
            if interaction.response.is_done():
                await interaction.followup.send(
                    page.content or None, embeds=page.embeds, ephemeral=ephemeral, allowed_mentions=NO_MENTIONS, **extra
                )
            else:
                await interaction.response.send_message(
                    page.content or None, embeds=page.embeds, ephemeral=ephemeral, allowed_mentions=NO_MENTIONS, **extra
                )

    async def handle_error(self, interaction: discord.Interaction, error: Exception) -> None:
        """Log the failure with its traceback and send one short apology."""
        logger.error("Discord interaction failed", exc_info=error)
        try:
            if interaction.response.is_done():
                await interaction.followup.send(messages.INTERNAL_ERROR, ephemeral=True)
            else:
                await interaction.response.send_message(messages.INTERNAL_ERROR, ephemeral=True)
        except discord.HTTPException:
            logger.warning("could not send the apology either")

    def set_server_channels(self, channel_ids: list[int], reason: str | None) -> None:
        """Pause a server's channels (the bot was removed), or resume them (it came back)."""
        now = self.core.clock()
        with self.core.session() as session:
            for channel_id in channel_ids:
                dest = Destination(PLATFORM, channel_id)
                if reason:
                    outbox.pause_destination(session, dest, reason, now)
                else:
                    outbox.resume_destination(session, dest)
            session.commit()


def build_client(core: Core, guard: InvalidRequestGuard) -> tuple[discord.Client, app_commands.CommandTree]:
    """Return the gateway client and its command tree with every command and event registered."""
    client = discord.Client(intents=discord.Intents(guilds=True), http_trace=guard.trace_config())
    tree = app_commands.CommandTree(client)
    handlers = DiscordHandlers(core)
    name_help = "Brand, model number or cell supplier, e.g. Anker, A1263 or Amprius"

    @tree.command(description="Is a model, brand or cell supplier named in a recall? e.g. PAC20-272")
    @app_commands.describe(model="The model number printed on the device, or a brand or supplier name")
    async def check(interaction: discord.Interaction, model: str) -> None:
        await handlers.handle_command(interaction, "check", model)

    @tree.command(description="Get alerts in this channel (or DM) for a brand, model or cell supplier")
    @app_commands.describe(
        name=name_help,
        kind="What the name is; left out, I work it out",
        channel="In a server: the channel to alert (default: this one)",
    )
    @app_commands.rename(kind="type")
    @app_commands.choices(kind=TYPE_CHOICES)
    @app_commands.default_permissions(manage_guild=True)
    async def subscribe(
        interaction: discord.Interaction,
        name: str,
        kind: Choice[str] | None = None,
        channel: discord.TextChannel | None = None,
    ) -> None:
        await handlers.handle_subscription(interaction, "subscribe", name, kind and kind.value, channel)

    @tree.command(description="Stop alerts for a brand, model or cell supplier")
    @app_commands.describe(
        name=name_help, kind="What the name is; left out, every type of that name", channel="In a server: the channel"
    )
    @app_commands.rename(kind="type")
    @app_commands.choices(kind=TYPE_CHOICES)
    @app_commands.default_permissions(manage_guild=True)
    async def unsubscribe(
        interaction: discord.Interaction,
        name: str,
        kind: Choice[str] | None = None,
        channel: discord.TextChannel | None = None,
    ) -> None:
        await handlers.handle_subscription(interaction, "unsubscribe", name, kind and kind.value, channel)

    @tree.command(description="What this channel (or DM) follows")
    async def subscriptions(interaction: discord.Interaction) -> None:
        await handlers.handle_command(interaction, "subscriptions")

    @tree.command(description="The latest recalls and supplier suspensions")
    async def recent(interaction: discord.Interaction) -> None:
        await handlers.handle_command(interaction, "recent")

    @tree.command(description="When I last checked my sources, and how they are doing")
    async def status(interaction: discord.Interaction) -> None:
        await handlers.handle_command(interaction, "status")

    @tree.command(name="help", description="What I can do")
    async def help_command(interaction: discord.Interaction) -> None:
        await handlers.handle_command(interaction, "help")

    @tree.error
    async def on_app_command_error(interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        await handlers.handle_error(interaction, error)

    @client.event
    async def on_interaction(interaction: discord.Interaction) -> None:
        await handlers.handle_interaction(interaction)

    @client.event
    async def on_ready() -> None:
        logger.info("Discord: connected as %s (servers: %d)", client.user, len(client.guilds))

    @client.event
    async def on_guild_remove(guild: discord.Guild) -> None:
        reason = f"the bot was removed from the server {guild.name} ({guild.id})"
        await asyncio.to_thread(handlers.set_server_channels, [c.id for c in guild.channels], reason)

    @client.event
    async def on_guild_join(guild: discord.Guild) -> None:
        await asyncio.to_thread(handlers.set_server_channels, [c.id for c in guild.channels], None)

    return client, tree


def commands_digest(tree: app_commands.CommandTree, guild: discord.abc.Snowflake | None) -> str:
    """Return a digest of the command definitions as Discord would receive them."""
    payload = sorted((c.to_dict(tree) for c in tree.get_commands(guild=guild)), key=lambda c: c["name"])
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
    digest = commands_digest(tree, guild)
    name = f"discord_commands:{client.application_id}:{guild_id or 'global'}"
    with core.session() as session:
        if not force and repo.get_meta(session, name) == digest:
            return False
    await tree.sync(guild=guild)
    with core.session() as session:
        repo.set_meta(session, name, digest)
        session.commit()
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


def _login_history(core: Core, record: bool) -> tuple[list[datetime], datetime]:
    now = core.clock()
    with core.session() as session:
        history = [datetime.fromisoformat(t) for t in json.loads(repo.get_meta(session, CONNECTS_META) or "[]")]
        history = [t for t in history if now - t < timedelta(days=1)]
        if record:
            history.append(now)
            repo.set_meta(session, CONNECTS_META, json.dumps([t.isoformat() for t in history[-50:]]))
            session.commit()
    return history, now


async def _stay_connected(client: discord.Client, core: Core, gateway: Leadership, retry_every: float) -> None:
    """Hold the gateway while this instance is the gateway leader, logging in again with backoff."""
    while not await asyncio.to_thread(gateway.try_acquire):
        await asyncio.sleep(retry_every)
    while True:
        history, now = await asyncio.to_thread(_login_history, core, False)
        delay = connect_delay(history, now)
        if delay:
            logger.warning("Discord: %d gateway logins in the last hour; waiting %.0f s", len(history), delay)
            await asyncio.sleep(delay)
        await asyncio.to_thread(_login_history, core, True)
        try:
            await client.connect(reconnect=True)  # resumes by itself after network faults
        except (discord.ConnectionClosed, discord.GatewayNotFound, aiohttp.ClientError, OSError) as error:
            logger.error("Discord: the gateway connection ended (%s); logging in again", error)
        if client.is_closed():  # connect() closes the client on a fatal close code: reopen it
            client.clear()
            await client.login(client.http.token or "")


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
    config: DiscordConfig, core: Core, *, gateway_retry: float = 15.0
) -> AsyncIterator[DiscordNotifier]:
    """Answer slash commands until the block exits; yield the alert notifier.

    Alerts go through a REST-only client of their own, so a gateway reconnect never
    stops delivery. Of several instances sharing PostgreSQL only the holder of the
    gateway lock connects to the gateway (each session receives every interaction);
    every instance delivers.
    """
    point_at(config)
    limits = dataclasses.replace(
        DISCORD_LIMITS, per_second=config.messages_per_second, per_chat_per_second=config.channel_messages_per_second
    )
    guard = InvalidRequestGuard()
    client, tree = build_client(core, guard)
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
        elif await asyncio.to_thread(_unsynced, core, client, tree):
            logger.warning("Discord: the slash commands changed; run `recallbot discord sync-commands` to publish them")
    except BaseException:
        await client.close()
        await sender.close()
        raise
    gateway = Leadership(core.engine, "discord-gateway")
    connection = asyncio.create_task(_stay_connected(client, core, gateway, gateway_retry), name="discord-gateway")
    try:
        yield DiscordNotifier(sender, guard, limits)
    finally:
        connection.cancel()
        await client.close()
        await asyncio.to_thread(gateway.release)
        await sender.close()


def _unsynced(core: Core, client: discord.Client, tree: app_commands.CommandTree) -> bool:
    with core.session() as session:
        return repo.get_meta(session, f"discord_commands:{client.application_id}:global") != commands_digest(tree, None)


async def sync_global(config: DiscordConfig, core: Core, force: bool) -> bool:
    """Log in over REST only and register the commands globally; return True if they were sent."""
    point_at(config)
    client, tree = build_client(core, InvalidRequestGuard())
    await _login(client, config)
    try:
        return await sync_commands(core, client, tree, None, force=force)
    finally:
        await client.close()
