"""When the credentials the agent uses run out.

An IAM Identity Center (SSO) sign-in, or temporary credentials that state their expiry. Reads the environment and the
AWS files only, never the network."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from botocore.configloader import raw_config_parse
from botocore.exceptions import ConfigParseError

from agent.aws import profiles, sso

WARN_BEFORE = timedelta(minutes=15)
EXPIRY_FIELDS = ("x_security_token_expires", "aws_expiration")  # written beside a session token by saml2aws, gimme-aws-creds...


@dataclass(frozen=True)
class Expiry:
    """Credentials that stop working at `expires_at` (None: they already do not work, as with no sign-in at all)."""

    source: str  # for people: "the sign-in of profile studio", "environment variables", ...
    expires_at: datetime | None
    profile: str | None = None
    can_sign_in: bool = False  # an SSO profile: the device sign-in renews it
    renews_itself: bool = False  # botocore renews it without the person (a refresh token), so only an expiry is news

    def expired(self, now: datetime | None = None) -> bool:
        return self.expires_at is None or self.expires_at <= (now or datetime.now(UTC))

    def due(self, now: datetime | None = None) -> bool:
        """Worth telling the person: it has run out, or (unless it renews itself) runs out within WARN_BEFORE."""
        now = now or datetime.now(UTC)
        if self.expired(now):
            return not self.renews_itself
        return not self.renews_itself and self.expires_at is not None and self.expires_at - now <= WARN_BEFORE


def credentials_expiry(profile: str | None, environ: Mapping[str, str] | None = None) -> Expiry | None:
    """The expiry of the credentials that a session with `profile` (the config's aws_profile) uses, when they have
    one: the environment's temporary credentials (only without an explicit profile, as botocore does), else the
    profile's SSO sign-in, or a session token in the credentials file with its expiry beside it."""
    environ = os.environ if environ is None else environ
    if profile is None and environ.get("AWS_ACCESS_KEY_ID") and environ.get("AWS_SECRET_ACCESS_KEY"):
        expires = sso._parse_timestamp(environ.get("AWS_CREDENTIAL_EXPIRATION"))
        return Expiry("environment variables", expires) if environ.get("AWS_SESSION_TOKEN") and expires else None
    name = profile or environ.get("AWS_PROFILE") or environ.get("AWS_DEFAULT_PROFILE") or "default"
    try:
        found = profiles.find_profile(name)
    except (ValueError, profiles.ProfileFileError):
        return None
    if found.kind == "sso":
        token = sso.cached_token(found)
        return Expiry(f"the sign-in of profile {name}", token.expires_at if token else None, name, can_sign_in=True,
                      renews_itself=bool(token and token.refreshable))
    if found.kind == "keys":
        try:
            values = raw_config_parse(str(profiles.credentials_file())).get(name, {})
        except (ConfigParseError, OSError, UnicodeDecodeError):
            return None
        expires = next((moment for field in EXPIRY_FIELDS if (moment := sso._parse_timestamp(values.get(field)))), None)
        if values.get("aws_session_token") and expires:
            return Expiry(f"the session token of profile {name}", expires, name)
    return None

