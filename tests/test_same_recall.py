"""One recall in several sources: CPSC's joint notices with Health Canada, curated records that repeat a
CPSC recall, and CPSC's error stand-in, which is a failure and not a recall."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx

from bot.checker import Checker
from bot.commands import Core, dispatch
from bot.events import Destination
from bot.matching import Match, MatchKind, unique
from bot.render import render_reply
from bot.sources.cpsc import CpscSource
from bot.sources.curated import CuratedSource
from bot.sources.health_canada import parse_row
from storage import outbox
from storage.tables import DeliveryRow
from tests.conftest import DATA, NOW, slice_event
from tests.test_checker import FakeCpsc, record, subscribe

BLENDJET_CANADA = "https://recalls-rappels.canada.ca/en/alert-recall/blendjet-2-portable-blenders-recalled-due-fire-and-laceration-hazards"


def test_a_cpsc_answer_says_the_recall_is_also_announced_in_canada(core):
    """24-069 (BlendJet 2) lists Health Canada's notice among its Inconjunctions."""
    reply = dispatch(core, Destination("t", 1), "/check BlendJet 2")
    [event] = [m.event for m in reply.check.matches if m.event.id == "cpsc-24069"]
    assert event.links == (BLENDJET_CANADA,)
    assert f"Also recalled in: Canada (Health Canada): {BLENDJET_CANADA}" in render_reply(reply).replace("\n    ", " ")


def test_the_health_canada_notice_of_a_cpsc_recall_is_not_shown_twice():
    """Health Canada's row of the same recall is hidden behind CPSC's, which names it.

    The Health Canada row is the real HotHands row with its URL set to the notice CPSC's
    24-069 names (no captured row of a joint recall in our CPSC slice exists)."""
    rows = json.loads((DATA / "health_canada" / "HCRSAMOpenData-7-rows.json").read_text(encoding="utf-8"))
    canada = parse_row(dict(next(r for r in rows if r["NID"] == "82676"), URL=BLENDJET_CANADA))
    cpsc = slice_event("24069")
    shown = unique([Match(canada, "", MatchKind.PRODUCT), Match(cpsc, "", MatchKind.PRODUCT)])
    assert [m.event.id for m in shown] == ["cpsc-24069"]


def a1263_curated(tmp_path):
    """The bundled curated file's A1263 record (it says same_as = ["cpsc-25338"]) in a file of its own."""
    text = (DATA.parent.parent / "bot" / "data" / "curated.toml").read_text(encoding="utf-8")
    start = text.index('[[recall]]\nid = "anker-powercore-10000-a1263-us-2025"')
    block = text[start : text.index("[[recall]]", start + 1)]
    path = tmp_path / "a1263.toml"
    path.write_text(block, encoding="utf-8")
    return path


async def test_a_subscriber_is_alerted_once_when_two_sources_carry_the_same_recall(engine, tmp_path):
    """CPSC 25-338 and the curated A1263 record are one recall: a follower of Anker hears of it once."""
    clock = [NOW]
    core = Core(engine, clock=lambda: clock[0])
    api = FakeCpsc([record("25011")])
    empty = tmp_path / "empty.toml"
    empty.write_text("", encoding="utf-8")
    async with httpx.AsyncClient(transport=httpx.MockTransport(api)) as client:
        cpsc = CpscSource("https://cpsc.test/RestWebServices/Recall", client)
        curated = CuratedSource(empty)
        checker = Checker(core, [cpsc, curated], interval=timedelta(minutes=15), max_age=timedelta(days=90))
        await checker.run_pass()  # the baselines
        dest = subscribe(core, 7, "brand Anker")
        clock[0] += timedelta(minutes=20)
        api.records.append(record("25338"))
        empty.write_text(a1263_curated(tmp_path).read_text(encoding="utf-8"), encoding="utf-8")
        report = await checker.run_pass()
    assert report.total("new") == 2
    with core.session() as session:
        rows = session.exec(outbox.select(DeliveryRow)).all()
    assert [(r.address, r.event_id) for r in rows] == [(dest.address, "cpsc-25338")]


async def test_cpscs_error_stand_in_is_a_failure_not_a_recall(engine):
    """The API can answer 200 with one record, RecallID 0 and a title "Error retrieving ...": nothing is stored."""
    core = Core(engine, clock=lambda: NOW)
    stand_in = {"RecallID": 0, "RecallNumber": "", "Title": "Error retrieving recalls", "RecallDate": None}
    api = FakeCpsc([stand_in])
    async with httpx.AsyncClient(transport=httpx.MockTransport(api)) as client:
        checker = Checker(
            core, [CpscSource("https://cpsc.test/r", client)], interval=timedelta(minutes=15), max_age=timedelta(90)
        )
        report = await checker.run_pass()
    assert report.sources[0].error == "the API answered with its error stand-in record instead of recalls"
    assert report.total("new") == 0
