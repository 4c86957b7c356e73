"""Test harness: the real start-up path and DeliveryWorker, in a process of its own.

Alerts go to a sink file that, like Discord with a message nonce, drops a
repeat of a delivery id it already holds (and counts it). The process exits
when no alert is left to send (with an AssertionError if that takes over two
minutes, as long as the tests wait for it), or dies when the test kills it.

Usage: python -m tests.fanout_worker DATABASE_URL SINK_FILE

It also holds what the crash tests share: the leases a killed process left behind, and
the report of how long recovery took.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import datetime
from pathlib import Path

from sqlmodel import Session, col, func, select

from bot.commands import Core
from bot.config import Config, StorageConfig
from bot.delivery import Limits, Outcome
from bot.events import Alert
from bot.runtime import running
from storage import outbox
from storage.db import make_engine
from storage.tables import DeliveryRow
from tests.conftest import eventually


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
            fh.write(json.dumps({"id": alert.id, "chat": int(alert.destination.address)}) + "\n")
        self.ids.add(alert.id)
        return Outcome.sent()


def held_leases(session: Session, now: datetime) -> dict[str, datetime]:
    """Return, per claimer, when the earliest of its unexpired leases on pending deliveries ends."""
    statement = (
        select(DeliveryRow.claimed_by, func.min(DeliveryRow.claimed_until))
        .where(DeliveryRow.status == outbox.PENDING, col(DeliveryRow.claimed_until) > now)
        .group_by(col(DeliveryRow.claimed_by))
    )
    return {owner: until for owner, until in session.exec(statement).all() if owner is not None}


def report_recovery(what: str, seconds: float, repeats: int | None = None) -> None:
    """Print a crash test's time to recovery, and append it to the file $RECALLBOT_REPORT names."""
    line = f"{what}: time to recovery: {seconds:.1f} s" + ("" if repeats is None else f", {repeats} sent twice")
    print(line)
    if path := os.environ.get("RECALLBOT_REPORT"):
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")


async def main(url: str, sink: Path) -> None:
    core = Core(make_engine(url))

    def drained() -> bool:
        with core.session() as session:
            return outbox.queue_depth(session) == 0

    async with running(Config(storage=StorageConfig(url)), core, {"sink": Sink(sink)}):
        # Exits non-zero (AssertionError) if the alerts are not all sent within the time the tests wait for it.
        await eventually(drained, timeout=120, every=0.2)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2])))
