"""Initial schema: events and their lookup keys, subscriptions, meta

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("origin", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("event_date", sa.Date(), nullable=True),
        sa.Column("content_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("first_seen_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_event_event_date"), ["event_date"], unique=False)
        batch_op.create_index(batch_op.f("ix_event_origin"), ["origin"], unique=False)

    op.create_table(
        "meta",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("key_type", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("label", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("platform", "chat_id", "key_type", "key", name="uq_subscription"),
    )
    with op.batch_alter_table("subscription", schema=None) as batch_op:
        batch_op.create_index(
            "ix_subscription_match",
            ["key_type", "key", "platform", "chat_id", "created_at", "label"],
            unique=False,
        )

    op.create_table(
        "event_key",
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("key_type", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("label", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["event.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("event_id", "key_type", "key"),
    )
    with op.batch_alter_table("event_key", schema=None) as batch_op:
        batch_op.create_index("ix_event_key_lookup", ["key_type", "key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("event_key", schema=None) as batch_op:
        batch_op.drop_index("ix_event_key_lookup")

    op.drop_table("event_key")
    with op.batch_alter_table("subscription", schema=None) as batch_op:
        batch_op.drop_index("ix_subscription_match")

    op.drop_table("subscription")
    op.drop_table("meta")
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_origin"))
        batch_op.drop_index(batch_op.f("ix_event_event_date"))

    op.drop_table("event")
