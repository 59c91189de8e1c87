"""`make demo`: a local S3 + SQS server, a bucket that notifies a queue, awkward audio files, and the agent draining it."""

from __future__ import annotations

import io
import logging
import math
import os
import shutil
import struct
import subprocess
import sys
import wave
from pathlib import Path

import yaml

from tests.aws import make_setup, start_moto

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "demo-output"

AWKWARD_NAMES = [
    "sessions/2026-11-28/take 01.wav",
    "sessions/2026-11-28/take+02 (final).wav",
    "sessions/café & crème/100% mix.wav",
    "../../../escape attempt.wav",
    "CON.wav",
    "voice memos/ünïcödé ☃.wav",
    "not really audio.wav",
]


def tone(seconds: float, frequency: float, rate: int = 16_000) -> bytes:
    """A short sine tone as a WAV file, made with the standard library."""
    frames = b"".join(struct.pack("<h", int(12_000 * math.sin(2 * math.pi * frequency * n / rate))) for n in range(int(seconds * rate)))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)
    return buffer.getvalue()


def main() -> int:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    shutil.rmtree(DEMO, ignore_errors=True)
    DEMO.mkdir()
    server, endpoint = start_moto()
    print(f"Started a local S3 + SQS server (moto) at {endpoint}")
    try:
        aws = make_setup(endpoint)
        print(f"Created bucket {aws.bucket!r}, notifying queue {aws.queue_url}")
        for index, key in enumerate(AWKWARD_NAMES):
            data = b"this is text pretending to be a WAV file" if key.startswith("not really") else tone(0.5, 220 * (index + 1))
            aws.put(key, data)
            print(f"  uploaded {key!r} ({len(data):,} bytes)")

        folder = DEMO / "downloads"
        config = {
            "aws_region": "us-east-1",
            "sqs_queue_url": aws.queue_url,
            "download_folder": str(folder),
            "s3_bucket_name": aws.bucket,
            "endpoint_url": endpoint,
        }
        if _installed("audio-check"):
            config["plugins"] = [{"name": "audio-check"}]
        config_file = DEMO / "config.yaml"
        config_file.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        env = dict(os.environ, AWS_ACCESS_KEY_ID="demo", AWS_SECRET_ACCESS_KEY="demo",
                   XDG_DATA_HOME=str(DEMO / "data"), XDG_STATE_HOME=str(DEMO / "state"), XDG_CONFIG_HOME=str(DEMO / "config"))
        command = [sys.executable, "-m", "agent", "run", "--headless", "--config", str(config_file), "--drain"]
        print(f"\nRunning: s3-sqs-agent run --headless --config {config_file} --drain\n")
        code = subprocess.run(command, env=env, cwd=ROOT).returncode
        print(f"\nThe agent exited with code {code}. Files in {folder}:")
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            print(f"  {path.relative_to(folder)}  ({path.stat().st_size:,} bytes)")
        print(f"\nConfig: {config_file}\nLog:    {DEMO / 'state'}")
        return code
    finally:
        server.stop()


def _installed(plugin: str) -> bool:
    from agent.plugins.manager import installed_plugins

    return plugin in installed_plugins()


if __name__ == "__main__":
    sys.exit(main())
