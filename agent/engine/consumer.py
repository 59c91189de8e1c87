"""The pipeline: one receive loop, a pool of workers, a visibility heartbeat, batched deletes, retry and give-up."""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from agent.api import MalformedMessage, ObjectEvent, PermanentFailure, RejectedRecord
from agent.config import Config
from agent.engine.download import Cancelled
from agent.engine.events import EventBus, Failed, NeedsUser, Retrying
from agent.engine.hooks import Hooks, PluginError
from agent.engine.ledger import Ledger
from agent.engine.objects import ObjectHandler, human_size
from agent.engine.retry import Backoff, Failure, Kind, classify
from agent.engine.sqs import BATCH, LONG_POLL_SECONDS, DeleteBatcher, Message, Queue, QueueInfo, dead_letter_attributes, summarize_body
from agent.errors import NeedsUserError, OfflineError

log = logging.getLogger(__name__)

DRAIN_POLL_SECONDS = 1
HOLD_MAX_SECONDS = 60.0
PROGRESS_LOG_SECONDS = 10.0
# A brownout: this many different objects failed with the server's own errors (5xx, throttling) and none succeeded
# since. The server is at fault, not the objects: hold everything, as when offline, and count no attempts, for up to
# BROWNOUT_GRACE_SECONDS; past that, attempts count again, so a few objects that always fail still get given up.
BROWNOUT_OBJECTS = 3
BROWNOUT_GRACE_SECONDS = 1800.0
LAST_RUN_STATE = "last_receive"  # ledger state: when the queue last answered (for the catch-up suggestion)
LAST_RUN_EVERY_SECONDS = 60.0


@dataclass
class Counters:
    downloaded: int = 0
    bytes: int = 0
    retries: int = 0
    given_up: int = 0
    skipped: int = 0
    started: float = field(default_factory=time.monotonic)


class _ObjectFailed(Exception):
    def __init__(self, event: ObjectEvent, failure: Failure) -> None:
        super().__init__(failure.reason)
        self.event, self.failure = event, failure


class Consumer:
    """Runs the threads that turn queue messages into files. Knows nothing of who listens to its events."""

    def __init__(self, config: Config, queue_: Queue, info: QueueInfo, handler: ObjectHandler, plugins: Hooks,
                 ledger: Ledger, bus: EventBus, *, dead_letter: Queue | None, drain: bool, on_change: Any) -> None:
        self.config = config
        self.queue = queue_
        self.info = info
        self.handler = handler
        self.plugins = plugins
        self.ledger = ledger
        self.bus = bus
        self.dead_letter = dead_letter
        self.drain = drain
        self.on_change = on_change  # called (no arguments) whenever something the status shows may have changed
        self.backoff = Backoff(config.retry_base_seconds, config.retry_max_seconds)
        self.counters = Counters()
        self.drained = threading.Event()
        self.paused = threading.Event()
        self.stopping = threading.Event()
        self.hold_until = 0.0
        self.problem: NeedsUserError | None = None
        self._problem_source = ""  # "receive" or "download": which kind of success clears the problem
        self.active = 0
        self._hold_delay = 0.0
        self._last_noted = 0.0
        self.info_known = True  # False: `info` holds assumed defaults because the queue did not answer at start
        self._systemic_receipts: dict[str, int] = {}
        self._busy_objects: set[str] = set()  # objects that failed with server errors since the last success
        self._busy_since = 0.0
        self._tracked: dict[str, Message] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._work: queue.Queue[Message | None] = queue.Queue()
        # Received and not yet handled: every worker busy, and a batch in reserve while the next one is received (two
        # in reserve measured no faster). Messages only waiting for their batched delete do not count, or the delete's
        # latency would cap throughput.
        self._max_waiting = config.concurrency + BATCH
        self._max_tracked = self._max_waiting * 4  # a bound, should deletes stall
        self._deleter = DeleteBatcher(queue_, self._untrack)
        self._threads: list[threading.Thread] = []
        self._workers: list[threading.Thread] = []

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self._workers = [threading.Thread(target=self._work_loop, name=f"worker-{i}", daemon=True) for i in range(self.config.concurrency)]
        self._threads = [
            threading.Thread(target=self._receive_loop, name="receiver", daemon=True),
            threading.Thread(target=self._heartbeat_loop, name="heartbeat", daemon=True),
        ]
        for thread in (*self._workers, *self._threads):
            thread.start()

    def stop(self, grace: float) -> None:
        """Stop receiving, release what has not started, give running downloads `grace` seconds, then abort them."""
        self.stopping.set()
        self._wake.set()
        self._release_queued()
        for _ in self._workers:
            self._work.put(None)
        deadline = time.monotonic() + grace
        for worker in self._workers:
            worker.join(max(0.0, deadline - time.monotonic()))
        if any(worker.is_alive() for worker in self._workers):
            log.warning("Aborting downloads still running after %.0f s; their messages are released for later", grace)
            self.handler.downloader.cancel_all()
            for worker in self._workers:
                worker.join(5)
        self._deleter.close()
        with self._lock:
            leftover = list(self._tracked.values())
        for message in leftover:
            self._release(message)
        self._closed.set()

    def pause(self) -> None:
        self.paused.set()
        self._release_queued()
        self.on_change()

    def resume(self) -> None:
        self.paused.clear()
        self._wake.set()
        self.on_change()

    # ------------------------------------------------------------ state for the status line

    @property
    def tracked(self) -> int:
        with self._lock:
            return len(self._tracked)

    @property
    def offline(self) -> bool:
        return isinstance(self.problem, OfflineError)

    def idle(self) -> bool:
        return self.tracked == 0 and self.active == 0 and self._work.empty()

    # ------------------------------------------------------------ receiving

    def _sleep(self, seconds: float) -> None:
        self._wake.wait(max(0.0, seconds))
        self._wake.clear()

    def _receive_loop(self) -> None:
        while not self.stopping.is_set():
            if self.paused.is_set():
                self._sleep(1.0)
                continue
            wait_for = self.hold_until - time.monotonic()
            if wait_for > 0:
                self._sleep(wait_for)
                continue
            capacity = min(self._max_waiting - self._work.qsize() - self.active, self._max_tracked - self.tracked)
            if capacity < BATCH:  # receive full batches: fewer requests, and less work for the server per message
                self._sleep(0.5)  # woken when a worker finishes or a delete frees a place
                continue
            if self.problem is not None:
                capacity = 1  # probe with one message while something is wrong
            try:
                # Draining: short polls, so the last (empty) receive does not add a second to every run.
                messages = self.queue.receive(capacity, 0 if self.drain else LONG_POLL_SECONDS, self.info.visibility_timeout)
            except Exception as exc:  # noqa: BLE001 - every receive failure is classified; the loop goes on
                self._hold(classify(exc), source="receive")
                continue
            if self.offline or (self.problem is not None and self._problem_source == "receive"):
                self._clear_problem()
            self._note_receive()
            if not self.info_known:
                self._refresh_info()
            if self.stopping.is_set() or self.paused.is_set():
                for message in messages:
                    self._release(message)
                continue
            with self._lock:
                for message in messages:
                    self._tracked[message.message_id] = message
            for message in messages:
                self._work.put(message)
            if messages:
                self.on_change()
            elif self.drain and self.idle() and self._queue_empty():
                self.drained.set()
                return
            elif self.drain:
                self._sleep(DRAIN_POLL_SECONDS / 5)  # nothing visible yet: wait for a running download or a new message

    def _refresh_info(self) -> None:
        """The queue did not answer at start, so its settings were assumed; read them now that it answers."""
        try:
            self.info = self.queue.info()
        except Exception as exc:  # noqa: BLE001 - keep the assumed settings; try again after the next receive
            log.debug("Could not read the queue's settings yet: %s", exc)
            return
        self.info_known = True
        log.info("Read the queue's settings: visibility timeout %d s, redrive policy %s", self.info.visibility_timeout,
                 "yes" if self.info.has_redrive_policy else "no")

    def _note_receive(self) -> None:
        """Remember, about once a minute, that the queue answered: a later start can tell how long the agent was away."""
        now = time.time()
        if now - self._last_noted >= LAST_RUN_EVERY_SECONDS:
            self._last_noted = now
            try:
                self.ledger.set_state(LAST_RUN_STATE, str(now))
            except Exception as exc:  # noqa: BLE001 - only a hint for later; never stop receiving for it
                log.debug("Could not note the time of this receive: %s", exc)

    def _queue_empty(self) -> bool:
        try:
            return self.queue.counts() == (0, 0, 0)
        except Exception as exc:  # noqa: BLE001 - classified like a receive failure
            self._hold(classify(exc), source="receive")
            return False

    def _hold(self, failure: Failure, source: str) -> None:
        """Back off all receiving: the endpoint is offline, or the user must fix something."""
        delay = self._hold_delay = min(HOLD_MAX_SECONDS, self.config.retry_max_seconds,
                                       max(self.config.retry_base_seconds, self._hold_delay * 2 or self.config.retry_base_seconds))
        delay = max(delay, 1.0)
        self.hold_until = time.monotonic() + delay
        error = failure.error
        if error is None:  # a broken connection or a busy server: nothing for the user to fix
            error = OfflineError(f"The server is not answering as it should ({failure.reason}). Retrying by itself.")
        changed = self.problem is None or str(self.problem) != str(error)
        self.problem, self._problem_source = error, source
        log.warning("%s (next try in %.0f s)", str(error).rstrip("."), delay)
        if changed:
            self.bus.publish(NeedsUser(error.title, str(error)))
        self.on_change()

    def _clear_problem(self) -> None:
        if self.problem is not None:
            log.info("Back to normal: %s is resolved", self.problem.title.lower())
        self.problem = None
        self._hold_delay = 0.0
        self.hold_until = 0.0
        self.on_change()

    # ------------------------------------------------------------ working

    def _work_loop(self) -> None:
        while True:
            message = self._work.get()
            if message is None:
                return
            if self.stopping.is_set() or self.paused.is_set():
                self._release(message)
                continue
            with self._lock:
                self.active += 1
            self.on_change()
            try:
                self._process(message)
            except BaseException:
                log.exception("Unexpected error handling message %s; releasing it", message.message_id)
                self._release(message)
            finally:
                with self._lock:
                    self.active -= 1
                self._wake.set()  # room for the receiver
                self.on_change()

    def _process(self, message: Message) -> None:
        attempt = max(1, message.receive_count - self._systemic_receipts.get(message.message_id, 0))
        try:
            items = self.plugins.parse_message(message.body, {**message.attributes, "MessageId": message.message_id})
            if items is None:
                raise PermanentFailure(f"the message is not in a format the agent knows: {summarize_body(message.body)}")
            rejected = [item for item in items if isinstance(item, RejectedRecord)]
            for event in (item for item in items if isinstance(item, ObjectEvent)):
                try:
                    downloaded = self.handler.handle(event)
                except Exception as exc:
                    failure = _classify(exc)
                    if failure.kind is Kind.SUPERSEDED:
                        log.info("Skipping %s: %s", event.key, failure.reason)
                        continue
                    raise _ObjectFailed(event, failure) from exc
                if downloaded is not None:
                    self.counters.downloaded += 1
                    self.counters.bytes += downloaded.size
            if rejected:
                raise MalformedMessage("; ".join(record.reason for record in rejected))
        except Cancelled:
            self._release(message)  # shutting down: visible again at once for the next run
        except _ObjectFailed as failed:
            if isinstance(failed.__cause__, Cancelled):
                self._release(message)
                return
            self._fail(message, failed.event, failed.failure, attempt)
        except Exception as exc:  # noqa: BLE001 - every failure is classified; none may take a worker down
            self._fail(message, None, _classify(exc), attempt)
        else:
            self._systemic_receipts.pop(message.message_id, None)
            if self._busy_objects:  # read without the lock: every message passes here
                with self._lock:
                    self._busy_objects.clear()
            if self.problem is not None and self._problem_source == "download":
                self._clear_problem()
            self._deleter.add(message)

    def _fail(self, message: Message, event: ObjectEvent | None, failure: Failure, attempt: int) -> None:
        what = event.key if event else f"message {message.message_id}"
        if failure.server_busy and self._brownout(what):
            failure = Failure(Kind.WAIT, failure.reason, OfflineError(
                f"The server is failing requests for many files at once ({failure.reason}). Holding downloads and "
                "retrying by itself; no attempts are counted meanwhile."))
        if failure.kind is Kind.WAIT:
            self._systemic_receipts[message.message_id] = self._systemic_receipts.get(message.message_id, 0) + 1
            self._hold(failure, source="download")
            self._release(message, Backoff.visibility(self.hold_until - time.monotonic()))
            self._release_queued()  # the others would fail the same way: hand them back instead of trying each
        elif failure.kind is Kind.RETRY and attempt < self.config.max_attempts:
            delay = self.backoff.delay(attempt)
            log.warning("Retrying %s in %.0f s (attempt %d of %d): %s", what, delay, attempt, self.config.max_attempts, failure.reason)
            self.counters.retries += 1
            self._release(message, Backoff.visibility(delay))
            self.bus.publish(Retrying(event, message.message_id, attempt, self.config.max_attempts, delay, failure.reason))
        else:
            reason = failure.reason if failure.kind is Kind.GIVE_UP else f"gave up after {attempt} attempts: {failure.reason}"
            self._give_up(message, event, reason, attempt)

    def _brownout(self, what: str) -> bool:
        """Note a server error for `what`; True while they add up to a brownout (see BROWNOUT_OBJECTS)."""
        now = time.monotonic()
        with self._lock:
            if not self._busy_objects:
                self._busy_since = now
            self._busy_objects.add(what)
            return len(self._busy_objects) >= BROWNOUT_OBJECTS and now - self._busy_since < BROWNOUT_GRACE_SECONDS

    def _give_up(self, message: Message, event: ObjectEvent | None, reason: str, attempt: int) -> None:
        try:
            if self.dead_letter is not None:
                self.dead_letter.send(message.body, dead_letter_attributes(message, reason, self.queue.url))
                disposition = "sent to the dead-letter queue"
                self._deleter.add(message)
            elif self.info.has_redrive_policy:
                disposition = "left to the queue's redrive policy"
                self._release(message, Backoff.visibility(self.backoff.delay(attempt)))
            else:
                self.ledger.record_failure(message.message_id, self.queue.url, message.body, reason,
                                           event.bucket if event else None, event.key if event else None)
                disposition = "kept in the local ledger (retry with 's3-sqs-agent failed retry')"
                self._deleter.add(message)
        except Exception as exc:  # noqa: BLE001 - the dead-letter queue is unreachable: keep the message and wait
            log.error("Could not dead-letter message %s: %s", message.message_id, exc)
            self._hold(classify(exc), source="download")
            self._release(message, Backoff.visibility(self.hold_until - time.monotonic()))
            return
        self.counters.given_up += 1
        what = event.key if event else f"message {message.message_id}"
        log.error("Gave up on %s: %s; %s", what, reason, disposition)
        self.plugins.object_failed(event, reason)
        self.bus.publish(Failed(event, message.message_id, reason, disposition))

    # ------------------------------------------------------------ message bookkeeping

    def _untrack(self, message: Message) -> None:
        with self._lock:
            self._tracked.pop(message.message_id, None)
        self._wake.set()

    def _release(self, message: Message, seconds: int = 0) -> None:
        """Hand a message back to the queue: visible again after `seconds` (0: at once)."""
        try:
            self.queue.change_visibility(message, seconds)
        except Exception as exc:  # noqa: BLE001 - best effort: the visibility timeout brings it back anyway
            log.debug("Could not release message %s (%s); it comes back when its visibility times out", message.message_id, exc)
        self._untrack(message)

    def _release_queued(self) -> None:
        while True:
            try:
                message = self._work.get_nowait()
            except queue.Empty:
                return
            if message is None:
                self._work.put(None)
                return
            self._release(message)

    def _heartbeat_loop(self) -> None:
        """Extend the visibility of every message held, so a long download is never delivered twice."""
        next_progress = time.monotonic() + PROGRESS_LOG_SECONDS
        while not self._closed.wait(min(1.0, max(0.2, self.info.visibility_timeout / 6))):
            timeout = self.info.visibility_timeout  # read each time: the settings can be learnt late
            margin = max(2.0, timeout / 3)
            now = time.monotonic()
            if now >= next_progress:
                next_progress = now + PROGRESS_LOG_SECONDS
                self._log_progress()
            with self._lock:
                due = [m for m in self._tracked.values() if m.visible_until - now < margin]
            if not due or timeout <= 0:
                continue
            try:
                failed = self.queue.change_visibility_batch(due, timeout)
            except Exception as exc:  # noqa: BLE001 - best effort: tried again at the next beat
                log.debug("Visibility heartbeat failed: %s", exc)
                continue
            for message in due:
                if message not in failed:
                    message.visible_until = now + timeout


    def _log_progress(self) -> None:
        """Long downloads show progress in the log, not just a line when they end."""
        progress = self.handler.progress
        if progress.files and progress.total:
            log.info("Downloading %d file%s: %.0f%% (%s of %s)", progress.files, "" if progress.files == 1 else "s",
                     100 * progress.done / progress.total, human_size(progress.done), human_size(progress.total))


def _classify(exc: BaseException) -> Failure:
    """Like classify(), but what a plugin raised keeps its meaning: a malformed message gives up, a credentials or
    disk problem waits for the user; anything else is a failed attempt blamed on the plugin."""
    if isinstance(exc, PluginError):
        inner = classify(exc.error)
        if inner.kind in (Kind.GIVE_UP, Kind.WAIT):
            return Failure(inner.kind, f"{exc.plugin}: {inner.reason}", inner.error)
        log.error("%s", exc, exc_info=exc.error)
        return Failure(Kind.RETRY, str(exc))
    return classify(exc)
