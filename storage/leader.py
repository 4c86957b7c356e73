"""Leadership among instances sharing one database: "only one of us runs this job".

On PostgreSQL it is a session advisory lock held on a dedicated connection: if the
holder dies, its connection closes, the lock goes with it, and another instance takes
it at its next try. SQLite serves one process, which is always the leader.
"""

from __future__ import annotations

import contextlib
import logging
import zlib

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

logger = logging.getLogger(__name__)


def lock_key(name: str) -> int:
    """Return the advisory lock key of a job name (stable across processes and releases)."""
    return zlib.crc32(f"recallbot:{name}".encode())


class Leadership:
    """Try to become, and stay, the one instance that runs job ``name``."""

    def __init__(self, engine: Engine, name: str) -> None:
        self.engine = engine
        self.name = name
        self.key = lock_key(name)
        self._connection: Connection | None = None

    @property
    def shared(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def try_acquire(self) -> bool:
        """Return True if this instance holds the lock (taking it if it is free). Blocking: call off the loop."""
        if not self.shared:
            return True
        if self._connection is not None:
            try:  # still ours only while the connection that took it is alive
                self._connection.execute(text("SELECT 1"))
                return True
            except DBAPIError:
                logger.warning("lost the connection holding the %s lock", self.name)
                self._drop()
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

    def release(self) -> None:
        """Give the lock up (at shut-down)."""
        if self._connection is not None:
            with contextlib.suppress(DBAPIError):  # a broken connection took the lock with it
                self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
                self._connection.commit()
            self._drop()

    def _drop(self) -> None:
        if self._connection is not None:
            self._connection.invalidate()
            self._connection.close()
            self._connection = None
