"""Operator incidents: a source down, a chat paused, the outbox stuck, told through the outbox

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

OPEN = sa.text("cleared_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "incident",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("opened_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("cleared_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("cleared_detail", sa.Text(), nullable=True),
    )
    op.create_index(
        "uq_incident_open", "incident", ["kind", "subject"], unique=True, sqlite_where=OPEN, postgresql_where=OPEN
    )
    with op.batch_alter_table("delivery") as batch:
        batch.alter_column("event_id", existing_type=sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True)
        batch.add_column(sa.Column("incident_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_delivery_incident_id_incident", "incident", ["incident_id"], ["id"])
        batch.create_unique_constraint("uq_delivery_incident", ["incident_id", "event_hash", "platform", "address"])
        batch.add_column(sa.Column("released_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    # An alert held now counts as waiting from its release, as those held after this migration do.
    op.execute(
        "UPDATE delivery SET released_at = next_attempt_at WHERE status = 'pending' "
        "AND last_error IN ('held for the digest', 'held for quiet hours')"
    )
    with op.batch_alter_table("destination") as batch:
        batch.add_column(sa.Column("paused_by_user", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("source_state") as batch:
        batch.add_column(sa.Column("failing_since", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    # A source failing now began no later than its last error: the best guess for the streak's start.
    op.execute("UPDATE source_state SET failing_since = last_error_at WHERE consecutive_failures > 0")
    # Pauses so far were all counted as the operator's business; the users' own (blocked, kicked) are not.
    op.execute(
        "UPDATE destination SET paused_by_user = TRUE WHERE paused_at IS NOT NULL AND ("
        "lower(paused_reason) LIKE '%blocked by the user%' OR lower(paused_reason) LIKE '%kicked%' "
        "OR lower(paused_reason) LIKE '%user is deactivated%' OR lower(paused_reason) LIKE '%removed from the%' "
        "OR lower(paused_reason) LIKE '%group chat was deactivated%' OR lower(paused_reason) LIKE '%is not a member%' "
        "OR paused_reason LIKE '403 50007%')"
    )


def downgrade() -> None:
    with op.batch_alter_table("source_state") as batch:
        batch.drop_column("failing_since")
    with op.batch_alter_table("destination") as batch:
        batch.drop_column("paused_by_user")
    op.execute("DELETE FROM delivery WHERE incident_id IS NOT NULL")  # notices: the old schema has no place for them
    with op.batch_alter_table("delivery") as batch:
        batch.drop_column("released_at")
        batch.drop_constraint("uq_delivery_incident", type_="unique")
        batch.drop_constraint("fk_delivery_incident_id_incident", type_="foreignkey")
        batch.drop_column("incident_id")
        batch.alter_column("event_id", existing_type=sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False)
    op.drop_index("uq_incident_open", table_name="incident")
    op.drop_table("incident")
