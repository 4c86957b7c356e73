"""The Product Safety Australia (ACCC) RSS source, on the first two items of a real feed snapshot."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, date, datetime, timedelta

import defusedxml.ElementTree as ElementTree
import httpx
import pytest
from bs4 import BeautifulSoup

from bot.errors import SourceError
from bot.events import Event, EventKind
from bot.extract import extract_models
from bot.sources.accc import AUTHORITY, AcccSource, identifiers, parse_feed
from bot.sources.base import Problem, digest_of
from bot.sources.kinds import ACCC_URL as DEFAULT_URL
from tests.conftest import DATA

FEED = DATA / "accc" / "psa_recall-rss-first-2-items.xml"
NOW = datetime(2026, 8, 31, 9, 0, tzinfo=UTC)
BASCO = "accc-c09b530a-0353-4de5-8669-b2a29adcade3"
GASGAS = "accc-cbebee74-7cae-46ee-a637-ee192f0eeda6"
RECALLS = "https://www.productsafety.gov.au/search-consumer-product-recalls/"
# The second item's pubDate made unparseable; both items share the date, so the guid's start makes it unique.
GASGAS_DATE = (
    '<pubDate>Thu, 27 Aug 2026 00:00:00 +0000</pubDate>\n  <guid isPermaLink="false">cbeb',
    '<pubDate>yesterday</pubDate>\n  <guid isPermaLink="false">cbeb',
)


def events_of(text: str) -> dict[str, Event]:
    events, problems = parse_feed(text.encode(), "accc:test")
    assert problems == []
    return {e.id: e for e in events}


def derived(*changes: tuple[str, str]) -> str:
    """Return the real feed with exact pieces of it replaced (each piece must occur once)."""
    text = FEED.read_text(encoding="utf-8")
    for old, new in changes:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


@pytest.fixture(scope="module")
def events() -> dict[str, Event]:
    return events_of(FEED.read_text(encoding="utf-8"))


def test_both_items_load_with_id_title_date_link_and_categories(events):
    assert list(events) == [BASCO, GASGAS]
    basco, gasgas = events[BASCO], events[GASGAS]
    assert (basco.title, basco.date) == ("Basco BFO-15671 oil filter for diesel engines", date(2026, 8, 27))
    assert basco.url == f"{RECALLS}basco-bfo-15671-oil-filter-for-diesel-engines"
    assert (basco.kind, basco.country, basco.authority) == (EventKind.RECALL, "AU", AUTHORITY)
    assert (basco.source, basco.products) == ("ACCC recall 2026-08-27", (basco.title,))
    assert basco.extra == {"categories": "Car parts and accessories"}
    assert (gasgas.title, gasgas.date) == ("GASGAS Motocross and Cross Country motorbikes (MY21-24)", date(2026, 8, 27))
    assert gasgas.extra == {"categories": "Dirt bikes and miniature motorbikes"}


def test_brand_only_where_the_contact_company_confirms_the_title(events):
    assert events[BASCO].brand == "Basco"  # title "Basco BFO-15671 ...", contact "Basco Wholesale"
    assert events[GASGAS].brand is None  # title "GASGAS ...", contact "KTM Australia Pty Ltd": no agreement
    assert events[BASCO].aliases == events[GASGAS].aliases == ()


def test_labelled_part_kit_numbers_and_barcodes_are_read_from_the_prose(events):
    basco = events[BASCO]
    assert basco.models == ("BFO-15671", "BUNF5")  # "Part number BFO-15671 (found on ...)", "Kit number BUNF5"
    assert basco.barcodes == ("9356247149707", "9356247157535")
    # "Model years 2021 – 2024", "MC and EX models variants": labels followed by prose name no model.
    assert (events[GASGAS].models, events[GASGAS].barcodes) == ((), ())


# Lines of other items of the same snapshot (repo dilan-monash/fix-forward, data/raw/accc/accc_recalls_2026-08-31.xml,
# commit fda0a538930fdc800fa145106db55c6beae7f05b): consecutive lines, as <p>, <li> and <br> split them.
@pytest.mark.parametrize(
    ("lines", "models", "barcodes"),
    [
        (
            ["Barcode number: 9330921215223, 9330921215230", "SKU: KPDASH-21522, KPDASH-21523"],
            ("KPDASH-21522", "KPDASH-21523"),
            ("9330921215223", "9330921215230"),
        ),
        (
            ["part numbers 435190, 435197, 435217, 435221, 435271 & 435272", "batch numbers J25D, K25D & L25D"],
            ("435190", "435197", "435217", "435221", "435271", "435272"),
            (),
        ),
        (["Model BVC 160 (1800W)", "Model BVC 165 (2400W)"], ("BVC 160", "BVC 165"), ()),
        (["model no. SK3000 – 470ml/16oz Stainless King Food Jar"], ("SK3000",), ()),
        (["SKU: 559505", "Item No. 04031", "Barcode 4011796040312"], ("559505", "04031"), ("4011796040312",)),
        (["Nuby Foldable baby bathtub", "Sold at ALDI", "GTIN: 9312552613876"], (), ("9312552613876",)),
        (
            [
                "Ropes are supplied in varying lengths, with an eye splice at either one or both ends.",
                "Model numbers:",
                "MH730JZC040",
                "MH730JZC045",
            ],
            ("MH730JZC040", "MH730JZC045"),
            (),
        ),
        (["Affected model variants:", "TX300", "FX350", "Model years 2022 – 2024"], ("TX300", "FX350"), ()),
        (["Affected bike models:", "Crafty Carbon RR S", "Crafty Carbon XR"], (), ()),
        (
            ["product codes: OM-EAU5101E-BK, OM-EAU5101E-WT", "Electrical approval number: E2026002423"],
            ("OM-EAU5101E-BK", "OM-EAU5101E-WT"),
            (),
        ),
    ],
)
def test_labelled_identifiers_in_other_real_items(lines, models, barcodes):
    assert identifiers(lines) == (models, barcodes)


def test_identifiers_in_a_table_column_headed_part_no():
    html = (  # the XTM fridge recall's table: its header and first two rows, style attributes dropped
        "<table><thead><tr><th>Product</th><th>Part No.</th><th>PLU</th></tr></thead><tbody>"
        "<tr><td>XTM TTF20 20L Fridge Freezer</td><td>CFB23020</td><td>717089</td></tr>"
        "<tr><td>XTM TTF30 30L Fridge Freezer</td><td>CFB23030</td><td>717090</td></tr></tbody></table>"
    )
    assert identifiers([], BeautifulSoup(html, "html.parser")) == (("CFB23020", "CFB23030"), ())


def test_extract_models_would_take_the_vehicles_the_filter_fits_as_models(events):
    html = ElementTree.fromstring(FEED.read_bytes()).findtext("channel/item/description")
    block = BeautifulSoup(html, "html.parser").find("div", class_="field--name-field-psa-recall-product-desc")
    found = extract_models(block.get_text(" "))
    assert {"UCS85", "4JJ1-TCX", "BFO-15671", "BUNF5"} <= set(found)  # vehicle codes are junk here
    assert events[BASCO].models == ("BFO-15671", "BUNF5")


def test_vehicle_fitment_dates_are_not_unit_codes(events):
    for event in events.values():  # "Isuzu MU-X (UCS85, 11/2013-06/2021)" names vehicles, not batches
        assert (event.limits, event.unit_codes, event.unit_ranges) == (None, (), ())


def test_hazard_joins_defect_and_hazard_blocks_and_remedy_stops_at_contact(events):
    basco, gasgas = events[BASCO], events[GASGAS]
    assert basco.hazard.startswith("The base seal of the oil filter may prevent the thread from screwing on properly")
    assert "without any warning to the driver. Risk of death, serious injury or property damage" in basco.hazard
    assert basco.remedy.startswith(
        "Stop driving the vehicle immediately if you have the oil filter installed and do not use your vehicle"
    )
    assert basco.remedy.endswith("Contact Basco for further information or assistance with this recall.")
    assert basco.contact == "Basco Wholesale; Call 03 8740 0239; Email sales@bascowholesale.com.au"
    assert gasgas.remedy.startswith("Stop using the dirt bike immediately. Do not use the bike until")
    assert gasgas.contact == (
        "KTM Australia Pty Ltd; Call: 1800 644 771; Email: recalls-au@gasgas.com; "
        "Visit: https://www.gasgas.com/en-au.html"
    )


def test_entity_escaped_html_is_decoded_in_every_field():
    # Real feed items carry "&amp;nbsp;" and "&amp;amp;" ("Verve &amp;amp; Vibe"); these two do not,
    # so both are added to real sentences of the first item.
    text = derived(
        ("being driven. The oil spill", "being driven.&amp;nbsp;The oil spill"),
        ("your receipts to Basco when", "your receipts to Basco &amp;amp; Co when"),
    )
    events = events_of(text)
    for event in events.values():
        fields = dataclasses.astuple(event)
        values = [v for v in fields if isinstance(v, str)] + list(event.extra.values())
        values += [x for v in fields if isinstance(v, tuple) for x in v if isinstance(x, str)]
        for value in values:
            assert not any(s in value for s in ("&lt;", "&gt;", "&amp;", "nbsp;", "<", "\xa0")), value
    assert "being driven. The oil spill" in events[BASCO].hazard
    assert "receipts to Basco & Co when" in events[BASCO].remedy


def test_item_without_guid_is_reported_and_the_other_loads():
    text = derived(('<guid isPermaLink="false">c09b530a-0353-4de5-8669-b2a29adcade3</guid>', ""))
    events, problems = parse_feed(text.encode(), "accc:test")
    assert [e.id for e in events] == [GASGAS]
    link = f"{RECALLS}basco-bfo-15671-oil-filter-for-diesel-engines"  # the label when the guid is gone
    assert problems == [Problem("accc:test", link, "guid", "missing")]


def test_unparseable_pub_date_falls_back_to_the_published_date_block():
    assert events_of(derived(GASGAS_DATE))[GASGAS].date == date(2026, 8, 27)  # <time datetime="2026-08-27T12:00:00Z">


def test_item_with_no_readable_date_is_reported_and_the_other_loads():
    stamp = '&lt;time datetime="2026-08-27T12:00:00Z" class="datetime"&gt;27 Aug 2026&lt;/time&gt;'
    head, tail = derived(GASGAS_DATE).split("<title>GASGAS")
    text = f"{head}<title>GASGAS{tail.replace(stamp, '27 Aug 2026', 1)}"  # the second item's block loses its <time>
    events, problems = parse_feed(text.encode(), "accc:test")
    assert [e.id for e in events] == [BASCO]
    assert problems == [
        Problem("accc:test", "cbebee74-7cae-46ee-a637-ee192f0eeda6", "pubDate", "not a date: 'yesterday'")
    ]


def test_relative_link_is_made_absolute():
    text = derived((f"<link>{RECALLS}gasgas-", "<link>/search-consumer-product-recalls/gasgas-"))
    assert events_of(text)[GASGAS].url == f"{RECALLS}gasgas-motocross-and-cross-country-motorbikes-my21-24"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<!DOCTYPE html><html><body>Maintenance</body>", "not valid XML"),
        (b'<!DOCTYPE rss [<!ENTITY a "x">]><rss><channel>&a;</channel></rss>', "not valid XML"),  # defusedxml
        (b'<?xml version="1.0"?><feed><entry/></feed>', "not an RSS feed (root <feed>)"),
    ],
)
def test_a_payload_that_is_not_the_rss_feed_is_a_source_error(body, message):
    with pytest.raises(SourceError, match=re.escape(message)):
        parse_feed(body, "accc:test")


def serve(handler) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


async def test_fetch_reads_the_feed_url_and_parses_both_items():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=FEED.read_bytes(), headers={"content-type": "application/rss+xml"})

    async with serve(handler) as client:
        source = AcccSource(DEFAULT_URL, client)
        result = await source.fetch(None, NOW)
    assert [str(r.url) for r in seen] == ["https://www.productsafety.gov.au/rss/feed.xml/psa_recall"]
    assert (source.name, source.min_interval) == (f"accc:{DEFAULT_URL}", timedelta(hours=1))
    assert (result.digest, result.cursor) == (digest_of(FEED.read_bytes()), None)
    events, problems = result.parse()
    assert ([e.id for e in events], problems) == ([BASCO, GASGAS], [])


async def test_fetch_turns_a_server_error_into_a_source_error():
    async with serve(lambda request: httpx.Response(500, text="oops")) as client:
        with pytest.raises(SourceError, match="HTTP 500 for the feed"):
            await AcccSource(DEFAULT_URL, client).fetch(None, NOW)


async def test_fetch_turns_a_timeout_into_a_source_error():
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    async with serve(handler) as client:
        with pytest.raises(SourceError, match="timed out after 5 s"):
            await AcccSource(DEFAULT_URL, client, timeout=5).fetch(None, NOW)


async def test_a_non_xml_body_fetches_but_fails_to_parse():
    async with serve(lambda request: httpx.Response(200, text="<html><body>Access denied</html>")) as client:
        result = await AcccSource(DEFAULT_URL, client).fetch(None, NOW)
    with pytest.raises(SourceError, match="not valid XML"):
        result.parse()
