"""A bucket whose uploads are announced on a queue, and the notifications captured to announce them again per run."""

from __future__ import annotations

import concurrent.futures as cf
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import REGION, clients


@dataclass
class Wired:
    """A bucket whose uploads are announced on a queue, and the bodies of the notifications captured so far."""

    endpoint: str
    bucket: str
    queue_url: str
    s3: Any
    sqs: Any
    bodies: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def create(cls, endpoint: str, name: str | None = None, notify: bool = True) -> Wired:
        s3, sqs = clients(endpoint)
        name = name or f"bench-{uuid.uuid4().hex[:10]}"
        queue_url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "120"})["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        s3.create_bucket(Bucket=name)
        if notify:
            s3.put_bucket_notification_configuration(Bucket=name, NotificationConfiguration={
                "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]})
        wired = cls(endpoint, name, queue_url, s3, sqs)
        wired.take_all()  # the test event S3 sends when notifications are set up
        return wired

    def on_new_queue(self) -> Wired:
        """The same bucket and captured notifications, announced on a queue of their own. For an agent run after one
        that was stopped: the server may still hand messages to the stopped agent's long poll, and those would stay
        invisible for the visibility timeout."""
        name = f"bench-{uuid.uuid4().hex[:10]}"
        queue_url = self.sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "120"})["QueueUrl"]
        return Wired(self.endpoint, self.bucket, queue_url, self.s3, self.sqs, self.bodies)

    def notifications_off(self) -> None:
        self.s3.put_bucket_notification_configuration(Bucket=self.bucket, NotificationConfiguration={})

    def upload(self, keys: Sequence[str], data: bytes, threads: int = 16) -> None:
        with cf.ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda key: self.s3.put_object(Bucket=self.bucket, Key=key, Body=data), keys))

    def take_all(self, expected: int = 0, seconds: float = 120) -> list[str]:
        """Receive and delete every message on the queue (waiting for `expected` of them); returns their bodies."""
        bodies: list[str] = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            batch = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
            if not batch:
                if len(bodies) >= expected:
                    return bodies
                time.sleep(0.1)
                continue
            bodies.extend(m["Body"] for m in batch)
            self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)])
        raise TimeoutError(f"only {len(bodies)} of {expected} notifications arrived")

    def capture(self, label: str, keys: Sequence[str], data: bytes) -> None:
        """Upload `keys` and keep the S3 notifications announcing them, to announce them again for each run."""
        self.upload(keys, data)
        self.bodies[label] = [b for b in self.take_all(len(keys)) if '"Records"' in b]

    def announce(self, label: str) -> None:
        """Put the captured notifications back on the queue (send_message_batch, in parallel)."""
        bodies = self.bodies[label]
        chunks = [bodies[i:i + 10] for i in range(0, len(bodies), 10)]
        with cf.ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda chunk: self.sqs.send_message_batch(QueueUrl=self.queue_url, Entries=[
                {"Id": str(i), "MessageBody": body} for i, body in enumerate(chunk)]), chunks))

    def agent_config(self, folder: Path, endpoint: str | None = None, **extra: Any) -> dict[str, Any]:
        return {"aws_region": REGION, "sqs_queue_url": self.queue_url, "download_folder": str(folder),
                "s3_bucket_name": self.bucket, "endpoint_url": endpoint or self.endpoint, **extra}
