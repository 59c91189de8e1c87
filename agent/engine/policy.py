"""What becomes of a message once it was handled: delete, release for a retry, give up (dead-letter), or hold all downloads.

Pure: no I/O, no clock, no threads. The consumer (agent/engine/consumer.py) carries the decision out; the shared hold
and brownout state it consults lives in agent/engine/hold.py.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass

from agent.config import Config
from agent.engine.retry import Backoff, Failure, Kind
from agent.errors import OfflineError


class Action(enum.Enum):
    DELETE = "delete"
    """Done, or nothing to do: delete the message."""
    RELEASE = "release"
    """Hand the message back to the queue, visible again after `Decision.delay` (a retry; 0 s when shutting down)."""
    DEAD_LETTER = "dead-letter"
    """Give the message up, to `Decision.disposal`, with `Decision.reason`."""
    HOLD = "hold"
    """Hold every download (the user must fix something, or the server is down); release this message for later."""


class Disposal(enum.Enum):
    """Where a message that was given up goes. The value is what the log and the events say."""

    DEAD_LETTER_QUEUE = "sent to the dead-letter queue"
    REDRIVE = "left to the queue's redrive policy"
    LEDGER = "kept in the local ledger (retry with 's3-sqs-agent failed retry')"

    @property
    def deletes(self) -> bool:
        """The message leaves the queue once given up (the queue's own redrive policy needs it to stay)."""
        return self is not Disposal.REDRIVE


@dataclass(frozen=True)
class Rules:
    """The settings a decision depends on."""

    max_attempts: int
    backoff: Backoff
    dead_letter_queue: bool = False  # the config names a dead-letter queue
    redrive_policy: bool = False  # the queue has a redrive policy of its own

    @classmethod
    def of(cls, config: Config, *, dead_letter_queue: bool, redrive_policy: bool) -> Rules:
        return cls(config.max_attempts, Backoff(config.retry_base_seconds, config.retry_max_seconds), dead_letter_queue, redrive_policy)


@dataclass(frozen=True)
class Decision:
    action: Action
    failure: Failure | None = None
    """What went wrong, as the decision saw it (a brownout turns a busy server into a wait); None for a success."""
    attempt: int = 1
    delay: float = 0.0
    """RELEASE, and DEAD_LETTER to a redrive policy: seconds until the message is visible again."""
    disposal: Disposal | None = None
    reason: str = ""
    """DEAD_LETTER: why the message was given up, as logged and sent with it."""

    @property
    def visibility(self) -> int:
        """The delay in the whole seconds SQS takes."""
        return Backoff.visibility(self.delay)


DONE = Decision(Action.DELETE)
SHUTTING_DOWN = Decision(Action.RELEASE)  # a download aborted by the shutdown: visible again at once for the next run


def attempt_number(receive_count: int, unspent: int) -> int:
    """Which attempt this receipt is: receipts that came back while downloads were held count for nothing."""
    return max(1, receive_count - unspent)


def brownout_failure(failure: Failure) -> Failure:
    """A server error that, with others at once, is a brownout: a wait for the server, no attempt spent."""
    return Failure(Kind.WAIT, failure.reason, OfflineError(
        f"The server is failing requests for many files at once ({failure.reason}). Holding downloads and "
        "retrying by itself; no attempts are counted meanwhile."))


def decide(failure: Failure | None, attempt: int, rules: Rules, *, brownout: bool = False, rng: random.Random | None = None) -> Decision:
    """The fate of a message whose handling ended with `failure` (None: every object in it is done).

    `brownout`: the hold state counts this failure among several objects failing with the server's own errors at once.
    """
    if failure is None:
        return DONE
    if failure.server_busy and brownout:
        failure = brownout_failure(failure)
    if failure.kind is Kind.WAIT:
        return Decision(Action.HOLD, failure, attempt)
    if failure.kind is Kind.SUPERSEDED:  # a newer notification brings the object
        return Decision(Action.DELETE, failure, attempt)
    if failure.kind is Kind.ARCHIVED:
        return archived(failure, attempt)
    if failure.kind is Kind.RETRY and attempt < rules.max_attempts:
        return Decision(Action.RELEASE, failure, attempt, delay=rules.backoff.delay(attempt, rng))
    reason = failure.reason if failure.kind is Kind.GIVE_UP else f"gave up after {attempt} attempts: {failure.reason}"
    if rules.dead_letter_queue:
        return Decision(Action.DEAD_LETTER, failure, attempt, disposal=Disposal.DEAD_LETTER_QUEUE, reason=reason)
    if rules.redrive_policy:  # released with a backoff; the queue moves it once its receive count is reached
        return Decision(Action.DEAD_LETTER, failure, attempt, delay=rules.backoff.delay(attempt, rng), disposal=Disposal.REDRIVE, reason=reason)
    return Decision(Action.DEAD_LETTER, failure, attempt, disposal=Disposal.LEDGER, reason=reason)


def archived(failure: Failure, attempt: int) -> Decision:
    """An archived object that will not be restored (restore_archived is off, or S3 refused): kept in the ledger,
    where `failed list` shows it, whatever the dead-letter settings, since it waits for the user and not for a redrive.
    It spends no attempt: retrying cannot read it before a restore."""
    return Decision(Action.DEAD_LETTER, failure, attempt, disposal=Disposal.LEDGER, reason=failure.reason)


def gives_up_alone(rules: Rules) -> bool:
    """Whether one record of a message can be given up on its own: a dead-letter queue or the ledger takes a body of
    its own, while the queue's redrive policy can only move the whole message."""
    return rules.dead_letter_queue or not rules.redrive_policy


def undeliverable(failure: Failure, attempt: int) -> Decision:
    """Giving the message up failed (the dead-letter queue or the ledger could not take it): keep it, and hold."""
    return Decision(Action.HOLD, failure, attempt)
