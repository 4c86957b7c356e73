"""The full-text index of event names, titles and brands. Each function takes a ``Session`` first.

SQLite keeps it in an FTS5 table ranked with bm25(); PostgreSQL in a ``tsvector`` column
with a GIN index, ranked with ts_rank_cd(). Both hold the tokens :mod:`bot.fulltext`
folded, so a query finds the same events on either (migration 0004 creates the table).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Result, TextClause, bindparam, text
from sqlmodel import Session

from bot import fulltext
from bot.events import Event

if TYPE_CHECKING:
    from alembic.runtime.environment import NameFilterParentNames, NameFilterType

TABLE = "event_fts"
PG_INDEX = "ix_event_fts_document"
_CHUNK = 500  # rows per statement: well under both databases' parameter limits

_T = TypeVar("_T")

# Weights: a product name or model says most about an event, its title less, its brand least.
_SQLITE_WEIGHTS = "0.0, 10.0, 4.0, 2.0"  # event_id (unindexed), names, title, brand
_PG_WEIGHTS = "{0.0, 0.2, 0.4, 1.0}"  # D (unused), C brand, B title, A names

_INSERT = {
    "sqlite": text(f"INSERT INTO {TABLE} (event_id, names, title, brand) VALUES (:event_id, :names, :title, :brand)"),
    "postgresql": text(
        f"INSERT INTO {TABLE} (event_id, document) VALUES (:event_id, "
        "setweight(to_tsvector('simple', :names), 'A') || setweight(to_tsvector('simple', :title), 'B')"
        " || setweight(to_tsvector('simple', :brand), 'C'))"
    ),
}
# On SQLite this scans the index's rows (event_id is not indexed by FTS5), once per
# chunk; only replaced events are unindexed, a few per checker pass.
_DELETE = text(f"DELETE FROM {TABLE} WHERE event_id IN :ids").bindparams(bindparam("ids", expanding=True))

# Ties go to the newer event, then to the id, so the order is the same on every run.
_SEARCH = {
    "sqlite": text(
        f"SELECT {TABLE}.event_id, -bm25({TABLE}, {_SQLITE_WEIGHTS}) AS score"
        f" FROM {TABLE} JOIN event ON event.id = {TABLE}.event_id"
        f" WHERE {TABLE} MATCH :query"
        " ORDER BY score DESC, event.event_date DESC NULLS LAST, event.id LIMIT :limit"
    ),
    "postgresql": text(
        f"SELECT f.event_id, ts_rank_cd('{_PG_WEIGHTS}', f.document, plainto_tsquery('simple', :query)) AS score"
        f" FROM {TABLE} AS f JOIN event ON event.id = f.event_id"
        " WHERE f.document @@ plainto_tsquery('simple', :query)"
        " ORDER BY score DESC, event.event_date DESC NULLS LAST, event.id LIMIT :limit"
    ),
}


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _chunks(items: Sequence[_T], size: int = _CHUNK) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _index_rows(events: Iterable[Event]) -> list[dict[str, str]]:
    """Return the index rows of events: their id and their folded names, title and brands."""
    return [{"event_id": event.id, **fulltext.document(event)} for event in events]


def index_events(session: Session, events: Sequence[Event]) -> None:
    """Add events that are not indexed yet to the full-text index."""
    statement = _INSERT[_dialect(session)]
    for chunk in _chunks(list(events)):
        session.execute(statement, _index_rows(chunk))


def unindex_events(session: Session, ids: Sequence[str]) -> None:
    """Remove events from the full-text index."""
    for chunk in _chunks(list(ids)):
        session.execute(_DELETE, {"ids": list(chunk)})


def _match_text(dialect: str, tokens: list[str]) -> str:
    if dialect == "sqlite":
        # Each token an FTS5 string: quotes doubled, so NEAR, OR, * and quotes are plain text.
        return " ".join('"' + token.replace('"', '""') + '"' for token in tokens)
    return " ".join(tokens)  # plainto_tsquery ANDs words and reads no operators


def search_statement(session: Session, terms: Sequence[str], limit: int) -> tuple[TextClause, dict[str, Any]] | None:
    """Return the statement and parameters that search for ``terms``, or None if no token is left."""
    # Fold again: a term of some other origin must tokenize as documents do, on both databases.
    tokens = [token for term in terms for token in fulltext.terms(term)]
    if not tokens:
        return None
    dialect = _dialect(session)
    return _SEARCH[dialect], {"query": _match_text(dialect, tokens), "limit": limit}


def search_events(session: Session, terms: Sequence[str], limit: int) -> list[tuple[str, float]]:
    """Return (event id, score) of events holding every term as a whole token, best first.

    A higher score is a better match; scores compare only within one call.
    """
    found = search_statement(session, terms, limit)
    if found is None:
        return []
    statement, params = found
    rows: Result[str, float] = session.execute(statement, params)  # a text statement's rows are untyped
    return [(event_id, float(score)) for event_id, score in rows]


def count_indexed(session: Session) -> int:
    """Return how many events the full-text index holds."""
    return session.execute(text(f"SELECT count(*) FROM {TABLE}")).scalar_one()


def declared_by_tables(name: str | None, type_: NameFilterType, parent_names: NameFilterParentNames) -> bool:
    """Tell Alembic's comparison which tables the SQLModel tables declare: not the full-text index.

    The index is an FTS5 virtual table (with its shadow tables) or a tsvector table, made by
    migration 0004 alone, so autogenerate must not offer to drop it.
    """
    return not (type_ == "table" and (name or "").startswith(TABLE))
