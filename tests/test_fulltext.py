"""The full-text index on real events, on SQLite (FTS5) and PostgreSQL (tsvector + GIN)."""

from __future__ import annotations

import dataclasses
import re
from datetime import date, timedelta

import pytest
from alembic import command
from sqlalchemy import Engine, text
from sqlmodel import Session

from bot.dataset import CURATED_ORIGIN, bundled_curated, store_events
from bot.events import Event
from bot.fulltext import document, query_terms, terms
from bot.sources.cpsc import parse_records
from storage import repo, search
from storage.db import alembic_config
from tests.conftest import NOW, query_plan, slice_records

A1263 = ["anker-powercore-10000-a1263-us-2025", "cpsc-25338"]


def _real_events() -> tuple[list[Event], list[Event]]:
    events, problems = parse_records(slice_records(), "test slice")
    curated, curated_problems = bundled_curated()
    assert (problems, curated_problems) == ([], [])
    return events, curated


def _load(engine: Engine) -> None:
    events, curated = _real_events()
    with Session(engine) as session:
        store_events(session, events, "test:cpsc", NOW)
        store_events(session, curated, CURATED_ORIGIN, NOW)
        session.commit()


def _find(session: Session, query: str, limit: int = 10) -> list[str]:
    """Search as /check does: the first alternative of the query that finds anything."""
    for alternative in query_terms(query):
        found = search.search_events(session, alternative, limit)
        if found:
            return [event_id for event_id, _ in found]
    return []


def _curated(event_id: str) -> Event:
    return next(e for e in _real_events()[1] if e.id == event_id)


def test_terms_fold_accents_full_width_forms_and_apostrophes():
    assert terms("ÅSKSTORM 40W USB Chargers") == ["askstorm", "40w", "usb", "charger"]  # plural s dropped
    assert terms("ＡＮＫＥＲ５３５") == ["anker535"]
    assert terms("Lowe's AT&T") == ["lowe", "at", "and", "t"]


def test_terms_make_each_cjk_character_a_token():
    assert terms("罗马仕") == ["罗", "马", "仕"]
    assert terms("Romoss罗马仕 한국") == ["romoss", "罗", "马", "仕", "한", "국"]


def test_query_terms_try_the_query_as_typed_then_letters_and_digits_apart():
    assert query_terms("blendjet2") == [["blendjet2"], ["blendjet", "2"]]
    assert query_terms("ＡＮＫＥＲ５３５") == [["anker535"], ["anker", "535"]]
    assert query_terms("the recalled Anker 535") == [["anker", "535"]]


def test_query_terms_of_nothing_searchable_is_no_alternative():
    assert query_terms("* the") == []
    assert query_terms("") == []


def test_document_adds_the_parts_of_glued_and_camel_cased_words():
    fields = document(_curated("anker-334-maggo-10k"))
    assert fields["names"] == "anker 334 maggo mag go 10k 10 k power bank"
    assert fields["brand"] == "anker"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Anker 535", ["anker-535-power-bank-20k"]),
        ("varmfront", ["cpsc-24344"]),
        ("askstorm", ["cpsc-24125"]),
        ("ÅSKSTORM", ["cpsc-24125"]),
        ("Ninja Foodi", ["cpsc-25247"]),  # "Ninja" of "SharkNinja"
        ("blendjet2", ["cpsc-24069"]),
        ("BlendJet 2", ["cpsc-24069"]),
        ("Tesla Powerwall 2", ["cpsc-26092"]),
        ("Anker PowerCore 10000", A1263),
        ("334 MagGo", ["anker-334-maggo-10k"]),
        ("xiaomi 20000", []),
    ],
)
def test_check_query_finds_the_event_by_its_names(engine, query, expected):
    _load(engine)
    with Session(engine) as session:
        assert _find(session, query) == expected


def test_glued_query_finds_the_spaced_name_only_through_its_split_alternative(engine):
    _load(engine)
    with Session(engine) as session:
        assert search.search_events(session, ["blendjet2"], 10) == []
        assert [i for i, _ in search.search_events(session, ["blendjet", "2"], 10)] == ["cpsc-24069"]


def test_names_outrank_brands(engine):
    _load(engine)
    with Session(engine) as session:
        found = _find(session, "anker powercore", limit=3)
    assert found[:2] == A1263


def test_cjk_alias_is_found_by_its_characters(engine):
    _load(engine)
    romoss = dataclasses.replace(_curated("romoss-pac20-272-2025"), aliases=("罗马仕",))
    with Session(engine) as session:
        store_events(session, [romoss], CURATED_ORIGIN, NOW + timedelta(hours=1))
        session.commit()
        assert _find(session, "罗马仕") == ["romoss-pac20-272-2025"]
        assert _find(session, "罗 马 仕") == ["romoss-pac20-272-2025"]


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ('anker" OR "x', []),
        ("NEAR(a b)", []),
        ("*", []),
        ('"', []),
        ("anker AND NOT", []),
        ("(", []),
        ("^x", []),
        ("a:b", ["cpsc-24146"]),  # not a column filter: the words "a" and "b", parts of model A17B0
    ],
)
def test_quotes_and_operators_in_terms_are_plain_words(engine, term, expected):
    _load(engine)
    with Session(engine) as session:
        found = search.search_events(session, [term], 10)
        assert found == search.search_events(session, terms(term), 10)
        assert [event_id for event_id, _ in found] == expected


def test_a_term_with_a_quote_matches_its_word(engine):
    _load(engine)
    with Session(engine) as session:
        assert search.search_events(session, ['varmfront"'], 10) == search.search_events(session, ["varmfront"], 10)
        assert search.search_events(session, ["*", '"'], 10) == []


def test_replaced_event_is_found_by_its_new_name_not_its_old_one(engine):
    _load(engine)
    varmfront = next(e for e in _real_events()[0] if e.id == "cpsc-24344")
    renamed = dataclasses.replace(
        varmfront, products=("VINTERFRONT Power Banks",), title="IKEA Recalls VINTERFRONT Power Banks"
    )
    with Session(engine) as session:
        report = store_events(session, [renamed], "test:cpsc", NOW + timedelta(hours=1))
        session.commit()
        assert [new.id for _, new in report.updated] == ["cpsc-24344"]
        assert (_find(session, "vinterfront"), _find(session, "varmfront")) == (["cpsc-24344"], [])
        assert search.count_indexed(session) == repo.count_events(session)


def test_ties_go_to_the_newer_event_then_the_id(engine):
    varmfront = next(e for e in _real_events()[0] if e.id == "cpsc-24344")
    dates = {"tie-a": date(2020, 1, 1), "tie-0": date(2020, 1, 1), "tie-b": date(2024, 1, 1), "tie-c": None}
    twins = [dataclasses.replace(varmfront, id=event_id, date=day) for event_id, day in dates.items()]
    with Session(engine) as session:
        store_events(session, twins, "test", NOW)
        session.commit()
        assert _find(session, "varmfront") == ["tie-b", "tie-0", "tie-a", "tie-c"]
        assert _find(session, "varmfront", limit=2) == ["tie-b", "tie-0"]


def test_every_stored_event_is_indexed(engine):
    _load(engine)
    with Session(engine) as session:
        assert (search.count_indexed(session), repo.count_events(session)) == (41, 41)


def test_migration_backfills_the_index_from_stored_events(engine):
    _load(engine)
    config = alembic_config(engine)
    command.downgrade(config, "0003")
    command.upgrade(config, "head")
    with Session(engine) as session:
        assert search.count_indexed(session) == 41
        assert _find(session, "Anker PowerCore 10000") == A1263
        assert _find(session, "askstorm") == ["cpsc-24125"]


def _document_tokens(event: Event) -> set[str]:
    return {token for field in document(event).values() for token in field.split()}


def test_the_database_holds_exactly_the_tokens_python_folded(engine):
    events, curated = _real_events()
    cjk = dataclasses.replace(_curated("romoss-pac20-272-2025"), id="cjk", aliases=("罗马仕", "ひらがな", "한국"))
    events = [*events, *curated, cjk]
    with Session(engine) as session:
        store_events(session, events, "test", NOW)
        if engine.dialect.name == "postgresql":
            rows = session.execute(text("SELECT event_id, tsvector_to_array(document) FROM event_fts")).all()
            stored = {event_id: set(lexemes) for event_id, lexemes in rows}
            assert stored == {e.id: _document_tokens(e) for e in events}
        else:
            session.execute(text("CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, event_fts, row)"))
            stored_terms = set(session.execute(text("SELECT term FROM temp.vocab")).scalars())
            assert stored_terms == set().union(*map(_document_tokens, events))


def test_search_uses_the_full_text_index(engine):
    _load(engine)
    with Session(engine) as session:
        if engine.dialect.name == "postgresql":
            # A table this small is read whole; asked to avoid that, the planner shows whether the index CAN serve.
            session.execute(text("SET LOCAL enable_seqscan = off"))
        found, plan = query_plan(session, lambda: search.search_events(session, ["anker", "535"], 10))
    assert [event_id for event_id, _ in found] == ["anker-535-power-bank-20k"]
    if engine.dialect.name == "postgresql":
        assert f"Bitmap Index Scan on {search.PG_INDEX}" in plan, plan
    else:
        # FTS5 answers the MATCH ("M" in its index string); a scan of the table's rows reads "INDEX 0:".
        assert re.search(rf"SCAN {search.TABLE} VIRTUAL TABLE INDEX \d+:M", plan), plan
