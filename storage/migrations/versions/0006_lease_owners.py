"""Lease owners: a delivery's claim names the instance that holds it

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable with no default: queued deliveries stay as they are. A claim made before this
    # column existed has no owner and is released when its lease ends, as before.
    op.add_column("delivery", sa.Column("claimed_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("delivery") as batch:
        batch.drop_column("claimed_by")
