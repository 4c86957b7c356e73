"""Incidents and their notices: opened and cleared once, each phase queued in the outbox.

Every function takes a ``Session`` first; the caller owns the transaction, so an incident
and the notices that tell of it are written together or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, not_, tuple_, update
from sqlmodel import Session, col, select

from bot.events import Destination
from bot.incidents import Incident, IncidentKind, Phase
from storage.outbox import HELD_FOR_DIGEST, HELD_FOR_QUIET, NOT_FAILURES, PENDING
from storage.repo import chunks, incident_of, upsert_insert
from storage.tables import DeliveryRow, DestinationRow, IncidentRow, InstanceRow, table_of


def _json(facts: dict[str, Any]) -> str:
    return json.dumps(facts, ensure_ascii=False, default=str)


def open_incident(
    session: Session,
    kind: IncidentKind,
    subject: str,
    facts: dict[str, Any],
    now: datetime,
    tell: Sequence[Destination],
) -> int | None:
    """Open an incident and queue its notice to ``tell``; return its id, or None if one is open already.

    One INSERT ... ON CONFLICT DO NOTHING on the index of open incidents: of several
    instances that see the same trouble at once, one opens it and the others do nothing.
    """
    table = table_of(IncidentRow)
    insert = upsert_insert(session, table).values(
        kind=kind.value, subject=subject[:300], detail=_json(facts), opened_at=now
    )
    opened = session.execute(
        insert.on_conflict_do_nothing(
            index_elements=["kind", "subject"], index_where=col(IncidentRow.cleared_at).is_(None)
        ).returning(table.c.id)
    ).scalar_one_or_none()
    if opened is not None:
        _queue_notices(session, opened, Phase.OPENED, tell, now)
    return opened


def clear_incident(
    session: Session,
    kind: IncidentKind,
    subject: str,
    facts: dict[str, Any],
    now: datetime,
    tell: Sequence[Destination],
) -> int | None:
    """Clear the open incident of a kind and subject, queueing its notice; return its id (None: none was open)."""
    table = table_of(IncidentRow)
    cleared = session.execute(
        update(table)
        .where(table.c.kind == kind.value, table.c.subject == subject[:300], table.c.cleared_at.is_(None))
        .values(cleared_at=now, cleared_detail=_json(facts))
        .returning(table.c.id)
    ).scalar_one_or_none()
    if cleared is not None:
        _queue_notices(session, cleared, Phase.CLEARED, tell, now)
    return cleared


def _queue_notices(
    session: Session, incident_id: int, phase: Phase, tell: Sequence[Destination], now: datetime
) -> None:
    """Queue one notice per operator destination that is not paused (a paused one would never be sent)."""
    for dest in tell:
        row = session.get(DestinationRow, (dest.platform, dest.address))
        if row is not None and row.paused_at is not None:
            continue
        values = {
            "incident_id": incident_id,
            "event_hash": phase.value,
            "is_update": False,
            "platform": dest.platform,
            "address": dest.address,
            "reasons": "",
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        insert = upsert_insert(session, table_of(DeliveryRow)).values(values)
        session.execute(
            insert.on_conflict_do_nothing(index_elements=["incident_id", "event_hash", "platform", "address"])
        )


def open_incidents(session: Session, kind: IncidentKind | None = None) -> list[Incident]:
    """Return the open incidents (of one kind), oldest first."""
    query = select(IncidentRow).where(col(IncidentRow.cleared_at).is_(None))
    if kind is not None:
        query = query.where(IncidentRow.kind == kind.value)
    return [incident_of(row) for row in session.exec(query.order_by(col(IncidentRow.opened_at), col(IncidentRow.id)))]


# --- what the watch looks at -----------------------------------------------------------


def paused_for_the_operator(session: Session) -> list[DestinationRow]:
    """Return the destinations paused for a reason other than their users' choice that have no open incident."""
    told = exists().where(
        col(IncidentRow.kind) == IncidentKind.DESTINATION_PAUSED.value,
        col(IncidentRow.cleared_at).is_(None),
        col(IncidentRow.subject) == col(DestinationRow.platform) + ":" + col(DestinationRow.address),
    )
    query = select(DestinationRow).where(
        col(DestinationRow.paused_at).is_not(None), col(DestinationRow.paused_by_user).is_(False), ~told
    )
    return list(session.exec(query.order_by(col(DestinationRow.paused_at))))


def pause_incidents(session: Session) -> list[tuple[Incident, bool | None]]:
    """Return each open incident of a paused destination, and whether that destination is paused still.

    None: nothing is stored about it any more (/forget, or its server's data was deleted).
    """
    open_ = open_incidents(session, IncidentKind.DESTINATION_PAUSED)
    chats = [tuple(incident.subject.split(":", 1)) for incident in open_]
    paused: dict[str, bool] = {}
    for some in chunks(chats):  # looked up by primary key, many at a time
        rows = session.exec(
            select(DestinationRow.platform, DestinationRow.address, DestinationRow.paused_at).where(
                tuple_(col(DestinationRow.platform), col(DestinationRow.address)).in_(some)
            )
        )
        paused.update({f"{platform}:{address}": at is not None for platform, address, at in rows})
    return [(incident, paused.get(incident.subject)) for incident in open_]


def live_instances(session: Session) -> set[str]:
    """Return the ids of the instances in the instance table (the heartbeat forgets silent ones)."""
    return set(session.exec(select(InstanceRow.id)))


@dataclass(frozen=True)
class Waiting:
    """The alerts waiting to be sent: how many, and since when the longest-waiting one has."""

    count: int
    since: datetime | None
    error: str | None  # why the longest-waiting one's last send failed; None if none did


def waiting(session: Session, now: datetime, platforms: Collection[str]) -> Waiting:
    """Return how long the longest-waiting pending delivery of ``platforms`` has waited to be sent.

    An alert held for its chat's digest or quiet hours waits on purpose: it is not counted
    until its release, and then counts from the release, through any retries. Any other
    counts from when it was queued until it is settled.
    """
    reason = func.coalesce(col(DeliveryRow.last_error), "")
    on_purpose = and_(reason.in_([HELD_FOR_DIGEST, HELD_FOR_QUIET]), col(DeliveryRow.next_attempt_at) > now)
    since = func.coalesce(col(DeliveryRow.released_at), col(DeliveryRow.created_at))
    counted = and_(col(DeliveryRow.status) == PENDING, col(DeliveryRow.platform).in_(list(platforms)), not_(on_purpose))
    count, oldest = session.exec(select(func.count(), func.min(since)).where(counted)).one()
    if oldest is None:
        return Waiting(count, None, None)
    error = session.exec(
        select(DeliveryRow.last_error).where(counted, since == oldest).order_by(col(DeliveryRow.id)).limit(1)
    ).first()
    return Waiting(count, oldest, error if error not in (None, *NOT_FAILURES) else None)
