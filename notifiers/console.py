"""Console adapter: the same commands as the chat platforms, in a terminal."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType
from typing import TextIO

from bot import i18n
from bot.commands import dispatch
from bot.config import Config
from bot.core import Core
from bot.delivery import Limits, Outcome
from bot.events import Destination
from bot.incidents import Notice, Outgoing
from bot.render import notice_text, render_alert, render_reply

logger = logging.getLogger("recallbot")
CONSOLE = Destination("console", "0")
BANNER = (
    "recallbot console. Type a command, e.g. /check PAC20-272 or /help; "
    "a line without a slash is checked as a model. Ctrl-D quits."
)
PROMPT = "> "
HISTORY_LENGTH = 1000  # lines of the console's history kept between runs


def history_file() -> Path:
    """Return the file the console's history is kept in, in the user's data directory (made if missing)."""
    from platformdirs import user_data_path

    return user_data_path("recallbot", ensure_exists=True) / "console_history"


def typed_lines(stdin: TextIO, stdout: TextIO) -> Iterator[str]:
    """Yield the lines typed until end of input, each with its newline.

    At a terminal each is read after a "> " prompt, with line editing and the history of
    earlier runs (the stdlib readline); from a pipe or a file they are read as they come.
    """
    interactive = stdin.isatty()
    if interactive and stdin is sys.stdin:  # input() edits lines only on the process's own terminal
        yield from _edited_lines()
        return
    while True:
        if interactive:
            print(PROMPT, end="", file=stdout, flush=True)
        line = stdin.readline()
        if not line:
            return
        yield line


def _edited_lines() -> Iterator[str]:
    readline = _line_editing()
    while True:
        try:
            line = input(PROMPT)
        except EOFError:
            print()  # Ctrl-D leaves the cursor after the prompt
            return
        if readline is not None and line.strip():
            # Saved at every line, not at the end: the bot may be stopped (SIGTERM) while input() waits.
            _save_history(readline)
        yield line + "\n"


def _line_editing() -> ModuleType | None:
    """Load readline, so that input() edits lines, with the history of earlier runs; None where there is none."""
    try:
        import readline
    except ImportError:  # Windows: input() reads lines without editing
        return None
    readline.set_history_length(HISTORY_LENGTH)
    path = history_file()
    if path.exists():
        try:
            readline.read_history_file(path)
        except OSError as error:
            logger.warning("could not read the console history %s: %s", path, error)
    return readline


def _save_history(readline: ModuleType) -> None:
    path = history_file()
    try:
        readline.write_history_file(path)
    except OSError as error:
        logger.warning("could not save the console history %s: %s", path, error)


def handle_line(core: Core, line: str) -> str | None:
    """Answer one line typed at the console; None for a blank line."""
    line = line.strip()
    if not line:
        return None
    if not line.startswith("/"):
        line = f"/check {line}"
    # The terminal's language (LANG=zh_CN.UTF-8) until /language chooses one.
    with i18n.language(core.language(CONSOLE, os.environ.get("LANG"))):
        return render_reply(dispatch(core, CONSOLE, line))


def run_console(core: Core, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> None:
    """Read commands until end of input, printing each reply."""
    print(BANNER, file=stdout, flush=True)
    for line in typed_lines(stdin, stdout):
        answer = handle_line(core, line)
        if answer:
            print(answer + "\n", file=stdout, flush=True)


class ConsoleNotifier:
    """Prints alerts in the terminal: console mode shows the whole flow without a platform."""

    platform = "console"
    limits = Limits(per_second=50.0, per_chat_per_second=50.0, per_group_per_minute=3000.0, concurrency=1)

    def __init__(self, stdout: TextIO = sys.stdout) -> None:
        self._stdout = stdout

    def is_group(self, address: str) -> bool:
        return False

    async def send(self, alert: Outgoing) -> Outcome:
        text = notice_text(alert) if isinstance(alert, Notice) else render_alert(alert)
        print(f"\n*** {text}\n", file=self._stdout, flush=True)
        return Outcome.sent()


def _read_lines(
    lines: Iterator[str], loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[str | None], answered: threading.Event
) -> None:
    for line in lines:
        answered.clear()
        loop.call_soon_threadsafe(queue.put_nowait, line)
        answered.wait()  # the next prompt comes after the answer, not in the middle of it
    loop.call_soon_threadsafe(queue.put_nowait, None)


async def serve_console(
    core: Core, stop: asyncio.Event, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout
) -> None:
    """Answer commands typed in the terminal until ``stop`` is set.

    Ctrl-D at a terminal stops the bot; when input is a pipe or a file, its end
    only ends the commands and the bot keeps checking and alerting.
    """
    print(BANNER, file=stdout, flush=True)
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    answered = threading.Event()
    lines = typed_lines(stdin, stdout)
    # A daemon thread, not to_thread: a blocked readline must not hold up shut-down.
    threading.Thread(target=_read_lines, args=(lines, asyncio.get_running_loop(), queue, answered), daemon=True).start()
    while not stop.is_set():
        line = await queue.get()
        if line is None:
            if stdin.isatty():
                stop.set()
            return
        try:
            answer = await asyncio.to_thread(handle_line, core, line)
            if answer:
                print(answer + "\n", file=stdout, flush=True)
        finally:
            answered.set()


class ConsolePlatform:
    """The terminal as a recallbot platform (entry point ``console``): the fallback when no chat platform is set."""

    name = "console"
    fallback = True

    def configured(self, config: Config) -> bool:
        return False  # never asked for by configuration: it runs when nothing else is configured

    @asynccontextmanager
    async def running(self, config: Config, core: Core, stop: asyncio.Event) -> AsyncIterator[ConsoleNotifier]:
        """Answer commands typed in the terminal and print alerts, until the block exits."""
        logger.info("no Telegram or Discord token configured: console mode")
        task = asyncio.create_task(serve_console(core, stop), name="console")
        try:
            yield ConsoleNotifier()
        finally:
            task.cancel()

    def chat(self, core: Core) -> None:
        """Answer commands typed in the terminal until end of input (`recallbot console`)."""
        run_console(core)


def platform() -> ConsolePlatform:
    """Return the console platform (the ``recallbot.platforms`` entry point)."""
    return ConsolePlatform()
