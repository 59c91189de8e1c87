"""What Settings says under the AWS profile: the credentials it gives and whether an SSO sign-in holds, or that this
computer has no such profile, with the one most likely meant ("did you mean 'Studio'" for a case mistake)."""

from __future__ import annotations

from dataclasses import dataclass

from agent.errors import did_you_mean_profile
from agent.names import nearest


@dataclass(frozen=True)
class ProfileState:
    text: str
    missing: bool = False
    """The config names a profile this computer does not have: Settings marks the field, and its page, with ⚠."""
    suggestion: str | None = None
    """The existing profile it was most likely meant to be."""


def profile_state(name: str | None) -> ProfileState:
    """The chosen profile (None: the standard AWS chain) in words. Reads the AWS files, and without a profile asks for
    the ambient credentials, which can take a second or two off EC2: call it off the Tk thread."""
    from agent.aws import profiles
    from agent.setup_flow import describe_profile

    if not name:
        ambient = profiles.ambient_credentials()
        return ProfileState(f"Uses {ambient}." if ambient else "Uses the standard AWS chain: AWS_PROFILE, then the default profile.")
    try:
        known = profiles.list_profiles()
    except Exception as exc:  # noqa: BLE001  a broken AWS config file: say so, never crash the window
        return ProfileState(f"Cannot read the AWS profiles: {exc}")
    found = next((profile for profile in known if profile.name == name), None)
    if found is None:
        near = nearest(name, [profile.name for profile in known])
        guess = did_you_mean_profile(name, near)
        return ProfileState(f"There is no profile named {name!r} in the AWS config or credentials file.{' ' + guess if guess else ''} "
                            "Choose one from the list, or add it with Set up… in the tray menu.", missing=True, suggestion=near)
    words = ", ".join(describe_profile(found)) + "."
    if found.kind == "sso" and not (found.signed_in or found.sso_refreshable):
        words += " Use Set up… or “Sign in again…” in the tray menu."
    return ProfileState(words)
