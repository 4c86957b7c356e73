"""SQLModel tables. The Alembic migrations in ``storage/migrations`` create them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Index, String, Table, Text, UniqueConstraint, inspect, text
from sqlalchemy import false as sa_false
from sqlmodel import Field, SQLModel

# A destination's address is the platform's own text for it: a chat id, a room id, an e-mail.
ADDRESS_LENGTH = 300


class EventRow(SQLModel, table=True):
    """One recall or suspension; ``data`` holds the whole event as JSON."""

    __tablename__ = "event"

    id: str = Field(primary_key=True, max_length=200)
    kind: str = Field(max_length=20)
    origin: str = Field(max_length=300, index=True)
    event_date: date | None = Field(default=None, index=True)
    content_hash: str = Field(max_length=64)
    data: str = Field(sa_column=Column(Text, nullable=False))
    first_seen_at: datetime
    updated_at: datetime


class EventKeyRow(SQLModel, table=True):
    """A key an event answers to: a model, brand, supplier or linked brand."""

    __tablename__ = "event_key"
    __table_args__ = (Index("ix_event_key_lookup", "key_type", "key"),)

    event_id: str = Field(primary_key=True, foreign_key="event.id", ondelete="CASCADE", max_length=200)
    key_type: str = Field(primary_key=True, max_length=20)
    key: str = Field(primary_key=True, max_length=200)
    label: str = Field(max_length=300)


class SubscriptionRow(SQLModel, table=True):
    """A destination (chat, DM or channel) that follows a brand, model or supplier."""

    __tablename__ = "subscription"
    __table_args__ = (
        UniqueConstraint("platform", "address", "key_type", "key", name="uq_subscription"),
        # Covering, and ordered by destination: a fan-out reads it alone, in the order of
        # the delivery table's unique index, so a million alerts are appended, not scattered.
        Index("ix_subscription_match", "key_type", "key", "platform", "address", "created_at", "label"),
    )

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=20)
    address: str = Field(sa_column=Column(String(ADDRESS_LENGTH), nullable=False))
    key_type: str = Field(max_length=20)
    key: str = Field(max_length=200)
    label: str = Field(max_length=300)
    created_at: datetime


class MetaRow(SQLModel, table=True):
    """Small facts about the database itself, such as the loaded snapshot's digest."""

    __tablename__ = "meta"

    name: str = Field(primary_key=True, max_length=100)
    value: str = Field(sa_column=Column(Text, nullable=False))


class SourceStateRow(SQLModel, table=True):
    """The health and progress of one source, kept across restarts."""

    __tablename__ = "source_state"

    name: str = Field(primary_key=True, max_length=300)
    cursor: str | None = Field(default=None, sa_column=Column(Text))  # opaque to storage: JSON for some sources
    digest: str | None = Field(default=None, max_length=64)  # of the last payload read
    baseline_done: bool = False
    records_seen: int = 0
    last_success_at: datetime | None = None
    last_error_at: datetime | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    consecutive_failures: int = 0
    next_attempt_at: datetime | None = None
    failing_since: datetime | None = None  # the first failure since the last success


class DestinationRow(SQLModel, table=True):
    """A chat, DM or channel alerts go to; paused when the platform says it is gone."""

    __tablename__ = "destination"

    platform: str = Field(primary_key=True, max_length=20)
    address: str = Field(sa_column=Column(String(ADDRESS_LENGTH), primary_key=True))
    gone_count: int = 0
    paused_at: datetime | None = None
    paused_reason: str | None = Field(default=None, sa_column=Column(Text))
    # The chat's people blocked or removed the bot (their choice); any other pause is told to the operator.
    paused_by_user: bool = Field(default=False, sa_column_kwargs={"server_default": sa_false()})
    language: str | None = Field(default=None, max_length=16)  # chosen with /language; None: the platform's guess
    # When alerts go out (/settings): as they come, or a daily digest; quiet hours in local time.
    alert_mode: str = Field(default="instant", max_length=12, sa_column_kwargs={"server_default": "instant"})
    digest_hour: int = Field(default=9, sa_column_kwargs={"server_default": "9"})
    time_zone: str = Field(default="UTC", max_length=64, sa_column_kwargs={"server_default": "UTC"})
    quiet_from: int | None = None
    quiet_to: int | None = None


# An incident is open while ``cleared_at`` is NULL, and at most one of a kind and subject is open.
OPEN_INCIDENT = text("cleared_at IS NULL")


class IncidentRow(SQLModel, table=True):
    """Something the operator is told of when it begins and when it ends: a source down, a chat paused."""

    __tablename__ = "incident"
    __table_args__ = (
        Index(
            "uq_incident_open",
            "kind",
            "subject",
            unique=True,
            sqlite_where=OPEN_INCIDENT,
            postgresql_where=OPEN_INCIDENT,
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)
    subject: str = Field(max_length=300)  # what it is about: a source's name, a chat, a platform and instance
    detail: str = Field(sa_column=Column(Text, nullable=False))  # facts as JSON, worded when a notice is sent
    opened_at: datetime
    cleared_at: datetime | None = None
    cleared_detail: str | None = Field(default=None, sa_column=Column(Text))


class DeliveryRow(SQLModel, table=True):
    """One alert, or one notice to the operator, for one destination: the outbox. Sent by a worker."""

    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("event_id", "event_hash", "platform", "address", name="uq_delivery"),
        UniqueConstraint("incident_id", "event_hash", "platform", "address", name="uq_delivery_incident"),
        Index("ix_delivery_due", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # An alert tells of an event; a notice of an incident instead, and its "version" is the phase told.
    event_id: str | None = Field(default=None, foreign_key="event.id", max_length=200)
    incident_id: int | None = Field(default=None, foreign_key="incident.id")
    event_hash: str = Field(max_length=16)  # the event version this alert tells about (hash prefix)
    is_update: bool = False
    platform: str = Field(max_length=20)
    address: str = Field(sa_column=Column(String(ADDRESS_LENGTH), nullable=False))
    reasons: str = Field(sa_column=Column(Text, nullable=False))  # one reason per line
    status: str = Field(default="pending", max_length=10)  # pending, sent, failed, gone
    attempts: int = 0
    next_attempt_at: datetime
    claimed_until: datetime | None = None
    claimed_by: str | None = Field(default=None, max_length=64)  # the claiming instance's id
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime
    sent_at: datetime | None = None
    changes: str | None = Field(default=None, sa_column=Column(Text))  # what an update changed, as JSON
    digest: bool = Field(default=False, sa_column_kwargs={"server_default": sa_false()})  # waits for the digest
    # When a digest or quiet hours last released it: from then on it waits on the workers, not on purpose.
    released_at: datetime | None = None


class InstanceRow(SQLModel, table=True):
    """A running recallbot process; live ones share the platforms' rate budgets."""

    __tablename__ = "instance"

    id: str = Field(primary_key=True, max_length=64)
    last_seen: datetime = Field(index=True)


class BrandAliasRow(SQLModel, table=True):
    """Another name of a brand, such as its Chinese name: "小米" is Xiaomi."""

    __tablename__ = "brand_alias"

    alias_key: str = Field(primary_key=True, max_length=200)
    key: str = Field(max_length=200)
    label: str = Field(max_length=300)


class CheckPageRow(SQLModel, table=True):
    """A destination's last /check, so that /more shows the matches after those shown."""

    __tablename__ = "check_page"

    platform: str = Field(primary_key=True, max_length=20)
    address: str = Field(sa_column=Column(String(ADDRESS_LENGTH), primary_key=True))
    query: str = Field(max_length=300)
    shown: int = 0
    at: datetime


def table_of(model: type[SQLModel]) -> Table:
    """Return the Core ``Table`` of a table model, for statements that bypass the ORM.

    SQLModel sets ``__table__`` on every ``table=True`` class but does not declare it, so a
    type checker cannot see it; the mapper's ``local_table`` is the same object, typed.
    """
    table = inspect(model).local_table
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not a table model")
    return table
