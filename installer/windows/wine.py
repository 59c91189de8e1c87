"""Wine on Linux, for building and testing the Windows installer: prefixes, Windows programs, paths and the registry.

Wine's own rules, learnt the hard way:
- a Windows CPython cannot start when a standard stream is a regular file or /dev/null (init_sys_streams: WinError 6),
  so every program here runs with pipes for stdin, stdout and stderr;
- a Windows program inherits the Linux environment, where a path such as PIP_CERT=/etc/... means nothing: it gets only
  what it needs (`Prefix.env`);
- a prefix made by `wineboot` links the user's Documents, Desktop, ... to the Linux home, and drive Z: to `/`; the
  prefixes here keep their own folders, and one kept inside the checkout has no Z: (tools that walk the tree and follow
  links, such as setuptools' file finder, would walk the whole machine).
"""

from __future__ import annotations

import getpass
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Mapping
from pathlib import Path, PureWindowsPath
from typing import IO

INHERITED = ("PATH", "HOME", "LANG", "DISPLAY", "XAUTHORITY", "TMPDIR", "http_proxy", "https_proxy", "no_proxy",
             "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")
"""What a Windows program gets of the Linux environment (plus `extra`)."""
SHARED_SUFFIXES = frozenset({".dll", ".exe", ".pyd", ".sys", ".drv", ".ocx", ".tlb", ".cpl", ".acm", ".ax", ".ds", ".nls",
                             ".ttf", ".ttc", ".fon", ".msstyles", ".com", ".vxd", ".mui"})
"""Files that no program changes in place: a copied prefix shares them with its source (hard links, 1.3 GB not copied)."""
WINDOWS_VERSION = "win10"
RUN_KEY = r"HKCU\Software\Microsoft\Windows\CurrentVersion\Run"


class WineError(RuntimeError):
    """A Wine step failed; the message says which and ends with its output."""


def wine_version() -> str:
    result = subprocess.run(["wine", "--version"], capture_output=True, text=True, timeout=60, check=False)
    return result.stdout.strip() or result.stderr.strip()


class Prefix:
    """One WINEPREFIX. Programs run in it get a clean environment and a display only when one is given."""

    def __init__(self, path: Path, display: str | None = None, extra: Mapping[str, str] | None = None) -> None:
        self.path = path
        self.display = display
        self.extra = dict(extra or {})

    # ------------------------------------------------------------ places

    @property
    def drive_c(self) -> Path:
        return self.path / "drive_c"

    @property
    def user(self) -> str:
        return os.environ.get("USER") or getpass.getuser()

    @property
    def profile(self) -> Path:
        """%USERPROFILE% on the Linux side."""
        return self.drive_c / "users" / self.user

    @property
    def local_appdata(self) -> Path:
        return self.profile / "AppData" / "Local"

    @property
    def appdata(self) -> Path:
        return self.profile / "AppData" / "Roaming"

    def windows_path(self, path: Path) -> str:
        """The name a Windows program knows `path` by: C:\\... inside the prefix, Z:\\... elsewhere."""
        path = Path(os.path.abspath(path))
        if path.is_relative_to(self.drive_c):
            return str(PureWindowsPath("C:\\", *path.relative_to(self.drive_c).parts))
        if not (self.path / "dosdevices" / "z:").is_symlink():
            raise WineError(f"{path} is outside {self.drive_c} and this prefix has no drive Z:")
        return "Z:" + str(path).replace("/", "\\")

    def unix_path(self, windows: str) -> Path:
        """The Linux path of a Windows one (C:\\users\\... or Z:\\tmp\\...)."""
        name = PureWindowsPath(windows)
        root = (self.path / "dosdevices" / name.drive.lower()).resolve()
        return root.joinpath(*name.parts[1:])

    def map_drive_z(self) -> None:
        """Z: is the Linux `/`, as in a prefix Wine makes (tests reach their temporary folders through it)."""
        link = self.path / "dosdevices" / "z:"
        link.unlink(missing_ok=True)
        link.symlink_to("/")

    # ------------------------------------------------------------ making and copying

    def create(self, timeout: float = 900) -> None:
        """A new prefix: Windows 10, the user's folders its own, no Z:."""
        shutil.rmtree(self.path, ignore_errors=True)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        boot = subprocess.run(["wineboot", "--init"], input="", capture_output=True, text=True, timeout=timeout, env=self.env(),
                              check=False)
        self.wait(timeout)
        if boot.returncode != 0 or not (self.drive_c / "windows" / "system32" / "kernel32.dll").exists():
            raise WineError(f"wineboot could not make {self.path} (is wine32 installed? without it kernel32.dll cannot "
                            f"load):\n{boot.stdout[-3000:]}{boot.stderr[-3000:]}")
        self.check(self.run("winecfg", "-v", WINDOWS_VERSION, timeout=timeout), "winecfg -v win10")
        self.wait(timeout)
        for link in [path for path in self.drive_c.joinpath("users").rglob("*") if path.is_symlink()]:
            link.unlink()  # Documents, Desktop, Downloads, ... -> $HOME: folders of the prefix's own instead
            link.mkdir()
        (self.path / "dosdevices" / "z:").unlink(missing_ok=True)

    def copy(self, target: Path) -> Prefix:
        """A copy of this (stopped) prefix at `target`: binaries hard-linked, everything else copied."""
        shutil.rmtree(target, ignore_errors=True)

        def copy_file(source: str, destination: str) -> None:
            if Path(source).suffix.lower() in SHARED_SUFFIXES:
                os.link(source, destination)
            else:
                shutil.copy2(source, destination)

        shutil.copytree(self.path, target, symlinks=True, copy_function=copy_file)
        return Prefix(target, self.display, self.extra)

    # ------------------------------------------------------------ running programs

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = {name: value for name, value in os.environ.items() if name in INHERITED}
        env.update(WINEPREFIX=str(self.path), WINEDEBUG="-all", WINEDLLOVERRIDES="mscoree,mshtml=", USER=self.user)
        env.setdefault("LANG", "C.UTF-8")
        env.pop("DISPLAY", None)
        env.pop("XAUTHORITY", None)
        if self.display:
            env["DISPLAY"] = self.display
        env.update(self.extra)
        env.update(extra or {})
        return env

    def run(self, *command: str, timeout: float = 300, extra: Mapping[str, str] | None = None,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        """`wine COMMAND...` to its end, every standard stream a pipe; stdout and stderr decoded as UTF-8."""
        return subprocess.run(["wine", *command], input="", capture_output=True, timeout=timeout, env=self.env(extra),
                              cwd=cwd or self.drive_c, encoding="utf-8", errors="replace", check=False)

    def start(self, *command: str, output: Path, extra: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
        """`wine COMMAND...` in the background; what it writes goes to `output` (through a pipe: see the module)."""
        process = subprocess.Popen(["wine", *command], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   env=self.env(extra), cwd=self.drive_c)
        assert process.stdout is not None
        threading.Thread(target=_copy_stream, args=(process.stdout, output), name="wine-output", daemon=True).start()
        return process

    @staticmethod
    def check(result: subprocess.CompletedProcess[str], what: str) -> subprocess.CompletedProcess[str]:
        if result.returncode != 0:
            raise WineError(f"{what} failed (exit code {result.returncode}):\n{result.stdout[-4000:]}{result.stderr[-4000:]}")
        return result

    def kill(self, timeout: float = 60) -> None:
        """End every program of this prefix, and its wineserver."""
        subprocess.run(["wineserver", "-k"], env=self.env(), capture_output=True, timeout=timeout, check=False)
        self.wait(timeout)

    def wait(self, timeout: float = 300) -> None:
        """Until this prefix's wineserver has gone (it stays a few seconds after the last program ends)."""
        subprocess.run(["wineserver", "-w"], env=self.env(), capture_output=True, timeout=timeout, check=False)

    # ------------------------------------------------------------ the registry

    def reg_query(self, key: str, name: str) -> str | None:
        """One value as `reg query KEY /v NAME` shows it, or None when there is none."""
        result = self.run("reg", "query", key, "/v", name, timeout=120)
        if result.returncode != 0:
            return None
        match = re.search(rf"^\s*{re.escape(name)}\s+REG_\w+\s+(.*?)\r?$", result.stdout, re.MULTILINE)
        return match.group(1) if match else None


def _copy_stream(stream: IO[bytes], target: Path) -> None:
    with open(target, "ab") as sink:
        for line in iter(stream.readline, b""):
            sink.write(line)
            sink.flush()

