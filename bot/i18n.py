"""The languages recallbot speaks: gettext catalogs, one chosen per chat, active per task.

English is the source language: every sentence is written in English in the code and
marked for extraction (``_`` translates now, ``N_`` only marks a constant that is
translated where it is used). ``bot/locale/messages.pot`` is extracted with Babel and each
language has ``bot/locale/<lang>/LC_MESSAGES/recallbot.po``; the ``.mo`` files are
compiled when the package is built or installed (``setup.py``), never committed.

The language is set around the handling of one update or the sending of one alert
(``with language("zh_Hans"): ...``). It lives in a ContextVar, so concurrent asyncio tasks
each see their own, and so do the threads ``asyncio.to_thread`` starts (it copies the
context).
"""

from __future__ import annotations

import gettext
import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Literal

from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.dates import format_skeleton, format_timedelta
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

logger = logging.getLogger(__name__)

DOMAIN = "recallbot"
LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT = "en"
LANGUAGES = ("en", "zh_Hans")  # what a chat can choose; "zh_Hans" is Simplified Chinese

_active: ContextVar[str] = ContextVar("recallbot_language", default=DEFAULT)


@cache
def translations(lang: str) -> gettext.NullTranslations:
    """Return the compiled catalog of a language; English (the source) has none.

    A checkout used without `pip install` (or a build that skipped setup.py) has no .mo
    file: the .po is then compiled in memory, so the chat is still answered in its language.
    """
    if lang == DEFAULT:
        return gettext.NullTranslations()
    try:
        return gettext.translation(DOMAIN, localedir=LOCALE_DIR, languages=[lang])
    except FileNotFoundError:
        po = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
        logger.warning("no compiled catalog for %s; compiling %s in memory (reinstall to compile it)", lang, po)
        with po.open("rb") as source:
            catalog = read_po(source, locale=lang)
        compiled = io.BytesIO()
        write_mo(compiled, catalog, use_fuzzy=False)
        compiled.seek(0)
        return gettext.GNUTranslations(compiled)


def current() -> str:
    """Return the language of the reply or alert being made."""
    return _active.get()


@contextmanager
def language(lang: str | None) -> Iterator[str]:
    """Speak ``lang`` (None or unknown: English) inside the block."""
    chosen = lang if lang in LANGUAGES else DEFAULT
    token = _active.set(chosen)
    try:
        yield chosen
    finally:
        _active.reset(token)


def _(message: str) -> str:
    """Return ``message`` in the current language."""
    return translations(_active.get()).gettext(message)


def N_(message: str) -> str:
    """Mark ``message`` for extraction; it is translated where it is used, with ``_``."""
    return message


def P_(context: str, message: str) -> str:
    """Mark ``message`` with its context for extraction; it is translated where used, with :func:`pgettext`."""
    return message


def pgettext(context: str, message: str) -> str:
    """Return ``message`` in the current language, as translated for ``context`` ("slash command")."""
    return translations(_active.get()).pgettext(context, message)


def ngettext(singular: str, plural: str, count: int) -> str:
    """Return the singular or plural form of a message for ``count``, in the current language."""
    return translations(_active.get()).ngettext(singular, plural, count)


def language_of(code: str | None) -> str | None:
    """Return the catalog for a platform's or a user's language code, or None if there is none.

    Telegram sends IETF tags ("zh-hans", "en"), Discord its locales ("zh-CN", "zh-TW",
    "en-US"); people type "zh", "中文" or "English". Traditional Chinese readers get the
    Simplified catalog for now: it is far closer to what they read than English.
    """
    if not code:
        return None
    tag = code.strip().lower().replace("_", "-")
    if tag in ("中文", "汉语", "漢語", "简体中文", "chinese", "cn") or tag.split("-")[0] == "zh":
        return "zh_Hans"
    if tag in ("english", "英文", "英语") or tag.split("-")[0] == "en":
        return "en"
    return None


def _locale() -> Locale:
    return Locale.parse(_active.get())


def format_date(day: date | None) -> str:
    """Return a date as readers of the current language write it: "Jun 19, 2025", "2025年6月19日"."""
    return babel_format_date(day, format="medium", locale=_locale()) if day else ""


def format_datetime(moment: datetime) -> str:
    """Return a moment in UTC to the minute, as the current language writes it: "Jul 3, 2025 08:30 UTC"."""
    utc = moment.astimezone(UTC)
    return f"{format_date(utc.date())} {format_skeleton('Hm', utc, tzinfo=UTC, locale=_locale())} UTC"


def format_number(number: int) -> str:
    """Return a count with the current language's grouping: "2,100"."""
    return format_decimal(number, locale=_locale())


def format_duration(span: timedelta) -> str:
    """Return a span of time in its two largest units, as the current language says it: "1 day 12 hours", "1天12小时".

    Babel words one unit and rounds to it (36 hours is "2 days"); an operator reading how long
    an outage lasted needs the second unit too.
    """
    seconds = max(0, round(span.total_seconds()))
    if seconds < 60:
        return format_timedelta(timedelta(seconds=seconds), granularity="second", threshold=1000, locale=_locale())
    days, rest = divmod(round(seconds / 60), 24 * 60)
    hours, minutes = divmod(rest, 60)
    units: list[tuple[int, Literal["day", "hour", "minute"]]] = [(days, "day"), (hours, "hour"), (minutes, "minute")]
    first = next(n for n, (count, _unit) in enumerate(units) if count)
    words = [
        format_timedelta(timedelta(**{f"{unit}s": count}), granularity=unit, threshold=1000, locale=_locale())
        for count, unit in units[first : first + 2]
        if count
    ]
    return ("" if _active.get().startswith("zh") else " ").join(words)
