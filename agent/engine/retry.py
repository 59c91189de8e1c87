"""The backoff policy, and what each failure means: retry the object, wait for the user, give up, skip, or restore."""

from __future__ import annotations

import enum
import errno
import math
import random
import sqlite3
from dataclasses import dataclass

from botocore.exceptions import (
    BotoCoreError,
    ChecksumError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    CredentialRetrievalError,
    EndpointConnectionError,
    FlexibleChecksumError,
    IncompleteReadError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ReadTimeoutError,
    ResponseStreamingError,
    SSOError,
    TokenRetrievalError,
)

from agent import errors
from agent.api import MalformedMessage, PermanentFailure
from agent.engine import permissions
from agent.engine.ledger import write_failure
from agent.engine.paths import UnsafePathError


class Kind(enum.Enum):
    RETRY = "retry"
    """The object is not readable yet, or the transfer broke: try again later; counts as an attempt."""
    WAIT = "wait"
    """Something the user must fix, or the endpoint is offline: keep the message, back off, don't count it."""
    GIVE_UP = "give-up"
    """Retrying can never help (malformed message, unsafe path, wrong bucket): give up now."""
    SUPERSEDED = "superseded"
    """The object changed since the notification; a newer notification will bring it."""
    ARCHIVED = "archived"
    """Archived (Glacier, Deep Archive, an Intelligent-Tiering archive tier): it needs a restore. Retrying cannot help
    until then, so no attempt is spent: the agent asks for a restore (restore_archived) or reports it once."""


@dataclass(frozen=True)
class Failure:
    kind: Kind
    reason: str
    error: errors.NeedsUserError | None = None
    server_busy: bool = False  # the server's own error (5xx, throttling): if many objects get it at once, it is the server


class IncompleteDownload(Exception):
    """The bytes on disk do not match the object's size."""


class TooLargeForDisk(Exception):
    """The object is larger than the whole disk holding the download folder: no freeing of space can make it fit."""


NOT_READY = {"NoSuchKey", "404", "NotFound", "NoSuchVersion"}
THROTTLED = {"SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequests", "RequestThrottled",
             "503", "500", "InternalError", "ServiceUnavailable", "RequestTimeout"}
CREDENTIALS = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "InvalidClientTokenId", "UnrecognizedClientException",
               "AuthFailure", "RequestExpired"}
EXPIRED = {"ExpiredToken", "ExpiredTokenException"}
SIGN_IN_AGAIN = ("Sign in again: 'Sign in again…' in the tray menu, or aws sso login --profile PROFILE. Downloads wait "
                 "meanwhile and nothing is lost.")
DENIED = {"AccessDenied", "403", "Forbidden", "AccessDeniedException", "AllAccessDisabled"}
MISSING_BUCKET = {"NoSuchBucket"}
MISSING_QUEUE = {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist", "NonExistentQueue"}
PRECONDITION = {"PreconditionFailed", "412"}
SQS_OPERATIONS = {"ReceiveMessage", "DeleteMessage", "DeleteMessageBatch", "ChangeMessageVisibility",
                  "ChangeMessageVisibilityBatch", "GetQueueAttributes", "SendMessage", "SendMessageBatch", "GetQueueUrl"}
ARCHIVED = {"InvalidObjectState"}


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def classify(exc: BaseException) -> Failure:
    """What a failure means for its message."""
    if isinstance(exc, (MalformedMessage, UnsafePathError, PermanentFailure)):
        return Failure(Kind.GIVE_UP, str(exc))
    if isinstance(exc, errors.NeedsUserError):
        return _wait(exc)
    if isinstance(exc, ClientError):
        code = error_code(exc)
        message = exc.response.get("Error", {}).get("Message") or code
        if code in NOT_READY and exc.operation_name in SQS_OPERATIONS:  # the queue's URL leads nowhere, not an object
            return _wait(errors.QueueNotFoundError(
                f"The queue URL answered 404 ({exc.operation_name}): check {{sqs_queue_url}} and {{sqs_endpoint_url}} "
                "(copy the URL from the SQS console: Queues, then the queue's Details)."))
        if code in NOT_READY:
            return Failure(Kind.RETRY, "the object is not readable yet (not found)")
        if code in PRECONDITION:
            return Failure(Kind.SUPERSEDED, "the object changed after this notification was sent")
        if code in ARCHIVED:
            return Failure(Kind.ARCHIVED, "archived: needs a restore")
        if code in THROTTLED or code.startswith("5"):
            return Failure(Kind.RETRY, f"the server is busy ({code})", server_busy=True)
        if code in EXPIRED:
            return _wait(errors.CredentialsExpiredError(
                f"The temporary AWS credentials have expired ({code}). For an IAM Identity Center (SSO) profile: "
                f"{SIGN_IN_AGAIN} Otherwise get new ones from whatever issued them (for environment variables, then "
                "restart the agent)."))
        if code in CREDENTIALS:
            return _wait(errors.CredentialsError(
                f"AWS rejected the credentials ({code}: {message}). Refresh them (for SSO: aws sso login), "
                "or check AWS_PROFILE / {aws_profile}."))
        if code in DENIED:
            return _wait(errors.AccessDeniedError(permissions.denied_reason(exc.operation_name, code)))
        if code in MISSING_BUCKET:
            return _wait(bucket_not_found(str(exc.response.get("Error", {}).get("BucketName") or "") or None))
        if code in MISSING_QUEUE:
            return _wait(errors.QueueNotFoundError("The queue does not exist. Check {sqs_queue_url}: copy the URL from the SQS "
                                                   "console (Queues, then the queue's Details)."))
        return Failure(Kind.RETRY, f"{code}: {message}")
    if isinstance(exc, (SSOError, TokenRetrievalError)):  # botocore could neither use nor renew the SSO sign-in
        return _wait(errors.SignInExpiredError(f"The AWS sign-in (IAM Identity Center) has expired or is no longer valid. {SIGN_IN_AGAIN}"))
    if isinstance(exc, CredentialRetrievalError):  # credential_process, a container or instance role did not answer
        return _wait(errors.CredentialsError(f"The AWS credentials could not be fetched ({exc}). If the profile runs a "
                                             "command (credential_process), run it yourself to see what it needs, such "
                                             "as signing in again; downloads go on once it works."))
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return _wait(errors.CredentialsError(
            "No usable AWS credentials were found. Set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
            "configure a profile (aws configure) and choose it in {aws_profile}, or log in with aws sso login."))
    if isinstance(exc, NoRegionError):
        return _wait(errors.CredentialsError("No AWS region is set. {Add|Fill in} {aws_region}{ to the config|}."))
    if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError)):
        endpoint = str(exc.kwargs.get("endpoint_url") or "")
        return _wait(errors.OfflineError(f"Cannot reach the endpoint ({exc}). Retrying by itself.", endpoint or None))
    if isinstance(exc, (ReadTimeoutError, ConnectionClosedError, ResponseStreamingError, IncompleteReadError, IncompleteDownload, ConnectionError)):
        return Failure(Kind.RETRY, f"the transfer broke off ({exc})")
    if isinstance(exc, TooLargeForDisk):  # that object's failure, not a disk-full wait for every download
        return Failure(Kind.RETRY, str(exc))
    if isinstance(exc, (FlexibleChecksumError, ChecksumError)):
        return Failure(Kind.RETRY, f"the download was damaged in transit: its checksum does not match ({exc})")
    if isinstance(exc, BotoCoreError):
        return Failure(Kind.RETRY, str(exc))
    if isinstance(exc, OSError):
        return _disk_failure(exc)
    if isinstance(exc, sqlite3.Error):  # the ledger, on this computer: no other object would fare better
        return _wait(write_failure(exc))
    return Failure(Kind.RETRY, f"{type(exc).__name__}: {exc}")


NO_ANSWER = (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError, ResponseStreamingError,
             IncompleteReadError, ConnectionError)


def bucket_not_found(bucket: str | None) -> errors.BucketNotFoundError:
    """A missing bucket, named when it is known: deleted, or the notifications come from a bucket of another name."""
    which = f"The bucket {bucket!r}" if bucket else "The bucket"
    return errors.BucketNotFoundError(f"{which} does not exist: it was deleted, or its name is mistyped. Check "
                                      "{s3_bucket_name} and the notifications' source.")


def unanswered(exc: BaseException) -> bool:
    """The server could not be reached, did not answer in time or in full, or was too busy: nothing the config can fix."""
    return isinstance(exc, NO_ANSWER) or classify(exc).server_busy


def _disk_failure(exc: OSError) -> Failure:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        where = f" (writing {exc.filename})" if exc.filename else ""
        return _wait(errors.DiskFullError(f"The disk holding the download folder is full{where}. "
                                          "Free some space; downloads resume by themselves."))
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return _wait(errors.FolderNotWritableError(f"Cannot write to {exc.filename or 'the download folder'} ({exc.strerror}). "
                                                   "Fix its permissions or choose another folder."))
    return Failure(Kind.RETRY, f"{exc.strerror or exc}" + (f" ({exc.filename})" if exc.filename else ""))


def _wait(error: errors.NeedsUserError) -> Failure:
    return Failure(Kind.WAIT, str(error), error)


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter: about base * 2^(attempt-1), capped at `maximum`."""

    base: float
    maximum: float

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        ceiling = min(self.maximum, self.base * 2 ** max(0, min(attempt - 1, 30)))
        return (rng or random).uniform(ceiling / 2, ceiling)  # "equal jitter": never much shorter than planned

    @staticmethod
    def visibility(delay: float) -> int:
        """SQS takes whole seconds, up to 12 hours."""
        return max(0, min(43_200, math.ceil(delay)))
