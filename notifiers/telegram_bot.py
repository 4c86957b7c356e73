"""Telegram: the alert notifier (and, with issue 4, the command front end)."""

from __future__ import annotations

import logging
import warnings
from datetime import timedelta

from telegram import Bot, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.warnings import PTBDeprecationWarning

from bot.delivery import Limits, Outcome, OutcomeKind
from bot.events import Alert
from notifiers.telegram_render import alert_html

logger = logging.getLogger(__name__)

# Below Telegram's published limits: about 30 messages a second overall, one a second
# in a chat, 20 a minute in a group.
TELEGRAM_LIMITS = Limits(per_second=25.0, per_chat_per_second=1.0, per_group_per_minute=18.0, concurrency=8)
_GONE_BAD_REQUESTS = ("chat not found", "user not found", "peer_id_invalid", "group chat was deactivated")


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def classify(error: TelegramError) -> Outcome:
    """Map a python-telegram-bot error to a delivery outcome.

    BadRequest is a subclass of NetworkError in PTB, so it is tested first: a 400 is
    permanent for this message, never a transient network fault.
    """
    text = error.message
    if isinstance(error, RetryAfter):
        with warnings.catch_warnings():  # PTB 22 warns that the int will become a timedelta: both are handled
            warnings.simplefilter("ignore", PTBDeprecationWarning)
            wait = _seconds(error.retry_after)
        return Outcome(OutcomeKind.RETRY, error=text, retry_after=wait)
    if isinstance(error, ChatMigrated):
        return Outcome(OutcomeKind.RETRY, error=text, new_chat_id=error.new_chat_id)
    if isinstance(error, Forbidden):
        return Outcome(OutcomeKind.GONE, error=text)
    if isinstance(error, BadRequest):
        gone = any(phrase in text.lower() for phrase in _GONE_BAD_REQUESTS)
        return Outcome(OutcomeKind.GONE if gone else OutcomeKind.FAILED, error=text)
    if isinstance(error, NetworkError):  # includes TimedOut and 5xx answers
        return Outcome(OutcomeKind.RETRY, error=text)
    return Outcome(OutcomeKind.RETRY, error=f"{type(error).__name__}: {text}")


class TelegramNotifier:
    """Sends alerts as HTML messages through a python-telegram-bot ``Bot``."""

    platform = "telegram"

    def __init__(self, bot: Bot, limits: Limits = TELEGRAM_LIMITS) -> None:
        self.bot = bot
        self.limits = limits

    def is_group(self, chat_id: int) -> bool:
        return chat_id < 0  # groups and supergroups have negative ids

    async def send(self, alert: Alert) -> Outcome:
        try:
            for text in alert_html(alert):
                await self.bot.send_message(
                    alert.destination.chat_id,
                    text,
                    parse_mode=ParseMode.HTML,
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                )
        except TelegramError as error:
            return classify(error)
        return Outcome.sent()
