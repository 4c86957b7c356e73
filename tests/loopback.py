"""What the fake platform servers share: serving on a free 127.0.0.1 port and a send-rate window."""

from __future__ import annotations

import time
from collections import deque

from aiohttp import web


async def serve(app: web.Application) -> tuple[web.AppRunner, int]:
    """Serve ``app`` on 127.0.0.1 at a free port; return the runner (to clean up) and the port."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]


class SendWindow:
    """Admit at most ``per_second`` sends in any rolling second, as the platforms enforce."""

    def __init__(self, per_second: float) -> None:
        self.per_second = per_second
        self._sent_at: deque[float] = deque()

    def admit(self) -> float:
        """Count a send if there is room and return 0; else return the seconds until there is."""
        now = time.monotonic()
        while self._sent_at and self._sent_at[0] <= now - 1.0:
            self._sent_at.popleft()
        if len(self._sent_at) >= self.per_second:
            return self._sent_at[0] + 1.0 - now
        self._sent_at.append(now)
        return 0.0
