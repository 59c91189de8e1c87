"""The windows' look: a light, flat ttk theme built on `clam` (drawn, not bitmaps, so it stays sharp at any scale)."""

from __future__ import annotations

import base64
import contextlib
import ctypes
import io
import os
import sys
import tkinter as tk
import tkinter.font as tkfont
from dataclasses import dataclass
from tkinter import ttk

SCALE_ENV = "S3_SQS_AGENT_UI_SCALE"
"""A factor on top of the screen's own scaling (2 doubles every size); GDK_SCALE is honoured the same way on Linux."""

BACKGROUND = "#f5f6f8"
SURFACE = "#ffffff"
BORDER = "#d5d9e0"
BORDER_STRONG = "#b8bfca"
TEXT = "#1d232b"
MUTED = "#5f6b7a"
ACCENT = "#2563eb"
ACCENT_HOVER = "#1d4fd8"
ACCENT_PRESSED = "#1a45bd"
ACCENT_SOFT = "#dbe7fe"
HOVER = "#eceff3"
ERROR = "#c62828"
ERROR_SOFT = "#fdecec"
SUCCESS = "#1b7f3b"
SUCCESS_SOFT = "#e6f4ea"
WARNING = "#9a5b00"
WARNING_SOFT = "#fff4dc"
STRIPE = "#f8f9fb"


def prepare_dpi() -> None:
    """Before the first Tk window: on Windows, ask for real pixels so text is sharp instead of stretched."""
    if sys.platform == "win32":
        with contextlib.suppress(AttributeError, OSError):
            ctypes.windll.shcore.SetProcessDpiAwareness(1)  # type: ignore[attr-defined]


def _factor() -> float:
    factor = 1.0
    for name in (SCALE_ENV, "GDK_SCALE"):
        try:
            factor *= float(os.environ.get(name, "1") or 1)
        except ValueError:
            continue
    return max(0.5, min(4.0, factor))


@dataclass(frozen=True)
class Theme:
    """Sizes in the window's scale; fonts by role."""

    scale: float
    body: tkfont.Font
    bold: tkfont.Font
    small: tkfont.Font
    heading: tkfont.Font
    title: tkfont.Font
    mono: tkfont.Font
    done: tkfont.Font
    """The big ✓ on a finished setup."""

    def px(self, size: float) -> int:
        """`size` pixels at 96 DPI, in this screen's pixels."""
        return max(1, round(size * self.scale))


def _family(root: tk.Misc) -> str:
    families = set(tkfont.families(root))
    for family in ("Segoe UI", "SF Pro Text", ".AppleSystemUIFont", "Cantarell", "Noto Sans", "Ubuntu", "DejaVu Sans"):
        if family in families:
            return family
    return str(tkfont.nametofont("TkDefaultFont", root).actual("family"))


def _indicator_image(root: tk.Misc, size: int, gap: int, kind: str, state: str) -> tk.PhotoImage:
    """A check box or radio button drawn smooth (four times larger, then reduced) at the window's scale, with `gap`
    transparent pixels on its right before the label."""
    from PIL import Image, ImageDraw  # Pillow draws the tray icons too

    big = size * 4
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    on = state in ("on", "on-disabled", "on-focus")
    fill = {"on": ACCENT, "on-focus": ACCENT_PRESSED, "on-disabled": "#a9c1f5", "off": SURFACE, "off-focus": SURFACE,
            "hover": HOVER, "off-disabled": BACKGROUND}[state]
    edge = ACCENT if on else ("#c5ccd6" if state == "off-disabled" else BORDER_STRONG)
    focused = state.endswith("focus")
    if focused:
        edge = "#0f2f80" if on else ACCENT
    box = (2, 2, big - 3, big - 3)
    line = max(4, big // 14) * (2 if focused else 1)  # the keyboard focus shows as a heavier edge
    if kind == "check":
        draw.rounded_rectangle(box, radius=big // 5, fill=fill, outline=edge, width=line)
        if on:
            draw.line([(big * 0.26, big * 0.52), (big * 0.43, big * 0.69), (big * 0.75, big * 0.33)], fill="#ffffff",
                      width=max(6, big // 8), joint="curve")
    else:
        draw.ellipse(box, fill=SURFACE if on else fill, outline=edge, width=line if not on else big // 4)
    small = image.resize((size, size), Image.Resampling.LANCZOS)
    spaced = Image.new("RGBA", (size + gap, size), (0, 0, 0, 0))
    spaced.paste(small, (0, 0))
    buffer = io.BytesIO()
    spaced.save(buffer, "PNG")
    return tk.PhotoImage(master=root, data=base64.b64encode(buffer.getvalue()).decode("ascii"))


def _indicators(root: tk.Misc, style: ttk.Style, theme: Theme) -> None:
    """Smooth check boxes and radio buttons in place of clam's drawn ones (which draw a cross)."""
    size = theme.px(16)
    images: list[tk.PhotoImage] = []
    for kind, element in (("check", "Smooth.Checkbutton.indicator"), ("radio", "Smooth.Radiobutton.indicator")):
        made = {state: _indicator_image(root, size, theme.px(8), kind, state)
                for state in ("off", "on", "hover", "off-disabled", "on-disabled", "off-focus", "on-focus")}
        images.extend(made.values())
        style.element_create(element, "image", made["off"], ("disabled", "selected", made["on-disabled"]),
                             ("disabled", made["off-disabled"]), ("focus", "selected", made["on-focus"]), ("focus", made["off-focus"]),
                             ("selected", made["on"]), ("active", made["hover"]),
                             sticky="")
        widget = "TCheckbutton" if kind == "check" else "TRadiobutton"
        style.layout(widget, [("Checkbutton.padding" if kind == "check" else "Radiobutton.padding", {"sticky": "nswe", "children": [
            (element, {"side": "left", "sticky": ""}),
            ("Checkbutton.focus" if kind == "check" else "Radiobutton.focus", {"side": "left", "sticky": "w", "children": [
                ("Checkbutton.label" if kind == "check" else "Radiobutton.label", {"sticky": "nswe"})]})]})])
    root._indicator_images = images  # type: ignore[attr-defined]  # Tk keeps only a name: hold the images


def apply(root: tk.Tk) -> Theme:
    """Style every ttk widget of `root`'s application; returns the sizes and fonts the windows use."""
    theme = _fonts(root)
    _options(root, theme)
    style = ttk.Style(root)
    style.theme_use("clam")
    style.configure(".", background=BACKGROUND, foreground=TEXT, bordercolor=BORDER, lightcolor=BACKGROUND,
                    darkcolor=BACKGROUND, troughcolor=HOVER, focuscolor=ACCENT, selectbackground=ACCENT_SOFT,
                    selectforeground=TEXT, fieldbackground=SURFACE, font=theme.body, insertcolor=TEXT)
    style.map(".", foreground=[("disabled", "#9aa3ae")])
    for widgets in (_frames_and_labels, _buttons, _entries, _checks, _tabs, _trees, _bars):
        widgets(root, style, theme)
    return theme


def _fonts(root: tk.Tk) -> Theme:
    """The screen's scale (and the user's factor on it), and the fonts by role."""
    factor = _factor()
    if factor != 1.0:
        root.tk.call("tk", "scaling", float(root.tk.call("tk", "scaling")) * factor)
    scale = float(root.tk.call("tk", "scaling")) / (96 / 72)  # Tk's unit is pixels per point; 96 DPI is 1x
    family = _family(root)
    size = 10 if sys.platform != "darwin" else 13
    for name in ("TkDefaultFont", "TkTextFont", "TkMenuFont", "TkHeadingFont", "TkCaptionFont", "TkTooltipFont"):
        tkfont.nametofont(name, root).configure(family=family, size=size)
    mono_family = next((f for f in ("Cascadia Mono", "Consolas", "Menlo", "DejaVu Sans Mono") if f in tkfont.families(root)), "TkFixedFont")
    return Theme(
        scale=scale,
        body=tkfont.nametofont("TkDefaultFont", root),
        bold=tkfont.Font(root, family=family, size=size, weight="bold"),
        small=tkfont.Font(root, family=family, size=size - 1),
        heading=tkfont.Font(root, family=family, size=size + 1, weight="bold"),
        title=tkfont.Font(root, family=family, size=size + 5, weight="bold"),
        mono=tkfont.Font(root, family=mono_family, size=size - 1),
        done=tkfont.Font(root, family=family, size=size + 22, weight="bold"),
    )


def _options(root: tk.Tk, theme: Theme) -> None:
    """The option database: colours and fonts of the classic Tk widgets (menus, the combobox's list)."""
    root.configure(background=BACKGROUND)
    root.option_add("*Background", BACKGROUND)
    root.option_add("*Foreground", TEXT)
    root.option_add("*selectBackground", ACCENT_SOFT)
    root.option_add("*selectForeground", TEXT)
    root.option_add("*TCombobox*Listbox.background", SURFACE)
    root.option_add("*TCombobox*Listbox.selectBackground", ACCENT_SOFT)
    root.option_add("*TCombobox*Listbox.font", theme.body)
    root.option_add("*Menu.background", SURFACE)
    root.option_add("*Menu.activeBackground", ACCENT_SOFT)
    root.option_add("*Menu.activeForeground", TEXT)
    root.option_add("*Menu.relief", "flat")



def _frames_and_labels(root: tk.Tk, style: ttk.Style, theme: Theme) -> None:
    px = theme.px
    style.configure("TFrame", background=BACKGROUND)
    style.configure("Surface.TFrame", background=SURFACE)
    style.configure("Card.TFrame", background=SURFACE, bordercolor=BORDER, relief="solid", borderwidth=1)
    style.configure("TLabel", background=BACKGROUND, foreground=TEXT)
    style.configure("Surface.TLabel", background=SURFACE)
    style.configure("Title.TLabel", font=theme.title)
    style.configure("Heading.TLabel", font=theme.heading)
    style.configure("Surface.Heading.TLabel", font=theme.heading, background=SURFACE)
    style.configure("Bold.TLabel", font=theme.bold)
    style.configure("Surface.Bold.TLabel", font=theme.bold, background=SURFACE)
    style.configure("Muted.TLabel", foreground=MUTED)
    style.configure("Surface.Muted.TLabel", foreground=MUTED, background=SURFACE)
    style.configure("Small.TLabel", foreground=MUTED, font=theme.small)
    style.configure("Surface.Small.TLabel", foreground=MUTED, font=theme.small, background=SURFACE)
    style.configure("Error.TLabel", foreground=ERROR, font=theme.small)
    style.configure("Surface.Error.TLabel", foreground=ERROR, font=theme.small, background=SURFACE)
    for kind, fg, bg in (("Info", ACCENT, ACCENT_SOFT), ("Ok", SUCCESS, SUCCESS_SOFT), ("Warn", WARNING, WARNING_SOFT),
                         ("Bad", ERROR, ERROR_SOFT)):
        style.configure(f"{kind}.Banner.TFrame", background=bg)
        style.configure(f"{kind}.Banner.TLabel", background=bg, foreground=TEXT)
        style.configure(f"{kind}.Mark.TLabel", background=SURFACE, foreground=fg, font=theme.heading)

    style.configure("Step.TLabel", background=HOVER, foreground=MUTED, font=theme.bold, padding=(px(4), px(2)))
    style.configure("Current.Step.TLabel", background=ACCENT, foreground="#ffffff")
    style.configure("Done.Step.TLabel", background=SUCCESS_SOFT, foreground=SUCCESS)
    style.configure("Done.TLabel", foreground=SUCCESS, font=theme.done)


def _buttons(root: tk.Tk, style: ttk.Style, theme: Theme) -> None:
    px = theme.px
    button_padding = (px(14), px(6))
    style.configure("TButton", background=SURFACE, foreground=TEXT, bordercolor=BORDER_STRONG, lightcolor=SURFACE,
                    darkcolor=SURFACE, padding=button_padding, focusthickness=1, anchor="center")
    style.map("TButton", background=[("disabled", BACKGROUND), ("pressed", "#e1e5ea"), ("active", HOVER)],
              lightcolor=[("pressed", "#e1e5ea"), ("active", HOVER)], darkcolor=[("pressed", "#e1e5ea"), ("active", HOVER)],
              bordercolor=[("focus", ACCENT), ("disabled", BORDER)])
    style.configure("Accent.TButton", background=ACCENT, foreground="#ffffff", bordercolor=ACCENT, lightcolor=ACCENT,
                    darkcolor=ACCENT, font=theme.bold)
    style.map("Accent.TButton", background=[("disabled", "#a9c1f5"), ("pressed", ACCENT_PRESSED), ("active", ACCENT_HOVER)],
              lightcolor=[("disabled", "#a9c1f5"), ("pressed", ACCENT_PRESSED), ("active", ACCENT_HOVER)],
              darkcolor=[("disabled", "#a9c1f5"), ("pressed", ACCENT_PRESSED), ("active", ACCENT_HOVER)],
              bordercolor=[("focus", "#0f2f80"), ("disabled", "#a9c1f5")], foreground=[("disabled", "#ffffff")])
    style.configure("Link.TButton", background=BACKGROUND, foreground=ACCENT, bordercolor=BACKGROUND, lightcolor=BACKGROUND,
                    darkcolor=BACKGROUND, padding=(px(4), px(2)))
    style.map("Link.TButton", background=[("active", HOVER)], bordercolor=[("focus", ACCENT)], foreground=[("disabled", "#9aa3ae")])
    style.configure("Small.TButton", padding=(px(10), px(3)), font=theme.small)


def _entries(root: tk.Tk, style: ttk.Style, theme: Theme) -> None:
    """Entries, comboboxes and spin boxes, with their invalid look."""
    px = theme.px
    entry_padding = (px(8), px(5))
    for widget in ("TEntry", "TCombobox", "TSpinbox"):
        style.configure(widget, fieldbackground=SURFACE, bordercolor=BORDER_STRONG, lightcolor=SURFACE, darkcolor=SURFACE,
                        padding=entry_padding, arrowsize=px(12), arrowcolor=MUTED, background=SURFACE)
        style.map(widget, bordercolor=[("invalid", ERROR), ("focus", ACCENT)], lightcolor=[("focus", ACCENT_SOFT)],
                  darkcolor=[("focus", ACCENT_SOFT)], fieldbackground=[("readonly", SURFACE), ("disabled", BACKGROUND)],
                  background=[("active", HOVER)])
    style.configure("TCombobox", arrowsize=px(14), padding=(px(8), px(5), px(4), px(5)))
    style.configure("Invalid.TEntry", bordercolor=ERROR, lightcolor=ERROR_SOFT, darkcolor=ERROR_SOFT)
    style.map("Invalid.TEntry", bordercolor=[("focus", ERROR)], lightcolor=[("focus", ERROR_SOFT)], darkcolor=[("focus", ERROR_SOFT)])
    for widget in ("TCombobox", "TSpinbox"):
        style.configure(f"Invalid.{widget}", bordercolor=ERROR, lightcolor=ERROR_SOFT, darkcolor=ERROR_SOFT)
        style.map(f"Invalid.{widget}", bordercolor=[("focus", ERROR)], lightcolor=[("focus", ERROR_SOFT)], darkcolor=[("focus", ERROR_SOFT)])
    style.configure("TSpinbox", arrowsize=px(11), padding=(px(8), px(4), px(4), px(4)))


def _checks(root: tk.Tk, style: ttk.Style, theme: Theme) -> None:
    """Check boxes and radio buttons."""
    px = theme.px
    _indicators(root, style, theme)
    indicator = px(15)
    for widget in ("TCheckbutton", "TRadiobutton"):
        style.configure(widget, background=BACKGROUND, indicatorsize=indicator, indicatormargin=(0, 0, px(8), 0), spacing=px(8),
                        indicatorbackground=SURFACE, indicatorforeground=SURFACE, upperbordercolor=BORDER_STRONG,
                        lowerbordercolor=BORDER_STRONG, padding=(0, px(3)), focuscolor=BACKGROUND)
        style.map(widget, indicatorbackground=[("selected", ACCENT), ("active", HOVER)],
                  indicatorforeground=[("selected", "#ffffff")],
                  upperbordercolor=[("selected", ACCENT), ("focus", ACCENT)], lowerbordercolor=[("selected", ACCENT), ("focus", ACCENT)],
                  background=[("active", BACKGROUND)])
        style.configure(f"Surface.{widget}", background=SURFACE)
        style.map(f"Surface.{widget}", background=[("active", SURFACE)])


def _tabs(root: tk.Tk, style: ttk.Style, theme: Theme) -> None:
    px = theme.px
    style.configure("TNotebook", background=BACKGROUND, bordercolor=BACKGROUND, lightcolor=BACKGROUND, darkcolor=BACKGROUND,
                    tabmargins=(0, 0, 0, 0), borderwidth=0)
    style.layout("TNotebook", [("Notebook.client", {"sticky": "nswe"})])  # no frame around the pages: each draws its own
    style.configure("TNotebook.Tab", background=BACKGROUND, foreground=MUTED, bordercolor=BACKGROUND, lightcolor=BACKGROUND,
                    darkcolor=BACKGROUND, padding=(px(12), px(5)), font=theme.body, focuscolor=BACKGROUND)
    style.map("TNotebook.Tab", background=[("selected", ACCENT_SOFT), ("active", HOVER)],
              foreground=[("selected", ACCENT)], lightcolor=[("selected", ACCENT_SOFT), ("active", HOVER)],
              darkcolor=[("selected", ACCENT_SOFT), ("active", HOVER)],
              bordercolor=[("focus", ACCENT), ("selected", ACCENT_SOFT), ("active", HOVER)],
              expand=[("selected", (0, 0, 0, 0))], padding=[("selected", (px(12), px(5)))])
    # A tab is a pill: its label and padding, no focus ring (the border shows the focus).
    style.layout("TNotebook.Tab", [("Notebook.tab", {"sticky": "nswe", "children": [
        ("Notebook.padding", {"side": "top", "sticky": "nswe", "children": [("Notebook.label", {"side": "top", "sticky": ""})]})]})])


def _trees(root: tk.Tk, style: ttk.Style, theme: Theme) -> None:
    """Lists and tables (Treeview), and the sidebar's list of sections (Nav.Treeview)."""
    px = theme.px
    style.configure("Treeview", background=SURFACE, fieldbackground=SURFACE, foreground=TEXT, bordercolor=BORDER,
                    lightcolor=SURFACE, darkcolor=SURFACE, rowheight=theme.body.metrics("linespace") + px(12), borderwidth=0)
    style.map("Treeview", background=[("selected", ACCENT_SOFT)], foreground=[("selected", TEXT)])
    style.configure("Treeview.Heading", background=SURFACE, foreground=MUTED, bordercolor=BORDER, lightcolor=SURFACE,
                    darkcolor=SURFACE, relief="flat", font=theme.small, padding=(px(10), px(6)))
    style.map("Treeview.Heading", background=[("active", HOVER)], lightcolor=[("active", HOVER)], darkcolor=[("active", HOVER)])
    style.layout("Treeview", [("Treeview.treearea", {"sticky": "nswe"})])  # no inner border: the card draws it
    style.configure("Treeview.Cell", padding=(px(10), 0))  # cells line up with their headings

    style.configure("Nav.Treeview", background=SURFACE, fieldbackground=SURFACE, foreground=TEXT, font=theme.body, indent=0,
                    rowheight=theme.body.metrics("linespace") + px(16), borderwidth=0)
    style.map("Nav.Treeview", background=[("selected", ACCENT_SOFT)], foreground=[("selected", ACCENT)])
    style.configure("Nav.Treeview.Item", padding=(px(8), 0))
    style.layout("Nav.Treeview.Item", [("Treeitem.padding", {"sticky": "nswe", "children": [("Treeitem.text", {"sticky": "nswe"})]})])


def _bars(root: tk.Tk, style: ttk.Style, theme: Theme) -> None:
    """Progress bars, scroll bars and separating lines."""
    px = theme.px
    thickness = px(6)
    style.configure("Horizontal.TProgressbar", background=ACCENT, troughcolor="#e4e8ee", bordercolor="#e4e8ee",
                    lightcolor=ACCENT, darkcolor=ACCENT, thickness=thickness, arrowsize=thickness)
    style.configure("TScrollbar", background="#cfd5dd", troughcolor=SURFACE, bordercolor=SURFACE, lightcolor="#cfd5dd",
                    darkcolor="#cfd5dd", arrowcolor=MUTED, gripcount=0, arrowsize=px(12))
    style.map("TScrollbar", background=[("active", "#b2bac5")], lightcolor=[("active", "#b2bac5")], darkcolor=[("active", "#b2bac5")])
    for orient in ("Vertical", "Horizontal"):  # a slim bar without arrows, as modern toolkits draw it
        style.layout(f"{orient}.TScrollbar", [(f"{orient}.Scrollbar.trough", {"sticky": "nswe", "children": [
            (f"{orient}.Scrollbar.thumb", {"expand": "1", "sticky": "nswe"})]})])  # type: ignore[list-item]
    style.configure("TSeparator", background=BORDER)
    style.configure("Line.TFrame", background=BORDER)
