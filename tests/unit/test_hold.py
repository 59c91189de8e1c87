"""The hold on all downloads and the brownout count, on a clock the test turns by hand."""

from __future__ import annotations

import threading

from agent import errors
from agent.engine.hold import BROWNOUT_GRACE_SECONDS, BROWNOUT_OBJECTS, HOLD_MAX_SECONDS, HoldState, Source
from agent.engine.retry import Failure, Kind

DENIED = Failure(Kind.WAIT, "Access denied", errors.AccessDeniedError("Access denied (403). Give these credentials s3:GetObject"))
OFFLINE = Failure(Kind.WAIT, "Cannot reach", errors.OfflineError("Cannot reach the endpoint. Retrying by itself."))
BROKEN = Failure(Kind.RETRY, "the transfer broke off")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def state(base: float = 2, maximum: float = 300) -> tuple[HoldState, Clock]:
    clock = Clock()
    return HoldState(base, maximum, clock), clock


def test_holds_in_a_row_double_up_to_a_minute_and_end_on_their_own() -> None:
    hold, clock = state()
    assert hold.remaining() == 0 and hold.problem is None
    delays = [hold.hold(OFFLINE, Source.RECEIVE).delay for _ in range(8)]
    assert delays == [2, 4, 8, 16, 32, 60, 60, 60]
    assert hold.remaining() == 60
    clock.now += 59
    assert hold.remaining() == 1
    clock.now += 5
    assert hold.remaining() == 0
    assert hold.problem is not None  # the problem stays until a success shows it is over


def test_the_hold_never_exceeds_the_configured_maximum_and_is_never_shorter_than_a_second() -> None:
    hold, _ = state(base=0.1, maximum=5)
    delays = [hold.hold(OFFLINE, Source.RECEIVE).delay for _ in range(8)]
    assert delays[0] == 1.0 and max(delays) == 5 and max(delays) < HOLD_MAX_SECONDS


def test_the_user_is_told_once_per_problem() -> None:
    hold, _ = state()
    assert hold.hold(DENIED, Source.DOWNLOAD).new
    assert not hold.hold(DENIED, Source.DOWNLOAD).new
    assert hold.hold(OFFLINE, Source.RECEIVE).new
    held = hold.hold(BROKEN, Source.RECEIVE)  # nothing for the user to fix: said to be offline, in plain words
    assert held.new and isinstance(held.problem, errors.OfflineError) and "the transfer broke off" in str(held.problem)


def test_a_receive_ends_being_offline_and_its_own_problems_but_not_a_downloads() -> None:
    hold, _ = state()
    hold.hold(DENIED, Source.DOWNLOAD)
    assert hold.receive_answered() is None and hold.problem is not None  # the queue answering says nothing of S3 access
    assert hold.download_succeeded("m1") is DENIED.error and hold.problem is None
    hold.hold(OFFLINE, Source.DOWNLOAD)
    assert hold.offline and hold.receive_answered() is OFFLINE.error  # the endpoint answers again
    hold.hold(DENIED, Source.RECEIVE)
    assert hold.download_succeeded("m2") is None and hold.problem is DENIED.error
    assert hold.receive_answered() is DENIED.error and hold.problem is None and hold.remaining() == 0


def test_after_a_success_the_next_hold_starts_short_again() -> None:
    hold, _ = state()
    for _ in range(4):
        hold.hold(OFFLINE, Source.RECEIVE)
    hold.receive_answered()
    assert hold.hold(OFFLINE, Source.RECEIVE).delay == 2


def test_a_brownout_takes_several_objects_and_ends_with_one_success() -> None:
    hold, _ = state()
    assert [hold.server_error(f"take {i}.wav") for i in range(BROWNOUT_OBJECTS)] == [False] * (BROWNOUT_OBJECTS - 1) + [True]
    hold.download_succeeded("m1")
    assert not hold.server_error("take 9.wav")


def test_one_object_failing_again_and_again_is_not_a_brownout() -> None:
    hold, _ = state()
    assert not any(hold.server_error("take 1.wav") for _ in range(20))


def test_a_brownout_that_lasts_past_its_grace_period_spends_attempts_again() -> None:
    hold, clock = state()
    for i in range(BROWNOUT_OBJECTS):
        hold.server_error(f"take {i}.wav")
    clock.now += BROWNOUT_GRACE_SECONDS - 1
    assert hold.server_error("take 0.wav")
    clock.now += 2
    assert not hold.server_error("take 0.wav")


def test_receipts_spared_during_a_hold_are_counted_per_message_and_forgotten_when_it_leaves() -> None:
    hold, _ = state()
    for _ in range(3):
        hold.spare_attempt("m1")
    hold.spare_attempt("m2")
    assert (hold.unspent("m1"), hold.unspent("m2"), hold.unspent("m3")) == (3, 1, 0)
    hold.download_succeeded("m1")
    hold.forget("m2")
    assert (hold.unspent("m1"), hold.unspent("m2")) == (0, 0)


def test_workers_noting_server_errors_at_once_count_each_object_once() -> None:
    hold, _ = state()
    results: list[bool] = []
    lock = threading.Lock()

    def fail(index: int) -> None:
        for repeat in range(200):
            brownout = hold.server_error(f"object {index}")
            with lock:
                results.append(brownout)
            if repeat == 0:
                hold.spare_attempt(f"m{index}")

    threads = [threading.Thread(target=fail, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results[-1] and sum(hold.unspent(f"m{i}") for i in range(8)) == 8
