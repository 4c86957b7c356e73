"""Full-text index of event names, titles and brands, filled from the stored events

Revision ID: 0004
Revises: 0003
"""

import json

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from bot.events import Event
from bot.fulltext import document

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_CHUNK = 500
# Documents are folded in Python (bot.fulltext) into space-joined tokens of letters, marks
# and digits: the tokenizer only splits, so SQLite and PostgreSQL see the same tokens.
_SQLITE_TABLE = (
    "CREATE VIRTUAL TABLE event_fts USING fts5("
    "event_id UNINDEXED, names, title, brand, "
    "tokenize = \"unicode61 remove_diacritics 0 categories 'L* N* Co M*'\")"
)
_INSERT = {
    "sqlite": "INSERT INTO event_fts (event_id, names, title, brand) VALUES (:event_id, :names, :title, :brand)",
    "postgresql": (
        "INSERT INTO event_fts (event_id, document) VALUES (:event_id, "
        "setweight(to_tsvector('simple', :names), 'A') || setweight(to_tsvector('simple', :title), 'B')"
        " || setweight(to_tsvector('simple', :brand), 'C'))"
    ),
}
_READ = sa.text("SELECT id, data FROM event WHERE id > :after ORDER BY id LIMIT :limit")


def _create_table(dialect: str) -> None:
    if dialect == "sqlite":
        op.execute(_SQLITE_TABLE)
        return
    op.create_table(
        "event_fts",
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("document", postgresql.TSVECTOR(), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["event.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.create_index("ix_event_fts_document", "event_fts", ["document"], postgresql_using="gin")


def _backfill(connection: sa.Connection) -> None:
    """Index every stored event, a chunk at a time (ordered by id, so none is read twice)."""
    insert = sa.text(_INSERT[connection.dialect.name])
    after = ""
    while rows := connection.execute(_READ, {"after": after, "limit": _CHUNK}).all():
        events = [Event.from_dict(json.loads(str(data))) for _, data in rows]
        connection.execute(insert, [{"event_id": e.id, **document(e)} for e in events])
        after = rows[-1][0]


def upgrade() -> None:
    connection = op.get_bind()
    _create_table(connection.dialect.name)
    _backfill(connection)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_event_fts_document", table_name="event_fts")
    op.drop_table("event_fts")
