"""The tray's parts without a display: notification batching, the config watcher, the instance lock, icons, status lines."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from PIL import Image

from agent.config import Config, NotificationSettings
from agent.desktop import icons
from agent.desktop.icons import IconState
from agent.desktop.notify import Notifier
from agent.desktop.tray import TrayUnavailable, load_pystray
from agent.desktop.tray_icon import win32_menu_text
from agent.desktop.tray_view import describe, next_attempt
from agent.desktop.watcher import ConfigWatcher
from agent.engine.engine import Status
from agent.engine.events import Downloaded, Failed, NeedsUser, ObjectEvent, Retrying, State
from agent.errors import ConfigError
from agent.hidden_chars import MARKER, visible
from agent.instance import InstanceLock
from tests.desktop.harness import wait_until
from tests.helpers import ROOT


class RecordingBackend:
    """Stands in for desktop-notifier's DesktopNotifier."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []
        self.cleared: list[str] = []
        self.clicks: dict[str, Any] = {}

    async def send(self, title: str, message: str, **kwargs: Any) -> str:
        identifier = f"n{len(self.sent) + 1}"
        self.sent.append((identifier, title, message))
        self.clicks[identifier] = kwargs.get("on_clicked")
        return identifier

    async def clear(self, identifier: str) -> None:
        self.cleared.append(identifier)


def downloaded(key: str) -> Downloaded:
    return Downloaded(ObjectEvent("bucket", key), Path("/downloads") / key, 10, 0.1)


def retrying(key: str, attempt: int) -> Retrying:
    return Retrying(ObjectEvent("bucket", key), f"m-{key}", attempt, 6, 1.0, "not found")


@pytest.fixture
def backend() -> RecordingBackend:
    return RecordingBackend()


def make_notifier(backend: RecordingBackend, settings: NotificationSettings | None = None, **timing: float) -> Notifier:
    opened: list[str] = []
    notifier = Notifier(settings or NotificationSettings(), backend_factory=lambda: backend, open_folder=lambda: opened.append("folder"),
                        quiet_seconds=timing.get("quiet", 0.0), debounce_seconds=timing.get("debounce", 0.2),
                        max_batch_seconds=timing.get("max_batch", 2.0))
    notifier.opened = opened  # type: ignore[attr-defined]
    notifier.start()
    return notifier


def test_downloads_are_batched_and_a_new_batch_replaces_the_last_notice(backend: RecordingBackend) -> None:
    notifier = make_notifier(backend)
    try:
        for name in ("a.wav", "b.wav", "c.wav"):
            notifier.handle(downloaded(name))
        wait_until(lambda: backend.sent, 5, "the batched notice")
        assert [(title, body) for _, title, body in backend.sent] == [
            ("3 files downloaded", "Latest: a.wav, b.wav, c.wav. Click to open the folder.")]
        notifier.handle(downloaded("d.wav"))
        wait_until(lambda: len(backend.sent) == 2, 5, "the second notice")
        assert backend.sent[1][1] == "4 files downloaded" and backend.cleared == ["n1"]
        backend.clicks["n2"]()
        assert notifier.opened == ["folder"]  # type: ignore[attr-defined]
    finally:
        notifier.stop()


def test_nothing_is_shown_in_the_quiet_period_then_one_summary(backend: RecordingBackend) -> None:
    notifier = make_notifier(backend, quiet=1.0)
    try:
        started = time.monotonic()
        for index in range(12):
            notifier.handle(downloaded(f"{index}.wav"))
        wait_until(lambda: backend.sent, 5, "the summary after the quiet period")
        assert time.monotonic() - started >= 0.9
        assert [title for _, title, _ in backend.sent] == ["12 files downloaded"]
    finally:
        notifier.stop()


def test_a_retry_is_announced_once_per_object_and_failures_say_why(backend: RecordingBackend) -> None:
    notifier = make_notifier(backend)
    try:
        notifier.handle(retrying("take 01.wav", 1))
        wait_until(lambda: backend.sent, 5, "the retry notice")
        notifier.handle(retrying("take 01.wav", 2))
        notifier.handle(retrying("take 01.wav", 3))
        notifier.handle(Failed(ObjectEvent("bucket", "x/bad.wav"), "m2", "gave up after 6 attempts: not found", "kept"))
        wait_until(lambda: len(backend.sent) == 2, 5, "the failure notice")
        notifier.stop()
        assert [(title, body) for _, title, body in backend.sent] == [
            ("Waiting for a file", "Waiting for take 01.wav to become available, attempt 2 of 6"),
            ("Could not download bad.wav", "gave up after 6 attempts: not found"),
        ]
    finally:
        notifier.stop()


def test_settings_turn_kinds_off_and_per_file_on(backend: RecordingBackend) -> None:
    notifier = make_notifier(backend, NotificationSettings(retries=False, per_file=True, errors=False))
    try:
        notifier.handle(retrying("a.wav", 1))
        notifier.handle(NeedsUser("Access denied", "fix the policy"))
        notifier.handle(downloaded("song.wav"))
        wait_until(lambda: backend.sent, 5, "the per-file notice")
        notifier.stop()
        assert [(title, body) for _, title, body in backend.sent] == [("Downloaded", "song.wav\n/downloads/song.wav")]
    finally:
        notifier.stop()
    silent = RecordingBackend()
    notifier = make_notifier(silent, NotificationSettings(enabled=False))
    notifier.handle(downloaded("x.wav"))
    notifier.handle(NeedsUser("Disk full", "free space"))
    notifier.stop()
    assert silent.sent == []


def test_hidden_characters_in_a_key_are_marked_in_every_notice(backend: RecordingBackend) -> None:
    """A bidi override, a line break or an escape in a key (or in a reason quoting it) cannot disguise a notice: each
    shows as the marker, and a key's line break does not start a line of its own."""
    notifier = make_notifier(backend, NotificationSettings(per_file=True))
    try:
        notifier.handle(downloaded("evil\u202egnp.wav"))
        notifier.handle(Failed(ObjectEvent("bucket", "a\nDownloaded: invoice.pdf"), "m2", "not found: a\x1b[2Jb", "kept"))
        notifier.handle(NeedsUser("Access denied to x\u2066y", "s3://bucket/x\u2066y\nAsk your administrator."))
        wait_until(lambda: len(backend.sent) == 3, 5, "three notices")
        notifier.stop()
        assert sorted((title, body) for _, title, body in backend.sent) == sorted([
            ("Downloaded", "evil\ufffdgnp.wav\n/downloads/evil\ufffdgnp.wav"),
            ("Could not download a\ufffdDownloaded: invoice.pdf", "not found: a\ufffd[2Jb"),
            ("Access denied to x\ufffdy", "s3://bucket/x\ufffdy Ask your administrator."),
        ])
    finally:
        notifier.stop()


def test_an_ampersand_in_a_windows_menu_item_shows_as_itself() -> None:
    assert win32_menu_text("Drum & Bass.wav") == "Drum && Bass.wav"  # Windows shows "Drum & Bass.wav", not "Drum  Bass.wav"
    assert win32_menu_text("R&&B") == "R&&&&B" and win32_menu_text("Pause") == "Pause"


def test_visible_marks_each_hidden_character_and_keeps_the_joiners() -> None:
    assert visible("evil\u202egnp.wav") == "evil\ufffdgnp.wav"
    assert visible("a\u200b\u200e\ufeff\x00\x7f\u2028b") == "a" + "\ufffd" * 6 + "b"
    assert visible("\u0645\u06cc\u200c\u062e\u0648\u0627\u0645 \U0001f469\u200d\U0001f52c.wav") == (
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0645 \U0001f469\u200d\U0001f52c.wav")  # Persian's ZWNJ, an emoji's ZWJ
    assert visible(visible("x\u202ey")) == visible("x\u202ey") == "x" + MARKER + "y"


def test_a_config_error_names_file_line_and_key(backend: RecordingBackend, tmp_path: Path) -> None:
    from agent import config as config_module

    path = tmp_path / "config.yaml"
    with pytest.raises(ConfigError) as caught:
        config_module.parse("sqs_queue_url: https://sqs.us-east-1.amazonaws.com/1/q\ndownload_folder: /tmp\nconcurency: 3\n", path)
    notifier = make_notifier(backend)
    try:
        notifier.config_error(caught.value)
        wait_until(lambda: backend.sent, 5, "the config error notice")
        _, title, body = backend.sent[0]
        assert title == "Config file has errors"
        assert body.startswith(f"{path}:3: concurency: unknown key; did you mean 'concurrency'?")
    finally:
        notifier.stop()


def test_a_config_error_on_a_key_settings_shows_says_where_in_settings(backend: RecordingBackend, tmp_path: Path) -> None:
    from agent import config as config_module

    path = tmp_path / "config.yaml"
    with pytest.raises(ConfigError) as caught:
        config_module.parse("sqs_queue_url: https://sqs.us-east-1.amazonaws.com/1/q\ndownload_folder: /tmp\nconcurrency: lots\n", path)
    notifier = make_notifier(backend)
    try:
        notifier.config_error(caught.value)
        wait_until(lambda: backend.sent, 5, "the config error notice")
        body = backend.sent[0][2]
        assert body.startswith(f"{path}:3: concurrency: "), body  # the file's line, as the file says it
        assert "(Settings → Downloads → Parallel downloads)" in body.splitlines()[0], "and the field that fixes it"
    finally:
        notifier.stop()


# ---------------------------------------------------------------- the config watcher

def test_without_a_notification_service_the_notices_go_to_the_log_in_one_quiet_line(caplog: pytest.LogCaptureFixture) -> None:
    """Under Wine, on Windows Server and on locked-down images DesktopNotifier() raises (no WinRT toast class)."""

    def no_service() -> RecordingBackend:
        raise OSError("[WinError -2147221164] Class not registered")

    caplog.set_level(logging.INFO, logger="agent.desktop.notify")
    notifier = Notifier(NotificationSettings(), backend_factory=no_service, quiet_seconds=0.0, debounce_seconds=0.1)
    notifier.start()
    try:
        notifier.handle(downloaded("take 01.wav"))
        wait_until(lambda: any("Notification: 1 file downloaded" in r.getMessage() for r in caplog.records), 5, "the notice in the log")
    finally:
        notifier.stop()
    said = [record for record in caplog.records if "not available" in record.getMessage()]
    assert len(said) == 1, [record.getMessage() for record in caplog.records]
    assert said[0].levelno == logging.WARNING and said[0].exc_info is None  # no traceback
    assert said[0].getMessage() == ("Desktop notifications are not available here (OSError: [WinError -2147221164] Class not "
                                    "registered); notices are written to this log only")
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR or record.exc_info]



def test_the_watcher_applies_every_kind_of_save_once_and_ignores_reads(tmp_path: Path, moto_endpoint: str) -> None:
    path = tmp_path / "conf" / "config.yaml"
    path.parent.mkdir()
    base = {"sqs_queue_url": "https://sqs.us-east-1.amazonaws.com/123456789012/q", "download_folder": "start"}
    path.write_text(yaml.safe_dump(base), encoding="utf-8")
    valid: list[Config] = []
    invalid: list[ConfigError] = []
    watcher = ConfigWatcher(path, valid.append, invalid.append, debounce_seconds=0.2)
    watcher.start(path.read_text(encoding="utf-8"))
    try:
        def save(how: str, folder: str) -> None:
            text = yaml.safe_dump({**base, "download_folder": folder})
            if how == "in place":
                with open(path, "w", encoding="utf-8") as handle:
                    handle.write(text)
            elif how == "atomic":
                temporary = path.with_name("config.yaml~")
                temporary.write_text(text, encoding="utf-8")
                temporary.replace(path)
            else:
                path.unlink()
                path.write_text(text, encoding="utf-8")

        for count, (how, folder) in enumerate([("in place", "one"), ("atomic", "two"), ("recreate", "three")], start=1):
            save(how, folder)
            wait_until(lambda count=count: len(valid) == count, 10, f"the {how} save to be applied")
            assert valid[-1].download_folder == path.parent / folder
        for _ in range(20):  # reads (open and close-without-write events) are not changes
            path.read_text(encoding="utf-8")
        path.write_text("download_folder: [oops\n", encoding="utf-8")
        wait_until(lambda: invalid, 10, "the broken save to be reported")
        assert invalid[0].problems[0].line == 2 and "not valid YAML" in invalid[0].problems[0].message
        path.write_text(yaml.safe_dump({**base, "download_folder": "three"}), encoding="utf-8")
        wait_until(lambda: len(valid) == 4, 10, "the fixed save to be applied")
        time.sleep(1)  # any stray event would have been handled within the debounce by now
        assert len(valid) == 4 and len(invalid) == 1
    finally:
        watcher.stop()


# ---------------------------------------------------------------- one instance


def test_the_instance_lock_refuses_a_second_holder_and_frees_on_death(tmp_path: Path) -> None:
    lock_path = tmp_path / "agent.lock"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from agent.instance import InstanceLock\n"
        f"lock = InstanceLock(Path({str(lock_path)!r})); print(lock.acquire(), flush=True); time.sleep(60)")],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "True"
        second = InstanceLock(lock_path)
        assert second.acquire() is False
        assert second.owner_pid() == holder.pid
    finally:
        holder.kill()
        holder.wait()
    with InstanceLock(lock_path) as third:
        assert third.acquire() is True  # the dead holder's lock went with it


# ---------------------------------------------------------------- icons and status lines


@pytest.mark.parametrize("size", icons.TRAY_SIZES)
def test_each_state_has_its_own_icon_at_each_size(size: int) -> None:
    images = {state: icons.draw(state, size) for state in IconState}
    assert all(image.size == (size, size) and image.mode == "RGBA" for image in images.values())
    pixels = {state: image.tobytes() for state, image in images.items()}
    assert len(set(pixels.values())) == len(IconState)
    for state, image in images.items():
        centre = image.getpixel((size // 2, size // 4))
        assert centre[3] == 255, f"{state} is opaque inside the badge"
        assert image.getpixel((0, 0))[3] == 0, f"{state} has a transparent corner"


def test_installer_icons_are_generated(tmp_path: Path) -> None:
    written = icons.write_assets(tmp_path)
    assert {p.name for p in written} >= {"app.ico", "app.icns", "app.png", "tray-idle-16.png", "tray-attention-32.png"}
    with Image.open(tmp_path / "app.ico") as ico:
        assert ico.info["sizes"] >= {(16, 16), (32, 32), (256, 256)}
    with Image.open(tmp_path / "app.icns") as icns:
        assert icns.size[0] >= 512
    committed = ROOT / "assets"
    assert {p.name for p in written} <= {p.name for p in committed.iterdir()}, "run `make icons` and commit assets/"


def status(state: State, **fields: Any) -> Status:
    values: dict[str, Any] = {"state": state, "detail": "", "active": 0, "bytes_done": 0, "bytes_total": 0, "downloaded": 0,
                                  "downloaded_today": 124, "retries": 0, "given_up": 0, "failed_pending": 0, "retry_in": None, "problem": None}
    values.update(fields)
    return Status(**values)


def test_status_lines() -> None:
    assert describe(status(State.IDLE)) == (IconState.IDLE, "Up to date: 124 files today")
    assert describe(status(State.SYNCING, active=3, bytes_done=45, bytes_total=100)) == (IconState.SYNCING, "Downloading 3 files (40%)")
    assert describe(status(State.PAUSED)) == (IconState.PAUSED, "Paused")
    now = datetime.now().astimezone()
    soon = now + timedelta(minutes=1)
    if soon.date() == now.date():  # not at 23:59
        assert describe(status(State.PAUSED, paused_until=soon)) == (IconState.PAUSED, f"Paused until {soon:%H:%M}")
    later = datetime.now().astimezone() + timedelta(days=3)
    assert describe(status(State.PAUSED, paused_until=later))[1].startswith(f"Paused until {later:%a} {later.day} ")
    assert describe(status(State.OFFLINE, retry_in=19.2)) == (IconState.OFFLINE, "Offline: retrying within a minute")
    assert describe(status(State.IDLE), failed=2) == (IconState.ATTENTION, "2 files failed")
    assert describe(status(State.ATTENTION, detail="Access denied", retry_in=4)) == (IconState.ATTENTION,
                                                                                      "Access denied: retrying within a minute")
    assert describe(status(State.OFFLINE)) == (IconState.OFFLINE, "Offline: retrying")
    assert describe(None) == (IconState.SYNCING, "Starting…")


def test_the_status_line_holds_still_while_the_engine_waits_and_downloads() -> None:
    """The menu and the tooltip are redrawn when their text changes: it must not count seconds. Sampled each second,
    it holds still through a hold and a long wait, and a download moves it in ten steps, not with each second's bytes."""
    now = datetime(2026, 11, 28, 14, 31, 10).astimezone()
    hold = {describe(status(State.OFFLINE, retry_in=60.0 - second), now=now + timedelta(seconds=second))[1] for second in range(61)}
    assert hold == {"Offline: retrying within a minute"}  # the engine's longest hold, counted down to the next attempt
    wait = {describe(status(State.ATTENTION, detail="Access denied", retry_in=300.0 - second), now=now + timedelta(seconds=second))[1]
            for second in range(240)}
    assert wait == {"Access denied: retrying at 14:36"}  # 14:31:10 + 300 s, the same through the whole wait
    assert next_attempt(90, now) == "retrying at 14:32"
    assert next_attempt(300, now.replace(hour=23, minute=58)) == "retrying tomorrow 00:03"
    download = [describe(status(State.SYNCING, active=1, bytes_done=done, bytes_total=600), now=now)[1] for done in range(600)]
    assert sorted(set(download), key=download.index) == [f"Downloading 1 file ({percent}%)" for percent in range(0, 100, 10)]
    exact = describe(status(State.SYNCING, active=1, bytes_done=256, bytes_total=384), now=now, progress_step=1)[1]
    assert exact == "Downloading 1 file (66%)", "Activity shows the percentage its bar shows"


def test_no_display_is_reported_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    if sys.platform != "linux":
        pytest.skip("Linux only")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(TrayUnavailable) as caught:
        load_pystray()
    assert "no graphical session" in caught.value.reason
    assert "s3-sqs-agent run --headless" in str(caught.value)


def test_the_menu_wraps_a_problem_at_words_and_keeps_a_place_on_one_line() -> None:
    from agent.desktop.tray_view import PROBLEM_LINES, PROBLEM_WIDTH, menu_lines

    lines = menu_lines("There is no AWS profile called 'studio' in ~/.aws/config or ~/.aws/credentials. Did you mean "
                       "'Studio'? Profile names are case-sensitive. Choose another in Settings → Account → AWS profile, or "
                       "run `s3-sqs-agent setup`. Retrying by itself.")
    assert all(len(line) <= PROBLEM_WIDTH for line in lines) and len(lines) <= PROBLEM_LINES
    assert any("Settings\N{NO-BREAK SPACE}→\N{NO-BREAK SPACE}Account\N{NO-BREAK SPACE}→\N{NO-BREAK SPACE}AWS\N{NO-BREAK SPACE}profile"
               in line for line in lines), lines
    assert "Retrying by itself" not in " ".join(lines), "the status line above says it"
    assert menu_lines("word " * 200)[-1].endswith("…"), "a text too long for the menu is cut, and says so"
