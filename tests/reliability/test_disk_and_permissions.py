"""A full disk and folders the agent may not use: clear errors, nothing partial, no message lost, recovery by itself.

The disk is a small tmpfs mounted on the download folder (needs root, as CI has); an unwritable folder is a
read-only tmpfs, or, for the command line, permission bits enforced by running the child without the root
capabilities that bypass them (setpriv drops CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH).
"""

from __future__ import annotations

import random
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.engine.events import State
from tests.aws import Setup
from tests.helpers import CAN_DROP_ROOT_OVERRIDES, IS_ROOT, run_agent, write_config
from tests.reliability.helpers import assert_final, start_engine, temp_files, wait_for

needs_root = pytest.mark.skipif(not IS_ROOT, reason="mounting a tmpfs needs root on Linux (CI runs as root)")
needs_setpriv = pytest.mark.skipif(not CAN_DROP_ROOT_OVERRIDES,
                                   reason="enforcing permission bits on root needs Linux, root and setpriv (util-linux)")


def _mount(folder: Path, options: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], check=True)


def _bind(drive: Path, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "--bind", str(drive), str(folder)], check=True)


@pytest.fixture
def mounts() -> Iterator[list[Path]]:
    mounted: list[Path] = []
    yield mounted
    for folder in reversed(mounted):
        subprocess.run(["umount", "-l", str(folder)], check=False)


@needs_root
def test_disk_full_keeps_the_message_and_recovers_once_space_is_freed(aws: Setup, tmp_path: Path, mounts: list[Path]) -> None:
    out = tmp_path / "out"
    _mount(out, "size=2m,mode=0755")
    mounts.append(out)
    filler = out / "filler.bin"
    filler.write_bytes(b"\0" * (1536 * 1024))  # leaves about 512 KiB
    rng = random.Random(5)
    expected = {"small/a.wav": rng.randbytes(10_000), "small/b.wav": rng.randbytes(20_000), "big/take.wav": rng.randbytes(900_000)}
    for key, data in expected.items():
        aws.put(key, data)
    run = start_engine(aws.config(str(out), retry_base_seconds=1, retry_max_seconds=4), tmp_path)
    try:
        problem = wait_for(lambda: [n for n in run.needs_user() if n.title == "Disk full"], 60, what="a Disk full notification")
        assert "Free some space" in problem[0].message
        wait_for(lambda: run.engine.status().state is State.ATTENTION, 30, what="the attention state")
        wait_for(lambda: (out / "small/a.wav").exists() and (out / "small/b.wav").exists(), 30, what="the small files")
        assert not (out / "big/take.wav").exists() and temp_files(out) == []
        # The small files' messages go in a batched delete (and S3's TestEvent at a probe); the big file's stays.
        wait_for(lambda: sum(aws.counts()) == 1, 30, what="only the big file's message left on the queue")
        attempts = run.log.count("disk holding the download folder is full")
        wait_for(lambda: run.log.count("disk holding the download folder is full") >= attempts + 2, 30, what="two more tries")
        assert temp_files(out) == [] and not (out / "big/take.wav").exists()
        filler.unlink()
        wait_for((out / "big/take.wav").exists, 60, what="the big file once space was freed")
        wait_for(lambda: run.engine.status().state is State.IDLE, 30, what="the idle state")
        tries = run.log.count("disk holding the download folder is full")
    finally:
        run.stop()
    assert tries <= 40, f"{tries} failed tries: not backing off"
    assert run.log.count("Back to normal") >= 1
    assert_final(out, expected, aws)


@needs_root
def test_read_only_download_folder_waits_then_recovers(aws: Setup, tmp_path: Path, mounts: list[Path]) -> None:
    out = tmp_path / "out"
    _mount(out, "size=4m,mode=0755,ro")
    mounts.append(out)
    expected = {"ro/a.wav": b"a" * 3000}
    aws.put("ro/a.wav", expected["ro/a.wav"])
    run = start_engine(aws.config(str(out), retry_base_seconds=1, retry_max_seconds=4), tmp_path)
    try:
        problem = wait_for(lambda: [n for n in run.needs_user() if n.title == "Download folder not writable"], 60, what="a notification")
        assert "Fix its permissions" in problem[0].message
        # The object's message is kept; S3's TestEvent, if handed back by the hold, goes at the next probe.
        wait_for(lambda: sum(aws.counts()) == 1, 60, what="only the object's message left on the queue")
        assert run.engine.status().given_up == 0 and run.engine.status().retries == 0
        subprocess.run(["mount", "-o", "remount,rw", str(out)], check=True)
        wait_for((out / "ro/a.wav").exists, 60, what="the file after the folder became writable")
    finally:
        run.stop()
    assert_final(out, expected, aws)


@needs_setpriv
def test_unwritable_download_folder_is_a_clear_error(aws: Setup, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o555)
    aws.put("x.wav", b"x")
    config = write_config(tmp_path / "c.yaml", aws.config(str(out)))
    before = aws.counts()  # the upload's notification and S3's TestEvent
    result = run_agent("run", "--headless", "--config", str(config), "--drain", unprivileged=True, timeout=60)
    out.chmod(0o755)
    assert result.returncode == 1, result.stderr
    assert f"Cannot write to the download folder {out}" in result.stderr
    assert "Traceback" not in result.stderr
    assert aws.counts() == before, "the messages must be kept"


@needs_setpriv
def test_unreadable_config_folder_is_a_clear_error(tmp_path: Path, private_home: Path) -> None:
    folder = private_home / "config" / "s3-sqs-agent"
    folder.mkdir()
    (folder / "config.yaml").write_text("sqs_queue_url: https://sqs.us-east-1.amazonaws.com/123456789012/q\ndownload_folder: /tmp/x\n")
    folder.chmod(0)
    try:
        validate = run_agent("config", "validate", unprivileged=True, timeout=60)
        run = run_agent("run", "--headless", "--drain", unprivileged=True, timeout=60)
    finally:
        folder.chmod(0o700)
    for result in (validate, run):
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr, result.stderr
        assert "config.yaml" in result.stderr and "permission denied" in result.stderr.lower(), result.stderr


@needs_root
def test_a_large_file_that_cannot_fit_fails_before_any_byte_is_fetched(moto_endpoint: str, tmp_path: Path, mounts: list[Path]) -> None:
    """Regression: the space for ranged downloads was "reserved" with ftruncate, which reserves nothing (a sparse
    file), so each try fetched megabytes before the disk said no. An object larger than the whole disk is that
    object's failure, retried (issue 22: not a disk-full hold for every download); it downloads once the disk is
    larger."""
    from agent.engine.events import Retrying
    from tests.aws import make_setup
    from tests.reliability.proxy import FaultProxy

    aws = make_setup(moto_endpoint)
    proxy = FaultProxy(moto_endpoint)
    proxy.up()
    out = tmp_path / "out"
    _mount(out, "size=8m,mode=0755")
    mounts.append(out)
    data = random.Random(9).randbytes(17 * 1024 * 1024)
    aws.put("big/ranged.wav", data)
    run = start_engine(aws.config(str(out), endpoint_url=proxy.url, retry_base_seconds=1, retry_max_seconds=2, max_attempts=20), tmp_path)
    try:
        wait_for(lambda: len([r for r in run.of(Retrying) if "larger than the whole disk" in r.reason]) >= 2, 60, what="two tries")
        assert proxy.count("GetObject") == 0
        assert temp_files(out) == [] and run.needs_user() == []
        subprocess.run(["mount", "-o", "remount,size=32m", str(out)], check=True)  # the disk is larger
        wait_for((out / "big/ranged.wav").exists, 90, what="the file once space was freed")
    finally:
        run.stop()
        proxy.down()
    assert_final(out, {"big/ranged.wav": data}, aws)


@needs_root
def test_an_unplugged_or_deleted_download_folder_waits_and_recovers(aws: Setup, tmp_path: Path, mounts: list[Path]) -> None:
    """Regression: with the folder's drive unmounted, keys went to the empty mount point on the system disk, and
    with the folder deleted, every download failed as an ordinary error until its message was given up."""
    out, drive = tmp_path / "out", tmp_path / "drive"
    # The drive is a tmpfs mounted at `out` through a bind mount, so that plugging it back in gives the folder the
    # drive's device number again (a second tmpfs would get whichever number is free, maybe another test's).
    _mount(drive, "size=4m,mode=0755")
    mounts.append(drive)
    _bind(drive, out)
    mounts.append(out)
    aws.put("first.wav", b"1" * 1000)
    run = start_engine(aws.config(str(out), retry_base_seconds=1, retry_max_seconds=2, max_attempts=2), tmp_path)
    try:
        wait_for((out / "first.wav").exists, 30, what="the first file")
        subprocess.run(["umount", str(out)], check=True)  # the drive is unplugged
        mounts.remove(out)
        aws.put("second.wav", b"2" * 1000)
        problem = wait_for(lambda: [n for n in run.needs_user() if n.title == "Download folder missing"], 30, what="a notification")
        assert "no longer on the disk" in problem[0].message
        wait_for(lambda: run.log.count("no longer on the disk") >= 3, 30, what="more tries, backing off")
        assert list(out.iterdir()) == [] and run.engine.status().given_up == 0 and sum(aws.counts()) == 1
        for leftover in drive.iterdir():
            leftover.unlink()
        _bind(drive, out)  # plugged back in (an empty drive here)
        mounts.append(out)
        (out / "first.wav").write_bytes(b"1" * 1000)
        wait_for((out / "second.wav").exists, 30, what="the second file")
        subprocess.run(["umount", str(out)], check=True)
        mounts.remove(out)
        out.rmdir()  # now the folder is deleted outright
        aws.put("third.wav", b"3" * 1000)
        wait_for(lambda: run.log.count(f"The download folder {out} is missing") >= 2, 30, what="the missing folder noticed")
        assert run.engine.status().given_up == 0 and sum(aws.counts()) == 1
    finally:
        run.stop()
    assert not out.exists()


@needs_root
def test_an_announced_size_larger_than_the_disk_is_that_objects_failure_not_a_hold_for_all(quiet_aws: Setup, tmp_path: Path,
                                                                                           mounts: list[Path]) -> None:
    """Regression: the announced size was reserved before any GET, and ENOSPC is a hold that spends no attempt: a
    message saying `size: 2**30` on a 64 MiB disk held every download, forever, for a key that need not exist."""
    from agent.engine.events import Downloaded, Failed
    from tests.aws import s3_event_body

    aws = quiet_aws
    out = tmp_path / "out"
    _mount(out, "size=64m,mode=0755")
    mounts.append(out)
    aws.put("real/small.wav", b"s" * 5000)
    aws.put("real/other.wav", b"o" * 7000)
    aws.send(s3_event_body(aws.bucket, "nowhere/huge.wav", size=2**30, etag="0123456789abcdef0123456789abcdef"))
    aws.send(s3_event_body(aws.bucket, "real/small.wav", size=2**30))  # a lie about a real object
    aws.send(s3_event_body(aws.bucket, "real/other.wav", size=7000))
    run = start_engine(aws.config(str(out), dead_letter_queue_url=aws.dlq_url, max_attempts=2, retry_base_seconds=1,
                                  retry_max_seconds=1), tmp_path)
    try:
        wait_for(lambda: len(run.of(Downloaded)) == 2, 60, what="both real files, while the lie is retried")
        wait_for(lambda: run.of(Failed), 60, what="the key that does not exist given up after its attempts")
        wait_for(lambda: aws.counts() == (0, 0), 30, what="an empty queue")
    finally:
        run.stop()
    assert [n.title for n in run.needs_user()] == [], "no hold: nothing the user must fix"
    assert run.log.count("disk holding the download folder is full") == 0
    [dead] = aws.dlq_messages()
    assert "nowhere/huge.wav" in dead["Body"]
    assert_final(out, {"real/small.wav": b"s" * 5000, "real/other.wav": b"o" * 7000}, aws)  # (the dead letter: read above)


@needs_root
def test_an_object_larger_than_the_whole_disk_is_retried_then_given_up_with_what_to_do(quiet_aws: Setup, tmp_path: Path,
                                                                                       mounts: list[Path]) -> None:
    from agent.engine.events import Failed
    from tests.aws import s3_event_body

    aws = quiet_aws
    out = tmp_path / "out"
    _mount(out, "size=1m,mode=0755")
    mounts.append(out)
    aws.put("big.wav", b"b" * (2 * 1024 * 1024))
    aws.send(s3_event_body(aws.bucket, "big.wav", size=2 * 1024 * 1024))
    run = start_engine(aws.config(str(out), dead_letter_queue_url=aws.dlq_url, max_attempts=2, retry_base_seconds=1,
                                  retry_max_seconds=1), tmp_path)
    try:
        failed = wait_for(lambda: run.of(Failed), 60, what="the object given up")
    finally:
        run.stop()
    assert "larger than the whole disk" in failed[0].reason and "choose a download folder on a larger disk" in failed[0].reason
    assert "gave up after 2 attempts" in failed[0].reason
    assert [n.title for n in run.needs_user()] == []
    assert temp_files(out) == [] and list(out.iterdir()) == []
