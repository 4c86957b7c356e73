"""SQLModel tables. The Alembic migrations in ``storage/migrations`` create them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


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
        UniqueConstraint("platform", "chat_id", "key_type", "key", name="uq_subscription"),
        Index("ix_subscription_match", "key_type", "key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=20)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    key_type: str = Field(max_length=20)
    key: str = Field(max_length=200)
    label: str = Field(max_length=300)
    created_at: datetime


class MetaRow(SQLModel, table=True):
    """Small facts about the database itself, such as the loaded snapshot's digest."""

    __tablename__ = "meta"

    name: str = Field(primary_key=True, max_length=100)
    value: str = Field(sa_column=Column(Text, nullable=False))
