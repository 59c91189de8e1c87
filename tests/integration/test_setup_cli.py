"""`s3-sqs-agent setup` driven as a script drives it: answers piped on stdin, against moto (and the OIDC stand-in).

It must write a config that works (the agent then downloads), keep the file's comments, never put a key into it,
ask again after a bad answer, and stop with a clear message when the answers run out."""

from __future__ import annotations

import os
import stat
import uuid
from pathlib import Path

import boto3
import pytest
import yaml

from tests.aws import Setup, allow_bucket_in_policy
from tests.helpers import drain, run_agent
from tests.oidc import OidcStandIn


@pytest.fixture
def no_imds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # "use the environment / instance role" without a 2 s wait


def setup(config: Path, answers: list[str], endpoint: str, *extra: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = run_agent("setup", "--config", str(config), "--endpoint-url", endpoint, "--no-browser", *extra,
                       input="".join(f"{a}\n" for a in answers), env=env or os.environ.copy())
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    return result.returncode, output


def test_a_fresh_setup_writes_a_config_that_downloads(aws: Setup, tmp_path: Path, no_imds: None) -> None:
    allow_bucket_in_policy(aws)
    config, out = tmp_path / "conf" / "config.yaml", tmp_path / "S3 Downloads"
    # The environment's credentials; the queue's ARN; the bucket the policy names; a folder that does not exist yet.
    code, output = setup(config, ["1", "n", aws.queue_arn, "", str(out)], aws.endpoint)
    assert code == 0, output
    assert "1) Use the environment variables" in output
    assert f"The queue's policy names the bucket {aws.bucket}." in output
    assert f"Created {out}." in output and out.is_dir()
    assert "ok    Credentials:" in output and "FAIL" not in output
    assert f"Saved {config}." in output
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    assert data == {"sqs_queue_url": aws.queue_url, "download_folder": str(out), "s3_bucket_name": aws.bucket,
                    "endpoint_url": aws.endpoint}
    assert "# Credentials are never read from this file" in config.read_text(encoding="utf-8"), "the template's comments"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    aws.put("takes/first.wav", b"RIFF first take")
    result = drain(config)
    assert result.returncode == 0, result.stderr
    assert (out / "takes" / "first.wav").read_bytes() == b"RIFF first take"


def test_an_access_key_goes_to_the_credentials_file_never_to_the_config(aws: Setup, tmp_path: Path, private_home: Path,
                                                                         no_imds: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    config = tmp_path / "config.yaml"
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    # No profile and no environment: "Add an access key" is the only choice, and the default.
    code, output = setup(config, ["", "studio-keys", "AKIAIOSFODNN7EXAMPLE", secret, "us-east-1", aws.queue_url, "-", str(tmp_path)],
                         aws.endpoint)
    assert code == 0, output
    assert "1) Add an access key" in output and "Added profile studio-keys." in output
    assert secret not in output, "a piped secret is not echoed"
    credentials = (private_home / "aws-credentials").read_text(encoding="utf-8")
    assert f"[studio-keys]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = {secret}\n" in credentials
    text = config.read_text(encoding="utf-8")
    assert "AKIA" not in text and secret not in text
    data = yaml.safe_load(text)
    assert data["aws_profile"] == "studio-keys" and "s3_bucket_name" not in data
    assert "from profile studio-keys, an access key in the credentials file" in output


def test_setup_keeps_the_users_comments_and_other_keys(aws: Setup, tmp_path: Path, no_imds: None) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("# my settings, do not lose this\n"
                      f"sqs_queue_url: {aws.queue_url}x   # the old queue\n"
                      "download_folder: ./old\n"
                      "concurrency: 4   # the NAS is slow\n"
                      "aws_profile: gone\n", encoding="utf-8")
    code, output = setup(config, ["", "n", aws.queue_url, aws.bucket, ""], aws.endpoint)
    assert code == 0, output
    assert f"[{aws.queue_url}x]" in output, "the current values are the defaults"
    text = config.read_text(encoding="utf-8")
    assert "# my settings, do not lose this" in text and "concurrency: 4   # the NAS is slow" in text
    assert "# the old queue" in text
    data = yaml.safe_load(text)
    assert data["sqs_queue_url"] == aws.queue_url and data["download_folder"] == "./old" and "aws_profile" not in data
    assert (tmp_path / "old").is_dir(), "a relative folder is relative to the config file, as the agent reads it"


def test_a_bad_answer_is_asked_again_with_what_was_wrong(aws: Setup, tmp_path: Path, no_imds: None) -> None:
    (tmp_path / "a-file").write_text("x")
    code, output = setup(tmp_path / "c.yaml", ["7", "1", "n", "audio-uploads", aws.queue_url, "s3://Bad_Name", f"s3://{aws.bucket}/",
                                               str(tmp_path / "a-file"), str(tmp_path / "ok")], aws.endpoint)
    assert code == 0, output
    assert "Type a number from 1 to 2." in output
    assert "That is not a queue URL or ARN" in output
    assert "A bucket name is 3 to 63 lower-case letters" in output
    assert "That folder cannot be used" in output
    assert yaml.safe_load((tmp_path / "c.yaml").read_text(encoding="utf-8"))["s3_bucket_name"] == aws.bucket


def test_answers_that_run_out_stop_setup_without_writing(aws: Setup, tmp_path: Path, no_imds: None) -> None:
    code, output = setup(tmp_path / "c.yaml", ["1"], aws.endpoint)
    assert code == 2, output
    assert "Setup stopped: The answers ended before this question: Queue URL or ARN" in output
    assert not (tmp_path / "c.yaml").exists()


def test_failed_checks_are_shown_and_saving_is_the_users_choice(aws: Setup, tmp_path: Path, no_imds: None) -> None:
    code, output = setup(tmp_path / "c.yaml", ["1", "n", aws.queue_url, "no-such-bucket-here", str(tmp_path), "n"], aws.endpoint)
    assert code == 1, output
    assert "FAIL  Bucket: There is no bucket called no-such-bucket-here." in output
    assert "Nothing was saved." in output and not (tmp_path / "c.yaml").exists()
    code, output = setup(tmp_path / "c.yaml", ["1", "n", aws.queue_url, "no-such-bucket-here", str(tmp_path), "y"], aws.endpoint)
    assert code == 1 and "Saved" in output and (tmp_path / "c.yaml").exists(), output


def test_a_queue_can_be_picked_from_the_list(moto_endpoint: str, tmp_path: Path, no_imds: None, monkeypatch: pytest.MonkeyPatch) -> None:
    region = "eu-north-1"  # no other test makes queues there, so the list holds this test's queues only
    monkeypatch.setenv("AWS_DEFAULT_REGION", region)
    sqs = boto3.client("sqs", region_name=region, endpoint_url=moto_endpoint)
    names = [f"{prefix}-{uuid.uuid4().hex[:8]}" for prefix in ("takes", "Archive", "mixes")]
    urls = {name: sqs.create_queue(QueueName=name)["QueueUrl"] for name in names}
    try:
        listed = sorted(names, key=str.lower)
        code, output = setup(tmp_path / "c.yaml", ["1", "n", str(listed.index(names[2]) + 1), "-", str(tmp_path)], moto_endpoint)
    finally:
        for url in urls.values():
            sqs.delete_queue(QueueUrl=url)
    assert code == 0, output
    assert f"Queues in {region}:\n" + "".join(f"  {n}) {name}\n" for n, name in enumerate(listed, 1)) in output
    data = yaml.safe_load((tmp_path / "c.yaml").read_text(encoding="utf-8"))
    assert data["sqs_queue_url"] == urls[names[2]]
    assert data["aws_region"] == region, "a local endpoint's queue URL names no region: the one it was listed in is kept"


def test_an_sso_profile_signs_in_during_setup(aws: Setup, tmp_path: Path, private_home: Path, no_imds: None,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(private_home))
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    (private_home / "aws-config").write_text(
        "[profile studio]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Reader\nregion = us-east-1\n\n"
        "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n", encoding="utf-8")
    stand_in = OidcStandIn(pending_polls=1).start()
    try:
        code, output = setup(tmp_path / "c.yaml", ["1", "y", aws.queue_url, "", str(tmp_path)], aws.endpoint,
                             env={**os.environ, **stand_in.environment()})
    finally:
        stand_in.stop()
    assert code == 0, output
    assert "1) studio" in output and "IAM Identity Center, sign-in needed" in output
    assert f"Open this address in a browser: {stand_in.url}/device?user_code=WXYZ-1234" in output
    assert "Check that it shows the code WXYZ-1234" in output and "Signed in until" in output
    assert "from profile studio, IAM Identity Center (SSO)" in output
    assert yaml.safe_load((tmp_path / "c.yaml").read_text(encoding="utf-8"))["aws_profile"] == "studio"


def test_a_bad_endpoint_url_is_a_usage_error(tmp_path: Path) -> None:
    result = run_agent("setup", "--config", str(tmp_path / "c.yaml"), "--endpoint-url", "localhost:5000", input="")
    assert result.returncode == 2 and "expected an http:// or https:// URL" in result.stderr
