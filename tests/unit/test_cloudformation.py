"""The CloudFormation template for admins who provision centrally: cfn-lint passes it (offline), and it makes the
same queue that `connect` makes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from cfnlint.api import ManualArgs, lint_file

from agent.aws import connect
from tests.helpers import ROOT

TEMPLATE = ROOT / "docs" / "cloudformation" / "workstation-queue.yaml"
REGIONS = ["us-east-1", "us-east-2", "eu-west-1", "ap-southeast-2"]


class CloudFormationLoader(yaml.SafeLoader):
    """Reads !Ref, !Sub and !GetAtt as plain data."""


CloudFormationLoader.add_multi_constructor("!", lambda loader, suffix, node: {suffix: loader.construct_scalar(node)
                                                                             if isinstance(node, yaml.ScalarNode) else
                                                                             loader.construct_sequence(node)})


def test_the_template_passes_cfn_lint() -> None:
    matches = lint_file(TEMPLATE, config=ManualArgs(regions=REGIONS))
    assert [str(m) for m in matches] == []


def test_cfn_lint_would_catch_a_broken_template(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(TEMPLATE.read_text(encoding="utf-8").replace("MessageRetentionPeriod: 1209600", "MessageRetentionPeriod: 2000000", 1))
    assert any("1209600" in str(m) for m in lint_file(broken, config=ManualArgs(regions=REGIONS)))


def test_the_template_makes_the_queue_connect_makes() -> None:
    resources: dict[str, Any] = yaml.load(TEMPLATE.read_text(encoding="utf-8"), Loader=CloudFormationLoader)["Resources"]
    queue, dlq = resources["Queue"]["Properties"], resources["DeadLetterQueue"]["Properties"]
    assert queue["MessageRetentionPeriod"] == dlq["MessageRetentionPeriod"] == connect.RETENTION_SECONDS
    assert queue["VisibilityTimeout"] == connect.VISIBILITY_SECONDS
    assert queue["RedrivePolicy"]["maxReceiveCount"] == connect.MAX_RECEIVES
    assert queue["SqsManagedSseEnabled"] is True and queue["ReceiveMessageWaitTimeSeconds"] == 20
    [statement] = resources["QueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    made = connect.sender_statement("QUEUE", "sns.amazonaws.com", "TOPIC")
    assert {k: v for k, v in statement.items() if k not in ("Resource", "Condition")} == {
        k: v for k, v in made.items() if k not in ("Resource", "Condition")}
    assert list(statement["Condition"]["ArnEquals"]) == list(made["Condition"]["ArnEquals"]) == ["aws:SourceArn"]
    subscription = resources["Subscription"]["Properties"]
    assert subscription["Protocol"] == "sqs" and subscription["RawMessageDelivery"] is True
    # Provisioned centrally, so not tagged created-by: `disconnect` leaves it to the stack.
    tags = {t["Key"]: t["Value"] for t in queue["Tags"]}
    assert connect.CREATED_BY[0] not in tags and tags["managed-by"] == "cloudformation"
