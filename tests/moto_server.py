"""A moto server in its own process with two of moto 5.2's server-side faults fixed: the tests' shared server
(`moto_endpoint` in tests/conftest.py, one per pytest-xdist worker) and the several-workstation tests' own.

`python -m tests.moto_server PORT` serves moto on 127.0.0.1:PORT until its stdin closes, then exits. Its fixes:

- **SQS queue changes are serialised.** moto's queues change their message lists without a lock, so when several
  clients use one queue at the same moment (two agents sharing it, eight workers each) a message can be delivered
  twice and deleted messages can come back as in flight. Two agents on one queue would then see doubles that are
  moto's, not theirs. Every SQS backend call that reads or changes messages runs under one lock here, and a long poll
  waits outside it (a receive with no wait is retried under the lock until the poll's time is up), so a waiting
  poll never holds up the others. ElasticMQ would be safe without this, but it needs a JVM and sends no S3 events.
- **GetBucketNotificationConfiguration returns EventBridgeConfiguration.** moto keeps the setting but leaves it out
  of the answer, so every read-modify-write of a bucket's notifications (which `connect` must do) would switch
  EventBridge off on moto, where AWS keeps it.

It runs in a child process so that the agents' traffic, and the engines the tests run in their own process, do not
compete with moto for one interpreter lock (tests.aws.start_moto still gives an in-process server, with stock moto).
"""

from __future__ import annotations

import functools
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

SERIALISED = ("create_queue", "delete_queue", "get_queue_attributes", "set_queue_attributes", "send_message",
              "send_message_batch", "delete_message", "delete_message_batch", "change_message_visibility",
              "change_message_visibility_batch", "purge_queue", "tag_queue", "untag_queue", "list_queue_tags")
POLL_STEP_SECONDS = 0.2


def serialise_sqs() -> None:
    from moto.sqs.models import SQSBackend

    lock = threading.RLock()

    def under_lock(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def call(*args: Any, **kwargs: Any) -> Any:
            with lock:
                return method(*args, **kwargs)
        return call

    for name in SERIALISED:
        setattr(SQSBackend, name, under_lock(getattr(SQSBackend, name)))
    receive_now = SQSBackend.receive_message

    def receive_message(self: Any, queue_name: str, count: int, wait_seconds_timeout: int, visibility_timeout: int,
                        message_attribute_names: list[str] | None = None) -> Any:
        deadline = time.monotonic() + (wait_seconds_timeout or 0)
        while True:
            with lock:
                found = receive_now(self, queue_name, count, 0, visibility_timeout, message_attribute_names)
            left = deadline - time.monotonic()
            if found or left <= 0:
                return found
            queue = self.get_queue(queue_name)
            with queue._messages_lock:  # woken by a new message; in-flight ones coming back are seen within a step
                queue._messages_lock.wait(timeout=min(left, POLL_STEP_SECONDS))

    SQSBackend.receive_message = receive_message


def report_eventbridge_setting() -> None:
    from moto.core.responses import ActionResult
    from moto.s3.responses import S3Response

    answer_without = S3Response.get_bucket_notification

    def get_bucket_notification(self: Any) -> Any:
        configuration = self.backend.get_bucket_notification_configuration(self.bucket_name)
        if configuration is None or configuration.event_bridge is None:
            return answer_without(self)

        def entry(item: Any, arn_key: str) -> dict[str, Any]:
            found: dict[str, Any] = {"Id": item.id, arn_key: item.arn, "Events": item.events}
            if item.filters:
                found["Filter"] = {"Key": {"FilterRules": item.filters["S3Key"]["FilterRule"]}}
            return found

        result = {
            "TopicConfigurations": [entry(t, "TopicArn") for t in configuration.topic],
            "QueueConfigurations": [entry(q, "QueueArn") for q in configuration.queue],
            "LambdaFunctionConfigurations": [entry(f, "LambdaFunctionArn") for f in configuration.cloud_function],
            "EventBridgeConfiguration": {},
        }
        self.data["Action"] = "GetBucketNotificationConfiguration"
        return self.serialized(ActionResult(result))

    S3Response.get_bucket_notification = get_bucket_notification


def main(argv: list[str]) -> int:
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    serialise_sqs()
    report_eventbridge_setting()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=int(argv[0]), verbose=False)
    server.start()
    print("ready", flush=True)
    sys.stdin.read()  # until the test closes our stdin (or dies, which closes it too)
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
