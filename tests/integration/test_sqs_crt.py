"""The CRT's SQS calls answer as botocore's do, against moto and against ministack (the bench's server, when `make
bench` installed it): the same results, and for every failure the same exception, error code, status and meaning."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from agent.engine import retry
from agent.engine.sqs import Queue
from agent.engine.sqs_crt import CrtSqsClient, client_error
from tests.aws import client, free_port

pytest.importorskip("awscrt")
MINISTACK = Path(__file__).resolve().parents[2] / "bench" / ".tools" / "bin" / "ministack"


@pytest.fixture(params=["moto", "ministack"])
def endpoint(request: pytest.FixtureRequest, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.delenv("S3_SQS_AGENT_NO_CRT", raising=False)
    if request.param == "moto":
        yield moto_endpoint
        return
    if not MINISTACK.exists():
        pytest.skip("ministack is installed by `make test` and `make bench` (bench/.tools)")
    from bench.server import Ministack

    server = Ministack(MINISTACK.parent.parent, free_port())
    try:
        yield server.endpoint
    finally:
        server.stop()


def both(endpoint: str) -> tuple[Any, CrtSqsClient]:
    botocore_client = client("sqs", endpoint)
    crt_client, path = CrtSqsClient.create(botocore_client)
    assert crt_client is not None, path
    return botocore_client, crt_client


def failure(call: Callable[[], object]) -> ClientError:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value


def same_failure(botocore_call: Callable[[], object], crt_call: Callable[[], object]) -> ClientError:
    expected, got = failure(botocore_call), failure(crt_call)
    assert got.operation_name == expected.operation_name
    assert got.response["Error"]["Code"] == expected.response["Error"]["Code"]
    assert got.response["Error"].get("Message", "") == expected.response["Error"].get("Message", "")
    assert got.response["ResponseMetadata"]["HTTPStatusCode"] == expected.response["ResponseMetadata"]["HTTPStatusCode"]
    assert meaning(got) == meaning(expected)
    return got


def meaning(exc: BaseException) -> tuple[object, ...]:
    """What the engine makes of a failure (the exceptions inside compare by identity, so by type and text here)."""
    failure = retry.classify(exc)
    return failure.kind, failure.reason, type(failure.error), str(failure.error), failure.server_busy


def test_the_calls_answer_as_botocore_does(endpoint: str) -> None:
    boto, crt = both(endpoint)
    url = boto.create_queue(QueueName=f"crt-{uuid.uuid4().hex[:8]}", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    assert crt.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout", "RedrivePolicy"]) == \
        {k: v for k, v in boto.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout", "RedrivePolicy"]).items()
         if k != "ResponseMetadata"}
    crt.send_message(QueueUrl=url, MessageBody='{"Records": ["ü"]}',
                     MessageAttributes={"reason": {"DataType": "String", "StringValue": "a reason"}})
    queue = Queue(crt, url)
    [message] = queue.receive(10, 1, 30)
    assert message.body == '{"Records": ["ü"]}' and message.receive_count == 1
    assert message.attributes["reason"] == "a reason" and "SentTimestamp" in message.attributes
    queue.change_visibility(message, 0)
    [again] = Queue(boto, url).receive(10, 1, 30)
    assert again.message_id == message.message_id and again.receive_count == 2
    assert queue.change_visibility_batch([again], 30) == []
    assert queue.delete_batch([again]) == []
    assert queue.counts() == Queue(boto, url).counts() == (0, 0, 0)
    gone = again.__class__(**{**again.__dict__, "receipt_handle": "not-a-receipt"})
    failed_crt, failed_boto = queue.delete_batch([gone]), Queue(boto, url).delete_batch([gone])
    assert [m.message_id for m in failed_crt] == [m.message_id for m in failed_boto] == [gone.message_id]


def test_failures_are_the_same_errors(endpoint: str) -> None:
    boto, crt = both(endpoint)
    missing = f"{endpoint}/000000000000/no-such-queue-{uuid.uuid4().hex[:6]}"
    gone = same_failure(lambda: boto.receive_message(QueueUrl=missing, WaitTimeSeconds=0),
                        lambda: crt.receive_message(QueueUrl=missing, WaitTimeSeconds=0))
    assert retry.classify(gone).kind is retry.Kind.WAIT  # the user must fix the queue URL
    same_failure(lambda: boto.get_queue_attributes(QueueUrl=missing, AttributeNames=["All"]),
                 lambda: crt.get_queue_attributes(QueueUrl=missing, AttributeNames=["All"]))
    url = boto.create_queue(QueueName=f"crt-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    same_failure(lambda: boto.change_message_visibility(QueueUrl=url, ReceiptHandle="bogus", VisibilityTimeout=5),
                 lambda: crt.change_message_visibility(QueueUrl=url, ReceiptHandle="bogus", VisibilityTimeout=5))
    same_failure(lambda: boto.delete_message_batch(QueueUrl=url, Entries=[]),
                 lambda: crt.delete_message_batch(QueueUrl=url, Entries=[]))


def test_a_server_that_is_not_there_is_offline_for_both() -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    endpoint = f"http://127.0.0.1:{port}"
    boto, crt = client("sqs", endpoint), CrtSqsClient.create(client("sqs", endpoint))[0]
    assert crt is not None
    url = f"{endpoint}/000000000000/q"
    for call in (lambda: boto.receive_message(QueueUrl=url), lambda: crt.receive_message(QueueUrl=url)):
        with pytest.raises(EndpointConnectionError) as caught:
            call()
        assert retry.classify(caught.value).kind is retry.Kind.WAIT and retry.unanswered(caught.value)


@pytest.mark.parametrize(("status", "headers", "body", "code"), [
    (400, {"x-amzn-query-error": "AWS.SimpleQueueService.NonExistentQueue;Sender"},
     b'{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"gone"}', "AWS.SimpleQueueService.NonExistentQueue"),
    (400, {}, b'{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"gone"}', "QueueDoesNotExist"),
    (403, {}, b'{"__type":"InvalidClientTokenId:http://internal","Message":"bad key"}', "InvalidClientTokenId"),
    (503, {}, b"<html>busy</html>", "503"),
    (500, {}, b"", "500"),
])
def test_error_answers_map_to_botocores_codes(status: int, headers: dict[str, str], body: bytes, code: str) -> None:
    error = client_error("ReceiveMessage", status, headers, body)
    assert error.response["Error"]["Code"] == code and error.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert error.operation_name == "ReceiveMessage"


def test_botocore_serves_when_the_crt_is_turned_off(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("S3_SQS_AGENT_NO_CRT", "1")
    crt, path = CrtSqsClient.create(client("sqs", moto_endpoint))
    assert crt is None and path == "botocore (S3_SQS_AGENT_NO_CRT is set)"


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the CRT prints the refresh's error
def test_an_sso_sign_in_that_cannot_be_renewed_is_botocores_error_on_both_crt_paths(moto_endpoint: str, tmp_path: Path,
                                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's refresh fails (an expired SSO sign-in): the CRT signs with no credentials and says only that, but the
    agent must see botocore's TokenRetrievalError, which tells the user to sign in again (not 'no credentials')."""
    import botocore.session
    from botocore.credentials import RefreshableCredentials
    from botocore.exceptions import TokenRetrievalError

    from agent.engine.crt import CrtGetter

    monkeypatch.delenv("S3_SQS_AGENT_NO_CRT", raising=False)

    def refresh() -> dict[str, str]:
        raise TokenRetrievalError(provider="sso", error_msg="Token has expired and refresh failed")

    session = botocore.session.get_session()
    session._credentials = RefreshableCredentials.create_from_metadata(  # type: ignore[attr-defined]
        {"access_key": "a", "secret_key": "b", "token": "c", "expiry_time": "2000-01-01T00:00:00Z"}, refresh, "sso")
    sqs, s3 = (session.create_client(name, region_name="us-east-1", endpoint_url=moto_endpoint) for name in ("sqs", "s3"))
    crt_sqs, _ = CrtSqsClient.create(sqs)
    getter, _ = CrtGetter.create(s3, 8 * 1024 * 1024)
    assert crt_sqs is not None and getter is not None
    with pytest.raises(TokenRetrievalError):
        crt_sqs.receive_message(QueueUrl=f"{moto_endpoint}/000000000000/q")
    with open(tmp_path / "f", "wb") as handle, pytest.raises(TokenRetrievalError):
        getter.get("b", "k", None, None, handle.fileno(), 0, None, lambda n: None, lambda: False)
    assert retry.classify(TokenRetrievalError(provider="sso", error_msg="x")).kind is retry.Kind.WAIT
