"""Operator alerts: each incident is told once when it begins and once when it ends, through the outbox."""

from __future__ import annotations

import dataclasses
import threading
from datetime import timedelta
from pathlib import Path

import discord
import pytest
from alembic import command
from sqlalchemy import text
from sqlmodel import Session, select
from telegram import Bot

from bot.config import OperatorConfig, load_config
from bot.core import Core
from bot.delivery import PAUSE_AFTER, DeliveryWorker, Limits, Outcome, OutcomeKind
from bot.events import Destination
from bot.i18n import language
from bot.incidents import IncidentKind, Notice, Outgoing, Phase
from bot.operator import OperatorWatch
from bot.render import notice_text
from bot.sources.curated import CuratedSource
from notifiers.discord_notifier import DiscordNotifier, InvalidRequestGuard
from notifiers.telegram_bot import TelegramNotifier
from storage import incidents, outbox
from storage.db import alembic_config
from storage.sources import record_failure, record_success
from storage.tables import DeliveryRow, DestinationRow, IncidentRow
from tests import fake_discord, fake_telegram
from tests.conftest import NOW, Clock, core_with_alerts
from tests.fake_discord import ALERTS

OPERATOR = Destination("telegram", "-1009999")
CPSC = "cpsc:https://www.saferproducts.gov/RestWebServices/Recall"


class Recorder:
    """A notifier of one platform that sends everything and keeps what it sent, worded as the worker set it."""

    limits = Limits(per_second=1000, per_chat_per_second=1000, per_group_per_minute=60000, concurrency=4)

    def __init__(self, platform: str) -> None:
        self.platform = platform
        self.texts: list[str] = []
        self.script: dict[str, list[Outcome]] = {}

    def is_group(self, address: str) -> bool:
        return False

    async def send(self, alert: Outgoing) -> Outcome:
        if answers := self.script.get(alert.destination.address):
            return answers.pop(0)
        if isinstance(alert, Notice):
            self.texts.append(notice_text(alert))
        return Outcome.sent()


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def core(engine, clock) -> Core:
    """Recall 25-338 stored, an alert of it queued for chats 1 and 2 of platform "test"."""
    return core_with_alerts(engine, clock, [1, 2])


def watch(core: Core, **settings) -> OperatorWatch:
    config = OperatorConfig(telegram_chat_id=int(OPERATOR.address), **settings)
    return OperatorWatch(core, config, frozenset({"telegram", "test"}), instance_id="i-1")


def worker(core: Core, clock: Clock, *notifiers: Recorder) -> DeliveryWorker:
    return DeliveryWorker(core, {n.platform: n for n in notifiers}, pacing_clock=lambda: clock().timestamp())


def incident_rows(core: Core) -> list[IncidentRow]:
    with core.session() as session:
        return list(session.exec(select(IncidentRow).order_by(IncidentRow.id)))


def notices(core: Core) -> list[tuple[int | None, str, str]]:
    """Return the queued or sent notices: (incident id, phase, address)."""
    with core.session() as session:
        rows = session.exec(select(DeliveryRow).where(DeliveryRow.incident_id.is_not(None)).order_by(DeliveryRow.id))
        return [(row.incident_id, row.event_hash, row.address) for row in rows]


def fail(core: Core, source: str, error: str) -> None:
    with core.session(write=True) as session:
        record_failure(session, source, error, core.clock(), None)
        session.commit()


async def test_a_source_down_for_six_hours_is_told_once_and_its_return_once(core, clock):
    operator, sent = Recorder("telegram"), Recorder("test")
    work, look = worker(core, clock, operator, sent), watch(core)
    await work.drain()  # the two alerts queued: none waits while the source is down
    with core.session(write=True) as session:
        record_success(session, CPSC, None, "d", 589, clock())
        session.commit()
    clock.advance(hours=1)
    fail(core, CPSC, "ConnectError: [Errno 111] Connection refused")
    failing_since = clock()
    for _ in range(5):  # an hour at a time: under six hours is no incident
        clock.advance(hours=1)
        fail(core, CPSC, "HTTP 503 from saferproducts.gov")
        assert look.look() == []
    clock.advance(minutes=59)
    assert look.look() == []
    clock.advance(minutes=1)
    assert len(look.look()) == 1
    for _ in range(3):  # looking again, by this instance or another, tells nothing more
        clock.advance(minutes=1)
        assert watch(core).look() == []
    await work.drain()
    [began] = operator.texts
    assert began.startswith(f"⚠️ recallbot: source {CPSC} has failed at every read since Jul 1, 2025 13:00 UTC")
    assert "(6 failures in a row)" in began and "The last error: HTTP 503 from saferproducts.gov" in began
    clock.advance(hours=1)
    with core.session(write=True) as session:
        record_success(session, CPSC, None, "d", 589, clock())
        session.commit()
    assert len(look.look()) == 1 and look.look() == []
    await work.drain()
    assert operator.texts[1] == f"✅ recallbot: source {CPSC} is read again, after failing for 7 hours 3 minutes."
    [row] = incident_rows(core)
    assert (row.kind, row.subject, row.opened_at, row.cleared_at) == (
        "source_down",
        CPSC,
        failing_since + timedelta(hours=6),
        clock(),
    )
    assert notices(core) == [(row.id, "opened", OPERATOR.address), (row.id, "cleared", OPERATOR.address)]
    # The same source failing again is a new incident, told again after six more hours.
    fail(core, CPSC, "HTTP 500")
    clock.advance(hours=6)
    assert dataclasses.replace(look, sources=frozenset({"ukopss"})).look() == []  # not read by this instance
    assert len(look.look()) == 1 and len(incident_rows(core)) == 2


def test_instances_that_see_the_same_trouble_at_once_open_one_incident(core, clock):
    """Eight threads open the same incident together, as instances on one database would: one wins."""
    start, opened = threading.Barrier(8), []

    def open_it() -> None:
        with core.session(write=True) as session:
            start.wait()
            opened.append(
                incidents.open_incident(session, IncidentKind.OUTBOX_STALE, "outbox", {}, clock(), [OPERATOR])
            )
            session.commit()

    threads = [threading.Thread(target=open_it) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len([i for i in opened if i is not None]) == 1
    assert len(notices(core)) == 1


@pytest.mark.parametrize(
    ("error", "by_user", "told"),
    [
        ("403 50013: Missing Permissions", False, True),
        ("Bad Request: chat not found", False, True),
        ("Forbidden: bot was blocked by the user", True, False),
    ],
)
async def test_a_chat_paused_for_a_reason_other_than_its_people_blocking_the_bot_is_told(
    core, clock, error, by_user, told
):
    operator, sent = Recorder("telegram"), Recorder("test")
    sent.script["1"] = [Outcome(OutcomeKind.GONE, error=error, by_user=by_user) for _ in range(PAUSE_AFTER)]
    work, look = worker(core, clock, operator, sent), watch(core)
    for _ in range(PAUSE_AFTER):
        await work.drain()
        clock.advance(hours=2)  # past the backoff
    with core.session() as session:
        assert outbox.paused_reason(session, Destination("test", "1")) == error
    assert len(look.look()) == told and look.look() == []
    await work.drain()
    assert operator.texts == (
        [
            f"⚠️ recallbot: alerts to test chat 1 are paused since Jul 1, 2025 16:00 UTC: {error}\n"
            "Its people did not block the bot: check that the chat exists and that the bot may post there. "
            "Its subscriptions are kept."
        ]
        if told
        else []
    )
    clock.advance(hours=1)
    assert core.destination_back(Destination("test", "1"))
    assert len(look.look()) == told
    await work.drain()
    if told:
        assert operator.texts[1] == "✅ recallbot: alerts to test chat 1 are sent again, after a pause of 3 hours."


async def test_the_outbox_is_told_when_an_alert_waits_too_long_and_when_it_moves_again(core, clock):
    operator, sent = Recorder("telegram"), Recorder("test")
    look = watch(core, outbox_minutes=30)
    clock.advance(minutes=29)
    assert look.look() == []
    clock.advance(minutes=1)
    assert len(look.look()) == 1
    await worker(core, clock, operator, sent).drain()
    assert operator.texts == [
        "⚠️ recallbot: an alert has waited to be sent since Jul 1, 2025 12:00 UTC; 2 alerts are waiting in all. "
        "No send of it has failed: is an instance running, and is it keeping up?"
    ]
    assert len(look.look()) == 1
    await worker(core, clock, operator, sent).drain()
    assert operator.texts[1] == ("✅ recallbot: no alert has waited over 15 minutes now. The delay lasted 30 minutes.")


def test_an_alert_held_for_quiet_hours_counts_from_its_release(core, clock):
    look = watch(core, outbox_minutes=30)
    with core.session(write=True) as session:
        claims = outbox.claim_due(session, ["test"], clock(), 10, timedelta(minutes=1), owner="w")
        for claim in claims:
            outbox.hold(session, claim, clock() + timedelta(hours=8), digest=False)
        session.commit()
    clock.advance(hours=8, minutes=29)  # held for 8 hours, due for 29 minutes
    assert look.look() == []
    with core.session() as session:
        assert incidents.waiting(session, clock(), ["test"]).since == NOW + timedelta(hours=8)
        # Paced once after its release (the chat was busy): it still counts from the release, and pacing is no error.
        [claim, _] = outbox.claim_due(session, ["test"], clock(), 10, timedelta(minutes=1), owner="w")
        outbox.mark_retry(session, claim, clock() + timedelta(seconds=1), outbox.PACED, count_attempt=False)
        session.commit()
    with core.session() as session:
        assert incidents.waiting(session, clock(), ["test"]) == incidents.Waiting(2, NOW + timedelta(hours=8), None)
        assert incidents.waiting(session, clock(), ["discord"]) == incidents.Waiting(0, None, None)
    clock.advance(minutes=1)
    assert [line.split(":")[0] for line in look.look()] == ["outbox_stale began"]


async def test_the_discord_guard_holding_sends_back_is_told_per_instance_and_cleared(core, clock):
    ticks = [1000.0]
    guard = InvalidRequestGuard(budget=3, window=600.0, clock=lambda: ticks[0])
    operator = Recorder("telegram")
    config = OperatorConfig(telegram_chat_id=int(OPERATOR.address))
    look = OperatorWatch(core, config, frozenset({"telegram"}), {"discord": guard.alarm}, instance_id="abcdef0123")
    assert look.look() == []
    for _ in range(3):
        guard.record(403)
    assert len(look.look()) == 1
    ticks[0] += 600.0
    clock.advance(minutes=10)
    assert len(look.look()) == 1  # ended
    await worker(core, clock, operator).drain()
    assert operator.texts[0] == (
        "⚠️ recallbot: Discord answered 3 requests with 401, 403 or 429 within 10 minutes, so instance abcdef01 "
        "stopped sending to it for 600 seconds, before the platform could ban the bot. "
        "Look for a wrong token or channels the bot lost its rights in."
    )
    assert (
        operator.texts[1]
        == "✅ recallbot: instance abcdef01 sends to Discord again, after holding back for 10 minutes."
    )
    # An incident of an instance that stopped is cleared by the others.
    with core.session(write=True) as session:
        incidents.open_incident(session, IncidentKind.INVALID_REQUESTS, "discord/gone", {}, clock(), [OPERATOR])
        session.commit()
    assert look.look() == ['invalid_requests ended: discord/gone {"stopped": true}']


def test_notices_go_only_to_operator_chats_of_platforms_this_instance_sends_on(core):
    both = OperatorConfig(telegram_chat_id=-1005, discord_channel_id=42)
    assert OperatorWatch(core, both, frozenset({"discord"})).destinations() == [Destination("discord", "42")]
    assert OperatorWatch(core, OperatorConfig(), frozenset({"telegram", "discord"})).destinations() == []


def test_a_notice_is_worded_in_the_operator_chats_language(core, clock):
    incident = incidents.incident_of(
        IncidentRow(
            id=1,
            kind="destination_paused",
            subject="discord:42",
            detail='{"reason": "403 50001: Missing Access"}',
            opened_at=NOW,
        )
    )
    with language("zh_Hans"):
        text = notice_text(Notice(1, OPERATOR, incident, Phase.OPENED))
    assert text.startswith("⚠️ recallbot：发往 discord 聊天 42 的提醒自 2025年7月1日 12:00 UTC 起已暂停")
    assert "403 50001: Missing Access" in text


async def test_a_notice_goes_out_through_the_real_telegram_client_as_plain_text(core, clock, bot_api):
    fail(core, CPSC, "HTTP 503 <html>")
    clock.advance(hours=6)
    assert len(watch(core, outbox_minutes=1000).look()) == 1  # the source; the chats' alerts are not late yet
    async with Bot(fake_telegram.TOKEN, base_url=bot_api.base_url) as bot:
        await worker(core, clock, TelegramNotifier(bot), Recorder("test")).drain()
    [sent] = bot_api.sent(int(OPERATOR.address))
    assert "The last error: HTTP 503 &lt;html&gt;" in sent["text"] and "reply_markup" not in sent


async def test_a_notice_goes_out_through_the_real_discord_client_as_a_message(core, clock, discord_server):
    discord.http.Route.BASE = discord_server.api_base_url
    guard = InvalidRequestGuard()
    client = discord.Client(intents=discord.Intents(guilds=True), http_trace=guard.trace_config())
    await client.login(fake_discord.TOKEN)
    try:
        look = OperatorWatch(core, OperatorConfig(discord_channel_id=ALERTS), frozenset({"discord", "test"}))
        with core.session(write=True) as session:
            outbox.pause_destination(
                session, Destination("test", "2"), "403 50013: Missing Permissions", clock(), by_user=False
            )
            session.commit()
        assert len(look.look()) == 1
        await worker(core, clock, DiscordNotifier(client, guard), Recorder("test")).drain()
    finally:
        await client.close()
    [message] = discord_server.messages[ALERTS]
    assert message["content"].startswith("⚠️ recallbot: alerts to test chat 2 are paused")
    assert not message.get("embeds") and message["nonce"]


def test_the_operator_section_reads_from_the_environment(tmp_path):
    env = {"RECALLBOT_OPERATOR__TELEGRAM_CHAT_ID": "-1001234567890", "RECALLBOT_OPERATOR__SOURCE_DOWN_HOURS": "2.5"}
    config = load_config(None, env)
    assert (config.operator.telegram_chat_id, config.operator.source_down_hours) == (-1001234567890, 2.5)
    assert config.operator.discord_channel_id is None and config.operator.outbox_minutes == 30


def test_the_migration_tells_users_choices_from_the_operators_trouble_and_drops_notices_going_down(sqlite_engine):
    engine = sqlite_engine
    config = alembic_config(engine)
    command.downgrade(config, "0010")
    reasons = {
        "1": "403 Forbidden: bot was blocked by the user",
        "2": "the bot was removed from the chat (kicked)",
        "3": "Bad Request: chat not found",
        "4": "403 50013: Missing Permissions",
    }
    with engine.begin() as connection:
        for address, reason in reasons.items():
            connection.execute(
                text(
                    "INSERT INTO destination (platform, address, gone_count, paused_at, paused_reason) "
                    "VALUES ('telegram', :address, 3, :now, :reason)"
                ),
                {"address": address, "reason": reason, "now": NOW},
            )
        connection.execute(
            text(
                "INSERT INTO source_state (name, baseline_done, records_seen, consecutive_failures, last_error_at) "
                "VALUES ('cpsc', true, 0, 4, :now)"
            ),
            {"now": NOW},
        )
    command.upgrade(config, "head")
    with Session(engine) as session:
        by_user = {row.address: row.paused_by_user for row in session.exec(select(DestinationRow))}
        assert by_user == {"1": True, "2": True, "3": False, "4": False}
        assert session.execute(text("SELECT failing_since FROM source_state")).scalar_one() is not None
        incidents.open_incident(session, IncidentKind.SOURCE_DOWN, "cpsc", {}, NOW, [OPERATOR])
        session.commit()
        assert session.execute(text("SELECT count(*) FROM delivery WHERE incident_id IS NOT NULL")).scalar_one() == 1
    command.downgrade(config, "0010")
    with engine.begin() as connection:
        assert connection.execute(text("SELECT count(*) FROM delivery")).scalar_one() == 0


def test_the_runtime_watches_every_notifier_that_has_an_alarm(core):
    from bot.config import Config
    from bot.runtime import operator_watch

    discord_notifier = DiscordNotifier(client=None, guard=InvalidRequestGuard())  # type: ignore[arg-type]
    config = Config(operator=OperatorConfig(telegram_chat_id=-5, discord_channel_id=5))
    notifiers = {"discord": discord_notifier, "test": Recorder("test")}
    look = operator_watch(config, core, notifiers, "i-9", [CuratedSource(Path("extra.toml"))])
    assert look.alarms == {"discord": discord_notifier.alarm} and look.instance_id == "i-9"
    assert look.sources == {"curated:extra.toml"}
    assert look.destinations() == [Destination("discord", "5")]  # no Telegram notifier runs here


async def test_a_guard_hold_that_ended_between_two_looks_is_told_as_it_was(core, clock):
    ticks = [1000.0]
    guard = InvalidRequestGuard(budget=3, window=600.0, clock=lambda: ticks[0])
    look = OperatorWatch(core, OperatorConfig(telegram_chat_id=-1), frozenset({"telegram"}), {"discord": guard.alarm})
    ticks[0] = 1590.0
    for _ in range(3):
        guard.record(429)
    ticks[0] = 1600.0
    assert guard.hold_for() == 590.0  # a send was held back here
    ticks[0] = 2200.0  # and the hold is over before the watch looks
    assert guard.hold_for() == 0.0
    [began] = look.look()
    assert (
        began
        == 'invalid_requests began: discord/ {"platform": "discord", "count": 3, "minutes": 10, "hold_seconds": 590}'
    )
    assert look.look() == ["invalid_requests ended: discord/ {}"]


def test_instances_that_see_the_trouble_end_at_once_tell_it_once(core, clock):
    with core.session(write=True) as session:
        incidents.open_incident(session, IncidentKind.OUTBOX_STALE, "outbox", {}, clock(), [OPERATOR])
        session.commit()
    start, cleared = threading.Barrier(8), []

    def clear_it() -> None:
        with core.session(write=True) as session:
            start.wait()
            cleared.append(
                incidents.clear_incident(session, IncidentKind.OUTBOX_STALE, "outbox", {}, clock(), [OPERATOR])
            )
            session.commit()

    threads = [threading.Thread(target=clear_it) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len([i for i in cleared if i is not None]) == 1
    assert [phase for _, phase, _ in notices(core)] == ["opened", "cleared"]


async def test_many_chats_paused_at_once_are_told_in_one_notice(core, clock):
    operator = Recorder("telegram")
    chats = [Destination("discord", str(n)) for n in range(100, 107)]
    with core.session(write=True) as session:
        for n, chat in enumerate(chats):
            reason = "404 10003: Unknown Channel" if n % 2 else "403 50001: Missing Access"
            outbox.pause_destination(session, chat, reason, clock(), by_user=False)
        session.commit()
    look = watch(core, outbox_minutes=10_000)  # the two alerts of the fixture are not late here
    assert len(look.look()) == 8 and look.look() == []  # 7 incidents, one of them told
    await worker(core, clock, operator).drain()
    assert operator.texts == [
        "⚠️ recallbot: alerts to 7 chats were paused at once, for reasons other than their people blocking the bot; "
        "for example discord:100 (403 50001: Missing Access), discord:101 (404 10003: Unknown Channel) and "
        "discord:102 (403 50001: Missing Access). Their subscriptions are kept. The incident table lists each one, "
        "and I say so here when none is paused any more."
    ]
    clock.advance(hours=2)
    for chat in chats[:6]:
        core.destination_back(chat)
    assert len(look.look()) == 6  # each ends, untold: one is still paused
    core.forget(chats[6])
    assert len(look.look()) == 2
    await worker(core, clock, operator).drain()
    assert operator.texts[1:] == [
        "✅ recallbot: none of the chats paused at once is paused any more (each was resumed, or its data deleted). "
        "It lasted 2 hours."
    ]


async def test_a_source_taken_out_of_the_configuration_is_no_longer_reported_down(core, clock):
    operator = Recorder("telegram")
    fail(core, "curated:extra.toml", "TOML error at line 3")
    clock.advance(hours=7)
    look = dataclasses.replace(watch(core, outbox_minutes=10_000), sources=frozenset({"curated:extra.toml"}))
    assert len(look.look()) == 1
    assert dataclasses.replace(look, sources=frozenset()).look() == [
        'source_down ended: curated:extra.toml {"dropped": true}'
    ]
    await worker(core, clock, operator).drain()
    assert operator.texts == [
        "⚠️ recallbot: source curated:extra.toml has failed at every read since Jul 1, 2025 12:00 UTC (1 failure). "
        "The last error: TOML error at line 3\nAnswers still say how old their data is, and what the source "
        "publishes meanwhile is read once it is back.",
        "✅ recallbot: source curated:extra.toml is no longer read (it was taken out of the configuration), so it is "
        "no longer reported down.",
    ]


def test_a_notice_waiting_for_an_operator_group_that_moved_goes_to_its_new_id_once(core, clock):
    new = "-100777"
    with core.session(write=True) as session:
        opened = incidents.open_incident(session, IncidentKind.OUTBOX_STALE, "outbox", {}, clock(), [OPERATOR])
        incidents._queue_notices(session, opened, Phase.OPENED, [Destination("telegram", new)], clock())
        session.commit()
    core.destination_moved(OPERATOR, new)
    assert notices(core) == [(opened, "opened", new)]


async def test_an_operator_chat_that_is_gone_gets_no_more_notices(core, clock):
    operator = Recorder("telegram")
    operator.script[OPERATOR.address] = [
        Outcome(OutcomeKind.GONE, error="Forbidden: bot was kicked from the supergroup chat", by_user=True)
        for _ in range(PAUSE_AFTER)
    ]
    for n in range(PAUSE_AFTER):
        with core.session(write=True) as session:
            incidents.open_incident(session, IncidentKind.SOURCE_DOWN, f"s{n}", {}, clock(), [OPERATOR])
            session.commit()
        await worker(core, clock, operator).drain()
        clock.advance(hours=2)
    before = notices(core)
    with core.session(write=True) as session:
        assert outbox.paused_reason(session, OPERATOR) == "Forbidden: bot was kicked from the supergroup chat"
        assert incidents.open_incident(session, IncidentKind.SOURCE_DOWN, "later", {}, clock(), [OPERATOR])
        session.commit()
    assert len(before) >= 2 and notices(core) == before  # the incident is recorded, with no notice to a paused chat
