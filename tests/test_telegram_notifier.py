"""The Telegram notifier through the real python-telegram-bot client and a fake Bot API."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from telegram import Bot

from bot.delivery import OutcomeKind
from bot.events import Alert, Destination, Event, EventKind, Reason
from notifiers.telegram_bot import TelegramNotifier
from notifiers.telegram_render import LIMIT, alert_html
from tests import fake_telegram
from tests.conftest import slice_event, subscribe_and_queue

T0 = datetime(2025, 7, 1, tzinfo=UTC)


@pytest.fixture
def api(bot_api):
    return bot_api


@pytest.fixture
async def notifier(api):
    async with Bot(fake_telegram.TOKEN, base_url=api.base_url) as bot:
        yield TelegramNotifier(bot)


def alert(chat_id: int, **changes) -> Alert:
    event = slice_event("25338")
    return Alert(
        7, Destination("telegram", chat_id), dataclasses.replace(event, **changes), (Reason("brand", "Anker"),), False
    )


async def test_alert_is_sent_as_escaped_html(api, notifier):
    outcome = await notifier.send(alert(5, hazard="Cells <overheat> & swell; model_A*1263"))
    assert outcome.kind is OutcomeKind.SENT
    [sent] = api.sent(5)
    assert sent["parse_mode"] == "HTML"
    assert "<b>Hazard:</b> Cells &lt;overheat&gt; &amp; swell; model_A*1263" in sent["text"]
    assert "<i>Why: you follow brand Anker</i>" in sent["text"]
    assert '<a href="https://www.cpsc.gov/Recalls/2025/More-than-One-Million-Anker' in sent["text"]


async def test_a_long_alert_is_split_on_line_boundaries(api, notifier):
    long = alert(5, remedy="Return it. " * 900)  # about 9,900 characters
    parts = alert_html(long)
    assert len(parts) > 2 and all(len(part) <= LIMIT for part in parts)
    assert (await notifier.send(long)).kind is OutcomeKind.SENT
    assert [p["text"] for p in api.sent(5)] == parts


@pytest.mark.parametrize(
    ("envelope", "kind", "extra"),
    [
        (fake_telegram.RETRY_AFTER, OutcomeKind.RETRY, {"retry_after": 7.0}),
        (fake_telegram.BLOCKED, OutcomeKind.GONE, {"by_user": True}),  # their choice: no operator alert
        (fake_telegram.KICKED, OutcomeKind.GONE, {"by_user": True}),
        (fake_telegram.CHAT_NOT_FOUND, OutcomeKind.GONE, {"by_user": False}),  # the operator hears of it
        (fake_telegram.migrated(-1009876543210), OutcomeKind.RETRY, {"new_address": "-1009876543210"}),
        (fake_telegram.BAD_ENTITIES, OutcomeKind.FAILED, {}),
        (fake_telegram.server_error(), OutcomeKind.RETRY, {"retry_after": None}),
    ],
)
async def test_platform_errors_map_to_outcomes(api, notifier, envelope, kind, extra):
    api.errors[-100123].append(envelope)
    outcome = await notifier.send(alert(-100123))
    assert outcome.kind is kind
    for name, value in extra.items():
        assert getattr(outcome, name) == value
    assert outcome.error
    assert api.sent(-100123) == []


def test_groups_are_told_apart_by_their_negative_ids():
    notifier = TelegramNotifier(bot=None)  # type: ignore[arg-type]
    assert notifier.is_group("-1001234567890") and not notifier.is_group("1234567890")


def test_suspension_alert_says_potentially_affected():
    event = Event(
        id="s-1",
        kind=EventKind.SUSPENSION,
        date=T0.date(),
        title="CCC (3C) suspended: APEX (Wuxi) Co., Ltd.",
        authority="CQC",
        source="test",
        supplier="APEX (Wuxi) Co., Ltd.",
        linked_brands=("Anker", "Ugreen"),
    )
    [text] = alert_html(Alert(1, Destination("telegram", 1), event, (Reason("brand", "Ugreen"),), False))
    assert text.startswith("<b>Supplier certificate suspended</b>")
    assert "Potentially affected" in text and "Anker, Ugreen" in text


async def test_worker_delivers_through_telegram_and_holds_back_only_the_flooded_chat(engine, api, notifier):
    from bot.commands import Core
    from bot.dataset import store_events
    from bot.delivery import DeliveryWorker
    from tests.conftest import Clock

    clock = Clock(T0)
    core = Core(engine, clock=clock)
    event = slice_event("25338")
    with core.session() as session:
        store_events(session, [event], "t", T0)
        session.commit()
    dests = [Destination("telegram", chat) for chat in (111, 222, -100333)]
    assert subscribe_and_queue(core, event, dests, "model", "A1263", "A1263", T0) == 3
    api.errors[222].append(fake_telegram.RETRY_AFTER)
    worker = DeliveryWorker(core, {"telegram": notifier}, pacing_clock=lambda: clock().timestamp())
    await worker.drain()
    assert {p["chat_id"] for p in api.sent()} == {111, -100333}
    clock.advance(seconds=8)
    await worker.drain()
    assert sorted(p["chat_id"] for p in api.sent()) == [-100333, 111, 222]
    assert all("you follow model A1263" in p["text"] for p in api.sent())
