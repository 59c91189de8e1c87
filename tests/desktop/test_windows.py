"""The Activity, Settings and Setup windows as a person uses them: opened from the tray, driven by keyboard, on moto."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.engine.ledger import Ledger
from tests.aws import Setup, s3_event_body
from tests.desktop.harness import Desktop, TrayApp, start_desktop
from tests.helpers import wait_until, write_config


@pytest.fixture(scope="module")
def wide_desktop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desktop]:
    """A desktop with room for the windows at their own size (the tray tests' screen is 640x480)."""
    yield from start_desktop(tmp_path_factory.mktemp("wide-desktop"), screen="1280x800")


@pytest.fixture
def app(wide_desktop: Desktop, tray_config: Path, private_home: Path) -> Iterator[TrayApp]:
    wide_desktop.notifications.clear()
    tray = TrayApp(wide_desktop, tray_config, private_home)
    yield tray
    if tray.alive():
        tray.stop()


def row_index(rows: list[list[Any]], name: str) -> int:
    names = [row[0] for row in rows]
    assert name in names, f"{name} is not listed: {names}"
    return names.index(name)


def test_activity_shows_a_running_download_and_failures_and_retry_and_dismiss_work(
        app: TrayApp, aws: Setup, tray_config: Path, private_home: Path) -> None:
    downloads = private_home / "downloads"
    write_config(tray_config, aws.config(str(downloads), max_attempts=2, max_bandwidth="48KiB/s"))
    app.start()
    for key in ("gone/missing.wav", "gone/ignored.wav"):  # announced but not in the bucket: retried, then given up
        aws.send(s3_event_body(aws.bucket, key, size=5))
    app.wait_probe(lambda p: p["status"] == "2 files failed", 60, "both messages to be given up")

    aws.put("sessions/take 01.wav", os.urandom(384 * 1024))  # 8 s at 48 KiB/s
    app.choose("Activity…")
    probe = app.wait_window("activity", lambda p: p["downloads"] and 0 < p["downloads"][0]["bar"] < 1000, 30,
                            "the running download with its progress bar")
    row = probe["downloads"][0]
    assert row["name"] == "take 01.wav" and row["percent"].endswith("%")
    assert " of 384.0 KiB" in row["detail"] and "sessions/" in row["detail"], row
    assert probe["tabs"][0] == "In progress (1)" and probe["tabs"][3] == "Failed (2)"
    app.window_screenshot("activity", "activity.png")
    probe = app.wait_window("activity", lambda p: p["tabs"][2] == "Recent (1)" and not p["downloads"], 60,
                            "the download to finish and move to Recent")

    app.keys("alt+3")
    probe = app.wait_window("activity", lambda p: p["tab"] == "recent", what="the Recent tab")
    assert probe["recent"][0][0] == "take 01.wav" and probe["recent"][0][1] == str(downloads / "sessions")
    app.keys("Return")  # Enter opens the selected file
    wait_until(lambda: {"action": "open_file", "path": str(downloads / "sessions" / "take 01.wav")} in app.opened(), 15,
               "Enter on a recent file to open it")

    app.keys("alt+4")
    probe = app.wait_window("activity", lambda p: p["tab"] == "failed" and p["failed_selected"], what="the Failed tab")
    assert sorted(row[0] for row in probe["failed"]) == ["ignored.wav", "missing.wav"]
    assert all("attempts" in row[1] for row in probe["failed"]), probe["failed"]
    app.window_screenshot("activity", "activity-failed.png")

    aws.s3.put_bucket_notification_configuration(Bucket=aws.bucket, NotificationConfiguration={})
    aws.put("gone/missing.wav", b"found")  # now it exists, and only a retry can announce it
    app.keys(*["Down"] * row_index(probe["failed"], "missing.wav"), "Tab", "Return")  # select it, then Retry
    wait_until((downloads / "gone" / "missing.wav").exists, 30, "the retried message to download the file")
    probe = app.wait_window("activity", lambda p: [row[0] for row in p["failed"]] == ["ignored.wav"], 30,
                            "the retried item to leave the Failed list")

    app.keys("shift+Tab", "Delete")  # back to the list (which selects the item left), and dismiss it
    app.wait_window("activity", lambda p: not p["failed"] and p["tabs"][3] == "Failed", 30, "the dismissed item to go")
    app.wait_probe(lambda p: p["status"].startswith("Up to date"), 30, "the tray to stop counting the failures")
    ledger = Ledger(private_home / "data" / "s3-sqs-agent" / "ledger.sqlite3")
    try:
        assert ledger.pending_failures() == []
    finally:
        ledger.close()

    app.keys("Escape")
    wait_until(lambda: app.window_closed("activity"), 15, "Escape to close the window")
    assert "Opened the activity window" in app.log() and "The activity window closed" in app.log()


def test_a_click_on_the_downloads_notice_opens_activity(app: TrayApp, aws: Setup, wide_desktop: Desktop) -> None:
    app.start()
    aws.put("notice.wav", b"hello")
    notice = wide_desktop.notifications.wait_for(lambda n: n.summary == "1 file downloaded", what="the downloads notice")
    wide_desktop.notifications.click(notice.id)
    probe = app.wait_window("activity", lambda p: p["tabs"][2] == "Recent (1)", 30, "the Activity window from the notice")
    assert probe["recent"][0][0] == "notice.wav"
    app.choose("Activity…")  # a second open brings the same window forward instead of another one
    wait_until(lambda: "Brought the activity window to the front" in app.log(), 15, "the open window to come forward")
    assert app.log().count("Opened the activity window") == 1
    app.stop()
    wait_until(lambda: app.window_closed("activity"), 15, "quitting the tray to close its windows")


COMMENTED_CONFIG = """\
# Studio workstation, set up by IT.
sqs_queue_url: '{queue}'  # the studio queue
download_folder: '{folder}'   # where takes land
s3_bucket_name: {bucket}
endpoint_url: {endpoint}
aws_region: us-east-1
concurrency: 4      # the studio line is slow
max_attempts: 3
retry_base_seconds: 1
retry_max_seconds: 2
include: ['*.wav', '*.flac']   # audio only

# Who hears about what.
notifications:
  per_file: false   # too noisy
"""


def test_settings_validates_as_you_type_saves_keeping_every_comment_and_offers_to_reload(
        app: TrayApp, aws: Setup, tray_config: Path, private_home: Path) -> None:
    original = COMMENTED_CONFIG.format(queue=aws.queue_url, folder=private_home / "downloads", bucket=aws.bucket, endpoint=aws.endpoint)
    tray_config.write_text(original, encoding="utf-8")
    app.start()
    app.choose("Settings…")
    app.wait_window("settings", lambda p: p["section"] == "General", what="the Settings window")

    app.keys("Down", "Down")  # the section list has the focus: on to Downloads
    probe = app.wait_window("settings", lambda p: p["section"] == "Downloads", what="the Downloads section")
    assert probe["values"]["concurrency"] == 4 and probe["values"]["include"] == ["*.wav", "*.flac"]
    app.keys("Tab", "End", "BackSpace")  # into "Parallel downloads"
    app.type_text("lots")
    probe = app.wait_window("settings", lambda p: "concurrency" in p["errors"], what="the error on the field")
    assert "whole number" in probe["errors"]["concurrency"] and not probe["save_enabled"]
    assert probe["summary"].startswith("Fix 1 problem to save")
    app.window_screenshot("settings", "settings-error.png")
    app.keys(*["BackSpace"] * 4)
    app.type_text("3")
    app.wait_window("settings", lambda p: not p["errors"] and p["save_enabled"] and p["summary"] == "1 unsaved change.",
                    what="the error to clear as the value becomes valid")

    app.keys("shift+Tab", "Down", "Down")  # back to the section list, on to Notifications
    app.wait_window("settings", lambda p: p["section"] == "Notifications", what="the Notifications section")
    app.keys("Tab", "Tab", "Tab", "space")  # the third box: every downloaded file on its own
    probe = app.wait_window("settings", lambda p: p["values"]["notifications.per_file"] is True and p["summary"] == "2 unsaved changes.",
                            what="the box to be ticked")
    app.window_screenshot("settings", "settings.png")

    applied = app.log().count("Applied the new config")
    app.keys("ctrl+s")
    app.wait_window("settings", lambda p: p["saved"], what="Save")
    saved = tray_config.read_text(encoding="utf-8")
    assert re.search(r"^concurrency: 3 +# the studio line is slow$", saved, re.MULTILINE), saved
    assert re.search(r"^  per_file: true +# too noisy$", saved, re.MULTILINE), saved
    for line in original.splitlines():
        if "#" in line:
            assert line.split("#", 1)[1] in saved, f"the comment of {line!r} was lost:\n{saved}"
    assert [line.split(":")[0] for line in saved.splitlines() if line and line[0].isalpha()] == [
        line.split(":")[0] for line in original.splitlines() if line and line[0].isalpha()], "the keys kept their order"
    wait_until(lambda: app.log().count("Applied the new config") > applied, 30, "the tray to apply the saved settings")

    tray_config.write_text(saved + "max_bandwidth: 10MB/s\n", encoding="utf-8")  # someone edits the file meanwhile
    app.wait_window("settings", lambda p: "changed outside this window" in p["banner"], what="the offer to reload")
    app.keys("ctrl+r")
    probe = app.wait_window("settings", lambda p: p["values"]["max_bandwidth"] == "10MB/s" and not p["banner"], what="the reload")
    assert probe["values"]["concurrency"] == 3
    app.keys("Escape")
    wait_until(lambda: app.window_closed("settings"), 15, "Escape to close Settings")
