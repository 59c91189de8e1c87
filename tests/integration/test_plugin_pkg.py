"""A third-party plugin package, pip-installed into the test environment, driving the real agent against moto."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from agent.plugins.manager import PluginHost, installed_plugins
from tests.aws import Setup, make_setup, s3_event_body
from tests.helpers import drain, files_under, run_agent, write_config
from tests.plugin_pkg import DISTRIBUTION, ENTRY_POINT, install


@pytest.fixture(scope="session", autouse=True)
def test_plugin() -> None:
    install()



def plugin_config(aws: Setup, out: Path, record: Path | None = None, **options: Any) -> dict[str, Any]:
    if record is not None:
        options["record"] = str(record)
    return aws.config(str(out), plugins=[{"name": ENTRY_POINT, "options": options}])


def calls(record: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in record.read_text(encoding="utf-8").splitlines()] if record.exists() else []


def test_discovered_through_its_entry_point(tmp_path: Path) -> None:
    entry = installed_plugins()[ENTRY_POINT]
    assert entry.value == "s3_sqs_agent_testplugin:TestPlugin" and entry.dist is not None and entry.dist.name == DISTRIBUTION
    config = write_config(tmp_path / "c.yaml", {"sqs_queue_url": "https://sqs.us-east-1.amazonaws.com/1/q",
                                                "download_folder": str(tmp_path / "dl"), "plugins": [{"name": ENTRY_POINT}]})
    result = run_agent("config", "validate", str(config))
    assert result.returncode == 0, result.stderr
    from agent.config import load

    [info] = [i for i in PluginHost(load(config)).describe() if not i.builtin]
    assert (info.name, info.distribution, info.version) == (ENTRY_POINT, DISTRIBUTION, "1.0.0")


def test_parses_a_custom_message_format_end_to_end(moto_endpoint: str, tmp_path: Path) -> None:
    aws = make_setup(moto_endpoint, notify=False)  # only the custom messages announce these objects
    files = {"takes/one.wav": b"one" * 100, "takes/two words.wav": b"two" * 200}
    for key, data in files.items():
        aws.put(key, data)
    aws.send("\n".join(f"FETCH {aws.bucket} {key}" for key in files))
    out, record = tmp_path / "out", tmp_path / "calls.jsonl"
    result = drain(write_config(tmp_path / "c.yaml", plugin_config(aws, out, record)))
    assert result.returncode == 0, result.stderr
    assert files_under(out) == files
    assert aws.counts() == (0, 0)
    downloaded = [c for c in calls(record) if c["hook"] == "agent_object_downloaded"]
    assert sorted(c["key"] for c in downloaded) == sorted(files)
    assert {c["source"] for c in downloaded} == {ENTRY_POINT}  # events carry the parser's name


def test_a_malformed_custom_message_is_given_up_at_once(moto_endpoint: str, tmp_path: Path) -> None:
    aws = make_setup(moto_endpoint, notify=False)
    aws.send("FETCH only-a-bucket")
    result = drain(write_config(tmp_path / "c.yaml", {**plugin_config(aws, tmp_path / "out"), "dead_letter_queue_url": aws.dlq_url}))
    assert result.returncode == 3, result.stderr
    [dead] = aws.dlq_messages()
    assert dead["Body"] == "FETCH only-a-bucket"
    assert "expected 'FETCH bucket key'" in dead["MessageAttributes"]["s3_sqs_agent.reason"]["StringValue"]
    assert "Retrying" not in result.stderr


def test_skips_and_renames_objects(aws: Setup, tmp_path: Path) -> None:
    aws.put("keep/take.wav", b"keep")
    aws.put("scratch/take.tmp", b"skip")
    out = tmp_path / "out"
    result = drain(write_config(tmp_path / "c.yaml", plugin_config(aws, out, skip=["*.tmp"], path="renamed/{stem}-final.wav")))
    assert result.returncode == 0, result.stderr
    assert files_under(out) == {"renamed/take-final.wav": b"keep"}
    assert aws.counts() == (0, 0)  # the skipped object's message was deleted too
    assert "Skipping scratch/take.tmp: filtered out" in result.stderr


@pytest.mark.parametrize("escape", ["../../etc/{name}", "/etc/{name}", "..\\..\\etc\\{name}"])
def test_cannot_escape_the_download_folder(aws: Setup, tmp_path: Path, escape: str) -> None:
    aws.put("take.wav", b"contained")
    root = tmp_path / "a"
    out = root / "b" / "out"
    result = drain(write_config(tmp_path / "c.yaml", plugin_config(aws, out, path=escape)))
    assert result.returncode == 0, result.stderr
    assert files_under(root) == {"b/out/etc/take.wav": b"contained"}
    assert not (tmp_path / "etc").exists() and not (root / "etc").exists()


@pytest.mark.parametrize("hook", ["agent_parse_message", "agent_filter", "agent_local_path", "agent_object_downloaded"])
def test_a_raising_hook_fails_the_attempt_then_dead_letters_and_the_agent_runs_on(moto_endpoint: str, tmp_path: Path, hook: str) -> None:
    aws = make_setup(moto_endpoint, notify=False)  # exactly one message: no S3 test event
    data = b"audio"
    aws.put("take.wav", data)
    aws.send(s3_event_body(aws.bucket, "take.wav", len(data), hashlib.md5(data, usedforsecurity=False).hexdigest()))
    out, record = tmp_path / "out", tmp_path / "calls.jsonl"
    config = {**plugin_config(aws, out, record, fail_in=hook), "dead_letter_queue_url": aws.dlq_url, "max_attempts": 2}
    result = drain(write_config(tmp_path / "c.yaml", config))
    assert result.returncode == 3, result.stderr  # the drain ran to its end: given up, not crashed
    assert f"plugin 'test-plugin' failed in {hook}: RuntimeError: test plugin failing in {hook} on purpose" in result.stderr
    assert "Retrying" in result.stderr and "Gave up" in result.stderr
    [dead] = aws.dlq_messages()
    reason = dead["MessageAttributes"]["s3_sqs_agent.reason"]["StringValue"]
    assert reason.startswith("gave up after 2 attempts") and f"plugin 'test-plugin' failed in {hook}" in reason
    assert aws.counts() == (0, 0)
    seen = calls(record)
    assert [c["hook"] for c in seen].count(hook) == 2  # once per attempt
    assert any(c["hook"] == "agent_object_failed" and "test-plugin" in c["reason"] for c in seen)
    if hook == "agent_object_downloaded":  # downloaded once, kept; only the hook ran again
        assert files_under(out) == {"take.wav": data}
        first, second = [c["file"] for c in seen if c["hook"] == hook]
        assert first == second  # the same file (inode and mtime): not downloaded again
    else:
        assert not out.exists() or files_under(out) == {}


@pytest.mark.parametrize("hook", ["agent_startup", "agent_object_failed", "agent_shutdown"])
def test_a_raising_lifecycle_hook_is_logged_and_downloads_go_on(aws: Setup, tmp_path: Path, hook: str) -> None:
    aws.put("take.wav", b"audio")
    out = tmp_path / "out"
    result = drain(write_config(tmp_path / "c.yaml", plugin_config(aws, out, fail_in=hook)))
    assert result.returncode == 0, result.stderr
    assert files_under(out) == {"take.wav": b"audio"}
    if hook == "agent_startup":
        assert "Plugin 'test-plugin' failed to start and was disabled: RuntimeError" in result.stderr
    elif hook == "agent_shutdown":
        assert "plugin 'test-plugin' failed in agent_shutdown: RuntimeError" in result.stderr


def test_object_failed_errors_do_not_stop_the_give_up(aws: Setup, tmp_path: Path) -> None:
    aws.send({"not": "a notification"})
    result = drain(write_config(tmp_path / "c.yaml", {**plugin_config(aws, tmp_path / "out", fail_in="agent_object_failed"),
                                                     "dead_letter_queue_url": aws.dlq_url}))
    assert result.returncode == 3, result.stderr
    assert "plugin 'test-plugin' failed in agent_object_failed: RuntimeError" in result.stderr
    assert len(aws.dlq_messages()) == 1 and aws.counts() == (0, 0)


def test_etag_is_checked_for_custom_messages_too(moto_endpoint: str, tmp_path: Path) -> None:
    """A custom format without size or ETag still gets a complete, verified file (the engine HEADs it)."""
    aws = make_setup(moto_endpoint, notify=False)
    data = bytes(range(256)) * 64
    aws.put("blob.bin", data)
    aws.send(f"FETCH {aws.bucket} blob.bin")
    out = tmp_path / "out"
    result = drain(write_config(tmp_path / "c.yaml", plugin_config(aws, out)))
    assert result.returncode == 0, result.stderr
    assert hashlib.sha256((out / "blob.bin").read_bytes()).digest() == hashlib.sha256(data).digest()
