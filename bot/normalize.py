"""Keys that make spellings of the same model, brand or supplier compare equal.

A model key keeps letters and digits only, upper-cased, so ``PAC20-272``,
``pac20 272`` and ``PAC20272`` are one key. A name key (brands, companies,
suppliers) keeps words, lower-cased, with legal suffixes such as "Co., Ltd."
removed, so "Anker Innovations Limited" and "anker innovations" are one key.
Chinese, Japanese and Korean characters are kept in name keys ("小米" is a key of
its own); accents and full-width forms are folded ("ÅSKSTORM" is "askstorm").
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

_NOT_ALNUM = re.compile(r"[^0-9A-Z]+")
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_CJK_RUN = re.compile(f"([{_CJK}]+)")
_WORDS = re.compile(f"[0-9a-z]+(?:['’][a-z]+)?|[{_CJK}]+")

# Words that end a company name without being part of the brand.
LEGAL_SUFFIXES = frozenset(
    [
        "inc",
        "incorporated",
        "llc",
        "ltd",
        "limited",
        "co",
        "company",
        "corp",
        "corporation",
        "gmbh",
        "ag",
        "sa",
        "sas",
        "bv",
        "nv",
        "plc",
        "pty",
        "pte",
        "lp",
        "llp",
        "srl",
        "spa",
        "kk",
        "oy",
        "ab",
        "as",
        "dba",
    ]
)


def fold(text: str) -> str:
    """Fold accents and compatibility forms (full-width digits, ligatures) to ASCII."""
    decomposed = unicodedata.normalize("NFKD", text)
    return decomposed.encode("ascii", "ignore").decode("ascii")


def model_key(text: str) -> str:
    """Return the comparison key of a model number: letters and digits, upper-cased."""
    return _NOT_ALNUM.sub("", fold(text).upper())


def fold_names(text: str) -> str:
    """Fold like :func:`fold`, but keep CJK characters (as words of their own)."""
    parts = _CJK_RUN.split(unicodedata.normalize("NFKC", text))
    return " ".join(part if i % 2 else fold(part) for i, part in enumerate(parts))


def name_words(text: str) -> list[str]:
    """Split a brand, company or supplier name into lower-case words."""
    return [w.replace("’", "'") for w in _WORDS.findall(fold_names(text).lower().replace("&", " and "))]


def name_key(text: str) -> str:
    """Return the comparison key of a brand, company or supplier name."""
    words = name_words(text)
    if words and words[0] == "the":
        words = words[1:]
    while len(words) > 1 and words[-1] in LEGAL_SUFFIXES:
        words.pop()
    return " ".join(words)


def has_digit(text: str) -> bool:
    """Tell whether the text holds at least one ASCII digit."""
    return any(c.isdigit() for c in text)


def gtin_key(text: str) -> str:
    """Return a barcode as 14 digits (EAN-13, UPC-A, EAN-8 and GTIN-14 alike); "" if it is none.

    The leading zeros a GTIN gains as 14 digits are often dropped in print ("70882069258"
    for UPC 070882069258), so every length from 8 to 14 is padded the same way.
    """
    digits = "".join(ch for ch in unicodedata.normalize("NFKC", text) if ch.isdigit())
    return digits.zfill(14) if 8 <= len(digits) <= 14 else ""


def link_key(url: str) -> str:
    """Return a notice's address without scheme, "www.", query, fragment and final slash."""
    key = re.sub(r"^[a-z]+://(www\.)?", "", url.strip().lower()).split("#")[0].split("?")[0].rstrip("/")
    return key if len(key) <= 200 else hashlib.sha256(key.encode()).hexdigest()
