"""The `recallbot` command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from contextlib import AsyncExitStack
from datetime import date
from pathlib import Path

from bot import i18n
from bot.app import open_core
from bot.checker import PassReport
from bot.commands import dispatch
from bot.config import Config, default_sources, load_config
from bot.delivery import Notifier
from bot.errors import RecallbotError, SourceError
from bot.events import Destination
from bot.logs import hide_secrets, setup_logging
from bot.platforms import chosen, command_names, discover, run_command
from bot.render import render_reply
from bot.runtime import build_source, http_client, make_checker, running
from bot.sources.base import HistorySource
from bot.sources.kinds import HISTORY_KINDS

logger = logging.getLogger("recallbot")
CLI = Destination("cli", "0")


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, help="TOML config file (default: $RECALLBOT_CONFIG, else none)")
    common.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    parser = argparse.ArgumentParser(prog="recallbot", description="Tells people when a product they own is recalled.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", parents=[common], help="run the bot (console mode when no token is configured)")
    commands.add_parser("console", parents=[common], help="chat with the bot in this terminal")
    check_cmd = commands.add_parser("check", parents=[common], help="check models or brands and print the answers")
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
    for name in command_names():  # tasks of installed platforms, loaded only when asked for
        commands.add_parser(name, help=f"{name} set-up tasks (recallbot {name} --help)", add_help=False)
    return parser


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2020-01-31") from None


def _backfill(config: Config, kind: str, since: date | None) -> int:
    from bot.backfill import backfill
    from bot.progress import progress_for

    entry = next((s for s in config.sources if s.kind == kind), None)
    if entry is None:  # not configured: the kind at its defaults
        entry = next((s for s in default_sources() if s.kind == kind), None)
    if entry is None or kind not in HISTORY_KINDS:
        raise RecallbotError(
            f"{kind!r} has no history to load; backfill works for {' and '.join(HISTORY_KINDS)} "
            "(the other sources' regular check already reads everything their feed offers)."
        )
    core = open_core(config)

    async def go() -> int:
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

    try:
        return asyncio.run(go())
    except KeyboardInterrupt:
        print("\nrecallbot: backfill interrupted; run the same command again to resume.", file=sys.stderr)
        return 130


def _check(config: Config, queries: list[str], as_json: bool, language: str | None = None) -> int:
    core = open_core(config)
    with i18n.language(i18n.language_of(language or os.environ.get("LANG"))):
        replies = [dispatch(core, CLI, f"/check {query}") for query in queries]
        if not as_json:
            print("\n\n".join(render_reply(reply) for reply in replies))
            return 0
    results = [
        reply.check.to_dict() if reply.check else {"query": query, "error": reply.text}
        for query, reply in zip(queries, replies, strict=True)
    ]
    json.dump(results if len(results) > 1 else results[0], sys.stdout, ensure_ascii=False, indent=2)
    print()
    return 0


async def _serve(config: Config) -> None:
    """Run until SIGINT or SIGTERM: front ends first, then the checker and delivery; the reverse on the way out."""
    core = open_core(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    platforms = chosen(discover(), config)
    if not platforms:
        raise RecallbotError("No chat platform is installed, not even the console; reinstall recallbot.")
    async with AsyncExitStack() as stack:
        notifiers: dict[str, Notifier] = {}
        for platform in platforms:
            notifiers[platform.name] = await stack.enter_async_context(platform.running(config, core, stop))
        await stack.enter_async_context(running(config, core, notifiers))
        await stop.wait()


def _run(config: Config) -> int:
    asyncio.run(_serve(config))
    return 0


async def _check_now(config: Config) -> PassReport:
    core = open_core(config)
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
    if argv and argv[0] in command_names():  # a platform's own tasks parse the rest themselves
        setup_logging(logging.WARNING)
        try:
            return run_command(argv[0], argv[1:])
        except RecallbotError as error:
            print(f"recallbot: {error}", file=sys.stderr)
            return 2
    args = _parser().parse_args(argv)
    setup_logging(logging.DEBUG if args.verbose else logging.INFO if args.command == "run" else logging.WARNING)
    try:
        config = load_config(args.config)
        hide_secrets([t for t in (config.telegram.token, config.discord.token) if t])
        if args.command == "check":
            return _check(config, args.queries, args.json, args.language)
        if args.command == "run":
            return _run(config)
        if args.command == "console":
            return _console(config)
        if args.command == "check-now":
            report = asyncio.run(_check_now(config))
            _print_report(report)
            return 1 if any(s.error for s in report.sources) else 0
        if args.command == "backfill":
            return _backfill(config, args.source, args.since)
        if args.command == "status":
            print(render_reply(dispatch(open_core(config), CLI, "/status")))
            return 0
    except RecallbotError as error:
        print(f"recallbot: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 1


def _console(config: Config) -> int:
    console = discover().get("console")
    chat = getattr(console, "chat", None)
    if chat is None:
        raise RecallbotError("The console platform is not installed; reinstall recallbot.")
    chat(open_core(config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
