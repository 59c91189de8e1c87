"""Config validation: a seed file runs as it is, and every error names file, line and key."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from agent import config
from agent.errors import ConfigError

SEED = """\
aws_region: 'us-east-2'
sqs_queue_url: 'https://sqs.us-east-2.amazonaws.com/123456789012/your-queue-name'
download_folder: './downloaded_files'
s3_bucket_name: 'your-bucket-name'
"""


def problems(text: str, tmp_path: Path) -> list[str]:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        config.load(path)
    return [str(p) for p in caught.value.problems]


def test_seed_config_loads_with_defaults(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(SEED)
    loaded = config.load(path)
    assert loaded.aws_region == "us-east-2"
    assert loaded.download_folder == tmp_path / "downloaded_files"
    assert (loaded.concurrency, loaded.max_attempts, loaded.retry_base_seconds, loaded.retry_max_seconds) == (8, 6, 2, 300)
    assert loaded.keep_prefixes is True and loaded.max_bandwidth is None and loaded.s3_bucket_name == "your-bucket-name"


def test_region_comes_from_the_queue_url(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(SEED.replace("aws_region: 'us-east-2'\n", ""))
    assert config.load(path).aws_region == "us-east-2"


def test_folder_expands_home_and_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDIO_ROOT", str(tmp_path / "audio"))
    path = tmp_path / "c.yaml"
    path.write_text(SEED.replace("./downloaded_files", "$AUDIO_ROOT/in"))
    assert config.load(path).download_folder == tmp_path / "audio" / "in"
    path.write_text(SEED.replace("./downloaded_files", "~/x"))
    assert config.load(path).download_folder == Path.home() / "x"


def test_unset_variable_is_reported(tmp_path: Path) -> None:
    [message] = problems(SEED.replace("./downloaded_files", "$NOPE_NOT_SET/x"), tmp_path)
    assert "download_folder" in message and "NOPE_NOT_SET" in message and ":3:" in message


def test_unknown_key_suggests(tmp_path: Path) -> None:
    [message] = problems(SEED + "concurency: 4\n", tmp_path)
    assert "config.yaml:5: concurency: unknown key; did you mean 'concurrency'?" in message


def test_wrong_types_name_key_and_line(tmp_path: Path) -> None:
    found = problems(SEED + "concurrency: lots\nkeep_prefixes: 'yes'\nmax_bandwidth: fast\n", tmp_path)
    assert any(":5: concurrency: expected a whole number" in m for m in found)
    assert any(":6: keep_prefixes: expected true or false" in m for m in found)
    assert any(":7: max_bandwidth: expected a rate" in m for m in found)


def test_missing_required_keys(tmp_path: Path) -> None:
    found = problems("aws_region: us-east-2\n", tmp_path)
    assert any("sqs_queue_url: is required" in m for m in found)
    assert any("download_folder: is required" in m for m in found)


@pytest.mark.parametrize("empty", ["''", "", "'   '"], ids=["empty-string", "no-value", "only-spaces"])
def test_an_empty_required_key_gets_one_message(empty: str, tmp_path: Path) -> None:
    found = problems(f"sqs_queue_url: {empty}\ndownload_folder: {empty}\n", tmp_path)
    assert len(found) == 2, found
    queue_url, folder = found
    assert ":1: sqs_queue_url: is required but empty; fill it in, for example: sqs_queue_url: https://" in queue_url
    assert ":2: download_folder: is required but empty; fill it in, for example: download_folder: ~/S3 Downloads" in folder


def test_each_service_can_have_its_own_endpoint(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(SEED + "endpoint_url: http://127.0.0.1:5000/\ns3_endpoint_url: http://127.0.0.1:9000\n")
    loaded = config.load(path)
    assert (loaded.s3_endpoint, loaded.sqs_endpoint) == ("http://127.0.0.1:9000", "http://127.0.0.1:5000")
    path.write_text(SEED + "sqs_endpoint_url: http://127.0.0.1:9324\n")
    assert (config.load(path).s3_endpoint, config.load(path).sqs_endpoint) == (None, "http://127.0.0.1:9324")
    [message] = problems(SEED + "sqs_endpoint_url: 127.0.0.1:9324\n", tmp_path)
    assert ":5: sqs_endpoint_url: expected an http:// or https:// URL" in message


def test_queue_arn_is_not_a_url(tmp_path: Path) -> None:
    [message] = problems(SEED.replace("'https://sqs.us-east-2.amazonaws.com/123456789012/your-queue-name'", "arn:aws:sqs:us-east-2:1:q"), tmp_path)
    assert "queue ARN" in message and ":2:" in message


def test_credentials_in_the_file_are_refused(tmp_path: Path) -> None:
    [message] = problems(SEED + "aws_secret_access_key: abc\n", tmp_path)
    assert "never read from the config file" in message


def test_object_building_tags_are_refused(tmp_path: Path) -> None:
    [message] = problems(SEED + "x: !!python/object/apply:os.system ['true']\n", tmp_path)
    assert "not allowed" in message


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    [message] = problems(SEED + "include: [unclosed\n", tmp_path)
    assert "not valid YAML" in message


@pytest.mark.parametrize("text, rate", [("20MB/s", 20_000_000), ("512KiB/s", 524_288), ("1.5 MiB", 1_572_864), (4096, 4096)])
def test_bandwidth(text: object, rate: int) -> None:
    assert config.parse_rate(text) == rate


def test_update_file_keeps_comments(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("# mine\n" + SEED)
    config.update_file(path, {"download_folder": "/tmp/new folder"})
    text = path.read_text()
    assert text.startswith("# mine\n") and config.load(path).download_folder == Path("/tmp/new folder")


def test_update_file_fills_the_template_in_place(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    config.write_template(path)
    loaded = config.update_file(path, {"sqs_queue_url": "https://sqs.us-east-2.amazonaws.com/123456789012/takes",
                                       "s3_bucket_name": "takes", "notifications": {"per_file": True}})
    text = path.read_text()
    assert loaded.s3_bucket_name == "takes" and loaded.aws_region == "us-east-2" and loaded.notifications.per_file
    assert text.count("\n# ") >= config.TEMPLATE.count("\n# ") - 2  # the template's comments are kept
    lines = text.splitlines()
    bucket = next(i for i, line in enumerate(lines) if line.startswith("s3_bucket_name:"))
    assert "refuse notifications for any other bucket" in lines[bucket]  # set where the template explains it
    assert lines.index("# Optional.") < bucket


def test_update_file_merges_sections_removes_keys_and_refuses_bad_values(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(SEED + "notifications:\n  retries: false  # too chatty\nconcurrency: 4\n")
    config.update_file(path, {"notifications": {"per_file": True}, "concurrency": config.REMOVE})
    text = path.read_text()
    assert "retries: false  # too chatty" in text and "per_file: true" in text and "concurrency" not in text
    with pytest.raises(config.ConfigError, match="concurrency"):
        config.update_file(path, {"concurrency": 0})
    assert path.read_text() == text


def test_update_file_can_leave_the_config_not_set_up_only_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("# mine\n" + SEED)
    with pytest.raises(config.ConfigError):
        config.update_file(path, {"sqs_queue_url": ""})
    assert config.load(path).sqs_queue_url  # untouched
    assert config.update_file(path, {"sqs_queue_url": "", "s3_bucket_name": "other"}, allow_not_set_up=True) is None
    assert path.read_text().startswith("# mine\n") and "s3_bucket_name: 'other'" in path.read_text()
    with pytest.raises(config.ConfigError) as caught:
        config.load(path)
    assert config.is_not_set_up(caught.value)
    with pytest.raises(config.ConfigError):  # a real error is never written, not even then
        config.update_file(path, {"concurrency": 0}, allow_not_set_up=True)
    assert "concurrency" not in path.read_text()


def test_restore_archived(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    assert config.parse(SEED).restore_archived is None  # off unless asked: restores cost money
    for text, expected in (("restore_archived: {days: 3, tier: bulk}\n", config.RestoreSettings(3, "Bulk")),
                           ("restore_archived:\n  tier: Expedited\n", config.RestoreSettings(7, "Expedited")),
                           ("restore_archived: true\n", config.RestoreSettings()),
                           ("restore_archived: false\n", None)):
        path.write_text(SEED + text)
        assert config.load(path).restore_archived == expected, text
    assert "# restore_archived:" in config.TEMPLATE and "#   tier: Standard" in config.TEMPLATE


@pytest.mark.parametrize("text, message", [
    ("restore_archived: {days: 0}",
     "c.yaml:5: restore_archived.days: expected how many days S3 keeps the restored copy, a whole number from 1 to 365, got the number 0"),
    ("restore_archived: {days: 'a week'}", "restore_archived.days: expected how many days"),
    ("restore_archived: {tier: fast}",
     "c.yaml:5: restore_archived.tier: expected one of S3's retrieval tiers: Expedited (minutes, the dearest), Standard (hours) or Bulk"),
    ("restore_archived:\n  dayz: 3", "c.yaml:6: restore_archived.dayz: unknown key; did you mean 'days'?"),
    ("restore_archived: 7", "restore_archived: expected a mapping such as {days: 7, tier: Standard}, got the number 7"),
])
def test_restore_archived_errors_say_what_is_expected(text: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(SEED + text + "\n")
    with pytest.raises(ConfigError) as caught:
        config.load(path)
    assert any(message in str(p) for p in caught.value.problems), [str(p) for p in caught.value.problems]


def test_a_download_folder_is_made_before_setup_writes_it_and_a_bad_one_says_why(tmp_path: Path) -> None:
    folder, created = config.make_download_folder("takes/new", tmp_path / "config.yaml")
    assert folder == tmp_path / "takes" / "new" and folder.is_dir() and created
    assert config.make_download_folder(str(folder), None) == (folder, False)
    (tmp_path / "a file").write_text("in the way")
    with pytest.raises(OSError):
        config.make_download_folder(str(tmp_path / "a file" / "takes"), None)
    with pytest.raises(ValueError, match="NO_SUCH_VARIABLE is not set"):
        config.make_download_folder("$NO_SUCH_VARIABLE/takes", None)


def test_the_table_builds_the_template_and_every_key_has_its_place() -> None:
    lines = config.TEMPLATE.splitlines()
    for row in config.KEYS:
        written = f"{row.name}:" if row.required else f"# {row.name}:"
        assert any(line.startswith(written) for line in lines), f"{row.name} is not in the template"
        for inner in row.keys:
            assert any(line.startswith(f"#   {inner.name.rsplit('.', 1)[1]}: ") for line in lines), inner.name
    assert config.parse(config.TEMPLATE.replace("sqs_queue_url: ''", "sqs_queue_url: https://sqs.us-east-2.amazonaws.com/1/q"))
    for row in config.BY_NAME.values():
        assert (row.shown is not None and row.shown.page in config.PAGES) or row.keys, f"{row.name} has no place in Settings"
    assert config.REQUIRED_KEYS == ("sqs_queue_url", "download_folder")
    assert [f.name for f in dataclasses.fields(config.Config) if f.name != "source"] == list(config.KNOWN_KEYS)


def test_a_section_key_is_checked_by_its_own_row(tmp_path: Path) -> None:
    [message] = problems(SEED + "notifications: {per_file: 'yes'}\n", tmp_path)
    assert ":5: notifications.per_file: expected true or false, got the text 'yes'" in message
    [message] = problems(SEED + "notifications: {perfile: true}\n", tmp_path)
    assert "notifications.perfile: unknown key; did you mean 'per_file'?" in message
