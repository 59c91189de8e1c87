"""The bucket notification rules connect relies on: S3's overlap rule, coverage, and choosing or extending a topic."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agent.aws import bucket_notifications as bn
from agent.aws.bucket_notifications import KeyFilter

AGENT_TOPIC = "arn:aws:sns:us-east-1:111122223333:s3-sqs-agent-takes"
OTHER_TOPIC = "arn:aws:sns:us-east-1:111122223333:studio-events"
QUEUE = "arn:aws:sqs:us-east-1:111122223333:legacy"
FUNCTION = "arn:aws:lambda:us-east-1:111122223333:function:thumbnails"


def entry(list_name: str, arn_key: str, arn: str, ident: str, prefix: str = "", suffix: str = "",
          events: tuple[str, ...] = ("s3:ObjectCreated:*",)) -> dict[str, Any]:
    item: dict[str, Any] = {"Id": ident, arn_key: arn, "Events": list(events)}
    rules = [{"Name": n, "Value": v} for n, v in (("Prefix", prefix), ("Suffix", suffix)) if v]
    if rules:
        item["Filter"] = {"Key": {"FilterRules": rules}}
    return {list_name: [item]}


def topic(arn: str, ident: str, prefix: str = "", suffix: str = "", **kw: Any) -> dict[str, Any]:
    return entry("TopicConfigurations", "TopicArn", arn, ident, prefix, suffix, **kw)


def queue(ident: str, prefix: str = "", suffix: str = "", **kw: Any) -> dict[str, Any]:
    return entry("QueueConfigurations", "QueueArn", QUEUE, ident, prefix, suffix, **kw)


def merged(*parts: dict[str, Any]) -> dict[str, Any]:
    """One configuration holding every part's entries."""
    out: dict[str, Any] = {}
    for part in parts:
        for key, value in part.items():
            if isinstance(value, list):
                out.setdefault(key, []).extend(value)
            else:
                out[key] = value
    return out


@pytest.mark.parametrize(("left", "right", "overlap"), [
    (KeyFilter(), KeyFilter("takes/"), True),
    (KeyFilter("takes/"), KeyFilter("takes/2026/"), True),
    (KeyFilter("takes/"), KeyFilter("mixes/"), False),
    (KeyFilter("", ".wav"), KeyFilter("", ".flac"), False),
    (KeyFilter("", ".wav"), KeyFilter("", "take.wav"), True),
    (KeyFilter("takes/", ".wav"), KeyFilter("mixes/", ""), False),
    (KeyFilter("takes/", ".wav"), KeyFilter("", ""), True),
])
def test_overlap_is_s3s_rule_and_symmetric(left: KeyFilter, right: KeyFilter, overlap: bool) -> None:
    assert left.overlaps(right) is overlap
    assert right.overlaps(left) is overlap


def test_coverage() -> None:
    assert KeyFilter().covers(KeyFilter("takes/", ".wav"))
    assert KeyFilter("takes/").covers(KeyFilter("takes/2026/", ".wav"))
    assert not KeyFilter("takes/", ".wav").covers(KeyFilter("takes/"))
    assert not KeyFilter("takes/2026/").covers(KeyFilter("takes/"))


def test_an_empty_bucket_gets_the_agents_topic_with_one_entry_per_suffix() -> None:
    wanted = (KeyFilter("takes/", ".wav"), KeyFilter("takes/", ".flac"))
    choice = bn.choose_topic({}, wanted, AGENT_TOPIC)
    assert choice.topic_arn == AGENT_TOPIC and choice.add == wanted and not choice.conflicts
    after = bn.with_topic_entries({}, AGENT_TOPIC, choice.add)
    assert sorted((e.keys.prefix, e.keys.suffix) for e in bn.entries(after)) == [("takes/", ".flac"), ("takes/", ".wav")]
    assert all(e.by_agent and e.all_created_events and e.arn == AGENT_TOPIC for e in bn.entries(after))


def test_a_topic_that_already_gets_the_events_is_reused_and_the_bucket_left_alone() -> None:
    configuration = topic(OTHER_TOPIC, "studio", prefix="takes/")
    choice = bn.choose_topic(configuration, (KeyFilter("takes/2026/", ".wav"),), AGENT_TOPIC)
    assert choice.topic_arn == OTHER_TOPIC and not choice.changes_bucket


def test_a_direct_queue_for_overlapping_keys_is_a_conflict_never_removed() -> None:
    configuration = merged(queue("legacy", prefix="takes/"), queue("mixes", prefix="mixes/"))
    choice = bn.choose_topic(configuration, (KeyFilter(),), AGENT_TOPIC)
    assert choice.topic_arn is None
    assert [e.id for e in choice.conflicts] == ["legacy", "mixes"]


def test_a_queue_for_other_keys_or_other_events_does_not_conflict() -> None:
    configuration = merged(queue("mixes", prefix="mixes/"), queue("deletions", events=("s3:ObjectRemoved:*",)),
                           entry("LambdaFunctionConfigurations", "LambdaFunctionArn", FUNCTION, "thumbs", suffix=".jpg"))
    choice = bn.choose_topic(configuration, (KeyFilter("takes/", ".wav"),), AGENT_TOPIC)
    assert choice.topic_arn == AGENT_TOPIC and not choice.conflicts
    after = bn.with_topic_entries(configuration, AGENT_TOPIC, choice.add)
    kept = {e.id: e for e in bn.entries(after) if not e.by_agent}
    assert kept == {e.id: e for e in bn.entries(configuration)}


def test_a_lambda_function_on_the_same_keys_conflicts() -> None:
    configuration = entry("LambdaFunctionConfigurations", "LambdaFunctionArn", FUNCTION, "transcode", suffix=".wav")
    choice = bn.choose_topic(configuration, (KeyFilter("takes/"),), AGENT_TOPIC)
    assert choice.topic_arn is None and choice.conflicts[0].kind == "Lambda function"


def test_a_topic_with_only_put_events_does_not_deliver_multipart_uploads() -> None:
    configuration = topic(OTHER_TOPIC, "puts", events=("s3:ObjectCreated:Put",))
    choice = bn.choose_topic(configuration, (KeyFilter(),), AGENT_TOPIC)
    assert choice.topic_arn is None and [e.id for e in choice.conflicts] == ["puts"]


def test_another_topic_carrying_part_of_the_keys_is_a_conflict() -> None:
    configuration = topic(OTHER_TOPIC, "wav-only", suffix=".wav")
    choice = bn.choose_topic(configuration, (KeyFilter("", ".wav"), KeyFilter("", ".flac")), AGENT_TOPIC)
    assert choice.topic_arn is None and [e.id for e in choice.conflicts] == ["wav-only"]


def test_the_agents_topic_is_extended_and_its_own_narrower_entry_replaced() -> None:
    first = bn.with_topic_entries({}, AGENT_TOPIC, (KeyFilter("takes/2026/"),))
    choice = bn.choose_topic(first, (KeyFilter("takes/"),), AGENT_TOPIC)
    assert choice.topic_arn == AGENT_TOPIC and choice.add == (KeyFilter("takes/"),)
    after = bn.with_topic_entries(first, AGENT_TOPIC, choice.add, choice.replace)
    assert [e.keys for e in bn.entries(after)] == [KeyFilter("takes/")]
    again = bn.choose_topic(after, (KeyFilter("takes/2026/"),), AGENT_TOPIC)
    assert again.topic_arn == AGENT_TOPIC and not again.changes_bucket


def test_removing_the_agents_entries_keeps_everything_else_exactly() -> None:
    configuration = merged(queue("mixes", prefix="mixes/"), topic(OTHER_TOPIC, "theirs", prefix="other/"),
                           {"EventBridgeConfiguration": {}})
    ours = bn.with_topic_entries(configuration, AGENT_TOPIC, (KeyFilter("takes/"),))
    back = bn.without_agent_entries(ours, AGENT_TOPIC)
    assert bn.canonical(back) == bn.canonical(configuration)
    assert bn.has_eventbridge(back)


def test_canonical_ignores_entry_order_and_the_spelling_of_filter_names() -> None:
    one = merged(queue("a", prefix="x/"), queue("b", prefix="y/"))
    two = json.loads(json.dumps(one).replace('"Prefix"', '"prefix"'))
    two["QueueConfigurations"].reverse()
    assert bn.canonical(one) == bn.canonical(two)
    assert bn.canonical(one) != bn.canonical(merged(one, {"EventBridgeConfiguration": {}}))


def test_every_kind_of_configuration_is_written_back_but_the_response_metadata() -> None:
    """Regression: clean() kept a list of the kinds it knew, so a kind AWS adds later (read by a newer botocore)
    would have been dropped from the bucket by connect's write."""
    answer = {**topic(OTHER_TOPIC, "studio"), "EventBridgeConfiguration": {}, "FutureConfigurations": [{"Id": "x", "Arn": "y"}],
              "ResponseMetadata": {"HTTPStatusCode": 200}}
    written = bn.with_topic_entries(answer, AGENT_TOPIC, [KeyFilter("takes/")])
    assert written["FutureConfigurations"] == [{"Id": "x", "Arn": "y"}] and "ResponseMetadata" not in written
    assert bn.clean(answer) == {key: value for key, value in answer.items() if key != "ResponseMetadata"}
    changed = {**answer, "FutureConfigurations": [{"Id": "x", "Arn": "z"}]}
    assert bn.canonical(changed) != bn.canonical(answer), "a change to a kind connect does not know is still a change"
