"""A running agent offered a broken config keeps its last good one and goes on downloading."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent import config as config_module
from agent.errors import ConfigError
from tests.aws import Setup
from tests.helpers import write_config
from tests.reliability.helpers import start_engine, wait_for

CORPUS = Path(__file__).resolve().parent.parent / "corpus" / "configs"


def test_broken_configs_leave_the_running_agent_on_its_last_good_one(aws: Setup, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run = start_engine(aws.config(str(out)), tmp_path)
    try:
        good = run.engine.config
        rejected = 0
        for path in sorted(CORPUS.glob("*.yaml")):
            if path.name == "manifest.yaml":
                continue
            with pytest.raises(ConfigError):
                run.engine.reconfigure(config_module.load(path))
            rejected += 1
        # A config that parses but names a plugin nobody installed is refused before anything is touched.
        unknown_plugin = write_config(tmp_path / "p.yaml", {**aws.config(str(tmp_path / "elsewhere")), "plugins": [{"name": "os"}]})
        with pytest.raises(ConfigError, match="no installed plugin is named 'os'"):
            run.engine.reconfigure(config_module.load(unknown_plugin))
        assert rejected >= 15 and run.engine.config is good
        aws.put("after/reload.wav", b"still running")
        wait_for((out / "after/reload.wav").exists, 60, what="a download after the rejected configs")
    finally:
        run.stop()
    assert not (tmp_path / "elsewhere").exists()
