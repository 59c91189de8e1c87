"""Fixtures for the fault tests: a fault-injecting proxy in front of the shared moto server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.reliability.proxy import FaultProxy


@pytest.fixture
def proxy(moto_endpoint: str) -> Iterator[FaultProxy]:
    fault_proxy = FaultProxy(moto_endpoint)
    fault_proxy.up()
    yield fault_proxy
    fault_proxy.down()
