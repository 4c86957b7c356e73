"""The `recallbot` command line."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from bot.app import open_core
from bot.commands import dispatch
from bot.config import Config, load_config
from bot.errors import RecallbotError
from bot.render import render_reply
from storage.repo import Destination

logger = logging.getLogger("recallbot")
CLI = Destination("cli", 0)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="recallbot", description="Tells people when a product they own is recalled.")
    parser.add_argument("--config", type=Path, help="TOML config file (default: $RECALLBOT_CONFIG, else none)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="run the bot (console mode when no token is configured)")
    commands.add_parser("console", help="chat with the bot in this terminal")
    check_cmd = commands.add_parser("check", help="check one or more models or brands and print the answer")
    check_cmd.add_argument("queries", nargs="+", metavar="MODEL")
    check_cmd.add_argument("--json", action="store_true", help="print JSON for scripts")
    return parser


def _check(config: Config, queries: list[str], as_json: bool) -> int:
    core = open_core(config)
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


def _run(config: Config) -> int:
    from notifiers.console import run_console

    if config.telegram.token or config.discord.token:
        raise RecallbotError(
            "Telegram and Discord front ends are not built yet; unset the tokens to run in console mode."
        )
    core = open_core(config)
    logger.info("no Telegram or Discord token configured: console mode")
    run_console(core)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        config = load_config(args.config)
        if args.command == "check":
            return _check(config, args.queries, args.json)
        if args.command in ("run", "console"):
            return _run(config) if args.command == "run" else _console(config)
    except RecallbotError as error:
        print(f"recallbot: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 1


def _console(config: Config) -> int:
    from notifiers.console import run_console

    run_console(open_core(config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
