"""The config file: schema, defaults, loading and validation with errors that name file, line and key."""

from __future__ import annotations

import dataclasses
import difflib
import io
import os
import re
import reprlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload
from urllib.parse import urlparse

import yaml

from agent.atomic import make_private_dirs, write_text_atomically
from agent.errors import ConfigError, ConfigProblem

MAX_CONFIG_BYTES = 1024 * 1024
SQS_MAX_VISIBILITY_SECONDS = 43_200

TEMPLATE = """\
# S3 SQS Agent configuration.
# Fill in the two required keys below, save, and the agent picks the change up.
# Credentials are never read from this file: use the standard AWS chain
# (environment variables, ~/.aws/credentials profiles, SSO, or an instance role).

# Required: the queue that receives the bucket's event notifications.
sqs_queue_url: ''               # e.g. https://sqs.us-east-2.amazonaws.com/123456789012/audio-uploads
# Required: where downloaded files go. ~ and $VARIABLES are expanded.
download_folder: '~/S3 Downloads'

# Optional.
# aws_region: us-east-2         # taken from the queue URL when left out
# s3_bucket_name: my-bucket     # refuse notifications for any other bucket
# aws_profile: default
# endpoint_url: http://127.0.0.1:5000   # one server for both S3 and SQS (moto, LocalStack)
# s3_endpoint_url: http://127.0.0.1:9000    # S3 on its own server (MinIO); overrides endpoint_url for S3
# sqs_endpoint_url: http://127.0.0.1:9324   # SQS on its own server (ElasticMQ); overrides endpoint_url for SQS
#   With none of these, AWS itself, or what the AWS tools are set to: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL_SQS,
#   AWS_ENDPOINT_URL, or the profile's `services` section in ~/.aws/config.
# concurrency: 8                # parallel downloads
# max_attempts: 6               # then give up: dead-letter queue, queue redrive policy, or local ledger
# retry_base_seconds: 2
# retry_max_seconds: 300
# dead_letter_queue_url: https://sqs.us-east-2.amazonaws.com/123456789012/audio-uploads-dlq
# include: ['*.wav', '*.flac']  # glob patterns on the object key
# exclude: ['tmp/*']
# keep_prefixes: true           # keep the key's folders under download_folder
# max_bandwidth: 20MB/s
# notifications:
#   enabled: true
#   downloads: true             # batched: "12 files downloaded"
#   per_file: false
#   retries: true
#   failures: true
#   errors: true
# restore_archived:             # objects archived in Glacier or an Intelligent-Tiering archive tier:
#   days: 7                     #   ask S3 to restore each one for this many days, then download it
#   tier: Standard              #   Expedited (minutes), Standard (hours) or Bulk (up to 12 h; 48 h from Deep Archive)
# plugins:
#   - name: by-date
#     options: {template: '{year}/{month}/{day}/{name}'}
"""


@dataclass(frozen=True)
class NotificationSettings:
    """Which desktop notifications to show."""

    enabled: bool = True
    downloads: bool = True
    per_file: bool = False
    retries: bool = True
    failures: bool = True
    errors: bool = True


RESTORE_TIERS = ("Standard", "Bulk", "Expedited")


@dataclass(frozen=True)
class RestoreSettings:
    """`restore_archived`: how the agent asks S3 to restore an archived object before downloading it."""

    days: int = 7
    """How long S3 keeps the restored copy (the agent downloads it well within that)."""
    tier: str = "Standard"
    """S3's retrieval tier: Expedited (minutes, the dearest), Standard (hours), Bulk (the cheapest, slowest)."""


@dataclass(frozen=True)
class PluginSpec:
    """A plugin named in the config, with its options (validated by the plugin itself)."""

    name: str
    options: dict[str, Any] = field(default_factory=dict)
    line: int | None = None


@dataclass(frozen=True)
class Config:
    """A validated config. Every field has its final type; paths are absolute."""

    sqs_queue_url: str
    download_folder: Path
    aws_region: str | None = None
    s3_bucket_name: str | None = None
    endpoint_url: str | None = None
    s3_endpoint_url: str | None = None
    sqs_endpoint_url: str | None = None
    aws_profile: str | None = None
    concurrency: int = 8
    max_attempts: int = 6
    retry_base_seconds: float = 2.0
    retry_max_seconds: float = 300.0
    dead_letter_queue_url: str | None = None
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    keep_prefixes: bool = True
    max_bandwidth: int | None = None
    notifications: NotificationSettings = NotificationSettings()
    restore_archived: RestoreSettings | None = None
    """None: an archived object is reported once and kept in the ledger as failed, never restored unasked."""
    plugins: tuple[PluginSpec, ...] = ()
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


REQUIRED_KEYS = ("sqs_queue_url", "download_folder")
CREDENTIAL_KEYS = {"aws_access_key_id", "aws_secret_access_key", "aws_session_token", "access_key", "secret_key"}


def did_you_mean(name: object, known: Iterable[str]) -> str:
    """"; did you mean 'x'?" naming the closest of `known`, or "" when none is close: the tail of an "unknown ..."."""
    close = difflib.get_close_matches(str(name), list(known), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


# ---------------------------------------------------------------- value checkers
# Each takes the raw YAML value and returns the converted value, or raises ValueError with what was expected.


def _string(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected a non-empty string, got {_describe(value)}")
    return value.strip()


def _blank(value: Any) -> bool:
    """No value at all: `key:`, `key: ''` or only spaces."""
    return value is None or (isinstance(value, str) and not value.strip())


def _optional_string(value: Any) -> str | None:
    return None if value is None or value == "" else _string(value)


def _int_between(low: int, high: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"expected a whole number from {low} to {high}, got {_describe(value)}")
        if not low <= value <= high:
            raise ValueError(f"expected a whole number from {low} to {high}, got {value}")
        return value

    return check


def _seconds(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"expected a number of seconds, got {_describe(value)}")
    if not 0 <= value <= SQS_MAX_VISIBILITY_SECONDS:
        raise ValueError(f"expected from 0 to {SQS_MAX_VISIBILITY_SECONDS} seconds (SQS's 12-hour limit), got {value}")
    return float(value)


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {_describe(value)}")
    return value


def _patterns(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"expected a glob pattern or a list of them, such as ['*.wav', 'takes/*'], got {_describe(value)}")
    return tuple(value)


def _queue_url(value: Any) -> str:
    url = _string(value)
    if url.startswith("arn:"):
        raise ValueError("this is a queue ARN; use the queue URL, such as https://sqs.REGION.amazonaws.com/ACCOUNT/NAME")
    parsed = urlparse(url)
    parts = [p for p in parsed.path.split("/") if p]
    if parsed.scheme not in ("http", "https") or not parsed.netloc or len(parts) != 2:
        raise ValueError(f"expected an SQS queue URL such as https://sqs.REGION.amazonaws.com/ACCOUNT/NAME, got {url!r}")
    return url


def _optional_queue_url(value: Any) -> str | None:
    return None if value is None or value == "" else _queue_url(value)


def _endpoint_url(value: Any) -> str | None:
    if value is None or value == "":
        return None
    url = _string(value)
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"expected an http:// or https:// URL such as http://127.0.0.1:5000, got {url!r}")
    return url.rstrip("/")


_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b|b)?\s*(?:/\s*s)?\s*$", re.IGNORECASE)
_RATE_UNITS = {"b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "kib": 1024, "mib": 1024**2, "gib": 1024**3}


def parse_rate(value: Any) -> int | None:
    """`20MB/s`, `512KiB/s` or a plain number of bytes per second; None or 0 means no limit."""
    if value is None or value == 0:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return int(value)
    match = _RATE.match(value) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"expected a rate such as 20MB/s or 512KiB/s, got {_describe(value)}")
    rate = int(float(match.group(1)) * _RATE_UNITS[(match.group(2) or "b").lower()])
    if rate < 1024:
        raise ValueError(f"a limit below 1KiB/s would stall downloads, got {value!r}")
    return rate


def _region(value: Any) -> str | None:
    if value is None or value == "":
        return None
    region = _string(value)
    if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d+", region):
        raise ValueError(f"expected an AWS region name such as us-east-2, got {region!r}")
    return region


SCALARS: dict[str, Callable[[Any], Any]] = {
    "sqs_queue_url": _queue_url,
    "download_folder": _string,  # expanded and resolved separately
    "aws_region": _region,
    "s3_bucket_name": _optional_string,
    "endpoint_url": _endpoint_url,
    "s3_endpoint_url": _endpoint_url,
    "sqs_endpoint_url": _endpoint_url,
    "aws_profile": _optional_string,
    "concurrency": _int_between(1, 128),
    "max_attempts": _int_between(1, 100),
    "retry_base_seconds": _seconds,
    "retry_max_seconds": _seconds,
    "dead_letter_queue_url": _optional_queue_url,
    "include": _patterns,
    "exclude": _patterns,
    "keep_prefixes": _bool,
    "max_bandwidth": parse_rate,
}
SECTIONS = ("notifications", "restore_archived", "plugins")
KNOWN_KEYS = (*SCALARS, *SECTIONS)


_SHORT_REPR = reprlib.Repr()
_SHORT_REPR.maxlevel, _SHORT_REPR.maxlist, _SHORT_REPR.maxdict, _SHORT_REPR.maxstring, _SHORT_REPR.maxother = 2, 4, 4, 60, 60


def _describe(value: Any) -> str:
    """A short description of a YAML value; bounded even for aliases nested a billion elements deep."""
    if value is None:
        return "nothing"
    text = _SHORT_REPR.repr(value)
    word = {str: "the text", int: "the number", float: "the number", bool: "", list: "the list", dict: "the mapping"}.get(
        type(value), type(value).__name__)
    return f"{word} {text[:60]}{'...' if len(text) > 60 else ''}".strip()


# ---------------------------------------------------------------- loading


def _key_lines(node: yaml.Node, prefix: str = "", lines: dict[str, int] | None = None, seen: set[int] | None = None) -> dict[str, int]:
    """Map dotted key paths ("plugins.0.name") to 1-based line numbers. Shared (aliased) nodes are walked once."""
    lines = {} if lines is None else lines
    seen = set() if seen is None else seen
    if id(node) in seen:
        return lines
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                path = f"{prefix}{key_node.value}"
                lines.setdefault(path, key_node.start_mark.line + 1)
                _key_lines(value_node, path + ".", lines, seen)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            path = f"{prefix}{index}"
            lines.setdefault(path, item.start_mark.line + 1)
            _key_lines(item, path + ".", lines, seen)
    return lines


def _duplicate_keys(node: yaml.Node, prefix: str = "", seen: set[int] | None = None) -> list[tuple[str, int, int]]:
    """(dotted key, line, first line) for every key given twice in one mapping: YAML silently keeps the last."""
    seen = set() if seen is None else seen
    if id(node) in seen:
        return []
    seen.add(id(node))
    found: list[tuple[str, int, int]] = []
    if isinstance(node, yaml.MappingNode):
        first: dict[str, int] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                path, line = f"{prefix}{key_node.value}", key_node.start_mark.line + 1
                if path in first:
                    found.append((path, line, first[path]))
                first.setdefault(path, line)
                found.extend(_duplicate_keys(value_node, path + ".", seen))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            found.extend(_duplicate_keys(item, f"{prefix}{index}.", seen))
    return found


def parse(text: str, source: Path | None = None) -> Config:
    """Validate config text. Raises ConfigError listing every problem found."""
    file = str(source) if source else "<config>"

    def problem(message: str, key: str | None = None, line: int | None = None) -> ConfigProblem:
        return ConfigProblem(file, message, key, line)

    if len(text.encode("utf-8", "surrogateescape")) > MAX_CONFIG_BYTES:
        raise ConfigError([problem(f"the file is larger than {MAX_CONFIG_BYTES // 1024} KiB; a config file is a few lines")])
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        what = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        message = f"this is not valid YAML: {what}" + (f" ({context})" if context else "")
        if "could not determine a constructor" in str(exc):
            message = "YAML tags that build objects (like !!python/...) are not allowed; use plain values"
        raise ConfigError([problem(message, line=mark.line + 1 if mark else None)]) from None
    except RecursionError:
        raise ConfigError([problem("the YAML is nested too deeply")]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([problem(f"expected a mapping of keys to values at the top, got {_describe(data)}", line=1)])
    lines = _key_lines(node) if node is not None else {}
    problems: list[ConfigProblem] = []
    values: dict[str, Any] = {}
    for key, line, first in (_duplicate_keys(node) if node is not None else []):
        problems.append(problem(f"appears more than once (first on line {first}); YAML would keep only the last, so remove one", key, line))

    for key, raw in data.items():
        key_line = lines.get(str(key))
        if not isinstance(key, str):
            problems.append(problem(f"keys must be names, got {_describe(key)}", line=key_line))
            continue
        if key in CREDENTIAL_KEYS:
            problems.append(problem(
                "credentials are never read from the config file; remove it and use environment variables, "
                "a profile in ~/.aws/credentials (with aws_profile), SSO, or an instance role", key, key_line))
            continue
        if key not in KNOWN_KEYS:
            hint = did_you_mean(key, KNOWN_KEYS) or f"; known keys are: {', '.join(KNOWN_KEYS)}"
            problems.append(problem(f"unknown key{hint}", key, key_line))
            continue
        if key in REQUIRED_KEYS and _blank(raw):
            continue  # one message for it below: "is required"
        if key in SCALARS:
            try:
                values[key] = SCALARS[key](raw)
            except ValueError as exc:
                problems.append(problem(str(exc), key, key_line))
    for key in REQUIRED_KEYS:
        if key not in data:
            problems.append(problem(f"is required; add it, for example: {_EXAMPLES[key]}", key))
        elif _blank(data[key]):
            problems.append(problem(f"is required but empty; fill it in, for example: {_EXAMPLES[key]}", key, lines.get(key)))

    if "notifications" in data:
        values["notifications"] = _notifications(data["notifications"], lines, problem, problems)
    if "restore_archived" in data:
        values["restore_archived"] = _restore_archived(data["restore_archived"], lines, problem, problems)
    if "plugins" in data:
        values["plugins"] = _plugins(data["plugins"], lines, problem, problems)

    if "download_folder" in values:
        try:
            values["download_folder"] = resolve_folder(values["download_folder"], source)
        except ValueError as exc:
            problems.append(problem(str(exc), "download_folder", lines.get("download_folder")))
    base = values.get("retry_base_seconds", Config.retry_base_seconds)
    if values.get("retry_max_seconds", Config.retry_max_seconds) < base:
        problems.append(problem(f"must be at least retry_base_seconds ({base:g})", "retry_max_seconds", lines.get("retry_max_seconds")))
    if "sqs_queue_url" in values and "aws_region" not in values:
        values["aws_region"] = region_from_queue_url(values["sqs_queue_url"])
    if problems:
        raise ConfigError(problems)
    return Config(**values, source=source)


_EXAMPLES = {
    "sqs_queue_url": "sqs_queue_url: https://sqs.us-east-2.amazonaws.com/123456789012/audio-uploads",
    "download_folder": "download_folder: ~/S3 Downloads",
}


def _notifications(raw: Any, lines: dict[str, int], problem: Callable[..., ConfigProblem], problems: list[ConfigProblem]) -> NotificationSettings:
    if raw is None:
        return NotificationSettings()
    if not isinstance(raw, dict):
        problems.append(problem(f"expected a mapping such as {{enabled: true}}, got {_describe(raw)}", "notifications", lines.get("notifications")))
        return NotificationSettings()
    settings: dict[str, bool] = {}
    for key, value, path in _known_items("notifications", raw, NotificationSettings, lines, problem, problems):
        if not isinstance(value, bool):
            problems.append(problem(f"expected true or false, got {_describe(value)}", path, lines.get(path)))
        else:
            settings[key] = value
    return NotificationSettings(**settings)


def _known_items(section: str, raw: dict[Any, Any], settings: type, lines: dict[str, int], problem: Callable[..., ConfigProblem],
                 problems: list[ConfigProblem]) -> Iterator[tuple[str, Any, str]]:
    """A section's (key, value, dotted path) for each key its settings class has; an unknown key is reported, with the
    closest known one or the list of them."""
    known = [f.name for f in dataclasses.fields(settings)]
    for key, value in raw.items():
        path = f"{section}.{key}"
        if key in known:
            yield key, value, path
            continue
        hint = did_you_mean(key, known) or f"; known keys are: {', '.join(known)}"
        problems.append(problem(f"unknown key{hint}", path, lines.get(path)))


def _restore_archived(raw: Any, lines: dict[str, int], problem: Callable[..., ConfigProblem],
                      problems: list[ConfigProblem]) -> RestoreSettings | None:
    """`restore_archived: {days: 7, tier: Standard}`; `true` takes both defaults; `false` or nothing turns it off."""
    if raw is None or raw is False:
        return None
    if raw is True:
        return RestoreSettings()
    if not isinstance(raw, dict):
        problems.append(problem(f"expected a mapping such as {{days: 7, tier: Standard}}, got {_describe(raw)}",
                                "restore_archived", lines.get("restore_archived")))
        return None
    settings: dict[str, Any] = {}
    for key, value, path in _known_items("restore_archived", raw, RestoreSettings, lines, problem, problems):
        if key == "days":
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 365:
                problems.append(problem(f"expected how many days S3 keeps the restored copy, a whole number from 1 to 365, "
                                        f"got {_describe(value)}", path, lines.get(path)))
            else:
                settings["days"] = value
        else:
            tier = next((t for t in RESTORE_TIERS if isinstance(value, str) and value.strip().lower() == t.lower()), None)
            if tier is None:
                problems.append(problem(f"expected one of S3's retrieval tiers: Expedited (minutes, the dearest), Standard "
                                        f"(hours) or Bulk (the cheapest: up to 12 hours, 48 from Deep Archive), got "
                                        f"{_describe(value)}", path, lines.get(path)))
            else:
                settings["tier"] = tier
    return RestoreSettings(**settings)


def _plugins(raw: Any, lines: dict[str, int], problem: Callable[..., ConfigProblem], problems: list[ConfigProblem]) -> tuple[PluginSpec, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.append(problem(f"expected a list such as [{{name: by-date}}], got {_describe(raw)}", "plugins", lines.get("plugins")))
        return ()
    specs = []
    for index, entry in enumerate(raw):
        path = f"plugins.{index}"
        item = {"name": entry} if isinstance(entry, str) else entry
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
            problems.append(problem(f"expected {{name: PLUGIN, options: {{...}}}}, got {_describe(item)}", path, lines.get(path)))
            continue
        extra = set(item) - {"name", "options"}
        options = item.get("options") or {}
        if extra:
            problems.append(problem(f"unknown key {sorted(extra)[0]!r}; a plugin entry has 'name' and 'options'", path, lines.get(path)))
        elif not isinstance(options, dict):
            problems.append(problem(f"options must be a mapping, got {_describe(options)}", f"{path}.options", lines.get(f"{path}.options")))
        else:
            specs.append(PluginSpec(item["name"], dict(options), lines.get(path)))
    return tuple(specs)


def resolve_folder(text: str, source: Path | None) -> Path:
    """Expand ~ and $VARIABLES; a relative folder is relative to the config file's folder."""
    expanded = os.path.expanduser(os.path.expandvars(text))
    unset = re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", expanded)
    if unset:
        raise ValueError(f"environment variable {unset[0]} is not set; set it or write the folder out in full")
    path = Path(expanded)
    if not path.is_absolute():
        path = (source.parent if source else Path.cwd()) / path
    return Path(os.path.normpath(path))


def make_download_folder(text: str, source: Path | None) -> tuple[Path, bool]:
    """The folder a setup answer names, created if missing: (its path, whether it was created). Raises ValueError
    (an unset variable, a folder that is not writable) or OSError (it cannot be made) with the reason."""
    folder = resolve_folder(text, source)
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    if not os.access(folder, os.W_OK):
        raise ValueError(f"{folder} is not writable for you")
    return folder, created


def region_from_queue_url(url: str) -> str | None:
    """`https://sqs.us-east-2.amazonaws.com/...` names its region; a local endpoint does not."""
    host = urlparse(url).hostname or ""
    match = re.match(r"^(?:sqs\.)?([a-z]{2}(?:-[a-z]+)+-\d+)\.(?:queue\.)?amazonaws\.com", host)
    return match.group(1) if match else None


def needs_setup(text: str | None) -> bool:
    """The agent is not set up yet: no config file, an empty one, or one whose queue URL is still empty (the untouched
    template). Then the tray offers its Setup window instead of reporting the missing key as an error."""
    if text is None:
        return True
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return False  # a file someone wrote: its errors are worth reporting
    if data is None:
        return True
    return isinstance(data, dict) and _blank(data.get("sqs_queue_url"))


def load(path: Path) -> Config:
    """Read and validate a config file. Raises ConfigError (never OSError) with what to do."""
    try:
        size = path.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise ConfigError([ConfigProblem(str(path), f"the file is {size // 1024} KiB; a config file is a few lines")])
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([ConfigProblem(str(path), "the file does not exist; run 's3-sqs-agent config path' to see where it belongs")]) from None
    except PermissionError:
        raise ConfigError([ConfigProblem(str(path), "the file cannot be read (permission denied); make it readable by your user")]) from None
    except UnicodeDecodeError:
        raise ConfigError([ConfigProblem(str(path), "the file is not UTF-8 text")]) from None
    except OSError as exc:
        raise ConfigError([ConfigProblem(str(path), f"the file cannot be read: {exc.strerror or exc}")]) from None
    return parse(text, path)


def write_template(path: Path) -> None:
    """Create a commented config for a first run, readable by the user only."""
    make_private_dirs(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(TEMPLATE)


class _Remove:
    def __repr__(self) -> str:
        return "REMOVE"


REMOVE: Any = _Remove()
"""A value for update_file(): delete the key from the file (its default applies again)."""


def is_not_set_up(error: ConfigError) -> bool:
    """Every problem is a required key left empty: the template as first written, or a config after `disconnect`."""
    return all(p.key in REQUIRED_KEYS and p.message.startswith("is required") for p in error.problems)


@overload
def update_file(path: Path, changes: Mapping[str, Any]) -> Config: ...
@overload
def update_file(path: Path, changes: Mapping[str, Any], *, allow_not_set_up: bool) -> Config | None: ...


def update_file(path: Path, changes: Mapping[str, Any], *, allow_not_set_up: bool = False) -> Config | None:
    """Set keys in the config file (REMOVE deletes one), keeping the user's comments, key order and quoting.

    A key that is only a commented example in the file (`# aws_region: us-east-2`, as in the template) is set in
    that place. Mappings such as `notifications` are merged key by key; lists are replaced. The result is validated
    before anything is written (ConfigError, file untouched), then written atomically. A missing file starts from
    the template. Returns the new config. The watcher applies the change to a running agent.
    With `allow_not_set_up`, a result whose only problems are empty required keys (`sqs_queue_url: ''`) is written
    too, and None returned for it.
    """
    try:
        text, config = preview_update(path, changes)
    except ConfigError as exc:
        if not (allow_not_set_up and is_not_set_up(exc)):
            raise
        text, config = with_changes(_current_text(path), changes, path), None
    write_text_atomically(path, text)
    return config


def _current_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return TEMPLATE


def preview_update(path: Path, changes: Mapping[str, Any]) -> tuple[str, Config]:
    """What update_file() would write, and the config it would load, without writing anything (ConfigError if invalid)."""
    new_text = with_changes(_current_text(path), changes, path)
    return new_text, parse(new_text, path)  # never write a file that would not load


def with_changes(text: str, changes: Mapping[str, Any], path: Path | None = None) -> str:
    """The config text `update_file()` would write for these changes, without validating or writing it (a window
    validates the would-be file with parse() as the user types). Raises ConfigError when the text is not a mapping."""
    from ruamel.yaml import YAML  # round-trips comments; only writers of the file need it

    for key, value in changes.items():
        if value is not REMOVE and not isinstance(value, Mapping):  # a new block mapping goes at the end instead
            text = _uncomment_example(text, key)
    yaml_rt = YAML(typ="rt")
    yaml_rt.preserve_quotes = True
    yaml_rt.width = 4096
    from ruamel.yaml.error import YAMLError

    try:
        document = yaml_rt.load(text) if text.strip() else None
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError([ConfigProblem(str(path or "<config>"), f"this is not valid YAML: {getattr(exc, 'problem', None) or exc}",
                                         line=mark.line + 1 if mark else None)]) from None
    if document is None:
        document = yaml_rt.load("{}")
        document.fa.set_block_style()
    if not isinstance(document, dict):
        raise ConfigError([ConfigProblem(str(path or "<config>"), "expected a mapping of keys to values at the top", line=1)])
    _merge(document, changes)
    stream = io.StringIO()
    yaml_rt.dump(document, stream)
    return stream.getvalue()


def _uncomment_example(text: str, key: str) -> str:
    """`# key: example  # note` at the top level becomes `key: null  # note`, so the value lands where it is explained."""
    if re.search(rf"^{re.escape(key)}\s*:", text, re.MULTILINE):
        return text
    pattern = re.compile(rf"^#\s?{re.escape(key)}\s*:[^#\n]*(#.*)?$", re.MULTILINE)
    return pattern.sub(lambda m: f"{key}: null" + (f"  {m.group(1)}" if m.group(1) else ""), text, count=1)


def _merge(target: Any, changes: Mapping[str, Any]) -> None:
    from ruamel.yaml.comments import CommentedSeq

    for key, value in changes.items():
        current = target.get(key)
        if value is REMOVE:
            target.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(current, dict):
            _merge(current, value)
        elif isinstance(value, (list, tuple)) and isinstance(current, list):
            current[:] = _plain(value)  # keeps the list's own style (block or flow) and its comments
        elif isinstance(value, (list, tuple)):
            sequence = CommentedSeq(_plain(value))
            sequence.fa.set_flow_style()  # `include: ['*.wav']`, as the template writes lists
            target[key] = sequence
        else:
            target[key] = _plain(value)


def _plain(value: Any) -> Any:
    """Values as YAML writes them: paths as strings, tuples as lists."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items() if v is not REMOVE}
    return value
