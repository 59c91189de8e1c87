"""A Python whose OpenSSL runs in FIPS mode refuses MD5 for security use: ETag comparisons must still work there."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT

# What a FIPS-mode system configures: only algorithms with the `fips=yes` property may be fetched by default.
# Plain hashlib.md5() then raises; hashlib.md5(usedforsecurity=False) still works (it asks for any implementation).
FIPS_OPENSSL_CONF = """\
openssl_conf = openssl_init
[openssl_init]
alg_section = evp_properties
[evp_properties]
default_properties = fips=yes
"""

CHECK = """
import sys
from pathlib import Path
from agent.engine.objects import content_matches
path, size, etag, expected = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4] == "True"
sys.exit(0 if content_matches(path, size, etag) is expected else 1)
"""


def _run_in_fips_mode(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    conf = tmp_path / "openssl-fips.cnf"
    conf.write_text(FIPS_OPENSSL_CONF)
    return subprocess.run([sys.executable, "-c", CHECK, *args], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "OPENSSL_CONF": str(conf)})


def test_the_fips_configuration_really_refuses_md5(tmp_path: Path) -> None:
    conf = tmp_path / "openssl-fips.cnf"
    conf.write_text(FIPS_OPENSSL_CONF)
    result = subprocess.run([sys.executable, "-c", "import hashlib; hashlib.md5(b'x')"], capture_output=True, text=True,
                            timeout=60, env={**os.environ, "OPENSSL_CONF": str(conf)})
    assert result.returncode != 0 and "unsupported" in result.stderr


def test_single_part_and_multipart_etags_are_compared_in_fips_mode(tmp_path: Path) -> None:
    data = os.urandom(9 * 1024 * 1024)
    path = tmp_path / "take.wav"
    path.write_bytes(data)
    single = hashlib.md5(data, usedforsecurity=False).hexdigest()
    parts = [hashlib.md5(data[i:i + 8 * 1024 * 1024], usedforsecurity=False).digest() for i in range(0, len(data), 8 * 1024 * 1024)]
    multipart = f"{hashlib.md5(b''.join(parts), usedforsecurity=False).hexdigest()}-{len(parts)}"
    for etag, expected in ((single, True), (multipart, True), ("0" * 32, False), ("0" * 32 + "-2", False)):
        result = _run_in_fips_mode(tmp_path, str(path), str(len(data)), etag, str(expected))
        assert result.returncode == 0, f"content_matches({etag!r}) should be {expected}: {result.stderr}"
