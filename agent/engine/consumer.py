"""The pipeline's threads: one receive loop and a pool of workers, with back-pressure and drain detection.

A thin shell: a message's decisions come from agent/engine/handling.py (deciding by agent/engine/policy.py), are carried
out by agent/engine/disposer.py, and what is held (the visibility heartbeat, releases) is agent/engine/inflight.py's;
the hold on all downloads (offline, a problem the user must fix, a brownout) is agent/engine/hold.py's.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from agent.api import ObjectEvent
from agent.config import Config
from agent.engine.archive import Restorer
from agent.engine.disposer import Disposer
from agent.engine.early import FirstReceive
from agent.engine.events import EventBus
from agent.engine.handling import MessageHandler
from agent.engine.hold import HoldState, Source
from agent.engine.hooks import Hooks
from agent.engine.inflight import InFlight
from agent.engine.ledger import Ledger, WaitingRestore
from agent.engine.objects import ObjectHandler, Transfer, human_size
from agent.engine.policy import Rules
from agent.engine.retry import classify
from agent.engine.sqs import BATCH, LONG_POLL_SECONDS, Message, Queue, QueueInfo
from agent.errors import NeedsUserError

log = logging.getLogger(__name__)

DRAIN_POLL_SECONDS = 1
PROGRESS_LOG_SECONDS = 10.0
LAST_RUN_STATE = "last_receive"  # ledger state: when the queue last answered (for the catch-up suggestion)
LAST_RUN_EVERY_SECONDS = 60.0


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
                 paused: Callable[[], bool], info_known: bool, on_change: Callable[[], None],
                 first: FirstReceive | None = None) -> None:
        """`first`: a receive already under way (early.py), whose messages are the first batch."""
        self.config = config
        self.queue = queue_
        self.info = info
        self.handler = handler
        self.ledger = ledger
        self.drain = drain
        self.on_change = on_change  # called (no arguments) whenever something the status shows may have changed
        self.paused = paused
        self.info_known = info_known  # False: `info` holds assumed defaults because the queue did not answer at start
        self.hold = HoldState(config.retry_base_seconds, config.retry_max_seconds)
        self._has_dead_letter = dead_letter is not None
        self.messages = MessageHandler(handler, plugins, self.hold, self._rules())
        self.inflight = InFlight(queue_, ledger, info, on_room=self._wake_receiver)
        self.disposer = Disposer(config, queue_, self.messages, self.inflight, ledger, plugins, bus, dead_letter=dead_letter,
                                 restorer=restorer, release_waiting=self._release_queued, on_change=on_change)
        self.drained = threading.Event()
        self.stopping = threading.Event()
        self.active = 0
        self._last_noted = 0.0
        self._next_progress = 0.0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._work: queue.Queue[Message | None] = queue.Queue()
        # Received and not yet handled: every worker busy, and a batch in reserve while the next one is received (two
        # in reserve measured no faster). Messages only waiting for their batched delete do not count, or the delete's
        # latency would cap throughput.
        self._max_waiting = config.concurrency + BATCH
        self._max_tracked = self._max_waiting * 4  # a bound, should deletes stall
        self._threads: list[threading.Thread] = []
        self._workers: list[threading.Thread] = []
        self._first = first

    def _rules(self) -> Rules:
        """The policy's rules for the config and the queue's settings as known now."""
        return Rules.of(self.config, dead_letter_queue=self._has_dead_letter, redrive_policy=self.info.has_redrive_policy)

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self._workers = [threading.Thread(target=self._work_loop, name=f"worker-{i}", daemon=True) for i in range(self.config.concurrency)]
        self._threads = [threading.Thread(target=self._receive_loop, name="receiver", daemon=True)]
        for thread in (*self._workers, *self._threads):
            thread.start()
        self._next_progress = time.monotonic() + PROGRESS_LOG_SECONDS
        self.inflight.start_heartbeat(self._log_progress)

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
        self.disposer.close()
        if self._first is not None:  # never taken: its messages go back at once
            self._first.release_untaken()
        for message in self.inflight.held():
            self.inflight.release(message)
        self.inflight.close()
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
            active = self.active
        problem = self.hold.problem
        counters = self.disposer.counters
        return Snapshot(active=active, tracked=len(self.inflight), problem=problem, offline=self.hold.offline,
                        retry_in=self.hold.remaining() if problem is not None else 0.0, info_known=self.info_known,
                        downloaded=counters.downloaded, bytes=counters.bytes, retries=counters.retries,
                        given_up=counters.given_up, started=counters.started, transfers=tuple(self.handler.transfers()))

    @property
    def problem(self) -> NeedsUserError | None:
        """What holds downloads now, if anything."""
        return self.hold.problem

    def idle(self) -> bool:
        with self._lock:
            active = self.active
        return active == 0 and not len(self.inflight) and self._work.empty()

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
            capacity = self._room()
            if capacity < BATCH:  # receive full batches: fewer requests, and less work for the server per message
                self._sleep(0.5)  # woken when a worker finishes or a delete frees a place
                continue
            if self.problem is not None:
                capacity = 1  # probe with one message while something is wrong
            try:
                # Draining: short polls, so the last (empty) receive does not add a second to every run.
                first, self._first = self._first, None
                messages = first.messages() if first is not None else \
                    self.queue.receive(capacity, 0 if self.drain else LONG_POLL_SECONDS, self.info.visibility_timeout)
            except Exception as exc:  # noqa: BLE001 - every receive failure is classified; the loop goes on
                if self.stopping.is_set():
                    return  # a long poll that outlived stop() (which does not wait for it): nothing to report
                self.disposer.hold_all(classify(exc), Source.RECEIVE)
                continue
            self.disposer.resolved(self.hold.receive_answered())
            self._note_receive()
            if not self.info_known:
                self._refresh_info()
            # stop() takes what is held under the same lock: a message is held, or released here
            if not self.inflight.track(messages, keep=lambda: not (self.stopping.is_set() or self.paused())):
                for message in messages:
                    self.inflight.release(message)
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
        self.inflight.info = self.info
        self.messages.rules = self._rules()
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
            self.disposer.hold_all(classify(exc), Source.RECEIVE)
            return False

    # ------------------------------------------------------------ working

    def _work_loop(self) -> None:
        while True:
            message = self._work.get()
            if message is None:
                return
            if self.stopping.is_set() or self.paused():
                self.inflight.release(message)
                continue
            with self._lock:
                self.active += 1
            self.on_change()
            try:
                self._process(message)
            except BaseException:
                log.exception("Unexpected error handling message %s; releasing it", message.message_id)
                self.inflight.release(message)
            finally:
                with self._lock:
                    self.active -= 1
                self._wake_receiver()
                self.on_change()

    def _process(self, message: Message) -> None:
        attempt = self.messages.attempt(message)
        self.ledger.batches_of_this_thread()  # forget an earlier message's
        outcome = self.messages.handle(message, attempt)
        self.inflight.note_rows(message, self.ledger.batches_of_this_thread())
        self.disposer.settle(message, outcome, attempt)

    def fetch_restored(self, event: ObjectEvent) -> None:
        """Download an archived object whose restored copy is readable (the RestoreWatcher's download)."""
        downloaded = self.handler.handle(event)
        if downloaded is not None:
            self.disposer.counters.add_downloads(1, downloaded.size)
        self.on_change()

    def keep_failed(self, waiting: WaitingRestore, reason: str) -> None:
        """A restore that will not come: its message is kept in the ledger, where `failed list` shows it."""
        self.disposer.keep_failed(waiting, reason)

    # ------------------------------------------------------------ back-pressure

    def _room(self) -> int:
        """How many messages the receiver may take now."""
        with self._lock:
            active = self.active
        return min(self._max_waiting - self._work.qsize() - active, self._max_tracked - len(self.inflight))

    def _wake_receiver(self) -> None:
        """Wake the receiver once there is room for a full batch, not at every message (each wake is a thread switch)."""
        if self._room() >= BATCH or self.stopping.is_set():
            self._wake.set()

    def _release_queued(self) -> None:
        while True:
            try:
                message = self._work.get_nowait()
            except queue.Empty:
                return
            if message is None:
                self._work.put(None)
                return
            self.inflight.release(message)

    def _log_progress(self) -> None:
        """Long downloads show progress in the log, not just a line when they end (every PROGRESS_LOG_SECONDS)."""
        now = time.monotonic()
        if now < self._next_progress:
            return
        self._next_progress = now + PROGRESS_LOG_SECONDS
        progress = self.handler.progress
        files, done, total = progress.files, progress.done, progress.total  # each read once: workers change them meanwhile
        if files and total:
            log.info("Downloading %d file%s: %.0f%% (%s of %s)", files, "" if files == 1 else "s", 100 * done / total,
                     human_size(done), human_size(total))
