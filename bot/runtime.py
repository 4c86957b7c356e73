"""The running bot: scheduler, delivery worker and front ends in one event loop.

Start-up and shut-down read top to bottom in :func:`running`; shut-down is
start-up reversed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.checker import Checker, PassReport
from bot.commands import Core
from bot.config import Config
from bot.delivery import DeliveryWorker, Notifier
from bot.sources.base import Source
from bot.sources.cpsc import CpscSource
from bot.sources.curated import CuratedSource
from storage import outbox
from storage.leader import Leadership

logger = logging.getLogger(__name__)

USER_AGENT = "recallbot/0.1"


def build_sources(config: Config, client: httpx.AsyncClient) -> list[Source]:
    """Return the configured live sources (the bundled dataset is loaded at start-up)."""
    sources: list[Source] = []
    for source in config.sources:
        if source.kind == "curated" and source.path is not None:
            sources.append(CuratedSource(source.path))
        elif source.kind == "cpsc" and source.base_url:
            sources.append(CpscSource(source.base_url, client, first_days=config.checker.max_age_days))
    return sources


def http_client() -> httpx.AsyncClient:
    """Return the HTTP client the sources share."""
    return httpx.AsyncClient(headers={"User-Agent": USER_AGENT}, follow_redirects=True, timeout=60)


def make_checker(config: Config, core: Core, client: httpx.AsyncClient) -> Checker:
    """Return a checker over the configured sources."""
    return Checker(
        core,
        build_sources(config, client),
        interval=timedelta(seconds=config.checker.interval_seconds),
        max_age=timedelta(days=config.checker.max_age_days),
    )


def log_report(report: PassReport) -> None:
    """Log a pass in one line, and each source that failed."""
    logger.info(
        "check: %d new, %d updated, %d unchanged, %d skipped, %d alerts queued",
        report.total("new"),
        report.total("updated"),
        report.total("unchanged"),
        report.skipped,
        report.total("alerts_queued"),
    )
    for source in report.sources:
        if source.error:
            logger.warning("source %s: %s", source.name, source.error)


async def check_if_leader(checker: Checker, leader: Leadership) -> PassReport | None:
    """Run one checker pass if this instance holds the checker lock; None if another does."""
    if not await asyncio.to_thread(leader.try_acquire):
        logger.debug("another instance runs the checker")
        return None
    return await checker.run_pass()


@dataclass
class Runtime:
    checker: Checker
    worker: DeliveryWorker
    scheduler: AsyncIOScheduler


def _release_claims(core: Core) -> None:
    with core.session(write=True) as session:
        outbox.release_claims(session)
        session.commit()


@asynccontextmanager
async def running(config: Config, core: Core, notifiers: Mapping[str, Notifier]) -> AsyncIterator[Runtime]:
    """Run the checker on its schedule and the delivery worker until the block exits."""
    if core.engine.dialect.name == "sqlite":  # one process owns a SQLite database: its old claims are void
        await asyncio.to_thread(_release_claims, core)
    client = http_client()
    checker = make_checker(config, core, client)
    worker = DeliveryWorker(core, notifiers)
    leader = Leadership(core.engine, "checker")  # one checker among instances sharing PostgreSQL
    stop = asyncio.Event()
    worker_task = asyncio.create_task(worker.run(stop), name="delivery")

    async def check() -> None:
        try:
            report = await check_if_leader(checker, leader)
        except Exception:
            logger.exception("checker pass failed")
            return
        if report is None:
            return
        log_report(report)
        if report.total("alerts_queued"):
            worker.wake()

    interval = config.checker.interval_seconds
    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.add_job(
        check,
        "interval",
        seconds=interval,
        id="checker",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=max(1, interval // 2),
        next_run_time=datetime.now(UTC),
    )
    scheduler.start()
    try:
        yield Runtime(checker, worker, scheduler)
    finally:
        scheduler.shutdown(wait=False)
        stop.set()
        await worker_task
        await asyncio.to_thread(leader.release)
        await client.aclose()
