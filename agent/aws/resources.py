"""Queues and buckets as a person names them: queue URL or ARN, the queues of a region, the bucket behind a queue."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, NoReturn
from urllib.parse import urlparse

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from agent.config import SCALARS
from agent.engine import permissions
from agent.engine.aws import CLIENT_SETTINGS, LOCAL_REGION
from agent.engine.retry import MISSING_QUEUE, classify, error_code
from agent.errors import AccessDeniedError, AgentError
from agent.names import nearest

_QUEUE_ARN = re.compile(r"^arn:(aws[a-z-]*):sqs:([a-z]{2}(?:-[a-z]+)+-\d+):(\d{12}):([A-Za-z0-9_-]{1,80}(?:\.fifo)?)$")
_ACCOUNT_ID = re.compile(r"(?<!\d)(\d{8})(\d{4})(?!\d)")
MAX_QUEUES = 1000


def queue_url_from(text: str, endpoint_url: str | None = None) -> str:
    """The queue URL for a pasted queue URL or ARN (arn:aws:sqs:REGION:ACCOUNT:NAME).

    With `endpoint_url` (a local or compatible server), an ARN becomes a URL on that endpoint. Raises ValueError
    with a message to show as it is when the text is neither."""
    text = text.strip().strip("'\"<>").strip()
    if not text:
        raise ValueError("Paste the queue's URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME) or its ARN "
                         "(arn:aws:sqs:REGION:ACCOUNT:NAME), as the SQS console shows them.")
    if text.startswith("arn:"):
        match = _QUEUE_ARN.match(text)
        if not match:
            raise ValueError(f"{text!r} is not a queue ARN: expected arn:aws:sqs:REGION:ACCOUNT:NAME, such as "
                             "arn:aws:sqs:us-east-2:123456789012:audio-uploads")
        partition, region, account, name = match.groups()
        if endpoint_url:
            return f"{endpoint_url.rstrip('/')}/{account}/{name}"
        suffix = "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"
        return f"https://sqs.{region}.{suffix}/{account}/{name}"
    if "://" not in text and re.match(r"^sqs\.[a-z0-9-]+\.amazonaws\.com", text):
        text = f"https://{text}"
    try:
        return str(SCALARS["sqs_queue_url"](text.rstrip("/")))  # the config's own check: the window and the file agree
    except ValueError as exc:
        raise ValueError(f"That is not a queue URL or ARN: {exc}") from None


def queue_name(queue_url: str) -> str:
    return urlparse(queue_url).path.rstrip("/").rsplit("/", 1)[-1]


def mask_account_ids(text: str) -> str:
    """Every 12-digit AWS account number in `text` shown as ********9012."""
    return _ACCOUNT_ID.sub(lambda m: "********" + m.group(2), text)


def _sqs(session: boto3.session.Session, region: str | None, endpoint_url: str | None) -> Any:
    return session.client("sqs", region_name=region or session.region_name or (LOCAL_REGION if endpoint_url else None),
                          endpoint_url=endpoint_url, config=CLIENT_SETTINGS)


def _raise_for(exc: ClientError | BotoCoreError, doing: str, resource: str) -> NoReturn:
    """Turn an AWS error into the AgentError a person reads (the same wording as the running agent's)."""
    if isinstance(exc, ClientError) and error_code(exc) in ("AccessDenied", "AccessDeniedException", "403"):
        action = permissions.action_for(exc.operation_name)
        raise AccessDeniedError(f"These credentials may not {doing}: {action} on {resource} is not allowed. "
                                "Ask your AWS administrator for it, or paste the queue URL instead.") from None
    failure = classify(exc)
    raise (failure.error or AgentError(f"Could not {doing}: {failure.reason}")) from None


def list_queues(session: boto3.session.Session, region: str | None, endpoint_url: str | None = None) -> list[str]:
    """The queue URLs of a region (sorted; at most 1000). Raises AccessDeniedError without sqs:ListQueues."""
    sqs = _sqs(session, region, endpoint_url)
    urls: list[str] = []
    try:
        for page in sqs.get_paginator("list_queues").paginate(PaginationConfig={"MaxItems": MAX_QUEUES, "PageSize": 1000}):
            urls.extend(page.get("QueueUrls", []))
    except (ClientError, BotoCoreError) as exc:
        region_text = region or session.region_name or "the region"
        _raise_for(exc, f"list the queues of {region_text}", f"arn:{permissions.partition(region)}:sqs:{region_text}:*")
    return sorted(urls, key=lambda url: queue_name(url).lower())


def nearest_queue_among(queue_url: str, urls: list[str]) -> str | None:
    """Of `urls`, the queue of the same account whose name is nearest to `queue_url`'s (a typo, another case), or None."""
    name, account = queue_name(queue_url), _queue_account(queue_url)
    names = {queue_name(url): url for url in urls if _queue_account(url) == account and queue_name(url) != name}
    close = nearest(name, names)  # another case first, then the closest spelling
    return names[close] if close else None


def nearest_queue(session: boto3.session.Session, queue_url: str, endpoint_url: str | None = None,
                  region: str | None = None) -> str | None:
    """The URL of the existing queue `queue_url` most likely meant, among the queues of its region (ListQueues); None
    when none is near, or listing is not allowed. For a queue already known to be missing (the doctor's check)."""
    from agent.config import region_from_queue_url

    try:
        return nearest_queue_among(queue_url, list_queues(session, region_from_queue_url(queue_url) or region, endpoint_url))
    except AgentError:
        return None


def _queue_account(queue_url: str) -> str:
    parts = [p for p in urlparse(queue_url).path.split("/") if p]
    return parts[0] if parts else ""


@dataclass(frozen=True)
class QueueLookup:
    """Whether a queue exists (None: cannot tell, such as without permission), and if not the nearest existing one."""

    exists: bool | None
    nearest: str | None = None
    """The URL of the queue whose name is nearest (same account and region), when the queue does not exist."""


def find_queue(session: boto3.session.Session, queue_url: str, endpoint_url: str | None = None,
               region: str | None = None) -> QueueLookup:
    """Ask SQS whether the queue exists (GetQueueAttributes, no message is touched); when it does not, list the queues
    of its region (ListQueues, when allowed) for the nearest name."""
    from agent.config import region_from_queue_url

    region = region_from_queue_url(queue_url) or region
    sqs = _sqs(session, region, endpoint_url)
    try:
        sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    except ClientError as exc:
        if error_code(exc) not in MISSING_QUEUE:
            return QueueLookup(None)
    except BotoCoreError:
        return QueueLookup(None)
    else:
        return QueueLookup(True)
    return QueueLookup(False, nearest_queue(session, queue_url, endpoint_url, region))


def bucket_from_queue_policy(session: boto3.session.Session, queue_url: str, endpoint_url: str | None = None,
                             region: str | None = None) -> str | None:
    """The bucket whose notifications the queue's policy admits (its aws:SourceArn), or None when it names none.

    Reads only the queue's Policy attribute (sqs:GetQueueAttributes); it never receives a message. A queue fed
    through an SNS topic names the topic; then the topic's policy is read the same way (sns:GetTopicAttributes),
    when allowed. None when no single bucket can be told, or when reading the policy is not allowed."""
    from agent.config import region_from_queue_url

    region = region_from_queue_url(queue_url) or region
    try:
        attributes = _sqs(session, region, endpoint_url).get_queue_attributes(
            QueueUrl=queue_url, AttributeNames=["Policy"]).get("Attributes", {})
    except (ClientError, BotoCoreError):
        return None
    arns = source_arns(attributes.get("Policy"))
    buckets = {arn.split(":::", 1)[1] for arn in arns if arn.startswith(("arn:aws:s3:::", "arn:aws-cn:s3:::", "arn:aws-us-gov:s3:::"))}
    if not buckets:
        topics = [arn for arn in arns if ":sns:" in arn]
        if len(topics) == 1:
            buckets = _buckets_behind_topic(session, topics[0], endpoint_url)
    clean = {bucket for bucket in buckets if bucket and not any(c in bucket for c in "*?/")}
    return clean.pop() if len(clean) == 1 else None


def _buckets_behind_topic(session: boto3.session.Session, topic_arn: str, endpoint_url: str | None) -> set[str]:
    region = topic_arn.split(":")[3] if topic_arn.count(":") >= 5 else None
    try:
        sns = session.client("sns", region_name=region or session.region_name, endpoint_url=endpoint_url, config=CLIENT_SETTINGS)
        policy = sns.get_topic_attributes(TopicArn=topic_arn).get("Attributes", {}).get("Policy")
    except (ClientError, BotoCoreError):
        return set()
    return {arn.split(":::", 1)[1] for arn in source_arns(policy) if ":s3:::" in arn}


def source_arns(policy: Any) -> list[str]:
    """Every aws:SourceArn value in an IAM resource policy (a JSON text or a parsed one), whatever the operator."""
    if isinstance(policy, str):
        try:
            policy = json.loads(policy)
        except ValueError:
            return []
    if not isinstance(policy, dict):
        return []
    statements = policy.get("Statement", [])
    statements = [statements] if isinstance(statements, dict) else statements
    found: list[str] = []
    for statement in statements if isinstance(statements, list) else []:
        if not isinstance(statement, dict) or statement.get("Effect", "Allow") != "Allow":
            continue
        conditions = statement.get("Condition", {})
        for operands in conditions.values() if isinstance(conditions, dict) else []:
            if not isinstance(operands, dict):
                continue
            for key, value in operands.items():
                if str(key).lower() == "aws:sourcearn":
                    found.extend(str(v) for v in (value if isinstance(value, list) else [value]))
    return found
