"""The answers to "which AWS account": this computer's profiles in words, the credentials it has without one, a new key."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from agent.api import APP_NAME
from agent.setup_flow.environment import EnvironmentKey, environment_key

if TYPE_CHECKING:
    from agent.aws.profiles import Profile

DEFAULT_KEY_PROFILE = APP_NAME
AMBIENT, ADD_KEY = "<ambient>", "<add-key>"
"""The two answers to "which AWS account" that are not a profile: the credentials this computer has without one, a new key."""


def signed_in_until(moment: datetime, now: datetime | None = None) -> str:
    """When a sign-in ends, in local time: 14:05 today, else 14:05 on 07 Dec."""
    local, today = moment.astimezone(), (now or datetime.now().astimezone()).astimezone().date()
    return f"{local:%H:%M}" if local.date() == today else f"{local:%H:%M on %d %b}"


PROFILE_KINDS = {"sso": "IAM Identity Center", "keys": "Access key", "assume-role": "Assumed role",
                 "process": "Credentials from a program", "other": "Profile"}


def describe_profile(profile: Profile, now: datetime | None = None) -> tuple[str, ...]:
    """A profile in words, as parts a front end joins: its kind, for SSO whether the sign-in holds, and its region."""
    parts = [PROFILE_KINDS.get(profile.kind, "Profile")]
    if profile.kind == "sso":
        if profile.signed_in and profile.sso_expires_at is not None:
            parts.append(f"signed in until {signed_in_until(profile.sso_expires_at, now)}")
        elif profile.sso_refreshable:
            parts.append("the sign-in renews by itself")
        else:
            parts.append("sign-in needed")
    if profile.region:
        parts.append(profile.region)
    return tuple(parts)


@dataclass(frozen=True)
class Account:
    """One answer to "which AWS account": a profile (`value` is its name), AMBIENT or ADD_KEY."""

    value: str
    title: str
    parts: tuple[str, ...]
    profile: Profile | None = None
    key: EnvironmentKey | None = None
    """AMBIENT only: the access key that exists only in this process's environment, when that is what AMBIENT is."""

    def detail(self, separator: str = " · ") -> str:
        return separator.join(self.parts)

    @property
    def sso(self) -> bool:
        return self.profile is not None and self.profile.kind == "sso"

    @property
    def needs_sign_in(self) -> bool:
        return self.profile is not None and self.sso and not (self.profile.signed_in or self.profile.sso_refreshable)

    @property
    def region(self) -> str | None:
        return self.profile.region if self.profile is not None else None

    def after_sign_in(self, expires: datetime) -> Account:
        """This SSO account once its sign-in holds until `expires`."""
        assert self.profile is not None
        profile = dataclasses.replace(self.profile, sso_expires_at=expires)
        return dataclasses.replace(self, profile=profile, parts=describe_profile(profile))


ADD_KEY_DETAIL = ("From the AWS console (IAM → Security credentials); it becomes a new profile in your AWS credentials file, "
                  "never part of the agent's config.")


def accounts(found: Iterable[Profile], ambient: str | None, key: EnvironmentKey | None) -> list[Account]:
    """Every answer setup offers, in order: the profiles, the ambient credentials (when there are any), a new access key.
    `key`: the access key in this process's environment, which is what "environment variables" means."""
    choices = [Account(p.name, p.name, describe_profile(p), p) for p in found]
    if ambient:
        key = key if ambient == "environment variables" else None
        words = "No profile: the credentials this computer has without one."
        choices.append(Account(AMBIENT, f"Use the {ambient}", (words,), key=key))
    choices.append(Account(ADD_KEY, "Add an access key", (ADD_KEY_DETAIL,)))
    return choices


def find_accounts(environ: Mapping[str, str] | None = None) -> tuple[list[Account], str]:
    """The accounts of this computer (it reads the AWS files and may wait a second for an instance role: call it off a
    window's Tk thread), and a problem reading the AWS files ("" when none)."""
    from agent.aws import profiles
    from agent.errors import AgentError

    problem = ""
    try:
        found = profiles.list_profiles()
    except AgentError as exc:
        found, problem = [], str(exc)
    return accounts(found, profiles.ambient_credentials(), environment_key(os.environ if environ is None else environ)), problem


def free_profile_name(taken: Iterable[str], wanted: str = DEFAULT_KEY_PROFILE) -> str:
    names = set(taken)
    return next(name for name in (wanted, *(f"{wanted}-{n}" for n in range(2, 1000))) if name not in names)

