"""Pacing on the monotonic clock, at a rate learnt from the platform's 429s."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import discord
import pytest
from telegram import Bot

from bot.commands import Core
from bot.dataset import store_events
from bot.delivery import DeliveryWorker, Limits, Outcome
from bot.events import Alert, Destination, Reason
from bot.pacing import MARGIN, Pacer
from notifiers.discord_notifier import classify
from notifiers.telegram_bot import TelegramNotifier
from tests import fake_telegram
from tests.conftest import Clock, Ticks, eventually, slice_event, subscribe_and_queue
from tests.fake_telegram import FakeBotApi

T0 = datetime(2025, 7, 1, 12, 0, tzinfo=UTC)


class QuietNotifier:
    platform = "test"
    limits = Limits(per_second=1, per_chat_per_second=1, per_group_per_minute=60)

    def is_group(self, chat_id: int) -> bool:
        return False

    async def send(self, alert: Alert) -> Outcome:
        return Outcome.sent()


def send_for(pacer: Pacer, ticks: Ticks, seconds: float) -> int:
    """Book sends to fresh chats as fast as the pacer allows for ``seconds``; return how many."""
    end, count = ticks.now + seconds, 0
    while ticks.now < end:
        ticks.now += max(0.0, pacer.reserve(10_000 + count, False))
        count += 1
    return count


def test_stepping_the_wall_clock_back_an_hour_does_not_stall_pacing(sqlite_engine):
    clock = Clock(T0)
    worker = DeliveryWorker(Core(sqlite_engine, clock=clock), {"test": QuietNotifier()})
    pacer = worker._pacers["test"]
    assert pacer.reserve(1, False) == 0.0
    clock.advance(hours=-1)
    assert pacer.reserve(2, False) <= 1.0  # one slot at 1 a second, not 3,601 s
    assert pacer.chat_wait(3) <= 0.0


def test_the_rate_rises_while_sends_go_through_up_to_the_platform_limit():
    ticks = Ticks(100.0)
    pacer = Pacer(Limits(per_second=25, platform_per_second=30), clock=ticks)
    send_for(pacer, ticks, 0.2)
    assert 25 < pacer.per_second < 30 * MARGIN
    send_for(pacer, ticks, 10.0)
    assert pacer.per_second == 30 * MARGIN  # just under the documented limit, never at it


def test_without_a_platform_limit_the_rate_stays_at_the_budget():
    ticks = Ticks(100.0)
    pacer = Pacer(Limits(per_second=25), clock=ticks)
    send_for(pacer, ticks, 5.0)
    assert pacer.per_second == 25


def test_a_limit_lower_than_the_budget_is_learnt_from_one_429():
    ticks = Ticks(100.0)
    pacer = Pacer(Limits(per_second=25, platform_per_second=30), clock=ticks)
    for chat in range(21):  # a platform allowing 20 a second refuses the 21st
        ticks.now += pacer.reserve(chat, False)
    pacer.limited(20, 1.0, bot_wide=True)
    assert pacer.per_second == pytest.approx(MARGIN * 20)
    assert pacer.reserve(100, False) > 0.1  # and waits until the refused second has room


def test_429s_of_sends_booked_before_a_cut_do_not_cut_again():
    ticks = Ticks(100.0)
    pacer = Pacer(Limits(per_second=25, platform_per_second=30), clock=ticks)
    send_for(pacer, ticks, 1.0)
    pacer.reserve(98, False)
    pacer.reserve(99, False)
    pacer.limited(98, 1.0, bot_wide=True)
    after_cut = pacer.per_second
    pacer.limited(99, 1.0, bot_wide=True)
    assert pacer.per_second == after_cut


def test_the_rate_never_falls_below_the_floor():
    ticks = Ticks(100.0)
    pacer = Pacer(Limits(per_second=20, platform_per_second=30), clock=ticks)
    for chat in range(40):
        ticks.now += 5.0
        pacer.reserve(chat, False)
        pacer.limited(chat, 1.0, bot_wide=True)
    assert pacer.per_second == 5.0  # a quarter of the budget


def test_a_chats_own_429_blocks_that_chat_and_leaves_the_rate():
    ticks = Ticks(100.0)
    pacer = Pacer(Limits(per_second=25, platform_per_second=30), clock=ticks)
    send_for(pacer, ticks, 1.0)
    pacer.reserve(7, False)
    rate = pacer.per_second
    pacer.limited(7, 30.0, bot_wide=False)
    assert pacer.per_second == rate
    assert pacer.chat_wait(7) == pytest.approx(30.0)
    assert pacer.chat_wait(8) <= 0.0


def discord_429(**headers: str) -> discord.HTTPException:
    response = SimpleNamespace(status=429, reason="Too Many Requests", headers={"Retry-After": "0.2", **headers})
    return discord.HTTPException(response, {"code": 0, "message": "You are being rate limited."})


def test_discords_global_429_slows_every_send_and_a_routes_429_only_its_channel():
    assert classify(discord_429(**{"X-RateLimit-Global": "true", "X-RateLimit-Scope": "global"})).global_limit
    assert not classify(discord_429(**{"X-RateLimit-Scope": "user"})).global_limit
    assert not classify(discord_429(**{"X-RateLimit-Scope": "shared"})).global_limit


async def test_telegrams_429_on_a_send_is_taken_as_the_bots_flood_limit():
    api = FakeBotApi()
    await api.start()
    bot = Bot(fake_telegram.TOKEN, base_url=api.base_url)
    await bot.initialize()
    api.errors[5].append(fake_telegram.RETRY_AFTER)
    try:
        outcome = await TelegramNotifier(bot).send(alert(5))
    finally:
        await bot.shutdown()
        await api.stop()
    assert (outcome.retry_after, outcome.global_limit) == (7.0, True)


def alert(chat_id: int) -> Alert:
    return Alert(1, Destination("telegram", chat_id), slice_event("25338"), (Reason("brand", "Anker"),), False)


async def test_the_worker_learns_a_limit_lower_than_its_budget(sqlite_engine):
    api = FakeBotApi(max_per_second=8)  # the default budget is 25 a second
    await api.start()
    bot = Bot(fake_telegram.TOKEN, base_url=api.base_url)
    await bot.initialize()
    core = Core(sqlite_engine)  # the real clock: the retries after a 429 come due in a second
    now = core.clock()
    event = slice_event("25338")
    with core.session() as session:
        store_events(session, [event], "t", now)
        session.commit()
    chats = set(range(1, 41))
    subscribe_and_queue(core, event, [Destination("telegram", chat) for chat in chats], "brand", "anker", "Anker", now)
    worker = DeliveryWorker(core, {"telegram": TelegramNotifier(bot)})

    async def drained_to_every_chat() -> bool:
        await worker.drain()
        return {p["chat_id"] for p in api.sent()} == chats

    try:
        await eventually(drained_to_every_chat, timeout=30, every=0.1)
    finally:
        await bot.shutdown()
        await api.stop()
    assert {p["chat_id"] for p in api.sent()} == chats
    assert api.too_many <= 4  # sending at the budget would be refused dozens of times
