"""`s3-sqs-agent doctor` against moto: every check passes on a working setup, and each broken part fails its check.

Denied permissions come from the fault proxy (tests/reliability/proxy.py), which answers chosen operations with
403 AccessDenied as IAM would; a skewed clock from the proxy's Date header. The doctor runs as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from agent import config as config_module
from agent.aws import doctor
from agent.aws.resources import queue_name
from agent.engine import permissions
from tests.aws import Setup
from tests.helpers import CAN_DROP_ROOT_OVERRIDES, IS_ROOT, drain, run_agent, write_config
from tests.reliability.proxy import STS_INVALID_TOKEN, FaultProxy


def lines(output: str) -> dict[str, str]:
    """Check name -> its block of output (the first line and the indented fix and policy)."""
    blocks: dict[str, str] = {}
    name = ""
    for line in output.splitlines():
        if line[:4] in ("ok  ", "FAIL", "--  ") and ":" in line:
            name = line[6:].split(":", 1)[0]
            blocks[name] = line
        elif line.startswith(" ") and name:
            blocks[name] += "\n" + line
    return blocks


def run_doctor(config: Path, **kwargs: object) -> tuple[int, dict[str, str], str]:
    result = run_agent("doctor", "--config", str(config), **kwargs)  # type: ignore[arg-type]
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr
    return result.returncode, lines(result.stdout), result.stdout


def marks(blocks: dict[str, str]) -> dict[str, str]:
    return {name: block[:4].strip() for name, block in blocks.items()}


def test_a_working_setup_passes_every_check_and_changes_nothing(quiet_aws: Setup, tmp_path: Path) -> None:
    quiet_aws.put("takes/a.wav", b"a" * 100)
    config = write_config(tmp_path / "c.yaml", quiet_aws.config(str(tmp_path / "out"), dead_letter_queue_url=quiet_aws.dlq_url))
    code, blocks, output = run_doctor(config)
    assert code == 0, output
    assert list(blocks) == list(doctor.NAMES), output
    assert set(marks(blocks).values()) == {"ok"}, output
    assert "123456789012" not in blocks["Credentials"] and "********9012" in blocks["Credentials"]
    assert "environment variables" in blocks["Credentials"]
    assert "tried while the queue was empty" in blocks["Receive messages"]
    assert "objects can be read (tried on takes/a.wav)" in blocks["Bucket"]
    assert "will be created" in blocks["Download folder"] and "free" in blocks["Download folder"]
    assert output.rstrip().endswith("9 passed, 0 failed, 0 not checked.")
    assert quiet_aws.counts() == (0, 0) and quiet_aws.counts(quiet_aws.dlq_url) == (0, 0), "nothing received, sent or left behind"
    assert not (tmp_path / "out").exists(), "the doctor creates nothing"


def test_receiving_is_never_tried_at_a_waiting_messages_expense(quiet_aws: Setup, tmp_path: Path) -> None:
    quiet_aws.send({"hello": "a message that must keep its receive count"})
    config = write_config(tmp_path / "c.yaml", quiet_aws.config(str(tmp_path)))
    code, blocks, output = run_doctor(config)
    assert code == 0, output
    assert blocks["Receive messages"].startswith("--") and "the queue holds 1 message" in blocks["Receive messages"]
    assert "first real receive will prove it" in blocks["Receive messages"]
    got = quiet_aws.sqs.receive_message(QueueUrl=quiet_aws.queue_url, AttributeNames=["ApproximateReceiveCount"])["Messages"]
    assert got[0]["Attributes"]["ApproximateReceiveCount"] == "1", "the doctor's run did not count as a receive"


def test_a_wrong_queue_url_fails_the_queue_check(quiet_aws: Setup, tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.yaml", quiet_aws.config(str(tmp_path), sqs_queue_url=quiet_aws.queue_url + "-typo"))
    code, blocks, output = run_doctor(config)
    assert code == 1, output
    assert blocks["Queue"].startswith("FAIL") and "There is no queue at" in blocks["Queue"] and "-typo" in blocks["Queue"]
    assert "Fix: Check sqs_queue_url" in blocks["Queue"]
    assert marks(blocks)["Receive messages"] == "--" and marks(blocks)["Delete messages"] == "--"
    assert marks(blocks)["Credentials"] == "ok" and marks(blocks)["Download folder"] == "ok"


def test_a_mistyped_queue_name_offers_the_nearest_existing_queue(quiet_aws: Setup, tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.yaml", quiet_aws.config(str(tmp_path), sqs_queue_url=quiet_aws.queue_url + "-typo"))
    code, blocks, output = run_doctor(config)
    name = queue_name(quiet_aws.queue_url)
    assert code == 1 and f"Fix: Check sqs_queue_url: did you mean {name!r} ({quiet_aws.queue_url})?" in blocks["Queue"], output

    # A case mistake: ListQueues in the URL's account and region knows the queue's real name.
    real = quiet_aws.sqs.create_queue(QueueName=f"Uploads-{name}")["QueueUrl"]
    config = write_config(tmp_path / "c.yaml", quiet_aws.config(str(tmp_path), sqs_queue_url=real.replace("/Uploads-", "/uploads-")))
    checks = {c.name: c for c in doctor.run_checks(config_module.load(config))}
    assert checks[doctor.QUEUE].passed is False and checks[doctor.QUEUE].suggestion == real
    assert f"did you mean 'Uploads-{name}'" in checks[doctor.QUEUE].fix
    assert checks[doctor.QUEUE].in_window()[1].startswith("Check Settings → Account → Queue URL: did you mean"), "the window's words"


def test_missing_credentials_fail_the_credentials_check(quiet_aws: Setup, tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.yaml", quiet_aws.config(str(tmp_path)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ACCESS_KEY") and not k.startswith("AWS_SECRET")}
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    code, blocks, output = run_doctor(config, env=env)
    assert code == 1, output
    assert blocks["Credentials"].startswith("FAIL  Credentials: No AWS credentials were found.")
    assert "s3-sqs-agent setup" in blocks["Credentials"]
    assert {marks(blocks)[name] for name in ("Queue", "Receive messages", "Delete messages", "Bucket")} == {"--"}
    assert marks(blocks)["Clock"] == "ok", "the clock is checked with an unsigned request"


def test_an_endpoint_that_cannot_be_reached(quiet_aws: Setup, tmp_path: Path) -> None:
    from tests.aws import free_port

    wrong = f"http://127.0.0.1:{free_port()}"
    config = write_config(tmp_path / "c.yaml", quiet_aws.config(str(tmp_path), endpoint_url=wrong))
    code, blocks, output = run_doctor(config)
    assert code == 1 and blocks["Credentials"].startswith("FAIL  Credentials: Cannot reach the endpoint"), output
    # Which endpoint, where it is set (the config's endpoint_url, named as in the file), and that the queue URL names
    # another server: a mistyped port is not a network outage.
    assert f"Cannot reach the endpoint {wrong}, set in endpoint_url." in blocks["Credentials"], output
    assert f"The queue URL names another server, {urlsplit(quiet_aws.queue_url).netloc}." in blocks["Credentials"], output
    assert "Fix: Correct endpoint_url" in blocks["Credentials"] and "internet connection" not in blocks["Credentials"], output
    assert marks(blocks)["Clock"] == "--" and "cannot be reached" in blocks["Clock"]


def test_credentials_that_aws_rejects(quiet_aws: Setup, proxy: FaultProxy, tmp_path: Path) -> None:
    proxy.faults.canned = {"POST other": (403, "text/xml", STS_INVALID_TOKEN)}  # STS's answer to a deleted access key
    config = write_config(tmp_path / "c.yaml", quiet_aws.config(str(tmp_path), endpoint_url=proxy.url))
    code, blocks, output = run_doctor(config)
    assert code == 1 and blocks["Credentials"].startswith("FAIL  Credentials: AWS rejected the credentials (InvalidClientTokenId)."), output
    assert "create a new one" in blocks["Credentials"] and marks(blocks)["Queue"] == "--"


def test_a_profile_that_does_not_exist(quiet_aws: Setup, tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.yaml", quiet_aws.config(str(tmp_path), aws_profile="nosuch"))
    code, blocks, output = run_doctor(config)
    assert code == 1 and "no AWS profile called 'nosuch'" in blocks["Credentials"], output


def test_a_profile_with_a_case_mistake_is_offered_the_one_that_exists(quiet_aws: Setup, tmp_path: Path, private_home: Path) -> None:
    (private_home / "aws-config").write_text("[profile Studio]\nregion = us-east-1\n", encoding="utf-8")
    config = write_config(tmp_path / "c.yaml", quiet_aws.config(str(tmp_path), aws_profile="studio"))
    code, blocks, output = run_doctor(config)
    assert code == 1 and "no AWS profile called 'studio'" in blocks["Credentials"], output
    assert "Fix: Did you mean 'Studio'? Profile names are case-sensitive. Choose a profile that exists in aws_profile" in blocks["Credentials"]


def test_an_sso_profile_never_signed_in_says_to_sign_in(quiet_aws: Setup, tmp_path: Path, private_home: Path) -> None:
    (private_home / "aws-config").write_text(
        "[profile studio]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n"
        "sso_account_id = 123456789012\nsso_role_name = Reader\nregion = us-east-1\n", encoding="utf-8")
    config = write_config(tmp_path / "c.yaml", quiet_aws.config(str(tmp_path), aws_profile="studio"))
    env = {**os.environ, "HOME": str(private_home)}
    env = {k: v for k, v in env.items() if not k.startswith(("AWS_ACCESS_KEY", "AWS_SECRET"))}
    code, blocks, output = run_doctor(config, env=env)
    assert code == 1, output
    assert blocks["Credentials"].startswith("FAIL  Credentials: The credentials of profile studio cannot be used")
    assert "Sign in again" in blocks["Credentials"] and "aws sso login --profile studio" in blocks["Credentials"]


@pytest.mark.parametrize(("operation", "check", "permission"), [
    ("ReceiveMessage", "Receive messages", "sqs:ReceiveMessage"),
    ("DeleteMessage", "Delete messages", "sqs:DeleteMessage"),
    ("ChangeMessageVisibility", "Delete messages", "sqs:ChangeMessageVisibility"),
    ("GetQueueAttributes", "Queue", "sqs:GetQueueAttributes"),
])
def test_access_denied_on_the_queue_names_the_permission_and_the_statement(
        quiet_aws: Setup, proxy: FaultProxy, tmp_path: Path, operation: str, check: str, permission: str) -> None:
    proxy.faults.deny = {operation}
    config = write_config(tmp_path / "c.yaml", quiet_aws.config(str(tmp_path), endpoint_url=proxy.url))
    code, blocks, output = run_doctor(config)
    assert code == 1, output
    arn = permissions.queue_arn(quiet_aws.queue_url, "us-east-1")
    assert arn.startswith("arn:aws:sqs:us-east-1:123456789012:")
    block = blocks[check]
    assert block.startswith(f"FAIL  {check}: Access denied: these credentials lack {permission} on {arn}."), output
    assert f"Fix: Ask your AWS administrator to allow {permission} on {arn}" in block
    statement = json.loads(block.split("administrator:\n", 1)[1])
    assert statement == {"Effect": "Allow", "Action": list(permissions.QUEUE_ACTIONS), "Resource": arn}
    assert proxy.count(operation) >= 1
    assert sum(1 for mark in marks(blocks).values() if mark == "FAIL") == 1, output


def test_access_denied_on_the_dead_letter_queue(quiet_aws: Setup, proxy: FaultProxy, tmp_path: Path) -> None:
    proxy.faults.deny = {"SendMessage"}
    config = write_config(tmp_path / "c.yaml", quiet_aws.config(str(tmp_path), endpoint_url=proxy.url, dead_letter_queue_url=quiet_aws.dlq_url))
    code, blocks, output = run_doctor(config)
    arn = permissions.queue_arn(quiet_aws.dlq_url, "us-east-1")
    assert code == 1, output
    assert blocks["Dead-letter queue"].startswith(f"FAIL  Dead-letter queue: Access denied: these credentials lack sqs:SendMessage on {arn}.")
    assert '"Action": "sqs:SendMessage"' in blocks["Dead-letter queue"]


def test_a_missing_dead_letter_queue(quiet_aws: Setup, tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.yaml", quiet_aws.config(str(tmp_path), dead_letter_queue_url=quiet_aws.dlq_url + "-gone"))
    code, blocks, output = run_doctor(config)
    assert code == 1 and "There is no queue at" in blocks["Dead-letter queue"], output


def test_access_denied_on_the_objects(quiet_aws: Setup, proxy: FaultProxy, tmp_path: Path) -> None:
    quiet_aws.put("a.wav", b"a")
    proxy.faults.deny = {"HeadObject", "GetObject"}
    config = write_config(tmp_path / "c.yaml", quiet_aws.config(str(tmp_path), endpoint_url=proxy.url))
    code, blocks, output = run_doctor(config)
    objects = f"arn:aws:s3:::{quiet_aws.bucket}/*"
    assert code == 1 and blocks["Bucket"].startswith(f"FAIL  Bucket: Access denied: these credentials lack s3:GetObject on {objects}."), output
    assert json.loads(blocks["Bucket"].split("administrator:\n", 1)[1]) == {"Effect": "Allow", "Action": "s3:GetObject", "Resource": objects}


def test_a_bucket_that_does_not_exist(quiet_aws: Setup, tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.yaml", quiet_aws.config(str(tmp_path), s3_bucket_name="no-such-bucket-here"))
    code, blocks, output = run_doctor(config)
    assert code == 1 and blocks["Bucket"].startswith("FAIL  Bucket: There is no bucket called no-such-bucket-here."), output
    assert "Fix: Check s3_bucket_name" in blocks["Bucket"]


def test_the_last_downloaded_key_proves_reading_objects(aws: Setup, tmp_path: Path) -> None:
    aws.put("z-last.wav", b"z")
    config = write_config(tmp_path / "c.yaml", aws.config(str(tmp_path / "out")))
    assert drain(config).returncode == 0
    aws.put("a-first.wav", b"a")  # listed first; the ledger's key is used all the same
    aws.sqs.purge_queue(QueueUrl=aws.queue_url)
    code, blocks, output = run_doctor(config)
    assert code == 0 and "tried on z-last.wav" in blocks["Bucket"], output


def test_without_a_bucket_name_the_queue_policy_names_it(quiet_aws: Setup, tmp_path: Path) -> None:
    quiet_aws.sqs.set_queue_attributes(QueueUrl=quiet_aws.queue_url, Attributes={"Policy": json.dumps({"Statement": [{
        "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sqs:SendMessage", "Resource": quiet_aws.queue_arn,
        "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{quiet_aws.bucket}"}}}]})})
    data = quiet_aws.config(str(tmp_path))
    del data["s3_bucket_name"]
    checks = doctor.run_checks(config_module.parse(json.dumps(data)))
    bucket = next(c for c in checks if c.name == doctor.BUCKET)
    assert bucket.passed is True and f"{quiet_aws.bucket} (named by the queue's policy" in bucket.detail


@pytest.mark.skipif(not CAN_DROP_ROOT_OVERRIDES, reason="enforcing permission bits on root needs Linux, root and setpriv")
def test_an_unwritable_download_folder(quiet_aws: Setup, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o555)
    config = write_config(tmp_path / "c.yaml", quiet_aws.config(str(out)))
    try:
        code, blocks, output = run_doctor(config, unprivileged=True)
    finally:
        out.chmod(0o755)
    assert code == 1 and blocks["Download folder"].startswith(f"FAIL  Download folder: Cannot write to {out} (Permission denied)."), output
    assert "Fix: Give your user write permission" in blocks["Download folder"]
    assert list(out.iterdir()) == []


@pytest.mark.skipif(not IS_ROOT, reason="mounting a small tmpfs needs root on Linux")
def test_a_nearly_full_disk(quiet_aws: Setup, tmp_path: Path) -> None:
    out = tmp_path / "small"
    out.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0755", "tmpfs", str(out)], check=True)
    try:
        config = write_config(tmp_path / "c.yaml", quiet_aws.config(str(out)))
        code, blocks, output = run_doctor(config)
    finally:
        subprocess.run(["umount", "-l", str(out)], check=False)
    assert code == 1 and blocks["Download folder"].startswith(f"FAIL  Download folder: {out}: writable, but only 2.1 MB free."), output
    assert "Fix: Free some space on that disk" in blocks["Download folder"]


def test_a_download_folder_that_is_a_file(quiet_aws: Setup, tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("x")
    config = write_config(tmp_path / "c.yaml", quiet_aws.config(str(tmp_path / "taken")))
    code, blocks, output = run_doctor(config)
    assert code == 1 and "is a file, not a folder" in blocks["Download folder"], output


def test_a_skewed_clock(quiet_aws: Setup, proxy: FaultProxy, tmp_path: Path) -> None:
    proxy.faults.date_offset = -30 * 60  # the endpoint says it is half an hour earlier: this computer is fast
    config = write_config(tmp_path / "c.yaml", quiet_aws.config(str(tmp_path), endpoint_url=proxy.url))
    code, blocks, output = run_doctor(config)
    assert code == 1 and blocks["Clock"].startswith("FAIL  Clock: This computer's clock is 30 minutes fast"), output
    assert "timedatectl set-ntp true" in blocks["Clock"]


def test_a_queue_url_in_another_region_than_aws_region(quiet_aws: Setup, tmp_path: Path) -> None:
    data = quiet_aws.config(str(tmp_path), sqs_queue_url="https://sqs.eu-west-1.amazonaws.com/123456789012/q", aws_region="us-east-2")
    checks = {c.name: c for c in doctor.run_checks(config_module.parse(json.dumps(data)))}
    assert checks[doctor.CREDENTIALS_CHECK].passed is True
    queue = checks[doctor.QUEUE]
    assert queue.passed is False and queue.detail == "The queue URL is in eu-west-1, but aws_region says us-east-2."
    assert "Remove aws_region" in queue.fix


def test_a_config_error_exits_2_and_names_the_line(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("sqs_queue_url: nope\ndownload_folder: /tmp\n", encoding="utf-8")
    code, blocks, output = run_doctor(config)
    assert code == 2 and blocks["Config"].startswith(f"FAIL  Config: {config} has an error:"), output
    assert f"{config}:1: sqs_queue_url: expected an SQS queue URL" in output
    code, blocks, output = run_doctor(tmp_path / "missing.yaml")
    assert code == 2 and "does not exist" in blocks["Config"] and "s3-sqs-agent setup" in blocks["Config"], output
