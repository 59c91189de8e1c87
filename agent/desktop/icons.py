"""The tray's state icons, drawn with Pillow for each size (16 px and up, 2x too) and ringed by a halo; writes assets/.

Each state has its colour, its glyph and (attention: a warning triangle; not set up yet: a rounded square) its shape,
so it reads without colour; the white halo keeps dark badges visible on dark panels, and the badge's colour contrasts
with light ones. The drawing below is the icons' source: `python -m agent.desktop.icons [FOLDER]` (or `make icons`)
regenerates assets/ (a PNG per state and size, at 1x and 2x, app.png, app.ico for Windows and app.icns for macOS).
agent/desktop/tray_icon.py asks for the size the tray shows. The notifications' icons (NoticeIcon) are drawn here too,
at each start (write_notice_icons).
"""

from __future__ import annotations

import enum
import math
import sys
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

SUPERSAMPLE = 8
TRAY_SIZES = (16, 22, 24, 32)
SCALES = (1, 2)  # HiDPI: a panel at 2x asks for 32 px where it shows 16
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ASSETS = Path(__file__).resolve().parents[2] / "assets"


class IconState(str, enum.Enum):
    """What the icon shows."""

    IDLE = "idle"            # up to date
    SYNCING = "syncing"      # downloading
    PAUSED = "paused"
    SETUP = "setup"          # not set up yet: nothing runs until Set up… is done (nothing is wrong either)
    ATTENTION = "attention"  # an error or failed items
    OFFLINE = "offline"      # the endpoint cannot be reached; retrying by itself


WHITE = (255, 255, 255, 255)
HALO = (255, 255, 255, 255)  # the ring that keeps a dark badge visible on a dark panel (a light panel sees the badge)
COLORS: dict[IconState, tuple[int, int, int, int]] = {
    IconState.IDLE: (35, 134, 54, 255),        # green: all done
    IconState.SYNCING: (25, 103, 210, 255),    # blue: working
    IconState.PAUSED: (110, 118, 129, 255),    # grey
    IconState.SETUP: (111, 66, 193, 255),      # violet: waiting for you, not a fault
    IconState.ATTENTION: (196, 76, 0, 255),    # orange: look at me (dark enough for 3:1 on a light panel)
    IconState.OFFLINE: (70, 76, 84, 255),      # dark grey
}


class NoticeIcon(str, enum.Enum):
    """The picture on a notification: which kind of news it brings, at a glance."""

    DONE = "done"            # files downloaded
    WAITING = "waiting"      # a file not readable yet: retried by itself
    FAILED = "failed"        # a download given up
    NEEDS_YOU = "needs-you"  # something only the user can fix
    OFFLINE = "offline"      # the endpoint cannot be reached: retrying by itself
    INFO = "info"            # anything else (About, a report on something asked for): the app's own icon


FAILED_RED = (198, 40, 40, 255)


@lru_cache(maxsize=128)
def draw(state: IconState, size: int = 32) -> Image.Image:
    """The state's badge (a disc; a warning triangle for attention, a rounded square for not set up yet) in its colour
    with a white glyph, ringed by a halo so it reads on dark and light panels. Drawn for `size` itself (strokes snapped
    to its pixels), never scaled from another size."""
    return _badge(_SHAPES[state], COLORS[state], _GLYPHS[state], size)


@lru_cache(maxsize=16)
def notice_icon(kind: NoticeIcon, size: int = 128) -> Image.Image:
    """A notification's icon: done, waiting, failed and needs-you each their own, the tray's badges where they match."""
    if kind is NoticeIcon.INFO:
        return app_icon(size)
    state = {NoticeIcon.DONE: IconState.IDLE, NoticeIcon.NEEDS_YOU: IconState.ATTENTION, NoticeIcon.OFFLINE: IconState.OFFLINE}.get(kind)
    if state is not None:
        return draw(state, size)
    if kind is NoticeIcon.WAITING:
        return _badge(_disc, COLORS[IconState.SYNCING], _clock, size)
    return _badge(_disc, FAILED_RED, _cross, size)


def write_notice_icons(folder: Path) -> dict[NoticeIcon, Path]:
    """A PNG per notification kind in `folder` (desktop notifications take a file). Returns them by kind."""
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for kind in NoticeIcon:
        path = folder / f"notice-{kind.value}.png"
        notice_icon(kind).save(path)
        written[kind] = path
    return written


Shape = Callable[[ImageDraw.ImageDraw, float, float, tuple[int, int, int, int]], None]
Glyph = Callable[[ImageDraw.ImageDraw, float, float, int], None]


def _badge(shape: Shape, colour: tuple[int, int, int, int], glyph: Glyph, size: int) -> Image.Image:
    grid = SUPERSAMPLE
    big = size * grid
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    halo = big / 16 if size < 32 else big / 20  # one pixel at 16 to 24 px, about 1.5 at 32 and 2.4 at 48
    shape(pen, big, halo, colour)
    # Glyph strokes get relatively thicker at small sizes, so a 16 px icon still reads.
    stroke = big * (0.14 if size <= 16 else 0.12 if size <= 24 else 0.1)
    glyph(pen, big, _snap(stroke, grid, minimum=grid), grid)
    return image.resize((size, size), Image.Resampling.BOX)  # each pixel the average of its 8 x 8: no ringing


def _snap(value: float, grid: int, minimum: float = 0.0) -> float:
    """Round a length or a position to whole pixels of the final size, so straight edges fall on pixel edges."""
    return max(minimum, round(value / grid) * grid)


def _disc(pen: ImageDraw.ImageDraw, s: float, halo: float, fill: tuple[int, int, int, int]) -> None:
    pen.ellipse((0, 0, s - 1, s - 1), fill=HALO)
    pen.ellipse((halo, halo, s - 1 - halo, s - 1 - halo), fill=fill)


def _triangle(pen: ImageDraw.ImageDraw, s: float, halo: float, fill: tuple[int, int, int, int]) -> None:
    """A warning sign: a triangle with rounded corners, its halo the same width all round."""
    outer = [(s / 2, -s * 0.04), (-s * 0.02, s * 0.96), (s * 1.02 - 1, s * 0.96)]  # the rounding pulls the corners in
    radius = s * 0.12
    _rounded_polygon(pen, outer, radius, HALO)
    _rounded_polygon(pen, _inset(outer, halo), max(1.0, radius - halo), fill)


def _square(pen: ImageDraw.ImageDraw, s: float, halo: float, fill: tuple[int, int, int, int]) -> None:
    """A rounded square: the shape no other state has, for "not set up yet"."""
    radius = s * 0.28
    pen.rounded_rectangle((0, 0, s - 1, s - 1), radius=radius, fill=HALO)
    pen.rounded_rectangle((halo, halo, s - 1 - halo, s - 1 - halo), radius=max(1.0, radius - halo), fill=fill)


def _inset(points: list[tuple[float, float]], distance: float) -> list[tuple[float, float]]:
    """A triangle moved inwards by `distance` on every side (towards its incentre)."""
    (ax, ay), (bx, by), (cx, cy) = points
    a, b, c = math.dist((bx, by), (cx, cy)), math.dist((ax, ay), (cx, cy)), math.dist((ax, ay), (bx, by))
    perimeter = a + b + c
    centre = ((a * ax + b * bx + c * cx) / perimeter, (a * ay + b * by + c * cy) / perimeter)
    area = abs((bx - ax) * (cy - ay) - (cx - ax) * (by - ay)) / 2
    factor = (2 * area / perimeter - distance) / (2 * area / perimeter)
    return [(centre[0] + (x - centre[0]) * factor, centre[1] + (y - centre[1]) * factor) for x, y in points]


def _rounded_polygon(pen: ImageDraw.ImageDraw, points: list[tuple[float, float]], radius: float, colour: tuple[int, int, int, int]) -> None:
    """The polygon with corners rounded by `radius`: its core, stroked with a round pen as wide as the rounding."""
    core = _inset(points, radius)
    pen.polygon(core, fill=colour)
    pen.line([*core, core[0]], fill=colour, width=round(radius * 2), joint="curve")
    for x, y in core:
        pen.ellipse((x - radius, y - radius, x + radius, y + radius), fill=colour)


def _line(pen: ImageDraw.ImageDraw, points: list[tuple[float, float]], width: float, colour: tuple[int, int, int, int] = WHITE) -> None:
    pen.line(points, fill=colour, width=round(width), joint="curve")
    radius = width / 2
    for x, y in (points[0], points[-1]):
        pen.ellipse((x - radius, y - radius, x + radius, y + radius), fill=colour)


def _bar(pen: ImageDraw.ImageDraw, x: float, top: float, bottom: float, width: float, grid: int) -> None:
    """A vertical stroke whose sides sit on pixel edges."""
    left = _snap(x - width / 2, grid)
    pen.rounded_rectangle((left, _snap(top, grid), left + width - 1, _snap(bottom, grid) - 1), radius=width * 0.3, fill=WHITE)


def _check(pen: ImageDraw.ImageDraw, s: float, w: float, grid: int) -> None:
    _line(pen, [(s * 0.28, s * 0.52), (s * 0.44, s * 0.68), (s * 0.73, s * 0.36)], w)


def _arrow_down(pen: ImageDraw.ImageDraw, s: float, w: float, grid: int) -> None:
    """A stem with a solid head over a tray line (the line only where there is room for it)."""
    small = s <= 16 * grid
    stem_top, head_top, tip = s * 0.2, s * (0.46 if small else 0.44), s * (0.78 if small else 0.68)
    _bar(pen, s * 0.5, stem_top, (head_top + tip) / 2, w, grid)  # into the head: its rounded end hidden
    centre = _snap(s * 0.5 - w / 2, grid) + w / 2
    half = s * (0.27 if small else 0.22)
    pen.polygon([(centre - half, head_top), (centre + half, head_top), (centre, tip)], fill=WHITE)
    if not small:
        line = _snap(w * 0.8, grid, minimum=grid)
        bottom = _snap(s * 0.8, grid)
        pen.rounded_rectangle((_snap(s * 0.28, grid), bottom - line, _snap(s * 0.72, grid) - 1, bottom - 1), radius=line * 0.3, fill=WHITE)


def _pause(pen: ImageDraw.ImageDraw, s: float, w: float, grid: int) -> None:
    bar = _snap(max(w, s * 0.13), grid, minimum=grid)
    for x in (s * 0.38, s * 0.62):
        _bar(pen, x, s * 0.28, s * 0.72, bar, grid)


def _dots(pen: ImageDraw.ImageDraw, s: float, w: float, grid: int) -> None:
    """Three dots, as in "Set up…": square-ish at 16 px, where a round dot would blur away."""
    dot = _snap(max(w, s * 0.14), grid, minimum=2 * grid)
    gap = _snap(max(grid, (s * 0.62 - 3 * dot) / 2), grid, minimum=grid)
    left = _snap((s - 3 * dot - 2 * gap) / 2, grid)
    top = _snap((s - dot) / 2, grid)
    for index in range(3):
        x = left + index * (dot + gap)
        pen.rounded_rectangle((x, top, x + dot - 1, top + dot - 1), radius=dot * 0.45, fill=WHITE)


def _clock(pen: ImageDraw.ImageDraw, s: float, w: float, grid: int) -> None:
    """A clock face at ten past: waiting, and trying again by itself."""
    inset = s * 0.19
    pen.ellipse((inset, inset, s - inset, s - inset), outline=WHITE, width=round(w * 0.75))
    centre = s / 2
    _line(pen, [(centre, s * 0.31), (centre, centre)], w * 0.6)
    _line(pen, [(centre, centre), (s * 0.64, s * 0.6)], w * 0.6)


def _cross(pen: ImageDraw.ImageDraw, s: float, w: float, grid: int) -> None:
    """An X: given up."""
    near, far = s * 0.33, s * 0.67
    _line(pen, [(near, near), (far, far)], w * 1.1)
    _line(pen, [(near, far), (far, near)], w * 1.1)


def _exclamation(pen: ImageDraw.ImageDraw, s: float, w: float, grid: int) -> None:
    # Low in the triangle, where it is widest; the dot a clear pixel below the stem.
    stem = _snap(w * 1.05, grid, minimum=grid)
    left = _snap(s * 0.5 - stem / 2, grid)
    dot_bottom = _snap(s * 0.84, grid)
    dot_top = dot_bottom - stem
    stem_bottom = dot_top - max(grid, _snap(s * 0.06, grid))
    pen.rounded_rectangle((left, _snap(s * 0.3, grid), left + stem - 1, stem_bottom - 1), radius=stem * 0.3, fill=WHITE)
    pen.rounded_rectangle((left, dot_top, left + stem - 1, dot_bottom - 1), radius=stem * 0.45, fill=WHITE)


def _offline(pen: ImageDraw.ImageDraw, s: float, w: float, grid: int) -> None:
    """A cloud, struck through: the server cannot be reached."""
    fill = COLORS[IconState.OFFLINE]
    base_top, base_bottom = s * 0.48, s * 0.72
    pen.rounded_rectangle((s * 0.18, base_top, s * 0.82, base_bottom), radius=(base_bottom - base_top) / 2, fill=WHITE)
    pen.ellipse((s * 0.24, s * 0.36, s * 0.5, s * 0.62), fill=WHITE)
    pen.ellipse((s * 0.38, s * 0.24, s * 0.7, s * 0.56), fill=WHITE)
    strike = [(s * 0.22, s * 0.2), (s * 0.8, s * 0.78)]
    white = _snap(w * 0.6, grid, minimum=grid)
    _line(pen, strike, white + 2 * _snap(w * 0.45, grid, minimum=grid), fill)  # a gap in the badge's colour...
    _line(pen, strike, white)  # ...around the white strike


_SHAPES = {
    IconState.IDLE: _disc,
    IconState.SYNCING: _disc,
    IconState.PAUSED: _disc,
    IconState.SETUP: _square,
    IconState.ATTENTION: _triangle,
    IconState.OFFLINE: _disc,
}
_GLYPHS = {
    IconState.IDLE: _check,
    IconState.SYNCING: _arrow_down,
    IconState.PAUSED: _pause,
    IconState.SETUP: _dots,
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
            for scale in SCALES:
                path = folder / f"tray-{state.value}-{size}{'' if scale == 1 else f'@{scale}x'}.png"
                draw(state, size * scale).save(path, optimize=True)
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
