"""The checks behind `s3-sqs-agent doctor` and the setup window: each passed or failed, with the fix in plain words."""

from __future__ import annotations

from collections.abc import Callable

from agent.aws.doctor.bucket import check_bucket
from agent.aws.doctor.check import (
    BUCKET,
    CLOCK,
    CONFIG,
    CREDENTIALS_CHECK,
    DEAD_LETTER,
    DELETE,
    FOLDER,
    NAMES,
    QUEUE,
    RECEIVE,
    Check,
)
from agent.aws.doctor.credentials import check_credentials
from agent.aws.doctor.local import check_clock, check_config, check_folder
from agent.aws.doctor.probe import Probe
from agent.aws.doctor.queues import check_dead_letter, check_delete, check_queue, check_receive
from agent.aws.doctor.report import MARKS, format_check, summary, terminal_width
from agent.config import Config

__all__ = ["BUCKET", "CLOCK", "CONFIG", "CREDENTIALS_CHECK", "DEAD_LETTER", "DELETE", "FOLDER", "MARKS", "NAMES", "QUEUE",
           "RECEIVE", "Check", "format_check", "run_checks", "summary", "terminal_width"]

CHECKS = (check_config, check_credentials, check_queue, check_receive, check_delete, check_bucket, check_dead_letter,
          check_folder, check_clock)
"""The checks, in the order of NAMES."""


def run_checks(config: Config, on_result: Callable[[Check], None] | None = None, sample_key: str | None = None) -> list[Check]:
    """Run every check in order (see NAMES); `on_result` gets each one as soon as it is known.

    Nothing here changes the queue, the bucket or the folder: receiving is tried only while the queue shows no
    visible message, deleting and dead-lettering are tried with requests SQS refuses after authorizing them.
    `sample_key`: an object known to be in the bucket (the last download, say), to prove s3:GetObject without a
    listing permission. A failure for a missing permission carries the statement an administrator must grant: the
    whole set the agent needs on that resource, so that one request to the administrator is enough."""
    probe = Probe(config, sample_key)
    results: list[Check] = []
    for name, check in zip(NAMES, CHECKS, strict=True):
        try:
            result = check(probe)
        except Exception as exc:  # noqa: BLE001 - one broken check must not hide the others
            result = Check(name, False, f"The check itself failed: {type(exc).__name__}: {exc}",
                           "Run the checks again; if this repeats, report it with the text above.")
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results
