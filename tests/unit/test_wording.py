"""A failure is written once and said two ways: config keys in the terminal and the log, the window, section and field
in windows and notices (agent/errors.py); the nearest name for a typo (agent/names.py); a failure said for its config
(agent/engine/explain.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from agent import errors
from agent.config import Config, schema
from agent.engine import explain
from agent.engine.retry import classify
from agent.names import nearest


def test_a_setting_is_its_key_in_the_terminal_and_its_place_in_a_window() -> None:
    error = errors.QueueNotFoundError("The queue does not exist. Check {sqs_queue_url}.")
    assert str(error) == "The queue does not exist. Check sqs_queue_url."
    assert errors.window_text(error) == "The queue does not exist. Check Settings → Account → Queue URL."
    assert errors.for_window("Check {endpoint_url}.", {"endpoint_url": "the Endpoint field"}) == "Check the Endpoint field."
    either = "{Remove|Clear} {aws_region}{ from the config|}."
    assert (errors.for_terminal(either), errors.for_window(either)) == ("Remove aws_region from the config.",
                                                                         "Clear Settings → Account → Region.")
    assert errors.for_window("{template: '{year}/{name}'} and {not_a_key}") == "{template: '{year}/{name}'} and {not_a_key}"


def test_every_place_is_where_the_settings_window_shows_the_key() -> None:
    """Settings is built from the config's table (agent/config/schema.py): each place names its page and label."""
    for name, place in errors.PLACES.items():
        row = schema.BY_NAME[name]
        shown = row.shown or row.lead.shown  # a section (restore_archived): the field that turns it on
        assert shown is not None, name
        assert (place.window, place.section, place.field) == ("Settings", shown.page, shown.label), name
    assert str(errors.PLACES["endpoint_url"]) == "Settings → Account → Endpoint"
    shown = {name for name, row in schema.BY_NAME.items() if (row.shown or row.keys) and name != "plugins"}
    assert set(errors.PLACES) == shown, "every key Settings shows has its place"


def test_the_engine_s_fixes_name_no_yaml_key_in_a_window() -> None:
    keys = [key for key in errors.PLACES if "_" in key]
    for exc in (ClientError({"Error": {"Code": "NoSuchBucket", "Message": "gone"}}, "GetObject"),
                ClientError({"Error": {"Code": "AWS.SimpleQueueService.NonExistentQueue", "Message": "gone"}}, "ReceiveMessage"),
                ClientError({"Error": {"Code": "404", "Message": "404"}}, "ReceiveMessage"),
                ClientError({"Error": {"Code": "InvalidClientTokenId", "Message": "bad"}}, "ReceiveMessage")):
        error = classify(exc).error
        assert error is not None
        said = errors.window_text(error)
        assert not [key for key in keys if key in said], said
        assert "Settings → Account → " in said, said
        assert [key for key in keys if key in str(error)], "the terminal keeps the key"


def test_a_missing_bucket_or_queue_says_which() -> None:
    bucket = classify(ClientError({"Error": {"Code": "NoSuchBucket", "Message": "gone"}}, "GetObject")).error
    queue = classify(ClientError({"Error": {"Code": "QueueDoesNotExist", "Message": "gone"}}, "ReceiveMessage")).error
    assert bucket is not None and bucket.title == "Bucket not found" and isinstance(bucket, errors.NotFoundError)
    assert queue is not None and queue.title == "Queue not found" and isinstance(queue, errors.NotFoundError)


def test_the_nearest_name_prefers_a_case_mistake_then_a_close_spelling() -> None:
    assert nearest("studio", ["default", "Studio", "studios"]) == "Studio"
    assert nearest("uplods", ["audio-uploads", "uploads", "archive"]) == "uploads"
    assert nearest("uploads", ["uploads", "Uploads"]) is None, "it exists"
    assert nearest("zzz", ["uploads", "default"]) is None


def config(**values: object) -> Config:
    base: dict[str, object] = {"sqs_queue_url": "http://127.0.0.1:5055/123456789012/uploads", "download_folder": Path("/tmp/x")}
    return Config(**{**base, **values})  # type: ignore[arg-type]


def test_an_unreachable_endpoint_says_which_where_it_is_set_and_that_the_queue_url_names_another_server() -> None:
    offline = classify(EndpointConnectionError(endpoint_url="http://127.0.0.1:5056/"))
    said = explain.in_context(offline, config(endpoint_url="http://127.0.0.1:5056")).error
    assert isinstance(said, errors.OfflineError)
    assert errors.window_text(said).startswith("Cannot reach the endpoint http://127.0.0.1:5056, set in Settings → Account → "
                                               "Endpoint. The queue URL names another server, 127.0.0.1:5055.")
    assert "set in endpoint_url" in str(said)
    same = explain.unreachable("http://127.0.0.1:5055/", config(endpoint_url="http://127.0.0.1:5055"))
    assert "another server" not in " ".join(same) and "Check the address and port in {endpoint_url}" in same[1]
    aws = explain.unreachable("https://sqs.us-east-1.amazonaws.com/", config(sqs_queue_url="https://sqs.us-east-1.amazonaws.com/1/q"))
    assert "internet connection" in aws[1]
    elsewhere = explain.unreachable("http://10.0.0.9:4566/", config())
    assert "AWS_ENDPOINT_URL" in elsewhere[0], "not in the config: the environment sets it"


def test_a_missing_queue_whose_url_names_another_region_says_so() -> None:
    missing = classify(ClientError({"Error": {"Code": "QueueDoesNotExist", "Message": "gone"}}, "ReceiveMessage"))
    setting = config(sqs_queue_url="https://sqs.us-east-1.amazonaws.com/123456789012/uploads", aws_region="us-west-2")
    said = explain.in_context(missing, setting).error
    assert isinstance(said, errors.QueueNotFoundError)
    assert str(said) == ("The queue does not exist in us-west-2. The queue URL is in us-east-1, but aws_region says us-west-2. "
                         "Remove aws_region from the config (the region comes from the queue URL), or set it to us-east-1.")
    assert "Clear Settings → Account → Region" in errors.window_text(said)
    assert explain.in_context(missing, config()) is missing, "a local queue URL names no region: nothing to add"


def test_a_reason_kept_in_the_ledger_names_the_setting_both_ways() -> None:
    """Activity, the notices and `s3-sqs-agent failed list` show the same stored text: the key and the place."""
    from agent.api import ObjectEvent
    from agent.engine.archive import not_restored_reason

    reason = not_restored_reason(ObjectEvent("b", "take.wav"), "Glacier Flexible Retrieval")
    assert "restore_archived" in reason and "Settings → Failures → Archived files (Glacier)" in reason


def test_a_profile_name_with_a_case_mistake_is_offered_the_real_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from agent.aws import profiles
    from agent.engine.aws import missing_profile

    (tmp_path / "config").write_text("[profile Studio]\nregion = us-east-1\n", encoding="utf-8")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    error = missing_profile("studio")
    assert error.title == "AWS profile not found" and error.nearest == "Studio"
    assert "Did you mean 'Studio'? Profile names are case-sensitive." in str(error)
    assert errors.window_text(error).endswith("Choose another in Settings → Account → AWS profile, or run `s3-sqs-agent setup`.")
    with pytest.raises(ValueError, match="Did you mean 'Studio'"):
        profiles.find_profile("studio")
