"""The tray's state icons, drawn with Pillow at each size so they stay sharp from 16 to 32 px; writes assets/ for installers.

The drawing below is the icons' source: `python -m agent.desktop.icons [FOLDER]` (or `make icons`) regenerates
assets/ (a PNG per state and size, app.png, app.ico for Windows and app.icns for macOS).
"""

from __future__ import annotations

import enum
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

SUPERSAMPLE = 8
TRAY_SIZES = (16, 22, 24, 32)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ASSETS = Path(__file__).resolve().parents[2] / "assets"


class IconState(str, enum.Enum):
    """What the icon shows."""

    IDLE = "idle"            # up to date
    SYNCING = "syncing"      # downloading
    PAUSED = "paused"
    ATTENTION = "attention"  # an error or failed items
    OFFLINE = "offline"      # the endpoint cannot be reached; retrying by itself


WHITE = (255, 255, 255, 255)
COLORS: dict[IconState, tuple[int, int, int, int]] = {
    IconState.IDLE: (35, 134, 54, 255),        # green: all done
    IconState.SYNCING: (25, 103, 210, 255),    # blue: working
    IconState.PAUSED: (110, 118, 129, 255),    # grey
    IconState.ATTENTION: (214, 92, 0, 255),    # orange: look at me
    IconState.OFFLINE: (70, 76, 84, 255),      # dark grey
}


@lru_cache(maxsize=64)
def draw(state: IconState, size: int = 32) -> Image.Image:
    """A round badge in the state's colour with a white glyph, drawn large and scaled down for smooth edges."""
    big = size * SUPERSAMPLE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    margin = big * 0.03
    pen.ellipse((margin, margin, big - margin, big - margin), fill=COLORS[state])
    # Glyph strokes get relatively thicker at small sizes, so a 16 px icon still reads.
    stroke = big * (0.13 if size <= 16 else 0.11 if size <= 24 else 0.095)
    _GLYPHS[state](pen, big, stroke)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def _line(pen: ImageDraw.ImageDraw, points: list[tuple[float, float]], width: float) -> None:
    pen.line(points, fill=WHITE, width=round(width), joint="curve")
    radius = width / 2
    for x, y in (points[0], points[-1]):
        pen.ellipse((x - radius, y - radius, x + radius, y + radius), fill=WHITE)


def _check(pen: ImageDraw.ImageDraw, s: float, w: float) -> None:
    _line(pen, [(s * 0.28, s * 0.52), (s * 0.44, s * 0.68), (s * 0.73, s * 0.36)], w)


def _arrow_down(pen: ImageDraw.ImageDraw, s: float, w: float) -> None:
    _line(pen, [(s * 0.5, s * 0.22), (s * 0.5, s * 0.66)], w)
    _line(pen, [(s * 0.31, s * 0.49), (s * 0.5, s * 0.69), (s * 0.69, s * 0.49)], w)
    _line(pen, [(s * 0.3, s * 0.79), (s * 0.7, s * 0.79)], w * 0.8)


def _pause(pen: ImageDraw.ImageDraw, s: float, w: float) -> None:
    bar = max(w, s * 0.12)
    for x in (s * 0.39, s * 0.61):
        pen.rounded_rectangle((x - bar / 2, s * 0.28, x + bar / 2, s * 0.72), radius=bar * 0.3, fill=WHITE)


def _exclamation(pen: ImageDraw.ImageDraw, s: float, w: float) -> None:
    _line(pen, [(s * 0.5, s * 0.24), (s * 0.5, s * 0.56)], w * 1.15)
    dot = w * 0.7
    pen.ellipse((s * 0.5 - dot, s * 0.74 - dot, s * 0.5 + dot, s * 0.74 + dot), fill=WHITE)


def _offline(pen: ImageDraw.ImageDraw, s: float, w: float) -> None:
    # A plug-less cable: a short dash with a gap, read as "disconnected" next to the other glyphs.
    _line(pen, [(s * 0.26, s * 0.5), (s * 0.42, s * 0.5)], w)
    _line(pen, [(s * 0.58, s * 0.5), (s * 0.74, s * 0.5)], w)
    _line(pen, [(s * 0.4, s * 0.7), (s * 0.6, s * 0.3)], w * 0.75)


_GLYPHS = {
    IconState.IDLE: _check,
    IconState.SYNCING: _arrow_down,
    IconState.PAUSED: _pause,
    IconState.ATTENTION: _exclamation,
    IconState.OFFLINE: _offline,
}


def app_icon(size: int = 256) -> Image.Image:
    """The application's own icon (installers, About): the syncing glyph, the agent's everyday job."""
    return draw(IconState.SYNCING, size)


def write_assets(folder: Path = ASSETS) -> list[Path]:
    """Write every state at every tray size, plus app.png, app.ico and app.icns. Returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for state in IconState:
        for size in TRAY_SIZES:
            path = folder / f"tray-{state.value}-{size}.png"
            draw(state, size).save(path, optimize=True)
            written.append(path)
    master = app_icon(1024)
    targets: dict[Path, dict[str, Any]] = {
        folder / "app.png": {"format": "PNG"},
        folder / "app.ico": {"format": "ICO", "sizes": [(s, s) for s in ICO_SIZES]},
        folder / "app.icns": {"format": "ICNS"},
    }
    for path, options in targets.items():
        (app_icon(512) if path.suffix == ".png" else master).save(path, **options)
        written.append(path)
    return written


if __name__ == "__main__":
    for written_path in write_assets(Path(sys.argv[1]) if len(sys.argv) > 1 else ASSETS):
        print(written_path)
