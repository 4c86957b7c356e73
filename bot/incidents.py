"""What the operator is told of: incidents that begin and end, and the notices that tell of them.

An incident is one kind of trouble with one subject: source ``cpsc`` failing, chat
``telegram:-100123`` paused, the outbox stuck. It is open until its cause is gone; at most
one of a kind and subject is open at a time (the database enforces it), so however many
instances notice the same trouble, it is told once when it begins and once when it ends.
Its facts are kept as data and worded, in the operator chat's language, when sent.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.events import Alert, Destination


class IncidentKind(enum.StrEnum):
    SOURCE_DOWN = "source_down"  # subject: the source's name
    DESTINATION_PAUSED = "destination_paused"  # subject: "platform:address"
    DESTINATIONS_PAUSED = "destinations_paused"  # many paused in one look, told together; subject: "chats"
    OUTBOX_STALE = "outbox_stale"  # subject: "outbox"
    INVALID_REQUESTS = "invalid_requests"  # subject: "platform/instance id"


class Phase(enum.StrEnum):
    """Which end of an incident a notice tells of."""

    OPENED = "opened"
    CLEARED = "cleared"


@dataclass(frozen=True)
class Incident:
    kind: IncidentKind
    subject: str
    facts: dict[str, Any]  # what the notice that it began says: an error, a count, a time
    opened_at: datetime
    cleared_at: datetime | None = None
    cleared_facts: dict[str, Any] = field(default_factory=dict)
    id: int = 0


@dataclass(frozen=True)
class Notice:
    """One message to the operator about an incident. ``id`` is stable across retries, as an alert's."""

    id: int
    destination: Destination
    incident: Incident
    phase: Phase
    language: str | None = None  # the operator chat's chosen language


Outgoing = Alert | Notice  # what the delivery worker sends
