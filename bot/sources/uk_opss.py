"""Read UK Product Safety Alerts, Reports and Recalls (OPSS) from the GOV.UK search and content APIs.

The search API lists notices newest first by ``public_timestamp``; a notice's facts are in
the content API's ``details.body``, an HTML page whose "Product information" table names
the brand, models, batches and barcodes. The PSD notification number ends the title,
"Product Safety Report: Allegro A1 E-bike (2609-0156)", and usually the link's slug.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import httpx
from bs4 import BeautifulSoup, Tag

from bot.errors import RecordError, SourceError
from bot.events import Event, EventKind
from bot.normalize import has_digit
from bot.sources.base import FetchResult, Parsed, Problem, digest_of, download, parse_each
from bot.sources.kinds import UK_URL as BASE_URL

KIND = "uk_opss"
AUTHORITY = "Office for Product Safety and Standards (OPSS), UK"
SEARCH_PATH = "/api/search.json"
CONTENT_PATH = "/api/content"
WEB_URL = "https://www.gov.uk"  # events link the public page, even when base_url is a mirror or a test host
PAGE_SIZE = 50
SEARCH_PARAMS = {"filter_format": "product_safety_alert_report_recall", "order": "-public_timestamp"}
MAX_ATTEMPTS = 3  # passes in which a notice whose content fails is tried before it is given up

_REFERENCE = re.compile(r"\((\d{4}-\d{4})\)\s*$")
_SLUG_REFERENCE = re.compile(r"-(\d{4}-\d{4})/?$")
_ALERT_TYPES = {
    "product-recall": "product recall",
    "product-safety-report": "product safety report",
    "product-safety-alert": "product safety alert",
}
_PLACEHOLDERS = frozenset(
    ["", "-", "--", "n/a", "na", "none", "unknown", "not known", "not provided", "not applicable", "unbranded"]
)
# Commas split lists unless they sit between two digits; a bare "/" splits only brands ("Allegro/Allegrouk").
_SEPARATORS = r";|,(?!\d)|(?<!\d),|\n|\s+/\s+|\s+&\s+|\s+and\s+"
_SPLIT = re.compile(_SEPARATORS)
_SPLIT_BRANDS = re.compile(_SEPARATORS + "|/")
_NOTE = re.compile(r"\s*\(([^()]*)\)")  # "A1 (carton only)", "186334, ..., 174513 (All batches)"
_CONTACT = re.compile(r"\bcontact\b|@|\b0\d{3,4} ?\d{3}", re.I)


@dataclass(frozen=True)
class Hit:
    """One search result: a notice's link, title, publication time and PSD notification number."""

    link: str
    title: str
    timestamp: datetime
    reference: str | None


@dataclass(frozen=True)
class SearchPage:
    """One page of search results; ``size`` counts every result, usable or not."""

    hits: list[Hit]
    size: int
    problems: list[Problem]


def reference_of(title: str, link: str) -> str | None:
    """Return the PSD notification number ending the title, else the one ending the link."""
    match = _REFERENCE.search(title) or _SLUG_REFERENCE.search(link)
    return match.group(1) if match else None


def parse_search(body: bytes, source: str) -> SearchPage:
    """Parse one search page; a result without a link or a timestamp is reported."""
    try:
        data = json.loads(body)
    except ValueError:
        raise SourceError("the search response is not valid JSON") from None
    results = data.get("results") if isinstance(data, dict) else None
    if not isinstance(results, list):
        raise SourceError("the search response has no results list")
    hits, problems = [], []
    for position, result in enumerate(results, start=1):
        result = result if isinstance(result, dict) else {}
        link, title = str(result.get("link") or ""), str(result.get("title") or "").strip()
        label = reference_of(title, link) or link or f"#{position}"
        if not link.startswith("/"):
            problems.append(Problem(source, label, "link", "missing"))
            continue
        try:
            timestamp = datetime.fromisoformat(str(result.get("public_timestamp")))
        except ValueError:
            problems.append(Problem(source, label, "public_timestamp", "missing or not a timestamp"))
            continue
        hits.append(Hit(link, title, timestamp, reference_of(title, link)))
    return SearchPage(hits, len(results), problems)


def _cell_text(cell: Tag) -> str:
    for br in cell.find_all("br"):  # values on lines of their own are separate values
        br.replace_with("\n")
    for block in cell.find_all(["p", "li"]):
        block.append("\n")
    lines = (" ".join(line.split()) for line in cell.get_text().splitlines())
    return "\n".join(line for line in lines if line)


def _paragraph(element: Tag, hrefs: bool = False) -> str:
    if hrefs:  # a contact paragraph keeps the web addresses its link texts hide
        element = copy.copy(element)
        for link in element.find_all("a", href=re.compile(r"^https?://")):
            if (href := str(link["href"])) not in link.get_text():
                link.append(f" ({href})")
    return " ".join(element.get_text().split())


def _split(value: str, pattern: re.Pattern[str] = _SPLIT) -> tuple[list[str], list[str]]:
    """Split a cell into its values and the bracketed notes after them; drop placeholders."""
    if value.casefold() in _PLACEHOLDERS:
        return [], []
    notes = [note.strip() for note in _NOTE.findall(value) if note.strip()]
    parts = (part.strip(" .") for part in pattern.split(_NOTE.sub("", value)))
    return list(dict.fromkeys(p for p in parts if p.casefold() not in _PLACEHOLDERS)), notes


def _sections(soup: BeautifulSoup) -> dict[str, list[Tag]]:
    """Group the body's top-level blocks under their heading's text, lower-cased."""
    sections: dict[str, list[Tag]] = {}
    current: list[Tag] | None = None
    for element in soup.children:
        if isinstance(element, Tag) and element.name in ("h2", "h3", "h4"):
            current = sections.setdefault(_paragraph(element).casefold(), [])
        elif isinstance(element, Tag) and current is not None:
            current.append(element)
    return sections


def _labelled(blocks: list[Tag]) -> dict[str, str]:
    """Return a section's "Label: value" paragraphs (the summary, the additional information)."""
    out: dict[str, str] = {}
    for block in blocks:
        label, colon, value = _paragraph(block).partition(":")
        if colon and value.strip():
            out.setdefault(label.strip().casefold(), value.strip())
    return out


@dataclass
class _Table:
    """What the "Product information" rows name, gathered row by row."""

    brands: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    limits: list[str] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    barcodes: list[str] = field(default_factory=list)
    extra: dict[str, str] = field(default_factory=dict)

    def add(self, label: str, value: str) -> None:
        name = label.casefold()
        if name.startswith("brand"):
            self.brands += _split(value, _SPLIT_BRANDS)[0]
        elif name.startswith(("model", "charger model")):
            # The charger's model counts too: an owner may type what its label says.
            parts, notes = _split(value)
            self.models += [p for p in parts if has_digit(p)]  # "KEYU / KYLC165V55": KEYU is the charger's make
            self.notes += [f"{', '.join(parts)}: {note}" for note in notes]
            if name.startswith("charger"):
                self.extra["charger_model"] = value
        elif name.startswith(("batch", "lot")):
            parts = _split(value)[0]
            if parts:
                self.limits.append(f"{label}: {value}")
                self.codes += [p for p in parts if has_digit(p)]
        elif name.startswith(("barcode", "ean", "gtin", "upc")):
            digits = (re.sub(r"[\s-]", "", part) for part in _split(value)[0])
            self.barcodes += [d for d in digits if d.isdigit() and 8 <= len(d) <= 14]
        elif not name.startswith("product report") and value.casefold() not in _PLACEHOLDERS:
            # A frame number or the tested sample's serial names one unit, not the ones affected: kept as a fact.
            self.extra.setdefault(re.sub(r"[^a-z0-9]+", "_", name).strip("_"), value)


def _table(soup: BeautifulSoup) -> _Table:
    """Read every two-cell table row, the "Type" header row included."""
    table = _Table()
    for row in soup.find_all("tr"):
        cells = row.find_all(["th", "td"])
        if len(cells) == 2:
            table.add(_cell_text(cells[0]).rstrip(":"), _cell_text(cells[1]))
    return table


def parse_item(data: dict[str, Any]) -> Event:
    """Turn one content API item into an event, or raise :class:`RecordError` naming the field."""
    if not isinstance(data, dict):
        raise RecordError("item", "expected a JSON object")
    title, path = str(data.get("title") or "").strip(), str(data.get("base_path") or "")
    reference = reference_of(title, path)
    if not title or not reference:
        raise RecordError("title", "no PSD notification number such as (2609-0156) in the title or link")
    details = _object(data.get("details"))
    metadata, body = _object(details.get("metadata")), details.get("body")
    if not isinstance(body, str) or not body.strip():
        raise RecordError("details.body", "missing")
    soup = BeautifulSoup(body, "html.parser")
    sections, table = _sections(soup), _table(soup)
    summary = _labelled(sections.get("summary", []))
    action = sections.get("corrective action", [])
    hazard = " ".join(map(_paragraph, sections.get("hazard", []))) or summary.get("hazard")
    remedy = " ".join(map(_paragraph, action)) or summary.get("corrective action")
    contact = " ".join(_paragraph(p, hrefs=True) for p in action if _CONTACT.search(p.get_text()))
    product = summary.get("product") or _REFERENCE.sub("", title.partition(": ")[2] or title).strip()
    alert_type = _ALERT_TYPES.get(str(metadata.get("product_alert_type")), "notice")
    brands = list(dict.fromkeys(table.brands))
    return Event(
        id=f"uk-{reference}",
        kind=EventKind.RECALL,
        date=_date(str(metadata.get("product_recall_alert_date") or data.get("first_published_at") or "")[:10]),
        title=title,
        authority=AUTHORITY,
        source=f"OPSS {alert_type} {reference}",
        country="GB",
        url=f"{WEB_URL}{path}" if path.startswith("/") else None,
        brand=brands[0] if brands else None,
        aliases=tuple(brands[1:]),
        products=(product,),
        models=tuple(dict.fromkeys(table.models)),
        models_note="; ".join(table.notes) or None,
        hazard=hazard or None,
        remedy=remedy or None,
        limits=" ".join(table.limits) or None,
        unit_codes=tuple(dict.fromkeys(table.codes)),
        barcodes=tuple(dict.fromkeys(table.barcodes)),
        contact=contact or None,
        extra=_extra(data, details, metadata, sections) | table.extra,
    )


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        raise RecordError("product_recall_alert_date", f"not a date: {value!r}") from None


def _extra(
    data: dict[str, Any], details: dict[str, Any], metadata: dict[str, Any], sections: dict[str, list[Tag]]
) -> dict[str, str]:
    attachments = [a for a in details.get("attachments") or [] if isinstance(a, dict) and a.get("url")]
    extra = {
        "alert_type": str(metadata.get("product_alert_type") or ""),
        "risk_level": str(metadata.get("product_risk_level") or ""),
        "category": str(metadata.get("product_category") or ""),
        "measures": ", ".join(map(str, metadata.get("product_measure_type") or [])),
        "notified_by": _labelled(sections.get("additional information", [])).get("notified by", ""),
        "last_updated": str(data.get("public_updated_at") or ""),
        "attachment": str(attachments[0]["url"]) if attachments else "",  # the product image and report, a PDF
    }
    return {key: value for key, value in extra.items() if value and value != "not-provided"}


def parse_items(items: list[tuple[str, Any]], source: str) -> Parsed:
    """Parse (label, content item) pairs, one event per reference; report the bad ones."""
    return parse_each(items, parse_item, source)


@dataclass(frozen=True)
class _Cursor:
    """What was read: the newest timestamp seen, the links at it, and notices to try again."""

    newest: datetime | None = None
    links: frozenset[str] = frozenset()
    retry: tuple[tuple[str, int], ...] = ()  # (link, failed attempts so far)

    @classmethod
    def load(cls, text: str | None) -> _Cursor:
        if not text:
            return cls()
        try:
            data = json.loads(text)
            newest = datetime.fromisoformat(data["newest"]) if data.get("newest") else None
            retry = tuple((str(link), int(n)) for link, n in (data.get("retry") or {}).items())
            return cls(newest, frozenset(map(str, data.get("links") or [])), retry)
        except (ValueError, TypeError, KeyError, AttributeError):
            raise SourceError(f"the stored cursor {text[:40]!r} is not this source's JSON") from None

    def dump(self) -> str:
        newest = self.newest.isoformat() if self.newest else None
        return json.dumps({"newest": newest, "links": sorted(self.links), "retry": dict(self.retry)})

    def after(self, hits: list[Hit], retry: dict[str, int]) -> _Cursor:
        """Return the cursor once ``hits`` are read; ``retry`` holds the notices to try again."""
        newest = max([h.timestamp for h in hits] + ([self.newest] if self.newest else []), default=None)
        links = {h.link for h in hits if h.timestamp == newest} | (self.links if newest == self.newest else set())
        return _Cursor(newest, frozenset(links), tuple(retry.items()))


class UkOpssSource:
    """GOV.UK's OPSS finder, read newest first down to the notices already read.

    The cursor keeps the newest ``public_timestamp`` read and the links at it, so a notice
    published in the same second as the last one read is not lost. A notice whose content
    cannot be read is reported and tried again in the next passes (``MAX_ATTEMPTS`` in all);
    a republished notice gets a new timestamp, so it is read again and its event updated.
    """

    min_interval = timedelta(hours=1)

    def __init__(
        self,
        base_url: str,
        client: httpx.AsyncClient,
        *,
        first_count: int = 50,
        delay: float = 0.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        timeout: float = 60.0,
    ) -> None:
        self.base_url = base_url.rstrip("/") or BASE_URL
        self.name = f"{KIND}:{self.base_url}"
        self._client = client
        self._first_count = first_count
        self._delay = delay
        self._sleep = sleep
        self._timeout = timeout

    async def fetch(self, cursor: str | None, now: datetime) -> FetchResult:
        """Fetch the notices published since the cursor (the newest ``first_count`` on the first run)."""
        state = _Cursor.load(cursor)
        hits, problems = await self._new_hits(state)
        todo = hits if state.newest else hits[: self._first_count]
        labels = {h.link: h.reference for h in todo if h.reference}
        problems += [Problem(self.name, h.link, "title", "no PSD notification number") for h in todo if not h.reference]
        labels |= {link: reference_of("", link) or link for link, _ in state.retry if link not in labels}
        tried, retry = dict(state.retry), {}
        items, bodies = [], []
        for position, (link, label) in enumerate(labels.items()):
            if position and self._delay > 0:
                await self._sleep(self._delay)  # one notice at a time, politely spaced
            try:
                body, item = await self._content(link)
            except SourceError as error:
                attempts = tried.get(link, 0) + 1
                if attempts < MAX_ATTEMPTS:
                    retry[link] = attempts
                then = "tried again next time" if link in retry else f"given up after {attempts} tries"
                problems.append(Problem(self.name, label, "content", f"{error}; {then}"))
                continue
            items.append((label, item))
            bodies.append(link.encode() + b"\0" + body)
        digest = digest_of(b"\0".join(bodies + [str(p).encode() for p in problems]))

        def parse() -> Parsed:
            events, bad = parse_items(items, self.name)
            return events, problems + bad

        return FetchResult(digest, parse, cursor=state.after(hits, retry).dump())

    async def _new_hits(self, state: _Cursor) -> tuple[list[Hit], list[Problem]]:
        """Page through the search newest first, down to the first notice older than the cursor."""
        hits: dict[str, Hit] = {}
        seen: set[str] = set()
        problems: list[Problem] = []
        start = 0
        while True:
            page = parse_search(await self._search(start), self.name)
            problems += page.problems
            # A short page is the last; a page of nothing but links already seen means paging went wrong.
            done = page.size < PAGE_SIZE or all(hit.link in seen for hit in page.hits)
            for hit in page.hits:
                seen.add(hit.link)
                if state.newest and hit.timestamp < state.newest:
                    done = True
                    break
                # Notices of the cursor's own second are skipped, not a stop: one may be new.
                if not (hit.timestamp == state.newest and hit.link in state.links):
                    hits.setdefault(hit.link, hit)
            if done or (not state.newest and len(hits) >= self._first_count):
                return list(hits.values()), problems
            start += PAGE_SIZE

    async def _search(self, start: int) -> bytes:
        params = SEARCH_PARAMS | {"count": str(PAGE_SIZE), "start": str(start)}
        return await self._get(self.base_url + SEARCH_PATH, params, f"search page at start={start}")

    async def _content(self, link: str) -> tuple[bytes, Any]:
        body = await self._get(self.base_url + CONTENT_PATH + link, None, "content")
        try:
            return body, json.loads(body)
        except ValueError:  # a cache's error page served with 200 is worth another try
            raise SourceError("the content is not valid JSON") from None

    async def _get(self, url: str, params: dict[str, str] | None, what: str) -> bytes:
        return (await download(self._client, url, f"the {what}", timeout=self._timeout, params=params)).content
