"""Builds the boto3 clients from the config: one session, connection pools sized to the concurrency."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config as BotoConfig

from agent.config import Config
from agent.engine.sqs import LONG_POLL_SECONDS


def make_clients(config: Config) -> tuple[Any, Any]:
    """(s3, sqs) clients. Credentials come from the standard AWS chain, never from the config file."""
    session = boto3.session.Session(profile_name=config.aws_profile, region_name=config.aws_region or None)
    region = session.region_name or ("us-east-1" if config.endpoint_url else None)
    common = BotoConfig(connect_timeout=5, tcp_keepalive=True, retries={"mode": "standard", "max_attempts": 3},
                        user_agent_appid="s3-sqs-agent")  # type: ignore[call-arg]  # botocore >= 1.31 has it; its stubs lag
    s3 = session.client("s3", region_name=region, endpoint_url=config.endpoint_url, config=common.merge(BotoConfig(
        max_pool_connections=max(10, config.concurrency * 2 + 4),
        read_timeout=30,
        s3={"addressing_style": "path"} if config.endpoint_url else {},
    )))
    sqs = session.client("sqs", region_name=region, endpoint_url=config.endpoint_url, config=common.merge(BotoConfig(
        max_pool_connections=10,
        read_timeout=LONG_POLL_SECONDS + 10,  # longer than a long poll
    )))
    return s3, sqs
