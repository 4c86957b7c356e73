"""Health Canada's recalls and safety alerts file: real rows parsed, and the conditional GET."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from bot.errors import SourceError
from bot.events import EventKind
from bot.sources.base import digest_of, min_interval
from bot.sources.health_canada import (
    AUTHORITY,
    DEFAULT_URL,
    HealthCanadaSource,
    parse_payload,
    parse_rows,
)
from tests.conftest import DATA

PAYLOAD = (DATA / "health_canada" / "HCRSAMOpenData-7-rows.json").read_bytes()
NOW = datetime(2026, 10, 3, 12, 0, tzinfo=UTC)
ETAG = '"5f2a-63e1"'
LAST_MODIFIED = "Fri, 02 Oct 2026 06:10:00 GMT"


def rows() -> list[dict[str, str]]:
    return json.loads(PAYLOAD)


def hothands() -> dict[str, str]:
    return next(row for row in rows() if row["NID"] == "82676")


def test_only_consumer_product_rows_are_kept_by_default():
    events, problems = parse_payload(PAYLOAD, "hc")
    assert [e.id for e in events] == ["hc-82661", "hc-82676"]  # the two hand warmers; food, bus, device, drug skipped
    assert problems == []  # rows of other organizations are out of scope, not broken


def test_no_organizations_means_every_row():
    events, problems = parse_payload(PAYLOAD, "hc", organizations=())
    ids = ["hc-82661", "hc-82676", "hc-82687", "hc-78484", "hc-82705", "hc-82696", "hc-82684"]
    assert [e.id for e in events] == ids
    assert problems == []


def test_chosen_organizations_only():
    events, _ = parse_payload(PAYLOAD, "hc", organizations=("CFIA", "TC"))
    assert [e.id for e in events] == ["hc-82687", "hc-78484", "hc-82705"]


def test_consumer_row_fields():
    (event,), _ = parse_rows([hothands()], "hc")
    assert event.id == "hc-82676"
    assert event.kind is EventKind.RECALL
    assert event.title == "HotHands Rechargeable Hand Warmers recalled due to burn hazard"  # trailing space dropped
    assert event.authority == AUTHORITY == "Health Canada"
    assert event.source == "Health Canada recall 82676"
    assert event.country == "CA"
    assert event.url == (
        "https://recalls-rappels.canada.ca/en/alert-recall/hothands-rechargeable-hand-warmers-recalled-due-burn-hazard"
    )
    assert event.date == date(2026, 10, 1)  # "Last updated", the file's only date
    assert event.products == ("HotHands Rechargeable Hand Warmers",)
    assert event.hazard == "Burn hazard"
    assert (event.brand, event.aliases, event.models, event.unit_codes, event.barcodes) == (None, (), (), (), ())
    assert event.extra == {
        "category": "Electronics",
        "organization": "Consumer product safety",
        "last_updated": "2026-10-01",
    }  # "Recall class" is "" for this row, so it is left out


def test_remedy_loses_nbsp_and_glued_sentences_get_a_space():
    (event,), _ = parse_rows([hothands()], "hc")
    assert event.remedy.startswith(
        "Consumers should immediately stop using the recalled product and contact Kobayashi to obtain a refund. "
        "To process a refund, consumers should visit the recall website"
    )  # the file has "...a refund.To process..."
    assert "lithium-ion batteries. Batteries are considered hazardous waste." in event.remedy  # was ".&nbsp;Batteries"
    assert "kobayashi5236@sedgwick.com or visit" in event.remedy  # the address is not split at its dot
    assert "&nbsp;" not in event.remedy and "\xa0" not in event.remedy


def test_gobi_heat_remedy_of_nbsp_runs():
    events, _ = parse_payload(PAYLOAD, "hc")
    gobi = events[0]
    assert gobi.remedy.startswith(
        "Consumers should immediately stop using the recalled product and contact Gobi Heat for further instructions"
    )
    assert "from 9:00 a.m. to 5:00 p.m. Mountain Standard Time" in gobi.remedy
    assert gobi.extra["category"] == "Clothing and accessories"


def test_html_in_remedy_becomes_text():
    # Derived from the HotHands row: its first two paragraphs wrapped in <p>, as the site's own HTML has them.
    real = hothands()
    first, rest = real["What you should do"].split(".To process", 1)
    row = dict(real, **{"What you should do": f"<p>{first}.</p><p>To process{rest}</p>"})
    (event,), _ = parse_rows([row], "hc")
    (plain,), _ = parse_rows([real], "hc")
    assert event.remedy == plain.remedy


def test_empty_remedy_and_recall_class_are_none_not_blank():
    events, _ = parse_payload(PAYLOAD, "hc", organizations=("TC",))
    assert events[0].remedy is None and "recall_class" not in events[0].extra
    assert events[0].products == ("School Bus recalled by MICRO BIRD",)


def test_a_url_path_is_made_absolute():
    # The issue describes URL as a path; these rows hold absolute URLs, so derive a path-only one.
    row = dict(hothands(), URL="/en/alert-recall/hothands-rechargeable-hand-warmers-recalled-due-burn-hazard")
    (event,), _ = parse_rows([row], "hc")
    assert event.url == (
        "https://recalls-rappels.canada.ca/en/alert-recall/hothands-rechargeable-hand-warmers-recalled-due-burn-hazard"
    )


def test_archived_rows_are_kept_and_marked():
    row = dict(hothands(), Archived="1")  # derived: the real row says "0"
    (event,), problems = parse_rows([row], "hc")
    assert (event.id, event.extra["archived"], problems) == ("hc-82676", "yes", [])


def test_bad_rows_are_skipped_and_reported_while_the_rest_load():
    real = rows()
    no_nid = {k: v for k, v in real[0].items() if k != "NID"}  # the Gobi Heat row without its NID
    no_title = dict(real[1], Title="  ")  # the HotHands row with a blank title
    bad_date = dict(real[1], NID="99999", **{"Last updated": "yesterday"})
    events, problems = parse_rows([no_nid, "not an object", no_title, bad_date, real[0]], "hc")
    assert [e.id for e in events] == ["hc-82661"]
    assert [(p.source, p.record, p.field) for p in problems] == [
        ("hc", "#1", "NID"),
        ("hc", "#2", "record"),
        ("hc", "82676", "Title"),
        ("hc", "99999", "Last updated"),
    ]


@pytest.mark.parametrize("body", [b"<html>maintenance</html>", b'{"NID": "82676"}'])
def test_a_body_that_is_not_a_json_array_is_a_source_error(body: bytes):
    with pytest.raises(SourceError):
        parse_payload(body, "hc")


async def test_conditional_get_skips_an_unchanged_file():
    seen: list[httpx.Request] = []

    def server(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.headers.get("If-None-Match") == ETAG:
            return httpx.Response(304, headers={"ETag": ETAG})
        return httpx.Response(200, content=PAYLOAD, headers={"ETag": ETAG, "Last-Modified": LAST_MODIFIED})

    async with httpx.AsyncClient(transport=httpx.MockTransport(server)) as client:
        source = HealthCanadaSource(DEFAULT_URL, client)
        first = await source.fetch(None, NOW)
        second = await source.fetch(first.cursor, NOW + timedelta(hours=6))

    assert str(seen[0].url) == DEFAULT_URL
    assert "If-None-Match" not in seen[0].headers and "If-Modified-Since" not in seen[0].headers
    assert first.digest == digest_of(PAYLOAD)
    assert json.loads(first.cursor) == {"digest": digest_of(PAYLOAD), "etag": ETAG, "last_modified": LAST_MODIFIED}
    assert [e.id for e in first.parse()[0]] == ["hc-82661", "hc-82676"]

    assert (seen[1].headers["If-None-Match"], seen[1].headers["If-Modified-Since"]) == (ETAG, LAST_MODIFIED)
    assert second.digest == first.digest  # the checker sees "unchanged" and never parses
    assert second.cursor == first.cursor
    with pytest.raises(SourceError):  # nothing was downloaded, so there is nothing to parse
        second.parse()


async def test_a_changed_file_replaces_the_cursor():
    changed = json.dumps(rows()[:1]).encode()  # the first real row alone stands in for a new day's file

    def server(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=changed, headers={"ETag": '"new"'})

    old = json.dumps({"digest": digest_of(PAYLOAD), "etag": ETAG, "last_modified": LAST_MODIFIED})
    async with httpx.AsyncClient(transport=httpx.MockTransport(server)) as client:
        result = await HealthCanadaSource(DEFAULT_URL, client).fetch(old, NOW)
    assert json.loads(result.cursor) == {"digest": digest_of(changed), "etag": '"new"'}
    assert [e.id for e in result.parse()[0]] == ["hc-82661"]


@pytest.mark.parametrize(
    ("cursor", "status"),
    [(None, 500), (None, 304)],  # a 304 to a request that was not conditional is as wrong as a 500
)
async def test_an_error_status_is_a_source_error(cursor: str | None, status: int):
    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda request: httpx.Response(status))) as client:
        with pytest.raises(SourceError, match=f"HTTP {status}"):
            await HealthCanadaSource(DEFAULT_URL, client).fetch(cursor, NOW)


async def test_a_timeout_is_a_source_error():
    def server(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(server)) as client:
        with pytest.raises(SourceError, match="timed out after 5 s"):
            await HealthCanadaSource(DEFAULT_URL, client, timeout=5).fetch(None, NOW)


async def test_source_name_and_interval():
    async with httpx.AsyncClient() as client:
        source = HealthCanadaSource(DEFAULT_URL, client, organizations=())
    assert source.name == f"health_canada:{DEFAULT_URL}"
    assert min_interval(source) == timedelta(hours=6)
