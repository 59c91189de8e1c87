"""Sign-in expiry in the tray under Xvfb: a notice and "Sign in again…" before an IAM Identity Center sign-in ends and
after it has; downloads wait meanwhile without spending an attempt; the device sign-in runs against the local OIDC
stand-in (tests/oidc.py), and downloads go on after it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.engine.pause import until_text
from tests.aws import Setup
from tests.desktop.harness import Desktop, TrayApp
from tests.desktop.notification_server import NotificationServer
from tests.helpers import wait_until, write_config
from tests.oidc import CONFIG, START_URL, OidcStandIn


@pytest.fixture
def stand_in() -> Iterator[OidcStandIn]:
    server = OidcStandIn(pending_polls=2, interval=1).start()
    yield server
    server.stop()


@pytest.fixture
def sso_app(desktop: Desktop, notifications: NotificationServer, aws: Setup, private_home: Path,
            stand_in: OidcStandIn) -> Iterator[TrayApp]:
    """The tray with aws_profile: studio, an SSO profile whose credentials come from the stand-in's portal."""
    (private_home / "aws-config").write_text(CONFIG, encoding="utf-8")
    config = write_config(private_home / "config" / "s3-sqs-agent" / "config.yaml",
                          aws.config(str(private_home / "downloads"), aws_profile="studio"))
    app = TrayApp(desktop, config, private_home, extra_env={"HOME": str(private_home), **stand_in.environment()})
    yield app
    if app.alive():
        app.stop()


def token_path(home: Path) -> Path:
    return home / ".aws" / "sso" / "cache" / f"{hashlib.sha1(b'corp').hexdigest()}.json"


def cache_token(home: Path, stand_in: OidcStandIn, expires: datetime) -> None:
    """A sign-in made earlier (by the AWS CLI, say), without a refresh token: it ends at `expires`."""
    stand_in.state.access_tokens.add("earlier-token")
    token_path(home).parent.mkdir(parents=True, exist_ok=True)
    token_path(home).write_text(json.dumps({"startUrl": START_URL, "region": "eu-west-1", "accessToken": "earlier-token",
                                            "expiresAt": expires.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}), encoding="utf-8")


def menu_texts(probe: dict[str, object]) -> list[str]:
    return [str(item.get("text")) for item in probe["menu"] if not item.get("separator")]  # type: ignore[attr-defined]


def signs_in(app: TrayApp, stand_in: OidcStandIn, notifications: NotificationServer, home: Path) -> None:
    """What a person sees and does once they asked to sign in again: the browser opens, they allow it."""
    opened = wait_until(lambda: [o for o in app.opened() if o["action"] == "open_url"], 30, "the sign-in page to open")
    assert opened[-1]["path"] == f"{stand_in.url}/device?user_code=WXYZ-1234"
    prompt = notifications.wait_for(lambda n: n.summary == "Sign in to AWS in your browser", what="the sign-in prompt")
    assert "WXYZ-1234" in prompt.body and f"{stand_in.url}/device" in prompt.body
    done = notifications.wait_for(lambda n: n.summary == "Signed in to AWS", 60, "the signed-in notice")
    assert "Profile studio, until" in done.body
    token = json.loads(token_path(home).read_text(encoding="utf-8"))
    assert token["accessToken"] in stand_in.state.access_tokens and token["accessToken"] != "earlier-token"
    app.wait_probe(lambda p: "Sign in again…" not in menu_texts(p), what="the item to go once signed in")


def test_a_sign_in_about_to_end_is_announced_and_renewed_from_the_menu(sso_app: TrayApp, desktop: Desktop, aws: Setup,
                                                                        private_home: Path, stand_in: OidcStandIn,
                                                                        notifications: NotificationServer) -> None:
    ends = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=10)
    cache_token(private_home, stand_in, ends)
    sso_app.start()
    aws.put("before.wav", b"signed in")
    wait_until((private_home / "downloads" / "before.wav").exists, 30, "a download with the sign-in that still works")

    notice = notifications.wait_for(lambda n: n.summary.startswith("AWS sign-in ends at"), what="the expiry notice")
    assert notice.summary == f"AWS sign-in ends at {until_text(ends)}" and "Sign in again…" in notice.body  # "tomorrow 00:06" near midnight
    assert "default" in notice.actions, "a click on the notice signs in"
    probe = sso_app.wait_probe(lambda p: "Sign in again…" in menu_texts(p), what="the Sign in again… item")
    assert menu_texts(probe)[:2] == [probe["status"], "Sign in again…"], "right under the status line"
    menu = sso_app.open_menu()
    desktop.screenshot("sign-in-menu.png", (max(0, menu[0] - 10), 0, 640, min(480, menu[1] + menu[3] + 10)))
    sso_app.close_menu()

    sso_app.choose("Sign in again…")
    signs_in(sso_app, stand_in, notifications, private_home)
    aws.put("after.wav", b"signed in again")
    wait_until((private_home / "downloads" / "after.wav").exists, 30, "downloads after the new sign-in")


def test_an_expired_sign_in_holds_downloads_without_spending_attempts_until_signed_in_again(
        sso_app: TrayApp, aws: Setup, private_home: Path, stand_in: OidcStandIn, notifications: NotificationServer) -> None:
    cache_token(private_home, stand_in, datetime.now(UTC) - timedelta(minutes=30))
    aws.put("waiting.wav", b"waited for the sign-in")
    sso_app.start()

    notice = notifications.wait_for(lambda n: n.summary == "AWS sign-in expired", 60, "the expired sign-in notice")
    assert "Downloads are waiting; nothing is lost" in notice.body and "profile studio" in notice.body
    probe = sso_app.wait_probe(lambda p: p["state"] == "attention" and "Sign in again…" in menu_texts(p), 60,
                               "the attention state with Sign in again…")
    assert probe["status"].startswith("AWS sign-in expired: retrying")
    assert aws.counts() == (2, 0), "the messages (the upload's and S3's test event) wait in the queue, untouched"
    assert not (private_home / "downloads" / "waiting.wav").exists()
    assert len(notifications.matching(lambda n: n.summary == "AWS sign-in expired")) == 1, "one notice, with the way out"

    notifications.click(notice.id)
    signs_in(sso_app, stand_in, notifications, private_home)
    wait_until((private_home / "downloads" / "waiting.wav").exists, 30, "the held download once signed in again")
    assert (private_home / "downloads" / "waiting.wav").read_bytes() == b"waited for the sign-in"
    sso_app.wait_state("idle")
    log = sso_app.log()
    assert "Retrying waiting.wav" not in log and "Gave up" not in log, "no attempt was spent while signed out"
    wait_until(lambda: aws.counts() == (0, 0), 30, "the message to be deleted")
