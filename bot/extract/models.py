"""Model numbers in notice text."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from bot.extract.serials import _scan
from bot.extract.tokens import (
    _DATE,
    _NOT_MODEL,
    _NOT_PREFIX,
    _YEAR,
    _in_context,
    _is_code,
    _is_measure,
    _is_model_code,
    _is_model_number,
    _is_number,
    _tokens,
    _words,
)
from bot.normalize import fold, has_digit, model_key

_TRIGGERS = frozenset(["model", "models", "ref", "sku", "skus", "item", "items", "style", "styles"])
_LIST_FILLERS = _words(
    "number numbers no nos # : ( ) , & and or is are include includes including the following code codes"
)
_LIST_SEPARATORS = frozenset([",", "&", "and", "or", ";", "/", "(", ")", "-"])
_QUANTITY_WORDS = _words(
    "inch inches in ft feet foot pounds lbs lb cm mm wide long high tall deep different percent units "
    "pieces volts watts years months days hours minutes mph gallons quarts ounces oz liters ml degrees "
    "models styles colors sizes sets packs count"
)
_BARCODE_WORDS = frozenset(("upc", "upcs", "ean", "gtin", "isbn", "barcode"))


def _is_prefix_word(token: str) -> bool:
    """Tell whether a word may open a spaced model such as "BatPak 2F", "PM 4910-10" or "Powerwall 2"."""
    return token.isalpha() and 2 <= len(token) <= 10 and token[0].isupper()


def _joins(word: str, nxt: str) -> bool:
    """Tell whether a word and the digits after it are one model ("FE 350w" but not "Color 12W")."""
    if word.lower() in _NOT_PREFIX or _YEAR.match(nxt) or _DATE.match(nxt) or _NOT_MODEL.match(nxt):
        return False
    long = len(model_key(nxt)) > (6 if _is_number(nxt) else 5)  # "PM 4910-10" joins, "MCS 7903815" does not
    if long and not (word.isupper() and nxt[0].isdigit() and _is_code(nxt)):  # "SHR 40-RED-M" joins
        return False
    return not _is_measure(nxt) or (word.isupper() and len(word) <= 3 and bool(re.match(r"^\d+[a-z]$", nxt)))


def _is_suffix(tokens: list[str], i: int) -> bool:
    """Tell whether the word at ``i`` ends a model as a variant letter code ("BY-300 FS and ...")."""
    after = tokens[i + 1] if i + 1 < len(tokens) else "."
    word = tokens[i] if i < len(tokens) else ""
    ends = after in (",", ".", ")", ";") or (after.islower() and after.isalpha())
    return word.isalpha() and word.isupper() and 1 < len(word) <= 3 and word.lower() not in _NOT_PREFIX and ends


def _noise(tokens: list[str], i: int) -> int:
    """Count the table words to step over before a year ("EX 350F BT 2022 FE 501")."""
    for n in (1, 2):
        words = tokens[i : i + n]
        after = tokens[i + n] if i + n < len(tokens) else ""
        if all(_is_prefix_word(w) for w in words) and (
            _YEAR.match(after) or (has_digit(after) and words[-1].lower() in _NOT_PREFIX)
        ):
            return n
    return 0


def _model_list(tokens: list[str], start: int, serial: set[int]) -> Iterator[str]:
    """Yield the models of the list that starts at ``start``, after a trigger word."""
    i = start
    while i < len(tokens) and tokens[i].lower() in _LIST_FILLERS:
        i += 1
    while i < len(tokens):
        token = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        if i in serial or _YEAR.match(token) or token.lower() in _LIST_SEPARATORS:
            i += 1
        elif token.lower() in _BARCODE_WORDS:  # "UPC 193175488718" names the package, not the model
            i += 2
        elif _is_model_code(token) or _is_model_number(token):
            if nxt.lower() in _QUANTITY_WORDS:  # "46 inches long", "15 different models"
                return
            yield token
            i += 1
            if _is_suffix(tokens, i):  # "BY-300 and BY-300 FS": a variant
                yield f"{token} {nxt}"
                i += 1
        elif _noise(tokens, i):
            i += _noise(tokens, i)
        elif _is_prefix_word(token) and has_digit(nxt) and i + 1 not in serial:
            # A long code stands alone ("Rebel BRB54FX850", "MCS 7903815"); short ones take the word ("FE 350").
            if _joins(token, nxt):
                yield f"{token} {nxt}"
            i += 2 if _joins(token, nxt) else 1
        else:
            return


def _same_family_numbers(tokens: list[str], found: dict[str, str], serial: set[int]) -> None:
    """Add plain numbers shaped like a found model number.

    Tables list model numbers away from the word "model": "98200 and 98210 ... 98203
    and 98204" share all but the last two digits, "263 Pack of six ... 264 Pack of nine"
    open rows the same way.
    """
    numbers = [i for i, t in enumerate(tokens) if i not in serial and _is_model_number(t)]
    keys = {i: model_key(tokens[i]) for i in numbers}
    stems = {(len(k), k[:-2]) for k in found if k.isdigit() and len(k) >= 5}
    rows = {(len(keys[i]), tokens[i + 1]) for i in numbers if keys[i] in found and i + 1 < len(tokens)}
    for i in numbers:
        after = tokens[i + 1] if i + 1 < len(tokens) else ""
        if (len(keys[i]), keys[i][:-2]) in stems or (after.istitle() and (len(keys[i]), after) in rows):
            found.setdefault(keys[i], tokens[i])


def _not_part_of_model(tokens: list[str]) -> set[str]:
    """Find codes a notice says are not models ('a unit labeled "OP301 I07" is a model OP301 unit')."""
    keys = set()
    for i in range(len(tokens) - 5):
        if [t.lower() for t in tokens[i + 2 : i + 5]] == ["is", "a", "model"] and tokens[i + 5] == tokens[i]:
            keys.add(model_key(tokens[i + 1]))
    return keys


def _name_keys(names: Iterable[str]) -> set[str]:
    return {model_key(word) for name in names for word in fold(name).split() if model_key(word)}


def extract_models(text: str, exclude: Iterable[str] = ()) -> list[str]:
    """Return the model numbers named in free text, in order, without repeats.

    ``exclude`` holds names (companies, brands) whose words are never models ("U2O Global").
    """
    tokens = _tokens(text)
    scan = _scan(tokens)
    never = _name_keys(exclude) | {model_key(tokens[i]) for i in scan.serial} | _not_part_of_model(tokens)
    found: dict[str, str] = {}
    for i, token in enumerate(tokens):
        if i in scan.table_models and i not in scan.serial and (_is_model_code(token) or _is_model_number(token)):
            found.setdefault(model_key(token), token)
        elif _TRIGGERS & set(token.lower().split("/")):  # "Model/Item #"
            for model in _model_list(tokens, i + 1, scan.serial):
                found.setdefault(model_key(model), model)
        elif i not in scan.serial and _is_model_code(token) and not _in_context(tokens, i):
            if not token[0].isalpha() and i and model_key(tokens[i - 1] + token) in found:
                continue  # the code part of "EX 350F"
            found.setdefault(model_key(token), token)
    _same_family_numbers(tokens, found, scan.serial)
    return [model for key, model in found.items() if key not in never]
