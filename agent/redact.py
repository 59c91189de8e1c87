"""Masks secrets and AWS account numbers in text meant for other people (a diagnostics bundle, a support ticket)."""

from __future__ import annotations

import configparser
import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

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
    (re.compile(rf"(?im)^(\s*(?:-\s+)?[\"']?[\w.-]*(?:{SECRET_NAME.pattern})[\w.-]*{_NOT_A_PLACE}[\"']?\s*[:=][ \t]*)(?!\s*$)[^\n#]+"), rf"\1{MASK}"),
    # The same inside a line, as in a flow mapping `env: {UPLOAD_TOKEN: abc123}` or a logged `token=abc123`.
    (re.compile(rf"(?i)((?<![\w.-])[\"']?[\w.-]*(?:{SECRET_NAME.pattern})[\w.-]*{_NOT_A_PLACE}[\"']?[ \t]*[:=][ \t]*)"
                rf"(\"[^\"\n]{{4,}}\"|'[^'\n]{{4,}}'|[^\s,}}\]#&;\"'*]{{4,}})"), rf"\1{MASK}"),
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
    def for_this_machine(cls, environ: Mapping[str, str] | None = None) -> Redactor:
        """Knows the secrets of the environment, the AWS config and credentials files, and the AWS SSO token cache."""
        environ = os.environ if environ is None else environ
        return cls([*environment_secrets(environ), *aws_file_secrets(environ)])


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
