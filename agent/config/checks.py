"""The kinds of value a config key takes: each checks a raw YAML value and converts it, or says what was expected."""

from __future__ import annotations

import difflib
import re
import reprlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

SQS_MAX_VISIBILITY_SECONDS = 43_200


class Check:
    """One kind of value. `__call__` takes the raw YAML value and returns the converted one, or raises ValueError
    saying what was expected. `low`/`high` are the bounds of a number (None for other kinds)."""

    low: float | None = None
    high: float | None = None
    integer = False

    def __call__(self, value: Any) -> Any:
        raise NotImplementedError


def blank(value: Any) -> bool:
    """No value at all: `key:`, `key: ''` or only spaces."""
    return value is None or (isinstance(value, str) and not value.strip())


@dataclass(frozen=True)
class Text(Check):
    """A non-empty string, or (when `optional`) nothing."""

    optional: bool = True

    def __call__(self, value: Any) -> str | None:
        if self.optional and (value is None or value == ""):
            return None
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"expected a non-empty string, got {describe(value)}")
        return value.strip()


@dataclass(frozen=True)
class WholeNumber(Check):
    """A whole number from `low` to `high`; `what` says what it counts, for the message."""

    low: int
    high: int
    what: str = ""
    integer = True

    def __call__(self, value: Any) -> int:
        what = f"{self.what}, a whole number" if self.what else "a whole number"
        if isinstance(value, bool) or not isinstance(value, int) or not self.low <= value <= self.high:
            shown = value if isinstance(value, int) and not isinstance(value, bool) and not self.what else describe(value)
            raise ValueError(f"expected {what} from {self.low} to {self.high}, got {shown}")
        return value


@dataclass(frozen=True)
class Seconds(Check):
    """A number of seconds, up to SQS's 12-hour visibility limit."""

    low: float = 0
    high: float = SQS_MAX_VISIBILITY_SECONDS

    def __call__(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"expected a number of seconds, got {describe(value)}")
        if not self.low <= value <= self.high:
            raise ValueError(f"expected from {self.low:g} to {self.high:g} seconds (SQS's 12-hour limit), got {value}")
        return float(value)


@dataclass(frozen=True)
class Flag(Check):
    """true or false."""

    def __call__(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise ValueError(f"expected true or false, got {describe(value)}")
        return value


@dataclass(frozen=True)
class Patterns(Check):
    """A glob pattern or a list of them."""

    def __call__(self, value: Any) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ValueError(f"expected a glob pattern or a list of them, such as ['*.wav', 'takes/*'], got {describe(value)}")
        return tuple(value)


@dataclass(frozen=True)
class QueueUrl(Check):
    """An SQS queue URL (never its ARN); nothing when `optional`."""

    optional: bool = False

    def __call__(self, value: Any) -> str | None:
        if self.optional and (value is None or value == ""):
            return None
        url = Text(optional=False)(value)
        assert url is not None
        if url.startswith("arn:"):
            raise ValueError("this is a queue ARN; use the queue URL, such as https://sqs.REGION.amazonaws.com/ACCOUNT/NAME")
        parsed = urlparse(url)
        parts = [p for p in parsed.path.split("/") if p]
        if parsed.scheme not in ("http", "https") or not parsed.netloc or len(parts) != 2:
            raise ValueError(f"expected an SQS queue URL such as https://sqs.REGION.amazonaws.com/ACCOUNT/NAME, got {url!r}")
        return url


@dataclass(frozen=True)
class EndpointUrl(Check):
    """An http:// or https:// server address, without its trailing slash; nothing means AWS itself."""

    def __call__(self, value: Any) -> str | None:
        if value is None or value == "":
            return None
        url = Text(optional=False)(value)
        assert url is not None
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(f"expected an http:// or https:// URL such as http://127.0.0.1:5000, got {url!r}")
        return url.rstrip("/")


@dataclass(frozen=True)
class Region(Check):
    """An AWS region name; nothing means the queue URL's region."""

    def __call__(self, value: Any) -> str | None:
        if value is None or value == "":
            return None
        region = Text(optional=False)(value)
        assert region is not None
        if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d+", region):
            raise ValueError(f"expected an AWS region name such as us-east-2, got {region!r}")
        return region


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
        raise ValueError(f"expected a rate such as 20MB/s or 512KiB/s, got {describe(value)}")
    rate = int(float(match.group(1)) * _RATE_UNITS[(match.group(2) or "b").lower()])
    if rate < 1024:
        raise ValueError(f"a limit below 1KiB/s would stall downloads, got {value!r}")
    return rate


@dataclass(frozen=True)
class Rate(Check):
    """Bytes per second, written as 20MB/s or 512KiB/s; nothing means no limit."""

    def __call__(self, value: Any) -> int | None:
        return parse_rate(value)


@dataclass(frozen=True)
class OneOf(Check):
    """One of a few names, in any case; `what` explains them, for the message."""

    choices: tuple[str, ...]
    what: str

    def __call__(self, value: Any) -> str:
        found = next((c for c in self.choices if isinstance(value, str) and value.strip().lower() == c.lower()), None)
        if found is None:
            raise ValueError(f"expected {self.what}, got {describe(value)}")
        return found


@dataclass(frozen=True)
class Section(Check):
    """A mapping of its own keys (`notifications`), each checked by its own row of the table. A section with a
    `switch` (`restore_archived`) is off unless asked for: `true` takes its defaults, `false` or nothing turns it off;
    Settings offers the switch key's choices with "Off" among them, and shows it first."""

    example: str
    switch: str | None = None


@dataclass(frozen=True)
class PluginList(Check):
    """`plugins`: a list of {name, options} entries (each plugin checks its own options)."""


def did_you_mean(name: object, known: Iterable[str]) -> str:
    """"; did you mean 'x'?" naming the closest of `known`, or "" when none is close: the tail of an "unknown ..."."""
    close = difflib.get_close_matches(str(name), list(known), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


_SHORT_REPR = reprlib.Repr()
_SHORT_REPR.maxlevel, _SHORT_REPR.maxlist, _SHORT_REPR.maxdict, _SHORT_REPR.maxstring, _SHORT_REPR.maxother = 2, 4, 4, 60, 60


def describe(value: Any) -> str:
    """A short description of a YAML value; bounded even for aliases nested a billion elements deep."""
    if value is None:
        return "nothing"
    text = _SHORT_REPR.repr(value)
    word = {str: "the text", int: "the number", float: "the number", bool: "", list: "the list", dict: "the mapping"}.get(
        type(value), type(value).__name__)
    return f"{word} {text[:60]}{'...' if len(text) > 60 else ''}".strip()
