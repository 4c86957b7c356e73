"""Storage on a real SQLite file: migrations, WAL, bulk loading, index lookups."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlmodel import Session, select

from bot.dataset import load_bundled, store_events
from bot.events import Destination
from bot.sources.cpsc import parse_records
from storage import repo
from storage.search import declared_by_tables
from storage.tables import DestinationRow, EventRow, SQLModel
from tests.conftest import NOW, query_plan, slice_records


def test_migrations_build_exactly_the_tables_the_code_declares(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_name": declared_by_tables})
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == []


def test_sqlite_runs_in_wal_mode(sqlite_engine):
    with sqlite_engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_model_lookup_uses_the_index(engine):
    events, _ = parse_records(slice_records(), "t")
    with Session(engine) as session:
        store_events(session, events, "t", NOW)
        session.commit()
        if engine.dialect.name == "postgresql":
            # A table this small is read whole; asked to avoid that, the planner shows whether the index CAN serve.
            session.execute(text("SET LOCAL enable_seqscan = off"))
        hits, plan = query_plan(session, lambda: repo.events_for_keys(session, [("model", "A1263")]))
    assert [h.event.id for h in hits] == ["cpsc-25338"]
    if engine.dialect.name == "postgresql":
        # An Index Scan of ix_event_key_lookup, or a Bitmap Index Scan on it; not of event_key_pkey.
        assert re.search(r"Index Scan (using|on) ix_event_key_lookup\b", plan), plan
    else:
        lookup = r"SEARCH event_key USING (COVERING )?INDEX ix_event_key_lookup \(key_type=\? AND key=\?\)"
        assert re.search(lookup, plan), plan


def test_bundled_load_is_idempotent(engine):
    with Session(engine) as session:
        first = load_bundled(session, NOW)
        session.commit()
    with Session(engine) as session:
        second = load_bundled(session, NOW + timedelta(days=1))
        session.commit()
        count = repo.count_events(session)
    assert (len(first.new), first.problems) == (596, [])
    # The same files and parsers as the first start: nothing is read or written again.
    assert (len(second.new), len(second.updated), second.unchanged) == (0, 0, 0)
    assert count == 596


def test_changed_event_is_replaced_and_keeps_first_seen(engine):
    events, _ = parse_records(slice_records()[:2], "t")
    with Session(engine) as session:
        store_events(session, events, "t", NOW)
        session.commit()
    expanded = dataclasses.replace(events[0], models=(*events[0].models, "A9999"))
    later = NOW + timedelta(hours=3)
    with Session(engine) as session:
        report = store_events(session, [expanded, events[1]], "t", later)
        session.commit()
        row = session.exec(select(EventRow).where(EventRow.id == expanded.id)).one()
        hits = repo.events_for_keys(session, [("model", "A9999")])
    assert [(old.id, new.material_change(old)) for old, new in report.updated] == [(expanded.id, ["models"])]
    assert report.unchanged == 1
    assert row.first_seen_at == NOW and row.updated_at == later
    assert [h.event.id for h in hits] == [expanded.id]


@pytest.mark.parametrize(
    "address",
    [
        str(2**63 - 1),  # a Discord snowflake at its largest
        "-1001234567890",  # a Telegram supergroup
        "!abcDEF:example.org",  # a Matrix room
        "recalls@example.org",  # an e-mail address
    ],
)
def test_an_address_is_kept_as_the_platform_wrote_it_and_is_unique(engine, address):
    dest = Destination("other", address)
    with Session(engine) as session:
        assert repo.add_subscription(session, dest, "brand", "anker", "Anker", NOW)
        assert not repo.add_subscription(session, dest, "brand", "anker", "Anker", NOW)  # the same, once
        session.commit()
    with Session(engine) as session:
        assert [r.address for r in repo.list_subscriptions(session, dest)] == [address]


def test_the_address_migration_keeps_every_row_and_its_uniqueness(engine):
    """Rows written while destinations were 64-bit numbers come through as their text, still unique."""
    from alembic import command
    from sqlalchemy.exc import IntegrityError

    from storage.db import alembic_config

    config = alembic_config(engine)
    command.downgrade(config, "0007")
    with engine.begin() as connection:
        for chat in (-1001234567890, 2**63 - 1):
            connection.execute(
                text(
                    "INSERT INTO subscription (platform, chat_id, key_type, key, label, created_at) "
                    "VALUES ('telegram', :chat, 'brand', 'anker', 'Anker', :now)"
                ),
                {"chat": chat, "now": NOW},
            )
        connection.execute(
            text("INSERT INTO destination (platform, chat_id, gone_count) VALUES ('telegram', :chat, 2)"),
            {"chat": -1001234567890},
        )
    command.upgrade(config, "head")
    old = Destination("telegram", "-1001234567890")
    with Session(engine) as session:
        assert [r.address for r in repo.list_subscriptions(session, old)] == ["-1001234567890"]
        assert [r.address for r in repo.list_subscriptions(session, Destination("telegram", str(2**63 - 1)))] == [
            str(2**63 - 1)
        ]
        assert session.get(DestinationRow, ("telegram", "-1001234567890")).gone_count == 2
        assert not repo.add_subscription(session, old, "brand", "anker", "Anker", NOW)  # still one of each
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO subscription (platform, address, key_type, key, label, created_at) "
                "VALUES ('telegram', '-1001234567890', 'brand', 'anker', 'Anker', :now)"
            ),
            {"now": NOW},
        )
