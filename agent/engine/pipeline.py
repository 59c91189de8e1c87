"""The parts one config runs on (downloader, object handler, plugins, consumer, restore watcher): built and closed here only."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agent.config import Config
from agent.engine.archive import Restorer, RestoreWatcher
from agent.engine.consumer import Consumer
from agent.engine.download import Downloader, TransferSettings
from agent.engine.early import FirstReceive
from agent.engine.events import EventBus
from agent.engine.hooks import Hooks
from agent.engine.ledger import Ledger
from agent.engine.objects import ObjectHandler
from agent.engine.sqs import Queue, QueueInfo


@dataclass
class Pipeline:
    """What one config runs on. A catch-up alone builds only its downloads part (`for_downloads`); the engine builds
    it whole (`build`). `close()` shuts down whatever was built, once, whoever calls it and however often."""

    downloader: Downloader
    handler: ObjectHandler
    plugins: Hooks
    consumer: Consumer | None = None
    restores: RestoreWatcher | None = None
    sqs: Any = None  # the queue calls' client (botocore's, or the CRT's): its connections are closed with the rest
    _close_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _closed: bool = field(default=False, repr=False)

    @classmethod
    def for_downloads(cls, config: Config, ledger: Ledger, plugins: Hooks, bus: EventBus, s3: Any) -> Pipeline:
        """The downloader and the handler, with the plugins started: what brings one object to disk."""
        downloader = Downloader(s3, TransferSettings(concurrency=config.concurrency, max_bandwidth=config.max_bandwidth))
        handler = ObjectHandler(config, ledger, downloader, plugins, bus)
        plugins.startup(config)
        return cls(downloader, handler, plugins)

    @classmethod
    def build(cls, config: Config, ledger: Ledger, plugins: Hooks, bus: EventBus, s3: Any, sqs: Any, queue: Queue,
              info: QueueInfo, *, info_known: bool, drain: bool, paused: Callable[[], bool],
              on_change: Callable[[], None], first: FirstReceive | None = None) -> Pipeline:
        """Everything, not yet started. `sqs`: the client of `queue` (botocore's or the CRT's, sqs_crt.py), for the
        dead-letter queue too. `paused`: the engine's pause, which the consumer and the restores obey. `first`: a
        receive already under way (early.py), whose messages are the consumer's first batch."""
        pipeline = cls.for_downloads(config, ledger, plugins, bus, s3)
        dead_letter = Queue(sqs, config.dead_letter_queue_url) if config.dead_letter_queue_url else None
        restorer = Restorer(config, ledger, s3)
        consumer = Consumer(config, queue, info, pipeline.handler, plugins, ledger, bus, dead_letter=dead_letter,
                            restorer=restorer, drain=drain, paused=paused, info_known=info_known, on_change=on_change,
                            first=first)
        pipeline.consumer, pipeline.sqs = consumer, sqs
        pipeline.restores = RestoreWatcher(restorer, consumer.fetch_restored, consumer.keep_failed, paused=paused)
        return pipeline

    def start(self) -> None:
        assert self.consumer is not None and self.restores is not None, "build() it whole first"
        self.consumer.start()
        self.restores.start()

    def stop_receiving(self) -> None:
        """Take no new message, and hand back those not started; running downloads go on (close() waits for them)."""
        if self.consumer is not None:
            self.consumer.stop_receiving()

    def close(self, grace: float, abort: threading.Event | None = None) -> None:
        """Stop the restores and the consumer (running downloads get `grace` seconds, or until `abort` is set), then
        the plugins and the downloader. A second caller waits for the first one's close to end."""
        with self._close_lock:
            if self._closed:
                return
            try:
                if self.restores is not None:
                    self.restores.stop()
                if self.consumer is not None:
                    self.consumer.stop(grace, abort)
                self.plugins.shutdown()
            finally:
                self.downloader.close()
                if self.sqs is not None:
                    self.sqs.close()
                self._closed = True
