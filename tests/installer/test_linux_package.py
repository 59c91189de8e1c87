"""The frozen one-folder app runs --version and drains a queue; the .deb installs, runs and uninstalls cleanly."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.aws import Setup
from tests.helpers import files_under, write_config
from tests.installer.conftest import Build, first_run_opens_setup

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, env=os.environ.copy(), check=False)


def test_frozen_app_prints_its_version(build: Build) -> None:
    from agent import __version__

    result = run(str(build.exe), "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"s3-sqs-agent {__version__}"


def test_frozen_app_drains_a_queue_headless(build: Build, aws: Setup, tmp_path: Path) -> None:
    expected = {"takes/take 01.wav": os.urandom(3000), "mixes/café/100%.wav": os.urandom(5000), "plain.txt": b"x"}
    for key, data in expected.items():
        aws.put(key, data)
    out = tmp_path / "out"
    config = write_config(tmp_path / "config.yaml", aws.config(str(out), plugins=[{"name": "by-date", "options": {"timezone": "utc"}}]))
    result = run(str(build.exe), "run", "--headless", "--drain", "--config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    found = {path.split("/", 3)[3]: data for path, data in files_under(out).items()}  # by-date adds YYYY/MM/DD/
    assert found == expected  # the shipped plugin was found through the frozen app's own entry points
    assert aws.counts() == (0, 0)
    assert "Downloads go through the AWS Common Runtime" in result.stderr  # the installer bundles the CRT


def test_frozen_app_writes_utf8_whatever_the_locale(build: Build, aws: Setup, tmp_path: Path) -> None:
    """UTF-8 mode: under a Latin-1 locale (as under a Windows ANSI code page) a name still reaches stderr as itself."""
    if shutil.which("localedef") is None:
        pytest.fail("localedef is missing: install Debian's locales package (make system-deps does)")
    locales = tmp_path / "locales"
    locales.mkdir()
    made = run("localedef", "-i", "en_US", "-f", "ISO-8859-1", str(locales / "en_US.ISO-8859-1"))
    assert made.returncode == 0, made.stdout + made.stderr
    latin1 = {**os.environ, "LOCPATH": str(locales), "LC_ALL": "en_US.ISO-8859-1"}
    encoding = subprocess.run(["/usr/bin/python3", "-c", "import sys; print(sys.stderr.encoding)"], env=latin1, capture_output=True,
                              text=True, check=True).stdout.strip()
    assert encoding == "iso8859-1"  # the locale took: a Python in its normal mode would write Latin-1 here
    key = "mixes/café/日本語 take.wav"
    aws.put(key, b"x")
    config = write_config(tmp_path / "config.yaml", aws.config(str(tmp_path / "out")))
    result = subprocess.run([str(build.exe), "run", "--headless", "--drain", "--config", str(config)], capture_output=True,
                            timeout=120, env=latin1, check=False)
    stderr = result.stderr.decode("utf-8", "replace")
    assert result.returncode == 0, stderr
    assert f"Downloaded {key} " in stderr, stderr


def test_deb_installs_runs_and_uninstalls(build: Build, desktop: Any, private_home: Path) -> None:
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    info = run("dpkg-deb", "--info", str(build.deb))
    assert "Package: s3-sqs-agent" in info.stdout and "gir1.2-ayatanaappindicator3-0.1 | gir1.2-appindicator3-0.1" in info.stdout
    contents = run("dpkg-deb", "--contents", str(build.deb)).stdout
    for path in ("./opt/s3-sqs-agent/s3-sqs-agent", "./usr/bin/s3-sqs-agent", "./usr/share/applications/s3-sqs-agent.desktop",
                 "./usr/share/icons/hicolor/256x256/apps/s3-sqs-agent.png"):
        assert path in contents, path
    installed = run(*sudo, "dpkg", "-i", str(build.deb), timeout=300)
    try:
        assert installed.returncode == 0, installed.stdout + installed.stderr
        version = run("/usr/bin/s3-sqs-agent", "--version")
        assert version.returncode == 0 and version.stdout.startswith("s3-sqs-agent "), version.stdout + version.stderr
        launcher = Path("/usr/share/applications/s3-sqs-agent.desktop")
        if shutil.which("desktop-file-validate"):
            check = run("desktop-file-validate", str(launcher))
            assert check.returncode == 0 and not check.stdout.strip(), check.stdout
        first_run_opens_setup(Path("/usr/bin/s3-sqs-agent"), desktop, private_home, "deb-first-run-setup.png")
    finally:
        removed = run(*sudo, "dpkg", "-r", "s3-sqs-agent", timeout=300)
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert not Path("/opt/s3-sqs-agent").exists()
    assert not Path("/usr/bin/s3-sqs-agent").exists() and not Path("/usr/bin/s3-sqs-agent").is_symlink()
    assert not Path("/usr/share/applications/s3-sqs-agent.desktop").exists()
    status = run("dpkg-query", "-W", "-f=${Status}", "s3-sqs-agent")
    assert "install ok installed" not in status.stdout
