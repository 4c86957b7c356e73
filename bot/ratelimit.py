"""The per-chat command limit: a chat that sends too many commands at once is told once, then ignored.

A sliding window per destination: at most ``limit`` commands are answered in any
``window`` seconds. The command over the limit gets one sentence; the rest are ignored,
without a word, until the oldest answered command leaves the window. Ignoring costs
nothing: no database read, no message sent, so a flood cannot use up the bot's sending
rate (on Telegram, answers and alerts share one budget).

The counts are kept in this process. Each instance limits the commands it receives,
which is every command of the platform it polls: only one instance polls Telegram or
holds the Discord gateway at a time, so the limit is not multiplied by the instances.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from enum import Enum

from bot.events import Destination


class Admission(Enum):
    """What to do with a command a chat sent."""

    ANSWER = "answer"
    WARN = "warn"  # over the limit: say so, once, and do not answer
    IGNORE = "ignore"  # over the limit and already told


class CommandLimiter:
    """Counts each chat's commands in a sliding window; the clock is injectable (monotonic seconds)."""

    def __init__(self, limit: int = 20, window: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self.ignored = 0  # commands ignored since start-up, for logs and tests
        self._answered: dict[Destination, deque[float]] = {}
        self._warned: dict[Destination, float] = {}
        self._swept = clock()
        # Telegram and Discord handlers run on one event loop, but a console or a test may
        # call from threads: the bookkeeping is a few dictionary operations under a lock.
        self._lock = threading.Lock()

    def admit(self, dest: Destination) -> Admission:
        """Count a command from ``dest`` and say whether to answer it, warn, or ignore it."""
        with self._lock:
            now = self.clock()
            self._sweep(now)
            times = self._answered.setdefault(dest, deque())
            while times and times[0] <= now - self.window:
                times.popleft()
            if len(times) < self.limit:
                times.append(now)
                return Admission.ANSWER
            warned = self._warned.get(dest)
            if warned is None or warned <= now - self.window:  # one sentence per window, however long the flood
                self._warned[dest] = now
                return Admission.WARN
            self.ignored += 1
            return Admission.IGNORE

    def _sweep(self, now: float) -> None:
        """Forget chats quiet for a whole window, at most once a window, so the tables stay small."""
        if now - self._swept < self.window:
            return
        self._swept = now
        cutoff = now - self.window
        for dest in [d for d, times in self._answered.items() if not times or times[-1] <= cutoff]:
            del self._answered[dest]
        for dest in [d for d, at in self._warned.items() if at <= cutoff]:
            del self._warned[dest]
