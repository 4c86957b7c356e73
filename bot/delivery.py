"""Sending queued alerts: the Notifier seam, pacing under platform limits, and the worker.

A delivery is settled in one of four ways, each with a consequence:

sent         recorded, never sent again
retry later  rate limited: back in the queue after the platform's retry-after (that chat
             only); transient: exponential backoff with a cap, and failed after MAX_ATTEMPTS
gone         blocked, kicked, chat deleted: counted; after PAUSE_AFTER in a row the
             destination is paused with the reason (subscriptions kept)
failed       permanent for this message: the row keeps the error and is not retried
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from sqlmodel import Session

from bot import i18n
from bot.core import Core
from bot.events import Alert, Destination
from bot.incidents import Notice, Outgoing
from bot.metrics import NO_METRICS, Metrics
from bot.pacing import Limits, Pacer
from storage import outbox
from storage.outbox import Claim

logger = logging.getLogger(__name__)


MAX_ATTEMPTS = 12
PAUSE_AFTER = 3
BACKOFF_BASE = 5.0
BACKOFF_CAP = 3600.0


class OutcomeKind(enum.StrEnum):
    SENT = "sent"
    RETRY = "retry"  # rate limited (retry_after set) or transient
    GONE = "gone"
    FAILED = "failed"


@dataclass(frozen=True)
class Outcome:
    kind: OutcomeKind
    error: str | None = None
    retry_after: float | None = None  # seconds, when the platform said how long to wait
    new_address: str | None = None  # the chat moved (a group became a supergroup): send there
    global_limit: bool = False  # the 429 was for the bot as a whole, not this chat: slow every send down
    by_user: bool = False  # gone because the chat's people blocked or removed the bot: not the operator's trouble

    @classmethod
    def sent(cls) -> Outcome:
        return cls(OutcomeKind.SENT)


class Notifier(Protocol):
    """Sends alerts to one platform."""

    platform: str
    limits: Limits

    def is_group(self, address: str) -> bool:
        """Tell whether a chat is a group (groups have a per-minute limit)."""
        ...

    async def send(self, alert: Outgoing) -> Outcome:
        """Send one alert or operator notice, worded in the current language (the worker sets the chat's).

        Classify the answer.

        Never raises for a platform error.
        """
        ...


def _releasing(gate: asyncio.Semaphore) -> Callable[[asyncio.Task[None]], None]:
    """Return a done callback that releases ``gate`` (bound now, not to the loop variable)."""

    def release(_: asyncio.Task[None]) -> None:
        gate.release()

    return release


def digest_of(unit: list[Claim]) -> Alert:
    """Return the one message that carries a chat's digest: each event once, with its reasons.

    Its id is the lowest delivery id in it, so a digest sent again after a crash has the
    same id (Discord drops the repeat by its nonce).
    """
    carried = [claim.alert for claim in unit if isinstance(claim.alert, Alert)]  # a notice is never held for one
    alerts = sorted(carried, key=lambda a: (a.event.date or date.min, a.id), reverse=True)
    first = min(alerts, key=lambda a: a.id)
    return dataclasses.replace(first, reasons=(), changes=(), is_update=False, bundle=tuple(alerts))


def backoff(attempts: int) -> float:
    """Return the wait before retry number ``attempts`` of a transient failure."""
    return min(BACKOFF_CAP, BACKOFF_BASE * 2.0 ** max(0, attempts - 1))


class DeliveryWorker:
    """Claims due deliveries, sends them through the notifiers, and settles each one."""

    def __init__(
        self,
        core: Core,
        notifiers: Mapping[str, Notifier],
        *,
        batch: int = 100,
        lease: timedelta = timedelta(seconds=60),
        idle_poll: float = 1.0,
        heartbeat_every: timedelta = timedelta(seconds=1),
        pacing_clock: Callable[[], float] | None = None,
        metrics: Metrics = NO_METRICS,
    ) -> None:
        self.core = core
        self.metrics = metrics
        self.notifiers = dict(notifiers)
        self.batch = batch
        self.lease = lease
        self.idle_poll = idle_poll
        # Pacing runs on the monotonic clock (or a test's ``pacing_clock``), never the core's wall
        # clock: a wall clock stepped back an hour must not stall sending for an hour.
        self._pacers = {
            name: Pacer(n.limits, clock=pacing_clock, throttles=getattr(n, "throttles", None))
            for name, n in self.notifiers.items()
        }
        for name, n in self.notifiers.items():
            # A platform whose other sends (command answers) count against the same limit
            # paces them with this pacer, so one rate is learnt for all of them.
            if share := getattr(n, "share_pacer", None):
                share(self._pacers[name])
        self._wake = asyncio.Event()
        self._unsettled: list[tuple[Pacer, Claim, Outcome, bool, asyncio.Future[None]]] = []
        self._settling = asyncio.Lock()
        self.instance_id = uuid.uuid4().hex
        self.heartbeat_every = heartbeat_every
        # Every instance runs this code, so all agree on when a silent claimer is dead.
        self.dead_after = max(outbox.CLAIMER_DEAD_AFTER, heartbeat_every * 5)
        self._last_heartbeat: datetime | None = None

    def wake(self) -> None:
        """Look for due deliveries now (new alerts were queued)."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set."""
        try:
            await self._run(stop)
        finally:
            await asyncio.to_thread(self.forget)

    async def _run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                handled = await self.drain_once()
            except Exception:
                logger.exception("delivery pass failed; retrying shortly")
                handled = 0
            if handled == 0:
                self._wake.clear()
                waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
                await asyncio.wait(waiters, timeout=self.idle_poll, return_when=asyncio.FIRST_COMPLETED)
                for waiter in waiters:
                    waiter.cancel()

    async def drain(self) -> int:
        """Deliver everything due now; return how many deliveries were settled."""
        total = 0
        while handled := await self.drain_once():
            total += handled
        return total

    def heartbeat(self) -> int:
        """Tell the database this instance is alive; split the budgets among the live ones."""
        now = self.core.clock()
        with self.core.session(write=True) as session:
            # Forgetting an instance frees its claims: never sooner than it is presumed dead.
            stale_after = max(self.dead_after, outbox.INSTANCE_FORGOTTEN_AFTER)
            live = outbox.heartbeat(session, self.instance_id, now, stale_after=stale_after)
            session.commit()
        self._last_heartbeat = now
        for pacer in self._pacers.values():
            pacer.share = max(1, live)
        return live

    def forget(self) -> None:
        """Leave the instance table (at shut-down), so the others take the whole budget."""
        with self.core.session(write=True) as session:
            outbox.forget_instance(session, self.instance_id)
            session.commit()

    async def drain_once(self) -> int:
        """Claim one batch and settle it, keeping its claims alive meanwhile; return how many were handled."""
        now = self.core.clock()
        if self._heartbeat_due(now):
            await asyncio.to_thread(self.heartbeat)
        claims = await asyncio.to_thread(self._claim, now)
        if not claims:
            return 0
        keepalive = asyncio.create_task(self._keep_alive([claim.id for claim in claims]), name="delivery-keepalive")
        try:
            await self._send_batch(claims)
        finally:
            keepalive.cancel()
        return len(claims)

    def _heartbeat_due(self, now: datetime) -> bool:
        return self._last_heartbeat is None or now - self._last_heartbeat >= self.heartbeat_every

    async def _keep_alive(self, ids: list[int]) -> None:
        """Heartbeat and renew the batch's leases while it is sent, so a live worker keeps its claims.

        Others take a claim over once its lease ends or its owner's heartbeat is older than
        ``dead_after``; a batch can outlast both (a flood wait, a slow platform).
        """
        tick = min(self.heartbeat_every, self.lease / 3).total_seconds()
        renewed_at = self.core.clock()
        while True:
            await asyncio.sleep(tick)
            now = self.core.clock()
            try:
                if self._heartbeat_due(now):
                    await asyncio.to_thread(self.heartbeat)
                if now - renewed_at >= self.lease / 3:
                    await asyncio.to_thread(self._renew, ids, now)
                    renewed_at = now
            except Exception:  # the database may be back at the next tick; the lease has slack
                logger.exception("could not renew the claims of instance %s; retrying", self.instance_id)

    def _presumed_dead(self) -> bool:
        """Tell whether this instance's last heartbeat is so old that others may take its claims.

        One beat short of ``dead_after``, so that a claim taken over is not sent by both; the
        sends already in flight when an instance stalls are the only ones that can repeat.
        """
        last = self._last_heartbeat
        return last is not None and self.core.clock() - last >= self.dead_after - self.heartbeat_every

    def _renew(self, ids: list[int], now: datetime) -> None:
        with self.core.session(write=True) as session:
            outbox.renew_claims(session, self.instance_id, ids, now, self.lease)
            session.commit()

    async def _send_batch(self, claims: list[Claim]) -> None:
        """Send a batch under the platforms' limits; each send is settled as it ends."""
        in_flight: set[asyncio.Task[None]] = set()
        gates = {name: asyncio.Semaphore(n.limits.concurrency) for name, n in self.notifiers.items()}
        for unit in await asyncio.to_thread(self._by_schedule, claims):
            claim = unit[0]
            platform = claim.destination.platform
            pacer, notifier = self._pacers[platform], self.notifiers[platform]
            wait = pacer.chat_wait(claim.destination.address)
            if wait > 0.05:  # a busy or flood-waiting chat goes back in the queue: it must not hold up others
                at = self.core.clock() + timedelta(seconds=wait)
                await asyncio.to_thread(self._put_back, unit, at, outbox.PACED)
                continue
            await gates[platform].acquire()
            await pacer.acquire(claim.destination.address, notifier.is_group(claim.destination.address))
            task = asyncio.create_task(self._send(notifier, pacer, unit))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
            task.add_done_callback(_releasing(gates[platform]))
        if in_flight:
            await asyncio.gather(*in_flight)
        for pacer in self._pacers.values():
            pacer.forget_idle()

    def batch_size(self) -> int:
        """Claim at most about 10 seconds of sending, so a batch ends well within its lease."""
        rates = [pacer.per_second for pacer in self._pacers.values()]  # the learnt rates, split among instances
        return max(1, min(self.batch, int(min(rates) * 10))) if rates else self.batch

    def _by_schedule(self, claims: list[Claim]) -> list[list[Claim]]:
        """Hold back what a chat's digest or quiet hours make wait, and return what to send now.

        Each unit is one message: a single alert, or a digest of every alert of one chat that
        waited for its digest (those not in this batch are claimed with it).
        """
        now = self.core.clock()
        singles: list[list[Claim]] = []
        digests: dict[Destination, list[Claim]] = {}
        held: list[tuple[Claim, datetime, bool]] = []
        for claim in claims:
            if isinstance(claim.alert, Notice):  # the operator hears of trouble at once
                singles.append([claim])
            elif claim.digest:
                digests.setdefault(claim.destination, []).append(claim)
            elif waits := claim.schedule.hold(claim.alert.event, now):
                held.append((claim, *waits))
            else:
                singles.append([claim])
        if not held and not digests:
            return singles
        with self.core.session(write=True) as session:
            for claim, until, in_digest in held:
                outbox.hold(session, claim, until, in_digest)
            for dest, group in digests.items():
                group += outbox.claim_digest(session, dest, now, self.lease, self.instance_id, self.dead_after)
            session.commit()
        return singles + list(digests.values())

    def _claim(self, now: datetime) -> list[Claim]:
        with self.core.session(write=True) as session:
            claims = outbox.claim_due(
                session,
                list(self.notifiers),
                now,
                self.batch_size(),
                self.lease,
                owner=self.instance_id,
                dead_after=self.dead_after,
            )
            session.commit()
        return claims

    def _put_back(self, unit: list[Claim], at: datetime, why: str) -> None:
        """Return a message's deliveries to the queue unsent and uncounted until ``at``, in one transaction."""
        with self.core.session(write=True) as session:
            for claim in unit:
                outbox.mark_retry(session, claim, at, why, count_attempt=False)
            session.commit()

    async def _send(self, notifier: Notifier, pacer: Pacer, unit: list[Claim]) -> None:
        """Send one message (an alert, or a chat's digest) and settle every delivery it carries."""
        if self._presumed_dead():
            # Others may have taken these claims over and sent them: put them back rather than send them again.
            await asyncio.to_thread(self._put_back, unit, self.core.clock(), outbox.HEARTBEAT_LAPSED)
            return
        alert = unit[0].alert if len(unit) == 1 and not unit[0].digest else digest_of(unit)
        try:
            # Worded in the chat's language now, not when the alert was queued.
            with self.metrics.sending(notifier.platform), i18n.language(alert.language):
                outcome = await notifier.send(alert)
        except Exception as error:  # a notifier bug must not lose the alert
            logger.exception("notifier %s raised on delivery %s", notifier.platform, alert.id)
            outcome = Outcome(OutcomeKind.RETRY, error=f"{type(error).__name__}: {error}")
        if outcome.retry_after is not None:  # counted per send: a digest's deliveries share one answer
            self.metrics.rate_limited(notifier.platform)
        # What the answer says of the chat (gone, moved, rate limited) is recorded once, with the first delivery:
        # a digest of five answered "gone" once is one "gone", not five.
        await asyncio.gather(*(self._settle_outcome(pacer, claim, outcome, n > 0) for n, claim in enumerate(unit)))

    async def _settle_outcome(self, pacer: Pacer, claim: Claim, outcome: Outcome, carried: bool = False) -> None:
        """Record an outcome before the send counts as done.

        Outcomes that arrive while another settle is being written are written together
        in the next transaction: one commit for many sends, and still nothing sent is
        left unrecorded beyond the sends in flight.
        """
        done = asyncio.get_running_loop().create_future()
        self._unsettled.append((pacer, claim, outcome, carried, done))
        async with self._settling:
            if not done.done():
                batch, self._unsettled = self._unsettled, []
                try:
                    await asyncio.to_thread(self._record_many, [item[:4] for item in batch])
                except Exception as error:
                    for *_, future in batch:
                        future.set_exception(error)
                else:
                    for *_, future in batch:
                        future.set_result(None)
        await done

    def _record_many(self, batch: list[tuple[Pacer, Claim, Outcome, bool]]) -> None:
        """Settle several deliveries in one transaction (a group commit)."""
        now = self.core.clock()
        with self.core.session(write=True) as session:
            for pacer, claim, outcome, carried in batch:
                self._record(session, pacer, claim, outcome, now, carried)
            session.commit()

    def _record(
        self, session: Session, pacer: Pacer, claim: Claim, outcome: Outcome, now: datetime, carried: bool = False
    ) -> None:
        """Settle one delivery. ``carried``: it rode in a message whose first delivery records what the answer
        says of the chat (gone, moved, its rate limit); this one is only put back or settled."""
        error = outcome.error or outcome.kind.value
        if outcome.kind is OutcomeKind.SENT:
            outbox.mark_sent(session, claim, now)
            self.metrics.alert(claim.destination.platform, "sent")
        elif outcome.kind is OutcomeKind.FAILED:
            self.metrics.alert(claim.destination.platform, "failed")
            if outbox.mark_failed(session, claim, error):  # a claim taken over was logged by the outbox
                logger.warning("delivery %s failed for good: %s", claim.id, error)
        elif outcome.new_address is not None:
            if not carried:  # the first moved every pending delivery of the chat, this one too
                outbox.readdress(session, claim.destination, outcome.new_address)
            outbox.mark_retry(session, claim, now, error, count_attempt=False)
        elif outcome.kind is OutcomeKind.GONE:
            self.metrics.alert(claim.destination.platform, "gone")
            # A carried one follows the first: gone with the chat if it paused it (the retry then finds it settled).
            paused = not carried and outbox.record_gone(
                session, claim.destination, error, now, PAUSE_AFTER, by_user=outcome.by_user
            )
            if not paused:
                outbox.mark_retry(session, claim, now + timedelta(seconds=backoff(claim.attempts + 1)), error)
            if not carried:
                logger.info(
                    "destination %s answered gone (%s)%s", claim.destination, error, "; paused" if paused else ""
                )
        elif outcome.retry_after is not None:
            if not carried:
                pacer.limited(claim.destination.address, outcome.retry_after, bot_wide=outcome.global_limit)
            at = now + timedelta(seconds=outcome.retry_after)
            outbox.mark_retry(session, claim, at, error, count_attempt=False)
        elif claim.attempts + 1 >= MAX_ATTEMPTS:
            self.metrics.alert(claim.destination.platform, "failed")
            outbox.mark_failed(session, claim, f"gave up after {claim.attempts + 1} attempts: {error}")
        else:
            wait = backoff(claim.attempts + 1)
            if outbox.mark_retry(session, claim, now + timedelta(seconds=wait), error):
                # One line per retried send: the platform's own loggers are kept quiet (notifiers).
                where = f"{claim.destination.platform}:{claim.destination.address}"
                logger.warning(
                    "delivery %s to %s: %s; retry %d in %.0f s", claim.id, where, error, claim.attempts + 1, wait
                )
