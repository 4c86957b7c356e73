"""The delivery worker: outcomes, their consequences, and pacing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from bot.alerts import alert_keys
from bot.commands import Core
from bot.delivery import MAX_ATTEMPTS, PAUSE_AFTER, DeliveryWorker, Limits, Outcome, OutcomeKind, Pacer
from bot.events import Alert, Destination, Reason
from storage import outbox, repo
from storage.tables import DeliveryRow
from tests.conftest import NOW, core_with_alerts

T0 = NOW  # where the clock fixture starts


class ScriptedNotifier:
    """Answers each send with the next scripted outcome for that chat (default: sent)."""

    platform = "test"
    limits = Limits(per_second=1000, per_chat_per_second=1000, per_group_per_minute=60000, concurrency=4)

    def __init__(self) -> None:
        self.script: dict[int, list[Outcome | Exception]] = {}
        self.sent: list[Alert] = []
        self.calls: list[int] = []

    def is_group(self, address: str) -> bool:
        return int(address) < 0

    async def send(self, alert: Alert) -> Outcome:
        chat = int(alert.destination.address)
        self.calls.append(chat)
        answers = self.script.get(chat)
        answer = answers.pop(0) if answers else Outcome.sent()
        if isinstance(answer, Exception):
            raise answer
        if answer.kind is OutcomeKind.SENT:
            self.sent.append(alert)
        return answer


@pytest.fixture
def wcore(engine, clock) -> Core:
    """A database with recall 25-338 (Anker A1263) and alerts queued for chats 1..5."""
    return core_with_alerts(engine, clock, range(1, 6))


@pytest.fixture
def notifier() -> ScriptedNotifier:
    return ScriptedNotifier()


def rows(core: Core) -> dict[int, DeliveryRow]:
    with core.session() as session:
        return {int(row.address): row for row in session.exec(select(DeliveryRow))}


async def test_every_alert_is_sent_once(wcore, notifier):
    worker = DeliveryWorker(wcore, {"test": notifier})
    assert await worker.drain() == 5
    assert sorted(int(a.destination.address) for a in notifier.sent) == [1, 2, 3, 4, 5]
    assert notifier.sent[0].reasons == (Reason("brand", "Anker"),)
    assert {row.status for row in rows(wcore).values()} == {"sent"}
    assert await worker.drain() == 0
    assert len(notifier.calls) == 5


async def test_retry_after_holds_back_that_chat_only(wcore, notifier, clock):
    notifier.script[2] = [Outcome(OutcomeKind.RETRY, error="Too Many Requests", retry_after=30)]
    worker = DeliveryWorker(wcore, {"test": notifier}, pacing_clock=lambda: clock().timestamp())
    await worker.drain()
    assert sorted(int(a.destination.address) for a in notifier.sent) == [1, 3, 4, 5]
    waiting = rows(wcore)[2]
    assert (waiting.status, waiting.attempts, waiting.next_attempt_at) == ("pending", 0, T0 + timedelta(seconds=30))
    clock.advance(seconds=29)
    assert await worker.drain() == 0
    clock.advance(seconds=2)
    await worker.drain()
    assert rows(wcore)[2].status == "sent"


async def test_transient_errors_back_off_then_fail_for_good(wcore, notifier, clock):
    notifier.script[3] = [Outcome(OutcomeKind.RETRY, error="TimedOut")] * MAX_ATTEMPTS
    worker = DeliveryWorker(wcore, {"test": notifier})
    await worker.drain()
    first = rows(wcore)[3]
    assert (first.attempts, first.next_attempt_at) == (1, T0 + timedelta(seconds=5))
    clock.advance(seconds=5)
    await worker.drain()
    assert rows(wcore)[3].next_attempt_at == clock.now + timedelta(seconds=10)
    for _ in range(MAX_ATTEMPTS):
        clock.advance(hours=2)
        await worker.drain()
    final = rows(wcore)[3]
    assert (final.status, final.attempts) == ("failed", MAX_ATTEMPTS)
    assert final.last_error == f"gave up after {MAX_ATTEMPTS} attempts: TimedOut"
    assert notifier.calls.count(3) == MAX_ATTEMPTS


async def test_repeated_gone_pauses_the_destination_and_keeps_its_subscriptions(wcore, notifier, clock):
    notifier.script[4] = [Outcome(OutcomeKind.GONE, error="Forbidden: bot was blocked by the user")] * PAUSE_AFTER
    worker = DeliveryWorker(wcore, {"test": notifier})
    for _ in range(PAUSE_AFTER):
        await worker.drain()
        clock.advance(hours=1)
    row = rows(wcore)[4]
    assert row.status == "gone"
    assert row.last_error == "destination paused: Forbidden: bot was blocked by the user"
    with wcore.session() as session:
        assert outbox.paused_reason(session, Destination("test", 4)) == "Forbidden: bot was blocked by the user"
        assert len(repo.list_subscriptions(session, Destination("test", 4))) == 1
    assert notifier.calls.count(4) == PAUSE_AFTER


async def test_one_gone_answer_is_forgiven_after_a_success(wcore, notifier, clock):
    notifier.script[4] = [Outcome(OutcomeKind.GONE, error="Forbidden: chat not found")]
    worker = DeliveryWorker(wcore, {"test": notifier})
    await worker.drain()
    clock.advance(minutes=1)
    await worker.drain()
    assert rows(wcore)[4].status == "sent"
    with wcore.session() as session:
        assert outbox.paused_reason(session, Destination("test", 4)) is None


async def test_permanent_failure_keeps_the_error_and_is_not_retried(wcore, notifier, clock):
    notifier.script[5] = [Outcome(OutcomeKind.FAILED, error="Bad Request: can't parse entities")]
    worker = DeliveryWorker(wcore, {"test": notifier})
    await worker.drain()
    clock.advance(days=1)
    await worker.drain()
    row = rows(wcore)[5]
    assert (row.status, row.last_error) == ("failed", "Bad Request: can't parse entities")
    assert notifier.calls.count(5) == 1


async def test_a_notifier_that_raises_loses_nothing(wcore, notifier, clock):
    notifier.script[1] = [RuntimeError("bug")]
    worker = DeliveryWorker(wcore, {"test": notifier})
    await worker.drain()
    assert rows(wcore)[1].status == "pending"
    clock.advance(minutes=1)
    await worker.drain()
    assert rows(wcore)[1].status == "sent"


async def test_a_moved_chat_is_readdressed(wcore, notifier):
    notifier.script[2] = [Outcome(OutcomeKind.RETRY, error="group migrated", new_address="-100777")]
    worker = DeliveryWorker(wcore, {"test": notifier})
    await worker.drain()
    await worker.drain()
    assert sorted(int(a.destination.address) for a in notifier.sent) == [-100777, 1, 3, 4, 5]
    with wcore.session() as session:
        assert len(repo.list_subscriptions(session, Destination("test", -100777))) == 1
        assert repo.list_subscriptions(session, Destination("test", 2)) == []


async def test_paused_destinations_get_no_new_alerts(wcore):
    with wcore.session() as session:
        outbox.pause_destination(session, Destination("test", 1), "kicked", T0, by_user=True)
        event = repo.get_events(session, ["cpsc-25338"])["cpsc-25338"]
        session.execute(DeliveryRow.__table__.delete())
        queued = outbox.queue_alerts(
            session, event, alert_keys(session, event), is_update=True, subscribed_before=T0, now=T0
        )
        session.commit()
    assert queued == 4


def test_pacer_spaces_sends_overall_per_chat_and_per_group():
    now = [0.0]
    pacer = Pacer(Limits(per_second=4, per_chat_per_second=1, per_group_per_minute=20), clock=lambda: now[0])
    assert [pacer.reserve(chat, False) for chat in (1, 2, 3, 4, 5)] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert pacer.chat_wait(1) == 1.0  # chat 1 was booked at 0 s: next slot at 1 s
    assert pacer.reserve(-9, True) == 1.25
    assert pacer.chat_wait(-9) == 1.25 + 3.0  # groups: 20 a minute
    pacer.block(2, 30)
    assert pacer.chat_wait(2) == 30
    now[0] = 40.0
    pacer.forget_idle()
    assert pacer.chat_wait(2) < 0


def test_live_instances_split_the_overall_budget(engine, clock):
    core = Core(engine, clock=clock)
    first = DeliveryWorker(core, {"test": ScriptedNotifier()}, pacing_clock=lambda: 0.0)
    second = DeliveryWorker(core, {"test": ScriptedNotifier()})
    assert first.heartbeat() == 1
    assert second.heartbeat() == 2
    assert first.heartbeat() == 2
    pacer = first._pacers["test"]
    assert [pacer.reserve(chat, False) for chat in (1, 2)] == [0.0, pytest.approx(2 / 1000, abs=1e-6)]
    second.forget()
    assert first.heartbeat() == 1
    clock.advance(minutes=5)  # an instance that stops beating is forgotten
    third = DeliveryWorker(core, {"test": ScriptedNotifier()})
    assert third.heartbeat() == 1
