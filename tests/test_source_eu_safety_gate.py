"""The EU Safety Gate source on the real weekly-report index and report 10000324 (Report-2026-38)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from bot.errors import SourceError
from bot.events import EventKind
from bot.sources.base import HistorySource, Problem, min_interval
from bot.sources.eu_safety_gate import EuSafetyGateSource, parse_index, parse_report
from tests.conftest import DATA

FILES = DATA / "eu_safety_gate"
INDEX = (FILES / "weekly-report-list.xml").read_bytes()
REPORT = (FILES / "weekly-report-10000324.xml").read_bytes()
BASE = "http://mirror.test/safety-gate-alerts"
NOW = datetime(2026, 10, 3, 9, 0, tzinfo=UTC)
TICKIT_BRAND = b"<brand><![CDATA[Tickit]]></brand>"


def report_url(report_id: str) -> str:
    """Return the index's URL of a report, moved onto the test server."""
    return f"{BASE}/api/download/weeklyReport/detail/xml/{report_id}?language=en&search=WEB_REPORT%7C:%7C{report_id},"


def events_by_id(body: bytes = REPORT) -> dict:
    events, problems = parse_report(body, "test", "10000324")
    assert problems == []
    return {event.id: event for event in events}


def test_a_notification_becomes_an_event_with_the_report_date():
    tickit = events_by_id()["eu-SR/02546/26"]
    assert (tickit.kind, tickit.date, tickit.country) == (EventKind.RECALL, date(2026, 9, 25), "EU")
    assert tickit.title == "Sand-filled toy: Tickit Sensory Blocks Set of 16"
    assert tickit.source == "EU Safety Gate SR/02546/26"
    assert tickit.url == "https://ec.europa.eu/safety-gate-alerts/screen/webReport/alertDetail/10106564"
    assert (tickit.brand, tickit.products) == ("Tickit", ("Sensory Blocks Set of 16", "Sand-filled toy"))
    assert (tickit.models, tickit.unit_codes, tickit.barcodes) == (("73281",), ("2519",), ("5060138820289",))
    assert tickit.limits == "Batch number: 2519"
    assert tickit.hazard.startswith("The toy could rupture and the filling of the inside could come out.")
    assert tickit.remedy == "Recall of the product from end users"
    assert {k: tickit.extra[k] for k in ("risk_level", "risk_type", "category", "notifying_country")} == {
        "risk_level": "Serious risk",
        "risk_type": "Health risk / other",
        "category": "Toys",
        "notifying_country": "Slovenia",
    }
    assert tickit.extra["online_trader"] == "Other(www.mesto-igrac.si)"  # printed "Other(www.mesto-igrac.si) / "
    assert tickit.extra["measures"].startswith("Type of economic operator taking notified measure(s): Distributor. ")


def test_usb_charger_has_two_models_in_one_string_and_an_empty_brand():
    charger = events_by_id()["eu-SR/02540/26"]
    assert charger.models == ("A2347", "JY-888")  # printed "A2347, JY-888"
    assert charger.brand is None  # <brand><![CDATA[]]></brand>
    assert charger.title == "USB charger: USB-C 20W Power Adapter"
    assert charger.remedy == (
        "Withdrawal of the product from the market; Ban on the marketing of the product and any "
        "accompanying measures; Recall of the product from end users"
    )
    assert charger.extra["category"] == "Electrical appliances and equipment"


def test_type_approval_code_loses_its_leading_space():
    car = events_by_id()["eu-SR/02583/26"]
    assert car.models == ("e4*2018/858*00145*00",)  # printed " e4*2018/858*00145*00"
    assert car.limits == "Production dates: 05.10.2022 - 24.06.2025"
    assert (car.unit_codes, car.barcodes) == ((), ())
    assert car.extra["company_recall_code"] == "61D167_IONIQ"


def test_glued_batch_numbers_are_kept_as_printed_and_empty_cdata_is_unknown():
    toy = events_by_id()["eu-SR/02556/26"]
    assert toy.unit_codes == ("ORD01605735_01ORD01605736_01ORD01605737_01ORD01605738_01ORD01605739_01",)
    assert (toy.barcodes, toy.products, toy.title) == ((), ("Plastic toy",), "Plastic toy: Pepco")
    assert "online_trader" not in toy.extra
    assert toy.extra["recall_url"].startswith("https://pepco.pl/centrum-pomocy/wycofane-produkty/")


# "nincs" is the real brand of notification SR/02788/26 (Hungary) in the website API; here it,
# and the other placeholders, replace the Tickit notification's brand.
@pytest.mark.parametrize("placeholder", [b"nincs", b"None", b"unknown", b" Unknown "])
def test_brand_placeholders_are_unknown(placeholder):
    body = REPORT.replace(TICKIT_BRAND, b"<brand><![CDATA[" + placeholder + b"]]></brand>")
    tickit = events_by_id(body)["eu-SR/02546/26"]
    assert tickit.brand is None
    assert tickit.title == "Sand-filled toy: Sensory Blocks Set of 16"


def test_xsi_nil_values_are_unknown():
    # Derived from the Tickit notification: its brand and barcode written as xsi:nil, as the index warns they may be.
    body = REPORT.replace(TICKIT_BRAND, b'<brand xsi:nil="true"/>').replace(
        b"<barcode><![CDATA[5060138820289]]></barcode>", b'<barcode xsi:nil="true"/>'
    )
    tickit = events_by_id(body)["eu-SR/02546/26"]
    assert (tickit.brand, tickit.barcodes) == (None, ())


def test_a_notification_without_case_number_is_reported_and_the_rest_load():
    # Derived from the real report: the USB charger's caseNumber emptied.
    body = REPORT.replace(b"<caseNumber>SR/02540/26</caseNumber>", b"<caseNumber/>")
    events, problems = parse_report(body, "test", "10000324")
    assert [e.id for e in events] == ["eu-SR/02546/26", "eu-SR/02556/26", "eu-SR/02583/26"]
    assert problems == [Problem("test", "10000324#12", "caseNumber", "missing")]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not xml", "the weekly report 10000324 is not valid XML"),
        (b"<html>Service unavailable</html>", "the weekly report 10000324 is not a Safety Gate document (root <html>)"),
        # Derived from the real report: its only date written the ISO way.
        (
            REPORT.replace(b"<report_date>25/09/2026<", b"<report_date>2026-09-25<"),
            "weekly report 10000324: report_date: not a DD/MM/YYYY date: '2026-09-25'",
        ),
    ],
)
def test_an_unusable_report_is_a_source_error(body, message):
    with pytest.raises(SourceError) as error:
        parse_report(body, "test", "10000324")
    assert str(error.value) == message


def test_index_is_sorted_by_date_and_moved_onto_the_base_url():
    reports, problems = parse_index(INDEX, "test", BASE + "/")
    assert problems == []
    assert [(r.id, r.date, r.reference) for r in reports] == [
        ("10000315", date(2026, 7, 24), "Report-2026-29"),
        ("10000323", date(2026, 9, 18), "Report-2026-37"),
        ("10000324", date(2026, 9, 25), "Report-2026-38"),
        ("10000325", date(2026, 10, 2), "Report-2026-39"),
    ]
    assert reports[2].url == report_url("10000324")


class Server:
    """A test server: the real index, and the one real report we have for any report URL asked."""

    def __init__(self, fail: dict[str, Exception | int] | None = None) -> None:
        self.requests: list[str] = []
        self.sleeps: list[float] = []
        self.fail = fail or {}

    def handle(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        self.requests.append(url)
        failure = next((f for part, f in self.fail.items() if part in url), None)
        if isinstance(failure, Exception):
            raise failure
        if failure:
            return httpx.Response(failure)
        return httpx.Response(200, content=INDEX if url.endswith("/list/xml/en") else REPORT)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def source(self, **options) -> EuSafetyGateSource:
        client = httpx.AsyncClient(transport=httpx.MockTransport(self.handle))
        return EuSafetyGateSource(BASE, client, sleep=self.sleep, **options)


async def test_first_fetch_reads_the_last_weeks_reports_politely():
    server = Server()
    result = await server.source(weeks=2, delay=1.5).fetch(None, NOW)
    assert server.requests == [
        f"{BASE}/api/download/weeklyReport/list/xml/en",
        report_url("10000324"),
        report_url("10000325"),
    ]
    assert server.sleeps == [1.5]  # between the two report requests
    assert result.cursor == "10000325"
    events, problems = result.parse()
    assert (len(events), problems) == (4, [])


async def test_next_fetch_reads_only_reports_newer_than_the_cursor():
    server = Server()
    source = server.source(delay=0)
    result = await source.fetch("10000324", NOW)
    assert server.requests[1:] == [report_url("10000325")]
    assert result.cursor == "10000325"
    assert server.sleeps == []
    server.requests.clear()
    unchanged = await source.fetch("10000325", NOW + timedelta(days=1))
    assert server.requests == [f"{BASE}/api/download/weeklyReport/list/xml/en"]
    assert (unchanged.cursor, unchanged.parse()) == ("10000325", ([], []))


@pytest.mark.parametrize(
    ("fail", "message"),
    [
        ({"/list/xml/en": 500}, "HTTP 500 for the report index"),
        ({"/detail/xml/10000325": httpx.ReadTimeout("slow")}, "the weekly report 10000325 timed out after 60 s"),
        ({"/list/xml/en": httpx.ConnectError("refused")}, "network error reading the report index: ConnectError"),
    ],
)
async def test_http_failures_are_source_errors(fail, message):
    with pytest.raises(SourceError) as error:
        await Server(fail).source(delay=0).fetch("10000324", NOW)
    assert str(error.value) == message


async def test_history_resumes_after_the_given_report_and_counts_every_report():
    server = Server()
    source = server.source(delay=2.0)
    assert isinstance(source, HistorySource)
    steps = [step async for step in source.history(None, "10000323")]
    assert [(s.resume, s.done, s.total) for s in steps] == [("10000324", 3, 4), ("10000325", 4, 4)]
    assert server.requests[1:] == [report_url("10000324"), report_url("10000325")]
    assert server.sleeps == [2.0]
    assert len(steps[0].parsed[0]) == 4


async def test_history_since_a_date_starts_there_oldest_first():
    steps = [step async for step in Server().source(delay=0).history(date(2026, 9, 1), None)]
    assert [(s.resume, s.done, s.total) for s in steps] == [("10000323", 1, 3), ("10000324", 2, 3), ("10000325", 3, 3)]


async def test_source_reads_at_most_daily_under_its_base_url():
    async with httpx.AsyncClient() as client:
        source = EuSafetyGateSource(BASE + "/", client)
    assert (source.name, min_interval(source)) == (f"eu_safety_gate:{BASE}", timedelta(days=1))
