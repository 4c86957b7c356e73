"""Parsing real CPSC records and curated TOML, including records that break the format."""

from __future__ import annotations

import json
from datetime import date

import pytest

from bot.dataset import bundled_events
from bot.errors import RecordError
from bot.events import Event, EventKind
from bot.extract import extract_models
from bot.normalize import model_key
from bot.sources.cpsc import parse_record, parse_records
from bot.sources.curated import load_curated, parse_curated
from tests.conftest import DATA, slice_records


def test_raw_api_records_with_empty_values_parse():
    records = json.loads((DATA / "cpsc-raw.json").read_text())
    events, problems = parse_records(records, "raw")
    assert problems == []
    assert [e.id for e in events] == ["cpsc-18218", "cpsc-13117", "cpsc-03525"]
    bluestar = events[0]
    assert bluestar.date == date(2018, 9, 11)
    assert bluestar.source == "CPSC recall 18-218"
    assert bluestar.brand == "Prizer-Painter Stove Works"  # "... Recalled by Prizer-Painter Stove Works Due to ..."
    assert events[1].brand == "BlueStar"  # "BlueStar Wall Ovens Recalled by ..."


def test_units_are_the_first_figure_of_the_prose():
    event = parse_record(next(r for r in slice_records() if r["RecallNumber"] == "25056"))
    assert event.units == 69000  # "About 69,000 (In addition, about 9,764 were sold in Canada)"
    assert "Canada" in event.units_text


def test_record_missing_a_field_names_it():
    record = dict(slice_records()[0])
    del record["RecallDate"]
    with pytest.raises(RecordError) as error:
        parse_record(record)
    assert error.value.field == "RecallDate"


def test_bad_records_are_skipped_and_the_rest_load():
    records = slice_records()[:3]
    broken = dict(records[1], RecallDate="yesterday")
    events, problems = parse_records([records[0], broken, "not an object", records[2]], "feed")
    assert [e.id for e in events] == ["cpsc-25338", "cpsc-25056"]
    assert [(p.record, p.field) for p in problems] == [("25011", "RecallDate"), ("#3", "record")]


def test_glued_model_and_serial_from_the_csv_export_are_not_models():
    text = (DATA / "csv-24-117-description.txt").read_text()
    keys = {model_key(m) for m in extract_models(text)}
    assert not any("VF3450" in key for key in keys)
    assert "FCRG3051BWVF34504801" not in keys


def test_bundled_dataset_loads_every_record():
    origins = bundled_events()
    snapshot, snapshot_problems = origins["bundled:cpsc-snapshot"]
    curated, curated_problems = origins["bundled:curated"]
    assert (len(snapshot), snapshot_problems) == (589, [])
    assert curated_problems == []
    by_id = {e.id: e for e in curated}
    romoss = by_id["romoss-pac20-272-2025"]
    assert (romoss.units, romoss.models, romoss.date) == (491745, ("PAC20-272",), date(2025, 6, 16))
    china = by_id["anker-china-seven-models-2025"]
    assert china.models == () and "not named" in china.models_note
    apex = by_id["cqc-apex-wuxi-2025-06"]
    assert apex.kind is EventKind.SUSPENSION
    assert apex.linked_brands == ("Xiaomi", "Anker", "Ugreen", "Baseus")
    assert all(e.source for e in curated)


def test_event_round_trips_through_json():
    event = parse_record(slice_records()[0])
    again = Event.from_dict(json.loads(json.dumps(event.to_dict())))
    assert again == event
    assert again.content_hash == event.content_hash


GOOD = """
[[recall]]
id = "ok-1"
date = 2025-06-16
brand = "Romoss"
models = ["PAC20-272"]
product = "power bank"
source = "test"
"""


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ('id = "bad-date"\ndate = "June"\nbrand = "X"\nproduct = "p"\nsource = "s"', "date"),
        ('id = "no-brand"\nproduct = "p"\nsource = "s"', "brand"),
        ('id = "typo"\nbrand = "X"\nproduct = "p"\nsource = "s"\nmodles = ["A1"]', "modles"),
        ('id = "units"\nbrand = "X"\nproduct = "p"\nsource = "s"\nunits = "many"', "units"),
        ('id = "models"\nbrand = "X"\nproduct = "p"\nsource = "s"\nmodels = "A1"', "models"),
        ('id = "ok-1"\nbrand = "X"\nproduct = "p"\nsource = "s"', "id"),
    ],
)
def test_curated_record_breaking_the_format_is_skipped_with_file_id_and_field(record, field):
    events, problems = parse_curated(GOOD + "\n[[recall]]\n" + record, "my.toml")
    assert [e.id for e in events] == ["ok-1"]
    assert len(problems) == 1
    assert (problems[0].source, problems[0].field) == ("my.toml", field)
    assert "my.toml" in str(problems[0]) and field in str(problems[0])


def test_curated_record_without_id_is_named_by_position():
    events, problems = parse_curated(GOOD + '\n[[suspension]]\nsupplier = "X"\nsource = "s"\n', "f.toml")
    assert [e.id for e in events] == ["ok-1"]
    assert problems[0].record == "#1 of [[suspension]]"
    assert problems[0].field == "id"


def test_curated_file_that_is_not_toml_reports_one_problem(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("[[recall]\nid = ")
    events, problems = load_curated(path)
    assert events == []
    assert len(problems) == 1 and "not valid TOML" in problems[0].reason
