"""The tray's "Create diagnostics bundle…" says where the bundle is, even when nothing here can show it in its folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent import diagnostics
from agent.desktop import controller as controller_module
from agent.desktop import opener
from agent.desktop.notify import Notifier
from agent.engine.ledger import Ledger


def test_the_bundle_is_announced_when_no_file_manager_can_show_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bundle = tmp_path / "s3-sqs-agent-diagnostics.zip"
    monkeypatch.setattr(diagnostics, "create", lambda *args, **kwargs: bundle)
    monkeypatch.setattr(diagnostics, "default_folder", lambda config: tmp_path)

    def no_file_manager(action: opener.Action, path: Path | str) -> None:
        raise opener.CannotOpen(action, Path(path), "no file manager is installed here")

    opener.set_opener(no_file_manager)
    ledger = Ledger(tmp_path / "ledger.db")
    controller = controller_module.Controller(tmp_path / "config.yaml", ledger, Notifier())
    shown: list[tuple[str, str]] = []
    monkeypatch.setattr(controller.notifier, "notify", lambda title, body, *args, **kwargs: shown.append((title, body)))
    try:
        controller.create_diagnostics("test")
    finally:
        opener.set_opener(None)
        controller.stop()
        ledger.close()
    assert [title for title, _ in shown] == ["Diagnostics bundle created"], shown
    assert bundle.name in shown[0][1] and str(tmp_path) in shown[0][1]
