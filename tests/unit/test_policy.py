"""The fate of a message, as a table: (failure, attempt, brownout, where give-ups go) -> what the consumer does."""

from __future__ import annotations

import random

import pytest

from agent import errors
from agent.config import parse
from agent.engine import policy
from agent.engine.policy import Action, Disposal, Rules
from agent.engine.retry import Backoff, Failure, Kind

BACKOFF = Backoff(base=2, maximum=60)
NOT_READY = Failure(Kind.RETRY, "the object is not readable yet (not found)")
BUSY = Failure(Kind.RETRY, "the server is busy (SlowDown)", server_busy=True)
BROKEN = Failure(Kind.RETRY, "the transfer broke off")
DENIED = Failure(Kind.WAIT, "Access denied", errors.AccessDeniedError("Access denied (403). Give these credentials s3:GetObject"))
MALFORMED = Failure(Kind.GIVE_UP, "the message is not in a format the agent knows")
CHANGED = Failure(Kind.SUPERSEDED, "the object changed after this notification was sent")
ARCHIVED = Failure(Kind.ARCHIVED, "take 07.wav is archived in Glacier Flexible Retrieval; restore it or set restore_archived")


def rules(*, dead_letter_queue: bool = False, redrive_policy: bool = False, max_attempts: int = 3) -> Rules:
    return Rules(max_attempts, BACKOFF, dead_letter_queue=dead_letter_queue, redrive_policy=redrive_policy)


@pytest.mark.parametrize(("failure", "attempt", "brownout", "settings", "action", "disposal"), [
    # success
    (None, 1, False, {}, Action.DELETE, None),
    (None, 5, True, {}, Action.DELETE, None),
    # a failed attempt: retried until the last attempt, then given up where the config says
    (NOT_READY, 1, False, {}, Action.RELEASE, None),
    (NOT_READY, 2, False, {}, Action.RELEASE, None),
    (NOT_READY, 3, False, {}, Action.DEAD_LETTER, Disposal.LEDGER),
    (NOT_READY, 9, False, {}, Action.DEAD_LETTER, Disposal.LEDGER),
    (BROKEN, 3, False, {"dead_letter_queue": True}, Action.DEAD_LETTER, Disposal.DEAD_LETTER_QUEUE),
    (BROKEN, 3, False, {"redrive_policy": True}, Action.DEAD_LETTER, Disposal.REDRIVE),
    (BROKEN, 3, False, {"dead_letter_queue": True, "redrive_policy": True}, Action.DEAD_LETTER, Disposal.DEAD_LETTER_QUEUE),
    (BROKEN, 1, False, {"max_attempts": 1}, Action.DEAD_LETTER, Disposal.LEDGER),
    # the server's own error: an attempt like any other, unless many objects get it at once (a brownout): then a hold
    (BUSY, 1, False, {}, Action.RELEASE, None),
    (BUSY, 3, False, {}, Action.DEAD_LETTER, Disposal.LEDGER),
    (BUSY, 1, True, {}, Action.HOLD, None),
    (BUSY, 9, True, {}, Action.HOLD, None),
    (NOT_READY, 1, True, {}, Action.RELEASE, None),  # a brownout excuses only the server's own errors
    (NOT_READY, 3, True, {}, Action.DEAD_LETTER, Disposal.LEDGER),
    # something the user must fix, or offline: a hold, whatever the attempt
    (DENIED, 1, False, {}, Action.HOLD, None),
    (DENIED, 99, False, {"dead_letter_queue": True}, Action.HOLD, None),
    # retrying can never help: given up at the first attempt
    (MALFORMED, 1, False, {}, Action.DEAD_LETTER, Disposal.LEDGER),
    (MALFORMED, 1, False, {"dead_letter_queue": True}, Action.DEAD_LETTER, Disposal.DEAD_LETTER_QUEUE),
    (MALFORMED, 1, True, {"redrive_policy": True}, Action.DEAD_LETTER, Disposal.REDRIVE),
    # superseded: a newer notification brings the object
    (CHANGED, 1, False, {}, Action.DELETE, None),
    (CHANGED, 9, True, {"dead_letter_queue": True}, Action.DELETE, None),
    # archived: no attempt can read it; it waits for the user in the ledger, wherever other give-ups go
    (ARCHIVED, 1, False, {}, Action.DEAD_LETTER, Disposal.LEDGER),
    (ARCHIVED, 1, False, {"dead_letter_queue": True}, Action.DEAD_LETTER, Disposal.LEDGER),
    (ARCHIVED, 1, True, {"redrive_policy": True}, Action.DEAD_LETTER, Disposal.LEDGER),
])
def test_decide(failure: Failure | None, attempt: int, brownout: bool, settings: dict[str, bool], action: Action,
                disposal: Disposal | None) -> None:
    decision = policy.decide(failure, attempt, rules(**settings), brownout=brownout, rng=random.Random(1))
    assert decision.action is action
    assert decision.disposal is disposal


def test_a_retry_waits_for_the_backoff_of_its_attempt() -> None:
    for attempt, ceiling in [(1, 2), (2, 4), (3, 8), (4, 16)]:
        decision = policy.decide(BROKEN, attempt, rules(max_attempts=10), rng=random.Random(attempt))
        assert ceiling / 2 <= decision.delay <= ceiling
        assert decision.visibility == Backoff.visibility(decision.delay)
        assert decision.attempt == attempt and decision.failure is BROKEN


def test_a_redrive_give_up_is_released_with_a_backoff_and_stays_on_the_queue() -> None:
    decision = policy.decide(BROKEN, 3, rules(redrive_policy=True), rng=random.Random(3))
    assert 4 <= decision.delay <= 8
    assert not Disposal.REDRIVE.deletes
    assert Disposal.LEDGER.deletes and Disposal.DEAD_LETTER_QUEUE.deletes


def test_the_reason_given_up_says_how_many_attempts_unless_retrying_could_never_help() -> None:
    assert policy.decide(NOT_READY, 3, rules()).reason == "gave up after 3 attempts: the object is not readable yet (not found)"
    assert policy.decide(MALFORMED, 1, rules()).reason == "the message is not in a format the agent knows"


def test_a_brownout_is_the_servers_fault_and_says_no_attempts_are_counted() -> None:
    decision = policy.decide(BUSY, 1, rules(), brownout=True)
    assert decision.failure is not None and decision.failure.kind is Kind.WAIT
    assert isinstance(decision.failure.error, errors.OfflineError)
    assert "SlowDown" in str(decision.failure.error) and "no attempts are counted" in str(decision.failure.error)


def test_a_give_up_that_cannot_be_delivered_holds_instead_of_losing_the_message() -> None:
    decision = policy.undeliverable(Failure(Kind.WAIT, "offline", errors.OfflineError("Cannot reach the endpoint")), 3)
    assert decision.action is Action.HOLD and decision.attempt == 3


@pytest.mark.parametrize(("receive_count", "unspent", "attempt"), [(1, 0, 1), (4, 0, 4), (4, 3, 1), (4, 5, 1), (7, 2, 5)])
def test_receipts_that_came_back_during_a_hold_spend_no_attempt(receive_count: int, unspent: int, attempt: int) -> None:
    assert policy.attempt_number(receive_count, unspent) == attempt


def test_the_rules_follow_the_config() -> None:
    config = parse("sqs_queue_url: https://sqs.eu-west-1.amazonaws.com/123456789012/q\ndownload_folder: /tmp/x\n"
                   "max_attempts: 4\nretry_base_seconds: 3\nretry_max_seconds: 30\n")
    made = Rules.of(config, dead_letter_queue=True, redrive_policy=False)
    assert made == Rules(4, Backoff(3, 30), dead_letter_queue=True, redrive_policy=False)


def test_an_archived_object_keeps_its_reason_and_spends_no_attempt() -> None:
    decision = policy.decide(ARCHIVED, 1, rules(max_attempts=6))
    assert decision.reason == ARCHIVED.reason and "gave up after" not in decision.reason


@pytest.mark.parametrize(("settings", "alone"), [
    ({}, True), ({"dead_letter_queue": True}, True), ({"dead_letter_queue": True, "redrive_policy": True}, True),
    ({"redrive_policy": True}, False),  # only the whole message can be left to the queue's redrive policy
])
def test_which_give_ups_can_take_one_record_alone(settings: dict[str, bool], alone: bool) -> None:
    assert policy.gives_up_alone(rules(**settings)) is alone
