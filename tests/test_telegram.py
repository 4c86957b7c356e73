"""The Telegram front end: the real python-telegram-bot application against a fake Bot API."""

from __future__ import annotations

import asyncio
import json
import signal
from contextlib import AsyncExitStack
from datetime import timedelta

import pytest

from bot import messages
from bot.commands import Core
from bot.config import TelegramConfig
from bot.delivery import DeliveryWorker
from bot.events import Destination
from notifiers.telegram_bot import telegram_running
from storage import outbox, repo
from storage.leader import Leadership
from tests import fake_telegram
from tests.conftest import (
    clean_env,
    eventually,
    follows,
    paused,
    slice_event,
    start_recallbot,
    subscribe_and_queue,
)
from tests.test_leader import end_lock_session, two_instances

GROUP = -1001234567890
ADMIN, MEMBER = 7, 8
FAST = {"poller_retry": 0.5, "poller_check": 0.1}  # lock timing for tests with several instances


@pytest.fixture
def api(bot_api):
    return bot_api


def config(api) -> TelegramConfig:
    return TelegramConfig(token=fake_telegram.TOKEN, api_base_url=api.base_url, api_file_url=api.file_url)


@pytest.fixture
async def telegram(api, core):
    async with telegram_running(config(api), core) as notifier:
        yield notifier


async def test_start_up_registers_the_command_menu_in_english_and_in_chinese(api, telegram):
    menus = {c.params.get("language_code"): c.params["commands"] for c in api.calls if c.method == "setMyCommands"}
    assert set(menus) == {None, "zh"}
    names = [
        "check",
        "more",
        "subscribe",
        "unsubscribe",
        "subscriptions",
        "recent",
        "status",
        "language",
        "settings",
        "forget",
        "help",
    ]
    assert [c["command"] for c in menus[None]] == names
    assert [c["command"] for c in menus["zh"]] == names
    assert menus[None][0]["description"] == "Is a model, product or brand recalled? /check PAC20-272"
    assert menus["zh"][0]["description"] == "某个型号、产品或品牌是否被召回？/check PAC20-272"


async def test_check_in_a_private_chat_answers_with_buttons(api, telegram):
    api.push_message(5, "/check PAC20-272")
    await eventually(lambda: api.sent(5))
    [reply] = api.sent(5)
    assert reply["parse_mode"] == "HTML"
    assert reply["text"].startswith("Yes: PAC20-272 is named in 1 notice.")
    assert "<b>RECALL: Romoss PAC20-272 power bank</b>" in reply["text"]
    buttons = [row[0]["callback_data"] for row in reply["reply_markup"]["inline_keyboard"]]
    assert buttons == ["subscribe model PAC20-272", "subscribe brand Romoss"]


async def test_check_without_argument_answers_with_usage(api, telegram):
    api.push_message(5, "/check")
    await eventually(lambda: api.sent(5))
    assert api.sent(5)[0]["text"] == messages.EMPTY_QUERY.format(what="model or brand")


async def test_unknown_command_in_a_private_chat_gets_a_sentence(api, telegram):
    api.push_message(5, "/frobnicate")
    await eventually(lambda: api.sent(5))
    assert api.sent(5)[0]["text"] == messages.UNKNOWN_COMMAND.format(name="frobnicate")


async def test_in_a_group_anyone_checks_but_only_admins_subscribe(api, telegram, core):
    api.members[(GROUP, ADMIN)] = "administrator"
    api.push_message(GROUP, "/check@RecallBot A1263", user_id=MEMBER, chat_type="supergroup")
    await eventually(lambda: len(api.sent(GROUP)) == 1)
    assert api.sent(GROUP)[0]["text"].startswith("Yes: A1263 is named in 1 notice.")
    api.push_message(GROUP, "/subscribe brand Anker", user_id=MEMBER, chat_type="supergroup")
    await eventually(lambda: len(api.sent(GROUP)) == 2)
    assert api.sent(GROUP)[1]["text"] == messages.GROUP_ADMIN_ONLY
    assert follows(core, "telegram", GROUP) == []
    api.push_message(GROUP, "/subscribe@RecallBot brand Anker", user_id=ADMIN, chat_type="supergroup")
    await eventually(lambda: len(api.sent(GROUP)) >= 3)
    assert api.sent(GROUP)[2]["text"].startswith("Done: this chat now follows brand Anker.")
    assert follows(core, "telegram", GROUP) == [("brand", "anker")]


async def test_a_button_press_runs_its_command_and_is_answered(api, telegram, core):
    query = api.push_callback(5, "subscribe model PAC20-272")
    await eventually(lambda: api.sent(5))
    [answer] = [c for c in api.calls if c.method == "answerCallbackQuery"]
    assert answer.params["callback_query_id"] == query
    assert answer.params["text"].startswith("Done: this chat now follows model PAC20-272.")
    assert follows(core, "telegram", 5) == [("model", "PAC20272")]


async def test_in_a_group_a_members_subscribe_button_is_refused(api, telegram, core):
    api.members[(GROUP, ADMIN)] = "administrator"  # the group has an admin; the one pressing is not
    query = api.push_callback(GROUP, "subscribe brand Anker", user_id=MEMBER, chat_type="supergroup")
    await eventually(lambda: api.sent(GROUP))
    [asked] = [c.params for c in api.calls if c.method == "getChatMember"]
    assert (int(asked["chat_id"]), int(asked["user_id"])) == (GROUP, MEMBER)
    [answer] = [c.params for c in api.calls if c.method == "answerCallbackQuery"]
    assert (answer["callback_query_id"], answer["text"]) == (query, messages.GROUP_ADMIN_ONLY)
    assert [m["text"] for m in api.sent(GROUP)] == [messages.GROUP_ADMIN_ONLY]
    assert follows(core, "telegram", GROUP) == []


async def test_a_new_recall_alerts_subscribed_chats_and_honours_retry_after(api, telegram, core):
    dests = [Destination("telegram", chat) for chat in (11, 12, GROUP)]
    assert subscribe_and_queue(core, slice_event("25338"), dests, "model", "A1263", "A1263", core.clock()) == 3
    api.errors[12].append(fake_telegram.RETRY_AFTER)
    worker = DeliveryWorker(core, {"telegram": telegram})
    await worker.drain()
    assert {p["chat_id"] for p in api.sent()} == {11, GROUP}
    alert = api.sent(11)[0]
    assert alert["text"].startswith("<b>New recall</b>")
    assert "<i>Why: you follow model A1263</i>" in alert["text"]
    assert alert["reply_markup"]["inline_keyboard"][0][0] == {"text": "Unsubscribe", "callback_data": "subscriptions"}
    with core.session() as session:
        [waiting] = [d for d in outbox.deliveries_for(session, Destination("telegram", 12))]
    assert waiting.status == "pending" and waiting.next_attempt_at == core.clock() + timedelta(seconds=7)


async def test_a_kicked_update_pauses_the_chat_at_once(api, telegram, core):
    api.push_kicked(GROUP)
    await eventually(lambda: paused(core, "telegram", GROUP))
    assert "removed" in paused(core, "telegram", GROUP)


async def test_a_migrated_group_keeps_its_subscriptions(api, telegram, core):
    old, new = -4001, -1004001
    api.members[(old, ADMIN)] = "creator"
    api.push_message(old, "/subscribe brand Anker", user_id=ADMIN, chat_type="group")
    await eventually(lambda: follows(core, "telegram", old))
    api.push_migration(old, new)
    await eventually(lambda: follows(core, "telegram", new))
    assert follows(core, "telegram", old) == []


async def test_an_upgrade_to_a_supergroup_merges_quietly_into_what_it_already_follows(api, core):
    old, new = -4001, -1004001
    with core.session() as session:  # the supergroup already follows Anker (a send's "migrated" moved it)
        for chat, key_type, key in ((old, "brand", "anker"), (old, "model", "A1263"), (new, "brand", "anker")):
            repo.add_subscription(session, Destination("telegram", chat), key_type, key, key, core.clock())
        session.commit()
    async with telegram_running(config(api), core):
        api.push_migration(old, new)  # the old group's migrate_to message, then the supergroup's migrate_from one
        await eventually(lambda: sorted(follows(core, "telegram", new)) == [("brand", "anker"), ("model", "A1263")])
        api.push_message(new, "/help", chat_type="supergroup")
        await eventually(lambda: api.sent(new))  # so both service messages were fetched before it
    # Leaving waits until every fetched update is handled, an apology for one included.
    assert [m["chat_id"] for m in api.sent() if m["text"] == messages.INTERNAL_ERROR] == []
    assert len(api.sent(new)) == 1 and api.sent(old) == []
    assert follows(core, "telegram", old) == []


def test_a_bad_token_stops_start_up_with_one_sentence(tmp_path):
    async def scenario():
        server = fake_telegram.FakeBotApi()
        await server.start()
        try:
            return await run_process(tmp_path, server, token="999:wrong", until_sent=None)
        finally:
            await server.stop()

    code, out = asyncio.run(scenario())
    assert code == 2
    assert "recallbot: Telegram rejected the bot token; check [telegram] token" in out
    assert "Traceback" not in out


def test_an_unreachable_api_stops_start_up_with_one_sentence(tmp_path):
    env = {"RECALLBOT_TELEGRAM__API_BASE_URL": "http://127.0.0.1:9/bot"}
    code, out = asyncio.run(run_process(tmp_path, None, token=fake_telegram.TOKEN, until_sent=None, env=env))
    assert code == 2
    assert "recallbot: Could not reach the Telegram Bot API at http://127.0.0.1:9/bot" in out
    assert "Traceback" not in out


async def run_process(tmp_path, server, *, token, until_sent, env=None):
    """Run `recallbot run` with a Telegram token; stop it once ``until_sent`` chat got a message."""
    environ = clean_env(RECALLBOT_TELEGRAM__TOKEN=token)
    if server is not None:
        environ["RECALLBOT_TELEGRAM__API_BASE_URL"] = server.base_url
    environ.update(env or {})
    proc = await start_recallbot("run", cwd=tmp_path, env=environ)
    try:
        if until_sent is not None:
            await eventually(lambda: server.sent(until_sent) or proc.returncode is not None, timeout=60, every=0.05)
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=60)
    finally:
        if proc.returncode is None:  # the test failed waiting: leave no process behind
            proc.kill()
            await proc.wait()
    return proc.returncode, out.decode()


async def test_recallbot_run_answers_check_through_telegram(tmp_path, api):
    api.push_message(77, "/check PAC20-272")
    code, out = await run_process(tmp_path, api, token=fake_telegram.TOKEN, until_sent=77)
    assert code == 0, out
    [reply] = api.sent(77)
    assert reply["text"].startswith("Yes: PAC20-272 is named in 1 notice.")
    assert "Telegram: polling as @RecallBot" in out
    assert fake_telegram.TOKEN not in out
    assert json.dumps(fake_telegram.TOKEN) not in out


async def test_only_one_instance_polls_and_another_takes_over(api, pg_engine):
    with two_instances(pg_engine) as (one, other):
        async with AsyncExitStack() as second, AsyncExitStack() as first:
            await first.enter_async_context(telegram_running(config(api), Core(one), **FAST))
            await eventually(lambda: api.polling() == 1)
            await second.enter_async_context(telegram_running(config(api), Core(other), **FAST))
            api.push_message(5, "/help")
            await eventually(lambda: api.sent(5))
            # Time passes on purpose: were the second instance polling too (it tries for the lock
            # every 0.5 s), /help would be answered twice by now. Nothing signals an absence.
            await asyncio.sleep(0.5)
            assert len(api.sent(5)) == 1
            await first.aclose()  # the polling instance goes away; the other one takes over
            api.push_message(6, "/help")
            await eventually(lambda: api.sent(6))
    assert api.conflicts == 0


async def test_a_poller_whose_lock_session_ends_stops_polling_until_the_lock_is_free(api, pg_engine):
    with two_instances(pg_engine) as (holder, other):
        async with telegram_running(config(api), Core(holder), **FAST):
            await eventually(lambda: api.polling() == 1)
            end_lock_session(other, holder, "telegram-poller")
            await eventually(lambda: api.polling() == 0)
            taker = Leadership(other, "telegram-poller")
            await eventually(taker.try_acquire)  # the lock is free for another instance
            taker.release()
            await eventually(lambda: api.polling() == 1)  # and ours again once that one lets go
            api.push_message(5, "/help")
            await eventually(lambda: api.sent(5))
    assert api.conflicts == 0


async def test_after_a_database_blip_the_poller_stops_before_another_instance_polls(api, pg_engine):
    with two_instances(pg_engine) as (holder, other):
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(telegram_running(config(api), Core(holder), **FAST))
            await eventually(lambda: api.polling() == 1)
            await stack.enter_async_context(telegram_running(config(api), Core(other), **FAST))
            end_lock_session(other, holder, "telegram-poller")
            await eventually(lambda: api.polling() == 0)  # the holder stopped; whoever takes the lock waits first
            api.push_message(5, "/help")
            await eventually(lambda: api.sent(5))
            assert api.polling() == 1
    assert api.conflicts == 0  # no getUpdates ever ended another's: never two pollers at once


async def test_a_product_name_is_a_possible_match_with_units_contact_and_a_more_button(api, telegram):
    api.push_message(5, "/check Anker 535")
    await eventually(lambda: api.sent(5))
    [reply] = api.sent(5)
    assert reply["text"].startswith('Possibly: 1 recall names a product matching "Anker 535"')
    assert "<b>RECALL: Anker 535 Power Bank (20K)</b>" in reply["text"]
    assert "<i>Compare: the brand and product name on your label" in reply["text"]
    assert "<b>Contact:</b>" in reply["text"] and "<b>Which units:</b>" in reply["text"]
    assert "<b>Reported by:</b> June 2025 tech news round-up" in reply["text"]


async def test_the_more_button_pages_through_a_long_answer(api, telegram):
    api.push_message(5, "/check Anker")
    await eventually(lambda: any("reply_markup" in m for m in api.sent(5)))
    first = len(api.sent(5))
    buttons = [row[0]["callback_data"] for row in api.sent(5)[-1]["reply_markup"]["inline_keyboard"]]
    assert buttons[-1] == "more"  # under the last message of the answer
    api.push_callback(5, "more")
    await eventually(lambda: len(api.sent(5)) > first)
    assert api.sent(5)[first]["text"].startswith("More for Anker (6-")


async def test_model_and_serial_says_whether_the_unit_is_in_the_recall(api, telegram):
    api.push_message(5, "/check BI-B41 000G21")
    await eventually(lambda: api.sent(5))
    text = api.sent(5)[0]["text"]
    assert text.startswith(f"Yes: BI-B41 is named in 1 notice. {messages.UNIT_COVERED.format(code='000G21')}")
    assert "<b>Contact:</b> INIU toll-free at 888-886-3606" in text


async def test_an_answer_shares_the_alert_pacer_and_a_refused_answer_is_sent_after_the_wait(api, telegram, core):
    """Answers count against Telegram's one overall limit: they book the pacer's slots, and a
    429 on an answer is learnt from and waited out instead of losing the answer."""
    worker = DeliveryWorker(core, {"telegram": telegram})  # hands its pacer to the answers
    pacer = worker._pacers["telegram"]
    api.errors[555].append({**fake_telegram.RETRY_AFTER, "parameters": {"retry_after": 1}})
    api.push_message(555, "/check A1263")
    await eventually(lambda: api.sent(555))
    [answer] = api.sent(555)
    assert "A1263" in answer["text"] and messages.INTERNAL_ERROR not in answer["text"]
    refused = [c for c in api.calls if c.method == "sendMessage" and int(c.params["chat_id"]) == 555]
    assert len(refused) == 2  # the refused try, then the answer
    assert pacer.chat_ready_at("555") > 0  # the answer was booked in the pacer
    assert pacer.per_second < 25  # and its 429 was taken as the bot's flood limit


async def test_a_chinese_app_gets_chinese_answers_and_buttons_and_an_english_one_english(api, telegram):
    api.push_message(5, "/check PAC20-272", language="zh-hans")
    api.push_message(6, "/check PAC20-272", language="en")
    await eventually(lambda: api.sent(5) and api.sent(6))
    chinese, english = api.sent(5)[0], api.sent(6)[0]
    assert chinese["text"].startswith("是：1 份公告写明了 PAC20-272。")
    assert "<b>召回：Romoss PAC20-272 power bank</b>" in chinese["text"]
    assert "<b>日期：</b>2025年6月16日" in chinese["text"]
    assert [row[0]["text"] for row in chinese["reply_markup"]["inline_keyboard"]] == ["订阅这个型号", "订阅这个品牌"]
    assert english["text"].startswith("Yes: PAC20-272 is named in 1 notice.")
    assert "<b>Date:</b> Jun 16, 2025" in english["text"]


async def test_a_language_switch_reaches_an_alert_already_queued(api, telegram, core):
    chat = Destination("telegram", 21)
    assert subscribe_and_queue(core, slice_event("25338"), [chat], "model", "A1263", "A1263", core.clock()) == 1
    api.push_message(21, "/language zh")  # an English app: the choice, not the app, decides
    await eventually(lambda: api.sent(21))
    assert api.sent(21)[0]["text"] == "好的，本聊天今后的回答和提醒都使用简体中文，包括已在等待发送的提醒。"
    await DeliveryWorker(core, {"telegram": telegram}).drain()
    alert = api.sent(21)[1]
    assert alert["text"].startswith("<b>新召回</b>")
    assert "<i>匹配依据：你订阅了型号 A1263</i>" in alert["text"]
    assert alert["reply_markup"]["inline_keyboard"][0][0] == {"text": "取消订阅", "callback_data": "subscriptions"}
    api.push_callback(21, "language en")
    await eventually(lambda: len(api.sent(21)) == 3)
    assert api.sent(21)[2]["text"].startswith("Done: this chat is now answered and alerted in English")


async def test_chinese_input_subscribes_with_chinese_type_words(api, telegram, core):
    api.push_message(5, "/subscribe 品牌 小米", language="zh-hans")
    await eventually(lambda: api.sent(5))
    assert api.sent(5)[0]["text"].startswith("好的，本聊天已订阅品牌 Xiaomi。")
    assert follows(core, "telegram", 5) == [("brand", "xiaomi")]
