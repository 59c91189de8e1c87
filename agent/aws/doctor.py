"""The checks behind `s3-sqs-agent doctor` and the setup window: each passed or failed, with the fix in plain words."""

from __future__ import annotations

import contextlib
import email.utils
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore import UNSIGNED
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

from agent import errors
from agent.aws.profiles import CREDENTIAL_SOURCES
from agent.aws.resources import bucket_from_queue_policy, mask_account_ids, nearest_queue, queue_name
from agent.config import Config
from agent.engine import aws, explain, permissions
from agent.engine.retry import DENIED, MISSING_BUCKET, MISSING_QUEUE, classify, error_code
from agent.engine.sqs import SQS_DEFAULTS
from agent.errors import CredentialsError, ProfileNotFoundError

CONFIG = "Config"
CREDENTIALS_CHECK = "Credentials"
QUEUE = "Queue"
RECEIVE = "Receive messages"
DELETE = "Delete messages"
BUCKET = "Bucket"
DEAD_LETTER = "Dead-letter queue"
FOLDER = "Download folder"
CLOCK = "Clock"
NAMES = (CONFIG, CREDENTIALS_CHECK, QUEUE, RECEIVE, DELETE, BUCKET, DEAD_LETTER, FOLDER, CLOCK)
"""Every check, in the order it runs."""

LOW_SPACE_BYTES = 100 * 1024**2  # below this the folder check fails: a few audio files would fill it
SKEW_WARNING_SECONDS = 60
SKEW_LIMIT_SECONDS = 5 * 60  # AWS refuses requests signed more than 15 minutes off; fail well before that
PROBE_RECEIPT = "s3-sqs-agent-doctor-probe"  # a receipt handle that matches no message: SQS refuses it if allowed
PROBE_DELAY_SECONDS = 901  # SendMessage refuses a delay over 900 s once the caller is allowed to send


@dataclass(frozen=True)
class Check:
    """One check's outcome: `passed` None means not checked, or only informative.

    `detail` and `fix` may name settings as `{key}` (agent/errors.py): they keep the config keys (the terminal's form),
    and `window_detail` and `window_fix` get the window, section and field (the Setup window's form)."""

    name: str
    passed: bool | None
    detail: str
    fix: str = ""
    """What to do, in plain words (failures only)."""
    policy: dict[str, Any] | None = None
    """The IAM policy statement an administrator must grant (a failure for a missing permission)."""
    suggestion: str | None = None
    """A value to offer instead: the URL of the existing queue nearest to a missing one."""
    window_detail: str = ""
    window_fix: str = ""
    written: tuple[str, str] = field(default=("", ""), init=False, repr=False, compare=False)
    """detail and fix as written, `{key}` and all: for a window that names its own fields (see in_window)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "written", (self.detail, self.fix))
        for name, text in (("detail", self.detail), ("fix", self.fix)):
            object.__setattr__(self, name, errors.for_terminal(text))
            object.__setattr__(self, f"window_{name}", errors.for_window(getattr(self, f"window_{name}") or text))

    def in_window(self, places: Mapping[str, object]) -> tuple[str, str]:
        """(detail, fix) for a window whose own fields `places` names (Setup's Queue URL, say); Settings' for the rest."""
        return errors.for_window(self.written[0], places), errors.for_window(self.written[1], places)


def run_checks(config: Config, on_result: Callable[[Check], None] | None = None, sample_key: str | None = None) -> list[Check]:
    """Run every check in order (see NAMES); `on_result` gets each one as soon as it is known.

    Nothing here changes the queue, the bucket or the folder: receiving is tried only while the queue shows no
    visible message, deleting and dead-lettering are tried with requests SQS refuses after authorizing them.
    `sample_key`: an object known to be in the bucket (the last download, say), to prove s3:GetObject without a
    listing permission. A failure for a missing permission carries the statement an administrator must grant: the
    whole set the agent needs on that resource, so that one request to the administrator is enough."""
    probe = _Probe(config, sample_key)
    results: list[Check] = []
    for name, check in zip(NAMES, (_config, _credentials, _queue, _receive, _delete, _bucket, _dead_letter, _folder, _clock), strict=True):
        try:
            result = check(probe)
        except Exception as exc:  # noqa: BLE001 - one broken check must not hide the others
            result = Check(name, False, f"The check itself failed: {type(exc).__name__}: {exc}",
                           "Run the checks again; if this repeats, report it with the text above.")
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results


class _Probe:
    """The clients, and what earlier checks learnt, shared by the checks of one run."""

    def __init__(self, config: Config, sample_key: str | None) -> None:
        self.config = config
        self.sample_key = sample_key
        self.region = config.aws_region
        self.clients: tuple[Any, Any, Any] | None = None  # s3, sqs, sts once the credentials check built them
        self.signed_in = False
        self.queue_attributes: dict[str, str] | None = None
        self.server_date: datetime | None = None
        self.unreachable = False  # the endpoint refused or timed out: later checks need not wait for it again
        self.local_date: datetime | None = None

    @property
    def queue_arn(self) -> str:
        if self.queue_attributes and self.queue_attributes.get("QueueArn"):
            return self.queue_attributes["QueueArn"]
        return permissions.queue_arn(self.config.sqs_queue_url, self.region)

    def remember_date(self, response_dict: Any = None, **_: Any) -> None:
        """botocore's before-parse hook: keep the first response's Date header, for the clock check."""
        if self.server_date is not None or not isinstance(response_dict, dict):
            return
        header = response_dict.get("headers", {}).get("Date")
        with contextlib.suppress(TypeError, ValueError):
            self.server_date = email.utils.parsedate_to_datetime(header) if header else None
            self.local_date = datetime.now(UTC)

    def watch(self, client: Any) -> Any:
        client.meta.events.register("before-parse", self.remember_date)
        return client


def _skipped(name: str, why: str) -> Check:
    return Check(name, None, f"Not checked: {why}.")


def _aws_failure(probe: _Probe, name: str, exc: BaseException, action: str, resource: str, grant: tuple[str, ...]) -> Check:
    """A failed AWS call as a check: access denied names the permission and carries the statement to grant; an
    endpoint that cannot be reached is named, with where it is set."""
    code = error_code(exc) if isinstance(exc, ClientError) else ""
    if code in DENIED:
        return Check(name, False, f"Access denied: these credentials lack {action} on {resource}.",
                     f"Ask your AWS administrator to allow {action} on {resource}: send them the policy statement "
                     "below (it holds everything the agent needs there).", permissions.statement(grant, resource))
    if _rejected_credentials(exc):
        return Check(name, False, f"AWS rejected the credentials ({code}).",
                     "Sign in again (for IAM Identity Center), or replace the access key; then run the checks again.")
    if isinstance(exc, EndpointConnectionError):
        what, fix = explain.unreachable(str(exc.kwargs.get("endpoint_url") or ""), probe.config)
        return Check(name, False, what, f"{fix} Then run the checks again.")
    return Check(name, False, classify(exc).reason, "Run the checks again; if this repeats, the detail above says what AWS answered.")


def _rejected_credentials(exc: BaseException) -> bool:
    """AWS refused the credentials themselves (a wrong, deactivated or expired key or token), as the agent judges it."""
    return isinstance(classify(exc).error, CredentialsError)


# ---------------------------------------------------------------- the checks


def _config(probe: _Probe) -> Check:
    where = f"{probe.config.source} is" if probe.config.source else "The settings are"
    plugins = f"; plugins: {', '.join(p.name for p in probe.config.plugins)}" if probe.config.plugins else ""
    return Check(CONFIG, True, f"{where} valid{plugins}.")


def _credentials(probe: _Probe) -> Check:
    config = probe.config
    try:
        session = aws.make_session(config)
    except ProfileNotFoundError as missing:
        guess = f"{missing.did_you_mean} " if missing.nearest else ""
        return Check(CREDENTIALS_CHECK, False, f"There is no AWS profile called {config.aws_profile!r} on this computer.",
                     f"{guess}Choose a profile that exists in {{aws_profile}} (s3-sqs-agent setup lists them), or add it, "
                     "then run the checks again.", suggestion=missing.nearest)
    probe.region = config.aws_region or session.region_name or aws.LOCAL_REGION
    try:
        s3, sqs = aws.make_clients(config, session)
        sts = aws.make_client(session, "sts", config.endpoint_url)
    except CredentialsError:  # no region, and AWS itself needs one
        return Check(CREDENTIALS_CHECK, False, "No AWS region is set, and the queue URL does not name one.",
                     "{Add|Fill in} {aws_region}{ to the config|} (the queue's region, such as us-east-2), or set the "
                     "profile's region.")
    probe.clients = (probe.watch(s3), probe.watch(sqs), probe.watch(sts))
    profile = f"profile {config.aws_profile}" if config.aws_profile else None
    try:
        identity = sts.get_caller_identity()
        credentials = session.get_credentials()
    except NoCredentialsError:
        return Check(CREDENTIALS_CHECK, False, "No AWS credentials were found.",
                     "Run s3-sqs-agent setup and choose a profile or add an access key; or set AWS_ACCESS_KEY_ID and "
                     "AWS_SECRET_ACCESS_KEY; or run where an instance role applies.")
    except ClientError as exc:
        if _rejected_credentials(exc):
            return Check(CREDENTIALS_CHECK, False, f"AWS rejected the credentials{f' of {profile}' if profile else ''} ({error_code(exc)}).",
                         _credentials_fix(config, probe))
        return _aws_failure(probe, CREDENTIALS_CHECK, exc, "sts:GetCallerIdentity", "*", ("sts:GetCallerIdentity",))
    except BotoCoreError as exc:  # an SSO sign-in that expired, a credential process that failed, no connection...
        if isinstance(exc, EndpointConnectionError):
            probe.unreachable = True
            return _aws_failure(probe, CREDENTIALS_CHECK, exc, "", "", ())
        return Check(CREDENTIALS_CHECK, False, f"The credentials{f' of {profile}' if profile else ''} cannot be used: {exc}",
                     _credentials_fix(config, probe))
    probe.signed_in = True
    method = credentials.method if credentials is not None else ""
    source = CREDENTIAL_SOURCES.get(method, method or "the AWS chain")
    return Check(CREDENTIALS_CHECK, True, f"{mask_account_ids(str(identity.get('Arn', '?')))}, from {profile + ', ' if profile else ''}{source}.")


def _credentials_fix(config: Config, probe: _Probe) -> str:
    profile = config.aws_profile
    fix = ("Sign in again: s3-sqs-agent setup (or aws sso login"
           f"{f' --profile {profile}' if profile else ''}) for IAM Identity Center; for an access key, check it is "
           "active in the IAM console or create a new one.")
    if probe.server_date is not None and probe.local_date is not None:
        skew = (probe.local_date - probe.server_date).total_seconds()
        if abs(skew) > SKEW_LIMIT_SECONDS:
            fix = f"This computer's clock is {_duration(abs(skew))} {'fast' if skew > 0 else 'slow'}: {_CLOCK_FIX} " + fix
    return fix


def _queue(probe: _Probe) -> Check:
    if not probe.signed_in or probe.clients is None:
        return _skipped(QUEUE, "needs working credentials")
    config = probe.config
    mismatch = explain.region_mismatch(config)
    if mismatch is not None:
        return Check(QUEUE, False, *mismatch)
    _, sqs, _ = probe.clients
    try:
        attributes = sqs.get_queue_attributes(QueueUrl=config.sqs_queue_url, AttributeNames=["All"]).get("Attributes", {})
    except ClientError as exc:
        if error_code(exc) in MISSING_QUEUE:
            near = _nearest_queue(probe, config.sqs_queue_url)
            guess = f" did you mean {queue_name(near)!r} ({near})? Or" if near else ""
            return Check(QUEUE, False, f"There is no queue at {config.sqs_queue_url} (for these credentials).",
                         f"Check {{sqs_queue_url}}:{guess} copy the URL from the SQS console (Queues, then the queue's "
                         "Details). The queue must belong to the credentials' account or be shared with it by its access "
                         "policy.", suggestion=near)
        return _aws_failure(probe, QUEUE, exc, "sqs:GetQueueAttributes", probe.queue_arn, permissions.QUEUE_ACTIONS)
    except BotoCoreError as exc:
        return _aws_failure(probe, QUEUE, exc, "sqs:GetQueueAttributes", probe.queue_arn, permissions.QUEUE_ACTIONS)
    probe.queue_attributes = attributes
    visible = int(attributes.get("ApproximateNumberOfMessages", 0))
    in_flight = int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0))
    parts = [f"{queue_name(config.sqs_queue_url)}: {visible} waiting, {in_flight} in flight",
             f"messages kept {_duration(int(attributes.get('MessageRetentionPeriod', SQS_DEFAULTS.retention_seconds)))}",
             f"visibility timeout {attributes.get('VisibilityTimeout', SQS_DEFAULTS.visibility_timeout)} s"]
    redrive = _redrive(attributes)
    if redrive:
        parts.append(f"after {redrive[1]} receives a message moves to {redrive[0]} (the queue's redrive policy)")
    return Check(QUEUE, True, "; ".join(parts) + ".")


def _nearest_queue(probe: _Probe, queue_url: str) -> str | None:
    try:
        session = aws.make_session(probe.config)
    except CredentialsError:
        return None
    return nearest_queue(session, queue_url, probe.config.sqs_endpoint, probe.region)


def _redrive(attributes: dict[str, str]) -> tuple[str, str] | None:
    import json

    try:
        policy = json.loads(attributes.get("RedrivePolicy") or "null")
    except ValueError:
        return None
    if not isinstance(policy, dict) or not policy.get("deadLetterTargetArn"):
        return None
    return str(policy["deadLetterTargetArn"]).rsplit(":", 1)[-1], str(policy.get("maxReceiveCount", "?"))


def _receive(probe: _Probe) -> Check:
    if probe.queue_attributes is None or probe.clients is None:
        return _skipped(RECEIVE, "the queue could not be read")
    visible = int(probe.queue_attributes.get("ApproximateNumberOfMessages", 0))
    if visible:
        return Check(RECEIVE, None, f"Not tried: the queue holds {visible} message{'s' if visible != 1 else ''}, and a test "
                     "receive would count against them (every receive raises a message's receive count). The agent's first "
                     "real receive will prove it.")
    _, sqs, _ = probe.clients
    try:
        # VisibilityTimeout=0: a message that arrives meanwhile is visible again at once, for the agent.
        got = sqs.receive_message(QueueUrl=probe.config.sqs_queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=0,
                                  VisibilityTimeout=0).get("Messages", [])
    except (ClientError, BotoCoreError) as exc:
        kms = _kms_failure(RECEIVE, exc, probe)
        return kms or _aws_failure(probe, RECEIVE, exc, "sqs:ReceiveMessage", probe.queue_arn, permissions.QUEUE_ACTIONS)
    if got:
        return Check(RECEIVE, True, "Allowed (a message arrived meanwhile; it was left visible for the agent).")
    return Check(RECEIVE, True, "Allowed (tried while the queue was empty).")


def _kms_failure(name: str, exc: BaseException, probe: _Probe) -> Check | None:
    """A queue encrypted with a customer key needs kms:Decrypt on that key too."""
    code = error_code(exc) if isinstance(exc, ClientError) else ""
    if not code.startswith("KMS") and not code.startswith("Kms"):
        return None
    key = (probe.queue_attributes or {}).get("KmsMasterKeyId") or "the queue's KMS key"
    key_arn = key if key.startswith("arn:") else f"arn:{permissions.partition(probe.region)}:kms:{probe.region}:*:key/*"
    return Check(name, False, f"The queue is encrypted with a KMS key ({key}) these credentials may not use ({code}).",
                 f"Ask your AWS administrator to allow kms:Decrypt on {key} (the statement below).",
                 permissions.statement(("kms:Decrypt",), key_arn))


def _delete(probe: _Probe) -> Check:
    if probe.queue_attributes is None or probe.clients is None:
        return _skipped(DELETE, "the queue could not be read")
    _, sqs, _ = probe.clients
    target = {"QueueUrl": probe.config.sqs_queue_url, "ReceiptHandle": PROBE_RECEIPT}
    for action, operation, extra in (("sqs:DeleteMessage", "delete_message", {}),
                                     ("sqs:ChangeMessageVisibility", "change_message_visibility", {"VisibilityTimeout": 0})):
        try:
            getattr(sqs, operation)(**target, **extra)
        except ClientError as exc:
            if error_code(exc) in DENIED:
                return _aws_failure(probe, DELETE, exc, action, probe.queue_arn, permissions.QUEUE_ACTIONS)
            # ReceiptHandleIsInvalid: SQS authorized the request, then found no such message. That is the proof.
        except BotoCoreError as exc:
            return _aws_failure(probe, DELETE, exc, action, probe.queue_arn, permissions.QUEUE_ACTIONS)
    return Check(DELETE, True, "Deleting messages and extending their visibility are allowed "
                 "(tried with a receipt that matches no message).")


def _bucket(probe: _Probe) -> Check:
    if not probe.signed_in or probe.clients is None:
        return _skipped(BUCKET, "needs working credentials")
    config = probe.config
    s3, _, _ = probe.clients
    bucket, learnt = config.s3_bucket_name, ""
    if not bucket:
        session = aws.make_session(config)
        bucket = bucket_from_queue_policy(session, config.sqs_queue_url, config.sqs_endpoint, probe.region)
        if not bucket:
            return Check(BUCKET, None, "No bucket is set, so notifications from any bucket are accepted. Set "
                         "{s3_bucket_name} to check the bucket here and to refuse every other one.")
        learnt = " (named by the queue's policy; {s3_bucket_name} is not set)"
    objects = permissions.objects_arn(bucket, probe.region)
    listing = True
    try:
        head = s3.head_bucket(Bucket=bucket)
        region = head.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("x-amz-bucket-region")
    except ClientError as exc:
        code = error_code(exc)
        if code in MISSING_BUCKET or code in ("404", "NotFound"):
            return Check(BUCKET, False, f"There is no bucket called {bucket}{learnt}.",
                         "Check {s3_bucket_name}: it is the bucket's name alone, as the S3 console lists it (no s3:// and no folder).")
        if code not in DENIED:
            return _aws_failure(probe, BUCKET, exc, "s3:ListBucket", permissions.bucket_arn(bucket, probe.region), ("s3:ListBucket",))
        listing = False  # it exists (S3 says 404 for a missing bucket, whoever asks); listing it is not allowed
        region = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("x-amz-bucket-region")
    except BotoCoreError as exc:
        return _aws_failure(probe, BUCKET, exc, "s3:ListBucket", permissions.bucket_arn(bucket, probe.region), ("s3:ListBucket",))
    where = f"{bucket}{learnt}{f', in {region}' if region else ''}"
    key = probe.sample_key
    if key is None and listing:
        try:
            contents = s3.list_objects_v2(Bucket=bucket, MaxKeys=1).get("Contents", [])
        except (ClientError, BotoCoreError):
            contents = []
        key = contents[0]["Key"] if contents else None
    if key is not None:
        try:
            s3.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if error_code(exc) in DENIED:
                return _aws_failure(probe, BUCKET, exc, "s3:GetObject", objects, permissions.OBJECT_ACTIONS)
            if error_code(exc) not in ("404", "NoSuchKey", "NotFound"):
                return _aws_failure(probe, BUCKET, exc, "s3:GetObject", objects, permissions.OBJECT_ACTIONS)
            key = None
        except BotoCoreError as exc:
            return _aws_failure(probe, BUCKET, exc, "s3:GetObject", objects, permissions.OBJECT_ACTIONS)
    if key is not None:
        return Check(BUCKET, True, f"{where}: objects can be read (tried on {key}).")
    if not listing:
        return Check(BUCKET, True, f"{where}: it exists. Reading its objects (s3:GetObject) cannot be tried without a "
                     "listing permission, so the first download will prove it. Without s3:ListBucket, catch-up cannot "
                     "list the bucket either.")
    return Check(BUCKET, True, f"{where}: reachable and empty, so the first download will prove that objects can be read.")


def _dead_letter(probe: _Probe) -> Check:
    config = probe.config
    url = config.dead_letter_queue_url
    if url is None:
        redrive = _redrive(probe.queue_attributes or {})
        if redrive:
            return Check(DEAD_LETTER, None, f"Not set: the queue's own redrive policy moves the messages the agent gives up "
                         f"to {redrive[0]}.")
        return Check(DEAD_LETTER, None, "Not set: messages the agent gives up stay in its local ledger "
                     "(s3-sqs-agent failed list).")
    if not probe.signed_in or probe.clients is None:
        return _skipped(DEAD_LETTER, "needs working credentials")
    _, sqs, _ = probe.clients
    arn = permissions.queue_arn(url, probe.region)
    try:
        sqs.send_message(QueueUrl=url, MessageBody="s3-sqs-agent doctor: this message is refused on purpose",
                         DelaySeconds=PROBE_DELAY_SECONDS)
    except ClientError as exc:
        code = error_code(exc)
        if code in ("InvalidParameterValue", "InvalidParameterValueException", "InvalidMessageContents"):
            return Check(DEAD_LETTER, True, f"{queue_name(url)}: sending is allowed (tried with a message SQS refuses, "
                         "so nothing was left there).")
        if code in MISSING_QUEUE:
            near = _nearest_queue(probe, url)
            guess = f" did you mean {queue_name(near)!r} ({near})? Or" if near else ""
            return Check(DEAD_LETTER, False, f"There is no queue at {url} ({{dead_letter_queue_url}}).",
                         f"Check {{dead_letter_queue_url}}:{guess} copy the URL from the SQS console, or {{remove the key|empty it}} "
                         "to keep given-up messages in the local ledger.", suggestion=near)
        return _aws_failure(probe, DEAD_LETTER, exc, "sqs:SendMessage", arn, permissions.DEAD_LETTER_ACTIONS)
    except BotoCoreError as exc:
        return _aws_failure(probe, DEAD_LETTER, exc, "sqs:SendMessage", arn, permissions.DEAD_LETTER_ACTIONS)
    return Check(DEAD_LETTER, True, f"{queue_name(url)}: sending is allowed (this server accepted the test message, "
                 "with a 15-minute delay; it is marked as the doctor's).")


def _folder(probe: _Probe) -> Check:
    folder = Path(probe.config.download_folder)
    existing = folder
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        return Check(FOLDER, False, f"{existing} is a file, not a folder.", "Choose another download folder.")
    try:
        free = shutil.disk_usage(existing).free
    except OSError as exc:
        return Check(FOLDER, False, f"Cannot reach {existing} ({exc.strerror or exc}).",
                     "Plug the drive in or connect the share, or choose another download folder.")
    if existing != folder:
        if not os.access(existing, os.W_OK | os.X_OK):
            return Check(FOLDER, False, f"{folder} does not exist, and it cannot be created in {existing} (permission denied).",
                         "Choose a folder in your home folder, or give your user write permission there.")
        state = "will be created when the agent starts"
    else:
        try:
            fd, name = tempfile.mkstemp(dir=folder, prefix=f".s3-sqs-agent-doctor-{uuid.uuid4().hex[:8]}-")
            os.close(fd)
            os.unlink(name)
        except OSError as exc:
            return Check(FOLDER, False, f"Cannot write to {folder} ({exc.strerror or exc}).",
                         "Give your user write permission to the folder, or choose another download folder.")
        state = "writable"
    if free < LOW_SPACE_BYTES:
        return Check(FOLDER, False, f"{folder}: {state}, but only {_size(free)} free.",
                     "Free some space on that disk, or choose a folder on another disk.")
    return Check(FOLDER, True, f"{folder}: {state}; {_size(free)} free.")


_CLOCK_FIX = ("set the date and time automatically (Windows: Settings, Time & language; macOS: System Settings, General, "
              "Date & Time; Linux: timedatectl set-ntp true).")


def _clock(probe: _Probe) -> Check:
    if probe.unreachable:
        return _skipped(CLOCK, "the endpoint cannot be reached")
    if probe.server_date is None:
        with contextlib.suppress(Exception):  # an unsigned request: whatever it answers, its Date header is enough
            probe.watch(aws.make_client(aws.make_session(probe.config), "sts", probe.config.endpoint_url,
                                        aws.CLIENT_SETTINGS.merge(BotoConfig(signature_version=UNSIGNED)))).get_caller_identity()
    if probe.server_date is None or probe.local_date is None:
        return Check(CLOCK, None, "Not checked: the endpoint sent no Date header.")
    skew = (probe.local_date - probe.server_date).total_seconds()
    if abs(skew) > SKEW_LIMIT_SECONDS:
        return Check(CLOCK, False, f"This computer's clock is {_duration(abs(skew))} {'fast' if skew > 0 else 'slow'} "
                     "compared with the endpoint's; AWS refuses requests signed more than 15 minutes off.",
                     _CLOCK_FIX[0].upper() + _CLOCK_FIX[1:])
    if abs(skew) > SKEW_WARNING_SECONDS:
        return Check(CLOCK, True, f"{_duration(abs(skew))} {'fast' if skew > 0 else 'slow'}: within what AWS accepts, "
                     "but setting the time automatically would be wise.")
    return Check(CLOCK, True, "In step with the endpoint's (within a minute).")


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    for unit, size in (("day", 86_400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = round(seconds / size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} s"


def _size(count: int) -> str:
    value = float(count)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"


MARKS = {True: "ok  ", False: "FAIL", None: "--  "}


def terminal_width(stream: Any = None) -> int | None:
    """The width a terminal's lines wrap to (its columns), or None when `stream` (stdout) is not a terminal."""
    stream = stream if stream is not None else sys.stdout
    if not getattr(stream, "isatty", lambda: False)():
        return None
    return shutil.get_terminal_size().columns


def format_check(check: Check, width: int | None = None) -> str:
    """A check as the terminal shows it: one line, then for a failure the fix and the policy statement, indented.
    With `width` (a terminal's), the first two wrap at words, their next lines indented under their text."""
    import json
    import textwrap

    def wrapped(text: str, indent: int) -> str:
        if width is None:
            return text
        return "\n".join(textwrap.fill(line, max(width - 1, 40), subsequent_indent=" " * indent, break_long_words=False,
                                       break_on_hyphens=False) for line in text.split("\n"))

    lines = [wrapped(f"{MARKS[check.passed]}  {check.name}: {check.detail}", 6)]
    if check.passed is False and check.fix:
        lines.append(wrapped(f"      Fix: {check.fix}", 11))
    if check.policy is not None:
        lines.append("      Policy statement to send to your AWS administrator:")
        lines.extend(f"        {line}" for line in json.dumps(check.policy, indent=2).splitlines())
    return "\n".join(lines)


def summary(checks: list[Check]) -> str:
    passed = sum(1 for c in checks if c.passed is True)
    failed = sum(1 for c in checks if c.passed is False)
    other = len(checks) - passed - failed
    return f"{passed} passed, {failed} failed, {other} not checked."
