"""Telegram HTML for replies and alerts: every dynamic value escaped, messages split at 4096.

Model numbers, company names and hazard texts contain ``<``, ``&``, ``_`` and
``*``; HTML parse mode needs only ``<``, ``>`` and ``&`` escaped, and leaves
``_`` and ``*`` alone (Markdown would not).
"""

from __future__ import annotations

from html import escape as _escape

from bot import messages
from bot.events import Alert, EventKind
from bot.i18n import _
from bot.render import (
    alert_fields,
    alert_title,
    digest_fields,
    event_fields,
    event_heading,
    labelled,
    match_notes,
    source_label,
)
from bot.replies import Reply
from bot.results import Match

LIMIT = 4096


def escape(text: str, quote: bool = False) -> str:
    """Escape text for Telegram HTML: &, < and > (and quotes inside attributes)."""
    return _escape(text, quote=quote)


_PIECE = 800  # plain characters per piece of an over-long line: escaped, still under LIMIT


def _line(label: str, value: str, *, italic: bool = False) -> list[str]:
    """Return a "label: value" line, cut into pieces if the value alone would pass the limit."""
    pieces = [value[i : i + _PIECE] for i in range(0, len(value), _PIECE)] or [""]
    head, space = labelled(label)  # "Date:" and a space, or "日期：" and none
    if italic:
        return [f"<i>{escape(head)}{space}{escape(pieces[0])}</i>"] + [f"<i>{escape(p)}</i>" for p in pieces[1:]]
    head = f"<b>{escape(head)}</b>{space}{escape(pieces[0])}"
    return [head] + [escape(piece) for piece in pieces[1:]]


def event_lines(match: Match, fields: list[tuple[str, str]] | None = None) -> list[str]:
    """Return the HTML lines of one event card (``fields``: other lines than the whole event)."""
    event = match.event
    lines = [f"<b>{escape(event_heading(event))}</b>"]
    for label, value in match_notes(match):
        lines += _line(label, value, italic=True)
    for label, value in event_fields(event) if fields is None else fields:
        lines += _line(label, value)
    if event.kind is EventKind.SUSPENSION:
        lines.append(f"<i>{escape(_(messages.POTENTIALLY_AFFECTED))}</i>")
    if event.url:
        lines.append(f'<a href="{escape(event.url, quote=True)}">{escape(_(messages.LABEL_LINK))}</a>')
    lines += _line(source_label(event), event.source)
    return lines


def split(lines: list[str], limit: int = LIMIT) -> list[str]:
    """Join lines into messages of at most ``limit`` characters, breaking only between lines."""
    messages_out: list[str] = []
    current = ""
    for line in lines:
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit and current:
            messages_out.append(current.rstrip("\n"))
            candidate = line
        current = candidate
    if current.strip():
        messages_out.append(current.rstrip("\n"))
    return messages_out


def reply_html(reply: Reply) -> list[str]:
    """Render a reply as one or more HTML messages."""
    lines = [escape(line) for line in reply.text.split("\n")]
    for match in reply.matches:
        lines += ["", *event_lines(match)]
    if reply.footer:
        lines += ["", escape(reply.footer)]
    if reply.notes_header:
        lines += ["", f"<b>{escape(reply.notes_header)}</b>"]
        for match in reply.notes:
            lines += ["", *event_lines(match)]
    return split(lines)


def alert_html(alert: Alert) -> list[str]:
    """Render an alert (or a digest of several) as one or more HTML messages."""
    if alert.bundle:
        lines = [f"<b>{escape(alert_title(alert))}</b>"]
        for each in alert.bundle:
            lines += ["", *event_lines(Match(each.event, messages.why(each.reasons)), fields=digest_fields(each))]
        return split(lines)
    why = messages.why(alert.reasons)
    card = event_lines(Match(alert.event, why), fields=alert_fields(alert))
    return split([f"<b>{escape(alert_title(alert))}</b>", "", *card])
