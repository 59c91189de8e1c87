"""AWS calls for the commands that change an account (connect, disconnect), with errors a person can act on.

One client per service, and every failure turned into an error that names the exact permission that was missing."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError, NoRegionError
from botocore.exceptions import ConnectTimeoutError as BotoConnectTimeout

from agent import errors
from agent.engine import permissions
from agent.engine.aws import CLIENT_SETTINGS
from agent.engine.retry import CREDENTIALS, DENIED, error_code

DENIED_CODES = DENIED | {"AuthorizationError", "AuthorizationErrorException", "UnauthorizedOperation"}
NOT_FOUND_CODES = {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist", "NonExistentQueue", "NotFound",
                   "NotFoundException", "ResourceNotFoundException", "NoSuchBucket", "404"}
S3_ACTIONS = {"GetBucketNotificationConfiguration": "s3:GetBucketNotification",
              "PutBucketNotificationConfiguration": "s3:PutBucketNotification",
              "HeadBucket": "s3:ListBucket", "GetBucketLocation": "s3:GetBucketLocation"}
SERVICE_PREFIXES = {"sqs": "sqs", "sns": "sns", "events": "events", "sts": "sts", "s3": "s3"}
GUIDE = "docs/aws.md lists the whole policy for connect and disconnect"


class PermissionMissing(errors.AccessDeniedError):
    """AWS refused one call for want of one permission: `action` on `resource`."""

    def __init__(self, action: str, resource: str, code: str) -> None:
        self.action, self.resource, self.code = action, resource, code
        super().__init__(
            f"AWS refused {action} on {resource} ({code}): these credentials lack that permission. Ask your AWS "
            f"administrator to allow {action} on {resource} ({GUIDE}), or run again with --profile naming "
            "credentials that have it.")

    @property
    def policy(self) -> dict[str, Any]:
        """The IAM policy statement that grants what was missing."""
        return permissions.statement([self.action], self.resource)


class AwsCallFailed(errors.AgentError):
    title = "AWS refused a change"


def action_for(service: str, operation: str) -> str:
    """The IAM action an operation needs: `sqs:CreateQueue` for SQS's CreateQueue; S3's names differ."""
    if service == "s3":
        return S3_ACTIONS.get(operation, f"s3:{operation}")
    return f"{SERVICE_PREFIXES.get(service, service)}:{operation}"


def not_found(exc: BaseException) -> bool:
    return isinstance(exc, ClientError) and error_code(exc) in NOT_FOUND_CODES


def translate(exc: BaseException, service: str, operation: str, resource: str) -> BaseException:
    """The error to raise for a failed call: one that says what to do (a missing resource stays a ClientError)."""
    if isinstance(exc, errors.AgentError):
        return exc
    if isinstance(exc, ClientError):
        code = error_code(exc)
        if code in NOT_FOUND_CODES:
            return exc
        if code in DENIED_CODES:
            return PermissionMissing(action_for(service, operation), resource, code)
        if code in CREDENTIALS:
            return errors.CredentialsError(f"AWS rejected the credentials ({code}). Sign in again (for SSO: aws sso login), "
                                           "or name other credentials with --profile.")
        message = exc.response.get("Error", {}).get("Message") or code
        return AwsCallFailed(f"{operation} on {resource} failed: {message} ({code}).")
    if isinstance(exc, NoCredentialsError):
        return errors.CredentialsError("No AWS credentials were found. Name a profile with --profile (after aws sso login "
                                       "for an SSO profile), or set AWS_PROFILE.")
    if isinstance(exc, NoRegionError):
        return errors.CredentialsError("No AWS region is set: pass --region, such as --region us-east-2.")
    if isinstance(exc, (EndpointConnectionError, BotoConnectTimeout)):
        return errors.OfflineError(f"Cannot reach AWS ({exc}). Check the network connection, then run again.")
    if isinstance(exc, BotoCoreError):
        return AwsCallFailed(f"{operation} on {resource} failed: {exc}")
    return exc


class Calls:
    """Clients for one account and region, and `call()`, which names the permission when one is missing."""

    def __init__(self, session: boto3.session.Session, region: str, endpoint_url: str | None = None) -> None:
        self.session, self.region, self.endpoint_url = session, region, endpoint_url
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            settings = CLIENT_SETTINGS.merge(BotoConfig(read_timeout=30))
            if service == "s3" and self.endpoint_url:
                settings = settings.merge(BotoConfig(s3={"addressing_style": "path"}))
            self._clients[service] = self.session.client(service, region_name=self.region, endpoint_url=self.endpoint_url,  # type: ignore[call-overload]
                                                         config=settings)
        return self._clients[service]

    def for_region(self, region: str) -> Calls:
        return self if region == self.region else Calls(self.session, region, self.endpoint_url)

    def call(self, service: str, operation: str, resource: str, **kwargs: Any) -> dict[str, Any]:
        """`client.operation(**kwargs)`; failures raise AgentError subclasses that say what to do.

        `resource` is the ARN (or name) the call acts on, for the message. A missing resource raises the original
        ClientError, for the caller to test with `not_found()`; anything else not understood is raised as it is.
        """
        from botocore import xform_name

        method = getattr(self.client(service), xform_name(operation))
        try:
            answer: dict[str, Any] = method(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, service, operation, resource) from None
        answer.pop("ResponseMetadata", None)
        return answer

    def pages(self, service: str, operation: str, key: str, resource: str, **kwargs: Any) -> list[Any]:
        """Every item of a paginated listing (`key` names the list in each answer)."""
        items: list[Any] = []
        token: str | None = None
        while True:
            answer = self.call(service, operation, resource, **kwargs, **({"NextToken": token} if token else {}))
            items.extend(answer.get(key, []))
            token = answer.get("NextToken")
            if not token:
                return items
