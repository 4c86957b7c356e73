"""Folding text for the full-text index: the same tokens on SQLite (FTS5) and PostgreSQL.

Documents and queries are folded here, in Python, and stored as space-joined tokens, so
each database's tokenizer only splits at spaces and both answer a query alike. A token
is a run of letters, marks and digits, case-folded, accents dropped and digits of every
script written as ASCII ("ÅSKSTORM" is "askstorm", "ＡＮＫＥＲ５３５" is "anker535").
Neither database segments Chinese, Japanese or Korean words, so each ideograph, kana
or hangul syllable is a token of its own: "罗马仕" is "罗", "马", "仕".
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.events import Event

# Ranges whose characters are one token each (kana, hangul, bopomofo, ideographs).
_CJK = (
    "\u1100-\u11ff\u3040-\u30ff\u3100-\u318f\u31a0-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
    "\ua960-\ua97f\uac00-\ud7ff\uf900-\ufaff\U00020000-\U0003ffff"
)
_IS_CJK = re.compile(f"[{_CJK}]")
_APOSTROPHES = "'’ʼ"
_DIGIT_PARTS = re.compile(r"[0-9]+|[^0-9]+")

# Query words too common to narrow anything; documents keep them, so none is lost.
STOP_WORDS = frozenset(
    # "or", "not", "near": FTS operators typed as text; alone they would match half the notices
    {"the", "a", "an", "of", "and", "or", "not", "near", "for", "with", "by", "in", "on", "to", "my", "is", "it"}
    | {"recall", "recalled"}
)


class _FoldTable(dict[int, str]):
    """A str.translate table that works each character out once, on first sight."""

    def __missing__(self, code: int) -> str:
        self[code] = folded = _fold_char(chr(code))
        return folded


def _fold_char(char: str) -> str:
    if char in _APOSTROPHES:
        return ""  # "Lowe's" is "lowes"
    if char == "&":
        return " and "
    if _IS_CJK.match(char) and unicodedata.category(char)[0] in "LN":
        return f" {char} "
    out = []
    for part in unicodedata.normalize("NFKD", char):
        category = unicodedata.category(part)
        if unicodedata.combining(part):
            continue  # an accent: "Å" is "A"
        if category == "Nd":
            out.append(str(unicodedata.digit(part)))
        elif category[0] in "LM":
            out.append(part)
        else:
            out.append(" ")
    return "".join(out)


_TABLE = _FoldTable()


def _words(text: str) -> list[str]:
    """Split text into folded words that still have their case."""
    return unicodedata.normalize("NFKC", text).translate(_TABLE).split()


def terms(text: str) -> list[str]:
    """Fold text into search tokens: lower-case, no accents, one token per CJK character, no plural s."""
    # Fold again after casefold: "İ" casefolds to "i" and a combining dot. And lower():
    # casefold maps Cherokee to upper case, which PostgreSQL would lower, SQLite not.
    return [singular(token) for word in _words(text) for token in word.casefold().lower().translate(_TABLE).split()]


def singular(token: str) -> str:
    """Drop an English plural s ("banks" is "bank"), the same on both sides of a search.

    Neither backend stems here (documents are pre-folded for both alike), and an owner
    types "power bank" for a notice of "Power Banks".
    """
    if len(token) > 3 and token.isascii() and token.isalpha() and token[-1] == "s" and token[-2] not in "sui":
        return token[:-1]
    return token


def digit_parts(token: str) -> list[str]:
    """Return the letter and digit runs of a token that mixes both ("10k": "10", "k"), else []."""
    parts = _DIGIT_PARTS.findall(token)
    return parts if len(parts) > 1 else []


def _camel_parts(word: str) -> list[str]:
    """Return the parts of a camel-cased word ("SharkNinja": "Shark", "Ninja"), else []."""
    cuts = [i for i in range(1, len(word)) if word[i - 1].islower() and word[i].isupper()]
    return [word[a:b] for a, b in zip([0, *cuts], [*cuts, len(word)], strict=True)] if cuts else []


def _document_tokens(texts: list[str]) -> str:
    out: list[str] = []
    for text in dict.fromkeys(t for t in texts if t):  # the event's name is often its first product
        for word in _words(text):
            # A glued query ("blendjet2") and a spaced one ("BlendJet 2") both hit, and so
            # does a brand inside a compound ("Ninja" of "SharkNinja").
            tokens: list[str] = []
            for piece in [word, *_camel_parts(word)]:
                for token in terms(piece):
                    tokens += [token, *digit_parts(token)]
            out += dict.fromkeys(tokens)
    return " ".join(out)


def document(event: Event) -> dict[str, str]:
    """Return the event's searchable text: its names, its title and its brands, folded."""
    return {
        "names": _document_tokens([*event.products, *event.models, event.name]),
        "title": _document_tokens([event.title]),
        "brand": _document_tokens([event.brand or "", *event.aliases, event.supplier or "", *event.linked_brands]),
    }


def query_terms(text: str) -> list[list[str]]:
    """Return the token lists to search for, best first: as typed, then letters and digits apart."""
    typed = [token for token in terms(text) if token not in STOP_WORDS]
    if not typed:
        return []
    alternatives = [typed]
    split = [part for token in typed for part in (digit_parts(token) or [token])]
    if split != typed:
        alternatives.append(split)
    return alternatives
