"""What a command answers, as plain data every adapter renders for its platform."""

from __future__ import annotations

from dataclasses import dataclass

from bot.results import CheckResult, Match


@dataclass(frozen=True)
class Button:
    """An action offered under a reply; ``command`` is what pressing it runs."""

    label: str
    command: str


@dataclass(frozen=True)
class Reply:
    """What the bot answers: a text, events to show as cards, and buttons."""

    text: str
    matches: tuple[Match, ...] = ()
    notes_header: str | None = None
    notes: tuple[Match, ...] = ()
    footer: str | None = None
    buttons: tuple[Button, ...] = ()
    check: CheckResult | None = None
