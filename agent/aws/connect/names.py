"""The names connect gives what it creates, the policies it writes, and the event pattern of its EventBridge rule."""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import socket
from typing import Any

SENDER_SID, PUBLISHER_SID = "s3-sqs-agent-sender", "s3-sqs-agent-bucket"


def workstation_name() -> str:
    """This computer's short host name, as a queue name can hold it."""
    host = socket.gethostname().split(".")[0].lower()
    return re.sub(r"[^a-z0-9-]+", "-", host).strip("-") or "workstation"


def fit_name(text: str, limit: int) -> str:
    """`text` as an SQS, SNS or EventBridge name: other characters become '-', and a long one is cut and given a
    short hash of the whole, so two long names stay distinct."""
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: limit - 9].rstrip('-')}-{digest}"


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


def include_patterns(prefix: str, suffixes: tuple[str, ...]) -> list[str] | None:
    """The config's `include` for --prefix and --suffix (the topic may carry more than this workstation asked for)."""
    if suffixes:
        return [f"{glob_escape(prefix)}*{glob_escape(s)}" for s in suffixes]
    return [f"{glob_escape(prefix)}*"] if prefix else None


def _statements(policy: str | None) -> list[dict[str, Any]]:
    try:
        found = json.loads(policy or "{}").get("Statement", [])
    except (ValueError, AttributeError):
        return []
    return [s for s in (found if isinstance(found, list) else [found]) if isinstance(s, dict)]


def with_statement(policy: str | None, statement: dict[str, Any]) -> str:
    """The policy with `statement` in place of any statement with its Sid; every other statement kept."""
    kept = [s for s in _statements(policy) if s.get("Sid") != statement["Sid"]]
    version = "2012-10-17"
    if policy:
        with contextlib.suppress(ValueError, AttributeError):
            version = json.loads(policy).get("Version", version)
    return json.dumps({"Version": version, "Statement": [*kept, statement]})


def has_statement(policy: str | None, statement: dict[str, Any]) -> bool:
    return any(s == statement for s in _statements(policy))


def sender_statement(queue_arn: str, service: str, source_arn: str) -> dict[str, Any]:
    """Only the bucket's topic (or the EventBridge rule) may send to the queue."""
    return {"Sid": SENDER_SID, "Effect": "Allow", "Principal": {"Service": service}, "Action": "sqs:SendMessage",
            "Resource": queue_arn, "Condition": {"ArnEquals": {"aws:SourceArn": source_arn}}}


def publisher_statement(topic_arn: str, bucket_arn: str, account: str) -> dict[str, Any]:
    """Only this bucket, in this account, may publish to the agent's topic."""
    return {"Sid": PUBLISHER_SID, "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "SNS:Publish",
            "Resource": topic_arn, "Condition": {"ArnLike": {"aws:SourceArn": bucket_arn}, "StringEquals": {"aws:SourceAccount": account}}}


def event_pattern(bucket: str, prefix: str) -> str:
    detail: dict[str, Any] = {"bucket": {"name": [bucket]}}
    if prefix:
        detail["object"] = {"key": [{"prefix": prefix}]}
    return json.dumps({"source": ["aws.s3"], "detail-type": ["Object Created"], "detail": detail}, sort_keys=True)


def same_pattern(left: str | None, right: str | None) -> bool:
    try:
        return bool(left and right) and json.loads(left or "") == json.loads(right or "")
    except ValueError:
        return False

