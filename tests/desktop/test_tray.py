"""The tray app end to end: Xvfb, trayer, a private D-Bus with a recording notification server, moto, xdotool."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Any

import yaml

from agent.desktop.icons import COLORS, IconState
from tests.aws import Setup, s3_event_body
from tests.desktop.harness import Desktop, TrayApp, wait_until
from tests.desktop.notification_server import CAPABILITIES, NotificationServer, text_of
from tests.helpers import ROOT, write_config

LOG_DIR_PARTS = ("state", "s3-sqs-agent", "log")


def dominant_colour(image: Any) -> tuple[int, int, int]:
    """The most common strongly coloured pixel: the badge's colour, ignoring the panel, the glyph and the edges."""
    colours = [(count, rgb) for count, rgb in image.convert("RGB").getcolors(1 << 16)
               if not (max(rgb) - min(rgb) < 25 and max(rgb) > 150)]  # not the white glyph or the light panel
    return max(colours)[1]


def assert_icon_shows(app: TrayApp, state: IconState) -> None:
    """The docked icon's pixels are the state's colour (the tray really redrew it)."""
    expected = COLORS[state][:3]

    def matches() -> bool:
        colour = dominant_colour(app.icon_image())
        return all(abs(a - b) <= 12 for a, b in zip(colour, expected, strict=True))

    wait_until(matches, 15, f"the docked icon to be drawn in the {state.value} colour {expected}")


def save_state(desktop: Desktop, app: TrayApp, name: str) -> Path:
    x, y, width, height = wait_until(app.icon, 10, "the docked icon")
    return desktop.screenshot(name, (max(0, x - 120), 0, min(640, x + width + 8), y + height + 8))


def edit_config(path: Path, **changes: Any) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.update(changes)
    with open(path, "w", encoding="utf-8") as handle:  # in place: truncate and write, like many editors
        handle.write(yaml.safe_dump(data))


def applied_count(app: TrayApp) -> int:
    return app.log().count("Applied the new config")


def test_icon_docks_menu_opens_and_every_state_is_drawn(tray_app: TrayApp, desktop: Desktop, aws: Setup, tray_config: Path) -> None:
    tray_app.start()
    probe = tray_app.wait_state("idle")
    assert probe["status"] == "Up to date: 0 files today"
    assert probe["backend"] in ("appindicator", "gtk")
    assert f"Tray backend: {probe['backend']}" in tray_app.log()
    _x, y, width, height = tray_app.icon()  # type: ignore[misc]
    assert 16 <= width <= 64 and 16 <= height <= 64 and y < 40, "the icon sits in the panel at the top"
    assert_icon_shows(tray_app, IconState.IDLE)
    save_state(desktop, tray_app, "docked-icon.png")

    menu = tray_app.open_menu()
    assert menu[2] > 150 and menu[3] > 200, f"a menu with every item is open: {menu}"
    desktop.screenshot("open-menu.png")
    tray_app.close_menu()
    texts = [item.get("text") for item in tray_app.probe()["menu"] if not item.get("separator")]  # type: ignore[index]
    assert texts == ["Up to date: 0 files today", "Pause", "Activity…", "Open download folder", "Choose download folder…", "Recent files",
                     "Failed items", "Download missing files…", "Settings…", "Open config file", "Open log folder", "Start at login",
                     "Create diagnostics bundle…", "About S3 SQS Agent 0.1.0", "Quit"]

    # Syncing: a slow download (rate-limited by a live config change).
    applied = applied_count(tray_app)
    edit_config(tray_config, max_bandwidth="64KiB/s")
    wait_until(lambda: applied_count(tray_app) > applied, 30, "the rate limit to be applied")
    aws.put("slow/take 01.wav", os.urandom(384 * 1024))
    probe = tray_app.wait_probe(lambda p: p["status"].startswith("Downloading 1 file ("), 30, "the download to show its progress")
    assert probe["state"] == "syncing"
    assert_icon_shows(tray_app, IconState.SYNCING)
    save_state(desktop, tray_app, "state-syncing.png")
    tray_app.wait_probe(lambda p: p["status"] == "Up to date: 1 file today", 60, "the slow download to finish")

    # Paused, from the menu.
    tray_app.choose("Pause", "Until I resume")
    tray_app.wait_probe(lambda p: p["status"] == "Paused" and p["state"] == "paused", what="the paused state")
    assert_icon_shows(tray_app, IconState.PAUSED)
    save_state(desktop, tray_app, "state-paused.png")
    tray_app.choose("Resume")
    tray_app.wait_state("idle")

    # Offline: the endpoint cannot be reached.
    edit_config(tray_config, endpoint_url="http://127.0.0.1:9")
    probe = tray_app.wait_state("offline", 60)
    assert probe["status"].startswith("Offline: retrying")
    assert_icon_shows(tray_app, IconState.OFFLINE)
    save_state(desktop, tray_app, "state-offline.png")
    edit_config(tray_config, endpoint_url=aws.endpoint)
    tray_app.wait_state("idle", 60)

    # Needs attention: a config the agent cannot use.
    tray_config.write_text(tray_config.read_text(encoding="utf-8") + "concurrency: lots\n", encoding="utf-8")
    probe = tray_app.wait_state("attention")
    assert probe["status"].startswith("Config error (line")
    assert_icon_shows(tray_app, IconState.ATTENTION)
    save_state(desktop, tray_app, "state-attention.png")
    tray_app.choose("Quit")
    assert tray_app.process is not None and tray_app.process.wait(30) == 0
    assert (tray_config.parent.parent.parent / "downloads" / "slow" / "take 01.wav").stat().st_size == 384 * 1024


def test_pause_stops_downloads_survives_restart_and_resume_restarts_them(tray_app: TrayApp, aws: Setup, private_home: Path) -> None:
    downloads = private_home / "downloads"
    tray_app.start()
    aws.put("before.wav", b"before")
    wait_until((downloads / "before.wav").exists, 30, "before.wav to download")

    tray_app.choose("Pause", "Until I resume")
    tray_app.wait_probe(lambda p: p["paused"] and p["status"] == "Paused", what="Paused")
    aws.put("during.wav", b"during")
    wait_until(lambda: aws.counts() == (1, 0), 30, "the new message to wait, visible, in the queue")
    observed_until = time.monotonic() + 4  # several receive cycles: nothing may take the message or write the file
    while time.monotonic() < observed_until:
        assert not (downloads / "during.wav").exists(), "a paused agent downloaded a file"
        assert aws.counts() == (1, 0), "a paused agent received a message"
        time.sleep(0.2)

    assert tray_app.stop() == 0
    tray_app.start()
    tray_app.wait_probe(lambda p: p["paused"] and p["state"] == "paused", what="the pause to survive a restart")
    assert aws.counts() == (1, 0) and not (downloads / "during.wav").exists()

    tray_app.choose("Resume")
    wait_until((downloads / "during.wav").exists, 30, "during.wav to download after Resume")
    assert (downloads / "during.wav").read_bytes() == b"during"
    tray_app.wait_probe(lambda p: not p["paused"] and p["state"] == "idle", what="idle after Resume")
    wait_until(lambda: aws.counts() == (0, 0), 30, "the message to be deleted")


def test_menu_items_and_notification_clicks_call_the_opener(tray_app: TrayApp, aws: Setup, private_home: Path,
                                                           tray_config: Path, notifications: NotificationServer) -> None:
    downloads = private_home / "downloads"
    log_dir = private_home.joinpath(*LOG_DIR_PARTS)
    tray_app.start()
    aws.put("albums/song.wav", b"la la")
    tray_app.wait_probe(lambda p: tray_app.menu_item(p, "Recent files")["submenu"][0]["text"] == "song.wav", what="song.wav in Recent files")

    expected: list[dict[str, str]] = []
    for labels, action, path in [
        (("Open download folder",), "open_folder", downloads),
        (("Recent files", "song.wav"), "reveal", downloads / "albums" / "song.wav"),
        (("Failed items", "Open log"), "open_file", log_dir / "agent.log"),
        (("Open config file",), "open_file", tray_config),
        (("Open log folder",), "open_folder", log_dir),
    ]:
        tray_app.choose(*labels)
        expected.append({"action": action, "path": str(path)})
        wait_until(lambda: len(tray_app.opened()) == len(expected), 15, f"the opener to be called for {labels}")
        assert tray_app.opened() == expected

    tray_app.choose("About")
    notifications.wait_for(lambda n: n.summary == "S3 SQS Agent 0.1.0" and str(tray_config) in n.body and "Plugins: none" in n.body,
                           what="the About notice, with the loaded plugins")

    downloaded = notifications.wait_for(lambda n: n.summary == "1 file downloaded", what="the batched downloads notice")
    assert "song.wav" in downloaded.body and "default" in downloaded.actions
    notifications.click(downloaded.id)
    probe = tray_app.wait_window("activity", lambda p: p["tabs"][2] == "Recent (1)", 30, "a click on the notice to open Activity")
    assert probe["recent"][0][0] == "song.wav"


def test_retry_is_notified_once_per_object_and_a_give_up_is_notified(tray_app: TrayApp, aws: Setup, tray_config: Path,
                                                                      private_home: Path, notifications: NotificationServer) -> None:
    write_config(tray_config, aws.config(str(private_home / "downloads"), max_attempts=4))
    tray_app.start()
    aws.send(s3_event_body(aws.bucket, "late.wav", size=4))
    retry = notifications.wait_for(lambda n: "late.wav" in n.body, 60, "the retry notice for late.wav")
    assert retry.summary == "Waiting for a file"
    assert retry.body == "Waiting for late.wav to become available, attempt 2 of 4"
    wait_until(lambda: "Retrying late.wav in" in tray_app.log() and "(attempt 2 of 4)" in tray_app.log(), 60,
               "a second failed attempt for late.wav")
    aws.put("late.wav", b"late")
    wait_until((private_home / "downloads" / "late.wav").exists, 60, "late.wav to download once it exists")

    aws.send(s3_event_body(aws.bucket, "never.wav", size=4))
    failure = notifications.wait_for(lambda n: n.summary == "Could not download never.wav", 90, "the give-up notice")
    assert "gave up after 4 attempts" in failure.body
    assert len(notifications.matching(lambda n: "late.wav" in text_of(n) and "Waiting" in text_of(n))) == 1
    assert len(notifications.matching(lambda n: "never.wav" in text_of(n) and "Waiting" in text_of(n))) == 1
    tray_app.wait_probe(lambda p: p["state"] == "attention" and p["status"] == "1 file failed", what="the failed item")
    retry_item = tray_app.menu_item(tray_app.probe() or {}, "Failed items")["submenu"][0]
    assert retry_item == {"text": "Retry all (1)", "enabled": True}
    tray_app.choose("Failed items", "Retry all")
    notifications.wait_for(lambda n: n.summary == "Retrying failed items" and "Sent 1 message" in n.body, what="the retry notice")


def test_a_key_with_a_bidi_override_is_shown_marked_never_disguised(tray_app: TrayApp, aws: Setup, private_home: Path,
                                                                    notifications: NotificationServer) -> None:
    """U+202E (right-to-left override) makes `evil\u202egnp.wav` read as "evilvaw.png": the notices, the menu and
    Activity show a visible marker (U+FFFD) in its place, as the file on disk has `_` (agent/hidden_chars.py)."""
    tray_app.start()
    aws.put("evil\u202egnp.wav", b"RIFF")
    downloaded = notifications.wait_for(lambda n: n.summary == "1 file downloaded", 60, "the download notice")
    assert "\u202e" not in downloaded.body and "evil\ufffdgnp.wav" in downloaded.body
    assert (private_home / "downloads" / "evil_gnp.wav").read_bytes() == b"RIFF"

    aws.send(s3_event_body(aws.bucket, urllib.parse.quote_plus("gone\u202evaw.exe"), size=4))  # never uploaded: given up
    waiting = notifications.wait_for(lambda n: n.summary == "Waiting for a file", 60, "the retry notice")
    failure = notifications.wait_for(lambda n: n.summary.startswith("Could not download"), 90, "the give-up notice")
    assert waiting.body.startswith("Waiting for gone\ufffdvaw.exe to become available")
    assert failure.summary == "Could not download gone\ufffdvaw.exe"
    assert not [n for n in notifications.snapshot() if "\u202e" in text_of(n)]

    probe = tray_app.wait_probe(lambda p: p["status"] == "1 file failed", what="the failed item")
    assert tray_app.menu_item(probe, "Recent files")["submenu"][0]["text"] == "evil_gnp.wav"
    notifications.click(downloaded.id)  # Activity
    activity = tray_app.wait_window("activity", lambda p: p["tabs"][3] == "Failed (1)", 30, "Activity with the failed item")
    assert activity["failed"][0][0] == "gone\ufffdvaw.exe" and activity["recent"][0][0] == "evil_gnp.wav"
    assert "\u202e" not in json.dumps(activity, ensure_ascii=False) + json.dumps(probe, ensure_ascii=False)


def test_a_server_that_reads_markup_in_the_body_gets_a_key_escaped(tray_app: TrayApp, aws: Setup,
                                                                   notifications: NotificationServer) -> None:
    """GNOME's, KDE's, dunst's servers read the body as markup: `&#x202e;` in a key would become the override itself
    there, `<b>` bold. For a server that says "body-markup", the body is escaped and shows the key as written."""
    notifications.capabilities = (*CAPABILITIES, "body-markup")
    try:
        tray_app.start()
        aws.put("R&B <b>mix evil&#x202e;gnp.wav", b"RIFF")
        downloaded = notifications.wait_for(lambda n: n.summary == "1 file downloaded", 60, "the download notice")
        assert downloaded.body == "R&amp;B &lt;b&gt;mix evil&amp;#x202e;gnp.wav"
    finally:
        notifications.capabilities = CAPABILITIES


def test_download_missing_files_catches_up_on_lost_notifications(tray_app: TrayApp, aws: Setup, tray_config: Path,
                                                                 private_home: Path, notifications: NotificationServer) -> None:
    tray_app.start()
    tray_app.choose("Pause", "Until I resume")
    tray_app.wait_probe(lambda p: p["paused"], what="the pause")
    expected = {"lost/a.wav": b"a" * 100, "lost/b.wav": b"b" * 200}
    for key, data in expected.items():
        aws.put(key, data)
    aws.sqs.purge_queue(QueueUrl=aws.queue_url)  # the notifications are gone, as after a fortnight away
    tray_app.choose("Download missing files…")
    done = notifications.wait_for(lambda n: n.summary == "Missing files downloaded", 60, "the catch-up result")
    assert done.body.startswith("2 downloaded")
    downloads = private_home / "downloads"
    assert {p.relative_to(downloads).as_posix(): p.read_bytes() for p in downloads.rglob("*.wav")} == expected


def test_live_config_in_place_atomic_and_recreated_and_a_broken_one(tray_app: TrayApp, aws: Setup, tray_config: Path,
                                                                     private_home: Path, notifications: NotificationServer) -> None:
    tray_app.start()
    data = yaml.safe_load(tray_config.read_text(encoding="utf-8"))

    def saved(folder: str) -> None:
        tray_app.wait_probe(lambda p: p["download_folder"] == str(private_home / folder), 30, f"the switch to {folder}")

    data["download_folder"] = str(private_home / "in-place")
    with open(tray_config, "w", encoding="utf-8") as handle:
        handle.write(yaml.safe_dump(data))
    saved("in-place")
    aws.put("one.wav", b"1")
    wait_until((private_home / "in-place" / "one.wav").exists, 30, "one.wav in the new folder")

    data["download_folder"] = str(private_home / "atomic")
    temporary = tray_config.with_name(".config.yaml.swp")
    temporary.write_text(yaml.safe_dump(data), encoding="utf-8")
    os.replace(temporary, tray_config)
    saved("atomic")
    aws.put("two.wav", b"2")
    wait_until((private_home / "atomic" / "two.wav").exists, 30, "two.wav in the folder set by an atomic replace")

    data["download_folder"] = str(private_home / "recreated")
    tray_config.unlink()
    tray_config.write_text(yaml.safe_dump(data), encoding="utf-8")
    saved("recreated")
    aws.put("three.wav", b"3")
    wait_until((private_home / "recreated" / "three.wav").exists, 30, "three.wav in the folder of a recreated file")

    good = tray_config.read_text(encoding="utf-8")
    broken = good + "concurrency: lots\n"
    tray_config.write_text(broken, encoding="utf-8")
    line = broken.splitlines().index("concurrency: lots") + 1
    notice = notifications.wait_for(lambda n: n.summary == "Config file has errors", 30, "the bad-config notice")
    assert f"{tray_config}:{line}: concurrency: expected a whole number" in notice.body
    assert "The last good config keeps running." in notice.body
    probe = tray_app.wait_state("attention")
    assert probe["status"] == f"Config error (line {line}, concurrency): using the last good config"
    aws.put("four.wav", b"4")
    wait_until((private_home / "recreated" / "four.wav").exists, 30, "four.wav under the last good config")
    assert tray_app.alive()

    tray_config.write_text(good.replace("recreated", "fixed"), encoding="utf-8")
    saved("fixed")
    tray_app.wait_state("idle")
    # Four valid saves, four applies: the watcher's own reads and an editor's several events never reload twice.
    assert applied_count(tray_app) == 4


def test_choose_download_folder_writes_the_config(tray_app: TrayApp, desktop: Desktop, aws: Setup, tray_config: Path,
                                                   private_home: Path) -> None:
    tray_config.write_text("# my comment stays\n" + tray_config.read_text(encoding="utf-8"), encoding="utf-8")
    chosen = private_home / "chosen folder"
    chosen.mkdir()
    tray_app.start()
    tray_app.choose("Choose download folder…")
    desktop.focus("^Choose download folder$")
    time.sleep(0.3)  # Tk selects the entry's text once it has the focus; typing then replaces it
    desktop.run("xdotool", "type", "--delay", "20", str(chosen))
    desktop.run("xdotool", "key", "--delay", "300", "Return", "Return")  # Tk's dialog: go to the folder, then choose it
    tray_app.wait_probe(lambda p: p["download_folder"] == str(chosen), 30, "the chosen folder to be applied")
    text = tray_config.read_text(encoding="utf-8")
    assert text.startswith("# my comment stays\n") and f"download_folder: {chosen}" in text
    aws.put("picked.wav", b"picked")
    wait_until((chosen / "picked.wav").exists, 30, "picked.wav in the chosen folder")


def test_a_second_launch_says_already_running_and_exits_0(tray_app: TrayApp, notifications: NotificationServer) -> None:
    tray_app.start()
    second = subprocess.run([sys.executable, "-m", "agent", "tray", "--config", str(tray_app.config)], cwd=ROOT,
                            env=tray_app.env(), capture_output=True, text=True, timeout=60)
    assert second.returncode == 0, second.stderr
    assert "already running" in second.stderr
    notifications.wait_for(lambda n: n.summary == "S3 SQS Agent is already running", what="the already-running notice")
    assert tray_app.alive()


def test_without_a_display_it_says_so_and_how_to_run_headless(tray_config: Path, desktop: Desktop,
                                                              notifications: NotificationServer) -> None:
    env = desktop.env()
    env.pop("DISPLAY")
    result = subprocess.run([sys.executable, "-m", "agent", "tray", "--config", str(tray_config)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "There is no graphical session here" in result.stderr
    assert "s3-sqs-agent run --headless" in result.stderr
    notifications.wait_for(lambda n: n.summary == "S3 SQS Agent: no system tray", what="the no-tray notice")


def test_without_gi_it_names_the_fix_and_can_keep_running(tray_config: Path, desktop: Desktop, private_home: Path,
                                                          aws: Setup, notifications: NotificationServer) -> None:
    shim = private_home / "no-gi"
    (shim / "gi").mkdir(parents=True)
    (shim / "gi" / "__init__.py").write_text('raise ImportError("No module named gi (hidden by the test)")\n')
    app = TrayApp(desktop, tray_config, private_home, extra_env={"PYTHONPATH": os.pathsep.join([str(shim), str(ROOT)])})
    app.start(wait_docked=False)
    try:
        desktop.focus("^S3 SQS Agent: no system tray$", 60)
        notice = notifications.wait_for(lambda n: n.summary == "S3 SQS Agent: no system tray", what="the no-tray notice")
        assert "PyGObject" in notice.body and "apt install python3-gi" in notice.body
        desktop.run("xdotool", "key", "Return")  # Yes: keep running without an icon
        wait_until(lambda: "Running without a tray icon: yes" in app.log(), 30, "the answer to be taken")
        aws.put("headless.wav", b"still working")
        wait_until((private_home / "downloads" / "headless.wav").exists, 30, "downloads to go on without an icon")
        assert "PyGObject (the 'gi' module) is not installed" in app.read_output()
    finally:
        assert app.stop() == 0
