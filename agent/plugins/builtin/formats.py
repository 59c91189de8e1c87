"""Built-in plugin: recognises S3 event notifications sent directly or through SNS, and S3's EventBridge events."""

from __future__ import annotations

from typing import Any

from agent.api import ObjectEvent, RejectedRecord, hookimpl
from agent.engine import messages


@hookimpl(trylast=True)
def agent_parse_message(body: str, attributes: dict[str, Any]) -> list[ObjectEvent | RejectedRecord] | None:
    return messages.parse_body(body, attributes.get("MessageId", ""))
