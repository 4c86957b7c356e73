"""Plain-text rendering of replies and events, for the terminal and the CLI.

Chat adapters render the same :class:`Reply` in their own markup; the field
order and labels here are the reference they follow.
"""

from __future__ import annotations

import textwrap
from datetime import datetime, timedelta

from bot import i18n, messages
from bot.events import Alert, Change, Event, EventKind
from bot.i18n import _, format_date, format_datetime, format_duration, format_number
from bot.incidents import IncidentKind, Notice, Phase
from bot.replies import Reply
from bot.results import Match
from bot.sources.kinds import attribution_of, partner_of

_FIELD_LABELS = {
    "models": messages.LABEL_MODELS,
    "units": messages.LABEL_UNITS,
    "hazard": messages.LABEL_HAZARD,
    "remedy": messages.LABEL_REMEDY,
    "limits": messages.LABEL_LIMITS,
}


def labelled(label: str) -> tuple[str, str]:
    """Return a label with its colon, and what goes before the value: "Date:", " "; "日期：", ""."""
    colon = _(messages.COLON)
    return label + colon.rstrip(), colon[len(colon.rstrip()) :]


def remedy_text(event: Event) -> str:
    """Return what the owner should do, or why it is not shown (a source that carries another recall's remedy)."""
    if event.remedy:
        return event.remedy
    return _(messages.REMEDY_MISPLACED) if "misplaced_remedy" in event.extra else _(messages.UNKNOWN)


def units_line(event: Event) -> str:
    """Return the units figure with its note; CPSC prose ("About 2,100") already holds the figure."""
    figure = f"{event.units:,}" if event.units else ""
    if not event.units_text or figure == event.units_text:
        return figure
    if not figure or figure in event.units_text:
        return event.units_text
    return f"{figure} ({event.units_text})"


def event_fields(event: Event) -> list[tuple[str, str]]:
    """Return the (label, value) lines that describe an event, unknowns said as such."""
    unknown = _(messages.UNKNOWN)
    when = format_date(event.date) or unknown
    if event.kind is EventKind.SUSPENSION:
        return [
            (_(messages.LABEL_CERTIFICATE), event.certificate or unknown),
            (_(messages.LABEL_AUTHORITY), event.authority or unknown),
            (_(messages.LABEL_DATE), when),
            (_(messages.LABEL_REASON), event.reason or unknown),
            (_(messages.LABEL_BRANDS), ", ".join(event.linked_brands) or unknown),
            *quoted_field(event),
        ]
    models = ", ".join(event.models)
    if event.models_note:
        models = f"{models} ({event.models_note})" if models else event.models_note
    fields = [
        (_(messages.LABEL_MODELS), models or unknown),
        (_(messages.LABEL_UNITS), units_line(event) or unknown),
        (_(messages.LABEL_HAZARD), event.hazard or unknown),
        (_(messages.LABEL_REMEDY), remedy_text(event)),
        (_(messages.LABEL_LIMITS), event.limits or unknown),
        (_(messages.LABEL_CONTACT), event.contact or unknown),
        (_(messages.LABEL_AUTHORITY), event.authority or unknown),
        (_(messages.LABEL_DATE), when),
    ]
    return fields + provenance_fields(event) + quoted_field(event)


def quoted_field(event: Event) -> list[tuple[str, str]]:
    """Return the line that says the notice's words are the source's own, when they are not in the chat's language.

    The facts a source gives (hazard, remedy, contact) are quoted as published, never
    machine-translated: a consumer acts on them. Curated files may say their language
    (``language = "zh"``); every live source publishes in English.
    """
    source = i18n.language_of(event.extra.get("language")) or i18n.DEFAULT
    if source == i18n.current():
        return []
    name = _(messages.LANGUAGE_NAMES[source])
    return [(_(messages.LABEL_QUOTED), _(messages.QUOTED).format(language=name))]


def provenance_fields(event: Event) -> list[tuple[str, str]]:
    """Return where else the same recall was announced, and the licence line its source asks for."""
    fields = [(_(messages.LABEL_ALSO), f"{partner_of(url)}: {url}") for url in event.links]
    if attribution := attribution_of(event.id):
        fields.append((_(messages.LABEL_LICENCE), attribution))
    return fields


def change_text(change: Change) -> str:
    """Return one change of an update in words: "Models added: A1264"."""
    label = _(_FIELD_LABELS[change.field]) if change.field in _FIELD_LABELS else change.field
    if change.added:
        return _(messages.CHANGE_ADDED).format(label=label, values=", ".join(change.added))
    return _(messages.CHANGE_NOW).format(label=label, value=change.value or _(messages.UNKNOWN))


def alert_fields(alert: Alert) -> list[tuple[str, str]]:
    """Return the lines of an alert's card: what changed for an update, else the whole event."""
    event = alert.event
    if not (alert.is_update and alert.changes):
        return event_fields(event)
    return [
        *[(_(messages.LABEL_CHANGES), change_text(c)) for c in alert.changes],
        (_(messages.LABEL_LIMITS), event.limits or _(messages.UNKNOWN)),
        (_(messages.LABEL_CONTACT), event.contact or _(messages.UNKNOWN)),
        (_(messages.LABEL_DATE), format_date(event.date) or _(messages.UNKNOWN)),
        *provenance_fields(event),
        *quoted_field(event),
    ]


def match_notes(match: Match) -> list[tuple[str, str]]:
    """Return the lines that say why an event was picked and what to compare on the label."""
    notes = [(_(messages.LABEL_WHY), match.reason)] if match.reason else []
    if match.compare:
        notes.append((_(messages.LABEL_COMPARE), match.compare))
    return notes


def source_label(event: Event) -> str:
    """Return "Source", or "Reported by" for an event no official notice online backs."""
    return _(messages.LABEL_SOURCE) if event.url else _(messages.LABEL_REPORTED)


def event_heading(event: Event) -> str:
    """Return a one-line heading for an event."""
    if event.kind is EventKind.SUSPENSION:
        return _(messages.HEADING_SUSPENSION).format(supplier=event.supplier)
    return _(messages.HEADING_RECALL).format(name=event.name)


def _fill(text: str, width: int) -> str:
    # Addresses stay whole: a notice's URL broken at a hyphen cannot be copied.
    return textwrap.fill(
        text, width, initial_indent="  ", subsequent_indent="    ", break_on_hyphens=False, break_long_words=False
    )


def render_event(match: Match, width: int = 100, fields: list[tuple[str, str]] | None = None) -> str:
    """Render one event as an indented text block (``fields``: other lines than the whole event)."""
    event, colon = match.event, _(messages.COLON)
    lines = [event_heading(event)]
    for label, value in match_notes(match):
        lines.append(_fill(f"{label}{colon}{value}", width))
    for label, value in event_fields(event) if fields is None else fields:
        lines.append(_fill(f"{label}{colon}{value}", width))
    if event.kind is EventKind.SUSPENSION:
        lines.append(f"  {_(messages.POTENTIALLY_AFFECTED)}")
    if event.url:
        lines.append(f"  {_(messages.LABEL_LINK)}{colon}{event.url}")
    lines.append(f"  {source_label(event)}{colon}{event.source}")
    return "\n".join(lines)


def render_reply(reply: Reply) -> str:
    """Render a reply as plain text."""
    parts = [reply.text]
    parts += [render_event(m) for m in reply.matches]
    if reply.footer:
        parts.append(reply.footer)
    if reply.notes_header:
        parts.append(reply.notes_header)
        parts += [render_event(m) for m in reply.notes]
    if reply.buttons:
        parts.append(_(messages.NEXT).format(commands=" | ".join(f"/{b.command}" for b in reply.buttons)))
    return "\n\n".join(parts)


def digest_fields(alert: Alert) -> list[tuple[str, str]]:
    """Return the short card of one alert in a digest: what to do, whom to call, and the date."""
    event = alert.event
    return [
        (
            _(messages.LABEL_REMEDY),
            event.reason if event.kind is EventKind.SUSPENSION and event.reason else remedy_text(event),
        ),
        (_(messages.LABEL_CONTACT), event.contact or _(messages.UNKNOWN)),
        (_(messages.LABEL_DATE), format_date(event.date) or _(messages.UNKNOWN)),
        *quoted_field(event),
    ]


def alert_title(alert: Alert) -> str:
    """Return the alert's first line: what happened (for a digest, how many it carries)."""
    if alert.bundle:
        return messages.digest_title(len(alert.bundle))
    recall = alert.event.kind is EventKind.RECALL
    if alert.is_update:
        return _(messages.ALERT_UPDATED_RECALL) if recall else _(messages.ALERT_UPDATED_SUSPENSION)
    return _(messages.ALERT_NEW_RECALL) if recall else _(messages.ALERT_NEW_SUSPENSION)


def render_alert(alert: Alert) -> str:
    """Render an alert (or a digest of several) as plain text."""
    if alert.bundle:
        cards = [render_event(Match(a.event, messages.why(a.reasons)), fields=digest_fields(a)) for a in alert.bundle]
        return "\n\n".join([alert_title(alert), *cards])
    why = messages.why(alert.reasons)
    return f"{alert_title(alert)}\n\n{render_event(Match(alert.event, why), fields=alert_fields(alert))}"


ERROR_SHOWN = 500  # characters of a quoted error: a notice fits one Discord message (2,000)


def notice_text(notice: Notice) -> str:
    """Render a notice to the operator as plain text, in the current language; errors are quoted as they came."""
    incident, facts = notice.incident, notice.incident.facts
    since = datetime.fromisoformat(facts["since"]) if facts.get("since") else incident.opened_at
    lasted = format_duration((incident.cleared_at or incident.opened_at) - since)
    opened, ended = notice.phase is Phase.OPENED, incident.cleared_facts
    if incident.kind is IncidentKind.SOURCE_DOWN:
        if opened:
            return _(messages.NOTICE_SOURCE_DOWN).format(
                source=incident.subject,
                since=format_datetime(since),
                failures=messages.failures(int(facts.get("failures", 1))),
                error=_quoted(facts.get("error")),
            )
        if ended.get("dropped"):
            return _(messages.NOTICE_SOURCE_DROPPED).format(source=incident.subject)
        return _(messages.NOTICE_SOURCE_BACK).format(source=incident.subject, duration=lasted)
    if incident.kind is IncidentKind.DESTINATION_PAUSED:
        platform, _sep, address = incident.subject.partition(":")
        if opened:
            reason = _quoted(facts.get("reason"))
            since_text = format_datetime(since)
            return _(messages.NOTICE_PAUSED).format(platform=platform, address=address, since=since_text, reason=reason)
        if ended.get("deleted"):
            return _(messages.NOTICE_FORGOTTEN).format(platform=platform, address=address)
        return _(messages.NOTICE_RESUMED).format(platform=platform, address=address, duration=lasted)
    if incident.kind is IncidentKind.DESTINATIONS_PAUSED:
        if opened:
            examples = messages.listing([f"{chat} ({_quoted(reason)[:200]})" for chat, reason in facts["examples"]])
            return _(messages.NOTICE_PAUSED_MANY).format(count=format_number(int(facts["count"])), examples=examples)
        return _(messages.NOTICE_PAUSED_MANY_ENDED).format(duration=lasted)
    if incident.kind is IncidentKind.OUTBOX_STALE:
        if opened:
            error = _quoted(facts.get("error"))
            why = _(messages.NOTICE_OUTBOX_ERROR).format(error=error) if error else _(messages.NOTICE_OUTBOX_NO_ERROR)
            waiting = messages.alerts_waiting(int(facts.get("waiting", 0)))
            return _(messages.NOTICE_OUTBOX_STALE).format(since=format_datetime(since), waiting=waiting, why=why)
        wait = format_duration(timedelta(minutes=float(ended.get("minutes", 0))))
        return _(messages.NOTICE_OUTBOX_MOVING).format(wait=wait, duration=lasted)
    platform, _sep, instance = incident.subject.partition("/")
    platform, instance = platform.capitalize(), instance[:8]
    if opened:
        return _(messages.NOTICE_GUARD).format(
            platform=platform,
            count=format_number(int(facts.get("count", 0))),
            minutes=format_number(int(facts.get("minutes", 0))),
            instance=instance,
            seconds=format_number(int(facts.get("hold_seconds", 0))),
        )
    template = messages.NOTICE_GUARD_STOPPED if ended.get("stopped") else messages.NOTICE_GUARD_CLEARED
    return _(template).format(platform=platform, instance=instance, duration=lasted)


def _quoted(text: object) -> str:
    """Return an error or reason from a platform or source as it came, cut to fit one message."""
    return str(text or "")[:ERROR_SHOWN]
