"""Destinations addressed by opaque text: a Matrix room or an e-mail address fits as well as a chat id

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# (table, nullable): every table that names a destination
TABLES = [("subscription", False), ("destination", False), ("delivery", False), ("check_page", False)]


def upgrade() -> None:
    # The numbers become their text ("-1001234567890"), so every row, and every uniqueness
    # among rows, is kept; batch mode copies each table on SQLite, PostgreSQL casts in place.
    op.drop_index("ix_subscription_match", table_name="subscription")
    for table, nullable in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                "chat_id",
                new_column_name="address",
                existing_type=sa.BigInteger(),
                type_=sa.String(300),
                existing_nullable=nullable,
                postgresql_using="chat_id::text",
            )
    op.create_index(
        "ix_subscription_match", "subscription", ["key_type", "key", "platform", "address", "created_at", "label"]
    )


def downgrade() -> None:
    op.drop_index("ix_subscription_match", table_name="subscription")
    for table, nullable in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                "address",
                new_column_name="chat_id",
                existing_type=sa.String(300),
                type_=sa.BigInteger(),
                existing_nullable=nullable,
                postgresql_using="address::bigint",
            )
    op.create_index(
        "ix_subscription_match", "subscription", ["key_type", "key", "platform", "chat_id", "created_at", "label"]
    )
