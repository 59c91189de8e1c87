"""The fault tests share the root conftest's fixtures: moto, and the fault proxy in front of it (`proxy`); each runs on
both download paths."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def every_download_path(download_client: str) -> str:
    """Every fault test runs on both GET paths (tests/conftest.py): the AWS Common Runtime and boto3, its fallback."""
    return download_client
