"""Tokens of notice text, and what a token is: a code, a number, a measure, a word."""

from __future__ import annotations

import html
import re
import unicodedata

from bot.normalize import fold, has_digit, model_key

# Marks that fold() would drop or spell out ("3M™" -> "3MTM"), and dashes and list
# marks between codes: fold() drops them too, gluing "A1263–A1264" into one token.
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
_LIST_MARKS = "\u3001\uff0c\uff1b\u30fb\u00b7\uff5c|"
_TRANSLATE = str.maketrans(
    {"\u2122": " ", "\u00ae": " ", "\u00a9": " ", "\uff0f": " / ", "\u2044": "/"}
    | {c: " - " for c in _DASHES}
    | {c: ", " for c in _LIST_MARKS}
)
_URL = re.compile(r"(?:https?://|www\.)\S+|\S+@\S+\.\w+", re.IGNORECASE)
_PERCENT = re.compile(r"\d+(?:\.\d+)?\s?%")  # "48% Cotton/47% Modal"
_WITH = re.compile(r"(?<![\w-])w/(?=\S)", re.IGNORECASE)  # "(w/1973 Datsun 240z Body)"
_STARS = re.compile(r"\*{2,}")  # "T**0815**********": a serial number's pattern, not a code
_TOKEN = re.compile(r"[A-Za-z0-9]+(?:[-/._][A-Za-z0-9]+)*|[-.;:,()#&/~]")


def _tokens(text: str) -> list[str]:
    # cpsc.gov exports leave HTML entities in text ("SKIL brand&nbsp;40V"). Translate before
    # NFKD ("™" would become "TM") and after it ("½" becomes "1⁄2").
    text = unicodedata.normalize("NFKD", html.unescape(text).translate(_TRANSLATE)).translate(_TRANSLATE)
    text = _STARS.sub(lambda m: "x" * len(m.group()), _WITH.sub("with ", _PERCENT.sub(" ", text)))
    return _TOKEN.findall(fold(_URL.sub(" ", text)))


_UNITS = (
    r"mah|wh|kwh|w|v|vac|vdc|a|ah|ma|mm|cm|m|in|inch|ft|oz|lb|lbs|kg|g|mg|ml|l|hz|khz|ghz|gb|tb|mb|qt|gal|cc|"
    r"mph|kph|st|nd|rd|th|pc|pcs|pk|x|k|s|h|hr|hrs|mp|p|d|yr|yrs|ct|ft-lbs|lm|db|psi|rpm|mo|min|sec|am|pm|"
    r"y|t|xl|xs|hp|kw|kva|btu|cfm|gpm"
)
# Six digits at most: "2307050A" is a batch code, not 2.3 million amperes.
_MEASURE = re.compile(rf"^\d{{1,6}}(?:[.,]\d+)?(?:-\d+(?:[.,]\d+)?)?(?:{_UNITS})$", re.IGNORECASE)
_MONTHS = r"jan|feb|mar|apr|may|jun|jul|aug|sept?|oct|nov|dec"
_NOT_MODEL = re.compile(
    r"^(?:IPX?\d{1,2}|Qi\d?|UL\d{2,4}[-\w]*"  # ratings and standards
    r"|(?:CR|BR|LR|SR|LIR|ML)\d{2,4}[A-Z]{0,2}(?:/(?:CR|LR|SR)?\d{2,4})*"  # button and coin cells
    r"|10440|14500|16340|18350|18490|18650|20700|21700|26650|32650"  # cylindrical cells
    r"|v\.?\d+(?:\.\d+)+"  # versions
    r"|RN\d{4,6}"  # an RN number names the textile company, not the product
    r"|\d?X{1,3}L|\d{1,2}/\d{1,2}[TY]"  # clothing sizes
    rf"|(?:{_MONTHS})[-.]?(?:\d{{2}}|19\d\d|20\d\d)(?:[-./]\w+)*|\d{{1,2}}[-.]?(?:{_MONTHS})\d{{0,4}}"
    r"|\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}.*|\d{1,2}/(?:19|20)\d\d.*"  # dates, and date codes that open with one
    r"|[A-Z]{0,3}20[12]\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])[-\w]*"  # lots named by a YYYYMMDD date
    r"|\d{1,2}-\d{5}-\d{5}-\d"  # UPC barcodes
    r"|EC[358]|XT[369]0|MC4|12VHPWR|CO2|H2O2?|NO2|SO2"  # connectors and chemistry
    r")$",
    re.IGNORECASE,
)
_DATE = re.compile(r"^\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|^\d{1,2}/(?:19|20)\d\d$")
_YEAR = re.compile(r"^(?:199\d|20[0-3]\d)(?:-(?:199\d|20[0-3]\d|\d\d))?$")
_FORMAT = re.compile(r"^(?=.*([XYMDW])\1)[\dXYMDW]+(?:-[\dXYMDW]+)*$", re.IGNORECASE)  # "20XX", "YY-58"
_VIN = re.compile(r"^(?=.*\d)(?=.*[A-Z])[A-HJ-NPR-Z0-9]{17}$")
_PLACEHOLDER = re.compile(r"[Xx]{3,}")  # "911XXXXXX": a date-code pattern, not a model
_MONTH_YEAR = re.compile(rf"^(?:{_MONTHS})-\d{{2,4}}$", re.IGNORECASE)
_SHORT_WORDS = frozenset(["in", "to", "x", "of", "by", "pc", "ft", "lb", "oz", "and", "or"])


def _words(text: str) -> frozenset[str]:
    """Return the set of the space-separated words of a word list."""
    return frozenset(text.split())


def _is_measure(token: str) -> bool:
    if _MEASURE.match(token):
        return True
    parts = re.split(r"[-/]", token)  # "36V-8AH-288WH", "12V/24V"
    measures = sum(bool(_MEASURE.match(p)) for p in parts)
    return measures >= 2 and all(_MEASURE.match(p) or p.isdigit() for p in parts)


def _is_word(part: str) -> bool:
    short = part.lower() in _SHORT_WORDS
    return part.isalpha() and (part.islower() or part[1:].islower()) and (len(part) >= 3 or short)


def _is_word_compound(token: str) -> bool:
    """Tell "3-in-1", "8-Drawer", "Liter/6" and "Nov-19" apart from codes such as "nc-02"."""
    alpha = re.findall(r"[A-Za-z]+", token)
    if not alpha or _PLACEHOLDER.search(token) or _MONTH_YEAR.match(token):
        return bool(alpha)
    parts = re.split(r"[-/]", token)
    if len(parts) > 1 and all(_is_word(p) or p.isdigit() or _is_measure(p) for p in parts):
        return any(_is_word(p) for p in parts)
    lower_words = all(p.islower() and (len(p) >= 3 or p in _SHORT_WORDS) for p in alpha)
    return lower_words or bool(re.match(r"^\d+D[A-Z][a-z]+$", token))  # "3DPrint"


def _is_code(token: str) -> bool:
    """Tell whether a token mixes letters and digits like a model or serial code does."""
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
    return len(key) >= 3 and key.isdigit() and not any(c.isalpha() for c in token)


def _is_model_code(token: str) -> bool:
    return _is_code(token) and not (_NOT_MODEL.match(token) or _FORMAT.match(token) or _VIN.match(token))


def _is_model_number(token: str) -> bool:
    return _is_number(token) and "." not in token and not (_YEAR.match(token) or _NOT_MODEL.match(token))


def _is_serial_item(token: str) -> bool:
    """Tell whether a token can be a serial number, date code or lot."""
    dated = _DATE.match(token) and not re.search(r"[A-Za-z]", token)  # "06/15/23CH1" is a date code
    decimal = "." in token and _is_number(token)  # "57.87-62.59" inches
    if (
        _YEAR.match(token)
        or dated
        or decimal
        or _FORMAT.match(token)
        or (_NOT_MODEL.match(token) and _is_number(token))
    ):
        return False
    return _is_code(token) or _is_number(token)


def _family(token: str) -> tuple[str, int, str]:
    """Group look-alike codes: first character, length and letter/digit pattern ("GK2309880")."""
    key = model_key(token)
    shape = re.sub(r"(.)\1+", r"\1", re.sub(r"\d", "9", re.sub(r"[A-Za-z]", "A", token)))
    return key[:1], len(key), shape


# Capitalised words that open table cells and sentences, not spaced models ("Blue 200008005").
_NOT_PREFIX = _words(
    "year years color colour colors size sizes item items code codes number no model models serial lot "
    "batch date type pack qty quantity price style styles name series range start end total units version "
    "rev part kit set sets week month day age ages about with and the all each only upc sku skus ean gtin "
    "asin order black white blue red green gray grey pink purple yellow orange brown beige silver gold "
    "tan navy ivory cream natural teal aqua coral clear chrome rose bronze charcoal espresso walnut oak "
    "multi matte light dark small medium large queen king twin full standard inch inches pound pounds "
    "volt watt amp hours piece pieces drawer tier speed usb led for of in on to from over under up"
)


_STANDARD_WORDS = _words("astm ansi ul iso iec en cfr csa standard version firmware software rev revision ver")


def _is_make(word: str) -> bool:
    return word.istitle() and word.isalpha() and word.lower() not in _NOT_PREFIX


def _in_context(tokens: list[str], i: int) -> bool:
    """Tell whether a code's neighbours make it a standard, a version or a vehicle name, not a model."""
    before = [t.lower() for t in tokens[max(i - 3, 0) : i]]
    if before and (before[-1] in _STANDARD_WORDS or (before[-1] == "id" and "fcc" in before)):
        return True
    if before and _DATE.match(tokens[i - 1]) and tokens[i - 1][-1].isdigit() and len(tokens[i]) <= 4:
        return True  # "01/15/24 CH1": the tail of a date code
    # "(w/1973 Datsun 240z Body)": a year and a make name a car, not the product.
    words = tokens[max(i - 4, 0) : i]
    for n in (1, 2):
        if (
            len(words) > n + 1
            and words[-n - 2].lower() in ("(", "with")
            and re.match(r"^(?:19|20)\d\d$", words[-n - 1])
        ):
            return all(_is_make(w) for w in words[-n:])
    return False
