"""Security review checks: no shell anywhere, private files, plugins only from installed entry points, and no
credential read from (or written to) the agent's own files."""

from __future__ import annotations

import ast
import logging
import os
from pathlib import Path

import pytest

from agent import config as config_module
from agent import dirs, logs
from agent.engine.ledger import Ledger
from agent.errors import ConfigError
from agent.plugins.manager import PluginHost

AGENT = Path(__file__).resolve().parent.parent.parent / "agent"
SOURCES = sorted(AGENT.rglob("*.py"))
PROCESS_CALLS = {"run", "Popen", "call", "check_call", "check_output"}
FORBIDDEN = {("os", "system"), ("os", "popen"), ("subprocess", "getoutput"), ("subprocess", "getstatusoutput"), ("pty", "spawn")}


def _violations(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if not isinstance(node, ast.Call):
            continue
        where = f"{path.relative_to(AGENT.parent)}:{node.lineno}"
        for keyword in node.keywords:
            if keyword.arg == "shell" and not (isinstance(keyword.value, ast.Constant) and keyword.value.value is False):
                found.append(f"{where}: shell=")
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            if (func.value.id, func.attr) in FORBIDDEN:
                found.append(f"{where}: {func.value.id}.{func.attr}")
            if func.value.id == "subprocess" and func.attr in PROCESS_CALLS and node.args and isinstance(node.args[0], (ast.Constant, ast.JoinedStr)):
                found.append(f"{where}: a command line as one string")
        if isinstance(func, ast.Name) and func.id in ("eval", "exec"):
            found.append(f"{where}: {func.id}")
    return found


def test_the_checker_finds_a_shell() -> None:
    sample = AGENT.parent / "tests" / "unit" / "_shell_sample.py"
    sample.write_text("import os, subprocess\nsubprocess.run('ls', shell=True)\nos.system('ls')\nsubprocess.Popen(f'x {1}')\n")
    try:
        assert len(_violations(sample)) == 4
    finally:
        sample.unlink()


def test_no_shell_anywhere() -> None:
    assert len(SOURCES) > 20
    problems = [v for path in SOURCES for v in _violations(path)]
    assert problems == []


# Reviewed: computed names that never come from the config.
REVIEWED_IMPORTS = {"audio_check.py": "mutagen reader classes from the module's constant KINDS table, chosen by file suffix"}


def test_plugins_are_never_imported_by_a_name_from_the_config() -> None:
    """Only `importlib.metadata` entry points load plugins: where config values flow (config, engine, plugins),
    nothing imports a module by a computed name."""
    flowing = [p for p in SOURCES if {"config", "cli", "engine", "plugins"} & set(p.relative_to(AGENT).parts)]
    for path in flowing:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
                if name in ("import_module", "__import__", "spec_from_file_location", "load_source", "run_path"):
                    if path.name in REVIEWED_IMPORTS:
                        continue
                    assert node.args and isinstance(node.args[0], ast.Constant), f"{path}:{node.lineno}"
    manager = (AGENT / "plugins" / "manager.py").read_text(encoding="utf-8")
    assert "metadata.entry_points(group=ENTRY_POINT_GROUP)" in manager


@pytest.mark.parametrize("name", ["os", "os.path", "tests.plugin_pkg", "agent.plugins.builtin.filters", "/tmp/evil.py", "../evil"])
def test_a_plugin_that_is_not_an_installed_entry_point_is_refused(name: str, tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(f"sqs_queue_url: https://sqs.us-east-1.amazonaws.com/1/q\ndownload_folder: {tmp_path}\nplugins:\n  - name: '{name}'\n")
    with pytest.raises(ConfigError, match="no installed plugin is named"):
        PluginHost(config_module.load(path))


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


@pytest.mark.skipif(os.name == "nt", reason="POSIX permission bits")
def test_config_ledger_and_logs_are_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        config = dirs.default_config_file()
        config_module.write_template(config)
        config_module.update_file(config, {"sqs_queue_url": "https://sqs.us-east-1.amazonaws.com/1/q"})
        ledger = Ledger(dirs.ledger_file())
        ledger.set_state("x", "1")
        log_path = logs.setup("INFO", console=False)
        assert log_path is not None
        handler = next(h for h in logging.getLogger().handlers if isinstance(h, logs.PrivateRotatingFileHandler))
        logging.getLogger("test").info("one")
        handler.doRollover()  # regression: the file started after a rollover was world-readable
        logging.getLogger("test").info("two")
        ledger_files = [p for p in dirs.data_dir().iterdir() if p.name.startswith("ledger")]
        files = [config, *ledger_files, *log_path.parent.iterdir()]
        assert len(ledger_files) >= 1 and len(list(log_path.parent.iterdir())) == 2
        assert {str(p): oct(_mode(p)) for p in files} == {str(p): "0o600" for p in files}
        for folder in (config.parent, dirs.data_dir(), log_path.parent):
            assert _mode(folder) == 0o700, folder
    finally:
        os.umask(old)
        for handler in list(logging.getLogger().handlers):
            if isinstance(handler, logs.PrivateRotatingFileHandler):
                logging.getLogger().removeHandler(handler)
                handler.close()


def test_the_template_never_asks_for_credentials() -> None:
    template = config_module.TEMPLATE.lower()
    assert "credentials are never read from this file" in template
    assert "aws_secret_access_key" not in template and "aws_access_key_id" not in template
