"""agent.aws.resources without a server: queue URLs from what people paste, policies, masked account numbers."""

from __future__ import annotations

import json

import pytest

from agent.aws.resources import mask_account_ids, queue_url_from, source_arns
from agent.engine import permissions


@pytest.mark.parametrize(("text", "url"), [
    ("https://sqs.us-east-2.amazonaws.com/123456789012/audio-uploads", "https://sqs.us-east-2.amazonaws.com/123456789012/audio-uploads"),
    ("  'https://sqs.us-east-2.amazonaws.com/123456789012/audio-uploads/'  ", "https://sqs.us-east-2.amazonaws.com/123456789012/audio-uploads"),
    ("sqs.eu-west-1.amazonaws.com/123456789012/takes", "https://sqs.eu-west-1.amazonaws.com/123456789012/takes"),
    ("arn:aws:sqs:us-east-2:123456789012:audio-uploads", "https://sqs.us-east-2.amazonaws.com/123456789012/audio-uploads"),
    ("arn:aws:sqs:eu-west-1:123456789012:orders.fifo", "https://sqs.eu-west-1.amazonaws.com/123456789012/orders.fifo"),
    ("arn:aws-cn:sqs:cn-north-1:123456789012:q", "https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q"),
    ("http://127.0.0.1:5000/123456789012/local", "http://127.0.0.1:5000/123456789012/local"),
])
def test_queue_urls_and_arns_become_queue_urls(text: str, url: str) -> None:
    assert queue_url_from(text) == url


def test_an_arn_on_a_local_endpoint_becomes_a_url_there() -> None:
    assert queue_url_from("arn:aws:sqs:us-east-1:123456789012:q", endpoint_url="http://127.0.0.1:5000/") == "http://127.0.0.1:5000/123456789012/q"


@pytest.mark.parametrize(("text", "message"), [
    ("", "Paste the queue's URL"),
    ("arn:aws:sns:us-east-1:123456789012:topic", "not a queue ARN"),
    ("arn:aws:sqs:us-east-1:12345:q", "not a queue ARN"),
    ("audio-uploads", "not a queue URL or ARN"),
    ("https://sqs.us-east-2.amazonaws.com/audio-uploads", "not a queue URL or ARN"),
])
def test_anything_else_is_refused_with_what_was_expected(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        queue_url_from(text)


def test_source_arns_are_found_whatever_the_operator_and_case() -> None:
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sqs:SendMessage", "Resource": "*",
         "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:s3:::takes"}, "StringEquals": {"aws:SourceAccount": "123456789012"}}},
        {"Effect": "Allow", "Condition": {"ArnEquals": {"AWS:SOURCEARN": ["arn:aws:sns:us-east-1:123456789012:t"]}}},
        {"Effect": "Deny", "Condition": {"ArnEquals": {"aws:SourceArn": "arn:aws:s3:::denied"}}},
    ]}
    assert source_arns(json.dumps(policy)) == ["arn:aws:s3:::takes", "arn:aws:sns:us-east-1:123456789012:t"]
    assert source_arns(None) == [] and source_arns("not json") == [] and source_arns({"Statement": "x"}) == []


def test_account_numbers_are_masked_but_other_numbers_kept() -> None:
    assert mask_account_ids("arn:aws:iam::123456789012:user/alice") == "arn:aws:iam::********9012:user/alice"
    assert mask_account_ids("1234567890123 and 2026") == "1234567890123 and 2026"


def test_arns_for_the_policy_statements() -> None:
    assert permissions.queue_arn("https://sqs.eu-west-1.amazonaws.com/123456789012/q") == "arn:aws:sqs:eu-west-1:123456789012:q"
    assert permissions.queue_arn("http://127.0.0.1:5000/123456789012/q", "us-east-1") == "arn:aws:sqs:us-east-1:123456789012:q"
    assert permissions.objects_arn("takes", "cn-north-1") == "arn:aws-cn:s3:::takes/*"
    assert permissions.statement(("s3:GetObject",), "arn:aws:s3:::b/*") == {
        "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}
    assert permissions.statement(permissions.QUEUE_ACTIONS, "arn")["Action"] == list(permissions.QUEUE_ACTIONS)

