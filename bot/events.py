"""The one model of what recallbot tells people about: recalls and supplier suspensions."""

from __future__ import annotations

import dataclasses
import enum
import functools
import hashlib
import operator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bot.normalize import gtin_key, has_digit, link_key, model_key, name_key


class EventKind(enum.StrEnum):
    RECALL = "recall"
    SUSPENSION = "suspension"


class KeyType(enum.StrEnum):
    """What a lookup key names; subscriptions use the first three."""

    BRAND = "brand"
    MODEL = "model"
    SUPPLIER = "supplier"
    LINKED_BRAND = "linked_brand"  # a brand whose products may hold a suspended supplier's cells
    CODE = "code"  # a serial number, date code or lot a notice lists
    BARCODE = "barcode"  # a GTIN (EAN/UPC) a notice lists, as 14 digits
    LINK = "link"  # the address of a notice: events sharing one are the same recall


@dataclass(frozen=True)
class Destination:
    """Where replies and alerts go: a platform and an address that only that platform reads.

    The address is opaque text: a Telegram chat id ("-1001234567890"), a Discord channel id,
    a Matrix room ("!abc:example.org") or an e-mail address. A number given is kept as its text.
    """

    platform: str
    address: str

    def __post_init__(self) -> None:
        if not isinstance(self.address, str):  # a platform's numeric id, written as it prints
            object.__setattr__(self, "address", str(self.address))


# Fields whose change tells owners something new; other edits update silently.
MATERIAL_FIELDS = ("models", "units", "remedy", "hazard", "limits")


@dataclass(frozen=True)
class Event:
    """A recall or a supplier suspension, as one source states it.

    Unknown facts stay ``None`` (or empty): a notice that names one of three
    models lists that one and says so in ``models_note``.
    """

    id: str
    kind: EventKind
    date: date | None
    title: str
    authority: str | None
    source: str
    country: str | None = None
    url: str | None = None
    # recall
    brand: str | None = None
    aliases: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    models_note: str | None = None
    units: int | None = None
    units_text: str | None = None
    hazard: str | None = None
    remedy: str | None = None
    # which units: the notice's own sentences, and the codes and ranges in them a label can be tested against
    limits: str | None = None
    unit_codes: tuple[str, ...] = ()  # serial numbers, date codes and lots listed, as printed
    unit_ranges: tuple[tuple[str, str, int], ...] = ()  # (low, high, leading characters compared; 0: all)
    contact: str | None = None  # whom to call, verbatim from the source
    barcodes: tuple[str, ...] = ()  # EAN/UPC numbers the notice lists, digits as printed
    # suspension
    supplier: str | None = None
    certificate: str | None = None
    reason: str | None = None
    linked_brands: tuple[str, ...] = ()
    same_as: tuple[str, ...] = ()  # ids of this very recall in other sources
    links: tuple[str, ...] = ()  # addresses of this very recall's notices at other regulators
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def name(self) -> str:
        """Return what the event is about, in a few words."""
        if self.kind is EventKind.SUSPENSION:
            return self.supplier or self.title
        return self.products[0] if self.products else self.title

    @functools.cached_property
    def content_hash(self) -> str:
        """Return a digest of every fact, so an edited notice is told from a known one."""
        # repr of str, int, date and tuple values is stable; it is several times faster
        # than JSON here, and a checker pass hashes every event a source returns.
        return hashlib.sha256(repr((_FACTS(self), sorted(self.extra.items()))).encode()).hexdigest()

    def lookup_keys(self) -> list[tuple[KeyType, str, str]]:
        """Return (key type, key, label) for every model, brand and supplier named."""
        out: dict[tuple[KeyType, str], str] = {}

        def add(kind: KeyType, key: str, label: str) -> None:
            if key:
                out.setdefault((kind, key), label)

        for model in self.models:
            add(KeyType.MODEL, model_key(model), model)
        for code in self.unit_codes:
            add(KeyType.CODE, model_key(code), code)
        for barcode in self.barcodes:
            add(KeyType.BARCODE, gtin_key(barcode), barcode)
        # Events that share a link key are one recall: a notice's address, or an event's id
        # (which a curated record's same_as names).
        for url in (self.url, *self.links):
            add(KeyType.LINK, link_key(url) if url else "", url or "")
        for other in (self.id, *self.same_as):
            add(KeyType.LINK, f"id:{other}", other)
        brands = [self.brand, *self.aliases] if self.kind is EventKind.RECALL else []
        suppliers = [self.supplier, *self.aliases] if self.supplier else []
        for kind, names in ((KeyType.BRAND, brands), (KeyType.SUPPLIER, suppliers)):
            names = [n for n in names if n]
            for name in names:  # whole names first, so "Amprius" labels the key "amprius"
                add(kind, name_key(name), name)
            for name in names:
                for key in brand_prefixes(name):
                    add(kind, key, name)
        for brand in self.linked_brands:
            add(KeyType.LINKED_BRAND, name_key(brand), brand)
        return [(kind, key, label) for (kind, key), label in out.items()]

    def to_dict(self) -> dict[str, Any]:
        """Return the event as JSON-ready data."""
        data = dataclasses.asdict(self)
        data["kind"] = self.kind.value
        data["date"] = self.date.isoformat() if self.date else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Event:
        """Rebuild an event from :meth:`to_dict` output."""
        values = dict(data)
        values["kind"] = EventKind(values["kind"])
        values["date"] = date.fromisoformat(values["date"]) if values.get("date") else None
        for name in ("aliases", "products", "models", "unit_codes", "barcodes", "linked_brands", "same_as", "links"):
            values[name] = tuple(values.get(name) or ())
        values["unit_ranges"] = tuple((low, high, int(n)) for low, high, n in values.get("unit_ranges") or ())
        return cls(**values)

    def changes_from(self, old: Event) -> list[Change]:
        """Return what changed, for owners, since an older version of this event."""
        out = []
        for name in self.material_change(old):
            if name == "models":
                known = {model_key(m) for m in old.models}
                out.append(Change(name, added=tuple(m for m in self.models if model_key(m) not in known)))
            elif name == "units":
                out.append(Change(name, value=f"{self.units:,}" if self.units else None))
            else:
                out.append(Change(name, value=getattr(self, name)))
        return out

    def material_change(self, old: Event) -> list[str]:
        """Return the material fields that differ from an older version of this event."""
        changed = []
        for name in MATERIAL_FIELDS:
            if name == "models":
                if {model_key(m) for m in self.models} - {model_key(m) for m in old.models}:
                    changed.append(name)
            elif getattr(self, name) != getattr(old, name):
                changed.append(name)
        return changed


@dataclass(frozen=True)
class Change:
    """One material change of an event: models added, or a field's new text (None: removed)."""

    field: str
    added: tuple[str, ...] = ()
    value: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the change as JSON-ready data (stored with the alert)."""
        return {"field": self.field, "added": list(self.added), "value": self.value}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Change:
        """Rebuild a change from :meth:`to_dict` output."""
        return cls(data["field"], tuple(data.get("added") or ()), data.get("value"))


_FACTS = operator.attrgetter(*(f.name for f in dataclasses.fields(Event) if f.name != "extra"))


# Single words that would make a brand prefix too loose ("Goal" of "Goal Zero" is fine,
# "Shenzhen" of every "Shenzhen ... Technology Co." is not).
_LOOSE_PREFIXES = frozenset(
    [
        "shenzhen",
        "dongguan",
        "guangzhou",
        "ningbo",
        "yiwu",
        "shanghai",
        "hangzhou",
        "xiamen",
        "foshan",
        "zhongshan",
        "beijing",
        "wuxi",
        "hong",
        "kong",
        "china",
        "american",
        "united",
        "national",
        "international",
        "global",
        "great",
        "new",
        "best",
        "the",
        "home",
    ]
)


def brand_prefixes(name: str) -> list[str]:
    """Return the keys a brand name answers to: its whole key and its leading words.

    "Anker Innovations" answers to "anker innovations" and "anker", so a search for
    the brand finds the company, while "Trankerloop" never answers to "anker".
    """
    key = name_key(name)
    words = key.split()
    keys = [key]
    for n in range(len(words) - 1, 0, -1):
        prefix = " ".join(words[:n])
        if n == 1 and (len(prefix) < 3 or prefix in _LOOSE_PREFIXES or has_digit(prefix)):
            continue
        keys.append(prefix)
    return [k for k in keys if k]


@dataclass(frozen=True)
class Reason:
    """Why a destination is alerted, kept as data and worded in the chat's language when sent.

    Stored in the outbox as one line of tab-separated fields (names hold no tabs or line
    breaks: queries with control characters are refused), so the database can append a
    reason to a queued alert and tell whether it is already there.
    """

    kind: str  # the subscription's type: brand, model or supplier
    name: str  # the subscription's own label: "Anker"
    supplier: str = ""  # a suspension: the supplier that potentially affects this brand or model
    brand: str = ""  # a followed model a suspension reaches through its brand: that brand

    def line(self) -> str:
        """Return the reason as its stored line."""
        return "\t".join((self.kind, self.name, self.supplier, self.brand))

    @classmethod
    def parse(cls, line: str) -> Reason:
        """Read a stored line back; a line in words (queued by an instance older than 0009) is kept as worded."""
        if "\t" not in line:
            return cls("", line)
        kind, name, supplier, brand = [*line.split("\t"), "", "", ""][:4]
        return cls(kind, name, supplier, brand)


@dataclass(frozen=True)
class Alert:
    """One alert for one destination. ``id`` is stable across retries: use it to drop repeats."""

    id: int
    destination: Destination
    event: Event
    reasons: tuple[Reason, ...]
    is_update: bool
    changes: tuple[Change, ...] = ()  # for an update: what changed (empty: not recorded)
    language: str | None = None  # the destination's chosen language when the alert was claimed
    bundle: tuple[Alert, ...] = ()  # a digest: the alerts it carries, each with its own event and reasons
