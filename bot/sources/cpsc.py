"""Read recalls in the shape of the CPSC Recalls REST API (SaferProducts.gov).

The same parser reads the bundled snapshot and the live feed. Records from the
live API carry empty strings, empty lists and nulls; the snapshot had those
pruned, so every key may be missing.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Any

import httpx

from bot.errors import RecordError, SourceError
from bot.events import Event, EventKind
from bot.extract import extract_brands, extract_limits, extract_models
from bot.sources.base import FetchResult, HistoryStep, Parsed, Problem, digest_of, download, parse_each

AUTHORITY = "U.S. Consumer Product Safety Commission (CPSC)"
HISTORY_STEP = 500  # records stored per backfill step (one transaction, one resume point)
HISTORY_TIMEOUT = 300.0  # the whole history is one response of tens of megabytes
_FIRST_NUMBER = re.compile(r"\d[\d,]*")


def event_id(recall_number: str) -> str:
    """Return the stable event id of a CPSC recall number ("25338" -> "cpsc-25338")."""
    return f"cpsc-{recall_number}"


def display_number(recall_number: str) -> str:
    """Return the recall number as cpsc.gov prints it ("25338" -> "25-338")."""
    if len(recall_number) >= 5 and recall_number[:5].isdigit():
        return f"{recall_number[:2]}-{recall_number[2:]}"
    return recall_number


def _texts(record: dict[str, Any], key: str, field: str = "Name") -> list[str]:
    items = record.get(key) or []
    if not isinstance(items, list):
        raise RecordError(key, "expected a list")
    return [str(item[field]).strip() for item in items if isinstance(item, dict) and item.get(field)]


def _date(record: dict[str, Any], key: str) -> date:
    value = record.get(key)
    if not isinstance(value, str) or not value:
        raise RecordError(key, "missing")
    try:
        return datetime.fromisoformat(value).date()
    except ValueError:
        raise RecordError(key, f"not a date: {value[:40]!r}") from None


def parse_units(texts: list[str]) -> int | None:
    """Add up the first figure of each "About 7,100 (In addition, ...)" text."""
    total = 0
    for text in texts:
        match = _FIRST_NUMBER.search(text)
        if not match:
            return None
        total += int(match.group().replace(",", ""))
    return total or None


def _partner_notices(record: dict[str, Any]) -> tuple[str, ...]:
    """Return the other regulators' notices of this recall CPSC links to (Health Canada's, mostly)."""
    items = record.get("Inconjunctions") or []
    urls = [str(i.get("URL") or "").strip() for i in items if isinstance(i, dict)] if isinstance(items, list) else []
    return tuple(url for url in urls if url.startswith("http") and "cpsc.gov" not in url)


_RECALLED_THING = re.compile(r"\brecalled\s+([a-z][a-z-]{3,})", re.IGNORECASE)
_CONTACTED = re.compile(r"\bcontact\s+(?!the\b)([A-Z][\w&'.-]+)")
_ANY_PRODUCT = frozenset({"product", "products", "unit", "units", "item", "items", "device", "devices"})


def _misplaced(remedy: str, about: str) -> bool:
    """Tell whether a remedy is another recall's: it names another product, and no company of this one.

    Seen in the API: 26-135 (INIU power banks) carries a planer recall's "contact Grizzly
    Industrial for a free repair kit", 26-246 (LED lights) an essential oil's. CPSC's own
    page has the right text; an owner told to contact Grizzly about a power bank is misled.
    """
    things = [t.lower() for t in _RECALLED_THING.findall(remedy) if t.lower() not in _ANY_PRODUCT]
    if not things or any(thing[:5] in about for thing in things):
        return False
    return all(company.lower() not in about for company in _CONTACTED.findall(remedy))


def parse_record(record: dict[str, Any]) -> Event:
    """Turn one API record into an event, or raise :class:`RecordError` naming the field."""
    if not isinstance(record, dict):
        raise RecordError("record", "expected a JSON object")
    number = str(record.get("RecallNumber") or "").strip()
    if not number:
        raise RecordError("RecallNumber", "missing")
    title = str(record.get("Title") or "").strip()
    if not title:
        raise RecordError("Title", "missing")
    recall_date = _date(record, "RecallDate")
    description = str(record.get("Description") or "")
    products = _texts(record, "Products")
    units_texts = _texts(record, "Products", "NumberOfUnits")
    companies = [name for key in ("Manufacturers", "Importers", "Distributors") for name in _texts(record, key)]
    brands = extract_brands(title, description, companies)
    models = extract_models(" . ".join([title, *products, description]), exclude=companies + brands)
    limits = extract_limits(description)
    extra = {"recall_id": str(record.get("RecallID") or "")}
    remedy = " ".join(_texts(record, "Remedies")) or None
    if remedy and _misplaced(remedy, " ".join([title, description, *products, *companies]).lower()):
        extra["misplaced_remedy"] = remedy  # kept for the record, never shown as what to do
        remedy = None
    if record.get("LastPublishDate"):
        extra["last_publish_date"] = str(record["LastPublishDate"])[:10]
    return Event(
        id=event_id(number),
        kind=EventKind.RECALL,
        date=recall_date,
        title=title,
        authority=AUTHORITY,
        source=f"CPSC recall {display_number(number)}",
        country="US",
        url=str(record.get("URL") or "") or None,
        brand=brands[0] if brands else None,
        aliases=tuple(brands[1:]),
        products=tuple(products) or (title,),
        models=tuple(models),
        units=parse_units(units_texts),
        units_text="; ".join(units_texts) or None,
        hazard=" ".join(_texts(record, "Hazards")) or None,
        remedy=remedy,
        limits=limits.text,
        unit_codes=limits.codes,
        unit_ranges=limits.ranges,
        contact=str(record.get("ConsumerContact") or "").strip() or None,
        barcodes=tuple(dict.fromkeys(_texts(record, "ProductUPCs", "UPC"))),
        links=_partner_notices(record),
        extra=extra,
    )


class CpscSource:
    """The CPSC Recalls REST API, read incrementally by last-publish date.

    The API has no paging: one response holds every record published since the
    date asked for. It re-publishes old records with new dates, so records are
    matched to known events by recall number, and the cursor steps back a few
    days (``overlap_days``) so a record published late in a day is not missed.
    """

    def __init__(
        self,
        base_url: str,
        client: httpx.AsyncClient,
        *,
        first_days: int = 90,
        overlap_days: int = 3,
        timeout: float = 60.0,
    ) -> None:
        self.base_url = base_url
        self.name = f"cpsc:{base_url}"
        self._client = client
        self._first_days = first_days
        self._overlap = timedelta(days=overlap_days)
        self._timeout = timeout

    async def fetch(self, cursor: str | None, now: datetime) -> FetchResult:
        """Fetch records published since the cursor (or ``first_days`` ago on the first run)."""
        start = date.fromisoformat(cursor) - self._overlap if cursor else now.date() - timedelta(days=self._first_days)
        body = await self._get({"format": "json", "LastPublishDateStart": start.isoformat()}, self._timeout)
        return FetchResult(digest_of(body), lambda: self._parse(body), cursor=now.date().isoformat())

    async def history(self, since: date | None, resume: str | None) -> AsyncIterator[HistoryStep]:
        """Yield every recall since ``since`` (all since 1973 without it), HISTORY_STEP records a step.

        The API has no paging: one response holds them all (about 10,000 records). A resumed
        backfill downloads it again and goes on after the ``resume`` records already stored,
        counted in RecallID order, which a later download keeps.
        """
        params = {"format": "json"} | ({"RecallDateStart": since.isoformat()} if since else {})
        records, problems = self._records(await self._get(params, HISTORY_TIMEOUT))
        records.sort(key=lambda r: int(r["RecallID"]) if str(r["RecallID"]).isdigit() else 0)
        start = int(resume) if resume and resume.isdigit() else 0
        for offset in range(start, len(records), HISTORY_STEP):
            done = min(offset + HISTORY_STEP, len(records))
            events, bad = parse_records(records[offset:done], self.name)
            yield HistoryStep((events, (problems if offset == start else []) + bad), str(done), done, len(records))

    async def _get(self, params: dict[str, str], timeout: float) -> bytes:
        return (await download(self._client, self.base_url, "the API", timeout=timeout, params=params)).content

    def _records(self, body: bytes) -> tuple[list[dict[str, Any]], list[Problem]]:
        try:
            records = json.loads(body)
        except ValueError:
            raise SourceError("the response is not valid JSON") from None
        if not isinstance(records, list):
            raise SourceError("the response is not a JSON array of recalls")
        if any(is_error_stand_in(r) for r in records):
            raise SourceError("the API answered with its error stand-in record instead of recalls")
        return _unique_by_recall_id(records, self.name)

    def _parse(self, body: bytes) -> Parsed:
        unique, problems = self._records(body)
        events, bad = parse_records(unique, self.name)
        return events, problems + bad


def is_error_stand_in(record: object) -> bool:
    """Tell CPSC's error stand-in (HTTP 200, RecallID 0, title "Error retrieving ...") from a recall."""
    return (
        isinstance(record, dict)
        and str(record.get("RecallID")) == "0"
        and str(record.get("Title") or "").startswith("Error retrieving")
    )


def _unique_by_recall_id(records: list[Any], source: str) -> tuple[list[dict[str, Any]], list[Problem]]:
    """Drop repeated RecallIDs (the API can list one recall twice)."""
    seen: set[str] = set()
    unique: list[dict[str, Any]] = []
    problems: list[Problem] = []
    for position, record in enumerate(records, start=1):
        recall_id = str(record.get("RecallID") or "") if isinstance(record, dict) else ""
        if not recall_id:
            problems.append(Problem(source, f"#{position}", "RecallID", "missing"))
        elif recall_id not in seen:
            seen.add(recall_id)
            unique.append(record)
    return unique, problems


def parse_records(records: list[Any], source: str) -> tuple[list[Event], list[Problem]]:
    """Parse API records, one event per recall number; report the bad ones."""
    labelled = (
        (str(record.get("RecallNumber") or f"#{n}") if isinstance(record, dict) else f"#{n}", record)
        for n, record in enumerate(records, start=1)
    )
    return parse_each(labelled, parse_record, source)
