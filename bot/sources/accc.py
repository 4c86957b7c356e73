"""Read Product Safety Australia (ACCC) recalls from the site's RSS feed.

The feed is RSS 2.0 and holds only the newest ~100 recalls, so every read is the whole
window and no cursor is needed: the checker drops known events by id and content hash.
Each item's ``description`` is Drupal HTML escaped once for XML; the XML parser undoes
that escape, and the HTML holds one block per field (``field--name-field-psa-recall-*``).
Identifiers stand in the product description's prose ("Part number BFO-15671",
"Barcode 9356247149707", "SKU: 4236397, 4236484", or a "Model numbers:" list).
"""

from __future__ import annotations

import dataclasses
import re
from datetime import date, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as ElementTree
import httpx
from bs4 import BeautifulSoup, Tag
from defusedxml import DefusedXmlException

from bot.errors import RecordError, SourceError
from bot.events import Event, EventKind
from bot.extract import UnitLimits, extract_limits
from bot.normalize import model_key
from bot.sources.base import FetchResult, Parsed, digest_of, download, parse_each

KIND = "accc"
AUTHORITY = "Australian Competition and Consumer Commission (ACCC)"
SITE = "https://www.productsafety.gov.au"

_BLOCK = "field--name-field-psa-recall-{}"
_LINE_BREAKS = ("p", "li", "h3", "tr", "td", "th", "ul", "ol", "div", "table")
_NUMBER_WORD = r"(?:numbers?|number\(s\)|nos?\.?|codes?|#|variants?)"
_MODEL_LABEL = rf"(?:model|part|product|item|kit)s?(?:\s+{_NUMBER_WORD})?(?:\s*/\s*skus?)?|skus?"
_BARCODE_LABEL = r"barcodes?(?:\s+numbers?)?|gtins?|eans?|upcs?|apns?"
_LABEL = re.compile(
    rf"(?<![\w-])(?:(?P<barcode>{_BARCODE_LABEL})|(?P<model>{_MODEL_LABEL}))(?![\w-])\s*[:#]?\s*", re.IGNORECASE
)
# A bare "Product" or "models" names no identifier ("Affected bike models: Crafty Carbon RR S").
_BARE_LABEL = re.compile(r"(?:model|part|product|item|kit)s?", re.IGNORECASE)
_NAMED_MODEL = re.compile(r"(\S+) models?", re.IGNORECASE)  # a list item "BT-4 model"
# A value ends at a note in brackets, a spaced dash ("SK3000 – 470ml Food Jar") or a full stop.
_VALUE_END = re.compile(r"\(|\s[–—-]\s|\.(?:\s|$)")
_VALUE_SEPARATOR = re.compile(r"[,;&]|\s/\s|\s(?:and|or)\s", re.IGNORECASE)
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9./+_-]*")
_PREFIX = re.compile(r"[A-Z][A-Za-z]{1,9}")  # "BVC" of "Model BVC 160", "ONOFF" of "Model: ONOFF S9"
_MEASURE = re.compile(r"\d+(?:\.\d+)?(?:mm|cm|m|kg|g|l|ml|w|kw|v|mah|wh|oz|in|ft|pk|pcs?)", re.IGNORECASE)
_YEAR = re.compile(r"(?:19|20)\d\d")
_BARCODE = re.compile(r"(?<!\d)(\d{14}|\d{13}|\d{12}|\d{8})(?!\d)")
_GENERIC_FIRST = frozenset(["the", "a", "an", "new", "australian", "assorted", "various"])


def event_id(guid: str) -> str:
    """Return the stable event id of a feed item's guid ("c09b...e3" -> "accc-c09b...e3")."""
    return f"accc-{guid}"


def _lines(node: Tag) -> list[str]:
    """Return the text of an HTML node as lines, one per paragraph, list item, cell or <br>."""
    for br in node.find_all("br"):
        br.replace_with("\n")
    for tag in node.find_all(_LINE_BREAKS):
        tag.insert_before("\n")
        tag.append("\n")
    return [" ".join(line.split()) for line in node.get_text().splitlines() if line.strip()]


def _block(soup: BeautifulSoup, name: str) -> Tag | None:
    """Return the content of one field block (without its heading), or None."""
    block = soup.find("div", class_=_BLOCK.format(name))
    if not isinstance(block, Tag):
        return None
    item = block.find("div", class_="field__item")
    return item if isinstance(item, Tag) else block


def _split_contact(action: Tag) -> tuple[list[str], list[list[str]]]:
    """Split "What consumers should do" into its steps and, after its "Contact" heading, each contact."""
    heading = next((h for h in action.find_all("h3") if h.get_text(strip=True).lower().startswith("contact")), None)
    if heading is None:
        return _lines(action), []
    after = [node.extract() for node in list(heading.next_siblings)]
    heading.extract()
    contacts = [_lines(node) if isinstance(node, Tag) else [" ".join(str(node).split())] for node in after]
    return _lines(action), [lines for lines in contacts if lines and lines[0]]


def _code_values(text: str) -> list[str]:
    """Return the model, part or product numbers that open ``text`` (what follows a label)."""
    found: list[str] = []
    for piece in _VALUE_SEPARATOR.split(_VALUE_END.split(text, maxsplit=1)[0]):
        tokens = [t.strip("\"'“”‘’:;,.()").lstrip("#") for t in piece.split()]
        tokens = [t for t in tokens if t]
        i = 0
        while i < len(tokens):
            token, nxt = tokens[i], tokens[i + 1] if i + 1 < len(tokens) else ""
            if i == 0 and _PREFIX.fullmatch(token) and _is_code(nxt, short=True):
                found.append(f"{token} {nxt}")  # "BVC 160": a short number takes its word
                i += 2
                continue
            if token[0].islower():
                break  # prose begins: "Model years 2021", "part of service kits"
            if _is_code(token):
                found.append(token)
            i += 1  # a word such as "GREEN" after "MT14H418A-02", or "RV-One" before the code
    return found


def _is_code(token: str, short: bool = False) -> bool:
    """Tell whether a token can be a model number, not a year, a measure or a count ("160" of "BVC 160" if short)."""
    if not _CODE.fullmatch(token) or not any(c.isdigit() for c in token) or _YEAR.fullmatch(token):
        return False
    if short:
        return len(token) <= 4 and not _MEASURE.fullmatch(token)
    return len(token) >= 4 if token.isdigit() else len(token) >= 2 and not _MEASURE.fullmatch(token)


def _labelled(lines: list[str]) -> tuple[list[str], list[str]]:
    """Return the model numbers and barcodes that labels name in product-description lines.

    A label ends its line ("Model numbers:") when a list follows: the next lines are read
    until one holds no identifier.
    """
    models: list[str] = []
    barcodes: list[str] = []
    listing: str | None = None
    for line in lines:
        if (named := _NAMED_MODEL.fullmatch(line)) and _is_code(named.group(1)):
            models.append(named.group(1))  # "BT-4 model"
            continue
        labels = list(_LABEL.finditer(line))
        if listing and not labels:
            values = _BARCODE.findall(line) if listing == "barcode" else _code_values(line)
            (barcodes if listing == "barcode" else models).extend(values)
            listing = listing if values else None
            continue
        listing = None
        for n, label in enumerate(labels):
            end = labels[n + 1].start() if n + 1 < len(labels) else len(line)
            value = line[label.end() : end]
            kind = "barcode" if label.group("barcode") else "model"
            if kind == "barcode":
                barcodes.extend(_BARCODE.findall(value))
            else:
                models.extend(_code_values(value))
            if not value.strip(" :") and not _BARE_LABEL.fullmatch(label.group(kind).strip()):
                listing = kind
    return models, barcodes


def _table_values(desc: Tag) -> list[str]:
    """Return the identifiers in table columns headed by a label ("Part No.")."""
    found: list[str] = []
    for table in desc.find_all("table"):
        rows = [[" ".join(c.get_text().split()) for c in row.find_all(["th", "td"])] for row in table.find_all("tr")]
        if not rows:
            continue
        for column, header in enumerate(rows[0]):
            label = _LABEL.fullmatch(header)
            if label and label.group("model") and not _BARE_LABEL.fullmatch(label.group("model").strip()):
                found += [v for row in rows[1:] if column < len(row) for v in _code_values(row[column])]
    return found


def identifiers(lines: list[str], desc: Tag | None = None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Return (models, barcodes) named by labels in a product description, in order, without repeats."""
    models, barcodes = _labelled(lines)
    if desc is not None:
        models += _table_values(desc)
    unique: dict[str, str] = {}
    for model in models:
        unique.setdefault(model_key(model), model)
    return tuple(unique.values()), tuple(dict.fromkeys(barcodes))


def _limits(lines: list[str]) -> UnitLimits:
    """Return the unit limits of description lines, read one line at a time.

    Lines are paragraphs and list items; read together, a list item that opens in lower case
    ("batch numbers J25D") runs into the item before it ("part numbers ... 435272").
    """
    found = [extract_limits(line) for line in lines]
    codes: dict[str, str] = {}
    for code in (c for f in found for c in f.codes):
        codes.setdefault(model_key(code), code)
    return UnitLimits(
        text=" ".join(f.text for f in found if f.text) or None,
        codes=tuple(codes.values()),
        ranges=tuple(dict.fromkeys(r for f in found for r in f.ranges)),
    )


def _brand(title: str, companies: list[str]) -> str | None:
    """Return the title's opening words when a contact company's name opens with them ("Basco" / "Basco Wholesale").

    Titles have no brand separator and often name no brand at all ("Tea infuser", sold by
    Frank Green); the contact company confirms the brand only where the two agree.
    """
    words = [w.strip("™®,:") for w in title.split()]
    best: list[str] = []
    for company in companies:
        other = [w.strip("™®,:").lower() for w in company.split()]
        n = 0
        while n < min(len(words), len(other)) and words[n].lower() == other[n]:
            n += 1
        best = max(best, words[:n], key=len)
    if not best or best[0].lower() in _GENERIC_FIRST or len(best[0]) < 2:
        return None
    return " ".join(best)


def _date(item: Element, soup: BeautifulSoup) -> date:
    """Return the date from pubDate (RFC 822), else from the published-date block."""
    text = (item.findtext("pubDate") or "").strip()
    try:
        return parsedate_to_datetime(text).date()
    except (TypeError, ValueError, IndexError):
        pass
    block = soup.find("div", class_=_BLOCK.format("published-date"))
    stamp = block.find("time") if isinstance(block, Tag) else None
    if isinstance(stamp, Tag) and stamp.get("datetime"):
        try:
            return datetime.fromisoformat(str(stamp["datetime"])).date()
        except ValueError:
            pass
    raise RecordError("pubDate", f"not a date: {text[:40]!r}" if text else "missing")


def parse_item(item: Element) -> Event:
    """Turn one feed item into an event, or raise :class:`RecordError` naming the field."""
    guid = " ".join((item.findtext("guid") or "").split())
    if not guid:
        raise RecordError("guid", "missing")
    title = " ".join((item.findtext("title") or "").split())
    if not title:
        raise RecordError("title", "missing")
    # The XML parser has undone the feed's one escape; html.parser decodes the entities left ("&nbsp;").
    soup = BeautifulSoup(item.findtext("description") or "", "html.parser")
    when = _date(item, soup)
    link = (item.findtext("link") or "").strip()
    categories = [c for e in item.findall("category") if (c := " ".join((e.text or "").split()))]
    event = Event(
        id=event_id(guid),
        kind=EventKind.RECALL,
        date=when,
        title=title,
        authority=AUTHORITY,
        source=f"ACCC recall {when.isoformat()}",
        country="AU",
        url=urljoin(SITE, link) if link else None,
        products=(title,),
        extra={"categories": "; ".join(categories)} if categories else {},
    )
    return _with_details(event, soup)


def _with_details(event: Event, soup: BeautifulSoup) -> Event:
    """Fill an event from the description's blocks: identifiers, limits, hazard, remedy, contact."""
    desc = _block(soup, "product-desc")
    features = _block(soup, "ident-features")  # "The serial number can be found on the down tube"
    feature_lines = _lines(features) if features is not None else []
    lines = (_lines(desc) if desc is not None else []) + feature_lines
    models, barcodes = identifiers(lines, desc)
    limits = _limits(lines)
    known = {model_key(v) for v in models + barcodes}
    hazard = [line for name in ("product-defects", "hazards") if (b := _block(soup, name)) for line in _lines(b)]
    action = _block(soup, "consumer-action")
    steps, contacts = _split_contact(action) if action is not None else ([], [])
    extra = dict(event.extra, identifying_features=" ".join(feature_lines)) if feature_lines else event.extra
    return dataclasses.replace(
        event,
        brand=_brand(event.title, [lines[0] for lines in contacts]),
        models=models,
        hazard=" ".join(hazard) or None,
        remedy=" ".join(steps) or None,
        limits=limits.text,
        unit_codes=tuple(c for c in limits.codes if model_key(c) not in known),
        unit_ranges=limits.ranges,
        contact="; ".join(line for lines in contacts for line in lines) or None,
        barcodes=barcodes,
        extra=extra,
    )


def parse_feed(payload: bytes, source: str) -> Parsed:
    """Parse the RSS payload, one event per guid; report the items that break the format."""
    try:
        root = ElementTree.fromstring(payload)
    except (ParseError, DefusedXmlException):
        raise SourceError("the response is not valid XML") from None
    channel = root.find("channel") if root.tag == "rss" else None
    if channel is None:
        raise SourceError(f"the response is not an RSS feed (root <{root.tag}>)")
    labelled = (
        ((item.findtext("guid") or "").strip() or (item.findtext("link") or "").strip() or f"#{n}", item)
        for n, item in enumerate(channel.findall("item"), start=1)
    )
    return parse_each(labelled, parse_item, source)


class AcccSource:
    """The Product Safety Australia recalls feed, read whole on every pass."""

    min_interval = timedelta(hours=1)

    def __init__(self, url: str, client: httpx.AsyncClient, *, timeout: float = 60.0) -> None:
        self.url = url
        self.name = f"{KIND}:{url}"
        self._client = client
        self._timeout = timeout

    async def fetch(self, cursor: str | None, now: datetime) -> FetchResult:
        """Fetch the feed; the cursor is unused, since the feed is only the newest ~100 recalls."""
        body = (await download(self._client, self.url, "the feed", timeout=self._timeout)).content
        return FetchResult(digest_of(body), lambda: parse_feed(body, self.name), cursor=None)
