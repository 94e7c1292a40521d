"""A venv holding browser-use-sdk 2.x, exactly as tests/clients/sdk2/uv.lock pins it
(exported to requirements/sdk2.txt): the test set has 3.x, and one venv cannot hold
both majors, so the 2.x client's tests run their script in this venv's Python.
Built once and reused while the lock is unchanged (BROWSERQ_SDK2_VENV, default
/tmp/browserq-sdk2-venv); a file lock keeps parallel test runs from building it twice."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

LOCK = Path(__file__).resolve().parents[2] / "requirements" / "sdk2.txt"
VENV = Path(os.environ.get("BROWSERQ_SDK2_VENV", "/tmp/browserq-sdk2-venv"))
STAMP = ".browserq-lock"


def sdk2_python() -> Path:
    """The venv's python, built from the lock first if it is missing or out of date."""
    VENV.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{VENV}.lock", "w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        if not _current():
            _build()
    return VENV / "bin" / "python"


def _current() -> bool:
    stamp = VENV / STAMP
    return (VENV / "bin" / "python").exists() and stamp.is_file() and stamp.read_bytes() == LOCK.read_bytes()


def _build() -> None:
    """Into a fresh folder beside the old one, then swapped in, so a failed build leaves nothing half-made."""
    fresh = Path(tempfile.mkdtemp(prefix=VENV.name + ".", dir=VENV.parent))
    uv = shutil.which("uv") or "uv"
    subprocess.run([uv, "venv", "-q", "--allow-existing", "--python", sys.executable, str(fresh)], check=True)
    env = {**os.environ, "VIRTUAL_ENV": str(fresh)}
    subprocess.run([uv, "pip", "sync", "-q", "--require-hashes", str(LOCK)], check=True, env=env)
    (fresh / STAMP).write_bytes(LOCK.read_bytes())
    shutil.rmtree(VENV, ignore_errors=True)
    fresh.rename(VENV)
