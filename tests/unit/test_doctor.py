"""agent.aws.doctor's pieces without a server: a KMS refusal, and how a check is shown in a terminal."""

from __future__ import annotations

import json

from botocore.exceptions import ClientError

from agent.aws import doctor
from agent.aws.doctor.probe import Probe
from agent.aws.doctor.queues import kms_failure
from agent.config import parse


def test_a_kms_refusal_names_kms_decrypt_on_the_queues_key() -> None:
    probe = Probe(parse("sqs_queue_url: https://sqs.eu-west-1.amazonaws.com/123456789012/q\ndownload_folder: /tmp\n"), None)
    key = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    probe.queue_attributes = {"KmsMasterKeyId": key}
    error = ClientError({"Error": {"Code": "KMS.AccessDeniedException", "Message": "denied"}}, "ReceiveMessage")
    check = kms_failure(doctor.RECEIVE, error, probe)
    assert check is not None and check.passed is False and "kms:Decrypt on " + key in check.fix
    assert check.policy == {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key}
    assert kms_failure(doctor.RECEIVE, ClientError({"Error": {"Code": "AccessDenied"}}, "ReceiveMessage"), probe) is None



def test_a_failure_shows_its_fix_and_the_statement_to_send() -> None:
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}
    text = doctor.format_check(doctor.Check(doctor.BUCKET, False, "Access denied.", "Ask for it.", statement))
    first, fix, heading, *policy = text.splitlines()
    assert first == "FAIL  Bucket: Access denied." and fix == "      Fix: Ask for it."
    assert heading == "      Policy statement to send to your AWS administrator:"
    assert all(line.startswith("        ") for line in policy) and json.loads("\n".join(policy)) == statement
    assert doctor.format_check(doctor.Check(doctor.CLOCK, None, "Not checked.")) == "--    Clock: Not checked."
    assert doctor.format_check(doctor.Check(doctor.CLOCK, True, "Fine.", "unused")) == "ok    Clock: Fine."
    checks = [doctor.Check("a", True, ""), doctor.Check("b", False, ""), doctor.Check("c", None, "")]
    assert doctor.summary(checks) == "1 passed, 1 failed, 1 not checked."
