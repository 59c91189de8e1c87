"""The Engine facade: start, stop, pause, resume, status and events. Imports nothing from the desktop."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError

from agent.config import Config
from agent.engine import aws, catchup
from agent.engine import pause as pause_state
from agent.engine.archive import Restorer, RestoreWatcher
from agent.engine.catchup import CatchUpProgress, ProgressCallback
from agent.engine.consumer import LAST_RUN_STATE, Consumer
from agent.engine.download import Downloader, TransferSettings, remove_stale_temp_files
from agent.engine.events import CatchUpSuggested, EventBus, State, StateChanged, Subscriber
from agent.engine.hooks import HooksFactory
from agent.engine.ledger import Ledger
from agent.engine.objects import ObjectHandler, human_size
from agent.engine.pause import Pause
from agent.engine.retry import Kind, classify, unanswered
from agent.engine.sqs import SQS_DEFAULTS, Queue, QueueInfo
from agent.errors import AgentError, FolderNotWritableError

log = logging.getLogger(__name__)

PAUSE_CHECK_SECONDS = 5.0  # how often a timed pause looks at the clock


@dataclass(frozen=True)
class DownloadProgress:
    """One running download: the object, its size, the bytes received and for how long it has run."""

    bucket: str
    key: str
    size: int
    done: int
    seconds: float


@dataclass(frozen=True)
class Status:
    """A snapshot of what the engine is doing, for a status line, a tray menu or `s3-sqs-agent status`."""

    state: State
    detail: str
    active: int
    bytes_done: int
    bytes_total: int
    downloaded: int
    downloaded_today: int
    retries: int
    given_up: int
    failed_pending: int
    retry_in: float | None
    problem: str | None
    paused_until: datetime | None = None  # a timed pause: the engine resumes by itself then
    downloads: tuple[DownloadProgress, ...] = ()


class Engine:
    """Owns the clients, the ledger, the plugins and the consumer threads for one config."""

    def __init__(self, config: Config, ledger: Ledger, *, hooks: HooksFactory, drain: bool = False) -> None:
        """`hooks` builds the plugins for a config (agent.plugins.manager.PluginHost), now and on every reconfigure."""
        self.config = config
        self.ledger = ledger
        self._hooks = hooks
        self.plugins = hooks(config)
        self.drain = drain
        self.bus = EventBus()
        self._consumer: Consumer | None = None
        self._restores: RestoreWatcher | None = None
        self._downloader: Downloader | None = None
        self._state = State.STARTING
        self._state_lock = threading.Lock()
        self._started = time.monotonic()
        self._control_lock = threading.RLock()  # pause, resume and reconfigure, from the UI and the pause timer
        self._pause = pause_state.load(ledger)
        self._pause_generation = 0  # a new pause or a resume retires the timer of the pause before
        self._stopped = threading.Event()
        self._running = False  # the consumer, restores and plugins are started (and not yet stopped)

    # ------------------------------------------------------------ lifecycle

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        return self.bus.subscribe(callback)

    def start(self, paused: bool = False) -> None:
        """Start the threads. In drain mode, a problem the user must fix (credentials, access, a missing queue, the
        folder) is an error raised here; a queue that does not answer is waited for, as it is out of drain mode
        (`held_up()` says so; `run --drain` bounds the wait). A stop() meanwhile means nothing is started.

        `paused`: start paused (the tray passes `paused_by_user`); a timed pause then still ends by itself."""
        self._prepare_folder()
        s3, sqs = self._clients()
        queue = Queue(sqs, self.config.sqs_queue_url)
        info, info_known = self._queue_info(queue)
        with self._control_lock:  # stop() takes it too: it sees everything started, or nothing
            if self._stopped.is_set():  # stopped meanwhile (while the queue was not answering, say): start nothing
                return
            if info_known:
                self._suggest_catch_up(info)
            self._downloader = Downloader(s3, TransferSettings(concurrency=self.config.concurrency, max_bandwidth=self.config.max_bandwidth))
            handler = ObjectHandler(self.config, self.ledger, self._downloader, self.plugins, self.bus)
            dead_letter = Queue(sqs, self.config.dead_letter_queue_url) if self.config.dead_letter_queue_url else None
            self.plugins.startup(self.config)
            restorer = Restorer(self.config, self.ledger, s3)
            consumer = Consumer(self.config, queue, info, handler, self.plugins, self.ledger, self.bus,
                                dead_letter=dead_letter, restorer=restorer, drain=self.drain, on_change=self._refresh_state)
            consumer.info_known = info_known
            self._consumer = consumer
            if paused:
                consumer.paused.set()
                self._time_pause()
            consumer.start()
            self._restores = RestoreWatcher(restorer, consumer.fetch_restored, consumer.keep_failed,
                                            paused=consumer.paused.is_set)
            self._restores.start()
            self._running = True
            threading.Thread(target=self._clean_temp_files, name="temp-cleanup", daemon=True).start()
            log.info("Watching %s; downloading to %s (%d at a time)", self.config.sqs_queue_url, self.config.download_folder, self.config.concurrency)
            self._refresh_state()

    def _clients(self) -> tuple[Any, Any]:
        """The (s3, sqs) clients for the config; an AgentError that says what to do when its AWS settings cannot be
        used (a missing profile, no region, a malformed profile)."""
        try:
            return aws.make_clients(self.config)
        except BotoCoreError as exc:
            failure = classify(exc)
            if failure.error is not None:
                raise failure.error from None
            raise AgentError(f"The AWS settings cannot be used ({exc}). Check aws_profile, aws_region and the endpoint "
                             "URLs in the config, or run `s3-sqs-agent setup`.") from None

    def _prepare_folder(self) -> None:
        folder = self.config.download_folder
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FolderNotWritableError(f"Cannot create the download folder {folder} ({exc.strerror}). "
                                         "Choose another folder in the config.") from None
        if self.drain and not os.access(folder, os.W_OK | os.X_OK):
            raise FolderNotWritableError(f"Cannot write to the download folder {folder}. Fix its permissions or choose another folder.")

    def _queue_info(self, queue: Queue) -> tuple[QueueInfo, bool]:
        """The queue's settings, and whether they came from the queue (False: defaults, it did not answer)."""
        try:
            return queue.info(), True
        except Exception as exc:  # noqa: BLE001 - classified; re-raised unless it is something to wait for
            failure = classify(exc)
            waits = unanswered(exc) or (not self.drain and failure.kind is Kind.WAIT and failure.error is not None)
            if not waits:
                raise (failure.error or AgentError(f"Cannot read the queue's settings: {failure.reason}. Check "
                                                   "sqs_queue_url and sqs_endpoint_url in the config, then start again."
                                                   )) from None
            log.warning("Cannot read the queue's settings yet (%s); using defaults until it answers", failure.reason)
            return SQS_DEFAULTS, False

    def _suggest_catch_up(self, info: QueueInfo) -> None:
        """Offer a catch-up when the agent was away longer than the queue keeps messages. Never starts one."""
        last = self.ledger.get_state(LAST_RUN_STATE)
        if last is None:
            return
        away = time.time() - float(last)
        if away <= info.retention_seconds:
            return
        when = datetime.fromtimestamp(float(last)).astimezone()
        log.warning("The agent last ran on %s, longer ago than the queue keeps messages (%d days): notifications may "
                    "have been lost. Run 's3-sqs-agent catch-up' (or 'Download missing files...' in the tray) to fetch "
                    "what is missing.", f"{when:%Y-%m-%d %H:%M}", info.retention_seconds // 86_400)
        self.bus.publish(CatchUpSuggested(when, info.retention_seconds))

    def catch_up(self, prefix: str | None = None, since: datetime | None = None,
                 progress: ProgressCallback | None = None, cancel: threading.Event | None = None) -> CatchUpProgress:
        """List the bucket (or `prefix`, objects modified since `since`) and download what the ledger and the folder
        lack, through the same filters, plugins and safe path as queue messages. Blocks; call it from a thread.

        Works whether or not the engine is running (while it runs, it shares its downloads' locks). Raises
        AgentError when the config names no bucket, NeedsUserError for problems the user must fix."""
        bucket = self.config.s3_bucket_name
        if not bucket:
            raise AgentError("Catch-up needs to know the bucket: add s3_bucket_name to the config.")
        self._prepare_folder()
        s3, _ = self._clients()
        consumer = self._consumer
        own_downloader: Downloader | None = None
        if consumer is not None and not consumer.stopping.is_set():
            handler = consumer.handler
        else:
            own_downloader = Downloader(s3, TransferSettings(concurrency=self.config.concurrency, max_bandwidth=self.config.max_bandwidth))
            handler = ObjectHandler(self.config, self.ledger, own_downloader, self.plugins, self.bus)
            self.plugins.startup(self.config)
        started = time.time()
        log.info("Catch-up: listing s3://%s/%s%s", bucket, prefix or "", f" (modified since {since:%Y-%m-%d %H:%M})" if since else "")
        try:
            result = catchup.catch_up(handler, self.ledger, catchup.list_objects(s3, bucket, prefix, since),
                                      concurrency=self.config.concurrency, progress=progress, cancel=cancel)
        except Exception as exc:
            failure = classify(exc)
            if failure.kind is Kind.WAIT and failure.error is not None and failure.error is not exc:
                raise failure.error from None
            raise
        finally:
            if own_downloader is not None:  # this catch-up started the plugins, so it stops them
                own_downloader.close()
                self.plugins.shutdown()
        if not prefix and not since and not result.failed and not (cancel and cancel.is_set()):
            self.ledger.set_state(LAST_RUN_STATE, str(started))  # the gap is closed
        log.info("Catch-up: %d listed, %d already here, %d downloaded (%s), %d skipped, %d failed", result.listed,
                 result.already, result.downloaded, human_size(result.bytes), result.skipped, result.failed)
        return result

    def _clean_temp_files(self) -> None:
        try:
            keep = self._downloader.active_temp_files() if self._downloader else frozenset()
            removed = remove_stale_temp_files(self.config.download_folder, keep)
        except OSError:
            return
        if removed:
            log.info("Removed %d unfinished temporary files left by an earlier run", removed)

    def held_up(self) -> str | None:
        """Why the engine cannot get on now, or None: the queue has not answered yet, or it waits out a problem
        (offline, a busy server, or one the user must fix). `run --drain` gives up when this lasts too long."""
        consumer = self._consumer
        if consumer is not None and consumer.problem is not None:
            return f"{consumer.problem.title}: {consumer.problem}"
        if consumer is None or not consumer.info_known:
            return f"the queue {self.config.sqs_queue_url} has not answered yet"
        return None

    def wait(self, timeout: float | None = None) -> bool:
        """In drain mode: wait until the queue is empty and nothing is in progress. True when drained."""
        assert self._consumer is not None
        return self._consumer.drained.wait(timeout)

    def stop(self, grace: float = 3.0) -> None:
        """Stop receiving, finish or release what is held, and shut down. Loses no message."""
        self._stopped.set()  # a reconfigure under way stops waiting for its downloads, and starts nothing
        with self._control_lock:
            if self._consumer is None:
                return
            if self._running:
                self._running = False
                self._stop_restores()
                self._consumer.stop(grace)
                self.plugins.shutdown()
                if self._downloader:
                    self._downloader.close()
            self._set_state(State.STOPPED, "")
        self.bus.flush()
        log.info("%s", self.summary())

    def summary(self) -> str:
        counters = self._consumer.counters if self._consumer else None
        if counters is None:
            return "Nothing was done."
        elapsed = time.monotonic() - counters.started
        waiting = len(self.ledger.restores())
        restores = f"; {waiting} archived, waiting for their restore (they download while the agent runs)" if waiting else ""
        return (f"Downloaded {counters.downloaded} files ({human_size(counters.bytes)}) in {elapsed:.1f} s; "
                f"{counters.retries} retries; {counters.given_up} given up{restores}")

    def _stop_restores(self) -> None:
        if self._restores is not None:
            self._restores.stop()
            self._restores = None

    @property
    def given_up(self) -> int:
        return self._consumer.counters.given_up if self._consumer else 0

    # ------------------------------------------------------------ control

    def pause(self, until: datetime | None = None) -> None:
        """Stop receiving; downloads already running finish; messages not started are released.

        `until` (timezone-aware): resume by itself at that moment, even after a restart (it is kept in the ledger,
        and checked against the clock, so a computer asleep at that moment resumes as it wakes). None: until
        resume()."""
        if until is not None and until.tzinfo is None:
            raise ValueError("until must be timezone-aware, such as datetime.now().astimezone() + timedelta(hours=1)")
        with self._control_lock:
            self._pause = Pause(until)
            pause_state.save(self.ledger, self._pause)
            if self._consumer:
                self._consumer.pause()
            self._time_pause()
        log.info("Paused%s", f" until {until.astimezone():%Y-%m-%d %H:%M}" if until else " until resumed")

    def resume(self) -> None:
        with self._control_lock:
            self._pause = None
            self._pause_generation += 1
            pause_state.save(self.ledger, None)
            if self._consumer:
                self._consumer.resume()
        log.info("Resumed")

    def retry_now(self) -> None:
        """After the user fixed what held downloads (a new sign-in, say): try the queue at once, not after the backoff."""
        if self._consumer:
            self._consumer.retry_now()

    @property
    def paused_by_user(self) -> bool:
        """The pause the user chose last; it survives restarts. A timed pause that has ended is not one."""
        pause = self._pause
        return pause is not None and not pause.ended()

    @property
    def paused_until(self) -> datetime | None:
        """When the user's timed pause ends; None when not paused or paused until resumed."""
        pause = self._pause
        return pause.until if pause is not None and not pause.ended() else None

    def _time_pause(self) -> None:
        """Start the timer that ends the current pause, if it is a timed one."""
        with self._control_lock:
            self._pause_generation += 1
            generation, pause = self._pause_generation, self._pause
        if pause is None or pause.until is None:
            return
        threading.Thread(target=self._resume_when_due, args=(generation, pause.until), name="pause-timer", daemon=True).start()

    def _resume_when_due(self, generation: int, until: datetime) -> None:
        # Wall-clock time, looked at every few seconds: a monotonic timer would not count the time a laptop sleeps.
        while (remaining := until.timestamp() - time.time()) > 0:
            if self._stopped.wait(min(remaining, PAUSE_CHECK_SECONDS)) or generation != self._pause_generation:
                return
        with self._control_lock:
            if generation != self._pause_generation or self._stopped.is_set():
                return
            log.info("The pause until %s is over", f"{until.astimezone():%Y-%m-%d %H:%M}")
            self.resume()

    def reconfigure(self, config: Config) -> None:
        """Apply a new config: downloads running now finish; the next message uses the new settings."""
        plugins = self._hooks(config)  # raises ConfigError before anything is touched
        with self._control_lock:
            if self._stopped.is_set():
                log.info("Not applying the new config from %s: the agent is stopping", config.source)
                return
            paused = bool(self._consumer and self._consumer.paused.is_set())
            if self._running:
                self._running = False
                self._stop_restores()
                assert self._consumer is not None
                self._consumer.stop(grace=3600, abort=self._stopped)  # a stop() meanwhile cuts the wait short
                self.plugins.shutdown()
                if self._downloader:
                    self._downloader.close()
            self.config, self.plugins = config, plugins
            self.start(paused=paused)
        log.info("Applied the new config from %s", config.source)

    def retry_failed(self, ids: Collection[int] | None = None) -> int:
        """Send the messages the ledger holds as failed (all, or those with these ledger ids) back to their queue.
        Returns how many."""
        _, sqs = self._clients()
        count = 0
        for failure in self.ledger.pending_failures():
            if ids is not None and failure.id not in ids:
                continue
            sqs.send_message(QueueUrl=failure.queue_url, MessageBody=failure.body)
            self.ledger.mark_retried(failure.id)
            count += 1
        return count

    # ------------------------------------------------------------ status

    def status(self) -> Status:
        consumer = self._consumer
        transfers = consumer.handler.transfers() if consumer else []  # one copy: the bytes and the rows agree
        midnight = datetime.now().replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
        retry_in = None
        now = time.monotonic()
        if consumer and consumer.problem is not None:
            retry_in = consumer.hold.remaining()
        state, detail = self._compute_state()
        return Status(
            state=state,
            detail=detail,
            active=consumer.active if consumer else 0,
            bytes_done=sum(t.done for t in transfers),
            bytes_total=sum(t.size for t in transfers),
            downloaded=consumer.counters.downloaded if consumer else 0,
            downloaded_today=self.ledger.count_since(midnight),
            retries=consumer.counters.retries if consumer else 0,
            given_up=consumer.counters.given_up if consumer else 0,
            failed_pending=len(self.ledger.pending_failures()),
            retry_in=retry_in,
            problem=str(consumer.problem) if consumer and consumer.problem else None,
            paused_until=self.paused_until if state is State.PAUSED else None,
            downloads=tuple(DownloadProgress(t.bucket, t.key, t.size, t.done, now - t.started)
                            for t in transfers),
        )

    def _compute_state(self) -> tuple[State, str]:
        consumer = self._consumer
        if self._state is State.STOPPED:
            return State.STOPPED, ""
        if consumer is None:
            return State.STARTING, ""
        if consumer.paused.is_set():
            return State.PAUSED, ""
        if consumer.problem is not None:
            return (State.OFFLINE if consumer.offline else State.ATTENTION), consumer.problem.title
        if consumer.active or consumer.tracked:
            return State.SYNCING, ""
        return State.IDLE, ""

    def _refresh_state(self) -> None:
        state, detail = self._compute_state()
        self._set_state(state, detail)

    def _set_state(self, state: State, detail: str) -> None:
        with self._state_lock:
            if state is self._state:
                return
            self._state = state
        self.bus.publish(StateChanged(state, detail))
