"""IAM Identity Center (SSO) sign-in with the device authorization flow; the token goes where botocore reads it."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import threading
import time
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import boto3
from botocore import UNSIGNED
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

from agent.atomic import write_text_atomically
from agent.aws.config_files import config_file, config_sections
from agent.errors import SignInCancelled, SignInError

log = logging.getLogger(__name__)

DEFAULT_SCOPES = ("sso:account:access",)  # what the AWS CLI asks for with an sso-session: it brings refresh tokens
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
SLOW_DOWN_STEP = 5  # RFC 8628: on slow_down, poll 5 seconds less often from then on
REGISTRATION_MARGIN = timedelta(minutes=15)  # a cached client registration this close to expiry is not reused
CLIENT_NAME = "s3-sqs-agent"


def cache_dir() -> Path:
    """botocore's and the AWS CLI's SSO token cache: ~/.aws/sso/cache (there is no setting that moves it)."""
    return Path.home() / ".aws" / "sso" / "cache"


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")  # as botocore writes it


def _parse_timestamp(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    text = text.strip().replace("UTC", "+00:00")  # the AWS CLI v1 wrote "2026-01-01T00:00:00UTC"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class SsoSettings:
    """What the device flow needs from a profile: start URL, region, session name (None: legacy), scopes."""

    profile: str
    start_url: str
    region: str
    session_name: str | None
    scopes: tuple[str, ...]

    @property
    def cache_key(self) -> str:
        """The token's file name in the cache, as botocore's SSOTokenLoader computes it."""
        return hashlib.sha1((self.session_name or self.start_url).encode("utf-8")).hexdigest()

    @property
    def registration_key(self) -> str:
        """The client registration's file name, as the AWS CLI computes it (so the two can share it)."""
        args: dict[str, Any] = {"tool": "botocore", "startUrl": self.start_url, "region": self.region}
        if self.scopes:
            args["scopes"] = list(self.scopes)
        if self.session_name:
            args["session_name"] = self.session_name
        return hashlib.sha1(json.dumps(args, sort_keys=True).encode("utf-8")).hexdigest()


def sso_settings(profile: str) -> SsoSettings:
    """The SSO settings of a profile; ValueError saying what is missing when it is not a complete SSO profile."""
    profiles, sessions = config_sections()
    values = profiles.get(profile)
    if values is None:
        raise ValueError(f"There is no profile called {profile!r} in {config_file()}.")
    session_name = values.get("sso_session")
    if session_name:
        if session_name not in sessions:
            raise ValueError(f"Profile {profile!r} names sso_session {session_name!r}, but {config_file()} has no "
                             f"[sso-session {session_name}] section: add it (aws configure sso-session does).")
        merged = {**values, **sessions[session_name]}
        scopes = tuple(s.strip() for s in str(merged.get("sso_registration_scopes", "")).split(",") if s.strip()) or DEFAULT_SCOPES
    else:
        merged, scopes = values, ()
    missing = [key for key in ("sso_start_url", "sso_region") if not merged.get(key)]
    if missing:
        raise ValueError(f"Profile {profile!r} is not a complete IAM Identity Center profile: {' and '.join(missing)} "
                         f"missing in {config_file()}.")
    return SsoSettings(profile, str(merged["sso_start_url"]), str(merged["sso_region"]), session_name, scopes)


class SsoProfile(Protocol):
    """What the token cache needs to know of a profile (agent.aws.profiles.Profile has it)."""

    @property
    def kind(self) -> str: ...
    @property
    def sso_start_url(self) -> str | None: ...
    @property
    def sso_session(self) -> str | None: ...


@dataclass(frozen=True)
class CachedToken:
    expires_at: datetime
    refreshable: bool


def cached_token(profile: SsoProfile) -> CachedToken | None:
    """What botocore's token cache holds for an SSO profile (read only; no network)."""
    if profile.kind != "sso" or not profile.sso_start_url:
        return None
    key = hashlib.sha1((profile.sso_session or profile.sso_start_url).encode("utf-8")).hexdigest()
    data = _read_json(cache_dir() / f"{key}.json")
    if not data or not data.get("accessToken"):
        return None
    expires_at = _parse_timestamp(data.get("expiresAt"))
    if expires_at is None:
        return None
    registration_expires = _parse_timestamp(data.get("registrationExpiresAt"))
    refreshable = bool(data.get("refreshToken") and data.get("clientId") and registration_expires
                       and registration_expires > datetime.now(UTC))
    return CachedToken(expires_at, refreshable)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_json(path: Path, data: dict[str, Any]) -> None:
    write_text_atomically(path, json.dumps(data))


@dataclass(frozen=True)
class DeviceAuthorization:
    """What the person must do: open `verification_uri_complete` (or `verification_uri` and type `user_code`)."""

    verification_uri: str
    verification_uri_complete: str
    user_code: str
    expires_at: datetime
    interval: int
    device_code: str = field(repr=False)


def can_open_browser() -> bool:
    """Whether a graphical browser can be opened here (on Linux, a display; never a text browser in a terminal)."""
    if platform.system() == "Linux":
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def open_in_browser(url: str) -> bool:
    """Open `url` in the default browser when there is one to open; True when it was handed over."""
    if not can_open_browser():
        return False
    try:
        return bool(webbrowser.open(url, new=2))
    except webbrowser.Error:
        return False


class DeviceSignIn:
    """Signs a profile in to IAM Identity Center: `start()` gets a code and opens the browser, `wait()` polls.

    The token is written to botocore's cache (~/.aws/sso/cache), exactly as the AWS CLI writes it, so the agent,
    boto3 and the AWS CLI all use it; no AWS CLI is needed. `endpoint_url` points the OIDC client elsewhere (tests)."""

    def __init__(self, profile: str, endpoint_url: str | None = None,
                 open_url: Callable[[str], object] | None = open_in_browser,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 sleep: Callable[[float, threading.Event | None], None] | None = None) -> None:
        self.settings = sso_settings(profile)
        self._open_url = open_url
        self._now = clock
        self._sleep = sleep or _sleep
        self._client = boto3.session.Session().client(
            "sso-oidc", region_name=self.settings.region, endpoint_url=endpoint_url,
            config=BotoConfig(signature_version=UNSIGNED, connect_timeout=10, read_timeout=30,
                              retries={"mode": "standard", "max_attempts": 3}))
        self._registration: dict[str, Any] | None = None
        self._authorization: DeviceAuthorization | None = None

    def start(self) -> DeviceAuthorization:
        """Register this app (or reuse its cached registration), start a device authorization, open the browser."""
        try:
            registration = self._register()
            response = self._client.start_device_authorization(
                clientId=registration["clientId"], clientSecret=registration["clientSecret"], startUrl=self.settings.start_url)
        except (ClientError, BotoCoreError) as exc:
            raise SignInError(self._explain(exc, "start the sign-in")) from None
        now = self._now()
        uri = str(response["verificationUri"])
        self._authorization = DeviceAuthorization(
            verification_uri=uri,
            verification_uri_complete=str(response.get("verificationUriComplete") or uri),
            user_code=str(response["userCode"]),
            expires_at=now + timedelta(seconds=int(response.get("expiresIn", 600))),
            interval=max(1, int(response.get("interval") or 5)),
            device_code=str(response["deviceCode"]),
        )
        if self._open_url is not None:
            self._open_url(self._authorization.verification_uri_complete)
        return self._authorization

    def wait(self, cancel: threading.Event | None = None) -> datetime:
        """Poll until the person approves (honouring `interval` and `slow_down`), write the token, return its expiry.

        Raises SignInCancelled when `cancel` is set, SignInError when the code expires or the sign-in is refused."""
        authorization = self._authorization
        registration = self._registration
        if authorization is None or registration is None:
            raise RuntimeError("call start() before wait()")
        interval = float(authorization.interval)
        while True:
            if cancel is not None and cancel.is_set():
                raise SignInCancelled("The sign-in was cancelled.")
            try:
                response = self._client.create_token(
                    grantType=DEVICE_GRANT, clientId=registration["clientId"], clientSecret=registration["clientSecret"],
                    deviceCode=authorization.device_code)
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code == "AuthorizationPendingException":
                    pass
                elif code == "SlowDownException":
                    interval += SLOW_DOWN_STEP
                elif code == "ExpiredTokenException":
                    raise SignInError("The sign-in code expired before it was approved. Start the sign-in again, and "
                                      "approve it in the browser within a few minutes.") from None
                elif code == "AccessDeniedException":
                    raise SignInError("The sign-in was refused in the browser. Start it again and choose Allow.") from None
                else:
                    raise SignInError(self._explain(exc, "finish the sign-in")) from None
            except BotoCoreError as exc:
                log.warning("Polling for the sign-in failed (%s); trying again", exc)
            else:
                return self._save(response)
            if self._now() >= authorization.expires_at:
                raise SignInError("The sign-in code expired before it was approved. Start the sign-in again.")
            self._sleep(interval, cancel)

    # ------------------------------------------------------------ details

    def _register(self) -> dict[str, Any]:
        path = cache_dir() / f"{self.settings.registration_key}.json"
        cached = _read_json(path)
        expires = _parse_timestamp(cached.get("expiresAt")) if cached else None
        if cached and cached.get("clientId") and cached.get("clientSecret") and expires and expires > self._now() + REGISTRATION_MARGIN:
            self._registration = cached
            return cached
        arguments: dict[str, Any] = {"clientName": f"{CLIENT_NAME}-{int(time.time())}", "clientType": "public"}
        if self.settings.scopes:
            arguments["scopes"] = list(self.settings.scopes)
        response = self._client.register_client(**arguments)
        registration: dict[str, Any] = {
            "clientId": response["clientId"],
            "clientSecret": response["clientSecret"],
            "expiresAt": _timestamp(datetime.fromtimestamp(int(response["clientSecretExpiresAt"]), UTC)),
        }
        if self.settings.scopes:
            registration["scopes"] = list(self.settings.scopes)
        _write_json(path, registration)
        self._registration = registration
        return registration

    def _save(self, response: dict[str, Any]) -> datetime:
        registration = self._registration or {}
        expires_at = self._now() + timedelta(seconds=int(response.get("expiresIn", 3600)))
        token: dict[str, Any] = {
            "startUrl": self.settings.start_url,
            "region": self.settings.region,
            "accessToken": response["accessToken"],
            "expiresAt": _timestamp(expires_at),
            "clientId": registration.get("clientId"),
            "clientSecret": registration.get("clientSecret"),
            "registrationExpiresAt": registration.get("expiresAt"),
        }
        if response.get("refreshToken"):
            token["refreshToken"] = response["refreshToken"]
        _write_json(cache_dir() / f"{self.settings.cache_key}.json", token)
        log.info("Signed in to %s (profile %s) until %s", self.settings.start_url, self.settings.profile, _timestamp(expires_at))
        return expires_at.replace(microsecond=0)

    def _explain(self, exc: BaseException, doing: str) -> str:
        if isinstance(exc, ClientError):
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("InvalidRequestException", "InvalidClientException", "UnauthorizedClientException"):
                return (f"IAM Identity Center refused to {doing} ({code}). Check sso_start_url "
                        f"({self.settings.start_url}) and sso_region ({self.settings.region}) of profile "
                        f"{self.settings.profile!r}.")
            return f"Could not {doing}: {code or exc}. Try again; if it keeps failing, check the profile's sso_start_url."
        return (f"Could not reach IAM Identity Center in {self.settings.region} to {doing} ({exc}). "
                "Check the internet connection and try again.")


def _sleep(seconds: float, cancel: threading.Event | None) -> None:
    if cancel is not None:
        cancel.wait(seconds)
    else:
        time.sleep(seconds)
