"""Telegram: commands in chats and groups, buttons, and the alert notifier.

Every handler parses the update, calls the core off the event loop, renders
HTML and replies; all of them are registered in :func:`build_application`.
"""

from __future__ import annotations

import asyncio
import html
import logging
import warnings
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    Update,
)
from telegram.constants import ChatAction, ChatMemberStatus, ChatType, ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseRateLimiter,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    Updater,
    filters,
)
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from bot import i18n, messages
from bot.app import StartupError
from bot.commands import COMMANDS, MUTATING, dispatch, photo_refused, read_photo, too_many
from bot.config import Config, TelegramConfig
from bot.core import Core
from bot.delivery import Limits, Outcome, OutcomeKind
from bot.events import Destination
from bot.i18n import N_, _
from bot.incidents import Notice, Outgoing
from bot.leadership import Cadence, Leadership, hold
from bot.pacing import Pacer
from bot.photos import PhotoReader
from bot.ratelimit import Admission
from bot.render import notice_text
from bot.replies import Button, Reply
from notifiers.telegram_logs import quiet_ptb_logs, short_error
from notifiers.telegram_render import alert_html, reply_html

logger = logging.getLogger(__name__)
quiet_ptb_logs()  # for every Bot this module makes: the application's and the alert sender's

# Below Telegram's published limits: about 30 messages a second overall, one a second
# in a chat, 20 a minute in a group.
TELEGRAM_LIMITS = Limits(per_second=25.0, per_chat_per_second=1.0, per_group_per_minute=18.0, concurrency=8)
_GONE_BAD_REQUESTS = ("chat not found", "user not found", "peer_id_invalid", "group chat was deactivated")
# Answers that mean the chat's people chose to stop the bot: blocked it, kicked or removed it
# ("bot is not a member of the supergroup chat" when the removal's update was missed), deleted
# the account or the group. Any other "gone" (a chat id that does not exist, no right to post) is
# told to the operator when it pauses the chat.
_USERS_CHOICE = (
    "blocked by the user",
    "kicked",
    "is not a member",
    "user is deactivated",
    "group chat was deactivated",
)


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def classify(error: TelegramError) -> Outcome:
    """Map a python-telegram-bot error to a delivery outcome.

    BadRequest is a subclass of NetworkError in PTB, so it is tested first: a 400 is
    permanent for this message, never a transient network fault.
    """
    text = short_error(error)  # a whole HTML error page is quoted in some
    if isinstance(error, RetryAfter):
        with warnings.catch_warnings():  # PTB 22 warns that the int will become a timedelta: both are handled
            warnings.simplefilter("ignore", PTBDeprecationWarning)
            wait = _seconds(error.retry_after)
        return Outcome(OutcomeKind.RETRY, error=text, retry_after=wait)
    if isinstance(error, ChatMigrated):
        return Outcome(OutcomeKind.RETRY, error=text, new_address=str(error.new_chat_id))
    by_user = any(phrase in text.lower() for phrase in _USERS_CHOICE)
    if isinstance(error, Forbidden):
        return Outcome(OutcomeKind.GONE, error=text, by_user=by_user)
    if isinstance(error, BadRequest):
        gone = any(phrase in text.lower() for phrase in _GONE_BAD_REQUESTS)
        return Outcome(OutcomeKind.GONE if gone else OutcomeKind.FAILED, error=text, by_user=by_user)
    if isinstance(error, NetworkError):  # includes TimedOut and 5xx answers
        return Outcome(OutcomeKind.RETRY, error=text)
    return Outcome(OutcomeKind.RETRY, error=f"{type(error).__name__}: {text}")


# The Bot API methods that post into a chat, and so count against the overall flood limit.
_CHAT_POSTS = frozenset({"sendMessage", "sendPhoto", "sendDocument", "editMessageText", "editMessageReplyMarkup"})
_ANSWER_TRIES = 3


class PacedAnswers(BaseRateLimiter[None]):
    """Puts command answers under the alert pacer, so both share one learnt overall rate.

    Telegram counts every message the bot sends against one limit. Answers that bypass
    the pacer took part of each second the pacer believed was its own: at a limit the bot
    was not told, every answer risked a 429 and every 429 cut the learnt rate. An answer
    books the next overall slot like an alert; the worker books only one slot ahead, so
    an answer waits at most one slot (plus a bot-wide hold after a 429), never behind the
    queue. A refused answer is retried when the platform allows, instead of being lost.
    """

    def __init__(self) -> None:
        self.pacer: Pacer | None = None  # set once a delivery worker paces this bot's alerts

    async def initialize(self) -> None:
        """Nothing to set up: the pacer arrives with the delivery worker."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        """Wait for an overall slot before a post into a chat; learn from a 429 and try again."""
        chat_id = data.get("chat_id")
        pacer = self.pacer
        if pacer is None or endpoint not in _CHAT_POSTS or not isinstance(chat_id, int):
            return await callback(*args, **kwargs)
        for attempt in range(1, _ANSWER_TRIES + 1):
            await pacer.acquire(str(chat_id), is_group=chat_id < 0)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as error:
                pacer.limited(str(chat_id), _seconds(error.retry_after), bot_wide=True)
                if attempt == _ANSWER_TRIES:
                    raise
                await asyncio.sleep(max(0.0, pacer.chat_wait(str(chat_id))))
        raise AssertionError("unreachable")


class TelegramNotifier:
    """Sends alerts as HTML messages through a python-telegram-bot ``Bot``."""

    platform = "telegram"
    # Telegram asks broadcasts to stay under about 30 messages a second: pacing may learn
    # its way up to that from the configured rate, and no further.
    PLATFORM_PER_SECOND = 30.0

    def __init__(self, bot: Bot, limits: Limits = TELEGRAM_LIMITS, answers: PacedAnswers | None = None) -> None:
        self.bot = bot
        self.limits = limits.with_platform_limit(self.PLATFORM_PER_SECOND)
        self._answers = answers

    def share_pacer(self, pacer: Pacer) -> None:
        """Pace the command answers with the pacer that paces the alerts."""
        if self._answers is not None:
            self._answers.pacer = pacer

    def is_group(self, address: str) -> bool:
        return address.startswith("-")  # groups and supergroups have negative ids

    async def send(self, alert: Outgoing) -> Outcome:
        if isinstance(alert, Notice):  # to the operator: plain text, no button
            parts, manage = [html.escape(notice_text(alert))], None
        else:
            parts = alert_html(alert)
            manage = InlineKeyboardMarkup(
                [[InlineKeyboardButton(_(messages.BUTTON_UNSUBSCRIBE), callback_data="subscriptions")]]
            )
        try:
            for n, text in enumerate(parts, start=1):
                await self.bot.send_message(
                    int(alert.destination.address),
                    text,
                    parse_mode=ParseMode.HTML,
                    link_preview_options=NO_PREVIEW,
                    reply_markup=manage if n == len(parts) else None,
                )
        except TelegramError as error:
            outcome = classify(error)
            if isinstance(error, RetryAfter):
                # The answer does not say whose limit it was; chats are paced under theirs,
                # so a 429 on sendMessage is taken as the bot's overall flood limit.
                return Outcome(outcome.kind, outcome.error, outcome.retry_after, global_limit=True)
            return outcome
        return Outcome.sent()


NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
PLATFORM = "telegram"
GROUPS = {ChatType.GROUP, ChatType.SUPERGROUP}
ADMINS = {ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER}
MENU = [
    ("check", N_("Is a model, product or brand recalled? /check PAC20-272")),
    ("more", N_("More matches of the last /check")),
    ("subscribe", N_("Get alerts for a brand, model or supplier")),
    ("unsubscribe", N_("Stop alerts")),
    ("subscriptions", N_("What this chat follows")),
    ("recent", N_("The latest recalls")),
    ("status", N_("How the checker is doing")),
    ("language", N_("Answer in English or Chinese (中文)")),
    ("settings", N_("Alerts as they come, or a daily digest; quiet hours")),
    ("forget", N_("Delete everything stored about this chat")),
    ("help", N_("What I can do")),
]
# Telegram shows a menu by the user's language_code (ISO 639-1); one without a menu of its own gets the default.
MENU_LANGUAGES = {"zh": "zh_Hans"}


def menu() -> list[BotCommand]:
    """Return the command menu in the current language."""
    return [BotCommand(name, _(description)) for name, description in MENU]


def keyboard(buttons: tuple[Button, ...]) -> InlineKeyboardMarkup | None:
    """Return one button a row; a command too long for callback data (64 bytes) is left out."""
    rows = [[InlineKeyboardButton(b.label, callback_data=b.command)] for b in buttons if len(b.command.encode()) <= 64]
    return InlineKeyboardMarkup(rows) if rows else None


async def send_reply(message: Message, reply: Reply) -> None:
    """Send a reply as HTML messages, the buttons under the last one."""
    parts = reply_html(reply)
    for n, text in enumerate(parts, start=1):
        markup = keyboard(reply.buttons) if n == len(parts) else None
        await message.reply_html(text, link_preview_options=NO_PREVIEW, reply_markup=markup, do_quote=False)


@dataclass
class TelegramHandlers:
    """The update handlers, holding the core they call and the reader of label photos."""

    core: Core
    photos: PhotoReader

    async def _allowed(self, update: Update, command: str) -> bool:
        """Tell whether the sender may run the command: in groups only admins change subscriptions."""
        chat, user = update.effective_chat, update.effective_user
        if command not in MUTATING or chat is None or chat.type not in GROUPS or user is None:
            return True
        member = await chat.get_member(user.id)
        return member.status in ADMINS

    def _destination(self, update: Update) -> Destination:
        chat = update.effective_chat
        if chat is None:  # the handlers below are registered only for updates that come from a chat
            raise ValueError(f"an update without a chat: {update.update_id}")
        return Destination(PLATFORM, str(chat.id))

    async def _language(self, update: Update) -> str:
        """Return the chat's chosen language, else the sender's app language."""
        user = update.effective_user
        guess = user.language_code if user else None
        return await asyncio.to_thread(self.core.language, self._destination(update), guess)

    async def _admitted(self, update: Update) -> bool:
        """Tell whether the chat is within its command limit; the first command over it gets one sentence."""
        admission = self.core.admit(self._destination(update))  # before any await: counted in arrival order
        if admission is Admission.WARN and update.effective_message is not None:
            with i18n.language(await self._language(update)):
                await send_reply(update.effective_message, too_many(self.core))
        return admission is Admission.ANSWER

    async def _apology_language(self, update: Update) -> str | None:
        """Return the chat's language for an apology; the sender's app language if the database is the trouble."""
        user = update.effective_user
        try:
            return await self._language(update)
        except Exception:  # the failure being apologised for may be the database itself
            return i18n.language_of(user.language_code if user else None)

    async def _run(self, update: Update, text: str) -> Reply:
        command = text.lstrip("/").split(maxsplit=1)[0].split("@")[0].lower() if text.strip() else ""
        if not await self._allowed(update, command):
            return Reply(_(messages.GROUP_ADMIN_ONLY))
        return await asyncio.to_thread(dispatch, self.core, self._destination(update), text)

    async def handle_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Any /command: parse, call the core, render, reply, in the chat's language."""
        message = update.effective_message
        if message is None or not await self._admitted(update):
            return
        with i18n.language(await self._language(update)):
            await send_reply(message, await self._run(update, message.text or ""))

    async def handle_photo(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A photo of a label (or a picture sent as a file): read its barcode or model number, and answer."""
        message = update.effective_message
        if message is None or not await self._admitted(update):
            return
        with i18n.language(await self._language(update)):
            await send_reply(message, await self._read_photo(update, message))

    async def _read_photo(self, update: Update, message: Message) -> Reply:
        picture = message.photo[-1] if message.photo else message.document  # the last size is the largest
        if picture is None:
            return Reply(_(messages.PHOTO_NOT_IMAGE))
        dest = self._destination(update)
        if refused := photo_refused(self.photos, dest, picture.file_size or 0):  # before getFile and the download
            return refused
        await message.chat.send_action(ChatAction.TYPING)  # "reading the label...", at once
        data = bytes(await (await picture.get_file()).download_as_bytearray())
        return await read_photo(self.core, self.photos, dest, data)

    async def handle_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A button under a reply or an alert: run its command and answer the press."""
        query = update.callback_query
        if query is None or not await self._admitted(update):
            return
        with i18n.language(await self._language(update)):
            reply = await self._run(update, "/" + (query.data or "help"))
            await query.answer(reply.text[:200])
            if isinstance(query.message, Message):  # an old message Telegram no longer shows is not answered under
                await send_reply(query.message, reply)

    async def handle_my_member(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The bot was kicked, left, or added back: pause or resume the chat at once."""
        change = update.my_chat_member
        if change is None:
            return
        dest = Destination(PLATFORM, str(change.chat.id))
        status = change.new_chat_member.status
        await asyncio.to_thread(self._membership, dest, status)

    def _membership(self, dest: Destination, status: str) -> None:
        if status in (ChatMemberStatus.BANNED, ChatMemberStatus.LEFT):
            self.core.destination_gone(dest, f"the bot was removed from the chat ({status})", by_user=True)
        else:
            self.core.destination_back(dest)

    async def handle_migration(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A group became a supergroup (its last message, see :data:`MIGRATED_AWAY`): move it to the new id."""
        message = update.effective_message
        if message is None or message.migrate_to_chat_id is None:  # MIGRATED_AWAY lets only these through
            return
        old = Destination(PLATFORM, str(message.chat.id))
        await asyncio.to_thread(self.core.destination_moved, old, str(message.migrate_to_chat_id))

    async def handle_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log the failure with its traceback and send one short apology."""
        logger.error("Telegram update failed", exc_info=context.error)
        if isinstance(update, Update) and update.effective_message is not None:
            try:
                with i18n.language(await self._apology_language(update)):
                    apology = _(messages.INTERNAL_ERROR)
                await update.effective_message.reply_text(apology, do_quote=False)
            except TelegramError:
                logger.warning("could not send the apology either")


class _MigratedAway(filters.MessageFilter):
    """A group's last message, saying which supergroup it became (``migrate_to_chat_id``).

    An upgrade brings two service messages: this one in the old group, then one in the
    new supergroup with ``migrate_from_chat_id``. ``filters.StatusUpdate.MIGRATE`` matches
    both, and handling the second as a move would send the new chat to nowhere.
    """

    def filter(self, message: Message) -> bool:
        return message.migrate_to_chat_id is not None


MIGRATED_AWAY = _MigratedAway(name="MIGRATED_AWAY")


# Photos are read in private chats; in a group only one captioned /check, not every picture members share.
PHOTOS = (filters.PHOTO | filters.Document.IMAGE) & (filters.ChatType.PRIVATE | filters.CaptionRegex(r"^/check\b"))


def build_application(
    config: TelegramConfig, core: Core, answers: PacedAnswers | None = None, photos: PhotoReader | None = None
) -> Application:
    """Return the PTB application with every handler registered."""
    builder = (
        ApplicationBuilder()
        .token(config.token or "")
        .base_url(config.api_base_url)
        .base_file_url(config.api_file_url)
        .concurrent_updates(True)  # a slow reply must not hold up the next person
    )
    app = (builder.rate_limiter(answers) if answers is not None else builder).build()
    handlers = TelegramHandlers(core, photos or PhotoReader())
    app.add_handler(CommandHandler(list(COMMANDS), handlers.handle_command))
    # In a private chat an unknown command gets a sentence; in groups it may be another bot's.
    app.add_handler(MessageHandler(filters.COMMAND & filters.ChatType.PRIVATE, handlers.handle_command))
    app.add_handler(MessageHandler(PHOTOS, handlers.handle_photo))
    app.add_handler(CallbackQueryHandler(handlers.handle_button))
    app.add_handler(ChatMemberHandler(handlers.handle_my_member, ChatMemberHandler.MY_CHAT_MEMBER))
    app.add_handler(MessageHandler(MIGRATED_AWAY, handlers.handle_migration))
    app.add_error_handler(handlers.handle_error)
    return app


def _startup_error(error: TelegramError, config: TelegramConfig) -> StartupError:
    if isinstance(error, InvalidToken):
        return StartupError(
            "Telegram rejected the bot token; check [telegram] token (or RECALLBOT_TELEGRAM__TOKEN) against @BotFather."
        )
    return StartupError(
        f"Could not reach the Telegram Bot API at {config.api_base_url} ({error.message}). "
        "Is the network up, and is [telegram] api_base_url right?"
    )


def _polling_failed(error: TelegramError) -> None:
    """One line per failed getUpdates (PTB retries by itself), instead of PTB's ERROR and traceback."""
    logger.warning("Telegram: getUpdates failed (%s); retrying", short_error(error))


def _updater(app: Application) -> Updater:
    if app.updater is None:  # ApplicationBuilder always makes one unless told not to
        raise RuntimeError("the Telegram application has no updater")
    return app.updater


async def _start_polling(app: Application) -> None:
    await _updater(app).start_polling(allowed_updates=Update.ALL_TYPES, error_callback=_polling_failed)
    logger.info("Telegram: polling as @%s", app.bot.username)


@dataclass
class _Poller:
    """Polls Telegram while this instance holds the poller lock (Telegram allows one poller per token)."""

    app: Application
    lock: Leadership

    async def start(self) -> None:
        try:
            await _start_polling(self.app)
        except TelegramError as error:  # give the lock up, so that this or another instance tries again
            logger.error("Telegram: could not start polling (%s); trying again later", error.message)
            await asyncio.to_thread(self.lock.release)

    async def stop(self) -> None:
        updater = _updater(self.app)
        if updater.running:
            await updater.stop()


@asynccontextmanager
async def telegram_running(
    config: TelegramConfig, core: Core, *, poller_retry: float = 15.0, poller_check: float = 5.0
) -> AsyncIterator[TelegramNotifier]:
    """Poll Telegram and answer commands until the block exits; yield the alert notifier.

    Alerts go through a Bot of their own, with its own connection pool, so replies to
    commands never queue behind a broadcast. Of several instances sharing PostgreSQL
    only the holder of the poller lock polls; the others deliver alerts and try for the
    lock every ``poller_retry`` seconds. The holder confirms the lock every
    ``poller_check`` seconds and stops polling as soon as it is lost, before another
    instance starts (``storage.leader`` explains the timing).
    """
    cadence = Cadence(retry_every=poller_retry, check_every=poller_check)
    answers = PacedAnswers()
    photos = PhotoReader()
    app = build_application(config, core, answers, photos)
    limits = Limits(
        per_second=config.messages_per_second,
        per_chat_per_second=config.chat_messages_per_second,
        per_group_per_minute=config.group_messages_per_minute,
        concurrency=TELEGRAM_LIMITS.concurrency,
    )
    request = HTTPXRequest(connection_pool_size=limits.concurrency + 2)
    sender = Bot(config.token or "", base_url=config.api_base_url, base_file_url=config.api_file_url, request=request)
    try:
        await app.initialize()
        await sender.initialize()
        await app.bot.set_my_commands(menu())
        for code, lang in MENU_LANGUAGES.items():
            with i18n.language(lang):
                await app.bot.set_my_commands(menu(), language_code=code)
    except TelegramError as error:
        await sender.shutdown()
        await app.shutdown()
        photos.close(wait=False)
        raise _startup_error(error, config) from None
    await app.start()
    poller = _Poller(app, core.lock("telegram-poller"))
    try:
        if held := await asyncio.to_thread(poller.lock.try_acquire):
            await _start_polling(app)
        else:
            logger.info("Telegram: another instance polls; this one delivers alerts")
    except TelegramError as error:
        await asyncio.to_thread(poller.lock.release)
        await app.stop()
        await sender.shutdown()
        await app.shutdown()
        photos.close(wait=False)
        raise _startup_error(error, config) from None
    leading = asyncio.create_task(hold(poller.lock, cadence, poller.start, poller.stop, held=held), name="poller")
    try:
        yield TelegramNotifier(sender, limits, answers)
    finally:
        leading.cancel()
        await asyncio.wait([leading])  # ended for good before the updater is stopped below
        await poller.stop()
        await asyncio.to_thread(poller.lock.release)
        await app.stop()
        await sender.shutdown()
        await app.shutdown()
        photos.close(wait=False)  # a label being read is dropped with the process


class TelegramPlatform:
    """Telegram as a recallbot platform (entry point ``telegram``): on when a bot token is set."""

    name = "telegram"
    fallback = False

    def configured(self, config: Config) -> bool:
        return bool(config.telegram.token)

    def running(self, config: Config, core: Core, stop: asyncio.Event) -> AbstractAsyncContextManager[TelegramNotifier]:
        return telegram_running(config.telegram, core)


def platform() -> TelegramPlatform:
    """Return the Telegram platform (the ``recallbot.platforms`` entry point)."""
    return TelegramPlatform()
