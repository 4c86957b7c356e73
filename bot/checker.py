"""The checker: one pass reads every source, detects new and changed events, and queues alerts.

A source's first successful pass is its baseline: its events are stored and
nothing is alerted. After that, an event first seen is new and alerts unless
its official date is older than ``max_age_days``; a known event whose content
changed updates silently, and alerts only when the change is material (models
added, units, remedy, hazard). Storing the events, queueing the alerts and
moving the source's cursor happen in one transaction: a crash leaves either
all of it or none.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.alerts import alert_keys
from bot.core import LIVE_READ_AT, Core
from bot.dataset import store_events
from bot.errors import SourceError
from bot.events import Change, Event
from bot.metrics import NO_METRICS, Metrics
from bot.sources.base import FetchResult, Problem, Source, min_interval
from storage import outbox, repo
from storage.sources import SourceHealth, get_state, record_failure, record_success

logger = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=6)
JITTER = 0.1  # a backoff is stretched by up to a tenth, so sources failing together spread out


@dataclass
class SourceReport:
    """What one source did in one pass."""

    name: str
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    alerts_queued: int = 0
    baseline: bool = False
    error: str | None = None
    backing_off_until: datetime | None = None
    not_due_until: datetime | None = None  # read recently enough for its kind: skipped this pass
    problems: list[Problem] = field(default_factory=list)


@dataclass
class PassReport:
    """What a whole pass did."""

    started_at: datetime
    sources: list[SourceReport] = field(default_factory=list)

    def total(self, name: str) -> int:
        """Add up one counter over the sources."""
        return sum(getattr(s, name) for s in self.sources)

    @property
    def skipped(self) -> int:
        return sum(len(s.problems) for s in self.sources)


class Checker:
    """Runs passes over the sources; holds no state of its own between passes."""

    def __init__(
        self,
        core: Core,
        sources: list[Source],
        *,
        interval: timedelta,
        max_age: timedelta,
        rng: random.Random | None = None,
        metrics: Metrics = NO_METRICS,
    ) -> None:
        self.core = core
        self.sources = sources
        self.interval = interval
        self.max_age = max_age
        self._rng = rng or random.Random()
        self.metrics = metrics

    async def run_pass(self) -> PassReport:
        """Check every source once. A failing source never stops the others."""
        report = PassReport(self.core.clock())
        for source in self.sources:
            report.sources.append(await self._isolated(source))
        read = any(s.error is None for s in report.sources)
        await asyncio.to_thread(self._checked, report.started_at, read)
        return report

    def _checked(self, at: datetime, read: bool) -> None:
        with self.core.session(write=True) as session:
            repo.set_meta(session, "last_check_at", at.isoformat())
            if read:  # what every answer's coverage line calls the data's age
                repo.set_meta(session, LIVE_READ_AT, at.isoformat())
            repo.set_meta(session, "next_check_at", (at + self.interval).isoformat())
            session.commit()

    async def _isolated(self, source: Source) -> SourceReport:
        """Check one source; whatever goes wrong in it, even a database error, stays in its report."""
        try:
            return await self._check_source(source)
        except Exception as error:
            logger.exception("source %s: the check failed", source.name)
            message = f"{type(error).__name__}: {error}".splitlines()[0]
            try:
                state = await asyncio.to_thread(self._state, source.name)
                return await asyncio.to_thread(self._failed, source.name, message, state, self.core.clock())
            except Exception:  # the database itself is down: the next pass tries again
                logger.warning("source %s: could not record the failure either", source.name)
                return SourceReport(source.name, error=message)

    async def _check_source(self, source: Source) -> SourceReport:
        now = self.core.clock()
        state = await asyncio.to_thread(self._state, source.name)
        if state.next_attempt_at and state.next_attempt_at > now:
            return SourceReport(source.name, error=state.last_error, backing_off_until=state.next_attempt_at)
        # A weekly report need not be read every 15 minutes: a source says how seldom it changes.
        # Half a pass of slack, so a pass that starts a little early still reads it.
        if state.last_success_at and (due := state.last_success_at + min_interval(source)) > now + self.interval / 2:
            return SourceReport(source.name, unchanged=state.records_seen, not_due_until=due)
        try:
            with self.metrics.fetching(source.name):
                result = await source.fetch(state.cursor, now)
            if state.baseline_done and result.digest == state.digest:
                return await asyncio.to_thread(self._unchanged, source.name, state, result)
            events, problems = await asyncio.to_thread(result.parse)
        except SourceError as error:
            return await asyncio.to_thread(self._failed, source.name, str(error), state, now)
        except Exception as error:  # a bug in one source must not stop the others
            logger.exception("source %s raised", source.name)
            return await asyncio.to_thread(self._failed, source.name, f"{type(error).__name__}: {error}", state, now)
        for problem in problems:
            logger.warning("skipped a record: %s", problem)
        return await asyncio.to_thread(self._store, source.name, state.baseline_done, result, events, problems)

    def _unchanged(self, name: str, state: SourceHealth, result: FetchResult) -> SourceReport:
        with self.core.session(write=True) as session:
            record_success(session, name, result.cursor, result.digest, state.records_seen, self.core.clock())
            session.commit()
        return SourceReport(name, unchanged=state.records_seen)

    def _state(self, name: str) -> SourceHealth:
        with self.core.session() as session:
            return get_state(session, name)

    def backoff(self, failures: int) -> timedelta:
        """Return how long to wait after ``failures`` failures in a row (before jitter).

        1 failure: try at the next pass; 2: skip one pass; 3: skip three... up to MAX_BACKOFF.
        The exponent is capped before it is used, so months of failures cannot overflow.
        """
        if self.interval >= MAX_BACKOFF:
            return self.interval
        doublings = math.ceil(math.log2(MAX_BACKOFF / self.interval))
        return min(MAX_BACKOFF, self.interval * 2.0 ** min(failures, doublings))

    def _failed(self, name: str, error: str, state: SourceHealth, now: datetime) -> SourceReport:
        self.metrics.source_failed(name)
        # Half an interval of slack keeps a pass that starts a little early from being skipped.
        wait = self.backoff(state.consecutive_failures) * (1 + JITTER * self._rng.random())
        retry_at = now + wait - self.interval / 2
        logger.warning("source %s failed (%s); next try after %s", name, error, retry_at.isoformat())
        with self.core.session(write=True) as session:
            record_failure(session, name, error, now, retry_at)
            session.commit()
        return SourceReport(name, error=error, backing_off_until=retry_at)

    def _fresh(self, event: Event, now: datetime) -> bool:
        return event.date is None or event.date >= (now - self.max_age).date()

    def _store(
        self,
        name: str,
        baseline_done: bool,
        result: FetchResult,
        events: list[Event],
        problems: list[Problem],
    ) -> SourceReport:
        report = SourceReport(name, baseline=not baseline_done, problems=problems)
        with self.core.session(write=True) as session:
            session.connection()  # begin (on SQLite: take the write lock) before reading the clock
            # An event is first seen now, when it is stored, not when the download began:
            # a subscription made while the source was being read predates the sighting
            # and is alerted; one made after this commit is shown the event in its reply.
            now = self.core.clock()
            stored = store_events(session, events, name, now)
            report.new, report.updated, report.unchanged = len(stored.new), len(stored.updated), stored.unchanged
            if baseline_done:
                for event in stored.new:
                    if self._fresh(event, now):
                        report.alerts_queued += self._queue(session, event, is_update=False, now=now)
                for old, new in stored.updated:
                    if changes := new.changes_from(old):
                        report.alerts_queued += self._queue(session, new, is_update=True, now=now, changes=changes)
            if stored.new or stored.updated:
                repo.set_meta(session, "dataset_version", now.isoformat())
            if report.alerts_queued:
                self.metrics.queued(session, now)
            record_success(session, name, result.cursor, result.digest, len(events), now)
            session.commit()
        return report

    @staticmethod
    def _queue(
        session: Session, event: Event, *, is_update: bool, now: datetime, changes: Sequence[Change] = ()
    ) -> int:
        keys = alert_keys(session, event)
        # Only subscriptions older than this sighting: a new subscriber was already shown the event.
        linked = repo.linked_event_ids(session, event)  # the same recall from another source alerts once
        return outbox.queue_alerts(
            session, event, keys, is_update=is_update, subscribed_before=now, now=now, changes=changes, linked=linked
        )
