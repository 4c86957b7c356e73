"""Serial numbers, date codes, lots and their ranges in notice text: never models."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from bot.extract.tokens import (
    _DATE,
    _FORMAT,
    _PLACEHOLDER,
    _VIN,
    _YEAR,
    _family,
    _in_context,
    _is_code,
    _is_number,
    _is_serial_item,
    _words,
)
from bot.normalize import has_digit, model_key

_SERIAL_WORDS = _words("serial serials sn s/n lot lots batch cohort vin vins factory")
_CODE_LEADS = frozenset(("date", "production", "manufacturing"))  # "date codes (YYWW): 2318, 2319"
_HEADER_WORDS = frozenset(("number", "numbers", "no", "nos", "#", "/", "and", "&", "(", ")", "s", "or", "of"))
_SERIAL_FILLERS = _words(
    "number numbers no nos # : ( ) code codes range ranges ranging from between of the following is are "
    "include includes including included in this recall with within these begin begins beginning start "
    "starts starting prefix prefixes information mlc"
)
_PREFIX_WORDS = frozenset(("begin", "begins", "beginning", "start", "starts", "starting", "prefix", "prefixes"))
_SERIAL_SEPARATORS = frozenset([",", "&", "and", "or", ";", "/", "-", "~", "thru", "through", "to", "(", ")"])
_RANGE_WORDS = frozenset(("thru", "through", "~"))
_CONTEXT_RANGE_WORDS = frozenset(("to", "-"))  # ranges only where a serial word came first
_COLUMN_WORDS = frozenset(("model", "models", "item", "items", "sku", "skus", "part"))
_NOT_CODE_COLUMN = frozenset(("year", "years", "name", "names", "description"))
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8}


@dataclass
class _Scan:
    """Where a notice names serial numbers, date codes and lots, found over its tokens."""

    tokens: list[str]
    serial: set[int] = field(default_factory=set)
    listed: list[int] = field(default_factory=list)
    ranges: list[tuple[str, str, int]] = field(default_factory=list)
    table_models: set[int] = field(default_factory=set)

    def mark(self, i: int, listed: bool = True) -> None:
        if i not in self.serial:
            self.serial.add(i)
            if listed:
                self.listed.append(i)


def _is_serial_word(tokens: list[str], i: int) -> bool:
    low = tokens[i].lower()
    nxt = tokens[i + 1].lower() if i + 1 < len(tokens) else ""
    prev = tokens[i - 1].lower() if i else ""
    lead = low in _CODE_LEADS and nxt in ("code", "codes")
    return low in _SERIAL_WORDS or lead or (low == "identification" and prev == "vehicle")


def _sentences_of(tokens: list[str]) -> list[int]:
    sentence, ids = 0, []
    for token in tokens:
        ids.append(sentence)
        sentence += token == "."
    return ids


def _first_digits(tokens: list[str], ids: list[int]) -> dict[int, int]:
    """Map sentences that say "the first 4 digits of the serial number" to 4."""
    found: dict[int, int] = {}
    for i in range(len(tokens) - 2):
        unit = tokens[i + 2].lower()
        if tokens[i].lower() == "first" and unit in ("digits", "characters", "numbers", "numerals"):
            count = tokens[i + 1].lower()
            n = int(count) if count.isdigit() else _NUMBER_WORDS.get(count, 0)
            if n:
                found[ids[i]] = n
    return found


def _bounds(low: str, high: str, digits: int) -> tuple[str, str, int] | None:
    """Return a serial range (low, high, n) if the two codes can bound one."""
    if not all(_is_serial_item(t) or (_PLACEHOLDER.search(t) and has_digit(t)) for t in (low, high)):
        return None
    n = 0
    wild = re.match(r"^(.*?)[xX]{3,}$", low), re.match(r"^(.*?)[xX]{3,}$", high)
    if wild[0] and wild[1] and len(low) == len(high):  # "18319xxxxxx through 19264xxxxxx"
        low, high = wild[0].group(1), wild[1].group(1)
        n = len(model_key(low))
    a, b = model_key(low), model_key(high)
    if not a or _family(low)[1:] != _family(high)[1:] or _PLACEHOLDER.search(low + high):
        return None
    if (int(a) > int(b)) if a.isdigit() and b.isdigit() else a > b:
        return None
    return low, high, n or (digits if digits == len(a) else 0)


def _range_candidates(tokens: list[str], i: int, context: bool) -> Iterator[tuple[tuple[str, str], tuple[int, ...]]]:
    """Yield the pairs of codes at ``i`` that may bound a range, with their positions."""
    token = tokens[i]
    nxt = tokens[i + 1].lower() if i + 1 < len(tokens) else ""
    prev = tokens[i - 1].lower() if i else ""
    if i + 2 < len(tokens) and (nxt in _RANGE_WORDS or (context and nxt in _CONTEXT_RANGE_WORDS)):
        yield (token, tokens[i + 2]), (i, i + 2)
    between = prev == "between" or (prev == ":" and i > 1 and tokens[i - 2].lower() == "between")
    if i + 2 < len(tokens) and context and between and nxt == "and":  # "between: NT808000 and NT808150"
        yield (token, tokens[i + 2]), (i, i + 2)
    if context and token.count("-") == 1:  # "between 5201-5542"
        low, high = token.split("-")
        yield (low, high), (i,)


def _find_ranges(scan: _Scan, ids: list[int], context: list[bool]) -> None:
    digits = _first_digits(scan.tokens, ids)
    for i in range(len(scan.tokens)):
        for pair, at in _range_candidates(scan.tokens, i, context[i]):
            bounds = _bounds(*pair, digits.get(ids[i], 0))
            if not bounds:
                continue
            if bounds not in scan.ranges:
                scan.ranges.append(bounds)
            for j in at:
                scan.mark(j, listed=False)
            scan.listed = [j for j in scan.listed if j not in at]  # a bound is not a listed code
            break


def _list_after(scan: _Scan, start: int) -> int:
    """Mark the codes listed after a serial word ("serial numbers 000G21, 000H21 and 000L21")."""
    tokens, i, prefix = scan.tokens, start, False
    while i < len(tokens) and (tokens[i].lower() in _SERIAL_FILLERS or _FORMAT.match(tokens[i])):
        prefix = prefix or tokens[i].lower() in _PREFIX_WORDS
        i += 1
    if tokens[start - 1][0].isupper():  # a table header: "Batch Codes Expiration Dates Daily Prenatal Multi 2307050A"
        header = i
        while i < min(len(tokens), header + 6) and tokens[i].isalpha() and tokens[i][0].isupper():
            i += 1
        i = i if i < len(tokens) and _is_serial_item(tokens[i]) else header
    previous = ","
    while i < len(tokens) and (_is_serial_item(tokens[i]) or tokens[i].lower() in _SERIAL_SEPARATORS):
        if _is_serial_item(tokens[i]) and _is_serial_item(previous):
            break  # "RTV520 10004-25434": a new table cell, not the next item of the list
        previous = tokens[i]
        if _is_serial_item(tokens[i]) and prefix:  # "begin with "ET22"": a prefix is a range of itself
            scan.mark(i, listed=False)
            bounds = (tokens[i], tokens[i], len(model_key(tokens[i])))
            if bounds not in scan.ranges:
                scan.ranges.append(bounds)
        elif _is_serial_item(tokens[i]):
            scan.mark(i)
        i += 1
    return i


def _list_before(scan: _Scan, word: int) -> None:
    """Mark the codes that come before "date code" ('a "JUL24" or "AUG24" date code')."""
    tokens, j, found = scan.tokens, word - 1, []
    while j >= 0 and (_is_serial_item(tokens[j]) or tokens[j].lower() in ("or", "and", ",")):
        found.append(j)
        j -= 1
    if j >= 0 and tokens[j].lower() in _COLUMN_WORDS | {"number", "numbers", "#", "no", ":"}:
        return
    for i in reversed(found):
        if _is_serial_item(tokens[i]):
            scan.mark(i)


def _is_code_column(tokens: list[str], j: int) -> bool:
    """Tell whether a column word heads codes ("Model Number", "Model Name /Number") or names ("Model Year")."""
    if tokens[j].lower() not in ("model", "models"):
        return True
    rest = [t.lower() for t in tokens[j + 1 : j + 4]] + ["", "", ""]
    return rest[0] not in _NOT_CODE_COLUMN or (rest[1] == "/" and rest[2] in ("number", "numbers", "no", "#"))


def _header(tokens: list[str], word: int) -> bool | None:
    """Tell whether a serial word heads a table: None if not, else whether it has a model column."""
    columns = []
    for j in range(word - 1, max(word - 13, -1), -1):
        token = tokens[j]
        header_word = token[0].isupper() or token.lower() in _HEADER_WORDS or (token.isdigit() and len(token) <= 2)
        if token == "." or _is_serial_item(token) or not header_word:
            break  # "Both models have batch number 062024" is prose, not a header
        if _COLUMN_WORDS & set(token.lower().split("/")):  # "Model/Item #"
            columns.append(_is_code_column(tokens, j))
    return any(columns) if columns else None


def _serial_columns(tokens: list[str], word: int) -> int:
    """Count a table's serial and date columns ("First serial number Last serial number": 2)."""
    start = word
    while start > 0 and tokens[start - 1] != "." and not _COLUMN_WORDS & set(tokens[start].lower().split("/")):
        start -= 1  # back to the model column
    count = 0
    for i in range(start, len(tokens)):
        if i > word and (tokens[i] == "." or _is_serial_item(tokens[i])):
            break
        count += _is_serial_word(tokens, i) or (tokens[i].lower() == "date" and tokens[i - 1].lower() != "date")
    return max(count, 1)


def _like_model(token: str, models: list[str]) -> bool:
    """Tell whether a code looks like one of a table's models ("RTV-X900" beside "RTV-X1120")."""
    letters = re.match(r"[A-Za-z-]*", token)  # matches every token, if only with ""
    lead, fam = letters.group() if letters else "", _family(token)
    for model in models:
        other = _family(model)
        if other[2] == fam[2] and abs(other[1] - fam[1]) <= 1 and ((lead and model.startswith(lead)) or other == fam):
            return True
    return False


@dataclass
class _Row:
    """What a table scan has seen so far: the families of its serials, its models, the last cell."""

    with_models: bool
    columns: int
    serials: set[tuple[str, int, str]] = field(default_factory=set)
    models: list[str] = field(default_factory=list)
    last: str = ""  # "model" or "serial"
    sep: str = ""  # the separator since the last cell ("/", ",", "thru")
    count: int = 0  # serial cells since the last model


def _table_kind(row: _Row, token: str) -> str:
    """Decide whether a table cell is a model or a serial, from the row it is in."""
    if not row.with_models or _family(token) in row.serials or _VIN.match(token):
        return "serial"
    if _like_model(token, row.models) or (row.last == "model" and row.sep == "/"):
        return "model"
    digits = sum(c.isdigit() for c in token)  # serials are long numbers; "KX450MSFNN" is a model
    if row.last == "model":
        return "serial" if digits >= 4 else "model"
    if row.last == "serial" and (row.count < row.columns or row.sep in _SERIAL_SEPARATORS):
        return "serial" if digits >= 5 else "model"
    return "model"


def _is_cell(tokens: list[str], i: int) -> bool:
    token = tokens[i]
    long_number = _is_number(token) and len(model_key(token)) >= 6
    return _is_serial_item(token) and (_is_code(token) or long_number) and not _in_context(tokens, i)


def _table(scan: _Scan, start: int, with_models: bool) -> int:
    """Sort a flattened "Model Number Serial Numbers" table into models and serials; return its end."""
    tokens, prose, i = scan.tokens, 0, start
    row = _Row(with_models, _serial_columns(tokens, start - 1))
    for i in range(start, len(tokens)):
        token = tokens[i]
        if token == "." or prose >= 6:  # six lower-case words in a row: the table has ended
            break
        if (_DATE.match(token) or _YEAR.match(token)) and row.last:  # "01/15/24 CH1": a date column
            if re.search(r"[A-Za-z]", token):  # "06/15/23CH1": a date code
                scan.mark(i)
            row.count, row.last, row.sep = (row.count + 1 if row.last == "serial" else 1), "serial", ""
            continue
        if not _is_cell(tokens, i):
            prose = prose + 1 if token.isalpha() and token.islower() else 0
            row.sep = token.lower() if token.lower() in _SERIAL_SEPARATORS else row.sep
            continue
        kind, prose = _table_kind(row, token), 0
        if kind == "serial":
            row.serials.add(_family(token))
            scan.mark(i)
        else:
            row.models.append(token)
            scan.table_models.add(i)
        row.count = row.count + 1 if kind == row.last == "serial" else int(kind == "serial")
        row.last, row.sep = kind, ""
    return i


def _look_alikes(scan: _Scan) -> None:
    """Mark codes shaped like a known serial (same first character, length and pattern)."""
    families = {_family(scan.tokens[i]) for i in scan.serial if len(model_key(scan.tokens[i])) >= 6}
    for i, token in enumerate(scan.tokens):
        long_number = _is_number(token) and len(model_key(token)) >= 7
        if i not in scan.table_models and (_is_code(token) or long_number) and _family(token) in families:
            scan.mark(i)


def _scan(tokens: list[str]) -> _Scan:
    """Find the serial numbers, date codes, lots and ranges among a notice's tokens."""
    scan, ids = _Scan(tokens), _sentences_of(tokens)
    context, seen, end = [], -1, -1
    for i, token in enumerate(tokens):
        seen = i if _is_serial_word(tokens, i) else seen
        context.append(seen >= 0 and ids[seen] == ids[i])
        if i <= end or not _is_serial_word(tokens, i):
            continue
        header = _header(tokens, i)
        if header is not None:
            end = _table(scan, i + 1, header)
            continue
        end = _list_after(scan, i + 1) - 1
        if token.lower() in _CODE_LEADS | {"lot", "lots", "batch"}:
            _list_before(scan, i)
    _find_ranges(scan, ids, context)
    for i, token in enumerate(tokens):
        nxt = next((t for t in tokens[i + 1 : i + 3] if t != "-"), "")
        if _VIN.match(token) or (re.match(r"^[A-Z]{0,2}\d{5,}$", token) and _DATE.match(nxt)):
            scan.mark(i)  # "N00274 07/31/2025": a lot with its expiry date
    _look_alikes(scan)
    return scan
