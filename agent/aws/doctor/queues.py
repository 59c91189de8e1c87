"""The queue checks: the queue itself, receiving, deleting, and sending to the dead-letter queue, none of which changes a message."""

from __future__ import annotations

import json

from botocore.exceptions import BotoCoreError, ClientError

from agent.aws.doctor.check import DEAD_LETTER, DELETE, QUEUE, RECEIVE, Check, duration, skipped
from agent.aws.doctor.probe import Probe, aws_failure
from agent.aws.resources import nearest_queue, queue_name
from agent.engine import aws, explain, permissions
from agent.engine.retry import DENIED, MISSING_QUEUE, error_code
from agent.engine.sqs import SQS_DEFAULTS
from agent.errors import CredentialsError

PROBE_RECEIPT = "s3-sqs-agent-doctor-probe"  # a receipt handle that matches no message: SQS refuses it if allowed
PROBE_DELAY_SECONDS = 901  # SendMessage refuses a delay over 900 s once the caller is allowed to send


def check_queue(probe: Probe) -> Check:
    if not probe.signed_in or probe.clients is None:
        return skipped(QUEUE, "needs working credentials")
    config = probe.config
    mismatch = explain.region_mismatch(config)
    if mismatch is not None:
        return Check(QUEUE, False, *mismatch)
    _, sqs, _ = probe.clients
    try:
        attributes = sqs.get_queue_attributes(QueueUrl=config.sqs_queue_url, AttributeNames=["All"]).get("Attributes", {})
    except ClientError as exc:
        if error_code(exc) in MISSING_QUEUE:
            near = nearest_queue_url(probe, config.sqs_queue_url)
            guess = f" did you mean {queue_name(near)!r} ({near})? Or" if near else ""
            return Check(QUEUE, False, f"There is no queue at {config.sqs_queue_url} (for these credentials).",
                         f"Check {{sqs_queue_url}}:{guess} copy the URL from the SQS console (Queues, then the queue's "
                         "Details). The queue must belong to the credentials' account or be shared with it by its access "
                         "policy.", suggestion=near)
        return aws_failure(probe, QUEUE, exc, "sqs:GetQueueAttributes", probe.queue_arn, permissions.QUEUE_ACTIONS)
    except BotoCoreError as exc:
        return aws_failure(probe, QUEUE, exc, "sqs:GetQueueAttributes", probe.queue_arn, permissions.QUEUE_ACTIONS)
    probe.queue_attributes = attributes
    visible = int(attributes.get("ApproximateNumberOfMessages", 0))
    in_flight = int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0))
    parts = [f"{queue_name(config.sqs_queue_url)}: {visible} waiting, {in_flight} in flight",
             f"messages kept {duration(int(attributes.get('MessageRetentionPeriod', SQS_DEFAULTS.retention_seconds)))}",
             f"visibility timeout {attributes.get('VisibilityTimeout', SQS_DEFAULTS.visibility_timeout)} s"]
    redrive = redrive_target(attributes)
    if redrive:
        parts.append(f"after {redrive[1]} receives a message moves to {redrive[0]} (the queue's redrive policy)")
    return Check(QUEUE, True, "; ".join(parts) + ".")


def nearest_queue_url(probe: Probe, queue_url: str) -> str | None:
    try:
        session = aws.make_session(probe.config)
    except CredentialsError:
        return None
    return nearest_queue(session, queue_url, probe.config.sqs_endpoint, probe.region)


def redrive_target(attributes: dict[str, str]) -> tuple[str, str] | None:
    try:
        policy = json.loads(attributes.get("RedrivePolicy") or "null")
    except ValueError:
        return None
    if not isinstance(policy, dict) or not policy.get("deadLetterTargetArn"):
        return None
    return str(policy["deadLetterTargetArn"]).rsplit(":", 1)[-1], str(policy.get("maxReceiveCount", "?"))


def check_receive(probe: Probe) -> Check:
    if probe.queue_attributes is None or probe.clients is None:
        return skipped(RECEIVE, "the queue could not be read")
    visible = int(probe.queue_attributes.get("ApproximateNumberOfMessages", 0))
    if visible:
        return Check(RECEIVE, None, f"Not tried: the queue holds {visible} message{'s' if visible != 1 else ''}, and a test "
                     "receive would count against them (every receive raises a message's receive count). The agent's first "
                     "real receive will prove it.")
    _, sqs, _ = probe.clients
    try:
        # VisibilityTimeout=0: a message that arrives meanwhile is visible again at once, for the agent.
        got = sqs.receive_message(QueueUrl=probe.config.sqs_queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=0,
                                  VisibilityTimeout=0).get("Messages", [])
    except (ClientError, BotoCoreError) as exc:
        kms = kms_failure(RECEIVE, exc, probe)
        return kms or aws_failure(probe, RECEIVE, exc, "sqs:ReceiveMessage", probe.queue_arn, permissions.QUEUE_ACTIONS)
    if got:
        return Check(RECEIVE, True, "Allowed (a message arrived meanwhile; it was left visible for the agent).")
    return Check(RECEIVE, True, "Allowed (tried while the queue was empty).")


def kms_failure(name: str, exc: BaseException, probe: Probe) -> Check | None:
    """A queue encrypted with a customer key needs kms:Decrypt on that key too."""
    code = error_code(exc) if isinstance(exc, ClientError) else ""
    if not code.startswith("KMS") and not code.startswith("Kms"):
        return None
    key = (probe.queue_attributes or {}).get("KmsMasterKeyId") or "the queue's KMS key"
    key_arn = key if key.startswith("arn:") else f"arn:{permissions.partition(probe.region)}:kms:{probe.region}:*:key/*"
    return Check(name, False, f"The queue is encrypted with a KMS key ({key}) these credentials may not use ({code}).",
                 f"Ask your AWS administrator to allow kms:Decrypt on {key} (the statement below).",
                 permissions.statement(("kms:Decrypt",), key_arn))


def check_delete(probe: Probe) -> Check:
    if probe.queue_attributes is None or probe.clients is None:
        return skipped(DELETE, "the queue could not be read")
    _, sqs, _ = probe.clients
    target = {"QueueUrl": probe.config.sqs_queue_url, "ReceiptHandle": PROBE_RECEIPT}
    for action, operation, extra in (("sqs:DeleteMessage", "delete_message", {}),
                                     ("sqs:ChangeMessageVisibility", "change_message_visibility", {"VisibilityTimeout": 0})):
        try:
            getattr(sqs, operation)(**target, **extra)
        except ClientError as exc:
            if error_code(exc) in DENIED:
                return aws_failure(probe, DELETE, exc, action, probe.queue_arn, permissions.QUEUE_ACTIONS)
            # ReceiptHandleIsInvalid: SQS authorized the request, then found no such message. That is the proof.
        except BotoCoreError as exc:
            return aws_failure(probe, DELETE, exc, action, probe.queue_arn, permissions.QUEUE_ACTIONS)
    return Check(DELETE, True, "Deleting messages and extending their visibility are allowed "
                 "(tried with a receipt that matches no message).")


def check_dead_letter(probe: Probe) -> Check:
    config = probe.config
    url = config.dead_letter_queue_url
    if url is None:
        redrive = redrive_target(probe.queue_attributes or {})
        if redrive:
            return Check(DEAD_LETTER, None, f"Not set: the queue's own redrive policy moves the messages the agent gives up "
                         f"to {redrive[0]}.")
        return Check(DEAD_LETTER, None, "Not set: messages the agent gives up stay in its local ledger "
                     "(s3-sqs-agent failed list).")
    if not probe.signed_in or probe.clients is None:
        return skipped(DEAD_LETTER, "needs working credentials")
    _, sqs, _ = probe.clients
    arn = permissions.queue_arn(url, probe.region)
    try:
        sqs.send_message(QueueUrl=url, MessageBody="s3-sqs-agent doctor: this message is refused on purpose",
                         DelaySeconds=PROBE_DELAY_SECONDS)
    except ClientError as exc:
        code = error_code(exc)
        if code in ("InvalidParameterValue", "InvalidParameterValueException", "InvalidMessageContents"):
            return Check(DEAD_LETTER, True, f"{queue_name(url)}: sending is allowed (tried with a message SQS refuses, "
                         "so nothing was left there).")
        if code in MISSING_QUEUE:
            near = nearest_queue_url(probe, url)
            guess = f" did you mean {queue_name(near)!r} ({near})? Or" if near else ""
            return Check(DEAD_LETTER, False, f"There is no queue at {url} ({{dead_letter_queue_url}}).",
                         f"Check {{dead_letter_queue_url}}:{guess} copy the URL from the SQS console, or {{remove the key|empty it}} "
                         "to keep given-up messages in the local ledger.", suggestion=near)
        return aws_failure(probe, DEAD_LETTER, exc, "sqs:SendMessage", arn, permissions.DEAD_LETTER_ACTIONS)
    except BotoCoreError as exc:
        return aws_failure(probe, DEAD_LETTER, exc, "sqs:SendMessage", arn, permissions.DEAD_LETTER_ACTIONS)
    return Check(DEAD_LETTER, True, f"{queue_name(url)}: sending is allowed (this server accepted the test message, "
                 "with a 15-minute delay; it is marked as the doctor's).")
