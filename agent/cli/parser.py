"""The command line's arguments: one function per command adds its parser, options and help."""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path
from typing import Any

from agent import dirs
from agent.api import APP_NAME
from agent.cli.common import DRAIN_TIMEOUT_SECONDS

Commands = Any
"""argparse's sub-parsers action (its class is private)."""


class _VersionAction(argparse.Action):
    """--version: prints the version, read from the package's metadata only then (not at every start)."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help="show the version and exit", **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any, option_string: str | None = None) -> None:
        from agent.api import __version__

        print(f"{APP_NAME} {__version__}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=APP_NAME,
        description="Downloads new S3 objects announced on an SQS queue into a local folder. "
                    "With no command, starts the tray app.",
    )
    parser.add_argument("--version", action=_VersionAction)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in COMMANDS:
        add(commands)
    return parser


def _add_run(commands: Commands) -> None:
    run = commands.add_parser("run", help="run the agent (the tray app, or --headless)",
                              description="Poll the queue and download new objects until stopped (Ctrl+C or SIGTERM).")
    run.add_argument("--headless", action="store_true", help="no tray icon: for servers, scripts and tests")
    run.add_argument("--config", type=Path, metavar="FILE", help=f"config file (default: {dirs.default_config_file()})")
    run.add_argument("--drain", action="store_true",
                     help="exit once the queue is empty; exit code 0 if every message was handled, 3 if any were given up, "
                          "1 if the agent was held up for --drain-timeout seconds or could not start")
    run.add_argument("--drain-timeout", type=_seconds, default=DRAIN_TIMEOUT_SECONDS, metavar="SECONDS",
                     help="with --drain: give up with exit code 1, saying why, once the agent has been held up this long: "
                          "the endpoint cannot be reached or does not answer, or a problem you must fix (credentials, access, "
                          f"a full disk) lasts. Messages not handled stay in the queue. Default: {DRAIN_TIMEOUT_SECONDS:g}; "
                          "0 waits as long as it takes")
    run.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="default: INFO")


def _add_tray(commands: Commands) -> None:
    tray = commands.add_parser("tray", help="run the tray app (the same as no command)",
                               description="Run the tray app: the agent with a system tray icon, notifications and live config.")
    tray.add_argument("--config", type=Path, metavar="FILE", help=f"config file (default: {dirs.default_config_file()})")


def _add_config(commands: Commands) -> None:
    config = commands.add_parser("config", help="show, check or locate the config file",
                                 description="Show, check or locate the config file.")
    config_commands = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    config_commands.add_parser("path", help="print where the config file is", description="Print where the config file is.")
    show = config_commands.add_parser("show", help="print the config with every default filled in",
                                      description="Print the config with every default filled in.")
    show.add_argument("file", nargs="?", type=Path, metavar="FILE")
    validate = config_commands.add_parser("validate", help="check a config file and report every problem",
                                          description="Check a config file; exit code 0 if it is valid, 2 if not.")
    validate.add_argument("file", nargs="?", type=Path, metavar="FILE")


def _add_catch_up(commands: Commands) -> None:
    catch_up = commands.add_parser(
        "catch-up", help="download what is in the bucket but missing here (after a long time away)",
        description="List the bucket (or a prefix), compare it with the ledger and the download folder, and download "
                    "what is missing through the same filters, plugins and safe path as notifications. Use it when the "
                    "agent was off longer than the queue keeps messages (4 days by default, 14 at most). "
                    "Exit code 0 if everything missing was downloaded, 3 if some objects failed.")
    catch_up.add_argument("--prefix", metavar="P", help="only keys starting with P, such as takes/2026/")
    catch_up.add_argument("--since", metavar="DATE", type=_parse_since,
                          help="only objects modified at or after DATE (2026-11-01, or 2026-11-01T08:00; local time unless a zone is given)")
    catch_up.add_argument("--config", type=Path, metavar="FILE", help=f"config file (default: {dirs.default_config_file()})")
    catch_up.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="default: INFO")


def _add_status(commands: Commands) -> None:
    status = commands.add_parser("status", help="what was downloaded recently, and what failed",
                                 description="Show recent downloads and failed messages from the ledger.")
    status.add_argument("--limit", type=int, default=10, help="how many recent files to list (default: 10)")


def _add_failed(commands: Commands) -> None:
    failed = commands.add_parser("failed", help="list or retry messages that were given up",
                                 description="Messages given up without a dead-letter queue are kept in the ledger.")
    failed_commands = failed.add_subparsers(dest="failed_command", metavar="ACTION", required=True)
    failed_commands.add_parser("list", help="list them", description="List messages kept in the ledger as failed.")
    retry = failed_commands.add_parser("retry", help="send them back to their queue",
                                       description="Send every failed message back to its queue for another try.")
    retry.add_argument("--config", type=Path, metavar="FILE", help="config file (for credentials and endpoint)")


def _add_diagnostics(commands: Commands) -> None:
    diagnostics = commands.add_parser(
        "diagnostics", help="make a zip for whoever helps you: version, platform, config, logs, ledger counts; secrets masked",
        description="Write a diagnostics bundle (a zip) with the version, the platform, the tray backend, the config file "
                    "with every key, secret, token and account number masked, the newest logs (masked too) and the "
                    "ledger's counts. The same as the tray's 'Create diagnostics bundle…'. Prints where it is.")
    diagnostics.add_argument("--output", type=Path, metavar="DIR",
                             help="where to write it (default: beside the download folder, in the folder that holds it)")
    diagnostics.add_argument("--config", type=Path, metavar="FILE", help=f"config file (default: {dirs.default_config_file()})")


def _add_setup(commands: Commands) -> None:
    setup = commands.add_parser(
        "setup", help="answer a few questions in the terminal and write the config (the setup window's questions)",
        description="Set the agent up from a terminal: choose an AWS profile (or the environment or instance role, or "
                    "add an access key, which goes into the shared credentials file, never into the agent's config), "
                    "sign in to IAM Identity Center when the profile needs it (no AWS CLI needed), give the queue "
                    "(its URL or ARN, or a number from the queues ListQueues shows), the bucket (optional, suggested "
                    "from the queue's policy) and the download folder (created if missing). The doctor's checks run, "
                    "then the config file is written, keeping its comments. Answers can be piped on stdin, one per "
                    "line; an empty line takes the suggested answer. Exit code 0 when saved and every check passed, "
                    "1 when a check failed, 2 when setup could not finish.")
    setup.add_argument("--config", type=Path, metavar="FILE", help=f"config file to write (default: {dirs.default_config_file()})")
    setup.add_argument("--endpoint-url", metavar="URL", type=_endpoint_url,
                       help="an S3- and SQS-compatible server instead of AWS (moto, LocalStack); written to endpoint_url")
    setup.add_argument("--no-browser", action="store_true",
                       help="print the IAM Identity Center sign-in address instead of opening a browser")


def _add_doctor(commands: Commands) -> None:
    doctor = commands.add_parser(
        "doctor", help="check the config, credentials, queue, bucket, folder and clock, and say how to fix what fails",
        description="Check everything the agent depends on and print one line per check: passed or failed, and for a "
                    "failure the fix (with the IAM policy statement to send to an administrator when a permission is "
                    "missing). Nothing is changed: no message is received while the queue holds any, none is deleted or "
                    "left behind. Exit code 0 if every check passed, 1 if any failed, 2 for a config or usage error.")
    doctor.add_argument("--config", type=Path, metavar="FILE", help=f"config file (default: {dirs.default_config_file()})")


def _add_connect(commands: Commands) -> None:
    connect = commands.add_parser(
        "connect", help="create this computer's queue in AWS and wire the bucket to it (several workstations)",
        description="Create what this workstation needs in AWS and point the config at it. --mode own-copy (the "
                    "default): this computer gets its own queue, with a dead-letter queue, subscribed to the bucket's "
                    "SNS topic (or fed by an EventBridge rule with --via eventbridge), so every workstation gets every "
                    "file. --mode share: one queue for the bucket, reused by every workstation that connects in this "
                    "mode; each file lands on one of them. The bucket's existing notification configuration is read, "
                    "added to and written back, never replaced. The plan is shown first and confirmed (or --yes); "
                    "running it twice creates nothing new. Exit code 0 when connected (or --dry-run), 1 otherwise.")
    connect.add_argument("--bucket", required=True, metavar="BUCKET", help="the bucket files are uploaded to")
    connect.add_argument("--prefix", default="", metavar="P", help="only keys starting with P, such as takes/")
    connect.add_argument("--suffix", action="extend", nargs="+", default=[], metavar="SUFFIX",
                         help="only keys ending with these, such as --suffix .wav .flac (written to the config's include)")
    connect.add_argument("--mode", default="own-copy", choices=["own-copy", "share"], metavar="own-copy|share",
                         help="own-copy: every workstation gets every file (default); share: the workstations share the work")
    connect.add_argument("--via", default="sns", choices=["sns", "eventbridge"], metavar="sns|eventbridge",
                         help="how events reach the queue: the bucket's SNS topic (default) or an EventBridge rule")
    connect.add_argument("--queue-name", metavar="NAME",
                         help="the queue's name (default: s3-sqs-agent-<hostname>, or s3-sqs-agent-<bucket>-shared with --mode share)")
    connect.add_argument("--profile", metavar="P", help="the AWS profile that makes the changes (default: the config's aws_profile)")
    connect.add_argument("--region", metavar="R", help="the bucket's region (default: found from the bucket)")
    connect.add_argument("--endpoint-url", metavar="URL", type=_endpoint_url,
                         help="an S3, SQS and SNS compatible endpoint instead of AWS (also written to the config)")
    connect.add_argument("--config", type=Path, metavar="FILE", help=f"config file to write (default: {dirs.default_config_file()})")
    connect.add_argument("--dry-run", action="store_true", help="print the plan and change nothing")
    connect.add_argument("--yes", action="store_true", help="apply the plan without asking")


def _add_disconnect(commands: Commands) -> None:
    disconnect = commands.add_parser(
        "disconnect", help="remove what connect created for this computer",
        description="Remove what connect created for the queue the config names: its subscription or EventBridge rule, "
                    "the queue and its dead-letter queue, then empty sqs_queue_url in the config. The topic and the "
                    "bucket's wiring stay while other subscriptions use them; a shared queue stays while other "
                    "workstations are connected to it. Nothing is removed while the queue still holds messages. "
                    "Exit code 0 when disconnected (or --dry-run), 1 otherwise.")
    disconnect.add_argument("--config", type=Path, metavar="FILE", help=f"config file (default: {dirs.default_config_file()})")
    disconnect.add_argument("--dry-run", action="store_true", help="print the plan and change nothing")
    disconnect.add_argument("--yes", action="store_true", help="apply the plan without asking")


def _add_autostart(commands: Commands) -> None:
    autostart = commands.add_parser("autostart", help="start the tray app at login, or not",
                                    description="Turn starting the tray app at login on or off for this user, or show "
                                                "what is set up (the same as the tray's 'Start at login').")
    autostart.add_argument("autostart_command", choices=["enable", "disable", "status"], metavar="ACTION",
                           help="enable, disable or status")


COMMANDS = (_add_run, _add_tray, _add_config, _add_catch_up, _add_status, _add_failed, _add_diagnostics, _add_setup, _add_doctor,
            _add_connect, _add_disconnect, _add_autostart)
"""Each command's parser, in the order --help lists them."""


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of seconds, 0 or more, such as 120, got {text!r}")
    return seconds


def _endpoint_url(text: str) -> str:
    from agent.config import SCALARS

    try:
        url = SCALARS["endpoint_url"](text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if url is None:  # an empty value: the config's "no endpoint", which is what leaving the option out means
        raise argparse.ArgumentTypeError("expected an http:// or https:// URL such as http://127.0.0.1:5000, got an empty "
                                         "value; leave --endpoint-url out to use AWS")
    return str(url)


def _parse_since(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date such as 2026-11-01 or 2026-11-01T08:00, got {text!r}") from None
    return moment if moment.tzinfo else moment.astimezone()


