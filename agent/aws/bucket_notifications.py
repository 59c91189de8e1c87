"""A bucket's event notification configuration as data: what overlaps, what covers, what the agent added.

`PutBucketNotificationConfiguration` replaces the bucket's whole configuration, so every change here is a copy of what
was read with entries added or removed, never a configuration built from scratch. S3 refuses two entries whose event
types and key filters overlap, whatever their destinations; `overlaps()` applies the same rule, so `connect` can say
so in plain words before S3 answers with "Configurations overlap".
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

AGENT_ID_PREFIX = "s3-sqs-agent-"
"""The Id of every entry `connect` adds: what `disconnect` may remove again, and nothing else."""
OBJECT_CREATED = "s3:ObjectCreated:*"
_CREATED_KINDS = {"s3:ObjectCreated:Put", "s3:ObjectCreated:Post", "s3:ObjectCreated:Copy", "s3:ObjectCreated:CompleteMultipartUpload"}
LISTS = {"TopicConfigurations": ("topic", "TopicArn"), "QueueConfigurations": ("queue", "QueueArn"),
         "LambdaFunctionConfigurations": ("Lambda function", "LambdaFunctionArn")}
EVENTBRIDGE = "EventBridgeConfiguration"


@dataclass(frozen=True)
class KeyFilter:
    """Which keys an entry is for: those starting with `prefix` and ending with `suffix` (empty: any)."""

    prefix: str = ""
    suffix: str = ""

    def overlaps(self, other: KeyFilter) -> bool:
        """Some key could match both (S3's rule for refusing two entries with the same event type)."""
        prefixes = self.prefix.startswith(other.prefix) or other.prefix.startswith(self.prefix)
        suffixes = self.suffix.endswith(other.suffix) or other.suffix.endswith(self.suffix)
        return prefixes and suffixes

    def covers(self, other: KeyFilter) -> bool:
        """Every key `other` matches, this matches too."""
        return other.prefix.startswith(self.prefix) and other.suffix.endswith(self.suffix)

    def describe(self) -> str:
        if not self.prefix and not self.suffix:
            return "every key"
        if not self.suffix:
            return f"keys starting with {self.prefix!r}"
        if not self.prefix:
            return f"keys ending with {self.suffix!r}"
        return f"keys starting with {self.prefix!r} and ending with {self.suffix!r}"

    def rules(self) -> dict[str, Any]:
        rules = [{"Name": name, "Value": value} for name, value in (("prefix", self.prefix), ("suffix", self.suffix)) if value]
        return {"Filter": {"Key": {"FilterRules": rules}}} if rules else {}


@dataclass(frozen=True)
class Entry:
    """One entry of a bucket's configuration: events of some keys sent to one destination."""

    id: str
    kind: str  # "topic", "queue" or "Lambda function"
    arn: str
    events: tuple[str, ...]
    keys: KeyFilter

    @property
    def by_agent(self) -> bool:
        return self.id.startswith(AGENT_ID_PREFIX)

    @property
    def created_events(self) -> bool:
        """Sends some ObjectCreated events (so it collides with an entry that sends them all)."""
        return any(e.startswith("s3:ObjectCreated:") for e in self.events)

    @property
    def all_created_events(self) -> bool:
        """Sends every kind of ObjectCreated event (multipart uploads and copies included)."""
        return OBJECT_CREATED in self.events or set(self.events) >= _CREATED_KINDS

    def collides_with(self, keys: KeyFilter) -> bool:
        """S3 would refuse an entry sending every ObjectCreated event for `keys` beside this one."""
        return self.created_events and self.keys.overlaps(keys)

    def delivers(self, keys: KeyFilter) -> bool:
        """Every object created under `keys` is announced by this entry."""
        return self.all_created_events and self.keys.covers(keys)

    def describe(self) -> str:
        events = "ObjectCreated events" if self.all_created_events else ", ".join(self.events)
        return f"{events} for {self.keys.describe()} to the {self.kind} {short_name(self.arn)} (configuration {self.id!r})"


def short_name(arn: str) -> str:
    """The last part of an ARN: a topic's, queue's or function's name."""
    return arn.rsplit(":", 1)[-1]


def clean(answer: Mapping[str, Any]) -> dict[str, Any]:
    """A GetBucketNotificationConfiguration answer as a configuration to write back: all of it but the response
    metadata. Every other kind of configuration is kept, including one AWS adds later (the botocore that read it can
    write it back); a list of kinds to keep would drop it from the bucket."""
    return {key: copy.deepcopy(value) for key, value in answer.items() if key != "ResponseMetadata"}


def entries(configuration: Mapping[str, Any]) -> Iterator[Entry]:
    for list_name, (kind, arn_key) in LISTS.items():
        for raw in configuration.get(list_name) or []:
            rules = {str(r.get("Name", "")).lower(): str(r.get("Value", "")) for r in raw.get("Filter", {}).get("Key", {}).get("FilterRules", [])}
            yield Entry(str(raw.get("Id", "")), kind, str(raw.get(arn_key, "")), tuple(raw.get("Events", [])),
                        KeyFilter(rules.get("prefix", ""), rules.get("suffix", "")))


def canonical(configuration: Mapping[str, Any]) -> str:
    """A form in which two reads of the same configuration are equal, whatever order S3 lists the entries in and
    however it spells the filter rules' names ("prefix" or "Prefix")."""
    found = sorted((e.kind, e.id, e.arn, sorted(e.events), e.keys.prefix, e.keys.suffix) for e in entries(configuration))
    others = {key: value for key, value in clean(configuration).items() if key not in LISTS and key != EVENTBRIDGE}
    return json.dumps({"entries": found, "eventbridge": has_eventbridge(configuration), "others": others}, sort_keys=True, default=str)


def entry_id(topic_arn: str, keys: KeyFilter) -> str:
    digest = hashlib.sha256(f"{topic_arn}\n{keys.prefix}\n{keys.suffix}".encode()).hexdigest()[:10]
    return f"{AGENT_ID_PREFIX}{digest}"


def with_topic_entries(configuration: Mapping[str, Any], topic_arn: str, wanted: Iterable[KeyFilter],
                       replacing: Iterable[str] = ()) -> dict[str, Any]:
    """A copy that also sends every ObjectCreated event for each of `wanted` to the topic, without the agent's own
    entries named in `replacing` (narrower ones that a new entry covers)."""
    result = clean(configuration)
    drop = set(replacing)
    topics = [item for item in result.get("TopicConfigurations", []) if item.get("Id") not in drop]
    for keys in wanted:
        topics.append({"Id": entry_id(topic_arn, keys), "TopicArn": topic_arn, "Events": [OBJECT_CREATED], **keys.rules()})
    result["TopicConfigurations"] = topics
    return result


def with_eventbridge(configuration: Mapping[str, Any]) -> dict[str, Any]:
    result = clean(configuration)
    result[EVENTBRIDGE] = {}
    return result


def without_agent_entries(configuration: Mapping[str, Any], topic_arn: str) -> dict[str, Any]:
    """A copy without the entries the agent added for the topic; everything else exactly as it was."""
    result = clean(configuration)
    result["TopicConfigurations"] = [item for item in result.get("TopicConfigurations", [])
                                     if not (str(item.get("Id", "")).startswith(AGENT_ID_PREFIX) and item.get("TopicArn") == topic_arn)]
    return result


def has_eventbridge(configuration: Mapping[str, Any]) -> bool:
    return EVENTBRIDGE in configuration


@dataclass(frozen=True)
class TopicChoice:
    """Where a workstation's subscription goes, and what (if anything) the bucket must add for it."""

    topic_arn: str | None  # None when nothing fits (see `conflicts`)
    add: tuple[KeyFilter, ...] = ()  # entries to add for this topic
    replace: tuple[str, ...] = ()  # the agent's narrower entries that the added ones replace
    conflicts: tuple[Entry, ...] = ()  # entries that leave no way to add what is missing

    @property
    def changes_bucket(self) -> bool:
        return bool(self.add)


def choose_topic(configuration: Mapping[str, Any], wanted: tuple[KeyFilter, ...], agent_topic_arn: str) -> TopicChoice:
    """The topic that announces every object of `wanted`: one the bucket already sends them to (the agent's own
    first), else the agent's topic with the missing entries added, when S3 would accept them beside the others."""
    present = list(entries(configuration))
    topics = [e for e in present if e.kind == "topic"]

    def missing(topic_arn: str) -> list[KeyFilter]:
        return [keys for keys in wanted if not any(e.arn == topic_arn and e.delivers(keys) for e in topics)]

    candidates = sorted({e.arn for e in topics if any(e.delivers(keys) for keys in wanted)}, key=lambda arn: arn != agent_topic_arn)
    for arn in candidates:
        if not missing(arn):
            return TopicChoice(arn)
    others = [arn for arn in candidates if arn != agent_topic_arn]
    if others:  # another topic already carries part of it: S3 refuses a second destination for those keys
        return TopicChoice(None, conflicts=tuple(e for e in topics if e.arn in others and any(e.collides_with(k) for k in wanted)))
    add = missing(agent_topic_arn)
    replace = tuple(e.id for e in topics if e.arn == agent_topic_arn and e.by_agent and any(k.covers(e.keys) for k in add))
    blocking = tuple(e for e in present if e.id not in replace and any(e.collides_with(k) for k in add))
    if blocking:
        return TopicChoice(None, conflicts=blocking)
    return TopicChoice(agent_topic_arn, tuple(add), replace)
