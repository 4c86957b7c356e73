"""The delivery outbox: alerts written with the event, claimed and settled by workers.

Every function takes a ``Session`` first; the caller owns the transaction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Text, and_, delete, func, literal, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select
from sqlmodel.sql.sqltypes import UTCDateTime

from bot.events import Alert, Change, Destination, Event
from storage.repo import get_events
from storage.tables import DeliveryRow, DestinationRow, InstanceRow, SubscriptionRow

PENDING, SENT, FAILED, GONE = "pending", "sent", "failed", "gone"


@dataclass(frozen=True)
class AlertKey:
    """A subscription key that an event alerts, and how to say why."""

    key_type: str
    key: str
    reason_prefix: str  # the reason is prefix + the subscription's own label + suffix
    reason_suffix: str = ""


@dataclass(frozen=True)
class Claim:
    """A delivery a worker has claimed and must settle."""

    alert: Alert
    attempts: int

    @property
    def id(self) -> int:
        return self.alert.id

    @property
    def destination(self) -> Destination:
        return self.alert.destination


def event_version(event: Event) -> str:
    """Return the short version tag of an event that its deliveries are keyed on."""
    return event.content_hash[:16]


def queue_alerts(
    session: Session,
    event: Event,
    keys: Sequence[AlertKey],
    *,
    is_update: bool,
    subscribed_before: datetime,
    now: datetime,
    changes: Sequence[Change] = (),
) -> int:
    """Write one delivery per destination whose subscriptions match ``keys``; return how many.

    Each key is one INSERT ... SELECT over the covering subscription index, so the
    work stays in the database however many subscriptions match. A destination
    that matches several keys gets one row: the later keys add their reason to it.
    Running this again for the same event version changes nothing.
    """
    sub = SubscriptionRow.__table__.c
    dest = DestinationRow.__table__.c
    table = DeliveryRow.__table__.c
    names = ["event_id", "event_hash", "is_update", "platform", "chat_id", "reasons", "status", "attempts"]
    names += ["next_attempt_at", "created_at", "changes"]
    changed = json.dumps([c.to_dict() for c in changes], ensure_ascii=False) if changes else None
    postgres = session.get_bind().dialect.name == "postgresql"
    find = func.strpos if postgres else func.instr
    version = event_version(event)
    before = session.exec(
        select(func.count()).where(DeliveryRow.event_id == event.id, DeliveryRow.event_hash == version)
    ).one()
    for key in keys:
        rows = (
            sa_select(
                literal(event.id),
                literal(version),
                literal(is_update),
                sub.platform,
                sub.chat_id,
                literal(key.reason_prefix) + sub.label + literal(key.reason_suffix),
                literal(PENDING),
                literal(0),
                literal(now, UTCDateTime()),
                literal(now, UTCDateTime()),
                literal(changed, Text()),
            )
            .select_from(
                SubscriptionRow.__table__.outerjoin(
                    DestinationRow.__table__, and_(dest.platform == sub.platform, dest.chat_id == sub.chat_id)
                )
            )
            .where(
                sub.key_type == key.key_type,
                sub.key == key.key,
                sub.created_at < subscribed_before,
                dest.paused_at.is_(None),
            )
        )
        insert = (pg_insert if postgres else sqlite_insert)(DeliveryRow).from_select(names, rows)
        new_reason = insert.excluded.reasons
        session.execute(
            insert.on_conflict_do_update(
                index_elements=["event_id", "event_hash", "platform", "chat_id"],
                set_={"reasons": table.reasons + "\n" + new_reason},
                where=and_(find(table.reasons, new_reason) == 0, table.status == PENDING),
            )
        )
    after = session.exec(
        select(func.count()).where(DeliveryRow.event_id == event.id, DeliveryRow.event_hash == version)
    ).one()
    return after - before


def claim_due(session: Session, platforms: Sequence[str], now: datetime, limit: int, lease: timedelta) -> list[Claim]:
    """Claim up to ``limit`` due deliveries for a while (``lease``); a crashed claimer's rows come back."""
    due = (
        select(DeliveryRow.id)
        .where(
            DeliveryRow.status == PENDING,
            col(DeliveryRow.platform).in_(platforms),
            DeliveryRow.next_attempt_at <= now,
            or_(col(DeliveryRow.claimed_until).is_(None), col(DeliveryRow.claimed_until) < now),
        )
        .order_by(col(DeliveryRow.next_attempt_at), col(DeliveryRow.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = list(session.exec(due).all())
    if not ids:
        return []
    session.execute(update(DeliveryRow).where(col(DeliveryRow.id).in_(ids)).values(claimed_until=now + lease))
    t = DeliveryRow.__table__.c
    rows = session.execute(
        sa_select(t.id, t.platform, t.chat_id, t.reasons, t.is_update, t.attempts, t.event_id, t.changes)
        .where(t.id.in_(ids))
        .order_by(t.next_attempt_at, t.id)
    ).all()
    # A fan-out claims many rows of one event: read and parse each event once.
    events = get_events(session, sorted({row.event_id for row in rows}))
    return [
        Claim(
            Alert(
                id=row.id,
                destination=Destination(row.platform, row.chat_id),
                event=events[row.event_id],
                reasons=tuple(sorted(set(row.reasons.splitlines()))),
                is_update=row.is_update,
                changes=tuple(Change.from_dict(c) for c in json.loads(row.changes)) if row.changes else (),
            ),
            attempts=row.attempts,
        )
        for row in rows
    ]


def release_claims(session: Session) -> int:
    """Return every claimed delivery to the queue (at start-up, when one process owns the database)."""
    statement = update(DeliveryRow).where(DeliveryRow.status == PENDING, col(DeliveryRow.claimed_until).is_not(None))
    return session.execute(statement.values(claimed_until=None)).rowcount


def _settle(session: Session, delivery_id: int, **values: object) -> None:
    session.execute(update(DeliveryRow).where(DeliveryRow.id == delivery_id).values(claimed_until=None, **values))


def mark_sent(session: Session, claim: Claim, now: datetime) -> None:
    """Record a delivery as sent; it is never sent again."""
    _settle(session, claim.id, status=SENT, sent_at=now, attempts=claim.attempts + 1, last_error=None)
    session.execute(
        update(DestinationRow)
        .where(
            DestinationRow.platform == claim.destination.platform, DestinationRow.chat_id == claim.destination.chat_id
        )
        .values(gone_count=0)
    )


def mark_retry(session: Session, claim: Claim, at: datetime, error: str, *, count_attempt: bool = True) -> None:
    """Put a delivery back in the queue until ``at``."""
    attempts = claim.attempts + (1 if count_attempt else 0)
    _settle(session, claim.id, next_attempt_at=at, attempts=attempts, last_error=error[:2000])


def mark_failed(session: Session, claim: Claim, error: str) -> None:
    """Record a delivery that can never be sent, keeping the error."""
    _settle(session, claim.id, status=FAILED, attempts=claim.attempts + 1, last_error=error[:2000])


def readdress(session: Session, old: Destination, new_chat_id: int) -> None:
    """Move a destination's subscriptions and pending alerts to a new chat id (a migrated group)."""
    for table in (SubscriptionRow, DeliveryRow):
        conditions = [table.platform == old.platform, table.chat_id == old.chat_id]
        if table is DeliveryRow:
            conditions.append(DeliveryRow.status == PENDING)
        session.execute(update(table).where(*conditions).values(chat_id=new_chat_id))


def _destination(session: Session, dest: Destination) -> DestinationRow:
    row = session.get(DestinationRow, (dest.platform, dest.chat_id))
    if row is None:
        row = DestinationRow(platform=dest.platform, chat_id=dest.chat_id)
        session.add(row)
    return row


def record_gone(session: Session, dest: Destination, reason: str, now: datetime, pause_after: int) -> bool:
    """Count a "gone" answer; pause the destination after ``pause_after`` in a row. Return True if paused."""
    row = _destination(session, dest)
    row.gone_count += 1
    if row.gone_count >= pause_after:
        pause_destination(session, dest, reason, now)
        return True
    return False


def pause_destination(session: Session, dest: Destination, reason: str, now: datetime) -> None:
    """Stop sending to a destination, keeping its subscriptions; its pending alerts become gone."""
    row = _destination(session, dest)
    row.paused_at, row.paused_reason = now, reason[:2000]
    session.execute(
        update(DeliveryRow)
        .where(
            DeliveryRow.platform == dest.platform, DeliveryRow.chat_id == dest.chat_id, DeliveryRow.status == PENDING
        )
        .values(status=GONE, claimed_until=None, last_error=f"destination paused: {reason}"[:2000])
    )


def resume_destination(session: Session, dest: Destination) -> bool:
    """Send to a paused destination again (it came back); return True if it was paused."""
    row = session.get(DestinationRow, (dest.platform, dest.chat_id))
    if row is None or row.paused_at is None:
        return False
    row.paused_at, row.paused_reason, row.gone_count = None, None, 0
    return True


def paused_reason(session: Session, dest: Destination) -> str | None:
    """Return why a destination is paused, or None."""
    row = session.get(DestinationRow, (dest.platform, dest.chat_id))
    return row.paused_reason if row and row.paused_at else None


def queue_depth(session: Session) -> int:
    """Return how many deliveries are waiting to be sent."""
    return session.exec(select(func.count()).select_from(DeliveryRow).where(DeliveryRow.status == PENDING)).one()


def deliveries_for(session: Session, dest: Destination) -> list[DeliveryRow]:
    """Return a destination's deliveries, oldest first."""
    return list(
        session.exec(
            select(DeliveryRow)
            .where(DeliveryRow.platform == dest.platform, DeliveryRow.chat_id == dest.chat_id)
            .order_by(col(DeliveryRow.id))
        ).all()
    )


def heartbeat(session: Session, instance_id: str, now: datetime, stale_after: timedelta) -> int:
    """Record that an instance is alive, forget silent ones, and return how many are alive."""
    row = session.get(InstanceRow, instance_id)
    if row is None:
        session.add(InstanceRow(id=instance_id, last_seen=now))
    else:
        row.last_seen = now
    session.execute(delete(InstanceRow).where(InstanceRow.last_seen < now - stale_after))
    session.flush()
    return session.exec(select(func.count()).select_from(InstanceRow)).one()


def forget_instance(session: Session, instance_id: str) -> None:
    """Remove an instance that is shutting down, so the others take its share at once."""
    session.execute(delete(InstanceRow).where(InstanceRow.id == instance_id))
