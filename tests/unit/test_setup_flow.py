"""The setup's rules, once for both front ends (the Setup window and `s3-sqs-agent setup`): defaults, the region, the
queue answer, the bucket read from the queue's policy, the config changes, and what a failed check points back to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent import config as config_module
from agent.aws.doctor import Check
from agent.aws.profiles import Profile
from agent.aws.resources import nearest_queue_among
from agent.setup_flow import (
    ADD_KEY,
    AMBIENT,
    DEFAULT_FOLDER,
    BucketLookup,
    SetupFlow,
    accounts,
    clean_bucket,
    describe_profile,
    failed_step,
    free_profile_name,
    signed_in_until,
)

AWS_QUEUE = "https://sqs.eu-west-1.amazonaws.com/123456789012/uploads"
LOCAL_QUEUE = "http://127.0.0.1:5055/123456789012/uploads"
REMOVE = config_module.REMOVE


@pytest.fixture
def flow(tmp_path: Path, private_home: Path) -> SetupFlow:
    return SetupFlow(tmp_path / "config.yaml", {}, environ={})


def test_a_new_setup_starts_from_the_defaults_and_a_second_one_from_the_file(tmp_path: Path, private_home: Path) -> None:
    new = SetupFlow(tmp_path / "config.yaml", {}, environ={})
    assert (new.folder, new.queue_url, new.bucket, new.endpoint_url, new.region) == (DEFAULT_FOLDER, None, None, None, None)
    again = SetupFlow(tmp_path / "config.yaml", {"sqs_queue_url": AWS_QUEUE, "s3_bucket_name": "takes", "download_folder": "~/T",
                                                 "endpoint_url": "http://nas:9000", "aws_region": "eu-west-1", "aws_profile": "studio"},
                      environ={})
    assert (again.folder, again.queue_url, again.bucket, again.endpoint_url, again.region, again.wanted_profile) == (
        "~/T", AWS_QUEUE, "takes", "http://nas:9000", "eu-west-1", "studio")
    assert SetupFlow(tmp_path / "c.yaml", {"endpoint_url": "http://nas:9000"}, environ={}, endpoint_url="http://x:1").endpoint_url == "http://x:1", \
        "--endpoint-url wins over the file"


def test_the_default_account_is_the_one_named_then_one_needing_no_sign_in_then_the_ambient_one(flow: SetupFlow) -> None:
    later = datetime.now(UTC) + timedelta(hours=2)
    sso = Profile("corp", "sso", sso_expires_at=None)
    keys = Profile("studio", "keys", region="eu-west-1")
    choices = accounts([sso, keys], "environment variables", None)
    assert [c.value for c in choices] == ["corp", "studio", AMBIENT, ADD_KEY]
    assert flow.default_account(choices).value == "studio", "a profile that needs no sign-in beats one that does"
    flow.wanted_profile = "corp"
    assert flow.default_account(choices).value == "corp", "the profile the config names comes first"
    flow.wanted_profile = None
    assert flow.default_account(accounts([sso], "environment variables", None)).value == AMBIENT
    assert flow.default_account(accounts([], None, None)).value == ADD_KEY
    assert flow.default_account(accounts([Profile("corp", "sso", sso_expires_at=later)], None, None)).value == "corp"
    flow.choose_account(choices[1])
    assert (flow.profile, flow.profile_region) == ("studio", "eu-west-1")
    flow.choose_account(choices[2])
    assert flow.profile is None and flow.to_changes()["aws_profile"] is REMOVE


def test_a_profile_is_described_once_for_every_front_end() -> None:
    now = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)
    assert describe_profile(Profile("k", "keys", region="us-east-2")) == ("Access key", "us-east-2")
    assert describe_profile(Profile("s", "sso")) == ("IAM Identity Center", "sign-in needed")
    assert describe_profile(Profile("s", "sso", sso_refreshable=True)) == ("IAM Identity Center", "the sign-in renews by itself")
    later = datetime.now(UTC) + timedelta(minutes=30)
    assert describe_profile(Profile("s", "sso", sso_expires_at=later))[1] == f"signed in until {signed_in_until(later)}"
    assert signed_in_until(now, now) == f"{now.astimezone():%H:%M}"
    assert signed_in_until(now + timedelta(days=3), now).endswith(f"on {(now + timedelta(days=3)).astimezone():%d %b}")


def test_the_region_comes_from_the_queue_url_else_from_the_answers(flow: SetupFlow) -> None:
    flow.region = "us-west-2"
    flow.set_queue(AWS_QUEUE)
    assert flow.call_region == "eu-west-1" and flow.to_changes()["aws_region"] is REMOVE, "the URL names it: the file need not"
    flow.endpoint_url = "http://127.0.0.1:5055"
    flow.set_queue(LOCAL_QUEUE)
    assert flow.call_region == "us-west-2" and flow.to_changes()["aws_region"] == "us-west-2", "a local URL names none: keep it"
    flow.region = None
    assert flow.call_region == "us-east-1" and "aws_region" not in flow.to_changes(), "any region signs for a local server"


def test_a_queue_answer_is_a_url_an_arn_or_a_listed_queues_name(flow: SetupFlow) -> None:
    assert flow.set_queue("arn:aws:sqs:eu-west-1:123456789012:uploads") == AWS_QUEUE
    flow.endpoint_url = "http://127.0.0.1:5055"
    assert flow.parse_queue("arn:aws:sqs:eu-west-1:123456789012:uploads") == LOCAL_QUEUE, "an ARN on the endpoint"
    with pytest.raises(ValueError, match="not a queue URL or ARN"):
        flow.parse_queue("uploads")
    flow.queues_found([LOCAL_QUEUE, "http://127.0.0.1:5055/123456789012/Mixes"])
    assert flow.parse_queue("uploads") == LOCAL_QUEUE and flow.parse_queue("mixes").endswith("/Mixes")


def test_a_bucket_answer_is_a_name_alone() -> None:
    assert clean_bucket("s3://audio-uploads/") == "audio-uploads"
    assert clean_bucket("-") is None and clean_bucket("") is None
    with pytest.raises(ValueError, match="3 to 63 lower-case letters"):
        clean_bucket("Bad_Name")


def test_the_bucket_is_read_from_the_policy_until_one_is_typed(flow: SetupFlow) -> None:
    flow.set_queue(AWS_QUEUE)
    lookup = flow.bucket_lookup()
    assert lookup == BucketLookup(AWS_QUEUE, None, "eu-west-1", None)
    assert flow.bucket_lookup() is None, "one reading per queue and endpoint"
    assert flow.bucket_read(lookup, "takes") and flow.bucket == "takes" and flow.bucket_from_policy
    flow.set_bucket("takes")
    assert flow.bucket_from_policy, "the same value set again (a field echoing it) keeps where it came from"

    other = AWS_QUEUE.replace("uploads", "mixes")
    flow.set_queue(other)
    newer = flow.bucket_lookup()
    assert newer is not None, "another queue: its own policy, since the bucket was only read"
    assert not flow.bucket_read(lookup, "stale"), "a reading for older answers is dropped"
    assert flow.bucket_read(newer, None) and flow.bucket is None, "the old queue's bucket goes with it"

    flow.set_bucket("mine")
    flow.set_queue(AWS_QUEUE)
    assert flow.bucket_lookup() is None and flow.bucket == "mine", "a bucket typed is never replaced"


def test_the_answers_make_the_config(flow: SetupFlow) -> None:
    flow.choose_account(accounts([Profile("studio", "keys")], None, None)[0])
    flow.set_queue(AWS_QUEUE)
    flow.set_bucket("takes")
    flow.set_folder("~/Takes")
    flow.extra = {"dead_letter_queue_url": AWS_QUEUE + "-dlq"}
    assert flow.to_changes() == {"aws_profile": "studio", "sqs_queue_url": AWS_QUEUE, "s3_bucket_name": "takes",
                                 "download_folder": "~/Takes", "endpoint_url": REMOVE, "aws_region": REMOVE,
                                 "dead_letter_queue_url": AWS_QUEUE + "-dlq"}
    with pytest.raises(ValueError, match="Choose the folder"):
        flow.set_folder("  ")
    config = flow.check_config()
    assert config.sqs_queue_url == AWS_QUEUE and config.aws_profile == "studio" and not flow.path.exists(), "checked, not written"


def test_a_failed_check_points_at_its_question() -> None:
    def check(name: str, passed: bool | None) -> Check:
        return Check(name, passed, "")

    assert failed_step([check("Credentials", True), check("Queue", False), check("Bucket", False)]) == "queue"
    assert failed_step([check("Clock", False), check("Bucket", False)]) == "bucket", "the clock has no question: the next one"
    assert failed_step([check("Download folder", False)]) == "folder"
    assert failed_step([check("Queue", True), check("Receive messages", None)]) is None


def test_a_new_profile_gets_a_free_name() -> None:
    assert free_profile_name([]) == "s3-sqs-agent"
    assert free_profile_name(["s3-sqs-agent", "s3-sqs-agent-2"]) == "s3-sqs-agent-3"


def test_the_nearest_queue_is_in_the_same_account() -> None:
    base = "https://sqs.eu-west-1.amazonaws.com"
    urls = [f"{base}/123456789012/uploads", f"{base}/123456789012/Archive", f"{base}/999999999999/uplods-2"]
    assert nearest_queue_among(f"{base}/123456789012/uplods", urls) == f"{base}/123456789012/uploads"
    assert nearest_queue_among(f"{base}/123456789012/archive", urls) == f"{base}/123456789012/Archive", "another case"
    assert nearest_queue_among(f"{base}/123456789012/zzz", urls) is None
    assert nearest_queue_among(f"{base}/999999999999/uploads", urls) == f"{base}/999999999999/uplods-2"
