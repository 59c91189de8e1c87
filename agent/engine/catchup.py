"""Catch-up: list the bucket (or a prefix) and bring what the ledger and the folder lack, through the safe path.

Keys come from the listing exactly as S3 stores them. They are never URL-decoded here: botocore asks S3 to
encode keys in the listing (so any byte survives the XML) and undoes exactly that encoding itself. Decoding
them again would turn `a+b.wav` into `a b.wav` (Filebeat #33998).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from agent.api import ObjectEvent
from agent.engine.ledger import Ledger
from agent.engine.objects import ObjectHandler
from agent.engine.retry import Kind, classify

log = logging.getLogger(__name__)


@dataclass
class CatchUpProgress:
    """Where a catch-up stands; handed to the progress callback after each object."""

    listed: int = 0
    already: int = 0
    downloaded: int = 0
    skipped: int = 0
    failed: int = 0
    bytes: int = 0
    current: str = ""
    done: bool = False
    failures: list[tuple[str, str]] = field(default_factory=list)  # (key, reason)


ProgressCallback = Callable[[CatchUpProgress], None]


def list_objects(s3: Any, bucket: str, prefix: str | None = None, since: datetime | None = None) -> Iterator[ObjectEvent]:
    """Every object under `prefix` modified at or after `since`, as events, with keys exactly as listed."""
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix or ""):
        for obj in page.get("Contents", []):
            modified = obj.get("LastModified")
            if since is not None and modified is not None and modified < since:
                continue
            yield ObjectEvent(bucket=bucket, key=obj["Key"], size=int(obj["Size"]), etag=str(obj.get("ETag", "")).strip('"') or None,
                              event_time=modified, event_name="ObjectCreated:CatchUp", source="catch-up",
                              operation="other")


def is_present(ledger: Ledger, event: ObjectEvent, folder: str) -> bool:
    """The ledger has this version in `folder`, and its file is still where the agent put it."""
    record = ledger.file(event.bucket, event.key, folder)
    return bool(record and event.etag and record.etag == event.etag and record.complete and record.path.exists())


def catch_up(handler: ObjectHandler, ledger: Ledger, events: Iterator[ObjectEvent], *, concurrency: int,
             progress: ProgressCallback | None = None, cancel: threading.Event | None = None) -> CatchUpProgress:
    """Bring every listed object that is missing through `handler` (filters, plugins, placement, safe download).

    A problem only the user can fix (access denied, disk full, offline) stops the catch-up and is raised.
    """
    state = CatchUpProgress()
    lock = threading.Lock()
    report = progress or (lambda _: None)
    stop_error: list[BaseException] = []

    def work(event: ObjectEvent) -> None:
        try:
            result = handler.handle(event)
        except Exception as exc:  # noqa: BLE001 - classified: the user's problems stop the run, others are counted
            failure = classify(exc)
            with lock:
                if failure.kind is Kind.WAIT:
                    stop_error.append(failure.error or exc)
                elif failure.kind is Kind.SUPERSEDED:
                    state.skipped += 1
                else:
                    state.failed += 1
                    state.failures.append((event.key, failure.reason))
                    log.error("Catch-up could not download %s: %s", event.key, failure.reason)
        else:
            with lock:
                if result is None:
                    state.skipped += 1
                else:
                    state.downloaded += 1
                    state.bytes += result.size
        with lock:
            state.current = event.key
            report(state)

    pending: set[Future[None]] = set()
    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="catch-up") as pool:
        try:
            _submit_all(pool, pending, events, work, state, lock, ledger, handler.folder, concurrency, report, stop_error, cancel)
        except BaseException:  # Ctrl+C: start nothing more; the downloads running now finish
            for future in pending:
                future.cancel()
            raise
        wait(pending)
    state.done = True
    report(state)
    if stop_error:
        raise stop_error[0]
    return state


def _submit_all(pool: ThreadPoolExecutor, pending: set[Future[None]], events: Iterator[ObjectEvent], work: Callable[[ObjectEvent], None],
                state: CatchUpProgress, lock: threading.Lock, ledger: Ledger, folder: str, concurrency: int, report: ProgressCallback,
                stop_error: list[BaseException], cancel: threading.Event | None) -> None:
    """Hand listed objects that are missing to the pool, never more than a few per worker at a time."""
    for event in events:
        if stop_error or (cancel is not None and cancel.is_set()):
            break
        with lock:
            state.listed += 1
        if is_present(ledger, event, folder):
            with lock:
                state.already += 1
                if state.listed % 100 == 0:
                    report(state)
            continue
        pending.add(pool.submit(work, event))
        if len(pending) >= concurrency * 4:  # never hold a whole large listing in memory
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            pending.difference_update(done)
