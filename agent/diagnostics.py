"""The diagnostics bundle: one zip with what a helper needs to see (version, platform, config, logs, ledger), secrets masked."""

from __future__ import annotations

import json
import logging
import os
import platform
import re
import shutil
import sqlite3
import stat
import sys
import zipfile
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from agent import config as config_module
from agent import dirs, logs, redact
from agent.api import APP_NAME, APP_TITLE, __version__
from agent.atomic import atomic_file
from agent.config import Config
from agent.engine import crt
from agent.engine import pause as pause_state
from agent.engine.ledger import Ledger
from agent.errors import AgentError, ConfigError

log = logging.getLogger(__name__)

BUNDLE_PREFIX = f"{APP_NAME}-diagnostics"
LOG_BYTES = 4 * 1024 * 1024  # the newest logs, up to this much (one rotated log file holds 5 MB)
_BACKEND_IN_LOG = re.compile(r"Tray backend: (\S+)")


def default_folder(config: Config | None) -> Path:
    """Beside the user's downloads: the folder that holds the download folder, where a person opens it from (and the
    bundle does not mix with synced files). Else the download folder itself, else the home folder."""
    candidates = [config.download_folder.parent, config.download_folder] if config else []
    for folder in [*candidates, Path.home()]:
        if folder.is_dir() and os.access(folder, os.W_OK | os.X_OK):
            return folder
    return Path.home()


def create(config_path: Path, *, folder: Path | None = None, ledger: Ledger | None = None, tray_backend: str | None = None,
           environ: Mapping[str, str] | None = None) -> Path:
    """Write the bundle into `folder` (default: default_folder()) and return its path. `ledger`: the running agent's
    (else the ledger file is opened if there is one). Raises AgentError when the folder cannot be written."""
    environ = os.environ if environ is None else environ
    now = datetime.now().astimezone()
    config, config_text, config_state = _read_config(config_path)
    mask = redact.Redactor.for_this_machine(environ, config_text)
    folder = folder or default_folder(config)
    log_text = _recent_logs()
    own_ledger = ledger is None and dirs.ledger_file().exists()
    try:
        if own_ledger:  # only looked at: a damaged ledger is the agent's to set aside, and the bundle's to report
            ledger = Ledger(dirs.ledger_file(), read_only=True)
        ledger_facts = _ledger_facts(ledger)
    except sqlite3.Error as exc:
        ledger_facts = {"path": str(ledger.path if ledger else dirs.ledger_file()), "ledger": f"cannot be read ({exc})"}
    finally:
        if own_ledger and ledger is not None:
            ledger.close()
    summary = _summary(now, config_path, config, config_state, tray_backend or _backend_from(log_text), ledger_facts, environ)
    members = {
        "summary.txt": summary,
        "config.yaml": redact.mask_plugin_options(config_text) if config_text is not None else f"# There is no config file at {config_path}.\n",
        "ledger.json": json.dumps(ledger_facts, indent=2) + "\n",
        "logs/agent.log": log_text or "(no log yet)\n",
    }
    name = f"{BUNDLE_PREFIX}-{now:%Y%m%d-%H%M%S}"
    target = _free_name(folder, name)
    try:  # it names buckets and folders: yours only (0600), through a temporary file of a fresh name
        with atomic_file(target) as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as bundle:
            for member, text in members.items():
                bundle.writestr(f"{name}/{member}", mask(text))
    except OSError as exc:
        raise AgentError(f"Cannot write the diagnostics bundle in {folder} ({exc.strerror or exc}). "
                         f"Choose another folder (from a terminal: {APP_NAME} diagnostics --output FOLDER).") from None
    log.info("Created the diagnostics bundle %s", target)
    return target


def _free_name(folder: Path, name: str) -> Path:
    target, number = folder / f"{name}.zip", 2
    while target.exists():
        target, number = folder / f"{name}-{number}.zip", number + 1
    return target


def _read_config(path: Path) -> tuple[Config | None, str | None, str]:
    """(the config if valid, the file's text, what state it is in)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return None, None, "missing"
    except OSError as exc:
        return None, None, f"unreadable ({exc.strerror or exc})"
    try:
        return config_module.parse(text, path), text, "valid"
    except ConfigError as error:
        return None, text, "has errors:\n" + "\n".join(f"  {problem}" for problem in error.problems)


def _recent_logs(limit: int = LOG_BYTES) -> str:
    """The newest log lines, oldest first, across the rotated files, up to `limit` bytes."""
    current = logs.log_file()
    parts: list[str] = []
    left = limit
    for path in [current, *(current.with_name(f"{current.name}.{n}") for n in range(1, 10))]:
        if left <= 0:
            break
        try:
            with _open_log(path) as handle:
                size = handle.seek(0, os.SEEK_END)
                handle.seek(max(0, size - left))
                data = handle.read(left)
        except OSError:
            continue
        if len(data) < size:
            data = data.split(b"\n", 1)[-1]  # start at a whole line
        parts.insert(0, data.decode("utf-8", "replace"))
        left -= len(data)
    return "".join(parts)


def _open_log(path: Path) -> BinaryIO:
    """A log file to read, only if it is a regular file at that name: a link planted as `agent.log.3` (to a key file,
    to another user's file) is not followed out of the log folder. Raises OSError otherwise."""
    if os.name == "nt" and os.path.islink(path):  # no O_NOFOLLOW there
        raise OSError(f"{path} is a link")
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # a FIFO would block the bundle, a device would never end
            raise OSError(f"{path} is not a regular file")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _backend_from(log_text: str) -> str:
    found = _BACKEND_IN_LOG.findall(log_text)
    what = f"{APP_NAME} diagnostics was run from a terminal, not from the tray"
    return f"none ({what}; the tray last used {found[-1]}, says the log)" if found else f"none ({what})"


def _ledger_facts(ledger: Ledger | None) -> dict[str, object]:
    if ledger is None:
        return {"ledger": "none yet (nothing was downloaded on this computer)"}
    facts: dict[str, object] = {"path": str(ledger.path), **ledger.counts()}
    try:
        facts["files_today"] = ledger.count_since(datetime.now().replace(hour=0, minute=0, second=0, microsecond=0).timestamp())
    except Exception as exc:  # noqa: BLE001 - a bundle reports what it can
        facts["files_today"] = f"unknown ({exc})"
    states: dict[str, str] = {}
    for name, value in ledger.states().items():
        try:
            moment = datetime.fromtimestamp(float(value)).astimezone() if value and name != pause_state.PAUSED_STATE else None
        except (ValueError, OverflowError, OSError):
            moment = None
        states[name] = f"{value} ({moment:%Y-%m-%d %H:%M:%S %z})" if moment else value
    facts["state"] = states
    pause = pause_state.load(ledger)
    facts["paused"] = "no" if pause is None else f"until {pause.until:%Y-%m-%d %H:%M %z}" if pause.until else "until resumed"
    return facts


def _summary(now: datetime, config_path: Path, config: Config | None, config_state: str, tray_backend: str,
             ledger_facts: Mapping[str, object], environ: Mapping[str, str]) -> str:
    from agent.plugins.manager import installed_plugins

    states = ledger_facts.get("state")
    states = states if isinstance(states, dict) else {}
    plugins = []
    for plugin_name, entry in sorted(installed_plugins().items()):
        distribution = entry.dist
        plugins.append(f"{plugin_name} ({distribution.name} {distribution.version})" if distribution else plugin_name)
    lines = [
        f"{APP_TITLE} diagnostics, made {now:%Y-%m-%d %H:%M:%S %z}",
        f"Keys, secrets, tokens, passwords and account numbers are masked ({redact.MASK}). Look inside before you send it.",
        "",
        f"Version: {APP_NAME} {__version__}",
        f"Platform: {platform.platform()} ({sys.platform}, {platform.machine()})",
        f"Python: {platform.python_version()} ({platform.python_implementation()}); frozen app: {'yes' if getattr(sys, 'frozen', False) else 'no'}",
        f"Tray backend: {tray_backend}",
        f"Config file: {config_path} ({config_state})",
    ]
    if config is not None:
        folder = config.download_folder
        try:
            free = f"{shutil.disk_usage(folder).free / 1e9:.1f} GB free"
        except OSError as exc:
            free = f"not readable: {exc.strerror or exc}"
        lines += [
            f"Download folder: {folder} ({free})",
            f"Queue: {config.sqs_queue_url}",
            f"Bucket: {config.s3_bucket_name or '(any)'}",
            f"Region: {config.aws_region or '(from the AWS settings)'}",
            f"Endpoints: S3 {config.s3_endpoint or '(from the AWS settings)'}; SQS {config.sqs_endpoint or '(from the AWS settings)'}",
            f"AWS profile: {config.aws_profile or '(the default chain)'}",
            f"Plugins in the config: {', '.join(spec.name for spec in config.plugins) or 'none'}",
            f"Downloads go through: {crt.describe(config.max_bandwidth, environ)}",
        ]
    lines += [
        f"Plugins installed: {', '.join(plugins) or 'none'}",
        f"Log file: {logs.log_file()}",
        f"AWS environment: {', '.join(redact.describe_environment(environ)) or 'no AWS_* variables'}",
        "",
        "Ledger:",
        *(f"  {key}: {value}" for key, value in ledger_facts.items() if key != "state"),
        *(f"  state {key}: {value}" for key, value in states.items()),
        "",
        "Files: summary.txt (this), config.yaml (the config file as written, masked), ledger.json (counts),",
        f"logs/agent.log (the newest {LOG_BYTES // (1024 * 1024)} MB of logs, masked).",
    ]
    return "\n".join(lines) + "\n"
