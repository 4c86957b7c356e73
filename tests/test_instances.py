"""Three `recallbot run` processes on one PostgreSQL database and one fake Bot API."""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from datetime import UTC, datetime

from sqlmodel import col, func, select

from bot.commands import Core
from bot.dataset import load_bundled
from bot.events import Destination
from notifiers.telegram_bot import TELEGRAM_LIMITS
from storage import outbox, repo
from storage.tables import DeliveryRow, InstanceRow
from tests.conftest import RECALLBOT, clean_env, eventually, slice_event, subscribe_and_queue
from tests.fake_telegram import TOKEN
from tests.fanout_worker import report_recovery

CHATS = 2000
BUDGET = 150.0  # messages a second, for all instances together


def queue(core: Core, first_chat: int, count: int) -> int:
    dests = [Destination("telegram", chat) for chat in range(first_chat, first_chat + count)]
    return subscribe_and_queue(core, slice_event("25338"), dests, "model", "A1263", "A1263", datetime.now(UTC))


async def start(url: str, api, tmp_path, n: int) -> asyncio.subprocess.Process:
    env = clean_env(
        RECALLBOT_STORAGE__URL=url,
        RECALLBOT_TELEGRAM__TOKEN=TOKEN,
        RECALLBOT_TELEGRAM__API_BASE_URL=api.base_url,
        RECALLBOT_TELEGRAM__MESSAGES_PER_SECOND=str(BUDGET),
        RECALLBOT_CHECKER__INTERVAL_SECONDS="10",
    )
    workdir = tmp_path / f"instance{n}"
    workdir.mkdir()
    with open(workdir / "recallbot.log", "wb") as log:  # read when the test fails (see instance_logs)
        return await asyncio.create_subprocess_exec(*RECALLBOT, "run", cwd=workdir, env=env, stdout=log, stderr=log)


def instance_logs(tmp_path) -> str:
    """Return the last lines each instance logged, for a failure's report."""
    return "\n".join(
        f"--- {path.parent.name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-15:])
        for path in sorted(tmp_path.glob("instance*/recallbot.log"))
    )


def busiest_window(api, seconds: float) -> int:
    """Return the most messages the fake API received within any ``seconds`` window."""
    times = sorted(c.at for c in api.calls if c.method == "sendMessage" and c.params.get("_ok"))
    most, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= seconds:
            start += 1
        most = max(most, end - start + 1)
    return most


def queue_depth(core: Core) -> int:
    with core.session() as session:
        return outbox.queue_depth(session)


def live_instances(core: Core) -> int:
    with core.session() as session:
        return session.exec(select(func.count()).select_from(InstanceRow)).one()


def last_check(core: Core) -> str | None:
    with core.session() as session:
        return repo.get_meta(session, "last_check_at")


def claimed_rows(core: Core) -> dict[int, tuple[str, datetime]]:
    """Return the pending deliveries held under an unexpired lease: who holds each, and until when."""
    with core.session() as session:
        statement = select(DeliveryRow.id, DeliveryRow.claimed_by, DeliveryRow.claimed_until).where(
            DeliveryRow.status == outbox.PENDING, col(DeliveryRow.claimed_until) > datetime.now(UTC)
        )
        return {delivery: (owner, until) for delivery, owner, until in session.exec(statement).all()}


def last_sent_at(core: Core, ids: list[int]) -> datetime:
    with core.session() as session:
        return session.exec(select(func.max(DeliveryRow.sent_at)).where(col(DeliveryRow.id).in_(ids))).one()


def beating_since(core: Core, since: datetime) -> set[str]:
    """Return the instances that have heartbeaten after ``since``."""
    with core.session() as session:
        return set(session.exec(select(InstanceRow.id).where(InstanceRow.last_seen > since)).all())


async def test_three_instances_share_the_work_the_budget_and_the_checker(pg_engine, bot_api, tmp_path, capsys):
    api = bot_api
    core = Core(pg_engine)
    with core.session() as session:
        load_bundled(session, datetime.now(UTC))
        session.commit()
    url = pg_engine.url.render_as_string(hide_password=False)
    procs = [await start(url, api, tmp_path, n) for n in range(3)]
    try:
        await eventually(lambda: last_check(core) is not None, 30, every=0.1)  # one of them checked
        # Shares are learnt from heartbeats: an instance that joins mid-fan-out can push the total
        # over the budget for up to one beat (1 s), so the budget is measured with all three up.
        try:
            await eventually(lambda: live_instances(core) == 3, 30, every=0.1)
        except AssertionError:
            raise AssertionError(f"{live_instances(core)} instances alive\n{instance_logs(tmp_path)}") from None

        # 2,000 alerts, three deliverers: each chat exactly once, the budget held in total.
        assert await asyncio.to_thread(queue, core, 1, CHATS) == CHATS
        await eventually(lambda: len(api.sent()) >= CHATS, 120, every=0.1)
        await asyncio.sleep(1)  # on purpose: a chat sent twice shows up late; nothing signals an absence
        chats = [p["chat_id"] for p in api.sent()]
        assert sorted(chats) == list(range(1, CHATS + 1))
        # Sends are paced when they are handed to the client; a stalled event loop can let a few
        # reach the server together, so the rate is judged over 3-second windows.
        assert busiest_window(api, 3.0) <= BUDGET * 3 * 1.05

        # The checker's instance dies: another runs the next pass within an interval.
        before = last_check(core)
        for proc in procs:
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
            break
        killed, procs = procs[0], procs[1:]
        await eventually(lambda: last_check(core) != before, 25, every=0.1)
        assert killed.returncode == -signal.SIGKILL

        # An instance killed in the middle of a batch loses nothing: the survivor takes its claims
        # over as soon as its heartbeat is a few seconds old, long before their leases end.
        sent_before = len(api.sent())
        part = set(range(10_001, 10_601))
        assert await asyncio.to_thread(queue, core, 10_001, 600) == 600
        await eventually(lambda: len(api.sent()) >= sent_before + 100, 30, every=0.1)
        procs[0].send_signal(signal.SIGKILL)
        killed_at, killed_at_utc = time.monotonic(), datetime.now(UTC)
        await procs[0].wait()
        claimed = await asyncio.to_thread(claimed_rows, core)
        await eventually(lambda: {p["chat_id"] for p in api.sent()} >= part and queue_depth(core) == 0, 50, every=0.1)
        recovery = time.monotonic() - killed_at
        repeats = sum(n - 1 for chat, n in Counter(p["chat_id"] for p in api.sent()).items() if chat in part)
        dead = {owner for owner, _ in claimed.values()} - await asyncio.to_thread(beating_since, core, killed_at_utc)
        assert dead  # the killed instance held claims
        taken_over = [delivery for delivery, (owner, _) in claimed.items() if owner in dead]
        taken_over_in = (await asyncio.to_thread(last_sent_at, core, taken_over) - killed_at_utc).total_seconds()
        with capsys.disabled():
            report_recovery(f"PostgreSQL, the {len(taken_over)} alerts a SIGKILLed instance held", taken_over_in)
            report_recovery("PostgreSQL, all 600 alerts queued when it was killed", recovery, repeats)
        # Every alert was delivered while the dead instance's leases still ran: takeover did not wait for them.
        assert datetime.now(UTC) < min(claimed[delivery][1] for delivery in taken_over)
        # At-least-once: only what was in flight at the kill (the Telegram concurrency) can come twice.
        assert repeats <= TELEGRAM_LIMITS.concurrency
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
                await asyncio.wait_for(proc.wait(), 30)
