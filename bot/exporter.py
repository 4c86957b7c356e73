"""The Prometheus endpoint of `recallbot run` (``[metrics] port``): /metrics and /health.

:class:`PrometheusMetrics` records what this process does (``bot.metrics`` lists every
name) into a registry of its own, never prometheus_client's global one, so two in one
process (tests) never meet. What the shared database holds (alerts waiting, the oldest of
them, live instances) is read from it when Prometheus scrapes (:class:`DatabaseGauges`),
never on a send. /health says whether the bot is working (:func:`health`).

The endpoint runs in a thread of its own (a scrape never waits for the event loop) from
:func:`serving`, which `recallbot run` enters first and leaves last.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from prometheus_client import CollectorRegistry, Counter, Histogram, make_wsgi_app
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from bot.app import StartupError
from bot.config import Config
from bot.core import Core
from bot.metrics import NO_METRICS, AlertOutcome, Metrics
from storage import outbox, repo, stats
from storage.db import error_reason

logger = logging.getLogger(__name__)

# A source's download takes from a fraction of a second to minutes (Safety Gate's weekly reports, 1 s apart).
FETCH_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)


def _kind(source: str) -> str:
    """Return a source's kind from its name ("cpsc:https://..." is cpsc): one label value per kind, not per URL."""
    return source.split(":", 1)[0]


class PrometheusMetrics(Metrics):
    """Records into a Prometheus registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        by_platform = ["platform"]
        self.registry = registry
        self._alerts = {
            outcome: Counter(f"recallbot_alerts_{outcome}", text, by_platform, registry=registry)
            for outcome, text in (
                ("queued", "Alerts the checker queued, by platform."),
                ("sent", "Alerts the platform accepted, by platform."),
                ("failed", "Alerts that can never be sent (a permanent error, or too many attempts), by platform."),
                ("gone", "Alerts answered gone (blocked, kicked, chat deleted), by platform."),
            )
        }
        self._rate_limited = Counter(
            "recallbot_rate_limited",
            "Sends answered 429 (too many requests), by platform.",
            by_platform,
            registry=registry,
        )
        self._send_seconds = Histogram(
            "recallbot_send_seconds",
            "Time to send one message (an alert or a digest), by platform.",
            by_platform,
            registry=registry,
        )
        self._fetch_seconds = Histogram(
            "recallbot_source_fetch_seconds",
            "Time to download one source's feed, by source kind.",
            ["kind"],
            buckets=FETCH_BUCKETS,
            registry=registry,
        )
        self._source_failures = Counter(
            "recallbot_source_failures",
            "Source checks that failed (download, parse or store), by source kind.",
            ["kind"],
            registry=registry,
        )
        self._check_seconds = Histogram("recallbot_check_seconds", "Time to look one /check up.", registry=registry)

    def queued(self, session: Session, now: datetime) -> None:
        for platform, count in stats.queued_at(session, now).items():
            self._alerts["queued"].labels(platform).inc(count)

    def alert(self, platform: str, outcome: AlertOutcome) -> None:
        self._alerts[outcome].labels(platform).inc()

    def rate_limited(self, platform: str) -> None:
        self._rate_limited.labels(platform).inc()

    def sending(self, platform: str) -> AbstractContextManager[object]:
        return self._send_seconds.labels(platform).time()

    def fetching(self, source: str) -> AbstractContextManager[object]:
        return self._fetch_seconds.labels(_kind(source)).time()

    def source_failed(self, source: str) -> None:
        self._source_failures.labels(_kind(source)).inc()

    def checking(self) -> AbstractContextManager[object]:
        return self._check_seconds.time()


class DatabaseGauges:
    """A collector of what the shared database holds, read at each scrape: the same figures on every instance."""

    def __init__(self, core: Core) -> None:
        self.core = core

    def describe(self) -> Iterable[Metric]:
        """Name the gauges without reading the database (the registry asks at registration)."""
        return self._gauges(stats.Backlog(0, None), 0, datetime.min)

    def collect(self) -> Iterable[Metric]:
        """Read the gauges; none when the database does not answer (/health says why)."""
        try:
            with self.core.session() as session:
                now = self.core.clock()
                backlog = stats.backlog(session, now)
                alive = stats.instances_alive(session, now - outbox.INSTANCE_FORGOTTEN_AFTER)
        except SQLAlchemyError as error:
            logger.warning("metrics: could not read the database (%s)", error_reason(error))
            return []
        return self._gauges(backlog, alive, now)

    @staticmethod
    def _gauges(backlog: stats.Backlog, alive: int, now: datetime) -> list[Metric]:
        age = max(0.0, (now - backlog.oldest_due).total_seconds()) if backlog.oldest_due else 0.0
        return [
            GaugeMetricFamily("recallbot_queue_depth", "Alerts waiting to be sent (all instances).", backlog.depth),
            GaugeMetricFamily(
                "recallbot_oldest_pending_seconds", "Age of the oldest alert due and not sent (0 when none).", age
            ),
            GaugeMetricFamily("recallbot_instances_alive", "Instances whose delivery worker heartbeats.", alive),
        ]


@dataclass(frozen=True)
class Health:
    ok: bool
    reason: str  # one line, for the operator


def health(core: Core, interval: timedelta) -> Health:
    """Tell whether the bot is working: the database answers and a checker pass ended within two intervals.

    Any instance's pass counts (one checker runs among instances sharing a database), so
    each instance is as healthy as the checker is.
    """
    try:
        with core.session() as session:
            last = repo.get_meta(session, "last_check_at")
    except SQLAlchemyError as error:
        return Health(False, f"database unreachable: {error_reason(error)}")
    if last is None:
        return Health(False, "no checker pass has ended yet")
    age = max(0.0, (core.clock() - datetime.fromisoformat(last)).total_seconds())  # another host's clock may lead
    limit = 2 * interval.total_seconds()
    if age > limit:
        return Health(False, f"the last checker pass ended {age:.0f} s ago, over two intervals ({limit:.0f} s)")
    return Health(True, f"ok: the last checker pass ended {age:.0f} s ago")


def _routes(metrics: WSGIApplication, check_health: Callable[[], Health]) -> WSGIApplication:
    """Return the endpoint: /health answers 200 or 503 with one line; any other path, the metrics."""

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/health":
            return metrics(environ, start_response)
        state = check_health()
        body = f"{state.reason}\n".encode()
        status = "200 OK" if state.ok else "503 Service Unavailable"
        start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
        return [body]

    return app


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a scrape in progress does not hold up shut-down


class _Server6(_Server):
    address_family = socket.AF_INET6


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Log nothing: a scrape every 15 s is not news."""


@dataclass(frozen=True)
class Endpoint:
    """What `recallbot run` records with, and where /metrics and /health are (None when [metrics] port is unset)."""

    metrics: Metrics = NO_METRICS
    url: str | None = None


@contextmanager
def serving(config: Config, core: Core, registry: CollectorRegistry | None = None) -> Iterator[Endpoint]:
    """Serve /metrics and /health on ``[metrics] host:port`` while the block runs; off when no port is set.

    ``registry``: where to record (a test's own); a new one by default.

    :raises StartupError: the address cannot be listened on (taken, not this host's); one sentence.
    """
    if config.metrics.port is None:
        yield Endpoint()
        return
    registry = CollectorRegistry() if registry is None else registry
    metrics = PrometheusMetrics(registry)
    registry.register(DatabaseGauges(core))
    interval = timedelta(seconds=config.checker.interval_seconds)
    app = _routes(make_wsgi_app(registry), lambda: health(core, interval))
    host, port = config.metrics.host, config.metrics.port
    try:
        server = make_server(host, port, app, _Server6 if ":" in host else _Server, _QuietHandler)
    except OSError as error:
        raise StartupError(
            f"Could not serve metrics on {host}:{port} ({error.strerror or error}); "
            "free the port or set [metrics] port (or host) to another."
        ) from None
    url = f"http://{f'[{host}]' if ':' in host else host}:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, name="metrics", daemon=True)
    thread.start()
    logger.info("metrics on %s/metrics, health on %s/health", url, url)
    previous, core.metrics = core.metrics, metrics  # /check is timed through the core
    try:
        yield Endpoint(metrics, url)
    finally:
        core.metrics = previous
        server.shutdown()  # returns once serve_forever has (within its 0.5 s poll)
        server.server_close()
        thread.join()
