"""The Activity, Settings and Setup windows as a person uses them: opened from the tray, driven by keyboard, on moto."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agent import config as config_module
from agent.engine.ledger import Ledger
from tests.aws import Setup, make_setup, s3_event_body, start_moto
from tests.desktop.harness import Desktop, TrayApp
from tests.helpers import wait_until, write_config


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


def test_background_work_reports_back_on_the_tk_thread_only(desktop: Desktop) -> None:
    import threading
    import tkinter

    from agent.desktop.windows.background import Background

    # The session's display, which outlives every module: Tk in this process keeps its display open, and Xlib ends the
    # process (exit code 1, no report) at the next Tk call once a module's own display has gone.
    root = tkinter.Tk(screenName=desktop.display)
    root.withdraw()
    try:
        background = Background(root)
        seen: list[tuple[str, Any]] = []

        def work() -> str:
            background.post(lambda: seen.append(("progress", threading.current_thread())))  # a worker only posts
            return "answer"

        background.run(work, lambda result, error: seen.append((result, threading.current_thread())))
        background.run(lambda: 1 / 0, lambda result, error: seen.append((type(error).__name__, threading.current_thread())))
        while len(seen) < 3:
            root.update()
        assert sorted(what for what, _ in seen) == ["ZeroDivisionError", "answer", "progress"]
        assert {thread for _, thread in seen} == {threading.main_thread()}, "a result reached Tk from a worker thread"
    finally:
        root.destroy()


def test_a_window_that_cannot_start_tk_says_what_to_install(wide_desktop: Desktop, tray_config: Path,
                                                            private_home: Path) -> None:
    no_tk = private_home / "no-tk" / "tkinter"  # as on a Linux without python3-tk: `import tkinter` fails
    no_tk.mkdir(parents=True)
    (no_tk / "__init__.py").write_text("raise ImportError(\"No module named '_tkinter'\")\n", encoding="utf-8")
    wide_desktop.notifications.clear()
    app = TrayApp(wide_desktop, tray_config, private_home, extra_env={"PYTHONPATH": str(no_tk.parent)})
    try:
        app.start()
        app.choose("Activity…")
        notice = wide_desktop.notifications.wait_for(lambda n: n.summary == "Cannot open the Activity window", 30,
                                                     "the notice that the window cannot open")
        assert "sudo apt install python3-tk" in notice.body and "s3-sqs-agent status" in notice.body, notice.body
        app.choose("Settings…")
        notice = wide_desktop.notifications.wait_for(lambda n: n.summary == "Cannot open the Settings window", 30,
                                                     "the notice for Settings")
        assert "python3-tk" in notice.body and "s3-sqs-agent setup" in notice.body and "folder dialog" not in notice.body
        assert "The activity window cannot start" in app.log() and app.alive()
    finally:
        if app.alive():
            app.stop()


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


def reload_settings(app: TrayApp, until: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
    """The file changed on disk: Settings offers to reload, Ctrl+R takes it; the probe once `until` holds."""
    app.wait_window("settings", lambda p: "changed outside this window" in p["banner"], what="the offer to reload")
    app.keys("ctrl+r")
    return app.wait_window("settings", until, what=what)


def close_settings(app: TrayApp) -> None:
    app.keys("Escape")
    wait_until(lambda: app.window_closed("settings"), 15, "Escape to close Settings")


def test_settings_validates_as_you_type_saves_keeping_every_comment_and_offers_to_reload(
        person: TrayApp, studio: Setup, private_home: Path) -> None:
    app, aws, tray_config = person, studio, person.config  # the README's screenshot: a person's home, no test's folders
    tray_config.parent.mkdir(parents=True, exist_ok=True)
    original = COMMENTED_CONFIG.format(queue=aws.queue_url, folder=private_home / "downloads", bucket=aws.bucket, endpoint=aws.endpoint)
    tray_config.write_text(original, encoding="utf-8")
    app.start()
    app.choose("Settings…")
    app.wait_window("settings", lambda p: p["section"] == "General", what="the Settings window")

    app.keys("Down")  # the section list has the focus: on to Downloads, a section at a time (a busy machine lost the second key)
    app.wait_window("settings", lambda p: p["section"] == "Account", what="the Account section")
    app.keys("Down")
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
    probe = reload_settings(app, lambda p: p["values"]["max_bandwidth"] == "10MB/s" and not p["banner"], "the reload")
    assert probe["values"]["concurrency"] == 3
    close_settings(app)


def test_settings_says_what_is_wrong_in_the_file_when_no_field_can_show_it(app: TrayApp, aws: Setup, tray_config: Path,
                                                                           private_home: Path) -> None:
    good = COMMENTED_CONFIG.format(queue=aws.queue_url, folder=private_home / "downloads", bucket=aws.bucket, endpoint=aws.endpoint)
    tray_config.write_text(good + "concurency: 8\naws_secret_access_key: hunter2\n", encoding="utf-8")
    app.start()
    app.choose("Settings…")
    probe = app.wait_window("settings", lambda p: p["problem_banner"], what="the file's problems at the top of Settings")
    assert "concurency: unknown key; did you mean 'concurrency'?" in probe["problem_banner"], probe["problem_banner"]
    assert "aws_secret_access_key: credentials are never read from the config file" in probe["problem_banner"]
    assert "Open config file" in probe["problem_banner"] and not probe["save_enabled"]
    assert probe["summary"] == "Fix 2 problems to save (see the top of this window).", probe["summary"]
    app.window_screenshot("settings", "settings-file-problems.png")

    tray_config.write_text(good + "include: ['*.wav'\n", encoding="utf-8")  # broken YAML: the fields cannot show the file
    probe = reload_settings(app, lambda p: "not valid YAML" in p["problem_banner"], "the YAML error")
    assert "(line 16:" in probe["problem_banner"] and "show the defaults" in probe["problem_banner"], probe["problem_banner"]

    tray_config.write_text(good, encoding="utf-8")
    probe = reload_settings(app, lambda p: not p["problem_banner"] and p["values"]["concurrency"] == 4,
                            "the banner to go once the file is fixed")
    assert not probe["errors"] and not probe["general_errors"] and not probe["summary"].startswith("Fix")
    close_settings(app)


def test_settings_turns_the_restore_of_archived_files_on_with_a_tier(app: TrayApp, aws: Setup, tray_config: Path,
                                                                      private_home: Path) -> None:
    original = COMMENTED_CONFIG.format(queue=aws.queue_url, folder=private_home / "downloads", bucket=aws.bucket, endpoint=aws.endpoint)
    tray_config.write_text(original + "restore_archived: true   # ask S3 for archived takes\n", encoding="utf-8")
    app.start()
    app.choose("Settings…")
    app.wait_window("settings", lambda p: p["section"] == "General", what="the Settings window")
    app.keys("Down", "Down", "Down")  # the section list: on to Failures
    probe = app.wait_window("settings", lambda p: p["section"] == "Failures", what="the Failures section")
    assert probe["values"]["restore_archived.tier"] == "Standard" and probe["values"]["restore_archived.days"] == 7
    app.keys("Tab", "Tab", "Tab", "Tab", "Tab")  # attempts, first retry, longest wait, dead-letter queue, archived files
    app.keys("Down")  # opens the list of tiers on the current one
    app.keys("Down", "Return")  # Standard -> Bulk
    app.wait_window("settings", lambda p: p["values"]["restore_archived.tier"] == "Bulk" and p["save_enabled"], what="Bulk chosen")
    app.window_screenshot("settings", "settings-archived.png")
    app.keys("ctrl+s")
    app.wait_window("settings", lambda p: p["saved"], what="Save")
    saved = tray_config.read_text(encoding="utf-8")
    restore = config_module.load(tray_config).restore_archived
    assert restore is not None and (restore.tier, restore.days) == ("Bulk", 7), saved
    assert "# ask S3 for archived takes" in saved and "# the studio line is slow" in saved
    close_settings(app)


def fresh_app(desktop: Desktop, private_home: Path, **env: str) -> TrayApp:
    """The tray on a computer where it never ran: no config file at all."""
    desktop.notifications.clear()
    return TrayApp(desktop, private_home / "config" / "s3-sqs-agent" / "config.yaml", private_home, extra_env=env)


@pytest.fixture
def person(wide_desktop: Desktop, private_home: Path) -> Iterator[TrayApp]:
    app = as_a_person(wide_desktop, private_home)
    yield app
    if app.alive():
        app.stop()


@pytest.fixture
def studio(moto_endpoint: str) -> Setup:
    """A bucket and queue named as a studio would name them, for the README's screenshots."""
    return make_setup(moto_endpoint, prefix="studio-takes-")


def as_a_person(desktop: Desktop, home: Path) -> TrayApp:
    """The tray as a person's computer runs it, for the README's screenshots (issue 21 item 18): `home` is HOME, the
    config is ~/.config/s3-sqs-agent/config.yaml, and the windows show paths as ~/… (no test's temporary folders)."""
    desktop.notifications.clear()
    return TrayApp(desktop, home / ".config" / "s3-sqs-agent" / "config.yaml", home,
                   extra_env={"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")})


def test_a_first_run_opens_setup_and_filling_it_in_downloads_the_first_file(wide_desktop: Desktop, studio: Setup,
                                                                            private_home: Path) -> None:
    app, aws = as_a_person(wide_desktop, private_home), studio  # the README's screenshots: ~/S3 Downloads, ~/.config
    downloads = private_home / "S3 Downloads"
    try:
        probe = app.start().wait_probe(lambda p: p["status"] == "Not set up yet", what="the first-run status line")
        assert probe["state"] == "setup", "nothing is wrong on a first run: no error icon (and not Paused's either)"
        assert app.menu_item(probe, "Set up…")["enabled"]
        setup = app.wait_window("setup", lambda p: p["accounts"], 20, "the Setup window to open by itself")
        assert setup["account"] == "<ambient>" and "Use the environment variables" in setup["accounts"]
        app.window_screenshot("setup", "setup-account.png")

        app.keys("Return")
        app.wait_window("setup", lambda p: p["step"] == "queue", what="the Queue step")
        app.type_text(aws.queue_url)
        app.keys("Tab", "Tab")  # past "Find my queues", to the bucket
        app.type_text(aws.bucket)
        app.keys("Tab")
        app.type_text(aws.endpoint)
        app.keys("Return")
        app.wait_window("setup", lambda p: p["step"] == "folder", what="the Folder step")
        app.type_text("~/S3 Downloads")  # the field's text is selected on arrival: typing replaces it (HOME is private_home)
        app.keys("Return")
        setup = app.wait_window("setup", lambda p: p["step"] == "check" and not p["checking"] and p["checks"], 60, "the checks")
        assert [c["name"] for c in setup["checks"] if c["passed"] is False] == [], setup["checks"]
        assert setup["next"] == "Save and start" and setup["summary"].startswith("Everything is ready")
        app.window_screenshot("setup", "setup.png")
        app.keys("Return")
        setup = app.wait_window("setup", lambda p: p["step"] == "done" and p["saved"], what="Save")
        assert setup["done"][2].startswith("New files are downloaded to ~/S3 Downloads."), "the home folder reads as ~"
        app.window_screenshot("setup", "setup-done.png")

        saved = app.config.read_text(encoding="utf-8")
        assert f"sqs_queue_url: {aws.queue_url}" in saved or f"sqs_queue_url: '{aws.queue_url}'" in saved
        assert "# Required: the queue that receives the bucket's event notifications." in saved, "the template's comments stay"
        app.wait_probe(lambda p: p["status"].startswith("Up to date"), 30, "the tray to start downloading")
        aws.put("first take.wav", b"the first file")
        wait_until((downloads / "first take.wav").exists, 30, "the first file to download")
        app.keys("Return")  # Close
        wait_until(lambda: app.window_closed("setup"), 15, "the Setup window to close")
        said = [f"{n.summary} {n.body}" for n in wide_desktop.notifications.snapshot()]
        assert not [text for text in said if "config" in text.lower() or "welcome" in text.lower()], said
    finally:
        if app.alive():
            app.stop()


def test_setup_creates_a_queue_for_this_computer_after_showing_the_plan(wide_desktop: Desktop, moto_endpoint: str,
                                                                       private_home: Path) -> None:
    from agent.aws import bucket_notifications as bn

    aws = make_setup(moto_endpoint, notify=False, prefix="studio-takes-")
    theirs = {"QueueConfigurations": [{"Id": "mixes-to-review", "QueueArn": aws.queue_arn, "Events": ["s3:ObjectCreated:*"],
                                       "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "mixes/"}]}}}]}
    aws.s3.put_bucket_notification_configuration(Bucket=aws.bucket, NotificationConfiguration=theirs)
    app = as_a_person(wide_desktop, private_home)
    downloads = private_home / "takes"
    try:
        app.start()
        app.wait_window("setup", lambda p: p["accounts"], 20, "the Setup window")
        app.keys("Return")
        app.wait_window("setup", lambda p: p["step"] == "queue", what="the Queue step")
        app.keys("shift+Tab", "space")  # from the URL field back to "Create a queue for this computer", and choose it
        setup = app.wait_window("setup", lambda p: p["queue_way"] == "create" and p["next"] == "Show the plan", what="the create path")
        app.type_text(aws.bucket)
        app.keys("Tab", "Tab", "Tab")  # past the two kinds of copy (a copy of every file is chosen), to the prefix
        app.type_text("takes/")
        app.keys("Tab")
        app.type_text(".wav")
        app.keys("Tab", "Tab")  # past "Through EventBridge", to the endpoint
        app.type_text(moto_endpoint)
        app.keys("Return")
        setup = app.wait_window("setup", lambda p: p["create"]["ready"] and not p["create"]["busy"], 60, "the plan")
        plan = setup["create"]["plan"]
        assert "create  queue" in plan and "create  topic" in plan and "change  bucket notifications" in plan, plan
        assert "1 other configuration kept as it is" in plan and setup["next"] == "Create"
        assert setup["create"]["status"] == "Nothing is changed until you choose Create."
        assert bn.canonical(bn.clean(aws.s3.get_bucket_notification_configuration(Bucket=aws.bucket))) == bn.canonical(theirs)
        app.window_screenshot("setup", "setup-create-plan.png")

        app.keys("Return")
        setup = app.wait_window("setup", lambda p: p["create"]["created"] and not p["create"]["busy"], 60, "the queue to be created")
        created = setup["create"]["created"]
        assert created.endswith("/s3-sqs-agent-" + re.sub(r"[^a-z0-9-]+", "-", os.uname().nodename.split(".")[0].lower()).strip("-"))
        assert setup["next"] == "Next" and "Created." in setup["create"]["status"]
        app.window_screenshot("setup", "setup-create-done.png")
        assert not app.config.exists(), "the config is written at the last step, with the other answers"

        app.keys("Return")
        app.wait_window("setup", lambda p: p["step"] == "folder", what="the Folder step")
        app.type_text(str(downloads))
        app.keys("Return")
        setup = app.wait_window("setup", lambda p: p["step"] == "check" and not p["checking"] and p["checks"], 60, "the checks")
        assert [c["name"] for c in setup["checks"] if c["passed"] is False] == [], setup["checks"]
        app.keys("Return")
        app.wait_window("setup", lambda p: p["step"] == "done" and p["saved"], what="Save")
        saved = config_module.load(app.config)
        assert saved.sqs_queue_url == created and saved.s3_bucket_name == aws.bucket and saved.include == ("takes/*.wav",)
        assert saved.dead_letter_queue_url and saved.dead_letter_queue_url.endswith("-dlq")
        after = bn.clean(aws.s3.get_bucket_notification_configuration(Bucket=aws.bucket))
        assert bn.canonical({"QueueConfigurations": after["QueueConfigurations"]}) == bn.canonical(theirs)

        app.wait_probe(lambda p: p["status"].startswith("Up to date"), 30, "the tray to start downloading")
        aws.put("takes/first take.wav", b"the first take")
        aws.put("mixes/not mine.wav", b"another team's")
        wait_until((downloads / "takes" / "first take.wav").exists, 30, "the first take to download")
        assert not (downloads / "mixes").exists()
    finally:
        if app.alive():
            app.stop()


def test_cancelling_setup_leaves_a_calm_tray_that_offers_setup_again(wide_desktop: Desktop, private_home: Path) -> None:
    app = fresh_app(wide_desktop, private_home)
    try:
        app.start()
        app.wait_window("setup", lambda p: p["accounts"], 20, "the Setup window")
        app.keys("Escape")
        wait_until(lambda: app.window_closed("setup"), 15, "Escape to cancel Setup")
        probe = app.wait_probe(lambda p: p["status"] == "Not set up yet")
        assert probe["state"] == "setup" and app.alive()
        assert not app.config.exists() or not app.config.read_text(encoding="utf-8").strip()
        app.choose("Set up…")
        app.wait_window("setup", lambda p: p["step"] == "account" and not app.window_closed("setup"), 20, "Set up… to open it again")
        assert not [n for n in wide_desktop.notifications.snapshot() if "config" in f"{n.summary} {n.body}".lower()]
    finally:
        if app.alive():
            app.stop()


def test_setup_checks_name_the_failure_and_its_fix(wide_desktop: Desktop, aws: Setup, private_home: Path) -> None:
    from tests.reliability.proxy import FaultProxy

    (private_home / "aws-config").write_text("[profile no-keys]\nregion = us-east-1\n", encoding="utf-8")
    proxy = FaultProxy(aws.endpoint)
    proxy.up()
    app = fresh_app(wide_desktop, private_home)
    try:
        app.start()
        setup = app.wait_window("setup", lambda p: p["accounts"], 20, "the Setup window")
        assert setup["accounts"][0] == "no-keys" and setup["account"] == "no-keys", "a profile on this computer comes first"

        def run_checks(queue_url: str, endpoint: str, missing: bool = False) -> list[dict[str, Any]]:
            app.keys("Return")
            app.wait_window("setup", lambda p: p["step"] == "queue", what="the Queue step")
            app.type_text(queue_url)
            if missing:  # issue 21 item 7: the step says so at once, and offers the nearest queue's name
                setup = app.wait_window("setup", lambda p: p["nearest"], 30, "the offer of the nearest queue")
                assert setup["nearest"] == f"Use {aws.queue_url.rsplit('/', 1)[1]}", setup["nearest"]
                assert "There is no queue" in setup["errors"]["sqs_queue_url"] and "Did you mean" in setup["errors"]["sqs_queue_url"]
                app.window_screenshot("setup", "setup-queue-missing.png")
            app.keys(*["Tab"] * (4 if missing else 3))  # past "Use …" too, when it is there
            app.type_text(endpoint)
            app.keys("Return")
            if missing:
                app.wait_window("setup", lambda p: p["focus"] == p["nearest"], what="Next to stop once, on the offer")
                app.keys("alt+Right")  # Next again: the checks show the queue as it is
            app.wait_window("setup", lambda p: p["step"] == "folder", what="the Folder step")
            app.type_text(str(private_home / "downloads"))
            app.keys("Return")
            return app.wait_window("setup", lambda p: p["step"] == "check" and not p["checking"] and p["checks"], 60,
                                   "the checks")["checks"]

        # 1. A profile without credentials.
        checks = {c["name"]: c for c in run_checks(aws.queue_url, aws.endpoint)}
        assert checks["Credentials"]["passed"] is False and checks["Queue"]["passed"] is None, checks
        assert "credentials" in checks["Credentials"]["detail"].lower() and checks["Credentials"]["fix"], checks["Credentials"]
        app.window_screenshot("setup", "setup-no-credentials.png")
        app.keys("alt+Left", "alt+Left", "alt+Left")
        app.wait_window("setup", lambda p: p["step"] == "account", what="back to the Account step")
        app.keys("Down")  # the environment's credentials
        app.wait_window("setup", lambda p: p["account"] == "<ambient>", what="the environment's credentials")

        # 2. A queue that does not exist.
        checks = {c["name"]: c for c in run_checks(aws.queue_url + "-gone", aws.endpoint, missing=True)}
        assert checks["Credentials"]["passed"] is True and checks["Queue"]["passed"] is False, checks
        assert "There is no queue at" in checks["Queue"]["detail"] and "SQS console" in checks["Queue"]["fix"]
        app.keys("alt+Left", "alt+Left", "alt+Left")
        app.wait_window("setup", lambda p: p["step"] == "account", what="back to the Account step")

        # 3. Receiving is not allowed: the statement to ask for, with a Copy button. (Receiving is tried only while the
        # queue is empty, so S3's test notification goes first.)
        aws.sqs.purge_queue(QueueUrl=aws.queue_url)
        wait_until(lambda: aws.counts() == (0, 0), 30, "an empty queue")
        proxy.faults.deny = {"ReceiveMessage"}
        checks = {c["name"]: c for c in run_checks(aws.queue_url, proxy.url)}
        receive = checks["Receive messages"]
        assert receive["passed"] is False and "sqs:ReceiveMessage" in receive["detail"] + receive["fix"], receive
        assert "sqs:ReceiveMessage" in json.dumps(receive["policy"]), receive
        setup = app.wait_window("setup", lambda p: p["copy_buttons"], what="the Copy policy button")
        x, y = setup["copy_buttons"][0]
        wide_desktop.run("xdotool", "mousemove", str(x), str(y), "click", "1")
        setup = app.wait_window("setup", lambda p: p["copied"], what="the policy to be copied")
        assert json.loads(setup["copied"]) == receive["policy"]
        app.window_screenshot("setup", "setup-access-denied.png")
        assert setup["next"] == "Change the queue" and setup["save_anyway"], "Save anyway is there, and not the default"
        assert not app.config.exists(), "nothing is saved before the last step"
    finally:
        proxy.faults.deny = set()
        if app.alive():
            app.stop()
        proxy.down()


def test_setup_signs_an_sso_profile_in_through_the_browser(wide_desktop: Desktop, aws: Setup, private_home: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.oidc import OidcStandIn

    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(variable)  # only the sign-in can give credentials
    (private_home / "aws-config").write_text(
        "[profile studio]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = AudioReader\nregion = us-east-1\n\n"
        "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n"
        "sso_registration_scopes = sso:account:access\n", encoding="utf-8")
    browser = private_home / "browser.txt"
    stand_in = OidcStandIn().start()
    app = fresh_app(wide_desktop, private_home, HOME=str(private_home), **stand_in.environment(),
                    BROWSER=f"{sys.executable} -c \"import sys; open('{browser}', 'a').write(sys.argv[1])\" %s")
    try:
        app.start()
        setup = app.wait_window("setup", lambda p: p["sign_in_button"], 20, "the sign-in offer for the SSO profile")
        assert setup["account"] == "studio" and setup["sign_in"].startswith("This profile signs in with IAM Identity Center")
        app.keys("Return")
        setup = app.wait_window("setup", lambda p: "Sign in first" in p["account_message"], what="Next to ask for the sign-in")
        x, y = setup["sign_in_button"]
        wide_desktop.run("xdotool", "mousemove", str(x), str(y), "click", "1")
        setup = app.wait_window("setup", lambda p: p["sign_in"].startswith("Signed in"), 30, "the sign-in to finish")
        assert browser.read_text(encoding="utf-8") == f"{stand_in.url}/device?user_code=WXYZ-1234", "the browser opened the code's page"
        app.window_screenshot("setup", "setup-signed-in.png")
        app.keys("Return")
        app.wait_window("setup", lambda p: p["step"] == "queue", what="the Queue step")
        app.type_text(aws.queue_url)
        app.keys("Tab", "Tab", "Tab")
        app.type_text(aws.endpoint)
        app.keys("Return")
        app.wait_window("setup", lambda p: p["step"] == "folder", what="the Folder step")
        app.type_text(str(private_home / "downloads"))
        app.keys("Return")
        checks = {c["name"]: c for c in app.wait_window("setup", lambda p: p["step"] == "check" and not p["checking"] and p["checks"],
                                                           60, "the checks")["checks"]}
        assert checks["Credentials"]["passed"] is True and "studio" in checks["Credentials"]["detail"], checks["Credentials"]
    finally:
        if app.alive():
            app.stop()
        stand_in.stop()


@pytest.fixture
def lone_aws() -> Iterator[Setup]:
    """A bucket and queue on a moto server of their own: "Find my queues" lists only these, however many queues the
    shared server holds by now (the list is walked with the arrow keys, one row per queue)."""
    server, endpoint = start_moto()
    yield make_setup(endpoint)
    server.stop()


def test_setup_adds_an_access_key_and_finds_the_queue(wide_desktop: Desktop, lone_aws: Setup, private_home: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    aws = lone_aws
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(variable)  # a computer with no AWS credentials at all
    app = fresh_app(wide_desktop, private_home)
    try:
        app.start()
        setup = app.wait_window("setup", lambda p: p["accounts"], 20, "the Setup window")
        assert setup["accounts"] == ["Add an access key"] and setup["account"] == "<add-key>"
        app.keys("Tab", "Tab")  # past the choice, to the access key ID (the profile name keeps its default)
        app.type_text("not-a-key")
        app.keys("Tab")
        app.type_text("secret")
        app.keys("Return")
        setup = app.wait_window("setup", lambda p: "access_key_id" in p["errors"], what="the bad key's error on its field")
        assert "20 capital letters and digits" in setup["errors"]["access_key_id"]
        app.type_text("AKIAIOSFODNN7EXAMPLE")  # the field with the error has the focus, its text selected
        app.keys("Return")
        app.wait_window("setup", lambda p: p["step"] == "queue" and p["account"] == "s3-sqs-agent", what="the new profile")
        credentials = (private_home / "aws-credentials").read_text(encoding="utf-8")
        assert "[s3-sqs-agent]" in credentials and "AKIAIOSFODNN7EXAMPLE" in credentials
        app.keys("alt+Left")  # Back: the new profile is listed with its own choice, and chosen
        setup = app.wait_window("setup", lambda p: p["step"] == "account", what="Back to the account step")
        assert setup["account_rows"] == ["s3-sqs-agent", "Add an access key"] and setup["account"] == "s3-sqs-agent", setup
        app.keys("alt+Right")
        app.wait_window("setup", lambda p: p["step"] == "queue", what="the queue step again")
        app.keys("Tab", "Tab", "Tab")  # to the endpoint: a local server
        app.type_text(aws.endpoint)
        app.keys("shift+Tab", "shift+Tab", "Return")  # back to "Find my queues", and press it
        setup = app.wait_window("setup", lambda p: aws.queue_url in p["queues"], 30, "the queues of the account")
        app.keys("Tab", *["Down"] * setup["queues"].index(aws.queue_url))  # into the list (its first row), down to ours
        app.wait_window("setup", lambda p: p["queue"] == aws.queue_url and not p["errors"], what="the chosen queue in the field")
        app.window_screenshot("setup", "setup-queues.png")
        app.keys("alt+Right")
        app.wait_window("setup", lambda p: p["step"] == "folder", what="the Folder step, with the chosen queue")
    finally:
        if app.alive():
            app.stop()
