"""Model numbers, unit limits and brands found in the 589 real CPSC records bundled with recallbot.

The sample in tests/data/extract-sample.json was written by reading the records, so its
figures measure the extractor against a person, not against itself.
"""

from __future__ import annotations

import gzip
import json
import re
from importlib.resources import files

import pytest

from bot.events import Event
from bot.extract import extract_models, unit_covered
from bot.normalize import model_key, name_key
from bot.sources.cpsc import parse_record
from tests.conftest import DATA


def _snapshot() -> dict[str, dict]:
    raw = files("bot").joinpath("data/cpsc-snapshot.json.gz").read_bytes()
    return {r["RecallNumber"]: r for r in json.loads(gzip.decompress(raw))}


RECORDS = _snapshot()
SAMPLE = json.loads((DATA / "extract-sample.json").read_text(encoding="utf-8"))["records"]


@pytest.fixture(scope="module")
def events() -> dict[str, Event]:
    return {number: parse_record(record) for number, record in RECORDS.items()}


def sample(recall: str) -> dict:
    return next(r for r in SAMPLE if r["recall"] == recall)


def keys(models) -> set[str]:
    return {model_key(m) for m in models}


# --- measured on the hand-checked sample


def test_sample_follows_its_rule():
    ordered = sorted(RECORDS)
    named = ["24069", "25283", "26135", "25093", "25247", "26092", "24125", "25304", "24344", "26089", "25338", "24117"]
    read_first = ordered[::15] + [n for n in named if n not in ordered[::15]]
    assert [r["recall"] for r in SAMPLE if not r.get("held_out")] == read_first
    assert [r["recall"] for r in SAMPLE if r.get("held_out")] == ordered[7::30]


def scores(events: dict[str, Event], records: list[dict], field: str) -> tuple[float, float]:
    """Return the precision and recall of an event field (models or unit_codes) against hand-checked records."""
    found = wanted = hits = 0
    for record in records:
        got = keys(getattr(events[record["recall"]], field))
        want = keys(record["models" if field == "models" else "codes"])
        found, wanted, hits = found + len(got), wanted + len(want), hits + len(got & want)
    return (hits / found if found else 0.0), (hits / wanted if wanted else 0.0)


def test_model_extraction_precision_and_recall_on_the_sample(events):
    precision, recall = scores(events, SAMPLE, "models")
    held_out = [r for r in SAMPLE if r.get("held_out")]
    held_precision, held_recall = scores(events, held_out, "models")
    print(f"model extraction on {len(SAMPLE)} hand-checked records: precision {precision:.3f}, recall {recall:.3f}")
    print(f"  of which {len(held_out)} read after the rules: precision {held_precision:.3f}, recall {held_recall:.3f}")
    assert precision >= 0.95
    assert recall >= 0.90


def test_code_extraction_precision_on_the_sample(events):
    precision, recall = scores(events, SAMPLE, "unit_codes")
    print(f"code extraction on {len(SAMPLE)} hand-checked records: precision {precision:.3f}, recall {recall:.3f}")
    assert precision >= 0.95


# --- the notices named in the issue


def test_iniu_serial_numbers_are_not_models(events):
    assert events["26135"].models == ("BI-B41",)


def test_iwalk_serial_table_and_company_name_give_no_models(events):
    assert keys(events["25304"].models) == {"MXB008", "DBL6000M", "DBL6000P"}


def test_ikea_date_codes_are_not_models(events):
    assert events["24344"].models == ("E2037", "E2038")


def test_vornado_date_codes_are_not_models(events):
    assert events["25093"].models == ("VH2",)


def test_code_after_the_model_is_not_a_model_when_the_notice_says_so(events):
    models = events["25247"].models
    assert "I07" not in models
    assert keys(models) == keys(sample("25247")["models"])


def test_model_year_table_keeps_its_models_and_drops_its_years(events):
    models = events["25283"].models
    assert not [m for m in models if re.fullmatch(r"(?:19|20)\d\d", m) or re.search(r"\b20[12]\d\b", m)]
    assert keys(models) == keys(sample("25283")["models"])


def test_charger_wattage_and_connector_are_not_models(events):
    assert events["24125"].models == ("ICPSW5-40-1",)


def test_serial_prefix_range_is_not_a_model(events):
    assert events["24069"].models == ()


def test_iniu_serial_numbers_are_codes(events):
    assert events["26135"].unit_codes == ("000G21", "000H21", "000I21", "000L21")


def test_ikea_date_codes_are_codes(events):
    assert events["24344"].unit_codes == ("2318", "2319", "2322", "2313", "2316")


def test_vornado_date_codes_are_codes(events):
    assert events["25093"].unit_codes == ("JUL24", "AUG24")


def test_blendjet_first_four_digits_are_a_range(events):
    assert (events["24069"].unit_codes, events["24069"].unit_ranges) == ((), (("5201", "5542", 4),))


def test_frigidaire_serial_ranges_are_ranges_not_codes(events):
    event = events["24117"]
    assert event.unit_codes == ()
    assert event.unit_ranges[0] == ("VF34618193", "VF34618322", 0)
    assert len(event.unit_ranges) == 18


@pytest.mark.parametrize(
    ("recall", "code", "covered"),
    [
        ("26135", "000G21", True),
        ("26135", "000g21", True),
        ("26135", "000X21", False),
        ("24069", "5300123", True),
        ("24069", "5600000", False),
        ("24344", "2319", True),
        ("24344", "2320", False),
        ("25093", "jul24", True),
        ("25093", "SEP24", False),
        ("24117", "VF34618200", True),
        ("24117", "VF34618400", False),
        ("25338", "A1263", None),  # "qualifying serial numbers" are not listed
    ],
)
def test_unit_covered_on_real_limits(events, recall, code, covered):
    event = events[recall]
    assert unit_covered(event.unit_codes, event.unit_ranges, code) is covered


def test_anker_limits_say_only_qualifying_serials_are_covered(events):
    assert "qualifying serial numbers" in events["25338"].limits


def test_iniu_limits_name_the_serials_without_the_disposal_note(events):
    limits = events["26135"].limits
    assert "000G21, 000H21, 000I21 and 000L21" in limits
    assert "Do not throw" not in limits
    assert "printed on the back" not in limits  # where the serial is, not which units


def test_notice_without_limits_has_none(events):
    assert events["24125"].limits is None


@pytest.mark.parametrize("mark", ["–", "—", "／", "、", "，"])
def test_models_joined_by_a_non_ascii_mark_split(mark):
    text = f"This recall involves power banks with model numbers A1263{mark}A1264."
    assert extract_models(text) == ["A1263", "A1264"]


def test_ikea_brand_is_ikea_not_usb(events):
    assert events["24125"].brand == "IKEA"


# --- over all 589 bundled records

_YEAR = re.compile(r"^(?:199\d|20[0-3]\d)$")
_NOT_MODELS = {
    "measure": re.compile(r"^\d{1,6}(?:[.,]\d+)?\s?(?:w|kw|v|mah|ah|wh|a|ma)$", re.I),  # "4843351A" is a model
    "rating or standard": re.compile(r"^(?:IPX?\d{1,2}|Qi\d?|UL\s?\d{2,4})$", re.I),
    "time": re.compile(r"^\d{1,2}(?::\d\d)?\s?(?:am|pm)$", re.I),
    "version": re.compile(r"^v\.?\d+(?:\.\d+)+$", re.I),
    "cell": re.compile(r"^(?:CR|LR|SR|BR)\d{2,4}[A-Z]?$|^(?:14500|18650|21700|26650)$", re.I),
    "date code": re.compile(r"^(?:JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)\d{2}$", re.I),
}
_GENERIC_BRANDS = {
    "usb",
    "led",
    "multi-purpose",
    "multi purpose",
    "wireless",
    "magnetic",
    "portable",
    "high",
    "electric",
    "rechargeable",
    "smart",
    "digital",
    "generic",
    "natural",
    "ceiling",
    "sauna",
}


def test_no_model_is_a_year(events):
    assert [(n, m) for n, e in events.items() for m in e.models if _YEAR.match(m)] == []


@pytest.mark.parametrize("kind", sorted(_NOT_MODELS))
def test_no_model_is_a_measure_rating_time_version_cell_or_date_code(events, kind):
    pattern = _NOT_MODELS[kind]
    assert [(n, m) for n, e in events.items() for m in e.models if pattern.match(m)] == []


def test_no_brand_is_a_generic_word(events):
    names = [(n, b) for n, e in events.items() for b in (e.brand, *e.aliases) if b]
    assert [(n, b) for n, b in names if name_key(b) in _GENERIC_BRANDS] == []


def test_no_model_is_also_a_listed_code(events):
    clashes = [(n, m) for n, e in events.items() for m in e.models if model_key(m) in keys(e.unit_codes)]
    assert clashes == []


def test_no_model_is_a_word_of_the_company_name(events):
    clashes = []
    for number, record in RECORDS.items():
        companies = [c["Name"] for k in ("Manufacturers", "Importers", "Distributors") for c in record.get(k, [])]
        words = {model_key(w) for c in companies for w in c.split()}
        clashes += [(number, m) for m in events[number].models if model_key(m) in words]
    assert clashes == []
