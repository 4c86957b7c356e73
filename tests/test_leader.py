"""Leadership among instances on one PostgreSQL database: one checker at a time, takeover on death."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import text

from bot.checker import Checker
from bot.commands import Core
from bot.runtime import check_if_leader
from storage.db import make_engine
from storage.leader import Leadership


@pytest.fixture
def second_engine(pg_engine):
    """Another instance's connection pool on the same database."""
    other = make_engine(pg_engine.url.render_as_string(hide_password=False))
    yield other
    other.dispose()


def test_sqlite_is_always_its_own_leader(sqlite_engine):
    assert Leadership(sqlite_engine, "checker").try_acquire()
    assert Leadership(sqlite_engine, "checker").try_acquire()


def test_only_one_instance_holds_a_job_and_another_takes_over_when_it_dies(pg_engine, second_engine):
    first, second = Leadership(pg_engine, "checker"), Leadership(second_engine, "checker")
    assert first.try_acquire() and first.try_acquire()  # held, and still held
    assert not second.try_acquire()
    assert Leadership(second_engine, "telegram-poller").try_acquire()  # another job, another lock
    # The holder dies: the server ends its session, and the lock goes with it.
    pid = first._connection.execute(text("SELECT pg_backend_pid()")).scalar()
    with second_engine.connect() as admin:
        admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    deadline = time.monotonic() + 10  # the server ends the session a moment after the signal
    while not second.try_acquire():
        assert time.monotonic() < deadline, "the lock outlived its holder"
        time.sleep(0.05)
    assert not first.try_acquire()  # it notices the lost connection and does not claim the job
    second.release()
    assert first.try_acquire()
    first.release()


async def test_the_checker_pass_runs_only_on_the_leader(pg_engine, second_engine):
    calls = []

    class Source:
        name = "counting"

        async def fetch(self, cursor, now):
            calls.append(now)
            raise RuntimeError("not needed")

    holder = Leadership(second_engine, "checker")
    assert holder.try_acquire()
    checker = Checker(Core(pg_engine), [Source()], interval=timedelta(minutes=15), max_age=timedelta(days=90))
    follower = Leadership(pg_engine, "checker")
    assert await check_if_leader(checker, follower) is None
    assert calls == []
    holder.release()
    report = await check_if_leader(checker, follower)
    assert report is not None and len(calls) == 1
    follower.release()
