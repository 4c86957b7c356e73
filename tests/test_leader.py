"""Leadership among instances on one PostgreSQL database: one checker at a time, takeover on death."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import Engine, text

from bot.checker import Checker
from bot.commands import Core
from bot.runtime import check_if_leader
from storage.db import make_engine
from storage.leader import Cadence, Leadership, lock_key
from tests.conftest import eventually

# The lock our session holds, with its owner's name: tests that share the server (other
# schemas of one database, so the same lock keys) must end only their own sessions.
_HOLDER = text(
    "SELECT l.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory'"
    " AND CAST(l.objid AS bigint) = :key AND l.granted AND a.application_name = :owner"
)


@contextmanager
def two_instances(pg_engine: Engine) -> Iterator[tuple[Engine, Engine]]:
    """Yield two instances' pools on one database: the first's sessions carry a name on the server."""
    url = pg_engine.url.update_query_dict({"application_name": f"recallbot-test-{uuid.uuid4().hex[:12]}"})
    first = make_engine(url.render_as_string(hide_password=False))
    second = make_engine(pg_engine.url.render_as_string(hide_password=False))
    try:
        yield first, second
    finally:
        first.dispose()
        second.dispose()


def end_lock_session(admin: Engine, holder: Engine, job: str) -> None:
    """Simulate a database blip: the server ends the session of ``holder`` that holds the lock of ``job``."""
    with admin.connect() as connection:
        owner = holder.url.query["application_name"]
        [pid] = connection.execute(_HOLDER, {"key": lock_key(job), "owner": owner}).scalars().all()
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


@pytest.fixture
def second_engine(pg_engine):
    """Another instance's connection pool on the same database."""
    other = make_engine(pg_engine.url.render_as_string(hide_password=False))
    yield other
    other.dispose()


async def test_a_holder_whose_session_ended_knows_the_lock_is_lost(pg_engine):
    with two_instances(pg_engine) as (first, second):
        holder, other = Leadership(first, "checker"), Leadership(second, "checker")
        assert holder.try_acquire() and holder.still_held()
        end_lock_session(second, first, "checker")
        await eventually(lambda: not holder.still_held())  # the server ends the session a moment after the signal
        assert other.try_acquire()
        assert not holder.still_held() and not holder.try_acquire()
        other.release()


def test_a_lock_gone_from_a_live_session_is_lost(pg_engine):
    holder = Leadership(pg_engine, "checker")
    assert holder.try_acquire() and holder.still_held()
    holder._connection.execute(text("SELECT pg_advisory_unlock_all()"))  # the connection answers; the lock is gone
    holder._connection.commit()
    assert not holder.still_held()


def test_a_holder_checks_its_lock_more_often_than_waiters_try_for_it():
    assert Cadence().check_every < Cadence().retry_every
    with pytest.raises(ValueError, match="shorter than the retry interval"):
        Cadence(retry_every=5.0, check_every=5.0)


def test_sqlite_is_always_its_own_leader(sqlite_engine):
    assert Leadership(sqlite_engine, "checker").try_acquire()
    assert Leadership(sqlite_engine, "checker").try_acquire()


async def test_only_one_instance_holds_a_job_and_another_takes_over_when_it_dies(pg_engine, second_engine):
    first, second = Leadership(pg_engine, "checker"), Leadership(second_engine, "checker")
    assert first.try_acquire() and first.try_acquire()  # held, and still held
    assert not second.try_acquire()
    assert Leadership(second_engine, "telegram-poller").try_acquire()  # another job, another lock
    # The holder dies: the server ends its session, and the lock goes with it.
    pid = first._connection.execute(text("SELECT pg_backend_pid()")).scalar()
    with second_engine.connect() as admin:
        admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    await eventually(second.try_acquire)  # the server ends the session a moment after the signal
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
