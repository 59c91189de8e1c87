"""AccessDenied on GetObject and on ReceiveMessage (403 answers injected by the fault proxy), and credentials that
never show up in logs, notifications or error output."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.engine.events import State
from tests.aws import Setup, make_setup
from tests.helpers import ROOT, write_config
from tests.reliability.helpers import assert_final, start_engine, wait_for
from tests.reliability.proxy import FaultProxy


@pytest.mark.parametrize("operation", ["GetObject", "ReceiveMessage"])
def test_access_denied_keeps_messages_reports_and_backs_off(moto_endpoint: str, proxy: FaultProxy, tmp_path: Path, operation: str,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    aws = make_setup(moto_endpoint, notify=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", SECRET_KEY_ID)  # the engine's clients use these; moto accepts any
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    expected = {f"denied/{i}.wav": os.urandom(3000) for i in range(5)}
    for key, data in expected.items():
        aws.put(key, data)
    for key in expected:
        aws.send({"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": aws.bucket}, "object": {"key": key, "size": 3000}}}]})
    proxy.faults.deny = {operation}
    out = tmp_path / "out"
    run = start_engine(aws.config(str(out), endpoint_url=proxy.url, retry_base_seconds=1, retry_max_seconds=4), tmp_path)
    try:
        problem = wait_for(lambda: [n for n in run.needs_user() if n.title == "Access denied"], 60, what="an Access denied notification")
        permission = {"GetObject": "s3:GetObject", "ReceiveMessage": "sqs:ReceiveMessage"}[operation]
        assert f"lack {permission} on the" in problem[0].message and "s3-sqs-agent doctor" in problem[0].message
        wait_for(lambda: run.engine.status().state is State.ATTENTION, 30, what="the attention state")
        first = proxy.count(operation)
        time.sleep(8)
        tries = proxy.count(operation) - first
        assert proxy.count("DeleteMessageBatch") == 0 and proxy.count("DeleteMessage") == 0, "a message was deleted"
        assert sum(aws.counts()) == len(expected)
        assert run.engine.status().given_up == 0
        assert not out.exists() or not any(out.rglob("*.wav"))
        proxy.faults.deny = set()
        wait_for(lambda: run.downloaded() == len(expected), 60, what="every file once access is granted")
    finally:
        run.stop()
    published = repr(run.events) + "\n".join(run.log.records)  # what notifications and the log would show
    assert SECRET_KEY_ID not in published and SECRET_KEY not in published
    # Backing off: holds of up to 4 s make a few tries in 8 s (botocore adds none: 403 is not retried).
    assert 1 <= tries <= 10, f"{tries} {operation} requests in 8 s"
    assert_final(out, expected, aws)


SECRET_KEY_ID = "AKIAQUITEDISTINCTIVE7"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYDISTINCTSECRET"
SESSION_TOKEN = "FQoGZXIvYXdzEDISTINCTSESSIONTOKEN0123456789"


def test_credentials_never_appear_in_logs_or_errors(aws: Setup, proxy: FaultProxy, tmp_path: Path, private_home: Path) -> None:
    """Run the agent at DEBUG level with distinctive credentials through denials, cut bodies and an outage."""
    aws.put("creds/a.wav", os.urandom(5000))
    aws.put("creds/b.wav", os.urandom(5000))
    proxy.faults.deny = {"GetObject"}
    proxy.faults.cut_bodies = 1
    out = tmp_path / "out"
    config = write_config(tmp_path / "c.yaml", aws.config(str(out), endpoint_url=proxy.url))
    env = {**os.environ, "AWS_ACCESS_KEY_ID": SECRET_KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_SESSION_TOKEN": SESSION_TOKEN}
    process = subprocess.Popen([sys.executable, "-m", "agent", "run", "--headless", "--config", str(config), "--log-level", "DEBUG"],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: proxy.count("GetObject") >= 2, 60, what="denied downloads")
        proxy.faults.deny = set()
        wait_for(lambda: out.exists() and len(list(out.rglob("*.wav"))) == 2, 60, what="the downloads")
        proxy.down()
        time.sleep(3)
        proxy.up()
    finally:
        process.terminate()
        stdout, stderr = process.communicate(timeout=30)
    logs = [p.read_text(errors="replace") for p in (private_home / "state").rglob("*.log*")]
    assert logs and "Access denied" in logs[0] and "Downloaded creds/a.wav" in logs[0]
    for text in [stdout, stderr, *logs]:
        for secret in (SECRET_KEY_ID, SECRET_KEY, SESSION_TOKEN, SECRET_KEY[:12]):
            assert secret not in text
