"""The metrics and health endpoint: real work (alerts delivered, a checker pass, a /check), scraped over HTTP."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from bot.app import StartupError
from bot.checker import Checker
from bot.commands import Core, dispatch
from bot.config import CheckerConfig, Config, MetricsConfig
from bot.delivery import DeliveryWorker, Outcome, OutcomeKind
from bot.events import Destination
from bot.exporter import serving
from bot.metrics import NO_METRICS
from bot.sources.cpsc import CpscSource
from storage.db import make_engine
from tests.conftest import RECALLBOT, Clock, clean_env, core_with_alerts, slice_records
from tests.test_delivery import ScriptedNotifier

API = "https://cpsc.test/RestWebServices/Recall"
INTERVAL = 60  # [checker] interval_seconds of these tests: /health allows two


def config(port: int = 0) -> Config:
    return Config(checker=CheckerConfig(interval_seconds=INTERVAL), metrics=MetricsConfig(port=port))


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Return every sample the endpoint serves, by name and labels, as Prometheus would parse them."""
    response = httpx.get(f"{url}/metrics")
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2025, 7, 1, 12, 0, tzinfo=UTC))


async def test_alerts_delivered_are_counted_by_platform_and_the_queue_read_from_the_database(engine, clock):
    core = core_with_alerts(engine, clock, range(1, 6))  # an alert queued for chats 1..5 of platform "test"
    notifier = ScriptedNotifier()
    notifier.script = {
        2: [Outcome(OutcomeKind.GONE, error="Forbidden: bot was blocked by the user")],
        3: [Outcome(OutcomeKind.FAILED, error="Bad Request: message is too long")],
        4: [Outcome(OutcomeKind.RETRY, error="Too Many Requests", retry_after=30)],
    }
    with serving(config(), core, CollectorRegistry()) as endpoint:
        assert endpoint.url is not None
        await DeliveryWorker(core, {"test": notifier}, metrics=endpoint.metrics).drain()
        samples = scrape(endpoint.url)
        clock.advance(seconds=90)  # the two put back are due again; the worker's heartbeat is old
        later = scrape(endpoint.url)

    assert value(samples, "recallbot_alerts_sent_total", platform="test") == 2
    assert value(samples, "recallbot_alerts_gone_total", platform="test") == 1
    assert value(samples, "recallbot_alerts_failed_total", platform="test") == 1
    assert value(samples, "recallbot_rate_limited_total", platform="test") == 1
    assert value(samples, "recallbot_send_seconds_count", platform="test") == 5
    assert value(samples, "recallbot_queue_depth") == 2  # the gone one (retried later) and the 429 one
    assert value(samples, "recallbot_oldest_pending_seconds") == 0  # neither is due yet
    assert value(samples, "recallbot_instances_alive") == 1
    assert value(later, "recallbot_oldest_pending_seconds") == 90
    assert value(later, "recallbot_instances_alive") == 0


async def test_a_checker_pass_counts_alerts_queued_by_platform_and_source_fetches_and_failures(engine, clock):
    core = Core(engine, clock=clock)
    records = [r for r in slice_records() if r["RecallNumber"] in ("25011", "24146")]
    fail = []

    def cpsc_api(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, text="Server Error") if fail else httpx.Response(200, json=records)

    with serving(config(), core, CollectorRegistry()) as endpoint:
        async with httpx.AsyncClient(transport=httpx.MockTransport(cpsc_api)) as client:
            checker = Checker(
                core,
                [CpscSource(API, client)],
                interval=timedelta(minutes=15),
                max_age=timedelta(days=90),
                metrics=endpoint.metrics,
            )
            await checker.run_pass()  # the baseline: nothing is alerted
            clock.advance(minutes=1)
            for platform, chat, follow in (("telegram", 2, "model 2G505"), ("discord", 5, "brand ESR")):
                assert dispatch(core, Destination(platform, chat), f"/subscribe {follow}").text.startswith("Done")
            clock.advance(minutes=15)
            records.append(next(r for r in slice_records() if r["RecallNumber"] == "26011"))  # ESR adds 2G505
            assert (await checker.run_pass()).total("alerts_queued") == 2
            fail.append(True)
            clock.advance(minutes=15)
            await checker.run_pass()
        samples = scrape(endpoint.url)

    assert value(samples, "recallbot_alerts_queued_total", platform="telegram") == 1
    assert value(samples, "recallbot_alerts_queued_total", platform="discord") == 1
    assert value(samples, "recallbot_source_fetch_seconds_count", kind="cpsc") == 3
    assert value(samples, "recallbot_source_failures_total", kind="cpsc") == 1


async def test_a_check_is_timed(sqlite_engine, clock):
    core = core_with_alerts(sqlite_engine, clock, [1])
    with serving(config(), core, CollectorRegistry()) as endpoint:
        reply = dispatch(core, Destination("test", "1"), "/check A1263")
        samples = scrape(endpoint.url)
    assert reply.check is not None and reply.check.matches
    assert value(samples, "recallbot_check_seconds_count") == 1


def test_health_is_503_until_a_checker_pass_has_ended(sqlite_engine, clock):
    core = Core(sqlite_engine, clock=clock)
    with serving(config(), core, CollectorRegistry()) as endpoint:
        response = httpx.get(f"{endpoint.url}/health")
    assert (response.status_code, response.text) == (503, "no checker pass has ended yet\n")


async def test_health_is_200_after_a_pass_and_503_when_the_checker_is_two_intervals_late(sqlite_engine, clock):
    core = Core(sqlite_engine, clock=clock)
    await Checker(core, [], interval=timedelta(seconds=INTERVAL), max_age=timedelta(days=90)).run_pass()
    with serving(config(), core, CollectorRegistry()) as endpoint:
        clock.advance(seconds=2 * INTERVAL)
        fresh = httpx.get(f"{endpoint.url}/health")
        clock.advance(seconds=1)
        late = httpx.get(f"{endpoint.url}/health")
    assert (fresh.status_code, fresh.text) == (200, "ok: the last checker pass ended 120 s ago\n")
    assert (late.status_code, late.text) == (503, "the last checker pass ended 121 s ago, over two intervals (120 s)\n")


def test_health_is_503_and_the_database_gauges_absent_when_the_database_is_unreachable():
    engine = make_engine(f"postgresql+psycopg://recallbot:s3cret@127.0.0.1:{free_port()}/recallbot")
    try:
        with serving(config(), Core(engine), CollectorRegistry()) as endpoint:
            response = httpx.get(f"{endpoint.url}/health")
            samples = scrape(endpoint.url)
    finally:
        engine.dispose()
    assert response.status_code == 503
    assert response.text.startswith("database unreachable: ")
    assert response.text.count("\n") == 1 and "s3cret" not in response.text
    assert value(samples, "recallbot_queue_depth") is None
    assert value(samples, "recallbot_check_seconds_count") == 0  # the process's own metrics are still served


def test_the_endpoint_is_off_without_a_port_and_closed_when_the_block_ends(sqlite_engine):
    core = Core(sqlite_engine)
    with serving(Config(), core) as off:
        assert (off.metrics, off.url) == (NO_METRICS, None)
    with serving(config(), core, CollectorRegistry()) as endpoint:
        assert httpx.get(f"{endpoint.url}/metrics").status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{endpoint.url}/metrics")


def test_a_port_in_use_stops_start_up_with_a_sentence(sqlite_engine):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(StartupError) as error, serving(config(port), Core(sqlite_engine)):
            pass
    assert str(error.value) == (
        f"Could not serve metrics on 127.0.0.1:{port} (Address already in use); "
        "free the port or set [metrics] port (or host) to another."
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_recallbot_run_serves_health_from_start_up_to_shut_down(tmp_path):
    port = free_port()
    env = clean_env(RECALLBOT_METRICS__PORT=str(port), RECALLBOT_STORAGE__URL=f"sqlite:///{tmp_path / 'bot.db'}")
    bot = subprocess.Popen(
        [*RECALLBOT, "run"],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:  # the first pass (no sources here) starts at once
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health")
            except httpx.TransportError:
                health = None
            if health is not None and health.status_code == 200:
                break
            assert bot.poll() is None, f"recallbot run exited: {bot.stderr.read().decode()}"
            assert time.monotonic() < deadline, "/health did not answer 200 within 60 s"
            time.sleep(0.1)
        bot.send_signal(signal.SIGTERM)
        assert bot.wait(timeout=30) == 0
    finally:
        bot.kill()
        log = bot.stderr.read().decode()
    assert f"metrics on http://127.0.0.1:{port}/metrics, health on http://127.0.0.1:{port}/health" in log
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/health")
