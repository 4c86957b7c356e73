"""Start-up shared by every entry point: configuration, database, bundled dataset."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bot.config import Config
from bot.core import Core
from bot.dataset import load_bundled
from bot.errors import RecallbotError
from bot.ratelimit import CommandLimiter
from storage.db import error_reason, make_engine, migrate, startup_lock

logger = logging.getLogger(__name__)


class StartupError(RecallbotError):
    """recallbot cannot start; the message says why and what to do."""


def open_core(config: Config) -> Core:
    """Open the database, migrate it, load the bundled dataset and return the core."""
    engine = make_engine(config.storage.url)
    limits = config.limits
    core = Core(engine, limiter=CommandLimiter(limits.commands_per_window, limits.window_seconds))
    try:
        with startup_lock(engine):  # instances starting together take turns
            migrate(engine, locked=True)
            with core.session(write=True) as session:
                report = load_bundled(session, core.clock())
                session.commit()
    except SQLAlchemyError as error:
        engine.dispose()
        where = make_url(config.storage.url).render_as_string(hide_password=True)
        raise StartupError(
            f"Could not open the database {where} ({error_reason(error)}). Is it running, and is [storage] url right?"
        ) from None
    if report.new or report.updated or report.unchanged:
        logger.info(
            "bundled dataset: %d new, %d updated, %d unchanged", len(report.new), len(report.updated), report.unchanged
        )
    else:
        logger.info("bundled dataset: the same files as at the last start; not read again")
    return core


@contextmanager
def opened_core(config: Config) -> Iterator[Core]:
    """Open the core for the block (as ``open_core``), then close its database connections."""
    core = open_core(config)
    try:
        yield core
    finally:
        core.engine.dispose()  # SQLite folds its write-ahead log back into the file when the last connection closes
