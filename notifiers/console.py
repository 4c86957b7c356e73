"""Console adapter: the same commands as the chat platforms, in a terminal."""

from __future__ import annotations

import sys
from typing import TextIO

from bot.commands import Core, dispatch
from bot.render import render_reply
from storage.repo import Destination

CONSOLE = Destination("console", 0)
BANNER = (
    "recallbot console. Type a command, e.g. /check PAC20-272 or /help; "
    "a line without a slash is checked as a model. Ctrl-D quits."
)


def handle_line(core: Core, line: str) -> str | None:
    """Answer one line typed at the console; None for a blank line."""
    line = line.strip()
    if not line:
        return None
    if not line.startswith("/"):
        line = f"/check {line}"
    return render_reply(dispatch(core, CONSOLE, line))


def run_console(core: Core, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> None:
    """Read commands until end of input, printing each reply."""
    interactive = stdin.isatty()
    print(BANNER, file=stdout)
    while True:
        if interactive:
            print("> ", end="", file=stdout, flush=True)
        line = stdin.readline()
        if not line:
            return
        answer = handle_line(core, line)
        if answer:
            print(answer + "\n", file=stdout, flush=True)
