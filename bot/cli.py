"""The `recallbot` command line.

The modules a command needs are imported in the function that runs it, not here: `recallbot
--help` and `--version` then load no database, web or chat library, and `recallbot check` no
scheduler or chat platform (bench/cli_startup.py times them).
"""

from __future__ import annotations

import argparse
import atexit
import gc
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from bot.errors import RecallbotError, SourceError
from bot.logs import RedactingFormatter, hide_secrets, setup_logging, use_format
from bot.platforms import command_names, run_command

if TYPE_CHECKING:
    from bot.checker import PassReport
    from bot.config import Config
    from bot.core import Core
    from bot.replies import Reply
    from bot.results import CheckResult

logger = logging.getLogger("recallbot")

# Commands that answer and end: they start up as fast as they can (_collecting_rarely).
ONE_SHOT = ("check", "status")
# As grep's: something was found, nothing was, the input could not be checked.
FOUND, NOT_FOUND, BAD_INPUT = 0, 1, 2
SIGPIPE_STATUS = 141  # what a shell reports for a command whose reader closed the pipe (128 + SIGPIPE)
EPILOG = """\
exit status of check: 0 when a query matched something (a recall, a possible match, a
suspended supplier, or recalls of the brand named), 1 when none did, 2 when a query could
not be checked (empty, too long) or recallbot could not start (configuration, database).
With several queries: 0 if any matched, else 2 if any could not be checked, else 1.
Other commands exit 0 on success and 2 when they cannot start; check-now exits 1 when a
source failed.
"""


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("recallbot")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


def _parser(platform_commands: Sequence[str]) -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, help="TOML config file (default: $RECALLBOT_CONFIG, else none)")
    common.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    parser = argparse.ArgumentParser(
        prog="recallbot",
        description="Tells people when a product they own is recalled.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"recallbot {_version()}")
    commands = parser.add_subparsers(dest="command", required=True)
    run_cmd = commands.add_parser(
        "run", parents=[common], help="run the bot (console mode when no token is configured)"
    )
    run_cmd.add_argument(
        "--log-file",
        type=Path,
        metavar="PATH",
        help="write log lines to PATH (appended), not stderr: in console mode they then stay out of the conversation",
    )
    commands.add_parser("console", parents=[common], help="chat with the bot in this terminal")
    check_cmd = commands.add_parser(
        "check",
        parents=[common],
        help="check models or brands and print the answers (exit status: 0 found, 1 not found, 2 error)",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check_cmd.add_argument("queries", nargs="+", metavar="MODEL")
    check_cmd.add_argument("--json", action="store_true", help="print JSON for scripts")
    check_cmd.add_argument(
        "--language", metavar="LANG", help="answer in en or zh (default: from the LANG environment variable, else en)"
    )
    commands.add_parser("check-now", parents=[common], help="check every source once and print what changed")
    commands.add_parser("status", parents=[common], help="show source health, last and next check, alerts waiting")
    backfill_cmd = commands.add_parser(
        "backfill", parents=[common], help="load a source's whole history once (never alerts; resumable)"
    )
    backfill_cmd.add_argument("source", metavar="SOURCE", help="cpsc or eu_safety_gate")
    backfill_cmd.add_argument("--since", type=_day, metavar="YYYY-MM-DD", help="only records from this date on")
    for name in platform_commands:  # tasks of installed platforms, loaded only when asked for
        commands.add_parser(name, help=f"{name} set-up tasks (recallbot {name} --help)", add_help=False)
    return parser


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2020-01-31") from None


def _backfill(config: Config, kind: str, since: date | None) -> int:
    import asyncio

    from bot.app import opened_core
    from bot.backfill import backfill
    from bot.config import default_sources
    from bot.progress import progress_for
    from bot.runtime import build_source, http_client
    from bot.sources.base import HistorySource
    from bot.sources.kinds import HISTORY_KINDS

    entry = next((s for s in config.sources if s.kind == kind), None)
    if entry is None:  # not configured: the kind at its defaults
        entry = next((s for s in default_sources() if s.kind == kind), None)
    if entry is None or kind not in HISTORY_KINDS:
        raise RecallbotError(
            f"{kind!r} has no history to load; backfill works for {' and '.join(HISTORY_KINDS)} "
            "(the other sources' regular check already reads everything their feed offers)."
        )

    async def go(core: Core) -> int:
        async with http_client() as client:
            source = build_source(entry, config, client)
            if not isinstance(source, HistorySource):  # HISTORY_KINDS lists only kinds that are
                raise RecallbotError(f"{kind!r} has no history to load.")
            with progress_for(source.name, sys.stderr) as progress:
                try:
                    report = await backfill(core, source, since, progress)
                except SourceError as error:
                    print(f"recallbot: {source.name}: {error}. Run the same command again to resume.", file=sys.stderr)
                    return 1
        resumed = f" (resumed after {report.resumed_after})" if report.resumed_after else ""
        print(
            f"{source.name}: history loaded{resumed}: {report.new} new, {report.updated} updated, "
            f"{report.unchanged} unchanged, {len(report.problems)} skipped; no alerts sent."
        )
        return 0

    with opened_core(config) as core:
        try:
            return asyncio.run(go(core))
        except KeyboardInterrupt:
            print("\nrecallbot: backfill interrupted; run the same command again to resume.", file=sys.stderr)
            return 130


def _check(config: Config, queries: list[str], as_json: bool, language: str | None = None) -> int:
    import json

    from bot import i18n
    from bot.app import opened_core
    from bot.commands import dispatch
    from bot.events import Destination
    from bot.render import render_reply

    with opened_core(config) as core, i18n.language(i18n.language_of(language or os.environ.get("LANG"))):
        replies = [dispatch(core, Destination("cli", "0"), f"/check {query}") for query in queries]
        if not as_json:
            print("\n\n".join(render_reply(reply) for reply in replies))
            return _check_status(replies)
    results = [
        reply.check.to_dict() if reply.check else {"query": query, "error": reply.text}
        for query, reply in zip(queries, replies, strict=True)
    ]
    json.dump(results if len(results) > 1 else results[0], sys.stdout, ensure_ascii=False, indent=2)
    print()
    return _check_status(replies)


def _check_status(replies: Sequence[Reply]) -> int:
    """Return the exit status of `recallbot check`, as grep's: found if any query found something."""
    if any(reply.check is not None and _found(reply.check) for reply in replies):
        return FOUND
    if any(reply.check is None for reply in replies):  # the query was refused (empty, too long): the text says why
        return BAD_INPUT
    return NOT_FOUND


def _found(result: CheckResult) -> bool:
    """Tell whether an answer names something to act on: a recall, a possible match, a suspension, a brand's recalls."""
    from bot.results import Verdict

    if result.verdict in (Verdict.RECALLED, Verdict.POSSIBLE, Verdict.SUPPLIER):
        return True
    return result.verdict is Verdict.BRAND and bool(result.matches)


async def _serve(config: Config) -> None:
    """Run until SIGINT or SIGTERM: front ends first, then the checker and delivery; the reverse on the way out."""
    import asyncio
    import signal
    from contextlib import AsyncExitStack

    from bot.app import opened_core
    from bot.delivery import Notifier
    from bot.exporter import serving
    from bot.platforms import chosen, discover
    from bot.runtime import running

    async with AsyncExitStack() as stack:
        core = stack.enter_context(opened_core(config))  # the database: open first, closed last
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        platforms = chosen(discover(), config)
        if not platforms:
            raise RecallbotError("No chat platform is installed, not even the console; reinstall recallbot.")
        endpoint = stack.enter_context(serving(config, core))  # metrics and /health: up first, down last
        notifiers: dict[str, Notifier] = {}
        for platform in platforms:
            notifiers[platform.name] = await stack.enter_async_context(platform.running(config, core, stop))
        await stack.enter_async_context(running(config, core, notifiers, endpoint.metrics))
        await stop.wait()


def _run(config: Config) -> int:
    import asyncio

    asyncio.run(_serve(config))
    return 0


def _log_to_file(path: Path) -> None:
    """Write log lines to ``path`` instead of stderr, so that they do not cut into the console's conversation."""
    try:
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError as error:
        raise RecallbotError(
            f"Cannot write the log file {str(path)!r} ({error.strerror}); give --log-file a file you can write."
        ) from None
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    handler.setFormatter(RedactingFormatter())
    root.addHandler(handler)


async def _check_now(config: Config) -> PassReport:
    from bot.app import opened_core
    from bot.runtime import http_client, make_checker

    with opened_core(config) as core:
        async with http_client() as client:
            return await make_checker(config, core, client).run_pass()


def _print_report(report: PassReport) -> None:
    if not report.sources:
        print(
            "No sources configured: [checker] default_sources is off and there is no [[sources]] "
            "(the bundled dataset is loaded at start-up)."
        )
    for source in report.sources:
        if source.error:
            until = (
                f"; backing off until {source.backing_off_until:%Y-%m-%d %H:%M UTC}" if source.backing_off_until else ""
            )
            print(f"{source.name}: FAILED: {source.error}{until}")
            continue
        if source.not_due_until:
            print(f"{source.name}: read recently; not due before {source.not_due_until:%Y-%m-%d %H:%M UTC}")
            continue
        baseline = " (first pass: baseline, no alerts)" if source.baseline else ""
        print(
            f"{source.name}: {source.new} new, {source.updated} updated, {source.unchanged} unchanged, "
            f"{len(source.problems)} skipped, {source.alerts_queued} alerts queued{baseline}"
        )
        for problem in source.problems:
            print(f"  skipped {problem}")
    print(
        f"total: {report.total('new')} new, {report.total('updated')} updated, {report.total('unchanged')} unchanged, "
        f"{report.skipped} skipped, {report.total('alerts_queued')} alerts queued"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    platform_commands = command_names()
    if argv and argv[0] in platform_commands:  # a platform's own tasks parse the rest themselves
        setup_logging(logging.WARNING)
        try:
            return run_command(argv[0], argv[1:])
        except RecallbotError as error:
            print(f"recallbot: {error}", file=sys.stderr)
            return 2
    args = _parser(platform_commands).parse_args(argv)
    setup_logging(logging.DEBUG if args.verbose else logging.INFO if args.command == "run" else logging.WARNING)
    _exit_without_collecting()
    with _collecting_rarely() if args.command in ONE_SHOT else nullcontext():
        return _command(args)


def _command(args: argparse.Namespace) -> int:
    """Run one of recallbot's own commands; return the exit status."""
    try:
        if getattr(args, "log_file", None):
            _log_to_file(args.log_file)
        from bot.config import load_config

        config = load_config(args.config)
        use_format(config.logging.format)
        hide_secrets([t for t in (config.telegram.token, config.discord.token) if t])
        _warn_of_a_database_left_here(config)
        if args.command == "check":
            return _check(config, args.queries, args.json, args.language)
        if args.command == "run":
            return _run(config)
        if args.command == "console":
            return _console(config)
        if args.command == "check-now":
            import asyncio

            report = asyncio.run(_check_now(config))
            _print_report(report)
            return 1 if any(s.error for s in report.sources) else 0
        if args.command == "backfill":
            return _backfill(config, args.source, args.since)
        if args.command == "status":
            return _status(config)
    except RecallbotError as error:
        print(f"recallbot: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `recallbot check X | head -1`: the reader has what it wanted
        # Python ignores SIGPIPE, so the closed pipe arrives as this error; end as a program killed by SIGPIPE
        # does (128 + 13), and send what is still buffered to /dev/null, or its flush at exit fails once more.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return SIGPIPE_STATUS
    return 1


@contextmanager
def _collecting_rarely() -> Iterator[None]:
    """Run the block with the garbage collector's first threshold raised, as mypy does for its builds."""
    # Starting up makes some 90,000 objects that live to the end (modules, SQLAlchemy's and pydantic's classes, the
    # vocabulary); at the default threshold (700) the collector walks them again and again, about 80 ms of a
    # check. The garbage a check makes is freed by reference counting; cycles wait for the next collection.
    thresholds = gc.get_threshold()
    gc.set_threshold(200_000, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


def _exit_without_collecting() -> None:
    """Freeze the garbage collector's objects when the interpreter exits, so that it does not look through them."""
    # At exit the collector walks every object of SQLAlchemy, pydantic and the vocabulary, several times as the
    # modules are torn down: about 200 ms, a quarter of `recallbot check`. Frozen objects are not walked; only
    # reference cycles among them go unfreed, and the process is ending. Every command closes its database
    # connections itself (bot.app.opened_core), so none is left to a finalizer.
    atexit.unregister(gc.freeze)  # once, however often main runs in one process
    atexit.register(gc.freeze)


def _warn_of_a_database_left_here(config: Config) -> None:
    """Say so when the working directory holds the database of a recallbot older than the data directory default."""
    from bot.config import StorageConfig

    here = Path("recallbot.db")
    if here.is_file() and config.storage.url == StorageConfig().url:
        logger.warning(
            "%s is not used: the database is now %s. To keep the chats and subscriptions it holds, move it there "
            'or set [storage] url = "sqlite:///%s" (or RECALLBOT_STORAGE__URL).',
            here.resolve(),
            config.storage.url.removeprefix("sqlite:///"),
            here.resolve().as_posix(),
        )


def _status(config: Config) -> int:
    from bot.app import opened_core
    from bot.commands import dispatch
    from bot.events import Destination
    from bot.render import render_reply

    with opened_core(config) as core:
        print(render_reply(dispatch(core, Destination("cli", "0"), "/status")))
    return 0


def _console(config: Config) -> int:
    from bot.app import opened_core
    from bot.platforms import discover

    console = discover().get("console")
    chat = getattr(console, "chat", None)
    if chat is None:
        raise RecallbotError("The console platform is not installed; reinstall recallbot.")
    with opened_core(config) as core:
        chat(core)
    return 0


if __name__ == "__main__":
    sys.exit(main())
