"""Brand and company names of CPSC notices."""

from __future__ import annotations

import re

from bot.extract.tokens import _URL, _words
from bot.normalize import fold, name_key

# First words of CPSC titles that are not brands: kinds of buyer ("Children's Nightgowns
# Recalled"), quantities, and product words ("IKEA Recalls USB Chargers", "High Bay LED Lights").
_GENERIC = _words(
    "adult adults baby babies children children's kids infant infants toddler toddlers youth women's "
    "men's girls girls' boys boys' convertible portable electric rechargeable wireless magnetic digital "
    "smart select certain glow lithium-ion lithium battery batteries more about over nearly approximately "
    "one two three four five six seven eight nine ten million thousand usb led multi-purpose multipurpose "
    "multi high low gas gas/electric sauna ceiling wall natural generic bmx fat club competitor rgb auto "
    "kid charge mini pro max series model brand branded recalled the"
)

_TITLE_COMPANY = re.compile(
    r"^(?P<company>.+?) (?:Recalls|Expands Recall of|Reannounces(?: and Expands)? Recall of|"
    r"Announces Recall of) (?P<product>.+)$"
)
_TITLE_PRODUCT = re.compile(
    r"^(?P<product>.+?) (?:Recalled|Recall Expanded|Recall)\b(?: by (?P<company>.+?)(?: Due to\b|;|$))?"
)
_BRANDED = re.compile(
    r"(?P<a>[A-Z][\w'.]*(?:\s+(?:&\s+)?[A-Z][\w'.]*){0,3}?)-brand(?:ed)?\b"
    r"|[\"“](?P<b>[^\"”]{2,30})[\"”] brand"
    r"|brand(?: name)? [\"“](?P<c>[^\"”]{2,30})[\"”]"
    r"|under the (?P<d>[A-Z][\w'-]+) brand"
)
_SENTENCE_OPENERS = re.compile(r"^(?:The|This|These|All|Only|Some|An?)\s+")
_BRAND_STRIP = "®™,;:.\"“”'()"


def _is_common(word: str, description: str) -> bool:
    """Tell whether a word is used as an ordinary lower-case word in the notice ("ceiling", "queen")."""
    prose = _URL.sub(" ", description)  # "www.frigidaire.com" does not make "frigidaire" a word
    return bool(re.search(rf"(?<![\w\"“-]){re.escape(word.lower())}(?![\w\"”-])", prose))  # not '"babysense" logo'


def _shared_prefix(words: list[str], names: list[str]) -> list[str]:
    """Return the longest run of opening words a company name shares with the phrase ("Bell Sports")."""
    best: list[str] = []
    for name in names:
        other = name.split()
        n = 0
        while n < min(len(words), len(other)) and words[n].lower() == other[n].lower():
            n += 1
        best = max(best, words[:n], key=len)
    return best


def _extend(words: list[str], names: list[str], description: str) -> str:
    """Grow a brand's first word into the whole name ("Nap Queen Sleep", "Lancaster Table & Seating").

    A company name decides where the brand ends ("Bell" of "Bell Sports", not "Bell Slope").
    Without one, the notice must show the longer name as a name: joined by "&", followed
    by "brand", or opened by an ordinary word ("Spring Spirit") that cannot be a brand alone.
    """
    shared = _shared_prefix(words, names)
    if shared:
        return " ".join(shared).rstrip(" &")
    brand, best = words[0], words[0]
    for word in words[1:4]:
        fits = word == "&" or (word.isalpha() and word[0].isupper() and (word[1:].islower() or word.isupper()))
        if not fits or word.lower() in _GENERIC or f"{brand} {word}" not in description:
            break
        brand = f"{brand} {word}"
        named = re.search(
            rf"{re.escape(brand)}(?:-| )(?:brand|branded|logo)\b|[\"“]{re.escape(brand)}[\"”]", description
        )
        joined = "&" in brand and re.search(rf"{re.escape(brand)}(?:[ ,.;)]+[a-z]|[.,;)]|$)", description)
        if not brand.endswith("&") and (joined or named or _is_common(words[0], description)):
            best = brand
    return best


def _leading_brand(phrase: str, description: str, names: list[str]) -> list[str]:
    """Return the brand that opens a title's product phrase, if the notice bears it out."""
    words = [w.strip(_BRAND_STRIP) for w in phrase.split()]
    words = [w for w in words if w]
    if not words or words[0].lower() in _GENERIC or not words[0][0].isalpha():
        return []
    if len(words[0]) <= 2 and not words[0].isupper():  # "Go Direct": too short to stand alone
        return []
    first = words[0]
    if re.match(r"^[A-Z]\d+$|.*\.", first) or not (first[0].isupper() or any(c.isupper() for c in first[1:])):
        return []  # "A1 3D Printers", "Sinch.2": a model, not a brand
    # A brand is used mid-sentence ("involves Frigidaire ranges"); a generic word that
    # opens a title ("Leaf Blowers") appears in the notice only capitalised in tables.
    if not re.search(rf"\b(?:[a-z][a-z'-]*|the|a)\s+{re.escape(first)}\b", description):
        return []
    brand = _extend(words, names, description)
    if brand == first and not _shared_prefix(words, names) and _is_common(first, description):
        return []  # "Ceiling Hoists": "ceiling" is an ordinary word of the notice
    return [brand]


def _branded_name(phrase: str) -> str:
    """Clean a "X-branded" phrase: "This Zigjoy" -> "Zigjoy", "Glen Dimplex Americas' Cadet" -> "Cadet"."""
    return re.split(r"\b\w+'s?\s+", _SENTENCE_OPENERS.sub("", phrase))[-1]


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
        name = name.strip(_BRAND_STRIP + " ")
        key = name_key(name)
        if key and len(key) >= 2 and key not in _GENERIC:
            found.setdefault(key, name.strip())

    title = fold(title)
    description = fold(description)
    company = _TITLE_COMPANY.match(title)
    product = company or _TITLE_PRODUCT.match(title)
    names = [n for raw in companies for n in _company_names(fold(raw))]
    title_company = re.split(r"\s*\(", product.group("company"))[0] if product and product.group("company") else ""
    if title_company:
        names.insert(0, title_company)
    branded = [_branded_name(next(g for g in m.groups() if g)) for m in _BRANDED.finditer(description)]
    if product:
        for name in _leading_brand(product.group("product"), description, names + branded):
            add(name)
    for name in branded:
        add(name)
    if title_company:
        add(title_company)
    for raw in companies:
        for name in _company_names(fold(raw)):
            add(name)
    return list(found.values())
