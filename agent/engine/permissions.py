"""The IAM permission behind each AWS operation the agent makes, and the policy statements that grant them."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from agent.config import region_from_queue_url

OPERATION_ACTIONS = {
    "ReceiveMessage": "sqs:ReceiveMessage",
    "DeleteMessage": "sqs:DeleteMessage",
    "DeleteMessageBatch": "sqs:DeleteMessage",
    "ChangeMessageVisibility": "sqs:ChangeMessageVisibility",
    "ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
    "GetQueueAttributes": "sqs:GetQueueAttributes",
    "SendMessage": "sqs:SendMessage",
    "SendMessageBatch": "sqs:SendMessage",
    "ListQueues": "sqs:ListQueues",
    "GetObject": "s3:GetObject",
    "HeadObject": "s3:GetObject",
    "ListObjectsV2": "s3:ListBucket",
    "HeadBucket": "s3:ListBucket",
}
"""Operation name (as botocore reports it) -> the IAM action it needs."""

QUEUE_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes")
"""Everything the agent does with its queue."""
OBJECT_ACTIONS = ("s3:GetObject",)
DEAD_LETTER_ACTIONS = ("sqs:SendMessage",)


def partition(region: str | None) -> str:
    if region and region.startswith("cn-"):
        return "aws-cn"
    if region and region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def queue_arn(queue_url: str, region: str | None = None) -> str:
    """arn:aws:sqs:REGION:ACCOUNT:NAME for a queue URL (the region from the URL, else `region`)."""
    parts = [p for p in urlparse(queue_url).path.split("/") if p]
    account = parts[0] if len(parts) >= 2 else "ACCOUNT"
    name = parts[-1] if parts else "QUEUE"
    region = region_from_queue_url(queue_url) or region or "REGION"
    return f"arn:{partition(region)}:sqs:{region}:{account}:{name}"


def bucket_arn(bucket: str, region: str | None = None) -> str:
    return f"arn:{partition(region)}:s3:::{bucket}"


def objects_arn(bucket: str, region: str | None = None) -> str:
    return f"{bucket_arn(bucket, region)}/*"


def statement(actions: tuple[str, ...] | list[str], resource: str) -> dict[str, Any]:
    """One IAM policy statement allowing `actions` on `resource`, ready to paste into a policy."""
    return {"Effect": "Allow", "Action": list(actions) if len(actions) > 1 else actions[0], "Resource": resource}


def action_for(operation: str | None) -> str | None:
    return OPERATION_ACTIONS.get(operation or "")


def denied_reason(operation: str | None, code: str) -> str:
    """Access denied, naming the permission when the operation is known: the same words in the agent and the doctor."""
    action = action_for(operation)
    if action is None:
        return (f"Access denied ({code}). Give these credentials s3:GetObject on the bucket's objects and "
                f"{', '.join(QUEUE_ACTIONS)} on the queue; 's3-sqs-agent doctor' shows the exact policy statement.")
    target = "the bucket's objects" if action == "s3:GetObject" else "the bucket" if action.startswith("s3:") else "the queue"
    return (f"Access denied: these credentials lack {action} on {target} ({code}). Ask your AWS administrator to "
            "allow it; 's3-sqs-agent doctor' shows the exact policy statement to send.")
