"""Source health and progress: cursor, baseline, last success and error, failures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from storage.tables import SourceStateRow


@dataclass(frozen=True)
class SourceHealth:
    name: str
    cursor: str | None = None
    digest: str | None = None
    baseline_done: bool = False
    records_seen: int = 0
    last_success_at: datetime | None = None
    last_error_at: datetime | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    next_attempt_at: datetime | None = None
    failing_since: datetime | None = None


def _health(row: SourceStateRow) -> SourceHealth:
    return SourceHealth(**row.model_dump())


def _row(session: Session, name: str) -> SourceStateRow:
    row = session.get(SourceStateRow, name)
    if row is None:
        row = SourceStateRow(name=name)
        session.add(row)
    return row


def get_state(session: Session, name: str) -> SourceHealth:
    """Return a source's state (a fresh one if it never ran)."""
    row = session.get(SourceStateRow, name)
    return _health(row) if row else SourceHealth(name)


def list_states(session: Session) -> list[SourceHealth]:
    """Return every source's state, by name."""
    return [_health(row) for row in session.exec(select(SourceStateRow).order_by(col(SourceStateRow.name)))]


def record_success(session: Session, name: str, cursor: str | None, digest: str, records: int, now: datetime) -> None:
    """Record a successful fetch: the baseline is done and the cursor moves on."""
    row = _row(session, name)
    row.cursor = cursor if cursor is not None else row.cursor
    row.digest = digest
    row.baseline_done = True
    row.records_seen = records
    row.last_success_at = now
    row.consecutive_failures = 0
    row.next_attempt_at = None
    row.failing_since = None


def record_failure(session: Session, name: str, error: str, now: datetime, retry_at: datetime | None) -> None:
    """Record a failed fetch; the cursor stays where it was."""
    row = _row(session, name)
    row.last_error, row.last_error_at = error[:2000], now
    if not row.consecutive_failures:
        row.failing_since = now
    row.consecutive_failures += 1
    row.next_attempt_at = retry_at
