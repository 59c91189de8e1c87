"""Shared fixtures: a moto server on loopback (tests/moto_server.py, in a process of its own), a fault proxy before
it, private platform folders for every test, and the two GET paths; and which tests share one worker when
pytest-xdist runs the suite in parallel (`make test`).

Helpers: tests/helpers.py."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.aws import Setup, make_setup, safe_moto
from tests.reliability.proxy import FaultProxy

WINDOWS_TESTS_ENV = "S3_SQS_AGENT_WINDOWS_TESTS"
collect_ignore = [] if os.environ.get(WINDOWS_TESTS_ENV) else ["windows"]
"""tests/windows runs under Wine, in `make test-windows` (which sets S3_SQS_AGENT_WINDOWS_TESTS), not in `make test`."""

# Under pytest-xdist every worker has its own session: its own moto server and desktop. The tests that use one of these
# fixtures run on one worker, one after another:
ONE_WORKER = {
    "build": "installer",  # `make installer` once, and no two builds writing dist/ and build/ at once
    "dists": "python-package",  # the wheel and its fresh venvs once
}


@pytest.hookimpl(tryfirst=True)  # before xdist names each item by its group
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for fixture, group in ONE_WORKER.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(pytest.mark.xdist_group(group))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """xdist's loadgroup names a grouped test `ID@GROUP`; with a pytest whose node ids it cannot rename, it ignores the
    groups without a word (pytest-xdist issue 1386), and the tests above would race."""
    if getattr(item.config.option, "loadgroup", False) and item.get_closest_marker("xdist_group") and "@" not in item.nodeid:
        pytest.fail("pytest-xdist ignored this test's xdist_group: this pytest breaks --dist loadgroup; install the versions "
                    "pyproject.toml asks for (make install)", pytrace=False)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Under xdist, the test plugin package (tests/plugin_pkg) is pip-installed, when it is not up to date, before any
    worker starts: a worker installing it would otherwise reinstall it under the other workers' running agents."""
    if getattr(session.config.option, "numprocesses", None) and not hasattr(session.config, "workerinput"):
        from tests.plugin_pkg import install

        install()


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    with safe_moto() as endpoint:
        yield endpoint


@pytest.fixture(autouse=True)
def private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own config, data and log folders, and dummy credentials (never real ones)."""
    home = tmp_path / "home"
    for variable, sub in (("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "data"), ("XDG_STATE_HOME", "state"), ("XDG_CACHE_HOME", "cache")):
        (home / sub).mkdir(parents=True)
        monkeypatch.setenv(variable, str(home / sub))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    for variable in ("COLUMNS", "LINES"):  # pytest-xdist's workers have COLUMNS=80: a terminal's size comes from the terminal
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "aws-credentials"))
    return home


@pytest.fixture
def aws(moto_endpoint: str) -> Setup:
    """A fresh bucket notifying a fresh queue on the shared moto server."""
    return make_setup(moto_endpoint)


@pytest.fixture
def quiet_aws(moto_endpoint: str) -> Setup:
    """A bucket and queues without notifications: the queue stays empty (S3 sends no TestEvent) until a test sends."""
    return make_setup(moto_endpoint, notify=False)


@pytest.fixture
def proxy(moto_endpoint: str) -> Iterator[FaultProxy]:
    """A fault-injecting proxy in front of the shared moto server (tests/reliability/proxy.py)."""
    fault_proxy = FaultProxy(moto_endpoint)
    fault_proxy.up()
    yield fault_proxy
    fault_proxy.down()


@pytest.fixture(params=["crt", "boto3"])
def download_client(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both GET paths: the AWS Common Runtime (when installed; it reads the S3 client's endpoint) and boto3."""
    if request.param == "boto3":
        monkeypatch.setenv("S3_SQS_AGENT_NO_CRT", "1")
    else:
        pytest.importorskip("awscrt")
        monkeypatch.delenv("S3_SQS_AGENT_NO_CRT", raising=False)
    return str(request.param)
