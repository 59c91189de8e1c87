"""`s3-sqs-agent connect` and `disconnect` against moto over HTTP: the bucket's other wiring is never lost, a second
run changes nothing, conflicts and missing permissions are explained, and the agent then downloads through it.

The server is tests/moto_server.py in a child process: moto 5.2 leaves EventBridgeConfiguration out of its
GetBucketNotificationConfiguration answers, which would make every read-modify-write switch EventBridge off there
(AWS keeps it); that server reports it, as AWS does.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent import config as config_module
from agent.aws import bucket_notifications as bn
from agent.aws import connect as connect_module
from agent.aws.connect import render
from tests.aws import REGION, account_state, client, connect, safe_moto
from tests.helpers import drain, files_under, run_agent
from tests.reliability.proxy import FaultProxy

COMMENTED = """\
# Studio workstation settings. Keep this comment.
sqs_queue_url: ''
download_folder: '{folder}'   # where takes land
concurrency: 4                # the studio's network is slow
"""


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with safe_moto() as url:
        yield url


class Bucket:
    """A fresh bucket, optionally with someone else's notifications already on it."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.name = f"studio-{uuid.uuid4().hex[:10]}"
        self.s3, self.sqs = client("s3", endpoint), client("sqs", endpoint)
        self.s3.create_bucket(Bucket=self.name)

    def queue(self, name: str) -> tuple[str, str]:
        url = self.sqs.create_queue(QueueName=f"{name}-{self.name}")["QueueUrl"]
        return url, self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    def wire(self, configuration: dict[str, Any]) -> None:
        self.s3.put_bucket_notification_configuration(Bucket=self.name, NotificationConfiguration=configuration)

    def notifications(self) -> dict[str, Any]:
        return bn.clean(self.s3.get_bucket_notification_configuration(Bucket=self.name))

    def put(self, key: str, data: bytes) -> None:
        self.s3.put_object(Bucket=self.name, Key=key, Body=data)

    def state(self, queue_name: str) -> dict[str, Any]:
        return account_state(self.endpoint, self.name, queue_name)


def unrelated_wiring(bucket: Bucket) -> dict[str, Any]:
    """Another team's consumers: mixes/ straight to their queue, deletions to another, and EventBridge on."""
    _, mixes_arn = bucket.queue("mixes")
    _, deletions_arn = bucket.queue("deletions")
    configuration = {
        "QueueConfigurations": [
            {"Id": "mixes-to-review", "QueueArn": mixes_arn, "Events": ["s3:ObjectCreated:*"],
             "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "mixes/"}]}}},
            {"Id": "audit-deletions", "QueueArn": deletions_arn, "Events": ["s3:ObjectRemoved:*"]},
        ],
        "EventBridgeConfiguration": {},
    }
    bucket.wire(configuration)
    return configuration


def commented_config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(COMMENTED.format(folder=tmp_path / "out"), encoding="utf-8")
    return path


def test_connect_keeps_the_buckets_other_wiring_and_the_agent_downloads(endpoint: str, tmp_path: Path) -> None:
    bucket = Bucket(endpoint)
    theirs = unrelated_wiring(bucket)
    mixes_url = bucket.sqs.get_queue_url(QueueName=f"mixes-{bucket.name}")["QueueUrl"]
    config = commented_config(tmp_path)
    result = connect(endpoint, bucket.name, config, "--prefix", "takes/", "--suffix", ".wav", ".flac",
                     "--queue-name", f"ws-a-{bucket.name}", "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Connected" in result.stdout

    after = bucket.notifications()
    assert bn.canonical({k: v for k, v in after.items() if k != "TopicConfigurations"}) == bn.canonical(theirs)
    added = [e for e in bn.entries(after) if e.by_agent]
    assert sorted(e.keys.suffix for e in added) == [".flac", ".wav"] and {e.keys.prefix for e in added} == {"takes/"}

    text = config.read_text(encoding="utf-8")
    assert "# Studio workstation settings. Keep this comment." in text and "# the studio's network is slow" in text
    written = config_module.load(config)
    assert written.sqs_queue_url.endswith(f"/ws-a-{bucket.name}") and written.s3_bucket_name == bucket.name
    assert written.include == ("takes/*.wav", "takes/*.flac") and written.aws_region == REGION
    assert written.dead_letter_queue_url and written.dead_letter_queue_url.endswith("-dlq") and written.concurrency == 4

    bucket.put("takes/take 01.wav", b"take one")
    bucket.put("takes/notes.txt", b"not audio")
    bucket.put("mixes/mix.wav", b"their mix")
    assert drain(config).returncode == 0
    assert files_under(tmp_path / "out") == {"takes/take 01.wav": b"take one"}
    bodies = [m["Body"] for m in bucket.sqs.receive_message(QueueUrl=mixes_url, MaxNumberOfMessages=10)["Messages"]]
    keys = [record["s3"]["object"]["key"] for body in bodies for record in json.loads(body).get("Records", [])]
    assert "mixes%2Fmix.wav" in keys, "the other team's queue still gets its events"


def test_connect_twice_changes_nothing_and_disconnect_puts_the_bucket_back(endpoint: str, tmp_path: Path) -> None:
    bucket = Bucket(endpoint)
    theirs = unrelated_wiring(bucket)
    config = commented_config(tmp_path)
    name = f"ws-b-{bucket.name}"
    assert connect(endpoint, bucket.name, config, "--queue-name", name, "--prefix", "takes/", "--yes").returncode == 0
    first, first_text = bucket.state(name), config.read_text(encoding="utf-8")
    assert len(first["queues"]) == 2  # the queue and its dead-letter queue

    again = connect(endpoint, bucket.name, config, "--queue-name", name, "--prefix", "takes/", "--yes")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Nothing to change" in again.stdout and "create" not in again.stdout.split("Nothing to change")[0].split()
    assert bucket.state(name) == first and config.read_text(encoding="utf-8") == first_text

    assert drain(config).returncode == 0  # takes S3's test message: disconnect never deletes a queue holding messages
    gone = run_agent("disconnect", "--config", str(config), "--yes")
    assert gone.returncode == 0, gone.stdout + gone.stderr
    state = bucket.state(name)
    assert state["queues"] == {}
    assert not any(bucket.name in arn for arn in state["topics"])
    assert bn.canonical(bucket.notifications()) == bn.canonical(theirs)
    assert "sqs_queue_url: ''" in config.read_text(encoding="utf-8")
    assert "# Studio workstation settings. Keep this comment." in config.read_text(encoding="utf-8")
    assert run_agent("disconnect", "--config", str(config), "--yes").returncode == 2  # nothing named any more


def test_dry_run_and_a_refusal_change_nothing(endpoint: str, tmp_path: Path) -> None:
    bucket = Bucket(endpoint)
    config = commented_config(tmp_path)
    name = f"ws-c-{bucket.name}"
    before, before_text = bucket.state(name), config.read_text(encoding="utf-8")
    dry = connect(endpoint, bucket.name, config, "--queue-name", name, "--dry-run")
    assert dry.returncode == 0 and "Dry run: nothing was changed" in dry.stdout
    assert "create  queue" in dry.stdout and "create  topic" in dry.stdout and "change  bucket notifications" in dry.stdout
    declined = connect(endpoint, bucket.name, config, "--queue-name", name, stdin="n\n")
    assert declined.returncode == 1 and "Apply this plan? [y/N]" in declined.stdout and "Nothing was changed" in declined.stdout
    assert bucket.state(name) == before and config.read_text(encoding="utf-8") == before_text


def test_a_queue_wired_straight_to_the_bucket_is_explained_never_removed(endpoint: str, tmp_path: Path) -> None:
    bucket = Bucket(endpoint)
    _, legacy_arn = bucket.queue("legacy")
    bucket.wire({"QueueConfigurations": [{"Id": "legacy-consumer", "QueueArn": legacy_arn, "Events": ["s3:ObjectCreated:*"]}]})
    before = bucket.notifications()
    config = commented_config(tmp_path)
    name = f"ws-d-{bucket.name}"
    result = connect(endpoint, bucket.name, config, "--queue-name", name, "--prefix", "takes/", "--yes")
    assert result.returncode == 1
    out = result.stdout
    assert "already sends ObjectCreated events for every key to the queue legacy-" in out
    assert "'legacy-consumer'" in out and "move that queue behind a topic" in out and "--via eventbridge" in out
    assert "Nothing was changed" in out
    assert bucket.notifications() == before and bucket.state(name)["queues"] == {}


def test_eventbridge_route_downloads_changes_nothing_twice_and_disconnects(endpoint: str, tmp_path: Path) -> None:
    bucket = Bucket(endpoint)
    _, legacy_arn = bucket.queue("legacy")
    theirs = {"QueueConfigurations": [{"Id": "legacy-consumer", "QueueArn": legacy_arn, "Events": ["s3:ObjectCreated:*"]}]}
    bucket.wire(theirs)  # a direct queue on every key: SNS would conflict, EventBridge does not
    config = commented_config(tmp_path)
    name = f"ws-e-{bucket.name}"
    args = ("--queue-name", name, "--via", "eventbridge", "--prefix", "takes/", "--yes")
    result = connect(endpoint, bucket.name, config, *args)
    assert result.returncode == 0, result.stdout + result.stderr
    assert bn.has_eventbridge(bucket.notifications())
    assert bn.canonical({k: v for k, v in bucket.notifications().items() if k != bn.EVENTBRIDGE}) == bn.canonical(theirs)
    first = bucket.state(name)
    assert connect(endpoint, bucket.name, config, *args).stdout.count("Nothing to change") == 1
    assert bucket.state(name) == first

    bucket.put("takes/eb take.wav", b"through eventbridge")
    bucket.put("other/skip.wav", b"not under the prefix")
    drained = drain(config)
    assert drained.returncode == 0, drained.stderr
    assert files_under(tmp_path / "out") == {"takes/eb take.wav": b"through eventbridge"}

    gone = run_agent("disconnect", "--config", str(config), "--yes")
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert "keeps sending its events to EventBridge" in gone.stdout
    state = bucket.state(name)
    assert state["queues"] == {} and name not in state["rules"]
    assert bn.canonical(bucket.notifications()) == bn.canonical({**theirs, "EventBridgeConfiguration": {}})


def test_share_mode_one_queue_for_every_workstation_removed_by_the_last(endpoint: str, tmp_path: Path) -> None:
    bucket = Bucket(endpoint)
    configs = {}
    for workstation in ("render-1", "render-2"):
        path = tmp_path / workstation / "config.yaml"
        path.parent.mkdir()
        path.write_text(f"download_folder: '{tmp_path / workstation / 'out'}'\n", encoding="utf-8")
        request = connect_module.ConnectRequest(bucket.name, mode="share", endpoint_url=endpoint, config_path=path, workstation=workstation)
        plan = connect_module.plan_connect(request)
        assert plan.ready, plan.text()
        connect_module.apply(plan)
        configs[workstation] = config_module.load(path)
    shared = f"s3-sqs-agent-{bucket.name}-shared"
    assert configs["render-1"].sqs_queue_url == configs["render-2"].sqs_queue_url
    assert configs["render-1"].sqs_queue_url.endswith("/" + shared)
    second = connect_module.plan_connect(connect_module.ConnectRequest(bucket.name, mode="share", endpoint_url=endpoint,
                                                                        config_path=tmp_path / "render-2" / "config.yaml",
                                                                        workstation="render-2"))
    assert not second.changes, second.text()
    assert "also used by render-1" in second.text()

    leave_first = connect_module.plan_disconnect(tmp_path / "render-1" / "config.yaml", workstation="render-1")
    assert "stays for render-2" in leave_first.text() and [s.action for s in leave_first.steps] == ["change", "change"]
    connect_module.apply(leave_first)
    assert shared in "".join(bucket.state(shared)["queues"])
    assert drain(tmp_path / "render-2" / "config.yaml").returncode == 0  # S3's test message
    leave_last = connect_module.plan_disconnect(tmp_path / "render-2" / "config.yaml", workstation="render-2")
    assert ("remove", "queue") in [(s.action, s.what) for s in leave_last.steps]
    connect_module.apply(leave_last)
    assert bucket.state(shared)["queues"] == {}
    assert bn.canonical(bucket.notifications()) == bn.canonical({})


def test_apply_follows_each_steps_kind_not_the_words_shown(endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The plan's words are for people: renamed, connect and disconnect still do the same."""
    monkeypatch.setattr(render, "LABELS", {kind: f"thing {index}" for index, kind in enumerate(render.LABELS)})
    bucket = Bucket(endpoint)
    config = commented_config(tmp_path)
    for via in ("sns", "eventbridge"):
        plan = connect_module.plan_connect(connect_module.ConnectRequest(bucket.name, via=via, endpoint_url=endpoint, config_path=config,
                                                                         workstation=f"ws-{via}"))
        assert plan.ready and {step.what for step in plan.steps} <= set(render.LABELS.values()), plan.text()
        assert "thing 1" in plan.text() and "dead-letter queue" not in plan.text()
        connect_module.apply(plan)
        assert config_module.load(config).sqs_queue_url.endswith(f"s3-sqs-agent-ws-{via}")
        assert drain(config).returncode == 0  # S3's test message: disconnect never removes a queue holding messages
        leave = connect_module.plan_disconnect(config, workstation=f"ws-{via}")
        assert leave.ready, leave.text()
        connect_module.apply(leave)
        assert bucket.state(f"s3-sqs-agent-ws-{via}")["queues"] == {}
    assert bn.canonical(bucket.notifications()) == bn.canonical({"EventBridgeConfiguration": {}})


def test_a_missing_permission_is_named_and_the_bucket_is_untouched(endpoint: str, tmp_path: Path) -> None:
    bucket = Bucket(endpoint)
    unrelated_wiring(bucket)
    before = bucket.notifications()
    proxy = FaultProxy(endpoint)
    proxy.up()
    try:
        proxy.faults.deny = {"CreateQueue"}
        config = commented_config(tmp_path)
        name = f"ws-f-{bucket.name}"
        result = connect(proxy.url, bucket.name, config, "--queue-name", name, "--prefix", "takes/", "--yes")
    finally:
        proxy.down()
    assert result.returncode == 1
    assert f"sqs:CreateQueue on arn:aws:sqs:{REGION}:123456789012:{name}-dlq" in result.stderr
    assert "Ask your AWS administrator" in result.stderr and "docs/aws.md" in result.stderr
    assert bucket.notifications() == before
    assert "sqs_queue_url: ''" in config.read_text(encoding="utf-8")


def test_a_permission_missing_halfway_stops_there_and_a_second_run_carries_on(endpoint: str, tmp_path: Path) -> None:
    bucket = Bucket(endpoint)
    config = commented_config(tmp_path)
    name = f"ws-i-{bucket.name}"
    proxy = FaultProxy(endpoint)
    proxy.up()
    try:
        proxy.faults.deny = {"PutRule"}
        first = connect(proxy.url, bucket.name, config, "--queue-name", name, "--via", "eventbridge", "--yes")
    finally:
        proxy.down()
    assert first.returncode == 1
    assert "done    dead-letter queue" in first.stdout and "done    queue" in first.stdout
    assert f"events:PutRule on arn:aws:events:{REGION}:123456789012:rule/{name}" in first.stderr
    assert "run the same command again and it carries on from here" in first.stderr
    assert not bn.has_eventbridge(bucket.notifications())  # the bucket comes after the rule
    again = connect(endpoint, bucket.name, config, "--queue-name", name, "--via", "eventbridge", "--yes")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "keep    queue" in again.stdout and "create  EventBridge rule" in again.stdout
    assert name in bucket.state(name)["rules"] and config_module.load(config).sqs_queue_url.endswith(name)


def test_a_change_made_meanwhile_is_detected_and_never_overwritten(endpoint: str, tmp_path: Path) -> None:
    bucket = Bucket(endpoint)
    config = commented_config(tmp_path)
    plan = connect_module.plan_connect(connect_module.ConnectRequest(
        bucket.name, queue_name=f"ws-g-{bucket.name}", endpoint_url=endpoint, config_path=config))
    _, arn = bucket.queue("late")
    someone_elses = {"QueueConfigurations": [{"Id": "added-meanwhile", "QueueArn": arn, "Events": ["s3:ObjectRemoved:*"]}]}
    bucket.wire(someone_elses)  # between the plan and its confirmation
    with pytest.raises(connect_module.ChangedMeanwhile, match="changed by someone else after the plan was made"):
        connect_module.apply(plan)
    assert bn.canonical(bucket.notifications()) == bn.canonical(someone_elses)
    retry = connect_module.plan_connect(connect_module.ConnectRequest(
        bucket.name, queue_name=f"ws-g-{bucket.name}", endpoint_url=endpoint, config_path=config))
    assert [s.action for s in retry.steps if s.what in ("queue", "dead-letter queue")] == ["keep", "keep"]
    connect_module.apply(retry)  # picks up where it stopped
    assert {e.id for e in bn.entries(bucket.notifications())} >= {"added-meanwhile"}


def test_disconnect_keeps_a_queue_that_still_holds_messages(endpoint: str, tmp_path: Path) -> None:
    bucket = Bucket(endpoint)
    config = commented_config(tmp_path)
    assert connect(endpoint, bucket.name, config, "--queue-name", f"ws-h-{bucket.name}", "--yes").returncode == 0
    bucket.put("waiting.wav", b"not downloaded yet")
    result = run_agent("disconnect", "--config", str(config), "--yes")
    assert result.returncode == 1
    assert "still holds 2 messages" in result.stdout and "Let the agent take them first" in result.stdout
    assert len(bucket.state(f"ws-h-{bucket.name}")["queues"]) == 2
    assert drain(config).returncode == 0
    assert run_agent("disconnect", "--config", str(config), "--yes").returncode == 0


def test_a_bucket_in_another_region_is_explained(endpoint: str, tmp_path: Path) -> None:
    s3 = client("s3", endpoint)
    name = f"west-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    result = connect(endpoint, name, commented_config(tmp_path), "--region", "us-east-1", "--dry-run")
    assert result.returncode == 1
    assert "is in us-west-2" in result.stdout and "--region us-west-2" in result.stdout


def test_help_explains_both_commands() -> None:
    for command in ("connect", "disconnect"):
        result = run_agent(command, "--help")
        assert result.returncode == 0 and "--dry-run" in result.stdout and "--yes" in result.stdout
    assert "own-copy|share" in run_agent("connect", "--help").stdout
