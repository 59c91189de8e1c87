"""Shipped plugin `by-date`: files downloads under the event's date, or under a template over key, time and metadata."""

from __future__ import annotations

import logging
import re
import string
from datetime import UTC, datetime, tzinfo
from pathlib import PurePosixPath
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agent.api import ObjectEvent, hookimpl
from agent.config import Config

log = logging.getLogger(__name__)

DEFAULT_TEMPLATE = "{year}/{month}/{day}/{path}"
TIME_FIELDS = ("year", "month", "day", "hour", "minute", "second", "date")
KEY_FIELDS = ("path", "key", "folder", "name", "stem", "suffix", "bucket")
NAMING_FIELDS = ("path", "key", "name", "stem")
FIELDS = (*TIME_FIELDS, *KEY_FIELDS, "meta")
_SEPARATORS = re.compile(r"[/\\]")


class _Metadata(dict[str, str]):
    """An object's user metadata (`x-amz-meta-*`, whose names S3 stores in lower case); a missing name gives `missing`."""

    def __init__(self, values: dict[str, str], missing: str) -> None:
        super().__init__({k.lower(): v for k, v in values.items()})
        self.missing = missing

    def __missing__(self, name: str) -> str:
        return self.get(name.lower()) or self.missing


class ByDate:
    """`by-date`: `{year}/{month}/{day}/` of the event time in front of the usual path, or your own template.

    Options:
      template: str   fields {year} {month} {day} {hour} {minute} {second} {date} (of the event time),
                      {path} (where the file would go without this plugin), {key}, {folder}, {name}, {stem},
                      {suffix}, {bucket}, and {meta[NAME]} (the object's x-amz-meta-NAME; costs one HEAD
                      request per object, made only when the template uses it).
      timezone: str   `local` (default), `utc`, or a zone name such as `Europe/Berlin`.
      missing: str    what an empty field or absent metadata becomes (default `unknown`).
    """

    def __init__(self, template: str = DEFAULT_TEMPLATE, timezone: str = "local", missing: str = "unknown") -> None:
        if not isinstance(template, str) or not template.strip():
            raise ValueError(f"option 'template' must be a non-empty string such as {DEFAULT_TEMPLATE!r}, got {template!r}")
        if not isinstance(missing, str) or not missing.strip() or _SEPARATORS.search(missing) or missing.strip(".") == "":
            raise ValueError(f"option 'missing' must be a plain name such as 'unknown', got {missing!r}")
        self.template = template
        self.missing = missing
        self.zone = _zone(timezone)
        self.uses_metadata = _check_template(template)
        self.s3: Any = None
        self.keep_prefixes = True
        _render_sample(self)

    @hookimpl
    def agent_startup(self, config: Config) -> None:
        self.keep_prefixes = config.keep_prefixes  # {path} is where the file would go without this plugin
        if self.uses_metadata:
            from agent.engine import aws  # boto3 clients are thread-safe: one is shared by all workers

            self.s3, _ = aws.make_clients(config)

    @hookimpl
    def agent_local_path(self, event: ObjectEvent, default_path: PurePosixPath) -> str:
        metadata = self._metadata(event) if self.uses_metadata else {}
        return self.render(event, default_path, metadata)

    def render(self, event: ObjectEvent, default_path: PurePosixPath, metadata: dict[str, str]) -> str:
        """The template filled in for one object (the engine makes the result safe)."""
        moment = event.event_time or datetime.now(UTC)
        moment = moment.astimezone() if self.zone is None else moment.astimezone(self.zone)
        key = event.key
        folder, _, name = key.rpartition("/")
        stem, dot, suffix = name.rpartition(".")
        if not dot or not stem:
            stem, suffix = name, ""
        else:
            suffix = "." + suffix
        plain = {"name": name, "stem": stem, "suffix": suffix, "bucket": event.bucket}
        values: dict[str, Any] = {
            "year": f"{moment.year:04d}", "month": f"{moment.month:02d}", "day": f"{moment.day:02d}",
            "hour": f"{moment.hour:02d}", "minute": f"{moment.minute:02d}", "second": f"{moment.second:02d}",
            "date": moment.strftime("%Y-%m-%d"),
            "path": (default_path if self.keep_prefixes else PurePosixPath(default_path.name)).as_posix(), "key": key,
            "folder": folder or self.missing,
            **{field: _flat(value) or (self.missing if field != "suffix" else "") for field, value in plain.items()},
            "meta": _Metadata({k: _flat(v) for k, v in metadata.items()}, self.missing),
        }
        return self.template.format_map(values)

    def _metadata(self, event: ObjectEvent) -> dict[str, str]:
        if self.s3 is None:
            raise RuntimeError("the S3 client was not set up (agent_startup did not run)")
        args: dict[str, Any] = {"Bucket": event.bucket, "Key": event.key}
        if event.version_id:
            args["VersionId"] = event.version_id
        head = self.s3.head_object(**args)  # a missing object raises: the message is retried like any other
        return dict(head.get("Metadata") or {})


def _flat(value: str) -> str:
    """A value that must not create folders of its own."""
    return _SEPARATORS.sub("_", value).strip()


def _zone(name: Any) -> tzinfo | None:
    """None means the computer's local time zone."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"option 'timezone' must be 'local', 'utc' or a zone name such as 'Europe/Berlin', got {name!r}")
    if name.lower() == "local":
        return None
    if name.lower() == "utc":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"option 'timezone': unknown time zone {name!r}; use 'local', 'utc' or a name such as 'Europe/Berlin'") from None


def _check_template(template: str) -> bool:
    """Raise ValueError for anything but the known fields. Returns whether the template reads the metadata."""
    fields: list[str] = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"option 'template' {template!r} is not a valid template ({exc}); fields look like {{year}}") from None
    for _, field, _, _ in parsed:
        if field is None:
            continue
        root = re.split(r"[.\[]", field, maxsplit=1)[0]
        if root not in FIELDS:
            known = ", ".join("{" + f + "}" for f in FIELDS[:-1])
            raise ValueError(f"option 'template': unknown field {{{field}}}; the fields are {known} and {{meta[NAME]}}")
        rest = field[len(root):]
        if root == "meta" and not re.fullmatch(r"\[[A-Za-z0-9_-]+\]", rest):
            raise ValueError(f"option 'template': write metadata as {{meta[NAME]}}, such as {{meta[artist]}}, got {{{field}}}")
        if root != "meta" and rest:
            raise ValueError(f"option 'template': {{{field}}} is not allowed; use {{{root}}} as it is")
        fields.append(root)
    if not any(field in NAMING_FIELDS for field in fields):
        raise ValueError(f"option 'template' {template!r} must name the file: include {{path}}, {{key}}, {{name}} or {{stem}}")
    return "meta" in fields


def _render_sample(plugin: ByDate) -> None:
    """Catch a template that validates but cannot be filled in (a bad format spec) now, not on the first download."""
    sample = ObjectEvent("bucket", "folder/file.wav", event_time=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    try:
        plugin.render(sample, PurePosixPath("folder/file.wav"), {})
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise ValueError(f"option 'template' {plugin.template!r} cannot be filled in: {exc}") from None
