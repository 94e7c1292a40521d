"""Where this machine's browserq processes keep their metric counts. Separate
from shared.metrics on purpose: prometheus_client decides at import whether
it counts per process or in shared files, so the folder must be set before
anything imports it (the CLI calls this first thing)."""

from __future__ import annotations

import os
from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def share_metrics_folder(folder: Path, *, clear: bool = False) -> Path:
    """Points this process and its children at one folder (PROMETHEUS_MULTIPROC_DIR
    wins when already set). `clear` drops earlier runs' files: only safe while no
    process of this machine's service runs."""
    os.environ.setdefault(MULTIPROC_ENV, str(folder.resolve()))
    target = Path(os.environ[MULTIPROC_ENV])
    target.mkdir(parents=True, exist_ok=True)
    if clear:
        for old in target.glob("*.db"):
            old.unlink(missing_ok=True)
    return target


def metrics_folder() -> Path | None:
    value = os.environ.get(MULTIPROC_ENV)
    return Path(value) if value else None
