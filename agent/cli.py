"""The command line: parses arguments and hands each command to the engine or the desktop app."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent import dirs
from agent.api import APP_NAME
from agent.desktop.windows.host import WINDOW_COMMAND
from agent.errors import AgentError, ConfigError

if TYPE_CHECKING:
    from agent.config import Config
    from agent.engine.engine import Engine

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_GAVE_UP = 3
DRAIN_TIMEOUT_SECONDS = 120.0
"""`run --drain` gives up after being held up this long (no answer from the queue, or a problem that lasts)."""
DIALOG_COMMAND = "_dialog"
"""Hidden: `s3-sqs-agent _dialog ...` runs a native dialog (agent.desktop.dialogs) in a frozen build."""

log = logging.getLogger("agent")
SET_UP_HINT = (f"Run '{APP_NAME} setup' to answer a few questions (account, queue, folder) and check them, "
               "or fill in sqs_queue_url and download_folder yourself, then run again.")


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

    tray = commands.add_parser("tray", help="run the tray app (the same as no command)",
                               description="Run the tray app: the agent with a system tray icon, notifications and live config.")
    tray.add_argument("--config", type=Path, metavar="FILE", help=f"config file (default: {dirs.default_config_file()})")

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

    status = commands.add_parser("status", help="what was downloaded recently, and what failed",
                                 description="Show recent downloads and failed messages from the ledger.")
    status.add_argument("--limit", type=int, default=10, help="how many recent files to list (default: 10)")

    failed = commands.add_parser("failed", help="list or retry messages that were given up",
                                 description="Messages given up without a dead-letter queue are kept in the ledger.")
    failed_commands = failed.add_subparsers(dest="failed_command", metavar="ACTION", required=True)
    failed_commands.add_parser("list", help="list them", description="List messages kept in the ledger as failed.")
    retry = failed_commands.add_parser("retry", help="send them back to their queue",
                                       description="Send every failed message back to its queue for another try.")
    retry.add_argument("--config", type=Path, metavar="FILE", help="config file (for credentials and endpoint)")

    diagnostics = commands.add_parser(
        "diagnostics", help="make a zip for whoever helps you: version, platform, config, logs, ledger counts; secrets masked",
        description="Write a diagnostics bundle (a zip) with the version, the platform, the tray backend, the config file "
                    "with every key, secret, token and account number masked, the newest logs (masked too) and the "
                    "ledger's counts. The same as the tray's 'Create diagnostics bundle…'. Prints where it is.")
    diagnostics.add_argument("--output", type=Path, metavar="DIR",
                             help="where to write it (default: beside the download folder, in the folder that holds it)")
    diagnostics.add_argument("--config", type=Path, metavar="FILE", help=f"config file (default: {dirs.default_config_file()})")
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

    doctor = commands.add_parser(
        "doctor", help="check the config, credentials, queue, bucket, folder and clock, and say how to fix what fails",
        description="Check everything the agent depends on and print one line per check: passed or failed, and for a "
                    "failure the fix (with the IAM policy statement to send to an administrator when a permission is "
                    "missing). Nothing is changed: no message is received while the queue holds any, none is deleted or "
                    "left behind. Exit code 0 if every check passed, 1 if any failed, 2 for a config or usage error.")
    doctor.add_argument("--config", type=Path, metavar="FILE", help=f"config file (default: {dirs.default_config_file()})")

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

    autostart = commands.add_parser("autostart", help="start the tray app at login, or not",
                                    description="Turn starting the tray app at login on or off for this user, or show "
                                                "what is set up (the same as the tray's 'Start at login').")
    autostart.add_argument("autostart_command", choices=["enable", "disable", "status"], metavar="ACTION",
                           help="enable, disable or status")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    if list(sys.argv[1:] if argv is None else argv)[:1] == [DIALOG_COMMAND]:  # the frozen app's own dialog child
        from agent.desktop import dialogs

        return dialogs.main(list(sys.argv[2:] if argv is None else argv[1:]))
    if list(sys.argv[1:] if argv is None else argv)[:1] == [WINDOW_COMMAND]:  # the frozen app's own window child
        from agent.desktop.windows import child

        return child.main(list(sys.argv[2:] if argv is None else argv[1:]))
    if sys.stdout is None:  # a windowed build without a console: argparse's --version and --help must not crash
        sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            if not args.headless:
                if args.drain:  # the tray runs until Quit: a drain that never ends
                    parser.error("--drain needs --headless: `s3-sqs-agent run --headless --drain` handles what the queue "
                                 "holds, then exits (the tray app runs until you quit it)")
                return _tray(args)
            return _run_headless(args)
        if args.command == "config":
            return _config(args)
        if args.command == "catch-up":
            return _catch_up(args)
        if args.command == "status":
            return _status(args)
        if args.command == "failed":
            return _failed(args)
        if args.command == "autostart":
            return _autostart(args)
        if args.command == "diagnostics":
            return _diagnostics(args)
        if args.command == "doctor":
            return _doctor(args)
        if args.command == "setup":
            from agent import cli_setup

            return cli_setup.run(_config_path(args.config), args.endpoint_url, open_browser=not args.no_browser)
        if args.command in ("connect", "disconnect"):
            return _connect(args)
        return _tray(args)
    except ConfigError as exc:
        _say(f"The config has {'an error' if len(exc.problems) == 1 else f'{len(exc.problems)} errors'}:\n{exc}")
        from agent import config as config_module

        if config_module.is_not_set_up(exc):
            _say(SET_UP_HINT)
        return EXIT_USAGE
    except AgentError as exc:
        _say(f"{exc.title}: {exc}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130


def _say(text: str) -> None:
    if sys.stderr is not None:
        print(text, file=sys.stderr)


def _config_path(path: Path | None) -> Path:
    return path if path is not None else dirs.default_config_file()


def load_config_or_create(path: Path | None) -> Config | None:
    """The config to run with. A first run with no config writes a commented template and says what to do."""
    from agent import config as config_module

    target = _config_path(path)
    try:
        exists = target.exists()
    except OSError:  # an unreadable config folder: load() says so clearly
        exists = True
    if path is None and not exists:
        config_module.write_template(target)
        _say(f"Created a config file at {target}.\n{SET_UP_HINT}")
        return None
    return config_module.load(target)


def _run_headless(args: argparse.Namespace) -> int:
    # No garbage collection while starting: the imports and clients make a large young heap that the collector would
    # walk again and again (a tenth of the start-up's CPU); once started it is frozen, and collection resumes.
    gc.disable()
    try:
        return _run_headless_collected(args)
    finally:
        gc.enable()


def _started() -> None:
    """Start-up is over: what it built lives as long as the process, so the collector need never walk it again."""
    gc.freeze()
    gc.enable()


def _run_headless_collected(args: argparse.Namespace) -> int:
    from agent import logs
    from agent.engine.engine import Engine
    from agent.engine.ledger import Ledger
    from agent.instance import InstanceLock
    from agent.plugins.manager import PluginHost

    config = load_config_or_create(args.config)
    if config is None:
        return EXIT_USAGE
    logs.setup(args.log_level)
    lock = InstanceLock()
    if not lock.acquire():  # autostart plus a manual start must never mean two consumers
        pid = lock.owner_pid()
        _say(f"{APP_NAME} is already running{f' (process {pid})' if pid else ''} for this user; stop it first, "
             "or quit it from the tray.")
        return EXIT_ERROR
    engine = Engine(config, Ledger(dirs.ledger_file()), hooks=PluginHost, drain=args.drain)
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt  # a second Ctrl+C: leave now
        log.info("Stopping (signal %d): finishing or releasing the messages held", signum)
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    if not args.drain:
        engine.start()
        _started()
        try:
            while not stop.is_set():
                stop.wait(0.2)
        finally:
            engine.stop()
            engine.ledger.close()
        return EXIT_OK

    # Draining: start() runs beside this loop, so even a server that accepts connections and never answers (each
    # botocore call then waits out its read timeout and retries) cannot hold the command past --drain-timeout.
    start_error: list[BaseException] = []

    def start() -> None:
        try:
            engine.start()
        except BaseException as exc:  # noqa: BLE001 - raised again on the main thread
            start_error.append(exc)
        finally:
            _started()

    starter = threading.Thread(target=start, name="start", daemon=True)
    starter.start()
    try:
        held_up = _drain(engine, starter, start_error, stop, args.drain_timeout)
    finally:
        engine.stop()  # also when start() is still waiting for the queue: it then starts nothing
        engine.ledger.close()
    code = EXIT_GAVE_UP if engine.given_up else EXIT_OK
    if held_up is not None:
        why = held_up.replace(" Retrying by itself.", "").rstrip(".")  # it did, until now
        log.error("Gave up after being held up for %s s (--drain-timeout): %s. The messages not handled stay in the "
                  "queue; run again once this is fixed.", f"{args.drain_timeout:g}", why)
        code = EXIT_ERROR
    if starter.is_alive():  # blocked in a call to a server that does not answer; nothing is held yet
        logging.shutdown()
        os._exit(code)
    return code


def _drain(engine: Engine, starter: threading.Thread, start_error: list[BaseException], stop: threading.Event,
           timeout: float) -> str | None:
    """Wait until the queue is empty (None) or until the engine has been held up for `timeout` seconds (why).

    Held up: the queue has not answered yet, or the engine waits out a problem (offline, a busy server, or one the
    user must fix). Raises what start() raised: a problem the user must fix is reported at once."""
    held_since: float | None = None
    while not stop.is_set():
        if start_error:
            raise start_error[0]
        if not starter.is_alive() and engine.wait(0.2):
            log.info("The queue is empty; done")
            return None
        reason = engine.held_up()
        now = time.monotonic()
        if reason is None:
            held_since = None
        elif held_since is None:
            held_since = now
        elif timeout and now - held_since >= timeout:
            return reason
        stop.wait(0.2)
    return None


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


def _catch_up(args: argparse.Namespace) -> int:
    from agent import logs
    from agent.engine.catchup import CatchUpProgress
    from agent.engine.engine import Engine
    from agent.engine.ledger import Ledger
    from agent.plugins.manager import PluginHost

    config = load_config_or_create(args.config)
    if config is None:
        return EXIT_USAGE
    logs.setup(args.log_level)
    engine = Engine(config, Ledger(dirs.ledger_file()), hooks=PluginHost)
    shown = [0.0]

    def progress(state: CatchUpProgress) -> None:
        now = time.monotonic()
        if state.done or now - shown[0] >= 2.0:
            shown[0] = now
            log.info("Catch-up: %d listed, %d already here, %d downloaded, %d skipped, %d failed%s", state.listed,
                     state.already, state.downloaded, state.skipped, state.failed, "" if state.done else f" ({state.current})")

    cancel = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt  # a second Ctrl+C: leave now (temporary files are still removed)
        log.info("Stopping the catch-up (signal %d): the downloads running now finish; run it again to go on", signum)
        cancel.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        result = engine.catch_up(args.prefix, args.since, progress=progress, cancel=cancel)
    finally:
        engine.ledger.close()
    for key, reason in result.failures[:20]:
        _say(f"  failed: {key}: {reason}")
    if cancel.is_set():
        return EXIT_ERROR
    return EXIT_GAVE_UP if result.failed else EXIT_OK


def _tray(args: argparse.Namespace) -> int:
    try:
        from agent.desktop import app
    except ImportError as exc:
        _say(f"The tray app is not available ({exc}). Run without a tray: {APP_NAME} run --headless")
        return EXIT_ERROR
    return app.main(getattr(args, "config", None))


def _config(args: argparse.Namespace) -> int:
    from agent import config as config_module

    if args.config_command == "path":
        print(dirs.default_config_file())
        return EXIT_OK
    target = _config_path(args.file)
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


def _status(args: argparse.Namespace) -> int:
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
        print(f"  {datetime.fromtimestamp(record.downloaded_at):%Y-%m-%d %H:%M:%S}  {record.path}")
    print(f"Failed messages kept in the ledger: {len(failures)}")
    for failure in failures[:20]:
        print(f"  {failure.message_id}  {failure.key or '-'}  {failure.reason}")
    return EXIT_OK


def _failed(args: argparse.Namespace) -> int:
    from agent.engine.ledger import Ledger

    ledger = Ledger(dirs.ledger_file())
    if args.failed_command == "list":
        failures = ledger.pending_failures()
        for failure in failures:
            print(f"{failure.id}\t{failure.message_id}\t{failure.key or '-'}\t{failure.reason}")
        print(f"{len(failures)} failed messages", file=sys.stderr)
        return EXIT_OK
    from agent import config as config_module
    from agent.engine.engine import Engine
    from agent.plugins.manager import PluginHost

    engine = Engine(config_module.load(_config_path(args.config)), ledger, hooks=PluginHost)
    count = engine.retry_failed()
    print(f"Sent {count} messages back to their queue")
    return EXIT_OK


def _diagnostics(args: argparse.Namespace) -> int:
    from agent import diagnostics

    if args.output is not None and not args.output.is_dir():
        _say(f"{args.output} is not a folder; name an existing folder with --output.")
        return EXIT_USAGE
    path = diagnostics.create(_config_path(args.config), folder=args.output)
    print(path)
    _say("Keys, secrets, tokens and account numbers in it are masked; look inside before you send it.")
    return EXIT_OK


def _autostart(args: argparse.Namespace) -> int:
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


def _doctor(args: argparse.Namespace) -> int:
    from agent import config as config_module
    from agent.aws import doctor
    from agent.plugins.manager import PluginHost

    target = _config_path(args.config)
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
    checks = doctor.run_checks(loaded, on_result=lambda check: print(doctor.format_check(check), flush=True),
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


def _connect(args: argparse.Namespace) -> int:
    """connect and disconnect: plan, show, confirm, apply."""
    from agent.aws import connect

    _say("Reading what exists in AWS…")
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
        _say(f"{exc.title}: {exc}\nWhat is marked done above stays done: once this is fixed, run the same command again "
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
