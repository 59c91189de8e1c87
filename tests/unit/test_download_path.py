"""Which path downloads take (the AWS Common Runtime or boto3), and the reason the log and the diagnostics give."""

from __future__ import annotations

import pytest

from agent.engine import crt


@pytest.mark.parametrize(("max_bandwidth", "environ", "says"), [
    (None, {}, "the AWS Common Runtime"),
    (None, {"S3_SQS_AGENT_NO_CRT": "1"}, "boto3 (S3_SQS_AGENT_NO_CRT is set)"),
    (2_000_000, {}, "boto3 (max_bandwidth is set, and only boto3 keeps to it)"),
    (None, {"HTTPS_PROXY": "http://proxy:3128"}, "boto3 (a proxy is set (HTTPS_PROXY), and the AWS Common Runtime does not read it)"),
    (None, {"https_proxy": "http://proxy:3128", "S3_SQS_AGENT_NO_CRT": "1"}, "boto3 (S3_SQS_AGENT_NO_CRT is set)"),
])
def test_the_path_and_why(max_bandwidth: int | None, environ: dict[str, str], says: str) -> None:
    assert crt.describe(max_bandwidth, environ) == says
    assert (crt.unavailable(max_bandwidth, environ) is None) == (says == "the AWS Common Runtime")


def test_without_awscrt_boto3_serves_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(crt.importlib.util, "find_spec", lambda name: None)
    assert crt.describe(None, {}) == "boto3 (awscrt is not installed (it has no build for this platform))"
