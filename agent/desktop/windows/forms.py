"""Form fields for the Settings and Setup windows: a label, the input, a hint, and the error shown on the field."""

from __future__ import annotations

import tkinter as tk
import weakref
from collections.abc import Callable, Sequence
from tkinter import ttk
from typing import Any, ClassVar

from agent.config import Key, Widget
from agent.config.checks import OneOf
from agent.desktop.windows import folder_chooser, theme
from agent.desktop.windows.theme import Theme
from agent.desktop.windows.widgets import button

Listener = Callable[[], None]


class Field:
    """One config key (or a setting kept elsewhere, like start at login) in a form. Subclasses build `input`."""

    style = "TEntry"

    def __init__(self, parent: tk.Misc, look: Theme, key: str, label: str, hint: str = "", surface: bool = False) -> None:
        self.key = key
        self.look = look
        prefix = "Surface." if surface else ""
        self.frame = ttk.Frame(parent, style="Surface.TFrame" if surface else "TFrame")
        self.label = ttk.Label(self.frame, text=label, style=f"{prefix}Bold.TLabel")
        if label:
            self.label.grid(row=0, column=0, sticky="w", pady=(0, look.px(4)))
        self.body = ttk.Frame(self.frame, style="Surface.TFrame" if surface else "TFrame")
        self.body.grid(row=1, column=0, sticky="ew")
        self.body.columnconfigure(0, weight=1)
        self.hint = ttk.Label(self.frame, text=hint, style=f"{prefix}Small.TLabel", wraplength=look.px(520), justify="left")
        if hint:
            self.hint.grid(row=2, column=0, sticky="w", pady=(look.px(3), 0))
        self.message = ttk.Label(self.frame, style=f"{prefix}Error.TLabel", wraplength=look.px(520), justify="left")
        self.message.grid(row=3, column=0, sticky="w")
        self.frame.columnconfigure(0, weight=1)
        self._listeners: list[Listener] = []
        self.initial: Any = None
        self.input: tk.Widget | None = None

    def pack(self, **options: Any) -> Field:
        self.frame.pack(**{"fill": "x", "pady": (0, self.look.px(16)), **options})
        return self

    def on_change(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def changed(self, *_: Any) -> None:
        for listener in self._listeners:
            listener()

    def get(self) -> Any:
        raise NotImplementedError

    def set(self, value: Any) -> None:
        raise NotImplementedError

    def load(self, value: Any) -> None:
        """Show `value` as the saved state: the field is unchanged until the user edits it."""
        self.set(value)
        self.initial = self.get()

    @property
    def dirty(self) -> bool:
        return bool(self.get() != self.initial)

    def show_error(self, text: str | None) -> None:
        self.message.configure(text=text or "")
        if isinstance(self.input, (ttk.Entry, ttk.Combobox, ttk.Spinbox)) and self.style:
            self.input.configure(style=f"Invalid.{self.style}" if text else self.style)

    def focus(self) -> None:
        if self.input is not None:
            self.input.focus_set()


class TextField(Field):
    """A line of text. Empty means "not set" (None) unless `required`."""

    def __init__(self, parent: tk.Misc, look: Theme, key: str, label: str, hint: str = "", *, width: int = 56,
                 placeholder: str = "", surface: bool = False) -> None:
        super().__init__(parent, look, key, label, hint, surface)
        self.variable = tk.StringVar(self.frame)
        self.input = self.entry = ttk.Entry(self.body, textvariable=self.variable, width=width)
        self.entry.grid(row=0, column=0, sticky="ew" if width >= 48 else "w")
        self.placeholder = tk.Label(self.entry, text=placeholder, background=theme.SURFACE, foreground="#8a94a3",
                                    font=look.body, cursor="xterm")
        self.placeholder.bind("<Button-1>", lambda event: self.entry.focus_set())
        self.entry.bind("<FocusIn>", lambda event: self.entry.select_range(0, "end"))  # typing replaces, as Tab arrives
        self.variable.trace_add("write", self._typed)
        self._placeholder_text = placeholder
        self._typed()
        _TEXT_FIELDS.add(self)

    @property
    def placeholder_shown(self) -> str:
        """The grey text the empty field shows ("" once something is typed)."""
        return "" if self.variable.get() else self._placeholder_text

    def _typed(self, *_: Any) -> None:
        if self._placeholder_text and not self.variable.get():
            self.placeholder.place(x=self.look.px(9), rely=0.5, anchor="w")
        else:
            self.placeholder.place_forget()
        self.changed()

    def get(self) -> str | None:
        text = self.variable.get().strip()
        return text or None

    def set(self, value: Any) -> None:
        self.variable.set("" if value is None else str(value))


_TEXT_FIELDS: weakref.WeakSet[TextField] = weakref.WeakSet()


def placeholders() -> dict[str, str]:
    """The grey text each empty text field of this window shows, by key (the windows' probes report it)."""
    return {field.key: shown for field in list(_TEXT_FIELDS) if (shown := field.placeholder_shown)}


class NumberField(TextField):
    """A number typed as text: the config's validator says what is wrong with "lots"."""

    def __init__(self, parent: tk.Misc, look: Theme, key: str, label: str, hint: str = "", *, low: float = 0, high: float = 1000,
                 integer: bool = True, surface: bool = False) -> None:
        Field.__init__(self, parent, look, key, label, hint, surface)
        self.style = "TSpinbox"
        self.variable = tk.StringVar(self.frame)
        self.integer = integer
        self.input = self.entry = ttk.Spinbox(self.body, textvariable=self.variable, width=8, from_=low, to=high,
                                              increment=1, command=self.changed)
        self.entry.grid(row=0, column=0, sticky="w")
        self.variable.trace_add("write", lambda *_: self.changed())

    def get(self) -> Any:
        text = self.variable.get().strip()
        if not text:
            return None
        try:
            number = float(text)
        except ValueError:
            return text  # the validator explains
        return int(number) if number.is_integer() and (self.integer or "." not in text) else number


class FolderField(TextField):
    """A folder: typed, or chosen with the platform's folder dialog."""

    def __init__(self, parent: tk.Misc, look: Theme, key: str, label: str, hint: str = "", surface: bool = False) -> None:
        super().__init__(parent, look, key, label, hint, width=48, surface=surface)
        self.choose = button(self.body, "Choose…", self._choose)
        self.choose.grid(row=0, column=1, padx=(look.px(8), 0))

    probe: ClassVar[folder_chooser.Probe | None] = None
    """Where the folder dialog says what it shows, for the tests: child.main sets it (to write_probe) in a window's process."""

    def _choose(self) -> None:
        chosen = folder_chooser.choose_folder(self.frame, self.look, self.variable.get(), "Choose the download folder",
                                              FolderField.probe)
        if chosen:
            self.variable.set(chosen)
        self.entry.focus_set()  # chosen or cancelled, Enter goes on from the field instead of opening the dialog again


class CheckField(Field):
    """On or off, with the text beside the box."""

    style = ""

    def __init__(self, parent: tk.Misc, look: Theme, key: str, text: str, hint: str = "", surface: bool = False) -> None:
        super().__init__(parent, look, key, "", hint, surface)
        self.variable = tk.BooleanVar(self.frame)
        self.input = ttk.Checkbutton(self.body, text=text, variable=self.variable, command=self.changed,
                                     style="Surface.TCheckbutton" if surface else "TCheckbutton")
        self.input.grid(row=0, column=0, sticky="w")
        self.hint.grid_configure(padx=(look.px(24), 0))
        self.message.grid_configure(padx=(look.px(24), 0))

    def get(self) -> bool:
        return bool(self.variable.get())

    def set(self, value: Any) -> None:
        self.variable.set(bool(value))


class ChoiceField(Field):
    """A choice from a list, or text typed in (`editable`)."""

    style = "TCombobox"

    def __init__(self, parent: tk.Misc, look: Theme, key: str, label: str, hint: str = "", *, choices: Sequence[str] = (),
                 editable: bool = True, width: int = 40, surface: bool = False) -> None:
        super().__init__(parent, look, key, label, hint, surface)
        self.variable = tk.StringVar(self.frame)
        self.input = self.combo = ttk.Combobox(self.body, textvariable=self.variable, values=list(choices), width=width,
                                               state="normal" if editable else "readonly")
        self.combo.grid(row=0, column=0, sticky="w")
        self.combo.bind("<<ComboboxSelected>>", lambda event: self.changed())
        self.variable.trace_add("write", lambda *_: self.changed())

    def get(self) -> str | None:
        return self.variable.get().strip() or None

    def set(self, value: Any) -> None:
        self.variable.set("" if value is None else str(value))


class ListField(Field):
    """Patterns, one a line (a small text box)."""

    style = ""

    def __init__(self, parent: tk.Misc, look: Theme, key: str, label: str, hint: str = "", surface: bool = False) -> None:
        super().__init__(parent, look, key, label, hint, surface)
        border = tk.Frame(self.body, background=theme.BORDER_STRONG, padx=1, pady=1)
        border.grid(row=0, column=0, sticky="ew")
        self.text = tk.Text(border, height=3, width=40, wrap="none", relief="flat", borderwidth=0, font=look.mono,
                            background=theme.SURFACE, foreground=theme.TEXT, insertbackground=theme.TEXT,
                            padx=look.px(8), pady=look.px(5), highlightthickness=0, undo=True)
        self.text.pack(fill="x")
        self.input = self.text
        self._border = border
        self.text.bind("<<Modified>>", self._modified)
        self.text.bind("<FocusIn>", lambda event: border.configure(background=theme.ACCENT))
        self.text.bind("<FocusOut>", lambda event: border.configure(background=theme.ERROR if self.message.cget("text") else theme.BORDER_STRONG))
        self.text.bind("<Tab>", lambda event: self._traverse(event, forward=True))
        self.text.bind("<Shift-Tab>", lambda event: self._traverse(event, forward=False))
        self.text.bind("<ISO_Left_Tab>", lambda event: self._traverse(event, forward=False))

    def _traverse(self, event: tk.Event[Any], forward: bool) -> str:
        """Tab leaves the box (as in every other field) instead of typing a tab."""
        widget = event.widget.tk_focusNext() if forward else event.widget.tk_focusPrev()
        if widget is not None:
            widget.focus_set()
        return "break"

    def _modified(self, event: tk.Event[Any]) -> None:
        if self.text.edit_modified():
            self.text.edit_modified(False)
            self.changed()

    def get(self) -> list[str]:
        return [line.strip() for line in self.text.get("1.0", "end").splitlines() if line.strip()]

    def set(self, value: Any) -> None:
        items = [value] if isinstance(value, str) else list(value or [])
        self.text.delete("1.0", "end")
        self.text.insert("1.0", "\n".join(str(item) for item in items))
        self.text.edit_modified(False)

    def show_error(self, text: str | None) -> None:
        self.message.configure(text=text or "")
        self._border.configure(background=theme.ERROR if text else theme.BORDER_STRONG)


def for_key(parent: tk.Misc, look: Theme, row: Key, choices: Sequence[str] = ()) -> Field:
    """The field the config's table asks for (`row.shown`), with its label, hint, bounds and choices. `choices` go
    before the key's own (an AWS profile's: the profiles found)."""
    shown = row.shown
    assert shown is not None
    check, hint = row.check, row.hint
    sized: dict[str, Any] = {"width": shown.width} if shown.width else {}
    if shown.widget is Widget.NUMBER:
        assert check.low is not None and check.high is not None
        return NumberField(parent, look, row.name, shown.label, hint, low=check.low, high=check.high, integer=check.integer)
    if shown.widget is Widget.CHECK:
        return CheckField(parent, look, row.name, shown.label, hint)
    if shown.widget in (Widget.CHOICE, Widget.PROFILE):
        own = check.choices if isinstance(check, OneOf) else ()
        return ChoiceField(parent, look, row.name, shown.label, hint, choices=(*choices, *own),
                           editable=shown.widget is Widget.PROFILE, **sized)
    if shown.widget is Widget.LIST:
        return ListField(parent, look, row.name, shown.label, hint)
    if shown.widget is Widget.FOLDER:
        return FolderField(parent, look, row.name, shown.label, hint)
    return TextField(parent, look, row.name, shown.label, hint, placeholder=shown.placeholder, **sized)
