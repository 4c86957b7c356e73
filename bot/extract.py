"""Find model numbers and brand names in the free text of recall notices.

CPSC notices carry model numbers only in prose ("model numbers A1642, A1647 and
A1652"), sometimes in flattened tables where a model stands next to a serial
range. The rules here, each seen in the real data:

* a token that mixes letters and digits (``A1263``, ``nc-02``, ``IST-09991/W05``)
  is a model wherever it stands, unless it is a measure (``12W``, ``5.0Ah``),
  a word compound (``3-in-1``, ``24-hour``) or part of a serial range
  (``VF34618193 thru VF34618322``);
* a plain number (``0480``, ``98200``) is a model only in a list that follows
  the word "model", "ref.", "SKU" and the like;
* in such a list a short word followed by a code is one model (``BatPak 2F``,
  ``PM 4910-10``).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

from bot.normalize import fold, has_digit, model_key, name_key

_URL = re.compile(r"(?:https?://|www\.)\S+|\S+@\S+\.\w+", re.IGNORECASE)
_TOKEN = re.compile(r"[A-Za-z0-9]+(?:[-/.][A-Za-z0-9]+)*|[.;:,()#&]")
_MEASURE = re.compile(
    r"^\d+(?:[.,]\d+)?(?:mah|wh|kwh|w|v|vac|vdc|a|ah|ma|mm|cm|m|in|inch|ft|oz|lb|lbs|kg|g|mg|ml|l|"
    r"hz|khz|ghz|gb|tb|mb|qt|gal|cc|mph|kph|st|nd|rd|th|pc|pcs|pk|x|k|s|h|hr|hrs|mp|p|d|yr|yrs|"
    r"ct|ft-lbs|lm|db|psi|rpm|mo|min|sec)$",
    re.IGNORECASE,
)
_PLACEHOLDER = re.compile(r"[Xx]{3,}")  # "911XXXXXX": a date-code pattern, not a model
_MONTH_YEAR = re.compile(r"^(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)-\d{2,4}$", re.I)
_SHORT_WORDS = frozenset(["in", "to", "x", "of", "by", "pc", "ft", "lb", "oz", "and", "or"])
_TRIGGERS = frozenset(["model", "models", "ref", "sku", "skus", "item", "items", "style", "styles"])
_LIST_FILLERS = frozenset(
    [
        "number",
        "numbers",
        "no",
        "nos",
        "#",
        ":",
        "(",
        ")",
        ",",
        "&",
        "and",
        "or",
        "is",
        "are",
        "include",
        "includes",
        "including",
        "the",
        "following",
    ]
)
_LIST_SEPARATORS = frozenset([",", "&", "and", "or", ";", "/", "(", ")"])
_SERIAL_RANGE = frozenset(("thru", "through"))
_SERIAL_WORDS = frozenset(("serial", "lot", "sn", "s/n"))


def _tokens(text: str) -> list[str]:
    # cpsc.gov exports leave HTML entities in text ("SKIL brand&nbsp;40V").
    return _TOKEN.findall(_URL.sub(" ", fold(html.unescape(text))))


def _is_measure(token: str) -> bool:
    return bool(_MEASURE.match(token))


def _is_word_compound(token: str) -> bool:
    """Tell "3-in-1", "8-Drawer" and "Nov-19" apart from codes such as "nc-02"."""
    alpha = re.findall(r"[A-Za-z]+", token)
    if not alpha or _PLACEHOLDER.search(token) or _MONTH_YEAR.match(token):
        return bool(alpha)
    lower_words = all(p.islower() and (len(p) >= 3 or p in _SHORT_WORDS) for p in alpha)
    title_words = token[0].isdigit() and all(
        p[1:].islower() and (len(p) >= 3 or p.lower() in _SHORT_WORDS) for p in alpha
    )
    return lower_words or title_words


def _is_code(token: str) -> bool:
    """Tell whether a token mixes letters and digits like a model code does."""
    key = model_key(token)
    return (
        len(key) >= 3
        and has_digit(key)
        and not key.isdigit()
        and not _is_measure(token)
        and not _is_word_compound(token)
    )


def _is_number(token: str) -> bool:
    key = model_key(token)
    return len(key) >= 2 and key.isdigit() and not any(c.isalpha() for c in token)


def _is_prefix_word(token: str) -> bool:
    """Tell whether a word may open a spaced model such as "BatPak 2F" or "PM 4910-10"."""
    return token.isalpha() and 2 <= len(token) <= 8 and token[0].isupper()


def _serial_positions(tokens: list[str]) -> set[int]:
    """Positions of tokens that are serial numbers, not models."""
    serial: set[int] = set()
    for i, token in enumerate(tokens):
        low = token.lower()
        if low in _SERIAL_RANGE:
            serial.update((i - 1, i + 1))
        elif low in _SERIAL_WORDS:
            j = i + 1
            while j < len(tokens) and tokens[j].lower() in ("number", "numbers", "no", "#", ":"):
                j += 1
            serial.add(j)
    return serial


def _model_list(tokens: list[str], start: int, serial: set[int]) -> Iterator[str]:
    """Yield the models of the list that starts at ``start``, after a trigger word."""
    i = start
    while i < len(tokens) and tokens[i].lower() in _LIST_FILLERS:
        i += 1
    while i < len(tokens):
        token = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        if i in serial:
            i += 1
        elif _is_code(token) or _is_number(token):
            yield token
            i += 1
        elif _is_prefix_word(token) and has_digit(nxt) and not _is_measure(nxt):
            yield f"{token} {nxt}"
            if _is_code(nxt):
                yield nxt
            i += 2
        elif token.lower() in _LIST_SEPARATORS:
            i += 1
        else:
            return


def extract_models(text: str) -> list[str]:
    """Return the model numbers named in free text, in order, without repeats."""
    tokens = _tokens(text)
    serial = _serial_positions(tokens)
    found: dict[str, str] = {}
    for i, token in enumerate(tokens):
        if token.lower() in _TRIGGERS:
            for model in _model_list(tokens, i + 1, serial):
                found.setdefault(model_key(model), model)
        elif i not in serial and _is_code(token):
            found.setdefault(model_key(token), token)
    return list(found.values())


# First words of CPSC titles that are not brands ("Children's Nightgowns Recalled").
_GENERIC = frozenset(
    [
        "adult",
        "adults",
        "baby",
        "babies",
        "children",
        "children's",
        "kids",
        "infant",
        "infants",
        "toddler",
        "toddlers",
        "youth",
        "women's",
        "men's",
        "girls",
        "girls'",
        "boys",
        "boys'",
        "convertible",
        "portable",
        "electric",
        "rechargeable",
        "wireless",
        "magnetic",
        "digital",
        "smart",
        "select",
        "certain",
        "glow",
        "lithium-ion",
        "lithium",
        "battery",
        "batteries",
        "more",
        "about",
        "over",
        "nearly",
        "approximately",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "million",
        "thousand",
    ]
)

_TITLE_COMPANY = re.compile(
    r"^(?P<company>.+?) (?:Recalls|Expands Recall of|Reannounces(?: and Expands)? Recall of|"
    r"Announces Recall of) (?P<product>.+)$"
)
_TITLE_PRODUCT = re.compile(
    r"^(?P<product>.+?) (?:Recalled|Recall Expanded|Recall)\b(?: by (?P<company>.+?)(?: Due to\b|;|$))?"
)
_BRANDED = re.compile(
    r"(?P<a>[A-Z][\w'-]*?)-brand(?:ed)?\b"
    r"|[\"“](?P<b>[^\"”]{2,30})[\"”] brand"
    r"|brand(?: name)? [\"“](?P<c>[^\"”]{2,30})[\"”]"
    r"|under the (?P<d>[A-Z][\w'-]+) brand"
)


def _leading_brand(phrase: str, description: str) -> list[str]:
    """Return the brand that opens a title's product phrase, if the notice bears it out."""
    words = [w.strip("®™,") for w in phrase.split()]
    if not words or not words[0] or words[0].lower() in _GENERIC or words[0][0].isdigit():
        return []
    first = words[0]
    if not (first[0].isupper() or any(c.isupper() for c in first[1:])):
        return []
    # A brand is used mid-sentence ("involves Frigidaire ranges"); a generic word that
    # opens a title ("Leaf Blowers") appears in the notice only capitalised in tables.
    if not re.search(rf"\b(?:[a-z][a-z'-]*|the|a)\s+{re.escape(first)}\b", description):
        return []
    return [first]


def _company_names(raw: str) -> list[str]:
    """Split "Sanven Technology Ltd., dba Vevor, of Rancho" into its names."""
    names = []
    for part in re.split(r"\b(?:dba|d/b/a)\b", raw, flags=re.IGNORECASE):
        part = re.split(r",? of |,|\(", part, maxsplit=1)[0].strip(" .,")
        if part:
            names.append(part)
    return names


def extract_brands(title: str, description: str, companies: list[str]) -> list[str]:
    """Return the brand and company names of a CPSC notice, most specific first."""
    found: dict[str, str] = {}

    def add(name: str) -> None:
        key = name_key(name)
        if key and len(key) >= 2 and key not in _GENERIC:
            found.setdefault(key, name.strip())

    title = fold(title)
    description = fold(description)
    company = _TITLE_COMPANY.match(title)
    product = company or _TITLE_PRODUCT.match(title)
    if product:
        for name in _leading_brand(product.group("product"), description):
            add(name)
    for m in _BRANDED.finditer(description):
        add(next(g for g in m.groups() if g))
    if product and product.group("company"):
        add(product.group("company"))
    for raw in companies:
        for name in _company_names(fold(raw)):
            add(name)
    return list(found.values())
