"""A path shown in a narrow place (Settings' sidebar) wraps after its separators, never in the middle of a name."""

from __future__ import annotations

import pytest

from agent.desktop.windows import widgets


@pytest.mark.parametrize("path, width, lines", [
    ("~/.config/s3-sqs-agent/config.yaml", 24, ["~/.config/s3-sqs-agent/", "config.yaml"]),
    ("~/config/s3-sqs-agent/config.yaml", 12, ["~/config/", "s3-sqs-", "agent/", "config.yaml"]),  # a long name: after '-'
    ("C:\\Users\\Ann\\AppData\\Local\\s3-sqs-agent\\config.yaml", 20, ["C:\\Users\\Ann\\", "AppData\\Local\\", "s3-sqs-agent\\",
                                                                      "config.yaml"]),
    ("/srv/averyveryverylongname", 8, ["/srv/", "averyver", "yverylon", "gname"]),  # nothing to break at: between letters
])
def test_a_path_wraps_after_its_separators(path: str, width: int, lines: list[str]) -> None:
    assert widgets.wrap_path(path, width, len).split("\n") == lines
