"""Unit tests of the run-command plugin: argv building, no shell, timeouts, exit codes, output logging, failure modes."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest

from agent.engine.events import ObjectEvent
from agent.engine.retry import PermanentFailure
from agent.plugins.builtin.run_command import CommandFailed, RunCommand

PY = sys.executable
EVENT = ObjectEvent("bucket", "takes/take 01.wav")


@pytest.fixture
def audio(tmp_path: Path) -> Path:
    path = tmp_path / "take 01.wav"
    path.write_bytes(b"audio")
    return path


def test_path_is_appended_when_no_argument_names_it(audio: Path) -> None:
    plugin = RunCommand(command=[PY, "-c", "pass"])
    assert plugin.argv(EVENT, audio) == [plugin.program, "-c", "pass", str(audio)]


def test_placeholders_fill_in_and_braces_escape(audio: Path) -> None:
    plugin = RunCommand(command=[PY, "{path}", "{name}", "{key}", "{bucket}", "{{literal}}"])
    assert plugin.argv(EVENT, audio)[1:] == [str(audio), "take 01.wav", "takes/take 01.wav", "bucket", "{literal}"]


def test_runs_without_a_shell_and_logs_the_output(audio: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    marker = tmp_path / "marker"
    script = "import os, sys; open(sys.argv[2], 'w').write(sys.argv[1] + '|' + os.environ['S3_SQS_AGENT_KEY']); print('hello from the command')"
    plugin = RunCommand(command=[PY, "-c", script, "{path}; touch /tmp/pwned", str(marker)])
    with caplog.at_level(logging.INFO):
        plugin.agent_object_downloaded(EVENT, audio)
    assert marker.read_text() == f"{audio}; touch /tmp/pwned|takes/take 01.wav"  # one argument, never split by a shell
    assert any("hello from the command" in r.getMessage() and "run-command" in r.getMessage() for r in caplog.records)


def test_non_zero_exit_is_a_failed_attempt_by_default(audio: Path, caplog: pytest.LogCaptureFixture) -> None:
    plugin = RunCommand(command=[PY, "-c", "import sys; print('bad input'); sys.exit(3)"])
    with caplog.at_level(logging.INFO), pytest.raises(CommandFailed, match="exited with code 3"):
        plugin.agent_object_downloaded(EVENT, audio)
    assert any(r.levelno == logging.WARNING and "bad input" in r.getMessage() for r in caplog.records)


def test_give_up_and_log_modes(audio: Path, caplog: pytest.LogCaptureFixture) -> None:
    failing = [PY, "-c", "raise SystemExit(1)"]
    with pytest.raises(PermanentFailure, match="exited with code 1"):
        RunCommand(command=failing, on_failure="give-up").agent_object_downloaded(EVENT, audio)
    with caplog.at_level(logging.ERROR):
        RunCommand(command=failing, on_failure="log").agent_object_downloaded(EVENT, audio)  # does not raise
    assert any("carrying on" in r.getMessage() for r in caplog.records)


@pytest.mark.skipif(sys.platform == "win32", reason="process groups are POSIX")
def test_timeout_kills_the_command_and_what_it_started(audio: Path, tmp_path: Path) -> None:
    late = tmp_path / "late"
    child = f"import time; time.sleep(3); open({str(late)!r}, 'w').write('x')"
    script = f"import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', {child!r}]); time.sleep(30)"
    plugin = RunCommand(command=[PY, "-c", script], timeout=0.5)
    with pytest.raises(CommandFailed, match=r"took longer than 0\.5 s"):
        plugin.agent_object_downloaded(EVENT, audio)
    import time

    time.sleep(3.5)
    assert not late.exists(), "the grandchild survived the timeout"


def test_a_file_moved_by_an_earlier_plugin_is_skipped(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    plugin = RunCommand(command=[PY, "-c", f"open({str(marker)!r}, 'w')"])
    plugin.agent_object_downloaded(EVENT, tmp_path / "gone.wav")
    assert not marker.exists()


def test_env_and_cwd(audio: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    script = f"import os; open({str(out)!r}, 'w').write(os.environ['GREETING'] + '|' + os.getcwd())"
    RunCommand(command=[PY, "-c", script], env={"GREETING": "hi"}, cwd=str(tmp_path)).agent_object_downloaded(EVENT, audio)
    assert out.read_text() == f"hi|{tmp_path}"


@pytest.mark.parametrize("options, message", [
    ({"command": "ffmpeg -i {path}"}, "list of arguments"),
    ({"command": []}, "non-empty list"),
    ({"command": [PY, 3]}, "non-empty list"),
    ({"command": ["no-such-program-here"]}, "was not found"),
    ({"command": [PY, "{file}"]}, r"unknown placeholder \{file\}"),
    ({"command": [PY, "{path"]}, "not valid"),
    ({"command": [PY], "timeout": 0}, "timeout"),
    ({"command": [PY], "timeout": "soon"}, "timeout"),
    ({"command": [PY], "on_failure": "explode"}, "on_failure"),
    ({"command": [PY], "env": {"A": 1}}, "env"),
    ({"command": [PY], "cwd": "/no/such/folder"}, "not a folder"),
])
def test_option_errors(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RunCommand(**options)  # type: ignore[arg-type]


SECRET = "Sup3rS3cretPw"


@pytest.mark.parametrize("options", [
    {"command": [PY, "-u", f"admin:{SECRET}", 3]},
    {"command": [PY, f"--password={SECRET}", "{file}"]},
    {"command": [PY, f"--password={SECRET}", "{path"]},
    {"command": [PY], "env": {"GH": SECRET, "N": 1}},
    {"command": [PY], "env": [f"GH={SECRET}"]},
    {"command": {"program": PY, "token": SECRET}},
])
def test_option_errors_name_the_options_never_their_values(options: dict[str, object]) -> None:
    """Regression: these errors printed the whole command and env ({env!r}), and they reach the log and a notification."""
    with pytest.raises(ValueError) as raised:
        RunCommand(**options)  # type: ignore[arg-type]
    assert SECRET not in str(raised.value), raised.value
    assert "argument" in str(raised.value) or "N" in str(raised.value) or "got a" in str(raised.value), raised.value


@pytest.mark.parametrize("program", ["upload.bat", "UPLOAD.CMD", "cmd.exe", "cmd"])
def test_on_windows_a_program_that_runs_through_cmd_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, program: str) -> None:
    """cmd.exe reads `&` in an argument list2cmdline quoted: a key `x" & calc & "y z.wav` would run calc."""
    from agent.plugins.builtin import run_command

    script = tmp_path / program
    script.write_text("@echo off\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ValueError, match=r"runs through cmd\.exe"):
        run_command._command([program, "{path}"], windows=True)
    assert run_command._command([program, "{path}"], windows=False)[1:] == ["{path}"]  # elsewhere a batch file is no special case


def test_a_key_with_a_nul_is_that_plugins_failure_not_a_retry(audio: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Regression: Popen raised ValueError (embedded null byte), which the engine retried as an unexpected error."""
    event = ObjectEvent("bucket", "evil\0name.wav")
    with pytest.raises(PermanentFailure, match="NUL"):
        RunCommand(command=[PY, "-c", "pass", "{key}"]).agent_object_downloaded(event, audio)
    with pytest.raises(PermanentFailure, match="NUL"):  # the key reaches the command through its environment too
        RunCommand(command=[PY, "-c", "pass"], on_failure="give-up").agent_object_downloaded(event, audio)
    with caplog.at_level(logging.ERROR):
        RunCommand(command=[PY, "-c", "pass"], on_failure="log").agent_object_downloaded(event, audio)
    assert any("NUL" in r.getMessage() and "carrying on" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("options, message", [
    ({"command": [PY, "-c", "pass", "a\0b"]}, "argument 4 holds a NUL"),
    ({"command": [PY], "env": {"TOKEN": f"{SECRET}\0"}}, "TOKEN holds a NUL"),
])
def test_a_nul_in_the_options_is_refused_with_the_config(options: dict[str, object], message: str) -> None:
    """Regression: the config was taken, then every download failed, blaming the key ('the key ... holds a NUL'), or
    was retried (Popen's ValueError for the environment)."""
    with pytest.raises(ValueError, match=message) as raised:
        RunCommand(**options)  # type: ignore[arg-type]
    assert SECRET not in str(raised.value)
