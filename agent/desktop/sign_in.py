"""Sign-in expiry in the tray: says when the AWS sign-in or temporary credentials are about to run out or have, and
runs "Sign in again…" (IAM Identity Center's device sign-in, in the browser) from the menu or from the notice."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from agent import errors
from agent.aws import expiry as expiry_module
from agent.aws.expiry import Expiry
from agent.config import Config
from agent.desktop import opener
from agent.desktop.icons import NoticeIcon
from agent.desktop.notify import Notifier
from agent.engine.events import NeedsUser
from agent.engine.pause import until_text

log = logging.getLogger(__name__)

CHECK_SECONDS = 60.0  # how often the sign-in's end is looked at (a file read; no network)
EXPIRED_TITLES = {errors.SignInExpiredError.title, errors.CredentialsExpiredError.title}
SIGN_IN_LABEL = "Sign in again…"
SIGNING_IN_LABEL = "Signing in… (see your browser)"


class SignInWatch:
    """Thread-safe. `check()` runs on a timer and when the engine reports expired credentials; `sign_in()` from a
    menu action or a notice's click. `on_change` is called when what the menu shows may have changed."""

    def __init__(self, notifier: Notifier, on_change: Callable[[], None], on_signed_in: Callable[[], None]) -> None:
        self.notifier = notifier
        self._on_change = on_change
        self._on_signed_in = on_signed_in
        self._lock = threading.Lock()
        self._expiry: Expiry | None = None
        self._rejected = False  # the engine reported that AWS no longer takes these credentials
        self._announced: tuple[str, datetime | None] | None = None
        self._running = threading.Event()
        self.cancel = threading.Event()

    # ------------------------------------------------------------ what the menu shows

    @property
    def label(self) -> str | None:
        """The menu item's text, or None when there is nothing to sign in to."""
        if self._running.is_set():
            return SIGNING_IN_LABEL
        found = self._expiry
        return SIGN_IN_LABEL if found is not None and found.can_sign_in and (self._rejected or found.due()) else None

    @property
    def busy(self) -> bool:
        return self._running.is_set()

    # ------------------------------------------------------------ watching

    def check(self, config: Config | None) -> None:
        """Look at when the credentials run out; announce it once when it is near or past."""
        if config is None:
            return
        try:
            found = expiry_module.credentials_expiry(config.aws_profile)
        except Exception:
            log.exception("Could not tell when the AWS credentials expire")
            return
        with self._lock:
            changed = found != self._expiry
            self._expiry = found
        if found is not None and (found.due() or self._rejected):
            self._announce(found)
        if changed:
            self._on_change()

    def engine_problem(self, event: NeedsUser, config: Config | None) -> bool:
        """The engine says the credentials ran out. True when this watch announced it (with a way to sign in)."""
        if event.title not in EXPIRED_TITLES:
            return False
        with self._lock:
            self._rejected = True  # announced as expired: once, whether the watch or the engine saw it first
        self.check(config)
        found = self._expiry
        if found is None:  # no expiry known (a session token without its end, say): the engine's notice says it all
            return False
        self._on_change()
        return True

    def resolved(self) -> None:
        """The engine works again: whatever was rejected is not any more."""
        with self._lock:
            was, self._rejected = self._rejected, False
            if was:
                self._announced = None  # a new episode: a later rejection is said again
        if was:
            self._on_change()

    def _announce(self, found: Expiry) -> None:
        key = ("expired" if self._rejected or found.expired() else "expiring", found.expires_at)
        with self._lock:
            if key == self._announced:
                return
            self._announced = key
        ends = found.expires_at
        if found.can_sign_in:
            if key[0] == "expiring" and ends is not None:
                title = f"AWS sign-in ends at {until_text(ends)}"
                body = f"Downloads stop then, and wait (nothing is lost). Click to sign in again now, or choose {SIGN_IN_LABEL} in the menu."
            else:
                title = errors.SignInExpiredError.title
                body = (f"Downloads are waiting; nothing is lost. Click to sign in again ({found.source}), "
                        f"or choose {SIGN_IN_LABEL} in the menu.")
            self.notifier.notify(title, body, on_click=self.start, icon=NoticeIcon.NEEDS_YOU)
            return
        renew = ("Renew them (they come from environment variables: then restart S3 SQS Agent)" if found.source == "environment variables"
                 else f"Renew them ({found.source} in the AWS credentials file)")
        if key[0] == "expiring" and ends is not None:
            self.notifier.notify(f"AWS credentials expire at {until_text(ends)}", f"{renew}; downloads wait meanwhile, nothing is lost.",
                                 icon=NoticeIcon.NEEDS_YOU)
        else:
            self.notifier.notify(errors.CredentialsExpiredError.title, f"{renew}. Downloads are waiting; nothing is lost.",
                                 icon=NoticeIcon.NEEDS_YOU)

    # ------------------------------------------------------------ signing in

    def start(self) -> None:
        """Run the device sign-in on its own thread (it waits for the person, up to the code's ten minutes)."""
        profile = self._expiry.profile if self._expiry is not None else None
        if profile is None or self._running.is_set():
            return
        self._running.set()
        self.cancel.clear()
        self._on_change()
        threading.Thread(target=self._sign_in, args=(profile,), name="sign-in", daemon=True).start()

    def _sign_in(self, profile: str) -> None:
        from agent.aws import sso

        try:
            flow = sso.DeviceSignIn(profile, open_url=opener.open_url)
            authorization = flow.start()
            self.notifier.notify("Sign in to AWS in your browser",
                                 f"Check that the page shows the code {authorization.user_code}, then allow S3 SQS Agent. "
                                 f"No page? Open {authorization.verification_uri} and enter the code.")
            until = flow.wait(self.cancel)
        except errors.SignInCancelled:
            log.info("The sign-in was cancelled")
            return
        except (errors.SignInError, ValueError) as error:
            log.warning("Sign-in failed: %s", error)
            self.notifier.error(errors.SignInError.title, str(error))
            return
        except Exception as exc:
            log.exception("Sign-in failed")
            self.notifier.error(errors.SignInError.title, f"{exc}. Try again; if it keeps failing: aws sso login --profile {profile}")
            return
        finally:
            self._running.clear()
            self._on_change()
        with self._lock:
            self._rejected, self._announced = False, None
        self.notifier.notify("Signed in to AWS", f"Profile {profile}, until {until_text(until)}. Downloads go on.")
        self._on_signed_in()
