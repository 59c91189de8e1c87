"""`s3-sqs-agent setup` (and doctor) in a real terminal, as a person answers it (issue 21): a pty of a given width, against
moto. What setup checked is what it saves; a failed check is not saved by Enter and leads back to its question; a
local server's queue URL names the endpoint; a listed queue's name and the nearest name of a mistyped one are answers;
the closing hint names --config; doctor's lines wrap at words."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import boto3
import pytest
import yaml

from tests.aws import REGION, Setup, allow_bucket_in_policy
from tests.helpers import login_environment, run_agent
from tests.terminal import TerminalSession


@pytest.fixture(autouse=True)
def no_imds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # "use the environment" without waiting for an instance role


@pytest.fixture
def studio(private_home: Path) -> str:
    """An access key profile, as `aws configure` writes it: the account of the tests that are not about the environment."""
    (private_home / "aws-credentials").write_text("[studio]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
                                                  encoding="utf-8")
    return "studio"


def test_what_setup_checked_with_the_environment_is_saved_and_works_at_login(aws: Setup, tmp_path: Path, private_home: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 21 item 1: the endpoint and region came from this shell, the key too: all of it reaches the agent at login."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws.endpoint)
    monkeypatch.setenv("AWS_REGION", REGION)  # moto keeps queues per region: the local URL names none
    config, out = tmp_path / "config.yaml", tmp_path / "S3 Downloads"
    term = TerminalSession("setup", "--config", str(config), "--no-browser")
    term.answer("1", after="Choose [1]: ")  # the environment's credentials
    said = term.expect("(Y/n): ")
    assert "only in the environment" in said and "at login will not have it" in said, said
    term.answer("")  # yes, save it as a profile
    term.answer("", after="Profile name [s3-sqs-agent]: ")
    term.answer(aws.queue_url, after="Queue URL or ARN")
    term.answer(aws.bucket, after="Bucket name (- for none)")
    term.answer(str(out), after="Folder [")
    assert term.wait() == 0, term.output
    assert "FAIL" not in term.output
    assert f"From this terminal's environment, now in the config too: endpoint_url: {aws.endpoint} (from AWS_ENDPOINT_URL)" in term.output
    assert f"aws_region: {REGION} (from AWS_REGION)" in term.output
    assert "The access key of this terminal's environment is profile s3-sqs-agent in" in term.output

    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    assert data["endpoint_url"] == aws.endpoint and data["aws_region"] == REGION and data["aws_profile"] == "s3-sqs-agent"
    assert "[s3-sqs-agent]\naws_access_key_id = testing\n" in (private_home / "aws-credentials").read_text(encoding="utf-8")
    assert "testing" not in config.read_text(encoding="utf-8"), "a key never goes into the config"

    aws.put("takes/at login.wav", b"RIFF after a restart")
    result = run_agent("run", "--headless", "--config", str(config), "--drain", env=login_environment())
    assert result.returncode == 0, result.stderr
    assert (out / "takes" / "at login.wav").read_bytes() == b"RIFF after a restart"


def test_a_failed_check_is_not_saved_by_enter_and_leads_back_to_its_question(aws: Setup, tmp_path: Path, studio: str) -> None:
    """Issue 21 items 2 and 16: Enter on "Save anyway?" is no; then setup offers the question at fault, with every answer
    kept; the closing hint names --config FILE."""
    config = tmp_path / "studio.yaml"
    term = TerminalSession("setup", "--config", str(config), "--endpoint-url", aws.endpoint, "--no-browser")
    term.answer("1", after="Choose [")  # the studio profile
    term.answer(aws.queue_url, after="Queue URL or ARN")
    term.answer("no-such-bucket-here", after="Bucket name (- for none)")
    term.answer(str(tmp_path / "takes"), after="Folder [")
    term.expect("FAIL  Bucket: There is no bucket called no-such-bucket-here.")
    term.answer("", after="Save the config anyway, to fix those later? (y/N): ")
    assert not config.exists(), "Enter on a failed check saves nothing"
    term.answer("", after="Go back to the bucket question? (Y/n): ")
    term.answer(aws.bucket, after="Bucket name (- for none) [no-such-bucket-here]: ")
    term.answer("", after=f"Folder [{tmp_path / 'takes'}]: ")
    assert term.wait() == 0, term.output
    assert yaml.safe_load(config.read_text(encoding="utf-8"))["s3_bucket_name"] == aws.bucket
    assert f"Start downloading: s3-sqs-agent tray --config {config} (the tray app), or s3-sqs-agent run --headless --config {config}." \
        in term.output, term.output[-800:]


def test_a_local_servers_queue_url_names_the_endpoint_and_the_bucket_follows(aws: Setup, tmp_path: Path, studio: str) -> None:
    """Issue 21 item 4: no --endpoint-url, no AWS_ENDPOINT_URL: the queue URL's own server is used, for S3 too."""
    allow_bucket_in_policy(aws)
    config = tmp_path / "config.yaml"
    term = TerminalSession("setup", "--config", str(config), "--no-browser")
    term.answer("1", after="Choose [")
    term.answer(aws.queue_url, after="Queue URL or ARN")
    said = term.expect("S3 endpoint (Enter: the same server)")
    assert f"The queue is on {aws.endpoint}, not on AWS: that is the SQS endpoint." in said, said
    term.answer("", after=f"[{aws.endpoint}]: ")
    said = term.expect("Bucket name (- for none)")
    assert f"The queue's policy names the bucket {aws.bucket}." in said, "the policy is read on the queue's own server"
    term.answer("", after=f"[{aws.bucket}]: ")
    term.answer(str(tmp_path / "takes"), after="Folder [")
    assert term.wait() == 0, term.output
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    assert data["endpoint_url"] == aws.endpoint and data["s3_bucket_name"] == aws.bucket


def test_a_listed_queues_name_and_the_nearest_name_of_a_missing_queue_are_answers(moto_endpoint: str, tmp_path: Path, studio: str,
                                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 21 items 16 (a listed queue's name) and 7 (did you mean the nearest queue?)."""
    region = "ap-south-2"  # no other test makes queues there
    monkeypatch.setenv("AWS_DEFAULT_REGION", region)
    sqs = boto3.client("sqs", region_name=region, endpoint_url=moto_endpoint)
    names = [f"{prefix}-{uuid.uuid4().hex[:6]}" for prefix in ("uploads", "mixes")]
    urls = {name: sqs.create_queue(QueueName=name)["QueueUrl"] for name in names}
    try:
        config = tmp_path / "config.yaml"
        term = TerminalSession("setup", "--config", str(config), "--endpoint-url", moto_endpoint, "--no-browser")
        term.answer("1", after="Choose [")
        term.expect(f"Queues in {region}:")
        term.answer(names[1], after="Queue URL or ARN, or a name or number from the list: ")  # mixes-…, by its name
        term.answer("-", after="Bucket name (- for none)")
        term.answer(str(tmp_path / "takes"), after="Folder [")
        assert term.wait() == 0, term.output
        assert yaml.safe_load(config.read_text(encoding="utf-8"))["sqs_queue_url"] == urls[names[1]]

        typo = urls[names[0]].replace("uploads-", "uplods-")
        term = TerminalSession("setup", "--config", str(config), "--endpoint-url", moto_endpoint, "--no-browser")
        term.answer("1", after="Choose [")
        term.answer(typo, after="Queue URL or ARN, or a name or number from the list [")
        said = term.expect("(Y/n): ")
        assert f"There is no queue {typo.rsplit('/', 1)[1]} in {region} for these credentials." in said, said
        assert f"Did you mean {names[0]}?" in said, said
        term.answer("")
        term.answer("-", after="Bucket name (- for none)")
        term.answer("", after="Folder [")
        assert term.wait() == 0, term.output
        assert yaml.safe_load(config.read_text(encoding="utf-8"))["sqs_queue_url"] == urls[names[0]]
    finally:
        for url in urls.values():
            sqs.delete_queue(QueueUrl=url)


def test_doctors_lines_wrap_at_words_to_the_terminals_width(aws: Setup, tmp_path: Path) -> None:
    """Issue 21 item 16: in a 60-column terminal no line is longer than 60 and no word is cut; piped, lines stay whole."""
    config = tmp_path / "config.yaml"
    config.write_text(f"sqs_queue_url: {aws.queue_url}\ndownload_folder: {tmp_path}\nendpoint_url: {aws.endpoint}\n"
                      "s3_bucket_name: no-such-bucket-here\n", encoding="utf-8")
    piped = run_agent("doctor", "--config", str(config))
    bucket = [line for line in piped.stdout.splitlines() if line.startswith("FAIL  Bucket:")]
    assert bucket, piped.stdout
    fix = piped.stdout.splitlines()[piped.stdout.splitlines().index(bucket[0]) + 1]
    assert fix.startswith("      Fix: ") and len(bucket[0] + fix) > 120, "long enough to wrap in 60 columns"

    term = TerminalSession("doctor", "--config", str(config), columns=60)
    assert term.wait() == 1, term.output
    lines = term.output.splitlines()
    too_long = [line for line in lines if len(line) > 60 and " " in line.strip()]
    assert not too_long, "\n".join(too_long)
    words = " ".join(term.output.split())
    assert " ".join(bucket[0].split()) in words and " ".join(fix.split()) in words, "every word whole, in its order"
    start = next(i for i, line in enumerate(lines) if line.startswith("FAIL  Bucket:"))
    assert lines[start + 1].startswith("      ") and not lines[start + 1].startswith("      Fix:"), "the detail goes on, indented"
    fix_line = next(i for i, line in enumerate(lines) if i > start and line.startswith("      Fix:"))
    assert re.match(r"^ {11}\S", lines[fix_line + 1]), "the fix goes on under its own text"
