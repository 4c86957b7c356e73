"""Discord alert delivery: classify answers, hold back before a ban, and send embeds.

discord.py already waits out short 429s and retries 5xx a few times inside a request;
what still reaches us is classified here into the outbox's outcomes.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Mapping
from types import SimpleNamespace
from typing import Any

import aiohttp
import discord
from discord.utils import MISSING  # "not given"

from bot import i18n
from bot.delivery import Limits, Outcome, OutcomeKind
from bot.events import Destination
from bot.i18n import _
from bot.incidents import Notice, Outgoing
from bot.pacing import Throttle
from bot.render import notice_text
from bot.replies import Button
from notifiers.discord_render import ALERT_BUTTON, alert_page, buttons_view

PLATFORM = "discord"
# Discord allows 50 requests a second per bot and 5 messages per 5 seconds in a channel:
# pacing starts at 25 a second and may learn its way up to the 50, and no further.
DISCORD_LIMITS = Limits(
    per_second=25.0, per_chat_per_second=1.0, per_group_per_minute=60.0, concurrency=8, platform_per_second=50.0
)
# 403 missing access / missing permissions / cannot DM this user, 404 unknown channel.
GONE_CODES = {403: {50001, 50013, 50007}, 404: {10003}}
# The user closed their DMs or blocked the bot: their choice. The others are told to the operator
# when they pause a channel (the bot lost its rights there, a channel id that does not exist).
USERS_CHOICE = {50007}
INVALID_STATUSES = {401, 403, 429}
# Discord bans an IP for an hour after 10,000 invalid (401, 403, 429) requests in
# 10 minutes; sending stops well before that, at half.
INVALID_WINDOW = 600.0
INVALID_BUDGET = 5000
NO_MENTIONS = discord.AllowedMentions.none()


def bot_wide(headers: Mapping[str, str]) -> bool:
    """Tell whether a 429 was for the bot as a whole (Discord's global limit), not one route or channel.

    Discord marks its global limit with ``X-RateLimit-Global: true`` and scope "global".
    Scope "user" is the bot's per-route limit and "shared" a resource's: on a channel's
    messages both are that channel's bucket, so they only keep that channel waiting.
    """
    return headers.get("X-RateLimit-Global", "").lower() == "true" or headers.get("X-RateLimit-Scope") == "global"


class InvalidRequestGuard:
    """Count the client's 401, 403 and 429 answers over a sliding window, and note bot-wide 429s."""

    def __init__(
        self, budget: int = INVALID_BUDGET, window: float = INVALID_WINDOW, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.budget = budget
        self.window = window
        self._clock = clock
        self._seen: deque[float] = deque()
        self._throttles: list[Throttle] = []
        self._trip: dict[str, Any] | None = None  # the longest hold since the operator watch last asked

    def throttles(self) -> list[Throttle]:
        """Return the bot-wide 429s answered since the last call (discord.py waits most out by itself)."""
        taken, self._throttles = self._throttles, []
        return taken

    def record(self, status: int) -> None:
        """Note one answer's status."""
        if status in INVALID_STATUSES:
            self._seen.append(self._clock())

    def hold_for(self) -> float:
        """Return how many seconds to stop sending (0 while under the budget)."""
        now = self._clock()
        while self._seen and self._seen[0] <= now - self.window:
            self._seen.popleft()
        if len(self._seen) < self.budget:
            return 0.0
        hold = self._seen[len(self._seen) - self.budget] + self.window - now
        if self._trip is None or hold > self._trip["hold_seconds"]:  # the facts as they were when it held
            self._trip = {"count": len(self._seen), "minutes": round(self.window / 60), "hold_seconds": math.ceil(hold)}
        return hold

    def alarm(self) -> dict[str, Any] | None:
        """Return the facts of the longest hold since the last call (one in force now included), or None.

        A hold that began and ended between two calls is still told, as it was. Call it on the
        event loop that sends: the guard is not shared with other threads.
        """
        self.hold_for()
        trip, self._trip = self._trip, None
        return trip

    def trace_config(self) -> aiohttp.TraceConfig:
        """Return an aiohttp trace that records every answer of the client's session."""
        trace = aiohttp.TraceConfig()

        async def on_request_start(session: object, context: SimpleNamespace, params: object) -> None:
            context.sent_at = time.monotonic()  # the pacer's clock, not the guard's

        async def on_request_end(
            session: object, context: SimpleNamespace, params: aiohttp.TraceRequestEndParams
        ) -> None:
            response = params.response
            self.record(response.status)
            if response.status == 429 and bot_wide(response.headers):
                after = response.headers.get("Retry-After")
                sent_at = getattr(context, "sent_at", time.monotonic())
                self._throttles.append(Throttle(sent_at, float(after) if after else None))

        trace.on_request_start.append(on_request_start)
        trace.on_request_end.append(on_request_end)
        return trace


def classify(error: Exception) -> Outcome:
    """Map a discord.py or network error to a delivery outcome."""
    if isinstance(error, discord.RateLimited):  # a wait longer than the client's own limit
        return Outcome(
            OutcomeKind.RETRY, error=f"rate limited for {error.retry_after:.1f} s", retry_after=error.retry_after
        )
    if isinstance(error, discord.HTTPException):
        text = f"{error.status} {error.code}: {error.text}"[:500]
        if error.code in GONE_CODES.get(error.status, ()):
            return Outcome(OutcomeKind.GONE, error=text, by_user=error.code in USERS_CHOICE)
        if error.status == 429:
            headers = error.response.headers if error.response is not None else {}
            after = headers.get("Retry-After")
            wait = float(after) if after else None
            return Outcome(OutcomeKind.RETRY, error=text, retry_after=wait, global_limit=bot_wide(headers))
        if error.status >= 500 or error.status == 401:  # outage, or a token being rotated: try again later
            return Outcome(OutcomeKind.RETRY, error=text)
        return Outcome(OutcomeKind.FAILED, error=text)
    return Outcome(OutcomeKind.RETRY, error=f"{type(error).__name__}: {error}"[:500])


class DiscordNotifier:
    """Sends alerts as embeds to channels and DMs through a logged-in discord.py client."""

    platform = PLATFORM

    def __init__(self, client: discord.Client, guard: InvalidRequestGuard, limits: Limits = DISCORD_LIMITS) -> None:
        self.client = client
        self.guard = guard
        self.limits = limits
        self.throttles = guard.throttles  # the pacer learns from the 429s the client waits out itself
        self._buttons: dict[str, discord.ui.View | None] = {}  # the same under every alert: one per language

    def is_group(self, address: str) -> bool:
        return False  # Discord limits each channel alike

    def alarm(self) -> dict[str, Any] | None:
        """Tell the operator watch whether the invalid-request guard holds sends back (bot.operator)."""
        return self.guard.alarm()

    async def send(self, alert: Outgoing) -> Outcome:
        hold = self.guard.hold_for()
        if hold > 0:
            return Outcome(OutcomeKind.RETRY, error="too many invalid requests lately: holding back", retry_after=hold)
        if isinstance(alert, Notice):
            return await self._send_text(alert.destination, notice_text(alert), alert.id)
        page, lang = alert_page(alert), i18n.current()
        if lang not in self._buttons:
            self._buttons[lang] = buttons_view((Button(_(ALERT_BUTTON.label), ALERT_BUTTON.command),))
        channel = self.client.get_partial_messageable(int(alert.destination.address))
        try:
            await channel.send(
                page.content,
                embeds=page.embeds,
                nonce=str(alert.id),  # Discord drops a second message with the same nonce (a retry after a crash)
                allowed_mentions=NO_MENTIONS,
                view=self._buttons[lang] or MISSING,
            )
        except SEND_ERRORS as error:
            return classify(error)
        return Outcome.sent()

    async def _send_text(self, dest: Destination, text: str, nonce: int) -> Outcome:
        """Send plain text (a notice to the operator), with no embed or button."""
        channel = self.client.get_partial_messageable(int(dest.address))
        try:
            await channel.send(text, nonce=str(nonce), allowed_mentions=NO_MENTIONS)
        except SEND_ERRORS as error:
            return classify(error)
        return Outcome.sent()


SEND_ERRORS = (TimeoutError, discord.HTTPException, discord.RateLimited, aiohttp.ClientError, OSError)
