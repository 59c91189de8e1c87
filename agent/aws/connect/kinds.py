"""What a step of a connect or disconnect plan acts on, and what it does to it: apply dispatches on these, never on
the words a person reads (those come from render)."""

from __future__ import annotations

import enum


class Resource(enum.Enum):
    """The kind of thing a step acts on."""

    DEAD_LETTER_QUEUE = "dlq"
    QUEUE = "queue"
    TOPIC = "topic"
    SUBSCRIPTION = "subscription"
    RULE = "rule"
    BUCKET_NOTIFICATIONS = "bucket"
    CONFIG_FILE = "config"


class Action(enum.StrEnum):
    """What a step does: `keep` is a resource that exists and stays as it is."""

    CREATE = "create"
    CHANGE = "change"
    REMOVE = "remove"
    KEEP = "keep"
