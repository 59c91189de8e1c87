"""What this process has from its environment that the agent started from the applications menu or at login would not:
settings (AWS_ENDPOINT_URL, AWS_PROFILE, AWS_REGION...), which setup saves, and an access key, which it offers to save."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field

INHERITED = (("endpoint_url", ("AWS_ENDPOINT_URL",), "Endpoint"),
             ("sqs_endpoint_url", ("AWS_ENDPOINT_URL_SQS",), "SQS endpoint"),
             ("s3_endpoint_url", ("AWS_ENDPOINT_URL_S3",), "S3 endpoint"),
             ("aws_profile", ("AWS_DEFAULT_PROFILE", "AWS_PROFILE"), "Profile"),
             ("aws_region", ("AWS_DEFAULT_REGION", "AWS_REGION"), "Region"))
"""Config key, the variables botocore (or the AWS tools) read for it in their order, and the key's name in the windows."""
LABELS = {key: label for key, _, label in INHERITED}


@dataclass(frozen=True)
class Inherited:
    """A setting this process has from its environment: `variable` holds `value` for config key `key`."""

    key: str
    value: str
    variable: str

    def __str__(self) -> str:
        return f"{self.key}: {self.value} (from {self.variable})"


def inherited_from(environ: Mapping[str, str]) -> dict[str, Inherited]:
    """The settings of INHERITED that `environ` sets, by config key."""
    found: dict[str, Inherited] = {}
    for key, variables, _ in INHERITED:
        variable = next((name for name in variables if environ.get(name, "").strip()), None)
        if variable is not None:
            found[key] = Inherited(key, environ[variable].strip().rstrip("/") if "endpoint" in key else environ[variable].strip(),
                                   variable)
    return found


def forget_inherited(environ: MutableMapping[str, str]) -> None:
    """Remove INHERITED's variables: from here on every AWS call sees what the saved config will give the agent at login."""
    for _, variables, _ in INHERITED:
        for name in variables:
            environ.pop(name, None)


@dataclass(frozen=True)
class EnvironmentKey:
    """An access key that exists only in this process's environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)."""

    access_key_id: str
    secret_access_key: str = field(repr=False)  # an Account holding it may be printed or logged
    temporary: bool  # AWS_SESSION_TOKEN is set too: the key expires, so saving it would not help for long

    def note(self) -> str:
        """Why choosing it is not enough for the agent started at login, in words for a person."""
        if self.temporary:
            return ("This is a temporary access key (AWS_SESSION_TOKEN is set): it expires, and the agent started from the "
                    "applications menu or at login will not have it. Choose a profile, or add an access key, for the agent to "
                    "keep working.")
        return ("This access key is only in the environment setup was started from (AWS_ACCESS_KEY_ID): the agent started "
                "from the applications menu or at login will not have it.")


def environment_key(environ: Mapping[str, str]) -> EnvironmentKey | None:
    key_id, secret = environ.get("AWS_ACCESS_KEY_ID", "").strip(), environ.get("AWS_SECRET_ACCESS_KEY", "").strip()
    if not key_id or not secret:
        return None
    return EnvironmentKey(key_id, secret, bool(environ.get("AWS_SESSION_TOKEN", "").strip()))

