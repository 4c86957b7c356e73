"""Loading a source's whole history once: `recallbot backfill SOURCE [--since DATE]`.

A backfill stores events as the source's own (the checker later sees them as known) and
never queues an alert: an old recall is reference data, not news. Each step is stored in
one transaction together with where to resume, so an interrupted backfill goes on where
it stopped, and running it again changes nothing that is already stored.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from bot.core import Core
from bot.dataset import store_events
from bot.sources.base import HistorySource, HistoryStep, Problem, Source
from storage import repo

logger = logging.getLogger(__name__)


def resume_key(source: Source | HistorySource) -> str:
    """Return the meta key that holds where a source's backfill resumes ("" once it finished)."""
    return f"backfill:{source.name}"


class Progress(Protocol):
    """Told after each step: a progress bar on a terminal, plain lines elsewhere."""

    def update(self, step: HistoryStep, stored: int) -> None:
        """Show how far the backfill is (``stored``: records stored so far in this run)."""
        ...


@dataclass
class BackfillReport:
    """What one backfill run did."""

    source: str
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[Problem] = field(default_factory=list)
    resumed_after: str | None = None
    finished: bool = False


def needs_backfill(core: Core, sources: Sequence[Source]) -> list[HistorySource]:
    """Return the sources that offer a history not (or not completely) loaded yet."""
    with core.session() as session:
        return [s for s in sources if isinstance(s, HistorySource) and repo.get_meta(session, resume_key(s)) != ""]


async def backfill(core: Core, source: HistorySource, since: date | None, progress: Progress) -> BackfillReport:
    """Store the source's history from ``since``, after the last step a previous run stored.

    :raises SourceError: the source failed; every step before it stands and the next run resumes there.
    """
    key = resume_key(source)
    with core.session() as session:
        resume = repo.get_meta(session, key) or None
    report = BackfillReport(source.name, resumed_after=resume)
    async for step in source.history(since, resume):
        await asyncio.to_thread(_store, core, source.name, key, step, report)
        progress.update(step, report.new + report.updated + report.unchanged)
    with core.session(write=True) as session:
        repo.set_meta(session, key, "")  # finished: `recallbot run` stops offering it, a rerun starts over
        session.commit()
    report.finished = True
    return report


def _store(core: Core, origin: str, key: str, step: HistoryStep, report: BackfillReport) -> None:
    events, problems = step.parsed
    with core.session(write=True) as session:
        now = core.clock()
        stored = store_events(session, events, origin, now)
        if stored.new or stored.updated:
            repo.set_meta(session, "dataset_version", now.isoformat())
        repo.set_meta(session, key, step.resume)
        session.commit()
    report.new += len(stored.new)
    report.updated += len(stored.updated)
    report.unchanged += stored.unchanged
    report.problems += problems
    for problem in problems:
        logger.warning("backfill skipped a record: %s", problem)
