"""The first receive of a cold start goes out through the CRT before botocore loads, only when the endpoint, the region
and the keys are what botocore would take; its messages are the engine's first batch, or go back at once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from agent import config as config_module
from agent.engine import early
from tests.aws import Setup
from tests.helpers import ROOT, drain, files_under, write_config

pytest.importorskip("awscrt")
KEYS = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_DEFAULT_REGION": "eu-west-1"}


def config_of(tmp_path: Path, **values: object) -> config_module.Config:
    data = {"sqs_queue_url": "https://sqs.eu-west-1.amazonaws.com/123456789012/q", "download_folder": str(tmp_path), **values}
    return config_module.load(write_config(tmp_path / "c.yaml", data))


def test_the_route_is_taken_only_when_botocore_would_take_the_same(tmp_path: Path) -> None:
    no_file = {**KEYS, "AWS_CONFIG_FILE": str(tmp_path / "absent")}
    local = config_of(tmp_path, endpoint_url="http://127.0.0.1:5000")
    assert early.route(local, no_file) == early.Route("http://127.0.0.1:5000", "eu-west-1", "AKIDEXAMPLE", "secret", None)
    assert early.route(local, {**no_file, "AWS_SESSION_TOKEN": "t"}).token == "t"  # type: ignore[union-attr]
    aws = early.route(config_of(tmp_path), no_file)
    assert aws is not None and aws.endpoint_url == "https://sqs.eu-west-1.amazonaws.com"
    (tmp_path / "aws-config").write_text("[default]\nca_bundle = /etc/corp.pem\n")
    with_file = {**KEYS, "AWS_CONFIG_FILE": str(tmp_path / "aws-config")}
    assert early.route(config_of(tmp_path), with_file) is None  # the file may say where SQS is, or which CA to trust
    assert early.route(local, with_file) is not None  # plain HTTP to the endpoint the config names: nothing to trust
    refused = [
        (config_of(tmp_path, aws_profile="studio", endpoint_url="http://127.0.0.1:5000"), no_file),  # a profile decides
        (local, {k: v for k, v in no_file.items() if k != "AWS_SECRET_ACCESS_KEY"}),  # no keys in the environment
        (local, {**no_file, "AWS_ENDPOINT_URL_SQS": "http://elsewhere"}),
        (local, {**no_file, "HTTPS_PROXY": "http://proxy:3128"}),  # the CRT does not read proxies
        (local, {**no_file, "S3_SQS_AGENT_NO_CRT": "1"}),
        (local, {**no_file, "AWS_CREDENTIAL_EXPIRATION": "2030-01-01T00:00:00Z"}),  # botocore refreshes those
        (config_of(tmp_path, sqs_queue_url="https://sqs.cn-north-1.amazonaws.com.cn/1/q"), no_file),  # another partition
    ]
    for config, environ in refused:
        assert early.route(config, environ) is None, environ


def test_the_first_receive_goes_out_before_botocore_loads(aws: Setup, tmp_path: Path) -> None:
    aws.send({"hello": "early"})
    config = write_config(tmp_path / "c.yaml", aws.config(str(tmp_path / "out")))
    code = ("import json, sys; from agent import config; from agent.engine import early; "
            "from pathlib import Path; first = early.first_receive(config.load(Path(sys.argv[1])), drain=True); "
            "messages = first.messages(); "
            "loaded = sorted(m for m in sys.modules if m.startswith(('boto3', 'botocore.session', 'botocore.client', 'botocore.credentials'))); "
            "first.release_untaken(); "
            "print(json.dumps({'bodies': [m.body for m in messages], 'loaded': loaded}))")
    result = subprocess.run([sys.executable, "-c", code, str(config)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert json.dumps({"hello": "early"}) in answer["bodies"] and answer["loaded"] == []


def test_a_drain_takes_the_early_messages_as_its_first_batch(aws: Setup, tmp_path: Path) -> None:
    expected = {f"early/{i}.wav": f"take {i}".encode() for i in range(12)}
    for key, data in expected.items():
        aws.put(key, data)
    out = tmp_path / "out"
    result = drain(write_config(tmp_path / "c.yaml", aws.config(str(out))))
    assert result.returncode == 0, result.stderr
    assert "The first receive went out through the AWS Common Runtime" in result.stderr
    assert files_under(out) == expected and aws.counts() == (0, 0)


def test_early_messages_go_back_at_once_when_the_engine_cannot_start(aws: Setup, tmp_path: Path) -> None:
    aws.put("waits.wav", b"for a plugin")
    result = drain(write_config(tmp_path / "c.yaml", {**aws.config(str(tmp_path / "out")), "plugins": [{"name": "not-installed"}]}))
    assert result.returncode != 0 and "The first receive went out" in result.stderr and "not-installed" in result.stderr
    visible, in_flight = aws.counts()  # S3's test event is on the queue too
    assert visible >= 1 and in_flight == 0, "the messages received early are visible again at once, not after their timeout"


def test_early_messages_go_back_at_once_when_a_watching_start_fails(aws: Setup, tmp_path: Path) -> None:
    """Regression: `run --headless` (not draining) started the engine outside its try/finally, so a start that failed
    left what the early receive took in flight until its visibility timeout, and the ledger open."""
    from tests.helpers import run_agent

    aws.put("waits.wav", b"for a folder")
    not_a_folder = tmp_path / "a file"
    not_a_folder.write_text("in the way")
    result = run_agent("run", "--headless", "--config", str(write_config(tmp_path / "c.yaml", aws.config(str(not_a_folder)))), timeout=60)
    assert result.returncode != 0 and "The first receive went out" in result.stderr, result.stderr
    visible, in_flight = aws.counts()
    assert visible >= 1 and in_flight == 0, "the messages received early are visible again at once, not after their timeout"
