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

from bot.backfill import needs_backfill
from bot.checker import Checker, PassReport
from bot.config import Config, SourceConfig
from bot.core import Core
from bot.delivery import DeliveryWorker, Notifier
from bot.metrics import NO_METRICS, Metrics
from bot.operator import LOOK_EVERY, OperatorWatch
from bot.sources.base import Source
from bot.sources.curated import CuratedSource
from bot.sources.kinds import KINDS
from storage import outbox
from storage.leader import Leadership

logger = logging.getLogger(__name__)

USER_AGENT = "recallbot/0.1"


def build_sources(config: Config, client: httpx.AsyncClient) -> list[Source]:
    """Return the configured live sources (the bundled dataset is loaded at start-up)."""
    return [build_source(source, config, client) for source in config.sources]


def build_source(source: SourceConfig, config: Config, client: httpx.AsyncClient) -> Source:
    """Return the source one `[[sources]]` entry describes."""
    if source.kind == "curated" and source.path is not None:
        return CuratedSource(source.path)
    options = dict(source.options)
    if source.kind == "cpsc":  # the first pass reaches back as far as alerts do
        options["first_days"] = config.checker.max_age_days
    return KINDS[source.kind].build(source.base_url or KINDS[source.kind].default_url, client, options)


def http_client() -> httpx.AsyncClient:
    """Return the HTTP client the sources share."""
    return httpx.AsyncClient(headers={"User-Agent": USER_AGENT}, follow_redirects=True, timeout=60)


def make_checker(config: Config, core: Core, client: httpx.AsyncClient, metrics: Metrics = NO_METRICS) -> Checker:
    """Return a checker over the configured sources."""
    return Checker(
        core,
        build_sources(config, client),
        interval=timedelta(seconds=config.checker.interval_seconds),
        max_age=timedelta(days=config.checker.max_age_days),
        metrics=metrics,
    )


def offer_backfill(core: Core, sources: list[Source]) -> None:
    """Say, among the first log lines, which sources can load their whole history and how."""
    for source in needs_backfill(core, sources):
        kind = source.name.split(":", 1)[0]
        logger.info(
            "source %s: only recent records are checked; `recallbot backfill %s` loads its whole history once "
            "(it never alerts, and can be interrupted and resumed)",
            source.name,
            kind,
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
    )  # a source that failed said so in one line when it failed (Checker._failed)


async def check_if_leader(checker: Checker, leader: Leadership) -> PassReport | None:
    """Run one checker pass if this instance holds the checker lock; None if another does."""
    if not await asyncio.to_thread(leader.try_acquire):
        logger.debug("another instance runs the checker")
        return None
    return await checker.run_pass()


def purge_removed_servers(core: Core, grace: timedelta) -> int:
    """Delete what is stored about channels of servers that removed the bot over ``grace`` ago; log it."""
    purged = core.purge_removed_servers(grace)
    if purged:
        logger.info("deleted what was stored about %d channels of servers that removed the bot", purged)
    return purged


def operator_watch(
    config: Config, core: Core, notifiers: Mapping[str, Notifier], instance_id: str, sources: list[Source]
) -> OperatorWatch:
    """Return the watch that tells the operator of incidents, over the platforms this instance sends on."""
    alarms = {name: alarm for name, n in notifiers.items() if (alarm := getattr(n, "alarm", None))}
    names = frozenset(source.name for source in sources)
    return OperatorWatch(core, config.operator, frozenset(notifiers), alarms, instance_id, names)


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
async def running(
    config: Config, core: Core, notifiers: Mapping[str, Notifier], metrics: Metrics = NO_METRICS
) -> AsyncIterator[Runtime]:
    """Run the checker on its schedule and the delivery worker until the block exits."""
    if core.engine.dialect.name == "sqlite":  # one process owns a SQLite database: its old claims are void
        await asyncio.to_thread(_release_claims, core)
    client = http_client()
    checker = make_checker(config, core, client, metrics)
    await asyncio.to_thread(offer_backfill, core, checker.sources)
    worker = DeliveryWorker(core, notifiers, metrics=metrics)
    leader = core.lock("checker")  # one checker among instances sharing PostgreSQL
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
    grace = timedelta(days=config.retention.removed_server_days)

    async def purge() -> None:
        try:
            await asyncio.to_thread(purge_removed_servers, core, grace)
        except Exception:
            logger.exception("deleting the data of servers that removed the bot failed; trying again tomorrow")

    # Daily is enough for a grace period in days; every instance may run it (the deletes are idempotent).
    scheduler.add_job(purge, "interval", days=1, id="retention", coalesce=True, next_run_time=datetime.now(UTC))
    watch = operator_watch(config, core, notifiers, worker.instance_id, checker.sources)

    async def look() -> None:
        try:
            if await asyncio.to_thread(watch.look, watch.sound_alarms()):  # the guards are asked on this loop
                worker.wake()
        except Exception:
            logger.exception("looking for incidents failed; looking again in a minute")

    # Every instance looks: the database keeps one open incident of each kind and subject.
    scheduler.add_job(look, "interval", seconds=LOOK_EVERY.total_seconds(), id="operator", coalesce=True)
    scheduler.start()
    try:
        yield Runtime(checker, worker, scheduler)
    finally:
        scheduler.shutdown(wait=False)
        stop.set()
        await worker_task
        await asyncio.to_thread(leader.release)
        await client.aclose()
