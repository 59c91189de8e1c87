"""The fault tests share the root conftest's fixtures: moto, and the fault proxy in front of it (`proxy`); each runs on
both download paths."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, params=["crt", "boto3"])
def download_client(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every fault test runs on both GET paths: the AWS Common Runtime and boto3 (its fallback)."""
    if request.param == "boto3":
        monkeypatch.setenv("S3_SQS_AGENT_NO_CRT", "1")
    else:
        pytest.importorskip("awscrt")
        monkeypatch.delenv("S3_SQS_AGENT_NO_CRT", raising=False)
    return str(request.param)
