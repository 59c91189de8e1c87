"""What the consumer holds: the messages received and not yet deleted or released, the ledger rows of their files, the
visibility heartbeat that keeps them hidden while they download, and their release back to the queue."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from agent.engine.ledger import BatchLost, Ledger
from agent.engine.sqs import Message, Queue, QueueInfo

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 1.0  # the longest the heartbeat sleeps between looks at what is due


class InFlight:
    """The held messages, behind one lock. `on_room()` is called whenever a message leaves (deleted or released)."""

    def __init__(self, queue: Queue, ledger: Ledger, info: QueueInfo, on_room: Callable[[], None]) -> None:
        self.queue = queue
        self.ledger = ledger
        self.info = info  # read at each beat: the queue's settings can be learnt late (Consumer sets it then)
        self._on_room = on_room
        self._tracked: dict[str, Message] = {}
        self._rows: dict[str, range] = {}  # message id -> the ledger batches holding its files' rows, until it is deleted
        self._lock = threading.Lock()
        self._visibility_lock = threading.Lock()  # a release's visibility change never overtakes a heartbeat's
        self._closed = threading.Event()
        self._heartbeat: threading.Thread | None = None

    def __len__(self) -> int:
        with self._lock:
            return len(self._tracked)

    def track(self, messages: Iterable[Message], keep: Callable[[], bool]) -> bool:
        """Hold `messages` if `keep()` says so, under the lock that `held()` (the stop's last look) takes too: each
        message is either held here or left to the caller to release. Returns keep()'s answer."""
        with self._lock:
            if not keep():
                return False
            for message in messages:
                self._tracked[message.message_id] = message
            return True

    def held(self) -> list[Message]:
        with self._lock:
            return list(self._tracked.values())

    def note_rows(self, message: Message, rows: range) -> None:
        """The ledger batches holding the rows of the message's files: they are committed before it is deleted."""
        if rows:
            with self._lock:
                self._rows[message.message_id] = rows

    def durable(self, batch: list[Message], backoff: Callable[[Message], int]) -> list[Message]:
        """The messages of a delete batch whose files the ledger has committed (committing them now, one transaction for
        the batch); a message whose rows could not be committed is not deleted: it is released after `backoff(message)`
        seconds, comes back and is handled again."""
        with self._lock:
            rows = [(message, self._rows.pop(message.message_id, range(0))) for message in batch]
        deletable = []
        for message, ledger_batch in rows:
            try:
                self.ledger.make_durable(ledger_batch)
            except BatchLost:
                self.release(message, backoff(message))
                continue
            deletable.append(message)
        return deletable

    def untrack(self, message: Message) -> None:
        with self._lock:
            self._tracked.pop(message.message_id, None)
            self._rows.pop(message.message_id, None)
        self._on_room()

    def release(self, message: Message, seconds: int = 0) -> None:
        """Hand a message back to the queue: visible again after `seconds` (0: at once). Untracked first, and after
        any heartbeat under way, so no heartbeat can set its visibility back to the whole timeout afterwards."""
        self.untrack(message)
        try:
            with self._visibility_lock:
                self.queue.change_visibility(message, seconds)
        except Exception as exc:  # noqa: BLE001 - best effort: the visibility timeout brings it back anyway
            log.debug("Could not release message %s (%s); it comes back when its visibility times out", message.message_id, exc)

    # ------------------------------------------------------------ the heartbeat

    def start_heartbeat(self, on_beat: Callable[[], None]) -> None:
        """Keep every held message hidden while it is handled; `on_beat()` runs at each beat (the progress log)."""
        self._heartbeat = threading.Thread(target=self._heartbeat_loop, args=(on_beat,), name="heartbeat", daemon=True)
        self._heartbeat.start()

    def close(self) -> None:
        """Stop the heartbeat."""
        self._closed.set()

    def _heartbeat_loop(self, on_beat: Callable[[], None]) -> None:
        """Extend the visibility of every message held, so a long download is never delivered twice."""
        while not self._closed.wait(min(HEARTBEAT_SECONDS, max(0.2, self.info.visibility_timeout / 6))):
            on_beat()
            self.beat()

    def beat(self) -> None:
        timeout = self.info.visibility_timeout
        margin = max(2.0, timeout / 3)
        now = time.monotonic()
        with self._visibility_lock:  # a release waits for this beat; the next one no longer sees its message
            with self._lock:
                due = [m for m in self._tracked.values() if m.visible_until - now < margin]
            if not due or timeout <= 0:
                return
            try:
                failed = self.queue.change_visibility_batch(due, timeout)
            except Exception as exc:  # noqa: BLE001 - best effort: tried again at the next beat
                log.debug("Visibility heartbeat failed: %s", exc)
                return
        for message in due:
            if message not in failed:
                message.visible_until = now + timeout
