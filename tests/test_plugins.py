"""Platforms are found through entry points: a third-party platform installed beside recallbot runs with it."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from bot.config import load_config
from bot.platforms import chosen, discover
from tests.conftest import clean_env, eventually, start_recallbot

DUMMY = '''
"""A platform package that is not part of recallbot: it answers one question and prints alerts."""
import asyncio
import contextlib

from bot.commands import dispatch
from bot.delivery import Limits, Outcome
from bot.events import Destination
from bot.render import render_reply


class Notifier:
    platform = "dummy"
    limits = Limits(per_second=10.0, per_chat_per_second=10.0, per_group_per_minute=600.0, concurrency=1)

    def is_group(self, chat_id):
        return False

    async def send(self, alert):
        print("DUMMY ALERT", alert.event.id, flush=True)
        return Outcome.sent()


class Dummy:
    name = "dummy"
    fallback = False

    def configured(self, config):
        return "dummy" in config.plugins

    @contextlib.asynccontextmanager
    async def running(self, config, core, stop):
        question = config.plugins["dummy"]["ask"]
        reply = await asyncio.to_thread(dispatch, core, Destination("dummy", 1), question)
        print("DUMMY ANSWER", render_reply(reply).splitlines()[0], flush=True)
        yield Notifier()
        print("DUMMY STOPPED", flush=True)


def platform():
    return Dummy()
'''


def install_dummy(site):
    """Install the dummy platform as a distribution would be: a module and its entry-point metadata."""
    site.mkdir()
    (site / "dummy_platform.py").write_text(DUMMY, encoding="utf-8")
    info = site / "dummy_platform-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: dummy-platform\nVersion: 0.1\n", encoding="utf-8")
    (info / "entry_points.txt").write_text("[recallbot.platforms]\ndummy = dummy_platform:platform\n", encoding="utf-8")


def test_the_installed_platforms_are_found_and_the_console_runs_when_none_is_configured():
    platforms = discover()
    assert {"telegram", "discord", "console"} <= set(platforms)
    assert [p.name for p in chosen(platforms, load_config(None, environ={}))] == ["console"]
    env = {"RECALLBOT_TELEGRAM__TOKEN": "123:abc"}
    assert [p.name for p in chosen(platforms, load_config(None, environ=env))] == ["telegram"]


def test_a_plugins_section_is_accepted_only_when_the_plugin_is_installed(tmp_path, monkeypatch):
    install_dummy(tmp_path / "site")
    config = tmp_path / "config.toml"
    config.write_text('[dummy]\nask = "/check A1263"\n', encoding="utf-8")
    from bot.errors import ConfigError

    try:
        load_config(config, environ={})
    except ConfigError as error:
        assert str(error).startswith("Unknown config section [dummy]")
    else:
        raise AssertionError("an unknown section was accepted")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    assert load_config(config, environ={"RECALLBOT_DUMMY__LANG": "en"}).plugins == {
        "dummy": {"ask": "/check A1263", "lang": "en"}
    }


async def test_a_third_party_platform_runs_end_to_end_beside_recallbot(tmp_path):
    install_dummy(tmp_path / "site")
    (tmp_path / "config.toml").write_text(
        f'[storage]\nurl = "sqlite:///{tmp_path / "r.db"}"\n[dummy]\nask = "/check A1263"\n', encoding="utf-8"
    )
    path = os.pathsep.join([str(tmp_path / "site"), *sys.path])
    process = await start_recallbot("run", "--config", "config.toml", cwd=tmp_path, env=clean_env(PYTHONPATH=path))
    lines: list[str] = []

    async def read() -> None:
        async for line in process.stdout:
            lines.append(line.decode())

    reader = asyncio.create_task(read())
    try:
        await eventually(lambda: any("DUMMY ANSWER" in line for line in lines), timeout=60)
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 30)
        await reader
    output = "".join(lines)
    assert "DUMMY ANSWER Yes: A1263 is named in 1 notice." in output
    assert "DUMMY STOPPED" in output
    assert "console mode" not in output  # the dummy is configured: the console fallback stays off
    assert process.returncode == 0, output
