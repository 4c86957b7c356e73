"""The service container every entry point, checker, worker and adapter holds: the database and a clock.

The core owns every state change. An adapter reports what its platform said (this chat
blocked us, this group moved, the commands were published) by calling a method here and
never writes storage itself, so each decision is made once for every platform.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property

from sqlalchemy import Engine
from sqlmodel import Session

from bot import i18n
from bot.events import Destination
from bot.matching import Vocabulary
from bot.metrics import NO_METRICS, Metrics
from bot.ratelimit import Admission, CommandLimiter
from storage import outbox, repo
from storage.db import writer
from storage.leader import Leadership

LIVE_READ_AT = "live_read_at"  # meta: when a pass last read at least one source
# How a channel's pause reason starts when its server removed the bot: such channels are
# deleted after a grace period (purge_removed_servers), unlike a blocked DM, which may come back.
REMOVED_FROM_SERVER = "the bot was removed from the server"


def utcnow() -> datetime:
    """Return the current time in UTC (the default clock)."""
    return datetime.now(UTC)


@dataclass
class Core:
    """What every command needs: the database, a clock and the command limit. Adapters hold one each."""

    engine: Engine
    clock: Callable[[], datetime] = utcnow
    limiter: CommandLimiter | None = None  # None: no command limit (tests, scripts)
    metrics: Metrics = NO_METRICS  # the running bot's, while its metrics endpoint serves (bot.exporter.serving)
    _vocabulary: Vocabulary | None = field(default=None, repr=False)
    _vocabulary_version: str | None = field(default=None, repr=False)

    def session(self, *, write: bool = False) -> Session:
        """Open a session; the caller commits. A session that will write says so (``write``)."""
        return Session(self._writer if write else self.engine, expire_on_commit=False)

    @cached_property
    def _writer(self) -> Engine:
        return writer(self.engine)  # made once: every settle and heartbeat opens a writer session

    def vocabulary(self, session: Session) -> Vocabulary:
        """Return the vocabulary, reloaded when the dataset changed, with when live data was last read."""
        meta = repo.meta_values(session, ["dataset_version", LIVE_READ_AT])
        version = meta.get("dataset_version")
        if self._vocabulary is None or version != self._vocabulary_version:
            self._vocabulary = Vocabulary.load(session)
            self._vocabulary_version = version
        self._vocabulary.live_read_at = meta.get(LIVE_READ_AT)
        return self._vocabulary

    # --- what adapters report -----------------------------------------------------

    def destination_gone(self, dest: Destination, reason: str, *, by_user: bool) -> None:
        """The platform says the bot can no longer post there (removed, kicked): pause its alerts.

        ``by_user``: the chat's people did it (no incident for the operator); False for anything else.
        """
        with self.session(write=True) as session:
            outbox.pause_destination(session, dest, reason, self.clock(), by_user=by_user)
            session.commit()

    def destination_back(self, dest: Destination) -> bool:
        """The bot may post there again (added back, a /start): resume its alerts; True if it was paused."""
        with self.session(write=True) as session:
            resumed = outbox.resume_destination(session, dest)
            session.commit()
        return resumed

    def language(self, dest: Destination, guess: str | None = None) -> str:
        """Return the language to answer a destination in: its choice, else the platform's guess, else English."""
        with self.session() as session:
            chosen = outbox.language_of(session, dest)
        return chosen or i18n.language_of(guess) or i18n.DEFAULT

    def choose_language(self, dest: Destination, language: str) -> None:
        """Remember a destination's language; alerts already queued are sent in it too."""
        with self.session(write=True) as session:
            outbox.set_language(session, dest, language)
            session.commit()

    def destination_moved(self, old: Destination, new_address: str) -> None:
        """The chat has a new address (a Telegram group became a supergroup): move what it follows there."""
        with self.session(write=True) as session:
            outbox.readdress(session, old, new_address)
            session.commit()

    def admit(self, dest: Destination) -> Admission:
        """Count a command a chat sent: answer it, say once that it sent too many, or ignore it."""
        return self.limiter.admit(dest) if self.limiter is not None else Admission.ANSWER

    def stored(self, dest: Destination) -> repo.StoredAbout:
        """Count what is stored about a chat: what /forget would delete."""
        with self.session() as session:
            return repo.stored_about(session, dest)

    def forget(self, dest: Destination) -> repo.StoredAbout:
        """Delete everything stored about a chat (its subscriptions, alerts, settings, pages); return what was."""
        with self.session(write=True) as session:
            deleted = repo.forget_destination(session, dest)
            session.commit()
        return deleted

    def purge_removed_servers(self, grace: timedelta) -> int:
        """Forget the channels of servers that removed the bot more than ``grace`` ago; return how many."""
        with self.session(write=True) as session:
            gone = repo.paused_before(session, REMOVED_FROM_SERVER, self.clock() - grace)
            for dest in gone:
                repo.forget_destination(session, dest)
            session.commit()
        return len(gone)

    def recalled(self, name: str) -> str | None:
        """Return a value an adapter asked the core to keep (a published commands digest, login times)."""
        with self.session() as session:
            return repo.get_meta(session, name)

    def remember(self, name: str, value: str) -> None:
        """Keep a small value for an adapter, shared by every instance on the database."""
        with self.session(write=True) as session:
            repo.set_meta(session, name, value)
            session.commit()

    def lock(self, name: str) -> Leadership:
        """Return the named lock that only one instance on the database holds at a time."""
        return Leadership(self.engine, name)
