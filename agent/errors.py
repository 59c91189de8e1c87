"""The agent's errors, written for the person who has to act on them, in the words of where they read them.

A text that names a setting writes it as `{key}` (`"Check {sqs_queue_url}"`); each front end renders it its way: the
terminal, the log and `doctor` name the config key (`Check sqs_queue_url`), the windows, notices and the tray menu
name the window, section and field (`Check Settings → Account → Queue URL`). So every failure is written once, in
one place, and has both forms."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Place:
    """Where a person changes a setting: the window, its section, and the field's label there."""

    window: str
    section: str
    field: str

    def __str__(self) -> str:
        return f"{self.window} → {self.section} → {self.field}"


def _settings(section: str, fields: Mapping[str, str]) -> dict[str, Place]:
    return {key: Place("Settings", section, label) for key, label in fields.items()}


PLACES: dict[str, Place] = {
    **_settings("General", {"download_folder": "Download folder", "keep_prefixes": "Keep the key's folders"}),
    **_settings("Account", {"aws_profile": "AWS profile", "sqs_queue_url": "Queue URL", "s3_bucket_name": "Bucket",
                            "aws_region": "Region", "endpoint_url": "Endpoint", "s3_endpoint_url": "S3 endpoint",
                            "sqs_endpoint_url": "SQS endpoint"}),
    **_settings("Downloads", {"concurrency": "Parallel downloads", "max_bandwidth": "Bandwidth limit",
                              "include": "Only download", "exclude": "Never download"}),
    **_settings("Failures", {"max_attempts": "Attempts before giving up", "retry_base_seconds": "First retry after (seconds)",
                             "retry_max_seconds": "Longest wait between retries (seconds)",
                             "dead_letter_queue_url": "Dead-letter queue", "restore_archived": "Archived files (Glacier)",
                             "restore_archived.tier": "Archived files (Glacier)",
                             "restore_archived.days": "Keep the restored copy for (days)"}),
    **_settings("Notifications", {"notifications": "Show notifications", "notifications.enabled": "Show notifications",
                                  "notifications.downloads": "Downloaded files, in batches",
                                  "notifications.per_file": "Every downloaded file on its own",
                                  "notifications.retries": "Files that are not ready yet",
                                  "notifications.failures": "Files that could not be downloaded",
                                  "notifications.errors": "Problems you must fix"}),
}
"""Each config key and where the Settings window shows it (its sections and labels; tests/unit/test_wording.py holds
this to the config's table, agent/config/schema.py). The plugins have a page of their own."""

_SETTING = re.compile(r"\{(" + "|".join(map(re.escape, PLACES)) + r")\}")
_EITHER = re.compile(r"\{([^{}|]*)\|([^{}|]*)\}")
"""`{terminal words|window words}`: where the two forms need other words ("Remove aws_region from the config" and
"Clear Settings → Account → Region")."""


def for_terminal(text: str) -> str:
    """`text` with each `{key}` written as the config key: for the terminal, the log and the YAML file's readers."""
    return _SETTING.sub(lambda match: match.group(1), _EITHER.sub(lambda match: match.group(1), text))


def for_window(text: str, places: Mapping[str, object] | None = None) -> str:
    """`text` with each `{key}` written as where a person changes it (Settings → Account → Queue URL), or as
    `places` names it (a window with fields of its own, such as Setup)."""
    where: Mapping[str, object] = {**PLACES, **(places or {})}
    return _SETTING.sub(lambda match: str(where[match.group(1)]), _EITHER.sub(lambda match: match.group(2), text))


def window_text(error: BaseException) -> str:
    """What a window, a notice or the tray menu says for `error` (see for_window)."""
    return for_window(str(error.args[0])) if isinstance(error, AgentError) and error.args else str(error)


class AgentError(Exception):
    """Base of every error the agent reports to a user. `str()` says what is wrong and what to do (config keys named
    as in the file); `window_text(error)` says it for a window or a notice. The message may name settings as `{key}`."""

    #: A short title, for a notification or a dialog.
    title = "S3 SQS Agent error"

    def __str__(self) -> str:
        return for_terminal(str(self.args[0])) if len(self.args) == 1 else super().__str__()


class ConfigError(AgentError):
    """The config file cannot be used. Holds every problem found, each naming the file, line and key."""

    title = "Config file has errors"

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class ConfigProblem:
    """One problem in a config file: where it is and what was expected."""

    def __init__(self, file: str, message: str, key: str | None = None, line: int | None = None) -> None:
        self.file, self.key, self.line, self.message = file, key, line, message

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        what = f"{self.key}: " if self.key else ""
        return f"{where}: {what}{self.message}"

    def __repr__(self) -> str:
        return f"ConfigProblem({str(self)!r})"


class LedgerError(AgentError):
    """The ledger (the agent's local record of downloads) cannot be opened."""

    title = "S3 SQS Agent cannot open its ledger"


class NeedsUserError(AgentError):
    """A condition the user must fix. Messages are kept safe while it lasts; the agent backs off and retries."""

    title = "S3 SQS Agent needs attention"


class CredentialsError(NeedsUserError):
    title = "AWS credentials problem"


class CredentialsExpiredError(CredentialsError):
    """Temporary credentials ran out: they must be renewed by whoever issued them."""

    title = "AWS credentials expired"


class SignInExpiredError(CredentialsExpiredError):
    """The IAM Identity Center (SSO) sign-in ended: signing in again (the device flow) renews it."""

    title = "AWS sign-in expired"


class AccessDeniedError(NeedsUserError):
    title = "Access denied"


class NotFoundError(NeedsUserError):
    """A bucket or queue that the config names does not exist."""

    title = "Bucket or queue not found"


class QueueNotFoundError(NotFoundError):
    title = "Queue not found"


class BucketNotFoundError(NotFoundError):
    title = "Bucket not found"


class ProfileNotFoundError(CredentialsError):
    """The config names an AWS profile this computer does not have (a typo, a case mistake, another computer's).
    `nearest`: the existing profile it was most likely meant to be."""

    title = "AWS profile not found"

    def __init__(self, name: str, nearest: str | None = None) -> None:
        self.name, self.nearest = name, nearest
        self.did_you_mean = did_you_mean_profile(name, nearest)
        guess = f" {self.did_you_mean}" if nearest else ""
        super().__init__(f"There is no AWS profile called {name!r} in ~/.aws/config or ~/.aws/credentials.{guess} "
                         "Choose another in {aws_profile}, or run `s3-sqs-agent setup`.")


def did_you_mean_profile(name: str, nearest: str | None) -> str:
    """"Did you mean 'Studio'?" (and, for a case mistake, that names are case-sensitive); "" when none is near."""
    if not nearest:
        return ""
    case = " Profile names are case-sensitive." if nearest.casefold() == name.casefold() else ""
    return f"Did you mean {nearest!r}?{case}"


class DiskFullError(NeedsUserError):
    title = "Disk full"


class LedgerWriteError(NeedsUserError):
    """The ledger cannot record a change (a failing disk, a locked or damaged file): messages wait on the queue."""

    title = "S3 SQS Agent cannot write its ledger"


class FolderNotWritableError(NeedsUserError):
    title = "Download folder not writable"


class FolderMissingError(NeedsUserError):
    """The download folder is gone, or is no longer the disk it was (an unplugged drive, an unmounted share)."""

    title = "Download folder missing"


class OfflineError(NeedsUserError):
    """The endpoint cannot be reached. The agent retries by itself. `endpoint`: the URL that could not be reached."""

    title = "Offline"

    def __init__(self, message: str, endpoint: str | None = None) -> None:
        super().__init__(message)
        self.endpoint = endpoint


class SignInError(AgentError):
    """An IAM Identity Center (SSO) sign-in did not complete."""

    title = "Sign-in failed"


class SignInCancelled(SignInError):
    title = "Sign-in cancelled"
