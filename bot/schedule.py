"""When a chat wants its alerts: as they come, in a daily digest, and not during its quiet hours.

Times are the chat's wall-clock hours in its IANA time zone (``zoneinfo``), so a digest at
9:00 in Berlin is sent at 8:00 UTC in winter and 7:00 UTC in summer. A serious hazard (fire,
burns, electric shock, choking, death, or a notice the source marks serious) is never held,
unless the chat asked for a digest of everything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.events import Event

INSTANT, DIGEST, DIGEST_ALL = "instant", "digest", "digest_all"

# Words of the hazards an owner must hear about at once, as CPSC, Health Canada, the EU and
# the ACCC write them ("fire and burn hazards", "electric shock", "choking", "death").
_SERIOUS = re.compile(
    r"\b(fires?|burns?|burning|electrocut\w*|electric(?:al)? shock|shock hazard|chok\w*|suffocat\w*|"
    r"strangulat\w*|deaths?|fatal\w*|explo\w*)\b|火灾|起火|烧伤|触电|窒息|死亡|爆炸",
    re.IGNORECASE,
)


def is_serious(event: Event) -> bool:
    """Tell whether an event's hazard is one that is never held back (or its source marks it serious)."""
    if "serious" in event.extra.get("risk_level", "").lower():  # EU Safety Gate "Serious risk"
        return True
    if event.extra.get("classification", "").replace(" ", "").lower() == "classi":  # openFDA class I
        return True
    text = " ".join(t for t in (event.hazard, event.title, event.reason) if t)
    return bool(_SERIOUS.search(text))


def zone(name: str) -> ZoneInfo | None:
    """Return the IANA time zone of that name ("Asia/Shanghai"), or None if there is none."""
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        return None


def next_local(now: datetime, hour: int, tz: ZoneInfo) -> datetime:
    """Return the first moment after ``now`` that is ``hour``:00 on the wall clock of ``tz``, in UTC.

    Built from the local date, not by adding 24 hours: across a DST change the day is 23
    or 25 hours long, and the digest must still come at the chosen hour.
    """
    local = now.astimezone(tz)
    candidate = datetime.combine(local.date(), time(hour), tzinfo=tz)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), time(hour), tzinfo=tz)
    return candidate.astimezone(now.tzinfo)


@dataclass(frozen=True)
class Schedule:
    """A chat's delivery settings."""

    mode: str = INSTANT
    digest_hour: int = 9
    time_zone: str = "UTC"
    quiet_from: int | None = None  # quiet hours start at this local hour ...
    quiet_to: int | None = None  # ... and end at this one (22 to 7 spans midnight)

    @property
    def tz(self) -> ZoneInfo:
        return zone(self.time_zone) or ZoneInfo("UTC")

    def quiet(self, now: datetime) -> bool:
        """Tell whether ``now`` falls in the chat's quiet hours."""
        if self.quiet_from is None or self.quiet_to is None or self.quiet_from == self.quiet_to:
            return False
        hour = now.astimezone(self.tz).hour
        if self.quiet_from < self.quiet_to:
            return self.quiet_from <= hour < self.quiet_to
        return hour >= self.quiet_from or hour < self.quiet_to

    def hold(self, event: Event, now: datetime) -> tuple[datetime, bool] | None:
        """Return (when to send, whether in the digest) for an alert that must wait, or None to send now."""
        if self.mode == DIGEST_ALL:
            return next_local(now, self.digest_hour, self.tz), True
        # The hazard is read only when the chat's settings would hold the alert (most chats: never).
        if self.mode == DIGEST and not is_serious(event):
            return next_local(now, self.digest_hour, self.tz), True
        if self.mode == INSTANT and self.quiet(now) and self.quiet_to is not None and not is_serious(event):
            return next_local(now, self.quiet_to, self.tz), False
        return None
