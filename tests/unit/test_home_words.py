"""A path under the home folder is shown as ~/…, and only where a path really starts with the home folder."""

from __future__ import annotations

import pytest

from agent.desktop.windows import widgets


@pytest.mark.parametrize("text, shown", [
    ("/home/ann/.config/s3-sqs-agent/config.yaml", "~/.config/s3-sqs-agent/config.yaml"),
    ("New files go to /home/ann/S3 Downloads and '/home/ann/b'.", "New files go to ~/S3 Downloads and '~/b'."),
    ("/home/anna/config.yaml", "/home/anna/config.yaml"),  # another user's home, whose name starts with this one's
    ("/srv/home/ann/config.yaml", "/srv/home/ann/config.yaml"),  # the home's path inside another path
    ("/home/ann", "/home/ann"),  # the home itself
])
def test_the_home_folder_is_written_as_a_tilde(text: str, shown: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/home/ann")
    assert widgets.in_home_words(text) == shown
