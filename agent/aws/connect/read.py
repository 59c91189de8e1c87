"""Reading what exists in AWS for a plan (planning only reads): the identity, the bucket, queues, topics and rules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from agent import config as config_module
from agent import errors
from agent.aws import bucket_notifications as bn
from agent.aws.calls import Calls, not_found, translate
from agent.aws.connect import render
from agent.aws.connect.plan import CREATED_BY, ConnectError


def identity(calls: Calls) -> tuple[str, str]:
    """(account, partition) of the credentials in use."""
    answer = calls.call("sts", "GetCallerIdentity", "your AWS identity")
    return str(answer["Account"]), str(answer.get("Arn", "arn:aws:")).split(":")[1] or "aws"


def bucket_region(calls: Calls, bucket: str, bucket_arn: str) -> str | None:
    """The bucket's region, from HeadBucket's x-amz-bucket-region header (sent even when HeadBucket is denied)."""
    try:
        headers = calls.client("s3").head_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPHeaders"]
    except ClientError as exc:
        headers = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        if not_found(exc) or str(exc.response.get("Error", {}).get("Code")) in ("404", "NoSuchBucket"):
            raise ConnectError(render.no_bucket(bucket)) from None
        if "x-amz-bucket-region" not in headers:
            raise translate(exc, "s3", "HeadBucket", bucket_arn) from None
    except BotoCoreError as exc:
        raise translate(exc, "s3", "HeadBucket", bucket_arn) from None
    region = headers.get("x-amz-bucket-region")
    return str(region) if region else None


def bucket_configuration(calls: Calls, bucket: str, bucket_arn: str) -> dict[str, Any]:
    return bn.clean(calls.call("s3", "GetBucketNotificationConfiguration", bucket_arn, Bucket=bucket))


@dataclass(frozen=True)
class Queue:
    """A queue as read: its URL, attributes and tags."""

    url: str
    attributes: Mapping[str, str]
    tags: Mapping[str, str]

    @property
    def ours(self) -> bool:
        return self.tags.get(CREATED_BY[0]) == CREATED_BY[1]

    def messages(self) -> int:
        return sum(int(self.attributes.get(name, 0) or 0) for name in (
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"))


def find_queue(calls: Calls, name: str, arn: str) -> Queue | None:
    try:
        url = str(calls.call("sqs", "GetQueueUrl", arn, QueueName=name)["QueueUrl"])
    except ClientError as exc:
        if not_found(exc):
            return None
        raise
    return read_queue(calls, url, arn)


def read_queue(calls: Calls, url: str, arn: str) -> Queue:
    attributes = calls.call("sqs", "GetQueueAttributes", arn, QueueUrl=url, AttributeNames=["All"]).get("Attributes", {})
    tags = calls.call("sqs", "ListQueueTags", arn, QueueUrl=url).get("Tags", {})
    return Queue(url, attributes, tags)


def topic_attributes(calls: Calls, topic_arn: str) -> dict[str, str] | None:
    try:
        return dict(calls.call("sns", "GetTopicAttributes", topic_arn, TopicArn=topic_arn).get("Attributes", {}))
    except ClientError as exc:
        if not_found(exc):
            return None
        raise


def topic_is_ours(calls: Calls, topic_arn: str) -> bool:
    tags = calls.call("sns", "ListTagsForResource", topic_arn, ResourceArn=topic_arn).get("Tags", [])
    return any(t.get("Key") == CREATED_BY[0] and t.get("Value") == CREATED_BY[1] for t in tags)


def subscriptions(calls: Calls, topic_arn: str) -> list[dict[str, Any]]:
    return calls.pages("sns", "ListSubscriptionsByTopic", "Subscriptions", topic_arn, TopicArn=topic_arn)


def rule(calls: Calls, name: str, arn: str) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    try:
        rule = calls.call("events", "DescribeRule", arn, Name=name)
    except ClientError as exc:
        if not_found(exc):
            return None
        raise
    return rule, calls.pages("events", "ListTargetsByRule", "Targets", arn, Rule=name)


def written_config(path: Path) -> dict[str, Any]:
    """The config file's keys as written (defaults for those it leaves out), whether or not it loads: connect reads its
    profile, endpoint and region from it, and compares what it would write with what is there."""
    try:
        text: str | None = path.read_text(encoding="utf-8")
    except (OSError, ValueError):
        text = None
    return config_module.file_values(text).values


def config_problems(path: Path, keys: set[str]) -> list[str]:
    """Problems in the config file that writing `keys` would not fix (the file is validated before it is written)."""
    if not path.exists():
        return []
    try:
        config_module.load(path)
    except errors.ConfigError as exc:
        left = [p for p in exc.problems if p.key not in keys]
        if left:
            return [render.config_has_errors([str(p) for p in left])]
    return []

