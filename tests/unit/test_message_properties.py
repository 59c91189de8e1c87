"""Property test of the message parser: any JSON value, at any nesting, with any field of any type, in every shape the
parser knows (S3, SNS around S3 or EventBridge, EventBridge), never raises anything but MalformedMessage, and never
returns an object whose key, size or sequencer breaks the rules the engine relies on.

The example budget is fixed (`make test` runs it like any test), and large enough to reach every branch: most
examples are built in the shapes the parser knows, with any value in any field."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.api import MalformedMessage, ObjectEvent, RejectedRecord
from agent.engine import messages, paths
from agent.engine.paths import PathPolicy
from agent.hidden_chars import HIDDEN

BUDGET = settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

scalars = (st.none() | st.booleans() | st.integers() | st.integers(min_value=-(10**40), max_value=10**40)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40)
           | st.sampled_from(["", "null", "²", "9" * 5000, "-1", "0x10", "1e3", " 12", "F" * 64, "%", "%zz", "%C0%80", "/", "..",
                              "\u202e", "CON", "a/../../b", "ObjectCreated:Put", "Object Created", "aws.s3", "Notification"]))
any_json = st.recursive(scalars, lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
                        max_leaves=12)


def maybe(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """The field as the shape wants it, or any JSON value at all in its place."""
    return value | any_json


def fields(**shape: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A dict with some of these keys, each holding its value or anything else."""
    return st.fixed_dictionaries({}, optional={name: maybe(value) for name, value in shape.items()})


keys = st.text(max_size=60) | st.sampled_from(["a%2Fb", "a+b", "%00", "%ED%A0%80", "x/", "\\", "C:/Windows/x", "../../etc/passwd"])
s3_object = fields(key=keys, size=st.integers(min_value=-1), eTag=st.text(max_size=34), versionId=st.text(max_size=10),
                   sequencer=st.text(alphabet="0123456789ABCDEFabcdefg", max_size=70))
s3_record = fields(eventName=st.sampled_from(["ObjectCreated:Put", "s3:ObjectCreated:Copy", "ObjectRemoved:Delete",
                                              "ObjectRestore:Completed", "Weird:Thing", "TestEvent"]),
                   eventTime=st.sampled_from(["2026-11-28T12:00:00.000Z", "yesterday", ""]),
                   s3=fields(bucket=fields(name=st.text(max_size=12)), object=s3_object))
s3_body = fields(Records=st.lists(maybe(s3_record), max_size=4))
eventbridge_body = fields(source=st.just("aws.s3"),
                          **{"detail-type": st.sampled_from(["Object Created", "Object Restore Completed", "Object Deleted", "Nope"])},
                          time=st.text(max_size=30),
                          detail=fields(bucket=fields(name=st.text(max_size=12)), reason=st.text(max_size=20),
                                        object=fields(key=keys, size=st.integers(), etag=st.text(max_size=34),
                                                      sequencer=st.text(alphabet="0123456789ABCDEF", max_size=40))))
sns_body = fields(Type=st.sampled_from(["Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation"]),
                  TopicArn=st.text(max_size=20),
                  Message=(s3_body | eventbridge_body | any_json).map(json.dumps) | st.text(max_size=20))
bodies = (s3_body | eventbridge_body | sns_body | any_json).map(json.dumps) | st.text(max_size=80)

POLICIES = (PathPolicy(windows=False, case_insensitive=False), PathPolicy(windows=True, case_insensitive=True))


def check_event(event: ObjectEvent) -> None:
    assert isinstance(event.bucket, str) and event.bucket
    assert isinstance(event.key, str) and event.key
    event.key.encode("utf-8")  # no lone surrogates: it can be written, logged and sent on
    assert event.size is None or (type(event.size) is int and 0 <= event.size <= messages.MAX_OBJECT_SIZE)
    if event.sequencer is not None:
        assert event.etag, "a sequencer is kept only for a message that names its version's content"
        assert len(event.sequencer) <= messages.MAX_SEQUENCER_DIGITS and int(event.sequencer, 16) >= 0
    for policy in POLICIES:
        relative = paths.default_relative_path(event.key, policy)
        if relative is None:
            assert event.key.endswith(("/", "\\"))
            continue
        assert not relative.is_absolute() and all(part not in ("", ".", "..") for part in relative.parts)
        assert not HIDDEN.search(relative.as_posix()), "a name disguised by hidden characters"
        root = Path("/downloads")
        assert os.path.normpath(root / relative).startswith(str(root) + os.sep)


@BUDGET
@given(body=bodies)
def test_any_body_parses_to_safe_objects_or_is_malformed(body: str) -> None:
    try:
        items = messages.parse_body(body, "m-1")
    except MalformedMessage as exc:
        # parse_body turns any error its rules did not foresee into "cannot be read": the rules should foresee them all.
        assert str(exc) and "cannot be read" not in str(exc), exc
        return
    if items is None:
        return
    assert isinstance(items, list)
    for item in items:
        if isinstance(item, RejectedRecord):
            assert item.reason and "cannot be read" not in item.reason and json.loads(item.body) is not None
        else:
            assert isinstance(item, ObjectEvent)
            check_event(item)
            [again] = messages.parse_body(messages.record_body(item), "m-2") or [None]  # what is dead-lettered alone
            assert isinstance(again, ObjectEvent)
            assert (again.bucket, again.key, again.size, again.etag, again.version_id, again.sequencer) == \
                (item.bucket, item.key, item.size, item.etag, item.version_id, item.sequencer)
