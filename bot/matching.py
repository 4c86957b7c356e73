"""`/check`: find the recalls and suspensions a model, brand or supplier query names.

Every lookup is an index lookup on ``event_key``: the query is cut into word
spans, each span becomes a model key and a name key, and one query fetches the
events that answer to any of them. Only on a miss does the in-memory
vocabulary get searched for "did you mean" suggestions.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process
from sqlmodel import Session

from bot import messages
from bot.errors import UsageError
from bot.events import Event, EventKind, KeyType
from bot.normalize import has_digit, model_key, name_key
from storage import repo

MAX_QUERY = 64
MAX_SPAN = 4  # words: "Anker 334 MagGo 10K"
SUGGESTION_CUTOFF = 75


class Verdict(enum.StrEnum):
    RECALLED = "recalled"  # a recall names the model
    SUPPLIER = "supplier"  # the query names a suspended supplier
    BRAND = "brand"  # the query names a brand with recalls, but no recalled model
    NOT_FOUND = "not_found"


@dataclass(frozen=True)
class Match:
    """An event shown to the user, and why it was picked."""

    event: Event
    reason: str


@dataclass(frozen=True)
class CheckResult:
    query: str
    verdict: Verdict
    matches: tuple[Match, ...] = ()
    notes: tuple[Match, ...] = ()  # suspensions of suppliers linked to the brands found
    suggestions: tuple[str, ...] = ()
    model: str | None = None  # the model the query named, as the notices print it
    brand: str | None = None  # the brand the query named

    def to_dict(self) -> dict:
        """Return the result as JSON-ready data (for ``recallbot check --json``)."""
        return {
            "query": self.query,
            "verdict": self.verdict.value,
            "model": self.model,
            "brand": self.brand,
            "matches": [{"reason": m.reason, **m.event.to_dict()} for m in self.matches],
            "notes": [{"reason": m.reason, **m.event.to_dict()} for m in self.notes],
            "suggestions": list(self.suggestions),
        }


def clean_query(text: str, what: str = "model or brand") -> str:
    """Return the query trimmed, or raise :class:`UsageError` with the reason."""
    query = " ".join((text or "").split())
    if not query:
        raise UsageError(messages.EMPTY_QUERY.format(what=what))
    if len(query) > MAX_QUERY:
        raise UsageError(messages.LONG_QUERY.format(limit=MAX_QUERY, length=len(query)))
    if any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in text.strip()):
        raise UsageError(messages.CONTROL_CHARS)
    return query


def _spans(words: list[str]) -> list[tuple[int, str]]:
    """Return (word count, text) for every run of up to MAX_SPAN words, longest first."""
    spans = {(len(words), " ".join(words))}
    for size in range(1, min(MAX_SPAN, len(words)) + 1):
        for start in range(len(words) - size + 1):
            spans.add((size, " ".join(words[start : start + size])))
    return sorted(spans, reverse=True)


@dataclass
class _Lookup:
    """The keys a query asks for, and which span each came from."""

    models: dict[str, int] = field(default_factory=dict)
    names: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, query: str) -> _Lookup:
        lookup = cls()
        words = query.replace(",", " ").split()
        for size, text in _spans(words):
            key = model_key(text)
            if len(key) >= 2 and (has_digit(key) or size == len(words)):
                lookup.models.setdefault(key, size)
            key = name_key(text)
            if key:
                lookup.names.setdefault(key, size)
        return lookup

    def pairs(self) -> list[tuple[str, str]]:
        pairs = [(KeyType.MODEL.value, k) for k in self.models]
        for kind in (KeyType.BRAND, KeyType.SUPPLIER, KeyType.LINKED_BRAND):
            pairs += [(kind.value, k) for k in self.names]
        return pairs


def _best(hits: list[repo.KeyHit], sizes: dict[str, int]) -> list[repo.KeyHit]:
    """Keep the hits of the longest span that hit anything."""
    if not hits:
        return []
    top = max(sizes[h.key] for h in hits)
    return [h for h in hits if sizes[h.key] == top]


def by_date(matches: list[Match]) -> tuple[Match, ...]:
    """Return the matches newest first, each event once, hiding copies of the same recall."""
    unique: dict[str, Match] = {}
    for m in matches:
        unique.setdefault(m.event.id, m)
    hidden = {other for m in unique.values() for other in m.event.same_as}
    kept = [m for m in unique.values() if m.event.id not in hidden]
    return tuple(sorted(kept, key=lambda m: (m.event.date is not None, m.event.date, m.event.id), reverse=True))


def _brand_keys(events: list[Event]) -> set[str]:
    return {name_key(n) for e in events if e.kind is EventKind.RECALL for n in (e.brand, *e.aliases) if n}


def _notes(session: Session, hits: list[repo.KeyHit], matches: list[Match], asked: set[str]) -> tuple[Match, ...]:
    """Return suspensions of suppliers linked to the brands asked about or found."""
    linked = [h for h in hits if h.key_type == KeyType.LINKED_BRAND]
    more = _brand_keys([m.event for m in matches]) - asked
    if more:
        linked += repo.events_for_keys(session, [(KeyType.LINKED_BRAND.value, k) for k in more])
    shown = {m.event.id for m in matches}
    return by_date(
        [Match(h.event, messages.REASON_LINKED.format(brand=h.label)) for h in linked if h.event.id not in shown]
    )


def check(session: Session, vocabulary: Vocabulary, text: str) -> CheckResult:
    """Answer "is this recalled?" for a model number, a brand or a supplier."""
    query = clean_query(text)
    lookup = _Lookup.of(query)
    hits = repo.events_for_keys(session, lookup.pairs())
    model_hits = _best([h for h in hits if h.key_type == KeyType.MODEL], lookup.models)
    brand_hits = _best([h for h in hits if h.key_type == KeyType.BRAND], lookup.names)
    supplier_hits = _best([h for h in hits if h.key_type == KeyType.SUPPLIER], lookup.names)
    linked_hits = [h for h in hits if h.key_type == KeyType.LINKED_BRAND]

    if model_hits:
        verdict = Verdict.RECALLED
        matches = [Match(h.event, messages.REASON_MODEL.format(model=h.label)) for h in model_hits]
    elif supplier_hits:
        verdict = Verdict.SUPPLIER
        matches = [Match(h.event, messages.REASON_SUPPLIER.format(supplier=h.label)) for h in supplier_hits]
    elif brand_hits:
        verdict = Verdict.BRAND
        matches = [Match(h.event, messages.REASON_BRAND.format(brand=h.label)) for h in brand_hits]
    else:
        verdict, matches = Verdict.NOT_FOUND, []

    model_words = [w for w in query.split() if has_digit(w)]
    brand = (brand_hits or linked_hits or [None])[0]
    brand_label = brand.label if brand else next((m.event.brand for m in matches if m.event.brand), None)
    return CheckResult(
        query=query,
        verdict=verdict,
        matches=by_date(matches),
        notes=_notes(session, hits, matches, set(lookup.names)),
        suggestions=vocabulary.suggest(query) if verdict is Verdict.NOT_FOUND else (),
        model=model_hits[0].label if model_hits else (" ".join(model_words) or None),
        brand=brand_label,
    )


class Vocabulary:
    """Every model, brand and supplier name known, for "did you mean" suggestions.

    Scoring 300,000 model keys takes tens of milliseconds, so model keys are
    bucketed by their first and last characters: one typo leaves the start or
    the end of a key intact, so a query is only scored against keys that share
    its first or last two or three characters.
    """

    def __init__(self, rows: list[tuple[str, str, str]]) -> None:
        self._models = {key: label for kind, key, label in rows if kind == KeyType.MODEL}
        self._names = {key: label for kind, key, label in rows if kind != KeyType.MODEL}
        self._name_keys = list(self._names)
        self._buckets: dict[str, list[str]] = {}
        for key in self._models:
            for n in (2, 3):
                if len(key) > n:
                    self._buckets.setdefault(f"<{key[:n]}", []).append(key)
                    self._buckets.setdefault(f">{key[-n:]}", []).append(key)

    @classmethod
    def load(cls, session: Session) -> Vocabulary:
        """Read the vocabulary from the database."""
        types = [KeyType.MODEL.value, KeyType.BRAND.value, KeyType.SUPPLIER.value]
        return cls(repo.key_vocabulary(session, types))

    def _model_candidates(self, key: str) -> list[str]:
        n = 3 if len(key) >= 7 else 2
        near = dict.fromkeys(self._buckets.get(f"<{key[:n]}", []))
        near.update(dict.fromkeys(self._buckets.get(f">{key[-n:]}", [])))
        return list(near)

    def suggest(self, query: str, limit: int = 3) -> tuple[str, ...]:
        """Return up to ``limit`` known names close to the query, best first."""
        scored: dict[str, float] = {}
        model, name = model_key(query), name_key(query)
        for key, labels, choices in (
            (model, self._models, self._model_candidates(model)),
            (name, self._names, self._name_keys),
        ):
            if len(key) < 2:
                continue
            found = process.extract(key, choices, scorer=fuzz.ratio, limit=limit, score_cutoff=SUGGESTION_CUTOFF)
            for choice, score, _ in found:
                label = labels[choice]
                scored[label] = max(score, scored.get(label, 0))
        ranked = sorted(scored.items(), key=lambda item: (-item[1], item[0]))
        return tuple(label for label, _ in ranked[:limit])
