"""`connect`'s plan: read what exists for a request, then one planner per resource decides what apply() would create
or change (the dead-letter queue, the queue, the topic and its subscription or the EventBridge rule, the bucket's
notifications, the config file). Planning only reads."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

import boto3

from agent import dirs
from agent.aws import bucket_notifications as bn
from agent.aws import profiles
from agent.aws.calls import Calls
from agent.aws.connect import read, render
from agent.aws.connect.kinds import Action, Resource
from agent.aws.connect.names import (
    event_pattern,
    fit_name,
    has_statement,
    include_patterns,
    publisher_statement,
    same_pattern,
    sender_statement,
    with_statement,
    workstation_name,
)
from agent.aws.connect.plan import (
    CREATED_BY,
    MAX_RECEIVES,
    MEMBER_TAG,
    MODES,
    QUEUE_NAME_LIMIT,
    RETENTION_SECONDS,
    ROUTES,
    RULE_NAME_LIMIT,
    TAG_BUCKET,
    TAG_MODE,
    TAG_RULE,
    TAG_TOPIC,
    TAG_VIA,
    TAG_WORKSTATION,
    TOPIC_NAME_LIMIT,
    VISIBILITY_SECONDS,
    ConnectError,
    ConnectRequest,
    Facts,
    Plan,
    Step,
)
from agent.aws.resources import queue_name as name_of_queue
from agent.engine.aws import LOCAL_REGION

Route = tuple[Facts, list[Step], list[str], str, str | None]
"""A route planner's answer: the facts, its steps, what stands in the way, and who sends to the queue (service, ARN)."""


def plan_connect(request: ConnectRequest, session: boto3.session.Session | None = None) -> Plan:
    """Read what exists for `request` and decide what `apply()` would create and change. Changes nothing."""
    _check(request)
    config_path = request.config_path or dirs.default_config_file()
    written = read.written_config(config_path)
    profile = request.profile or _optional_str(written.get("aws_profile"))
    endpoint = request.endpoint_url or _optional_str(written.get("endpoint_url"))
    workstation = request.workstation or workstation_name()
    session = session or profiles.session(profile)
    bucket = request.bucket

    first_region = request.region or session.region_name or _optional_str(written.get("aws_region")) or LOCAL_REGION
    calls = Calls(session, first_region, endpoint)
    account, partition = read.identity(calls)
    bucket_arn = f"arn:{partition}:s3:::{bucket}"
    bucket_region = read.bucket_region(calls, bucket, bucket_arn)
    problems: list[str] = []
    if request.region and bucket_region and request.region != bucket_region:
        problems.append(render.wrong_region(bucket, bucket_region))
    region = bucket_region or first_region
    calls = calls.for_region(region)
    before = read.bucket_configuration(calls, bucket, bucket_arn)

    shared = request.mode == "share"
    queue_name = request.queue_name or fit_name(f"s3-sqs-agent-{bucket}-shared" if shared else f"s3-sqs-agent-{workstation}",
                                                QUEUE_NAME_LIMIT - 4)
    facts = Facts("connect", profile, region, endpoint, account, partition, bucket, config_path, {}, queue_name, None,
                  f"{queue_name}-dlq", None, request.mode, request.via, bucket_before=before)
    dlq = read.find_queue(calls, facts.dlq_name or "", facts.dlq_arn or "")
    queue = read.find_queue(calls, queue_name, facts.queue_arn)
    problems += _ownership_problems(bucket, dlq, queue)
    steps = [_plan_dead_letter_queue(facts, dlq)]
    facts = replace(facts, dlq_url=dlq.url if dlq else None, queue_url=queue.url if queue else None)
    if request.via == "sns":
        facts, route_steps, route_problems, sender, source = _plan_topic(calls, facts, request.wanted, bucket_arn)
    else:
        facts, route_steps, route_problems, sender, source = _plan_rule(calls, facts, request.prefix, shared)
    problems += route_problems
    facts, queue_step = _plan_queue(facts, queue, workstation, sender, source)
    steps += [queue_step, *route_steps, _plan_bucket(facts)]
    facts, config_step, config_problems = _plan_config(facts, request, written)
    steps.append(config_step)
    problems += config_problems

    notes: list[str] = []
    if profile != _optional_str(written.get("aws_profile")) and request.profile:
        notes.append(render.profile_differs(_optional_str(written.get("aws_profile")), request.profile))
    notes.append(render.TAGGED)
    scope = bn.KeyFilter(request.prefix).describe() if not request.suffixes else " or ".join(k.describe() for k in request.wanted)
    summary = render.connect_summary(workstation, bucket, region, scope, shared, request.via)
    return Plan("connect", summary, tuple(steps), tuple(problems), tuple(notes), facts)


def _check(request: ConnectRequest) -> None:
    if request.mode not in MODES:
        raise ConnectError(render.bad_choice("--mode", MODES, request.mode))
    if request.via not in ROUTES:
        raise ConnectError(render.bad_choice("--via", ROUTES, request.via))
    if any(not s for s in request.suffixes):
        raise ConnectError(render.NO_SUFFIX)
    if request.queue_name is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,76}", request.queue_name):
        raise ConnectError(render.bad_queue_name(request.queue_name))


def _ownership_problems(bucket: str, dlq: read.Queue | None, queue: read.Queue | None) -> list[str]:
    """connect never takes over a queue it did not create, nor one it created for another bucket."""
    problems = []
    for found, kind in ((dlq, Resource.DEAD_LETTER_QUEUE), (queue, Resource.QUEUE)):
        if found is not None and not found.ours:
            problems.append(render.queue_not_ours(render.LABELS[kind], name_of_queue(found.url)))
        elif found is not None and found.tags.get(TAG_BUCKET, bucket) != bucket:
            problems.append(render.queue_for_other_bucket(render.LABELS[kind], name_of_queue(found.url), found.tags[TAG_BUCKET]))
    return problems


def _plan_dead_letter_queue(facts: Facts, dlq: read.Queue | None) -> Step:
    if dlq is not None:
        return Step(Action.KEEP, Resource.DEAD_LETTER_QUEUE, facts.dlq_name or "")
    return Step(Action.CREATE, Resource.DEAD_LETTER_QUEUE, facts.dlq_name or "", render.dlq_created(RETENTION_SECONDS // 86_400))


def _plan_queue(facts: Facts, queue: read.Queue | None, workstation: str, sender: str, source: str | None) -> tuple[Facts, Step]:
    """The queue: created with the agent's settings, or brought to them (who may send, the dead-letter queue, tags)."""
    shared = facts.mode == "share"
    tags = {CREATED_BY[0]: CREATED_BY[1], TAG_BUCKET: facts.bucket, TAG_MODE: facts.mode, TAG_VIA: facts.via}
    tags.update({TAG_TOPIC: facts.topic_arn} if facts.topic_arn else {TAG_RULE: facts.rule_name or ""})
    tags.update({MEMBER_TAG + workstation: "connected"} if shared else {TAG_WORKSTATION: workstation})
    wanted_policy = sender_statement(facts.queue_arn, sender, source or "")
    redrive = {"deadLetterTargetArn": facts.dlq_arn, "maxReceiveCount": MAX_RECEIVES}
    if queue is None:
        attributes = {"MessageRetentionPeriod": str(RETENTION_SECONDS), "VisibilityTimeout": str(VISIBILITY_SECONDS),
                      "ReceiveMessageWaitTimeSeconds": "20", "SqsManagedSseEnabled": "true",
                      "RedrivePolicy": json.dumps(redrive), "Policy": with_statement(None, wanted_policy)}
        return (replace(facts, queue_attributes=attributes, queue_tags=tags),
                Step(Action.CREATE, Resource.QUEUE, facts.queue_name, render.queue_created(shared, RETENTION_SECONDS // 86_400, facts.via)))
    attributes = {}
    if not has_statement(queue.attributes.get("Policy"), wanted_policy):
        attributes["Policy"] = with_statement(queue.attributes.get("Policy"), wanted_policy)
    current_redrive = json.loads(queue.attributes.get("RedrivePolicy") or "{}")
    if current_redrive.get("deadLetterTargetArn") != facts.dlq_arn:
        attributes["RedrivePolicy"] = json.dumps(redrive)
    missing_tags = {k: v for k, v in tags.items() if queue.tags.get(k) != v}
    me = MEMBER_TAG + workstation
    joins, other_tags = shared and me in missing_tags, bool(set(missing_tags) - {me})
    members = sorted(k[len(MEMBER_TAG):] for k in queue.tags if k.startswith(MEMBER_TAG) and k != me) if shared else []
    changed = "Policy" in attributes or "RedrivePolicy" in attributes or joins or other_tags
    detail = render.queue_changed("Policy" in attributes, "RedrivePolicy" in attributes, joins, other_tags, members)
    return (replace(facts, queue_attributes=attributes, queue_tags=missing_tags),
            Step(Action.CHANGE if changed else Action.KEEP, Resource.QUEUE, facts.queue_name, detail))


def _plan_topic(calls: Calls, facts: Facts, wanted: tuple[bn.KeyFilter, ...], bucket_arn: str) -> Route:
    """The topic the bucket announces these keys to (the agent's own, made if missing, or one already there), and this
    queue's subscription to it."""
    sender = "sns.amazonaws.com"
    agent_topic = facts.arn("sns", fit_name(f"s3-sqs-agent-{facts.bucket}", TOPIC_NAME_LIMIT))
    choice = bn.choose_topic(facts.bucket_before, wanted, agent_topic)
    if choice.topic_arn is None:
        kinds = {entry.kind for entry in choice.conflicts}
        return facts, [], render.conflicts(facts.bucket, [e.describe() for e in choice.conflicts], kinds), sender, None
    topic = choice.topic_arn
    steps: list[Step] = []
    facts = replace(facts, topic_arn=topic)
    attributes = read.topic_attributes(calls, topic)
    publisher = publisher_statement(topic, bucket_arn, facts.account)
    if attributes is None and topic == agent_topic:
        steps.append(Step(Action.CREATE, Resource.TOPIC, bn.short_name(topic), render.TOPIC_CREATED))
    elif attributes is None:
        return facts, [], [render.topic_unseen(topic)], sender, topic
    elif topic == agent_topic and read.topic_is_ours(calls, topic) and not has_statement(attributes.get("Policy"), publisher):
        steps.append(Step(Action.CHANGE, Resource.TOPIC, bn.short_name(topic), render.TOPIC_CHANGED))
    subscriptions = [] if attributes is None else read.subscriptions(calls, topic)
    mine = [s for s in subscriptions if s.get("Endpoint") == facts.queue_arn]
    if attributes is not None and not steps:
        steps.append(Step(Action.KEEP, Resource.TOPIC, bn.short_name(topic),
                          render.topic_kept(topic == agent_topic, len(subscriptions) - len(mine))))
    name = render.subscription_name(facts.queue_name, bn.short_name(topic))
    steps.append(Step(Action.KEEP, Resource.SUBSCRIPTION, name) if mine else
                 Step(Action.CREATE, Resource.SUBSCRIPTION, name, render.SUBSCRIPTION_CREATED))
    if choice.changes_bucket:
        facts = replace(facts, bucket_after=bn.with_topic_entries(facts.bucket_before, topic, choice.add, choice.replace))
    return facts, steps, [], sender, topic


def _plan_rule(calls: Calls, facts: Facts, prefix: str, shared: bool) -> Route:
    """The EventBridge rule that sends the bucket's new objects to the queue; the bucket sends its events to EventBridge."""
    name = fit_name(f"s3-sqs-agent-{facts.bucket}-shared" if shared else facts.queue_name, RULE_NAME_LIMIT)
    pattern = event_pattern(facts.bucket, prefix)
    facts = replace(facts, rule_name=name, rule_pattern=pattern)
    found = read.rule(calls, name, facts.rule_arn or "")
    if found is None:
        step = Step(Action.CREATE, Resource.RULE, name, render.rule_created(prefix))
    else:
        rule, targets = found
        if not any(t.get("Arn") == facts.queue_arn for t in targets) or not same_pattern(rule.get("EventPattern"), pattern):
            step = Step(Action.CHANGE, Resource.RULE, name, render.RULE_CHANGED)
        else:
            step = Step(Action.KEEP, Resource.RULE, name)
    if not bn.has_eventbridge(facts.bucket_before):
        facts = replace(facts, bucket_after=bn.with_eventbridge(facts.bucket_before))
    return facts, [step], [], "events.amazonaws.com", facts.rule_arn


def _plan_bucket(facts: Facts) -> Step:
    """The bucket's notifications: what the route planner would add or replace, every other configuration kept."""
    before, after = facts.bucket_before, facts.bucket_after
    if after is None and facts.via == "sns" and facts.topic_arn is None:
        return Step(Action.KEEP, Resource.BUCKET_NOTIFICATIONS, facts.bucket, render.BUCKET_LEFT)
    if after is None:
        return Step(Action.KEEP, Resource.BUCKET_NOTIFICATIONS, facts.bucket,
                    render.bucket_kept(bn.short_name(facts.topic_arn) if facts.topic_arn else None))
    added = [e.describe() for e in bn.entries(after) if e.id not in {x.id for x in bn.entries(before)}]
    removed = [e.describe() for e in bn.entries(before) if e.id not in {x.id for x in bn.entries(after)}]
    if bn.has_eventbridge(after) and not bn.has_eventbridge(before):
        added.append(render.TO_EVENTBRIDGE)
    others = sum(1 for _ in bn.entries(before)) - len(removed)
    return Step(Action.CHANGE, Resource.BUCKET_NOTIFICATIONS, facts.bucket, render.bucket_changed(added, removed, others))


def _plan_config(facts: Facts, request: ConnectRequest, written: dict[str, Any]) -> tuple[Facts, Step, list[str]]:
    """The config file: the queue, the dead-letter queue, the bucket and region (and the keys and endpoint asked for)."""
    path = facts.config_path
    changes: dict[str, Any] = {"sqs_queue_url": facts.queue_url or render.NEW_QUEUE_URL,
                               "dead_letter_queue_url": facts.dlq_url or render.NEW_DLQ_URL,
                               "s3_bucket_name": facts.bucket, "aws_region": facts.region}
    include = include_patterns(request.prefix, request.suffixes)
    if include:
        changes["include"] = include
    if request.endpoint_url:
        changes["endpoint_url"] = request.endpoint_url
    if not written.get("download_folder") and path.exists():
        changes["download_folder"] = "~/S3 Downloads"
    problems = read.config_problems(path, set(changes))
    same = facts.queue_url is not None and facts.dlq_url is not None and all(
        _same_value(written.get(k), v) for k, v in changes.items())
    step = Step(Action.KEEP, Resource.CONFIG_FILE, str(path)) if same else \
        Step(Action.CHANGE, Resource.CONFIG_FILE, str(path), render.config_set(list(changes)))
    return replace(facts, config_changes=changes), step, problems


def _optional_str(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _same_value(current: Any, wanted: Any) -> bool:
    if isinstance(wanted, list):
        return isinstance(current, list) and list(current) == wanted
    return bool(current == wanted)

