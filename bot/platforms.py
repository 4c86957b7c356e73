"""Chat platforms are plugins, found by name among the installed packages' entry points.

As APScheduler 3 names its triggers and job stores, each platform package names a factory
under the entry-point group ``recallbot.platforms`` (``telegram = "notifiers.telegram_bot:
platform"``); the core loads the ones installed and runs those whose configuration is
there. A third platform (Matrix, Slack, email) is then a package of its own, not a patch
of the core, and nothing in ``bot/`` names an adapter module.

A platform may also add command-line tasks under ``recallbot.commands`` (``discord =
"notifiers.discord_lifecycle:cli"``): `recallbot discord sync-commands` hands its
arguments to that function, loaded only when it is asked for.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # `recallbot --help` lists the command groups without loading the core (bot/cli.py)
    import asyncio
    from contextlib import AbstractAsyncContextManager

    from bot.config import Config
    from bot.core import Core
    from bot.delivery import Notifier

logger = logging.getLogger(__name__)

COMMANDS = "recallbot.commands"


class Platform(Protocol):
    """A chat platform: whether it is configured, and how to run its front end and alert notifier."""

    name: str
    fallback: bool  # run when no other platform is configured (the console)

    def configured(self, config: Config) -> bool:
        """Tell whether the configuration asks for this platform (a token is set, a section is there)."""
        ...

    def running(self, config: Config, core: Core, stop: asyncio.Event) -> AbstractAsyncContextManager[Notifier]:
        """Run the front end until the block exits; yield the notifier alerts go through.

        ``stop`` is the bot's stop event, for a front end that ends the run itself (the console).

        :raises StartupError: the platform refused the bot (a bad token, unreachable); one sentence.
        """
        ...


def _load(group: str) -> dict[str, EntryPoint]:
    return {entry.name: entry for entry in entry_points(group=group)}


def discover() -> dict[str, Platform]:
    """Load every installed platform; one that fails to load is logged and left out."""
    from bot.config import PLATFORM_GROUP

    found: dict[str, Platform] = {}
    for name, entry in sorted(_load(PLATFORM_GROUP).items()):
        try:
            factory: Callable[[], Platform] = entry.load()
            found[name] = factory()
        except Exception as error:  # a broken third-party plugin must not stop the others
            logger.warning("platform plugin %r (%s) could not be loaded: %s", name, entry.value, error)
    return found


def chosen(platforms: Mapping[str, Platform], config: Config) -> list[Platform]:
    """Return the platforms to run: every configured one, else the fallback (the console)."""
    configured = [p for p in platforms.values() if not p.fallback and p.configured(config)]
    return configured or [p for p in platforms.values() if p.fallback][:1]


def command_names() -> list[str]:
    """Return the command-line task groups the installed platforms add, without importing them."""
    return sorted(_load(COMMANDS))


def run_command(name: str, argv: Sequence[str]) -> int:
    """Run a platform's command-line task group with the rest of the command line; return its status."""
    task: Callable[[Sequence[str]], int] = _load(COMMANDS)[name].load()
    return task(argv)
