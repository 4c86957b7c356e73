"""/forget deletes everything stored about a chat; a server that removed the bot is forgotten after a grace period."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlmodel import SQLModel

from bot import messages
from bot.alerts import alert_keys
from bot.commands import MUTATING, dispatch
from bot.config import Config, RetentionConfig, load_config
from bot.core import REMOVED_FROM_SERVER, Core
from bot.dataset import CURATED_ORIGIN, bundled_curated, store_events
from bot.errors import ConfigError
from bot.events import Destination
from bot.runtime import purge_removed_servers, running
from bot.sources.cpsc import parse_records
from notifiers.discord_lifecycle import discord_running
from notifiers.telegram_bot import telegram_running
from storage import outbox, repo
from tests import fake_discord
from tests.conftest import NOW, Clock, eventually, follows, paused, slice_event, slice_records
from tests.fake_discord import ADMIN, ALERTS, GENERAL, GUILD_ID, MEMBER, SEND_MESSAGES
from tests.test_discord import config as discord_config
from tests.test_telegram import ADMIN as GROUP_ADMIN
from tests.test_telegram import GROUP
from tests.test_telegram import MEMBER as GROUP_MEMBER
from tests.test_telegram import config as telegram_config

ONE, OTHER = Destination("telegram", "101"), Destination("telegram", "202")
GRACE = timedelta(days=30)


@pytest.fixture
def core(engine) -> Core:
    """A core on a database of each backend holding what tests/conftest.py loads; its clock stands at NOW."""
    events, problems = parse_records(slice_records(), "test slice")
    curated, curated_problems = bundled_curated()
    assert problems == curated_problems == []
    core = Core(engine, clock=Clock(NOW))
    with core.session(write=True) as session:
        store_events(session, events, "test:cpsc", NOW)
        store_events(session, curated, CURATED_ORIGIN, NOW)
        session.commit()
    return core


def queue_alert(core: Core, number: str) -> None:
    """Queue the alerts of one recall of the slice for every chat that follows it."""
    event = slice_event(number)
    with core.session(write=True) as session:
        keys = alert_keys(session, event)
        later = core.clock() + timedelta(minutes=1)
        outbox.queue_alerts(session, event, keys, is_update=False, subscribed_before=later, now=core.clock())
        session.commit()


def send_everything(core: Core) -> None:
    """Record every queued alert as sent, as a delivery worker would."""
    with core.session(write=True) as session:
        for claim in outbox.claim_due(session, ["telegram"], core.clock(), 100, timedelta(minutes=1)):
            outbox.mark_sent(session, claim, core.clock())
        session.commit()


def fill(core: Core, *dests: Destination) -> None:
    """Give each chat one of everything: subscriptions, a language, a /more page, an alert sent and one waiting."""
    for dest in dests:
        for line in ("/subscribe brand Anker", "/subscribe model PAC20-272", "/language zh", "/check Anker"):
            dispatch(core, dest, line)
    queue_alert(core, "25338")  # Anker A1263: sent below, the chat's history
    send_everything(core)
    queue_alert(core, "25011")  # another Anker recall: waiting to be sent


def address_tables():
    """Every table with an address column; each must say whose it is with a platform column too."""
    tables = [t for t in SQLModel.metadata.sorted_tables if "address" in t.c]
    assert {"subscription", "destination", "delivery", "check_page"} <= {t.name for t in tables}
    assert all("platform" in t.c for t in tables), "a table with an address but no platform"
    return tables


def rows_per_table(core: Core, dest: Destination) -> dict[str, int]:
    """Count a chat's rows in every table that has an address column."""
    with core.session() as session:
        return {
            t.name: session.execute(
                select(func.count()).select_from(t).where(t.c.platform == dest.platform, t.c.address == dest.address)
            ).scalar_one()
            for t in address_tables()
        }


def counts(subscriptions: int, pending: int, sent: int) -> str:
    return messages.FORGET_COUNTS.format(subscriptions=subscriptions, pending=pending, sent=sent)


def test_forget_leaves_no_row_behind_in_any_table_and_other_chats_keep_theirs(core):
    fill(core, ONE, OTHER)
    before = rows_per_table(core, OTHER)
    assert all(before[name] for name in ("subscription", "destination", "delivery", "check_page")), before
    assert all(rows_per_table(core, ONE).values())  # the chat to forget had a row in each
    dispatch(core, ONE, "/forget confirm")
    assert rows_per_table(core, ONE) == {name: 0 for name in before}
    assert rows_per_table(core, OTHER) == before


def test_forget_says_what_it_will_delete_and_deletes_nothing_until_confirmed(core):
    fill(core, ONE)
    before = rows_per_table(core, ONE)
    reply = dispatch(core, ONE, "/forget")
    assert reply.text == messages.FORGET_ASK.format(counts=counts(subscriptions=2, pending=1, sent=1))
    assert [(b.label, b.command) for b in reply.buttons] == [(messages.BUTTON_FORGET, "forget confirm")]
    assert rows_per_table(core, ONE) == before


def test_forget_confirm_says_what_it_deleted(core):
    fill(core, ONE)
    reply = dispatch(core, ONE, "/forget confirm")
    assert reply.text == messages.FORGET_DONE.format(counts=counts(subscriptions=2, pending=1, sent=1))
    assert reply.buttons == ()


def test_a_chat_that_forgot_is_answered_in_the_platforms_language_and_alerted_of_nothing(core):
    fill(core, ONE)
    dispatch(core, ONE, "/forget confirm")
    assert core.language(ONE, "en") == "en"  # its choice of Chinese is gone
    queue_alert(core, "25056")  # an Anker recall it followed before
    with core.session() as session:
        assert outbox.deliveries_for(session, ONE) == []


def test_forget_with_nothing_stored_says_so_without_a_button(core):
    for line in ("/forget", "/forget confirm"):
        reply = dispatch(core, ONE, line)
        assert (reply.text, reply.buttons) == (messages.FORGET_NOTHING, ())


def test_forget_is_for_group_admins_and_server_managers():
    assert "forget" in MUTATING


# --- through the platforms ------------------------------------------------------------


@pytest.fixture
async def telegram(bot_api, core):
    async with telegram_running(telegram_config(bot_api), core) as notifier:
        yield notifier


async def test_telegram_forget_asks_with_a_button_and_the_button_deletes(bot_api, telegram, core):
    bot_api.push_message(5, "/subscribe model ZX-1000")  # nothing on record: a one-message answer
    await eventually(lambda: len(bot_api.sent(5)) == 1)
    bot_api.push_message(5, "/forget")
    await eventually(lambda: len(bot_api.sent(5)) == 2)
    ask = bot_api.sent(5)[1]
    assert ask["text"] == messages.FORGET_ASK.format(counts=counts(subscriptions=1, pending=0, sent=0))
    [[button]] = ask["reply_markup"]["inline_keyboard"]
    assert button == {"text": "Delete everything", "callback_data": "forget confirm"}
    bot_api.push_callback(5, "forget confirm")
    await eventually(lambda: len(bot_api.sent(5)) == 3)
    assert bot_api.sent(5)[2]["text"] == messages.FORGET_DONE.format(counts=counts(subscriptions=1, pending=0, sent=0))
    assert rows_per_table(core, Destination("telegram", 5)) == {t.name: 0 for t in address_tables()}


async def test_telegram_in_a_group_only_admins_forget(bot_api, telegram, core):
    bot_api.members[(GROUP, GROUP_ADMIN)] = "administrator"
    bot_api.push_message(GROUP, "/subscribe model ZX-1000", user_id=GROUP_ADMIN, chat_type="supergroup")
    await eventually(lambda: len(bot_api.sent(GROUP)) == 1)
    bot_api.push_callback(GROUP, "forget confirm", user_id=GROUP_MEMBER, chat_type="supergroup")
    await eventually(lambda: len(bot_api.sent(GROUP)) == 2)
    assert bot_api.sent(GROUP)[1]["text"] == messages.GROUP_ADMIN_ONLY
    assert follows(core, "telegram", GROUP) == [("model", "ZX1000")]


@pytest.fixture
async def discord_bot(discord_server, core):
    async with discord_running(discord_config(discord_server, command_guild_id=GUILD_ID), core) as notifier:
        await asyncio.wait_for(discord_server.ready.wait(), 10)
        yield notifier


async def test_discord_forget_is_for_server_managers_and_its_button_deletes_the_channel(
    discord_server, discord_bot, core
):
    server = discord_server
    [published] = [r.body for r in server.requests if r.method == "PUT"]
    forget = {c["name"]: c for c in published}["forget"]
    assert int(forget["default_member_permissions"]) == fake_discord.MANAGE_GUILD  # hidden from other members
    await server.answer(await server.slash("subscribe", {"name": "Anker"}))
    ask = (await server.answer(await server.slash("forget")))["data"]
    assert ask["content"] == messages.FORGET_ASK.format(counts=counts(subscriptions=1, pending=0, sent=0))
    [[button]] = [row["components"] for row in ask["components"]]
    assert (button["label"], button["custom_id"]) == ("Delete everything", "recallbot:forget confirm")
    refused = await server.answer(await server.press(button["custom_id"], user=MEMBER, permissions=SEND_MESSAGES))
    assert refused["data"]["content"] == messages.SERVER_MANAGE_ONLY
    assert follows(core, "discord", GENERAL) == [("brand", "anker")]
    done = await server.answer(await server.press(button["custom_id"], user=ADMIN))
    assert done["data"]["content"] == messages.FORGET_DONE.format(counts=counts(subscriptions=1, pending=0, sent=0))
    assert rows_per_table(core, Destination("discord", GENERAL)) == {t.name: 0 for t in address_tables()}


async def test_discord_a_server_that_removed_the_bot_is_forgotten_after_the_grace_period(
    discord_server, discord_bot, core
):
    server = discord_server
    await server.answer(await server.slash("subscribe", {"name": "Anker"}))
    await server.remove_from_guild()
    await eventually(lambda: paused(core, "discord", GENERAL) and paused(core, "discord", ALERTS))
    core.clock.advance(days=30, seconds=-1)
    assert purge_removed_servers(core, GRACE) == 0
    assert follows(core, "discord", GENERAL) == [("brand", "anker")]
    core.clock.advance(seconds=1)
    assert purge_removed_servers(core, GRACE) == 2  # #general and #recall-alerts
    for channel in (GENERAL, ALERTS):
        assert rows_per_table(core, Destination("discord", channel)) == {t.name: 0 for t in address_tables()}


# --- the grace period -------------------------------------------------------------------


def removed(server: str) -> str:
    return f"{REMOVED_FROM_SERVER} {server} (1)"


def test_channels_of_a_removed_server_are_kept_for_the_grace_period_then_deleted(core):
    channel, other = Destination("discord", "31"), Destination("discord", "32")
    for dest in (channel, other):
        dispatch(core, dest, "/subscribe brand Anker")
    core.destination_gone(channel, removed("Power bank owners"), by_user=True)
    core.clock.advance(days=29, hours=23)
    assert core.purge_removed_servers(GRACE) == 0
    assert follows(core, "discord", 31) == [("brand", "anker")]
    core.clock.advance(hours=1)
    assert core.purge_removed_servers(GRACE) == 1
    assert rows_per_table(core, channel) == {t.name: 0 for t in address_tables()}
    assert follows(core, "discord", 32) == [("brand", "anker")]


def test_a_server_that_invites_the_bot_back_within_the_grace_period_keeps_everything(core):
    channel = Destination("discord", "31")
    dispatch(core, channel, "/subscribe brand Anker")
    core.destination_gone(channel, removed("Power bank owners"), by_user=True)
    core.clock.advance(days=10)
    core.destination_back(channel)
    core.clock.advance(days=60)
    assert core.purge_removed_servers(GRACE) == 0
    assert follows(core, "discord", 31) == [("brand", "anker")]


def test_a_blocked_chat_is_paused_but_never_deleted(core):
    dm, group = Destination("telegram", "41"), Destination("telegram", "-42")
    for dest in (dm, group):
        dispatch(core, dest, "/subscribe brand Anker")
    core.destination_gone(dm, "403 Forbidden: bot was blocked by the user", by_user=True)
    core.destination_gone(group, "the bot was removed from the chat (kicked)", by_user=True)
    core.clock.advance(days=365)
    assert core.purge_removed_servers(GRACE) == 0
    assert follows(core, "telegram", 41) == follows(core, "telegram", -42) == [("brand", "anker")]


async def test_the_running_bot_purges_removed_servers_at_start_up_and_daily(core):
    channel = Destination("discord", "31")
    dispatch(core, channel, "/subscribe brand Anker")
    core.destination_gone(channel, removed("Power bank owners"), by_user=True)
    core.clock.advance(days=31)
    config = Config(retention=RetentionConfig(removed_server_days=30))
    async with running(config, core, {}) as runtime:
        job = runtime.scheduler.get_job("retention")
        assert job.trigger.interval == timedelta(days=1)
        await eventually(lambda: not follows(core, "discord", 31))
    with core.session() as session:
        assert repo.stored_about(session, channel).total == 0


def test_the_grace_period_is_configured_in_days(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[retention]\nremoved_server_days = 7\n")
    assert load_config(path, environ={}).retention.removed_server_days == 7
    assert load_config(None, environ={}).retention.removed_server_days == 30
    environ = {"RECALLBOT_RETENTION__REMOVED_SERVER_DAYS": "0"}
    with pytest.raises(ConfigError, match=r"RECALLBOT_RETENTION__REMOVED_SERVER_DAYS must be at least 1, got 0"):
        load_config(None, environ=environ)
