"""Builds the boto3 clients from the config: one session, connection pools sized to the concurrency."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import ProfileNotFound

from agent.config import Config
from agent.engine.sqs import LONG_POLL_SECONDS
from agent.errors import CredentialsError, ProfileNotFoundError
from agent.names import nearest

LOCAL_REGION = "us-east-1"
"""Signs requests to a server other than AWS when no region is set: moto, MinIO or ElasticMQ accept any region."""

CLIENT_SETTINGS = BotoConfig(connect_timeout=5, tcp_keepalive=True, retries={"mode": "standard", "max_attempts": 3},
                             user_agent_appid="s3-sqs-agent")  # type: ignore[call-arg]  # botocore >= 1.31 has it; its stubs lag
"""What every client of the agent shares (the doctor's too)."""


def make_session(config: Config) -> boto3.session.Session:
    """The config's profile (or the default AWS chain) and region. Credentials are never read from the config file.

    Raises ProfileNotFoundError when the config names a profile this computer does not have."""
    try:
        return boto3.session.Session(profile_name=config.aws_profile, region_name=config.aws_region or None)
    except ProfileNotFound:
        raise missing_profile(str(config.aws_profile)) from None


def missing_profile(name: str) -> ProfileNotFoundError:
    """"There is no AWS profile called 'studio'…", with "did you mean 'Studio'" when one is near (a case mistake)."""
    try:
        known = boto3.session.Session().available_profiles
    except Exception:  # noqa: BLE001 - a broken AWS config file: no names to offer
        known = []
    return ProfileNotFoundError(name, nearest(name, known))


def make_clients(config: Config, session: boto3.session.Session | None = None) -> tuple[Any, Any]:
    """(s3, sqs) clients. Credentials come from the standard AWS chain, never from the config file.

    Each service goes to the server the config names for it (s3_endpoint_url / sqs_endpoint_url, else endpoint_url).
    When the config names none, botocore's own settings apply untouched: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL_SQS,
    AWS_ENDPOINT_URL, the profile's `services` section, else AWS itself.
    """
    session = session or make_session(config)
    s3 = make_client(session, "s3", config.s3_endpoint, CLIENT_SETTINGS.merge(BotoConfig(
        max_pool_connections=max(10, config.concurrency * 2 + 4),
        read_timeout=30,
        s3={"addressing_style": "path"} if config.s3_endpoint else {},
    )))
    sqs = make_client(session, "sqs", config.sqs_endpoint, CLIENT_SETTINGS.merge(BotoConfig(
        max_pool_connections=10,
        read_timeout=LONG_POLL_SECONDS + 10,  # longer than a long poll
    )))
    return s3, sqs


def make_client(session: boto3.session.Session, service: str, endpoint_url: str | None, client_config: BotoConfig = CLIENT_SETTINGS) -> Any:
    """One service's client. `endpoint_url` None lets botocore find the endpoint as every AWS tool does.

    Raises CredentialsError when no region is set and the endpoint is AWS itself, which needs one."""
    create: Any = session.client  # the stubs type it per service name; both services here return Any anyway
    if session.region_name:
        return create(service, endpoint_url=endpoint_url, config=client_config)
    client = create(service, region_name=LOCAL_REGION, endpoint_url=endpoint_url, config=client_config)
    if is_aws(client.meta.endpoint_url):
        raise CredentialsError("No AWS region is set. {Add|Fill in} {aws_region}{ to the config|} (the queue's region, such "
                               "as us-east-2), or set the region of the AWS profile.")
    return client


def is_aws(url: str | None) -> bool:
    """The URL's host is AWS itself (not LocalStack, moto or another compatible server)."""
    host = urlsplit(url or "").hostname or ""
    return host.endswith((".amazonaws.com", ".amazonaws.com.cn", ".api.aws"))
