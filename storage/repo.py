"""Repository functions. Each takes a ``Session`` first; the caller owns the transaction."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar

from sqlalchemy import ColumnElement, Result, Table, and_, bindparam, delete, func, insert, tuple_
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel, col, select

from bot.events import Destination, Event
from bot.incidents import Incident, IncidentKind
from storage.search import index_events, unindex_events
from storage.tables import (
    BrandAliasRow,
    CheckPageRow,
    DeliveryRow,
    DestinationRow,
    EventKeyRow,
    EventRow,
    IncidentRow,
    MetaRow,
    SubscriptionRow,
    table_of,
)

_CHUNK = 500  # rows per IN (...) list: well under SQLite's and PostgreSQL's parameter limits

_T = TypeVar("_T")


@dataclass(frozen=True)
class KeyHit:
    """An event that answers to a looked-up key."""

    key_type: str
    key: str
    label: str
    event: Event


def chunks(items: Sequence[_T], size: int = _CHUNK) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def get_meta(session: Session, name: str) -> str | None:
    """Return a stored fact about the database, or None."""
    row = session.get(MetaRow, name)
    return row.value if row else None


_META = select(MetaRow.name, MetaRow.value).where(col(MetaRow.name).in_(bindparam("names", expanding=True)))


def meta_values(session: Session, names: Sequence[str]) -> dict[str, str]:
    """Return several stored facts in one statement, built once (every command reads them)."""
    return dict(session.execute(_META, {"names": list(names)}).all())


def set_meta(session: Session, name: str, value: str) -> None:
    """Store a fact about the database."""
    row = session.get(MetaRow, name)
    if row:
        row.value = value
    else:
        session.add(MetaRow(name=name, value=value))


def known_hashes(session: Session, ids: Sequence[str], origin: str | None = None) -> dict[str, str]:
    """Return the content hash of every stored event among ``ids``.

    With ``origin``, one scan of that origin's events answers most ids at once
    (a large source re-read is mostly its own events); the rest are looked up by id.
    """
    found: dict[str, str] = {}
    wanted = set(ids)
    if origin is not None and len(wanted) > 10 * _CHUNK:
        rows = session.exec(select(EventRow.id, EventRow.content_hash).where(EventRow.origin == origin))
        found = {event_id: digest for event_id, digest in rows if event_id in wanted}
        ids = [event_id for event_id in ids if event_id not in found]
    for chunk in chunks(list(ids)):
        rows = session.exec(select(EventRow.id, EventRow.content_hash).where(col(EventRow.id).in_(chunk)))
        found.update(dict(rows.all()))
    return found


def event_origins(session: Session, ids: Sequence[str]) -> dict[str, str]:
    """Return the origin (the source that last wrote it) of every stored event among ``ids``."""
    found: dict[str, str] = {}
    for chunk in chunks(list(ids)):
        found.update(dict(session.exec(select(EventRow.id, EventRow.origin).where(col(EventRow.id).in_(chunk))).all()))
    return found


def get_events(session: Session, ids: Sequence[str]) -> dict[str, Event]:
    """Return the stored events among ``ids``."""
    found: dict[str, Event] = {}
    for chunk in chunks(list(ids)):
        for event_id, data in session.exec(select(EventRow.id, EventRow.data).where(col(EventRow.id).in_(chunk))):
            found[event_id] = Event.from_dict(json.loads(data))
    return found


def _event_row(event: Event, origin: str, now: datetime) -> dict[str, object]:
    return {
        "id": event.id,
        "kind": event.kind.value,
        "origin": origin,
        "event_date": event.date,
        "content_hash": event.content_hash,
        "data": json.dumps(event.to_dict(), ensure_ascii=False),
        "first_seen_at": now,
        "updated_at": now,
    }


def _key_rows(events: Iterable[Event]) -> list[dict[str, str]]:
    return [
        {"event_id": e.id, "key_type": kind.value, "key": key[:200], "label": label[:300]}
        for e in events
        for kind, key, label in e.lookup_keys()
    ]


def insert_events(session: Session, events: Sequence[Event], origin: str, now: datetime) -> None:
    """Store new events and their lookup keys, in bulk."""
    for chunk in chunks(list(events)):
        session.execute(insert(EventRow), [_event_row(e, origin, now) for e in chunk])
        keys = _key_rows(chunk)
        if keys:
            session.execute(insert(EventKeyRow), keys)
        index_events(session, chunk)


def replace_events(session: Session, events: Sequence[Event], origin: str, now: datetime) -> None:
    """Overwrite stored events with new versions, keeping when they were first seen."""
    table = table_of(EventRow)
    for chunk in chunks(list(events)):
        ids = [e.id for e in chunk]
        session.execute(delete(EventKeyRow).where(col(EventKeyRow.event_id).in_(ids)))
        for event in chunk:
            row = _event_row(event, origin, now)
            del row["first_seen_at"], row["id"]
            session.execute(table.update().where(table.c.id == event.id).values(**row))
        keys = _key_rows(chunk)
        if keys:
            session.execute(insert(EventKeyRow), keys)
        unindex_events(session, ids)
        index_events(session, chunk)


# Two plain IN lists, not a row-value IN: SQLite answers these from the index. Built once:
# this is the /check hot path, and compiling the statement cost as much as running it.
_EVENTS_FOR_KEYS = (
    # SQLAlchemy's select: SQLModel's is typed for at most four columns.
    sa_select(
        col(EventKeyRow.key_type), col(EventKeyRow.key), col(EventKeyRow.label), col(EventRow.id), col(EventRow.data)
    )
    .join(EventRow, col(EventRow.id) == col(EventKeyRow.event_id))
    .where(
        col(EventKeyRow.key_type).in_(bindparam("types", expanding=True)),
        col(EventKeyRow.key).in_(bindparam("keys", expanding=True)),
    )
)


def events_for_keys(session: Session, keys: Iterable[tuple[str, str]]) -> list[KeyHit]:
    """Return every event that answers to one of the (key type, key) pairs."""
    wanted = set(keys)
    types = sorted({kind for kind, _ in wanted})
    values = sorted({key for _, key in wanted})
    hits: list[KeyHit] = []
    events: dict[str, Event] = {}
    for chunk in chunks(values):
        # Annotated: SQLModel's Session.execute drops the row types that the statement declares.
        rows: Result[str, str, str, str, str] = session.execute(_EVENTS_FOR_KEYS, {"types": types, "keys": list(chunk)})
        for key_type, key, label, event_id, data in rows:
            if (key_type, key) not in wanted:
                continue
            if event_id not in events:
                events[event_id] = Event.from_dict(json.loads(data))
            hits.append(KeyHit(key_type, key, label, events[event_id]))
    return hits


def linked_event_ids(session: Session, event: Event) -> list[str]:
    """Return the ids of the other stored events that are the same recall (they share a link key)."""
    links = [key for kind, key, _ in event.lookup_keys() if kind == "link"]
    if not links:
        return []
    query = select(EventKeyRow.event_id).where(
        EventKeyRow.key_type == "link", col(EventKeyRow.key).in_(links), EventKeyRow.event_id != event.id
    )
    return sorted(set(session.exec(query)))


def key_vocabulary(session: Session, key_types: Sequence[str]) -> list[tuple[str, str, str]]:
    """Return every distinct (key type, key, label) of the given types."""
    query = (
        select(EventKeyRow.key_type, EventKeyRow.key, func.min(EventKeyRow.label))
        .where(col(EventKeyRow.key_type).in_(key_types))
        .group_by(EventKeyRow.key_type, EventKeyRow.key)
    )
    return [(key_type, key, label) for key_type, key, label in session.exec(query)]


def recent_events(session: Session, limit: int) -> list[Event]:
    """Return the latest events by official date."""
    query = (
        select(EventRow.data)
        .where(col(EventRow.event_date).is_not(None))
        .order_by(col(EventRow.event_date).desc(), col(EventRow.id))
        .limit(limit)
    )
    return [Event.from_dict(json.loads(data)) for data in session.exec(query)]


def count_events(session: Session) -> int:
    """Return how many events are stored."""
    return session.exec(select(func.count()).select_from(EventRow)).one()


def incident_of(row: IncidentRow) -> Incident:
    """Return the incident a row holds."""
    return Incident(
        kind=IncidentKind(row.kind),
        subject=row.subject,
        facts=json.loads(row.detail),
        opened_at=row.opened_at,
        cleared_at=row.cleared_at,
        cleared_facts=json.loads(row.cleared_detail) if row.cleared_detail else {},
        id=row.id or 0,
    )


def get_incidents(session: Session, ids: Sequence[int]) -> dict[int, Incident]:
    """Return the incidents with these ids (the notices a worker claimed tell of them)."""
    rows = session.exec(select(IncidentRow).where(col(IncidentRow.id).in_(list(ids))))
    return {row.id: incident_of(row) for row in rows if row.id is not None}


def upsert_insert(session: Session, table: Table) -> postgresql.Insert | sqlite.Insert:
    """Return an INSERT into ``table`` in the session's dialect, which has ``on_conflict_do_*``."""
    postgres = session.get_bind().dialect.name == "postgresql"
    return (postgresql.insert if postgres else sqlite.insert)(table)


def add_subscription(session: Session, dest: Destination, key_type: str, key: str, label: str, now: datetime) -> bool:
    """Subscribe a destination; return False if it already was.

    One INSERT ... ON CONFLICT DO NOTHING: two taps of one button that arrive together
    both succeed, and only the first subscribes (a check-then-insert let the second fail).
    """
    values = {"platform": dest.platform, "address": dest.address, "key_type": key_type, "key": key}
    table = table_of(SubscriptionRow)
    statement = upsert_insert(session, table).values(**values, label=label, created_at=now)
    inserted = statement.on_conflict_do_nothing(index_elements=list(values)).returning(table.c.id)
    return session.execute(inserted).first() is not None


def remove_subscriptions(session: Session, dest: Destination, pairs: Iterable[tuple[str, str]]) -> list[str]:
    """Remove a destination's subscriptions to any of the (key type, key) pairs; return their labels."""
    pairs = list(pairs)
    rows = session.exec(
        select(SubscriptionRow).where(
            SubscriptionRow.platform == dest.platform,
            SubscriptionRow.address == dest.address,
            tuple_(col(SubscriptionRow.key_type), col(SubscriptionRow.key)).in_(pairs),
        )
    ).all()
    for row in rows:
        session.delete(row)
    return [row.label for row in rows]


def list_subscriptions(session: Session, dest: Destination) -> list[SubscriptionRow]:
    """Return a destination's subscriptions, oldest first."""
    return list(
        session.exec(
            select(SubscriptionRow)
            .where(SubscriptionRow.platform == dest.platform, SubscriptionRow.address == dest.address)
            .order_by(col(SubscriptionRow.created_at), col(SubscriptionRow.id))
        ).all()
    )


def origin_coverage(session: Session) -> list[tuple[str, int, date | None, date | None]]:
    """Return (origin, events, first date, last date) for every origin events came from."""
    query = select(
        EventRow.origin, func.count(), func.min(EventRow.event_date), func.max(EventRow.event_date)
    ).group_by(EventRow.origin)
    return [(origin, count, first, last) for origin, count, first, last in session.exec(query)]


def brand_aliases(session: Session) -> list[tuple[str, str, str]]:
    """Return every (alias key, brand key, brand name): "小米" is "xiaomi", Xiaomi."""
    query = select(BrandAliasRow.alias_key, BrandAliasRow.key, BrandAliasRow.label)
    return [(alias_key, key, label) for alias_key, key, label in session.exec(query)]


def replace_brand_aliases(session: Session, aliases: Iterable[tuple[str, str, str]]) -> None:
    """Replace every brand alias with (alias key, brand key, brand name) rows."""
    session.execute(delete(BrandAliasRow))
    rows = [{"alias_key": a, "key": k, "label": label} for a, k, label in dict((r[0], r) for r in aliases).values()]
    if rows:
        session.execute(insert(BrandAliasRow), rows)


def save_page(session: Session, dest: Destination, query: str, shown: int, now: datetime) -> None:
    """Remember a destination's last /check and how many of its matches were shown."""
    row = session.get(CheckPageRow, (dest.platform, dest.address))
    if row is None:
        session.add(CheckPageRow(platform=dest.platform, address=dest.address, query=query, shown=shown, at=now))
    else:
        row.query, row.shown, row.at = query, shown, now


def last_page(session: Session, dest: Destination) -> CheckPageRow | None:
    """Return a destination's last /check, or None."""
    return session.get(CheckPageRow, (dest.platform, dest.address))


@dataclass(frozen=True)
class StoredAbout:
    """How many rows are stored about one destination, by what they are."""

    subscriptions: int = 0
    pending: int = 0  # alerts waiting to be sent
    sent: int = 0  # alerts sent, failed or dropped: the history of what it was alerted of
    other: int = 0  # its settings and pause state, its /more page, and rows of any other table

    @property
    def total(self) -> int:
        return self.subscriptions + self.pending + self.sent + self.other


def destination_tables() -> list[Table]:
    """Return every table that holds rows about a destination: those with a platform and an address column.

    Found, not listed: a table added later (a chat's settings) is forgotten with the rest.
    """
    return [t for t in SQLModel.metadata.sorted_tables if {"platform", "address"} <= set(t.c.keys())]


def _rows_about(table: Table, dest: Destination) -> list[tuple[str, ColumnElement[bool]]]:
    """Return what a destination's rows of ``table`` count as, each with its condition."""
    mine = and_(table.c.platform == dest.platform, table.c.address == dest.address)
    if table.name == table_of(SubscriptionRow).name:
        return [("subscriptions", mine)]
    if table.name == table_of(DeliveryRow).name:
        pending = table.c.status == "pending"  # outbox.PENDING (the outbox imports this module)
        return [("pending", and_(mine, pending)), ("sent", and_(mine, ~pending))]
    return [("other", mine)]


def stored_about(session: Session, dest: Destination) -> StoredAbout:
    """Count what is stored about a destination, in every table that holds rows about one."""
    counts = dict.fromkeys(("subscriptions", "pending", "sent", "other"), 0)
    for table in destination_tables():
        for kind, condition in _rows_about(table, dest):
            counts[kind] += session.execute(sa_select(func.count()).select_from(table).where(condition)).scalar_one()
    return StoredAbout(**counts)


def forget_destination(session: Session, dest: Destination) -> StoredAbout:
    """Delete every row stored about a destination, in every table that holds them; return what was deleted."""
    session.flush()  # the deletes below bypass the ORM: write its pending changes first
    counts = dict.fromkeys(("subscriptions", "pending", "sent", "other"), 0)
    for table in reversed(destination_tables()):  # rows that refer to others go first
        for kind, condition in _rows_about(table, dest):
            counts[kind] += session.exec(delete(table).where(condition)).rowcount
    return StoredAbout(**counts)


def paused_before(session: Session, reason_prefix: str, before: datetime) -> list[Destination]:
    """Return the destinations paused at or before ``before`` with a reason that starts with ``reason_prefix``."""
    query = select(DestinationRow.platform, DestinationRow.address).where(
        col(DestinationRow.paused_at).is_not(None),
        col(DestinationRow.paused_at) <= before,
        col(DestinationRow.paused_reason).startswith(reason_prefix, autoescape=True),
    )
    return [Destination(platform, address) for platform, address in session.exec(query)]
