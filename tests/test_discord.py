"""The Discord front end: the real discord.py client against a fake Discord server."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from contextlib import AsyncExitStack
from datetime import timedelta

import pytest

from bot import messages
from bot.app import StartupError
from bot.commands import Core, dispatch
from bot.config import DiscordConfig
from bot.delivery import DeliveryWorker, OutcomeKind
from bot.events import Alert, Destination, Reason
from bot.matching import MAX_QUERY
from notifiers import discord_bot
from notifiers.discord_lifecycle import connect_delay, discord_running
from storage import outbox
from storage.leader import Leadership
from tests import fake_discord
from tests.conftest import (
    NOW,
    Clock,
    clean_env,
    eventually,
    follows,
    paused,
    slice_event,
    start_recallbot,
    subscribe_and_queue,
)
from tests.fake_discord import ADMIN, ALERTS, DM_CHANNEL, GENERAL, GUILD_ID, MEMBER, SEND_MESSAGES, FakeDiscord
from tests.test_leader import end_lock_session, two_instances

FAST = {"gateway_retry": 0.5, "gateway_check": 0.1}  # lock timing for tests with several instances


@pytest.fixture
def server(discord_server):
    """A fake Discord server; discord.py's process-wide URLs are restored afterwards."""
    return discord_server


def config(server: FakeDiscord, **overrides) -> DiscordConfig:
    values = {"token": fake_discord.TOKEN, "api_base_url": server.api_base_url, "gateway_url": server.gateway_url}
    return DiscordConfig(**(values | overrides))


@pytest.fixture
async def discord_bot_running(server, core):
    core.clock = Clock(NOW)
    async with discord_running(config(server, command_guild_id=GUILD_ID), core) as notifier:
        await asyncio.wait_for(server.ready.wait(), 10)
        yield notifier


def alerts_channel_option() -> dict:
    return {"channels": {str(ALERTS): fake_discord.channel(ALERTS, "recall-alerts") | {"permissions": "2048"}}}


async def test_check_in_a_server_answers_with_an_embed_and_subscribe_buttons(server, discord_bot_running):
    answer = await server.answer(await server.slash("check", {"model": "PAC20-272"}, user=MEMBER))
    assert answer["type"] == 4  # answered at once, not deferred
    data = answer["data"]
    assert data["content"] == "Yes: PAC20-272 is named in 1 notice."
    [embed] = data["embeds"]
    assert embed["title"] == "RECALL: Romoss PAC20-272 power bank"
    assert embed["color"] == 0xC62828
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Units"] == "491,745"
    assert fields["Date"] == "Jun 16, 2025"
    assert fields["Hazard"].startswith("Cells from some raw-material sources can overheat")
    assert embed["description"] == "**Why:** model PAC20-272 is named in this notice"
    buttons = [b["custom_id"] for row in data["components"] for b in row["components"]]
    assert buttons == ["recallbot:subscribe model PAC20-272", "recallbot:subscribe brand Romoss"]
    assert data["allowed_mentions"] == {"parse": []}


async def test_check_in_a_dm_links_the_official_notice(server, discord_bot_running):
    answer = await server.answer(await server.slash("check", {"model": "a 1263"}, user=MEMBER, dm=True))
    assert answer["data"]["content"] == f"Yes: A1263 is named in 1 notice. {messages.UNIT_LIMITED}"
    [embed] = answer["data"]["embeds"]
    assert embed["url"].startswith("https://www.cpsc.gov/Recalls/2025/More-than-One-Million-Anker")


async def test_a_supplier_suspension_has_its_own_colour(server, discord_bot_running):
    answer = await server.answer(await server.slash("check", {"model": "Amprius"}))
    [embed] = answer["data"]["embeds"]
    assert embed["title"] == "SUPPLIER SUSPENSION: APEX (Wuxi) Co., Ltd."
    assert embed["color"] == 0xEF6C00
    assert messages.POTENTIALLY_AFFECTED in embed["description"]


async def test_a_ten_thousand_character_query_gets_a_sentence(server, discord_bot_running):
    answer = await server.answer(await server.slash("check", {"model": "x" * 10_000}))
    assert answer["data"]["content"] == messages.LONG_QUERY.format(length=10_000, limit=MAX_QUERY)
    assert answer["data"]["embeds"] == []


async def test_a_command_this_version_lacks_gets_a_sentence(server, discord_bot_running):
    answer = await server.answer(await server.slash("frobnicate"))  # published by an older version, say
    assert answer["data"]["content"] == messages.UNKNOWN_COMMAND.format(name="frobnicate")
    assert answer["data"]["flags"] == 64


async def test_an_admin_subscribes_another_channel(server, discord_bot_running, core):
    options = {"name": "Anker", "type": "brand", "channel": str(ALERTS)}
    answer = await server.answer(await server.slash("subscribe", options, resolved=alerts_channel_option()))
    assert answer["data"]["content"].startswith(f"<#{ALERTS}>: Done: this chat now follows brand Anker.")
    assert follows(core, "discord", ALERTS) == [("brand", "anker")]
    assert follows(core, "discord", GENERAL) == []


async def test_a_member_without_manage_server_is_refused(server, discord_bot_running, core):
    interaction = await server.slash("subscribe", {"name": "Anker"}, user=MEMBER, permissions=SEND_MESSAGES)
    answer = await server.answer(interaction)
    assert answer["data"]["content"] == messages.SERVER_MANAGE_ONLY
    assert answer["data"]["flags"] == 64  # only the member sees it
    assert follows(core, "discord", GENERAL) == []


async def test_a_subscribe_button_is_permission_checked(server, discord_bot_running, core):
    refused = await server.answer(await server.press("recallbot:subscribe model PAC20-272", permissions=SEND_MESSAGES))
    assert refused["data"]["content"] == messages.SERVER_MANAGE_ONLY
    assert follows(core, "discord", GENERAL) == []
    done = await server.answer(await server.press("recallbot:subscribe model PAC20-272", user=ADMIN))
    assert done["data"]["content"].startswith("Done: this chat now follows model PAC20-272.")
    assert follows(core, "discord", GENERAL) == [("model", "PAC20272")]


async def test_a_subscribe_button_pressed_by_a_channel_manager_without_manage_server_is_refused(
    server, discord_bot_running, core
):
    channel_manager = SEND_MESSAGES | fake_discord.MANAGE_CHANNELS  # Manage Channels, not Manage Server
    press = await server.press("recallbot:subscribe brand Romoss", user=MEMBER, permissions=channel_manager)
    refused = await server.answer(press)
    assert (refused["data"]["content"], refused["data"]["flags"]) == (messages.SERVER_MANAGE_ONLY, 64)
    assert follows(core, "discord", GENERAL) == []


async def test_in_a_dm_subscribe_acts_on_the_person(server, discord_bot_running, core):
    answer = await server.answer(await server.slash("subscribe", {"name": "A1263"}, user=MEMBER, dm=True))
    assert answer["data"]["content"].startswith("Done: this chat now follows model A1263.")
    assert follows(core, "discord", DM_CHANNEL) == [("model", "A1263")]
    listed = await server.answer(await server.slash("subscriptions", user=MEMBER, dm=True))
    assert listed["data"]["content"] == "This chat follows:\n- model A1263"


async def test_in_a_dm_the_channel_option_gets_a_sentence(server, discord_bot_running, core):
    options = {"name": "A1263", "channel": str(ALERTS)}
    answer = await server.answer(await server.slash("subscribe", options, dm=True, resolved=alerts_channel_option()))
    assert answer["data"]["content"] == messages.DM_NO_CHANNEL
    assert follows(core, "discord", ALERTS) == follows(core, "discord", DM_CHANNEL) == []


async def test_a_channel_that_is_not_a_text_channel_gets_a_sentence(server, discord_bot_running, core):
    voice = 910000000000000099
    resolved = {"channels": {str(voice): fake_discord.channel(voice, "voice") | {"type": 2, "permissions": "2048"}}}
    answer = await server.answer(
        await server.slash("subscribe", {"name": "A1263", "channel": str(voice)}, resolved=resolved)
    )
    assert answer["data"]["content"] == messages.CHANNEL_NOT_USABLE
    assert follows(core, "discord", voice) == []


async def test_a_slow_answer_is_deferred_then_followed_up(server, discord_bot_running, monkeypatch):
    monkeypatch.setattr(discord_bot, "ANSWER_WITHIN", 0.0)
    interaction = await server.slash("recent")
    assert (await server.answer(interaction))["type"] == 5  # "thinking", within Discord's 3 seconds
    token = f"token-{interaction}"
    await server.wait_for(lambda: token in server.followups)
    [followup] = server.followups[token]
    assert followup["content"] == messages.RECENT
    assert len(followup["embeds"]) == 5


async def test_a_new_recall_alerts_the_subscribed_channel_as_an_embed(server, discord_bot_running, core):
    options = {"name": "A1263", "type": "model", "channel": str(ALERTS)}
    await server.answer(await server.slash("subscribe", options, resolved=alerts_channel_option()))
    queued = subscribe_and_queue(core, slice_event("25338"), [], "model", "A1263", "A1263", NOW + timedelta(minutes=1))
    assert queued == 1
    core.clock.advance(minutes=1)
    await DeliveryWorker(core, {"discord": discord_bot_running}).drain()
    [alert] = server.messages[ALERTS]
    with core.session() as session:
        [delivery] = outbox.deliveries_for(session, Destination("discord", ALERTS))
    assert delivery.status == "sent"
    assert alert["nonce"] == str(delivery.id) and alert["enforce_nonce"] is True
    assert alert["content"] == "New recall"
    assert alert["allowed_mentions"] == {"parse": []}
    [embed] = alert["embeds"]
    assert embed["title"].startswith("RECALL: ")
    assert embed["description"] == "**Why:** you follow model A1263"
    assert alert["components"][0]["components"][0] == {
        "type": 2,
        "style": 2,
        "disabled": False,
        "label": "Unsubscribe",
        "custom_id": "recallbot:subscriptions",
    }


async def test_a_channel_that_lost_its_permissions_is_paused(server, discord_bot_running, core):
    dest = Destination("discord", ALERTS)
    subscribe_and_queue(core, slice_event("25338"), [dest], "model", "A1263", "A1263", NOW)
    server.failures[ALERTS] = (403, 50013, "Missing Permissions")
    worker = DeliveryWorker(core, {"discord": discord_bot_running}, pacing_clock=lambda: core.clock().timestamp())
    for _ in range(3):  # gone three times in a row: paused
        await worker.drain()
        core.clock.advance(hours=1)
    assert "50013" in paused(core, "discord", ALERTS)
    with core.session() as session:
        [delivery] = outbox.deliveries_for(session, dest)
    assert delivery.status == "gone"
    assert ALERTS not in server.messages
    del server.failures[ALERTS]  # permissions fixed; subscribing there again resumes the channel
    options = {"name": "A1263", "channel": str(ALERTS)}
    await server.answer(await server.slash("subscribe", options, resolved=alerts_channel_option()))
    assert paused(core, "discord", ALERTS) is None


async def test_removal_from_the_server_pauses_its_channels(server, discord_bot_running, core, caplog):
    caplog.set_level(logging.INFO, "notifiers.discord_bot")
    await eventually(lambda: "Discord: connected as RecallBot (servers: 1)" in caplog.text)  # the start-up is over
    await server.answer(await server.slash("subscribe", {"name": "Anker"}))
    await server.remove_from_guild()
    await eventually(lambda: paused(core, "discord", GENERAL))
    assert paused(core, "discord", GENERAL) == f"the bot was removed from the server Power bank owners ({GUILD_ID})"
    assert paused(core, "discord", ALERTS) is not None
    await server.add_to_guild()  # invited back
    await eventually(lambda: not paused(core, "discord", GENERAL))
    assert (paused(core, "discord", GENERAL), paused(core, "discord", ALERTS)) == (None, None)


async def test_the_unsubscribe_button_under_an_alert_is_for_server_managers(server, discord_bot_running, core):
    await server.answer(await server.slash("subscribe", {"name": "Anker"}))
    refused = await server.answer(await server.press("recallbot:subscriptions", user=MEMBER, permissions=SEND_MESSAGES))
    assert refused["data"]["content"] == messages.SERVER_MANAGE_ONLY
    listed = await server.answer(await server.press("recallbot:subscriptions"))
    assert listed["data"]["flags"] == 64
    [[button]] = [[b for b in row["components"]] for row in listed["data"]["components"]]
    assert (button["label"], button["custom_id"]) == ("Unsubscribe Anker", "recallbot:unsubscribe brand Anker")
    done = await server.answer(await server.press(button["custom_id"]))
    assert done["data"]["content"] == "Done: this chat no longer follows Anker."
    assert follows(core, "discord", GENERAL) == []


async def test_commands_are_synced_to_the_test_server_only_when_changed(server, core):
    async with discord_running(config(server, command_guild_id=GUILD_ID), core):
        pass
    async with discord_running(config(server, command_guild_id=GUILD_ID), core):
        pass
    puts = [r for r in server.requests if r.method == "PUT"]
    assert [r.path for r in puts] == [f"/applications/{fake_discord.APP_ID}/guilds/{GUILD_ID}/commands"]
    commands = {c["name"]: c for c in puts[0].body}
    assert sorted(commands) == [
        "check",
        "forget",
        "help",
        "language",
        "more",
        "recent",
        "serial",
        "settings",
        "status",
        "subscribe",
        "subscriptions",
        "unsubscribe",
    ]
    check = commands["check"]
    assert check["name_localizations"] == {"zh-CN": "查询", "zh-TW": "查询"}
    assert check["description_localizations"]["zh-CN"].startswith("某个型号、产品、品牌或电芯供应商是否出现在召回中")
    model, image = check["options"]
    assert (model["required"], image["required"], image["type"]) == (False, False, 11)  # 11: an attachment
    assert (model["name_localizations"]["zh-CN"], image["name_localizations"]["zh-CN"]) == ("型号", "图片")
    assert model["description_localizations"]["zh-CN"] == "产品上印的型号，或品牌、供应商名称"
    for command in commands.values():  # every name and description has its Chinese
        for part in [command, *command.get("options", [])]:
            assert set(part["name_localizations"]) == {"zh-CN", "zh-TW"}, part["name"]
            assert set(part["description_localizations"]) == {"zh-CN", "zh-TW"}, part["name"]
    subscribe = commands["subscribe"]
    assert int(subscribe["default_member_permissions"]) == fake_discord.MANAGE_GUILD
    options = {o["name"]: o for o in subscribe["options"]}
    assert [c["value"] for c in options["type"]["choices"]] == ["brand", "model", "supplier"]
    assert options["channel"]["channel_types"] == [0, 5]
    assert all(o["description"] for c in commands.values() for o in c.get("options", []))


async def test_a_gateway_closed_for_good_is_joined_again(server, discord_bot_running, caplog):
    await server.drop_gateway(4004)  # a close code discord.py does not resume from: it closes the client
    await eventually(lambda: server.identifies == 2)
    answer = await server.answer(await server.slash("check", {"model": "PAC20-272"}))
    assert answer["data"]["content"] == "Yes: PAC20-272 is named in 1 notice."
    assert "Discord: the gateway connection ended (ConnectionClosed" in caplog.text


async def test_commands_refused_by_the_server_stop_start_up_with_one_sentence(server, core):
    server.refuse_commands = True
    with pytest.raises(StartupError) as refused:
        async with discord_running(config(server, command_guild_id=GUILD_ID), core):
            pass
    assert str(refused.value) == (
        f"server {GUILD_ID} refused the slash commands (403 50001: Missing Access). "
        "Is the bot in that server, invited with the applications.commands scope?"
    )


async def test_an_unreachable_api_stops_start_up_with_one_sentence(discord_globals, core):
    with socket.socket() as nobody:  # bound but never listening: a connection to it is refused
        nobody.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{nobody.getsockname()[1]}/api/v10"

        async def start() -> None:
            async with discord_running(DiscordConfig(token=fake_discord.TOKEN, api_base_url=url), core):
                pass

        with pytest.raises(StartupError) as unreachable:
            await asyncio.wait_for(start(), timeout=60)  # generous: discord.py may retry before it gives up
    sentence = str(unreachable.value)
    assert sentence.startswith(f"Could not reach the Discord API at {url} (")
    assert sentence.endswith("). Is the network up, and is [discord] api_base_url right?")
    assert "\n" not in sentence


def test_gateway_logins_back_off_in_a_crash_loop():
    logins, now = [], NOW
    while now < NOW + timedelta(days=1):  # a connection that fails a second after each login, all day
        now += timedelta(seconds=connect_delay(logins, now))
        logins.append(now)
        now += timedelta(seconds=1)
    assert logins[:3] == [NOW, NOW + timedelta(seconds=1), NOW + timedelta(seconds=2)]  # a restart or two is free
    assert len(logins) < 120  # Discord allows 1,000 a day


async def run_process(tmp_path, server, token: str, act=None, block_zstd=False, env=None) -> tuple[int, str]:
    """Run `recallbot run` with a Discord token; ``act`` runs once it is connected, then SIGTERM."""
    environ = clean_env(**(env or {}))
    if block_zstd:  # without zstandard discord.py asks for zlib-stream
        (tmp_path / "blocked").mkdir()
        (tmp_path / "blocked" / "zstandard.py").write_text("raise ImportError('blocked by the test')\n")
        environ["PYTHONPATH"] = os.pathsep.join([str(tmp_path / "blocked"), os.getcwd()])
    environ |= {
        "RECALLBOT_DISCORD__TOKEN": token,
        "RECALLBOT_DISCORD__API_BASE_URL": server.api_base_url,
        "RECALLBOT_DISCORD__GATEWAY_URL": server.gateway_url,
    }
    proc = await start_recallbot("run", cwd=tmp_path, env=environ)
    if act is not None:
        await asyncio.wait_for(server.ready.wait(), 60)
        await act()
        proc.send_signal(signal.SIGTERM)
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=60)
    return proc.returncode, out.decode()


@pytest.mark.parametrize("compression", ["zstd-stream", "zlib-stream"])
async def test_recallbot_run_answers_check_through_discord(tmp_path, server, compression):
    answers = []

    async def check() -> None:
        answers.append(await server.answer(await server.slash("check", {"model": "PAC20-272"}), timeout=30))

    block = compression == "zlib-stream"
    code, out = await run_process(tmp_path, server, fake_discord.TOKEN, check, block_zstd=block)
    assert code == 0, out
    assert answers[0]["data"]["content"] == "Yes: PAC20-272 is named in 1 notice."
    assert server.compressions == [compression]
    assert "the slash commands changed; run `recallbot discord sync-commands` to publish them" in out
    assert fake_discord.TOKEN not in out
    assert "Traceback" not in out


async def test_telegram_and_discord_run_side_by_side(tmp_path, server, bot_api):
    from tests import fake_telegram

    answers = []

    async def check_both() -> None:
        bot_api.push_message(5, "/check A1263")
        answers.append(await server.answer(await server.slash("check", {"model": "A1263"}), timeout=30))
        await eventually(lambda: bot_api.sent(5), timeout=30)

    telegram = {"RECALLBOT_TELEGRAM__TOKEN": fake_telegram.TOKEN, "RECALLBOT_TELEGRAM__API_BASE_URL": bot_api.base_url}
    code, out = await run_process(tmp_path, server, fake_discord.TOKEN, check_both, env=telegram)
    assert code == 0, out
    assert answers[0]["data"]["content"] == f"Yes: A1263 is named in 1 notice. {messages.UNIT_LIMITED}"
    assert bot_api.sent(5)[0]["text"].startswith("Yes: A1263 is named in 1 notice.")


async def test_a_bad_discord_token_stops_start_up_with_one_sentence(tmp_path, server):
    code, out = await run_process(tmp_path, server, "not-the-token")
    assert code == 2
    assert "recallbot: Discord rejected the bot token; check [discord] token" in out
    assert "Traceback" not in out


async def test_sync_commands_publishes_globally_once(tmp_path, server):
    environ = clean_env(
        RECALLBOT_DISCORD__TOKEN=fake_discord.TOKEN, RECALLBOT_DISCORD__API_BASE_URL=server.api_base_url
    )
    outputs = []
    for _ in range(2):
        proc = await start_recallbot("discord", "sync-commands", cwd=tmp_path, env=environ)
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=60)
        assert proc.returncode == 0, out.decode()
        outputs.append(out.decode())
    assert outputs[0].startswith("Slash commands published globally")
    assert outputs[1].startswith("Slash commands unchanged since the last publish")
    puts = [r.path for r in server.requests if r.method == "PUT"]
    assert puts == [f"/applications/{fake_discord.APP_ID}/commands"]
    assert len(server.commands["global"]) == 12  # /more, /serial (answers); /language (i18n); /forget, /settings
    assert server.identifies == 0  # REST only: no gateway login spent


async def test_one_instance_holds_the_gateway_and_another_takes_over(server, pg_engine):
    settings = config(server, command_guild_id=GUILD_ID)
    with two_instances(pg_engine) as (one, other):
        async with AsyncExitStack() as second, AsyncExitStack() as first:
            await first.enter_async_context(discord_running(settings, Core(one), **FAST))
            await eventually(lambda: server.identifies == 1)
            await second.enter_async_context(discord_running(settings, Core(other), **FAST))
            answer = await server.answer(await server.slash("help"))
            assert answer["data"]["content"] == messages.help_text(messages.DISCORD_HELP)
            # Time passes on purpose: were the second instance to connect too (it tries for the
            # lock every 0.5 s), it would have identified by now. Nothing signals an absence.
            await asyncio.sleep(0.5)
            assert server.identifies == 1  # the second instance only delivers
            await first.aclose()  # the gateway holder goes away; the other one connects
            await eventually(lambda: server.identifies == 2)
            answer = await server.answer(await server.slash("help"))
            assert answer["data"]["content"] == messages.help_text(messages.DISCORD_HELP)


async def test_a_holder_whose_lock_session_ends_leaves_the_gateway_but_still_delivers(server, pg_engine):
    with two_instances(pg_engine) as (holder, other):
        async with discord_running(config(server, command_guild_id=GUILD_ID), Core(holder), **FAST) as notifier:
            await eventually(lambda: server.identifies == 1)
            end_lock_session(other, holder, "discord-gateway")
            await eventually(lambda: server.sessions[0].ws.closed)
            taker = Leadership(other, "discord-gateway")
            await eventually(taker.try_acquire)  # the lock is free for another instance
            alert = Alert(1, Destination("discord", ALERTS), slice_event("25338"), (Reason("model", "A1263"),), False)
            assert (await notifier.send(alert)).kind is OutcomeKind.SENT  # the REST sender stayed up
            taker.release()
            await eventually(lambda: server.identifies == 2)  # back on the gateway once the lock is ours again
            answer = await server.answer(await server.slash("help"))
            assert answer["data"]["content"] == messages.help_text(messages.DISCORD_HELP)


async def test_a_product_name_is_a_possible_match_with_units_and_contact(server, discord_bot_running):
    answer = await server.answer(await server.slash("check", {"model": "varmfront"}, user=MEMBER))
    assert answer["data"]["content"].startswith('Possibly: 1 recall names a product matching "varmfront"')
    [embed] = answer["data"]["embeds"]
    assert embed["title"] == "RECALL: VARMFRONT Power Banks"
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Contact"].startswith("IKEA toll-free at 888-966-4532")
    assert "2318" in fields["Which units"]
    assert "**Compare:** the model number on your label against E2037, E2038" in embed["description"]


async def test_the_more_button_pages_through_a_long_answer(server, discord_bot_running):
    interaction = await server.slash("check", {"model": "Anker"}, user=MEMBER)
    answer = await server.answer(interaction)
    token = f"token-{interaction}"
    if "components" not in answer["data"]:  # five embeds pass 6,000 characters: the buttons end the follow-ups
        await server.wait_for(lambda: any("components" in f for f in server.followups.get(token, [])))
    last = server.followups[token][-1] if token in server.followups else answer["data"]
    buttons = [b["custom_id"] for row in last["components"] for b in row["components"]]
    assert buttons[-1] == "recallbot:more"
    more = await server.answer(await server.press("recallbot:more", user=MEMBER, permissions=SEND_MESSAGES))
    assert more["data"]["content"].startswith("More for Anker (6-")


async def test_a_chinese_discord_app_gets_chinese_answers_and_an_english_one_english(server, discord_bot_running):
    answer = await server.answer(await server.slash("check", {"model": "PAC20-272"}, user=MEMBER, locale="zh-CN"))
    data = answer["data"]
    assert data["content"] == "是：1 份公告写明了 PAC20-272。"
    [embed] = data["embeds"]
    assert embed["title"] == "召回：Romoss PAC20-272 power bank"
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["日期"] == "2025年6月16日"
    assert fields["公告内容"] == "按来源发布的英文原文引用"
    assert embed["description"] == "**匹配依据：**本公告写明了型号 PAC20-272"
    labels = [b["label"] for row in data["components"] for b in row["components"]]
    assert labels == ["订阅这个型号", "订阅这个品牌"]
    taiwan = await server.answer(await server.slash("check", {"model": "PAC20-272"}, user=MEMBER, locale="zh-TW"))
    assert taiwan["data"]["content"] == "是：1 份公告写明了 PAC20-272。"  # Simplified for now
    english = await server.answer(await server.slash("check", {"model": "PAC20-272"}, user=MEMBER, locale="en-GB"))
    assert english["data"]["content"] == "Yes: PAC20-272 is named in 1 notice."


async def test_a_channel_language_switch_reaches_an_alert_already_queued(server, discord_bot_running, core):
    options = {"name": "A1263", "type": "model", "channel": str(ALERTS)}
    await server.answer(await server.slash("subscribe", options, resolved=alerts_channel_option()))
    queued = subscribe_and_queue(core, slice_event("25338"), [], "model", "A1263", "A1263", NOW + timedelta(minutes=1))
    assert queued == 1
    dispatch(core, Destination("discord", ALERTS), "/language zh")  # as /language in #recall-alerts would
    core.clock.advance(minutes=1)
    await DeliveryWorker(core, {"discord": discord_bot_running}).drain()
    [alert] = server.messages[ALERTS]
    assert alert["content"] == "新召回"
    [embed] = alert["embeds"]
    assert embed["description"] == "**匹配依据：**你订阅了型号 A1263"
    assert alert["components"][0]["components"][0]["label"] == "取消订阅"


async def test_the_language_command_is_for_server_managers_and_answers_in_the_new_language(
    server, discord_bot_running, core
):
    refused = await server.answer(await server.slash("language", {"language": "zh"}, user=MEMBER, permissions=0))
    assert refused["data"]["content"] == messages.SERVER_MANAGE_ONLY
    answer = await server.answer(await server.slash("language", {"language": "zh"}))
    assert answer["data"]["content"] == "好的，本聊天今后的回答和提醒都使用简体中文，包括已在等待发送的提醒。"
    assert core.language(Destination("discord", GENERAL)) == "zh_Hans"
    check = await server.answer(await server.slash("check", {"model": "PAC20-272"}, user=MEMBER))  # an en-US app
    assert check["data"]["content"] == "是：1 份公告写明了 PAC20-272。"
