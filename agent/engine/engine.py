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
from agent.engine import aws, catchup, explain
from agent.engine import pause as pause_state
from agent.engine.catchup import CatchUpProgress, ProgressCallback
from agent.engine.consumer import LAST_RUN_STATE, Snapshot
from agent.engine.early import FirstReceive
from agent.engine.events import CatchUpSuggested, EventBus, State, StateChanged, Subscriber
from agent.engine.folders import remove_stale_temp_files
from agent.engine.hooks import HooksFactory
from agent.engine.ledger import Ledger
from agent.engine.objects import human_size
from agent.engine.pause import Pause
from agent.engine.pipeline import Pipeline
from agent.engine.retry import Kind, classify, unanswered
from agent.engine.sqs import SQS_DEFAULTS, Queue, QueueInfo
from agent.engine.sqs_crt import CrtSqsClient
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
    """Owns the clients, the ledger, the plugins and the consumer threads for one config.

    The pause is kept here only (`_pause`, and the ledger for the next start); the consumer and the restores read it.
    Pause, resume, stop and the start of a pipeline take the control lock; nothing holds it while waiting for a download,
    so Pause and Quit answer at once even while a reconfigure waits for the downloads of the config before."""

    def __init__(self, config: Config, ledger: Ledger, *, hooks: HooksFactory, drain: bool = False,
                 first_receive: FirstReceive | None = None) -> None:
        """`hooks` builds the plugins for a config (agent.plugins.manager.PluginHost), now and on every reconfigure.
        `first_receive`: a receive sent before the engine loaded (early.py): the first start takes its messages."""
        self.config = config
        self.ledger = ledger
        self._hooks = hooks
        self.plugins = hooks(config)
        self.drain = drain
        self.bus = EventBus()
        self._pipeline: Pipeline | None = None  # the running one; during a reconfigure, the one finishing its downloads
        self._state = State.STARTING
        self._state_lock = threading.Lock()
        self._started = time.monotonic()
        self._control_lock = threading.RLock()  # pause, resume, stop and a pipeline's start, from the UI and the pause timer
        self._reconfigure_lock = threading.Lock()  # one reconfigure at a time; Pause and Quit never wait for it
        self._pause = pause_state.load(ledger)
        self._pause_generation = 0  # a new pause or a resume retires the timer of the pause before
        self._stopped = threading.Event()
        self._running = False  # the pipeline is started (and not yet stopping)
        self._stop_reported = False
        self._first_receive = first_receive

    # ------------------------------------------------------------ lifecycle

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        return self.bus.subscribe(callback)

    def start(self, paused: bool = False) -> None:
        """Start the threads. In drain mode, a problem the user must fix (credentials, access, a missing queue, the
        folder) is an error raised here; a queue that does not answer is waited for, as it is out of drain mode
        (`held_up()` says so; `run --drain` bounds the wait). A stop() meanwhile means nothing is started.

        `paused`: start paused as the user left it (the tray passes `paused_by_user`): a timed pause then still ends by
        itself. Not paused (headless runs), the pause kept in the ledger is left for the next start that asks for it."""
        with self._control_lock:
            self._pause = (self._pause or Pause()) if paused else None
            if paused:
                self._time_pause()
        self._start()

    def _start(self) -> None:
        """Build and start the pipeline for the config, under the pause as it is now."""
        self._prepare_folder()
        s3, sqs = self._clients()
        calls, path = CrtSqsClient.create(sqs)  # botocore's client where the CRT cannot serve
        log.info("Queue calls go through %s", path)
        sqs = calls or sqs
        queue = Queue(sqs, self.config.sqs_queue_url)
        info, info_known = self._queue_info(queue)
        with self._control_lock:  # stop() takes it too: it sees everything started, or nothing
            if self._stopped.is_set():  # stopped meanwhile (while the queue was not answering, say): start nothing
                return
            if info_known:
                self._suggest_catch_up(info)
            pipeline = Pipeline.build(self.config, self.ledger, self.plugins, self.bus, s3, sqs, queue, info,
                                      info_known=info_known, drain=self.drain, paused=lambda: self.paused_by_user,
                                      on_change=self._refresh_state, first=self._first_receive)
            self._first_receive = None  # the consumer has it now (if the build raised, stop() hands it back)
            self._pipeline = pipeline
            pipeline.start()
            self._running = True
            threading.Thread(target=self._clean_temp_files, args=(pipeline.downloader.active_temp_files(),),
                             name="temp-cleanup", daemon=True).start()
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
            raise AgentError(f"The AWS settings cannot be used ({exc}). Check {{aws_profile}}, {{aws_region}} and the "
                             "endpoints ({endpoint_url}, {s3_endpoint_url}, {sqs_endpoint_url}), or run `s3-sqs-agent setup`.") from None

    def _prepare_folder(self) -> None:
        folder = self.config.download_folder
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FolderNotWritableError(f"Cannot create the download folder {folder} ({exc.strerror}). "
                                         "Choose another folder ({download_folder}).") from None
        if self.drain and not os.access(folder, os.W_OK | os.X_OK):
            raise FolderNotWritableError(f"Cannot write to the download folder {folder}. Fix its permissions or choose another folder.")

    def _queue_info(self, queue: Queue) -> tuple[QueueInfo, bool]:
        """The queue's settings, and whether they came from the queue (False: defaults, it did not answer)."""
        try:
            return queue.info(), True
        except Exception as exc:  # noqa: BLE001 - classified; re-raised unless it is something to wait for
            failure = explain.in_context(classify(exc), self.config)
            waits = unanswered(exc) or (not self.drain and failure.kind is Kind.WAIT and failure.error is not None)
            if not waits:
                raise (failure.error or AgentError(f"Cannot read the queue's settings: {failure.reason}. Check "
                                                   "{sqs_queue_url} and {sqs_endpoint_url}, then start again."
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
            raise AgentError("Catch-up needs to know the bucket: {add it to the config as|fill in} {s3_bucket_name}.")
        self._prepare_folder()
        s3, _ = self._clients()
        with self._control_lock:
            running = self._pipeline if self._running else None
        pipeline = running or Pipeline.for_downloads(self.config, self.ledger, self.plugins, self.bus, s3)
        started = time.time()
        log.info("Catch-up: listing s3://%s/%s%s", bucket, prefix or "", f" (modified since {since:%Y-%m-%d %H:%M})" if since else "")
        try:
            result = catchup.catch_up(pipeline.handler, self.ledger, catchup.list_objects(s3, bucket, prefix, since),
                                      concurrency=self.config.concurrency, progress=progress, cancel=cancel)
        except Exception as exc:
            failure = classify(exc)
            if failure.kind is Kind.WAIT and failure.error is not None and failure.error is not exc:
                raise failure.error from None
            raise
        finally:
            if pipeline is not running:  # this catch-up started the plugins, so it stops them
                pipeline.close(grace=0)
        if not prefix and not since and not result.failed and not (cancel and cancel.is_set()):
            self.ledger.set_state(LAST_RUN_STATE, str(started))  # the gap is closed
        log.info("Catch-up: %d listed, %d already here, %d downloaded (%s), %d skipped, %d failed", result.listed,
                 result.already, result.downloaded, human_size(result.bytes), result.skipped, result.failed)
        return result

    def _clean_temp_files(self, keep: Collection[str]) -> None:
        try:
            removed = remove_stale_temp_files(self.config.download_folder, keep)
        except OSError:
            return
        if removed:
            log.info("Removed %d unfinished temporary files left by an earlier run", removed)

    def held_up(self) -> str | None:
        """Why the engine cannot get on now, or None: the queue has not answered yet, or it waits out a problem
        (offline, a busy server, or one the user must fix). `run --drain` gives up when this lasts too long."""
        snapshot = self._snapshot()
        if snapshot is not None and snapshot.problem is not None:
            return f"{snapshot.problem.title}: {snapshot.problem}"
        if snapshot is None or not snapshot.info_known:
            return f"the queue {self.config.sqs_queue_url} has not answered yet"
        return None

    def wait(self, timeout: float | None = None) -> bool:
        """In drain mode: wait until the queue is empty and nothing is in progress. True when drained."""
        pipeline = self._pipeline
        assert pipeline is not None and pipeline.consumer is not None
        return pipeline.consumer.drained.wait(timeout)

    def stop(self, grace: float = 3.0) -> None:
        """Stop receiving, give running downloads `grace` seconds, release what is held, and shut down. Loses no
        message; a second call does nothing. During a reconfigure, that one stops waiting for the downloads of the
        config before (they are aborted and their messages released) and starts nothing."""
        self._stopped.set()  # a reconfigure under way stops waiting for its downloads, and starts nothing
        with self._control_lock:
            pipeline, self._running = self._pipeline, False
            first, self._first_receive = self._first_receive, None
        if first is not None:  # never started: the messages received early go back at once
            first.release_untaken()
        if pipeline is None:
            return
        pipeline.close(grace)  # outside the lock; a reconfigure closing it meanwhile ends its close first
        with self._control_lock:
            if self._stop_reported:
                return
            self._stop_reported = True
            self._set_state(State.STOPPED, "")
        self.bus.flush()
        log.info("%s", self.summary())

    def summary(self) -> str:
        snapshot = self._snapshot()
        if snapshot is None:
            return "Nothing was done."
        elapsed = time.monotonic() - snapshot.started
        waiting = len(self.ledger.restores())
        restores = f"; {waiting} archived, waiting for their restore (they download while the agent runs)" if waiting else ""
        return (f"Downloaded {snapshot.downloaded} files ({human_size(snapshot.bytes)}) in {elapsed:.1f} s; "
                f"{snapshot.retries} retries; {snapshot.given_up} given up{restores}")

    @property
    def given_up(self) -> int:
        snapshot = self._snapshot()
        return snapshot.given_up if snapshot else 0

    def _snapshot(self) -> Snapshot | None:
        """The consumer's snapshot (of the pipeline finishing its downloads, during a reconfigure); None before one ran."""
        pipeline = self._pipeline
        return pipeline.consumer.snapshot() if pipeline is not None and pipeline.consumer is not None else None

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
            self._time_pause()
            consumer = self._pipeline.consumer if self._pipeline else None
        if consumer is not None:
            consumer.on_pause()
        log.info("Paused%s", f" until {until.astimezone():%Y-%m-%d %H:%M}" if until else " until resumed")

    def resume(self) -> None:
        with self._control_lock:
            self._pause = None
            self._pause_generation += 1
            pause_state.save(self.ledger, None)
            consumer = self._pipeline.consumer if self._pipeline else None
        if consumer is not None:
            consumer.on_resume()
        log.info("Resumed")

    def retry_now(self) -> None:
        """After the user fixed what held downloads (a new sign-in, say): try the queue at once, not after the backoff."""
        pipeline = self._pipeline
        if pipeline is not None and pipeline.consumer is not None:
            pipeline.consumer.retry_now()

    @property
    def paused_by_user(self) -> bool:
        """Whether downloads are paused: the pause the user chose last, which survives restarts (the one source the
        consumer, the restores and the status read). A timed pause that has ended is not one."""
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
        """Apply a new config: downloads running now finish; the next message uses the new settings. The pause stays.

        The wait for those downloads holds no lock that Pause, Resume or Quit need: they answer meanwhile."""
        plugins = self._hooks(config)  # raises ConfigError before anything is touched
        with self._reconfigure_lock:
            with self._control_lock:
                if self._stopped.is_set():
                    log.info("Not applying the new config from %s: the agent is stopping", config.source)
                    return
                old = self._pipeline if self._running else None
                self._running = False
                if old is not None:
                    old.stop_receiving()
            if old is not None:
                running = old.consumer.snapshot().active if old.consumer else 0
                if running:
                    log.info("Applying the new config from %s once the %d download%s running now finish%s", config.source,
                             running, "" if running == 1 else "s", "es" if running == 1 else "")
                old.close(grace=3600, abort=self._stopped)  # a stop() meanwhile cuts the wait short
            self.config, self.plugins = config, plugins
            if not self._stopped.is_set():
                self._start()
        if self._stopped.is_set():
            log.info("Not applying the new config from %s: the agent is stopping", config.source)
            return
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
        """What the engine is doing: the consumer's snapshot (one copy: the bytes and the rows agree), the pause, and
        the ledger's counts."""
        snapshot = self._snapshot()
        transfers = snapshot.transfers if snapshot else ()
        midnight = datetime.now().replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
        now = time.monotonic()
        state, detail = self._compute_state(snapshot)
        return Status(
            state=state,
            detail=detail,
            active=snapshot.active if snapshot else 0,
            bytes_done=sum(t.done for t in transfers),
            bytes_total=sum(t.size for t in transfers),
            downloaded=snapshot.downloaded if snapshot else 0,
            downloaded_today=self.ledger.count_since(midnight),
            retries=snapshot.retries if snapshot else 0,
            given_up=snapshot.given_up if snapshot else 0,
            failed_pending=len(self.ledger.pending_failures()),
            retry_in=snapshot.retry_in if snapshot and snapshot.problem else None,
            problem=str(snapshot.problem) if snapshot and snapshot.problem else None,
            paused_until=self.paused_until if state is State.PAUSED else None,
            downloads=tuple(DownloadProgress(t.bucket, t.key, t.size, t.done, now - t.started) for t in transfers),
        )

    def _compute_state(self, snapshot: Snapshot | None) -> tuple[State, str]:
        if self._state is State.STOPPED:
            return State.STOPPED, ""
        if snapshot is None:
            return State.STARTING, ""
        if self.paused_by_user:
            return State.PAUSED, ""
        if snapshot.problem is not None:
            return (State.OFFLINE if snapshot.offline else State.ATTENTION), snapshot.problem.title
        if snapshot.active or snapshot.tracked:
            return State.SYNCING, ""
        return State.IDLE, ""

    def _refresh_state(self) -> None:
        state, detail = self._compute_state(self._snapshot())
        self._set_state(state, detail)

    def _set_state(self, state: State, detail: str) -> None:
        with self._state_lock:
            if state is self._state:
                return
            self._state = state
        self.bus.publish(StateChanged(state, detail))
