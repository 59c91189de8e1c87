"""The headless agent against a real moto server over HTTP: real notifications in, files on disk, nothing lost."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from boto3.s3.transfer import TransferConfig

from tests.aws import Setup, make_setup, s3_event_body
from tests.helpers import ROOT, drain, files_under, run_agent, wait_until, write_config

AWKWARD_KEYS = [
    "takes/take 01.wav",
    "takes/take+02 (final).wav",
    "mixes/café & crème/100%.wav",
    "deep/a/b/c/d/e.wav",
    "plain.wav",
]


def test_seed_config_drains_real_notifications(aws: Setup, tmp_path: Path, download_client: str) -> None:
    expected = {key: os.urandom(2000 + i) for i, key in enumerate(AWKWARD_KEYS)}
    for key, data in expected.items():
        aws.put(key, data)
    out = tmp_path / "out"
    result = drain(write_config(tmp_path / "config.yaml", aws.config(str(out))))
    assert result.returncode == 0, result.stderr
    assert files_under(out) == expected
    assert aws.counts() == (0, 0)
    assert "Downloaded takes/take 01.wav" in result.stderr and "Downloaded 5 files" in result.stderr
    assert f"Downloads go through {'the AWS Common Runtime' if download_client == 'crt' else 'boto3'}" in result.stderr


def test_missing_object_that_appears_later(aws: Setup, tmp_path: Path, private_home: Path) -> None:
    data = b"late audio" * 100
    aws.send(s3_event_body(aws.bucket, "late+take.wav", len(data), hashlib.md5(data, usedforsecurity=False).hexdigest()))
    log = private_home / "state" / "s3-sqs-agent" / "log" / "agent.log"

    def upload_once_missed() -> None:  # the object appears once the agent has found it missing, however slow its start
        wait_until(lambda: log.exists() and "Retrying late take.wav" in log.read_text(errors="replace"), 60, "a first attempt")
        aws.put("late take.wav", data)

    threading.Thread(target=upload_once_missed, daemon=True).start()
    out = tmp_path / "out"
    result = drain(write_config(tmp_path / "c.yaml", aws.config(str(out), max_attempts=6)))
    assert result.returncode == 0, result.stderr
    assert files_under(out) == {"late take.wav": data}
    assert "Retrying late take.wav" in result.stderr


def test_never_present_object_goes_to_the_dead_letter_queue(aws: Setup, tmp_path: Path) -> None:
    aws.send(s3_event_body(aws.bucket, "ghost.wav", 10, "0" * 32))
    aws.put("real.wav", b"real")
    out = tmp_path / "out"
    result = drain(write_config(tmp_path / "c.yaml", aws.config(str(out), dead_letter_queue_url=aws.dlq_url)))
    assert result.returncode == 3, result.stderr
    assert files_under(out) == {"real.wav": b"real"}
    [dead] = aws.dlq_messages()
    assert json.loads(dead["Body"])["Records"][0]["s3"]["object"]["key"] == "ghost.wav"
    reason = dead["MessageAttributes"]["s3_sqs_agent.reason"]["StringValue"]
    assert "gave up after 3 attempts" in reason and "not readable yet" in reason
    assert aws.counts() == (0, 0)


def test_never_present_object_left_to_the_queues_redrive_policy(moto_endpoint: str, tmp_path: Path) -> None:
    aws = make_setup(moto_endpoint, redrive=True)
    aws.send(s3_event_body(aws.bucket, "ghost.wav", 10, "0" * 32))
    result = drain(write_config(tmp_path / "c.yaml", aws.config(str(tmp_path / "out"), max_attempts=2)))
    assert result.returncode == 3, result.stderr
    assert "left to the queue's redrive policy" in result.stderr
    [moved] = aws.dlq_messages()
    assert "ghost.wav" in moved["Body"]
    assert aws.counts() == (0, 0)


def test_never_present_object_without_dead_letter_queue_is_kept_in_the_ledger(aws: Setup, tmp_path: Path) -> None:
    data = b"now here"
    aws.send(s3_event_body(aws.bucket, "ghost.wav", len(data), hashlib.md5(data, usedforsecurity=False).hexdigest()))
    out = tmp_path / "out"
    config = write_config(tmp_path / "c.yaml", aws.config(str(out)))
    result = drain(config)
    assert result.returncode == 3, result.stderr
    listed = run_agent("failed", "list")
    assert "ghost.wav" in listed.stdout and "not readable yet" in listed.stdout
    assert aws.counts() == (0, 0)
    # The ledger keeps the body, so the message can be tried again once the object exists.
    aws.put("ghost.wav", data)
    aws.sqs.purge_queue(QueueUrl=aws.queue_url)  # drop the upload's own notification: only the retried one remains
    retried = run_agent("failed", "retry", "--config", str(config))
    assert retried.returncode == 0 and "Sent 1" in retried.stdout
    assert drain(config).returncode == 0
    assert files_under(out) == {"ghost.wav": data}
    assert run_agent("failed", "list").stdout.strip() == ""


def test_malformed_bodies_never_stop_the_agent(aws: Setup, tmp_path: Path) -> None:
    for text in ["not json", "{}", json.dumps({"Records": "x"}), json.dumps({"Type": "Notification", "Message": "{"})]:
        aws.send(text)
    aws.put("good.wav", b"good")
    out = tmp_path / "out"
    result = drain(write_config(tmp_path / "c.yaml", aws.config(str(out), dead_letter_queue_url=aws.dlq_url)))
    assert result.returncode == 3, result.stderr
    assert files_under(out) == {"good.wav": b"good"}
    dead = aws.dlq_messages()
    assert len(dead) == 4
    assert all("s3_sqs_agent.reason" in m["MessageAttributes"] for m in dead)


def test_duplicates_make_one_file(aws: Setup, tmp_path: Path) -> None:
    data = b"once" * 1000
    aws.put("dup.wav", data)
    body = s3_event_body(aws.bucket, "dup.wav", len(data), hashlib.md5(data, usedforsecurity=False).hexdigest())
    aws.send(body)
    aws.send(body)
    out = tmp_path / "out"
    config = write_config(tmp_path / "c.yaml", aws.config(str(out)))
    assert drain(config).returncode == 0
    aws.send(body)  # and once more, in a later run
    assert drain(config).returncode == 0
    assert files_under(out) == {"dup.wav": data}


def test_multipart_object_downloads_in_ranges(aws: Setup, tmp_path: Path, download_client: str) -> None:
    data = os.urandom(40 * 1024 * 1024 + 123)
    source = tmp_path / "big.wav"
    source.write_bytes(data)
    aws.s3.upload_file(str(source), aws.bucket, "big/take.wav", Config=TransferConfig(multipart_threshold=8 * 1024 * 1024))
    out = tmp_path / "out"
    result = drain(write_config(tmp_path / "c.yaml", aws.config(str(out))))
    assert result.returncode == 0, result.stderr
    assert ("AWS Common Runtime" in result.stderr) == (download_client == "crt")
    assert (out / "big/take.wav").read_bytes() == data  # moto sends Put and CompleteMultipartUpload: still one file
    assert files_under(out).keys() == {"big/take.wav"}


def test_updated_object_replaces_the_file_and_keeps_user_edits(aws: Setup, tmp_path: Path) -> None:
    out = tmp_path / "out"
    config = write_config(tmp_path / "c.yaml", aws.config(str(out)))
    aws.put("song.wav", b"version 1")
    assert drain(config).returncode == 0
    aws.put("song.wav", b"version 2")
    assert drain(config).returncode == 0
    assert files_under(out) == {"song.wav": b"version 2"}
    (out / "song.wav").write_bytes(b"my own edit")
    aws.put("song.wav", b"version 3")
    result = drain(config)
    assert result.returncode == 0
    found = files_under(out)
    assert found.pop("song.wav") == b"my own edit"
    [(conflict_name, conflict_data)] = found.items()
    assert conflict_name.startswith("song (conflict ") and conflict_data == b"version 3"
    assert "changed on disk" in result.stderr


def test_hostile_keys_stay_inside_and_collisions_get_distinct_names(aws: Setup, tmp_path: Path) -> None:
    keys = {"../../escape.wav": b"1", "/abs.wav": b"2", "a\\b.wav": b"3", "a/b.wav": b"4", "x/./../y.wav": b"5", "folder/": b""}
    for key, data in keys.items():
        aws.put(key, data)
    out = tmp_path / "box" / "out"
    result = drain(write_config(tmp_path / "c.yaml", aws.config(str(out))))
    assert result.returncode == 0, result.stderr
    found = files_under(out)
    assert sorted(found.values()) == [b"1", b"2", b"3", b"4", b"5"]
    assert "escape.wav" in found and "abs.wav" in found and "x/y.wav" in found
    assert {found["a/b.wav"], *(v for k, v in found.items() if k.startswith("a/b ~"))} == {b"3", b"4"}
    assert list((tmp_path / "box").iterdir()) == [out]
    assert not (tmp_path / "escape.wav").exists()


def test_notifications_for_another_bucket_are_refused(aws: Setup, tmp_path: Path) -> None:
    aws.send(s3_event_body("someone-elses-bucket", "x.wav", 1, "0" * 32))
    out = tmp_path / "out"
    result = drain(write_config(tmp_path / "c.yaml", aws.config(str(out), dead_letter_queue_url=aws.dlq_url)))
    assert result.returncode == 3
    [dead] = aws.dlq_messages()
    assert "someone-elses-bucket" in dead["MessageAttributes"]["s3_sqs_agent.reason"]["StringValue"]
    assert not out.exists() or files_under(out) == {}


def test_filters_and_flat_layout(aws: Setup, tmp_path: Path) -> None:
    for key in ["keep/a.wav", "keep/b.mp3", "tmp/c.wav"]:
        aws.put(key, key.encode())
    out = tmp_path / "out"
    config = aws.config(str(out), include=["*.wav"], exclude=["tmp/*"], keep_prefixes=False)
    assert drain(write_config(tmp_path / "c.yaml", config)).returncode == 0
    assert files_under(out) == {"a.wav": b"keep/a.wav"}
    assert aws.counts() == (0, 0)


def test_sigterm_mid_download_loses_nothing(aws: Setup, tmp_path: Path) -> None:
    expected = {f"slow/{i}.wav": os.urandom(300_000) for i in range(6)}
    for key, data in expected.items():
        aws.put(key, data)
    out = tmp_path / "out"
    slow = write_config(tmp_path / "slow.yaml", aws.config(str(out), max_bandwidth="200KB/s", concurrency=2))
    process = subprocess.Popen([sys.executable, "-m", "agent", "run", "--headless", "--config", str(slow)],
                               cwd=ROOT, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not any(p.name.endswith(".part") for p in out.rglob("*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert "Stopping (signal" in stderr
    done = files_under(out) if out.exists() else {}
    assert all(not name.split("/")[-1].startswith(".s3-sqs-agent-") for name in done), done
    assert all(expected[name] == data for name, data in done.items())  # nothing partial under a final name
    assert len(done) < len(expected)
    # Everything not done was released, visible again at once: a second run gets all of it.
    fast = write_config(tmp_path / "fast.yaml", aws.config(str(out)))
    result = drain(fast)
    assert result.returncode == 0, result.stderr
    assert files_under(out) == expected
    assert aws.counts() == (0, 0)


def test_config_errors_exit_2_with_the_line(aws: Setup, tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(f"sqs_queue_url: {aws.queue_url}\ndownload_folder: {tmp_path}\nconcurency: 3\n")
    result = drain(config)
    assert result.returncode == 2
    assert "c.yaml:3: concurency: unknown key; did you mean 'concurrency'?" in result.stderr


def test_first_run_writes_a_template(tmp_path: Path) -> None:
    result = run_agent("run", "--headless")
    assert result.returncode == 2
    path = Path(run_agent("config", "path").stdout.strip())
    assert path.exists() and oct(path.stat().st_mode & 0o777) == "0o600"
    assert "Created a config file" in result.stderr and str(path) in result.stderr and "s3-sqs-agent setup" in result.stderr
    again = run_agent("run", "--headless")  # the untouched template: not an error to puzzle over, the way to set up
    assert again.returncode == 2 and "s3-sqs-agent setup" in again.stderr


def test_missing_queue_is_reported(aws: Setup, tmp_path: Path) -> None:
    config = aws.config(str(tmp_path / "out"))
    config["sqs_queue_url"] = config["sqs_queue_url"] + "-missing"
    result = drain(write_config(tmp_path / "c.yaml", config))
    assert result.returncode == 1
    assert "queue does not exist" in result.stderr.lower()


@pytest.mark.parametrize("mode", [[], ["--drain"]], ids=["watching", "drain"])
def test_a_missing_aws_profile_is_reported_without_a_traceback(aws: Setup, tmp_path: Path, mode: list[str]) -> None:
    config = write_config(tmp_path / "c.yaml", aws.config(str(tmp_path / "out"), aws_profile="deleted-profile"))
    result = run_agent("run", "--headless", "--config", str(config), *mode)
    assert result.returncode == 1, result.stderr
    assert "There is no AWS profile called 'deleted-profile'" in result.stderr
    assert "s3-sqs-agent setup" in result.stderr
    assert "Traceback" not in result.stderr


def test_visibility_heartbeat_keeps_a_slow_download_from_being_delivered_twice(moto_endpoint: str, tmp_path: Path) -> None:
    aws = make_setup(moto_endpoint, visibility_timeout=2)
    data = os.urandom(600_000)
    aws.put("slow.wav", data)
    out = tmp_path / "out"
    result = drain(write_config(tmp_path / "c.yaml", aws.config(str(out), max_bandwidth="150KB/s")))
    assert result.returncode == 0, result.stderr
    assert files_under(out) == {"slow.wav": data}
    assert result.stderr.count("Downloaded slow.wav") == 1
    assert "duplicate notification" not in result.stderr


def test_a_second_headless_agent_refuses_to_consume_the_same_queue(aws: Setup, tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.yaml", aws.config(str(tmp_path / "out")))
    first = subprocess.Popen([sys.executable, "-m", "agent", "run", "--headless", "--config", str(config)],
                             cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        log_file = Path(os.environ["XDG_STATE_HOME"]) / "s3-sqs-agent" / "log" / "agent.log"
        deadline = time.monotonic() + 30
        while not (log_file.exists() and "Watching" in log_file.read_text()) and time.monotonic() < deadline:
            time.sleep(0.1)
        second = drain(config)
        assert second.returncode == 1
        assert "already running (process" in second.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=30)
    assert first.returncode == 0


def test_a_stop_while_start_waits_for_the_queue_starts_nothing(aws: Setup, tmp_path: Path) -> None:
    """The tray quits (or the config changes) while the queue has not answered yet: start() leaves nothing behind."""
    from agent import config as config_module
    from agent.engine.engine import Engine
    from agent.engine.ledger import Ledger
    from agent.plugins.manager import PluginHost

    silent = socket.socket()  # a server that takes the connection and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    accepted: list[socket.socket] = []
    threading.Thread(target=lambda: accepted.append(silent.accept()[0]), daemon=True).start()
    config = config_module.load(write_config(tmp_path / "c.yaml", aws.config(
        str(tmp_path / "out"), sqs_endpoint_url=f"http://127.0.0.1:{silent.getsockname()[1]}")))
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    engine = Engine(config, ledger, hooks=PluginHost)
    before = set(threading.enumerate())
    starting = threading.Thread(target=engine.start, name="test-start")
    starting.start()
    try:
        wait_until(lambda: accepted, 30, "start() to ask the queue for its settings")
        engine.stop()
    finally:
        silent.close()  # the retries are refused: start() goes on with the queue's defaults, and sees the stop
        for connection in accepted:
            connection.close()
    starting.join(60)
    assert not starting.is_alive()
    assert engine._pipeline is None
    assert not [t.name for t in set(threading.enumerate()) - before if t.name.startswith(("worker-", "receiver", "restores"))]
    ledger.close()


def test_a_poll_that_outlives_stop_reports_nothing(tmp_path: Path) -> None:
    """Regression: the receiver's long poll (20 s) goes on after Engine.stop(), which does not wait for it. When the
    server went away meanwhile (the tray quitting, a reconfigure to another endpoint), the stopped engine logged
    "Cannot reach the endpoint… Retrying by itself" and announced it as a problem to fix, long after it had stopped."""
    from agent.engine.events import NeedsUser, StateChanged
    from tests.aws import start_moto_process
    from tests.reliability.helpers import start_engine

    server, endpoint = start_moto_process()
    try:
        aws = make_setup(endpoint, notify=False)
        run = start_engine(aws.config(str(tmp_path / "out")), tmp_path)
        wait_until(lambda: run.log.count("Watching") == 1, 30, what="the engine to start")
        time.sleep(1)  # the receiver is in its long poll now
        run.stop()
        stopped = len(run.events)
        server.kill()
        server.wait(10)
        time.sleep(3)  # the poll fails at once on the closed connection
    finally:
        server.kill()
    after = run.events[stopped:]
    assert [e for e in after if isinstance(e, (NeedsUser, StateChanged))] == [], after
    assert run.log.count("Cannot reach the endpoint") == 0
