"""agent.aws.profiles: the profiles of the AWS files, SSO sign-in state from botocore's cache, adding an access key."""

from __future__ import annotations

import hashlib
import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import botocore.session
import pytest

from agent.aws import profiles
from agent.aws.profiles import Profile

CONFIG = """\
# my AWS config
[default]
region = us-east-2

[profile studio]
sso_session = corp
sso_account_id = 123456789012
sso_role_name = AudioReader
region = eu-west-1

[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = us-east-1
sso_registration_scopes = sso:account:access

[profile legacy]
sso_start_url = https://old.awsapps.com/start
sso_region = us-west-2
sso_account_id = 123456789012
sso_role_name = AudioReader

[profile admin]
role_arn = arn:aws:iam::123456789012:role/Admin
source_profile = default

[profile vault]
credential_process = /usr/bin/aws-vault export --format=json work
"""
CREDENTIALS = """\
# keys
[default]
aws_access_key_id = AKIAIOSFODNN7EXAMPLE
aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY

[ci]
aws_access_key_id = AKIAI44QH8DHBEXAMPLE
aws_secret_access_key = je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY
"""


@pytest.fixture
def aws_files(private_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(private_home))  # botocore's SSO cache is ~/.aws/sso/cache
    (private_home / "aws-config").write_text(CONFIG, encoding="utf-8")
    (private_home / "aws-credentials").write_text(CREDENTIALS, encoding="utf-8")
    return private_home


def cache_token(home: Path, key_source: str, expires: datetime, **extra: str) -> Path:
    folder = home / ".aws" / "sso" / "cache"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{hashlib.sha1(key_source.encode()).hexdigest()}.json"
    path.write_text(json.dumps({"startUrl": "x", "region": "us-east-1", "accessToken": "token",
                                "expiresAt": expires.strftime("%Y-%m-%dT%H:%M:%SZ"), **extra}), encoding="utf-8")
    return path


def by_name(found: list[Profile]) -> dict[str, Profile]:
    return {p.name: p for p in found}


def test_every_profile_of_both_files_with_its_kind_and_region(aws_files: Path) -> None:
    found = profiles.list_profiles()
    assert [p.name for p in found] == ["default", "admin", "ci", "legacy", "studio", "vault"]
    kinds = {p.name: p.kind for p in found}
    assert kinds == {"default": "keys", "admin": "assume-role", "ci": "keys", "legacy": "sso", "studio": "sso", "vault": "process"}
    named = by_name(found)
    assert named["default"].region == "us-east-2" and named["studio"].region == "eu-west-1" and named["ci"].region is None
    assert named["studio"].sso_start_url == "https://corp.awsapps.com/start" and named["studio"].sso_session == "corp"
    assert named["legacy"].sso_start_url == "https://old.awsapps.com/start" and named["legacy"].sso_session is None
    assert named["legacy"].sso_region == "us-west-2"
    assert all(p.signed_in for p in found if p.kind != "sso")


def test_sso_sign_in_state_comes_from_botocores_token_cache(aws_files: Path) -> None:
    named = by_name(profiles.list_profiles())
    assert not named["studio"].signed_in and named["studio"].sso_expires_at is None
    later = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    cache_token(aws_files, "corp", later)  # an sso-session token is cached under the session's name
    cache_token(aws_files, "https://old.awsapps.com/start", datetime.now(UTC) - timedelta(minutes=1))  # legacy: the start URL
    named = by_name(profiles.list_profiles())
    assert named["studio"].signed_in and named["studio"].sso_expires_at == later
    assert not named["legacy"].signed_in and named["legacy"].sso_expires_at is not None
    assert not named["studio"].sso_refreshable


def test_an_expired_token_with_a_refresh_token_is_refreshable(aws_files: Path) -> None:
    soon = datetime.now(UTC) + timedelta(days=30)
    cache_token(aws_files, "corp", datetime.now(UTC) - timedelta(hours=2), refreshToken="r", clientId="c", clientSecret="s",
                registrationExpiresAt=soon.strftime("%Y-%m-%dT%H:%M:%SZ"))
    studio = by_name(profiles.list_profiles())["studio"]
    assert not studio.signed_in and studio.sso_refreshable


def test_the_standard_locations_are_used_without_the_environment_variables(private_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(private_home))
    monkeypatch.delenv("AWS_CONFIG_FILE")
    monkeypatch.delenv("AWS_SHARED_CREDENTIALS_FILE")
    (private_home / ".aws").mkdir()
    (private_home / ".aws" / "config").write_text("[profile home]\nregion = ap-southeast-2\n", encoding="utf-8")
    (private_home / ".aws" / "credentials").write_text("[keys]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n", encoding="utf-8")
    assert [(p.name, p.kind, p.region) for p in profiles.list_profiles()] == [("home", "other", "ap-southeast-2"), ("keys", "keys", None)]


def test_no_files_no_profiles(private_home: Path) -> None:
    assert profiles.list_profiles() == []


def test_a_broken_config_file_is_a_clear_error(aws_files: Path) -> None:
    (aws_files / "aws-config").write_text("[profile broken\nregion = x\n", encoding="utf-8")
    with pytest.raises(profiles.ProfileFileError, match="not a valid AWS config file"):
        profiles.list_profiles()


def test_adding_an_access_key_writes_the_credentials_file_only_and_keeps_what_was_there(aws_files: Path, tmp_path: Path) -> None:
    agent_config = aws_files / "config" / "s3-sqs-agent" / "config.yaml"
    created = profiles.add_access_key_profile("s3-sqs-agent", " AKIAIOSFODNN7NEWKEY1 ", "secret/with+chars", region="us-east-2")
    assert created == Profile("s3-sqs-agent", "keys", "us-east-2")
    credentials = (aws_files / "aws-credentials").read_text(encoding="utf-8")
    assert credentials.startswith(CREDENTIALS), "existing profiles and comments are kept"
    assert "[s3-sqs-agent]\naws_access_key_id = AKIAIOSFODNN7NEWKEY1\naws_secret_access_key = secret/with+chars\n" in credentials
    assert stat.S_IMODE((aws_files / "aws-credentials").stat().st_mode) == 0o600
    config = (aws_files / "aws-config").read_text(encoding="utf-8")
    assert config.startswith(CONFIG) and "[profile s3-sqs-agent]\nregion = us-east-2\n" in config
    assert "secret" not in config and not agent_config.exists()
    session = botocore.session.Session(profile="s3-sqs-agent")  # botocore reads it as written
    credentials_seen = session.get_credentials()
    assert credentials_seen is not None and credentials_seen.access_key == "AKIAIOSFODNN7NEWKEY1"
    assert session.get_config_variable("region") == "us-east-2"
    assert by_name(profiles.list_profiles())["s3-sqs-agent"].kind == "keys"


def test_a_new_credentials_file_is_private(private_home: Path) -> None:
    profiles.add_access_key_profile("first", "AKIAIOSFODNN7EXAMPLE", "secret")
    path = private_home / "aws-credentials"
    assert path.read_text(encoding="utf-8") == "[first]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = secret\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not (private_home / "aws-config").exists(), "no region, nothing for the config file"


@pytest.mark.parametrize(("name", "key", "secret", "region", "message"), [
    ("ci", "AKIAIOSFODNN7EXAMPLE", "s", None, "already exists"),
    ("two words", "AKIAIOSFODNN7EXAMPLE", "s", None, "cannot be a profile name"),
    ("[x]", "AKIAIOSFODNN7EXAMPLE", "s", None, "cannot be a profile name"),
    ("new", "not-a-key", "s", None, "not an access key ID"),
    ("new", "AKIAIOSFODNN7EXAMPLE", "", None, "secret access key is missing"),
    ("new", "AKIAIOSFODNN7EXAMPLE", "has space", None, "secret access key is missing or has spaces"),
    ("new", "AKIAIOSFODNN7EXAMPLE", "s", "Ohio", "region name"),
])
def test_bad_access_key_input_says_what_to_change(aws_files: Path, name: str, key: str, secret: str, region: str | None, message: str) -> None:
    before = (aws_files / "aws-credentials").read_text(encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        profiles.add_access_key_profile(name, key, secret, region)
    assert (aws_files / "aws-credentials").read_text(encoding="utf-8") == before


def test_ambient_credentials_name_the_environment(private_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert profiles.ambient_credentials() == "environment variables"
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    assert profiles.ambient_credentials() is None


def test_ambient_credentials_ignore_the_default_profile(aws_files: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    assert profiles.ambient_credentials() is None, "the [default] profile is a profile, listed as such"


def test_session_uses_the_profile_and_region(aws_files: Path) -> None:
    session = profiles.session("ci", "ap-northeast-1")
    assert session.profile_name == "ci" and session.region_name == "ap-northeast-1"
    assert profiles.session(None, None).profile_name == "default"


def test_sso_expiry_is_none_without_a_sign_in(aws_files: Path) -> None:
    def expiry(name: str) -> datetime | None:
        return next(p for p in profiles.list_profiles() if p.name == name).sso_expires_at

    assert expiry("studio") is None and expiry("ci") is None
    later = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=8)
    cache_token(aws_files, "corp", later)
    assert expiry("studio") == later
