"""IAM Identity Center sign-in with the device flow, against a local OIDC stand-in (tests/oidc.py), no AWS CLI.

Then botocore itself, in a fresh process, takes the token from its cache: its token provider (sso-session profiles),
its refresh, and its SSO credential provider (both forms) turning the token into credentials that moto accepts."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.aws import profiles, sso
from agent.errors import SignInCancelled, SignInError
from tests.aws import Setup
from tests.helpers import ROOT, run_agent, write_config
from tests.oidc import CONFIG, START_URL, OidcStandIn


@pytest.fixture
def home(private_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(private_home))  # botocore's token cache is ~/.aws/sso/cache
    (private_home / "aws-config").write_text(CONFIG, encoding="utf-8")
    return private_home


@pytest.fixture
def stand_in() -> Iterator[OidcStandIn]:
    server = OidcStandIn().start()
    yield server
    server.stop()


class Sleeps:
    """DeviceSignIn's sleep: records each wait instead of waiting (the stand-in answers at once)."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float, cancel: threading.Event | None) -> None:
        self.waits.append(seconds)


def sign_in(profile: str, stand_in: OidcStandIn, sleeps: Sleeps | None = None) -> datetime:
    flow = sso.DeviceSignIn(profile, endpoint_url=stand_in.url, open_url=stand_in.open_url, sleep=sleeps or Sleeps())
    authorization = flow.start()
    assert authorization.user_code == "WXYZ-1234"
    return flow.wait()


def cached(home: Path, key_source: str) -> dict[str, object]:
    path = home / ".aws" / "sso" / "cache" / f"{hashlib.sha1(key_source.encode()).hexdigest()}.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600, "tokens are readable by the user only"
    data: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
    return data


def in_botocore(code: str, home: Path, stand_in: OidcStandIn, **extra: str) -> str:
    """Run `code` in a fresh Python with HOME and the stand-in's endpoints set: botocore as any tool would use it."""
    env = {**os.environ, "HOME": str(home), **stand_in.environment(), **extra}
    env = {k: v for k, v in env.items() if not k.startswith(("AWS_ACCESS_KEY", "AWS_SECRET"))}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_device_flow_signs_in_and_writes_botocores_token_cache(home: Path, stand_in: OidcStandIn) -> None:
    sleeps = Sleeps()
    before = datetime.now(UTC)
    expires = sign_in("studio", stand_in, sleeps)
    assert stand_in.state.opened == [f"{stand_in.url}/device?user_code=WXYZ-1234"], "the browser opens the complete URL"
    assert sleeps.waits == [1, 1], "two authorization_pending answers, each followed by the interval the server gave"
    registration = stand_in.state.registrations[0]
    assert registration["clientType"] == "public" and registration["scopes"] == ["sso:account:access"]
    assert stand_in.state.authorizations[0]["startUrl"] == START_URL
    assert before + timedelta(minutes=59) < expires <= datetime.now(UTC) + timedelta(hours=1)
    token = cached(home, "corp")  # an sso-session's token is cached under the session's name
    assert token["startUrl"] == START_URL and token["region"] == "eu-west-1"
    assert token["accessToken"] in stand_in.state.access_tokens
    assert token["expiresAt"] == expires.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert {"refreshToken", "clientId", "clientSecret", "registrationExpiresAt"} <= set(token)
    studio = next(p for p in profiles.list_profiles() if p.name == "studio")
    assert studio.signed_in and studio.sso_expires_at == expires and studio.sso_refreshable


def test_botocore_itself_uses_the_token(home: Path, stand_in: OidcStandIn, aws: Setup) -> None:
    sign_in("studio", stand_in)
    token = cached(home, "corp")["accessToken"]
    loaded = in_botocore("import botocore.session, botocore.tokens\n"
                         "s = botocore.session.Session(profile='studio')\n"
                         "print(botocore.tokens.SSOTokenProvider(s).load_token().get_frozen_token().token)", home, stand_in)
    assert loaded == token, "botocore's token provider reads the cached token as written"
    identity = in_botocore("import boto3\n"
                           "s = boto3.Session(profile_name='studio')\n"
                           f"print(s.client('sts', endpoint_url={aws.endpoint!r}).get_caller_identity()['Account'])\n"
                           "print(s.get_credentials().access_key)", home, stand_in)
    assert identity.splitlines() == ["123456789012", "ASIASTANDIN000000001"]
    assert stand_in.state.role_requests[-1] == {"role_name": "AudioReader", "account_id": "123456789012", "token": token}


def test_botocore_refreshes_the_token_with_what_the_cache_holds(home: Path, stand_in: OidcStandIn) -> None:
    sign_in("studio", stand_in)
    path = home / ".aws" / "sso" / "cache" / f"{hashlib.sha1(b'corp').hexdigest()}.json"
    token = json.loads(path.read_text(encoding="utf-8"))
    token["expiresAt"] = (datetime.now(UTC) + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")  # inside botocore's window
    path.write_text(json.dumps(token), encoding="utf-8")
    fresh = in_botocore("import botocore.session, botocore.tokens\n"
                        "s = botocore.session.Session(profile='studio')\n"
                        "print(botocore.tokens.SSOTokenProvider(s).load_token().get_frozen_token().token)", home, stand_in)
    refresh = stand_in.state.token_requests[-1]
    assert refresh["grantType"] == "refresh_token" and refresh["refreshToken"] == token["refreshToken"]
    assert refresh["clientId"] == token["clientId"] and refresh["clientSecret"] == token["clientSecret"]
    assert fresh != token["accessToken"] and json.loads(path.read_text(encoding="utf-8"))["accessToken"] == fresh


def test_a_legacy_profile_is_cached_under_its_start_url(home: Path, stand_in: OidcStandIn, aws: Setup) -> None:
    expires = sign_in("legacy", stand_in)
    assert "scopes" not in stand_in.state.registrations[0], "the legacy form registers without scopes, as the AWS CLI does"
    token = cached(home, "https://old.awsapps.com/start")
    assert token["region"] == "us-west-2" and next(p for p in profiles.list_profiles() if p.name == "legacy").sso_expires_at == expires
    account = in_botocore("import boto3\n"
                          f"print(boto3.Session(profile_name='legacy').client('sts', endpoint_url={aws.endpoint!r})"
                          ".get_caller_identity()['Account'])", home, stand_in)
    assert account == "123456789012"


def test_slow_down_adds_five_seconds_to_every_later_poll(home: Path, stand_in: OidcStandIn) -> None:
    stand_in.state.slow_down_polls, stand_in.state.pending_polls = 1, 2
    sleeps = Sleeps()
    sign_in("studio", stand_in, sleeps)
    assert sleeps.waits == [6, 6, 6]
    assert len(stand_in.state.token_requests) == 4


def test_a_second_sign_in_reuses_the_client_registration(home: Path, stand_in: OidcStandIn) -> None:
    sign_in("studio", stand_in)
    first = cached(home, "corp")["accessToken"]
    stand_in.state.pending_polls = 0
    sign_in("studio", stand_in)
    assert len(stand_in.state.registrations) == 1 and len(stand_in.state.authorizations) == 2
    assert cached(home, "corp")["accessToken"] != first


@pytest.mark.parametrize(("outcome", "message"), [("denied", "refused in the browser"), ("expired", "code expired")])
def test_a_refused_or_expired_sign_in_says_to_start_again(home: Path, stand_in: OidcStandIn, outcome: str, message: str) -> None:
    stand_in.state.outcome = outcome
    with pytest.raises(SignInError, match=message):
        sign_in("studio", stand_in)
    assert not (home / ".aws" / "sso" / "cache" / f"{hashlib.sha1(b'corp').hexdigest()}.json").exists()


def test_cancel_stops_waiting(home: Path, stand_in: OidcStandIn) -> None:
    stand_in.state.pending_polls = 10**6
    flow = sso.DeviceSignIn("studio", endpoint_url=stand_in.url, open_url=None)
    flow.start()
    cancel = threading.Event()
    outcome: list[BaseException] = []

    def wait() -> None:
        try:
            flow.wait(cancel)
        except BaseException as exc:
            outcome.append(exc)

    waiter = threading.Thread(target=wait)
    waiter.start()
    cancel.set()
    waiter.join(30)
    assert not waiter.is_alive() and len(outcome) == 1 and isinstance(outcome[0], SignInCancelled)


def test_an_unreachable_endpoint_is_a_clear_error(home: Path) -> None:
    from tests.aws import free_port

    flow = sso.DeviceSignIn("studio", endpoint_url=f"http://127.0.0.1:{free_port()}", open_url=None)
    with pytest.raises(SignInError, match="Could not reach IAM Identity Center in eu-west-1"):
        flow.start()


@pytest.mark.parametrize(("profile", "message"), [("keys", "not a complete IAM Identity Center profile"), ("nosuch", "no profile called")])
def test_only_sso_profiles_can_sign_in(home: Path, profile: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sso.DeviceSignIn(profile)


def test_the_doctor_names_the_sso_identity_after_sign_in(home: Path, stand_in: OidcStandIn, aws: Setup, tmp_path: Path) -> None:
    sign_in("studio", stand_in)
    config = write_config(tmp_path / "c.yaml", aws.config(str(tmp_path / "out"), aws_profile="studio"))
    env = {k: v for k, v in {**os.environ, **stand_in.environment()}.items() if not k.startswith(("AWS_ACCESS_KEY", "AWS_SECRET"))}
    result = run_agent("doctor", "--config", str(config), env=env)
    line = next(line for line in result.stdout.splitlines() if "Credentials:" in line)
    assert line.startswith("ok    Credentials:") and "from profile studio, IAM Identity Center (SSO)" in line, result.stdout
