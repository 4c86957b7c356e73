"""What the bot counts and times as it works: the seam the checker, the delivery worker and ``/check`` record through.

Each records through a :class:`Metrics` passed in. This base records nothing, so
``NO_METRICS`` is every default and code and tests run without metrics;
``bot.exporter.PrometheusMetrics`` records for the Prometheus endpoint of `recallbot run`
(``[metrics] port``). This module imports no metrics library: every other command starts
without one.

``/check`` is timed through the core's metrics (``Core.metrics``): a command's signature is
the same for every platform (core, destination, text), and ``bot.exporter.serving`` gives the
core its metrics while the endpoint serves.

The metrics, as the endpoint names them (counters end in ``_total``; a histogram adds
``_bucket``, ``_sum`` and ``_count``):

=====================================  ===================================================
recallbot_alerts_queued_total          alerts the checker queued, by platform
recallbot_alerts_sent_total            alerts the platform accepted, by platform
recallbot_alerts_failed_total          alerts that can never be sent (a permanent error, or
                                       too many attempts), by platform
recallbot_alerts_gone_total            alerts answered gone (blocked, kicked, chat deleted),
                                       by platform
recallbot_rate_limited_total           sends answered 429, by platform
recallbot_send_seconds                 time to send one message (an alert or a digest), by
                                       platform
recallbot_source_fetch_seconds         time to download one source's feed, by kind
recallbot_source_failures_total        source checks that failed, by kind
recallbot_check_seconds                time to look one /check up
recallbot_queue_depth                  alerts waiting to be sent, all instances (read at
                                       scrape time from the database)
recallbot_oldest_pending_seconds       age of the oldest alert due now and not sent, 0 when
                                       none (the same; held and backing-off ones excluded)
recallbot_instances_alive              instances whose delivery worker heartbeats (the same)
=====================================  ===================================================
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from sqlmodel import Session

AlertOutcome = Literal["sent", "failed", "gone"]


class Metrics:
    """What the bot records as it works. This base records nothing: the default everywhere."""

    def queued(self, session: Session, now: datetime) -> None:
        """Count the alerts a checker pass queued at ``now``, read in its transaction before it commits."""

    def alert(self, platform: str, outcome: AlertOutcome) -> None:
        """Count a delivery settled as sent, failed or gone."""

    def rate_limited(self, platform: str) -> None:
        """Count a send the platform answered 429."""

    def sending(self, platform: str) -> AbstractContextManager[object]:
        """Time one send to a platform."""
        return nullcontext()

    def fetching(self, source: str) -> AbstractContextManager[object]:
        """Time one download of a source (by its name; recorded by its kind)."""
        return nullcontext()

    def source_failed(self, source: str) -> None:
        """Count a source check that failed (by its name; recorded by its kind)."""

    def checking(self) -> AbstractContextManager[object]:
        """Time one /check lookup."""
        return nullcontext()


NO_METRICS = Metrics()
