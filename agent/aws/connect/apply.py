"""Carrying out a plan: one handler per kind of resource and command, chosen by the step's kind; each checks its
action. Every step is idempotent, so a plan that failed half-way is finished by running the command again."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import boto3

from agent import config as config_module
from agent.aws import bucket_notifications as bn
from agent.aws import profiles
from agent.aws.calls import Calls
from agent.aws.connect import read, render
from agent.aws.connect.kinds import Action, Resource
from agent.aws.connect.names import publisher_statement, with_statement
from agent.aws.connect.plan import CREATED_BY, RETENTION_SECONDS, TAG_BUCKET, TARGET_ID, ChangedMeanwhile, ConnectError, Facts, Plan, Step


@dataclass(frozen=True)
class Applied:
    """What `apply()` did: the steps carried out, the config values it wrote (or, with write_config=False, would
    write), and the config as written (None once disconnected, or when it was left to the caller)."""

    done: tuple[Step, ...]
    config_changes: Mapping[str, Any]
    config: config_module.Config | None
    queue_url: str | None


State = dict[str, "str | None"]
"""What apply() learns as it goes: the URLs of the queues it creates."""
Handler = Callable[[Calls, Facts, Step, State], None]


def apply(plan: Plan, session: boto3.session.Session | None = None, on_step: Callable[[Step], None] | None = None,
          write_config: bool = True) -> Applied:
    """Carry out a plan made by plan_connect() or plan_disconnect(). Each step is idempotent: after a failure, run
    the command again and it picks up where it stopped. With `write_config=False` the config file is left alone and
    the values are returned instead (the Setup window saves them with its other answers)."""
    if not plan.ready or plan.facts is None:
        raise ConnectError(render.cannot_apply(plan.problems))
    facts = plan.facts
    calls = Calls(session or profiles.session(facts.profile), facts.region, facts.endpoint_url)
    done: list[Step] = []
    state: State = {"queue_url": facts.queue_url, "dlq_url": facts.dlq_url}
    handlers = CONNECT if plan.command == "connect" else DISCONNECT
    written: config_module.Config | None = None
    for step in plan.steps:
        if step.action is Action.KEEP or (step.kind is Resource.CONFIG_FILE and not write_config):
            continue
        if step.kind is Resource.CONFIG_FILE:
            written = config_module.update_file(facts.config_path, _config_values(facts, state),
                                                allow_not_set_up=facts.command == "disconnect")
        else:
            handlers[step.kind](calls, facts, step, state)
        done.append(step)
        if on_step is not None:
            on_step(step)
    if write_config and written is None and plan.command == "connect":
        written = config_module.load(facts.config_path)
    return Applied(tuple(done), _config_values(facts, state), written, state.get("queue_url"))


def _tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def _created_by(facts: Facts) -> dict[str, str]:
    return {CREATED_BY[0]: CREATED_BY[1], TAG_BUCKET: facts.bucket}


# ---------------------------------------------------------------- connect


def _create_dead_letter_queue(calls: Calls, facts: Facts, step: Step, state: State) -> None:
    state["dlq_url"] = str(calls.call("sqs", "CreateQueue", facts.dlq_arn or "", QueueName=facts.dlq_name, tags=_created_by(facts),
                                      Attributes={"MessageRetentionPeriod": str(RETENTION_SECONDS),
                                                  "SqsManagedSseEnabled": "true"})["QueueUrl"])


def _create_or_change_queue(calls: Calls, facts: Facts, step: Step, state: State) -> None:
    if step.action is Action.CREATE:
        state["queue_url"] = str(calls.call("sqs", "CreateQueue", facts.queue_arn, QueueName=facts.queue_name,
                                            tags=dict(facts.queue_tags), Attributes=dict(facts.queue_attributes))["QueueUrl"])
        if facts.mode == "share":  # another machine may have created it a moment ago, and then our tags were not set
            calls.call("sqs", "TagQueue", facts.queue_arn, QueueUrl=state["queue_url"], Tags=dict(facts.queue_tags))
        return
    if facts.queue_attributes:
        calls.call("sqs", "SetQueueAttributes", facts.queue_arn, QueueUrl=state["queue_url"], Attributes=dict(facts.queue_attributes))
    if facts.queue_tags:
        calls.call("sqs", "TagQueue", facts.queue_arn, QueueUrl=state["queue_url"], Tags=dict(facts.queue_tags))


def _create_or_change_topic(calls: Calls, facts: Facts, step: Step, state: State) -> None:
    topic = facts.topic_arn or ""
    if step.action is Action.CREATE:
        topic = str(calls.call("sns", "CreateTopic", topic, Name=bn.short_name(topic), Tags=_tag_list(_created_by(facts)))["TopicArn"])
    policy = (read.topic_attributes(calls, topic) or {}).get("Policy")
    statement = publisher_statement(topic, f"arn:{facts.partition}:s3:::{facts.bucket}", facts.account)
    calls.call("sns", "SetTopicAttributes", topic, TopicArn=topic, AttributeName="Policy", AttributeValue=with_statement(policy, statement))


def _subscribe(calls: Calls, facts: Facts, step: Step, state: State) -> None:
    calls.call("sns", "Subscribe", facts.topic_arn or "", TopicArn=facts.topic_arn, Protocol="sqs", Endpoint=facts.queue_arn,
               Attributes={"RawMessageDelivery": "true"}, ReturnSubscriptionArn=True)


def _put_rule(calls: Calls, facts: Facts, step: Step, state: State) -> None:
    rule = facts.rule_arn or ""
    calls.call("events", "PutRule", rule, Name=facts.rule_name, EventPattern=facts.rule_pattern, State="ENABLED",
               Description=render.rule_description(facts.bucket, facts.queue_name),
               **({"Tags": _tag_list(_created_by(facts))} if step.action is Action.CREATE else {}))
    calls.call("events", "PutTargets", rule, Rule=facts.rule_name, Targets=[{"Id": TARGET_ID, "Arn": facts.queue_arn}])


READ_BACK_TRIES = 5
READ_BACK_WAIT_SECONDS = 1.0


def _write_bucket(calls: Calls, facts: Facts, step: Step, state: State) -> None:
    """Write the planned configuration, only if the bucket's is still what the plan read; then check that it took.

    S3 has no conditional write for this configuration: a change someone else makes between the last read and the
    write is overwritten, and no check can see it afterwards (the read after the write sees connect's own). The read
    after the write only confirms that the bucket serves what was written; reads of bucket settings are eventually
    consistent, so it is tried a few times before the write is reported as not taken."""
    arn = f"arn:{facts.partition}:s3:::{facts.bucket}"
    now = read.bucket_configuration(calls, facts.bucket, arn)
    if bn.canonical(now) != bn.canonical(facts.bucket_before):
        raise ChangedMeanwhile(render.changed_meanwhile(facts.bucket))
    wanted = dict(facts.bucket_after or {})
    calls.call("s3", "PutBucketNotificationConfiguration", arn, Bucket=facts.bucket, NotificationConfiguration=wanted)
    for attempt in range(READ_BACK_TRIES):
        if attempt:
            time.sleep(READ_BACK_WAIT_SECONDS)
        if bn.canonical(read.bucket_configuration(calls, facts.bucket, arn)) == bn.canonical(wanted):
            return
    raise ChangedMeanwhile(render.not_read_back(facts.bucket, READ_BACK_TRIES * READ_BACK_WAIT_SECONDS))


CONNECT: dict[Resource, Handler] = {
    Resource.DEAD_LETTER_QUEUE: _create_dead_letter_queue,
    Resource.QUEUE: _create_or_change_queue,
    Resource.TOPIC: _create_or_change_topic,
    Resource.SUBSCRIPTION: _subscribe,
    Resource.RULE: _put_rule,
    Resource.BUCKET_NOTIFICATIONS: _write_bucket,
}


# ---------------------------------------------------------------- disconnect


def _leave_or_remove_queue(calls: Calls, facts: Facts, step: Step, state: State) -> None:
    if step.action is Action.CHANGE:  # a shared queue that others still use: this workstation leaves its members
        calls.call("sqs", "UntagQueue", facts.queue_arn, QueueUrl=facts.queue_url, TagKeys=list(facts.untag))
        return
    left = read.read_queue(calls, facts.queue_url or "", facts.queue_arn).messages()
    if left:  # arrived since the plan was made; nothing more arrives now that the subscription or rule is gone
        raise ConnectError(render.messages_arrived(facts.queue_name, left))
    calls.call("sqs", "DeleteQueue", facts.queue_arn, QueueUrl=facts.queue_url)


def _remove_dead_letter_queue(calls: Calls, facts: Facts, step: Step, state: State) -> None:
    calls.call("sqs", "DeleteQueue", facts.dlq_arn or "", QueueUrl=facts.dlq_url)


def _unsubscribe(calls: Calls, facts: Facts, step: Step, state: State) -> None:
    for subscription in facts.subscriptions:
        calls.call("sns", "Unsubscribe", subscription, SubscriptionArn=subscription)


def _remove_rule(calls: Calls, facts: Facts, step: Step, state: State) -> None:
    rule = facts.rule_arn or ""
    calls.call("events", "RemoveTargets", rule, Rule=facts.rule_name, Ids=[TARGET_ID])
    calls.call("events", "DeleteRule", rule, Name=facts.rule_name)


def _remove_topic(calls: Calls, facts: Facts, step: Step, state: State) -> None:
    calls.call("sns", "DeleteTopic", facts.topic_arn or "", TopicArn=facts.topic_arn)


DISCONNECT: dict[Resource, Handler] = {
    Resource.QUEUE: _leave_or_remove_queue,
    Resource.DEAD_LETTER_QUEUE: _remove_dead_letter_queue,
    Resource.SUBSCRIPTION: _unsubscribe,
    Resource.RULE: _remove_rule,
    Resource.TOPIC: _remove_topic,
    Resource.BUCKET_NOTIFICATIONS: _write_bucket,
}


def _config_values(facts: Facts, state: State) -> dict[str, Any]:
    changes = dict(facts.config_changes)
    if facts.command == "connect":
        changes["sqs_queue_url"], changes["dead_letter_queue_url"] = state["queue_url"], state["dlq_url"]
    return changes
