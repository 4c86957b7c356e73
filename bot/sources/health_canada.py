"""Read Health Canada's recalls and safety alerts open data (one JSON array, updated daily).

The file (``HCRSAMOpenData.json``, about 16 MB) holds every recall and alert of the
Government of Canada's Recalls and Safety Alerts site, all values strings. It has no
brand, model, lot or barcode: its events are found by product name through the
full-text index. It is read with a conditional GET, so an unchanged file costs a 304.
"""

from __future__ import annotations

import functools
import html
import json
import re
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urljoin

import httpx
from bs4 import BeautifulSoup

from bot.errors import RecordError, SourceError
from bot.events import Event, EventKind
from bot.sources.base import FetchResult, Parsed, digest_of, download, parse_each
from bot.sources.kinds import HC_CONSUMER_PRODUCTS as CONSUMER_PRODUCTS
from bot.sources.kinds import HC_URL as DEFAULT_URL

KIND = "health_canada"
AUTHORITY = "Health Canada"
SITE = "https://recalls-rappels.canada.ca"

_SPACES = re.compile(r"\s+")
# Paragraphs of the site's HTML are joined without a space in the file ("...the product.Consumers must").
_GLUED = re.compile(r"(?<=[a-z0-9)][.!?:])(?=[A-Z])")


def event_id(nid: str) -> str:
    """Return the stable event id of a row's NID ("82676" -> "hc-82676")."""
    return f"hc-{nid}"


def plain_text(value: str) -> str:
    """Return a short field's text with entities decoded and whitespace (``&nbsp;`` too) collapsed."""
    return _SPACES.sub(" ", html.unescape(value).replace("\xa0", " ")).strip()


def clean_prose(value: str) -> str:
    """Return "What you should do" as plain text: no tags or ``&nbsp;``, glued sentences given a space."""
    if "<" in value:
        value = BeautifulSoup(value, "html.parser").get_text(" ")
    return _GLUED.sub(" ", plain_text(value))


def _field(row: dict[str, Any], key: str) -> str:
    value = row.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise RecordError(key, "expected a string")
    return value


def _required(row: dict[str, Any], key: str) -> str:
    value = plain_text(_field(row, key))
    if not value:
        raise RecordError(key, "missing")
    return value


def _last_updated(row: dict[str, Any]) -> date | None:
    value = _field(row, "Last updated").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise RecordError("Last updated", f"not a date: {value[:40]!r}") from None


def parse_row(row: dict[str, Any]) -> Event:
    """Turn one row of the open data file into an event, or raise :class:`RecordError` naming the field."""
    if not isinstance(row, dict):
        raise RecordError("record", "expected a JSON object")
    nid = _required(row, "NID")
    title = _required(row, "Title")
    product = plain_text(_field(row, "Product"))
    url = _field(row, "URL").strip()
    extra = {
        "category": plain_text(_field(row, "Category")),
        "organization": plain_text(_field(row, "Organization")),
        "recall_class": plain_text(_field(row, "Recall class")),
        "last_updated": _field(row, "Last updated").strip(),
    }
    if _field(row, "Archived").strip() == "1":
        extra["archived"] = "yes"  # archived is not withdrawn: the recall still stands
    return Event(
        id=event_id(nid),
        kind=EventKind.RECALL,
        # The file has no publication or recall date: "Last updated" is the only date it gives.
        date=_last_updated(row),
        title=title,
        authority=AUTHORITY,
        source=f"Health Canada recall {nid}",
        country="CA",
        url=urljoin(SITE, url) if url else None,
        products=(product or title,),
        hazard=plain_text(_field(row, "Issue")) or None,
        remedy=clean_prose(_field(row, "What you should do")) or None,
        extra={key: value for key, value in extra.items() if value},
    )


def _kept(row: dict[str, Any], organizations: frozenset[str]) -> bool:
    if not organizations:
        return True
    value = row.get("Organization")
    return isinstance(value, str) and plain_text(value).casefold() in organizations


def parse_rows(rows: list[Any], source: str, organizations: tuple[str, ...] = (CONSUMER_PRODUCTS,)) -> Parsed:
    """Parse the rows of ``organizations`` (empty: every row), one event per NID; report the bad ones."""
    wanted = frozenset(plain_text(name).casefold() for name in organizations)
    kept: list[tuple[str, Any]] = []
    for position, row in enumerate(rows, start=1):
        if not isinstance(row, dict):  # reported by parse_row, in its place among the rows
            kept.append((f"#{position}", row))
        # Other organizations' rows (food, drugs, vehicles) are out of scope, not broken: skip them quietly.
        elif _kept(row, wanted):
            nid = row.get("NID")
            kept.append((nid.strip() if isinstance(nid, str) and nid.strip() else f"#{position}", row))
    return parse_each(kept, parse_row, source)


def parse_payload(body: bytes, source: str, organizations: tuple[str, ...] = (CONSUMER_PRODUCTS,)) -> Parsed:
    """Parse the whole open data file.

    :raises SourceError: the body is not a JSON array.
    """
    try:
        rows = json.loads(body)
    except ValueError:
        raise SourceError("the file is not valid JSON") from None
    if not isinstance(rows, list):
        raise SourceError("the file is not a JSON array of recalls")
    return parse_rows(rows, source, organizations)


def _load_cursor(cursor: str | None) -> dict[str, str]:
    """Return the cursor's validators; a cursor this module did not write counts as none."""
    try:
        data = json.loads(cursor) if cursor else {}
    except ValueError:
        return {}
    if not isinstance(data, dict) or not isinstance(data.get("digest"), str):
        return {}
    return {key: value for key, value in data.items() if isinstance(value, str)}


def _not_downloaded() -> Parsed:
    # The checker parses only when the digest changed, and a 304 repeats the stored digest.
    raise SourceError("the file was not downloaded (HTTP 304), so there is nothing to parse")


class HealthCanadaSource:
    """Health Canada's recalls and safety alerts file, downloaded whole only when it changed."""

    min_interval = timedelta(hours=6)  # the file is rebuilt once a day

    def __init__(
        self,
        url: str,
        client: httpx.AsyncClient,
        *,
        organizations: tuple[str, ...] = (CONSUMER_PRODUCTS,),
        timeout: float = 60.0,
    ) -> None:
        self.url = url or DEFAULT_URL
        self.name = f"{KIND}:{self.url}"
        self.organizations = tuple(organizations)
        self._client = client
        self._timeout = timeout

    async def fetch(self, cursor: str | None, now: datetime) -> FetchResult:
        """Download the file unless the server says it is unchanged since the cursor's validators."""
        previous = _load_cursor(cursor)
        headers: dict[str, str] = {}
        if "etag" in previous:
            headers["If-None-Match"] = previous["etag"]
        if "last_modified" in previous:
            headers["If-Modified-Since"] = previous["last_modified"]
        accept = (200, 304) if headers else (200,)  # "not modified" answers only a conditional request
        response = await download(
            self._client, self.url, "the open data file", timeout=self._timeout, headers=headers, accept=accept
        )
        if response.status_code == 304:
            # Same digest as last time: the checker sees "unchanged" and never parses.
            digest = previous["digest"]
            return FetchResult(digest, _not_downloaded, cursor=_cursor(response, digest, previous))
        body = response.content
        digest = digest_of(body)
        parse = functools.partial(parse_payload, body, self.name, self.organizations)
        return FetchResult(digest, parse, cursor=_cursor(response, digest))


def _cursor(response: httpx.Response, digest: str, previous: dict[str, str] | None = None) -> str:
    """Return the cursor: the response's validators (else the previous ones) and the payload's digest."""
    previous = previous or {}
    data = {
        "etag": response.headers.get("ETag") or previous.get("etag"),
        "last_modified": response.headers.get("Last-Modified") or previous.get("last_modified"),
        "digest": digest,
    }
    return json.dumps({key: value for key, value in data.items() if value}, sort_keys=True)
