"""Engines and schema migrations for SQLite (default) and PostgreSQL.

Alembic is imported only when the schema is behind: every start asks the database for its
revision and compares it with the newest migration file's (``head_revision``), which costs a
query, where loading Alembic and its migration scripts costs more than the rest of `recallbot
check` together.
"""

from __future__ import annotations

import re
import sqlite3
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.pool import ConnectionPoolEntry

from bot.errors import ConfigError
from bot.logs import mask_passwords

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
STARTUP_LOCK = zlib.crc32(b"recallbot:migrations")  # an advisory lock key, the same in every release


WRITE = "recallbot_write"  # execution option: this transaction will write (SQLite: BEGIN IMMEDIATE)


def _sqlite_connect(dbapi_connection: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
    # SQLAlchemy's documented pysqlite recipe: the driver's own transaction handling is
    # turned off (it would begin only before the first INSERT, leaving earlier reads
    # outside the transaction) and _sqlite_begin emits BEGIN itself.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets the checker write while commands read; the busy timeout makes a
    # second process wait for the lock instead of failing at once.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # A writer takes the write lock when its transaction begins, waiting up to the busy
    # timeout; a deferred transaction that read first and then writes fails at once
    # ("database is locked") if another writer committed in between.
    write = connection.get_execution_options().get(WRITE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def writer(engine: Engine) -> Engine:
    """Return ``engine`` for sessions that write: on SQLite their transactions begin IMMEDIATE."""
    return engine.execution_options(**{WRITE: True})


_EXAMPLES = "use e.g. sqlite:///recallbot.db or postgresql+psycopg://user@host/db"


def error_reason(error: Exception) -> str:
    """Return a database error's first line, any password in it masked: what a sentence or a log line quotes."""
    return mask_passwords(str(getattr(error, "orig", None) or error).splitlines()[0])


def make_engine(url: str) -> Engine:
    """Create an engine for a database URL, with SQLite set up for WAL.

    :raises ConfigError: the URL is malformed, names an unknown database, or its driver
        is not installed; the message is one sentence with the password masked.
    """
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # a bad port, a bracket left open...
        raise ConfigError(f"[storage] url {mask_passwords(url)!r} is not a database URL; {_EXAMPLES}") from None
    shown = parsed.render_as_string(hide_password=True)
    try:
        if parsed.get_backend_name() == "sqlite":
            engine = create_engine(parsed, connect_args={"check_same_thread": False})
            event.listen(engine, "connect", _sqlite_connect)
            event.listen(engine, "begin", _sqlite_begin)
            return engine
        return create_engine(parsed, pool_pre_ping=True)
    except NoSuchModuleError:
        raise ConfigError(
            f"[storage] url {shown!r}: recallbot does not know the database {parsed.drivername!r}; {_EXAMPLES}"
        ) from None
    except ImportError as error:
        if parsed.get_backend_name() == "postgresql":
            hint = "pip install 'recallbot[postgres]' and use postgresql+psycopg://"
        else:
            hint = f"recallbot runs on SQLite and PostgreSQL; {_EXAMPLES}"
        raise ConfigError(
            f"[storage] url {shown!r} needs the database driver {error.name or parsed.drivername!r}, "
            f"which is not installed: {hint}"
        ) from None


def alembic_config(engine: Engine) -> Config:
    """Return an Alembic configuration that migrates ``engine``."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


@contextmanager
def startup_lock(engine: Engine) -> Iterator[None]:
    """Hold the start-up lock while the block runs: one instance at a time migrates and loads.

    On PostgreSQL instances that start together would race to create the same tables and
    insert the same bundled rows; an advisory lock, held on a connection of its own, lets
    one start up while the others wait, and then find the work done. SQLite serves one
    process: no lock.
    """
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as lock:
        lock.execute(text("SELECT pg_advisory_lock(:key)"), {"key": STARTUP_LOCK})
        try:
            yield
        finally:
            lock.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": STARTUP_LOCK})
            lock.commit()


# The assignments Alembic's script template writes (script.py.mako), with or without a type annotation.
_REVISION = re.compile(r"^revision(?:\s*:[^=]+)?\s*=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)
_DOWN_REVISION = re.compile(r"^down_revision(?:\s*:[^=]+)?\s*=\s*(.+)$", re.MULTILINE)


def head_revision(versions: Path = MIGRATIONS / "versions") -> str | None:
    """Return the newest migration's revision, read from the files' text; None when it is not one plain head.

    A cheap stand-in for Alembic's ``ScriptDirectory.get_current_head()`` (a test compares the
    two): a migration file added later is found without a code change. Anything it cannot read
    with certainty (no files, two heads, a revision spelt another way) gives None, and the caller
    then runs Alembic.
    """
    revisions, parents = set(), set()
    for script in versions.glob("*.py"):
        source = script.read_text(encoding="utf-8")
        revision, down = _REVISION.search(source), _DOWN_REVISION.search(source)
        if revision is None or down is None:
            return None
        revisions.add(revision.group(1))
        parents.update(re.findall(r"['\"]([^'\"]+)['\"]", down.group(1)))  # None, "0009" or ("0009", "0010")
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def current_revision(engine: Engine) -> str | None:
    """Return the revision the database is at (its alembic_version row); None if it has none, or several."""
    try:
        with engine.connect() as connection:
            rows: list[str] = list(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())
    except SQLAlchemyError:  # no such table: a new database (any other trouble, Alembic reports it next)
        return None
    return rows[0] if len(rows) == 1 else None


def migrate(engine: Engine, *, locked: bool = False) -> None:
    """Bring the schema up to date (safe to call on every start, by several instances at once).

    ``locked``: the caller already holds :func:`startup_lock` (taking it again on another
    connection would wait for ever).
    """
    if locked:
        _upgrade(engine)
        return
    with startup_lock(engine):
        _upgrade(engine)


def _upgrade(engine: Engine) -> None:
    """Run Alembic's upgrade to head, unless the database is at the newest revision already."""
    head = head_revision()
    if head is not None and current_revision(engine) == head:
        return
    from alembic import command

    command.upgrade(alembic_config(engine), "head")
