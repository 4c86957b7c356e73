"""The Discord front end: the real discord.py client against a fake Discord server."""

from __future__ import annotations

import asyncio

import discord
import pytest

from bot.config import DiscordConfig
from notifiers.discord_bot import discord_running
from tests import fake_discord
from tests.fake_discord import FakeDiscord


@pytest.fixture
async def server(monkeypatch):
    """A fake Discord server; discord.py's process-wide URLs are restored afterwards."""
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
    fake = FakeDiscord()
    await fake.start()
    yield fake
    await fake.stop()


def config(server: FakeDiscord, **overrides) -> DiscordConfig:
    values = {"token": fake_discord.TOKEN, "api_base_url": server.api_base_url, "gateway_url": server.gateway_url}
    return DiscordConfig(**(values | overrides))


@pytest.fixture
async def discord_bot(server, core):
    async with discord_running(config(server, command_guild_id=fake_discord.GUILD_ID), core) as notifier:
        await asyncio.wait_for(server.ready.wait(), 10)
        yield notifier


async def test_check_in_a_server_answers_with_an_embed(server, discord_bot):
    answer = await server.answer(await server.slash("check", {"model": "PAC20-272"}))
    print(answer)
