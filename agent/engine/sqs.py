"""The queue as the engine uses it: receive, release, extend, delete in batches, dead-letter."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

log = logging.getLogger(__name__)
BATCH = 10  # the most messages SQS handles in one receive or batch request
LONG_POLL_SECONDS = 20  # the longest wait SQS allows in one receive


@dataclass
class Message:
    """A received message and what the engine knows about it."""

    message_id: str
    receipt_handle: str
    body: str
    receive_count: int
    attributes: dict[str, Any]
    visible_until: float = field(default=0.0)  # time.monotonic()


@dataclass(frozen=True)
class QueueInfo:
    """The queue's settings that the engine goes by."""

    visibility_timeout: int
    retention_seconds: int
    has_redrive_policy: bool


SQS_DEFAULTS = QueueInfo(visibility_timeout=30, retention_seconds=345_600, has_redrive_policy=False)
"""A new queue's settings as SQS makes them (30 s, 4 days, no redrive policy): assumed until the queue answers."""


class Queue:
    """One SQS queue through a boto3 client."""

    def __init__(self, client: Any, url: str) -> None:
        self.client = client
        self.url = url

    def info(self) -> QueueInfo:
        attrs = self.client.get_queue_attributes(
            QueueUrl=self.url, AttributeNames=["VisibilityTimeout", "MessageRetentionPeriod", "RedrivePolicy"])["Attributes"]
        return QueueInfo(
            visibility_timeout=int(attrs.get("VisibilityTimeout", SQS_DEFAULTS.visibility_timeout)),
            retention_seconds=int(attrs.get("MessageRetentionPeriod", SQS_DEFAULTS.retention_seconds)),
            has_redrive_policy=bool(attrs.get("RedrivePolicy")),
        )

    def counts(self) -> tuple[int, int, int]:
        """(visible, in flight, delayed) messages, as SQS approximates them."""
        attrs = self.client.get_queue_attributes(QueueUrl=self.url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"])["Attributes"]
        return (int(attrs.get("ApproximateNumberOfMessages", 0)), int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0)),
                int(attrs.get("ApproximateNumberOfMessagesDelayed", 0)))

    def receive(self, max_messages: int, wait_seconds: int, visibility_timeout: int) -> list[Message]:
        response = self.client.receive_message(  # the timeout is explicit: the heartbeat's schedule relies on it
            QueueUrl=self.url, MaxNumberOfMessages=max(1, min(BATCH, max_messages)), WaitTimeSeconds=wait_seconds,
            VisibilityTimeout=visibility_timeout, AttributeNames=["All"], MessageAttributeNames=["All"])
        now = time.monotonic()
        return [
            Message(
                message_id=raw["MessageId"],
                receipt_handle=raw["ReceiptHandle"],
                body=raw.get("Body", ""),
                receive_count=int(raw.get("Attributes", {}).get("ApproximateReceiveCount", 1)),
                attributes={**raw.get("Attributes", {}), **{k: v.get("StringValue") for k, v in raw.get("MessageAttributes", {}).items()}},
                visible_until=now + visibility_timeout,
            )
            for raw in response.get("Messages", [])
        ]

    def change_visibility(self, message: Message, seconds: int) -> None:
        self.client.change_message_visibility(QueueUrl=self.url, ReceiptHandle=message.receipt_handle, VisibilityTimeout=seconds)

    def change_visibility_batch(self, messages: list[Message], seconds: int) -> list[Message]:
        """Returns the messages whose visibility could not be changed (their receipt expired or they were deleted)."""
        failed: list[Message] = []
        for start in range(0, len(messages), BATCH):
            chunk = messages[start:start + BATCH]
            response = self.client.change_message_visibility_batch(QueueUrl=self.url, Entries=[
                {"Id": str(i), "ReceiptHandle": m.receipt_handle, "VisibilityTimeout": seconds} for i, m in enumerate(chunk)])
            failed.extend(chunk[int(entry["Id"])] for entry in response.get("Failed", []))
        return failed

    def delete_batch(self, messages: list[Message]) -> list[Message]:
        """Delete up to BATCH messages in one request. Returns the ones that failed."""
        response = self.client.delete_message_batch(QueueUrl=self.url, Entries=[
            {"Id": str(i), "ReceiptHandle": m.receipt_handle} for i, m in enumerate(messages)])
        return [messages[int(entry["Id"])] for entry in response.get("Failed", [])]

    def send(self, body: str, attributes: dict[str, str]) -> None:
        self.client.send_message(QueueUrl=self.url, MessageBody=body, MessageAttributes={
            name: {"DataType": "String", "StringValue": _SQS_REFUSES.sub("?", value[:1024]) or "-"} for name, value in attributes.items()})


_SQS_REFUSES = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
"""Characters SQS refuses in a message or an attribute (a key's control characters can reach the reason): all but tab,
line feed, carriage return, U+0020 to U+D7FF, U+E000 to U+FFFD and U+10000 up. Written as the refused ranges, not as
the complement of the allowed ones, whose compiling cost 4 ms of every start."""
REFUSED_CODES = {"InvalidParameterValue", "InvalidMessageContents", "InvalidAttributeValue", "InvalidAttributeName",
                 "MessageTooLong", "InvalidParameterCombination"}
"""SQS's answers to a send that say the message itself is refused (too large, characters it does not take), not that
the queue is unreachable, busy, or not ours to write to."""
REASON_ATTRIBUTE = "s3_sqs_agent.reason"


class DeadLetterRefused(Exception):
    """The dead-letter queue refused the message itself, even with its attributes trimmed to a short reason."""


def send_dead_letter(queue: Queue, body: str, attributes: dict[str, str]) -> None:
    """Send a message to the dead-letter queue. Refused, it is sent once more with its attributes trimmed to a short
    reason: SQS counts the attributes toward the size limit, so a body at the source queue's maximum fits a dead-letter
    queue of the same maximum only without them. Raises DeadLetterRefused when refused again, and whatever else the
    send raised (an outage, throttling, a denial: then the message is kept and the agent waits)."""
    try:
        queue.send(body, attributes)
        return
    except ClientError as exc:
        if not _refused(exc):
            raise
        first = _error_text(exc)
    try:
        queue.send(body, {REASON_ATTRIBUTE: attributes.get(REASON_ATTRIBUTE, "")[:256]})
    except ClientError as exc:
        if not _refused(exc):
            raise
        raise DeadLetterRefused(_error_text(exc)) from None
    log.warning("The dead-letter queue refused a message with its attributes (%s); sent it again with its reason only", first)


def _refused(exc: ClientError) -> bool:
    code = str(exc.response.get("Error", {}).get("Code", ""))
    return code.removeprefix("AWS.SimpleQueueService.") in REFUSED_CODES


def _error_text(exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    return f"{error.get('Code', '')}: {error.get('Message', '')}".strip(": ")


class DeleteBatcher:
    """Collects finished messages and deletes them ten at a time, or after a short delay, on its own thread."""

    def __init__(self, queue: Queue, on_deleted: Callable[[Message], None], max_delay: float = 0.05,
                 deletable: Callable[[list[Message]], list[Message]] = list) -> None:
        """`deletable(batch)`: the messages of a batch that may be deleted now (the others it hands back itself)."""
        self._queue = queue
        self._on_deleted = on_deleted
        self._deletable = deletable
        self._max_delay = max_delay
        self._pending: list[Message] = []
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="delete-batcher", daemon=True)
        self._thread.start()

    def add(self, message: Message) -> None:
        with self._cond:
            self._pending.append(message)
            if len(self._pending) in (1, BATCH):  # the thread waits for the first message, then for a full batch
                self._cond.notify()

    def close(self, timeout: float = 10.0) -> None:
        """Delete everything still pending, then stop."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                if not self._pending and self._closed:
                    return
                deadline = time.monotonic() + self._max_delay
                while len(self._pending) < BATCH and not self._closed and (left := deadline - time.monotonic()) > 0:
                    self._cond.wait(left)
                batch, self._pending = self._pending[:BATCH], self._pending[BATCH:]
            self._delete(batch)

    def _delete(self, batch: list[Message]) -> None:
        batch = self._deletable(batch)
        if not batch:
            return
        for attempt in range(5):
            try:
                failed = self._queue.delete_batch(batch)
            except Exception as exc:  # noqa: BLE001 - offline: keep trying for a while; the message would only come back as a duplicate
                log.warning("Could not delete %d messages (%s); retrying", len(batch), exc)
                time.sleep(min(8, 0.5 * 2**attempt))
                continue
            for message in batch:
                if message not in failed:
                    self._on_deleted(message)
            for message in failed:
                log.warning("SQS refused to delete message %s; it will come back and be recognised as a duplicate", message.message_id)
                self._on_deleted(message)
            return
        for message in batch:
            self._on_deleted(message)


def dead_letter_attributes(message: Message, reason: str, source_queue: str) -> dict[str, str]:
    """Message attributes that travel with a dead-lettered message."""
    return {
        REASON_ATTRIBUTE: reason,
        "s3_sqs_agent.source_queue": source_queue,
        "s3_sqs_agent.original_message_id": message.message_id,
        "s3_sqs_agent.receive_count": str(message.receive_count),
        "s3_sqs_agent.failed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def summarize_body(body: str, limit: int = 120) -> str:
    text = json.dumps(body[:limit])[1:-1]
    return text + ("..." if len(body) > limit else "")
