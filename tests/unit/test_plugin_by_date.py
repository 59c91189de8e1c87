"""Unit tests of the by-date plugin: the default layout, template fields, time zones, metadata and option errors."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any

import pytest

from agent.engine.events import ObjectEvent
from agent.plugins.builtin.by_date import ByDate

MOMENT = datetime(2026, 11, 28, 23, 30, 5, tzinfo=UTC)
EVENT = ObjectEvent("bucket", "sessions/day one/take 01.wav", event_time=MOMENT)
DEFAULT = PurePosixPath("sessions/day one/take 01.wav")


def test_default_files_the_usual_path_under_the_utc_date() -> None:
    assert ByDate(timezone="utc").agent_local_path(EVENT, DEFAULT) == "2026/11/28/sessions/day one/take 01.wav"


def test_default_path_honours_what_the_engine_chose() -> None:
    assert ByDate(timezone="utc").agent_local_path(EVENT, PurePosixPath("take 01.wav")) == "2026/11/28/take 01.wav"


def test_named_time_zone_moves_the_date() -> None:
    assert ByDate(timezone="Asia/Tokyo").agent_local_path(EVENT, DEFAULT).startswith("2026/11/29/")


def test_every_field() -> None:
    template = "{date} {hour}{minute}{second}|{key}|{folder}|{name}|{stem}|{suffix}|{bucket}|{path}"
    rendered = ByDate(template=template, timezone="utc").agent_local_path(EVENT, DEFAULT)
    assert rendered == "2026-11-28 233005|sessions/day one/take 01.wav|sessions/day one|take 01.wav|take 01|.wav|bucket|sessions/day one/take 01.wav"


def test_a_key_without_folder_or_suffix_uses_the_missing_value() -> None:
    plugin = ByDate(template="{folder}/{stem}{suffix}", missing="none")
    assert plugin.agent_local_path(ObjectEvent("b", "README", event_time=MOMENT), PurePosixPath("README")) == "none/README"


def test_an_event_without_a_time_uses_now() -> None:
    before = datetime.now(UTC).year
    year = ByDate(template="{year}/{name}", timezone="utc").agent_local_path(ObjectEvent("b", "x.wav"), PurePosixPath("x.wav")).split("/")[0]
    assert int(year) in (before, before + 1)


class FakeS3:
    def __init__(self, metadata: dict[str, str]) -> None:
        self.metadata = metadata
        self.calls: list[dict[str, Any]] = []

    def head_object(self, **args: Any) -> dict[str, Any]:
        self.calls.append(args)
        return {"Metadata": self.metadata}


def test_metadata_fields_cost_one_head_and_cannot_make_folders() -> None:
    plugin = ByDate(template="{meta[Artist]}/{meta[album]}/{meta[missing-one]}/{name}", missing="unknown")
    assert plugin.uses_metadata
    plugin.s3 = FakeS3({"artist": "A/C DC", "album": "Live"})
    event = ObjectEvent("b", "x.wav", version_id="v1", event_time=MOMENT)
    assert plugin.agent_local_path(event, PurePosixPath("x.wav")) == "A_C DC/Live/unknown/x.wav"
    assert plugin.s3.calls == [{"Bucket": "b", "Key": "x.wav", "VersionId": "v1"}]


def test_no_metadata_in_the_template_means_no_client() -> None:
    plugin = ByDate()
    assert not plugin.uses_metadata and plugin.s3 is None
    plugin.agent_local_path(EVENT, DEFAULT)  # no S3 client needed


@pytest.mark.parametrize("options, message", [
    ({"template": ""}, "non-empty"),
    ({"template": "{year}/{month}"}, "must name the file"),
    ({"template": "{yaer}/{name}"}, r"unknown field \{yaer\}"),
    ({"template": "{name.__class__}"}, "not allowed"),
    ({"template": "{meta}/{name}"}, r"\{meta\[NAME\]\}"),
    ({"template": "{name"}, "not a valid template"),
    ({"template": "{name:d}"}, "cannot be filled in"),
    ({"timezone": "Mars/Olympus"}, "unknown time zone"),
    ({"timezone": 5}, "timezone"),
    ({"missing": "a/b"}, "missing"),
])
def test_option_errors(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ByDate(**options)


def test_path_field_honours_keep_prefixes_off() -> None:
    from agent.config import Config

    plugin = ByDate(timezone="utc")
    plugin.agent_startup(Config(sqs_queue_url="https://sqs.us-east-1.amazonaws.com/1/q", download_folder=PurePosixPath("/tmp/x"),  # type: ignore[arg-type]
                                keep_prefixes=False))
    assert plugin.agent_local_path(EVENT, DEFAULT) == "2026/11/28/take 01.wav"
