"""The AWS Common Runtime's errors become the botocore errors the engine classifies: an unreachable server waits
(offline), a connection that breaks off mid-transfer is a retry of that one object, as it is through boto3."""

from __future__ import annotations

import pytest

from agent.engine.retry import Kind, classify

awscrt_exceptions = pytest.importorskip("awscrt.exceptions")


def translated(name: str) -> BaseException:
    from agent.engine.crt import CrtGetter

    codes = {"AWS_IO_SOCKET_CONNECTION_REFUSED": 0x417, "AWS_IO_DNS_QUERY_FAILED": 0x422,
             "AWS_ERROR_HTTP_CONNECTION_CLOSED": 0x80A, "AWS_ERROR_HTTP_CONNECTION_MANAGER_SHUTTING_DOWN": 0x818,
             "AWS_IO_SOCKET_CLOSED": None}
    code = codes[name]
    error = awscrt_exceptions.from_code(code) if code is not None else awscrt_exceptions.AwsCrtError(0, name, "closed")
    assert error.name == name  # the CRT's own name for that code
    getter = object.__new__(CrtGetter)
    getter._endpoint_url = "http://127.0.0.1:9"
    getter._credentials = None  # type: ignore[assignment]  # no refresh failed
    return getter._translate(error)


@pytest.mark.parametrize("name", ["AWS_IO_SOCKET_CONNECTION_REFUSED", "AWS_IO_DNS_QUERY_FAILED"])
def test_an_unreachable_server_waits_as_offline(name: str) -> None:
    assert classify(translated(name)).kind is Kind.WAIT


@pytest.mark.parametrize("name", ["AWS_ERROR_HTTP_CONNECTION_CLOSED", "AWS_ERROR_HTTP_CONNECTION_MANAGER_SHUTTING_DOWN",
                                  "AWS_IO_SOCKET_CLOSED"])
def test_a_connection_closed_mid_transfer_retries_the_object(name: str) -> None:
    failure = classify(translated(name))
    assert failure.kind is Kind.RETRY and "broke off" in failure.reason
