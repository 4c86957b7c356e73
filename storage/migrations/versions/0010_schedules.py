"""Delivery schedules: a chat's digest and quiet hours, and which queued alerts wait for its digest

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("destination") as batch:
        batch.add_column(sa.Column("alert_mode", sa.String(12), nullable=False, server_default="instant"))
        batch.add_column(sa.Column("digest_hour", sa.Integer(), nullable=False, server_default="9"))
        batch.add_column(sa.Column("time_zone", sa.String(64), nullable=False, server_default="UTC"))
        batch.add_column(sa.Column("quiet_from", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("quiet_to", sa.Integer(), nullable=True))
    with op.batch_alter_table("delivery") as batch:
        batch.add_column(sa.Column("digest", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("delivery") as batch:
        batch.drop_column("digest")
    with op.batch_alter_table("destination") as batch:
        for column in ("quiet_to", "quiet_from", "time_zone", "digest_hour", "alert_mode"):
            batch.drop_column(column)
