"""The Setup window against what tripped a newcomer up (issue 21), driven by keys and clicks under Xvfb, on moto: what
setup checked with the environment is what it saves; a failed check is never saved by Enter; a local server's queue URL
names the endpoint, and the bucket follows the endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.aws import REGION, Setup, allow_bucket_in_policy
from tests.desktop.harness import Desktop, TrayApp
from tests.helpers import login_environment, run_agent


@pytest.fixture
def app(wide_desktop: Desktop, private_home: Path) -> Iterator[TrayApp]:
    """The tray on a computer where it never ran: no config file at all."""
    wide_desktop.notifications.clear()
    tray = TrayApp(wide_desktop, private_home / "config" / "s3-sqs-agent" / "config.yaml", private_home)
    yield tray
    if tray.alive():
        tray.stop()


def to_the_checks(app: TrayApp, folder: Path) -> dict[str, object]:
    """From the Folder step: type the folder, Enter, and wait for the checks to end."""
    app.wait_window("setup", lambda p: p["step"] == "folder", what="the Folder step")
    app.type_text(str(folder))
    app.keys("Return")
    return app.wait_window("setup", lambda p: p["step"] == "check" and not p["checking"] and p["checks"], 60, "the checks")


def test_what_setup_had_from_the_environment_is_saved_and_works_at_login(app: TrayApp, aws: Setup, private_home: Path) -> None:
    """Item 1: AWS_ENDPOINT_URL and AWS_REGION become settings, said so; the key only this session has becomes a profile."""
    app.extra_env.update(AWS_ENDPOINT_URL=aws.endpoint, AWS_REGION=REGION)
    app.start()
    setup = app.wait_window("setup", lambda p: p["keep_key"], 20, "the offer to keep the environment's access key")
    assert "at login will not have it" in setup["keep_key"] and setup["keep_key_as"] == "s3-sqs-agent", setup
    app.window_screenshot("setup", "setup-environment-key.png")
    app.keys("Return")
    setup = app.wait_window("setup", lambda p: p["step"] == "queue", what="the Queue step")
    assert setup["endpoint"] == aws.endpoint and "From AWS_ENDPOINT_URL" in setup["endpoint_hint"], setup
    assert not (private_home / "aws-credentials").exists(), "nothing is written before the last step"
    app.type_text(aws.queue_url)
    app.keys("Return")
    setup = to_the_checks(app, private_home / "S3 Downloads")
    assert [c["name"] for c in setup["checks"] if c["passed"] is False] == [], setup["checks"]
    assert f"Endpoint {aws.endpoint} (from AWS_ENDPOINT_URL)" in setup["summary"], setup["summary"]
    assert f"Region {REGION} (from AWS_REGION)" in setup["summary"] and "its access key, as profile s3-sqs-agent" in setup["summary"]
    app.window_screenshot("setup", "setup-from-environment.png")
    app.keys("Return")
    setup = app.wait_window("setup", lambda p: p["step"] == "done" and p["saved"], what="Save")
    assert setup["done"][0] == "✓" and "AWS_ENDPOINT_URL" in setup["done"][2], setup["done"]

    saved = yaml.safe_load(app.config.read_text(encoding="utf-8"))
    assert (saved["endpoint_url"], saved["aws_region"], saved["aws_profile"]) == (aws.endpoint, REGION, "s3-sqs-agent"), saved
    assert "[s3-sqs-agent]\naws_access_key_id = testing\n" in (private_home / "aws-credentials").read_text(encoding="utf-8")
    app.stop()

    aws.put("takes/after login.wav", b"RIFF the next morning")
    result = run_agent("run", "--headless", "--config", str(app.config), "--drain", env=login_environment())
    assert result.returncode == 0, result.stderr
    assert (private_home / "S3 Downloads" / "takes" / "after login.wav").read_bytes() == b"RIFF the next morning"


def test_enter_on_a_failed_check_goes_back_to_the_answer_and_only_a_click_saves_it(app: TrayApp, aws: Setup, wide_desktop: Desktop,
                                                                                   private_home: Path) -> None:
    """Item 2: the default after a failure leads to the answer at fault; Save anyway is a deliberate click, and the last
    page then says what failed instead of "You're set up ✓"."""
    app.start()
    app.wait_window("setup", lambda p: p["accounts"], 20, "the Setup window")
    app.keys("Return")
    app.wait_window("setup", lambda p: p["step"] == "queue", what="the Queue step")
    app.type_text(aws.queue_url)
    app.keys("Tab", "Tab")  # past "Find my queues", to the bucket
    app.type_text("no-such-bucket-here")
    app.keys("Tab")
    app.type_text(aws.endpoint)
    app.keys("Return")
    setup = to_the_checks(app, private_home / "takes")
    assert [c["name"] for c in setup["checks"] if c["passed"] is False] == ["Bucket"], setup["checks"]
    fix = next(c["fix"] for c in setup["checks"] if c["name"] == "Bucket")
    assert fix.startswith("Check the Queue step's Bucket field:") and "Settings" not in fix, "nothing is saved yet: " + fix
    setup = app.wait_window("setup", lambda p: p["save_anyway"], what="Save anyway, beside the buttons")
    assert setup["next"] == "Change the bucket", setup
    assert "Enter (Change the bucket) goes back to the answer at fault" in setup["summary"], setup["summary"]
    app.window_screenshot("setup", "setup-check-failed.png")

    app.keys("Return")
    setup = app.wait_window("setup", lambda p: p["step"] == "queue" and p["focus"] == "s3_bucket_name", what="the bucket, to fix")
    assert not app.config.exists(), "Enter on a failed check saves nothing"
    app.keys("alt+Right")
    to_the_checks(app, private_home / "takes")
    setup = app.wait_window("setup", lambda p: p["save_anyway"], what="Save anyway again")
    assert setup["next"] == "Change the bucket"
    x, y = setup["save_anyway"]
    wide_desktop.run("xdotool", "mousemove", str(x), str(y), "click", "1")
    setup = app.wait_window("setup", lambda p: p["step"] == "done" and p["saved"], what="Save anyway")
    assert setup["done"][:2] == ["!", "Saved, but 1 check failed"] and "Until Bucket is fixed" in setup["done"][2], setup["done"]
    assert setup["rail"] == ["✓", "✓", "✓", "!"], "no ✓ for the check that failed"
    app.window_screenshot("setup", "setup-saved-with-a-failure.png")
    assert yaml.safe_load(app.config.read_text(encoding="utf-8"))["s3_bucket_name"] == "no-such-bucket-here"


def test_a_local_servers_queue_url_names_the_endpoint_and_the_bucket_follows_the_endpoint(app: TrayApp, aws: Setup) -> None:
    """Item 4: the queue URL's own server is the endpoint (for S3 too); the bucket is read again when the endpoint changes."""
    allow_bucket_in_policy(aws)
    app.start()
    app.wait_window("setup", lambda p: p["accounts"], 20, "the Setup window")
    app.keys("Return")
    app.wait_window("setup", lambda p: p["step"] == "queue", what="the Queue step")
    app.type_text(aws.queue_url)
    setup = app.wait_window("setup", lambda p: p["endpoint"] == aws.endpoint and p["bucket"] == aws.bucket, 30,
                            "the endpoint from the queue URL, and the bucket from the queue's policy there")
    assert setup["endpoint_hint"].startswith("From the queue URL: SQS is on this server, and S3 is tried there too")
    assert "Filled in from the queue's policy" in setup["bucket_hint"]
    app.window_screenshot("setup", "setup-endpoint-from-queue.png")

    app.keys("Tab", "Tab", "Tab")  # to the endpoint: a server where nothing answers
    app.type_text("http://127.0.0.1:9")
    app.wait_window("setup", lambda p: p["endpoint"] == "http://127.0.0.1:9" and p["bucket"] is None, 30,
                    "the bucket read again there (the policy cannot be read: no bucket)")
    app.keys("shift+Tab", "Tab")  # into the endpoint again: its text is selected, and typing replaces it
    app.type_text(aws.endpoint)
    app.wait_window("setup", lambda p: p["endpoint"] == aws.endpoint and p["bucket"] == aws.bucket, 30,
                    "the bucket read again on the right server")


def test_the_folder_chooser_hides_hidden_folders_makes_a_new_one_and_gives_the_focus_back(app: TrayApp, aws: Setup,
                                                                                          private_home: Path) -> None:
    """Item 10: after Cancel, Enter goes on instead of opening the chooser again; no .hidden folders; New folder… works."""
    (private_home / ".cache-of-something").mkdir()
    (private_home / "Music").mkdir()
    app.start()
    app.wait_window("setup", lambda p: p["accounts"], 20, "the Setup window")
    app.keys("Return")
    app.wait_window("setup", lambda p: p["step"] == "queue", what="the Queue step")
    app.type_text(aws.queue_url)
    app.keys("Return")
    app.wait_window("setup", lambda p: p["step"] == "folder", what="the Folder step")
    app.type_text(str(private_home))
    app.keys("Tab")
    app.wait_window("setup", lambda p: p["focus"] == "Choose…", what="the focus on Choose…")
    app.keys("Return")
    chooser = app.wait_window("folder-chooser", lambda p: p["open"] and p["focus"] == "list", what="the folder chooser")
    assert chooser["folder"] == str(private_home), chooser
    assert "Music" in chooser["rows"] and "config" in chooser["rows"], chooser["rows"]
    assert not [row for row in chooser["rows"] if row.startswith(".")], "hidden folders are not listed"
    assert chooser["selected"] is None and chooser["target"] == f"Choose takes {private_home}", "this folder, until one is picked"
    app.window_screenshot("folder-chooser", "folder-chooser.png")
    app.keys("Escape")
    app.wait_window("folder-chooser", lambda p: not p["open"], what="Escape to close the chooser")
    app.wait_window("setup", lambda p: p["focus"] == "download_folder", what="the focus back on the folder's field")
    app.keys("Return")
    app.wait_window("setup", lambda p: p["step"] == "check" and not p["checking"] and p["checks"], 60,
                    "Enter to go on to the checks, not to open the chooser again")

    app.keys("alt+Left")
    app.wait_window("setup", lambda p: p["step"] == "folder" and p["focus"] == "download_folder", what="back to the Folder step")
    app.keys("Tab")
    app.wait_window("setup", lambda p: p["focus"] == "Choose…", what="the focus on Choose… again")
    app.keys("Return")
    app.wait_window("folder-chooser", lambda p: p["open"] and p["focus"] == "list", what="the chooser again")
    app.keys("Tab")
    app.wait_window("folder-chooser", lambda p: p["focus"] == "New folder…", what="the focus on New folder…")
    app.keys("Return")
    app.wait_window("folder-chooser", lambda p: p["naming"] and p["focus"] == "name", what="a name for the new folder")
    app.type_text("Takes 2026")
    app.window_screenshot("folder-chooser", "folder-chooser-new-folder.png")
    app.keys("Return")
    chooser = app.wait_window("folder-chooser", lambda p: p["selected"] == "Takes 2026" and not p["naming"] and p["focus"] == "list",
                              what="the new folder, selected in the list")
    assert (private_home / "Takes 2026").is_dir() and "Takes 2026" in chooser["rows"]
    app.keys("Tab", "Tab", "Tab")  # past New folder… and Cancel, to Choose
    app.wait_window("folder-chooser", lambda p: p["focus"] == "Choose", what="the focus on Choose")
    app.keys("Return")
    app.wait_window("folder-chooser", lambda p: not p["open"] and p["chosen"] == str(private_home / "Takes 2026"), what="Choose")
    app.wait_window("setup", lambda p: p["folder"] == str(private_home / "Takes 2026") and p["focus"] == "download_folder",
                    what="the chosen folder in the field, which has the focus")
