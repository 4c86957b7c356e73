"""Discord embeds for replies and alerts, kept inside Discord's message limits.

Discord refuses a message whose content passes 2,000 characters, an embed whose title
passes 256, description 4,096, field value 1,024, or more than 25 fields, and a message
whose embeds hold more than 6,000 characters in all (10 embeds at most). Long replies
are split over several messages; a long field is trimmed and points at the notice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import discord

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
from bot.replies import Button, Reply
from bot.results import Match

CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
EMBED_TOTAL_LIMIT = 6000
EMBEDS_PER_MESSAGE = 10
RECALL_COLOUR = discord.Colour(0xC62828)  # red: a product to stop using
SUSPENSION_COLOUR = discord.Colour(0xEF6C00)  # orange: potentially affected
BUTTON_PREFIX = "recallbot:"  # a button's custom id is this and the command it runs
TRIMMED = "… (trimmed; the official notice has it all)"
TRIMMED_NO_LINK = "… (trimmed)"


@dataclass
class Page:
    """One Discord message: text and up to ten embeds."""

    content: str | None = None
    embeds: list[discord.Embed] = field(default_factory=list)


def trim(text: str, limit: int, has_link: bool = True) -> str:
    """Cut text to ``limit`` characters, saying it was cut and where to read the rest."""
    if len(text) <= limit:
        return text
    tail = TRIMMED if has_link else TRIMMED_NO_LINK
    return text[: max(0, limit - len(tail))].rstrip() + tail


def event_embed(match: Match, fields: list[tuple[str, str]] | None = None) -> discord.Embed:
    """Return an embed for one event; the longest fields are trimmed until it fits in 6,000 characters.

    ``fields`` replaces the event's own lines (an update alert shows what changed).
    ``len(embed)`` is discord.py's count of the characters Discord holds against that limit.
    """
    event = match.event
    linked = bool(event.url)
    description = "\n".join("**{}**{}".format(*labelled(label)) + value for label, value in match_notes(match))
    if event.kind is EventKind.SUSPENSION:
        description = f"{description}\n{_(messages.POTENTIALLY_AFFECTED)}".strip()
    title = trim(event_heading(event), TITLE_LIMIT, linked)
    footer = trim(f"{source_label(event)}{_(messages.COLON)}{event.source}", FOOTER_LIMIT, linked)
    limit = FIELD_VALUE_LIMIT
    while True:
        embed = discord.Embed(
            title=title,
            url=event.url,
            colour=SUSPENSION_COLOUR if event.kind is EventKind.SUSPENSION else RECALL_COLOUR,
            description=trim(description, min(DESCRIPTION_LIMIT, limit * 4), linked) or None,
        )
        for label, value in event_fields(event) if fields is None else fields:  # short labels; long values
            embed.add_field(name=label, value=trim(value, limit, linked), inline=False)
        embed.set_footer(text=footer)
        if len(embed) <= EMBED_TOTAL_LIMIT or limit <= 64:
            return embed
        limit //= 2


def _pack(content: str | None, embeds: list[discord.Embed]) -> list[Page]:
    """Put embeds on as few messages as the per-message limits allow; the text goes first."""
    pages = [Page(content)]
    used = 0
    for embed in embeds:
        size = len(embed)
        page = pages[-1]
        if len(page.embeds) >= EMBEDS_PER_MESSAGE or (page.embeds and used + size > EMBED_TOTAL_LIMIT):
            pages.append(Page())
            used = 0
        pages[-1].embeds.append(embed)
        used += size
    return pages


def split_text(text: str, limit: int = CONTENT_LIMIT) -> list[str]:
    """Split text into messages of at most ``limit`` characters, between lines where possible."""
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:  # one line longer than a message: cut it
            if current:
                chunks.append(current)
                current = ""
            chunks.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            chunks.append(current)
            candidate = line
        current = candidate
    if current.strip():
        chunks.append(current)
    return chunks or [""]


def reply_pages(reply: Reply) -> list[Page]:
    """Render a reply as messages: the text, one embed per event, then any notes."""
    texts = split_text(reply.text + (f"\n{reply.footer}" if reply.footer else ""))
    pages = [Page(text) for text in texts[:-1]]
    pages += _pack(texts[-1], [event_embed(m) for m in reply.matches])
    if reply.notes:
        notes = [event_embed(Match(m.event, "")) for m in reply.notes]
        pages += _pack(trim(reply.notes_header or "", CONTENT_LIMIT), notes)
    return pages


def alert_page(alert: Alert) -> Page:
    """Render an alert as one message: its title, and the event's embed with why it came here.

    A digest is one message too: an embed per alert, up to Discord's ten, the rest named
    in the text.
    """
    if alert.bundle:
        shown, rest = alert.bundle[:EMBEDS_PER_MESSAGE], alert.bundle[EMBEDS_PER_MESSAGE:]
        embeds = [event_embed(Match(a.event, messages.why(a.reasons)), digest_fields(a)) for a in shown]
        while sum(len(e) for e in embeds) > EMBED_TOTAL_LIMIT and len(embeds) > 1:  # Discord counts all of them
            rest = (alert.bundle[len(embeds) - 1], *rest)
            embeds.pop()
        content = alert_title(alert)
        if rest:
            names = "; ".join(f"{event_heading(a.event)} {a.event.url or ''}".strip() for a in rest)
            content = trim(f"{content}\n{_(messages.DIGEST_MORE).format(count=len(rest), names=names)}", CONTENT_LIMIT)
        return Page(content, embeds)
    why = messages.why(alert.reasons)
    return Page(alert_title(alert), [event_embed(Match(alert.event, why), alert_fields(alert))])


# Under every alert: it lists what the channel follows, each with its own Unsubscribe button.
ALERT_BUTTON = Button(messages.BUTTON_UNSUBSCRIBE, "subscriptions")  # its label is translated where it is shown


def buttons_view(buttons: tuple[Button, ...]) -> discord.ui.View | None:
    """Return the reply's buttons (at most 25); a command too long for a custom id is left out."""
    view = discord.ui.View(timeout=None)
    for button in buttons:
        custom_id = BUTTON_PREFIX + button.command
        if len(custom_id) <= 100 and len(view.children) < 25:
            view.add_item(discord.ui.Button(label=button.label[:80], custom_id=custom_id))
    view.stop()  # a layout only: presses arrive through the client's interaction listener
    return view if view.children else None
