"""What an operator reads when Telegram has a bad minute: one WARNING per retried send, no tracebacks."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from telegram import Bot

from bot.commands import Core
from bot.config import TelegramConfig
from bot.dataset import store_events
from bot.delivery import DeliveryWorker
from bot.events import Destination
from notifiers.telegram_bot import TelegramNotifier, telegram_running
from tests import fake_telegram
from tests.conftest import Clock, eventually, slice_event, subscribe_and_queue

T0 = datetime(2025, 7, 1, tzinfo=UTC)


async def test_a_telegram_502_is_one_warning_line_and_the_alert_is_sent_on_retry(engine, bot_api, caplog):
    clock = Clock(T0)
    core = Core(engine, clock=clock)
    event = slice_event("25338")
    with core.session(write=True) as session:
        store_events(session, [event], "t", T0)
        session.commit()
    assert subscribe_and_queue(core, event, [Destination("telegram", 111)], "model", "A1263", "A1263", T0) == 1
    bot_api.errors[111].append(fake_telegram.GATEWAY_PAGE)
    caplog.set_level(logging.INFO)
    async with Bot(fake_telegram.TOKEN, base_url=bot_api.base_url) as bot:
        worker = DeliveryWorker(core, {"telegram": TelegramNotifier(bot)})
        await worker.drain()
        assert bot_api.sent() == []
        clock.advance(minutes=1)  # past the retry's backoff

        async def retried() -> bool:
            clock.advance(seconds=2)  # the database's due times follow the test's clock
            await worker.drain()
            return bool(bot_api.sent())

        await eventually(retried)
    assert [p["chat_id"] for p in bot_api.sent()] == [111]
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [(r.levelname, r.exc_info is None) for r in loud] == [("WARNING", True)]
    # PTB 22.0 says "Invalid server response", later releases "Bad Gateway (502)": either, without the page.
    line = loud[0].getMessage()
    assert line.startswith("delivery 1 to telegram:111: ") and "retry 1 in 5 s" in line and "<html>" not in line


async def test_a_502_while_polling_is_one_warning_line_and_polling_goes_on(bot_api, core, caplog):
    bot_api.poll_errors += [fake_telegram.GATEWAY_PAGE, fake_telegram.server_error()]
    caplog.set_level(logging.INFO)
    config = TelegramConfig(token=fake_telegram.TOKEN, api_base_url=bot_api.base_url, api_file_url=bot_api.base_url)
    async with telegram_running(config, core):
        await eventually(lambda: not bot_api.poll_errors and bot_api.polling() > 0, 30)
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [(r.levelname, r.exc_info) for r in loud] == [("WARNING", None)] * 2
    assert all(r.getMessage().count("\n") == 0 for r in loud)
