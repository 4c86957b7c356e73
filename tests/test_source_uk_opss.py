"""The UK OPSS source on a real GOV.UK search page and two real content items (2609-0156, 2609-0229)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from bot.errors import SourceError
from bot.events import EventKind
from bot.sources import uk_opss
from bot.sources.base import min_interval
from bot.sources.uk_opss import UkOpssSource, parse_item, parse_items, parse_search, reference_of
from tests.conftest import DATA

FILES = DATA / "uk_opss"
SEARCH = json.loads((FILES / "search.json").read_bytes())
EBIKE = (FILES / "content-report-e-bike-2609-0156.json").read_bytes()
SPINNER = (FILES / "content-recall-baby-spinner-2609-0229.json").read_bytes()
FINDER = "/product-safety-alerts-reports-recalls"
SPINNER_LINK = f"{FINDER}/product-recall-my-first-baby-spinner-sold-by-the-works-2609-0229"
HAHALAND_LINK = f"{FINDER}/product-safety-report-hahaland-baby-tissue-box-toy-sold-via-amazon-2609-0079"
LOOMERIG_LINK = f"{FINDER}/product-safety-report-loomerig-luxury-double-mattress-topper-2609-0154"
EBIKE_LINK = f"{FINDER}/product-safety-report-allegro-a1-e-bike-2609-0156"
BASE = "http://opss.test"
NOW = datetime(2026, 10, 3, 9, 0, tzinfo=UTC)


class FakeGovUk:
    """The two GOV.UK APIs over the real files: search pages sliced by start/count, and content items.

    ``results`` is the search's result list, newest first; a test drops the newest results to
    show the finder as it stood before they were published. Content the files lack is a 500.
    """

    def __init__(self, results: list[dict] | None = None) -> None:
        self.results = SEARCH["results"] if results is None else results
        self.contents = {EBIKE_LINK: EBIKE, SPINNER_LINK: SPINNER}
        self.requests: list[httpx.URL] = []
        self.search_status = 200

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request.url)
        if request.url.path == "/api/search.json":
            if self.search_status != 200:
                return httpx.Response(self.search_status)
            start, count = int(request.url.params["start"]), int(request.url.params["count"])
            return httpx.Response(200, json={**SEARCH, "results": self.results[start : start + count], "start": start})
        body = self.contents.get(request.url.path.removeprefix("/api/content"))
        return httpx.Response(200, content=body) if body else httpx.Response(500)


def source(api: FakeGovUk, **options) -> UkOpssSource:
    return UkOpssSource(BASE, httpx.AsyncClient(transport=httpx.MockTransport(api)), **options)


def search_url(start: int, count: int = 50) -> str:
    return (
        f"{BASE}/api/search.json?filter_format=product_safety_alert_report_recall"
        f"&order=-public_timestamp&count={count}&start={start}"
    )


def test_search_page_gives_links_references_and_timestamps():
    page = parse_search((FILES / "search.json").read_bytes(), "test")
    assert (page.size, page.problems) == (4, [])
    assert [hit.reference for hit in page.hits] == ["2609-0229", "2609-0079", "2609-0154", "2609-0156"]
    assert [hit.link for hit in page.hits] == [SPINNER_LINK, HAHALAND_LINK, LOOMERIG_LINK, EBIKE_LINK]
    assert page.hits[0].timestamp == datetime(2026, 10, 2, 13, 24, 26, tzinfo=UTC)


def test_reference_falls_back_to_the_link_slug():
    title = SEARCH["results"][0]["title"].removesuffix(" (2609-0229)")  # the real title, reference cut off
    assert reference_of(title, SPINNER_LINK) == "2609-0229"
    assert reference_of(title, f"{FINDER}/product-recall-my-first-baby-spinner") is None


def test_e_bike_report_table_values():
    bike = parse_item(json.loads(EBIKE))
    assert (bike.id, bike.kind, bike.date, bike.country) == ("uk-2609-0156", EventKind.RECALL, date(2026, 10, 1), "GB")
    assert bike.title == "Product Safety Report: Allegro A1 E-bike (2609-0156)"
    assert bike.source == "OPSS product safety report 2609-0156"
    assert bike.url == f"https://www.gov.uk{EBIKE_LINK}"
    assert (bike.brand, bike.aliases, bike.products) == ("Allegro", ("Allegrouk",), ("Allegro A1 E-bike",))
    assert bike.models == ("A1", "KYLC165V55")  # "A1 (carton only)" and the charger's "KEYU / KYLC165V55"
    assert bike.models_note == "A1: carton only"
    assert (bike.unit_codes, bike.barcodes, bike.limits, bike.contact) == ((), (), None, None)
    assert bike.hazard.startswith("The product presents a serious risk of fire because the bike and its components")
    assert bike.hazard.endswith("Supply of Machinery (Safety) Regulations 2008.")
    assert bike.remedy == "The import has been rejected at the border."
    assert {k: bike.extra[k] for k in ("alert_type", "risk_level", "category", "notified_by")} == {
        "alert_type": "product-safety-report",
        "risk_level": "serious",
        "category": "hobby-sports-equipment",
        "notified_by": "Local Authority Trading Standards",
    }
    # The tested bike's frame number names one unit, not the units affected: a fact, not a unit code.
    assert (bike.extra["frame_no"], bike.extra["plug"], bike.extra["charger_model"]) == (
        "JFXC260400014",
        "FY006A",
        "KEYU / KYLC165V55",
    )
    assert bike.extra["type"] == "Hobby/sports equipment - Cycles (Powered)"


def test_spinner_recall_batches_barcode_and_contact():
    spinner = parse_item(json.loads(SPINNER))
    assert (spinner.id, spinner.source, spinner.brand, spinner.models) == (
        "uk-2609-0229",
        "OPSS product recall 2609-0229",
        "Playworks",
        (),
    )
    assert spinner.products == ("My First Baby Spinner sold by The Works",)
    codes = ("186334", "184455", "181089", "181088", "181087", "181086", "180872", "180873", "174513")
    assert spinner.unit_codes == codes
    assert spinner.limits == f"Batches: {', '.join(codes)} (All batches)"
    assert spinner.barcodes == ("5052089365995",)
    assert spinner.remedy.startswith("The product has been recalled from end users by The Works. We recommend")
    assert spinner.contact.startswith("For more information, please access: Product Recalls at The Works (https://")
    assert spinner.contact.endswith("or contact The Works via enquiries@theworks.co.uk / 0121 313 6050.")
    assert spinner.extra["risk_level"] == "medium"


def test_placeholder_model_is_dropped():
    item = json.loads(EBIKE)
    body = item["details"]["body"]
    item["details"]["body"] = body.replace("<td>A1 (carton only)</td>", "<td>Not known</td>")  # broken on purpose
    assert item["details"]["body"] != body
    bike = parse_item(item)
    assert (bike.models, bike.models_note) == (("KYLC165V55",), None)


def test_hazard_and_remedy_fall_back_to_the_summary():
    item = json.loads(EBIKE)
    body = item["details"]["body"]
    item["details"]["body"] = body[: body.index('<h2 id="hazard">')]  # the real body cut after its table
    bike = parse_item(item)
    assert bike.hazard == (
        "The product presents a serious risk of fire because the bike and its components have not been assessed "
        "using the relevant UK conformity assessment procedures."
    )
    assert bike.remedy == "The import has been rejected at the border."


def test_a_broken_item_is_skipped_and_reported_while_the_rest_load():
    broken = json.loads(EBIKE)
    del broken["details"]["body"]  # broken on purpose
    events, problems = parse_items([("2609-0229", json.loads(SPINNER)), ("2609-0156", broken)], "feed")
    assert [e.id for e in events] == ["uk-2609-0229"]
    assert [(p.record, p.field, p.reason) for p in problems] == [("2609-0156", "details.body", "missing")]


async def test_first_pass_reads_the_search_then_each_content_item_and_reports_failures():
    api = FakeGovUk()
    result = await source(api).fetch(None, NOW)
    assert [str(url) for url in api.requests] == [
        search_url(0),
        *(f"{BASE}/api/content{link}" for link in (SPINNER_LINK, HAHALAND_LINK, LOOMERIG_LINK, EBIKE_LINK)),
    ]
    events, problems = result.parse()
    assert sorted(e.id for e in events) == ["uk-2609-0156", "uk-2609-0229"]
    assert [(p.record, p.field, p.reason) for p in problems] == [
        ("2609-0079", "content", "HTTP 500 for the content; tried again next time"),
        ("2609-0154", "content", "HTTP 500 for the content; tried again next time"),
    ]
    assert json.loads(result.cursor) == {
        "newest": "2026-10-02T13:24:26+00:00",
        "links": [SPINNER_LINK],
        "retry": {HAHALAND_LINK: 1, LOOMERIG_LINK: 1},
    }


async def test_first_pass_reads_at_most_first_count_items_across_pages(monkeypatch):
    monkeypatch.setattr(uk_opss, "PAGE_SIZE", 2)
    api = FakeGovUk()
    result = await source(api, first_count=1).fetch(None, NOW)
    assert [str(url) for url in api.requests] == [search_url(0, 2), f"{BASE}/api/content{SPINNER_LINK}"]
    assert [e.id for e in result.parse()[0]] == ["uk-2609-0229"]


async def test_second_pass_stops_at_the_first_known_item(monkeypatch):
    monkeypatch.setattr(uk_opss, "PAGE_SIZE", 4)  # the real page is a full one, so only the stop ends paging
    before = FakeGovUk(SEARCH["results"][2:])  # the finder before the spinner and hahaland notices
    first = await source(before).fetch(None, NOW)
    assert [e.id for e in first.parse()[0]] == ["uk-2609-0156"]  # loomerig's content is missing: retried
    api = FakeGovUk()
    second = await source(api).fetch(first.cursor, NOW)
    assert [str(url) for url in api.requests] == [
        search_url(0, 4),
        f"{BASE}/api/content{SPINNER_LINK}",
        f"{BASE}/api/content{HAHALAND_LINK}",
        f"{BASE}/api/content{LOOMERIG_LINK}",  # the retry of last pass's failure; the older e-bike is not read
    ]
    events, problems = second.parse()
    assert [e.id for e in events] == ["uk-2609-0229"]
    assert [(p.record, p.reason) for p in problems] == [
        ("2609-0079", "HTTP 500 for the content; tried again next time"),
        ("2609-0154", "HTTP 500 for the content; tried again next time"),
    ]
    assert json.loads(second.cursor) == {
        "newest": "2026-10-02T13:24:26+00:00",
        "links": [SPINNER_LINK],
        "retry": {HAHALAND_LINK: 1, LOOMERIG_LINK: 2},
    }


async def test_a_failing_item_is_retried_then_given_up_and_a_quiet_pass_keeps_the_digest():
    api = FakeGovUk()
    api.contents = {}
    first = await source(api, first_count=1).fetch(None, NOW)
    api.requests.clear()
    second = await source(api).fetch(first.cursor, NOW)
    third = await source(api).fetch(second.cursor, NOW)
    # The spinner failed in every pass: tried again twice, then given up; nothing else was new.
    assert [p.reason for p in second.parse()[1]] == ["HTTP 500 for the content; tried again next time"]
    assert [p.reason for p in third.parse()[1]] == ["HTTP 500 for the content; given up after 3 tries"]
    assert json.loads(third.cursor) == {"newest": "2026-10-02T13:24:26+00:00", "links": [SPINNER_LINK], "retry": {}}
    fourth = await source(api).fetch(third.cursor, NOW)
    fifth = await source(api).fetch(fourth.cursor, NOW)
    assert fourth.parse() == ([], []) and fourth.digest == fifth.digest
    assert [str(url) for url in api.requests[-2:]] == [search_url(0), search_url(0)]


async def test_a_result_without_a_reference_is_skipped_and_reported():
    result = dict(SEARCH["results"][0], title="Product Recall: My First Baby Spinner", link=f"{FINDER}/spinner")
    api = FakeGovUk([result])  # the real first result with its reference cut from title and link
    fetched = await source(api).fetch(None, NOW)
    assert [str(url) for url in api.requests] == [search_url(0)]
    assert [(p.record, p.field) for p in fetched.parse()[1]] == [(f"{FINDER}/spinner", "title")]


async def test_delay_spaces_content_requests_without_sleeping():
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    await source(FakeGovUk(), delay=0.5, sleep=sleep).fetch(None, NOW)
    assert slept == [0.5, 0.5, 0.5]  # between the four content requests


async def test_failing_search_is_a_source_error():
    api = FakeGovUk()
    api.search_status = 500
    with pytest.raises(SourceError, match="HTTP 500 for the search page at start=0"):
        await source(api).fetch(None, NOW)

    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    client = httpx.AsyncClient(transport=httpx.MockTransport(timeout))
    with pytest.raises(SourceError, match="timed out after 5 s"):
        await UkOpssSource(BASE, client, timeout=5).fetch(None, NOW)


async def test_unreadable_cursor_is_a_source_error():
    with pytest.raises(SourceError, match="cursor"):
        await source(FakeGovUk()).fetch("2026-10-02", NOW)


def test_name_and_interval():
    opss = UkOpssSource(f"{BASE}/", httpx.AsyncClient())
    assert (opss.name, min_interval(opss)) == (f"uk_opss:{BASE}", timedelta(hours=1))
    assert UkOpssSource("", httpx.AsyncClient()).base_url == "https://www.gov.uk"
