"""The Discord notifier and embeds: the real discord.py client against the fake server, and Discord's limits."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import aiohttp
import discord
import pytest

from bot.commands import Reply
from bot.delivery import OutcomeKind
from bot.events import Alert, Destination, Reason
from bot.matching import Match
from notifiers.discord_notifier import DiscordNotifier, InvalidRequestGuard, classify
from notifiers.discord_render import (
    CONTENT_LIMIT,
    EMBED_TOTAL_LIMIT,
    EMBEDS_PER_MESSAGE,
    FIELD_VALUE_LIMIT,
    TRIMMED,
    alert_page,
    reply_pages,
)
from tests import fake_discord
from tests.conftest import Ticks, slice_event, slice_records
from tests.fake_discord import ALERTS, GENERAL


@pytest.fixture
def server(discord_server):
    """A fake Discord server, the one discord.py's REST calls go to (restored afterwards by discord_server)."""
    discord.http.Route.BASE = discord_server.api_base_url
    return discord_server


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


@pytest.fixture
async def notifier(server, ticks):
    guard = InvalidRequestGuard(budget=3, window=600.0, clock=ticks)
    client = discord.Client(intents=discord.Intents(guilds=True), http_trace=guard.trace_config())
    await client.login(fake_discord.TOKEN)
    yield DiscordNotifier(client, guard)
    await client.close()


def alert(channel_id: int, delivery_id: int = 7, **changes) -> Alert:
    event = dataclasses.replace(slice_event("25338"), **changes)
    return Alert(delivery_id, Destination("discord", channel_id), event, (Reason("brand", "Anker"),), False)


async def test_a_repeat_with_the_same_delivery_id_is_dropped_by_discord(server, notifier):
    assert (await notifier.send(alert(GENERAL))).kind is OutcomeKind.SENT
    assert (await notifier.send(alert(GENERAL))).kind is OutcomeKind.SENT  # after a crash, say
    assert (await notifier.send(alert(GENERAL, delivery_id=8))).kind is OutcomeKind.SENT
    assert [m["nonce"] for m in server.messages[GENERAL]] == ["7", "8"]


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (403, 50001, OutcomeKind.GONE),  # missing access
        (403, 50013, OutcomeKind.GONE),  # missing permissions
        (403, 50007, OutcomeKind.GONE),  # the person does not accept DMs from the bot
        (404, 10003, OutcomeKind.GONE),  # unknown channel
        (400, 50035, OutcomeKind.FAILED),  # invalid form body: this message will never go
    ],
)
async def test_platform_errors_map_to_outcomes(server, notifier, status, code, kind):
    server.failures[ALERTS] = (status, code, "scripted")
    outcome = await notifier.send(alert(ALERTS))
    assert outcome.kind is kind
    assert outcome.error == f"{status} {code}: scripted"
    assert outcome.by_user is (code == 50007)  # closed DMs are the user's choice; lost rights are told to the operator


async def test_sending_stops_before_too_many_invalid_requests(server, notifier, ticks):
    server.failures[ALERTS] = (403, 50013, "Missing Permissions")
    for _ in range(3):
        assert (await notifier.send(alert(ALERTS))).kind is OutcomeKind.GONE
    before = len(server.requests)
    held = await notifier.send(alert(GENERAL))
    assert held.kind is OutcomeKind.RETRY and held.retry_after == 600.0
    assert len(server.requests) == before  # nothing was sent while holding back
    ticks.now += 600.0
    assert (await notifier.send(alert(GENERAL))).kind is OutcomeKind.SENT


def response(status: int, **headers: str) -> SimpleNamespace:
    return SimpleNamespace(status=status, reason="scripted", headers=headers)


def test_transient_errors_are_retried_with_the_wait_discord_gives():
    assert classify(discord.RateLimited(42.5)).retry_after == 42.5
    limited = classify(discord.HTTPException(response(429, **{"Retry-After": "3.5"}), {"code": 0, "message": "slow"}))
    assert (limited.kind, limited.retry_after) == (OutcomeKind.RETRY, 3.5)
    outage = classify(discord.DiscordServerError(response(503), {"code": 0, "message": "unavailable"}))
    assert (outage.kind, outage.retry_after) == (OutcomeKind.RETRY, None)  # the worker's backoff
    assert classify(aiohttp.ServerDisconnectedError()).kind is OutcomeKind.RETRY


def test_an_alert_is_one_message_within_discords_limits():
    huge = alert(GENERAL, hazard="Overheats. " * 500, remedy="Return it. " * 500, units_text="About " + "9" * 3000)
    page = alert_page(huge)
    [embed] = page.embeds
    assert len(embed) <= EMBED_TOTAL_LIMIT
    fields = {f.name: f.value for f in embed.fields}
    assert all(len(value) <= FIELD_VALUE_LIMIT for value in fields.values())
    assert fields["Hazard"].endswith(TRIMMED) and fields["What to do"].endswith(TRIMMED)
    assert fields["Date"] == "Jun 12, 2025"  # short fields are left whole
    assert embed.url.startswith("https://www.cpsc.gov/")  # where the trimmed text can be read


def test_a_long_reply_is_split_over_messages():
    events = [e for e in (slice_event(r["RecallNumber"]) for r in slice_records()[:12])]
    matches = tuple(Match(dataclasses.replace(e, hazard="Burns. " * 140), "") for e in events)
    pages = reply_pages(Reply("Line of text.\n" * 200, matches=matches, footer="...and 3 more."))
    assert sum(1 for p in pages if p.embeds) >= 3  # the 12 embeds did not fit in one message
    assert all(len(p.content or "") <= CONTENT_LIMIT for p in pages)
    assert all(len(p.embeds) <= EMBEDS_PER_MESSAGE for p in pages)
    assert all(sum(len(e) for e in p.embeds) <= EMBED_TOTAL_LIMIT for p in pages)
    assert [e.title for p in pages for e in p.embeds] == [f"RECALL: {e.name}" for e in events]
    text = "\n".join(p.content for p in pages if p.content)
    assert text == "Line of text.\n" * 199 + "Line of text.\n\n...and 3 more."
