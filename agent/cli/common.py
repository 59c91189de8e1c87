"""What the command line's commands share: exit codes, where the config is, and saying things on stderr."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from agent import dirs
from agent.api import APP_NAME

if TYPE_CHECKING:
    from agent.config import Config

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_GAVE_UP = 3
DRAIN_TIMEOUT_SECONDS = 120.0
"""`run --drain` gives up after being held up this long (no answer from the queue, or a problem that lasts)."""

log = logging.getLogger("agent")
SET_UP_HINT = (f"Run '{APP_NAME} setup' to answer a few questions (account, queue, folder) and check them, "
               "or fill in sqs_queue_url and download_folder yourself, then run again.")


def say(text: str) -> None:
    if sys.stderr is not None:
        print(text, file=sys.stderr)


def config_path(path: Path | None) -> Path:
    return path if path is not None else dirs.default_config_file()


def load_config_or_create(path: Path | None) -> Config | None:
    """The config to run with. A first run with no config writes a commented template and says what to do."""
    from agent import config as config_module

    target = config_path(path)
    try:
        exists = target.exists()
    except OSError:  # an unreadable config folder: load() says so clearly
        exists = True
    if path is None and not exists:
        config_module.write_template(target)
        say(f"Created a config file at {target}.\n{SET_UP_HINT}")
        return None
    return config_module.load(target)
