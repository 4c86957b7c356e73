"""A fan-out killed with SIGKILL part way and restarted delivers every alert exactly once.

The time from the restart to the last alert delivered is printed (and appended to
$RECALLBOT_REPORT): it includes the new process's start-up.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

from bot.commands import Core
from bot.dataset import store_events
from bot.events import Destination
from storage import outbox
from storage.db import make_engine, migrate
from tests.conftest import eventually, slice_event, subscribe_and_queue
from tests.fanout_worker import held_leases, report_recovery

CHATS = 300
T0 = datetime.now(UTC)


def harness(url: str, sink) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.fanout_worker", url, str(sink)])


def delivered(sink) -> set[int]:
    return {json.loads(line)["chat"] for line in sink.read_text().splitlines()}


async def test_sigkill_mid_fanout_then_restart_delivers_each_alert_exactly_once(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'recallbot.db'}"
    engine = make_engine(url)
    migrate(engine)
    core = Core(engine)
    event = slice_event("25338")
    with core.session() as session:
        store_events(session, [event], "t", T0)
        session.commit()
    dests = [Destination("sink", chat) for chat in range(1, CHATS + 1)]
    assert subscribe_and_queue(core, event, dests, "brand", "anker", "Anker", T0) == CHATS

    sink = tmp_path / "sink.jsonl"
    first = harness(url, sink)
    try:
        await eventually(lambda: sink.exists() and sink.read_text().count("\n") >= 60, timeout=60)
    finally:  # killed part way (or, had it never got there, killed anyway: no process outlives the test)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    before_restart = sink.read_text().count("\n")
    with core.session() as session:
        assert 0 < outbox.queue_depth(session) < CHATS  # killed part way
        leases = held_leases(session, datetime.now(UTC))
    assert len(leases) == 1  # the killed process held claims

    restarted = time.monotonic()
    second = harness(url, sink)
    try:
        await eventually(lambda: len(delivered(sink)) >= CHATS or second.poll() is not None, timeout=120)
    except AssertionError:
        second.kill()
        raise
    recovery = time.monotonic() - restarted
    assert second.wait(timeout=120) == 0
    # Start-up released the dead process's claims: it did not wait for their leases to end.
    assert datetime.now(UTC) < min(leases.values())

    lines = [json.loads(line) for line in sink.read_text().splitlines()]
    assert sorted(line["chat"] for line in lines) == list(range(1, CHATS + 1))
    assert len({line["id"] for line in lines}) == CHATS
    dropped = sink.with_suffix(".dropped")
    repeats = dropped.read_text().split() if dropped.exists() else []
    with capsys.disabled():
        report_recovery("SQLite, SIGKILL then restart", recovery, len(repeats))
    assert len(repeats) <= 4  # only alerts in flight at the kill (concurrency 4) were sent again
    assert before_restart < CHATS
    with core.session() as session:
        assert outbox.queue_depth(session) == 0
    engine.dispose()
