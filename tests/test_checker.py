"""The checker on real CPSC records served through httpx's MockTransport, and curated files."""

from __future__ import annotations

import asyncio
import copy
import json
import random
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.exc import OperationalError

from bot import checker as checker_module
from bot import messages
from bot.checker import Checker
from bot.commands import Core, dispatch
from bot.events import Destination, Reason
from bot.sources import curated as curated_module
from bot.sources.cpsc import CpscSource
from bot.sources.curated import CuratedSource
from storage import outbox, repo
from storage.sources import SourceHealth, get_state
from storage.tables import DeliveryRow
from tests.conftest import Clock, slice_records

START = datetime(2025, 10, 15, 12, 0, tzinfo=UTC)
API = "https://cpsc.test/RestWebServices/Recall"


class FakeCpsc:
    """The network peer: answers like the CPSC API with whatever records it holds."""

    def __init__(self, records: list[dict]) -> None:
        self.records = records
        self.requests: list[httpx.Request] = []
        self.fault: str | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.fault == "500":
            return httpx.Response(500, text="Server Error")
        if self.fault == "timeout":
            raise httpx.ReadTimeout("timed out", request=request)
        if self.fault == "json":
            return httpx.Response(200, content=b"<html>maintenance</html>")
        return httpx.Response(200, json=self.records)


def record(number: str) -> dict:
    return copy.deepcopy(next(r for r in slice_records() if r["RecallNumber"] == number))


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def tcore(engine, clock) -> Core:
    return Core(engine, clock=clock)


@pytest.fixture
def api() -> FakeCpsc:
    return FakeCpsc([record(n) for n in ("25011", "24146", "25437", "25248")])


@pytest.fixture
async def cpsc(api):
    async with httpx.AsyncClient(transport=httpx.MockTransport(api)) as client:
        yield CpscSource(API, client)


def checker(core: Core, *sources) -> Checker:
    return Checker(core, list(sources), interval=timedelta(minutes=15), max_age=timedelta(days=90))


def subscribe(core: Core, chat: int, text: str, platform: str = "telegram") -> Destination:
    dest = Destination(platform, chat)
    reply = dispatch(core, dest, f"/subscribe {text}")
    assert reply.text.startswith("Done"), reply.text
    return dest


def deliveries(core: Core) -> dict[tuple[str, int], list[tuple[str, bool, set[str]]]]:
    with core.session() as session:
        rows = session.exec(outbox.select(DeliveryRow).order_by(DeliveryRow.id)).all()
    found: dict = {}
    for row in rows:
        found.setdefault((row.platform, int(row.address)), []).append(
            (row.event_id, row.is_update, {messages.why((Reason.parse(line),)) for line in row.reasons.splitlines()})
        )
    return found


async def test_baseline_then_new_record_alerts_exactly_the_right_subscribers(tcore, clock, api, cpsc):
    first = await checker(tcore, cpsc).run_pass()
    assert (first.total("new"), first.total("alerts_queued"), first.sources[0].baseline) == (4, 0, True)

    clock.advance(minutes=1)
    subscribe(tcore, 1, "brand Anker")
    subscribe(tcore, 2, "model 2G505")
    subscribe(tcore, 3, "brand ESR")
    subscribe(tcore, 3, "model 2G505B")
    subscribe(tcore, 4, "brand Baseus")
    subscribe(tcore, 5, "brand Kogalla", platform="discord")
    subscribe(tcore, 6, "brand Frigidaire")

    clock.advance(minutes=15)
    api.records.append(record("26011"))  # ESR expansion adding 2G505, 2025-10-09: news
    api.records.append(record("24117"))  # Frigidaire, 2024-02-15: older than 90 days, stored silently
    api.records.append(record("25338"))  # Anker A1263, 2025-06-12: 125 days old, stored silently
    republished = api.records[1]  # 24146 re-published with a new date and nothing else changed
    republished["LastPublishDate"] = "2025-10-15T00:00:00"
    second = await checker(tcore, cpsc).run_pass()

    assert (second.total("new"), second.total("updated"), second.total("alerts_queued")) == (3, 1, 2)
    assert deliveries(tcore) == {
        ("telegram", 2): [("cpsc-26011", False, {"you follow model 2G505"})],
        ("telegram", 3): [("cpsc-26011", False, {"you follow brand ESR", "you follow model 2G505B"})],
    }

    again = await checker(tcore, cpsc).run_pass()  # a re-run changes nothing
    assert again.total("alerts_queued") == 0
    assert sum(len(v) for v in deliveries(tcore).values()) == 2


async def test_an_expansion_that_adds_models_alerts_as_an_update(tcore, clock, api, cpsc):
    await checker(tcore, cpsc).run_pass()
    clock.advance(minutes=1)
    subscribe(tcore, 3, "brand ESR")
    subscribe(tcore, 4, "model 2G520")
    clock.advance(minutes=15)
    esr = api.records[2]
    esr["Description"] += " The recall is expanded to model 2G777."
    esr["LastPublishDate"] = "2025-10-15T00:00:00"
    report = await checker(tcore, cpsc).run_pass()
    assert (report.total("updated"), report.total("alerts_queued")) == (1, 2)
    assert deliveries(tcore) == {
        ("telegram", 3): [("cpsc-25437", True, {"you follow brand ESR"})],
        ("telegram", 4): [("cpsc-25437", True, {"you follow model 2G520"})],
    }


async def test_cosmetic_edit_updates_silently(tcore, clock, api, cpsc):
    await checker(tcore, cpsc).run_pass()
    clock.advance(minutes=1)
    subscribe(tcore, 3, "brand ESR")
    api.records[2]["Title"] += " (corrected)"
    report = await checker(tcore, cpsc).run_pass()
    assert (report.total("updated"), report.total("alerts_queued")) == (1, 0)


async def test_subscription_made_after_an_event_was_seen_gets_no_alert_for_it(tcore, clock, api, cpsc):
    await checker(tcore, cpsc).run_pass()
    clock.advance(minutes=1)
    subscribe(tcore, 2, "model 2G505")
    api.records.append(record("26011"))
    clock.advance(minutes=15)
    await checker(tcore, cpsc).run_pass()
    clock.advance(minutes=1)
    subscribe(tcore, 7, "model 2G505")  # shown the recall in its /subscribe reply instead
    await checker(tcore, cpsc).run_pass()
    assert set(deliveries(tcore)) == {("telegram", 2)}


async def test_cursor_steps_back_an_overlap_and_stays_on_failure(tcore, clock, api, cpsc):
    await checker(tcore, cpsc).run_pass()
    assert api.requests[0].url.params["LastPublishDateStart"] == "2025-07-17"  # 90 days back
    clock.advance(days=1)
    api.fault = "500"
    failed = await checker(tcore, cpsc).run_pass()
    assert failed.sources[0].error == "HTTP 500 for the API"
    with tcore.session() as session:
        state = get_state(session, cpsc.name)
    assert (state.cursor, state.consecutive_failures) == ("2025-10-15", 1)
    api.fault = None
    await checker(tcore, cpsc).run_pass()
    assert api.requests[-1].url.params["LastPublishDateStart"] == "2025-10-12"  # cursor minus 3 days


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("500", "HTTP 500 for the API"),
        ("timeout", "the API timed out after 60 s"),
        ("json", "the response is not valid JSON"),
    ],
)
async def test_a_broken_source_does_not_stop_the_others(tcore, clock, api, cpsc, tmp_path, fault, error):
    curated = tmp_path / "extra.toml"
    curated.write_text('[[recall]]\nid = "x-1"\nbrand = "Zapco"\nproduct = "p"\nsource = "s"\n')
    api.fault = fault
    report = await checker(tcore, cpsc, CuratedSource(curated)).run_pass()
    assert [s.error for s in report.sources] == [error, None]
    assert report.sources[1].new == 1


async def test_a_failing_source_backs_off(tcore, clock, api, cpsc):
    api.fault = "500"
    check = checker(tcore, cpsc)
    await check.run_pass()
    clock.advance(minutes=15)
    second = await check.run_pass()
    # Two intervals, stretched by up to a tenth of jitter, less half an interval of slack.
    assert timedelta(minutes=22.5) <= second.sources[0].backing_off_until - clock.now <= timedelta(minutes=25.5)
    clock.advance(minutes=15)
    skipped = await check.run_pass()
    assert len(api.requests) == 2  # the third pass did not call the API
    assert skipped.sources[0].backing_off_until is not None
    api.fault = None
    clock.advance(minutes=16)
    recovered = await check.run_pass()
    assert (recovered.sources[0].error, recovered.sources[0].new) == (None, 4)


async def test_records_missing_fields_are_skipped_and_reported(tcore, api, cpsc):
    del api.records[1]["RecallDate"]
    del api.records[2]["RecallID"]
    report = await checker(tcore, cpsc).run_pass()
    assert report.total("new") == 2
    assert sorted((p.record, p.field) for p in report.sources[0].problems) == [
        ("#3", "RecallID"),
        ("24146", "RecallDate"),
    ]
    assert all(p.source == cpsc.name for p in report.sources[0].problems)


async def test_repeated_recall_ids_in_one_response_count_once(tcore, api, cpsc):
    api.records.append(copy.deepcopy(api.records[0]))
    report = await checker(tcore, cpsc).run_pass()
    assert (report.total("new"), report.skipped) == (4, 0)


SUSPENSION = """
[[suspension]]
id = "cqc-apex-wuxi-2025-06"
date = 2025-10-10
supplier = "APEX (Wuxi) Co., Ltd."
aliases = ["Amprius"]
certificate = "CCC (3C)"
reason = "Factory inspection failed."
brands = ["Anker", "Ugreen"]
source = "test"
"""


async def test_edited_curated_file_alerts_supplier_and_linked_brand_subscribers(tcore, clock, api, cpsc, tmp_path):
    path = tmp_path / "curated.toml"
    path.write_text('[[recall]]\nid = "r-1"\nbrand = "Romoss"\nmodels = ["PAC20-272"]\nproduct = "p"\nsource = "s"\n')
    api.records.append(record("25338"))  # puts Anker's A1263 on record
    check = checker(tcore, cpsc, CuratedSource(path))
    await check.run_pass()
    clock.advance(minutes=1)
    subscribe(tcore, 1, "supplier Amprius")
    subscribe(tcore, 2, "brand Ugreen")
    subscribe(tcore, 3, "model A1263")
    subscribe(tcore, 4, "brand Romoss")
    path.write_text(path.read_text() + SUSPENSION)
    clock.advance(minutes=15)
    report = await check.run_pass()
    assert report.total("alerts_queued") == 3
    supplier = "APEX (Wuxi) Co., Ltd."
    assert deliveries(tcore) == {
        ("telegram", 1): [("cqc-apex-wuxi-2025-06", False, {"you follow supplier Amprius"})],
        ("telegram", 2): [
            (
                "cqc-apex-wuxi-2025-06",
                False,
                {f"you follow brand Ugreen, named as a customer of {supplier} (potentially affected)"},
            )
        ],
        ("telegram", 3): [
            (
                "cqc-apex-wuxi-2025-06",
                False,
                {
                    f"you follow model A1263, a Anker model; Anker is named as a customer of {supplier} "
                    "(potentially affected)"
                },
            )
        ],
    }


async def test_curated_file_that_stops_parsing_fails_without_losing_events(tcore, clock, tmp_path):
    path = tmp_path / "curated.toml"
    path.write_text('[[recall]]\nid = "r-1"\nbrand = "Romoss"\nproduct = "p"\nsource = "s"\n')
    check = checker(tcore, CuratedSource(path))
    await check.run_pass()
    path.write_text("[[recall]\n")
    report = await check.run_pass()
    assert report.sources[0].error.startswith("not valid TOML")
    assert "r-1" in json.dumps(dispatch(tcore, Destination("t", 1), "/check Romoss").check.to_dict())


async def test_status_shows_sources_and_queue(tcore, clock, api, cpsc):
    await checker(tcore, cpsc).run_pass()
    api.fault = "timeout"
    clock.advance(minutes=15)
    await checker(tcore, cpsc).run_pass()
    with tcore.session(write=True) as session:  # an instance is running: the next check is planned
        outbox.heartbeat(session, "instance-1", clock(), stale_after=timedelta(seconds=15))
        session.commit()
    text = dispatch(tcore, Destination("t", 1), "/status").text
    assert "last check Oct 15, 2025 12:15 UTC, next check Oct 15, 2025 12:30 UTC" in text
    assert "Alerts waiting to be sent: 0." in text
    held = "4 records dated Mar 7, 2024 to Aug 14, 2025"  # what the source gave: its records and their dates
    assert f"- {cpsc.name}: {held}; last success Oct 15, 2025 12:00 UTC; 1 failures" in text
    assert "last error Oct 15, 2025 12:15 UTC: the API timed out after 60 s" in text


async def test_an_unchanged_payload_is_not_parsed_again(tcore, clock, tmp_path, monkeypatch):
    path = tmp_path / "curated.toml"
    path.write_text('[[recall]]\nid = "r-1"\nbrand = "Romoss"\nproduct = "p"\nsource = "s"\n')
    calls = []
    real = curated_module.parse_curated
    monkeypatch.setattr(curated_module, "parse_curated", lambda *a: calls.append(a) or real(*a))
    check = checker(tcore, CuratedSource(path))
    await check.run_pass()
    clock.advance(minutes=15)
    same = await check.run_pass()
    assert (len(calls), same.sources[0].unchanged, same.sources[0].new) == (1, 1, 0)
    path.write_text(path.read_text() + '\n[[recall]]\nid = "r-2"\nbrand = "Romoss"\nproduct = "q"\nsource = "s"\n')
    clock.advance(minutes=15)
    edited = await check.run_pass()
    assert (len(calls), edited.sources[0].new, edited.sources[0].unchanged) == (2, 1, 1)


async def test_the_coverage_age_moves_only_when_a_source_was_read(tcore, clock, api, cpsc):
    await checker(tcore, cpsc).run_pass()
    read = "live sources last read Oct 15, 2025 12:00 UTC"
    assert read in dispatch(tcore, Destination("t", 1), "/check zzqx-99999-q").text
    api.fault = "timeout"
    clock.advance(minutes=15)
    await checker(tcore, cpsc).run_pass()  # nothing read: the answer keeps the older age
    assert read in dispatch(tcore, Destination("t", 1), "/check zzqx-99999-q").text


async def test_months_of_failures_never_stop_the_checker(tcore, clock, api, cpsc, tmp_path):
    """A mistyped URL failing for weeks: the backoff stays capped and later sources are still read."""
    curated = tmp_path / "extra.toml"
    curated.write_text('[[recall]]\nid = "x-1"\nbrand = "Zapco"\nproduct = "p"\nsource = "s"\n')
    api.fault = "500"
    check = Checker(tcore, [cpsc, CuratedSource(curated)], interval=timedelta(hours=1), max_age=timedelta(days=90))
    for _ in range(60):  # 2**60 hours overflows a timedelta; the exponent must be capped first
        report = await check.run_pass()
        assert report.sources[1].error is None
        clock.advance(hours=7)
    with tcore.session() as session:
        state = get_state(session, cpsc.name)
        assert repo.get_meta(session, "last_check_at") == report.started_at.isoformat()
    assert state.consecutive_failures == 60
    # Capped at six hours, stretched by at most a tenth of jitter, minus half an interval of slack.
    wait = state.next_attempt_at - state.last_error_at
    assert timedelta(hours=5.5) <= wait <= timedelta(hours=6 * 1.1 - 0.5)


async def test_backoffs_of_sources_failing_together_are_spread(tcore):
    retries = set()
    for seed in range(5):  # five sources, each failing for the third time in the same pass
        check = Checker(tcore, [], interval=timedelta(minutes=15), max_age=timedelta(days=90), rng=random.Random(seed))
        state = SourceHealth(f"s{seed}", consecutive_failures=2)
        retries.add((await asyncio.to_thread(check._failed, state.name, "down", state, START)).backing_off_until)
    assert len(retries) == 5


async def test_a_database_error_storing_one_source_does_not_end_the_pass(tcore, clock, tmp_path, monkeypatch):
    files = []
    for name, brand in (("a", "Zapco"), ("b", "Voltix")):
        path = tmp_path / f"{name}.toml"
        path.write_text(f'[[recall]]\nid = "{name}-1"\nbrand = "{brand}"\nproduct = "p"\nsource = "s"\n')
        files.append(CuratedSource(path))
    real_store = checker_module.store_events

    def store(session, events, origin, now):
        if origin == files[0].name:
            raise OperationalError("INSERT", {}, Exception("disk I/O error"))
        return real_store(session, events, origin, now)

    monkeypatch.setattr(checker_module, "store_events", store)
    report = await checker(tcore, *files).run_pass()
    assert "disk I/O error" in report.sources[0].error
    assert (report.sources[1].error, report.sources[1].new) == (None, 1)
    with tcore.session() as session:
        assert get_state(session, files[0].name).consecutive_failures == 1
        assert repo.get_meta(session, "last_check_at") is not None


class GatedSource:
    """A source whose download takes as long as the test wants."""

    def __init__(self, inner: CpscSource) -> None:
        self.inner, self.name = inner, inner.name
        self.downloading, self.finish = asyncio.Event(), asyncio.Event()

    async def fetch(self, cursor, now):
        self.downloading.set()
        await self.finish.wait()
        return await self.inner.fetch(cursor, now)


async def test_a_subscription_made_while_a_source_is_read_is_alerted(tcore, clock, api, cpsc):
    await checker(tcore, cpsc).run_pass()  # the baseline
    api.records.append(record("26011"))
    clock.advance(minutes=15)
    slow = GatedSource(cpsc)
    running = asyncio.create_task(checker(tcore, slow).run_pass())
    await slow.downloading.wait()
    clock.advance(minutes=1)
    subscribe(tcore, 2, "model 2G505")  # the recall is not stored yet: the reply cannot show it
    clock.advance(seconds=1)
    slow.finish.set()
    report = await running
    assert report.sources[0].new == 1
    assert set(deliveries(tcore)) == {("telegram", 2)}
