"""The tray icon drawn at the size the tray asks for (HiDPI too), per pystray backend, instead of a scaled bitmap.

- AppIndicator (StatusNotifier hosts: KDE, GNOME's extension, XFCE...): an icon theme folder with every state drawn
  at each standard size, at 1x and 2x; the host looks the icon up at its own size and scale.
- GTK (XEmbed trays): the status icon says its size in pixels and the screen its scale; the icon is drawn for those.
- macOS: drawn at the menu bar's thickness times the screen's backing scale, shown at the thickness in points.
- Windows: an .ico holding every small-icon size drawn for itself, loaded at the size of the window's DPI. Its menu
  is never rebuilt while it is open, and an `&` in an item (a file name) shows as itself.

pystray draws one bitmap and lets the platform scale it; these subclasses replace how the bitmap is made (and on
Windows when the menu is rebuilt), and fall back to pystray's own way should a platform call fail.
"""

from __future__ import annotations

import ctypes
import io
import logging
import shutil
import tempfile
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

from PIL import Image

from agent.api import APP_NAME
from agent.desktop import icons
from agent.desktop.icons import IconState

log = logging.getLogger(__name__)

THEME_SIZES = (16, 22, 24, 32, 48)  # the sizes StatusNotifier hosts and GTK ask for
WINDOWS_SIZES = (16, 20, 24, 32, 40, 48, 64)  # SM_CXSMICON from 100% to 400%
FALLBACK_SIZE = 32  # before the tray has said its size


def icon_name(state: IconState) -> str:
    return f"{APP_NAME}-{state.value}"


def write_theme(folder: Path) -> Path:
    """An icon theme (`hicolor` under `folder`) with every state at THEME_SIZES, at 1x and 2x. Returns `folder`."""
    theme = folder / "hicolor"
    directories = [f"{size}x{size}{'' if scale == 1 else f'@{scale}'}/apps" for size in THEME_SIZES for scale in icons.SCALES]
    for directory in directories:
        (theme / directory).mkdir(parents=True, exist_ok=True)
    for state in IconState:
        for size in THEME_SIZES:
            for scale in icons.SCALES:
                suffix = "" if scale == 1 else f"@{scale}"
                icons.draw(state, size * scale).save(theme / f"{size}x{size}{suffix}" / "apps" / f"{icon_name(state)}.png")
    sections = [f"[{d}]\nSize={d.split('x')[0]}\nScale={d.split('@')[1].split('/')[0] if '@' in d else 1}\nType=Fixed\nContext=Applications\n"
                for d in directories]
    (theme / "index.theme").write_text(f"[Icon Theme]\nName=hicolor\nComment={APP_NAME} tray icons\nDirectories={','.join(directories)}\n\n"
                                       + "\n".join(sections), encoding="utf-8")
    return folder


def png(image: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def icon_class(pystray: ModuleType, backend: str) -> type:
    """pystray.Icon for `backend`, with `show_state(state)` and icons drawn at the size asked for."""
    base: Any = pystray.Icon
    factory = {"appindicator": _appindicator, "gtk": _gtk, "darwin": _darwin, "win32": _win32}.get(backend)
    return factory(base) if factory else _plain(base)


def _plain(base: Any) -> type:
    class StateIcon(base):  # type: ignore[misc]
        """Shows a state; pystray scales the bitmap."""

        _state = IconState.IDLE

        def show_state(self, state: IconState) -> None:
            self._state = state
            self.icon = icons.draw(state, FALLBACK_SIZE)  # pystray's setter redraws through the backend's _update_icon

        def close(self) -> None:
            """Free what the icon wrote (after run() returned)."""

    return StateIcon


def _appindicator(base: Any) -> type:
    from gi.repository import GLib

    class ThemedIndicator(_plain(base)):  # type: ignore[misc]
        """The host picks the size: the icon is a name in an icon theme folder written at start."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self._theme: Path | None = None
            try:
                self._theme = write_theme(Path(tempfile.mkdtemp(prefix=f"{APP_NAME}-icons-")))
            except OSError as exc:
                log.warning("Cannot write the tray's icon theme (%s); the tray scales one bitmap instead", exc)
            super().__init__(*args, **kwargs)

        def _show(self) -> None:
            super()._show()
            GLib.idle_add(self._set_themed)

        def _update_icon(self) -> None:
            super()._update_icon()  # pystray's bitmap, replaced at once by the themed name where there is a theme
            GLib.idle_add(self._set_themed)

        def _set_themed(self) -> bool:
            if self._theme is not None:
                try:
                    self._appindicator.set_icon_theme_path(str(self._theme))
                    self._appindicator.set_icon_full(icon_name(self._state), self._state.value)
                except Exception:
                    log.debug("Could not show the themed icon", exc_info=True)
            return False

        def close(self) -> None:
            if self._theme is not None:
                shutil.rmtree(self._theme, ignore_errors=True)

    return ThemedIndicator


def _gtk(base: Any) -> type:
    from gi.repository import Gdk, Gio, GLib, Gtk

    class SizedStatusIcon(_plain(base)):  # type: ignore[misc]
        """An XEmbed tray gives the icon a size: it is drawn at that many pixels, times the screen's scale."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._status_icon.connect("size-changed", self._on_size_changed)
            self._clearing: Any = None  # the X connection that clears the icon's window before GTK draws it (scaled)

        def _on_size_changed(self, status_icon: Any, size: int) -> bool:
            self._update_icon()
            return True  # the icon is drawn for the new size: GTK need not scale it

        def _update_icon(self) -> None:
            GLib.idle_add(self._draw)

        def _draw(self) -> bool:
            try:
                size = self._status_icon.get_size() or FALLBACK_SIZE
                scale = _gdk_scale(Gdk)
                canvas = _gtk_image_size(Gtk, size)
                self._status_icon.set_from_gicon(Gio.BytesIcon.new(GLib.Bytes.new(png(framed(self._state, size, canvas, scale)))))
                if scale > 1:
                    self._clear_before_each_draw()
            except Exception:
                log.debug("Could not draw the icon at the tray's size", exc_info=True)
                self._remove_fs_icon()
                self._update_fs_icon()
                self._status_icon.set_from_file(self._icon_path)
            return False

        def _clear_before_each_draw(self) -> None:
            """GTK 3 clears a scaled XEmbed icon's background in points, not pixels: a quarter of it at 2x, leaving the
            last icon's pixels in the rest, and drawing the icon's edges over themselves at each redraw. So before each
            draw, the whole window is cleared to the panel behind it. (Repainting after GTK's draw, on timers, left
            those pixels on a busy machine, where GTK draws again later.) The window is a GtkPlug of this process."""
            if self._clearing is not None:
                return
            xid = self._status_icon.get_x11_window_id()
            plug = next((window for window in Gtk.Window.list_toplevels() if isinstance(window, Gtk.Plug) and window.get_id() == xid), None)
            if plug is None:
                log.debug("The tray icon's window is not among this process's toplevels; it is not cleared before drawing")
                return
            try:
                from Xlib import display as xdisplay

                self._clearing = xdisplay.Display()
            except Exception:
                log.debug("Cannot clear the tray icon's window before drawing", exc_info=True)
                return
            window = self._clearing.create_resource_object("window", xid)

            def clear(widget: Any, context: Any) -> bool:
                try:
                    window.clear_area(exposures=False)
                    self._clearing.sync()  # done before GTK's own drawing, which goes over GTK's connection
                except Exception:
                    log.debug("Could not clear the tray icon's window", exc_info=True)
                return False  # then GTK draws (the handler runs before GtkTrayIcon's own)

            plug.connect("draw", clear)

        def close(self) -> None:
            if self._clearing is not None:
                self._clearing.close()

    return SizedStatusIcon


def framed(state: IconState, size: int, canvas: int, scale: int = 1) -> Any:
    """The state drawn at `size` (what the tray shows) centred on a `canvas` (what GTK lays out), times `scale`."""
    visible = min(size, canvas) * scale
    frame = Image.new("RGBA", (canvas * scale, canvas * scale), (0, 0, 0, 0))
    drawing = icons.draw(state, visible)
    offset = (canvas * scale - visible) // 2
    frame.paste(drawing, (offset, offset))
    return frame


def _gtk_image_size(gtk: Any, size: int) -> int:
    """GtkStatusIcon lays its image out at the GTK icon size nearest the tray's size (16, 24, 32, 48), not at that
    size: a 30 px tray gets a 32 px image, clipped to 30. Drawn at that size, GTK has nothing to scale."""
    sizes = []
    for icon_size in (gtk.IconSize.MENU, gtk.IconSize.SMALL_TOOLBAR, gtk.IconSize.LARGE_TOOLBAR, gtk.IconSize.BUTTON,
                      gtk.IconSize.DND, gtk.IconSize.DIALOG):
        known, width, height = gtk.icon_size_lookup(icon_size)
        if known:
            sizes.append(max(width, height))
    return min(sizes, key=lambda candidate: (abs(candidate - size), candidate)) if sizes else size


def _gdk_scale(gdk: Any) -> int:
    display = gdk.Display.get_default()
    monitor = display.get_primary_monitor() or display.get_monitor(0) if display else None
    return max(1, int(monitor.get_scale_factor())) if monitor else 1


def _darwin(base: Any) -> type:
    import AppKit  # type: ignore[import-not-found]  # pystray's macOS backend depends on PyObjC
    import Foundation  # type: ignore[import-not-found]

    class RetinaStatusItem(_plain(base)):  # type: ignore[misc]
        """Drawn with as many pixels as the screen has per point, shown at the menu bar's thickness in points."""

        _icon_image: Any
        _drawn: tuple[IconState, int] | None = None

        def _assert_image(self) -> None:
            try:
                thickness = float(self._status_bar.thickness())
                screen = AppKit.NSScreen.mainScreen()
                pixels = round(thickness * (float(screen.backingScaleFactor()) if screen else 1.0))
                key = (self._state, pixels)
                if self._icon_image is not None and self._drawn == key:
                    return
                image = AppKit.NSImage.alloc().initWithData_(Foundation.NSData(png(icons.draw(self._state, pixels))))
                image.setSize_((thickness, thickness))
                self._icon_image, self._drawn = image, key
                self._status_item.button().setImage_(image)
            except Exception:
                log.debug("Could not draw the icon for the screen's scale", exc_info=True)
                super()._assert_image()

    return RetinaStatusItem


def _win32(base: Any) -> type:
    from pystray._util import win32

    class MultiSizeIcon(_plain(base)):  # type: ignore[misc]
        """An .ico with a drawing for each small-icon size, loaded at the size the window's DPI asks for; a menu that
        is not rebuilt while it is open."""

        _icon_handle: Any

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self._menu_lock = threading.Lock()
            self._menu_open = False
            self._menu_stale = False
            super().__init__(*args, **kwargs)

        def _assert_icon_handle(self) -> None:
            if self._icon_handle:
                return
            try:
                size = _small_icon_size(getattr(self, "_hwnd", None))
                sizes = sorted({*WINDOWS_SIZES, size})
                drawings = [icons.draw(self._state, s) for s in sizes]
                with tempfile.TemporaryDirectory(prefix=f"{APP_NAME}-icon-", ignore_cleanup_errors=True) as folder:
                    path = Path(folder) / "tray.ico"
                    drawings[-1].save(path, format="ICO", sizes=[(s, s) for s in sizes], append_images=drawings[:-1])
                    handle = win32.LoadImage(None, str(path), win32.IMAGE_ICON, size, size, win32.LR_LOADFROMFILE)
                if not handle:
                    raise OSError("LoadImage returned no icon")
                self._icon_handle = handle
            except Exception:
                log.debug("Could not load the icon at the small-icon size", exc_info=True)
                super()._assert_icon_handle()

        def _on_notify(self, wparam: Any, lparam: Any) -> None:
            """A right click opens the menu: pystray's TrackPopupMenuEx returns once it closes. Meanwhile the menu is
            not rebuilt (pystray destroys the menu being shown, which then stops answering: Wine's does), but once
            it is closed."""
            if lparam != win32.WM_RBUTTONUP or not self._menu_handle:
                super()._on_notify(wparam, lparam)
                return
            with self._menu_lock:
                self._menu_open = True
            try:
                super()._on_notify(wparam, lparam)
            finally:
                with self._menu_lock:
                    self._menu_open = False
                    if self._menu_stale:
                        self._menu_stale = False
                        super()._update_menu()

        def _update_menu(self) -> None:
            with self._menu_lock:
                if self._menu_open:
                    self._menu_stale = True
                    return
                super()._update_menu()

        def _create_menu_item(self, descriptor: Any, callbacks: list[Any]) -> Any:
            item = super()._create_menu_item(descriptor, callbacks)
            if "&" in descriptor.text:  # never in the separator's
                item.dwTypeData = win32_menu_text(descriptor.text)
            return item

    return MultiSizeIcon


def win32_menu_text(text: str) -> str:
    """`text` for a win32 menu item, which reads `&` as "underline the next letter": a recent file "Drum & Bass.wav"
    showed as "Drum  Bass.wav". `&&` shows one `&`."""
    return text.replace("&", "&&")


def _small_icon_size(hwnd: Any) -> int:
    """SM_CXSMICON for the window's DPI (Windows 10 1607+), else for the system's."""
    sm_cxsmicon = 49
    user32 = ctypes.windll.user32  # type: ignore[attr-defined]
    try:
        return int(user32.GetSystemMetricsForDpi(sm_cxsmicon, user32.GetDpiForWindow(hwnd) if hwnd else user32.GetDpiForSystem()))
    except AttributeError:
        return int(user32.GetSystemMetrics(sm_cxsmicon))
