"""`s3-sqs-agent connect` and `disconnect`: plan what this workstation needs in AWS, show the plan, then apply it.

A plan is data (`Plan`: what exists, what would be created, changed or removed, and what stands in the way); the CLI
prints it and the setup window can show it, and `apply()` carries it out. Planning only reads. Every resource that
`connect` creates is tagged `created-by: s3-sqs-agent`, and `disconnect` removes only what carries that tag. The
bucket's notification configuration is read, added to and written back, never rebuilt, and `apply()` refuses to
write it when it changed since the plan was made.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import socket
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import boto3
import yaml
from botocore.exceptions import BotoCoreError, ClientError

from agent import config as config_module
from agent import dirs, errors
from agent.aws import bucket_notifications as bn
from agent.aws import profiles
from agent.aws.calls import Calls, not_found, translate
from agent.aws.resources import queue_name as name_of_queue
from agent.engine.aws import LOCAL_REGION

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
SENDER_SID, PUBLISHER_SID = "s3-sqs-agent-sender", "s3-sqs-agent-bucket"
TARGET_ID = "s3-sqs-agent-queue"


class ConnectError(errors.AgentError):
    title = "Cannot connect"


class ChangedMeanwhile(errors.AgentError):
    """Someone changed the bucket's notification configuration between the plan and the write."""

    title = "The bucket's notifications changed meanwhile"


# ---------------------------------------------------------------- the plan as data


@dataclass(frozen=True)
class Step:
    """One line of a plan: `action` is "create", "change", "remove" or "keep" (exists and stays as it is)."""

    action: str
    what: str  # "queue", "dead-letter queue", "topic", "subscription", "EventBridge rule", "bucket notifications", "config file"
    name: str
    detail: str = ""

    def line(self, width: int | None = None) -> str:
        """`  create  queue                 NAME`, and the detail below the name (wrapped to `width` when given)."""
        indent = " " * 32
        head = f"  {self.action:<7} {self.what:<21} {self.name}"
        if width and len(head) > width:
            head = textwrap.fill(head, width, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False)
        if not self.detail:
            return head
        return f"{head}\n" + (textwrap.fill(self.detail, width, initial_indent=indent, subsequent_indent=indent)
                              if width else indent + self.detail)


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
        return any(step.action != "keep" for step in self.steps)

    def lines(self, width: int | None = None) -> list[str]:
        """The plan as a person reads it; with `width`, long lines are wrapped (a terminal), else left whole."""
        def para(text: str, hang: str = "") -> str:
            return textwrap.fill(text, width, subsequent_indent=hang) if width else text

        out = [para(self.summary), ""]
        out += [step.line(width) for step in self.steps]
        if self.notes:
            out += ["", *(para(n) for n in self.notes)]
        if self.problems:
            out += ["", f"{self.command.capitalize()} cannot go ahead:", *(para(f"- {p}", "  ") for p in self.problems)]
        return out

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


# ---------------------------------------------------------------- names and policies


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


# ---------------------------------------------------------------- reading what exists


def _identity(calls: Calls) -> tuple[str, str]:
    """(account, partition) of the credentials in use."""
    answer = calls.call("sts", "GetCallerIdentity", "your AWS identity")
    return str(answer["Account"]), str(answer.get("Arn", "arn:aws:")).split(":")[1] or "aws"


def _bucket_region(calls: Calls, bucket: str, bucket_arn: str) -> str | None:
    """The bucket's region, from HeadBucket's x-amz-bucket-region header (sent even when HeadBucket is denied)."""
    try:
        headers = calls.client("s3").head_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPHeaders"]
    except ClientError as exc:
        headers = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        if not_found(exc) or str(exc.response.get("Error", {}).get("Code")) in ("404", "NoSuchBucket"):
            raise ConnectError(f"The bucket {bucket!r} does not exist, or is not visible to these credentials. Check its name "
                               "(as shown in the S3 console) and the account your profile signs in to.") from None
        if "x-amz-bucket-region" not in headers:
            raise translate(exc, "s3", "HeadBucket", bucket_arn) from None
    except BotoCoreError as exc:
        raise translate(exc, "s3", "HeadBucket", bucket_arn) from None
    region = headers.get("x-amz-bucket-region")
    return str(region) if region else None


def _bucket_configuration(calls: Calls, bucket: str, bucket_arn: str) -> dict[str, Any]:
    return bn.clean(calls.call("s3", "GetBucketNotificationConfiguration", bucket_arn, Bucket=bucket))


@dataclass(frozen=True)
class _Queue:
    url: str
    attributes: Mapping[str, str]
    tags: Mapping[str, str]

    @property
    def ours(self) -> bool:
        return self.tags.get(CREATED_BY[0]) == CREATED_BY[1]

    def messages(self) -> int:
        return sum(int(self.attributes.get(name, 0) or 0) for name in (
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"))


def _find_queue(calls: Calls, name: str, arn: str) -> _Queue | None:
    try:
        url = str(calls.call("sqs", "GetQueueUrl", arn, QueueName=name)["QueueUrl"])
    except ClientError as exc:
        if not_found(exc):
            return None
        raise
    return _read_queue(calls, url, arn)


def _read_queue(calls: Calls, url: str, arn: str) -> _Queue:
    attributes = calls.call("sqs", "GetQueueAttributes", arn, QueueUrl=url, AttributeNames=["All"]).get("Attributes", {})
    tags = calls.call("sqs", "ListQueueTags", arn, QueueUrl=url).get("Tags", {})
    return _Queue(url, attributes, tags)


def _topic_attributes(calls: Calls, topic_arn: str) -> dict[str, str] | None:
    try:
        return dict(calls.call("sns", "GetTopicAttributes", topic_arn, TopicArn=topic_arn).get("Attributes", {}))
    except ClientError as exc:
        if not_found(exc):
            return None
        raise


def _topic_is_ours(calls: Calls, topic_arn: str) -> bool:
    tags = calls.call("sns", "ListTagsForResource", topic_arn, ResourceArn=topic_arn).get("Tags", [])
    return any(t.get("Key") == CREATED_BY[0] and t.get("Value") == CREATED_BY[1] for t in tags)


def _subscriptions(calls: Calls, topic_arn: str) -> list[dict[str, Any]]:
    return calls.pages("sns", "ListSubscriptionsByTopic", "Subscriptions", topic_arn, TopicArn=topic_arn)


def _rule(calls: Calls, name: str, arn: str) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    try:
        rule = calls.call("events", "DescribeRule", arn, Name=name)
    except ClientError as exc:
        if not_found(exc):
            return None
        raise
    return rule, calls.pages("events", "ListTargetsByRule", "Targets", arn, Rule=name)


def _raw_config(path: Path) -> dict[str, Any]:
    """The config file's keys as written, or nothing (connect reads only its profile and endpoint from it)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def _config_problems(path: Path, keys: set[str]) -> list[str]:
    """Problems in the config file that writing `keys` would not fix (the file is validated before it is written)."""
    if not path.exists():
        return []
    try:
        config_module.load(path)
    except errors.ConfigError as exc:
        left = [p for p in exc.problems if p.key not in keys]
        if left:
            return ["The config file has errors that connect would not fix; correct them first:\n    "
                    + "\n    ".join(str(p) for p in left)]
    return []


# ---------------------------------------------------------------- connect: planning


def plan_connect(request: ConnectRequest, session: boto3.session.Session | None = None) -> Plan:
    """Read what exists for `request` and decide what `apply()` would create and change. Changes nothing."""
    if request.mode not in MODES:
        raise ConnectError(f"--mode must be one of {', '.join(MODES)}, not {request.mode!r}.")
    if request.via not in ROUTES:
        raise ConnectError(f"--via must be one of {', '.join(ROUTES)}, not {request.via!r}.")
    if any(not s for s in request.suffixes):
        raise ConnectError("--suffix needs a value such as .wav.")
    if request.queue_name is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,76}", request.queue_name):
        raise ConnectError(f"--queue-name {request.queue_name!r} cannot name a queue: use up to 76 letters, digits, '-' and '_'.")
    config_path = request.config_path or dirs.default_config_file()
    written = _raw_config(config_path)
    profile = request.profile or _optional_str(written.get("aws_profile"))
    endpoint = request.endpoint_url or _optional_str(written.get("endpoint_url"))
    workstation = request.workstation or workstation_name()
    session = session or profiles.session(profile)
    bucket, bucket_arn = request.bucket, f"arn:aws:s3:::{request.bucket}"

    first_region = request.region or session.region_name or _optional_str(written.get("aws_region")) or LOCAL_REGION
    calls = Calls(session, first_region, endpoint)
    account, partition = _identity(calls)
    bucket_arn = f"arn:{partition}:s3:::{bucket}"
    bucket_region = _bucket_region(calls, bucket, bucket_arn)
    problems: list[str] = []
    if request.region and bucket_region and request.region != bucket_region:
        problems.append(f"The bucket {bucket} is in {bucket_region}, and S3 notifies only topics, queues and EventBridge "
                        f"in its own region. Run again with --region {bucket_region}, or without --region.")
    region = bucket_region or first_region
    calls = calls.for_region(region)
    before = _bucket_configuration(calls, bucket, bucket_arn)

    shared = request.mode == "share"
    queue_name = request.queue_name or fit_name(f"s3-sqs-agent-{bucket}-shared" if shared else f"s3-sqs-agent-{workstation}",
                                                QUEUE_NAME_LIMIT - 4)
    facts = Facts("connect", profile, region, endpoint, account, partition, bucket, config_path, {}, queue_name, None,
                  f"{queue_name}-dlq", None, request.mode, request.via, bucket_before=before)
    steps: list[Step] = []
    notes: list[str] = []

    # the dead-letter queue and the queue
    dlq = _find_queue(calls, facts.dlq_name or "", facts.dlq_arn or "")
    queue = _find_queue(calls, queue_name, facts.queue_arn)
    for found, label in ((dlq, "dead-letter queue"), (queue, "queue")):
        if found is not None and not found.ours:
            problems.append(f"A {label} named {name_of_queue(found.url)} exists already and was not created by s3-sqs-agent. "
                            "Choose another name with --queue-name; connect never takes over what it did not create.")
        elif found is not None and found.tags.get(TAG_BUCKET, bucket) != bucket:
            problems.append(f"The {label} {name_of_queue(found.url)} was created by connect for the bucket {found.tags[TAG_BUCKET]}. "
                            "Choose another name with --queue-name, or disconnect it first.")
    steps.append(Step("keep" if dlq else "create", "dead-letter queue", facts.dlq_name or "",
                      "" if dlq else f"keeps messages the agent gave up on, with the reason, for {RETENTION_SECONDS // 86_400} days"))
    facts = replace(facts, dlq_url=dlq.url if dlq else None, queue_url=queue.url if queue else None)

    # where the events come from
    if request.via == "sns":
        facts, route_steps, route_problems = _plan_topic(calls, facts, request.wanted, bucket_arn)
        sender_service, sender_arn = "sns.amazonaws.com", facts.topic_arn
    else:
        facts, route_steps, route_problems = _plan_rule(calls, facts, request.prefix, shared)
        sender_service, sender_arn = "events.amazonaws.com", facts.rule_arn
    problems += route_problems

    # the queue's own settings
    tags = {CREATED_BY[0]: CREATED_BY[1], TAG_BUCKET: bucket, TAG_MODE: request.mode, TAG_VIA: request.via}
    tags.update({TAG_TOPIC: facts.topic_arn} if facts.topic_arn else {TAG_RULE: facts.rule_name or ""})
    tags.update({MEMBER_TAG + workstation: "connected"} if shared else {TAG_WORKSTATION: workstation})
    wanted_policy = sender_statement(facts.queue_arn, sender_service, sender_arn or "")
    redrive = {"deadLetterTargetArn": facts.dlq_arn, "maxReceiveCount": MAX_RECEIVES}
    if queue is None:
        attributes = {"MessageRetentionPeriod": str(RETENTION_SECONDS), "VisibilityTimeout": str(VISIBILITY_SECONDS),
                      "ReceiveMessageWaitTimeSeconds": "20", "SqsManagedSseEnabled": "true",
                      "RedrivePolicy": json.dumps(redrive), "Policy": with_statement(None, wanted_policy)}
        facts = replace(facts, queue_attributes=attributes, queue_tags=tags)
        what = "shared by every workstation connected in share mode; " if shared else ""
        steps.append(Step("create", "queue", queue_name, f"{what}keeps messages {RETENTION_SECONDS // 86_400} days; "
                          f"only the {'topic' if request.via == 'sns' else 'EventBridge rule'} may send to it"))
    else:
        attributes = {}
        if not has_statement(queue.attributes.get("Policy"), wanted_policy):
            attributes["Policy"] = with_statement(queue.attributes.get("Policy"), wanted_policy)
        current_redrive = json.loads(queue.attributes.get("RedrivePolicy") or "{}")
        if current_redrive.get("deadLetterTargetArn") != facts.dlq_arn:
            attributes["RedrivePolicy"] = json.dumps(redrive)
        missing_tags = {k: v for k, v in tags.items() if queue.tags.get(k) != v}
        facts = replace(facts, queue_attributes=attributes, queue_tags=missing_tags)
        changed = [*(["who may send to it"] if "Policy" in attributes else []),
                   *(["its dead-letter queue"] if "RedrivePolicy" in attributes else []),
                   *(["this workstation joins its members"] if shared and MEMBER_TAG + workstation in missing_tags else []),
                   *(["its tags"] if set(missing_tags) - {MEMBER_TAG + workstation} else [])]
        members = sorted(k[len(MEMBER_TAG):] for k in queue.tags if k.startswith(MEMBER_TAG) and k != MEMBER_TAG + workstation)
        detail = f"also used by {', '.join(members)}" if shared and members else ""
        steps.append(Step("change" if changed else "keep", "queue", queue_name,
                          "; ".join(filter(None, [", ".join(changed) and f"update: {', '.join(changed)}", detail]))))
    steps += route_steps

    # the bucket
    if facts.bucket_after is None and request.via == "sns" and facts.topic_arn is None:
        steps.append(Step("keep", "bucket notifications", bucket, "left as they are (see below)"))
    elif facts.bucket_after is None:
        where = f"the topic {bn.short_name(facts.topic_arn)}" if facts.topic_arn else "EventBridge"
        steps.append(Step("keep", "bucket notifications", bucket, f"already announces these objects to {where}"))
    else:
        added = [e.describe() for e in bn.entries(facts.bucket_after)
                 if e.id not in {x.id for x in bn.entries(before)}]
        removed = [e.describe() for e in bn.entries(before) if e.id not in {x.id for x in bn.entries(facts.bucket_after)}]
        if bn.has_eventbridge(facts.bucket_after) and not bn.has_eventbridge(before):
            added.append("every event to EventBridge (it costs nothing where no rule matches)")
        parts = [f"add {a}" for a in added] + [f"replace {r} (the agent's own, narrower)" for r in removed]
        steps.append(Step("change", "bucket notifications", bucket, "; ".join(parts) + "; " + _kept_summary(before, removed)))

    # the config file
    changes: dict[str, Any] = {"sqs_queue_url": facts.queue_url or "(the new queue's URL)",
                               "dead_letter_queue_url": facts.dlq_url or "(the new dead-letter queue's URL)",
                               "s3_bucket_name": bucket, "aws_region": region}
    include = include_patterns(request.prefix, request.suffixes)
    if include:
        changes["include"] = include
    if request.endpoint_url:
        changes["endpoint_url"] = request.endpoint_url
    if not written.get("download_folder") and config_path.exists():
        changes["download_folder"] = "~/S3 Downloads"
    problems += _config_problems(config_path, set(changes))
    current = {k: written.get(k) for k in changes}
    facts = replace(facts, config_changes=changes)
    config_same = facts.queue_url is not None and facts.dlq_url is not None and all(
        _same_value(current[k], v) for k, v in changes.items())
    steps.append(Step("keep" if config_same else "change", "config file", str(config_path),
                      "" if config_same else f"set {', '.join(changes)} (comments kept; a running agent picks it up)"))
    if profile != _optional_str(written.get("aws_profile")) and request.profile:
        notes.append(f"The agent itself signs in with {_optional_str(written.get('aws_profile')) or 'the default AWS credentials'}, "
                     f"not --profile {request.profile}; set aws_profile in the config if it should use {request.profile}.")
    notes.append("Everything connect creates is tagged created-by=s3-sqs-agent; `s3-sqs-agent disconnect` removes it again.")

    scope = bn.KeyFilter(request.prefix).describe() if not request.suffixes else " or ".join(k.describe() for k in request.wanted)
    summary = (f"Connect this computer ({workstation}) to the bucket {bucket} ({region}), for {scope}: "
               + ("its own copy of every new file" if not shared else "one shared queue, each file going to one of the workstations")
               + (", through an SNS topic." if request.via == "sns" else ", through EventBridge."))
    return Plan("connect", summary, tuple(steps), tuple(problems), tuple(notes), facts)


def _plan_topic(calls: Calls, facts: Facts, wanted: tuple[bn.KeyFilter, ...], bucket_arn: str) -> tuple[Facts, list[Step], list[str]]:
    agent_topic = facts.arn("sns", fit_name(f"s3-sqs-agent-{facts.bucket}", TOPIC_NAME_LIMIT))
    choice = bn.choose_topic(facts.bucket_before, wanted, agent_topic)
    if choice.topic_arn is None:
        return facts, [], conflict_problems(facts.bucket, choice.conflicts)
    topic = choice.topic_arn
    steps: list[Step] = []
    facts = replace(facts, topic_arn=topic)
    attributes = _topic_attributes(calls, topic)
    publisher = publisher_statement(topic, bucket_arn, facts.account)
    if attributes is None and topic == agent_topic:
        steps.append(Step("create", "topic", bn.short_name(topic), "the bucket's topic: every workstation subscribes its own queue to it"))
    elif attributes is None:
        return facts, [], [(f"The bucket sends its events to the topic {topic}, which these credentials cannot see. Ask the "
                            "topic's owner to let your account subscribe to it, or connect with --via eventbridge.")]
    elif topic == agent_topic and _topic_is_ours(calls, topic) and not has_statement(attributes.get("Policy"), publisher):
        steps.append(Step("change", "topic", bn.short_name(topic), "let the bucket publish to it"))
    subscriptions = [] if attributes is None else _subscriptions(calls, topic)
    mine = [s for s in subscriptions if s.get("Endpoint") == facts.queue_arn]
    if attributes is not None and not steps:
        count = len(subscriptions) - len(mine)
        whose = "the bucket's topic" if topic == agent_topic else "the topic the bucket already sends these events to"
        steps.append(Step("keep", "topic", bn.short_name(topic), f"{whose}; {count} other subscription{'s' if count != 1 else ''}"))
    steps.append(Step("keep" if mine else "create", "subscription", f"{facts.queue_name} to {bn.short_name(topic)}",
                      "" if mine else "raw messages: each S3 event reaches the queue as S3 wrote it"))
    if choice.changes_bucket:
        facts = replace(facts, bucket_after=bn.with_topic_entries(facts.bucket_before, topic, choice.add, choice.replace))
    return facts, steps, []


def _plan_rule(calls: Calls, facts: Facts, prefix: str, shared: bool) -> tuple[Facts, list[Step], list[str]]:
    name = fit_name(f"s3-sqs-agent-{facts.bucket}-shared" if shared else facts.queue_name, RULE_NAME_LIMIT)
    pattern = event_pattern(facts.bucket, prefix)
    facts = replace(facts, rule_name=name, rule_pattern=pattern)
    found = _rule(calls, name, facts.rule_arn or "")
    if found is None:
        under = f" under {prefix!r}" if prefix else ""
        step = Step("create", "EventBridge rule", name, f"sends the bucket's Object Created events{under} to the queue")
    else:
        rule, targets = found
        if not any(t.get("Arn") == facts.queue_arn for t in targets) or not same_pattern(rule.get("EventPattern"), pattern):
            step = Step("change", "EventBridge rule", name, "update its event pattern and target")
        else:
            step = Step("keep", "EventBridge rule", name)
    if not bn.has_eventbridge(facts.bucket_before):
        facts = replace(facts, bucket_after=bn.with_eventbridge(facts.bucket_before))
    return facts, [step], []


def conflict_problems(bucket: str, conflicts: tuple[bn.Entry, ...]) -> list[str]:
    """What stands in the way, and the way around it, in plain words."""
    problems = []
    kinds = {entry.kind for entry in conflicts}
    for entry in conflicts:
        problems.append(f"The bucket {bucket} already sends {entry.describe()}. S3 sends the same events for overlapping "
                        "keys to only one destination, so it cannot also send them to a topic for this workstation.")
    advice = []
    if "queue" in kinds:
        advice.append("To give every workstation its own copy, move that queue behind a topic: the queue keeps getting "
                      "every event, through the topic, and each workstation subscribes its own queue beside it "
                      "(docs/aws.md, \"Moving a queue or function behind a topic\"). Or, for this computer to share that "
                      "queue's work, put the queue's URL in sqs_queue_url: no connect is needed.")
    if "Lambda function" in kinds:
        advice.append("A Lambda function can move behind a topic the same way: subscribe it to a topic and send these "
                      "events to the topic instead (docs/aws.md, \"Moving a queue or function behind a topic\").")
    if "topic" in kinds:
        advice.append("That topic carries only the keys shown. Connect with a --prefix and --suffix inside them, or ask "
                      "the topic's owner to widen its filter.")
    advice.append("Or connect with --via eventbridge: EventBridge receives every event of the bucket without taking a "
                  "destination away from anyone. Connect changes nothing that it did not create.")
    return [*problems, " ".join(advice)]


def _kept_summary(before: dict[str, Any], removed: list[str] | None = None) -> str:
    count = sum(1 for _ in bn.entries(before)) - len(removed or [])
    if count <= 0:
        return "no other configurations"
    return f"{count} other configuration{'s' if count != 1 else ''} kept as {'they are' if count != 1 else 'it is'}"


def _optional_str(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _same_value(current: Any, wanted: Any) -> bool:
    if isinstance(wanted, list):
        return isinstance(current, list) and list(current) == wanted
    return bool(current == wanted)


# ---------------------------------------------------------------- disconnect: planning


def plan_disconnect(config_path: Path | None = None, session: boto3.session.Session | None = None,
                    workstation: str | None = None) -> Plan:
    """What `disconnect` would remove for the queue the config names; reads only."""
    path = config_path or dirs.default_config_file()
    config = config_module.load(path)
    workstation = workstation or workstation_name()
    session = session or profiles.session(config.aws_profile)
    region = config.aws_region or session.region_name or LOCAL_REGION
    calls = Calls(session, region, config.endpoint_url)
    account, partition = _identity(calls)
    queue_name = name_of_queue(config.sqs_queue_url)
    queue_arn = f"arn:{partition}:sqs:{region}:{account}:{queue_name}"
    unset = {"sqs_queue_url": ""}
    try:
        queue = _read_queue(calls, config.sqs_queue_url, queue_arn)
    except ClientError as exc:
        if not not_found(exc):
            raise
        return Plan("disconnect", f"Disconnect this computer ({workstation}) from the queue {queue_name}.",
                    (Step("keep", "queue", queue_name, "does not exist any more: nothing to remove in AWS"),
                     Step("change", "config file", str(path), "empty sqs_queue_url (the agent stops until it is set up again)")),
                    facts=Facts("disconnect", config.aws_profile, region, config.endpoint_url, account, partition,
                                config.s3_bucket_name or "", path, unset, queue_name, None, None, None, "", ""))
    if not queue.ours:
        raise ConnectError(f"The queue {queue_name} was not created by s3-sqs-agent connect, so disconnect leaves it alone. "
                           "To stop downloading from it, quit the agent or change sqs_queue_url in the config.")
    bucket, mode, via = queue.tags.get(TAG_BUCKET, ""), queue.tags.get(TAG_MODE, "own-copy"), queue.tags.get(TAG_VIA, "sns")
    redrive = json.loads(queue.attributes.get("RedrivePolicy") or "{}")
    dlq_name = str(redrive.get("deadLetterTargetArn", "")).rsplit(":", 1)[-1] or None
    dlq = _find_queue(calls, dlq_name, str(redrive["deadLetterTargetArn"])) if dlq_name else None
    changes: dict[str, Any] = dict(unset)
    if dlq is not None and config.dead_letter_queue_url == dlq.url:
        changes["dead_letter_queue_url"] = config_module.REMOVE
    facts = Facts("disconnect", config.aws_profile, region, config.endpoint_url, account, partition, bucket, path, changes,
                  queue_name, queue.url, dlq_name if dlq is not None and dlq.ours else None,
                  dlq.url if dlq is not None and dlq.ours else None, mode, via,
                  topic_arn=queue.tags.get(TAG_TOPIC) or None, rule_name=queue.tags.get(TAG_RULE) or None)
    steps: list[Step] = []
    problems: list[str] = []
    notes: list[str] = []
    me = MEMBER_TAG + workstation
    others = sorted(k[len(MEMBER_TAG):] for k in queue.tags if k.startswith(MEMBER_TAG) and k != me)
    summary = f"Disconnect this computer ({workstation}) from the bucket {bucket or '(unknown)'}: remove what connect created for it."
    if mode == "share" and others:
        facts = replace(facts, untag=(me,) if me in queue.tags else (), dlq_name=None, dlq_url=None)
        leaving = "; this workstation leaves its members" if me in queue.tags else ""
        steps.append(Step("change" if me in queue.tags else "keep", "queue", queue_name,
                          f"stays for {', '.join(others)}, still connected in share mode{leaving}"))
        steps.append(Step("change", "config file", str(path), f"empty sqs_queue_url{', remove dead_letter_queue_url' if len(changes) > 1 else ''}"))
        return Plan("disconnect", summary, tuple(steps), (), (), facts)

    # this workstation is the queue's last user: everything connect made for it goes
    if queue.messages():
        count = queue.messages()
        problems.append(f"The queue {queue_name} still holds {count} message{'s' if count != 1 else ''} that the agent has not "
                        "handled yet (files not downloaded, or S3's test message sent when the bucket was wired). Let the "
                        "agent take them first (leave it running, or run s3-sqs-agent run --headless --drain), then run "
                        "disconnect again.")
    if via == "sns" and facts.topic_arn:
        facts, route_steps = _plan_topic_removal(calls, facts, bucket)
        steps += route_steps
    elif via == "eventbridge" and facts.rule_name:
        found = _rule(calls, facts.rule_name, facts.rule_arn or "")
        steps.append(Step("remove" if found else "keep", "EventBridge rule", facts.rule_name, "" if found else "already gone"))
        if not found:
            facts = replace(facts, rule_name=None)
        notes.append("The bucket keeps sending its events to EventBridge: other rules may use them, and they cost "
                     "nothing where no rule matches.")
    steps.append(Step("remove", "queue", queue_name))
    if dlq is not None and dlq.ours:
        if dlq.messages():
            problems.append(f"The dead-letter queue {dlq_name} holds {dlq.messages()} messages that failed. Look at them in "
                            "the AWS console (SQS, the queue, Send and receive messages), redrive them or purge them, then "
                            "run disconnect again.")
        steps.append(Step("remove", "dead-letter queue", dlq_name or ""))
    steps.append(Step("change", "config file", str(path), f"empty sqs_queue_url{', remove dead_letter_queue_url' if len(changes) > 1 else ''} "
                      "(the agent stops until it is set up again)"))
    return Plan("disconnect", summary, tuple(steps), tuple(problems), tuple(notes), facts)


def _plan_topic_removal(calls: Calls, facts: Facts, bucket: str) -> tuple[Facts, list[Step]]:
    topic = facts.topic_arn or ""
    if _topic_attributes(calls, topic) is None:
        return replace(facts, topic_arn=None), [Step("keep", "topic", bn.short_name(topic), "already gone")]
    subscriptions = _subscriptions(calls, topic)
    mine = tuple(str(s["SubscriptionArn"]) for s in subscriptions if s.get("Endpoint") == facts.queue_arn and
                 str(s.get("SubscriptionArn", "")).startswith("arn:"))
    others = [s for s in subscriptions if s.get("Endpoint") != facts.queue_arn]
    steps = [Step("remove", "subscription", f"{facts.queue_name} to {bn.short_name(topic)}") for _ in mine[:1]]
    facts = replace(facts, subscriptions=mine)
    arn = f"arn:{facts.partition}:s3:::{bucket}"
    if others or not _topic_is_ours(calls, topic):
        why = f"{len(others)} other subscription{'s' if len(others) != 1 else ''} use{'s' if len(others) == 1 else ''} it" if others \
            else "not created by s3-sqs-agent"
        steps.append(Step("keep", "topic", bn.short_name(topic), why))
        steps.append(Step("keep", "bucket notifications", bucket, "the topic still receives the bucket's events"))
        return replace(facts, topic_arn=None), steps
    before = _bucket_configuration(calls, bucket, arn)
    after = bn.without_agent_entries(before, topic)
    steps.append(Step("remove", "topic", bn.short_name(topic), "no other subscriptions use it"))
    if bn.canonical(after) != bn.canonical(before):
        removed = [e.describe() for e in bn.entries(before) if e.by_agent and e.arn == topic]
        steps.append(Step("change", "bucket notifications", bucket, "remove " + "; ".join(removed) + "; " + _kept_summary(before, removed)))
        return replace(facts, bucket_before=before, bucket_after=after), steps
    return replace(facts, bucket_before=before), steps


# ---------------------------------------------------------------- apply


@dataclass(frozen=True)
class Applied:
    """What `apply()` did: the steps carried out, the config values it wrote (or, with write_config=False, would
    write), and the config as written (None once disconnected, or when it was left to the caller)."""

    done: tuple[Step, ...]
    config_changes: Mapping[str, Any]
    config: config_module.Config | None
    queue_url: str | None


def apply(plan: Plan, session: boto3.session.Session | None = None, on_step: Callable[[Step], None] | None = None,
          write_config: bool = True) -> Applied:
    """Carry out a plan made by plan_connect() or plan_disconnect(). Each step is idempotent: after a failure, run
    the command again and it picks up where it stopped. With `write_config=False` the config file is left alone and
    the values are returned instead (the Setup window saves them with its other answers)."""
    if not plan.ready or plan.facts is None:
        raise ConnectError(" ".join(plan.problems) or "This plan cannot be applied.")
    facts = plan.facts
    calls = Calls(session or profiles.session(facts.profile), facts.region, facts.endpoint_url)
    done: list[Step] = []
    state: dict[str, str | None] = {"queue_url": facts.queue_url, "dlq_url": facts.dlq_url}
    run = _connect_step if plan.command == "connect" else _disconnect_step
    written: config_module.Config | None = None
    for step in plan.steps:
        if step.action == "keep" or (step.what == "config file" and not write_config):
            continue
        if step.what == "config file":
            written = config_module.update_file(facts.config_path, _config_values(facts, state),
                                                allow_not_set_up=facts.command == "disconnect")
        else:
            run(calls, facts, step, state)
        done.append(step)
        if on_step is not None:
            on_step(step)
    if write_config and written is None and plan.command == "connect":
        written = config_module.load(facts.config_path)
    return Applied(tuple(done), _config_values(facts, state), written, state.get("queue_url"))


def _tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def _connect_step(calls: Calls, facts: Facts, step: Step, state: dict[str, str | None]) -> None:
    created_by = {CREATED_BY[0]: CREATED_BY[1], TAG_BUCKET: facts.bucket}
    if step.what == "dead-letter queue":
        state["dlq_url"] = str(calls.call("sqs", "CreateQueue", facts.dlq_arn or "", QueueName=facts.dlq_name, tags=created_by, Attributes={
            "MessageRetentionPeriod": str(RETENTION_SECONDS), "SqsManagedSseEnabled": "true"})["QueueUrl"])
    elif step.what == "queue" and step.action == "create":
        state["queue_url"] = str(calls.call("sqs", "CreateQueue", facts.queue_arn, QueueName=facts.queue_name,
                                            tags=dict(facts.queue_tags), Attributes=dict(facts.queue_attributes))["QueueUrl"])
        if facts.mode == "share":  # another machine may have created it a moment ago, and then our tags were not set
            calls.call("sqs", "TagQueue", facts.queue_arn, QueueUrl=state["queue_url"], Tags=dict(facts.queue_tags))
    elif step.what == "queue":
        if facts.queue_attributes:
            calls.call("sqs", "SetQueueAttributes", facts.queue_arn, QueueUrl=state["queue_url"], Attributes=dict(facts.queue_attributes))
        if facts.queue_tags:
            calls.call("sqs", "TagQueue", facts.queue_arn, QueueUrl=state["queue_url"], Tags=dict(facts.queue_tags))
    elif step.what == "topic":
        topic = facts.topic_arn or ""
        if step.action == "create":
            topic = str(calls.call("sns", "CreateTopic", topic, Name=bn.short_name(topic), Tags=_tag_list(created_by))["TopicArn"])
        policy = (_topic_attributes(calls, topic) or {}).get("Policy")
        statement = publisher_statement(topic, f"arn:{facts.partition}:s3:::{facts.bucket}", facts.account)
        calls.call("sns", "SetTopicAttributes", topic, TopicArn=topic, AttributeName="Policy", AttributeValue=with_statement(policy, statement))
    elif step.what == "subscription":
        calls.call("sns", "Subscribe", facts.topic_arn or "", TopicArn=facts.topic_arn, Protocol="sqs", Endpoint=facts.queue_arn,
                   Attributes={"RawMessageDelivery": "true"}, ReturnSubscriptionArn=True)
    elif step.what == "EventBridge rule":
        rule = facts.rule_arn or ""
        calls.call("events", "PutRule", rule, Name=facts.rule_name, EventPattern=facts.rule_pattern, State="ENABLED",
                   Description=f"s3-sqs-agent: the bucket {facts.bucket}'s new objects to the queue {facts.queue_name}"[:512],
                   **({"Tags": _tag_list(created_by)} if step.action == "create" else {}))
        calls.call("events", "PutTargets", rule, Rule=facts.rule_name, Targets=[{"Id": TARGET_ID, "Arn": facts.queue_arn}])
    elif step.what == "bucket notifications":
        _write_bucket(calls, facts)


def _disconnect_step(calls: Calls, facts: Facts, step: Step, state: dict[str, str | None]) -> None:
    if step.what == "queue" and step.action == "change":
        calls.call("sqs", "UntagQueue", facts.queue_arn, QueueUrl=facts.queue_url, TagKeys=list(facts.untag))
    elif step.what == "subscription":
        for subscription in facts.subscriptions:
            calls.call("sns", "Unsubscribe", subscription, SubscriptionArn=subscription)
    elif step.what == "EventBridge rule":
        rule = facts.rule_arn or ""
        calls.call("events", "RemoveTargets", rule, Rule=facts.rule_name, Ids=[TARGET_ID])
        calls.call("events", "DeleteRule", rule, Name=facts.rule_name)
    elif step.what == "bucket notifications":
        _write_bucket(calls, facts)
    elif step.what == "topic":
        calls.call("sns", "DeleteTopic", facts.topic_arn or "", TopicArn=facts.topic_arn)
    elif step.what == "queue":
        left = _read_queue(calls, facts.queue_url or "", facts.queue_arn).messages()
        if left:  # arrived since the plan was made; nothing more arrives now that the subscription or rule is gone
            raise ConnectError(f"{left} messages arrived in the queue {facts.queue_name} meanwhile, so it was not removed. "
                               "Let the agent download them, then run disconnect again.")
        calls.call("sqs", "DeleteQueue", facts.queue_arn, QueueUrl=facts.queue_url)
    elif step.what == "dead-letter queue":
        calls.call("sqs", "DeleteQueue", facts.dlq_arn or "", QueueUrl=facts.dlq_url)


def _write_bucket(calls: Calls, facts: Facts) -> None:
    """Write the planned configuration, only if the bucket's is still what the plan read; then check it took."""
    arn = f"arn:{facts.partition}:s3:::{facts.bucket}"
    now = _bucket_configuration(calls, facts.bucket, arn)
    if bn.canonical(now) != bn.canonical(facts.bucket_before):
        raise ChangedMeanwhile(
            f"The bucket {facts.bucket}'s event notifications were changed by someone else after the plan was made, so "
            "connect did not write them (that would undo the other change). Nothing on the bucket was changed. Run the "
            "command again to see a fresh plan.")
    calls.call("s3", "PutBucketNotificationConfiguration", arn, Bucket=facts.bucket,
               NotificationConfiguration=dict(facts.bucket_after or {}))
    after = _bucket_configuration(calls, facts.bucket, arn)
    if bn.canonical(after) != bn.canonical(dict(facts.bucket_after or {})):
        raise ChangedMeanwhile(
            f"The bucket {facts.bucket}'s event notifications changed again while they were being written: someone else "
            "is editing them at this moment. Check them in the S3 console (the bucket, Properties, Event notifications), "
            "then run the command again.")


def _config_values(facts: Facts, state: dict[str, str | None]) -> dict[str, Any]:
    changes = dict(facts.config_changes)
    if facts.command == "connect":
        changes["sqs_queue_url"], changes["dead_letter_queue_url"] = state["queue_url"], state["dlq_url"]
    return changes
