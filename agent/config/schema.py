"""The config's keys, once: each one's name, type, default, kind of value (with its bounds), the template's words and
how the Settings window shows it. `Config` is this table; the template, the parser and Settings are built from it."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, dataclass_transform, overload

from agent.config.checks import Check, EndpointUrl, Flag, OneOf, Patterns, PluginList, QueueUrl, Rate, Region, Seconds, Section, Text, WholeNumber

T = TypeVar("T")
C = TypeVar("C")


PAGES = ("General", "Account", "Downloads", "Failures", "Notifications", "Plugins")
"""The Settings window's pages, in its sidebar's order: each key's `Shown.page` is one of them."""


class Widget(enum.Enum):
    """The kind of field Settings shows for a key."""

    TEXT = "a line of text"
    NUMBER = "a number, with arrows that stop at the bounds"
    CHECK = "a check box"
    CHOICE = "a list to choose from (the key's OneOf choices)"
    PROFILE = "an AWS profile: the profiles found, or a name typed in"
    LIST = "patterns, one a line"
    FOLDER = "a folder, typed or chosen"
    OWN_PAGE = "a page of its own (the plugins)"


@dataclass(frozen=True)
class Shown:
    """How Settings shows a key: on which page (the sidebar's section), with which label, hint and field. `{low}` and
    `{high}` in the hint are the key's bounds."""

    page: str
    label: str
    hint: str = ""
    widget: Widget = Widget.TEXT
    width: int | None = None
    """In characters; None: the field's own width."""
    placeholder: str = ""


@dataclass(frozen=True)
class Key:
    """One row of the table. A section's own keys have dotted names (`notifications.per_file`)."""

    name: str
    check: Check
    default: Any
    """dataclasses.MISSING for a required key."""
    help: str
    """The template's comment on the key (for a required key, the line above it)."""
    example: str
    """The template's example value; for a required key, the one its "is required" message shows too."""
    starter: str | None
    """What the template writes for a required key (None: the example)."""
    notes: tuple[str, ...]
    """More comment lines after the key in the template."""
    shown: Shown | None
    keys: tuple[Key, ...] = ()
    """A section's own keys."""

    @property
    def required(self) -> bool:
        return self.default is dataclasses.MISSING

    @property
    def switch(self) -> Key | None:
        """A switched section's on-off key (`restore_archived.tier`, with "Off" among its choices); else None."""
        name = self.check.switch if isinstance(self.check, Section) else None
        return next(inner for inner in self.keys if inner.name == f"{self.name}.{name}") if name else None

    @property
    def lead(self) -> Key:
        """A section's key that turns its others on and off in Settings: its switch, else its first key."""
        return self.switch or self.keys[0]

    @property
    def in_settings_order(self) -> tuple[Key, ...]:
        """A section's keys as Settings shows them: the lead first."""
        return (self.lead, *(inner for inner in self.keys if inner is not self.lead)) if self.keys else (self,)

    @property
    def hint(self) -> str:
        """Settings' hint, with the bounds filled in."""
        return self.shown.hint.format(low=_number(self.check.low), high=_number(self.check.high)) if self.shown else ""


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


@overload
def key(check: Check, *, default: T, help: str = "", example: str = "", starter: str | None = None,
        notes: tuple[str, ...] = (), shown: Shown | None = None) -> T: ...
@overload
def key(check: Check, *, help: str = "", example: str = "", starter: str | None = None, notes: tuple[str, ...] = (),
        shown: Shown | None = None) -> Any: ...


def key(check: Check, *, default: Any = dataclasses.MISSING, help: str = "", example: str = "", starter: str | None = None,
        notes: tuple[str, ...] = (), shown: Shown | None = None) -> Any:
    """A field of a config class: its value's kind and everything else the table says about it."""
    row = {"check": check, "help": help, "example": example, "starter": starter, "notes": notes, "shown": shown}
    return field(default=default, metadata={"row": row})


@dataclass_transform(frozen_default=True, field_specifiers=(key,))
def table(*, kw_only: bool = False) -> Callable[[type[C]], type[C]]:
    """Make a frozen dataclass of a class whose fields are all key()s."""

    def make(cls: type[C]) -> type[C]:
        return dataclasses.dataclass(frozen=True, kw_only=kw_only)(cls)

    return make


@table()
class NotificationSettings:
    """Which desktop notifications to show."""

    enabled: bool = key(Flag(), default=True, shown=Shown(
        "Notifications", "Show notifications", "Turn off to keep the agent quiet; everything still goes to the log.", Widget.CHECK))
    downloads: bool = key(Flag(), default=True, help='batched: "12 files downloaded"', shown=Shown(
        "Notifications", "Downloaded files, in batches", "“12 files downloaded”, a few seconds after the last one.", Widget.CHECK))
    per_file: bool = key(Flag(), default=False, shown=Shown(
        "Notifications", "Every downloaded file on its own", "Instead of batches; a burst still shows one summary.", Widget.CHECK))
    retries: bool = key(Flag(), default=True, shown=Shown(
        "Notifications", "Files that are not ready yet", "Once per file: “Waiting for take 01.wav to become available”.",
        Widget.CHECK))
    failures: bool = key(Flag(), default=True, shown=Shown(
        "Notifications", "Files that could not be downloaded", "When a message is given up, with the reason.", Widget.CHECK))
    errors: bool = key(Flag(), default=True, shown=Shown(
        "Notifications", "Problems you must fix", "Credentials, permissions, a full disk, a config error.", Widget.CHECK))


RESTORE_TIERS = ("Standard", "Bulk", "Expedited")


@table()
class RestoreSettings:
    """`restore_archived`: how the agent asks S3 to restore an archived object before downloading it."""

    days: int = key(WholeNumber(1, 365, "how many days S3 keeps the restored copy"), default=7,
                    help="ask S3 to restore each one for this many days, then download it",
                    shown=Shown("Failures", "Keep the restored copy for (days)",
                                "How long S3 keeps the restored copy; the agent downloads it well within that.", Widget.NUMBER))
    """How long S3 keeps the restored copy (the agent downloads it well within that)."""
    tier: str = key(OneOf(RESTORE_TIERS, "one of S3's retrieval tiers: Expedited (minutes, the dearest), Standard (hours) or "
                          "Bulk (the cheapest: up to 12 hours, 48 from Deep Archive)"), default="Standard",
                    help="Expedited (minutes), Standard (hours) or Bulk (up to 12 h; 48 h from Deep Archive)",
                    shown=Shown("Failures", "Archived files (Glacier)",
                                "Off: you are told, and the file waits in Activity's Failed list. Otherwise the agent asks S3 "
                                "to restore it (Expedited: minutes, the dearest; Standard: hours; Bulk: the cheapest, up to "
                                "12 hours) and downloads it once it is readable.", Widget.CHOICE, width=14))
    """S3's retrieval tier: Expedited (minutes, the dearest), Standard (hours), Bulk (the cheapest, slowest)."""


@dataclass(frozen=True)
class PluginSpec:
    """A plugin named in the config, with its options (validated by the plugin itself)."""

    name: str
    options: dict[str, Any] = field(default_factory=dict)
    line: int | None = None


ENDPOINT_PLACEHOLDER = "Leave empty for AWS"
"""What an empty Endpoint field says, in Settings and in Setup alike (words, so that it never looks like a value)."""
ENDPOINT_NOTES = ("With none of these, AWS itself, or what the AWS tools are set to: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL_SQS,",
                  "AWS_ENDPOINT_URL, or the profile's `services` section in ~/.aws/config.")


@table(kw_only=True)
class Config:
    """A validated config. Every field has its final type; paths are absolute. The order is Settings' order on each
    page, and the template's for the optional keys."""

    # Account
    aws_profile: str | None = key(Text(), default=None, example="default", shown=Shown(
        "Account", "AWS profile", "From your AWS config and credentials files. Empty: the standard AWS chain.", Widget.PROFILE))
    sqs_queue_url: str = key(QueueUrl(), help="the queue that receives the bucket's event notifications.",
                             example="https://sqs.us-east-2.amazonaws.com/123456789012/audio-uploads", starter="",
                             shown=Shown("Account", "Queue URL", "The SQS queue that receives the bucket's notifications.",
                                         placeholder="https://sqs.us-east-2.amazonaws.com/123456789012/audio-uploads"))
    s3_bucket_name: str | None = key(Text(), default=None, example="my-bucket", help="refuse notifications for any other bucket",
                                     shown=Shown("Account", "Bucket", "Optional: notifications for any other bucket are refused.",
                                                 width=32))
    aws_region: str | None = key(Region(), default=None, example="us-east-2", help="taken from the queue URL when left out",
                                 shown=Shown("Account", "Region", "Optional: taken from the queue URL when empty.", width=20,
                                             placeholder="us-east-2"))
    endpoint_url: str | None = key(EndpointUrl(), default=None, example="http://127.0.0.1:5000",
                                   help="one server for both S3 and SQS (moto, LocalStack)",
                                   shown=Shown("Account", "Endpoint", "Optional: one S3- and SQS-compatible server "
                                               "(LocalStack, moto). Empty: AWS.", placeholder=ENDPOINT_PLACEHOLDER))
    s3_endpoint_url: str | None = key(EndpointUrl(), default=None, example="http://127.0.0.1:9000",
                                      help="S3 on its own server (MinIO); overrides endpoint_url for S3",
                                      shown=Shown("Account", "S3 endpoint", "Optional: overrides the endpoint for S3 alone "
                                                  "(MinIO, say).", placeholder="Leave empty for the endpoint above"))
    sqs_endpoint_url: str | None = key(EndpointUrl(), default=None, example="http://127.0.0.1:9324",
                                       help="SQS on its own server (ElasticMQ); overrides endpoint_url for SQS",
                                       notes=ENDPOINT_NOTES,
                                       shown=Shown("Account", "SQS endpoint", "Optional: overrides the endpoint for SQS alone "
                                                   "(ElasticMQ, say).", placeholder="Leave empty for the endpoint above"))
    # General
    download_folder: Path = key(Text(optional=False), help="where downloaded files go. ~ and $VARIABLES are expanded.",
                                example="~/S3 Downloads", shown=Shown(
                                    "General", "Download folder",
                                    "New files go here. ~ and $VARIABLES are expanded; it is created if missing.", Widget.FOLDER))
    keep_prefixes: bool = key(Flag(), default=True, help="keep the key's folders under download_folder", shown=Shown(
        "General", "Keep the key's folders", "“sessions/2026/take 01.wav” goes to sessions/2026/ under the download folder; "
        "off: every file lands in the download folder itself.", Widget.CHECK))
    # Downloads
    concurrency: int = key(WholeNumber(1, 128), default=8, help="parallel downloads", shown=Shown(
        "Downloads", "Parallel downloads", "{low} to {high}. More helps with many small files.", Widget.NUMBER))
    max_bandwidth: int | None = key(Rate(), default=None, example="20MB/s", shown=Shown(
        "Downloads", "Bandwidth limit", "For all downloads together, such as 20MB/s or 512KiB/s. Empty: no limit.", width=20,
        placeholder="no limit"))
    include: tuple[str, ...] = key(Patterns(), default=(), example="['*.wav', '*.flac']", help="glob patterns on the object key",
                                   shown=Shown("Downloads", "Only download", "Glob patterns on the object key, one a line, such "
                                               "as *.wav. Empty: every file.", Widget.LIST))
    exclude: tuple[str, ...] = key(Patterns(), default=(), example="['tmp/*']", shown=Shown(
        "Downloads", "Never download", "Patterns to skip, one a line, such as tmp/*.", Widget.LIST))
    # Failures
    max_attempts: int = key(WholeNumber(1, 100), default=6,
                            help="then give up: dead-letter queue, queue redrive policy, or local ledger", shown=Shown(
                                "Failures", "Attempts before giving up",
                                "A file that keeps failing is then dead-lettered, never dropped.", Widget.NUMBER))
    retry_base_seconds: float = key(Seconds(), default=2.0, example="2", shown=Shown(
        "Failures", "First retry after (seconds)", "Each retry waits about twice as long as the one before.", Widget.NUMBER))
    retry_max_seconds: float = key(Seconds(), default=300.0, example="300", shown=Shown(
        "Failures", "Longest wait between retries (seconds)", widget=Widget.NUMBER))
    dead_letter_queue_url: str | None = key(QueueUrl(optional=True), default=None,
                                            example="https://sqs.us-east-2.amazonaws.com/123456789012/audio-uploads-dlq",
                                            shown=Shown("Failures", "Dead-letter queue", "Optional: where given-up messages go, "
                                                        "with the reason. Empty: the queue's own redrive policy, or "
                                                        "Activity's Failed list."))
    restore_archived: RestoreSettings | None = key(Section("{days: 7, tier: Standard}", switch="tier"), default=None,
                                                   help="objects archived in Glacier or an Intelligent-Tiering archive tier:")
    """None: an archived object is reported once and kept in the ledger as failed, never restored unasked."""
    # Notifications
    notifications: NotificationSettings = key(Section("{enabled: true}"), default=NotificationSettings())
    # Plugins
    plugins: tuple[PluginSpec, ...] = key(PluginList(), default=(), notes=(
        "- name: by-date", "  options: {template: '{year}/{month}/{day}/{name}'}"),
                                          shown=Shown("Plugins", "Plugins", widget=Widget.OWN_PAGE))
    source: Path | None = field(default=None, compare=False)

    def replace(self, **changes: Any) -> Config:
        return dataclasses.replace(self, **changes)

    @property
    def s3_endpoint(self) -> str | None:
        """The S3 server the config names (s3_endpoint_url, else endpoint_url); None leaves it to boto3's own settings."""
        return self.s3_endpoint_url or self.endpoint_url

    @property
    def sqs_endpoint(self) -> str | None:
        """The SQS server the config names (sqs_endpoint_url, else endpoint_url); None leaves it to boto3's own settings."""
        return self.sqs_endpoint_url or self.endpoint_url


SECTION_CLASSES: dict[str, type] = {"notifications": NotificationSettings, "restore_archived": RestoreSettings}
"""The class each section's mapping becomes."""


def _rows(cls: type, prefix: str = "") -> tuple[Key, ...]:
    rows = []
    for item in dataclasses.fields(cls):
        if "row" not in item.metadata:
            continue  # `source`: where the config came from, not a key
        name = prefix + item.name
        inner = SECTION_CLASSES.get(name)
        rows.append(Key(name, default=item.default, keys=_rows(inner, f"{name}.") if inner else (), **item.metadata["row"]))
    return tuple(rows)


KEYS: tuple[Key, ...] = _rows(Config)
"""The top-level keys, in Settings' order; a section's own keys are in its `keys`."""
BY_NAME: dict[str, Key] = {row.name: row for top in KEYS for row in (top, *top.keys)}
"""Every key, a section's own keys by their dotted names too."""
REQUIRED_KEYS = tuple(row.name for row in KEYS if row.required)
KNOWN_KEYS = tuple(row.name for row in KEYS)
SCALARS: dict[str, Check] = {row.name: row.check for row in KEYS if not row.keys and not isinstance(row.check, PluginList)}
"""The keys with a single value, and the check of each (the windows check a typed value with the config's own)."""
CREDENTIAL_KEYS = {"aws_access_key_id", "aws_secret_access_key", "aws_session_token", "access_key", "secret_key"}
