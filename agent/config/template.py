"""The commented config a first run writes, built from the table: the required keys to fill in, then every other key
as a commented example where it is explained."""

from __future__ import annotations

from agent.config.schema import KEYS, Key

HEADER = """\
# S3 SQS Agent configuration.
# Fill in the required keys below, save, and the agent picks the change up.
# Credentials are never read from this file: use the standard AWS chain
# (environment variables, ~/.aws/credentials profiles, SSO, or an instance role).
"""
COMMENT_COLUMN = 32


def _with_comment(text: str, comment: str) -> str:
    if not comment:
        return text
    return f"{text.ljust(COMMENT_COLUMN) if len(text) <= COMMENT_COLUMN - 2 else text + '  '}# {comment}"


def _yaml(value: object) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _required(row: Key) -> list[str]:
    starter = row.example if row.starter is None else row.starter
    return [f"# Required: {row.help}",
            _with_comment(f"{row.name}: '{starter}'", f"e.g. {row.example}" if starter != row.example else "")]


def _optional(row: Key) -> list[str]:
    if not row.keys:
        example = row.example or ("" if row.default in (None, ()) else _yaml(row.default))
        return [_with_comment(f"# {row.name}: {example}".rstrip(), row.help), *(f"#   {note}" for note in row.notes)]
    lines = [_with_comment(f"# {row.name}:", row.help)]
    indent = "  " if row.help else ""  # the section's comment goes on, key by key
    for inner in row.keys:
        lines.append(_with_comment(f"#   {inner.name.split('.')[-1]}: {_yaml(inner.default)}", inner.help and indent + inner.help))
    return lines


def build() -> str:
    required = [line for row in KEYS if row.required for line in _required(row)]
    optional = [line for row in KEYS if not row.required for line in _optional(row)]
    return "\n".join([*HEADER.splitlines(), "", *required, "", "# Optional.", *optional]) + "\n"


TEMPLATE = build()
