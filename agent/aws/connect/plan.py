"""A connect or disconnect plan as data: what was asked, what exists, and each step (a kind of resource, an action,
its name and a detail for the reader); the CLI prints it, the Setup window shows it, and apply() carries it out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent import errors
from agent.aws import bucket_notifications as bn
from agent.aws.connect import render
from agent.aws.connect.kinds import Action, Resource

MODES = ("own-copy", "share")
ROUTES = ("sns", "eventbridge")
CREATED_BY = ("created-by", "s3-sqs-agent")
TAG_BUCKET, TAG_MODE, TAG_VIA = "s3-sqs-agent:bucket", "s3-sqs-agent:mode", "s3-sqs-agent:via"
TAG_TOPIC, TAG_RULE, TAG_WORKSTATION = "s3-sqs-agent:topic", "s3-sqs-agent:rule", "s3-sqs-agent:workstation"
MEMBER_TAG = "s3-sqs-agent:member:"
"""Share mode: one tag per workstation connected to the shared queue; the last one to disconnect removes it."""
RETENTION_SECONDS = 14 * 86_400  # SQS's maximum: a workstation away for two weeks misses nothing
VISIBILITY_SECONDS = 60  # the agent extends it while a download runs; a crashed agent's messages return within a minute
MAX_RECEIVES = 20  # the agent gives up (to the dead-letter queue, with its reason) long before; this catches crash loops
QUEUE_NAME_LIMIT, RULE_NAME_LIMIT, TOPIC_NAME_LIMIT = 80, 64, 256
TARGET_ID = "s3-sqs-agent-queue"


class ConnectError(errors.AgentError):
    title = "Cannot connect"


class ChangedMeanwhile(errors.AgentError):
    """Someone changed the bucket's notification configuration between the plan and the write."""

    title = "The bucket's notifications changed meanwhile"


@dataclass(frozen=True)
class Step:
    """One line of a plan: what it acts on (`kind`), what it does (`action`), the resource's name, and a detail."""

    action: Action
    kind: Resource
    name: str
    detail: str = ""

    @property
    def what(self) -> str:
        """The kind of resource as a person reads it: "dead-letter queue", "EventBridge rule"."""
        return render.LABELS[self.kind]

    def line(self, width: int | None = None) -> str:
        """`  create  queue                 NAME`, and the detail below the name (wrapped to `width` when given)."""
        return render.step_line(self.action, self.what, self.name, self.detail, width)


@dataclass(frozen=True)
class ConnectRequest:
    """What `s3-sqs-agent connect` was asked for."""

    bucket: str
    prefix: str = ""
    suffixes: tuple[str, ...] = ()
    mode: str = "own-copy"
    via: str = "sns"
    queue_name: str | None = None
    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    config_path: Path | None = None
    workstation: str = ""  # this computer's name (default: its host name)

    @property
    def wanted(self) -> tuple[bn.KeyFilter, ...]:
        return tuple(bn.KeyFilter(self.prefix, s) for s in self.suffixes) or (bn.KeyFilter(self.prefix),)


@dataclass(frozen=True)
class Plan:
    """What `apply()` would do. `problems` (plain sentences) block it; `steps` list every resource involved."""

    command: str  # "connect" or "disconnect"
    summary: str
    steps: tuple[Step, ...]
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    facts: Facts | None = field(default=None, repr=False)

    @property
    def ready(self) -> bool:
        return not self.problems and self.facts is not None

    @property
    def changes(self) -> bool:
        return any(step.action is not Action.KEEP for step in self.steps)

    def lines(self, width: int | None = None) -> list[str]:
        """The plan as a person reads it; with `width`, long lines are wrapped (a terminal), else left whole."""
        return render.plan_lines(self.command, self.summary, [step.line(width) for step in self.steps], self.notes,
                                 self.problems, width)

    def text(self, width: int | None = None) -> str:
        return "\n".join(self.lines(width))


@dataclass(frozen=True)
class Facts:
    """What planning found and decided, for `apply()`: names, ARNs and the bucket's configuration as read."""

    command: str
    profile: str | None
    region: str
    endpoint_url: str | None
    account: str
    partition: str
    bucket: str
    config_path: Path
    config_changes: Mapping[str, Any]
    queue_name: str
    queue_url: str | None
    dlq_name: str | None
    dlq_url: str | None
    mode: str
    via: str
    topic_arn: str | None = None
    rule_name: str | None = None
    rule_pattern: str | None = None
    queue_attributes: Mapping[str, str] = field(default_factory=dict)  # to set on the queue (create or change)
    queue_tags: Mapping[str, str] = field(default_factory=dict)  # to add to the queue
    untag: tuple[str, ...] = ()
    subscriptions: tuple[str, ...] = ()  # disconnect: this queue's subscriptions to remove
    bucket_before: Mapping[str, Any] = field(default_factory=dict)
    bucket_after: Mapping[str, Any] | None = None  # None: the bucket's configuration stays as it is

    @property
    def queue_arn(self) -> str:
        return self.arn("sqs", self.queue_name)

    @property
    def dlq_arn(self) -> str | None:
        return self.arn("sqs", self.dlq_name) if self.dlq_name else None

    @property
    def rule_arn(self) -> str | None:
        return self.arn("events", f"rule/{self.rule_name}") if self.rule_name else None

    def arn(self, service: str, resource: str) -> str:
        return f"arn:{self.partition}:{service}:{self.region}:{self.account}:{resource}"

