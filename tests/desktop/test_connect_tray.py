"""`s3-sqs-agent connect` while the tray runs: the tray picks the new queue up from the config file and downloads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent import config as config_module
from tests.aws import connect, make_setup
from tests.desktop.harness import Desktop, TrayApp
from tests.helpers import wait_until, write_config


def test_the_running_tray_follows_connect_to_the_new_queue(desktop: Desktop, notifications: Any, moto_endpoint: str,
                                                           private_home: Path) -> None:
    aws = make_setup(moto_endpoint, notify=False)  # a bucket nobody wired yet, and an idle queue the tray starts on
    downloads = private_home / "downloads"
    config = write_config(private_home / "config" / "s3-sqs-agent" / "config.yaml", aws.config(str(downloads)))
    app = TrayApp(desktop, config, private_home)
    try:
        app.start()
        app.wait_probe(lambda p: p["status"].startswith("Up to date"), 30, "the tray on the idle queue")
        applied = app.log().count("Applied the new config")
        result = connect(moto_endpoint, aws.bucket, config, "--queue-name", f"ws-{aws.bucket}", "--yes")
        assert result.returncode == 0, result.stdout + result.stderr
        new_queue = config_module.load(config).sqs_queue_url
        assert new_queue != aws.queue_url and new_queue.endswith(f"/ws-{aws.bucket}")
        wait_until(lambda: app.log().count("Applied the new config") > applied, 30, "the tray to apply the config connect wrote")
        aws.put("after connect.wav", b"through the topic")
        wait_until((downloads / "after connect.wav").exists, 30, "the upload to arrive through the new queue")
        assert (downloads / "after connect.wav").read_bytes() == b"through the topic"
        assert aws.counts() == (0, 0), "nothing reaches the old queue: the bucket was wired to the topic only"
    finally:
        if app.alive():
            app.stop()
