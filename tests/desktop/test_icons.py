"""The docked icon on a dark and a light panel, at 1x and 2x: drawn for the size the tray gives it (pixel for pixel,
nothing scaled), and its outline contrasting with the panel. Saves the icons of every state as the panel shows them."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops

from agent.desktop import icons
from agent.desktop.icons import IconState
from tests.aws import Setup
from tests.desktop.harness import ARTIFACTS, Desktop, TrayApp, start_desktop
from tests.desktop.test_tray import edit_config
from tests.helpers import wait_until

PANELS = {"dark": "0x202020", "light": "0xf0f0f0"}
MIN_CONTRAST = 3.0  # WCAG 2.1's minimum for the parts of a graphic a person must see (success criterion 1.4.11)


@pytest.fixture(scope="module", params=sorted(PANELS))
def panel(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Desktop]]:
    """Its own headless desktop, whose trayer panel has the colour under test."""
    desktops = start_desktop(tmp_path_factory.mktemp(f"panel-{request.param}"), panel=PANELS[request.param])
    yield request.param, next(desktops)
    with contextlib.suppress(StopIteration):
        next(desktops)


def luminance(rgb: tuple[int, ...]) -> float:
    channels = [c / 255 for c in rgb[:3]]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def match(crop: Image.Image, state: IconState, size: int) -> tuple[float, int, tuple[int, int]]:
    """How far the docked pixels are from the state drawn at `size` over the panel: (mean, max, offset), best offset."""
    panel = crop.getpixel((0, 0))
    drawing = icons.draw(state, size)
    best: tuple[float, int, tuple[int, int]] | None = None
    for dx in range(-2, crop.width - size + 3):
        for dy in range(-2, crop.height - size + 3):
            expected = Image.new("RGB", crop.size, panel)
            expected.paste(drawing, (dx, dy), drawing)
            histogram = ImageChops.difference(expected, crop).convert("L").histogram()
            mean = sum(level * count for level, count in enumerate(histogram)) / (crop.width * crop.height)
            found = (mean, max(level for level, count in enumerate(histogram) if count), (dx, dy))
            best = found if best is None or found < best else best
    assert best is not None
    return best


def outline_contrast(crop: Image.Image, state: IconState, size: int, offset: tuple[int, int]) -> tuple[float, float]:
    """(the contrast with the panel of the icon's outline (its outer two pixels, as on screen; the upper quartile, so
    the ring counts and not the edge's blend), the contrast of the badge's colour with the panel)."""
    panel = crop.getpixel((0, 0))
    alpha = icons.draw(state, size).getchannel("A")

    def opaque(x: int, y: int) -> bool:
        return 0 <= x < size and 0 <= y < size and alpha.getpixel((x, y)) == 255

    band = []
    for x in range(size):
        for y in range(size):
            near_edge = any(not opaque(x + ex, y + ey) for ex in range(-2, 3) for ey in range(-2, 3) if abs(ex) + abs(ey) <= 2)
            sx, sy = x + offset[0], y + offset[1]
            if opaque(x, y) and near_edge and 0 <= sx < crop.width and 0 <= sy < crop.height:
                band.append(contrast(crop.getpixel((sx, sy)), panel))
    band.sort()
    return band[len(band) * 3 // 4], contrast(icons.COLORS[state], panel)


@pytest.mark.parametrize("scale", [1, 2])
def test_every_state_is_drawn_for_the_trays_size_and_stands_out_from_the_panel(
        panel: tuple[str, Desktop], scale: int, aws: Setup, tray_config: Path, private_home: Path) -> None:
    name, desktop = panel
    app = TrayApp(desktop, tray_config, private_home, extra_env={"GDK_SCALE": str(scale)})
    app.start()
    crops: dict[IconState, Image.Image] = {}
    measured: dict[str, Any] = {}

    def check(state: IconState) -> None:
        app.wait_state(state.value, 60)
        x, y, width, height = wait_until(app.icon, 10, "the docked icon")
        size = min(width, height)  # the tray's size: 30 px in a 32 x 30 socket, at 1x and at 2x (15 points)

        def drawn() -> tuple[Image.Image, tuple[float, int, tuple[int, int]]] | None:
            crop = desktop.grab().crop((x, y, x + width, y + height)).convert("RGB")
            found = match(crop, state, size)
            return (crop, found) if found[0] < 0.5 and found[1] <= 8 else None

        try:
            crop, (mean, largest, offset) = wait_until(drawn, 15, f"the {state.value} icon drawn at {size} px")
        except AssertionError:
            crop = desktop.grab().crop((x, y, x + width, y + height)).convert("RGB")
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            crop.save(ARTIFACTS / f"icons-{name}-{scale}x-{state.value}-unexpected.png")
            raise AssertionError(f"{state.value}: not the drawing at {size} px: {match(crop, state, size)}") from None
        ring, fill = outline_contrast(crop, state, size, offset)
        assert max(ring, fill) >= MIN_CONTRAST, f"{state.value} on the {name} panel: outline {ring:.1f}:1, badge {fill:.1f}:1"
        crops[state] = crop
        measured[state.value] = {"points": size // scale, "pixels": size, "mean_difference": round(mean, 3), "max_difference": largest,
                                 "outline_contrast": round(ring, 1), "badge_contrast": round(fill, 1)}

    try:
        check(IconState.IDLE)
        if scale == 1:  # at 2x, GTK's menu is larger than this small screen and leaves its pixels over the panel
            app.choose("Pause", "Until I resume")
            check(IconState.PAUSED)
            app.choose("Resume")
            check(IconState.IDLE)
            edit_config(tray_config, max_bandwidth="64KiB/s")
            aws.put("slow.wav", os.urandom(384 * 1024))
            check(IconState.SYNCING)
        edit_config(tray_config, endpoint_url="http://127.0.0.1:9", max_bandwidth=None)
        check(IconState.OFFLINE)
        edit_config(tray_config, endpoint_url=aws.endpoint)
        check(IconState.IDLE)
        tray_config.write_text(tray_config.read_text(encoding="utf-8") + "concurrency: lots\n", encoding="utf-8")
        check(IconState.ATTENTION)
    finally:
        app.stop()

    strip = Image.new("RGB", (sum(c.width + 8 for c in crops.values()) + 8, max(c.height for c in crops.values()) + 16),
                      next(iter(crops.values())).getpixel((0, 0)))
    left = 8
    for crop in crops.values():
        strip.paste(crop, (left, 8))
        left += crop.width + 8
    suffix = "" if scale == 1 else "-2x"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    strip.save(ARTIFACTS / f"icons-{name}-panel{suffix}.png")
    strip.resize((strip.width * 4, strip.height * 4), Image.Resampling.NEAREST).save(ARTIFACTS / f"icons-{name}-panel{suffix}-zoom.png")
    (ARTIFACTS / f"icons-{name}-panel{suffix}.json").write_text(json.dumps(measured, indent=2), encoding="utf-8")


# ---------------------------------------------------------------- the drawings themselves (no display needed)

# Dark panels (GNOME's, Windows 11's, a Darcula grey) and light ones (GTK's default, macOS's, white). Not a mid grey
# near #808080: there the green and grey badges match its brightness and only the white halo tells them apart.
PANEL_COLOURS = [(32, 32, 32), (45, 45, 45), (60, 63, 65), (220, 218, 213), (236, 236, 236), (255, 255, 255)]


@pytest.mark.parametrize("size", sorted({*icons.TRAY_SIZES, *(s * 2 for s in icons.TRAY_SIZES), 30}))
def test_every_state_stands_out_from_dark_mid_and_light_panels(size: int) -> None:
    for state in IconState:
        drawing = icons.draw(state, size)
        for colour in PANEL_COLOURS:
            shown = Image.new("RGB", (size + 4, size + 4), colour)
            shown.paste(drawing, (2, 2), drawing)
            ring, fill = outline_contrast(shown, state, size, (2, 2))
            assert max(ring, fill) >= MIN_CONTRAST, f"{state.value} at {size} px on {colour}: outline {ring:.1f}:1, badge {fill:.1f}:1"


def test_the_icon_theme_holds_every_state_at_each_size_and_scale(tmp_path: Path) -> None:
    from agent.desktop import tray_icon

    theme = tray_icon.write_theme(tmp_path) / "hicolor"
    index = (theme / "index.theme").read_text(encoding="utf-8")
    for size in tray_icon.THEME_SIZES:
        assert f"[{size}x{size}/apps]\nSize={size}\nScale=1\nType=Fixed" in index
        assert f"[{size}x{size}@2/apps]\nSize={size}\nScale=2\nType=Fixed" in index
        for state in IconState:
            for scale, folder in ((1, f"{size}x{size}"), (2, f"{size}x{size}@2")):
                with Image.open(theme / folder / "apps" / f"s3-sqs-agent-{state.value}.png") as image:
                    assert image.size == (size * scale, size * scale)
                    assert image.tobytes() == icons.draw(state, size * scale).tobytes(), "drawn for its size, not scaled"


def test_a_gtk_icon_is_drawn_at_the_trays_size_centred_on_the_size_gtk_lays_out() -> None:
    from agent.desktop.tray_icon import framed

    frame = framed(IconState.IDLE, 30, 32, scale=2)
    assert frame.size == (64, 64)
    assert frame.crop((2, 2, 62, 62)).tobytes() == icons.draw(IconState.IDLE, 60).tobytes()
    assert frame.getchannel("A").crop((0, 0, 64, 2)).getextrema() == (0, 0)
    assert framed(IconState.PAUSED, 16, 16).tobytes() == icons.draw(IconState.PAUSED, 16).tobytes()
