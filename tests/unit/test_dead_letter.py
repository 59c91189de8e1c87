"""Sending to the dead-letter queue (agent.engine.sqs.send_dead_letter): a refused message is sent again with its
attributes trimmed, as SQS counts them toward its size limit; refused again, the caller keeps it in the ledger."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from agent.engine.sqs import REASON_ATTRIBUTE, DeadLetterRefused, Queue, send_dead_letter


class SizedQueue(Queue):
    """A queue that takes messages up to `limit` bytes, attributes included (names, types and values), as SQS does."""

    def __init__(self, limit: int, error: str = "InvalidParameterValue") -> None:
        self.limit, self.error, self.sent, self.tries = limit, error, [], 0

    def send(self, body: str, attributes: dict[str, str]) -> None:
        self.tries += 1
        size = len(body.encode()) + sum(len(n.encode()) + len("String") + len(v.encode()) for n, v in attributes.items())
        if size > self.limit or self.error != "InvalidParameterValue":
            raise ClientError({"Error": {"Code": self.error, "Message": f"Message must be shorter than {self.limit} bytes."}},
                              "SendMessage")
        self.sent.append((body, attributes))


ATTRIBUTES = {REASON_ATTRIBUTE: "the message is not in a format the agent knows: " + "z" * 400, "s3_sqs_agent.source_queue": "q" * 80,
              "s3_sqs_agent.original_message_id": "m" * 36, "s3_sqs_agent.receive_count": "3",
              "s3_sqs_agent.failed_at": "2026-11-28T12:00:00Z"}


def test_a_body_that_fits_only_without_all_its_attributes_is_sent_with_its_reason(caplog: pytest.LogCaptureFixture) -> None:
    queue = SizedQueue(1024)
    send_dead_letter(queue, "b" * 600, ATTRIBUTES)
    [(body, attributes)] = queue.sent
    assert body == "b" * 600 and list(attributes) == [REASON_ATTRIBUTE] and len(attributes[REASON_ATTRIBUTE]) == 256
    assert "sent it again with its reason only" in caplog.text


def test_a_body_refused_even_so_is_for_the_caller_to_keep() -> None:
    queue = SizedQueue(1024)
    with pytest.raises(DeadLetterRefused, match="Message must be shorter than 1024 bytes"):
        send_dead_letter(queue, "b" * 2000, ATTRIBUTES)
    assert queue.tries == 2 and queue.sent == []


@pytest.mark.parametrize("code", ["AccessDenied", "ThrottlingException", "AWS.SimpleQueueService.NonExistentQueue", "InternalError"])
def test_an_outage_a_denial_or_throttling_is_no_refusal(code: str) -> None:
    """The queue did not refuse the message: the consumer keeps it and waits (a hold), as before."""
    queue = SizedQueue(10**6, error=code)
    with pytest.raises(ClientError):
        send_dead_letter(queue, "b", ATTRIBUTES)
    assert queue.tries == 1


def test_attribute_values_drop_the_characters_sqs_refuses() -> None:
    sent: list[Any] = []

    class Client:
        def send_message(self, **kwargs: Any) -> None:
            sent.append(kwargs)

    Queue(Client(), "https://q").send("body", {REASON_ATTRIBUTE: "key a\x01b\ufffe.wav"})
    assert sent[0]["MessageAttributes"][REASON_ATTRIBUTE]["StringValue"] == "key a?b?.wav"
