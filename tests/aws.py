"""Test helpers: a moto server on loopback, and a bucket wired to a fresh queue by real S3 notifications."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from tests.helpers import wait_until

REGION = "us-east-1"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_moto(port: int | None = None) -> tuple[Any, str]:
    """A moto server in this process, on 127.0.0.1. Returns (server, endpoint URL)."""
    from moto.server import ThreadedMotoServer

    port = port or free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return server, f"http://127.0.0.1:{port}"


def start_moto_process() -> tuple[subprocess.Popen[bytes], str]:
    """A moto server in a process of its own, with its own state: S3 and SQS on two servers that share nothing."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def answers() -> bool:
        if server.poll() is not None:
            raise RuntimeError(f"moto exited with code {server.returncode} instead of serving port {port}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            return False
        return True

    try:
        wait_until(answers, 60, what=f"moto to listen on port {port}")
    except BaseException:
        server.kill()
        raise
    return server, f"http://127.0.0.1:{port}"


@contextmanager
def safe_moto() -> Iterator[str]:
    """tests/moto_server.py in a child process: moto with its SQS safe under concurrent clients and the bucket's
    EventBridge setting reported (see that module for why).

    Yields its endpoint URL; the server exits when the block ends.
    """
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "tests.moto_server", str(port)], cwd=Path(__file__).resolve().parent.parent,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready", "the moto server did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def client(service: str, endpoint: str) -> Any:
    return boto3.client(service, region_name=REGION, endpoint_url=endpoint, **CREDENTIALS)


@dataclass
class Setup:
    """A bucket whose uploads notify a queue, with an optional dead-letter queue."""

    endpoint: str
    bucket: str
    queue_url: str
    queue_arn: str
    dlq_url: str
    s3: Any
    sqs: Any

    def put(self, key: str, data: bytes) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=data)

    def send(self, body: str | dict[str, Any]) -> None:
        self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=body if isinstance(body, str) else json.dumps(body))

    def counts(self, url: str | None = None) -> tuple[int, int]:
        attrs = self.sqs.get_queue_attributes(QueueUrl=url or self.queue_url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]), int(attrs["ApproximateNumberOfMessagesNotVisible"])

    def dlq_messages(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        while True:
            batch = self.sqs.receive_message(QueueUrl=self.dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                             MessageAttributeNames=["All"]).get("Messages", [])
            if not batch:
                return found
            found.extend(batch)

    def config(self, folder: str, **extra: Any) -> dict[str, Any]:
        """A seed-style config (the seed's four keys) plus endpoint_url and fast retries for tests."""
        data: dict[str, Any] = {
            "aws_region": REGION,
            "sqs_queue_url": self.queue_url,
            "download_folder": folder,
            "s3_bucket_name": self.bucket,
            "endpoint_url": self.endpoint,
            "retry_base_seconds": 1,
            "retry_max_seconds": 2,
            "max_attempts": 3,
        }
        data.update(extra)
        return data


def make_setup(endpoint: str, visibility_timeout: int = 30, notify: bool = True, redrive: bool = False, prefix: str = "t") -> Setup:
    """Fresh bucket and queues (moto slows down with deep queues, and killed long polls linger: never share a queue).
    `prefix` starts their names (a README screenshot's "studio-takes-" reads better than "t")."""
    s3, sqs = client("s3", endpoint), client("sqs", endpoint)
    name = f"{prefix}{uuid.uuid4().hex[:12 if prefix == 't' else 6]}"
    dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    attributes = {"VisibilityTimeout": str(visibility_timeout)}
    if redrive:
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        attributes["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"})
    queue_url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.create_bucket(Bucket=name)
    if notify:
        s3.put_bucket_notification_configuration(Bucket=name, NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"]}]})
    return Setup(endpoint, name, queue_url, queue_arn, dlq_url, s3, sqs)


def allow_bucket_in_policy(aws: Setup) -> Setup:
    """A queue policy that lets the bucket send (its aws:SourceArn): what setup reads the bucket's name from."""
    aws.sqs.set_queue_attributes(QueueUrl=aws.queue_url, Attributes={"Policy": json.dumps({"Statement": [{
        "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sqs:SendMessage", "Resource": aws.queue_arn,
        "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{aws.bucket}"}}}]})})
    return aws


def s3_event_body(bucket: str, raw_key: str, size: int = 0, etag: str | None = None, event_name: str = "ObjectCreated:Put",
                  version_id: str | None = None, sequencer: str | None = None) -> dict[str, Any]:
    """A hand-made S3 notification; `raw_key` is put in as given (already form-encoded, as S3 does)."""
    obj: dict[str, Any] = {"key": raw_key, "size": size}
    for name, value in (("eTag", etag), ("versionId", version_id), ("sequencer", sequencer)):
        if value is not None:
            obj[name] = value
    return {"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": REGION,
                         "eventTime": "2026-11-28T12:00:00.000Z", "eventName": event_name,
                         "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": bucket}, "object": obj}}]}


def eventbridge_body(bucket: str, key: str, size: int, etag: str, detail_type: str = "Object Created",
                     reason: str = "PutObject") -> dict[str, Any]:
    """A hand-made EventBridge event from S3, as a rule targeting the queue delivers it; `key` is put in as given."""
    return {"version": "0", "id": "17793124-05d4-b198-2fde-7ededc63b103", "detail-type": detail_type, "source": "aws.s3",
            "account": "123456789012", "time": "2026-11-28T12:00:00Z", "region": REGION, "resources": [f"arn:aws:s3:::{bucket}"],
            "detail": {"version": "0", "bucket": {"name": bucket}, "object": {"key": key, "size": size, "etag": etag},
                       "reason": reason}}


def connect(endpoint: str, bucket: str, config: Path, *extra: str, stdin: str | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`s3-sqs-agent connect --bucket BUCKET --endpoint-url ENDPOINT --config CONFIG EXTRA...` as a user runs it."""
    import os

    return subprocess.run([sys.executable, "-m", "agent", "connect", "--bucket", bucket, "--endpoint-url", endpoint,
                           "--config", str(config), *extra], cwd=Path(__file__).resolve().parent.parent, capture_output=True,
                          text=True, input=stdin, timeout=120, env=env or os.environ.copy())


def account_state(endpoint: str, bucket: str, queue_prefix: str) -> dict[str, Any]:
    """What connect may touch, as comparable data: the bucket's notifications, queues (with attributes and tags),
    topics with their subscriptions, and EventBridge rules with their targets."""
    s3, sqs, sns, events = (client(s, endpoint) for s in ("s3", "sqs", "sns", "events"))
    notifications = s3.get_bucket_notification_configuration(Bucket=bucket)
    notifications.pop("ResponseMetadata", None)
    queues = {}
    for url in sqs.list_queues(QueueNamePrefix=queue_prefix).get("QueueUrls", []):
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy", "RedrivePolicy", "MessageRetentionPeriod"])
        queues[url] = (attributes.get("Attributes", {}), sqs.list_queue_tags(QueueUrl=url).get("Tags", {}))
    topics = {}
    for found in sns.list_topics().get("Topics", []):
        arn = found["TopicArn"]
        subscriptions = sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
        topics[arn] = (sns.get_topic_attributes(TopicArn=arn)["Attributes"].get("Policy"),
                       sorted((s["SubscriptionArn"], s["Endpoint"]) for s in subscriptions))
    rules = {r["Name"]: (r.get("EventPattern"), [t["Arn"] for t in events.list_targets_by_rule(Rule=r["Name"])["Targets"]])
             for r in events.list_rules().get("Rules", [])}
    return {"notifications": notifications, "queues": queues, "topics": topics, "rules": rules}
