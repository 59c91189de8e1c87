"""The agent's errors, written for the person who has to act on them."""

from __future__ import annotations


class AgentError(Exception):
    """Base of every error the agent reports to a user. `str()` says what is wrong and what to do."""

    #: A short title, for a notification or a dialog.
    title = "S3 SQS Agent error"


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
    """The endpoint cannot be reached. The agent retries by itself."""

    title = "Offline"


class SignInError(AgentError):
    """An IAM Identity Center (SSO) sign-in did not complete."""

    title = "Sign-in failed"


class SignInCancelled(SignInError):
    title = "Sign-in cancelled"
