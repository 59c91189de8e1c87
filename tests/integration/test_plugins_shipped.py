"""The shipped plugins by-date, audio-check and run-command, named in a config and run by the real agent against moto."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any

from agent import config as config_module
from agent.engine.engine import Engine
from agent.engine.events import Downloaded
from agent.engine.ledger import Ledger
from agent.plugins.manager import PluginHost
from tests.aws import Setup, make_setup, s3_event_body
from tests.helpers import drain, files_under, run_agent, write_config
from tests.unit.test_plugin_audio_check import flac_bytes, wav_bytes


def announce(aws: Setup, key: str, data: bytes, metadata: dict[str, str] | None = None) -> None:
    """Upload without a notification, then announce it with a fixed event time (2026-11-28T12:00:00Z)."""
    aws.s3.put_object(Bucket=aws.bucket, Key=key, Body=data, Metadata=metadata or {})
    raw_key = key.replace(" ", "+")
    aws.send(s3_event_body(aws.bucket, raw_key, len(data), hashlib.md5(data, usedforsecurity=False).hexdigest()))


def with_plugins(aws: Setup, out: Path, *plugins: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return aws.config(str(out), plugins=list(plugins), **extra)


# ------------------------------------------------------------------ by-date


def test_by_date_files_under_the_event_date(moto_endpoint: str, tmp_path: Path) -> None:
    aws = make_setup(moto_endpoint, notify=False)
    announce(aws, "takes/take 01.wav", b"one")
    out = tmp_path / "out"
    result = drain(write_config(tmp_path / "c.yaml", with_plugins(aws, out, {"name": "by-date", "options": {"timezone": "utc"}})))
    assert result.returncode == 0, result.stderr
    assert files_under(out) == {"2026/11/28/takes/take 01.wav": b"one"}


def test_by_date_template_with_metadata_and_keep_prefixes_off(moto_endpoint: str, tmp_path: Path) -> None:
    aws = make_setup(moto_endpoint, notify=False)
    announce(aws, "inbox/a.wav", b"a", {"artist": "Miles/Davis"})
    announce(aws, "inbox/b.wav", b"b")
    out = tmp_path / "out"
    plugin = {"name": "by-date", "options": {"template": "{meta[artist]}/{date}/{path}", "timezone": "utc", "missing": "various"}}
    result = drain(write_config(tmp_path / "c.yaml", with_plugins(aws, out, plugin, keep_prefixes=False)))
    assert result.returncode == 0, result.stderr
    assert files_under(out) == {"Miles_Davis/2026-11-28/a.wav": b"a", "various/2026-11-28/b.wav": b"b"}


def test_by_date_on_real_notifications(aws: Setup, tmp_path: Path) -> None:
    aws.put("x.wav", b"x")
    out = tmp_path / "out"
    result = drain(write_config(tmp_path / "c.yaml", with_plugins(aws, out, {"name": "by-date", "options": {"template": "{year}-{month}/{name}"}})))
    assert result.returncode == 0, result.stderr
    [path] = files_under(out)
    assert path.endswith("/x.wav") and len(path.split("/")[0]) == 7  # YYYY-MM


# ------------------------------------------------------------------ audio-check


def test_audio_check_quarantines_and_reports_bad_audio(aws: Setup, tmp_path: Path) -> None:
    good = wav_bytes()
    aws.put("takes/good.wav", good)
    aws.put("takes/text.wav", b"this is text pretending to be a WAV file")
    aws.put("takes/really flac.wav", flac_bytes())
    aws.put("notes.txt", b"not checked")
    out = tmp_path / "out"
    result = drain(write_config(tmp_path / "c.yaml", with_plugins(aws, out, {"name": "audio-check"})))
    assert result.returncode == 0, result.stderr  # handled: the bad files are reported, not retried
    files = files_under(out)
    assert files.pop("quarantine/quarantine-report.tsv").count(b"\n") == 2
    assert files == {"takes/good.wav": good, "notes.txt": b"not checked",
                     "quarantine/takes/text.wav": b"this is text pretending to be a WAV file",
                     "quarantine/takes/really flac.wav": flac_bytes()}
    assert "audio-check: text.wav is not a readable WAV file" in result.stderr
    assert "really flac.wav is not a readable WAV file (it looks like FLAC" in result.stderr
    assert aws.counts() == (0, 0)


def test_after_a_quarantine_the_log_and_recent_files_name_where_the_file_is(aws: Setup, tmp_path: Path) -> None:
    aws.put("takes/not really audio.wav", b"plain text")
    aws.put("takes/good.wav", wav_bytes())
    out = tmp_path / "out"
    result = drain(write_config(tmp_path / "c.yaml", with_plugins(aws, out, {"name": "audio-check"})))
    assert result.returncode == 0, result.stderr
    quarantined = out / "quarantine" / "takes" / "not really audio.wav"
    assert quarantined.is_file() and not (out / "takes" / "not really audio.wav").exists()
    [line] = [line for line in result.stderr.splitlines() if "Downloaded takes/not really audio.wav" in line]
    assert line.endswith(f"-> {quarantined}"), line
    assert f"-> {out / 'takes' / 'good.wav'}" in result.stderr
    recent = run_agent("status").stdout
    assert f"  {quarantined}\n" in recent and f"  {out / 'takes' / 'not really audio.wav'}\n" not in recent, recent


def test_after_a_quarantine_the_downloaded_event_and_the_ledger_name_where_the_file_is(aws: Setup, tmp_path: Path) -> None:
    """What the tray's activity list, recent files and notifications show comes from these two."""
    aws.put("bad.wav", b"junk")
    out = tmp_path / "out"
    config = config_module.load(write_config(tmp_path / "c.yaml", with_plugins(aws, out, {"name": "audio-check"})))
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    engine = Engine(config, ledger, hooks=PluginHost, drain=True)
    events: list[object] = []
    engine.subscribe(events.append)
    engine.start()
    try:
        assert engine.wait(60), "the drain did not finish"
    finally:
        engine.stop()
    quarantined = out / "quarantine" / "bad.wav"
    assert [e.path for e in events if isinstance(e, Downloaded)] == [quarantined]
    record = ledger.file(aws.bucket, "bad.wav")
    assert record is not None and record.path == quarantined and record.complete and record.unchanged_on_disk()
    assert [r.path for r in engine.ledger.recent()] == [quarantined]
    ledger.close()


# ------------------------------------------------------------------ run-command


def test_run_command_runs_on_each_download_and_logs_its_output(aws: Setup, tmp_path: Path) -> None:
    script = "import sys, pathlib; p = pathlib.Path(sys.argv[1]); pathlib.Path(str(p) + '.done').write_text(p.name); print('processed', p.name)"
    aws.put("a b/one; rm -rf ~.wav", b"1")
    aws.put("two.wav", b"2")
    out = tmp_path / "out"
    plugin = {"name": "run-command", "options": {"command": [sys.executable, "-c", script], "timeout": 60}}
    result = drain(write_config(tmp_path / "c.yaml", with_plugins(aws, out, plugin)))
    assert result.returncode == 0, result.stderr
    assert files_under(out) == {"a b/one; rm -rf ~.wav": b"1", "a b/one; rm -rf ~.wav.done": b"one; rm -rf ~.wav",
                                "two.wav": b"2", "two.wav.done": b"two.wav"}
    assert "processed one; rm -rf ~.wav" in result.stderr and "processed two.wav" in result.stderr


def test_run_command_failure_is_retried_then_dead_lettered(moto_endpoint: str, tmp_path: Path) -> None:
    aws = make_setup(moto_endpoint, notify=False)
    announce(aws, "take.wav", b"audio")
    runs = tmp_path / "runs"
    script = f"import sys; open({str(runs)!r}, 'a').write('run\\n'); print('cannot transcode'); sys.exit(4)"
    out = tmp_path / "out"
    plugin = {"name": "run-command", "options": {"command": [sys.executable, "-c", script]}}
    result = drain(write_config(tmp_path / "c.yaml", with_plugins(aws, out, plugin, dead_letter_queue_url=aws.dlq_url, max_attempts=2)))
    assert result.returncode == 3, result.stderr
    assert runs.read_text().count("run") == 2  # once per attempt
    assert files_under(out) == {"take.wav": b"audio"}  # the file stays
    assert "cannot transcode" in result.stderr
    [dead] = aws.dlq_messages()
    assert "exited with code 4" in dead["MessageAttributes"]["s3_sqs_agent.reason"]["StringValue"]
    assert aws.counts() == (0, 0)


def test_a_key_with_a_nul_is_given_up_at_once_by_run_command(moto_endpoint: str, tmp_path: Path) -> None:
    """Regression: a NUL in a key made Popen raise ValueError, which was retried like a failed command until
    max_attempts; no command line can ever carry it."""
    aws = make_setup(moto_endpoint)  # the bucket's own notification, with the key as S3 encodes it (nul%00key.wav)
    aws.put("nul\x00key.wav", b"audio")
    plugin = {"name": "run-command", "options": {"command": [sys.executable, "-c", "pass", "{key}"]}}
    result = drain(write_config(tmp_path / "c.yaml", with_plugins(aws, tmp_path / "out", plugin, dead_letter_queue_url=aws.dlq_url,
                                                                 max_attempts=3)))
    assert result.returncode == 3, result.stderr
    assert files_under(tmp_path / "out") == {"nul_key.wav": b"audio"} and "Retrying" not in result.stderr
    [dead] = aws.dlq_messages()
    attributes = {name: value["StringValue"] for name, value in dead["MessageAttributes"].items()}
    assert "holds a NUL character" in attributes["s3_sqs_agent.reason"] and attributes["s3_sqs_agent.receive_count"] == "1"


def test_run_command_on_failure_log_counts_the_file_as_done(aws: Setup, tmp_path: Path) -> None:
    aws.put("take.wav", b"audio")
    plugin = {"name": "run-command", "options": {"command": [sys.executable, "-c", "raise SystemExit(1)"], "on_failure": "log"}}
    result = drain(write_config(tmp_path / "c.yaml", with_plugins(aws, tmp_path / "out", plugin)))
    assert result.returncode == 0, result.stderr
    assert "carrying on (on_failure: log)" in result.stderr and aws.counts() == (0, 0)


def test_audio_check_before_run_command_keeps_bad_files_from_the_command(aws: Setup, tmp_path: Path) -> None:
    aws.put("good.wav", wav_bytes())
    aws.put("bad.wav", b"junk")
    ran = tmp_path / "ran"
    script = f"import sys; open({str(ran)!r}, 'a').write(sys.argv[1] + '\\n')"
    plugins = [{"name": "audio-check"}, {"name": "run-command", "options": {"command": [sys.executable, "-c", script]}}]
    out = tmp_path / "out"
    result = drain(write_config(tmp_path / "c.yaml", with_plugins(aws, out, *plugins)))
    assert result.returncode == 0, result.stderr
    assert ran.read_text().splitlines() == [str(out / "good.wav")]
    assert (out / "quarantine" / "bad.wav").exists()
