"""What the checks of one run share: the clients, what earlier checks learnt, and how a failed AWS call reads."""

from __future__ import annotations

import contextlib
import email.utils
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError, EndpointConnectionError

from agent.aws.doctor.check import Check
from agent.config import Config
from agent.engine import explain, permissions
from agent.engine.retry import DENIED, classify, error_code
from agent.errors import CredentialsError


class Probe:
    """The clients, and what earlier checks learnt, shared by the checks of one run."""

    def __init__(self, config: Config, sample_key: str | None) -> None:
        self.config = config
        self.sample_key = sample_key
        self.region = config.aws_region
        self.clients: tuple[Any, Any, Any] | None = None  # s3, sqs, sts once the credentials check built them
        self.signed_in = False
        self.queue_attributes: dict[str, str] | None = None
        self.server_date: datetime | None = None
        self.unreachable = False  # the endpoint refused or timed out: later checks need not wait for it again
        self.local_date: datetime | None = None

    @property
    def queue_arn(self) -> str:
        if self.queue_attributes and self.queue_attributes.get("QueueArn"):
            return self.queue_attributes["QueueArn"]
        return permissions.queue_arn(self.config.sqs_queue_url, self.region)

    def remember_date(self, response_dict: Any = None, **_: Any) -> None:
        """botocore's before-parse hook: keep the first response's Date header, for the clock check."""
        if self.server_date is not None or not isinstance(response_dict, dict):
            return
        header = response_dict.get("headers", {}).get("Date")
        with contextlib.suppress(TypeError, ValueError):
            self.server_date = email.utils.parsedate_to_datetime(header) if header else None
            self.local_date = datetime.now(UTC)

    def watch(self, client: Any) -> Any:
        client.meta.events.register("before-parse", self.remember_date)
        return client


def aws_failure(probe: Probe, name: str, exc: BaseException, action: str, resource: str, grant: tuple[str, ...]) -> Check:
    """A failed AWS call as a check: access denied names the permission and carries the statement to grant; an
    endpoint that cannot be reached is named, with where it is set."""
    code = error_code(exc) if isinstance(exc, ClientError) else ""
    if code in DENIED:
        return Check(name, False, f"Access denied: these credentials lack {action} on {resource}.",
                     f"Ask your AWS administrator to allow {action} on {resource}: send them the policy statement "
                     "below (it holds everything the agent needs there).", permissions.statement(grant, resource))
    if rejected_credentials(exc):
        return Check(name, False, f"AWS rejected the credentials ({code}).",
                     "Sign in again (for IAM Identity Center), or replace the access key; then run the checks again.")
    if isinstance(exc, EndpointConnectionError):
        what, fix = explain.unreachable(str(exc.kwargs.get("endpoint_url") or ""), probe.config)
        return Check(name, False, what, f"{fix} Then run the checks again.")
    return Check(name, False, classify(exc).reason, "Run the checks again; if this repeats, the detail above says what AWS answered.")


def rejected_credentials(exc: BaseException) -> bool:
    """AWS refused the credentials themselves (a wrong, deactivated or expired key or token), as the agent judges it."""
    return isinstance(classify(exc).error, CredentialsError)
