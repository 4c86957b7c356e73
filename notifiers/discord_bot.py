"""Discord: slash commands in servers and DMs, buttons and server events.

Every handler parses the interaction, calls the core off the event loop, renders
embeds and answers; all commands are declared in :func:`build_client`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass

import discord
from discord import app_commands
from discord.app_commands import Choice
from discord.utils import MISSING  # "not given": a follow-up of embeds only has no content

from bot import i18n, messages
from bot.commands import MUTATING, dispatch, photo_refused, read_photo, too_many
from bot.core import REMOVED_FROM_SERVER, Core
from bot.events import Destination
from bot.i18n import N_, P_, _
from bot.photos import PhotoReader
from bot.ratelimit import Admission
from bot.replies import Reply
from notifiers.discord_notifier import NO_MENTIONS, PLATFORM, InvalidRequestGuard
from notifiers.discord_render import ALERT_BUTTON, BUTTON_PREFIX, buttons_view, reply_pages

logger = logging.getLogger(__name__)

ANSWER_WITHIN = 2.0  # Discord drops an interaction not answered in 3 s: defer after 2

TYPE_CHOICES = [
    Choice(name=kind, value=kind) for kind in ("brand", "model", "supplier")
]  # named by messages.KIND_WORDS
# Each language in its own words, as a picker shows them; one per i18n.LANGUAGES (README "Adding a language").
LANGUAGE_CHOICES = [Choice(name="English", value="en"), Choice(name="中文", value="zh")]
# Slash command and option names as Chinese users see them (Discord's name_localizations).
SLASH_NAMES = [
    P_("slash command", "check"),
    P_("slash command", "model"),
    P_("slash command", "image"),
    P_("slash command", "subscribe"),
    P_("slash command", "unsubscribe"),
    P_("slash command", "name"),
    P_("slash command", "type"),
    P_("slash command", "channel"),
    P_("slash command", "more"),
    P_("slash command", "serial"),
    P_("slash command", "subscriptions"),
    P_("slash command", "recent"),
    P_("slash command", "status"),
    P_("slash command", "language"),
    P_("slash command", "settings"),
    P_("slash command", "change"),
    P_("slash command", "forget"),
    P_("slash command", "help"),
]


class CatalogTranslator(app_commands.Translator):
    """Translate slash command names, descriptions and choices from recallbot's catalogs."""

    async def translate(
        self, string: app_commands.locale_str, locale: discord.Locale, context: app_commands.TranslationContext
    ) -> str | None:
        lang = i18n.language_of(locale.value)
        if lang is None or lang == i18n.DEFAULT:
            return None
        names = (
            app_commands.TranslationContextLocation.command_name,
            app_commands.TranslationContextLocation.parameter_name,
        )
        with i18n.language(lang):
            if context.location in names:
                text = i18n.pgettext("slash command", string.message)
            elif context.location is app_commands.TranslationContextLocation.choice_name:
                text = messages.kind_word(string.message)
            else:
                text = _(string.message)
        return text if text != string.message else None


@dataclass
class DiscordHandlers:
    """The interaction handlers, holding the core they call and the reader of label photos."""

    core: Core
    photos: PhotoReader

    async def handle_command(self, interaction: discord.Interaction, command: str, args: str = "") -> None:
        """A slash command: check permission, call the core, render, answer."""
        await self._run(interaction, command, args, interaction.channel_id)

    async def handle_image(self, interaction: discord.Interaction, image: discord.Attachment) -> None:
        """/check with a photo: read its barcode or the model numbers on the label, and answer."""
        if not await self._admitted(interaction):
            return
        await interaction.response.defer(thinking=True)  # at once: "RecallBot is thinking...", while it is read
        with i18n.language(await self._language(interaction)):
            dest = Destination(PLATFORM, str(interaction.channel_id or 0))
            if not (image.content_type or "").startswith("image/"):
                reply = Reply(_(messages.PHOTO_NOT_IMAGE))
            elif refused := photo_refused(self.photos, dest, image.size):
                reply = refused
            else:
                reply = await read_photo(self.core, self.photos, dest, await image.read())
            await self._send(interaction, reply, ephemeral=False)

    async def handle_help(self, interaction: discord.Interaction) -> None:
        """/help, in the words of Discord's slash commands and their options."""
        await self._answer(interaction, lambda: Reply(messages.help_text(messages.DISCORD_HELP)), ephemeral=False)

    async def handle_subscription(
        self,
        interaction: discord.Interaction,
        command: str,
        name: str,
        kind: str | None,
        channel: discord.abc.GuildChannel | None,
    ) -> None:
        """/subscribe or /unsubscribe, in this channel or in the one given."""
        target = channel.id if channel is not None else interaction.channel_id
        where = f"<#{target}>: " if target != interaction.channel_id else ""  # a channel mention pings no one
        await self._run(interaction, command, f"{kind} {name}" if kind else name, target, prefix=where)

    async def handle_interaction(self, interaction: discord.Interaction) -> None:
        """A button press under a reply or an alert: run the command the button names."""
        custom_id = str(dict(interaction.data or {}).get("custom_id", ""))
        if interaction.type is not discord.InteractionType.component or not custom_id.startswith(BUTTON_PREFIX):
            return
        command, _space, args = custom_id.removeprefix(BUTTON_PREFIX).partition(" ")
        # The alert's button opens the list of what the channel follows, each with its own
        # Unsubscribe button; in a server it is for those who may change subscriptions.
        manage = command == ALERT_BUTTON.command
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
            await self._answer(interaction, lambda: Reply(_(messages.SERVER_MANAGE_ONLY)), ephemeral=True)
            return
        dest = Destination(PLATFORM, str(channel_id or 0))

        def work() -> Reply:
            reply = dispatch(self.core, dest, f"/{command} {args}".strip())
            return dataclasses.replace(reply, text=prefix + reply.text)

        await self._answer(interaction, work, ephemeral)

    async def _language(self, interaction: discord.Interaction) -> str:
        """Return the channel's chosen language, else the language of the user's Discord app."""
        dest = Destination(PLATFORM, str(interaction.channel_id or 0))
        return await asyncio.to_thread(self.core.language, dest, interaction.locale.value)

    async def _admitted(self, interaction: discord.Interaction) -> bool:
        """Tell whether the channel is within its command limit; the first command over it gets one sentence.

        Any other is left unanswered (Discord shows the user that the command failed): ignoring costs nothing.
        """
        admission = self.core.admit(Destination(PLATFORM, str(interaction.channel_id or 0)))  # before any await
        if admission is Admission.WARN:
            with i18n.language(await self._language(interaction)):
                await self._send(interaction, too_many(self.core), ephemeral=True)
        return admission is Admission.ANSWER

    async def _answer(self, interaction: discord.Interaction, work: Callable[[], Reply], ephemeral: bool) -> None:
        """Answer once, in the channel's language: at once if the core is quick, else defer and follow up."""
        if not await self._admitted(interaction):  # every command and button is answered here, or in handle_image
            return
        # The language is looked up inside the timed work: a slow database must not use up the
        # 3 seconds Discord gives before the answer is deferred.
        dest = Destination(PLATFORM, str(interaction.channel_id or 0))

        def in_language() -> tuple[str, Reply]:
            lang = self.core.language(dest, interaction.locale.value)
            with i18n.language(lang):
                return lang, work()

        task = asyncio.ensure_future(asyncio.to_thread(in_language))
        done, _pending = await asyncio.wait({task}, timeout=ANSWER_WITHIN)
        if not done:
            await interaction.response.defer(thinking=True, ephemeral=ephemeral)
        lang, reply = await task
        with i18n.language(lang):
            await self._send(interaction, reply, ephemeral)

    async def _send(self, interaction: discord.Interaction, reply: Reply, ephemeral: bool) -> None:
        """Send a reply's pages: as the answer, or as follow-ups once the answer was deferred."""
        pages = reply_pages(reply)
        for n, page in enumerate(pages, start=1):
            view = buttons_view(reply.buttons) if n == len(pages) else None
            content = page.content or None
            if interaction.response.is_done() and view is not None:
                await interaction.followup.send(
                    content or MISSING, embeds=page.embeds, ephemeral=ephemeral, allowed_mentions=NO_MENTIONS, view=view
                )
            elif interaction.response.is_done():
                await interaction.followup.send(
                    content or MISSING, embeds=page.embeds, ephemeral=ephemeral, allowed_mentions=NO_MENTIONS
                )
            elif view is not None:
                await interaction.response.send_message(
                    content, embeds=page.embeds, ephemeral=ephemeral, allowed_mentions=NO_MENTIONS, view=view
                )
            else:
                await interaction.response.send_message(
                    content, embeds=page.embeds, ephemeral=ephemeral, allowed_mentions=NO_MENTIONS
                )

    async def handle_error(self, interaction: discord.Interaction, error: Exception) -> None:
        """Log the failure with its traceback and send one short apology.

        A command this version does not have (published by an older one), or a
        channel option that cannot be used here, gets a sentence saying so instead.
        """
        try:
            lang = await self._language(interaction)
        except Exception:  # the failure being apologised for may be the database itself
            lang = i18n.language_of(interaction.locale.value) or i18n.DEFAULT
        with i18n.language(lang):
            text = self._error_text(interaction, error)
        try:
            if interaction.response.is_done():
                await interaction.followup.send(text, ephemeral=True)
            else:
                await interaction.response.send_message(text, ephemeral=True)
        except discord.HTTPException:
            logger.warning("could not send the apology either")

    def _error_text(self, interaction: discord.Interaction, error: Exception) -> str:
        if isinstance(error, app_commands.CommandNotFound):
            logger.warning(
                "Discord: /%s is published but not defined here; run `recallbot discord sync-commands`", error.name
            )
            text = _(messages.UNKNOWN_COMMAND).format(name=error.name[:32])
        elif isinstance(error, app_commands.TransformerError):  # the channel option, the one that is converted
            text = _(messages.DM_NO_CHANNEL) if interaction.guild_id is None else _(messages.CHANNEL_NOT_USABLE)
        else:
            logger.error("Discord interaction failed", exc_info=error)
            text = _(messages.INTERNAL_ERROR)
        return text

    def set_server_channels(self, channel_ids: list[int], reason: str | None) -> None:
        """Pause a server's channels (the bot was removed), or resume them (it came back)."""
        for channel_id in channel_ids:
            dest = Destination(PLATFORM, str(channel_id))
            if reason:
                self.core.destination_gone(dest, reason, by_user=True)  # its server removed the bot
            else:
                self.core.destination_back(dest)


def subscription_command(
    handlers: DiscordHandlers, command: str, description: str, *, kind_help: str, channel_help: str
) -> app_commands.Command:
    """Return /subscribe or /unsubscribe: same options, Manage Server by default in servers."""

    @app_commands.describe(
        name=N_("Brand, model number or cell supplier, e.g. Anker, A1263 or Amprius"),
        kind=kind_help,
        channel=channel_help,
    )
    @app_commands.rename(kind="type")
    @app_commands.choices(kind=TYPE_CHOICES)
    @app_commands.default_permissions(manage_guild=True)
    async def callback(
        interaction: discord.Interaction,
        name: str,
        kind: Choice[str] | None = None,
        channel: discord.TextChannel | None = None,
    ) -> None:
        await handlers.handle_subscription(interaction, command, name, kind.value if kind else None, channel)

    return app_commands.Command(name=command, description=description, callback=callback)


def build_client(
    core: Core, guard: InvalidRequestGuard, photos: PhotoReader | None = None
) -> tuple[discord.Client, app_commands.CommandTree]:
    """Return the gateway client and its command tree with every command and event registered."""
    client = discord.Client(intents=discord.Intents(guilds=True), http_trace=guard.trace_config())
    tree = app_commands.CommandTree(client)
    handlers = DiscordHandlers(core, photos or PhotoReader())

    @tree.command(description=N_("Is a model, product, brand or cell supplier named in a recall? e.g. PAC20-272"))
    @app_commands.describe(
        model=N_("The model number printed on the device, or a brand or supplier name"),
        image=N_("Or a photo of the label or its barcode"),
    )
    async def check(
        interaction: discord.Interaction, model: str | None = None, image: discord.Attachment | None = None
    ) -> None:
        if image is not None:
            await handlers.handle_image(interaction, image)
        else:
            await handlers.handle_command(interaction, "check", model or "")

    tree.add_command(
        subscription_command(
            handlers,
            "subscribe",
            N_("Get alerts in this channel (or DM) for a brand, model or cell supplier"),
            kind_help=N_("What the name is; left out, I work it out"),
            channel_help=N_("In a server: the channel to alert (default: this one)"),
        )
    )
    tree.add_command(
        subscription_command(
            handlers,
            "unsubscribe",
            N_("Stop alerts for a brand, model or cell supplier"),
            kind_help=N_("What the name is; left out, every type of that name"),
            channel_help=N_("In a server: the channel"),
        )
    )

    @tree.command(description=N_("More matches of the last /check here"))
    async def more(interaction: discord.Interaction) -> None:
        await handlers.handle_command(interaction, "more")

    @tree.command(description=N_("Is my unit included? Tells how to check a serial number or date code"))
    @app_commands.describe(model=N_("The recalled model number, e.g. BI-B41"))
    async def serial(interaction: discord.Interaction, model: str) -> None:
        await handlers.handle_command(interaction, "serial", model)

    @tree.command(description=N_("What this channel (or DM) follows"))
    async def subscriptions(interaction: discord.Interaction) -> None:
        await handlers.handle_command(interaction, "subscriptions")

    @tree.command(description=N_("The latest recalls and supplier suspensions"))
    async def recent(interaction: discord.Interaction) -> None:
        await handlers.handle_command(interaction, "recent")

    @tree.command(description=N_("When I last checked my sources, and how they are doing"))
    async def status(interaction: discord.Interaction) -> None:
        await handlers.handle_command(interaction, "status")

    @tree.command(description=N_("Alerts as they come, or a daily digest; quiet hours"))
    @app_commands.describe(change=N_("e.g. digest 9, quiet 22 7, quiet off, instant, zone Asia/Shanghai"))
    async def settings(interaction: discord.Interaction, change: str | None = None) -> None:
        await handlers.handle_command(interaction, "settings", change or "")

    @tree.command(description=N_("Answer in English or Chinese (中文), here and in alerts"))
    @app_commands.describe(language=N_("The language"))
    @app_commands.choices(language=LANGUAGE_CHOICES)
    async def language(interaction: discord.Interaction, language: Choice[str]) -> None:
        await handlers.handle_command(interaction, "language", language.value)

    @tree.command(description=N_("Delete everything I keep about this channel (or DM); asks first"))
    @app_commands.default_permissions(manage_guild=True)
    async def forget(interaction: discord.Interaction) -> None:
        await handlers.handle_command(interaction, "forget")

    @tree.command(name="help", description=N_("What I can do"))
    async def help_command(interaction: discord.Interaction) -> None:
        await handlers.handle_help(interaction)

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
        reason = f"{REMOVED_FROM_SERVER} {guild.name} ({guild.id})"  # the core deletes these channels later
        await asyncio.to_thread(handlers.set_server_channels, [c.id for c in guild.channels], reason)

    @client.event
    async def on_guild_join(guild: discord.Guild) -> None:
        await asyncio.to_thread(handlers.set_server_channels, [c.id for c in guild.channels], None)

    return client, tree
