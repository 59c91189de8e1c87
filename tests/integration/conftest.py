"""Fixtures for the integration suites: which GET path the agent uses."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["crt", "boto3"])
def download_client(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both GET paths: the AWS Common Runtime (when installed; it reads the S3 client's endpoint) and boto3."""
    if request.param == "boto3":
        monkeypatch.setenv("S3_SQS_AGENT_NO_CRT", "1")
    else:
        pytest.importorskip("awscrt")
    return request.param
