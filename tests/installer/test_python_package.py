"""`pip install s3-sqs-agent` on a bare Linux machine, as a new user does it: the wheel and the sdist build and pass
`twine check`, the sdist holds the tests and assets, and the wheel installs into a fresh venv from wheels only
(nothing is compiled, so no compiler or -dev package is needed), prints its version and drains a queue headless.
PyGObject is not among what it installs: the tray then names exactly what to install, and never runs without its
menu; a venv on the system's Python that sees the system's python3-gi gets the tray with nothing compiled."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from agent import __version__
from tests.aws import Setup
from tests.desktop.harness import TrayApp
from tests.helpers import ROOT, files_under, wait_until, write_config

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

SYSTEM_PYTHON = Path("/usr/bin/python3")


@dataclass(frozen=True)
class Dists:
    """What `python -m build` made: the wheel and the sdist."""

    wheel: Path
    sdist: Path


@dataclass(frozen=True)
class Venv:
    """A fresh venv with the agent installed from its wheel, and nothing else of this checkout."""

    folder: Path

    @property
    def agent(self) -> Path:
        return self.folder / "bin" / "s3-sqs-agent"

    @property
    def python(self) -> Path:
        return self.folder / "bin" / "python"

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """A command of this venv, from a folder outside the checkout (so only what it installed is importable)."""
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        return subprocess.run(list(args), cwd=self.folder, capture_output=True, text=True, timeout=timeout, env=env, check=False)


def _checked(result: subprocess.CompletedProcess[str], what: str) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, f"{what} failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result


BUILT_DISTS_ENV = "S3_SQS_AGENT_TEST_DISTS"
"""A folder holding the wheel and the sdist `make dist` has just built, the same way: `make test` names dist/ here, so
the suite checks those instead of building them a second time (and rewriting the checkout's egg-info under the
agents that other workers run from it)."""


@pytest.fixture(scope="session")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Dists:
    """`python -m build`: the sdist, then the wheel built from it."""
    built = os.environ.get(BUILT_DISTS_ENV)
    if built:
        out = ROOT / built
    else:
        out = tmp_path_factory.mktemp("dists")
        _checked(subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)], capture_output=True, text=True,
                                timeout=600, check=False), "python -m build")
    [wheel], [sdist] = sorted(out.glob("*.whl")), sorted(out.glob("*.tar.gz"))
    return Dists(wheel, sdist)


def _fresh_venv(dists: Dists, folder: Path, python: Path, *, system_site_packages: bool) -> Venv:
    """A new venv with the wheel installed as pip installs from an index: every dependency from a wheel."""
    flags = ["--system-site-packages"] if system_site_packages else []
    _checked(subprocess.run([str(python), "-m", "venv", *flags, str(folder)], capture_output=True, text=True, timeout=120,
                            check=False), "python -m venv")
    venv = Venv(folder)
    _checked(venv.run(str(venv.python), "-m", "pip", "install", "--quiet", "--only-binary=:all:", str(dists.wheel), timeout=900),
             "pip install --only-binary=:all: (something would have been compiled)")
    return venv


@pytest.fixture(scope="session")
def pip_venv(dists: Dists, tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """What `pip install s3-sqs-agent` or pipx makes: an isolated venv."""
    return _fresh_venv(dists, tmp_path_factory.mktemp("pip") / "venv", Path(sys.executable), system_site_packages=False)


@pytest.fixture(scope="session")
def system_venv(dists: Dists, tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """The README's compiler-free Linux tray: a venv on the system's Python that sees the system's python3-gi."""
    if not SYSTEM_PYTHON.exists() or subprocess.run([str(SYSTEM_PYTHON), "-c", "import gi"], check=False).returncode:
        pytest.fail(f"{SYSTEM_PYTHON} with python3-gi is needed (make system-deps installs python3-gi and python3-venv)")
    return _fresh_venv(dists, tmp_path_factory.mktemp("system") / "venv", SYSTEM_PYTHON, system_site_packages=True)


def test_the_wheel_and_the_sdist_pass_twine_check(dists: Dists) -> None:
    result = _checked(subprocess.run([sys.executable, "-m", "twine", "check", "--strict", str(dists.wheel), str(dists.sdist)],
                                     capture_output=True, text=True, timeout=120, check=False), "twine check")
    assert result.stdout.count("PASSED") == 2, result.stdout


def test_the_sdist_holds_the_tests_and_the_assets(dists: Dists) -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: nothing to compare the sdist with")
    tracked = subprocess.run(["git", "ls-files", "tests", "assets", "docs", "bench", "installer", "agent"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.split()
    with tarfile.open(dists.sdist) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    missing = [path for path in tracked if path not in names and (ROOT / path).exists()]
    assert not missing, f"the sdist lacks {len(missing)} files, such as {missing[:5]}"
    assert {"Makefile", "pyproject.toml", "README.md", "MANIFEST.in"} <= names
    assert not [name for name in names if "__pycache__" in name or name.startswith("bench/.tools")]


def test_the_wheel_holds_the_package_only(dists: Dists) -> None:
    import zipfile

    with zipfile.ZipFile(dists.wheel) as wheel:
        tops = {name.split("/", 1)[0] for name in wheel.namelist()}
    assert tops == {"agent", f"s3_sqs_agent-{__version__}.dist-info"}, tops


def test_on_windows_the_wheel_brings_the_time_zone_database(dists: Dists) -> None:
    """Windows has no system zone database: without tzdata, by-date's `timezone: Europe/Berlin` is refused there."""
    import zipfile

    from packaging.requirements import Requirement

    with zipfile.ZipFile(dists.wheel) as wheel:
        metadata = wheel.read(f"s3_sqs_agent-{__version__}.dist-info/METADATA").decode()
    requirements = [Requirement(line.split(":", 1)[1].strip()) for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    windows = {"sys_platform": "win32", "platform_machine": "AMD64", "platform_system": "Windows", "os_name": "nt", "extra": ""}
    linux = {"sys_platform": "linux", "platform_machine": "x86_64", "platform_system": "Linux", "os_name": "posix", "extra": ""}
    for_windows = {r.name for r in requirements if r.marker is None or r.marker.evaluate(windows)}
    for_linux = {r.name for r in requirements if r.marker is None or r.marker.evaluate(linux)}
    assert "tzdata" in for_windows and "tzdata" not in for_linux  # Linux and macOS have /usr/share/zoneinfo


def test_a_bare_pip_install_prints_its_version_and_drains_headless(pip_venv: Venv, aws: Setup, tmp_path: Path) -> None:
    version = _checked(pip_venv.run(str(pip_venv.agent), "--version"), "s3-sqs-agent --version")
    assert version.stdout.strip() == f"s3-sqs-agent {__version__}"
    expected = {"takes/take 01.wav": os.urandom(3000), "notes/café.txt": b"plain"}
    for key, data in expected.items():
        aws.put(key, data)
    out = tmp_path / "out"
    config = write_config(tmp_path / "config.yaml", aws.config(str(out)))
    result = _checked(pip_venv.run(str(pip_venv.agent), "run", "--headless", "--drain", "--config", str(config)), "the drain")
    assert files_under(out) == expected and aws.counts() == (0, 0), result.stderr
    installed = pip_venv.run(str(pip_venv.python), "-m", "pip", "list", "--format=freeze").stdout.lower()
    assert "pygobject" not in installed and "pycairo" not in installed, installed
    assert pip_venv.run(str(pip_venv.python), "-c", "import gi").returncode != 0


def test_without_pygobject_the_tray_names_exactly_what_to_install(pip_venv: Venv, desktop: Any, aws: Setup, private_home: Path) -> None:
    config = write_config(private_home / "config" / "s3-sqs-agent" / "config.yaml", aws.config(str(private_home / "downloads")))
    app = TrayApp(desktop, config, private_home, command=[str(pip_venv.agent)]).start(wait_docked=False)
    try:
        wait_until(lambda: "build PyGObject into this environment" in app.read_output(), 60, "the advice to install PyGObject")
    finally:
        app.stop()
    output = " ".join(app.read_output().split())
    assert "PyGObject (the 'gi' module) is not installed; the tray menu needs it on Linux." in output
    assert f"This copy of the agent runs in its own Python environment ({pip_venv.folder})" in output
    assert "sudo apt install python3-gi gir1.2-gtk-3.0 gir1.2-ayatanaappindicator3-0.1" in output
    assert "/usr/bin/python3 -m venv --system-site-packages VENV" in output
    assert f"{pip_venv.folder}/bin/pip install 's3-sqs-agent[tray]'" in output
    assert "Tray backend" not in app.log() and app.icon() is None, "the tray ran without its menu"


def test_the_systems_python3_gi_gives_the_tray_with_nothing_compiled(system_venv: Venv, desktop: Any, aws: Setup,
                                                                    private_home: Path) -> None:
    config = write_config(private_home / "config" / "s3-sqs-agent" / "config.yaml", aws.config(str(private_home / "downloads")))
    app = TrayApp(desktop, config, private_home, command=[str(system_venv.agent)]).start(wait_docked=False)
    try:
        probe = app.wait_probe(lambda p: p["status"] != "Starting…", timeout=60, what="the tray to draw")
        assert probe["backend"] in ("appindicator", "gtk")
        wait_until(app.icon, 60, "the icon to dock in trayer")
        assert "Quit" in [item.get("text") for item in probe["menu"] if not item.get("separator")]
        aws.put("docked.txt", b"hello")
        wait_until((private_home / "downloads" / "docked.txt").exists, 60, "the tray app to download")
    finally:
        code = app.stop()
    assert code == 0, app.read_output()
