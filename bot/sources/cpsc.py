"""Read recalls in the shape of the CPSC Recalls REST API (SaferProducts.gov).

The same parser reads the bundled snapshot and the live feed. Records from the
live API carry empty strings, empty lists and nulls; the snapshot had those
pruned, so every key may be missing.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from bot.errors import RecordError
from bot.events import Event, EventKind
from bot.extract import extract_brands, extract_models

AUTHORITY = "U.S. Consumer Product Safety Commission (CPSC)"
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
    models = extract_models(" . ".join([title, *products, description]))
    extra = {"recall_id": str(record.get("RecallID") or "")}
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
        remedy=" ".join(_texts(record, "Remedies")) or None,
        extra=extra,
    )
