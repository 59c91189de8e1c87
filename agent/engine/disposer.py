"""Carries out what was decided for a message: delete it (in batches, once its files' ledger rows are committed),
release it for a retry, hold every download, or give it up to the dead-letter queue, the queue's redrive policy or the
ledger, telling the log, the plugins and the subscribers."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from agent.api import ObjectEvent
from agent.config import Config
from agent.engine import archive, explain, policy
from agent.engine.archive import Restorer
from agent.engine.events import EventBus, Failed, NeedsUser, Retrying
from agent.engine.handling import Aside, MessageHandler, Outcome, what
from agent.engine.hold import Source
from agent.engine.hooks import Hooks
from agent.engine.inflight import InFlight
from agent.engine.ledger import Ledger, WaitingRestore
from agent.engine.messages import record_body
from agent.engine.policy import Action, Decision, Disposal
from agent.engine.retry import Backoff, Failure, Kind, classify
from agent.engine.sqs import DeadLetterRefused, DeleteBatcher, Message, Queue, dead_letter_attributes, send_dead_letter
from agent.errors import NeedsUserError

log = logging.getLogger(__name__)


class Counters:
    """What this run did, for the status line and the summary. Every worker adds to them, so under a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.downloaded = 0
        self.bytes = 0
        self.retries = 0
        self.given_up = 0
        self.started = time.monotonic()

    def add_downloads(self, count: int, size: int) -> None:
        if count:
            with self._lock:
                self.downloaded += count
                self.bytes += size

    def add_retry(self) -> None:
        with self._lock:
            self.retries += 1

    def add_given_up(self) -> None:
        with self._lock:
            self.given_up += 1


class Disposer:
    """Shared by every worker; its own thread is the delete batcher's."""

    def __init__(self, config: Config, queue: Queue, messages: MessageHandler, inflight: InFlight, ledger: Ledger, plugins: Hooks,
                 bus: EventBus, *, dead_letter: Queue | None, restorer: Restorer, release_waiting: Callable[[], None],
                 on_change: Callable[[], None]) -> None:
        self.config = config
        self.queue = queue
        self.messages = messages
        self.inflight = inflight
        self.ledger = ledger
        self.plugins = plugins
        self.bus = bus
        self.dead_letter = dead_letter
        self.restorer = restorer
        self.hold = messages.hold
        self.counters = Counters()
        self._release_waiting = release_waiting  # hand back every message not started yet (a hold)
        self._on_change = on_change
        self._deleter = DeleteBatcher(queue, inflight.untrack, deletable=self._durable)

    def close(self) -> None:
        """Delete what is waiting for its batch, then stop the delete batcher."""
        self._deleter.close()

    def _durable(self, batch: list[Message]) -> list[Message]:
        rules = self.messages.rules
        return self.inflight.durable(batch, lambda message: Backoff.visibility(rules.backoff.delay(message.receive_count)))

    # ------------------------------------------------------------ a handled message

    def settle(self, message: Message, outcome: Outcome, attempt: int) -> None:
        """Carry out the outcome of handling `message`: first the records set aside, then the message's decision."""
        self.counters.add_downloads(outcome.downloaded, outcome.bytes)
        decision, event = outcome.decision, outcome.event
        if decision is policy.DONE and outcome.aside:
            decision, event = self._set_aside(message, outcome.aside, outcome.whole, attempt)
        self.carry_out(message, event, decision)

    def _set_aside(self, message: Message, aside: tuple[Aside, ...], whole: bool, attempt: int) -> tuple[Decision, ObjectEvent | None]:
        """Give up the records that can never download, each alone with its reason, while the others are down: then the
        message is done. A message of one record is given up as it came; archived objects wait for a restore."""
        rules = self.messages.rules
        for part in aside:
            try:
                decision = self._archived(message, part, whole, attempt) if part.failure.kind is Kind.ARCHIVED else \
                    policy.decide(part.failure, attempt, rules)
            except Exception as exc:  # noqa: BLE001 - S3 did not answer about the archive: the message comes back
                return self.messages.decide(message, part.event, classify(exc), attempt), part.event
            if decision is None:
                continue
            if whole:
                return decision, part.event
            try:
                self._give_up(message, part.event, decision, alone=(part.body or record_body(part.object_event()), part.bucket, part.key))
            except Exception as exc:  # noqa: BLE001 - the dead-letter queue is unreachable: keep the message and wait
                log.error("Could not dead-letter a record of message %s: %s", message.message_id, exc)
                return policy.undeliverable(classify(exc), attempt), None
        return policy.DONE, None

    def _archived(self, message: Message, part: Aside, whole: bool, attempt: int) -> Decision | None:
        """An archived object: with restore_archived, its restore is asked for and it waits in the ledger (None);
        without, it is kept where `failed list` shows it, with what to do. Raises when S3 does not answer."""
        event = part.object_event()
        body = message.body if whole else record_body(event)
        if self.restorer.settings is not None:
            refused = self.restorer.park(event, message.message_id, self.queue.url, body)
            if refused is None:
                return None
            reason = refused
        else:
            reason = archive.not_restored_reason(event, self.restorer.state(event).where)
        return policy.archived(Failure(Kind.ARCHIVED, reason), attempt)

    def carry_out(self, message: Message, event: ObjectEvent | None, decision: Decision) -> None:
        if decision.action is Action.DELETE:
            if decision is policy.DONE:
                self.resolved(self.hold.download_succeeded(message.message_id))
            self.delete(message)
        elif decision.action is Action.RELEASE:
            if decision.failure is not None:  # a retry
                self._retry_later(message, event, decision)
            else:
                self.inflight.release(message)
        elif decision.action is Action.HOLD:
            assert decision.failure is not None
            self.hold.spare_attempt(message.message_id)
            self.hold_all(decision.failure, Source.DOWNLOAD)
            self.inflight.release(message, Backoff.visibility(self.hold.remaining()))
            self._release_waiting()  # the others would fail the same way: hand them back instead of trying each
        else:
            self._give_up(message, event, decision)

    def delete(self, message: Message) -> None:
        self.hold.forget(message.message_id)
        self._deleter.add(message)

    def _retry_later(self, message: Message, event: ObjectEvent | None, decision: Decision) -> None:
        assert decision.failure is not None
        max_attempts = self.messages.rules.max_attempts
        log.warning("Retrying %s in %.0f s (attempt %d of %d): %s", what(message, event), decision.delay, decision.attempt,
                    max_attempts, decision.failure.reason)
        self.counters.add_retry()
        self.inflight.release(message, decision.visibility)
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
            self.carry_out(message, event, policy.undeliverable(classify(exc), decision.attempt))
            return
        if alone is None and disposal.deletes:
            self.delete(message)
        elif alone is None:
            self.inflight.release(message, decision.visibility)
        gave_up = (key or f"a record of message {message.message_id}") if alone else what(message, event)
        self.announce_given_up(event, message.message_id, decision.reason, disposal, gave_up)

    def announce_given_up(self, event: ObjectEvent | None, message_id: str, reason: str, disposal: Disposal,
                          gave_up: str | None = None) -> None:
        self.counters.add_given_up()
        log.error("Gave up on %s: %s; %s", gave_up or (event.key if event else f"message {message_id}"), reason, disposal.value)
        self.plugins.object_failed(event, reason)
        self.bus.publish(Failed(event, message_id, reason, disposal.value))

    def keep_failed(self, waiting: WaitingRestore, reason: str) -> None:
        """A restore that will not come: its message is kept in the ledger, where `failed list` shows it."""
        self.ledger.record_failure(waiting.message_id, waiting.queue_url, waiting.body, reason, waiting.bucket, waiting.key)
        self.announce_given_up(archive.event_from_json(waiting.event), waiting.message_id, reason, Disposal.LEDGER)

    # ------------------------------------------------------------ the hold on every download

    def hold_all(self, failure: Failure, source: Source) -> None:
        """Back off all receiving: the endpoint is offline, or the user must fix something."""
        held = self.hold.hold(explain.in_context(failure, self.config), source)
        log.warning("%s (next try in %.0f s)", str(held.problem).rstrip("."), held.delay)
        if held.new:
            self.bus.publish(NeedsUser.of(held.problem))
        self._on_change()

    def resolved(self, problem: NeedsUserError | None) -> None:
        """A success ended the hold for `problem` (None: there was none)."""
        if problem is not None:
            log.info("Back to normal: %s is resolved", problem.title.lower())
            self._on_change()
