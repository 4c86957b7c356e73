"""The one small interface every source implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from bot.events import Event


@dataclass(frozen=True)
class Problem:
    """A record that was skipped, and why."""

    source: str
    record: str
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.source}: record {self.record}: field '{self.field}': {self.reason}"


@dataclass(frozen=True)
class FetchResult:
    """What one fetch returned: events, records skipped, and where to resume next time."""

    events: list[Event]
    problems: list[Problem] = field(default_factory=list)
    cursor: str | None = None


class Source(Protocol):
    """A place events come from. ``name`` is stable: the source's state is kept under it."""

    name: str

    async def fetch(self, cursor: str | None, now: datetime) -> FetchResult:
        """Return the source's current events, resuming after ``cursor``.

        :raises SourceError: the source could not be read this time (nothing is changed).
        """
        ...
