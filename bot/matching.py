"""`/check`: find the recalls and suspensions a query names, and say how sure the answer is.

A query is tried in this order, and the first stage that finds something decides:

1. model numbers (and serial numbers or date codes a notice lists): index lookups on
   ``event_key``, for every run of up to four words of the query;
2. a known supplier's name;
3. a product name: the full-text index of product names, titles and brands, when the
   query says more than a brand name ("Anker 535", "varmfront", "Ninja Foodi");
4. a brand's name (or its Chinese name, through the brand aliases).

Only a model number a notice names earns "recalled"; a product name or a listed code
is "possible", with what to compare on the label. Only on a miss does the in-memory
vocabulary get searched for "did you mean" suggestions.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

from rapidfuzz import fuzz, process
from sqlmodel import Session

from bot import messages
from bot.errors import UsageError
from bot.events import Event, EventKind, KeyType
from bot.extract import unit_covered
from bot.fulltext import query_terms
from bot.i18n import _
from bot.normalize import gtin_key, has_digit, link_key, model_key, name_key
from bot.results import CheckResult, Match, MatchKind, UnitCheck, Verdict
from storage import repo, search

_LIST_JOINS = re.compile(r"[/\u2010-\u2015\u2212\uff0f-]")
MAX_QUERY = 64
MAX_SPAN = 4  # words: "Anker 334 MagGo 10K"
MAX_PRODUCT_MATCHES = 50
MODEL_CUTOFF = 80  # rapidfuzz ratio, tested on the misses in tests/test_matching.py
NAME_CUTOFF = 85  # higher: "Xiaomi" is 77 from "Xiaofei", "Ugreen" 91 from the word "green" alone


def clean_query(text: str, what: str = messages.WHAT_CHECK) -> str:
    """Return the query trimmed, or raise :class:`UsageError` with the reason.

    Full-width letters, digits and punctuation, as Chinese keyboards type them
    ("ＰＡＣ２０－２７２", "型号："), are read as their ASCII forms (NFKC).
    """
    query = " ".join(unicodedata.normalize("NFKC", text or "").split())
    if not query:
        raise UsageError(_(messages.EMPTY_QUERY).format(what=_(what)))
    if len(query) > MAX_QUERY:
        raise UsageError(_(messages.LONG_QUERY).format(limit=MAX_QUERY, length=len(query)))
    if any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in text.strip()):
        raise UsageError(_(messages.CONTROL_CHARS))
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
    """The keys a query asks for, and the span (word count, text) each came from."""

    words: list[str]
    models: dict[str, tuple[int, str]] = field(default_factory=dict)
    names: dict[str, tuple[int, str]] = field(default_factory=dict)
    barcodes: dict[str, tuple[int, str]] = field(default_factory=dict)

    @classmethod
    def of(cls, query: str, aliases: dict[str, str]) -> _Lookup:
        lookup = cls(re.sub(r"[,、；;]", " ", query).split())  # "A1263, A1642", "A1263、A1642"
        for word in lookup.words:  # a barcode, however many of its leading zeros were printed
            if word.isdigit() and (key := gtin_key(word)):
                lookup.barcodes.setdefault(key, (1, word))
        for word in lookup.words:  # "A1263/A1264", "E2037–E2038": each part, below a whole word
            for part in _LIST_JOINS.split(word) if _LIST_JOINS.search(word) else ():
                if len(model_key(part)) >= 3 and has_digit(part):
                    lookup.models.setdefault(model_key(part), (0, part))
        for size, text in _spans(lookup.words):
            key = model_key(text)
            if len(key) >= 2 and (has_digit(key) or size == len(lookup.words)):
                lookup.models.setdefault(key, (size, text))
            key = name_key(text)
            if key:
                lookup.names.setdefault(key, (size, text))
                if key in aliases:  # "小米" asks for "xiaomi" too
                    lookup.names.setdefault(aliases[key], (size, text))
        return lookup

    def pairs(self) -> list[tuple[str, str]]:
        pairs = [(kind.value, k) for kind in (KeyType.MODEL, KeyType.CODE) for k in self.models]
        pairs += [(KeyType.BARCODE.value, k) for k in self.barcodes]
        for kind in (KeyType.BRAND, KeyType.SUPPLIER, KeyType.LINKED_BRAND):
            pairs += [(kind.value, k) for k in self.names]
        return pairs

    def size(self, hit: repo.KeyHit) -> int:
        if hit.key_type == KeyType.BARCODE:
            return self.barcodes[hit.key][0]
        spans = self.names if hit.key_type in (KeyType.BRAND, KeyType.SUPPLIER, KeyType.LINKED_BRAND) else self.models
        return spans[hit.key][0]

    def best(self, hits: list[repo.KeyHit]) -> list[repo.KeyHit]:
        """Keep the hits of the longest span that hit anything."""
        if not hits:
            return []
        top = max(self.size(h) for h in hits)
        return [h for h in hits if self.size(h) == top]

    def whole(self, hits: list[repo.KeyHit]) -> bool:
        """Tell whether the hits answer to the whole query, not to some of its words."""
        return bool(hits) and self.size(hits[0]) == len(self.words)


def unique(matches: list[Match]) -> tuple[Match, ...]:
    """Return the matches in order, each event once, hiding copies of the same recall."""
    first: dict[str, Match] = {}
    for m in matches:
        first.setdefault(m.event.id, m)
    hidden = {other for m in first.values() for other in m.event.same_as}
    # A notice another shown event names as its partner (CPSC's link to Health Canada's) is
    # the same recall: the event that names it is shown, with "Also recalled in".
    partners = {link_key(url) for m in first.values() for url in m.event.links}
    return tuple(
        m
        for m in first.values()
        if m.event.id not in hidden and not (m.event.url and link_key(m.event.url) in partners)
    )


def by_date(matches: list[Match]) -> tuple[Match, ...]:
    """Return the matches newest first, each event once, hiding copies of the same recall."""
    return tuple(
        sorted(unique(matches), key=lambda m: (m.event.date is not None, m.event.date, m.event.id), reverse=True)
    )


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
        [
            Match(h.event, _(messages.REASON_LINKED).format(brand=h.label), MatchKind.LINKED)
            for h in linked
            if h.event.id not in shown
        ]
    )


def compare_hint(event: Event) -> str:
    """Return what to compare on the label to tell whether a unit is the recalled one."""
    parts = []
    if event.models:
        parts.append(_(messages.COMPARE_MODELS).format(models=", ".join(event.models)))
    if event.unit_codes:
        parts.append(_(messages.COMPARE_CODES).format(codes=", ".join(event.unit_codes)))
    if not parts:
        return _(messages.COMPARE_NAME)
    return _(messages.REASON_SEPARATOR).join(parts)


def _models_named(model_hits: list[repo.KeyHit], shown: tuple[Match, ...]) -> list[tuple[str, int]]:
    """Return each model the query named, with how many of the shown notices name it."""
    ids = {m.event.id for m in shown}
    counts: dict[str, tuple[str, set[str]]] = {}
    for h in model_hits:
        if h.event.id in ids:
            counts.setdefault(h.key, (h.label, set()))[1].add(h.event.id)
    return [(label, len(events)) for label, events in counts.values()]


def _unit_check(lookup: _Lookup, model_hits: list[repo.KeyHit], models: dict[str, str]) -> UnitCheck | None:
    """Test a serial number or date code given after the model against the notices' listed units.

    The words left over are the code ("VH2 JUL 24" is JUL24), unless they are another known
    model ("A1263 A1264" names two models, not a serial).
    """
    used = {w for h in model_hits for w in lookup.models[h.key][1].split()}
    # A word is the model's if it is one, or a list of models one of which was found ("A1263/A1264").
    leftover = [w for w in lookup.words if w not in used and not used & set(_LIST_JOINS.split(w))]
    code = " ".join(leftover)
    if not leftover or not has_digit(code) or any(model_key(w) in models for w in leftover):
        return None
    return unit_of(code, [h.event for h in model_hits])


def unit_of(code: str, events: list[Event]) -> UnitCheck:
    """Test a unit's code against the listed units of every event: covered if any lists it."""
    answers = [unit_covered(e.unit_codes, e.unit_ranges, code) for e in events]
    if True in answers:
        return UnitCheck(code, True)
    return UnitCheck(code, False if False in answers else None)


def _product_with_serial(
    session: Session, lookup: _Lookup, vocabulary: Vocabulary
) -> tuple[list[Match], UnitCheck | None]:
    """Answer "blendjet2 5300123": a product name, then the unit's serial number or date code."""
    if len(lookup.words) < 2 or not has_digit(lookup.words[-1]):
        return [], None
    rest = _Lookup.of(" ".join(lookup.words[:-1]), vocabulary.aliases)
    products = _product_stage(session, rest, vocabulary)
    return products, unit_of(lookup.words[-1], [m.event for m in products]) if products else None


def _product_stage(session: Session, lookup: _Lookup, vocabulary: Vocabulary) -> list[Match]:
    """Return the events whose product names answer to the query, best first.

    All words must match; failing that, one plain word may be left out ("Ninja Foodi":
    the notice says SharkNinja). A number is never left out, and what is left must say
    more than a brand name: "Anker 737" is not a product match of every Anker recall.
    """
    words = [vocabulary.alias_names.get(name_key(w), w) for w in lookup.words]  # "安克 535" is "Anker 535"
    brand_keys = vocabulary.brand_keys
    for terms in query_terms(" ".join(words)):
        variants = [terms] + [
            terms[:i] + terms[i + 1 :]
            for i, t in enumerate(terms)
            if len(terms) > 1 and t.isalpha() and t not in brand_keys  # the brand is what the owner knows best
        ]
        for n, variant in enumerate(variants):
            if not _says_more_than_a_brand(variant, brand_keys):
                continue
            found = search.search_events(session, variant, MAX_PRODUCT_MATCHES)
            if found:
                events = repo.get_events(session, [event_id for event_id, _ in found])
                reason = _(messages.REASON_PRODUCT) if n == 0 else _(messages.REASON_PRODUCT_PART)
                said = " ".join(lookup.words) if n == 0 else " ".join(variant)  # as typed, when all matched
                return [
                    Match(events[i], reason.format(words=said), MatchKind.PRODUCT, compare_hint(events[i]))
                    for i, _ in found
                    if i in events
                ]
    return []


def _says_more_than_a_brand(terms: list[str], brand_keys: set[str]) -> bool:
    """Tell whether terms could name a product: not numbers or letters alone, not a brand's name alone."""
    words = [t for t in terms if not t.isdigit()]
    # Single letters ("a:b", "NEAR(a b)") are parts of model codes in the index, not names.
    if not any(len(w) >= 3 or not w.isascii() for w in words) or " ".join(terms) in brand_keys:
        return False
    return len(words) < len(terms) or any(w not in brand_keys for w in words)


def _matches(hits: list[repo.KeyHit], template: str, kind: MatchKind, compare: bool = False) -> list[Match]:
    return [
        Match(h.event, template.format(label=h.label), kind, compare_hint(h.event) if compare else None) for h in hits
    ]


def _decide(
    session: Session, lookup: _Lookup, found: dict[KeyType, list[repo.KeyHit]], vocabulary: Vocabulary
) -> tuple[Verdict, list[Match]]:
    """Return the verdict and the matches of the first stage that finds something."""
    # A number a notice lists as a barcode is answered as one, even where a notice's prose also made
    # it a "model" (a UPC in a list of models); those notices are shown too, after the barcode's.
    digits_only = all(hit.key.isdigit() for hit in found[KeyType.MODEL])
    if found[KeyType.BARCODE] and digits_only:
        barcodes = _matches(found[KeyType.BARCODE], _(messages.REASON_BARCODE), MatchKind.BARCODE)
        models = _matches(found[KeyType.MODEL], _(messages.REASON_MODEL), MatchKind.MODEL)
        return Verdict.RECALLED, list(unique(list(by_date(barcodes)) + list(by_date(models))))
    if found[KeyType.MODEL]:
        return Verdict.RECALLED, list(
            by_date(_matches(found[KeyType.MODEL], _(messages.REASON_MODEL), MatchKind.MODEL))
        )
    if found[KeyType.CODE]:
        return Verdict.POSSIBLE, _matches(found[KeyType.CODE], _(messages.REASON_CODE), MatchKind.CODE, compare=True)
    if found[KeyType.SUPPLIER]:
        return Verdict.SUPPLIER, _matches(found[KeyType.SUPPLIER], _(messages.REASON_SUPPLIER), MatchKind.SUPPLIER)
    brands = found[KeyType.BRAND]
    if not lookup.whole(brands) and (products := _product_stage(session, lookup, vocabulary)):
        return Verdict.POSSIBLE, products
    if brands:
        return Verdict.BRAND, list(by_date(_matches(brands, _(messages.REASON_BRAND), MatchKind.BRAND)))
    # A brand named only as a customer of a suspended supplier is known: never "No recall ... matches".
    return (Verdict.BRAND if found[KeyType.LINKED_BRAND] else Verdict.NOT_FOUND), []


def check(session: Session, vocabulary: Vocabulary, text: str) -> CheckResult:
    """Answer "is this recalled?" for a model number, a product name, a brand or a supplier."""
    query = clean_query(text)
    lookup = _Lookup.of(query, vocabulary.aliases)
    hits = repo.events_for_keys(session, lookup.pairs())
    found = {kind: [h for h in hits if h.key_type == kind] for kind in KeyType}
    for kind in (KeyType.MODEL, KeyType.BARCODE, KeyType.CODE, KeyType.SUPPLIER, KeyType.BRAND):
        found[kind] = lookup.best(found[kind])
    verdict, matches = _decide(session, lookup, found, vocabulary)
    unit = _unit_check(lookup, found[KeyType.MODEL], vocabulary.models) if verdict is Verdict.RECALLED else None
    if verdict in (Verdict.BRAND, Verdict.NOT_FOUND):
        products, unit = _product_with_serial(session, lookup, vocabulary)
        verdict, matches = (Verdict.POSSIBLE, products) if products else (verdict, matches)
    shown = unique(matches)
    models_named = _models_named(found[KeyType.MODEL], shown)
    model_words = [w for w in lookup.words if has_digit(w)]
    brand_hits = found[KeyType.BRAND] or found[KeyType.LINKED_BRAND]
    brand = brand_hits[0] if brand_hits else None
    code = found[KeyType.CODE][0].label if verdict is Verdict.POSSIBLE and found[KeyType.CODE] else None
    barcode = found[KeyType.BARCODE][0].label if shown and shown[0].kind is MatchKind.BARCODE else None
    if barcode:  # the models of the barcode's product, for the label check; the barcode is no serial
        models_named, unit = [], None
        model_words = [", ".join(dict.fromkeys(m for match in shown for m in match.event.models))]
    return CheckResult(
        query=query,
        verdict=verdict,
        matches=shown,
        notes=_notes(session, hits, matches, set(lookup.names)),
        suggestions=vocabulary.suggest(query) if verdict is Verdict.NOT_FOUND else (),
        model=", ".join(label for label, _ in models_named) or " ".join(model_words) or None,
        brand=brand.label if brand else next((m.event.brand for m in matches if m.event.brand), None),
        models_named=tuple(models_named),
        unit=unit,
        code=code if matches and matches[0].kind is MatchKind.CODE else None,
        barcode=barcode,
        coverage=vocabulary.coverage(),
    )


@dataclass(frozen=True)
class CoverageRow:
    """How many events of one source family are loaded, and the span of their dates."""

    family: str
    count: int
    first: date | None
    last: date | None


class Vocabulary:
    """What the loaded dataset knows, for suggestions, brand aliases and the coverage line.

    Scoring 300,000 model keys takes tens of milliseconds, so model keys are
    bucketed by their first and last characters: one typo leaves the start or
    the end of a key intact, so a query is only scored against keys that share
    its first or last two or three characters.
    """

    def __init__(
        self,
        rows: list[tuple[str, str, str]],
        aliases: list[tuple[str, str, str]] | None = None,
        coverage: list[CoverageRow] | None = None,
    ) -> None:
        self.models = {key: label for kind, key, label in rows if kind == KeyType.MODEL}
        # Whole names only: a suggestion is a name someone could mean, not the leading word
        # of a company ("green" of "Green Pastures Wholesale").
        self._names = {key: label for kind, key, label in rows if kind != KeyType.MODEL and key == name_key(label)}
        self.brand_keys = {key for kind, key, _ in rows if kind != KeyType.MODEL}
        self.aliases = {alias: key for alias, key, _ in aliases or ()}  # "小米" -> "xiaomi"
        self.alias_names = {alias: label for alias, _, label in aliases or ()}  # "小米" -> "Xiaomi"
        self._coverage = coverage or []
        self.live_read_at: str | None = None  # when a live source last gave data; set by Core.vocabulary
        self._name_keys = list(self._names)
        self._buckets: dict[str, list[str]] = {}
        for key in self.models:
            for n in (2, 3):
                if len(key) > n:
                    self._buckets.setdefault(f"<{key[:n]}", []).append(key)
                    self._buckets.setdefault(f">{key[-n:]}", []).append(key)

    @classmethod
    def load(cls, session: Session) -> Vocabulary:
        """Read the vocabulary, the brand aliases and the coverage from the database."""
        types = [t.value for t in (KeyType.MODEL, KeyType.BRAND, KeyType.SUPPLIER, KeyType.LINKED_BRAND)]
        coverage: dict[str, CoverageRow] = {}
        for origin, count, first, last in repo.origin_coverage(session):
            family = family_of(origin)
            old = coverage.get(family, CoverageRow(family, 0, None, None))
            firsts = [d for d in (old.first, first) if d]
            lasts = [d for d in (old.last, last) if d]
            coverage[family] = CoverageRow(
                family, old.count + count, min(firsts) if firsts else None, max(lasts) if lasts else None
            )
        rows = repo.key_vocabulary(session, types)
        aliases = repo.brand_aliases(session)
        return cls(rows, aliases, list(coverage.values()))

    def coverage(self) -> str:
        """Return the one line that says what data an answer looked in, and how old it is.

        Its age is when a live source last gave data: storing the bundled snapshot at start-up
        makes none of it newer than its last notice.
        """
        parts = [messages.coverage_part(row.family, row.count, row.first, row.last) for row in self._coverage]
        return messages.coverage_line(parts, self.live_read_at)

    def _model_candidates(self, key: str) -> list[str]:
        n = 3 if len(key) >= 7 else 2
        near = dict.fromkeys(self._buckets.get(f"<{key[:n]}", []))
        near.update(dict.fromkeys(self._buckets.get(f">{key[-n:]}", [])))
        return list(near)

    def suggest(self, query: str, limit: int = 3) -> tuple[str, ...]:
        """Return up to ``limit`` known names of the query's kind close to it, best first.

        A query with a digit is a model number and gets model numbers; any other gets
        brand and supplier names.
        """
        if has_digit(query):
            key = model_key(query)
            labels, choices, cutoff = self.models, self._model_candidates(key), MODEL_CUTOFF
        else:
            key = name_key(query)
            labels, choices, cutoff = self._names, self._name_keys, NAME_CUTOFF
        if len(key) < 2:
            return ()
        scored: dict[str, float] = {}
        for choice, score, _index in process.extract(key, choices, scorer=fuzz.ratio, limit=limit, score_cutoff=cutoff):
            label = labels[choice]
            scored[label] = max(score, scored.get(label, 0))
        ranked = sorted(scored.items(), key=lambda item: (-item[1], item[0]))
        return tuple(label for label, _ in ranked[:limit])


# Where events come from, by the first part of their origin ("bundled:cpsc-snapshot",
# "cpsc:https://...", "curated:/path/file.toml"); a new source kind adds its family here.
FAMILIES = ("cpsc", "curated")


def family_of(origin: str) -> str:
    """Return the source family of an origin: "cpsc" for the snapshot and the live feed."""
    parts = origin.split(":")
    for part in (parts[0], parts[1] if len(parts) > 1 else ""):
        head = part.split("-")[0]
        if head in FAMILIES:
            return head
    return parts[0]
