"""The checks on this computer: the config itself, the download folder, and the clock against the endpoint's."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from pathlib import Path

from botocore import UNSIGNED
from botocore.config import Config as BotoConfig

from agent.aws.doctor.check import CLOCK, CONFIG, FOLDER, Check, duration, size, skipped
from agent.aws.doctor.probe import Probe
from agent.engine import aws

LOW_SPACE_BYTES = 100 * 1024**2  # below this the folder check fails: a few audio files would fill it
SKEW_WARNING_SECONDS = 60
SKEW_LIMIT_SECONDS = 5 * 60  # AWS refuses requests signed more than 15 minutes off; fail well before that


def check_config(probe: Probe) -> Check:
    where = f"{probe.config.source} is" if probe.config.source else "The settings are"
    plugins = f"; plugins: {', '.join(p.name for p in probe.config.plugins)}" if probe.config.plugins else ""
    return Check(CONFIG, True, f"{where} valid{plugins}.")


def check_folder(probe: Probe) -> Check:
    folder = Path(probe.config.download_folder)
    existing = folder
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        return Check(FOLDER, False, f"{existing} is a file, not a folder.", "Choose another download folder.")
    try:
        free = shutil.disk_usage(existing).free
    except OSError as exc:
        return Check(FOLDER, False, f"Cannot reach {existing} ({exc.strerror or exc}).",
                     "Plug the drive in or connect the share, or choose another download folder.")
    if existing != folder:
        if not os.access(existing, os.W_OK | os.X_OK):
            return Check(FOLDER, False, f"{folder} does not exist, and it cannot be created in {existing} (permission denied).",
                         "Choose a folder in your home folder, or give your user write permission there.")
        state = "will be created when the agent starts"
    else:
        try:
            fd, name = tempfile.mkstemp(dir=folder, prefix=f".s3-sqs-agent-doctor-{uuid.uuid4().hex[:8]}-")
            os.close(fd)
            os.unlink(name)
        except OSError as exc:
            return Check(FOLDER, False, f"Cannot write to {folder} ({exc.strerror or exc}).",
                         "Give your user write permission to the folder, or choose another download folder.")
        state = "writable"
    if free < LOW_SPACE_BYTES:
        return Check(FOLDER, False, f"{folder}: {state}, but only {size(free)} free.",
                     "Free some space on that disk, or choose a folder on another disk.")
    return Check(FOLDER, True, f"{folder}: {state}; {size(free)} free.")


CLOCK_FIX = ("set the date and time automatically (Windows: Settings, Time & language; macOS: System Settings, General, "
              "Date & Time; Linux: timedatectl set-ntp true).")


def check_clock(probe: Probe) -> Check:
    if probe.unreachable:
        return skipped(CLOCK, "the endpoint cannot be reached")
    if probe.server_date is None:
        with contextlib.suppress(Exception):  # an unsigned request: whatever it answers, its Date header is enough
            probe.watch(aws.make_client(aws.make_session(probe.config), "sts", probe.config.endpoint_url,
                                        aws.CLIENT_SETTINGS.merge(BotoConfig(signature_version=UNSIGNED)))).get_caller_identity()
    if probe.server_date is None or probe.local_date is None:
        return Check(CLOCK, None, "Not checked: the endpoint sent no Date header.")
    skew = (probe.local_date - probe.server_date).total_seconds()
    if abs(skew) > SKEW_LIMIT_SECONDS:
        return Check(CLOCK, False, f"This computer's clock is {duration(abs(skew))} {'fast' if skew > 0 else 'slow'} "
                     "compared with the endpoint's; AWS refuses requests signed more than 15 minutes off.",
                     CLOCK_FIX[0].upper() + CLOCK_FIX[1:])
    if abs(skew) > SKEW_WARNING_SECONDS:
        return Check(CLOCK, True, f"{duration(abs(skew))} {'fast' if skew > 0 else 'slow'}: within what AWS accepts, "
                     "but setting the time automatically would be wise.")
    return Check(CLOCK, True, "In step with the endpoint's (within a minute).")
