"""What each failure means for its message (retry, wait for the user, give up, skip), and the backoff's bounds."""

from __future__ import annotations

import errno
import random
import sqlite3

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError, ReadTimeoutError

from agent import errors
from agent.engine.retry import Backoff, IncompleteDownload, Kind, PermanentFailure, classify


def client_error(code: str, status: int = 400, operation: str = "GetObject") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, operation)


@pytest.mark.parametrize(("error", "kind", "server_busy"), [
    (client_error("NoSuchKey", 404), Kind.RETRY, False),
    (client_error("SlowDown", 503), Kind.RETRY, True),
    (client_error("InternalError", 500), Kind.RETRY, True),
    (client_error("502", 502), Kind.RETRY, True),
    (client_error("PreconditionFailed", 412), Kind.SUPERSEDED, False),
    (client_error("AccessDenied", 403), Kind.WAIT, False),
    (client_error("ExpiredToken", 400), Kind.WAIT, False),
    (NoCredentialsError(), Kind.WAIT, False),
    (EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), Kind.WAIT, False),
    (ReadTimeoutError(endpoint_url="http://127.0.0.1:1"), Kind.RETRY, False),
    (IncompleteDownload("got 1 of 2 bytes"), Kind.RETRY, False),
    (PermanentFailure("wrong bucket"), Kind.GIVE_UP, False),
    (OSError(errno.ENOSPC, "No space left on device"), Kind.WAIT, False),
])
def test_classify(error: BaseException, kind: Kind, server_busy: bool) -> None:
    failure = classify(error)
    assert failure.kind is kind
    assert failure.server_busy is server_busy  # only the server's own errors can add up to a brownout
    assert (failure.error is not None) == (kind is Kind.WAIT)


@pytest.mark.parametrize(("error", "kind", "says"), [
    (sqlite3.OperationalError("database or disk is full"), errors.DiskFullError, "Free some space"),
    (sqlite3.OperationalError("disk I/O error"), errors.LedgerWriteError, "Check that its disk is healthy"),
    (sqlite3.DatabaseError("database disk image is malformed"), errors.LedgerWriteError, "ledger"),
])
def test_a_ledger_failure_waits_for_the_user_instead_of_spending_attempts(error: sqlite3.Error, kind: type,
                                                                          says: str) -> None:
    failure = classify(error)
    assert failure.kind is Kind.WAIT and isinstance(failure.error, kind)
    assert says in failure.reason and "server" not in failure.reason


@pytest.mark.parametrize("operation", ["ReceiveMessage", "GetQueueAttributes", "DeleteMessageBatch"])
def test_a_queue_url_that_answers_404_is_the_queue_s_problem_not_an_object_s(operation: str) -> None:
    failure = classify(client_error("404", 404, operation))
    assert failure.kind is Kind.WAIT and isinstance(failure.error, errors.NotFoundError)
    assert "queue URL answered 404" in failure.reason and "sqs_queue_url" in failure.reason
    assert "object" not in failure.reason
    assert classify(client_error("404", 404, "GetObject")).kind is Kind.RETRY  # an object not readable yet


def test_what_the_user_must_fix_says_what_to_do() -> None:
    assert isinstance(classify(OSError(errno.ENOSPC, "full")).error, errors.DiskFullError)
    assert "aws sso login" in classify(client_error("ExpiredToken")).reason
    assert "s3:GetObject" in classify(client_error("AccessDenied", 403)).reason


def test_a_full_disk_names_the_file_only_when_there_is_one() -> None:
    """Seen in a bench run: the CRT's write raised ENOSPC without a file name, and the line read "is full ()"."""
    assert str(classify(OSError(errno.ENOSPC, "No space left on device")).error).startswith(
        "The disk holding the download folder is full. Free some space")
    named = classify(OSError(errno.ENOSPC, "No space left on device", "/music/.take.wav.part")).error
    assert "full (writing /music/.take.wav.part). Free" in str(named)
    assert classify(OSError(errno.EIO, "Input/output error")).reason == "Input/output error"


def test_backoff_grows_with_equal_jitter_and_stays_under_its_cap() -> None:
    backoff, rng = Backoff(base=2, maximum=300), random.Random(1)
    for attempt, ceiling in [(1, 2), (2, 4), (3, 8), (9, 300), (40, 300)]:
        delays = [backoff.delay(attempt, rng) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays), (attempt, min(delays), max(delays))
    assert Backoff.visibility(0.2) == 1 and Backoff.visibility(-1) == 0 and Backoff.visibility(10**9) == 43_200


@pytest.mark.parametrize(("operation", "permission", "where"), [
    ("GetObject", "s3:GetObject", "the bucket's objects"),
    ("ReceiveMessage", "sqs:ReceiveMessage", "the queue"),
    ("DeleteMessageBatch", "sqs:DeleteMessage", "the queue"),
    ("ChangeMessageVisibilityBatch", "sqs:ChangeMessageVisibility", "the queue"),
    ("SendMessage", "sqs:SendMessage", "the queue"),
])
def test_access_denied_names_the_permission_as_the_doctor_does(operation: str, permission: str, where: str) -> None:
    reason = classify(client_error("AccessDenied", 403, operation)).reason
    assert f"lack {permission} on {where}" in reason and "s3-sqs-agent doctor" in reason
