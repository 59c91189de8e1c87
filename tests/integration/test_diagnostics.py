"""`s3-sqs-agent diagnostics`: a zip with what a helper needs, and not one secret or account number in it."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.parse
import zipfile
from pathlib import Path

import pytest
import yaml

from tests.aws import Setup
from tests.helpers import ROOT, drain, run_agent, write_config

ACCESS_KEY = "AKIAZQ3DISTINCT7EXAM"
SECRET_KEY = "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"
SESSION_TOKEN = "IQoJb3JpZ2luX2VjEDISTINCT" + "Ab0/+" * 60
FILE_SECRET = "FileProfileSecret/0123456789abcdefGHIJK"
ACCOUNT = "210987654321"
PLUGIN_TOKEN = "hook-token-distinct-42"
URL_PASSWORD = "urlpassword-distinct"
SECRETS = [ACCESS_KEY, ACCESS_KEY[4:], SECRET_KEY, SECRET_KEY[:12], SESSION_TOKEN[:40], FILE_SECRET, ACCOUNT, PLUGIN_TOKEN,
           URL_PASSWORD]


def bundle_texts(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as bundle:
        return {name.split("/", 1)[1]: bundle.read(name).decode("utf-8") for name in bundle.namelist()}


def test_the_bundle_holds_the_facts_and_no_secret(aws: Setup, tmp_path: Path, private_home: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    downloads = private_home / "downloads"
    config_path = private_home / "config" / "s3-sqs-agent" / "config.yaml"
    write_config(config_path, aws.config(str(downloads)))
    aws.put("song.wav", b"la la")
    assert drain(config_path).returncode == 0  # a real ledger and a real log first

    # Then secrets everywhere: the environment, the AWS credentials file, the config (with comments), the log.
    env = {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_SESSION_TOKEN": SESSION_TOKEN}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    (private_home / "aws-credentials").write_text(f"[other]\naws_access_key_id = AKIAOTHERDISTINCT123\naws_secret_access_key = {FILE_SECRET}\n",
                                                  encoding="utf-8")
    data = aws.config(str(downloads), dead_letter_queue_url=f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/dead-letters",
                      endpoint_url=aws.endpoint.replace("http://", f"http://admin:{URL_PASSWORD}@"))
    data["plugins"] = [{"name": "run-command", "options": {"command": ["notify", "{path}"], "env": {"HOOK_TOKEN": PLUGIN_TOKEN}}}]
    config_path.write_text(f"# Rotated {ACCESS_KEY} / {SECRET_KEY} on Monday; account {ACCOUNT}\n"
                           + yaml.safe_dump(data, default_flow_style=None), encoding="utf-8")
    log = private_home / "state" / "s3-sqs-agent" / "log" / "agent.log"
    with open(log, "a", encoding="utf-8") as handle:
        handle.write(f"2026-11-28 14:30:00,000 DEBUG   botocore: credentials {ACCESS_KEY}:{SECRET_KEY} token {SESSION_TOKEN}\n"
                     f"2026-11-28 14:30:01,000 ERROR   agent: denied on arn:aws:sqs:us-east-1:{ACCOUNT}:q with {FILE_SECRET}\n"
                     f"2026-11-28 14:30:02,000 INFO    agent: GET http://x/?X-Amz-Security-Token={urllib.parse.quote(SESSION_TOKEN, safe='')}\n")

    out = tmp_path / "for support"
    out.mkdir()
    result = run_agent("diagnostics", "--output", str(out))
    assert result.returncode == 0, result.stderr
    [path] = out.glob("s3-sqs-agent-diagnostics-*.zip")
    assert result.stdout.strip() == str(path) and "masked" in result.stderr
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    texts = bundle_texts(path)
    assert set(texts) == {"summary.txt", "config.yaml", "ledger.json", "logs/agent.log"}

    everything = "\n".join(texts.values())
    for secret in [*SECRETS, urllib.parse.quote(SESSION_TOKEN, safe="")[:40], urllib.parse.quote(SECRET_KEY, safe="")]:
        assert secret not in everything, f"{secret!r} is in the bundle"

    summary = texts["summary.txt"]
    assert "Version: s3-sqs-agent 0.1.0" in summary and "Platform: Linux" in summary and "Python: 3." in summary
    assert "Tray backend: none (s3-sqs-agent diagnostics was run from a terminal, not from the tray)" in summary
    assert f"Config file: {config_path} (valid)" in summary
    assert "Endpoints: S3 http://****@127.0.0.1:" in summary and "; SQS http://****@127.0.0.1:" in summary  # masked too
    assert "Downloads go through: the AWS Common Runtime" in summary
    assert "Queue: http://127.0.0.1:" in summary and "AWS_ACCESS_KEY_ID=****" in summary and "AWS_SESSION_TOKEN=****" in summary
    assert "files_downloaded: 1" in summary and "Plugins installed: audio-check" in summary and "run-command" in summary
    assert '"files_downloaded": 1' in texts["ledger.json"] and '"failures_kept": 0' in texts["ledger.json"]
    config_text = texts["config.yaml"]
    assert config_text.startswith("# Rotated **** / **** on Monday; account ************\n")
    assert "HOOK_TOKEN: ****" in config_text
    assert "sqs.us-east-1.amazonaws.com/************/dead-letters" in config_text
    assert f"download_folder: {downloads}" in config_text
    assert "Downloaded song.wav" in texts["logs/agent.log"] and "arn:aws:sqs:us-east-1:************:q" in texts["logs/agent.log"]


def test_by_default_the_bundle_goes_beside_the_download_folder(aws: Setup, private_home: Path) -> None:
    downloads = private_home / "work" / "S3 Downloads"
    downloads.mkdir(parents=True)
    write_config(private_home / "config" / "s3-sqs-agent" / "config.yaml", aws.config(str(downloads)))
    result = run_agent("diagnostics")
    assert result.returncode == 0, result.stderr
    path = Path(result.stdout.strip())
    assert path.parent == downloads.parent and path.name.endswith(".zip") and path.exists()
    texts = bundle_texts(path)
    assert "ledger: none yet" in texts["summary.txt"] and texts["logs/agent.log"] == "(no log yet)\n"


def test_a_broken_or_missing_config_still_gives_a_bundle(private_home: Path, tmp_path: Path) -> None:
    config = write_config(tmp_path / "broken.yaml", {"sqs_queue_url": "not a url", "download_folder": "x"})
    result = run_agent("diagnostics", "--config", str(config), "--output", str(tmp_path))
    assert result.returncode == 0, result.stderr
    summary = bundle_texts(Path(result.stdout.strip()))["summary.txt"]
    assert f"Config file: {config} (has errors:" in summary and "sqs_queue_url: expected an SQS queue URL" in summary

    result = run_agent("diagnostics", "--config", str(tmp_path / "nothing.yaml"), "--output", str(tmp_path))
    assert result.returncode == 0 and "(missing)" in bundle_texts(Path(result.stdout.strip()))["summary.txt"]

    result = run_agent("diagnostics", "--output", str(tmp_path / "no such folder"))
    assert result.returncode == 2 and "is not a folder" in result.stderr



def test_a_damaged_ledger_is_reported_and_left_where_it_is(private_home: Path, tmp_path: Path) -> None:
    where = subprocess.run([sys.executable, "-c", "from agent import dirs; print(dirs.ledger_file())"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.strip()
    ledger = Path(where)
    ledger.parent.mkdir(parents=True, exist_ok=True)
    ledger.write_bytes(b"not a database " * 100)
    result = run_agent("diagnostics", "--output", str(tmp_path))
    assert result.returncode == 0, result.stderr
    facts = json.loads(bundle_texts(Path(result.stdout.strip()))["ledger.json"])
    assert facts["path"] == str(ledger) and "cannot be read" in facts["ledger"]
    assert ledger.read_bytes() == b"not a database " * 100  # the agent's to set aside when it starts, not the bundle's
    assert sorted(p.name for p in ledger.parent.iterdir() if "damaged" in p.name) == []
