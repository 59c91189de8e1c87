"""Archived objects (Glacier, Deep Archive, Intelligent-Tiering's archive tiers): restore, wait, then download.

Each one is restored once on request to S3 and remembered in the ledger as waiting, then downloaded once a HEAD (or
S3's ObjectRestore:Completed notification) says it is readable. Without `restore_archived`, say what to do instead;
never retry in a loop."""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from agent import errors
from agent.api import ObjectEvent
from agent.config import Config, RestoreSettings
from agent.engine.download import object_args
from agent.engine.ledger import Ledger, WaitingRestore
from agent.engine.retry import DENIED, Kind, classify, error_code

log = logging.getLogger(__name__)

STORAGE_CLASS_NAMES = {"GLACIER": "Glacier Flexible Retrieval", "DEEP_ARCHIVE": "Glacier Deep Archive",
                       "INTELLIGENT_TIERING": "Intelligent-Tiering"}
ARCHIVE_TIER_NAMES = {"ARCHIVE_ACCESS": "the Intelligent-Tiering Archive Access tier",
                      "DEEP_ARCHIVE_ACCESS": "the Intelligent-Tiering Deep Archive Access tier"}
CHECK_SECONDS = {"Expedited": 60.0, "Standard": 900.0, "Bulk": 1800.0}
"""How often a waiting object is checked with one HEAD: S3 takes minutes (Expedited) to hours (Standard, Bulk)."""
TICK_SECONDS = 30.0
MAX_REQUESTS = 3
"""Restores asked for one object: a restored copy that expired before the download asks again, a few times only."""
REFUSED = {"InvalidArgument", "InvalidObjectState", "InvalidRequest", "MalformedXML", "NoSuchKey", "NoSuchVersion", "404"}
"""RestoreObject answers that asking again cannot change."""


@dataclasses.dataclass(frozen=True)
class ArchiveState:
    """What a HEAD says about an object's archive: where it is, and whether a restore is under way or done."""

    storage_class: str
    archive_status: str | None
    restore: str | None

    @classmethod
    def of(cls, head: dict[str, Any]) -> ArchiveState:
        return cls(str(head.get("StorageClass") or "STANDARD"), head.get("ArchiveStatus") or None, head.get("Restore") or None)

    @property
    def where(self) -> str:
        """Where the object is archived, as a person reads it."""
        if self.archive_status:
            return ARCHIVE_TIER_NAMES.get(self.archive_status, f"the {self.archive_status} tier")
        return STORAGE_CLASS_NAMES.get(self.storage_class, self.storage_class)

    @property
    def readable(self) -> bool:
        """A restored copy is readable, or the object is not archived (any more)."""
        if self.restore and 'ongoing-request="false"' in self.restore:
            return True
        return self.storage_class not in ("GLACIER", "DEEP_ARCHIVE") and not self.archive_status

    @property
    def restoring(self) -> bool:
        return bool(self.restore and 'ongoing-request="true"' in self.restore)


def not_restored_reason(event: ObjectEvent, where: str) -> str:
    """What the user reads when the agent may not restore: what is wrong, and the two ways to fix it."""
    name = event.key.rsplit("/", 1)[-1]
    # Kept in the ledger and shown in the terminal and in Activity alike: the setting named both ways.
    return (f"{name} is archived in {where}; restore it (S3 console: Actions, Initiate restore) or set restore_archived "
            f"in the config ({errors.PLACES['restore_archived']}) to let the agent do it, then retry it (Activity's Failed "
            "list, or 's3-sqs-agent failed retry')")


class Restorer:
    """Asks S3 for restores and keeps the waiting list in the ledger. Shared by the workers and the RestoreWatcher."""

    def __init__(self, config: Config, ledger: Ledger, s3: Any) -> None:
        self.settings: RestoreSettings | None = config.restore_archived
        self.ledger = ledger
        self._s3 = s3

    def state(self, event: ObjectEvent) -> ArchiveState:
        return ArchiveState.of(self._s3.head_object(**object_args(event.bucket, event.key, event.version_id)))

    def park(self, event: ObjectEvent, message_id: str, queue_url: str, body: str) -> str | None:
        """An archived object with restore_archived set: ask for its restore (once) and keep it as waiting, so its
        message can be deleted. Returns None, or why S3 would not restore it (then it is reported as failed)."""
        assert self.settings is not None
        waiting = self.ledger.waiting_restore(event.bucket, event.key, event.version_id)
        if waiting is not None:
            log.info("%s is already waiting for its restore", event.key)
            return None
        state = self.state(event)
        refused = self._request(event, state, self.settings)
        if refused:
            return refused
        tier = self._tier(state, self.settings)
        self.ledger.wait_for_restore(event.bucket, event.key, event.version_id, event_to_json(event), message_id, queue_url,
                                     body, time.time() + (0.0 if state.readable else CHECK_SECONDS[tier]))
        days = self.settings.days
        if state.readable or state.restoring:
            log.warning("%s is archived in %s, and %s; it downloads once readable, without spending attempts", event.key,
                        state.where, "its restored copy is readable now" if state.readable else "a restore is under way")
        else:
            log.warning("%s is archived in %s: asked S3 to restore it for %d day%s (%s retrieval); it downloads once "
                        "readable, without spending attempts", event.key, state.where, days, "" if days == 1 else "s", tier)
        return None

    @staticmethod
    def _tier(state: ArchiveState, settings: RestoreSettings) -> str:
        """Expedited retrievals do not exist for Deep Archive nor for Intelligent-Tiering's archive tiers."""
        if settings.tier == "Expedited" and (state.storage_class == "DEEP_ARCHIVE" or state.archive_status):
            return "Standard"
        return settings.tier

    def _request(self, event: ObjectEvent, state: ArchiveState, settings: RestoreSettings) -> str | None:
        """One RestoreObject. Returns why S3 refused, when retrying cannot help; raises for anything else."""
        if state.readable or state.restoring:
            return None
        tier = self._tier(state, settings)
        request: dict[str, Any] = {"GlacierJobParameters": {"Tier": tier}}
        if not state.archive_status:  # Intelligent-Tiering brings the object back to a tier; it takes no Days
            request["Days"] = settings.days
        try:
            self._s3.restore_object(**object_args(event.bucket, event.key, event.version_id), RestoreRequest=request)
        except ClientError as exc:
            code = error_code(exc)
            if code in ("RestoreAlreadyInProgress", "ObjectAlreadyInActiveTierError"):
                return None
            if code == "GlacierExpeditedRetrievalNotAvailable" and tier == "Expedited":
                log.info("No Expedited retrieval capacity for %s now; asking for a Standard one", event.key)
                return self._request(event, state, dataclasses.replace(settings, tier="Standard"))
            if code not in DENIED and code not in REFUSED:
                raise  # offline, credentials, a busy server: classified by the caller, asked again later
            message = exc.response.get("Error", {}).get("Message") or code
            return (f"{not_restored_reason(event, state.where)} (the agent asked S3 to restore it and S3 refused: {code}: "
                    f"{message}{'; restoring needs the s3:RestoreObject permission' if code in DENIED else ''})")
        return None

    def check(self, waiting: WaitingRestore) -> ObjectEvent | None:
        """One HEAD: the event to download when the object is readable now; None while it is restoring (the next
        check is scheduled). Asks for the restore again when the restored copy expired before it was fetched."""
        event = event_from_json(waiting.event)
        state = self.state(event)
        if state.readable:
            return event
        if not state.restoring:
            if self.settings is None:  # restore_archived was turned off meanwhile
                raise RestoreRefused(not_restored_reason(event, state.where))
            if waiting.requests >= MAX_REQUESTS:
                raise RestoreRefused(f"{not_restored_reason(event, state.where)} (asked S3 to restore it {waiting.requests} "
                                     "times; each restored copy was gone before it could be downloaded)")
            log.warning("The restored copy of %s is gone before it was downloaded; asking S3 to restore it again", event.key)
            refused = self._request(event, state, self.settings)
            if refused:
                raise RestoreRefused(refused)
            self.ledger.restore_requested_again(waiting)
        tier = self._tier(state, self.settings) if self.settings else "Standard"
        log.info("%s is still being restored from %s; checking again in %.0f min", event.key, state.where,
                 CHECK_SECONDS[tier] / 60)
        self.ledger.check_restore_later(waiting, time.time() + CHECK_SECONDS[tier])
        return None


class RestoreRefused(Exception):
    """S3 will not restore the object for the agent: report it as failed, with this reason."""


class RestoreWatcher:
    """A thread that checks the objects waiting for their restore, at a low rate, and downloads each when readable."""

    def __init__(self, restorer: Restorer, handle: Callable[[ObjectEvent], object],
                 on_failed: Callable[[WaitingRestore, str], None], paused: Callable[[], bool]) -> None:
        self._restorer = restorer
        self._handle = handle  # ObjectHandler.handle
        self._on_failed = on_failed  # report it, and keep it where `failed list` shows it
        self._paused = paused
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="restores", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.wait(TICK_SECONDS):
            try:
                self._check_due()
            except Exception:  # the watcher outlives any one failure (a ledger that cannot be written, say)
                log.exception("Could not check the archived objects waiting for their restore; trying again in %g s",
                              TICK_SECONDS)

    def _check_due(self) -> None:
        for waiting in self._restorer.ledger.restores_due(time.time()):
            if self._stop.is_set() or self._paused():
                break
            self.check(waiting)

    def check(self, waiting: WaitingRestore) -> None:
        """Check one waiting object now, and download it if it is readable."""
        ledger = self._restorer.ledger
        try:
            event = self._restorer.check(waiting)
            if event is not None:
                self._handle(event)
                ledger.restore_done(waiting)
        except RestoreRefused as refused:
            self._on_failed(waiting, str(refused))
            ledger.restore_done(waiting)
        except Exception as exc:  # noqa: BLE001 - classified: checked again later unless it can never work
            failure = classify(exc)
            if failure.kind in (Kind.GIVE_UP, Kind.SUPERSEDED):
                if failure.kind is Kind.GIVE_UP:
                    self._on_failed(waiting, failure.reason)
                ledger.restore_done(waiting)
                return
            log.info("Could not check the restore of %s yet (%s); trying again later", waiting.key, failure.reason)
            ledger.check_restore_later(waiting, time.time() + CHECK_SECONDS["Standard"])


def event_to_json(event: ObjectEvent) -> str:
    data = dataclasses.asdict(event)
    data["event_time"] = event.event_time.isoformat() if event.event_time else None
    return json.dumps(data)


def event_from_json(text: str) -> ObjectEvent:
    data = json.loads(text)
    known = {f.name for f in dataclasses.fields(ObjectEvent)}
    data = {k: v for k, v in data.items() if k in known}
    if data.get("event_time"):
        data["event_time"] = datetime.fromisoformat(data["event_time"])
    return ObjectEvent(**data)
