"""Figures about the outbox and the instances, read for the metrics endpoint; each takes a ``Session`` first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from storage.outbox import PENDING
from storage.tables import DeliveryRow, InstanceRow


@dataclass(frozen=True)
class Backlog:
    """The deliveries waiting: how many, and when the oldest of those due now was queued (or released)."""

    depth: int  # every pending delivery, those held for a digest or backing off included
    oldest_due: datetime | None  # None when none is due


def backlog(session: Session, now: datetime) -> Backlog:
    """Return how many deliveries are pending, and when the oldest one due at ``now`` was queued.

    Only due ones count for the oldest: an alert held for a chat's digest or quiet hours, or
    waiting out a retry, is waiting on purpose, not on the workers.
    """
    due = col(DeliveryRow.next_attempt_at) <= now
    queued = func.coalesce(col(DeliveryRow.released_at), col(DeliveryRow.created_at))  # a held one: when released
    depth, oldest = session.exec(
        select(func.count(), func.min(case((due, queued)))).where(DeliveryRow.status == PENDING)
    ).one()
    return Backlog(depth, oldest)


def queued_at(session: Session, now: datetime) -> dict[str, int]:
    """Return how many deliveries a checker pass queued at ``now``, by platform.

    A pass writes its rows pending, due and created at its own ``now`` (``outbox.queue_alerts``):
    read in the same transaction, before a worker can claim them, those are exactly its rows,
    found through the due-rows index.
    """
    rows = session.exec(
        select(DeliveryRow.platform, func.count())
        .where(DeliveryRow.status == PENDING, DeliveryRow.next_attempt_at == now, DeliveryRow.created_at == now)
        .group_by(col(DeliveryRow.platform))
    )
    return dict(rows.all())


def instances_alive(session: Session, since: datetime) -> int:
    """Return how many instances have heartbeaten since ``since``."""
    return session.exec(select(func.count()).select_from(InstanceRow).where(InstanceRow.last_seen >= since)).one()
