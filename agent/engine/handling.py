"""One message to its decisions: parse it, bring each of its objects to disk, and say what becomes of it (delete,
retry, hold, give up) and of the records to set aside on their own. No threads and no queue calls: the disposer
(agent/engine/disposer.py) carries the decisions out; the policy (agent/engine/policy.py) makes them."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from agent.api import ObjectEvent, PermanentFailure, RejectedRecord
from agent.engine import policy
from agent.engine.download import Cancelled
from agent.engine.hold import HoldState
from agent.engine.hooks import Hooks, PluginError
from agent.engine.objects import ObjectHandler
from agent.engine.policy import Decision, Rules
from agent.engine.retry import Failure, Kind, classify
from agent.engine.sqs import Message, summarize_body

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Aside:
    """One record of a message that can never download as it is: given up on its own, or left to wait for a restore."""

    event: ObjectEvent | None  # None: a record the parser rejected
    failure: Failure
    body: str | None  # the record alone, as the parser wrote it; None: built from the event
    bucket: str | None
    key: str | None

    def object_event(self) -> ObjectEvent:
        assert self.event is not None, "only a record that parsed has an event"
        return self.event


@dataclass(frozen=True)
class Outcome:
    """What handling a message came to. `decision` is the message's; with DONE, the records in `aside` are still to be
    given up on their own (or parked for a restore) before it is: `whole` says the message is that one record."""

    decision: Decision
    event: ObjectEvent | None = None  # the object it failed on, if one did
    aside: tuple[Aside, ...] = ()
    whole: bool = False
    downloaded: int = 0  # files brought to disk
    bytes: int = 0


class MessageHandler:
    """Handles one message at a time per calling thread; shared by every worker. Holds no lock and no thread."""

    def __init__(self, handler: ObjectHandler, plugins: Hooks, hold: HoldState, rules: Rules) -> None:
        self.objects = handler
        self.plugins = plugins
        self.hold = hold
        self.rules = rules  # replaced (never changed) when the queue's settings are learnt late

    def attempt(self, message: Message) -> int:
        return policy.attempt_number(message.receive_count, self.hold.unspent(message.message_id))

    def handle(self, message: Message, attempt: int) -> Outcome:
        """Bring every object of the message to disk, and decide."""
        aside: list[Aside] = []
        downloaded = size = 0
        try:
            items = self.plugins.parse_message(message.body, {**message.attributes, "MessageId": message.message_id})
            if items is None:
                raise PermanentFailure(f"the message is not in a format the agent knows: {summarize_body(message.body)}")
            for item in items:
                if isinstance(item, RejectedRecord):
                    aside.append(Aside(None, Failure(Kind.GIVE_UP, item.reason), item.body, item.bucket, item.key))
                    continue
                try:
                    done = self.objects.handle(item)
                except Cancelled:
                    raise
                except Exception as exc:  # noqa: BLE001 - every failure is classified; none may take a worker down
                    failure = classify_plugin_error(exc)
                    if failure.kind is Kind.SUPERSEDED:
                        log.info("Skipping %s: %s", item.key, failure.reason)
                    elif failure.kind in (Kind.GIVE_UP, Kind.ARCHIVED):  # this record alone, once the others are down
                        aside.append(Aside(item, failure, None, item.bucket, item.key))
                    else:  # retried or held as a whole: what was set aside is set aside again next time
                        return Outcome(self.decide(message, item, failure, attempt), item, downloaded=downloaded, bytes=size)
                    continue
                if done is not None:
                    downloaded += 1
                    size += done.size
        except Cancelled:
            return Outcome(policy.SHUTTING_DOWN, downloaded=downloaded, bytes=size)
        except Exception as exc:  # noqa: BLE001 - every failure is classified; none may take a worker down
            return Outcome(self.decide(message, None, classify_plugin_error(exc), attempt), downloaded=downloaded, bytes=size)
        if aside and len(items) != 1 and not policy.gives_up_alone(self.rules) and \
                any(a.failure.kind is Kind.GIVE_UP for a in aside):  # the redrive policy can only move it whole
            reasons = "; ".join(f"{a.key or 'a record'}: {a.failure.reason}" for a in aside if a.failure.kind is Kind.GIVE_UP)
            return Outcome(policy.decide(Failure(Kind.GIVE_UP, reasons), attempt, self.rules), downloaded=downloaded, bytes=size)
        return Outcome(policy.DONE, aside=tuple(aside), whole=len(items) == 1, downloaded=downloaded, bytes=size)

    def decide(self, message: Message, event: ObjectEvent | None, failure: Failure, attempt: int) -> Decision:
        brownout = failure.server_busy and self.hold.server_error(what(message, event))
        return policy.decide(failure, attempt, self.rules, brownout=brownout)


def what(message: Message, event: ObjectEvent | None) -> str:
    """The object a log line is about, or its message when it names none."""
    return event.key if event else f"message {message.message_id}"


def classify_plugin_error(exc: BaseException) -> Failure:
    """Like classify(), but what a plugin raised keeps its meaning: a malformed message gives up, a credentials or
    disk problem waits for the user; anything else is a failed attempt blamed on the plugin."""
    if isinstance(exc, PluginError):
        inner = classify(exc.error)
        if inner.kind in (Kind.GIVE_UP, Kind.WAIT):
            return Failure(inner.kind, f"{exc.plugin}: {inner.reason}", inner.error)
        log.error("%s", exc, exc_info=exc.error)
        return Failure(Kind.RETRY, str(exc))
    return classify(exc)
