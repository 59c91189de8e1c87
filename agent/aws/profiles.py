"""The AWS profiles on this computer: which exist, what kind each is, whether an SSO sign-in is still valid."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import boto3
import botocore.session
from botocore.exceptions import BotoCoreError

from agent.atomic import write_text_atomically
from agent.aws import sso
from agent.aws.config_files import ProfileFileError, config_file, config_sections, credentials_file, parse_file
from agent.errors import did_you_mean_profile
from agent.names import nearest

__all__ = ["AMBIENT_SOURCES", "CREDENTIAL_SOURCES", "Profile", "ProfileFileError", "ProfileKind", "add_access_key_profile",
           "ambient_credentials", "config_file", "config_sections", "credentials_file", "find_profile", "list_profiles", "session"]
"""The files' readers live in config_files; they are named here too, for the callers of profiles."""

ProfileKind = Literal["sso", "keys", "assume-role", "process", "other"]

AMBIENT_SOURCES = {  # botocore's provider name -> how a person would call it
    "env": "environment variables",
    "assume-role-with-web-identity": "web identity token (AWS_WEB_IDENTITY_TOKEN_FILE)",
    "container-role": "container role",
    "iam-role": "instance role",
}
"""Credential providers that need no profile: what "use the environment / instance role" resolves to."""

CREDENTIAL_SOURCES = {
    **AMBIENT_SOURCES,
    "shared-credentials-file": "an access key in the credentials file",
    "config-file": "an access key in the AWS config file",
    "sso": "IAM Identity Center (SSO)",
    "assume-role": "an assumed role",
    "custom-process": "credential_process",
    "login": "aws login",
}
"""botocore's credential method -> words for a person."""

_PROFILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,63}$")
_BAD_NAME = "{name!r} cannot be a profile name: use letters, digits and - _ . @ +, such as s3-sqs-agent"
_ACCESS_KEY_ID = re.compile(r"^[A-Z0-9]{16,128}$")


@dataclass(frozen=True)
class Profile:
    """A named profile from the AWS config and credentials files."""

    name: str
    kind: ProfileKind
    region: str | None = None
    sso_start_url: str | None = None
    sso_expires_at: datetime | None = None
    """SSO only: when the cached sign-in (access token) expires; None when there is none."""
    sso_session: str | None = None
    """SSO only: the `[sso-session NAME]` the profile uses; None for the legacy form (sso_start_url in the profile)."""
    sso_region: str | None = None
    sso_refreshable: bool = False
    """SSO only: the cache also holds a refresh token, so botocore can renew an expired sign-in without a browser."""

    @property
    def signed_in(self) -> bool:
        """True for profiles that need no sign-in, and for SSO profiles whose cached sign-in has not expired."""
        if self.kind != "sso":
            return True
        return self.sso_expires_at is not None and self.sso_expires_at > datetime.now(UTC)


def list_profiles() -> list[Profile]:
    """Every profile in the AWS config and credentials files, sorted by name ("default" first). Reads no network."""
    config_profiles, sessions = config_sections()
    credential_profiles = parse_file(credentials_file())
    found: list[Profile] = []
    for name in sorted(set(config_profiles) | set(credential_profiles), key=lambda n: (n != "default", n.lower())):
        values = {**credential_profiles.get(name, {}), **config_profiles.get(name, {})}
        kind = _kind(values)
        profile = Profile(name=name, kind=kind, region=values.get("region") or None)
        if kind == "sso":
            session_name = values.get("sso_session")
            sso_values = {**values, **sessions.get(session_name, {})} if session_name else values
            profile = Profile(name=name, kind=kind, region=profile.region, sso_start_url=sso_values.get("sso_start_url"),
                              sso_session=session_name, sso_region=sso_values.get("sso_region"))
            token = sso.cached_token(profile)
            if token is not None:
                profile = Profile(**{**profile.__dict__, "sso_expires_at": token.expires_at, "sso_refreshable": token.refreshable})
        found.append(profile)
    return found


def find_profile(name: str) -> Profile:
    """The profile called `name`; ValueError with what to do when there is none."""
    profiles = list_profiles()
    for profile in profiles:
        if profile.name == name:
            return profile
    guess = did_you_mean_profile(name, nearest(name, [profile.name for profile in profiles]))
    raise ValueError(f"There is no AWS profile called {name!r} in {config_file()} or {credentials_file()}.{' ' + guess if guess else ''} "
                     "Choose one that exists, or add it (an access key, or aws configure sso).")


def _kind(values: dict[str, Any]) -> ProfileKind:
    if values.get("sso_session") or values.get("sso_start_url"):
        return "sso"
    if values.get("role_arn"):
        return "assume-role"
    if values.get("credential_process"):
        return "process"
    if values.get("aws_access_key_id"):
        return "keys"
    return "other"


def ambient_credentials() -> str | None:
    """How credentials resolve without a profile ("environment variables", "instance role"...), or None.

    Only the providers that need no profile are asked: the environment, a web identity token, a container role and
    the instance role (which costs a second or two of waiting off EC2, so call this off a window's main thread)."""
    session = botocore.session.Session()
    session.set_config_variable("profile", None)
    resolver = session.get_component("credential_provider")
    for provider in list(resolver.providers):
        if provider.METHOD not in AMBIENT_SOURCES:
            resolver.remove(provider.METHOD)
    try:
        credentials = resolver.load_credentials()
    except BotoCoreError:
        return None
    if credentials is None:
        return None
    method = str(credentials.method)
    return AMBIENT_SOURCES.get(method, method)


def add_access_key_profile(name: str, access_key_id: str, secret_access_key: str, region: str | None = None, *,
                           check_key_id: bool = True) -> Profile:
    """Add a named profile holding an access key to the shared credentials file (readable by the user only).

    The key never goes into the agent's config. A region goes into the AWS config file's `[profile NAME]`, where
    botocore and the AWS CLI read it. Raises ValueError, saying what to change, for a bad or already used name or key.
    `check_key_id` False takes a key ID of any form (one already in use, such as a local server's "test")."""
    name, access_key_id, secret_access_key = name.strip(), access_key_id.strip(), secret_access_key.strip()
    if not _PROFILE_NAME.match(name):
        raise ValueError(_BAD_NAME.format(name=name))
    if not access_key_id or (check_key_id and not _ACCESS_KEY_ID.match(access_key_id)):
        raise ValueError("That is not an access key ID: it is 20 capital letters and digits, such as AKIAIOSFODNN7EXAMPLE")
    if not secret_access_key or any(c.isspace() for c in secret_access_key):
        raise ValueError("The secret access key is missing or has spaces in it: paste it again as the console showed it")
    if region is not None and region.strip():
        region = region.strip()
        if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d+", region):
            raise ValueError(f"expected an AWS region name such as us-east-2, got {region!r}")
    else:
        region = None
    check_new_profile_name(name)
    _append_section(credentials_file(), name, {"aws_access_key_id": access_key_id, "aws_secret_access_key": secret_access_key})
    if region:
        _append_section(config_file(), "default" if name == "default" else f"profile {name}", {"region": region})
    return Profile(name=name, kind="keys", region=region)


def check_new_profile_name(name: str) -> str:
    """`name` stripped, when it can name a new profile; ValueError saying what to change when not."""
    name = name.strip()
    if not _PROFILE_NAME.match(name):
        raise ValueError(_BAD_NAME.format(name=name))
    if any(profile.name == name for profile in list_profiles()):
        raise ValueError(f"A profile called {name!r} already exists; choose another name")
    return name


def _append_section(path: Path, section: str, values: dict[str, str]) -> None:
    """Add `[section]` at the end of an INI file, keeping everything already there; the file ends up mode 0600."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    if text and not text.endswith("\n"):
        text += "\n"
    text += ("\n" if text else "") + f"[{section}]\n" + "".join(f"{key} = {value}\n" for key, value in values.items())
    write_text_atomically(path, text)


def session(profile: str | None = None, region: str | None = None) -> boto3.session.Session:
    """A boto3 session for a profile (None: the default chain, environment and instance role included)."""
    return boto3.session.Session(profile_name=profile or None, region_name=region or None)
