"""Leadership among instances sharing one database: "only one of us runs this job".

On PostgreSQL it is a session advisory lock held on a dedicated connection: if the
holder dies, its connection closes, the lock goes with it, and another instance takes
it at its next try. SQLite serves one process, which is always the leader.

A lock can also be lost while its holder lives: a database restart, a network blip or
an administrator ends the holder's session. A long-running job (polling Telegram,
holding the Discord gateway) must not go on then, or two instances run it at once.
:func:`hold` runs such a job only while the lock is held, and the timing makes the
handover safe:

- the lock is free for another instance only once the server has ended our session;
- the holder confirms the lock every ``check_every`` seconds, and a confirmation that
  gets no answer within ``check_every`` counts as a loss, so the holder stops the job
  at most ``2 * check_every`` seconds (and the moment stopping takes) after its
  session ended;
- a waiter tries for the lock every ``retry_every`` seconds, longer than
  ``check_every``, so the holder usually stops before the next try; and a waiter that
  gets the lock waits :attr:`Cadence.settle` (``2 * check_every``) more before it
  starts, which covers the try that happens to come right after the loss.

An instance that takes the lock at its first try at start-up starts at once, so that
a restart is not slowed down. That leaves one gap: started within ``2 * check_every``
of another holder's blip, it may overlap that holder for the rest of that time (on
Telegram, a 409 Conflict for one of the two pollers) until the old holder stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

logger = logging.getLogger(__name__)

# Our session still holds the lock: the single-bigint form of pg_advisory_lock stores a
# key below 2**32 as classid 0, objid key, objsubid 1.
_HELD = text(
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = 0"
    " AND CAST(objid AS bigint) = :key AND objsubid = 1 AND granted AND pid = pg_backend_pid())"
)


def lock_key(name: str) -> int:
    """Return the advisory lock key of a job name (stable across processes and releases)."""
    return zlib.crc32(f"recallbot:{name}".encode())


class Leadership:
    """Try to become, and stay, the one instance that runs job ``name``.

    Its methods block: call them off the event loop. They may run in different threads,
    so a lock keeps them off the dedicated connection one at a time.
    """

    def __init__(self, engine: Engine, name: str) -> None:
        self.engine = engine
        self.name = name
        self.key = lock_key(name)
        self._connection: Connection | None = None
        self._using = threading.Lock()

    @property
    def shared(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def try_acquire(self) -> bool:
        """Return True if this instance holds the lock (taking it if it is free)."""
        if not self.shared:
            return True
        with self._using:
            if self._connection is not None and self._confirm():
                return True
            connection = self.engine.connect()
            try:
                held = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}).scalar()
                connection.commit()
            except DBAPIError:
                connection.close()
                raise
            if held:
                self._connection = connection
                logger.info("this instance now runs %s", self.name)
                return True
            connection.close()
            return False

    def still_held(self) -> bool:
        """Return True if this instance still holds the lock; a broken connection means it does not."""
        if not self.shared:
            return True
        with self._using:
            return self._connection is not None and self._confirm()

    def release(self) -> None:
        """Give the lock up (at shut-down)."""
        with self._using:
            if self._connection is not None:
                with contextlib.suppress(DBAPIError):  # a broken connection took the lock with it
                    self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
                    self._connection.commit()
                self._drop()

    def _confirm(self) -> bool:
        """Ask the server whether our session still holds the lock; forget the connection if not."""
        assert self._connection is not None
        try:
            held = self._connection.execute(_HELD, {"key": self.key}).scalar()
            self._connection.commit()  # do not sit idle in a transaction between checks
        except DBAPIError:
            logger.warning("lost the connection holding the %s lock", self.name)
            self._drop()
            return False
        if not held:
            logger.warning("the %s lock is no longer this instance's", self.name)
            self._drop()
        return bool(held)

    def _drop(self) -> None:
        if self._connection is not None:
            self._connection.invalidate()
            self._connection.close()
            self._connection = None


@dataclass(frozen=True)
class Cadence:
    """How often a waiter tries for a lock and a holder confirms it (see the module doc)."""

    retry_every: float = 15.0
    check_every: float = 5.0

    def __post_init__(self) -> None:
        if not 0 < self.check_every < self.retry_every:
            raise ValueError(
                f"the lock check interval ({self.check_every} s) must be positive and shorter than "
                f"the retry interval ({self.retry_every} s), or a lost lock may be run twice"
            )

    @property
    def settle(self) -> float:
        """Return how long a new holder waits before it starts: the longest a former holder takes to stop."""
        return 2 * self.check_every


async def take(lock: Leadership, cadence: Cadence) -> None:
    """Wait until this instance holds the lock (trying every ``retry_every``) and has held it ``settle`` seconds."""
    while True:
        await asyncio.sleep(cadence.retry_every)
        try:
            if not await asyncio.to_thread(lock.try_acquire):
                continue
        except DBAPIError as error:  # the database is down: keep waiting, it may come back
            logger.warning("could not try the %s lock: %s", lock.name, str(error.orig).strip().partition("\n")[0])
            continue
        await asyncio.sleep(cadence.settle)
        if await asyncio.to_thread(lock.still_held):
            return


async def lost(lock: Leadership, cadence: Cadence) -> None:
    """Return once this instance no longer holds the lock, confirming it every ``check_every``."""
    while True:
        await asyncio.sleep(cadence.check_every)
        try:
            if not await asyncio.wait_for(asyncio.to_thread(lock.still_held), cadence.check_every):
                return
        except TimeoutError:
            logger.warning(
                "the database did not confirm the %s lock in %.1f s: counting it lost", lock.name, cadence.check_every
            )
            return


async def hold(
    lock: Leadership,
    cadence: Cadence,
    run: Callable[[], Awaitable[object]],
    stop: Callable[[], Awaitable[object]],
    *,
    held: bool = False,
) -> None:
    """Run a job whenever this instance holds the lock, and stop it as soon as the lock is lost.

    ``run`` starts the job and returns; ``stop`` ends it. ``held`` says the caller already
    took the lock and started the job (at start-up).
    """
    while True:
        if not held:
            await take(lock, cadence)
            await run()
        held = False
        await lost(lock, cadence)
        logger.warning("lost the %s lock: stopping until this instance holds it again", lock.name)
        await stop()
