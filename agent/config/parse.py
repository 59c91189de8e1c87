"""Reading the config: text to a validated Config, with every problem named by file, line and key; and the lenient
reading a window needs to show what a file holds even when it does not load."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml

from agent.config.checks import PluginList, Section, blank, describe, did_you_mean
from agent.config.schema import BY_NAME, CREDENTIAL_KEYS, KEYS, KNOWN_KEYS, REQUIRED_KEYS, SECTION_CLASSES, Config, Key, PluginSpec
from agent.config.template import TEMPLATE
from agent.errors import ConfigError, ConfigProblem

MAX_CONFIG_BYTES = 1024 * 1024

Problem = Callable[..., ConfigProblem]


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
        raise ConfigError([problem(f"expected a mapping of keys to values at the top, got {describe(data)}", line=1)])
    lines = _key_lines(node) if node is not None else {}
    problems: list[ConfigProblem] = []
    values: dict[str, Any] = {}
    for key, line, first in (_duplicate_keys(node) if node is not None else []):
        problems.append(problem(f"appears more than once (first on line {first}); YAML would keep only the last, so remove one", key, line))

    for key, raw in data.items():
        key_line = lines.get(str(key))
        if not isinstance(key, str):
            problems.append(problem(f"keys must be names, got {describe(key)}", line=key_line))
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
        row = BY_NAME[key]
        if row.required and blank(raw):
            continue  # one message for it below: "is required"
        if row.keys:
            values[key] = _section(row, raw, lines, problem, problems)
        elif isinstance(row.check, PluginList):
            values[key] = _plugins(raw, lines, problem, problems)
        else:
            try:
                values[key] = row.check(raw)
            except ValueError as exc:
                problems.append(problem(str(exc), key, key_line))
    for key in REQUIRED_KEYS:
        example = f"{key}: {BY_NAME[key].example}"
        if key not in data:
            problems.append(problem(f"is required; add it, for example: {example}", key))
        elif blank(data[key]):
            problems.append(problem(f"is required but empty; fill it in, for example: {example}", key, lines.get(key)))

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


def _section(row: Key, raw: Any, lines: dict[str, int], problem: Problem, problems: list[ConfigProblem]) -> Any:
    """A section's mapping as its class, each of its keys checked by its own row; an unknown key is reported, with the
    closest known one or the list of them. A switched section (`restore_archived`): `true` takes the defaults, `false`
    or nothing turns it off (None)."""
    assert isinstance(row.check, Section)
    make, switch = SECTION_CLASSES[row.name], row.check.switch is not None
    if raw is None or (switch and raw is False):
        return None if switch else make()
    if switch and raw is True:
        return make()
    if not isinstance(raw, dict):
        problems.append(problem(f"expected a mapping such as {row.check.example}, got {describe(raw)}", row.name, lines.get(row.name)))
        return None if switch else make()
    known = [inner.name.rsplit(".", 1)[1] for inner in row.keys]
    settings: dict[str, Any] = {}
    for key, value in raw.items():
        path = f"{row.name}.{key}"
        if key not in known:
            hint = did_you_mean(key, known) or f"; known keys are: {', '.join(known)}"
            problems.append(problem(f"unknown key{hint}", path, lines.get(path)))
            continue
        try:
            settings[key] = BY_NAME[path].check(value)
        except ValueError as exc:
            problems.append(problem(str(exc), path, lines.get(path)))
    return make(**settings)


def _plugins(raw: Any, lines: dict[str, int], problem: Problem, problems: list[ConfigProblem]) -> tuple[PluginSpec, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.append(problem(f"expected a list such as [{{name: by-date}}], got {describe(raw)}", "plugins", lines.get("plugins")))
        return ()
    specs = []
    for index, entry in enumerate(raw):
        path = f"plugins.{index}"
        item = _plugin_item(entry)
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
            problems.append(problem(f"expected {{name: PLUGIN, options: {{...}}}}, got {describe(item)}", path, lines.get(path)))
            continue
        extra = set(item) - {"name", "options"}
        options = item.get("options") or {}
        if extra:
            problems.append(problem(f"unknown key {sorted(extra)[0]!r}; a plugin entry has 'name' and 'options'", path, lines.get(path)))
        elif not isinstance(options, dict):
            problems.append(problem(f"options must be a mapping, got {describe(options)}", f"{path}.options", lines.get(f"{path}.options")))
        else:
            specs.append(PluginSpec(item["name"], dict(options), lines.get(path)))
    return tuple(specs)


def _plugin_item(entry: Any) -> Any:
    """A plugins entry as a mapping: `- by-date` is short for `- {name: by-date}`."""
    return {"name": entry} if isinstance(entry, str) else entry


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
    return isinstance(data, dict) and blank(data.get("sqs_queue_url"))


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


def is_not_set_up(error: ConfigError) -> bool:
    """Every problem is a required key left empty: the template as first written, or a config after `disconnect`."""
    return all(p.key in REQUIRED_KEYS and p.message.startswith("is required") for p in error.problems)


@dataclass(frozen=True)
class PluginEntry:
    """One entry of a file's `plugins` list, as written: its name (None if it has none) and options."""

    name: str | None
    options: dict[str, Any]
    raw: Any
    """The entry itself, to be written back unchanged by a window that does not show it."""


@dataclass(frozen=True)
class FileValues:
    """What a config file holds, key by key, for a window that edits it, whether or not the file loads: each key's
    value as written (its default where the file leaves it out), invalid ones included, so that the window shows them
    with the parser's problems beside them."""

    values: dict[str, Any] = field(default_factory=dict)
    """By dotted name, for every key of the table but the sections themselves; a switched section's name (as
    `restore_archived`) says whether it is on."""
    plugins: tuple[PluginEntry, ...] = ()
    yaml_error: str | None = None
    """The text is not valid YAML: where and why. The values are then the defaults."""


def file_values(text: str | None) -> FileValues:
    """Read `text` (None: no file, which reads as the template) leniently; never raises."""
    yaml_error = None
    try:
        loaded = yaml.safe_load(text or TEMPLATE)
    except yaml.YAMLError as exc:
        loaded = None
        mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)  # where the broken part starts
        reason = str(getattr(exc, "problem", None) or exc).replace("<stream end>", "the end of the file")
        yaml_error = f"line {mark.line + 1}: {reason}" if mark is not None else reason
    data: dict[Any, Any] = loaded if isinstance(loaded, dict) else {}
    values: dict[str, Any] = {}
    for row in KEYS:
        raw = data.get(row.name)
        if row.keys:
            switch = isinstance(row.check, Section) and row.check.switch is not None
            section = raw if isinstance(raw, dict) else ({} if raw is True or not switch else None)
            if switch:
                values[row.name] = section is not None
            for inner in row.keys:
                values[inner.name] = (section or {}).get(inner.name.rsplit(".", 1)[1], inner.default)
        elif not isinstance(row.check, PluginList):
            default = None if row.required else row.default
            values[row.name] = data.get(row.name, list(default) if isinstance(default, tuple) else default)
    entries = data.get("plugins")
    plugins = []
    for entry in entries if isinstance(entries, list) else []:
        item = _plugin_item(entry)
        name = item.get("name") if isinstance(item, dict) and isinstance(item.get("name"), str) else None
        options = item.get("options") if isinstance(item, dict) else None
        plugins.append(PluginEntry(name, options if isinstance(options, dict) else {}, entry))
    return FileValues(values, tuple(plugins), yaml_error)
