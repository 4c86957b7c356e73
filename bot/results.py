"""What a /check found, as plain data: the verdict, the matched events and why, and the unit tested.

Kept apart from the matching itself so that renderers read results without the database.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from bot.events import Event


class Verdict(enum.StrEnum):
    RECALLED = "recalled"  # a model number the user gave is named in a notice
    POSSIBLE = "possible"  # a product name, or a serial or date code a notice lists, matches
    BRAND = "brand"  # the query names a brand on record, but no recalled model or product
    SUPPLIER = "supplier"  # the query names a suspended supplier
    NOT_FOUND = "not_found"


class MatchKind(enum.StrEnum):
    """How an event matched the query."""

    MODEL = "model"
    BARCODE = "barcode"  # a barcode (EAN/UPC) the notice lists
    PRODUCT = "product"
    CODE = "code"
    BRAND = "brand"
    SUPPLIER = "supplier"
    LINKED = "linked"  # the brand asked about is named as a customer of a suspended supplier


@dataclass(frozen=True)
class Match:
    """An event shown to the user, why it was picked and, when unsure, what to compare."""

    event: Event
    reason: str
    kind: MatchKind = MatchKind.BRAND
    compare: str | None = None


@dataclass(frozen=True)
class UnitCheck:
    """A serial number or date code the user gave, tested against the units a notice covers."""

    code: str
    covered: bool | None  # None: the notice lists no codes a label can be tested against


@dataclass(frozen=True)
class CheckResult:
    query: str
    verdict: Verdict
    matches: tuple[Match, ...] = ()
    notes: tuple[Match, ...] = ()  # suspensions of suppliers linked to the brands found
    suggestions: tuple[str, ...] = ()
    model: str | None = None  # the model(s) the query named, as the notices print them
    brand: str | None = None  # the brand the query named
    models_named: tuple[tuple[str, int], ...] = ()  # (model, notices) for each model found
    unit: UnitCheck | None = None
    code: str | None = None  # the serial number or date code the query named, when only that matched
    barcode: str | None = None  # the barcode the query named, when a notice lists it
    coverage: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return the result as JSON-ready data (the ``recallbot check --json`` contract)."""
        return {
            "query": self.query,
            "verdict": self.verdict.value,
            "model": self.model,
            "brand": self.brand,
            "barcode": self.barcode,
            "unit": {"code": self.unit.code, "covered": self.unit.covered} if self.unit else None,
            "matches": [_match_dict(m) for m in self.matches],
            "notes": [_match_dict(m) for m in self.notes],
            "suggestions": list(self.suggestions),
            "coverage": self.coverage,
        }


def _match_dict(match: Match) -> dict[str, Any]:
    event = match.event
    return {
        "id": event.id,
        "match": match.kind.value,
        "reason": match.reason,
        "compare": match.compare,
        "kind": event.kind.value,
        "title": event.title,
        "name": event.name,
        "brand": event.brand,
        "supplier": event.supplier,
        "models": list(event.models),
        "date": event.date.isoformat() if event.date else None,
        "units": event.units,
        "units_text": event.units_text,
        "hazard": event.hazard,
        "remedy": event.remedy,
        "limits": event.limits,
        "contact": event.contact,
        "url": event.url,
        "source": event.source,
    }
