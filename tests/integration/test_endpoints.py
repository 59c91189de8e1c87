"""S3 and SQS on two servers (MinIO beside ElasticMQ, say): each service goes where the config says, and when the
config names no endpoint, where botocore's own settings say (AWS_ENDPOINT_URL_S3 / _SQS, a profile's services)."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest

from tests.aws import REGION, client, free_port, s3_event_body, start_moto_process
from tests.helpers import drain, files_under, run_agent, write_config

FILES = {"takes/take 01.wav": b"RIFF one" * 500, "mix+final.wav": b"RIFF two" * 700, "notes/café.wav": b"RIFF three" * 300}


@dataclass
class Servers:
    s3: str
    sqs: str


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    """Two moto servers in two processes: the bucket exists only on one, the queue only on the other."""
    s3_server, s3_url = start_moto_process()
    try:
        sqs_server, sqs_url = start_moto_process()
    except BaseException:
        s3_server.kill()
        raise
    yield Servers(s3_url, sqs_url)
    for server in (s3_server, sqs_server):
        server.terminate()
        server.wait(30)


@dataclass
class Split:
    """A bucket on the S3 server and a queue on the SQS server holding one notification per object."""

    servers: Servers
    bucket: str
    queue_url: str
    sqs: Any

    def config(self, folder: Path, **extra: Any) -> dict[str, Any]:
        data: dict[str, Any] = {"aws_region": REGION, "sqs_queue_url": self.queue_url, "download_folder": str(folder),
                                "s3_bucket_name": self.bucket, "retry_base_seconds": 1, "retry_max_seconds": 2, "max_attempts": 2}
        data.update(extra)
        return {key: value for key, value in data.items() if value is not None}

    def left_in_queue(self) -> tuple[int, int]:
        attrs = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]), int(attrs["ApproximateNumberOfMessagesNotVisible"])


@pytest.fixture
def split(servers: Servers, request: pytest.FixtureRequest) -> Split:
    s3, sqs = client("s3", servers.s3), client("sqs", servers.sqs)
    name = f"t{hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:12]}"
    s3.create_bucket(Bucket=name)
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    for key, data in FILES.items():
        s3.put_object(Bucket=name, Key=key, Body=data)
        body = s3_event_body(name, quote_plus(key), len(data), hashlib.md5(data, usedforsecurity=False).hexdigest())
        sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(body))
    return Split(servers, name, queue_url, sqs)


def _nowhere() -> str:
    return f"http://127.0.0.1:{free_port()}"  # nothing listens there


def _assert_drained(result: Any, split: Split, out: Path, download_client: str | None = None) -> None:
    assert result.returncode == 0, result.stderr
    assert files_under(out) == FILES
    assert split.left_in_queue() == (0, 0)
    if download_client is not None:
        assert f"Downloads go through {'the AWS Common Runtime' if download_client == 'crt' else 'boto3'}" in result.stderr


def test_each_service_goes_to_its_own_endpoint(split: Split, tmp_path: Path, download_client: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """s3_endpoint_url and sqs_endpoint_url; botocore's variables point nowhere, so the config's endpoints must win."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", _nowhere())
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", _nowhere())
    out = tmp_path / "out"
    config = split.config(out, s3_endpoint_url=split.servers.s3, sqs_endpoint_url=split.servers.sqs)
    _assert_drained(drain(write_config(tmp_path / "config.yaml", config), timeout=90), split, out, download_client)


@pytest.mark.parametrize("overridden", ["s3", "sqs"])
def test_a_service_endpoint_overrides_endpoint_url(split: Split, tmp_path: Path, overridden: str) -> None:
    out = tmp_path / "out"
    if overridden == "s3":  # endpoint_url serves SQS; S3 has its own server
        config = split.config(out, endpoint_url=split.servers.sqs, s3_endpoint_url=split.servers.s3)
    else:
        config = split.config(out, endpoint_url=split.servers.s3, sqs_endpoint_url=split.servers.sqs)
    _assert_drained(drain(write_config(tmp_path / "config.yaml", config), timeout=90), split, out)


def test_botocores_endpoint_variables_apply_when_the_config_names_none(split: Split, tmp_path: Path, download_client: str,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """AWS_ENDPOINT_URL_S3 and AWS_ENDPOINT_URL_SQS, as every AWS tool reads them; no region anywhere either (a local
    server accepts any, so the agent signs with one rather than asking for aws_region)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", split.servers.s3)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", split.servers.sqs)
    for variable in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(variable, raising=False)
    out = tmp_path / "out"
    config = split.config(out, aws_region=None)
    _assert_drained(drain(write_config(tmp_path / "config.yaml", config), timeout=90), split, out, download_client)


def test_a_profiles_services_section_applies_when_the_config_names_no_endpoint(split: Split, tmp_path: Path) -> None:
    aws_config = Path(os.environ["AWS_CONFIG_FILE"])
    aws_config.write_text(
        "[profile split]\nregion = us-east-1\naws_access_key_id = testing\naws_secret_access_key = testing\nservices = local\n\n"
        f"[services local]\ns3 =\n  endpoint_url = {split.servers.s3}\nsqs =\n  endpoint_url = {split.servers.sqs}\n")
    out = tmp_path / "out"
    config = split.config(out, aws_region=None, aws_profile="split")
    _assert_drained(drain(write_config(tmp_path / "config.yaml", config), timeout=90), split, out)


def test_catch_up_lists_and_downloads_from_the_s3_endpoint(split: Split, tmp_path: Path) -> None:
    """catch-up needs only S3: the SQS endpoint may point nowhere."""
    out = tmp_path / "out"
    config = split.config(out, s3_endpoint_url=split.servers.s3, sqs_endpoint_url=_nowhere())
    result = run_agent("catch-up", "--config", str(write_config(tmp_path / "config.yaml", config)), timeout=90)
    assert result.returncode == 0, result.stderr
    assert files_under(out) == FILES
    assert "3 listed, 0 already here, 3 downloaded" in result.stderr


def test_without_a_region_aws_itself_still_asks_for_one(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The region is assumed only for a server other than AWS: AWS needs the queue's own region."""
    from agent import config as config_module
    from agent.engine import aws
    from agent.errors import CredentialsError

    for variable in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SQS"):
        monkeypatch.delenv(variable, raising=False)
    config = config_module.parse(f"sqs_queue_url: http://127.0.0.1:9/123456789012/q\ndownload_folder: {tmp_path}\n")
    with pytest.raises(CredentialsError, match="Add aws_region to the config"):
        aws.make_clients(config)
    s3, sqs = aws.make_clients(config.replace(sqs_endpoint_url="http://127.0.0.1:9", s3_endpoint_url="http://127.0.0.1:8"))
    assert (s3.meta.endpoint_url, sqs.meta.endpoint_url) == ("http://127.0.0.1:8", "http://127.0.0.1:9")
