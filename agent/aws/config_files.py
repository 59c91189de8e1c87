"""The AWS config and credentials files, read as botocore reads them: where they are, and their sections. Both the
profiles and the SSO sign-in read them here."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import botocore.session
from botocore.configloader import raw_config_parse
from botocore.exceptions import ConfigParseError

from agent.errors import AgentError


class ProfileFileError(AgentError):
    """The AWS config or credentials file cannot be read."""

    title = "AWS config file has errors"


def config_file() -> Path:
    """The AWS config file: AWS_CONFIG_FILE, or ~/.aws/config (as botocore and the AWS CLI resolve it)."""
    return Path(os.path.expanduser(botocore.session.Session().get_config_variable("config_file")))


def credentials_file() -> Path:
    """The shared credentials file: AWS_SHARED_CREDENTIALS_FILE, or ~/.aws/credentials."""
    return Path(os.path.expanduser(botocore.session.Session().get_config_variable("credentials_file")))


def parse_file(path: Path) -> dict[str, dict[str, Any]]:
    """The sections of an INI file in the AWS format, by name; nothing when there is no file."""
    try:
        return dict(raw_config_parse(str(path))) if path.is_file() else {}
    except ConfigParseError:
        raise ProfileFileError(f"{path} is not a valid AWS config file (an INI file with [sections]). "
                               "Fix it, or move it aside and add the profile again.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileFileError(f"{path} cannot be read ({exc}). Make it readable by your user.") from None


def config_sections() -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """(profiles, sso sessions) of the config file, by name."""
    profiles: dict[str, dict[str, Any]] = {}
    sessions: dict[str, dict[str, Any]] = {}
    for section, values in parse_file(config_file()).items():
        words = section.split(None, 1)
        if section == "default":
            profiles["default"] = values
        elif len(words) == 2 and words[0] == "profile":
            profiles[words[1].strip()] = values
        elif len(words) == 2 and words[0] == "sso-session":
            sessions[words[1].strip()] = values
    return profiles, sessions
