"""The Setup window's first step, "Which AWS account?": a profile (with its SSO sign-in), the credentials this computer
has without one, or a new access key, which is added to the AWS credentials file when the step is left."""

from __future__ import annotations

import functools
import threading
import tkinter as tk
from tkinter import ttk
from typing import Any

from agent.api import APP_TITLE
from agent.desktop.windows import forms, widgets
from agent.desktop.windows.setup.page import Host, centre, heading
from agent.desktop.windows.widgets import button
from agent.errors import AgentError
from agent.setup_flow import ADD_KEY, DEFAULT_KEY_PROFILE, Account, accounts, describe_profile, find_accounts, signed_in_until


class AccountPage:
    """The account list, the sign-in box of an SSO profile, and the fields of a new access key."""

    def __init__(self, host: Host, page: ttk.Frame) -> None:
        self.host, self.look = host, host.look
        look = self.look
        self.choices: list[Account] = []
        self.radios: list[ttk.Radiobutton] = []
        self.details: list[ttk.Label] = []
        self.variable = tk.StringVar(page)
        self._sign_in_cancel: threading.Event | None = None
        heading(page, look, "Which AWS account?", f"{APP_TITLE} reads your queue and bucket with these credentials. They stay "
                "in your AWS files (as the AWS CLI keeps them), never in the agent's own settings.")
        self.card = ttk.Frame(page, style="Card.TFrame", padding=(look.px(4), look.px(4)))
        self.card.pack(fill="x")
        ttk.Label(self.card, text="Looking for AWS profiles…", style="Surface.Muted.TLabel",
                  padding=(look.px(14), look.px(12))).pack(anchor="w")  # until _draw replaces it
        self.message = ttk.Label(page, style="Error.TLabel", wraplength=look.px(540), justify="left")
        self.message.pack(anchor="w", pady=(look.px(6), 0))

        self.sign_in_box = ttk.Frame(page, style="Info.Banner.TFrame", padding=(look.px(16), look.px(12)))
        self.sign_in_text = ttk.Label(self.sign_in_box, style="Info.Banner.TLabel", wraplength=look.px(420), justify="left")
        self.sign_in_text.pack(side="left", fill="x", expand=True)
        self.sign_in_button = button(self.sign_in_box, "Sign in…", self._sign_in)
        self.sign_in_button.pack(side="right")

        self.key_box = ttk.Frame(page)
        self.key_name = forms.TextField(self.key_box, look, "profile", "Profile name", "The name it gets in your AWS credentials "
                                        "file; other AWS tools can use it too.", width=30)
        self.key_id = forms.TextField(self.key_box, look, "access_key_id", "Access key ID", width=30,
                                      placeholder="AKIAIOSFODNN7EXAMPLE")
        self.key_secret = forms.TextField(self.key_box, look, "secret_access_key", "Secret access key", width=48)
        self.key_secret.entry.configure(show="•")
        self.key_region = forms.TextField(self.key_box, look, "region", "Region", "Optional: where your queue is, such as "
                                          "us-east-2.", width=20)
        self.key_fields = (self.key_name, self.key_id, self.key_secret, self.key_region)
        for field in self.key_fields:
            field.pack()
        self.key_name.set(DEFAULT_KEY_PROFILE)
        self._build_keep_box(page)
        self.variable.trace_add("write", lambda *_: self._chosen_changed())
        self.on_change: list[Any] = []  # called when the choice changes (a plan made with other credentials may not hold)

    def _build_keep_box(self, page: ttk.Frame) -> None:
        """For an access key that only this session's environment holds: say so, and offer to save it as a profile."""
        look = self.look
        self.keep_box = ttk.Frame(page)
        banner = ttk.Frame(self.keep_box, style="Warn.Banner.TFrame", padding=(look.px(16), look.px(12)))
        banner.pack(fill="x", pady=(0, look.px(10)))
        self.keep_text = ttk.Label(banner, style="Warn.Banner.TLabel", wraplength=look.px(520), justify="left")
        self.keep_text.pack(anchor="w")
        self.keep = forms.CheckField(self.keep_box, look, "keep_key", "Save it as a profile, so that the agent has it at login")
        self.keep_name = forms.TextField(self.keep_box, look, "keep_profile", "Profile name", "Written to your AWS credentials "
                                         "file at the last step, with the settings.", width=30)
        self.keep.set(True)
        self.keep.on_change(self._keep_changed)

    def _keep_changed(self) -> None:
        choice = self.chosen()
        temporary = choice is None or choice.key is None or choice.key.temporary
        self.keep.frame.pack_forget()
        self.keep_name.frame.pack_forget()
        if not temporary:
            self.keep.pack(pady=(0, 0))
            if self.keep.get():
                self.keep_name.pack()
        self.host.refresh()

    # ------------------------------------------------------------ the list

    def load(self) -> None:
        self.host.run_in_background(find_accounts, self._show)

    def _show(self, result: Any, error: BaseException | None) -> None:
        choices, problem = result if result else (accounts([], None, None), str(error))
        self.choices = choices
        self._draw()
        if problem:
            self.message.configure(text=problem)
        default = self.host.flow.default_account(choices)
        self.variable.set(default.value)
        self.radios[choices.index(default)].focus_set()
        self._chosen_changed()

    def _draw(self) -> None:
        """One row per choice (drawn again when a new access key joins the list)."""
        for child in self.card.winfo_children():
            child.destroy()
        self.radios, self.details = [], []
        for index, choice in enumerate(self.choices):
            if index:
                widgets.line(self.card).pack(fill="x", padx=self.look.px(10))
            row = ttk.Frame(self.card, style="Surface.TFrame", padding=(self.look.px(12), self.look.px(9)))
            row.pack(fill="x")
            radio = ttk.Radiobutton(row, text=choice.title, value=choice.value, variable=self.variable, style="Surface.TRadiobutton")
            radio.pack(anchor="w")
            radio.bind("<Down>", functools.partial(self._move_by_key, index + 1))
            radio.bind("<Up>", functools.partial(self._move_by_key, index - 1))
            self.radios.append(radio)
            detail = ttk.Label(row, text=choice.detail(), style="Surface.Small.TLabel", wraplength=self.look.px(500), justify="left")
            detail.pack(anchor="w", padx=(self.look.px(24), 0))
            self.details.append(detail)

    def _move_by_key(self, index: int, event: tk.Event[Any]) -> str:
        if 0 <= index < len(self.radios):
            self.variable.set(self.choices[index].value)
            self.radios[index].focus_set()
        return "break"

    def chosen(self) -> Account | None:
        return next((c for c in self.choices if c.value == self.variable.get()), None)

    def focus(self) -> None:
        index = next((i for i, c in enumerate(self.choices) if c.value == self.variable.get()), 0)
        if self.radios:
            self.host.root.after_idle(self.radios[index].focus_set)

    def _chosen_changed(self) -> None:
        choice = self.chosen()
        self.message.configure(text="")
        if choice is not None:
            self.host.flow.choose_account(choice)
        for listener in self.on_change:
            listener()
        if choice is not None and choice.value == ADD_KEY:
            self.key_box.pack(fill="x", pady=(self.look.px(18), 0))
        else:
            self.key_box.pack_forget()
        if choice is not None and choice.sso:
            self.sign_in_box.pack(fill="x", pady=(self.look.px(14), 0), before=self.message)
            if not choice.needs_sign_in:
                expires = choice.profile.sso_expires_at if choice.profile else None
                until = f" until {signed_in_until(expires)}" if expires else ""
                self.sign_in_text.configure(text=f"Signed in to IAM Identity Center{until}.")
                self.sign_in_button.configure(text="Sign in again…")
            else:
                self.sign_in_text.configure(text="This profile signs in with IAM Identity Center (SSO). Sign in in your browser; "
                                                 "the sign-in is kept where the AWS CLI keeps it.")
                self.sign_in_button.configure(text="Sign in…")
        else:
            self.sign_in_box.pack_forget()
        if choice is not None and choice.key is not None:
            self.keep_text.configure(text=choice.key.note())
            if not self.keep_name.get():
                self.keep_name.set(self.host.flow.default_key_profile())
            self.keep_box.pack(fill="x", pady=(self.look.px(14), 0), before=self.message)
        else:
            self.keep_box.pack_forget()
        self._keep_changed()

    # ------------------------------------------------------------ SSO sign-in

    def _sign_in(self) -> None:
        choice = self.chosen()
        if choice is None or not choice.sso:
            return
        from agent.aws import sso

        self.sign_in_button.state(["disabled"])
        self.sign_in_text.configure(text="Opening your browser…")
        cancel = self._sign_in_cancel = threading.Event()

        def work() -> Any:
            signer = sso.DeviceSignIn(choice.value)
            authorization = signer.start()
            self.host.post(lambda: self.sign_in_text.configure(
                text=f"In the browser, check that the code is {authorization.user_code} and choose Allow. If no browser "
                     f"opened, go to {authorization.verification_uri} and type the code."))
            return signer.wait(cancel)

        def done(expiry: Any, error: BaseException | None) -> None:
            self.sign_in_button.state(["!disabled"])
            if error is not None:
                self.sign_in_text.configure(text=str(error))
                return
            index = self.choices.index(choice)
            self.choices[index] = signed_in = choice.after_sign_in(expiry)
            self.details[index].configure(text=signed_in.detail())
            self._chosen_changed()
            self.host.root.after_idle(self.host.next_button.focus_set)  # Enter goes on from here

        self.host.run_in_background(work, done)

    def cancel(self) -> None:
        if self._sign_in_cancel is not None:
            self._sign_in_cancel.set()

    # ------------------------------------------------------------ leaving the step

    def ready(self) -> bool:
        """Leave step 1 only with an account that can be used: a new access key is added to the credentials file here."""
        choice = self.chosen()
        if choice is None:
            self.message.configure(text="Choose an account, or add an access key.")
            return False
        if choice.needs_sign_in:
            self.message.configure(text="Sign in first (the button above), or choose another account.")
            return False
        if choice.key is not None:
            return self._keep_key()
        if choice.value != ADD_KEY:
            return True
        return self._add_key()

    def _keep_key(self) -> bool:
        """The environment's access key: to be saved as the profile named, with the settings (or not, when unticked)."""
        self.keep_name.show_error(None)
        try:
            self.host.flow.keep_key_as(self.keep_name.get() or "" if self.keep.get() else None)
        except ValueError as exc:
            self.keep_name.show_error(str(exc)[:1].upper() + str(exc)[1:])
            self.keep_name.focus()
            return False
        except AgentError as exc:  # the AWS files cannot be read
            self.message.configure(text=str(exc))
            return False
        return True

    def _add_key(self) -> bool:
        from agent.aws import profiles

        for field in self.key_fields:
            field.show_error(None)
        try:
            added = profiles.add_access_key_profile(self.key_name.get() or "", self.key_id.get() or "", self.key_secret.get() or "",
                                                    self.key_region.get())
        except ValueError as exc:
            text = str(exc)
            field = (self.key_id if "access key ID" in text else self.key_secret if "secret" in text else
                     self.key_region if "region" in text else self.key_name)
            field.show_error(text[:1].upper() + text[1:])
            field.focus()
            return False
        except AgentError as exc:
            self.message.configure(text=str(exc))
            return False
        self._add_profile(Account(added.name, added.name, (*describe_profile(added), f"added to {profiles.credentials_file()}"),
                                  added))
        return True

    def _add_profile(self, account: Account) -> None:
        """A profile made here joins the list, before "Add an access key" (Back shows it with the others), chosen."""
        self.choices.insert(len(self.choices) - 1, account)
        self._draw()
        self.variable.set(account.value)

    # ------------------------------------------------------------ the probe

    def probe(self) -> dict[str, Any]:
        choice = self.chosen()
        shown = bool(self.sign_in_box.winfo_manager())
        return {
            "accounts": [c.title for c in self.choices],
            "account_rows": [str(radio.cget("text")) for radio in self.radios],
            "account": choice.value if choice else None,
            "account_message": self.message.cget("text"),
            "sign_in": self.sign_in_text.cget("text") if shown else "",
            "sign_in_button": centre(self.sign_in_button) if shown else None,
            "keep_key": self.keep_text.cget("text") if self.keep_box.winfo_manager() else "",
            "keep_key_as": (self.keep_name.get() if self.keep.get() else None) if self.keep.frame.winfo_manager() else None,
        }
