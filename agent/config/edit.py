"""Writing the config: set keys in the file keeping the user's comments, order and quoting (a ruamel.yaml round
trip), validated before anything is written, then written atomically."""

from __future__ import annotations

import io
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, overload

import yaml

from agent.atomic import make_private_dirs, write_text_atomically
from agent.config.parse import is_not_set_up, parse
from agent.config.schema import Config
from agent.config.template import TEMPLATE
from agent.errors import ConfigError, ConfigProblem


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


def options_text(options: Mapping[str, Any]) -> str:
    """A plugin's options as one line of YAML, as a window shows them for editing: `{template: '{year}/{name}'}`."""
    return yaml.safe_dump(dict(options), default_flow_style=True, width=4096).strip() if options else ""


def read_options(text: str | None) -> dict[str, Any] | None:
    """The options typed for a plugin (`{template: '{year}/{name}'}`): a mapping, {} for nothing, None when the text is
    not a YAML mapping."""
    if not text:
        return {}
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    return value if isinstance(value, dict) else None
