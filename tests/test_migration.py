"""A group that moved to a new chat id (Telegram's upgrade to a supergroup): storage merges the two."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.alerts import alert_keys
from bot.commands import Core
from bot.dataset import store_events
from bot.events import Destination
from storage import outbox, repo
from tests.conftest import NOW, slice_event

OLD, NEW = Destination("telegram", -4001), Destination("telegram", -1004001)


@pytest.fixture
def core(engine) -> Core:
    """A core on an empty database (SQLite, then PostgreSQL) holding Anker's A1263 recall."""
    core = Core(engine, clock=lambda: NOW)
    with core.session() as session:
        store_events(session, [slice_event("25338")], "test:cpsc", NOW)
        session.commit()
    return core


def subscribe(core: Core, dest: Destination, key_type: str, key: str, label: str) -> None:
    with core.session() as session:
        assert repo.add_subscription(session, dest, key_type, key, label, NOW - timedelta(days=2))
        session.commit()


def queue(core: Core) -> int:
    with core.session() as session:
        event = repo.get_events(session, ["cpsc-25338"])["cpsc-25338"]
        queued = outbox.queue_alerts(
            session, event, alert_keys(session, event), is_update=False, subscribed_before=NOW, now=NOW
        )
        session.commit()
    return queued


def readdress(core: Core) -> None:
    with core.session() as session:
        outbox.readdress(session, OLD, NEW.address)
        session.commit()


def state(core: Core, dest: Destination) -> tuple[list[tuple[str, str]], list[tuple[str, str]], int | None]:
    """Return a destination's subscriptions, deliveries (event, status) and gone count (None: no row)."""
    with core.session() as session:
        follows = sorted((s.key_type, s.key) for s in repo.list_subscriptions(session, dest))
        deliveries = [(d.event_id, d.status) for d in outbox.deliveries_for(session, dest)]
        row = session.get(outbox.DestinationRow, (dest.platform, dest.address))
        return follows, deliveries, None if row is None else row.gone_count


def test_readdress_merges_into_a_chat_that_already_follows_the_same_brand(core):
    subscribe(core, OLD, "brand", "anker", "Anker")
    subscribe(core, OLD, "model", "A1263", "A1263")
    assert queue(core) == 1  # the old chat's alert, before the new chat subscribed
    subscribe(core, NEW, "brand", "anker", "Anker")
    with core.session() as session:
        outbox.record_gone(session, OLD, "kicked", NOW, pause_after=3, by_user=True)
        session.commit()
    readdress(core)
    pending = [("cpsc-25338", "pending")]
    assert state(core, NEW) == ([("brand", "anker"), ("model", "A1263")], pending, 1)
    assert state(core, OLD) == ([], [], None)


def test_readdress_keeps_one_alert_when_both_chats_have_it_pending(core):
    for dest in (OLD, NEW):
        subscribe(core, dest, "brand", "anker", "Anker")
        with core.session() as session:
            outbox.record_gone(session, dest, "kicked", NOW, pause_after=3, by_user=True)
            session.commit()
    with core.session() as session:
        outbox.record_gone(session, NEW, "kicked", NOW, pause_after=3, by_user=True)  # the new chat's own count wins
        session.commit()
    assert queue(core) == 2
    readdress(core)
    assert state(core, NEW) == ([("brand", "anker")], [("cpsc-25338", "pending")], 2)
    assert state(core, OLD) == ([], [], None)
