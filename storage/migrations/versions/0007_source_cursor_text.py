"""Source cursors as text: a cursor may hold an ETag and a digest, or a list of links to retry

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Widening keeps every stored cursor (batch mode copies the table on SQLite).
    with op.batch_alter_table("source_state") as batch:
        batch.alter_column("cursor", existing_type=AutoString(length=100), type_=sa.Text(), existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("source_state") as batch:
        batch.alter_column("cursor", existing_type=sa.Text(), type_=AutoString(length=100), existing_nullable=True)
