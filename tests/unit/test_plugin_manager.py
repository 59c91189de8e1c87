"""Unit tests of the plugin host: loading by name, option errors, call order, isolation that names the plugin."""

from __future__ import annotations

import logging
import re
import sys
import textwrap
import types
import urllib.request
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

import pytest
import yaml

from agent import MalformedMessage, hookimpl
from agent.config import Config, parse
from agent.engine.events import ObjectEvent
from agent.errors import ConfigError
from agent.plugins.manager import PluginError, PluginHost
from tests.helpers import ROOT, run_agent, write_config

EVENT = ObjectEvent("bucket", "a/b.wav")
MODULE = __name__


class Renamer:
    def __init__(self, prefix: str, upper: bool = False) -> None:
        if not isinstance(prefix, str):
            raise TypeError(f"option 'prefix' must be a string, got {prefix!r}")
        self.prefix, self.upper = prefix, upper

    @hookimpl
    def agent_local_path(self, default_path: PurePosixPath) -> str:
        name = default_path.name.upper() if self.upper else default_path.name
        return self.prefix + name


class Broken:
    """Raises in every hook; `agent_startup` only when asked to."""

    def __init__(self, fail_startup: bool = False) -> None:
        self.fail_startup = fail_startup

    @hookimpl
    def agent_startup(self) -> None:
        if self.fail_startup:
            raise RuntimeError("cannot start")

    @hookimpl
    def agent_parse_message(self, body: str) -> None:
        raise KeyError("parse")

    @hookimpl
    def agent_filter(self, event: ObjectEvent) -> bool:
        return helper_that_raises()

    @hookimpl
    def agent_object_failed(self, reason: str) -> None:
        raise RuntimeError("cannot report")

    @hookimpl
    def agent_shutdown(self) -> None:
        raise RuntimeError("cannot stop")


def helper_that_raises() -> bool:
    raise ValueError("deep inside a helper")


class Listener:
    made: ClassVar[list[Listener]] = []  # every one the plugin host made, for the test to look at

    def __init__(self) -> None:
        self.heard: list[str] = []
        Listener.made.append(self)

    @hookimpl
    def agent_object_failed(self, reason: str) -> None:
        self.heard.append(reason)

    @hookimpl
    def agent_shutdown(self) -> None:
        self.heard.append("shutdown")


class Parser:
    @hookimpl
    def agent_parse_message(self, body: str) -> list[ObjectEvent] | None:
        if body == "malformed":
            raise MalformedMessage("cannot use this")
        return [ObjectEvent("bucket", body)] if body.startswith("key:") else None


class WrongTypes:
    def __init__(self, hook: str) -> None:
        self.hook = hook

    @hookimpl
    def agent_filter(self) -> Any:
        return "no" if self.hook == "filter" else None

    @hookimpl
    def agent_local_path(self) -> Any:
        return 42 if self.hook == "path" else None

    @hookimpl
    def agent_parse_message(self) -> Any:
        return {"not": "a list"} if self.hook == "parse" else None


class Typo:
    @hookimpl
    def agent_filer(self, event: ObjectEvent) -> bool:
        return False


class NoOptions:
    @hookimpl
    def agent_filter(self) -> bool:
        return True


PLUGINS = {
    "renamer": "Renamer", "broken": "Broken", "listener": "Listener", "parser": "Parser",
    "wrong-types": "WrongTypes", "typo": "Typo", "no-options": "NoOptions", "missing-module": None,
}


@pytest.fixture(autouse=True)
def fake_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    """Installed plugins as entry points pointing at the classes above (the real lookup is tested with the test package)."""
    points = {name: metadata.EntryPoint(name, f"{MODULE}:{attr}" if attr else "no_such_module_xyz:Plugin", "s3_sqs_agent")
              for name, attr in PLUGINS.items()}
    monkeypatch.setattr("agent.plugins.manager.installed_plugins", lambda: points)


def config(tmp_path: Path, *plugins: Any) -> Config:
    text = yaml.safe_dump({"sqs_queue_url": "https://sqs.us-east-1.amazonaws.com/1/q", "download_folder": str(tmp_path / "dl"),
                           "plugins": list(plugins)})
    return parse(text, tmp_path / "config.yaml")


def errors(tmp_path: Path, *plugins: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        PluginHost(config(tmp_path, *plugins))
    return str(caught.value)


# ------------------------------------------------------------------ loading and option errors


def test_unknown_plugin_is_a_config_error_naming_file_line_and_what_is_installed(tmp_path: Path) -> None:
    message = errors(tmp_path, {"name": "renamr", "options": {"prefix": "x"}})
    assert re.search(r"config\.yaml:\d+: plugins: no installed plugin is named 'renamr'; did you mean 'renamer'\?", message)
    assert "installed: " in message and "broken" in message


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    message = errors(tmp_path, {"name": "nope"}, {"name": "renamer"}, {"name": "renamer", "options": {"prefx": "x"}})
    assert "'nope'" in message
    assert "plugin 'renamer': option 'prefix' is required" in message
    assert "unknown option 'prefx'; did you mean 'prefix'? (its options are: prefix, upper)" in message


def test_a_plugin_that_takes_no_options(tmp_path: Path) -> None:
    assert "this plugin takes no options" in errors(tmp_path, {"name": "no-options", "options": {"x": 1}})


def test_the_plugins_own_validation_error_is_passed_on(tmp_path: Path) -> None:
    assert "plugin 'renamer': option 'prefix' must be a string, got 3" in errors(tmp_path, {"name": "renamer", "options": {"prefix": 3}})


def test_an_unimportable_plugin_and_an_unknown_hook(tmp_path: Path) -> None:
    assert "plugin 'missing-module' could not be loaded: ModuleNotFoundError" in errors(tmp_path, {"name": "missing-module"})
    assert "it implements 'agent_filer', which is not a hook" in errors(tmp_path, {"name": "typo"})


def test_shipped_plugins_are_installed_entry_points() -> None:
    real = {ep.name: ep.value for ep in metadata.entry_points(group="s3_sqs_agent")}
    assert real["by-date"] == "agent.plugins.builtin.by_date:ByDate"
    assert real["audio-check"] == "agent.plugins.builtin.audio_check:AudioCheck"
    assert real["run-command"] == "agent.plugins.builtin.run_command:RunCommand"


# ------------------------------------------------------------------ order


def test_config_order_is_call_order_and_a_name_may_repeat(tmp_path: Path) -> None:
    host = PluginHost(config(tmp_path, {"name": "renamer", "options": {"prefix": "first-"}}, {"name": "renamer", "options": {"prefix": "second-"}}))
    assert host.loaded == ["renamer", "renamer#2"]
    assert host.local_path(EVENT, PurePosixPath("a/b.wav")) == "first-b.wav"
    assert [info.name for info in host.describe()] == ["renamer", "renamer#2", "builtin:formats", "builtin:filters", "builtin:layout"]


def test_absolute_path_inside_the_folder_is_used_as_meant(tmp_path: Path) -> None:
    cfg = config(tmp_path, {"name": "renamer", "options": {"prefix": str(tmp_path / "dl" / "sub") + "/"}})
    host = PluginHost(cfg)
    host.startup(cfg)
    assert host.local_path(EVENT, PurePosixPath("a/b.wav")) == PurePosixPath("sub/b.wav")


def test_builtin_state_is_not_shared_between_hosts(tmp_path: Path) -> None:
    one, two = PluginHost(), PluginHost()
    one.startup(config(tmp_path).replace(include=("*.wav",)))
    two.startup(config(tmp_path).replace(include=("*.flac",)))
    assert one.accepts(EVENT) and not two.accepts(EVENT)


# ------------------------------------------------------------------ isolation


def test_a_raising_hook_becomes_a_plugin_error_naming_the_plugin(tmp_path: Path) -> None:
    host = PluginHost(config(tmp_path, {"name": "broken"}))
    with pytest.raises(PluginError) as caught:
        host.accepts(EVENT)
    assert caught.value.plugin == "broken" and caught.value.hook == "agent_filter"
    assert isinstance(caught.value.error, ValueError)
    assert str(caught.value) == "plugin 'broken' failed in agent_filter: ValueError: deep inside a helper"
    with pytest.raises(PluginError, match="plugin 'broken' failed in agent_parse_message: KeyError"):
        host.parse_message("{}", {"MessageId": "m"})


def test_second_instance_is_named_apart(tmp_path: Path) -> None:
    host = PluginHost(config(tmp_path, {"name": "listener"}, {"name": "broken"}, {"name": "broken"}))
    with pytest.raises(PluginError) as caught:
        host.accepts(EVENT)
    assert caught.value.plugin == "broken"  # config order: the first 'broken' is asked first


def test_notification_hooks_reach_every_plugin_despite_one_failing(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    Listener.made.clear()
    host = PluginHost(config(tmp_path, {"name": "broken"}, {"name": "listener"}))
    [listener] = Listener.made
    with caplog.at_level(logging.ERROR):
        host.object_failed(EVENT, "gave up")
        host.shutdown()
    assert listener.heard == ["gave up", "shutdown"]
    logged = [r.getMessage() for r in caplog.records]
    assert "plugin 'broken' failed in agent_object_failed: RuntimeError: cannot report" in logged
    assert "plugin 'broken' failed in agent_shutdown: RuntimeError: cannot stop" in logged


def test_a_plugin_that_fails_to_start_is_disabled_and_the_rest_run(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cfg = config(tmp_path, {"name": "broken", "options": {"fail_startup": True}}, {"name": "renamer", "options": {"prefix": "r-"}})
    host = PluginHost(cfg)
    with caplog.at_level(logging.ERROR):
        host.startup(cfg)
    assert host.loaded == ["renamer"] and not host.pm.has_plugin("broken")
    assert host.accepts(EVENT)  # the broken filter is gone
    assert host.describe()[0].status.startswith("disabled: failed to start (RuntimeError: cannot start)")
    assert any("Plugin 'broken' failed to start and was disabled" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("hook, call, expected", [
    ("filter", lambda h: h.accepts(EVENT), "returned 'no'; expected True, False or None"),
    ("path", lambda h: h.local_path(EVENT, PurePosixPath("b.wav")), "returned 42; expected a path"),
    ("parse", lambda h: h.parse_message("x", {}), "returned {'not': 'a list'}; expected a list of agent.ObjectEvent"),
])
def test_wrong_return_types_are_named(tmp_path: Path, hook: str, call: Any, expected: str) -> None:
    host = PluginHost(config(tmp_path, {"name": "wrong-types", "options": {"hook": hook}}))
    with pytest.raises(PluginError, match=re.escape(expected)) as caught:
        call(host)
    assert caught.value.plugin == "wrong-types"


class Mover:
    """Moves each file into `done/` and returns where it went, as the hook's contract asks."""

    def __init__(self, answer: str) -> None:
        self.answer = answer

    @hookimpl
    def agent_object_downloaded(self, path: Path) -> object:
        target = path.parent / "done" / path.name
        target.parent.mkdir(exist_ok=True)
        path.rename(target)
        return {"absolute": target, "relative": f"done/{path.name}", "nowhere": path, "number": 7, "stays": None}[self.answer]


@pytest.mark.parametrize("answer", ["absolute", "relative", "stays"])
def test_a_plugin_that_moves_the_file_says_where_it_is(tmp_path: Path, answer: str) -> None:
    host = PluginHost(parse(f"sqs_queue_url: https://sqs.us-east-1.amazonaws.com/1/q\ndownload_folder: {tmp_path}\n"))
    host.register(Mover(answer), "mover")
    (tmp_path / "b.wav").write_bytes(b"x")
    where = host.object_downloaded(EVENT, tmp_path / "b.wav")
    assert where == (tmp_path / "b.wav" if answer == "stays" else tmp_path / "done" / "b.wav")


@pytest.mark.parametrize("answer, expected", [("nowhere", "as the file's new place, but no file is there"),
                                               ("number", "returned 7; expected the file's new path if the plugin moved it")])
def test_a_wrong_new_place_is_the_plugins_error(tmp_path: Path, answer: str, expected: str) -> None:
    host = PluginHost(parse(f"sqs_queue_url: https://sqs.us-east-1.amazonaws.com/1/q\ndownload_folder: {tmp_path}\n"))
    host.register(Mover(answer), "mover")
    (tmp_path / "b.wav").write_bytes(b"x")
    with pytest.raises(PluginError, match=re.escape(expected)) as caught:
        host.object_downloaded(EVENT, tmp_path / "b.wav")
    assert caught.value.plugin == "mover"


def test_parsed_events_carry_the_parsers_name_and_the_message_id(tmp_path: Path) -> None:
    host = PluginHost(config(tmp_path, {"name": "parser"}))
    [event] = host.parse_message("key:x.wav", {"MessageId": "m-1"})
    assert (event.key, event.source, event.message_id) == ("key:x.wav", "parser", "m-1")
    body = '{"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "b"}, "object": {"key": "k"}}}]}'
    s3 = host.parse_message(body, {"MessageId": "m-2"})
    assert s3 is not None and s3[0].source == "s3"
    with pytest.raises(PluginError) as caught:
        host.parse_message("malformed", {})
    assert isinstance(caught.value.error, MalformedMessage) and caught.value.plugin == "parser"


# ------------------------------------------------------------------ the docs' example plugin is real code


def test_the_docs_example_plugin_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n# (\S+\.py)\n(.*?)```", text, re.DOTALL)
    example = dict(blocks)["slack_notify.py"]
    project = re.search(r"```toml\n(# pyproject.toml.*?)```", text, re.DOTALL)
    assert project is not None and 'notify-chat = "slack_notify:NotifyChat"' in project.group(1)
    assert len(example.splitlines()) + len(project.group(1).splitlines()) < 30
    module = types.ModuleType("slack_notify")
    exec(compile(textwrap.dedent(example), "slack_notify.py", "exec"), module.__dict__)
    sent: list[bytes] = []
    monkeypatch.setattr(urllib.request, "urlopen", lambda request, timeout: sent.append(request.data))
    host = PluginHost()
    plugin = module.NotifyChat(webhook="https://chat.example/hook", only="*.wav")
    host.register(plugin, "notify-chat")
    host.object_downloaded(EVENT, tmp_path / "b.wav")
    host.object_downloaded(ObjectEvent("bucket", "notes.txt"), tmp_path / "notes.txt")
    assert len(sent) == 1 and b"a/b.wav" in sent[0]


# ------------------------------------------------------------------ config validate surfaces plugin errors


def test_config_validate_reports_plugin_option_errors(tmp_path: Path) -> None:
    """In a child process: the real installed plugins, not the fakes above."""
    data = {"sqs_queue_url": "https://sqs.us-east-1.amazonaws.com/1/q", "download_folder": str(tmp_path / "dl"),
            "plugins": [{"name": "by-date", "options": {"template": "{yaer}/{name}"}},
                        {"name": "run-command", "options": {"command": "ffmpeg -i x"}},
                        {"name": "audio-check", "options": {"quarantne": "q"}},
                        {"name": "no-such-plugin"}]}
    path = write_config(tmp_path / "config.yaml", data)
    result = run_agent("config", "validate", str(path))
    assert result.returncode == 2, result.stdout
    assert "The config has 4 errors" in result.stderr
    assert f"{path}:3: plugins: plugin 'by-date': option 'template': unknown field {{yaer}}" in result.stderr
    assert "plugin 'run-command': option 'command' must be a list of arguments" in result.stderr
    assert "plugin 'audio-check': unknown option 'quarantne'; did you mean 'quarantine'?" in result.stderr
    assert "no installed plugin is named 'no-such-plugin'" in result.stderr
    good = write_config(tmp_path / "good.yaml", {**data, "plugins": [{"name": "by-date"}, {"name": "audio-check"}]})
    assert run_agent("config", "validate", str(good)).returncode == 0


def test_config_validate_names_run_commands_bad_options_never_their_values(tmp_path: Path) -> None:
    """Regression: run-command's config errors printed the whole command and env ({env!r}); they reach the log, the
    terminal and a desktop notification."""
    secret = "Sup3rS3cretPw-distinct"
    data = {"sqs_queue_url": "https://sqs.us-east-1.amazonaws.com/1/q", "download_folder": str(tmp_path / "dl"),
            "plugins": [{"name": "run-command", "options": {"command": [sys.executable, "-u", f"admin:{secret}", 7]}},
                        {"name": "run-command", "options": {"command": [sys.executable], "env": {"GH": secret, "N": 1}}}]}
    result = run_agent("config", "validate", str(write_config(tmp_path / "config.yaml", data)))
    assert result.returncode == 2, result.stdout
    assert secret not in result.stderr + result.stdout
    assert "not a string: argument 4" in result.stderr and "not a string: N" in result.stderr
