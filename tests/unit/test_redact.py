"""Masking for text meant for other people: known secrets, and whatever looks like a key, token or account number."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.redact import MASK, Redactor, aws_file_secrets, describe_environment, environment_secrets, mask_plugin_options

ACCESS_KEY = "AKIAZQ3DISTINCT7EXAM"
TEMP_KEY = "ASIAZQ3DISTINCT7TEMP"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCY0DISTINCTX"  # 40 characters, as AWS secret keys are
SESSION_TOKEN = "IQoJb3JpZ2luX2VjEDISTINCT" + "Ab0/+" * 60
ACCOUNT = "210987654321"


@pytest.mark.parametrize(("text", "kept", "gone"), [
    (f"key {ACCESS_KEY} and {TEMP_KEY}", ["key AKIA" + MASK, "ASIA" + MASK], [ACCESS_KEY[4:], TEMP_KEY[4:]]),
    (f"secret={SECRET_KEY}", ["secret="], [SECRET_KEY[:10]]),
    (f"loaded {SECRET_KEY} from somewhere", ["loaded ", " from somewhere"], [SECRET_KEY[8:20]]),
    (f"token {SESSION_TOKEN}.", ["token ", "."], [SESSION_TOKEN[30:60]]),
    (f"https://sqs.us-east-2.amazonaws.com/{ACCOUNT}/audio-uploads", ["https://sqs.us-east-2.amazonaws.com/", "/audio-uploads"], [ACCOUNT]),
    (f"arn:aws:sqs:us-east-2:{ACCOUNT}:audio", ["arn:aws:sqs:us-east-2:", ":audio"], [ACCOUNT]),
    ("endpoint_url: https://admin:hunter2hunter@minio.local:9000", ["https://" + MASK + "@minio.local:9000"], ["admin", "hunter2"]),
    ("GET /b/k?X-Amz-Credential=AKIA%2F123&X-Amz-Signature=abcdef0123&x=1", ["X-Amz-Credential=" + MASK, "&x=1"], ["abcdef0123", "%2F123"]),
    ("Authorization: AWS4-HMAC-SHA256 Credential=x, Signature=y", ["Authorization: " + MASK], ["AWS4-HMAC"]),
    ("    options:\n      api_token: t0ps3cr3t  # the webhook's\n", ["api_token: " + MASK], ["t0ps3cr3t"]),
    ("options: {command: [x], env: {UPLOAD_TOKEN: 'flowvalue1'}}", ["UPLOAD_TOKEN: " + MASK, "}}"], ["flowvalue1"]),
    ('{"clientSecret": "jsonvalue77", "region": "us-east-1"}', ['"region": "us-east-1"'], ["jsonvalue77"]),
    ("credentials_file: /home/me/.aws/credentials\nAWS_CREDENTIAL_EXPIRATION=2026-11-28T14:30:00Z",
     ["credentials_file: /home/me/.aws/credentials", "EXPIRATION=2026-11-28T14:30:00Z"], []),
    ("GET /login?password=pa55word&user=bob", ["&user=bob"], ["pa55word"]),
    ("password: hunter#2SecretPass  # rotated monthly\n", ["password: " + MASK, "# rotated monthly"], ["2SecretPass"]),
    ("env: {API_TOKEN: abc#123def}, next", ["API_TOKEN: " + MASK + "}"], ["123def"]),
    ("curl -H 'Authorization' -H Bearer eyJhbGciOiJIUzI1NiJ9.payload", ["Bearer " + MASK], ["eyJhbGci"]),
    ("posted to https://hooks.slack.com/services/T000/B000/abcDEF123 and ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
     ["https://hooks.slack.com/" + MASK], ["T000/B000", "a1B2c3D4e5"]),
])
def test_what_looks_secret_is_masked_and_the_rest_kept(text: str, kept: list[str], gone: list[str]) -> None:
    masked = Redactor()(text)
    for part in kept:
        assert part in masked, masked
    for part in gone:
        assert part not in masked, masked


def test_ordinary_log_lines_stay_readable() -> None:
    lines = [
        "2026-11-28 14:30:01,123 INFO    agent.engine.objects: Downloaded takes/take 01.wav (1.2 MB) in 0.4 s",
        "2026-11-28 14:30:02,456 WARNING agent.engine.consumer: AWS rejected the credentials (InvalidAccessKeyId: The key is wrong)",
        "ETag 9b2cf535f27731c974343645a3985328, sha1 2fd4e1c67a2d28fced849ee1bb76e7391b93eb12",
        "Downloaded 124 files (1.5 GB) in 3600.0 s; 3 retries; 0 given up; epoch 1764339000123",
    ]
    for line in lines:
        assert Redactor()(line) == line


def test_known_secrets_are_masked_wherever_they_appear() -> None:
    mask = Redactor(["s3cr3t-value", "x"])  # too short to mask: "x" would eat every x
    assert mask("a s3cr3t-value b, prefix-s3cr3t-value-suffix, x") == f"a {MASK} b, prefix-{MASK}-suffix, x"


def test_the_environment_and_the_aws_files_give_their_secrets(tmp_path: Path) -> None:
    environ = {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_SESSION_TOKEN": SESSION_TOKEN,
               "AWS_PROFILE": "work", "AWS_REGION": "eu-west-1", "GITHUB_TOKEN": "ghp_distinct123", "HOME": str(tmp_path),
               "AWS_CONFIG_FILE": str(tmp_path / "config"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials")}
    assert set(environment_secrets(environ)) == {ACCESS_KEY, SECRET_KEY, SESSION_TOKEN, "ghp_distinct123"}
    assert describe_environment(environ) == [
        f"AWS_ACCESS_KEY_ID={MASK}", f"AWS_CONFIG_FILE={tmp_path / 'config'}", "AWS_PROFILE=work", "AWS_REGION=eu-west-1",
        f"AWS_SECRET_ACCESS_KEY={MASK}", f"AWS_SESSION_TOKEN={MASK}", f"AWS_SHARED_CREDENTIALS_FILE={tmp_path / 'credentials'}"]
    (tmp_path / "credentials").write_text(f"[work]\naws_access_key_id = {TEMP_KEY}\naws_secret_access_key = filesecret99\n"
                                          "region = eu-west-1\n", encoding="utf-8")
    (tmp_path / "config").write_text("[profile work]\nregion = eu-west-1\ncredential_process = /bin/get-creds --pw cfgsecret55\n",
                                     encoding="utf-8")
    (tmp_path / ".aws" / "sso" / "cache").mkdir(parents=True)
    (tmp_path / ".aws" / "sso" / "cache" / "abc.json").write_text(json.dumps(
        {"accessToken": "ssoaccess123", "refreshToken": "ssorefresh456", "clientSecret": "ssoclient789", "region": "eu-west-1"}))
    assert set(aws_file_secrets(environ)) == {TEMP_KEY, "filesecret99", "/bin/get-creds --pw cfgsecret55", "ssoaccess123",
                                              "ssorefresh456", "ssoclient789"}
    masked = Redactor.for_this_machine(environ)(f"used filesecret99 and ssorefresh456 in eu-west-1 for {ACCOUNT}")
    assert masked == f"used {MASK} and {MASK} in eu-west-1 for ************"


def test_a_config_that_does_not_parse_has_the_lines_that_go_on_a_plugin_value_masked_too() -> None:
    text = ("sqs_queue_url: [unclosed\nplugins:\n  - name: run-command\n    options:\n"
            "      command: [curl, -H,\n                'X-Key: keyline-distinct', '{path}']\n"
            "      env:\n        NOTE: >\n          folded-distinct-value\n"
            "max_attempts: 3\n")
    masked = mask_plugin_options(text)
    assert "keyline-distinct" not in masked and "folded-distinct-value" not in masked, masked
    assert masked == ("sqs_queue_url: [unclosed\nplugins:\n  - name: run-command\n    options:\n"
                      f"      command: {MASK}\n                {MASK}\n      env:\n        NOTE: {MASK}\n          {MASK}\n"
                      "max_attempts: 3\n")
