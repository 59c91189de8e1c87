"""The tray's model on a first run: nothing set up yet, and still the sign-in expiry is watched once Setup is done."""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any

import pytest

from agent.desktop import controller as controller_module
from agent.desktop.notify import Notifier
from agent.engine.ledger import Ledger
from tests.helpers import wait_until


class Silent:
    async def send(self, title: str, message: str, **kwargs: Any) -> str:
        return "1"

    async def clear(self, identifier: str) -> None:
        return None


def test_a_first_run_watches_the_sign_in_of_the_engine_setup_starts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(controller_module, "CHECK_SECONDS", 0.05)
    controller = controller_module.Controller(tmp_path / "config.yaml", Ledger(tmp_path / "ledger.db"), Notifier(backend_factory=Silent))
    checked: list[Any] = []
    monkeypatch.setattr(controller.sign_in, "check", checked.append)
    try:
        controller.start()
        assert controller.needs_setup, "no config file: a first run"
        configured = object()
        controller.engine = types.SimpleNamespace(config=configured)  # type: ignore[assignment]  # what Setup's save starts
        wait_until(lambda: configured in checked, 10, "the sign-in watch to look at the new engine's credentials")
    finally:
        controller.engine = None
        controller.stop()
