"""agent.aws.resources against moto: the queues of a region, and the bucket a queue's policy (or its topic's) admits."""

from __future__ import annotations

import json

import pytest

from agent.aws import profiles
from agent.aws.resources import bucket_from_queue_policy, list_queues
from agent.errors import AccessDeniedError
from tests.aws import Setup, client, make_setup
from tests.reliability.proxy import FaultProxy


def allow_from(source_arn: str, resource: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": ["sqs:SendMessage", "sns:Publish"],
        "Resource": resource, "Condition": {"ArnLike": {"aws:SourceArn": source_arn}}}]})


def test_list_queues_returns_the_regions_queue_urls(aws: Setup) -> None:
    found = list_queues(profiles.session(None, "us-east-1"), "us-east-1", aws.endpoint)
    assert {aws.queue_url, aws.dlq_url} <= set(found)
    names = [url.rsplit("/", 1)[1].lower() for url in found]
    assert names == sorted(names)


def test_list_queues_without_permission_says_to_paste_the_url(aws: Setup, proxy: FaultProxy) -> None:
    proxy.faults.deny = {"ListQueues"}
    with pytest.raises(AccessDeniedError, match=r"sqs:ListQueues on arn:aws:sqs:us-east-1:\* is not allowed.*paste the queue URL"):
        list_queues(profiles.session(None, "us-east-1"), "us-east-1", proxy.url)


def test_the_bucket_comes_from_the_queue_policy_without_receiving(moto_endpoint: str) -> None:
    setup = make_setup(moto_endpoint)
    session = profiles.session(None, "us-east-1")
    assert bucket_from_queue_policy(session, setup.queue_url, moto_endpoint) is None, "no policy, no bucket"
    setup.sqs.set_queue_attributes(QueueUrl=setup.queue_url, Attributes={"Policy": allow_from(f"arn:aws:s3:::{setup.bucket}", setup.queue_arn)})
    before = setup.counts()
    assert bucket_from_queue_policy(session, setup.queue_url, moto_endpoint) == setup.bucket
    assert setup.counts() == before
    message = setup.sqs.receive_message(QueueUrl=setup.queue_url, AttributeNames=["ApproximateReceiveCount"])["Messages"][0]
    assert message["Attributes"]["ApproximateReceiveCount"] == "1", "S3's TestEvent was never received before"


def test_a_wildcard_source_names_no_bucket(quiet_aws: Setup) -> None:
    quiet_aws.sqs.set_queue_attributes(QueueUrl=quiet_aws.queue_url, Attributes={"Policy": allow_from("arn:aws:s3:::takes-*", quiet_aws.queue_arn)})
    assert bucket_from_queue_policy(profiles.session(None, "us-east-1"), quiet_aws.queue_url, quiet_aws.endpoint) is None


def test_a_queue_fed_by_a_topic_names_the_topics_bucket(quiet_aws: Setup) -> None:
    sns = client("sns", quiet_aws.endpoint)
    topic = sns.create_topic(Name=f"{quiet_aws.bucket}-topic")["TopicArn"]
    sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy", AttributeValue=allow_from(f"arn:aws:s3:::{quiet_aws.bucket}", topic))
    quiet_aws.sqs.set_queue_attributes(QueueUrl=quiet_aws.queue_url, Attributes={"Policy": allow_from(topic, quiet_aws.queue_arn)})
    assert bucket_from_queue_policy(profiles.session(None, "us-east-1"), quiet_aws.queue_url, quiet_aws.endpoint) == quiet_aws.bucket


def test_a_policy_that_cannot_be_read_names_no_bucket(aws: Setup, proxy: FaultProxy) -> None:
    aws.sqs.set_queue_attributes(QueueUrl=aws.queue_url, Attributes={"Policy": allow_from(f"arn:aws:s3:::{aws.bucket}", aws.queue_arn)})
    proxy.faults.deny = {"GetQueueAttributes"}
    assert bucket_from_queue_policy(profiles.session(None, "us-east-1"), aws.queue_url.replace(aws.endpoint, proxy.url), proxy.url) is None

