"""The hold on all downloads (offline, or a problem the user must fix) and the brownout count, behind one lock.

Shared by the receiver and every worker. The clock is injected, so the back-off and the brownout's grace period
can be tested without waiting.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from agent.engine.retry import Failure
from agent.errors import NeedsUserError, OfflineError

HOLD_MAX_SECONDS = 60.0
# A brownout: this many different objects failed with the server's own errors (5xx, throttling) and none succeeded
# since. The server is at fault, not the objects: hold everything, as when offline, and count no attempts, for up to
# BROWNOUT_GRACE_SECONDS; past that, attempts count again, so a few objects that always fail still get given up.
BROWNOUT_OBJECTS = 3
BROWNOUT_GRACE_SECONDS = 1800.0


class Source(enum.Enum):
    """What failed, and so which kind of success ends the hold."""

    RECEIVE = "receive"
    DOWNLOAD = "download"


@dataclass(frozen=True)
class Held:
    """The hold just (re)started: for `delay` seconds, because of `problem`."""

    delay: float
    problem: NeedsUserError
    new: bool  # not the problem held for before: worth telling the user


class HoldState:
    """When the next receive may happen, why not sooner, and which objects the server has been failing."""

    def __init__(self, base_seconds: float, max_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._base = base_seconds
        self._max = max_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._until = 0.0
        self._delay = 0.0
        self._problem: NeedsUserError | None = None
        self._source: Source | None = None
        self._busy_objects: set[str] = set()  # objects that failed with the server's own errors since the last success
        self._busy_since = 0.0
        self._unspent: dict[str, int] = {}  # message id -> its receipts that came back while held (no attempt spent)

    # ------------------------------------------------------------ the hold

    @property
    def problem(self) -> NeedsUserError | None:
        return self._problem


    @property
    def offline(self) -> bool:
        return isinstance(self._problem, OfflineError)

    def remaining(self) -> float:
        """Seconds until the hold ends (0 when there is none)."""
        return max(0.0, self._until - self._clock())

    def hold(self, failure: Failure, source: Source) -> Held:
        """Back off all receiving and downloading: each hold in a row waits twice as long, up to a minute."""
        with self._lock:
            self._delay = min(HOLD_MAX_SECONDS, self._max, max(self._base, self._delay * 2 or self._base))
            delay = max(self._delay, 1.0)
            self._until = self._clock() + delay
            problem = failure.error
            if problem is None:  # a broken connection or a busy server: nothing for the user to fix
                problem = OfflineError(f"The server is not answering as it should ({failure.reason}). Retrying by itself.")
            new = self._problem is None or str(self._problem) != str(problem)
            self._problem, self._source = problem, source
            return Held(delay, problem, new)

    def retry_now(self) -> None:
        """End the wait (the user fixed something): the next receive goes now; the problem stays until one works."""
        with self._lock:
            self._delay = self._until = 0.0

    def receive_answered(self) -> NeedsUserError | None:
        """The queue answered: that ends being offline, and a receive's own problem. Returns the problem it ended."""
        if self._problem is None:  # unlocked read: every receive passes here
            return None
        with self._lock:
            if self.offline or self._source is Source.RECEIVE:
                return self._clear()
            return None

    def download_succeeded(self, message_id: str) -> NeedsUserError | None:
        """A message's objects all arrived: the server is not browning out, and a download's problem is over.
        Returns the problem it ended."""
        if self._problem is None and not self._busy_objects and not self._unspent:  # unlocked: every message passes here
            return None
        with self._lock:
            self._unspent.pop(message_id, None)
            self._busy_objects.clear()
            return self._clear() if self._problem is not None and self._source is Source.DOWNLOAD else None

    def _clear(self) -> NeedsUserError | None:
        problem, self._problem, self._source = self._problem, None, None
        self._delay = self._until = 0.0
        return problem

    # ------------------------------------------------------------ attempts and the brownout

    def server_error(self, what: str) -> bool:
        """Note that the server itself failed `what` (an object or a message); True while such failures add up to a
        brownout (see BROWNOUT_OBJECTS)."""
        now = self._clock()
        with self._lock:
            if not self._busy_objects:
                self._busy_since = now
            self._busy_objects.add(what)
            return len(self._busy_objects) >= BROWNOUT_OBJECTS and now - self._busy_since < BROWNOUT_GRACE_SECONDS

    def unspent(self, message_id: str) -> int:
        """How many of this message's receipts spent no attempt."""
        with self._lock:
            return self._unspent.get(message_id, 0)

    def spare_attempt(self, message_id: str) -> None:
        """This receipt of the message came back because of a hold: it spends no attempt."""
        with self._lock:
            self._unspent[message_id] = self._unspent.get(message_id, 0) + 1

    def forget(self, message_id: str) -> None:
        """The message left the queue."""
        if self._unspent:
            with self._lock:
                self._unspent.pop(message_id, None)
