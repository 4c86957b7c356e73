"""A chat that sends too many commands at once is told once, ignored until the window passes, then answered."""

from __future__ import annotations

import asyncio

import pytest

from bot import messages
from bot.config import load_config
from bot.errors import ConfigError
from bot.events import Destination
from bot.ratelimit import Admission, CommandLimiter
from notifiers.discord_lifecycle import discord_running
from notifiers.telegram_bot import telegram_running
from tests.conftest import Ticks, eventually
from tests.fake_discord import GUILD_ID
from tests.test_discord import config as discord_config
from tests.test_telegram import config as telegram_config

CHAT, OTHER = Destination("telegram", "5"), Destination("telegram", "6")
TOO_MANY = messages.TOO_MANY_COMMANDS.format(limit=20, seconds=10)
ANSWER = messages.MORE_NONE  # the answer to /more in a chat that asked nothing before
PHOTO = b"\xff\xd8 a picture, never downloaded: it is ignored first"


@pytest.fixture
def clock() -> Ticks:
    return Ticks()


@pytest.fixture
def limiter(clock) -> CommandLimiter:
    return CommandLimiter(limit=20, window=10, clock=clock)


def test_twenty_commands_in_ten_seconds_are_answered_and_the_twenty_first_is_told_once(limiter):
    assert [limiter.admit(CHAT) for _ in range(20)] == [Admission.ANSWER] * 20
    assert [limiter.admit(CHAT) for _ in range(3)] == [Admission.WARN, Admission.IGNORE, Admission.IGNORE]
    assert limiter.ignored == 2


def test_a_chat_is_answered_again_once_the_window_has_passed(limiter, clock):
    for _ in range(21):
        limiter.admit(CHAT)
    clock.now += 9.9
    assert limiter.admit(CHAT) is Admission.IGNORE
    clock.now += 0.1
    assert limiter.admit(CHAT) is Admission.ANSWER


def test_the_window_slides_so_commands_spread_over_it_are_all_answered(limiter, clock):
    answered = []
    for _ in range(100):  # one command every half second: 20 in any ten seconds, never more
        answered.append(limiter.admit(CHAT))
        clock.now += 0.5
    assert answered == [Admission.ANSWER] * 100


def test_a_flood_that_goes_on_gets_at_most_one_sentence_a_window(limiter, clock):
    told = []
    for _ in range(600):  # ten commands a second for a minute
        told.append(limiter.admit(CHAT))
        clock.now += 0.1
    assert told.count(Admission.WARN) == 6
    assert told.count(Admission.ANSWER) == 20 * 6  # the limit, window after window


def test_one_chats_flood_does_not_limit_another(limiter):
    for _ in range(30):
        limiter.admit(CHAT)
    assert limiter.admit(OTHER) is Admission.ANSWER
    assert limiter.admit(Destination("discord", "5")) is Admission.ANSWER  # same address, another platform


def test_quiet_chats_are_forgotten(limiter, clock):
    for n in range(1000):
        limiter.admit(Destination("telegram", str(n)))
    clock.now += 10
    limiter.admit(CHAT)
    assert list(limiter._answered) == [CHAT]


def test_the_limit_is_configured(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[limits]\ncommands_per_window = 5\nwindow_seconds = 60\n")
    limits = load_config(path, environ={}).limits
    assert (limits.commands_per_window, limits.window_seconds) == (5, 60)
    defaults = load_config(None, environ={}).limits
    assert (defaults.commands_per_window, defaults.window_seconds) == (20, 10)
    with pytest.raises(ConfigError, match=r"RECALLBOT_LIMITS__WINDOW_SECONDS must be at least 1, got 0"):
        load_config(None, environ={"RECALLBOT_LIMITS__WINDOW_SECONDS": "0"})


# --- through the platforms: the real clients against the fakes -----------------------------


@pytest.fixture
def limited_core(core, limiter):
    core.limiter = limiter
    return core


@pytest.fixture
async def telegram(bot_api, limited_core):
    async with telegram_running(telegram_config(bot_api), limited_core) as notifier:
        yield notifier


def texts(api, chat: int) -> list[str]:
    return [m["text"] for m in api.sent(chat)]


async def test_telegram_a_flooding_chat_is_told_once_then_ignored_until_the_window_passes(
    bot_api, telegram, limiter, clock
):
    for _ in range(21):
        bot_api.push_message(5, "/more")
    await eventually(lambda: len(bot_api.sent(5)) == 21)
    assert texts(bot_api, 5).count(TOO_MANY) == 1
    assert texts(bot_api, 5).count(ANSWER) == 20
    bot_api.push_message(5, "/more")  # over the limit: a command,
    bot_api.push_callback(5, "recent")  # a button
    bot_api.push_photo(5, PHOTO)  # and a photo are each ignored, without a word
    bot_api.push_message(6, "/more")  # while another chat is answered
    await eventually(lambda: limiter.ignored == 3 and bot_api.sent(6))
    assert [c for c in bot_api.calls if c.method in ("answerCallbackQuery", "getFile")] == []
    clock.now += 10  # the window passes
    bot_api.push_message(5, "/more")
    await eventually(lambda: len(bot_api.sent(5)) == 22)
    assert texts(bot_api, 5)[-1] == ANSWER
    assert texts(bot_api, 5).count(TOO_MANY) == 1


@pytest.fixture
async def discord_bot(discord_server, limited_core):
    async with discord_running(discord_config(discord_server, command_guild_id=GUILD_ID), limited_core) as notifier:
        await asyncio.wait_for(discord_server.ready.wait(), 10)
        yield notifier


async def test_discord_a_flooding_channel_is_told_once_then_ignored_until_the_window_passes(
    discord_server, discord_bot, limiter, clock
):
    server = discord_server
    for _ in range(20):
        answer = await server.answer(await server.slash("help"))
        assert answer["data"]["content"] == messages.help_text(messages.DISCORD_HELP)
    told = await server.answer(await server.slash("check", {"model": "A1263"}))
    assert (told["data"]["content"], told["data"]["flags"]) == (TOO_MANY, 64)  # only the sender sees it
    ignored = [
        await server.slash("help"),
        await server.press("recallbot:more"),
        await server.slash("check", {}, image=PHOTO),
    ]
    dm = await server.answer(await server.slash("help", dm=True))  # another channel is answered meanwhile
    assert dm["data"]["content"] == messages.help_text(messages.DISCORD_HELP)
    await eventually(lambda: limiter.ignored == 3)
    clock.now += 10
    again = await server.answer(await server.slash("help"))
    assert again["data"]["content"] == messages.help_text(messages.DISCORD_HELP)
    assert [i for i in ignored if i in server.callbacks] == []
    contents = [c["data"].get("content") for c in server.callbacks.values() if "data" in c]
    assert contents.count(TOO_MANY) == 1
