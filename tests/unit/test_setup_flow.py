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
    environment_key,
    failed_step,
    forget_inherited,
    free_profile_name,
    inherited_from,
    queue_endpoint,
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


def test_what_the_environment_gives_becomes_the_answers_and_the_environment_forgets_it(tmp_path: Path, private_home: Path) -> None:
    environ = {"AWS_ENDPOINT_URL": "http://127.0.0.1:4566/", "AWS_ENDPOINT_URL_S3": "http://minio:9000", "AWS_PROFILE": "studio",
               "AWS_DEFAULT_PROFILE": "older", "AWS_REGION": "eu-west-3", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
    assert {key: str(found) for key, found in inherited_from(environ).items()} == {
        "endpoint_url": "endpoint_url: http://127.0.0.1:4566 (from AWS_ENDPOINT_URL)",
        "s3_endpoint_url": "s3_endpoint_url: http://minio:9000 (from AWS_ENDPOINT_URL_S3)",
        "aws_profile": "aws_profile: older (from AWS_DEFAULT_PROFILE)",  # botocore reads that one first
        "aws_region": "aws_region: eu-west-3 (from AWS_REGION)"}
    flow = SetupFlow(tmp_path / "config.yaml", {"endpoint_url": "http://nas:9000"}, environ=environ)
    assert (flow.endpoint_url, flow.s3_endpoint_url, flow.region, flow.wanted_profile) == (
        "http://nas:9000", "http://minio:9000", "eu-west-3", "older"), "the file's own value wins over the environment's"
    flow.set_queue(LOCAL_QUEUE)
    changes = flow.to_changes()
    assert changes["s3_endpoint_url"] == "http://minio:9000" and changes["aws_region"] == "eu-west-3"
    assert [s.variable for s in flow.from_environment()] == ["AWS_ENDPOINT_URL_S3", "AWS_REGION"], "the kept ones are said"
    forget_inherited(environ)
    assert environ == {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}, "a key is never a setting: it is offered as a profile"


def test_a_key_only_the_environment_holds_is_saved_as_a_profile_with_the_config(tmp_path: Path, private_home: Path) -> None:
    key = environment_key({"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "secret"})
    assert key is not None and not key.temporary and "at login will not have it" in key.note()
    assert environment_key({"AWS_ACCESS_KEY_ID": "ASIA1", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "t"}).temporary  # type: ignore[union-attr]
    assert "'secret'" not in repr(key) and "'secret'" not in repr(accounts([], "environment variables", key)), "never in a repr"
    flow = SetupFlow(tmp_path / "config.yaml", {}, environ={})
    flow.choose_account(accounts([], "environment variables", key)[0])
    flow.keep_key_as(flow.default_key_profile())
    flow.set_queue(AWS_QUEUE)
    flow.folder = str(tmp_path / "takes")
    assert flow.to_changes()["aws_profile"] == "s3-sqs-agent" and flow.check_config().aws_profile is None, \
        "checked where the key is now (the environment), saved as the profile that will hold it"
    with pytest.raises(ValueError, match="cannot be a profile name"):
        flow.keep_key_as("no spaces")
    assert flow.save().aws_profile == "s3-sqs-agent" and flow.profile == "s3-sqs-agent"
    assert "[s3-sqs-agent]\naws_access_key_id = test\naws_secret_access_key = secret\n" in (
        private_home / "aws-credentials").read_text(encoding="utf-8")
    with pytest.raises(ValueError, match="already exists"):
        flow.keep_key_as("s3-sqs-agent")


def test_a_local_servers_queue_url_names_the_endpoint_until_one_is_typed(flow: SetupFlow) -> None:
    assert queue_endpoint(LOCAL_QUEUE) == "http://127.0.0.1:5055" and queue_endpoint(AWS_QUEUE) is None
    flow.set_queue(LOCAL_QUEUE)
    assert flow.endpoint_url == "http://127.0.0.1:5055" and flow.endpoint_from_queue
    flow.set_queue(AWS_QUEUE)
    assert flow.endpoint_url is None, "back on AWS: the server went with the URL that named it"
    flow.set_queue(LOCAL_QUEUE)
    flow.set_endpoint("")
    flow.set_queue(LOCAL_QUEUE)
    assert flow.endpoint_url is None, "emptied by the person while the URL stays: it stays empty"
    flow.set_endpoint("http://localstack:4566")
    flow.set_queue(LOCAL_QUEUE.replace("uploads", "mixes"))
    assert flow.endpoint_url == "http://localstack:4566", "an endpoint typed is never replaced"
    flow.set_s3_endpoint("http://localstack:4566")
    assert flow.s3_endpoint_url is None
    flow.set_s3_endpoint("http://minio:9000")
    assert flow.to_changes()["s3_endpoint_url"] == "http://minio:9000"


def test_the_bucket_is_read_again_when_the_endpoint_changes(flow: SetupFlow) -> None:
    flow.set_queue(LOCAL_QUEUE)
    first = flow.bucket_lookup()
    assert first is not None and first.endpoint_url == "http://127.0.0.1:5055"
    assert not flow.bucket_read(first, None)
    flow.set_endpoint("http://127.0.0.1:9")
    again = flow.bucket_lookup()
    assert again is not None and again.endpoint_url == "http://127.0.0.1:9", "another server: its policy is read"
