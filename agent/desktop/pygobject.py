"""How to get PyGObject, which the Linux tray menu needs, for the way this copy of the agent was installed.

PyGObject publishes no Linux wheels, so it is not a dependency (pip and pipx install with no compiler): it is the
`tray` extra, or the system's python3-gi seen through `--system-site-packages`. Which advice fits depends on the
environment: a system Python (or the frozen app) needs only the system's packages; an isolated venv (pip, pipx)
cannot see them, so it gets both ways in.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

SYSTEM_PACKAGES = "sudo apt install python3-gi gir1.2-gtk-3.0 gir1.2-ayatanaappindicator3-0.1"
FEDORA_PACKAGES = "sudo dnf install python3-gobject gtk3 libappindicator-gtk3"
TK_ADVICE = ("The Setup, Settings and Activity windows also need tkinter: sudo apt install python3-tk "
             "(Fedora: sudo dnf install python3-tkinter).")
BUILD_PACKAGES = "sudo apt install libgirepository1.0-dev libcairo2-dev pkg-config python3-dev gcc"
SYSTEM_PYTHON_PREFIX = "/usr"


def sees_system_packages(prefix: str | None = None, base_prefix: str | None = None, frozen: bool | None = None) -> bool:
    """True when the system's python3-gi, once installed, is importable here: the system's own Python, the frozen
    app (it bundles PyGObject and needs only the system's typelibs), or a venv of it with system site packages."""
    prefix = sys.prefix if prefix is None else prefix
    base_prefix = sys.base_prefix if base_prefix is None else base_prefix
    if getattr(sys, "frozen", False) if frozen is None else frozen:
        return True
    if base_prefix != SYSTEM_PYTHON_PREFIX:
        return False  # pyenv, a python.org build, conda: the system's python3-gi is built for another Python
    if prefix == base_prefix:
        return True
    return _venv_setting(Path(prefix), "include-system-site-packages") == "true"


def install_advice(prefix: str | None = None, base_prefix: str | None = None, frozen: bool | None = None,
                   has_tk: bool | None = None) -> str:
    """What to install, exactly, so that the tray has its menu (and, when tkinter is missing too, its windows)."""
    prefix = sys.prefix if prefix is None else prefix
    has_tk = importlib.util.find_spec("_tkinter") is not None if has_tk is None else has_tk
    tk = "" if has_tk else f" {TK_ADVICE}"
    if sees_system_packages(prefix, base_prefix, frozen):
        return f"Install PyGObject and the GTK/AppIndicator typelibs: {SYSTEM_PACKAGES} (Fedora: {FEDORA_PACKAGES}).{tk}"
    pipx = "pipx" in Path(prefix).parts
    reinstall = ("pipx install --force --system-site-packages --python /usr/bin/python3 s3-sqs-agent" if pipx else
                 "/usr/bin/python3 -m venv --system-site-packages VENV, then VENV/bin/pip install s3-sqs-agent")
    build = "pipx install --force 's3-sqs-agent[tray]'" if pipx else f"{Path(prefix) / 'bin' / 'pip'} install 's3-sqs-agent[tray]'"
    return (f"This copy of the agent runs in its own Python environment ({prefix}), which cannot use the system's PyGObject. "
            f"Either (no compiler needed) {SYSTEM_PACKAGES}, then reinstall the agent so that it sees them: {reinstall}. "
            f"Or build PyGObject into this environment: {build} (it needs {BUILD_PACKAGES}).{tk}")


def _venv_setting(prefix: Path, name: str) -> str | None:
    try:
        text = (prefix / "pyvenv.cfg").read_text(encoding="utf-8")
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key.strip().lower() == name:
            return value.strip().lower()
    return None
