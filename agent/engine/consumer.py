"""The pipeline's threads: one receive loop, a pool of workers, a visibility heartbeat and batched deletes.

A thin shell: what becomes of each message is decided by agent/engine/policy.py, and the hold on all downloads
(offline, a problem the user must fix, a brownout) is kept by agent/engine/hold.py; this module carries it out.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from agent.api import ObjectEvent, PermanentFailure, RejectedRecord
from agent.config import Config
from agent.engine import archive, explain, policy
from agent.engine.archive import Restorer
from agent.engine.download import Cancelled
from agent.engine.events import EventBus, Failed, NeedsUser, Retrying
from agent.engine.hold import HoldState, Source
from agent.engine.hooks import Hooks, PluginError
from agent.engine.ledger import BatchLost, Ledger, WaitingRestore
from agent.engine.messages import record_body
from agent.engine.objects import ObjectHandler, Transfer, human_size
from agent.engine.policy import Action, Decision, Disposal, Rules
from agent.engine.retry import Backoff, Failure, Kind, classify
from agent.engine.sqs import (
    BATCH,
    LONG_POLL_SECONDS,
    DeadLetterRefused,
    DeleteBatcher,
    Message,
    Queue,
    QueueInfo,
    dead_letter_attributes,
    send_dead_letter,
    summarize_body,
)
from agent.errors import NeedsUserError

log = logging.getLogger(__name__)

DRAIN_POLL_SECONDS = 1
PROGRESS_LOG_SECONDS = 10.0
LAST_RUN_STATE = "last_receive"  # ledger state: when the queue last answered (for the catch-up suggestion)
LAST_RUN_EVERY_SECONDS = 60.0


class Counters:
    """What this run did, for the status line and the summary. Every worker adds to them, so under a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.downloaded = 0
        self.bytes = 0
        self.retries = 0
        self.given_up = 0
        self.started = time.monotonic()

    def add_download(self, size: int) -> None:
        with self._lock:
            self.downloaded += 1
            self.bytes += size

    def add_retry(self) -> None:
        with self._lock:
            self.retries += 1

    def add_given_up(self) -> None:
        with self._lock:
            self.given_up += 1


@dataclass(frozen=True)
class Snapshot:
    """What the consumer is doing now, read at one moment: all the engine's status is built on it."""

    active: int  # messages being handled
    tracked: int  # messages received and not yet deleted or released
    problem: NeedsUserError | None  # what holds downloads, if anything
    offline: bool
    retry_in: float  # seconds until the hold ends (0 when there is none)
    info_known: bool  # False: the queue's settings are assumed, because it has not answered yet
    downloaded: int
    bytes: int
    retries: int
    given_up: int
    started: float  # time.monotonic() when the consumer was built
    transfers: tuple[Transfer, ...]  # the downloads running now


class Consumer:
    """Runs the threads that turn queue messages into files. Knows nothing of who listens to its events.

    `paused()` is the engine's pause, read wherever it matters; on_pause() and on_resume() say it just changed."""

    def __init__(self, config: Config, queue_: Queue, info: QueueInfo, handler: ObjectHandler, plugins: Hooks,
                 ledger: Ledger, bus: EventBus, *, dead_letter: Queue | None, restorer: Restorer, drain: bool,
                 paused: Callable[[], bool], info_known: bool, on_change: Callable[[], None]) -> None:
        self.config = config
        self.restorer = restorer
        self.queue = queue_
        self.info = info
        self.handler = handler
        self.plugins = plugins
        self.ledger = ledger
        self.bus = bus
        self.dead_letter = dead_letter
        self.drain = drain
        self.on_change = on_change  # called (no arguments) whenever something the status shows may have changed
        self.rules = Rules.of(config, dead_letter_queue=dead_letter is not None, redrive_policy=info.has_redrive_policy)
        self.hold = HoldState(config.retry_base_seconds, config.retry_max_seconds)
        self.counters = Counters()
        self.drained = threading.Event()
        self.paused = paused
        self.stopping = threading.Event()
        self.active = 0
        self._last_noted = 0.0
        self.info_known = info_known  # False: `info` holds assumed defaults because the queue did not answer at start
        self._tracked: dict[str, Message] = {}
        self._lock = threading.Lock()
        self._visibility_lock = threading.Lock()  # a release's visibility change never overtakes a heartbeat's
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._work: queue.Queue[Message | None] = queue.Queue()
        # Received and not yet handled: every worker busy, and a batch in reserve while the next one is received (two
        # in reserve measured no faster). Messages only waiting for their batched delete do not count, or the delete's
        # latency would cap throughput.
        self._max_waiting = config.concurrency + BATCH
        self._max_tracked = self._max_waiting * 4  # a bound, should deletes stall
        self._rows: dict[str, range] = {}  # message id -> the ledger batches holding its files' rows, until it is deleted
        self._deleter = DeleteBatcher(queue_, self._untrack, deletable=self._durable)
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

    def stop(self, grace: float, abort: threading.Event | None = None) -> None:
        """Stop receiving, release what has not started, give running downloads `grace` seconds (or until `abort` is
        set), then abort them. Once stopped, a second call does nothing."""
        if self._closed.is_set():
            return
        self.stop_receiving()
        for _ in self._workers:
            self._work.put(None)
        deadline = time.monotonic() + grace
        for worker in self._workers:
            while worker.is_alive() and not (abort is not None and abort.is_set()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                worker.join(min(remaining, 0.5) if abort is not None else remaining)
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

    def stop_receiving(self) -> None:
        """Take no new message and hand back those not started; running downloads go on."""
        self.stopping.set()
        self._wake.set()
        self._release_queued()

    def on_pause(self) -> None:
        """The engine paused: messages not started go back to the queue; running downloads finish."""
        self._release_queued()
        self.on_change()

    def on_resume(self) -> None:
        self._wake.set()
        self.on_change()

    def retry_now(self) -> None:
        """The user says they fixed the problem (signed in again): try again now, not when the backoff ends."""
        self.hold.retry_now()
        self._wake.set()

    # ------------------------------------------------------------ state for the status line

    def snapshot(self) -> Snapshot:
        with self._lock:
            active, tracked = self.active, len(self._tracked)
        problem = self.hold.problem
        counters = self.counters
        return Snapshot(active=active, tracked=tracked, problem=problem, offline=self.hold.offline,
                        retry_in=self.hold.remaining() if problem is not None else 0.0, info_known=self.info_known,
                        downloaded=counters.downloaded, bytes=counters.bytes, retries=counters.retries,
                        given_up=counters.given_up, started=counters.started, transfers=tuple(self.handler.transfers()))

    @property
    def problem(self) -> NeedsUserError | None:
        """What holds downloads now, if anything."""
        return self.hold.problem

    def idle(self) -> bool:
        with self._lock:
            return not self._tracked and self.active == 0 and self._work.empty()

    # ------------------------------------------------------------ receiving

    def _sleep(self, seconds: float) -> None:
        self._wake.wait(max(0.0, seconds))
        self._wake.clear()

    def _receive_loop(self) -> None:
        while not self.stopping.is_set():
            if self.paused():
                self._sleep(1.0)
                continue
            wait_for = self.hold.remaining()
            if wait_for > 0:
                self._sleep(wait_for)
                continue
            with self._lock:
                capacity = self._room()
            if capacity < BATCH:  # receive full batches: fewer requests, and less work for the server per message
                self._sleep(0.5)  # woken when a worker finishes or a delete frees a place
                continue
            if self.problem is not None:
                capacity = 1  # probe with one message while something is wrong
            try:
                # Draining: short polls, so the last (empty) receive does not add a second to every run.
                messages = self.queue.receive(capacity, 0 if self.drain else LONG_POLL_SECONDS, self.info.visibility_timeout)
            except Exception as exc:  # noqa: BLE001 - every receive failure is classified; the loop goes on
                self._hold(classify(exc), Source.RECEIVE)
                continue
            self._resolved(self.hold.receive_answered())
            self._note_receive()
            if not self.info_known:
                self._refresh_info()
            with self._lock:  # stop() takes what is tracked under this lock: a message is tracked, or released here
                keep = not (self.stopping.is_set() or self.paused())
                if keep:
                    for message in messages:
                        self._tracked[message.message_id] = message
            if not keep:
                for message in messages:
                    self._release(message)
                continue
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
        self.rules = Rules.of(self.config, dead_letter_queue=self.dead_letter is not None, redrive_policy=self.info.has_redrive_policy)
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
            self._hold(classify(exc), Source.RECEIVE)
            return False

    def _hold(self, failure: Failure, source: Source) -> None:
        """Back off all receiving: the endpoint is offline, or the user must fix something."""
        held = self.hold.hold(explain.in_context(failure, self.config), source)
        log.warning("%s (next try in %.0f s)", str(held.problem).rstrip("."), held.delay)
        if held.new:
            self.bus.publish(NeedsUser.of(held.problem))
        self.on_change()

    def _resolved(self, problem: NeedsUserError | None) -> None:
        """A success ended the hold for `problem` (None: there was none)."""
        if problem is not None:
            log.info("Back to normal: %s is resolved", problem.title.lower())
            self.on_change()

    # ------------------------------------------------------------ working

    def _work_loop(self) -> None:
        while True:
            message = self._work.get()
            if message is None:
                return
            if self.stopping.is_set() or self.paused():
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
                self._wake_receiver()
                self.on_change()

    def _process(self, message: Message) -> None:
        attempt = policy.attempt_number(message.receive_count, self.hold.unspent(message.message_id))
        self.ledger.batches_of_this_thread()  # forget an earlier message's
        decision, event, aside, whole = self._handle(message, attempt)
        if decision is policy.DONE and aside:
            decision, event = self._set_aside(message, aside, whole, attempt)
        rows = self.ledger.batches_of_this_thread()
        if rows:
            with self._lock:
                self._rows[message.message_id] = rows
        self._carry_out(message, event, decision)

    def _handle(self, message: Message, attempt: int) -> tuple[Decision, ObjectEvent | None, list[_Aside], bool]:
        """Bring every object of the message to disk. Returns the decision, the object it failed on (if one did), the
        records to give up on their own once the others are down, and whether the message is one record only."""
        aside: list[_Aside] = []
        try:
            items = self.plugins.parse_message(message.body, {**message.attributes, "MessageId": message.message_id})
            if items is None:
                raise PermanentFailure(f"the message is not in a format the agent knows: {summarize_body(message.body)}")
            for item in items:
                if isinstance(item, RejectedRecord):
                    aside.append(_Aside(None, Failure(Kind.GIVE_UP, item.reason), item.body, item.bucket, item.key))
                    continue
                try:
                    downloaded = self.handler.handle(item)
                except Cancelled:
                    raise
                except Exception as exc:  # noqa: BLE001 - every failure is classified; none may take a worker down
                    failure = _classify(exc)
                    if failure.kind is Kind.SUPERSEDED:
                        log.info("Skipping %s: %s", item.key, failure.reason)
                    elif failure.kind in (Kind.GIVE_UP, Kind.ARCHIVED):  # this record alone, once the others are down
                        aside.append(_Aside(item, failure, None, item.bucket, item.key))
                    else:  # retried or held as a whole: what was set aside is set aside again next time
                        return self._decide(message, item, failure, attempt), item, [], False
                    continue
                if downloaded is not None:
                    self.counters.add_download(downloaded.size)
        except Cancelled:
            return policy.SHUTTING_DOWN, None, [], False
        except Exception as exc:  # noqa: BLE001 - every failure is classified; none may take a worker down
            return self._decide(message, None, _classify(exc), attempt), None, [], False
        return policy.DONE, None, aside, len(items) == 1

    def _set_aside(self, message: Message, aside: list[_Aside], whole: bool, attempt: int) -> tuple[Decision, ObjectEvent | None]:
        """Give up the records that can never download, each alone with its reason, while the others are down: then the
        message is done. A message of one record is given up as it came; archived objects wait for a restore."""
        if not whole and not policy.gives_up_alone(self.rules) and any(a.failure.kind is Kind.GIVE_UP for a in aside):
            reasons = "; ".join(f"{a.key or 'a record'}: {a.failure.reason}" for a in aside if a.failure.kind is Kind.GIVE_UP)
            return policy.decide(Failure(Kind.GIVE_UP, reasons), attempt, self.rules), None  # the redrive moves it whole
        for part in aside:
            try:
                decision = self._archived(message, part, whole, attempt) if part.failure.kind is Kind.ARCHIVED else \
                    policy.decide(part.failure, attempt, self.rules)
            except Exception as exc:  # noqa: BLE001 - S3 did not answer about the archive: the message comes back
                return self._decide(message, part.event, _classify(exc), attempt), part.event
            if decision is None:
                continue
            if whole:
                return decision, part.event
            try:
                self._give_up(message, part.event, decision, alone=(part.body or record_body(_event_of(part)), part.bucket, part.key))
            except Exception as exc:  # noqa: BLE001 - the dead-letter queue is unreachable: keep the message and wait
                log.error("Could not dead-letter a record of message %s: %s", message.message_id, exc)
                return policy.undeliverable(classify(exc), attempt), None
        return policy.DONE, None

    def _archived(self, message: Message, part: _Aside, whole: bool, attempt: int) -> Decision | None:
        """An archived object: with restore_archived, its restore is asked for and it waits in the ledger (None);
        without, it is kept where `failed list` shows it, with what to do. Raises when S3 does not answer."""
        event = _event_of(part)
        body = message.body if whole else record_body(event)
        if self.restorer.settings is not None:
            refused = self.restorer.park(event, message.message_id, self.queue.url, body)
            if refused is None:
                return None
            reason = refused
        else:
            reason = archive.not_restored_reason(event, self.restorer.state(event).where)
        return policy.archived(Failure(Kind.ARCHIVED, reason), attempt)

    def fetch_restored(self, event: ObjectEvent) -> None:
        """Download an archived object whose restored copy is readable (the RestoreWatcher's download)."""
        downloaded = self.handler.handle(event)
        if downloaded is not None:
            self.counters.add_download(downloaded.size)
        self.on_change()

    def keep_failed(self, waiting: WaitingRestore, reason: str) -> None:
        """A restore that will not come: its message is kept in the ledger, where `failed list` shows it."""
        self.ledger.record_failure(waiting.message_id, waiting.queue_url, waiting.body, reason, waiting.bucket, waiting.key)
        self._announce_given_up(archive.event_from_json(waiting.event), waiting.message_id, reason, Disposal.LEDGER)

    def _decide(self, message: Message, event: ObjectEvent | None, failure: Failure, attempt: int) -> Decision:
        brownout = failure.server_busy and self.hold.server_error(_what(message, event))
        return policy.decide(failure, attempt, self.rules, brownout=brownout)

    def _carry_out(self, message: Message, event: ObjectEvent | None, decision: Decision) -> None:
        if decision.action is Action.DELETE:
            if decision is policy.DONE:
                self._resolved(self.hold.download_succeeded(message.message_id))
            self._delete(message)
        elif decision.action is Action.RELEASE:
            if decision.failure is not None:  # a retry
                self._retry_later(message, event, decision)
            else:
                self._release(message)
        elif decision.action is Action.HOLD:
            assert decision.failure is not None
            self.hold.spare_attempt(message.message_id)
            self._hold(decision.failure, Source.DOWNLOAD)
            self._release(message, Backoff.visibility(self.hold.remaining()))
            self._release_queued()  # the others would fail the same way: hand them back instead of trying each
        else:
            self._give_up(message, event, decision)

    def _retry_later(self, message: Message, event: ObjectEvent | None, decision: Decision) -> None:
        assert decision.failure is not None
        max_attempts = self.rules.max_attempts
        log.warning("Retrying %s in %.0f s (attempt %d of %d): %s", _what(message, event), decision.delay, decision.attempt,
                    max_attempts, decision.failure.reason)
        self.counters.add_retry()
        self._release(message, decision.visibility)
        self.bus.publish(Retrying(event, message.message_id, decision.attempt, max_attempts, decision.delay, decision.failure.reason))

    def _give_up(self, message: Message, event: ObjectEvent | None, decision: Decision,
                 alone: tuple[str, str | None, str | None] | None = None) -> None:
        """Dead-letter the message, or keep it in the ledger, with the decision's reason. `alone`: (body, bucket, key)
        of one record given up on its own: the message itself is then left to the caller, which also handles a give-up
        that cannot be delivered (raised)."""
        disposal = decision.disposal
        assert disposal is not None
        body, bucket, key = alone or (message.body, event.bucket if event else None, event.key if event else None)
        try:
            if disposal is Disposal.DEAD_LETTER_QUEUE:
                assert self.dead_letter is not None
                try:
                    send_dead_letter(self.dead_letter, body, dead_letter_attributes(message, decision.reason, self.queue.url))
                except DeadLetterRefused as refused:  # the same body would be refused forever: keep it here instead
                    log.warning("The dead-letter queue refused %s (%s); keeping it in the local ledger instead",
                                key or f"message {message.message_id}", refused)
                    disposal = Disposal.LEDGER
            if disposal is Disposal.LEDGER:
                self.ledger.record_failure(message.message_id, self.queue.url, body, decision.reason, bucket, key)
        except Exception as exc:  # the dead-letter queue is unreachable: keep the message and wait
            if alone is not None:
                raise
            log.error("Could not dead-letter message %s: %s", message.message_id, exc)
            self._carry_out(message, event, policy.undeliverable(classify(exc), decision.attempt))
            return
        if alone is None and disposal.deletes:
            self._delete(message)
        elif alone is None:
            self._release(message, decision.visibility)
        what = (key or f"a record of message {message.message_id}") if alone else _what(message, event)
        self._announce_given_up(event, message.message_id, decision.reason, disposal, what)

    def _announce_given_up(self, event: ObjectEvent | None, message_id: str, reason: str, disposal: Disposal,
                           what: str | None = None) -> None:
        self.counters.add_given_up()
        log.error("Gave up on %s: %s; %s", what or (event.key if event else f"message {message_id}"), reason, disposal.value)
        self.plugins.object_failed(event, reason)
        self.bus.publish(Failed(event, message_id, reason, disposal.value))

    # ------------------------------------------------------------ message bookkeeping

    def _delete(self, message: Message) -> None:
        self.hold.forget(message.message_id)
        self._deleter.add(message)

    def _durable(self, batch: list[Message]) -> list[Message]:
        """The messages of a delete batch whose files the ledger has committed (committing them now, one transaction for
        the batch); a message whose rows could not be committed is not deleted: it comes back and is handled again."""
        with self._lock:
            rows = [(message, self._rows.pop(message.message_id, range(0))) for message in batch]
        deletable = []
        for message, ledger_batch in rows:
            try:
                self.ledger.make_durable(ledger_batch)
            except BatchLost:
                self._release(message, Backoff.visibility(self.rules.backoff.delay(message.receive_count)))
                continue
            deletable.append(message)
        return deletable

    def _untrack(self, message: Message) -> None:
        with self._lock:
            self._tracked.pop(message.message_id, None)
            self._rows.pop(message.message_id, None)
        self._wake_receiver()

    def _room(self) -> int:
        """How many messages the receiver may take now."""
        return min(self._max_waiting - self._work.qsize() - self.active, self._max_tracked - len(self._tracked))

    def _wake_receiver(self) -> None:
        """Wake the receiver once there is room for a full batch, not at every message (each wake is a thread switch)."""
        if self._room() >= BATCH or self.stopping.is_set():
            self._wake.set()

    def _release(self, message: Message, seconds: int = 0) -> None:
        """Hand a message back to the queue: visible again after `seconds` (0: at once). Untracked first, and after
        any heartbeat under way, so no heartbeat can set its visibility back to the whole timeout afterwards."""
        self._untrack(message)
        try:
            with self._visibility_lock:
                self.queue.change_visibility(message, seconds)
        except Exception as exc:  # noqa: BLE001 - best effort: the visibility timeout brings it back anyway
            log.debug("Could not release message %s (%s); it comes back when its visibility times out", message.message_id, exc)

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
            with self._visibility_lock:  # a release waits for this beat; the next one no longer sees its message
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


@dataclass(frozen=True)
class _Aside:
    """One record of a message that can never download as it is: given up on its own, or left to wait for a restore."""

    event: ObjectEvent | None  # None: a record the parser rejected
    failure: Failure
    body: str | None  # the record alone, as the parser wrote it; None: built from the event
    bucket: str | None
    key: str | None


def _event_of(part: _Aside) -> ObjectEvent:
    assert part.event is not None, "only a record that parsed has an event"
    return part.event


def _what(message: Message, event: ObjectEvent | None) -> str:
    return event.key if event else f"message {message.message_id}"


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
