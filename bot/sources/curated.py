"""Read community-curated TOML datasets (format documented in README.md).

A record that breaks the format is skipped and reported with the file, the
record id (or its position) and the field; every other record still loads.
"""

from __future__ import annotations

import asyncio
import tomllib
from datetime import date
from pathlib import Path
from typing import Any

from bot.errors import RecordError, SourceError
from bot.events import Event, EventKind
from bot.sources.base import FetchResult, Parsed, Problem, digest_of

# field -> (type, required)
_RECALL_FIELDS: dict[str, tuple[type, bool]] = {
    "id": (str, True),
    "date": (date, False),
    "brand": (str, True),
    "models": (list, False),
    "models_note": (str, False),
    "product": (str, True),
    "company": (str, False),
    "aliases": (list, False),
    "units": (int, False),
    "units_note": (str, False),
    "country": (str, False),
    "authority": (str, False),
    "hazard": (str, False),
    "remedy": (str, False),
    "limits": (str, False),
    "contact": (str, False),
    "url": (str, False),
    "same_as": (list, False),
    "source": (str, True),
    "language": (str, False),
}
_SUSPENSION_FIELDS: dict[str, tuple[type, bool]] = {
    "id": (str, True),
    "date": (date, False),
    "supplier": (str, True),
    "aliases": (list, False),
    "certificate": (str, False),
    "authority": (str, False),
    "reason": (str, False),
    "brands": (list, False),
    "country": (str, False),
    "url": (str, False),
    "source": (str, True),
    "language": (str, False),
}
_BRAND_FIELDS: dict[str, tuple[type, bool]] = {
    "name": (str, True),
    "aliases": (list, True),
}
_TABLES = ("recall", "suspension", "brand")
_TYPE_NAMES = {str: "a string", int: "a whole number", list: "a list of strings", date: "a date like 2025-06-16"}


def _check(record: Any, fields: dict[str, tuple[type, bool]]) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise RecordError("-", "expected a table")
    for name in record:
        if name not in fields:
            raise RecordError(name, f"unknown field (known: {', '.join(fields)})")
    for name, (kind, required) in fields.items():
        value = record.get(name)
        if value is None:
            if required:
                raise RecordError(name, "missing")
            continue
        if not _valid(value, kind):
            raise RecordError(name, f"must be {_TYPE_NAMES[kind]}, got {value!r:.60}")
    if isinstance(record.get("units"), int) and record["units"] < 0:
        raise RecordError("units", "must not be negative")
    return record


def _valid(value: object, kind: type) -> bool:
    """Tell whether a TOML value has a field's type, and is not blank."""
    if not isinstance(value, kind):
        return False
    if (kind is date and hasattr(value, "hour")) or (kind is int and isinstance(value, bool)):
        return False  # a datetime is a date to Python, and true an int, but neither is here
    if isinstance(value, list):
        return all(isinstance(v, str) and v.strip() for v in value)
    if isinstance(value, str):
        return bool(value.strip())
    return True


def _recall(r: dict[str, Any]) -> Event:
    r = _check(r, _RECALL_FIELDS)
    aliases = [r["company"]] if r.get("company") else []
    return Event(
        id=r["id"],
        kind=EventKind.RECALL,
        date=r.get("date"),
        title=f"{r['brand']} recall: {r['product']}",
        authority=r.get("authority"),
        source=r["source"],
        country=r.get("country"),
        url=r.get("url"),
        brand=r["brand"],
        aliases=tuple(aliases + r.get("aliases", [])),
        products=(r["product"],),
        models=tuple(r.get("models", [])),
        models_note=r.get("models_note"),
        units=r.get("units"),
        units_text=r.get("units_note"),
        hazard=r.get("hazard"),
        remedy=r.get("remedy"),
        limits=r.get("limits"),
        contact=r.get("contact"),
        same_as=tuple(r.get("same_as", [])),
        extra=_language(r),
    )


def _suspension(r: dict[str, Any]) -> Event:
    r = _check(r, _SUSPENSION_FIELDS)
    return Event(
        id=r["id"],
        kind=EventKind.SUSPENSION,
        date=r.get("date"),
        title=f"{r.get('certificate', 'Certificate')} suspended: {r['supplier']}",
        authority=r.get("authority"),
        source=r["source"],
        country=r.get("country"),
        url=r.get("url"),
        aliases=tuple(r.get("aliases", [])),
        supplier=r["supplier"],
        certificate=r.get("certificate"),
        reason=r.get("reason"),
        linked_brands=tuple(r.get("brands", [])),
        extra=_language(r),
    )


def _language(r: dict[str, Any]) -> dict[str, str]:
    """Return the language the record's text is written in, when it says ("zh"; English if left out)."""
    return {"language": r["language"]} if r.get("language") else {}


def parse_curated(text: str, source: str) -> tuple[list[Event], list[Problem]]:
    """Parse a curated TOML document; return its events and the records skipped."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        return [], [Problem(source, "-", "-", f"not valid TOML ({error})")]
    problems = [
        Problem(source, "-", name, "unknown table (use [[recall]], [[suspension]] or [[brand]])")
        for name in data
        if name not in _TABLES
    ]
    events: list[Event] = []
    seen: set[str] = set()
    for table, build in (("recall", _recall), ("suspension", _suspension)):
        records = data.get(table, [])
        if not isinstance(records, list):
            problems.append(Problem(source, "-", table, f"use [[{table}]] for each record"))
            continue
        for position, record in enumerate(records, start=1):
            label = (
                f"'{record['id']}'"
                if isinstance(record, dict) and isinstance(record.get("id"), str)
                else f"#{position} of [[{table}]]"
            )
            try:
                event = build(record)
            except RecordError as error:
                problems.append(Problem(source, label, error.field, error.reason))
                continue
            if event.id in seen:
                problems.append(Problem(source, label, "id", "used by an earlier record"))
                continue
            seen.add(event.id)
            events.append(event)
    return events, problems


def parse_brands(text: str, source: str) -> tuple[list[tuple[str, str]], list[Problem]]:
    """Return the (alias, brand name) pairs of a curated document's [[brand]] tables."""
    try:
        records = tomllib.loads(text).get("brand", [])
    except tomllib.TOMLDecodeError as error:
        return [], [Problem(source, "-", "-", f"not valid TOML ({error})")]
    if not isinstance(records, list):
        return [], [Problem(source, "-", "brand", "use [[brand]] for each record")]
    pairs, problems = [], []
    for position, record in enumerate(records, start=1):
        try:
            checked = _check(record, _BRAND_FIELDS)
        except RecordError as error:
            problems.append(Problem(source, f"#{position} of [[brand]]", error.field, error.reason))
            continue
        pairs += [(alias, checked["name"]) for alias in checked["aliases"]]
    return pairs, problems


def load_curated(path: Path) -> tuple[list[Event], list[Problem]]:
    """Read a curated TOML file; return its events and the records skipped."""
    return parse_curated(path.read_text(encoding="utf-8"), str(path))


class CuratedSource:
    """A curated TOML file, read again on every check so edits are seen."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = f"curated:{path}"

    async def fetch(self, cursor: str | None, now: object) -> FetchResult:
        """Read the file; a file that cannot be read, or parsed at all, fails the fetch."""
        try:
            payload = await asyncio.to_thread(self.path.read_bytes)
        except OSError as error:
            raise SourceError(f"cannot read {self.path}: {error.strerror or error}") from None
        return FetchResult(digest_of(payload), lambda: self._parse(payload))

    def _parse(self, payload: bytes) -> Parsed:
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError as error:
            raise SourceError(f"{self.path} is not UTF-8 text ({error.reason} at byte {error.start})") from None
        events, problems = parse_curated(text, str(self.path))
        if not events and any(p.record == "-" and p.field == "-" for p in problems):
            raise SourceError(problems[0].reason)
        return events, problems
