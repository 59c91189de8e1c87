"""The installed s3-sqs-agent.exe's commands under Wine, against moto on 127.0.0.1: --version, doctor and a headless
drain with the config where platformdirs puts it on Windows; keys that Windows refuses as they stand; a kill in the
middle of a drain; UTF-8 on the console; time zones without a system zone database; one agent per user."""

from __future__ import annotations

import os
import random
from pathlib import PurePosixPath
from urllib.parse import quote_plus

from agent.engine.paths import is_temp_name
from tests.aws import Setup, make_setup, s3_event_body
from tests.helpers import files_under, wait_until
from tests.reliability.helpers import assert_final, random_files, temp_files
from tests.reliability.proxy import FaultProxy
from tests.windows.harness import Machine, WindowsApp


def test_version_doctor_and_a_headless_drain_with_the_config_where_platformdirs_puts_it(machine: Machine, aws: Setup) -> None:
    from agent import __version__

    version = machine.agent("--version")
    assert version.returncode == 0 and version.stdout.strip() == f"s3-sqs-agent {__version__}", version.stdout + version.stderr
    where = machine.agent("config", "path")
    expected = rf"C:\users\{machine.prefix.user}\AppData\Local\s3-sqs-agent\config.yaml"  # %LOCALAPPDATA%: not roaming
    assert where.stdout.strip() == expected, where.stdout + where.stderr

    downloads = machine.prefix.profile / "Downloads" / "S3"
    machine.write_config(aws.config(machine.win(downloads)))  # a Windows path in the YAML, as Setup writes it
    doctor = machine.agent("doctor")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "FAIL" not in doctor.stdout and "0 failed" in doctor.stdout, doctor.stdout

    expected_files = {"takes/take 01.wav": os.urandom(70_000), "mixes/final.wav": os.urandom(3000), "notes.txt": b"x"}
    for key, data in expected_files.items():
        aws.put(key, data)
    drained = machine.agent("run", "--headless", "--drain")
    assert drained.returncode == 0, drained.stdout + drained.stderr
    assert files_under(downloads) == expected_files
    assert aws.counts() == (0, 0)
    assert "Downloaded 3 files" in machine.log()  # agent.log in %LOCALAPPDATA%\s3-sqs-agent\Logs
    assert "Downloads go through the AWS Common Runtime" in drained.stderr  # the installer bundles the CRT for Windows


WINDOWS_NAMES = {  # key -> where it lands in the download folder
    "CON.wav": "_CON.wav",  # a device name, with or without an extension
    "folder/aux": "folder/_aux",
    "com1.take.wav": "_com1.take.wav",
    "a:b?.wav": "a_b_.wav",  # characters Windows refuses in names
    'say "hi" <now> | *.wav': "say _hi_ _now_ _ _.wav",
    "trailing dot.": "trailing dot",  # Windows drops a trailing dot or space: two keys would share one file
    "trailing space ": "trailing space",
    "back\\slash.wav": "back/slash.wav",  # a backslash separates folders on Windows
    "café/日本語 テイク.wav": "café/日本語 テイク.wav",
    "Ünïcödé ✓.wav": "Ünïcödé ✓.wav",
}


def test_keys_windows_refuses_as_they_stand_land_under_safe_names_with_no_partial_file(machine: Machine, aws: Setup) -> None:
    long_key = "long/" + "ß" * 150 + ".wav"  # 300 bytes of UTF-8: over the agent's 200-byte limit for a name
    expected = {key: os.urandom(200 + index) for index, key in enumerate([*WINDOWS_NAMES, long_key])}
    for key, data in expected.items():
        aws.put(key, data)
    downloads = machine.home / "downloads"
    machine.write_config(aws.config(machine.win(downloads)))
    drained = machine.agent("run", "--headless", "--drain")
    assert drained.returncode == 0, drained.stdout + drained.stderr
    found = files_under(downloads)
    long_names = [name for name in found if name.startswith("long/")]
    assert len(long_names) == 1, sorted(found)
    long_name = long_names[0].removeprefix("long/")
    assert long_name.endswith(".wav") and len(long_name.encode()) <= 200 and set(long_name[:-4]) == {"ß"}
    assert {name: data for name, data in found.items() if not name.startswith("long/")} == {
        WINDOWS_NAMES[key]: data for key, data in expected.items() if key != long_key}
    assert found[long_names[0]] == expected[long_key]
    assert temp_files(downloads) == [] and aws.counts() == (0, 0)


def test_a_kill_in_the_middle_of_a_drain_loses_nothing(machine: Machine, moto_endpoint: str, proxy: FaultProxy) -> None:
    """taskkill /F (TerminateProcess) while files are being written: none is left partial under its final name, and
    the next run downloads the rest; the messages the killed agent held come back after the visibility timeout."""
    aws = make_setup(moto_endpoint, visibility_timeout=5)
    expected = random_files(120, "kill", random.Random(20), low=20_000, high=120_000)
    for key, data in expected.items():
        aws.put(key, data)
    proxy.faults.latency = 0.15  # each request a little slow, so that the kill lands mid-drain however fast Wine runs
    downloads = machine.home / "downloads"
    machine.write_config(aws.config(machine.win(downloads), concurrency=4, endpoint_url=proxy.url))
    app = WindowsApp(machine, ["run", "--headless"]).start()

    def written() -> int:
        return len(list(downloads.rglob("*.wav"))) if downloads.exists() else 0

    wait_until(lambda: written() >= 10, 240, "the agent to write its first ten files")
    pid = machine.agent_pid()
    assert pid is not None
    killed = machine.taskkill(pid)
    assert killed.returncode == 0, killed.stdout + killed.stderr
    app.wait_exit(60)
    at_kill = written()
    assert at_kill < len(expected), "the drain ended before the kill"
    for name, data in files_under(downloads).items():
        if not is_temp_name(PurePosixPath(name).name):  # the killed run's own .part files are cleaned up by the next
            assert data == expected[name], f"{name} is under its final name but not whole"

    proxy.faults.latency = 0
    drained = machine.agent("run", "--headless", "--drain", timeout=600)
    assert drained.returncode == 0, drained.stdout[-3000:] + drained.stderr[-3000:]
    assert_final(downloads, expected, aws)


def test_the_console_speaks_utf8_and_by_date_knows_european_time_zones(machine: Machine, quiet_aws: Setup) -> None:
    """UTF-8 mode: names reach a pipe or a console as themselves, whatever the ANSI code page. tzdata: Windows has no
    zone database, so without it `timezone: Europe/Berlin` (docs/plugins.md) is refused."""
    aws = quiet_aws
    key = "sessions/Zoë/日本語 – take…1.wav"
    aws.put(key, b"audio")
    body = s3_event_body(aws.bucket, quote_plus(key, safe="/"), size=5)  # form-encoded, as S3 writes keys
    body["Records"][0]["eventTime"] = "2026-11-28T23:30:00.000Z"  # already 29 November in Berlin
    aws.send(body)
    downloads = machine.home / "downloads"
    machine.write_config(aws.config(machine.win(downloads), plugins=[{"name": "by-date", "options": {"timezone": "Europe/Berlin"}}]))
    checked = machine.agent("config", "validate")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    drained = machine.agent("run", "--headless", "--drain")
    assert drained.returncode == 0, drained.stdout + drained.stderr
    assert files_under(downloads) == {f"2026/11/29/{key}": b"audio"}
    assert f"Downloaded {key} " in drained.stderr, drained.stderr  # not "Zo?" or "\u65e5..."
    assert f"Downloaded {key} " in machine.log()


def test_one_agent_per_user_a_second_is_refused_while_the_first_runs(machine: Machine, aws: Setup) -> None:
    """The lock is msvcrt.locking on %LOCALAPPDATA%\\s3-sqs-agent\\agent.lock, and goes with the process that held it."""
    downloads = machine.home / "downloads"
    machine.write_config(aws.config(machine.win(downloads)))
    first = WindowsApp(machine, ["run", "--headless"]).start()
    wait_until(lambda: "Watching" in first.read_output(), 240, "the first agent to start")
    second = machine.agent("run", "--headless", "--drain")
    assert second.returncode == 1, second.stdout + second.stderr
    assert "is already running" in second.stderr and "for this user" in second.stderr, second.stderr
    assert first.alive()
    pid = machine.agent_pid()
    assert pid is not None and machine.taskkill(pid).returncode == 0
    first.wait_exit(60)
    aws.put("after.wav", b"x")
    again = machine.agent("run", "--headless", "--drain")  # a killed holder's lock is gone with it
    assert again.returncode == 0, again.stdout + again.stderr
    assert (downloads / "after.wav").read_bytes() == b"x"
