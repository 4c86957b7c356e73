"""The one small interface every source implements."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol, TypeVar, runtime_checkable

import httpx

from bot.errors import RecordError, SourceError
from bot.events import Event

T = TypeVar("T")


@dataclass(frozen=True)
class Problem:
    """A record that was skipped, and why."""

    source: str
    record: str
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.source}: record {self.record}: field '{self.field}': {self.reason}"


Parsed = tuple[list[Event], list[Problem]]


@dataclass(frozen=True)
class FetchResult:
    """What one fetch returned, not yet parsed.

    ``digest`` identifies the raw payload: when it equals the last successful
    one, the checker knows nothing changed and never calls ``parse``, so an
    unchanged source costs one download and one hash, whatever its size.
    ``parse`` is CPU work; the checker runs it off the event loop. It raises
    SourceError when the payload as a whole is unusable.
    """

    digest: str
    parse: Callable[[], Parsed]
    cursor: str | None = None


def digest_of(payload: bytes) -> str:
    """Return the digest of a raw payload."""
    return hashlib.sha256(payload).hexdigest()


class Source(Protocol):
    """A place events come from. ``name`` is stable: the source's state is kept under it."""

    name: str

    async def fetch(self, cursor: str | None, now: datetime) -> FetchResult:
        """Download the source's current payload, resuming after ``cursor``.

        :raises SourceError: the source could not be read this time (nothing is changed).
        """
        ...


@dataclass(frozen=True)
class HistoryStep:
    """One step of a backfill: what it parsed, where to resume after it, and how far along it is.

    ``done`` and ``total`` count the source's own units (reports, records); ``total`` is
    None when the source cannot know it in advance.
    """

    parsed: Parsed
    resume: str
    done: int
    total: int | None


@runtime_checkable
class HistorySource(Protocol):
    """A source whose whole history can be loaded once (``recallbot backfill``)."""

    name: str

    def history(self, since: date | None, resume: str | None) -> AsyncIterator[HistoryStep]:
        """Yield the source's history from ``since`` (or its start), after ``resume`` if given.

        :raises SourceError: the source could not be read (steps already yielded stand).
        """
        ...


def min_interval(source: Source) -> timedelta:
    """Return how seldom a source needs reading at most often (its ``min_interval``, else none)."""
    value = getattr(source, "min_interval", None)
    return value if isinstance(value, timedelta) else timedelta(0)


async def download(
    client: httpx.AsyncClient,
    url: str,
    what: str,
    *,
    timeout: float,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    accept: Collection[int] = (200,),
) -> httpx.Response:
    """GET a payload; a timeout, a network error or a status not in ``accept`` is a one-sentence SourceError.

    ``what`` names the payload in that sentence ("the API", "the weekly report 10000324").
    """
    try:
        response = await client.get(url, params=params, headers=headers, timeout=timeout)
    except httpx.TimeoutException:
        raise SourceError(f"{what} timed out after {timeout:.0f} s") from None
    except httpx.HTTPError as error:
        raise SourceError(f"network error reading {what}: {type(error).__name__}") from None
    if response.status_code not in accept:
        raise SourceError(f"HTTP {response.status_code} for {what}")
    return response


def parse_each(records: Iterable[tuple[str, T]], parse: Callable[[T], Event], source: str) -> Parsed:
    """Parse labelled records, one event per id (the first wins); a bad record is reported and skipped."""
    events: dict[str, Event] = {}
    problems: list[Problem] = []
    for label, record in records:
        try:
            event = parse(record)
        except RecordError as error:
            problems.append(Problem(source, label, error.field, error.reason))
            continue
        events.setdefault(event.id, event)
    return list(events.values()), problems
