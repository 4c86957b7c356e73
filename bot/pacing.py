"""Pacing sends under a platform's limits, on the monotonic clock, at a rate learnt from its 429s.

Pacing and its waits run on ``time.monotonic``: a wall clock stepped back an hour once
stalled delivery for 3,600 s, because every booked slot suddenly lay an hour ahead.

The overall rate is learnt, bot-wide, and each live instance sends ``1 / share`` of it:

- it starts at the configured ``per_second`` and rises while sends go through: by
  PROBE_START of itself per second until the first refusal when the ceiling is far above
  the start (a slow start, as TCP's, so a platform that allows twice the budget is used
  within seconds), otherwise and afterwards by PROBE_FAST,
  and by PROBE_SLOW once it is back near the
  limit last met (probing fast there would overshoot it again and again; a cut learnt
  from a window that other sends had filled is climbed back quickly);
- it never probes above the platform's documented limit (``platform_per_second``), or
  the configured budget when that is higher: above it every probe would end in a 429;
- a bot-wide 429 sets it just under what the platform let through: MARGIN times the
  sends booked in the RATE_WINDOW before the refused one. Telegram and Discord count
  sends in a rolling second, so that count is the platform's limit as it stood, which a
  plain halving (AIMD) would miss by far and then overshoot again while climbing back;
- after a bot-wide 429 every chat waits until the refused window has room again (the
  oldest send in it has aged out), or the platform's retry_after if that is sooner;
- a bot-wide 429 whose window held far fewer sends than the rate puts there (the bot
  was nearly idle) says nothing of the overall rate: it halves the rate, learns nothing;
- a 429 of one chat, or one sent at the old rate before the last cut, teaches nothing
  about the overall rate: it only keeps that chat quiet.

The learnt rate is what is left for this sender: other sends counted against the same
limit (command answers from another client of the same bot) leave it lower.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace

RATE_WINDOW = 1.0  # seconds over which Telegram and Discord count sends
PROBE_START = 0.5  # rise per second before any refusal (a slow start): 25 -> 49 a second in about 1.5 s
SLOW_START_ROOM = 1.5  # the slow start runs only when the ceiling is this far above the start
PROBE_FAST = 0.1  # rise per second of sending far from a refusal: 25 -> 30 a second in about 2 s
PROBE_SLOW = 0.002  # rise per second of sending near the last refusal: 2 % in about 10 s
MARGIN = 0.98  # how far under the learnt limit to send: room for jitter in when sends arrive
MAX_CUT = 0.5  # a 429 that says nothing of the overall rate (its window was not full) halves it
FLOOR = 0.25  # of the configured rate: 429s that were not about the rate must not stop delivery
KEEP = 4 * RATE_WINDOW  # how long bookings are remembered (a 429 may answer late)


@dataclass(frozen=True)
class Limits:
    """How fast a platform lets a bot send; the worker keeps under these."""

    per_second: float = 25.0  # messages per second overall, where pacing starts
    per_chat_per_second: float = 1.0
    per_group_per_minute: float = 18.0
    concurrency: int = 8  # sends in flight at once
    platform_per_second: float | None = None  # the platform's documented overall limit: probe up to it

    def with_platform_limit(self, per_second: float) -> Limits:
        """Return these limits with the platform's documented overall limit, unless one is set."""
        return self if self.platform_per_second is not None else replace(self, platform_per_second=per_second)


@dataclass(frozen=True)
class Throttle:
    """A bot-wide 429 that a client waited out by itself, so no outcome carries it."""

    sent_at: float  # time.monotonic() when the refused request went out
    retry_after: float | None


class AdaptiveRate:
    """The overall send rate a platform takes: probe up while clean, cut on a bot-wide 429."""

    def __init__(self, start: float, ceiling: float, floor: float) -> None:
        self.per_second = start
        self.ceiling = ceiling
        self.floor = floor
        self.slow_from = float("inf")  # near the limit last met: probe slowly from here
        # A slow start (a fast climb until the first 429 of any kind) only where there is much
        # room to find: Discord's 50/s over a 25/s budget. Where the budget is already near
        # the ceiling (Telegram's 25 of ~30/s) it gains little, and a refusal learnt a little
        # late after a fast climb cost 2 % of sends in 429s at an untold 20/s limit.
        self.starting = ceiling >= SLOW_START_ROOM * start

    def went_out(self, share: int) -> None:
        """Raise the rate after one send of this instance (1 / share of the bot's sends)."""
        # Per second this instance sends per_second / share times; each adds probe * share,
        # so the rate grows by probe * per_second a second.
        probe = PROBE_SLOW if self.per_second >= self.slow_from else PROBE_FAST
        if self.starting:  # nothing refused yet: find the ceiling or the limit fast
            probe = PROBE_START
        self.per_second = min(self.ceiling, self.per_second + probe * share)

    def refused(self, got_through: int, span: float, share: int) -> bool:
        """Cut the rate to just under ``got_through`` sends a window; return whether that count was believed.

        ``span`` is how long those sends took: far fewer than the rate puts in that time
        means the window was not full, so the 429 was a chat's or a penalty, not the rate.
        A window that was full for less than its length held others' sends too (command
        answers, a burst just before): its count is a floor, and the climb back is fast up
        to just under the rate that was refused.
        """
        self.starting = False
        plausible = got_through > 0 and got_through >= MAX_CUT * span * self.per_second / share
        if plausible:
            limit = got_through * share / RATE_WINDOW
            whole_window = span >= 0.9 * RATE_WINDOW
            self.slow_from = MARGIN * (limit if whole_window else self.per_second)
            cut = MARGIN * min(self.per_second, limit)
        else:
            cut = self.per_second * MAX_CUT
        self.per_second = max(self.floor, cut)
        return plausible


class Pacer:
    """Spaces sends so that no overall, per-chat or per-group limit is exceeded.

    ``throttles``, when given, returns the bot-wide 429s the client has waited out by
    itself since it was last called (discord.py retries those inside a send).
    """

    def __init__(
        self,
        limits: Limits,
        clock: Callable[[], float] | None = None,
        throttles: Callable[[], list[Throttle]] | None = None,
    ) -> None:
        self.limits = limits
        self.share = 1  # live instances splitting the overall budget
        # Just under the documented limit: probing up to it exactly ends each climb in a 429.
        ceiling = max(limits.per_second, MARGIN * (limits.platform_per_second or limits.per_second))
        self.rate = AdaptiveRate(limits.per_second, ceiling, limits.per_second * FLOOR)
        self._clock = clock or time.monotonic
        self._throttles = throttles
        self._lock = threading.Lock()  # outcomes are recorded in a worker thread
        self._next_global = 0.0
        self._held_until = 0.0
        self._old_rate_until = float("-inf")  # sends up to this slot went out before the last cut
        self._next_chat: dict[str, float] = {}
        self._booked: deque[float] = deque()  # overall slots of the last KEEP seconds
        self._booked_at: dict[str, float] = {}  # each chat's last slot

    @property
    def per_second(self) -> float:
        """Return this instance's current overall rate."""
        return self.rate.per_second / self.share

    def chat_ready_at(self, address: str) -> float:
        """Return when the chat may receive its next message (monotonic seconds)."""
        return self._next_chat.get(address, 0.0)

    def chat_wait(self, address: str) -> float:
        """Return how many seconds the chat must stay quiet (a bot-wide hold beyond a window counts too)."""
        now = self._clock()
        wait, held = self.chat_ready_at(address) - now, self._held_until - now
        return max(wait, held) if held > RATE_WINDOW else wait

    def reserve(self, address: str, is_group: bool) -> float:
        """Book the next overall slot and the chat's slot after it; return the seconds to wait."""
        now = self._clock()
        with self._lock:
            for throttle in self._throttles() if self._throttles else ():
                self._refused(throttle.sent_at, throttle.retry_after, now)
            start = max(now, self._next_global, self._held_until)
            self._next_global = start + 1.0 / self.per_second
            self.rate.went_out(self.share)
            self._booked.append(start)
            while self._booked[0] < start - KEEP:
                self._booked.popleft()
            self._booked_at[address] = start
            gap = 60.0 / self.limits.per_group_per_minute if is_group else 1.0 / self.limits.per_chat_per_second
            self._next_chat[address] = max(start, self.chat_ready_at(address)) + gap
        return start - now

    async def acquire(self, address: str, is_group: bool) -> None:
        """Wait for the next overall slot, and book the chat's next slot after it."""
        delay = self.reserve(address, is_group)
        if delay > 0:
            await asyncio.sleep(delay)

    def block(self, address: str, seconds: float) -> None:
        """Keep a chat quiet for a while (the platform asked us to wait)."""
        with self._lock:
            self._next_chat[address] = max(self.chat_ready_at(address), self._clock() + seconds)

    def limited(self, address: str, retry_after: float, *, bot_wide: bool) -> None:
        """Take a 429: keep the chat quiet for ``retry_after``; learn the overall rate if it was bot-wide."""
        self.block(address, retry_after)
        if bot_wide:
            now = self._clock()
            with self._lock:
                self._refused(self._booked_at.get(address, now), retry_after, now)

    def _refused(self, sent_at: float, retry_after: float | None, now: float) -> None:
        if sent_at <= self._old_rate_until:
            return  # booked at the old rate, before the last cut: that overshoot is already paid for
        window = [at for at in self._booked if sent_at - RATE_WINDOW < at < sent_at]
        self._old_rate_until = max(now, self._booked[-1]) if self._booked else now
        if not self.rate.refused(len(window), sent_at - window[0] if window else 0.0, self.share):
            return
        # The refused window has room once its oldest send ages out; one slot later to be sure.
        room = window[0] + RATE_WINDOW + 1.0 / self.per_second
        until = room if retry_after is None else min(room, now + retry_after)
        self._held_until = max(self._held_until, until)

    def forget_idle(self) -> None:
        """Drop chats whose slot has passed, so the tables do not grow without end."""
        now = self._clock()
        with self._lock:
            self._next_chat = {chat: at for chat, at in self._next_chat.items() if at > now}
            self._booked_at = {chat: at for chat, at in self._booked_at.items() if at > now - KEEP}
