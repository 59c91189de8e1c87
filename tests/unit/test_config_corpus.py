"""The broken and hostile config corpus (tests/corpus/configs): each file gives one clear error naming the file,
the key and the line, and loading never runs code, hangs or raises anything but ConfigError."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent import config as config_module
from agent.errors import ConfigError

CORPUS = Path(__file__).resolve().parent.parent / "corpus" / "configs"
CASES: list[dict[str, Any]] = yaml.safe_load((CORPUS / "manifest.yaml").read_text(encoding="utf-8"))


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 15


@pytest.mark.timeout(20)
@pytest.mark.parametrize("case", CASES, ids=[c.get("file") or c["generate"] for c in CASES])
def test_each_broken_config_names_its_key_and_line(case: dict[str, Any], tmp_path: Path) -> None:
    if "file" in case:
        path = tmp_path / case["file"]
        shutil.copyfile(CORPUS / case["file"], path)
    else:
        path = tmp_path / "huge.yaml"
        path.write_text("sqs_queue_url: https://sqs.us-east-2.amazonaws.com/1/q\n" + "# padding\n" * 220_000)
    with pytest.raises(ConfigError) as caught:
        config_module.load(path)
    matching = [p for p in caught.value.problems if case["says"] in p.message]
    assert matching, f"no problem says {case['says']!r}: {caught.value}"
    problem = matching[0]
    assert problem.file == str(path)
    assert problem.key == case["key"]
    assert problem.line == case["line"]
    where = f"{path}:{case['line']}: " if case["line"] else f"{path}: "
    assert str(problem).startswith(where + (f"{case['key']}: " if case["key"] else ""))


def test_yaml_tags_never_run_code(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "c.yaml"
    path.write_text(f"sqs_queue_url: !!python/object/apply:os.system ['touch {marker}']\ndownload_folder: /tmp/x\n")
    with pytest.raises(ConfigError):
        config_module.load(path)
    assert not marker.exists()


def test_a_relative_folder_is_relative_to_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "c.yaml"
    path.parent.mkdir()
    path.write_text("sqs_queue_url: https://sqs.us-east-2.amazonaws.com/123456789012/q\ndownload_folder: ../downloads\n")
    assert config_module.load(path).download_folder == tmp_path / "downloads"
