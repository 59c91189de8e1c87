"""The setup.exe under Wine, as IT staff and users run it: a silent per-user install with its start-at-login task, a
config handed over on the command line, and a silent uninstall that leaves the user's own files."""

from __future__ import annotations

from pathlib import Path

from tests.aws import Setup
from tests.helpers import wait_until, write_config
from tests.windows.harness import EXE, Machine


def test_a_silent_install_is_per_user_and_its_autostart_task_writes_the_apps_own_run_value(bare_machine: Machine,
                                                                                        setup_exe: Path) -> None:
    """Wine's user is an administrator, so "no admin rights" is shown by what the setup chose: the per-user mode
    (PrivilegesRequired=lowest), HKEY_CURRENT_USER, and the user's own folders, never Program Files or HKLM."""
    machine = bare_machine
    log = machine.install(setup_exe, "/TASKS=autostart")
    assert "Administrative install mode: No" in log and "Install mode root key: HKEY_CURRENT_USER" in log, log[:3000]
    assert machine.exe.is_file() and (machine.app_folder / "_internal").is_dir()
    assert machine.win(machine.exe) == rf"C:\users\{machine.prefix.user}\AppData\Local\Programs\S3 SQS Agent\{EXE}"
    for program_files in ("Program Files", "Program Files (x86)"):
        assert not (machine.prefix.drive_c / program_files / "S3 SQS Agent").exists()
    start_menu = machine.prefix.appdata / "Microsoft" / "Windows" / "Start Menu" / "Programs" / "S3 SQS Agent"
    assert (start_menu / "S3 SQS Agent.lnk").is_file(), sorted(p.name for p in start_menu.parent.rglob("*"))

    by_installer = machine.run_value()
    assert by_installer == f'"{machine.win(machine.exe)}"'  # quoted: the path has spaces
    status = machine.agent("autostart", "status")
    assert status.returncode == 0 and status.stdout.strip() == (
        rf"enabled: HKCU\Software\Microsoft\Windows\CurrentVersion\Run\S3 SQS Agent runs {by_installer}"), status.stdout
    assert machine.agent("autostart", "disable").stdout.startswith("disabled")
    assert machine.run_value() is None
    assert machine.agent("autostart", "enable").stdout.startswith("enabled")
    assert machine.run_value() == by_installer  # the app writes exactly what the installer's task writes


def test_a_config_on_the_setup_command_line_is_copied_for_the_user_and_an_existing_one_is_kept(bare_machine: Machine,
                                                                                              setup_exe: Path, aws: Setup) -> None:
    machine = bare_machine
    first = write_config(machine.home / "it" / "config.yaml", aws.config("C:\\Audio", concurrency=2))
    second = write_config(machine.home / "it" / "other.yaml", aws.config("C:\\Elsewhere"))
    machine.install(setup_exe, f"/CONFIG={machine.win(first)}")
    assert machine.config_file.read_bytes() == first.read_bytes()
    assert machine.run_value() is not None  # without /TASKS the task's default holds: start at login
    where = machine.agent("config", "path")
    assert where.returncode == 0 and machine.prefix.unix_path(where.stdout.strip()) == machine.config_file  # platformdirs agrees
    assert machine.agent("config", "validate").returncode == 0

    machine.install(setup_exe, f"/CONFIG={machine.win(second)}", log="upgrade.log")  # an upgrade with another config
    assert machine.config_file.read_bytes() == first.read_bytes()  # the user's config is never overwritten


def test_a_silent_uninstall_removes_the_app_and_its_run_value_and_keeps_config_ledger_and_logs(bare_machine: Machine,
                                                                                             setup_exe: Path, aws: Setup) -> None:
    machine = bare_machine
    machine.install(setup_exe, "/TASKS=autostart")
    assert machine.run_value() is not None
    aws.put("kept.wav", b"the user's file")
    machine.write_config(aws.config(machine.win(machine.home / "Audio")))
    drained = machine.agent("run", "--headless", "--drain")
    assert drained.returncode == 0, drained.stdout + drained.stderr
    users_files = [machine.config_file, machine.data_folder / "ledger.sqlite3", machine.log_file, machine.home / "Audio" / "kept.wav"]
    assert all(path.is_file() for path in users_files)

    uninstall = machine.prefix.run(machine.win(machine.app_folder / "unins000.exe"), "/VERYSILENT", "/SUPPRESSMSGBOXES", "/NORESTART",
                                   timeout=600)
    assert uninstall.returncode == 0, uninstall.stdout + uninstall.stderr
    wait_until(lambda: not machine.app_folder.exists(), 300, "the uninstaller to remove the app's folder")  # it runs on from a copy
    assert machine.run_value() is None
    start_menu = machine.prefix.appdata / "Microsoft" / "Windows" / "Start Menu" / "Programs" / "S3 SQS Agent"
    assert not start_menu.exists()
    assert [path for path in users_files if not path.is_file()] == []
