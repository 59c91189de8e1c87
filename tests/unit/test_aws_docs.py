"""docs/aws.md's policy for the person who runs connect grants exactly what connect and disconnect call."""

from __future__ import annotations

import json
import re

from agent.aws.calls import action_for
from agent.engine import permissions
from tests.helpers import ROOT

DOC = (ROOT / "docs" / "aws.md").read_text(encoding="utf-8")
CODE = "\n".join(path.read_text(encoding="utf-8") for path in sorted((ROOT / "agent" / "aws" / "connect").glob("*.py")))
IMPLIED = {"sns:TagResource", "events:TagResource"}  # CreateTopic and PutRule with tags need these too
FREE = {"sts:GetCallerIdentity"}  # allowed to everyone


def policy_after(heading: str) -> dict[str, object]:
    section = DOC.split(heading, 1)[1]
    block = re.search(r"```json\n(.*?)```", section, re.S)
    assert block, f"no JSON policy after {heading!r}"
    return json.loads(block.group(1))


def actions(policy: dict[str, object]) -> set[str]:
    found: set[str] = set()
    for statement in policy["Statement"]:  # type: ignore[attr-defined]
        listed = statement["Action"]
        found.update([listed] if isinstance(listed, str) else listed)
    return found


def test_the_connect_policy_grants_exactly_what_the_code_calls() -> None:
    called = {action_for(service, operation) for service, operation in re.findall(r'calls\.(?:call|pages)\(\s*"(\w+)", "(\w+)"', CODE)}
    if ".head_bucket(" in CODE:  # called on the client itself, to read the region header even when refused
        called.add(action_for("s3", "HeadBucket"))
    assert "sqs:CreateQueue" in called and "s3:PutBucketNotification" in called  # the scan finds the calls
    assert actions(policy_after("### For the person who runs connect")) == (called - FREE) | IMPLIED


def test_the_workstation_policy_is_what_the_doctor_asks_for() -> None:
    granted = actions(policy_after("### For a workstation that only runs the agent"))
    needed = {*permissions.QUEUE_ACTIONS, *permissions.DEAD_LETTER_ACTIONS, *permissions.OBJECT_ACTIONS}
    assert needed <= granted
    # Versioned buckets; catch-up and the checks; restore_archived; buckets encrypted with a KMS key.
    assert granted - needed == {"s3:GetObjectVersion", "s3:ListBucket", "s3:RestoreObject", "kms:Decrypt"}


def test_the_connect_policy_changes_and_deletes_only_queues_connect_created() -> None:
    from agent.aws.connect.plan import CREATED_BY

    statements = policy_after("### For the person who runs connect")["Statement"]
    for action in ("sqs:SetQueueAttributes", "sqs:DeleteQueue"):
        granting = [s for s in statements if action in s["Action"]]  # type: ignore[index,operator,union-attr]
        assert granting and all(s["Condition"] == {"StringEquals": {f"aws:ResourceTag/{CREATED_BY[0]}": CREATED_BY[1]}}
                                for s in granting), action  # type: ignore[index]


def test_moving_a_queue_behind_a_topic_shows_the_queue_policy_statement() -> None:
    section = DOC.split("## Moving a queue or function behind a topic", 1)[1].split("\n## ", 1)[0]
    assert '"Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage"' in section
    assert '"aws:SourceArn": $topic' in section and "set-queue-attributes" in section
