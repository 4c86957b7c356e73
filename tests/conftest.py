"""Fixtures: a real SQLite file per test, filled from real recall records in tests/data."""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from bot.alerts import alert_keys
from bot.commands import Core
from bot.dataset import CURATED_ORIGIN, bundled_curated, load_brand_aliases, store_events
from bot.events import Destination, Event
from bot.sources.cpsc import parse_records
from storage import outbox, repo
from storage.db import make_engine, migrate

DATA = Path(__file__).parent / "data"
NOW = datetime(2025, 7, 1, 12, 0, tzinfo=UTC)


RECALLBOT = [sys.executable, "-m", "bot.cli"]  # the command line, as a user runs it


def clean_env(**values: str) -> dict[str, str]:
    """Return this environment without the developer's RECALLBOT_ settings, plus ``values``.

    The live regulator feeds, on by default, are off unless ``values`` turns them on: tests
    never reach the internet.
    """
    offline = {"RECALLBOT_CHECKER__DEFAULT_SOURCES": "false"}
    return {k: v for k, v in os.environ.items() if not k.startswith("RECALLBOT_")} | offline | values


@pytest.fixture(autouse=True)
def english_terminal(monkeypatch, tmp_path_factory):
    """Tests read English answers (a developer's LANG=zh_CN.UTF-8 must not make the console answer in
    Chinese), and each test has a data directory of its own: the default database lives there."""
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("data-home")))


async def start_recallbot(
    *args: str, cwd: Path, env: dict[str, str], quiet: bool = False
) -> asyncio.subprocess.Process:
    """Start `recallbot ARGS` as a subprocess; its output (both streams) is piped, or dropped if ``quiet``."""
    stdout = asyncio.subprocess.DEVNULL if quiet else asyncio.subprocess.PIPE
    stderr = asyncio.subprocess.DEVNULL if quiet else asyncio.subprocess.STDOUT
    return await asyncio.create_subprocess_exec(*RECALLBOT, *args, cwd=cwd, env=env, stdout=stdout, stderr=stderr)


class Clock:
    """A clock a test moves by hand; pass it as a core's clock."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Ticks:
    """A monotonic clock (seconds, a float) a test moves by hand; pass it where ``time.monotonic`` is taken."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def eventually(condition: Callable[[], object], timeout: float = 10.0, every: float = 0.02) -> None:
    """Wait until ``condition()`` is true (awaited if it is a coroutine); fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not (await result if inspect.isawaitable(result := condition()) else result):
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(every)


def query_plan(session: Session, run: Callable[[], Any]) -> tuple[Any, str]:
    """Run ``run()``, which sends one statement on ``session``; return its result and the database's plan of it.

    The plan is of the very statement and parameters the code sent (caught on their way to
    the driver), asked on the same transaction: `EXPLAIN QUERY PLAN` on SQLite (one detail
    line a step), `EXPLAIN` on PostgreSQL (its text lines).
    """
    connection = session.connection()
    sent: list[tuple[str, Any]] = []

    def record(_conn, _cursor, statement, parameters, _context, _executemany) -> None:
        sent.append((statement, parameters))

    event.listen(connection, "before_cursor_execute", record)
    try:
        result = run()
    finally:
        event.remove(connection, "before_cursor_execute", record)
    [(statement, parameters)] = sent
    explain = "EXPLAIN " if connection.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
    rows = connection.exec_driver_sql(explain + statement, parameters).all()
    return result, "\n".join(str(row[-1]) for row in rows)


def follows(core: Core, platform: str, chat_id: int) -> list[tuple[str, str]]:
    """Return the (key type, key) pairs a chat follows, oldest first."""
    with core.session() as session:
        return [(r.key_type, r.key) for r in repo.list_subscriptions(session, Destination(platform, chat_id))]


def paused(core: Core, platform: str, chat_id: int) -> str | None:
    """Return why a chat's alerts are paused, or None."""
    with core.session() as session:
        return outbox.paused_reason(session, Destination(platform, chat_id))


def slice_records() -> list[dict]:
    """Return the real CPSC records copied into tests/data (see its README)."""
    return json.loads((DATA / "cpsc-slice.json").read_text(encoding="utf-8"))


def slice_event(number: str) -> Event:
    """Return the event of one recall of the test slice ("25338" is Anker's A1263 recall)."""
    events, _ = parse_records([r for r in slice_records() if r["RecallNumber"] == number], "test slice")
    return events[0]


def subscribe_and_queue(
    core: Core, event: Event, dests: Iterable[Destination], key_type: str, key: str, label: str, now: datetime
) -> int:
    """Subscribe each destination (a day before ``now``) and queue the event's alerts for them."""
    with core.session() as session:
        for dest in dests:
            repo.add_subscription(session, dest, key_type, key, label, now - timedelta(days=1))
        keys = alert_keys(session, event)
        queued = outbox.queue_alerts(session, event, keys, is_update=False, subscribed_before=now, now=now)
        session.commit()
    return queued


def core_with_alerts(engine, clock: Clock, chats: Iterable[int]) -> Core:
    """Return a core holding recall 25-338 (Anker A1263), an alert queued for each chat of platform "test"."""
    core = Core(engine, clock=clock)
    event = slice_event("25338")
    with core.session(write=True) as session:
        store_events(session, [event], "t", clock())
        session.commit()
    dests = [Destination("test", chat) for chat in chats]
    assert subscribe_and_queue(core, event, dests, "brand", "anker", "Anker", clock()) == len(dests)
    return core


@pytest.fixture(scope="session")
def loaded_db(tmp_path_factory) -> Path:
    """A migrated SQLite file holding the CPSC test slice and the bundled curated file."""
    path = tmp_path_factory.mktemp("template") / "recallbot.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    events, problems = parse_records(slice_records(), "test slice")
    assert problems == []
    curated, curated_problems = bundled_curated()
    assert curated_problems == []
    with Core(engine).session() as session:
        store_events(session, events, "test:cpsc", NOW)
        store_events(session, curated, CURATED_ORIGIN, NOW)
        assert load_brand_aliases(session) == []
        session.commit()
    with engine.connect() as connection:  # fold the WAL into the file so a copy is complete
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://127.0.0.1:5432/test")
PG_HOW = (
    "start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` "
    "or point TEST_DATABASE_URL at one"
)


def _postgres_engine():
    """An engine on a fresh schema of the test PostgreSQL server, or a skip (a failure in CI)."""
    probe = create_engine(PG_URL)
    try:
        with probe.connect() as connection:
            schema = f"t_{uuid.uuid4().hex[:12]}"
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
            connection.commit()
    except OperationalError as error:
        message = f"PostgreSQL is not reachable at {PG_URL} ({str(error.orig).splitlines()[0]}); {PG_HOW}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    finally:
        probe.dispose()
    return make_engine(f"{PG_URL}?options=-csearch_path%3D{schema}"), schema


@pytest.fixture
def sqlite_engine(tmp_path):
    """An empty, migrated SQLite file."""
    engine = make_engine(f"sqlite:///{tmp_path / 'recallbot.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


@contextmanager
def _migrated_postgres():
    engine, schema = _postgres_engine()
    try:
        migrate(engine)
        yield engine
    finally:
        drop_schema(engine, schema)


def drop_schema(engine, schema: str) -> None:
    """Close ``engine`` and drop its test schema."""
    engine.dispose()
    cleanup = create_engine(PG_URL)
    with cleanup.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    cleanup.dispose()


@pytest.fixture
def pg_engine():
    """A fresh, migrated PostgreSQL schema (skipped without a server; a failure in CI)."""
    with _migrated_postgres() as engine:
        yield engine


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    """An empty, migrated database: a SQLite file, then a fresh PostgreSQL schema."""
    if request.param == "postgresql":
        with _migrated_postgres() as engine:
            yield engine
        return
    engine = make_engine(f"sqlite:///{tmp_path / 'recallbot.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> Clock:
    """A clock standing at NOW until the test moves it."""
    return Clock(NOW)


@pytest.fixture
def core(loaded_db, tmp_path) -> Core:
    """A core on a private copy of the loaded test database."""
    path = tmp_path / "recallbot.db"
    shutil.copy(loaded_db, path)
    engine = make_engine(f"sqlite:///{path}")
    yield Core(engine, clock=lambda: NOW)
    engine.dispose()


@pytest.fixture
async def bot_api():
    """A fake Telegram Bot API on 127.0.0.1 (tests/fake_telegram.py)."""
    from tests.fake_telegram import FakeBotApi

    server = FakeBotApi()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def discord_globals(monkeypatch):
    """Restore discord.py's process-wide REST and gateway URLs (which start-up sets) after the test."""
    import discord

    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    gateway = discord.gateway.DiscordWebSocket
    monkeypatch.setattr(gateway, "DEFAULT_GATEWAY", gateway.DEFAULT_GATEWAY)


@pytest.fixture
async def discord_server(discord_globals):
    """A fake Discord server on 127.0.0.1 (tests/fake_discord.py)."""
    from tests.fake_discord import FakeDiscord

    server = FakeDiscord()
    await server.start()
    yield server
    await server.stop()
