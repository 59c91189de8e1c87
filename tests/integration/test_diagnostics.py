"""`s3-sqs-agent diagnostics`: a zip with what a helper needs, and not one secret or account number in it."""

from __future__ import annotations

import json
import re
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
    assert "HOOK_TOKEN: '****'" in config_text
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


PLUGIN_PASSWORD = "Sup3rS3cretPw"
WEBHOOK = "https://hooks.slack.com/services/T0DISTINCT/B0DISTINCT/x9Xy8DistinctWebhook"
GITHUB_TOKEN = "ghp_" + "Distinct0123456789abcdefGHIJKLMNOPQRST"
GH_VALUE = "gh-env-value-distinct"
HASH_PASSWORD = "hunter#2SecretPass"


def test_every_plugin_option_is_masked_except_the_program_and_the_placeholders(private_home: Path, tmp_path: Path) -> None:
    """Regression: masking by name and shape let `-u admin:PASSWORD`, a Slack webhook URL, a GitHub token and an env
    value named GH through, and `password: hunter#2SecretPass` became `****#2SecretPass`."""
    config = tmp_path / "config.yaml"
    config.write_text(f"""\
sqs_queue_url: https://sqs.us-east-1.amazonaws.com/123456789012/q
download_folder: {tmp_path / 'downloads'}
plugins:
  - name: by-date
    options: {{template: '{{year}}/{{month}}/{{name}}'}}
  - name: run-command
    options:
      command: [curl, -u, 'admin:{PLUGIN_PASSWORD}', --data-binary, '@{{path}}', "{WEBHOOK}"]
      env:
        GH: {GH_VALUE}     # the deploy token
        UPLOAD: {GITHUB_TOKEN}
      password: {HASH_PASSWORD}  # rotated monthly
      timeout: 30
""", encoding="utf-8")
    log = private_home / "state" / "s3-sqs-agent" / "log" / "agent.log"
    log.parent.mkdir(parents=True)
    log.write_text(f"2026-11-28 14:30:00,000 ERROR   agent: run-command (curl): cannot start 'curl -u admin:{PLUGIN_PASSWORD}'\n")
    result = run_agent("diagnostics", "--config", str(config), "--output", str(tmp_path))
    assert result.returncode == 0, result.stderr
    texts = bundle_texts(Path(result.stdout.strip()))
    everything = "\n".join(texts.values())
    for secret in (PLUGIN_PASSWORD, WEBHOOK[30:], GITHUB_TOKEN, GH_VALUE, "2SecretPass", "SecretPass"):
        assert secret not in everything, f"{secret!r} is in the bundle"
    masked = texts["config.yaml"]
    assert "command: [curl, -u, '****', --data-binary, '@{path}', \"****\"]" in masked, masked
    assert re.search(r"GH: '\*\*\*\*' +# the deploy token", masked) and re.search(r"password: '\*\*\*\*' +# rotated monthly", masked), masked
    assert "template: '{year}/{month}/{name}'" in masked and "- name: run-command" in masked
    assert yaml.safe_load(masked)["plugins"][1]["options"]["timeout"] == "****"


def test_a_config_that_does_not_parse_still_has_its_plugin_options_masked(private_home: Path, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"sqs_queue_url: [unclosed\nplugins:\n  - name: run-command\n    options:\n"
                      f"      command: [curl, -u, 'admin:{PLUGIN_PASSWORD}']\n      env:\n        GH: {GH_VALUE}\nmax_attempts: 3\n",
                      encoding="utf-8")
    result = run_agent("diagnostics", "--config", str(config), "--output", str(tmp_path))
    assert result.returncode == 0, result.stderr
    masked = bundle_texts(Path(result.stdout.strip()))["config.yaml"]
    assert PLUGIN_PASSWORD not in masked and GH_VALUE not in masked
    assert "  - name: run-command\n    options:\n      command: ****\n      env:\n        GH: ****\nmax_attempts: 3\n" in masked, masked


@pytest.mark.skipif(sys.platform == "win32", reason="symbolic links")
def test_the_bundle_follows_no_link_out_of_the_log_folder_and_writes_through_none(private_home: Path, tmp_path: Path) -> None:
    """Regression: a symlinked agent.log.N was read into the bundle from wherever it led, and the bundle was written
    through a predictable `.NAME.part` with O_TRUNC: a link planted under that name was written through."""
    import datetime as dt
    import os

    outside = tmp_path / "outside.txt"
    outside.write_text("PRIVATE-CONTENT-ELSEWHERE\n")
    log_folder = private_home / "state" / "s3-sqs-agent" / "log"
    log_folder.mkdir(parents=True)
    (log_folder / "agent.log").write_text("2026-11-28 14:30:00,000 INFO    agent: hello\n")
    os.symlink(outside, log_folder / "agent.log.1")
    os.mkfifo(log_folder / "agent.log.2")  # would block a reader that opens anything
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    now = dt.datetime.now()
    for second in range(-2, 30):
        stamp = (now + dt.timedelta(seconds=second)).strftime("%Y%m%d-%H%M%S")
        os.symlink(victim, out / f".s3-sqs-agent-diagnostics-{stamp}.zip.part")
    result = run_agent("diagnostics", "--output", str(out), timeout=60)
    assert result.returncode == 0, result.stderr
    texts = bundle_texts(Path(result.stdout.strip()))
    assert "hello" in texts["logs/agent.log"] and "PRIVATE-CONTENT-ELSEWHERE" not in texts["logs/agent.log"]
    assert victim.read_text() == "keep me"
