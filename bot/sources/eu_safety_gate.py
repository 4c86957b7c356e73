"""Read EU Safety Gate (ex-RAPEX) alerts from the official weekly-report XML.

The index at ``{base_url}/api/download/weeklyReport/list/xml/en`` lists every weekly
report since 2005; each report holds that week's ``<notifications>``. Alerts carry no
date of their own, so an event's date is its report's date. Empty values appear as
empty CDATA, as ``xsi:nil="true"`` and as placeholders in the notifier's language
("nincs", Hungarian for "none").
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as ElementTree
import httpx

from bot.errors import RecordError, SourceError
from bot.events import Event, EventKind
from bot.sources.base import FetchResult, HistoryStep, Parsed, Problem, digest_of, download

KIND = "eu_safety_gate"
AUTHORITY = "EU Safety Gate (European Commission)"
INDEX_PATH = "/api/download/weeklyReport/list/xml/en"

_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
# Values notifiers type where they mean "not known"; compared case-insensitively.
_PLACEHOLDERS = frozenset(
    ["", "-", "--", "n/a", "na", "none", "nincs", "unknown", "not known", "no brand", "no name", "brak", "keine"]
)
# Commas split lists unless they sit between two digits (a decimal comma such as "2,5").
_LIST_SEPARATOR = re.compile(r";|,(?!\d)|(?<!\d),|\n|\s+/\s+|\s+and\s+")
_REPORT_ID = re.compile(r"/detail/xml/(\d+)")
# The measures string glues its labels to the previous value ("DistributorCategory of measure(s): ...").
_MEASURE_LABEL = re.compile(r"(Type of economic operator[^:]*:|Category of measure\(s\):|Date of entry into force:)")


@dataclass(frozen=True)
class Report:
    """One weekly report as the index lists it."""

    id: str
    date: date
    reference: str
    url: str


def _text(parent: Element, tag: str) -> str | None:
    """Return a child's stripped text, or None when it is absent, nil, empty or a placeholder."""
    child = parent.find(tag)
    if child is None or child.get(_NIL) == "true":
        return None
    value = (child.text or "").strip()
    return None if value.casefold() in _PLACEHOLDERS else value


def split_list(value: str | None) -> tuple[str, ...]:
    """Split a field holding several values ("A2347, JY-888") and drop placeholders."""
    if not value:
        return ()
    parts = (part.strip() for part in _LIST_SEPARATOR.split(value))
    return tuple(dict.fromkeys(part for part in parts if part.casefold() not in _PLACEHOLDERS))


def _day(value: str | None, field: str) -> date:
    if not value:
        raise RecordError(field, "missing")
    try:
        return datetime.strptime(value, "%d/%m/%Y").date()
    except ValueError:
        raise RecordError(field, f"not a DD/MM/YYYY date: {value[:40]!r}") from None


def _measures(text: str | None) -> tuple[str | None, str | None]:
    """Return (the measure categories, the whole measures text with its labels set apart)."""
    if not text:
        return None, None
    parts = _MEASURE_LABEL.split(text)  # [before the first label, label, value, label, value, ...]
    pairs = list(zip(parts[1::2], (value.strip() for value in parts[2::2]), strict=True))
    categories = [value for label, value in pairs if label.startswith("Category") and value]
    lead = parts[0].strip()
    readable = ". ".join(([lead] if lead else []) + [f"{label} {value}" for label, value in pairs])
    return "; ".join(dict.fromkeys(categories)) or text, readable


def _title(product: str | None, brand: str | None, name: str | None) -> str:
    label = name or ""
    if brand and not label.casefold().startswith(brand.casefold()):
        label = f"{brand} {label}".strip()
    return f"{product}: {label}" if product and label else product or label


def _limits(batches: str | None, production: str | None) -> str | None:
    sentences = []
    if batches:
        sentences.append(f"Batch number{'s' if len(split_list(batches)) > 1 else ''}: {batches}")
    if production:
        sentences.append(f"Production dates: {production}")
    return ". ".join(sentences) or None


def parse_notification(item: Element, report_date: date, report_id: str | None = None) -> Event:
    """Turn one ``<notifications>`` element into an event, or raise :class:`RecordError` naming the field."""
    case = _text(item, "caseNumber")
    if not case:
        raise RecordError("caseNumber", "missing")
    product, brand, name = _text(item, "product"), _text(item, "brand"), _text(item, "name")
    if not (product or name):
        raise RecordError("product", "missing (and no name)")
    batches, production = _text(item, "batchNumber"), _text(item, "productionDates")
    remedy, measures = _measures(_text(item, "measures"))
    facts = {
        "case_number": case,
        "report_id": report_id,
        "category": _text(item, "category"),
        "risk_type": _text(item, "riskType"),
        "risk_level": _text(item, "level"),
        "notifying_country": _text(item, "notifyingCountry"),
        "country_of_origin": _text(item, "countryOfOrigin"),
        "measures": measures,
        "recall_url": _text(item, "URLrecall"),
        "online_trader": (_text(item, "onlineTrader") or "").rstrip(" /"),
        "description": _text(item, "description"),
        "company_recall_code": _text(item, "companyRecallCode"),
        "production_dates": production,
    }
    return Event(
        id=f"eu-{case}",
        kind=EventKind.RECALL,
        date=report_date,
        title=_title(product, brand, name),
        authority=AUTHORITY,
        source=f"EU Safety Gate {case}",
        country="EU",
        url=_text(item, "reference"),
        brand=brand,
        products=tuple(dict.fromkeys(p for p in (name, product) if p)),
        models=split_list(_text(item, "type_numberOfModel")),
        hazard=_text(item, "danger"),
        remedy=remedy,
        limits=_limits(batches, production),
        unit_codes=split_list(batches),
        barcodes=split_list(_text(item, "barcode")),
        extra={key: value for key, value in facts.items() if value},
    )


def _root(body: bytes, what: str) -> Element:
    try:
        root = ElementTree.fromstring(body)
    except (ParseError, ValueError):
        raise SourceError(f"the {what} is not valid XML") from None
    if root.tag != "Safety-Gate":
        raise SourceError(f"the {what} is not a Safety Gate document (root <{root.tag}>)")
    return root


def parse_report(body: bytes, source: str, report_id: str | None = None) -> Parsed:
    """Parse one weekly report; a bad notification is skipped and reported, the rest load."""
    root = _root(body, f"weekly report {report_id or ''}".strip())
    try:
        report_date = _day(_text(root, "report_date"), "report_date")
    except RecordError as error:
        raise SourceError(f"weekly report {report_id or ''}: {error}") from None
    events: dict[str, Event] = {}
    problems: list[Problem] = []
    for position, item in enumerate(root.iter("notifications"), start=1):
        label = _text(item, "caseNumber") or f"{report_id or 'report'}#{_text(item, 'order') or position}"
        try:
            event = parse_notification(item, report_date, report_id)
        except RecordError as error:
            problems.append(Problem(source, label, error.field, error.reason))
            continue
        events[event.id] = event
    return list(events.values()), problems


def parse_index(body: bytes, source: str, base_url: str) -> tuple[list[Report], list[Problem]]:
    """Parse the weekly-report index, oldest report first, with each URL moved onto ``base_url``."""
    reports: dict[str, Report] = {}
    problems: list[Problem] = []
    for position, item in enumerate(_root(body, "report index").iter("weeklyReport"), start=1):
        label = _text(item, "reference") or f"#{position}"
        url = _text(item, "URL") or ""
        match = _REPORT_ID.search(url)
        if not match or "/api/" not in url:
            problems.append(Problem(source, label, "URL", f"no report URL with an id: {url[:60]!r}"))
            continue
        try:
            day = _day(_text(item, "publicationDate"), "publicationDate")
        except RecordError as error:
            problems.append(Problem(source, label, error.field, error.reason))
            continue
        # The index names ec.europa.eu; keeping only the path after /api/ lets a mirror serve the reports.
        local = f"{base_url.rstrip('/')}/api/{url.split('/api/', 1)[1]}"
        reports[match.group(1)] = Report(match.group(1), day, label, local)
    return sorted(reports.values(), key=lambda r: (r.date, int(r.id))), problems


def _merge(parts: list[Parsed]) -> Parsed:
    """Join reports read oldest first; a case listed again later keeps its newer version."""
    events: dict[str, Event] = {}
    problems: list[Problem] = []
    for found, bad in parts:
        events.update((event.id, event) for event in found)
        problems.extend(bad)
    return list(events.values()), problems


class EuSafetyGateSource:
    """The Safety Gate weekly reports, read one report at a time after the newest one read.

    The cursor is the id of the newest report read; ids grow with each week's report.
    The first pass reads the last ``weeks`` reports as a baseline.
    """

    min_interval = timedelta(days=1)  # a report comes out once a week

    def __init__(
        self,
        base_url: str,
        client: httpx.AsyncClient,
        *,
        weeks: int = 8,
        delay: float = 1.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        timeout: float = 60.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.name = f"{KIND}:{self.base_url}"
        self._client = client
        self._weeks = weeks
        self._delay = delay
        self._sleep = sleep
        self._timeout = timeout

    async def fetch(self, cursor: str | None, now: datetime) -> FetchResult:
        """Fetch every report newer than the cursor (the last ``weeks`` reports on the first run)."""
        reports, index_problems = await self._index()
        if cursor:
            after = _cursor_id(cursor)
            todo = [r for r in reports if int(r.id) > after]
        else:
            todo = reports[-self._weeks :] if self._weeks > 0 else []
        bodies: list[tuple[Report, bytes]] = []
        for position, report in enumerate(todo):
            if position and self._delay > 0:
                await self._sleep(self._delay)  # one report at a time, politely spaced
            bodies.append((report, await self._get(report.url, f"weekly report {report.id}")))
        newest = max((r.id for r in todo), key=int, default=cursor)
        digest = digest_of(b"\0".join(f"{r.id}:".encode() + body for r, body in bodies))

        def parse() -> Parsed:
            events, problems = _merge([parse_report(body, self.name, r.id) for r, body in bodies])
            return events, index_problems + problems

        return FetchResult(digest, parse, cursor=newest)

    async def history(self, since: date | None, resume: str | None) -> AsyncIterator[HistoryStep]:
        """Yield one step per weekly report, oldest first, from ``since`` and after report ``resume``."""
        reports, _ = await self._index()
        reports = [r for r in reports if since is None or r.date >= since]
        after = _cursor_id(resume) if resume else None
        read = 0
        for done, report in enumerate(reports, start=1):
            if after is not None and int(report.id) <= after:
                continue
            if read and self._delay > 0:
                await self._sleep(self._delay)
            body = await self._get(report.url, f"weekly report {report.id}")
            read += 1
            yield HistoryStep(parse_report(body, self.name, report.id), report.id, done, len(reports))

    async def _index(self) -> tuple[list[Report], list[Problem]]:
        body = await self._get(self.base_url + INDEX_PATH, "report index")
        return parse_index(body, self.name, self.base_url)

    async def _get(self, url: str, what: str) -> bytes:
        return (await download(self._client, url, f"the {what}", timeout=self._timeout)).content


def _cursor_id(cursor: str) -> int:
    try:
        return int(cursor)
    except ValueError:
        raise SourceError(f"the stored cursor {cursor[:40]!r} is not a report id") from None
