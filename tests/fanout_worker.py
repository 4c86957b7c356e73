"""Test harness: the real start-up path and DeliveryWorker, in a process of its own.

Alerts go to a sink file that, like Discord with a message nonce, drops a
repeat of a delivery id it already holds (and counts it). The process exits
when no alert is left to send, or dies when the test kills it.

Usage: python -m tests.fanout_worker DATABASE_URL SINK_FILE
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from bot.commands import Core
from bot.config import Config, StorageConfig
from bot.delivery import Limits, Outcome
from bot.events import Alert
from bot.runtime import running
from storage import outbox
from storage.db import make_engine


class Sink:
    platform = "sink"
    limits = Limits(per_second=100, per_chat_per_second=1, concurrency=4)

    def __init__(self, path: Path) -> None:
        self.path = path
        text = path.read_text() if path.exists() else ""
        complete = text[: text.rfind("\n") + 1]  # a line cut short by a kill is not a delivery
        path.write_text(complete)
        self.ids = {json.loads(line)["id"] for line in complete.splitlines()}
        self.dropped = path.with_suffix(".dropped")

    def is_group(self, chat_id: int) -> bool:
        return False

    async def send(self, alert: Alert) -> Outcome:
        if alert.id in self.ids:
            with self.dropped.open("a") as fh:
                fh.write(f"{alert.id}\n")
            return Outcome.sent()
        with self.path.open("a") as fh:
            fh.write(json.dumps({"id": alert.id, "chat": alert.destination.chat_id}) + "\n")
        self.ids.add(alert.id)
        return Outcome.sent()


async def main(url: str, sink: Path) -> None:
    core = Core(make_engine(url))
    async with running(Config(storage=StorageConfig(url)), core, {"sink": Sink(sink)}):
        while True:
            await asyncio.sleep(0.2)
            with core.session() as session:
                if outbox.queue_depth(session) == 0:
                    return


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2])))
