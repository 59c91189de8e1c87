"""Masks secrets and AWS account numbers in text meant for other people (a diagnostics bundle, a support ticket)."""

from __future__ import annotations

import configparser
import io
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

MASK = "****"
MIN_SECRET_LENGTH = 6  # shorter values (a "1", a "true") would mask half of any text
SECRET_NAME = re.compile(r"secret|token|passw|credential|private|signature|api[_-]?key|access[_-]?key|auth", re.IGNORECASE)
"""Names of variables, options and fields whose values are secrets."""
SHOWN_SETTINGS = {"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_CONFIG_FILE",
                  "AWS_SHARED_CREDENTIALS_FILE", "AWS_CA_BUNDLE", "AWS_STS_REGIONAL_ENDPOINTS", "AWS_USE_FIPS_ENDPOINT",
                  "AWS_SDK_LOAD_CONFIG", "AWS_EC2_METADATA_DISABLED", "AWS_CREDENTIAL_EXPIRATION", "AWS_MAX_ATTEMPTS",
                  "AWS_RETRY_MODE"}
"""AWS_* variables whose values describe a setup without giving anything away."""

_NOT_A_PLACE = r"(?<!file)(?<!path)(?<!dir)(?<!expiration)"  # AWS_SHARED_CREDENTIALS_FILE=~/.aws/credentials is no secret

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Access key ids (AKIA long-term, ASIA temporary, and the other IAM unique-id prefixes): keep the kind.
    (re.compile(r"(?<![A-Z0-9])(AKIA|ASIA|AIDA|AROA|AGPA|ANPA|ANVA|APKA|ABIA|ACCA)[A-Z0-9]{12,}(?![A-Z0-9])"), rf"\1{MASK}"),
    # A user name and password in a URL: https://user:pass@host/...
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@]*(?::[^/\s@]*)?@"), rf"\1{MASK}@"),
    # Signed URLs and signature headers: X-Amz-Credential=..., Signature=..., Credential=AKIA.../...
    (re.compile(r"(?i)\b(x-amz-(?:credential|signature|security-token)|awsaccesskeyid|signature|credential)([=:]\s*)[^&\s,;\"']+"),
     rf"\1\2{MASK}"),
    (re.compile(r"(?i)\b(authorization\s*[:=]\s*)[^\n]+"), rf"\1{MASK}"),
    # `name: value` and `name=value` lines whose name says secret (YAML, INI, logs of options, environment dumps).
    # The value ends at a comment (` #`), not at a `#` inside it (`hunter#2`).
    (re.compile(rf"(?im)^(\s*(?:-\s+)?[\"']?[\w.-]*(?:{SECRET_NAME.pattern})[\w.-]*{_NOT_A_PLACE}[\"']?\s*[:=][ \t]*+)(?!\s*$)(?![\"']?\*{{4}})"
                r"(?:(?![ \t]#)[^\n])+"), rf"\1{MASK}"),
    # The same inside a line, as in a flow mapping `env: {UPLOAD_TOKEN: abc123}` or a logged `token=abc123`.
    (re.compile(rf"(?i)((?<![\w.-])[\"']?[\w.-]*(?:{SECRET_NAME.pattern})[\w.-]*{_NOT_A_PLACE}[\"']?[ \t]*[:=][ \t]*+)(?![\"']?\*{{4}})"
                rf"(\"[^\"\n]{{4,}}\"|'[^'\n]{{4,}}'|[^\s,}}\]&;\"'*][^\s,}}\]&;\"']{{3,}})"), rf"\1{MASK}"),
    # Tokens with a known shape: GitHub's, Slack's (and its webhook URLs), bearer tokens in a command line.
    (re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_\w{20,}|xox[abprs]-[\w-]{10,})"), MASK),
    (re.compile(r"(?i)(https://hooks\.slack\.com/)[^\s\"',}\]]+"), rf"\1{MASK}"),
    (re.compile(r"(?i)\b(bearer\s+)[\w.~+/=-]{8,}"), rf"\1{MASK}"),
    # Session tokens and other long base64 blobs; 40-character secret access keys.
    (re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{100,}={0,2}(?![A-Za-z0-9/+=])"), MASK),
    (re.compile(r"(?<![A-Za-z0-9/+=])(?=[A-Za-z0-9/+]*[0-9/+])(?=[A-Za-z0-9/+]*[a-z])(?=[A-Za-z0-9/+]*[A-Z])"  # mixed, as keys are
                r"[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"), MASK),
    # Account numbers, as in queue URLs (https://sqs.REGION.amazonaws.com/123456789012/name) and ARNs.
    (re.compile(r"(?<![0-9])[0-9]{12}(?![0-9])"), "************"),
]


class Redactor:
    """Masks the secrets it was told about, wherever they appear, then everything that looks like one."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first: a secret that contains another is masked whole.
        self._secrets = sorted({s for s in secrets if len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    @classmethod
    def for_this_machine(cls, environ: Mapping[str, str] | None = None, config_text: str | None = None) -> Redactor:
        """Knows the secrets of the environment, the AWS config and credentials files, the AWS SSO token cache, and
        the plugins' options in `config_text` (the config file)."""
        environ = os.environ if environ is None else environ
        return cls([*environment_secrets(environ), *aws_file_secrets(environ), *plugin_secrets(config_text or "")])


def environment_secrets(environ: Mapping[str, str]) -> list[str]:
    """The values of environment variables whose names say they are secret, and of every AWS_* one not known harmless."""
    return [value for name, value in environ.items() if not _shown(name) and (SECRET_NAME.search(name) or name.startswith("AWS_"))]


def _shown(name: str) -> bool:
    return name in SHOWN_SETTINGS or name.startswith("AWS_ENDPOINT_URL")  # endpoints: a password in one is masked as in any URL


def describe_environment(environ: Mapping[str, str]) -> list[str]:
    """`NAME=value` for the AWS_* variables that are set, with the value masked unless it is a harmless setting."""
    return [f"{name}={value if _shown(name) else MASK}" for name, value in sorted(environ.items()) if name.startswith("AWS_")]


def aws_file_secrets(environ: Mapping[str, str]) -> list[str]:
    """Every key, secret and token in the AWS config and credentials files, and the SSO token cache."""
    home = Path(environ.get("HOME") or Path.home())
    found: list[str] = []
    for variable, default in (("AWS_CONFIG_FILE", home / ".aws" / "config"), ("AWS_SHARED_CREDENTIALS_FILE", home / ".aws" / "credentials")):
        parser = configparser.RawConfigParser(strict=False, interpolation=None)
        try:
            parser.read(Path(environ.get(variable) or default).expanduser(), encoding="utf-8")
        except (configparser.Error, OSError, UnicodeDecodeError):
            continue
        for section in parser.sections():
            found += [value for name, value in parser.items(section) if SECRET_NAME.search(name) or name == "aws_access_key_id"]
    for cache in ((home / ".aws" / "sso" / "cache").glob("*.json") if (home / ".aws" / "sso" / "cache").is_dir() else ()):
        try:
            data = json.loads(cache.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            found += [str(value) for name, value in data.items() if isinstance(value, str) and (SECRET_NAME.search(name) or name == "clientId")]
    return found


# A plugin's options are its own business: a password, a webhook URL or a token can be any option of any name, in any
# shape (`-u admin:pw` in a command line, an env value named GH). So every value under plugins[].options is masked,
# except what is needed to read the config and never a secret: the program a `command` runs, values made only of
# placeholders and separators ('{year}/{month}/{name}'), bare flags ('-i', '--', '--quiet'), and yes/no.
_PLACEHOLDERS_ONLY = re.compile(r"(?:\{\w*\}|[\s/\\._:@=-])*")
_BARE_FLAG = re.compile(r"--?(?:[A-Za-z][\w-]*)?")


def _shown_option(value: Any) -> bool:
    if value is None or isinstance(value, bool):
        return True
    return isinstance(value, str) and bool(_PLACEHOLDERS_ONLY.fullmatch(value) or _BARE_FLAG.fullmatch(value))


def _option_leaves(options: Any) -> Iterator[tuple[Any, Any]]:
    """(container, index or key) of every value in a plugin's options that is masked, at any depth."""
    if not isinstance(options, dict):
        return
    pending: list[tuple[Any, bool]] = [(options, False)]
    while pending:
        node, in_command = pending.pop()
        slots = list(node.items()) if isinstance(node, dict) else list(enumerate(node))
        for slot, value in slots:
            if isinstance(value, (dict, list)):
                pending.append((value, isinstance(node, dict) and node is options and slot == "command"))
            elif not (in_command and slot == 0) and not _shown_option(value):  # command[0]: the program
                yield node, slot


def plugin_secrets(config_text: str) -> list[str]:
    """The values of the plugins' options in a config file's text that are masked (none when it does not parse)."""
    try:
        data = yaml.safe_load(config_text)
    except yaml.YAMLError:
        return []
    entries = data.get("plugins") if isinstance(data, dict) else None
    found: list[str] = []
    for entry in entries if isinstance(entries, list) else ():
        options = entry.get("options") if isinstance(entry, dict) else None
        found += [str(node[slot]) for node, slot in _option_leaves(options)]
    return found


def mask_plugin_options(config_text: str) -> str:
    """The config file's text with every value under plugins[].options masked (see _shown_option), its comments and
    layout kept. A file that does not parse has every line of its `plugins:` block masked after the key."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError
    from ruamel.yaml.util import load_yaml_guess_indent

    loader = YAML(typ="rt")
    loader.preserve_quotes = True
    loader.width = 4096
    try:
        _, indent, sequence_offset = load_yaml_guess_indent(config_text)
        document = loader.load(config_text)
    except YAMLError:
        return _mask_plugin_block(config_text)
    loader.indent(mapping=2, sequence=indent or 2, offset=sequence_offset or 0)  # lists as the file indents them
    entries = document.get("plugins") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        return config_text
    for entry in entries:
        options = entry.get("options") if isinstance(entry, dict) else None
        for node, slot in list(_option_leaves(options)):
            node[slot] = MASK
    stream = io.StringIO()
    loader.dump(document, stream)
    return stream.getvalue()


_TOP_LEVEL_KEY = re.compile(r"^[^\s#-][^:]*:")
_KEYED_LINE = re.compile(r"^(\s*(?:-\s+)?[\w.-]+\s*:)[ \t]*(\S.*)$")
_ITEM_LINE = re.compile(r"^(\s*-\s+)(\S.*)$")
_OTHER_LINE = re.compile(r"^(\s*)(?!(?:-\s+)?[\w.-]+\s*:\s*$)(\S.*)$")
"""A line that goes on a value begun above: a block scalar's text (`key: >`), a flow list's next items (a key that
opens a block, such as `options:`, is no value)."""


def _mask_plugin_block(text: str) -> str:
    """Every value in the `plugins:` block of a file that does not parse, by lines, the lines that go on a value begun
    above too: the plugins' names stay."""
    lines = text.splitlines(keepends=True)
    inside = False
    for index, line in enumerate(lines):
        if _TOP_LEVEL_KEY.match(line):
            inside = line.startswith("plugins")
            continue
        body = line.rstrip("\r\n")
        keyed = _KEYED_LINE.match(body)
        if not inside or body.lstrip().startswith("#") or (keyed and keyed.group(1).strip(" \t-:") == "name"):
            continue
        match = keyed or _ITEM_LINE.match(body) or _OTHER_LINE.match(body)
        if match:
            lines[index] = f"{match.group(1)}{' ' if keyed else ''}{MASK}{line[len(body):]}"
    return "".join(lines)
