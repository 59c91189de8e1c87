"""The command line: parses arguments and hands each command to the engine or the desktop app.

parser.py builds the arguments, run.py runs the engine (`run --headless`, `catch-up`), commands.py holds the others;
common.py what they share."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from agent.child_commands import DIALOG_COMMAND, WINDOW_COMMAND
from agent.cli.common import EXIT_ERROR, EXIT_USAGE, SET_UP_HINT, config_path, load_config_or_create, say
from agent.cli.parser import build_parser
from agent.errors import AgentError, ConfigError

__all__ = ["DIALOG_COMMAND", "WINDOW_COMMAND", "build_parser", "load_config_or_create", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    given = list(sys.argv[1:] if argv is None else argv)
    if given[:1] == [DIALOG_COMMAND]:  # the frozen app's own dialog child
        from agent.desktop import dialogs

        return dialogs.main(given[1:])
    if given[:1] == [WINDOW_COMMAND]:  # the frozen app's own window child
        from agent.desktop.windows import child

        return child.main(given[1:])
    if sys.stdout is None:  # a windowed build without a console: argparse's --version and --help must not crash
        sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "run" and args.drain and not args.headless:  # the tray runs until Quit: a drain that never ends
        parser.error("--drain needs --headless: `s3-sqs-agent run --headless --drain` handles what the queue holds, then "
                     "exits (the tray app runs until you quit it)")
    try:
        if args.command in ("run", "catch-up") and getattr(args, "headless", True):
            from agent.cli import run

            return run.run_headless(args) if args.command == "run" else run.catch_up(args)
        if args.command == "setup":
            from agent import cli_setup

            return cli_setup.run(config_path(args.config), args.endpoint_url, open_browser=not args.no_browser)
        from agent.cli import commands

        return commands.BY_NAME.get(args.command, commands.tray)(args)
    except ConfigError as exc:
        say(f"The config has {'an error' if len(exc.problems) == 1 else f'{len(exc.problems)} errors'}:\n{exc}")
        from agent import config as config_module

        if config_module.is_not_set_up(exc):
            say(SET_UP_HINT)
        return EXIT_USAGE
    except AgentError as exc:
        say(f"{exc.title}: {exc}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
