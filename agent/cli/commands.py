"""The command line's other commands: config, status, failed, diagnostics, autostart, doctor, connect and
disconnect, and the tray."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from agent import dirs
from agent.api import APP_NAME
from agent.cli.common import EXIT_ERROR, EXIT_OK, EXIT_USAGE, config_path, say
from agent.errors import AgentError, ConfigError
from agent.hidden_chars import escape_hidden

if TYPE_CHECKING:
    from agent.config import Config


def tray(args: argparse.Namespace) -> int:
    try:
        from agent.desktop import app
    except ImportError as exc:
        say(f"The tray app is not available ({exc}). Run without a tray: {APP_NAME} run --headless")
        return EXIT_ERROR
    return app.main(getattr(args, "config", None))


def config(args: argparse.Namespace) -> int:
    from agent import config as config_module

    if args.config_command == "path":
        print(dirs.default_config_file())
        return EXIT_OK
    target = config_path(args.file)
    loaded = config_module.load(target)
    if args.config_command == "validate":
        from agent.plugins.manager import PluginHost

        PluginHost(loaded)  # plugin names and options are part of a valid config
        print(f"{target}: valid")
        return EXIT_OK
    import dataclasses

    import yaml

    data = dataclasses.asdict(loaded)
    data.pop("source", None)
    data["download_folder"] = str(loaded.download_folder)
    data["include"], data["exclude"] = list(loaded.include), list(loaded.exclude)
    data["plugins"] = [{"name": p.name, "options": p.options} for p in loaded.plugins]
    print(f"# {target}")
    print(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), end="")
    return EXIT_OK


def status(args: argparse.Namespace) -> int:
    from datetime import datetime

    from agent.engine import pause as pause_state
    from agent.engine.ledger import Ledger

    ledger = Ledger(dirs.ledger_file())
    recent = ledger.recent(args.limit)
    failures = ledger.pending_failures()
    pause = pause_state.load(ledger)
    if pause is None:
        print("Paused: no")
    elif pause.until is None:
        print("Paused: yes, until you resume it (tray menu: Resume)")
    else:
        print(f"Paused: until {pause_state.until_text(pause.until)} ({pause.until:%Y-%m-%d %H:%M %Z}); it resumes by itself")
    print(f"Recent files ({len(recent)}):")
    for record in recent:
        print(f"  {datetime.fromtimestamp(record.downloaded_at):%Y-%m-%d %H:%M:%S}  {escape_hidden(str(record.path))}")
    print(f"Failed messages kept in the ledger: {len(failures)}")
    for failure in failures[:20]:
        print(f"  {failure.message_id}  {escape_hidden(failure.key or '-')}  {escape_hidden(failure.reason)}")
    return EXIT_OK


def failed(args: argparse.Namespace) -> int:
    from agent.engine.ledger import Ledger

    ledger = Ledger(dirs.ledger_file())
    if args.failed_command == "list":
        failures = ledger.pending_failures()
        for failure in failures:
            print(f"{failure.id}\t{failure.message_id}\t{escape_hidden(failure.key or '-')}\t{escape_hidden(failure.reason)}")
        print(f"{len(failures)} failed messages", file=sys.stderr)
        return EXIT_OK
    from agent import config as config_module
    from agent.engine.engine import Engine
    from agent.plugins.manager import PluginHost

    engine = Engine(config_module.load(config_path(args.config)), ledger, hooks=PluginHost)
    count = engine.retry_failed()
    print(f"Sent {count} messages back to their queue")
    return EXIT_OK


def diagnostics(args: argparse.Namespace) -> int:
    from agent import diagnostics

    if args.output is not None and not args.output.is_dir():
        say(f"{args.output} is not a folder; name an existing folder with --output.")
        return EXIT_USAGE
    path = diagnostics.create(config_path(args.config), folder=args.output)
    print(path)
    say("Keys, secrets, tokens and account numbers in it are masked; look inside before you send it.")
    return EXIT_OK


def autostart(args: argparse.Namespace) -> int:
    from agent.desktop import autostart

    entry = autostart.for_platform()
    if args.autostart_command == "enable":
        entry.enable()
    elif args.autostart_command == "disable":
        entry.disable()
    state = entry.status()
    if sys.stdout is not None:
        print(state.describe())
    return EXIT_OK


def doctor(args: argparse.Namespace) -> int:
    from agent import config as config_module
    from agent.aws import doctor
    from agent.plugins.manager import PluginHost

    target = config_path(args.config)
    try:
        loaded = config_module.load(target)
        PluginHost(loaded)  # plugin names and options are part of a valid config
    except ConfigError as exc:
        missing = not target.exists()
        print(doctor.format_check(doctor.Check(
            doctor.CONFIG, False, f"{target} does not exist." if missing else
            f"{target} has {'an error' if len(exc.problems) == 1 else f'{len(exc.problems)} errors'}:\n        " +
            "\n        ".join(str(p) for p in exc.problems),
            f"Run {APP_NAME} setup to write it." if missing else
            f"Fix what is listed above ({APP_NAME} config validate checks the file again), or run {APP_NAME} setup.")), flush=True)
        return EXIT_USAGE
    width = doctor.terminal_width()
    checks = doctor.run_checks(loaded, on_result=lambda check: print(doctor.format_check(check, width), flush=True),
                               sample_key=_last_downloaded_key(loaded))
    print(doctor.summary(checks))
    return EXIT_ERROR if any(check.passed is False for check in checks) else EXIT_OK


def _last_downloaded_key(config: Config) -> str | None:
    """A key of the config's bucket that this computer downloaded: proves s3:GetObject without listing the bucket."""
    from agent.engine.ledger import Ledger

    path = dirs.ledger_file()
    if not config.s3_bucket_name or not path.exists():
        return None
    try:
        ledger = Ledger(path)
    except AgentError:
        return None
    try:
        return next((r.key for r in ledger.recent(50) if r.bucket == config.s3_bucket_name), None)
    finally:
        ledger.close()


def connect(args: argparse.Namespace) -> int:
    """connect and disconnect: plan, show, confirm, apply."""
    from agent.aws import connect

    say("Reading what exists in AWS…")
    if args.command == "connect":
        request = connect.ConnectRequest(
            bucket=args.bucket, prefix=args.prefix, suffixes=tuple(args.suffix), mode=args.mode, via=args.via,
            queue_name=args.queue_name, profile=args.profile, region=args.region, endpoint_url=args.endpoint_url,
            config_path=args.config)
        plan = connect.plan_connect(request)
    else:
        plan = connect.plan_disconnect(args.config)
    import shutil

    print(plan.text(min(shutil.get_terminal_size().columns, 110) if sys.stdout is not None and sys.stdout.isatty() else None))
    if plan.problems:
        print("\nNothing was changed.")
        return EXIT_ERROR
    if not plan.changes:
        print(f"\nNothing to change: this computer is {'connected' if args.command == 'connect' else 'disconnected'} already.")
        return EXIT_OK
    if args.dry_run:
        print("\nDry run: nothing was changed. Run again without --dry-run to apply the plan.")
        return EXIT_OK
    if not args.yes and not _confirm("\nApply this plan? [y/N] "):
        print("Nothing was changed." + ("" if sys.stdin is not None and sys.stdin.isatty() else " (Pass --yes to apply without being asked.)"))
        return EXIT_ERROR
    print()
    try:
        applied = connect.apply(plan, on_step=lambda step: print(f"  done    {step.what} {step.name}", flush=True))
    except AgentError as exc:
        say(f"{exc.title}: {exc}\nWhat is marked done above stays done: once this is fixed, run the same command again "
             "and it carries on from here.")
        return EXIT_ERROR
    if args.command == "connect":
        print(f"\nConnected: the agent now downloads from {applied.queue_url}.")
    else:
        print("\nDisconnected. Run s3-sqs-agent connect, or set sqs_queue_url, to download again.")
    return EXIT_OK


def _confirm(question: str) -> bool:
    print(question, end="", flush=True)
    try:
        answer = sys.stdin.readline() if sys.stdin is not None else ""
    except (OSError, ValueError):
        answer = ""
    if not sys.stdin or not sys.stdin.isatty():
        print(answer.strip())
    return answer.strip().lower() in ("y", "yes")


BY_NAME: dict[str, Callable[[argparse.Namespace], int]] = {
    "tray": tray, "config": config, "status": status, "failed": failed, "diagnostics": diagnostics, "autostart": autostart,
    "doctor": doctor, "connect": connect, "disconnect": connect,
}
"""Each of these commands' function; no command at all runs the tray."""
