"""What a newcomer trips over in the tray (issue 21): the first-run icon, a left click, notices' icons, Show in folder
without a file manager, and problems explained in the menu in the words of the window to fix them in."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from PIL import Image, ImageDraw

from agent.desktop import icons
from agent.desktop.icons import IconState, NoticeIcon
from tests.aws import Setup, free_port, s3_event_body
from tests.desktop.harness import ARTIFACTS, Desktop, TrayApp
from tests.desktop.notification_server import Notification
from tests.desktop.test_icons import match
from tests.desktop.test_tray import edit_config
from tests.helpers import wait_until, write_config


def docked_drawing(app: TrayApp) -> tuple[IconState, float]:
    """Which state's drawing the docked icon's pixels are, and how far from it (mean difference per pixel)."""
    crop = app.icon_image().convert("RGB")
    size = min(crop.size)
    scores = {state: match(crop, state, size)[0] for state in IconState}
    best = min(scores, key=lambda state: scores[state])
    return best, scores[best]


def save_icon(desktop: Desktop, app: TrayApp, name: str) -> Path:
    """The panel around the docked icon, zoomed 4x so its shape can be seen."""
    x, y, width, height = wait_until(app.icon, 10, "the docked icon")
    path = desktop.screenshot(name, (max(0, x - 40), 0, x + width + 40, y + height + 6))
    with Image.open(path) as image:
        image.resize((image.width * 4, image.height * 4), Image.Resampling.NEAREST).save(path)
    return path


def menu_texts(probe: dict[str, Any]) -> list[str]:
    return [str(item["text"]) for item in probe["menu"] if not item.get("separator")]


def test_not_set_up_has_its_own_icon_and_a_left_click_opens_setup(wide_desktop: Desktop, private_home: Path) -> None:
    wide_desktop.notifications.clear()
    app = TrayApp(wide_desktop, private_home / "config" / "s3-sqs-agent" / "config.yaml", private_home)  # no config: a first run
    try:
        probe = app.start().wait_probe(lambda p: p["status"] == "Not set up yet", what="the first-run status line")
        assert probe["state"] == "setup", "its own state, not Paused's"
        assert app.menu_item(probe, "Set up…").get("default"), "Set up… is what a left click does"
        app.wait_window("setup", lambda p: p["accounts"], 20, "the Setup window to open by itself")
        wide_desktop.focus("Set up")
        app.keys("Escape")
        wait_until(lambda: app.window_closed("setup"), 15, "Escape to close Setup")

        _, difference = wait_until(lambda: (found := docked_drawing(app))[0] is IconState.SETUP and found, 15,
                                   "the docked icon to be the not-set-up drawing")
        assert difference < 0.5
        setup_alpha = icons.draw(IconState.SETUP, 32).getchannel("A")
        assert setup_alpha.tobytes() != icons.draw(IconState.PAUSED, 32).getchannel("A").tobytes(), "another shape than Paused"
        save_icon(wide_desktop, app, "newcomer-not-set-up-icon.png")

        app.left_click()
        app.wait_window("setup", lambda p: not app.window_closed("setup"), 20, "a left click to open Setup again")
        assert not wide_desktop.popup_menus(), "a left click opens Setup, not the menu"
    finally:
        if app.alive():
            app.stop()


def test_a_left_click_opens_activity_on_recent_when_nothing_downloads(app: TrayApp, aws: Setup, wide_desktop: Desktop) -> None:
    app.start()
    aws.put("takes/song.wav", b"la la")
    probe = app.wait_probe(lambda p: app.menu_item(p, "Recent files")["submenu"][0]["text"] == "song.wav", what="song.wav")
    assert app.menu_item(probe, "Activity…").get("default"), "Activity… is what a left click does (GTK shows it in bold)"
    app.left_click()
    activity = app.wait_window("activity", lambda p: p["tabs"][2] == "Recent (1)", 30, "a left click to open Activity")
    assert activity["tab"] == "recent", "nothing is in progress: Activity opens on Recent"
    assert not wide_desktop.popup_menus(), "a left click opens Activity, not the menu"
    app.window_screenshot("activity", "newcomer-activity-opens-on-recent.png")


def notice_picture(notification: Notification) -> Image.Image:
    assert notification.app_icon.startswith("file://"), f"{notification.summary!r} came without an icon file"
    with Image.open(unquote(urlsplit(notification.app_icon).path)) as image:
        return image.convert("RGBA")


def test_each_kind_of_notice_has_its_own_icon(app: TrayApp, aws: Setup, tray_config: Path, private_home: Path,
                                              wide_desktop: Desktop) -> None:
    notifications = wide_desktop.notifications
    write_config(tray_config, aws.config(str(private_home / "downloads"), max_attempts=2))
    app.start()
    aws.put("done.wav", b"done")
    aws.send(s3_event_body(aws.bucket, "never.wav", size=4))
    shown = {
        NoticeIcon.DONE: notifications.wait_for(lambda n: n.summary == "1 file downloaded", 60, "the downloads notice"),
        NoticeIcon.WAITING: notifications.wait_for(lambda n: n.summary == "Waiting for a file", 60, "the retry notice"),
        NoticeIcon.FAILED: notifications.wait_for(lambda n: n.summary == "Could not download never.wav", 90, "the give-up notice"),
    }
    edit_config(tray_config, endpoint_url=f"http://127.0.0.1:{free_port()}")
    shown[NoticeIcon.OFFLINE] = notifications.wait_for(lambda n: n.summary == "Offline", 60, "the offline notice")
    tray_config.write_text(tray_config.read_text(encoding="utf-8") + "concurrency: lots\n", encoding="utf-8")
    shown[NoticeIcon.NEEDS_YOU] = notifications.wait_for(lambda n: n.summary == "Config file has errors", 60, "the config notice")
    app.choose("About")
    shown[NoticeIcon.INFO] = notifications.wait_for(lambda n: n.summary.startswith("S3 SQS Agent 0."), 30, "the About notice")

    pictures = {kind: notice_picture(notification) for kind, notification in shown.items()}
    for kind, picture in pictures.items():
        assert picture.tobytes() == icons.notice_icon(kind).tobytes(), f"{shown[kind].summary!r} shows the {kind.value} icon"
    assert len({picture.tobytes() for picture in pictures.values()}) == len(pictures), "one icon per kind"

    # What a person sees: each notice's icon beside its title.
    sheet = Image.new("RGB", (520, 20 + 76 * len(pictures)), (246, 247, 249))
    pen = ImageDraw.Draw(sheet)
    for row, (kind, picture) in enumerate(pictures.items()):
        sheet.paste(picture.resize((64, 64), Image.Resampling.LANCZOS), (16, 16 + row * 76), picture.resize((64, 64), Image.Resampling.LANCZOS))
        pen.text((96, 36 + row * 76), f"{shown[kind].summary}   ({kind.value})", fill=(30, 30, 30))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    sheet.save(ARTIFACTS / "newcomer-notice-icons.png")


def test_show_in_folder_without_a_file_manager_says_so_with_the_path(wide_desktop: Desktop, aws: Setup, tray_config: Path,
                                                                     private_home: Path) -> None:
    """A computer with no file manager (no xdg-open on the PATH, no FileManager1 on the bus): the agent opens for
    real, without the tests' recorder."""
    bare = private_home / "bare-bin"
    bare.mkdir()
    wide_desktop.notifications.clear()
    app = TrayApp(wide_desktop, tray_config, private_home, extra_env={"S3_SQS_AGENT_OPENER_RECORD": "", "PATH": str(bare)})
    song = private_home / "downloads" / "albums" / "song.wav"
    try:
        app.start()
        aws.put("albums/song.wav", b"la la")
        app.wait_probe(lambda p: app.menu_item(p, "Recent files")["submenu"][0]["text"] == "song.wav", what="song.wav in Recent files")
        app.choose("Activity…")
        app.wait_window("activity", lambda p: p["tab"] == "recent" and p["recent"], 30, "Activity on its Recent tab")
        wide_desktop.focus("Activity")
        app.keys("alt+3")  # the list, with its first file selected
        app.wait_window("activity", lambda p: p["tab"] == "recent", what="the Recent list")
        app.keys("Tab", "Return")  # to "Show in folder", and press it
        probe = app.wait_window("activity", lambda p: p["cannot_open"], 30, "Activity to say the file cannot be shown")
        assert probe["cannot_open"].startswith("Cannot show song.wav in its folder: ") and "file manager" in probe["cannot_open"]
        assert "xdg-open is not installed" in probe["cannot_open"] and probe["cannot_open"].endswith("Its path, to copy:")
        assert probe["cannot_open_path"] == str(song), "the path, to copy instead"
        app.window_screenshot("activity", "newcomer-show-in-folder-without-a-file-manager.png")
        assert not wide_desktop.notifications.matching(lambda n: "Cannot show" in n.summary), "Activity says it; no notice as well"

        app.keys("Escape")
        wait_until(lambda: app.window_closed("activity"), 15, "Activity to close")
        app.choose("Recent files", "song.wav")  # from the menu: a notice says it
        notice = wide_desktop.notifications.wait_for(lambda n: n.summary == "Cannot show song.wav in its folder", 30,
                                                     "the notice that the file cannot be shown")
        assert "No file manager is installed" in notice.body and str(song) in notice.body, notice.body
        assert notice_picture(notice).tobytes() == icons.notice_icon(NoticeIcon.NEEDS_YOU).tobytes()
    finally:
        if app.alive():
            app.stop()


def problem_lines(probe: dict[str, Any]) -> str:
    """The disabled lines under the status line that say what is wrong, joined."""
    items = [item for item in probe["menu"] if not item.get("separator")]
    lines = []
    for item in items[1:]:
        if item.get("enabled") or item.get("submenu"):
            break
        lines.append(str(item["text"]))
    return " ".join(lines).replace("\N{NO-BREAK SPACE}", " ")  # a place kept on one line reads with plain spaces


def screenshot_menu(app: TrayApp, desktop: Desktop, name: str) -> Path:
    x, y, width, height = app.open_menu()
    try:
        return desktop.screenshot(name, (max(0, x - 8), 0, x + width + 8, y + height + 8))
    finally:
        app.close_menu()


def test_a_mistyped_endpoint_port_says_which_endpoint_and_where_to_change_it(app: TrayApp, aws: Setup, tray_config: Path,
                                                                            wide_desktop: Desktop) -> None:
    app.start()
    app.wait_state("idle")
    queue_server = urlsplit(aws.queue_url).netloc
    wrong = f"http://127.0.0.1:{free_port()}"
    edit_config(tray_config, endpoint_url=wrong)
    probe = app.wait_probe(lambda p: p["state"] == "offline" and problem_lines(p), 60, "the offline state, explained")
    said = problem_lines(probe)
    assert f"Cannot reach the endpoint {wrong}, set in Settings → Account → Endpoint." in said, said
    assert f"The queue URL names another server, {queue_server}." in said, said
    assert "endpoint_url" not in said, "the menu names the field, not the YAML key"
    notice = wide_desktop.notifications.wait_for(lambda n: n.summary == "Offline", 30, "the offline notice")
    assert "Settings → Account → Endpoint" in notice.body and queue_server in notice.body and "endpoint_url" not in notice.body
    assert "Cannot reach the endpoint" in app.log() and "set in endpoint_url" in app.log(), "the log keeps the key's name"
    screenshot_menu(app, wide_desktop, "newcomer-menu-wrong-endpoint.png")


def test_a_misspelt_profile_is_explained_in_the_menu_with_did_you_mean(app: TrayApp, aws: Setup, tray_config: Path,
                                                                     private_home: Path, wide_desktop: Desktop) -> None:
    (private_home / "aws-config").write_text("[profile Studio]\nregion = us-east-1\n", encoding="utf-8")
    (private_home / "aws-credentials").write_text("[Studio]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
                                                  encoding="utf-8")
    edit_config(tray_config, aws_profile="studio")
    app.start()
    probe = app.wait_probe(lambda p: p["state"] == "attention" and problem_lines(p), 60, "the profile problem, explained")
    assert probe["status"] == "AWS profile not found", "which credentials problem it is"
    said = problem_lines(probe)
    assert "There is no AWS profile called 'studio'" in said and "Did you mean 'Studio'?" in said, said
    assert "case-sensitive" in said and "Settings → Account → AWS profile" in said, said
    notice = wide_desktop.notifications.wait_for(lambda n: n.summary == "AWS profile not found", 30, "the profile notice")
    assert "Did you mean 'Studio'?" in notice.body and "Settings → Account → AWS profile" in notice.body
    screenshot_menu(app, wide_desktop, "newcomer-menu-misspelt-profile.png")

    edit_config(tray_config, aws_profile="Studio")  # the fix the menu suggests
    probe = app.wait_state("idle", 60)
    assert not problem_lines(probe), "nothing left to explain"


def test_a_missing_queue_says_so_and_that_its_url_names_another_region(app: TrayApp, aws: Setup, tray_config: Path,
                                                                          wide_desktop: Desktop) -> None:
    app.start()
    app.wait_state("idle")
    account, name = urlsplit(aws.queue_url).path.strip("/").split("/")
    edit_config(tray_config, sqs_queue_url=f"https://sqs.us-east-1.amazonaws.com/{account}/{name}", aws_region="us-west-2")
    probe = app.wait_probe(lambda p: p["status"].startswith("Queue not found") and problem_lines(p), 60, "the missing queue")
    said = problem_lines(probe)
    assert "The queue does not exist in us-west-2." in said, said
    assert "The queue URL is in us-east-1, but Settings → Account → Region says us-west-2." in said, said
    assert "Clear Settings → Account → Region" in said and "aws_region" not in said, said
    screenshot_menu(app, wide_desktop, "newcomer-menu-queue-in-another-region.png")
