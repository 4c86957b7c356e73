"""Delivery leases: owned claims, renewal while sending, and takeover from a dead claimer."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.commands import Core
from bot.delivery import DeliveryWorker, Limits, Outcome
from bot.events import Alert, Destination
from storage import outbox
from storage.tables import DeliveryRow
from tests.conftest import NOW, core_with_alerts, eventually, slice_event, subscribe_and_queue

T0 = NOW  # where the clock fixture starts
LEASE = timedelta(seconds=60)


class HeldNotifier:
    """Starts each send, then holds it until the test lets it finish."""

    platform = "test"
    limits = Limits(per_second=1000, per_chat_per_second=1000, per_group_per_minute=60000, concurrency=4)

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.sent: list[int] = []

    def is_group(self, chat_id: int) -> bool:
        return False

    async def send(self, alert: Alert) -> Outcome:
        self.started.set()
        await self.release.wait()
        self.sent.append(int(alert.destination.address))
        return Outcome.sent()


@pytest.fixture
def lcore(engine, clock) -> Core:
    """A database with one alert queued, for chat 1 of platform "test"."""
    return core_with_alerts(engine, clock, [1])


def beat(core: Core, *instances: str) -> None:
    """Record a heartbeat of each instance at the core's time."""
    with core.session() as session:
        for instance in instances:
            outbox.heartbeat(session, instance, core.clock(), stale_after=timedelta(seconds=15))
        session.commit()


def claim(core: Core, owner: str) -> list[outbox.Claim]:
    with core.session() as session:
        claims = outbox.claim_due(session, ["test"], core.clock(), 10, LEASE, owner=owner)
        session.commit()
    return claims


def the_row(core: Core) -> DeliveryRow:
    with core.session() as session:
        return session.exec(select(DeliveryRow)).one()


def test_a_late_settle_of_a_claim_taken_over_changes_nothing(lcore, clock, caplog):
    beat(lcore, "A")
    [first] = claim(lcore, "A")
    clock.advance(seconds=61)  # A is alive but slow: its lease ends
    beat(lcore, "A", "B")
    [second] = claim(lcore, "B")
    with lcore.session() as session:
        assert outbox.mark_sent(session, second, clock.now) is True
        session.commit()
    with caplog.at_level(logging.WARNING, logger="storage.outbox"), lcore.session() as session:
        assert outbox.mark_failed(session, first, "TimedOut") is False
        session.commit()
    row = the_row(lcore)
    assert (row.status, row.attempts, row.last_error, row.claimed_by) == ("sent", 1, None, None)
    assert [r.levelno for r in caplog.records] == [logging.WARNING]


def test_a_late_retry_of_a_claim_taken_over_does_not_requeue_it(lcore, clock):
    [first] = claim(lcore, "A")  # A never heartbeats: B takes over at once
    [second] = claim(lcore, "B")
    with lcore.session() as session:
        assert outbox.mark_retry(session, first, T0 + timedelta(hours=1), "TimedOut") is False
        session.commit()
    row = the_row(lcore)
    assert (row.claimed_by, row.next_attempt_at, row.attempts) == ("B", T0, 0)
    assert second.owner == "B"


def test_a_claim_of_a_silent_instance_is_taken_over_before_its_lease_ends(lcore, clock):
    beat(lcore, "A")
    claim(lcore, "A")
    clock.advance(seconds=outbox.CLAIMER_DEAD_AFTER.total_seconds() + 1)  # lease: 54 s to go
    [taken] = claim(lcore, "B")
    assert (taken.owner, the_row(lcore).claimed_by) == ("B", "B")


@pytest.mark.parametrize("how", ["forgotten at shut-down", "deleted as stale by another's heartbeat"])
def test_a_claim_of_an_instance_gone_from_the_table_is_taken_over_at_once(lcore, clock, how):
    beat(lcore, "A")
    claim(lcore, "A")
    if how == "forgotten at shut-down":
        with lcore.session() as session:
            outbox.forget_instance(session, "A")
            session.commit()
    else:
        clock.advance(seconds=20)
        beat(lcore, "B")
    [taken] = claim(lcore, "B")
    assert taken.owner == "B"


def test_a_claim_of_a_live_instance_is_not_taken_over(lcore, clock):
    beat(lcore, "A")
    claim(lcore, "A")
    clock.advance(seconds=outbox.CLAIMER_DEAD_AFTER.total_seconds() - 1)
    beat(lcore, "B")
    assert claim(lcore, "B") == []
    assert the_row(lcore).claimed_by == "A"


def test_a_claim_without_an_owner_waits_for_its_lease(lcore, clock):
    """A claim made before owners were recorded (before migration 0006) is held by its lease alone."""
    with lcore.session() as session:
        session.execute(DeliveryRow.__table__.update().values(claimed_until=T0 + LEASE, claimed_by=None))
        session.commit()
    clock.advance(seconds=30)
    assert claim(lcore, "B") == []
    clock.advance(seconds=31)
    assert [c.owner for c in claim(lcore, "B")] == ["B"]


async def test_a_worker_renews_its_leases_while_a_send_outlasts_them(lcore, clock):
    held = HeldNotifier()
    lease = timedelta(seconds=0.3)  # renewed every 0.1 s of real time
    first = DeliveryWorker(lcore, {"test": held}, lease=lease)
    sending = asyncio.create_task(first.drain_once())
    await asyncio.wait_for(held.started.wait(), 10)
    clock.advance(seconds=1)  # past the lease; first's last heartbeat is 1 s old: alive
    await eventually(lambda: the_row(lcore).claimed_until > clock.now, 10)
    unheld = HeldNotifier()
    unheld.release.set()
    other = DeliveryWorker(lcore, {"test": unheld}, lease=lease)
    assert await asyncio.wait_for(other.drain_once(), 10) == 0
    held.release.set()
    assert await asyncio.wait_for(sending, 10) == 1
    row = the_row(lcore)
    assert (row.status, row.claimed_by, held.sent) == ("sent", None, [1])


async def test_a_worker_whose_heartbeat_lapsed_puts_its_claims_back_unsent(lcore, clock):
    event = slice_event("25338")
    assert subscribe_and_queue(lcore, event, [Destination("test", 2)], "brand", "anker", "Anker", T0) == 1
    held = HeldNotifier()
    held.limits = Limits(per_second=1000, per_chat_per_second=1000, per_group_per_minute=60000, concurrency=1)
    # Beats every 10 s (so none during the test): presumed dead by others after 50 s of silence.
    worker = DeliveryWorker(lcore, {"test": held}, heartbeat_every=timedelta(seconds=10))
    sending = asyncio.create_task(worker.drain_once())
    await asyncio.wait_for(held.started.wait(), 10)
    clock.advance(seconds=45)  # a stall: the second claim may be taken over any moment now
    held.release.set()
    assert await asyncio.wait_for(sending, 10) == 2
    with lcore.session() as session:
        second = outbox.deliveries_for(session, Destination("test", 2))[0]
    assert held.sent == [1]
    assert (second.status, second.claimed_by, second.next_attempt_at) == ("pending", None, clock.now)
