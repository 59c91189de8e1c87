"""The Linux tray's first-start advice names exactly what to install for the way the agent was installed."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.desktop import pygobject


def _venv(folder: Path, system_site_packages: bool) -> str:
    folder.mkdir(parents=True)
    (folder / "pyvenv.cfg").write_text(f"home = /usr/bin\ninclude-system-site-packages = {str(system_site_packages).lower()}\n")
    return str(folder)


def test_the_system_python_and_the_frozen_app_need_only_the_systems_packages() -> None:
    for advice in (pygobject.install_advice("/usr", "/usr", frozen=False), pygobject.install_advice("/opt/x", "/opt/x", frozen=True)):
        assert advice.startswith("Install PyGObject and the GTK/AppIndicator typelibs: sudo apt install python3-gi")
        assert "[tray]" not in advice and "venv" not in advice


def test_a_venv_that_sees_the_system_packages_needs_only_them(tmp_path: Path) -> None:
    advice = pygobject.install_advice(_venv(tmp_path / "venv", True), "/usr", frozen=False)
    assert advice.startswith("Install PyGObject") and "[tray]" not in advice


@pytest.mark.parametrize("base", ["/usr", "/root/.pyenv/versions/3.11.7"])
def test_a_plain_venv_gets_both_ways_in(tmp_path: Path, base: str) -> None:
    prefix = _venv(tmp_path / "venv", base != "/usr")  # a pyenv Python cannot use the system's build even with them
    advice = pygobject.install_advice(prefix, base, frozen=False)
    assert f"its own Python environment ({prefix})" in advice
    assert "sudo apt install python3-gi gir1.2-gtk-3.0 gir1.2-ayatanaappindicator3-0.1" in advice
    assert "/usr/bin/python3 -m venv --system-site-packages VENV, then VENV/bin/pip install s3-sqs-agent" in advice
    assert f"{prefix}/bin/pip install 's3-sqs-agent[tray]'" in advice and "libgirepository1.0-dev libcairo2-dev" in advice


def test_a_pipx_install_is_told_the_pipx_commands(tmp_path: Path) -> None:
    prefix = _venv(tmp_path / ".local" / "share" / "pipx" / "venvs" / "s3-sqs-agent", False)
    advice = pygobject.install_advice(prefix, "/usr", frozen=False)
    assert "pipx install --force --system-site-packages --python /usr/bin/python3 s3-sqs-agent" in advice
    assert "pipx install --force 's3-sqs-agent[tray]'" in advice


def test_the_advice_names_tkinter_only_when_the_windows_would_lack_it(tmp_path: Path) -> None:
    for prefix in ("/usr", _venv(tmp_path / "venv", False)):
        assert "sudo apt install python3-tk" in pygobject.install_advice(prefix, "/usr", frozen=False, has_tk=False)
        assert "python3-tk" not in pygobject.install_advice(prefix, "/usr", frozen=False, has_tk=True)
