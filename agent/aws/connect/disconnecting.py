"""`disconnect`'s plan: what connect made for the queue the config names, and what of it goes; one planner per
resource (the queue and its dead-letter queue, the topic and its subscription or the rule, the bucket, the config
file). A shared queue stays while other workstations use it. Planning only reads."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from agent import config as config_module
from agent import dirs
from agent.aws import bucket_notifications as bn
from agent.aws import profiles
from agent.aws.calls import Calls, not_found
from agent.aws.connect import read, render
from agent.aws.connect.kinds import Action, Resource
from agent.aws.connect.names import workstation_name
from agent.aws.connect.plan import MEMBER_TAG, TAG_BUCKET, TAG_MODE, TAG_RULE, TAG_TOPIC, TAG_VIA, ConnectError, Facts, Plan, Step
from agent.aws.resources import queue_name as name_of_queue
from agent.engine.aws import LOCAL_REGION


def plan_disconnect(config_path: Path | None = None, session: boto3.session.Session | None = None,
                    workstation: str | None = None) -> Plan:
    """What `disconnect` would remove for the queue the config names; reads only."""
    path = config_path or dirs.default_config_file()
    config = config_module.load(path)
    workstation = workstation or workstation_name()
    session = session or profiles.session(config.aws_profile)
    region = config.aws_region or session.region_name or LOCAL_REGION
    calls = Calls(session, region, config.endpoint_url)
    account, partition = read.identity(calls)
    queue_name = name_of_queue(config.sqs_queue_url)
    queue_arn = f"arn:{partition}:sqs:{region}:{account}:{queue_name}"
    unset = {"sqs_queue_url": ""}
    try:
        queue = read.read_queue(calls, config.sqs_queue_url, queue_arn)
    except ClientError as exc:
        if not not_found(exc):
            raise
        return Plan("disconnect", render.disconnect_gone_summary(workstation, queue_name),
                    (Step(Action.KEEP, Resource.QUEUE, queue_name, render.QUEUE_GONE),
                     Step(Action.CHANGE, Resource.CONFIG_FILE, str(path), render.config_unset(False))),
                    facts=Facts("disconnect", config.aws_profile, region, config.endpoint_url, account, partition,
                                config.s3_bucket_name or "", path, unset, queue_name, None, None, None, "", ""))
    if not queue.ours:
        raise ConnectError(render.not_ours(queue_name))
    bucket, mode, via = queue.tags.get(TAG_BUCKET, ""), queue.tags.get(TAG_MODE, "own-copy"), queue.tags.get(TAG_VIA, "sns")
    redrive = json.loads(queue.attributes.get("RedrivePolicy") or "{}")
    dlq_name = str(redrive.get("deadLetterTargetArn", "")).rsplit(":", 1)[-1] or None
    dlq = read.find_queue(calls, dlq_name, str(redrive["deadLetterTargetArn"])) if dlq_name else None
    changes: dict[str, Any] = dict(unset)
    if dlq is not None and config.dead_letter_queue_url == dlq.url:
        changes["dead_letter_queue_url"] = config_module.REMOVE
    ours = dlq is not None and dlq.ours
    facts = Facts("disconnect", config.aws_profile, region, config.endpoint_url, account, partition, bucket, path, changes,
                  queue_name, queue.url, dlq_name if ours else None, dlq.url if dlq is not None and ours else None, mode, via,
                  topic_arn=queue.tags.get(TAG_TOPIC) or None, rule_name=queue.tags.get(TAG_RULE) or None)
    summary = render.disconnect_summary(workstation, bucket)
    me = MEMBER_TAG + workstation
    others = sorted(k[len(MEMBER_TAG):] for k in queue.tags if k.startswith(MEMBER_TAG) and k != me)
    if mode == "share" and others:  # the queue stays for them: this workstation only leaves it
        facts = replace(facts, untag=(me,) if me in queue.tags else (), dlq_name=None, dlq_url=None)
        return Plan("disconnect", summary, (
            Step(Action.CHANGE if me in queue.tags else Action.KEEP, Resource.QUEUE, queue_name,
                 render.queue_stays_for(others, me in queue.tags)),
            Step(Action.CHANGE, Resource.CONFIG_FILE, str(path), render.config_unset(len(changes) > 1, stops=False))), (), (), facts)

    # this workstation is the queue's last user: everything connect made for it goes
    steps: list[Step] = []
    problems: list[str] = []
    notes: list[str] = []
    if queue.messages():
        problems.append(render.queue_holds_messages(queue_name, queue.messages()))
    if via == "sns" and facts.topic_arn:
        facts, route_steps = _plan_topic_removal(calls, facts, bucket)
        steps += route_steps
    elif via == "eventbridge" and facts.rule_name:
        facts, step = _plan_rule_removal(calls, facts)
        steps.append(step)
        notes.append(render.EVENTBRIDGE_STAYS)
    steps.append(Step(Action.REMOVE, Resource.QUEUE, queue_name))
    if dlq is not None and dlq.ours:
        if dlq.messages():
            problems.append(render.dlq_holds_messages(dlq_name, dlq.messages()))
        steps.append(Step(Action.REMOVE, Resource.DEAD_LETTER_QUEUE, dlq_name or ""))
    steps.append(Step(Action.CHANGE, Resource.CONFIG_FILE, str(path), render.config_unset(len(changes) > 1)))
    return Plan("disconnect", summary, tuple(steps), tuple(problems), tuple(notes), facts)


def _plan_rule_removal(calls: Calls, facts: Facts) -> tuple[Facts, Step]:
    """The EventBridge rule goes; the bucket keeps sending to EventBridge (other rules may use it)."""
    name = facts.rule_name or ""
    if read.rule(calls, name, facts.rule_arn or "") is None:
        return replace(facts, rule_name=None), Step(Action.KEEP, Resource.RULE, name, render.ALREADY_GONE)
    return facts, Step(Action.REMOVE, Resource.RULE, name)


def _plan_topic_removal(calls: Calls, facts: Facts, bucket: str) -> tuple[Facts, list[Step]]:
    """This queue's subscription goes; the topic and the bucket's entries for it go too once no one else uses it."""
    topic = facts.topic_arn or ""
    if read.topic_attributes(calls, topic) is None:
        return replace(facts, topic_arn=None), [Step(Action.KEEP, Resource.TOPIC, bn.short_name(topic), render.ALREADY_GONE)]
    subscriptions = read.subscriptions(calls, topic)
    mine = tuple(str(s["SubscriptionArn"]) for s in subscriptions if s.get("Endpoint") == facts.queue_arn and
                 str(s.get("SubscriptionArn", "")).startswith("arn:"))
    others = [s for s in subscriptions if s.get("Endpoint") != facts.queue_arn]
    steps = [Step(Action.REMOVE, Resource.SUBSCRIPTION, render.subscription_name(facts.queue_name, bn.short_name(topic)))
             for _ in mine[:1]]
    facts = replace(facts, subscriptions=mine)
    if others or not read.topic_is_ours(calls, topic):
        steps.append(Step(Action.KEEP, Resource.TOPIC, bn.short_name(topic), render.topic_still_used(len(others))))
        steps.append(Step(Action.KEEP, Resource.BUCKET_NOTIFICATIONS, bucket, render.BUCKET_TOPIC_STAYS))
        return replace(facts, topic_arn=None), steps
    before = read.bucket_configuration(calls, bucket, f"arn:{facts.partition}:s3:::{bucket}")
    after = bn.without_agent_entries(before, topic)
    steps.append(Step(Action.REMOVE, Resource.TOPIC, bn.short_name(topic), render.TOPIC_UNUSED))
    if bn.canonical(after) != bn.canonical(before):
        removed = [e.describe() for e in bn.entries(before) if e.by_agent and e.arn == topic]
        others_kept = sum(1 for _ in bn.entries(before)) - len(removed)
        steps.append(Step(Action.CHANGE, Resource.BUCKET_NOTIFICATIONS, bucket, render.bucket_unwired(removed, others_kept)))
        return replace(facts, bucket_before=before, bucket_after=after), steps
    return replace(facts, bucket_before=before), steps
