"""`recallbot backfill`: a source's whole history, stored once, resumable, idempotent, and never alerting."""

from __future__ import annotations

import io
import json
from datetime import date

import httpx
import pytest

from bot.backfill import backfill, needs_backfill, resume_key
from bot.commands import Core
from bot.progress import LineProgress
from bot.sources import cpsc as cpsc_module
from bot.sources.base import HistoryStep
from bot.sources.cpsc import CpscSource
from bot.sources.eu_safety_gate import EuSafetyGateSource
from storage import outbox, repo
from tests.conftest import DATA, NOW, slice_records
from tests.test_checker import subscribe
from tests.test_regulators import recallbot, regulators  # noqa: F401 - the fixture is used by name

INDEX = (DATA / "eu_safety_gate" / "weekly-report-list.xml").read_bytes()
REPORT = (DATA / "eu_safety_gate" / "weekly-report-10000324.xml").read_bytes()


class Steps:
    """Progress that records each step and can stop the run after ``stop_after`` steps, as Ctrl-C would."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.seen: list[tuple[int, int | None]] = []
        self.stop_after = stop_after

    def update(self, step: HistoryStep, stored: int) -> None:
        self.seen.append((step.done, step.total))
        if self.stop_after is not None and len(self.seen) >= self.stop_after:
            raise KeyboardInterrupt


def safety_gate(requests: list[str]) -> httpx.MockTransport:
    """The index as captured; every report it lists is answered with the one report captured (10000324)."""

    def answer(request: httpx.Request) -> httpx.Response:
        requests.append(request.url.path)
        return httpx.Response(200, content=INDEX if request.url.path.endswith("/list/xml/en") else REPORT)

    return httpx.MockTransport(answer)


def deliveries(core: Core) -> int:
    with core.session() as session:
        return outbox.queue_depth(session)


async def test_an_interrupted_safety_gate_backfill_resumes_after_the_last_report_stored(engine):
    core = Core(engine, clock=lambda: NOW)
    subscribe(core, 1, "brand Tickit")  # named in the report: a backfill must still not alert
    requests: list[str] = []
    async with httpx.AsyncClient(transport=safety_gate(requests)) as client:
        source = EuSafetyGateSource("https://sg.test/safety-gate-alerts", client, delay=0)
        with pytest.raises(KeyboardInterrupt):
            await backfill(core, source, None, Steps(stop_after=2))
        with core.session() as session:
            assert repo.get_meta(session, resume_key(source)) == "10000323"  # reports 29 and 37 stored
        assert needs_backfill(core, [source]) == [source]
        requests.clear()
        steps = Steps()
        report = await backfill(core, source, None, steps)
    reports = [path.rsplit("/", 1)[1] for path in requests if "/detail/" in path]
    assert reports == ["10000324", "10000325"]  # only the two not stored yet
    assert steps.seen == [(3, 4), (4, 4)]
    assert (report.resumed_after, report.finished, report.new) == ("10000323", True, 0)
    assert deliveries(core) == 0
    assert needs_backfill(core, [source]) == []
    with core.session() as session:
        assert len(repo.get_events(session, ["eu-SR/02540/26", "eu-SR/02546/26"])) == 2


async def test_a_cpsc_backfill_stores_every_record_once_in_steps_and_never_alerts(engine, monkeypatch):
    monkeypatch.setattr(cpsc_module, "HISTORY_STEP", 10)
    records = slice_records()
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=records)

    core = Core(engine, clock=lambda: NOW)
    subscribe(core, 1, "brand Anker")
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
        source = CpscSource("https://cpsc.test/RestWebServices/Recall", client)
        with pytest.raises(KeyboardInterrupt):
            await backfill(core, source, date(1973, 1, 1), Steps(stop_after=2))
        first = await backfill(core, source, date(1973, 1, 1), steps := Steps())
        again = await backfill(core, source, None, Steps())
    assert dict(seen[0].url.params) == {"format": "json", "RecallDateStart": "1973-01-01"}
    assert "RecallDateStart" not in dict(seen[-1].url.params)
    total = len(records)
    assert steps.seen == [(n, total) for n in range(30, total, 10)] + [(total, total)]
    assert first.resumed_after == "20" and first.new == total - 20
    assert (again.new, again.updated, again.unchanged) == (0, 0, total)  # a rerun changes nothing
    assert deliveries(core) == 0


def test_plain_progress_lines_say_how_far_and_how_long(monkeypatch):
    ticks = iter([0.0, 20.0, 20.0])  # started; the update 20 s later; the line
    monkeypatch.setattr("bot.progress.time.monotonic", lambda: next(ticks))
    out = io.StringIO()
    progress = LineProgress("eu_safety_gate:x", out)
    progress.update(HistoryStep(([], []), "1", 100, 1100), stored=6500)
    assert out.getvalue() == "eu_safety_gate:x: 100/1100 done, 6,500 records stored, about 200 s left\n"


async def test_recallbot_backfill_on_a_loopback_safety_gate(tmp_path, regulators):  # noqa: F811
    db = tmp_path / "recallbot.db"
    (tmp_path / "config.toml").write_text(
        f'[storage]\nurl = "sqlite:///{db}"\n[[sources]]\nkind = "eu_safety_gate"\n'
        f'base_url = "{regulators.base_url}/eu"\ndelay = 0\n'
    )
    status, output = await recallbot(tmp_path, "backfill", "eu_safety_gate")
    assert status == 0, output
    name = f"eu_safety_gate:{regulators.base_url}/eu"
    assert f"{name}: 1/1 done, 4 records stored" in output
    done = f"{name}: history loaded: 4 new, 0 updated, 0 unchanged, 0 skipped; no alerts sent."
    assert output.rstrip().endswith(done)
    status, output = await recallbot(tmp_path, "backfill", "accc")
    assert status == 2
    assert "'accc' has no history to load; backfill works for cpsc and eu_safety_gate" in output
    status, output = await recallbot(tmp_path, "check", "JY-888", "--json")
    assert json.loads(output)["matches"][0]["id"] == "eu-SR/02540/26"


async def test_run_offers_the_backfill_of_sources_whose_history_is_not_loaded(core, caplog):
    from bot.runtime import offer_backfill

    async with httpx.AsyncClient() as client:
        sources = [CpscSource("https://cpsc.test/r", client)]
        with caplog.at_level("INFO", logger="bot.runtime"):
            offer_backfill(core, sources)
        assert "`recallbot backfill cpsc` loads its whole history once" in caplog.text
        assert needs_backfill(core, sources) == sources
        core.remember(resume_key(sources[0]), "")  # what a finished backfill leaves
        caplog.clear()
        offer_backfill(core, sources)
        assert needs_backfill(core, sources) == [] and "recallbot backfill" not in caplog.text
