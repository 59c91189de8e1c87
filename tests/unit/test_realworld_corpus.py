"""The real-world corpus (tests/corpus/realworld): every body, as S3, SNS, EventBridge and MinIO send them, yields
exactly the objects its manifest lists, through the plugin host's built-in parser as the engine calls it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.api import MalformedMessage, ObjectEvent, RejectedRecord
from agent.engine.hooks import PluginError
from agent.plugins.manager import PluginHost

CORPUS = Path(__file__).resolve().parent.parent / "corpus" / "realworld"
CASES: list[dict[str, Any]] = yaml.safe_load((CORPUS / "manifest.yaml").read_text(encoding="utf-8"))
FIELDS = ("bucket", "key", "size", "etag", "version_id", "sequencer", "operation", "event_name", "source")


def test_the_manifest_covers_every_body_and_every_route() -> None:
    assert sorted(c["file"] for c in CASES) == sorted(p.name for p in CORPUS.glob("*.json"))
    assert all(c.get("provenance") for c in CASES)
    assert {c["route"] for c in CASES} >= {"direct", "sns", "sns-fifo", "eventbridge", "eventbridge-sns", "minio"}
    operations = {y["operation"] for c in CASES for y in c.get("yields", [])}
    assert operations >= {"put", "post", "copy", "multipart", "restore"}


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_each_body_yields_exactly_its_objects(case: dict[str, Any]) -> None:
    body = (CORPUS / case["file"]).read_text(encoding="utf-8")
    host = PluginHost()
    if "error" in case:
        with pytest.raises(PluginError) as caught:
            host.parse_message(body, {"MessageId": "m-1"})
        assert isinstance(caught.value.error, MalformedMessage) and case["error"] in str(caught.value.error)
        return
    items = host.parse_message(body, {"MessageId": "m-1"})
    assert items is not None, "the built-in parser did not recognise the body"
    events = [item for item in items if isinstance(item, ObjectEvent)]
    rejected = [item for item in items if isinstance(item, RejectedRecord)]
    assert [{f: getattr(e, f) for f in FIELDS if getattr(e, f) is not None} for e in events] == case["yields"]
    assert all(e.message_id == "m-1" for e in events)
    assert len(rejected) == len(case.get("rejects", []))
    for record, reason in zip(rejected, case.get("rejects", []), strict=True):
        assert record.reason.startswith(reason)
        again = host.parse_message(record.body, {"MessageId": "m-2"})  # the record alone, as it would be sent again
        assert again is not None and [type(item) for item in again] == [RejectedRecord]
