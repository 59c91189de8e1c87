"""When the agent's credentials run out: SSO sign-ins from botocore's token cache, temporary credentials with their
stated expiry; and what the engine makes of credentials that ran out (wait for the user, spend no attempt)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from botocore.exceptions import CredentialRetrievalError, SSOTokenLoadError, TokenRetrievalError, UnauthorizedSSOTokenError

from agent import errors
from agent.aws.expiry import Expiry, credentials_expiry
from agent.engine.retry import Kind, classify
from tests.oidc import CONFIG
from tests.unit.test_retry import client_error


@pytest.fixture
def home(private_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(private_home))
    (private_home / "aws-config").write_text(CONFIG, encoding="utf-8")
    return private_home


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def cache_token(home: Path, key: str, expires: datetime, refreshable: bool = False) -> None:
    token: dict[str, str] = {"startUrl": "https://corp.awsapps.com/start", "region": "eu-west-1", "accessToken": "t",
                             "expiresAt": stamp(expires)}
    if refreshable:
        token.update(refreshToken="r", clientId="c", clientSecret="s", registrationExpiresAt=stamp(expires + timedelta(days=80)))
    folder = home / ".aws" / "sso" / "cache"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{hashlib.sha1(key.encode()).hexdigest()}.json").write_text(json.dumps(token), encoding="utf-8")


def test_an_sso_sign_in_is_due_in_its_last_quarter_hour_and_once_over(home: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    assert credentials_expiry("studio") == Expiry("the sign-in of profile studio", None, "studio", can_sign_in=True)
    assert credentials_expiry("studio").due()  # type: ignore[union-attr]  # never signed in here

    cache_token(home, "corp", now + timedelta(hours=2))
    assert not credentials_expiry("studio").due()  # type: ignore[union-attr]
    cache_token(home, "corp", now + timedelta(minutes=10))
    soon = credentials_expiry("studio")
    assert soon is not None and soon.expires_at == now + timedelta(minutes=10) and soon.due() and not soon.expired()
    cache_token(home, "corp", now - timedelta(minutes=1))
    assert credentials_expiry("studio").expired()  # type: ignore[union-attr]

    # With a refresh token botocore renews the sign-in by itself: only the engine's failure is news then.
    cache_token(home, "corp", now + timedelta(minutes=5), refreshable=True)
    renewing = credentials_expiry("studio")
    assert renewing is not None and renewing.renews_itself and not renewing.due()

    cache_token(home, "https://old.awsapps.com/start", now + timedelta(minutes=3))  # the legacy form: keyed by start URL
    legacy = credentials_expiry("legacy")
    assert legacy is not None and legacy.due() and legacy.can_sign_in and legacy.profile == "legacy"


def test_temporary_credentials_with_a_stated_expiry(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    later = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=12)
    environment = {"AWS_ACCESS_KEY_ID": "ASIAX", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "t",
                   "AWS_CREDENTIAL_EXPIRATION": stamp(later)}
    found = credentials_expiry(None, environment)
    assert found == Expiry("environment variables", later) and found.due() and not found.can_sign_in
    assert credentials_expiry(None, {**environment, "AWS_CREDENTIAL_EXPIRATION": ""}) is None, "no stated expiry: nothing to say"
    assert credentials_expiry("studio", environment) is not None and credentials_expiry("studio", environment).can_sign_in, (  # type: ignore[union-attr]
        "an explicit profile wins over the environment, as in botocore")

    (home / "aws-credentials").write_text(f"[saml]\naws_access_key_id = ASIAY\naws_secret_access_key = s\naws_session_token = t\n"
                                          f"x_security_token_expires = {later.isoformat()}\n\n[plain]\naws_access_key_id = AKIAZ\n"
                                          "aws_secret_access_key = s\n", encoding="utf-8")
    assert credentials_expiry("saml", {}) == Expiry("the session token of profile saml", later, "saml")
    assert credentials_expiry("plain", {}) is None
    assert credentials_expiry("nobody", {}) is None


@pytest.mark.parametrize(("error", "expected"), [
    (UnauthorizedSSOTokenError(), errors.SignInExpiredError),
    (SSOTokenLoadError(error_msg="no token"), errors.SignInExpiredError),
    (TokenRetrievalError(provider="sso", error_msg="Token has expired and refresh failed"), errors.SignInExpiredError),
    (client_error("ExpiredToken"), errors.CredentialsExpiredError),
    (client_error("ExpiredTokenException"), errors.CredentialsExpiredError),
    (CredentialRetrievalError(provider="custom-process", error_msg="saml2aws: please log in"), errors.CredentialsError),
])
def test_credentials_that_ran_out_wait_for_the_user_and_spend_no_attempt(error: Exception, expected: type) -> None:
    failure = classify(error)
    assert failure.kind is Kind.WAIT and type(failure.error) is expected
    if expected is not errors.CredentialsError:
        assert "Sign in again…" in failure.reason and "nothing is lost" in failure.reason
