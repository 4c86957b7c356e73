"""Daily digests and quiet hours: when alerts go out, in the chat's time zone, exactly once.

Real CPSC records of the test slice: 24-222 (leaf blowers: pieces can come loose, a
laceration hazard) and 25-283 (a brake caliper) are not serious hazards; 25-338 (Anker
A1263: fire and burns) is, and is never held back.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot import messages
from bot.commands import dispatch
from bot.core import Core
from bot.dataset import store_events
from bot.delivery import DeliveryWorker, Outcome, OutcomeKind
from bot.events import Alert, Destination, Reason
from bot.schedule import DIGEST, Schedule, is_serious, next_local
from notifiers.discord_render import alert_page
from notifiers.telegram_render import alert_html
from storage import outbox
from storage.outbox import ONE_OFF_OWNER
from storage.tables import DeliveryRow, DestinationRow
from tests.conftest import Clock, slice_event, subscribe_and_queue
from tests.test_delivery import ScriptedNotifier

BERLIN = ZoneInfo("Europe/Berlin")
CHAT = Destination("test", "41")


def test_the_digest_hour_stays_on_the_wall_clock_across_both_dst_changes():
    # 29 March 2026: Berlin moves from UTC+1 to UTC+2, so 9:00 is 08:00 UTC one day and 07:00 UTC the next.
    assert next_local(datetime(2026, 3, 28, 9, tzinfo=UTC), 9, BERLIN) == datetime(2026, 3, 29, 7, tzinfo=UTC)
    assert next_local(datetime(2026, 3, 27, 9, tzinfo=UTC), 9, BERLIN) == datetime(2026, 3, 28, 8, tzinfo=UTC)
    # 25 October 2026: back to UTC+1; the day is 25 hours long.
    assert next_local(datetime(2026, 10, 24, 8, tzinfo=UTC), 9, BERLIN) == datetime(2026, 10, 25, 8, tzinfo=UTC)


def test_quiet_hours_span_midnight_in_the_chats_time_zone():
    quiet = Schedule(time_zone="Asia/Shanghai", quiet_from=22, quiet_to=7)  # UTC+8, no DST
    assert quiet.quiet(datetime(2026, 6, 1, 14, 30, tzinfo=UTC))  # 22:30 in Shanghai
    assert quiet.quiet(datetime(2026, 6, 1, 22, 59, tzinfo=UTC))  # 06:59
    assert not quiet.quiet(datetime(2026, 6, 1, 23, 0, tzinfo=UTC))  # 07:00
    assert not quiet.quiet(datetime(2026, 6, 1, 13, 59, tzinfo=UTC))  # 21:59


def test_serious_hazards_are_told_from_the_rest_on_real_notices():
    assert [is_serious(slice_event(n)) for n in ("25338", "24222", "25283")] == [True, False, False]


@pytest.fixture
def dcore(engine) -> Core:
    """Three recalls stored; chat 41 follows all three brands; the clock at 10:00 UTC."""
    core = Core(engine, clock=Clock(datetime(2026, 3, 28, 10, tzinfo=UTC)))
    with core.session(write=True) as session:
        store_events(session, [slice_event(n) for n in ("25338", "24222", "25283")], "t", core.clock())
        session.commit()
    return core


def queue(core: Core, number: str) -> None:
    event = slice_event(number)
    assert subscribe_and_queue(core, event, [CHAT], "brand", event.brand.lower(), event.brand, core.clock()) == 1


def waiting(core: Core) -> list[tuple[str, str, bool]]:
    with core.session() as session:
        rows = session.exec(select(DeliveryRow).order_by(DeliveryRow.id)).all()
        return [(row.event_id, row.status, row.digest) for row in rows]


async def test_a_digest_waits_for_its_hour_then_carries_each_event_once_in_one_message(dcore):
    assert dispatch(dcore, CHAT, "/settings digest 9").text.startswith("Saved. This chat gets its alerts in one digest")
    dispatch(dcore, CHAT, "/settings zone Europe/Berlin")
    notifier = ScriptedNotifier()
    worker = DeliveryWorker(dcore, {"test": notifier})
    queue(dcore, "24222")
    queue(dcore, "25283")
    queue(dcore, "25338")  # fire and burns: not held
    await worker.drain()
    assert [alert.event.id for alert in notifier.sent] == ["cpsc-25338"]
    assert waiting(dcore) == [
        ("cpsc-24222", "pending", True),
        ("cpsc-25283", "pending", True),
        ("cpsc-25338", "sent", False),
    ]
    dcore.clock.now = datetime(2026, 3, 29, 6, 59, tzinfo=UTC)  # 08:59 in Berlin, summer time since 02:00
    await worker.drain()
    assert len(notifier.sent) == 1
    dcore.clock.now = datetime(2026, 3, 29, 7, 0, tzinfo=UTC)  # 09:00 in Berlin
    await worker.drain()
    assert len(notifier.sent) == 2
    digest = notifier.sent[1]
    assert sorted(a.event.id for a in digest.bundle) == ["cpsc-24222", "cpsc-25283"]
    assert [a.reasons for a in digest.bundle] == [(Reason("brand", b),) for b in _brands(digest)]
    assert [status for _, status, _ in waiting(dcore)] == ["sent", "sent", "sent"]
    await worker.drain()
    assert len(notifier.sent) == 2  # nothing is sent twice


def _brands(digest) -> list[str]:
    return [a.event.brand for a in digest.bundle]


async def test_a_digest_claimed_by_an_instance_that_died_is_sent_once_by_another(dcore):
    dispatch(dcore, CHAT, "/settings digest 9")
    worker = DeliveryWorker(dcore, {"test": ScriptedNotifier()})
    queue(dcore, "24222")
    queue(dcore, "25283")
    await worker.drain()  # both held for 09:00 UTC tomorrow
    dcore.clock.now = datetime(2026, 3, 29, 9, tzinfo=UTC)
    with dcore.session(write=True) as session:  # an instance claims the digest, then is killed before it sends
        claimed = outbox.claim_due(session, ["test"], dcore.clock(), 10, timedelta(seconds=60), owner=ONE_OFF_OWNER)
        session.commit()
    assert len(claimed) == 2
    notifier = ScriptedNotifier()
    survivor = DeliveryWorker(dcore, {"test": notifier})
    await survivor.drain()  # a one-off owner never heartbeats: its claims are taken over at once
    dcore.clock.advance(seconds=61)
    await survivor.drain()
    [digest] = notifier.sent
    assert sorted(a.event.id for a in digest.bundle) == ["cpsc-24222", "cpsc-25283"]
    assert [status for _, status, _ in waiting(dcore)] == ["sent", "sent"]


async def test_a_digest_answered_gone_counts_as_one_gone_answer_not_one_per_alert_in_it(dcore):
    dispatch(dcore, CHAT, "/settings digest 9")
    notifier = ScriptedNotifier()
    worker = DeliveryWorker(dcore, {"test": notifier})
    queue(dcore, "24222")
    queue(dcore, "25283")
    await worker.drain()  # held for 09:00
    dcore.clock.now = datetime(2026, 3, 29, 9, tzinfo=UTC)
    notifier.script[int(CHAT.address)] = [Outcome(OutcomeKind.GONE, error="Bad Request: chat not found")]
    await worker.drain()  # the digest of two, answered gone once: one answer, not two
    assert notifier.calls == [int(CHAT.address)]
    with dcore.session() as session:
        assert session.get(DestinationRow, (CHAT.platform, CHAT.address)).gone_count == 1
    assert [status for _, status, _ in waiting(dcore)] == ["pending", "pending"]


async def test_quiet_hours_hold_an_alert_until_they_end_but_not_a_fire_hazard(dcore):
    dispatch(dcore, CHAT, "/settings quiet 22 7")
    dispatch(dcore, CHAT, "/settings zone Asia/Shanghai")
    dcore.clock.now = datetime(2026, 3, 28, 15, tzinfo=UTC)  # 23:00 in Shanghai
    notifier = ScriptedNotifier()
    worker = DeliveryWorker(dcore, {"test": notifier})
    queue(dcore, "24222")
    queue(dcore, "25338")
    await worker.drain()
    assert [a.event.id for a in notifier.sent] == ["cpsc-25338"]
    with dcore.session() as session:
        held = session.exec(select(DeliveryRow).where(DeliveryRow.event_id == "cpsc-24222")).one()
    assert (held.next_attempt_at, held.digest) == (datetime(2026, 3, 28, 23, tzinfo=UTC), False)  # 07:00 local
    dcore.clock.now = datetime(2026, 3, 28, 23, tzinfo=UTC)
    await worker.drain()
    assert [a.event.id for a in notifier.sent] == ["cpsc-25338", "cpsc-24222"]
    assert not notifier.sent[1].bundle  # after quiet hours, each alert on its own


async def test_changing_the_settings_releases_what_waited_under_the_old_ones(dcore):
    dispatch(dcore, CHAT, "/settings digest 9")
    notifier = ScriptedNotifier()
    worker = DeliveryWorker(dcore, {"test": notifier})
    queue(dcore, "24222")
    await worker.drain()
    assert notifier.sent == []
    assert dispatch(dcore, CHAT, "/settings instant").text.startswith("Saved. This chat gets its alerts as they come.")
    await worker.drain()
    assert [a.event.id for a in notifier.sent] == ["cpsc-24222"]


def test_settings_answers_bad_input_with_a_sentence(dcore):
    assert dispatch(dcore, CHAT, "/settings zone Mars/Olympus").text == messages.UNKNOWN_ZONE.format(
        zone="Mars/Olympus"
    )
    assert dispatch(dcore, CHAT, "/settings digest 25").text.startswith(messages.BAD_HOUR)
    assert dispatch(dcore, CHAT, "/settings sometimes").text.startswith("I did not understand “sometimes”.")
    shown = dispatch(dcore, CHAT, "/settings")
    assert shown.text.startswith(
        "This chat gets its alerts as they come. No quiet hours. Hours are in the time zone UTC."
    )
    assert [b.command for b in shown.buttons] == [
        "settings instant",
        "settings digest 9",
        "settings quiet 22 7",
        "settings quiet off",
    ]
    with dcore.session() as session:
        assert outbox.schedule_of(session, CHAT).mode != DIGEST


def test_a_digest_renders_as_one_message_with_each_event_once_and_its_reasons():
    events = [slice_event(n) for n in ("24222", "25283")]
    alerts = [Alert(i, CHAT, e, (Reason("brand", e.brand),), False) for i, e in enumerate(events, start=1)]
    digest = Alert(1, CHAT, events[0], (), False, bundle=tuple(alerts))
    [html] = alert_html(digest)
    assert html.startswith("<b>Your daily digest: 2 alerts</b>")
    for event in events:
        assert html.count(f"<b>RECALL: {event.name}</b>") == 1
        assert f"<i>Why: you follow brand {event.brand}</i>" in html
    page = alert_page(digest)
    assert page.content == "Your daily digest: 2 alerts"
    assert [embed.title for embed in page.embeds] == [f"RECALL: {e.name}" for e in events]
    assert [embed.description for embed in page.embeds] == [f"**Why:** you follow brand {e.brand}" for e in events]
