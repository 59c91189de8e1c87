"""Builds the installers on the machine it runs on: the PyInstaller one-folder app, and on Linux the .deb.

Run from the project root with the project's venv: `python installer/build.py` (what `make installer` does).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAME = "s3-sqs-agent"
TITLE = "S3 SQS Agent"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256)
DEPENDS = ("gir1.2-ayatanaappindicator3-0.1 | gir1.2-appindicator3-0.1, gir1.2-gtk-3.0, libgirepository-1.0-1, "
           "libgtk-3-0, libc6")
POSTRM = """#!/bin/sh
# Removes what the app may have left beside its files (nothing in users' homes: their config and logs stay theirs).
set -e
if [ "$1" = remove ] || [ "$1" = purge ]; then
    rm -rf /opt/s3-sqs-agent
fi
exit 0
"""


def build_app(dist: Path, work: Path) -> Path:
    """PyInstaller, from installer/s3-sqs-agent.spec, into dist/s3-sqs-agent/."""
    subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
                    "--distpath", str(dist), "--workpath", str(work), str(ROOT / "installer" / f"{NAME}.spec")],
                   cwd=ROOT, check=True)
    return dist / NAME


def desktop_entry() -> str:
    return "\n".join([
        "[Desktop Entry]",
        "Type=Application",
        f"Name={TITLE}",
        "Comment=Downloads new S3 objects announced on an SQS queue",
        f"Exec=/usr/bin/{NAME}",
        f"Icon={NAME}",
        "Terminal=false",
        "Categories=Network;FileTransfer;",
        "StartupNotify=false",
        "",
    ])


DEB_COMPRESSION = {"xz": ["-Zxz"], "fast": ["-Zgzip", "-z1"]}
"""dpkg-deb's compressor: xz for releases (the smallest .deb); "fast" is what the tests build, the same package
about 30 % larger, compressed in seconds where xz takes about two minutes of a core for the app's 270 MB."""


def build_deb(app: Path, dist: Path, work: Path, version: str, compression: str = "xz") -> Path:
    """Stage /opt, /usr/bin, the launcher and the icons, then `dpkg-deb --build --root-owner-group`."""
    from PIL import Image

    architecture = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True).stdout.strip()
    stage = work / f"{NAME}_{version}_{architecture}"
    shutil.rmtree(stage, ignore_errors=True)
    shutil.copytree(app, stage / "opt" / NAME, symlinks=True)
    (stage / "usr" / "bin").mkdir(parents=True)
    os.symlink(f"/opt/{NAME}/{NAME}", stage / "usr" / "bin" / NAME)
    applications = stage / "usr" / "share" / "applications"
    applications.mkdir(parents=True)
    (applications / f"{NAME}.desktop").write_text(desktop_entry(), encoding="utf-8")
    source = Image.open(ROOT / "assets" / "app.png").convert("RGBA")
    for size in ICON_SIZES:
        folder = stage / "usr" / "share" / "icons" / "hicolor" / f"{size}x{size}" / "apps"
        folder.mkdir(parents=True)
        source.resize((size, size), Image.LANCZOS).save(folder / f"{NAME}.png")
    installed_kib = sum(p.lstat().st_size for p in stage.rglob("*")) // 1024 + 1
    control = stage / "DEBIAN"
    control.mkdir()
    (control / "control").write_text("\n".join([
        f"Package: {NAME}",
        f"Version: {version}",
        f"Architecture: {architecture}",
        "Maintainer: S3 SQS Agent maintainers <s3-sqs-agent@users.noreply.github.com>",
        f"Installed-Size: {installed_kib}",
        f"Depends: {DEPENDS}",
        "Recommends: gnome-shell-extension-appindicator | trayer | stalonetray",
        "Section: net",
        "Priority: optional",
        "Homepage: https://github.com/s3-sqs-agent/s3-sqs-agent",
        f"Description: {TITLE}: downloads new S3 objects announced on an SQS queue",
        " A system tray app (or a headless service) that polls an SQS queue for S3 notifications",
        " and downloads each new object into a local folder, safely and exactly once.",
        "",
    ]), encoding="utf-8")
    postrm = control / "postrm"
    postrm.write_text(POSTRM, encoding="utf-8")
    postrm.chmod(0o755)
    for path in [stage, *stage.rglob("*")]:  # dpkg-deb refuses group-writable control files; keep the tree tidy
        if not path.is_symlink():
            path.chmod((path.stat().st_mode & 0o7777) & ~0o022)
    target = dist / f"{NAME}_{version}_{architecture}.deb"
    target.unlink(missing_ok=True)
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", *DEB_COMPRESSION[compression], str(stage), str(target)], check=True,
                   stdout=subprocess.DEVNULL)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dist", type=Path, default=ROOT / "dist")
    parser.add_argument("--work", type=Path, default=ROOT / "build")
    parser.add_argument("--no-deb", action="store_true", help="only the one-folder app")
    parser.add_argument("--deb-compression", choices=sorted(DEB_COMPRESSION), default="xz",
                        help="xz (the default, for releases: the smallest .deb) or fast (gzip -1, what the tests build: "
                             "compressed in seconds rather than minutes)")
    args = parser.parse_args(argv)
    version = metadata.version(NAME)
    started = time.monotonic()
    app = build_app(args.dist, args.work / "pyinstaller")
    print(f"Built {app} in {time.monotonic() - started:.0f} s")
    if sys.platform == "linux" and not args.no_deb and shutil.which("dpkg-deb"):
        deb = build_deb(app, args.dist, args.work / "deb", version, args.deb_compression)
        print(f"Built {deb} ({deb.stat().st_size / 1e6:.1f} MB) in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
