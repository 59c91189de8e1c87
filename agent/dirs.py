"""Where the agent keeps its config, state and logs, per platform (platformdirs)."""

from __future__ import annotations

from pathlib import Path

import platformdirs

from agent.api import APP_NAME
from agent.atomic import make_private_dirs


def config_dir() -> Path:
    """The folder holding config.yaml (on Linux, moved by XDG_CONFIG_HOME)."""
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def default_config_file() -> Path:
    return config_dir() / "config.yaml"


def data_dir() -> Path:
    """The folder holding the ledger and other state (on Linux, moved by XDG_DATA_HOME)."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def log_dir() -> Path:
    """The folder holding the log files (on Linux, under XDG_STATE_HOME)."""
    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def ledger_file() -> Path:
    return data_dir() / "ledger.sqlite3"


def ensure_private_dir(path: Path) -> Path:
    """Create a folder readable by the user only (config, state and logs can name buckets and queues)."""
    return make_private_dirs(path)
