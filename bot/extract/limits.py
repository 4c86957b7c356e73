"""Which units a notice covers: its sentences, codes and ranges, and testing a unit against them."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.extract.serials import _scan
from bot.extract.tokens import _MONTHS, _is_serial_item, _tokens
from bot.normalize import model_key


@dataclass(frozen=True)
class UnitLimits:
    """Which units of a product a notice covers.

    ``text`` is the notice's own sentences that restrict the units (verbatim, joined by
    spaces), ``codes`` the serial numbers, date codes and lots it lists, as printed, and
    ``ranges`` its code ranges as (low, high, n): a code is covered when its first ``n``
    characters (all of it when ``n`` is 0) lie between low and high.
    """

    text: str | None = None
    codes: tuple[str, ...] = ()
    ranges: tuple[tuple[str, str, int], ...] = ()


_ABBREVIATIONS = re.compile(r"\b(?:U\.S|Inc|Co|Corp|Ltd|No|Nos|approx|St|Mr|Mrs|Dr|Jr|vs|oz|lb|lbs|ft|Qt|Calif|Neb)\.$")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)]*\s+(?=[\"“(]?[A-Z0-9])|\s+(?=Note:)")
_UNIT_WORDS = re.compile(
    r"\b(?:serial|S/N|SN|lot|batch|cohort|VIN|vehicle identification|date[- ]codes?|production codes?)\b", re.I
)
_RESTRICTS = re.compile(
    r"\b(?:only|qualifying|certain|specific|select|affected|impacted|included|includes?|involved|subject to|"
    r"part of|ranging|range from|ranges? of|between|through|thru|begin|beginning|starting|check|determine|"
    r"whether|see if)\b",
    re.I,
)
_WHEN = rf"(?:(?:early|late|mid)\s+)?(?:(?:{_MONTHS})[a-z]*\.?\s|(?:19|20)\d\d|\d)"
# "manufactured between July 2020 and August 2023", not "made from black stainless steel"
_MADE_WHEN = re.compile(
    r"\b(?:manufactured|produced|made|built)\s+(?:\w+\s+){0,3}?(?:between|from|during|before|after|prior to|"
    rf"since|on or (?:before|after)|in)\s+{_WHEN}",
    re.I,
)
_DATE_NOUN = re.compile(r"\b(?:manufactur\w*|production|expiration|assembly|purchase) dates?\b", re.I)
_DATED = re.compile(rf"{_DATE_NOUN.pattern}\s+(?:(?:of|in|between|from|before|after|prior to)\s+)+{_WHEN}", re.I)
_ONLY = re.compile(
    r"\bonly\b.*\b(?:included|includes|involved|affected|recalled|subject|covered|part of|impacted)\b|"
    r"\bincludes? only\b|\bonly (?:units|products|those|items)\b",
    re.I,
)
_SCOPE = re.compile(r"^(?:This|The) recall (?:only )?(?:involves|includes)\b", re.I)  # names the product


def _sentences(text: str) -> list[str]:
    """Split prose into sentences, keeping "U.S." and "Inc." inside theirs."""
    pieces: list[str] = []
    for piece in _SENTENCE_END.split(text.strip()):
        if pieces and _ABBREVIATIONS.search(pieces[-1]):
            pieces[-1] = f"{pieces[-1]} {piece}"
        elif piece.strip():
            pieces.append(piece.strip())
    return pieces


def _limits_units(sentence: str) -> bool:
    """Tell whether a sentence restricts which units are covered, not just where a label is."""
    if sentence.startswith("Note:"):
        return False
    if _ONLY.search(sentence) and not _SCOPE.match(sentence):
        return True
    if _MADE_WHEN.search(sentence) or _DATED.search(sentence):
        return True
    if _DATE_NOUN.search(sentence) and _RESTRICTS.search(sentence):
        return True
    unit = _UNIT_WORDS.search(sentence)
    if not unit:
        return False
    # "The model and serial number are printed on the back" says where, not which: no code follows
    # the serial word closely, as in "batch number 230315US" or "lot codes (MLC) C25021766FJO".
    listed = any(_is_serial_item(t) for t in _tokens(sentence[unit.end() :])[:8])
    return bool(listed or _RESTRICTS.search(sentence))


def extract_limits(description: str) -> UnitLimits:
    """Return the sentences, codes and ranges of a notice that limit which units are covered."""
    text = " ".join(s for s in _sentences(html.unescape(description)) if _limits_units(s)) or None
    scan = _scan(_tokens(description))
    codes: dict[str, str] = {}
    for i in scan.listed:
        codes.setdefault(model_key(scan.tokens[i]), scan.tokens[i])
    return UnitLimits(text=text, codes=tuple(codes.values()), ranges=tuple(scan.ranges))


def _in_range(low: str, high: str, n: int, key: str) -> bool:
    low, high = model_key(low), model_key(high)
    part = key[:n] if n else key
    if low.isdigit() and high.isdigit() and part.isdigit():
        fits = len(part) == n if n else len(low) <= len(part) <= len(high)
        return fits and int(low) <= int(part) <= int(high)
    if not len(part) == len(low) == len(high):
        return False
    # "CSFxxABTRxx-V1-4933 through ...": an x in both bounds stands for any character.
    part = "".join("X" if a == b == "X" else c for a, b, c in zip(low, high, part, strict=True))
    return low <= part <= high


def unit_covered(codes: Iterable[str], ranges: Iterable[tuple[str, str, int]], code: str) -> bool | None:
    """Tell whether a unit's code is among the listed codes or ranges; None when nothing is listed."""
    codes, ranges = list(codes), list(ranges)
    if not codes and not ranges:
        return None
    key = model_key(code)
    if key in {model_key(c) for c in codes}:
        return True
    return any(_in_range(low, high, n, key) for low, high, n in ranges)
