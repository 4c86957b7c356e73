"""The delivery outbox: alerts written with the event, claimed and settled by workers.

Every function takes a ``Session`` first; the caller owns the transaction.

A claim is a lease with an owner: ``claimed_by`` names the claiming instance and
``claimed_until`` ends the lease. Only the owner settles or renews it. A claim comes back
to the queue when its lease ends or, sooner, when its owner is dead: absent from the
instance table or silent for ``CLAIMER_DEAD_AFTER``. A settle that finds its claim taken
over records nothing, so a late "failed" never overwrites "sent"; the price is that the
alert may have been sent twice (at-least-once).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Exists, Row, Text, and_, delete, exists, func, literal, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, SQLModel, col, select
from sqlmodel.sql.sqltypes import UTCDateTime

from bot.events import Alert, Change, Destination, Event, Reason
from bot.incidents import Notice, Outgoing, Phase
from bot.schedule import Schedule
from storage.repo import get_events, get_incidents, upsert_insert
from storage.tables import DeliveryRow, DestinationRow, InstanceRow, SubscriptionRow, table_of

logger = logging.getLogger(__name__)

PENDING, SENT, FAILED, GONE = "pending", "sent", "failed", "gone"

# Workers heartbeat every second; five missed beats in a row mean the claimer is dead (a
# SIGKILL, a lost host), not slow: its claims are taken over at once instead of after the
# lease. Shorter would take claims from a live instance whose beat came a little late (a
# busy database, a GC pause) and send them twice; longer keeps the killed instance's users
# waiting. Instances' clocks must agree to well within this (NTP).
CLAIMER_DEAD_AFTER = timedelta(seconds=5)
# An instance silent this long is dropped from the instance table by the others' heartbeats (and no
# longer counted alive by the metrics); never sooner than CLAIMER_DEAD_AFTER.
INSTANCE_FORGOTTEN_AFTER = timedelta(seconds=15)
ONE_OFF_OWNER = "one-off"  # a claimer that never heartbeats: a script or a test


@dataclass(frozen=True)
class AlertKey:
    """A subscription key that an event alerts, and how to say why."""

    key_type: str
    key: str
    supplier: str = ""  # the supplier of a suspension that potentially affects this brand or model
    brand: str = ""  # for a model reached through its brand: that brand

    def reason_parts(self) -> tuple[str, str]:
        """Return what comes before and after the subscription's label in its stored reason line."""
        # Names from source data could hold a tab, the field separator of a stored reason.
        supplier, brand = self.supplier.replace("\t", " "), self.brand.replace("\t", " ")
        before, _, after = Reason(self.key_type, "\0", supplier, brand).line().partition("\0")
        return before, after


@dataclass(frozen=True)
class Claim:
    """A delivery a worker has claimed and must settle: an alert, or a notice to the operator."""

    alert: Outgoing
    attempts: int
    owner: str  # the claimer's token (its instance id): only it may settle the claim
    schedule: Schedule = field(default_factory=Schedule)  # the destination's digest and quiet hours
    digest: bool = False  # held for the destination's digest, now due with it

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
    linked: Sequence[str] = (),
) -> int:
    """Write one delivery per destination whose subscriptions match ``keys``; return how many.

    ``linked`` names other events that are the same recall (CPSC's notice and Health
    Canada's): a destination already alerted of one of them is not alerted again.

    Each key is one INSERT ... SELECT over the covering subscription index, so the
    work stays in the database however many subscriptions match. A destination
    that matches several keys gets one row: the later keys add their reason to it.
    Running this again for the same event version changes nothing.
    """
    subscriptions, destinations, deliveries = table_of(SubscriptionRow), table_of(DestinationRow), table_of(DeliveryRow)
    sub, dest, table = subscriptions.c, destinations.c, deliveries.c
    names = ["event_id", "event_hash", "is_update", "platform", "address", "reasons", "status", "attempts"]
    names += ["next_attempt_at", "created_at", "changes"]
    changed = json.dumps([c.to_dict() for c in changes], ensure_ascii=False) if changes else None
    postgres = session.get_bind().dialect.name == "postgresql"
    find = func.strpos if postgres else func.instr
    version = event_version(event)
    before = session.exec(
        select(func.count()).where(DeliveryRow.event_id == event.id, DeliveryRow.event_hash == version)
    ).one()
    for key in keys:
        head, tail = key.reason_parts()
        rows = (
            sa_select(
                literal(event.id),
                literal(version),
                literal(is_update),
                sub.platform,
                sub.address,
                literal(head) + sub.label + literal(tail),
                literal(PENDING),
                literal(0),
                literal(now, UTCDateTime()),
                literal(now, UTCDateTime()),
                literal(changed, Text()),
            )
            .select_from(
                subscriptions.outerjoin(destinations, and_(dest.platform == sub.platform, dest.address == sub.address))
            )
            .where(
                sub.key_type == key.key_type,
                sub.key == key.key,
                sub.created_at < subscribed_before,
                dest.paused_at.is_(None),
                *([~_alerted_of(linked, sub.platform, sub.address)] if linked and not is_update else []),
            )
        )
        insert = upsert_insert(session, deliveries).from_select(names, rows)
        new_reason = insert.excluded.reasons
        session.execute(
            insert.on_conflict_do_update(
                index_elements=["event_id", "event_hash", "platform", "address"],
                set_={"reasons": table.reasons + "\n" + new_reason},
                where=and_(find(table.reasons, new_reason) == 0, table.status == PENDING),
            )
        )
    after = session.exec(
        select(func.count()).where(DeliveryRow.event_id == event.id, DeliveryRow.event_hash == version)
    ).one()
    return after - before


def _alerted_of(event_ids: Sequence[str], platform: ColumnElement[str], address: ColumnElement[str]) -> Exists:
    """Return the condition that a destination has an alert (not an update) of one of the events."""
    return exists().where(
        col(DeliveryRow.event_id).in_(list(event_ids)),
        col(DeliveryRow.platform) == platform,
        col(DeliveryRow.address) == address,
        col(DeliveryRow.is_update).is_(False),
    )


def _claimable(now: datetime, dead_after: timedelta) -> ColumnElement[bool]:
    """Return the condition for a pending row nobody holds: no lease, an ended one, or a dead owner.

    A row without an owner (claimed before owners were recorded) waits for its lease.
    """
    owner_alive = exists().where(
        col(InstanceRow.id) == col(DeliveryRow.claimed_by), col(InstanceRow.last_seen) >= now - dead_after
    )
    return or_(
        col(DeliveryRow.claimed_until).is_(None),
        col(DeliveryRow.claimed_until) < now,
        and_(col(DeliveryRow.claimed_by).is_not(None), ~owner_alive),
    )


def claim_due(
    session: Session,
    platforms: Sequence[str],
    now: datetime,
    limit: int,
    lease: timedelta,
    *,
    owner: str = ONE_OFF_OWNER,
    dead_after: timedelta = CLAIMER_DEAD_AFTER,
) -> list[Claim]:
    """Claim up to ``limit`` due deliveries for ``owner`` until ``now + lease``.

    Rows whose lease ended, or whose owner has not heartbeaten for ``dead_after``, are
    claimed again. A worker passes its instance id as ``owner``; the default suits a one-off
    claim (a script, a test), which any live worker may take over at once.
    """
    due = (
        select(DeliveryRow.id)
        .where(
            DeliveryRow.status == PENDING,
            col(DeliveryRow.platform).in_(platforms),
            DeliveryRow.next_attempt_at <= now,
            _claimable(now, dead_after),
        )
        .order_by(col(DeliveryRow.next_attempt_at), col(DeliveryRow.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = [row_id for row_id in session.exec(due) if row_id is not None]  # a stored row's id is never None
    if not ids:
        return []
    claim = update(DeliveryRow).where(col(DeliveryRow.id).in_(ids))
    session.execute(claim.values(claimed_until=now + lease, claimed_by=owner))
    return _read_claims(session, ids, owner)


def _read_claims(session: Session, ids: list[int], owner: str) -> list[Claim]:
    t, d = table_of(DeliveryRow).c, table_of(DestinationRow).c
    # The language and schedule are read at send time: a chat that changed them after the alert was
    # queued gets the new ones.
    schedule = (d.alert_mode, d.digest_hour, d.time_zone, d.quiet_from, d.quiet_to)
    rows = session.execute(
        sa_select(t.id, t.platform, t.address, t.reasons, t.is_update, t.attempts, t.event_id, t.changes, t.digest)
        .add_columns(t.incident_id, t.event_hash, d.language, *schedule)
        .select_from(
            table_of(DeliveryRow).outerjoin(
                table_of(DestinationRow), and_(d.platform == t.platform, d.address == t.address)
            )
        )
        .where(t.id.in_(ids))
        .order_by(t.next_attempt_at, t.id)
    ).all()
    # A fan-out claims many rows of one event: read and parse each event once.
    events = get_events(session, sorted({row.event_id for row in rows if row.event_id is not None}))
    incidents = get_incidents(session, sorted({row.incident_id for row in rows if row.incident_id is not None}))
    claims = []
    for row in rows:
        destination = Destination(row.platform, row.address)
        outgoing: Outgoing
        if row.incident_id is not None:  # a notice to the operator: never held, worded when sent
            outgoing = Notice(row.id, destination, incidents[row.incident_id], Phase(row.event_hash), row.language)
            claims.append(Claim(outgoing, attempts=row.attempts, owner=owner))
            continue
        outgoing = Alert(
            id=row.id,
            destination=destination,
            event=events[row.event_id],
            reasons=tuple(Reason.parse(line) for line in sorted(set(row.reasons.splitlines()))),
            is_update=row.is_update,
            changes=tuple(Change.from_dict(c) for c in json.loads(row.changes)) if row.changes else (),
            language=row.language,
        )
        claims.append(Claim(outgoing, attempts=row.attempts, owner=owner, schedule=_schedule(row), digest=row.digest))
    return claims


def _schedule(row: Row[Any] | DestinationRow | None) -> Schedule:
    """Return a destination's schedule from its row (none, or one never configured: the defaults)."""
    if row is None or row.alert_mode is None:
        return Schedule()
    return Schedule(row.alert_mode, row.digest_hour, row.time_zone, row.quiet_from, row.quiet_to)


HELD_FOR_DIGEST, HELD_FOR_QUIET = "held for the digest", "held for quiet hours"
# Why an alert went back to the queue unsent when nothing failed: the chat's pace, or its worker stalled.
PACED, HEARTBEAT_LAPSED = "paced", "heartbeat lapsed"
NOT_FAILURES = (HELD_FOR_DIGEST, HELD_FOR_QUIET, PACED, HEARTBEAT_LAPSED)


def hold(session: Session, claim: Claim, until: datetime, digest: bool) -> bool:
    """Put a claimed alert back, unsent and uncounted, until the chat's digest or the end of its quiet hours."""
    statement = update(DeliveryRow).where(
        col(DeliveryRow.id) == claim.id, col(DeliveryRow.claimed_by) == claim.owner, col(DeliveryRow.status) == PENDING
    )
    values = {
        "next_attempt_at": until,
        "released_at": until,
        "digest": digest,
        "claimed_until": None,
        "claimed_by": None,
    }
    return (
        session.exec(statement.values(last_error=HELD_FOR_DIGEST if digest else HELD_FOR_QUIET, **values)).rowcount > 0
    )


def claim_digest(
    session: Session, dest: Destination, now: datetime, lease: timedelta, owner: str, dead_after: timedelta
) -> list[Claim]:
    """Claim every due alert that waits for a destination's digest, so that one message carries them all."""
    due = (
        select(DeliveryRow.id)
        .where(
            DeliveryRow.status == PENDING,
            DeliveryRow.platform == dest.platform,
            DeliveryRow.address == dest.address,
            col(DeliveryRow.digest).is_(True),
            DeliveryRow.next_attempt_at <= now,
            _claimable(now, dead_after),
        )
        .with_for_update(skip_locked=True)
    )
    ids = [row_id for row_id in session.exec(due) if row_id is not None]
    if not ids:
        return []
    session.execute(
        update(DeliveryRow).where(col(DeliveryRow.id).in_(ids)).values(claimed_until=now + lease, claimed_by=owner)
    )
    return _read_claims(session, ids, owner)


def schedule_of(session: Session, dest: Destination) -> Schedule:
    """Return a destination's delivery settings (the defaults if it has none)."""
    return _schedule(session.get(DestinationRow, (dest.platform, dest.address)))


def set_schedule(session: Session, dest: Destination, schedule: Schedule, now: datetime) -> int:
    """Store a destination's delivery settings and release the alerts held under the old ones; return how many."""
    values = {
        "alert_mode": schedule.mode,
        "digest_hour": schedule.digest_hour,
        "time_zone": schedule.time_zone,
        "quiet_from": schedule.quiet_from,
        "quiet_to": schedule.quiet_to,
    }
    insert = upsert_insert(session, table_of(DestinationRow)).values(
        platform=dest.platform, address=dest.address, **values
    )
    session.execute(insert.on_conflict_do_update(index_elements=["platform", "address"], set_=values))
    # What waited for the old digest or quiet hours is looked at again now, under the new settings.
    released = update(DeliveryRow).where(
        col(DeliveryRow.platform) == dest.platform,
        col(DeliveryRow.address) == dest.address,
        col(DeliveryRow.status) == PENDING,
        col(DeliveryRow.last_error).in_([HELD_FOR_DIGEST, HELD_FOR_QUIET]),
    )
    return session.exec(released.values(next_attempt_at=now, released_at=now, digest=False)).rowcount


def renew_claims(session: Session, owner: str, ids: Sequence[int], now: datetime, lease: timedelta) -> int:
    """Extend ``owner``'s leases on those of ``ids`` it still holds; return how many."""
    if not ids:
        return 0
    statement = update(DeliveryRow).where(
        col(DeliveryRow.id).in_(ids), col(DeliveryRow.claimed_by) == owner, col(DeliveryRow.status) == PENDING
    )
    return session.exec(statement.values(claimed_until=now + lease)).rowcount


def release_claims(session: Session) -> int:
    """Return every claimed delivery to the queue (at start-up, when one process owns the database)."""
    claimed = or_(col(DeliveryRow.claimed_until).is_not(None), col(DeliveryRow.claimed_by).is_not(None))
    statement = update(DeliveryRow).where(col(DeliveryRow.status) == PENDING, claimed)
    return session.exec(statement.values(claimed_until=None, claimed_by=None)).rowcount


def _settle(session: Session, claim: Claim, **values: object) -> bool:
    """Write a claim's outcome if the claim is still its owner's; return False, and log, if not."""
    statement = update(DeliveryRow).where(
        col(DeliveryRow.id) == claim.id, col(DeliveryRow.claimed_by) == claim.owner, col(DeliveryRow.status) == PENDING
    )
    if session.exec(statement.values(claimed_until=None, claimed_by=None, **values)).rowcount:
        return True
    logger.warning(
        "delivery %s was taken over from %s (its lease ended or it was thought dead): outcome %s not recorded",
        claim.id,
        claim.owner,
        values.get("status", "retry"),
    )
    return False


def mark_sent(session: Session, claim: Claim, now: datetime) -> bool:
    """Record a delivery as sent (it is never sent again); False if the claim was taken over."""
    if not _settle(session, claim, status=SENT, sent_at=now, attempts=claim.attempts + 1, last_error=None):
        return False
    session.execute(
        update(DestinationRow)
        .where(
            col(DestinationRow.platform) == claim.destination.platform,
            col(DestinationRow.address) == claim.destination.address,
        )
        .values(gone_count=0)
    )
    return True


def mark_retry(session: Session, claim: Claim, at: datetime, error: str, *, count_attempt: bool = True) -> bool:
    """Put a delivery back in the queue until ``at``; False if the claim was taken over."""
    attempts = claim.attempts + (1 if count_attempt else 0)
    return _settle(session, claim, next_attempt_at=at, attempts=attempts, last_error=error[:2000])


def mark_failed(session: Session, claim: Claim, error: str) -> bool:
    """Record a delivery that can never be sent, keeping the error; False if the claim was taken over."""
    return _settle(session, claim, status=FAILED, attempts=claim.attempts + 1, last_error=error[:2000])


def readdress(session: Session, old: Destination, new_address: str) -> None:
    """Move a destination's subscriptions, pending alerts and pause state to a new chat id (a migrated group).

    The new chat may already hold some of them: a subscription made there meanwhile, or a
    second report of the same move (the group's service message and a send's "migrated"
    answer). The unique constraints forbid a plain UPDATE then, so the old chat's
    duplicates are dropped and the rest moved: the new chat gets each one once, and its
    own rows (its pause state too) win.
    """
    session.flush()  # the statements below bypass the ORM: write its pending changes first
    # Each unique constraint's columns besides the address (an alert has an event, a notice an incident).
    same: dict[type[SQLModel], list[tuple[str, ...]]] = {
        SubscriptionRow: [("key_type", "key")],
        DeliveryRow: [("event_id", "event_hash"), ("incident_id", "event_hash")],
        DestinationRow: [()],
    }
    for model, constraints in same.items():
        table = table_of(model)
        moving = [table.c.platform == old.platform, table.c.address == old.address]
        if model is DeliveryRow:
            moving.append(table.c.status == PENDING)  # sent and failed ones stay as history
        there = table.alias("there")
        for unique in constraints:
            duplicate = (
                sa_select(literal(1))
                .where(there.c.platform == old.platform, there.c.address == new_address)
                .where(*(there.c[name] == table.c[name] for name in unique))
                .exists()
            )
            session.execute(delete(table).where(*moving, duplicate))
        session.execute(update(table).where(*moving).values(address=new_address))


def _destination(session: Session, dest: Destination) -> DestinationRow:
    row = session.get(DestinationRow, (dest.platform, dest.address))
    if row is None:
        row = DestinationRow(platform=dest.platform, address=dest.address)
        session.add(row)
    return row


def record_gone(
    session: Session, dest: Destination, reason: str, now: datetime, pause_after: int, *, by_user: bool
) -> bool:
    """Count a "gone" answer; pause the destination after ``pause_after`` in a row. Return True if paused.

    ``by_user``: the answer says the chat's people blocked or removed the bot (their choice, no trouble to report).
    """
    row = _destination(session, dest)
    row.gone_count += 1
    if row.gone_count >= pause_after:
        pause_destination(session, dest, reason, now, by_user=by_user)
        return True
    return False


def pause_destination(session: Session, dest: Destination, reason: str, now: datetime, *, by_user: bool) -> None:
    """Stop sending to a destination, keeping its subscriptions; its pending alerts become gone.

    A pause that is not the chat's people's choice (``by_user``) is told to the operator (bot.operator).
    """
    row = _destination(session, dest)
    row.paused_at, row.paused_reason, row.paused_by_user = now, reason[:2000], by_user
    session.execute(
        update(DeliveryRow)
        .where(
            col(DeliveryRow.platform) == dest.platform,
            col(DeliveryRow.address) == dest.address,
            col(DeliveryRow.status) == PENDING,
        )
        .values(status=GONE, claimed_until=None, claimed_by=None, last_error=f"destination paused: {reason}"[:2000])
    )


def resume_destination(session: Session, dest: Destination) -> bool:
    """Send to a paused destination again (it came back); return True if it was paused."""
    row = session.get(DestinationRow, (dest.platform, dest.address))
    if row is None or row.paused_at is None:
        return False
    row.paused_at, row.paused_reason, row.gone_count, row.paused_by_user = None, None, 0, False
    return True


def set_language(session: Session, dest: Destination, language: str) -> None:
    """Remember the language a destination chose."""
    values = {"platform": dest.platform, "address": dest.address, "language": language}
    insert = upsert_insert(session, table_of(DestinationRow)).values(values)
    session.execute(insert.on_conflict_do_update(index_elements=["platform", "address"], set_={"language": language}))


def language_of(session: Session, dest: Destination) -> str | None:
    """Return the language a destination chose, or None if it chose none."""
    row = session.get(DestinationRow, (dest.platform, dest.address))
    return row.language if row else None


def paused_reason(session: Session, dest: Destination) -> str | None:
    """Return why a destination is paused, or None."""
    row = session.get(DestinationRow, (dest.platform, dest.address))
    return row.paused_reason if row and row.paused_at else None


def queue_depth(session: Session) -> int:
    """Return how many deliveries are waiting to be sent."""
    return session.exec(select(func.count()).select_from(DeliveryRow).where(DeliveryRow.status == PENDING)).one()


def deliveries_for(session: Session, dest: Destination) -> list[DeliveryRow]:
    """Return a destination's deliveries, oldest first."""
    return list(
        session.exec(
            select(DeliveryRow)
            .where(DeliveryRow.platform == dest.platform, DeliveryRow.address == dest.address)
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
    session.execute(delete(InstanceRow).where(col(InstanceRow.last_seen) < now - stale_after))
    session.flush()
    return session.exec(select(func.count()).select_from(InstanceRow)).one()


def forget_instance(session: Session, instance_id: str) -> None:
    """Remove an instance that is shutting down, so the others take its share at once."""
    session.execute(delete(InstanceRow).where(col(InstanceRow.id) == instance_id))
