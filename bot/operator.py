"""The operator watch: finds incidents, and tells the operator once when each begins and once when it ends.

Every instance looks once a minute; the database keeps one open incident per kind and
subject, so the operator hears of each once however many instances look. The notices go
through the outbox like alerts (exactly once, paced, crash-safe) to ``[operator]
telegram_chat_id`` and ``discord_channel_id``; every incident is logged as well, so one
that stops the outbox itself is still seen.

What is an incident:

- a source whose every read has failed for ``source_down_hours``; ends at its next good read;
- a chat paused for a reason other than its people blocking or removing the bot (the bot
  lost its rights in a channel, a chat id that does not exist); ends when it is resumed or
  its data is deleted;
- an alert that has waited ``outbox_minutes`` to be sent (held ones count from when their
  digest or quiet hours released them); ends when none has;
- a platform's guard holding sends back before the platform bans the bot (Discord's
  invalid-request limit), per instance; ends when it lets them go, or the instance stops.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from bot.config import OperatorConfig
from bot.core import Core
from bot.events import Destination
from bot.incidents import IncidentKind
from storage import incidents
from storage.sources import list_states

logger = logging.getLogger(__name__)

LOOK_EVERY = timedelta(minutes=1)
OUTBOX, MANY_CHATS = "outbox", "chats"  # the subjects of the incidents that have one
TELL_EACH_UP_TO = 5  # chats newly paused in one look told one by one; more are told in one notice
EXAMPLES = 3  # chats a notice of many names

Alarm = Callable[[], dict[str, Any] | None]  # a platform's guard: its facts while it holds sends back, else None


@dataclass
class OperatorWatch:
    core: Core
    config: OperatorConfig
    platforms: frozenset[str]  # the platforms this instance sends on: notices go only where they can be sent
    alarms: Mapping[str, Alarm] = field(default_factory=dict)
    instance_id: str = ""
    sources: frozenset[str] | None = None  # the sources this instance's checker reads (None: any in the database)
    _told: list[str] = field(default_factory=list, init=False)  # what the look in progress opened and cleared

    def destinations(self) -> list[Destination]:
        """Return where the operator is told: the configured chats of the platforms this instance sends on."""
        chats = {"telegram": self.config.telegram_chat_id, "discord": self.config.discord_channel_id}
        return [Destination(p, str(chat)) for p, chat in chats.items() if chat is not None and p in self.platforms]

    def sound_alarms(self) -> dict[str, dict[str, Any] | None]:
        """Ask each platform's guard whether it held sends back; call it where the guard runs (the event loop)."""
        return {platform: alarm() for platform, alarm in self.alarms.items()}

    def look(self, alarms: Mapping[str, dict[str, Any] | None] | None = None) -> list[str]:
        """Open and clear incidents as things stand now; return a line for each, as logged.

        ``alarms`` are what :meth:`sound_alarms` returned (asked now when not given).
        """
        alarms = self.sound_alarms() if alarms is None else alarms
        now = self.core.clock()
        self._told = []
        with self.core.session(write=True) as session:
            session.connection()  # begin (on SQLite: take the write lock) before reading
            self._sources(session, now)
            self._destinations(session, now)
            self._outbox(session, now)
            self._alarms(session, now, alarms)
            session.commit()
        for line in self._told:
            logger.warning("operator: %s", line)
        return self._told

    def _open(
        self,
        session: Session,
        kind: IncidentKind,
        subject: str,
        facts: dict[str, Any],
        now: datetime,
        tell: bool = True,
    ) -> None:
        self._change(incidents.open_incident, "began", session, kind, subject, facts, now, tell)

    def _clear(
        self,
        session: Session,
        kind: IncidentKind,
        subject: str,
        facts: dict[str, Any],
        now: datetime,
        tell: bool = True,
    ) -> None:
        self._change(incidents.clear_incident, "ended", session, kind, subject, facts, now, tell)

    def _change(
        self,
        change: Callable[[Session, IncidentKind, str, dict[str, Any], datetime, Sequence[Destination]], int | None],
        verb: str,
        session: Session,
        kind: IncidentKind,
        subject: str,
        facts: dict[str, Any],
        now: datetime,
        tell: bool,
    ) -> None:
        """Open or clear an incident, telling the operator chats unless ``tell`` is off; note it for the log."""
        if change(session, kind, subject, facts, now, self.destinations() if tell else []) is not None:
            self._told.append(f"{kind.value} {verb}: {subject} {json.dumps(facts, default=str)}")

    def _sources(self, session: Session, now: datetime) -> None:
        down_since = now - timedelta(hours=self.config.source_down_hours)
        states = list_states(session)
        for state in states:
            if not state.failing_since or state.failing_since > down_since:
                continue
            if self.sources is not None and state.name not in self.sources:  # taken out of the configuration
                continue
            facts = {"since": state.failing_since, "failures": state.consecutive_failures, "error": state.last_error}
            self._open(session, IncidentKind.SOURCE_DOWN, state.name, facts, now)
        failing = {state.name for state in states if state.failing_since}
        for incident in incidents.open_incidents(session, IncidentKind.SOURCE_DOWN):
            if self.sources is not None and incident.subject not in self.sources:
                self._clear(session, IncidentKind.SOURCE_DOWN, incident.subject, {"dropped": True}, now)
            elif incident.subject not in failing:
                self._clear(session, IncidentKind.SOURCE_DOWN, incident.subject, {}, now)

    def _destinations(self, session: Session, now: datetime) -> None:
        """Tell each chat paused for the operator; many at once are told in one notice, not one each."""
        paused = incidents.paused_for_the_operator(session)
        one_by_one = len(paused) <= TELL_EACH_UP_TO
        for row in paused:
            facts = {"reason": row.paused_reason or "", "since": row.paused_at, "untold": not one_by_one}
            self._open(
                session, IncidentKind.DESTINATION_PAUSED, f"{row.platform}:{row.address}", facts, now, one_by_one
            )
        if not one_by_one:
            examples = [(f"{row.platform}:{row.address}", row.paused_reason or "") for row in paused[:EXAMPLES]]
            many = {"count": len(paused), "examples": examples, "since": paused[0].paused_at}
            self._open(session, IncidentKind.DESTINATIONS_PAUSED, MANY_CHATS, many, now)
        untold = 0
        for incident, still in incidents.pause_incidents(session):
            if still:
                untold += bool(incident.facts.get("untold"))
                continue
            ended, tell = {"deleted": still is None}, not incident.facts.get("untold")
            self._clear(session, IncidentKind.DESTINATION_PAUSED, incident.subject, ended, now, tell)
        if not untold:
            self._clear(session, IncidentKind.DESTINATIONS_PAUSED, MANY_CHATS, {}, now)

    def _outbox(self, session: Session, now: datetime) -> None:
        """Tell an alert waiting over the limit; its end once none has waited half as long (no begin-end-begin)."""
        waiting = incidents.waiting(session, now, self.platforms)
        limit = timedelta(minutes=self.config.outbox_minutes)
        waited = now - waiting.since if waiting.since is not None else timedelta(0)
        if waited >= limit:
            facts = {"since": waiting.since, "waiting": waiting.count, "error": waiting.error or ""}
            self._open(session, IncidentKind.OUTBOX_STALE, OUTBOX, facts, now)
        elif waited < limit / 2:
            ended = {"minutes": self.config.outbox_minutes / 2, "waiting": waiting.count}
            self._clear(session, IncidentKind.OUTBOX_STALE, OUTBOX, ended, now)

    def _alarms(self, session: Session, now: datetime, alarms: Mapping[str, dict[str, Any] | None]) -> None:
        for platform, facts in alarms.items():
            subject = f"{platform}/{self.instance_id}"
            if facts is not None:
                self._open(session, IncidentKind.INVALID_REQUESTS, subject, {"platform": platform, **facts}, now)
            else:
                self._clear(session, IncidentKind.INVALID_REQUESTS, subject, {}, now)
        live = incidents.live_instances(session) | {self.instance_id}
        for incident in incidents.open_incidents(session, IncidentKind.INVALID_REQUESTS):
            if incident.subject.partition("/")[2] not in live:  # its instance stopped: nothing holds sends back
                self._clear(session, IncidentKind.INVALID_REQUESTS, incident.subject, {"stopped": True}, now)
