"""The lock is what every machine installs: it must match pyproject.toml's
ranges, and a range changed without a new lock must fail CI saying what to run."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCKED = ["pyproject.toml", "uv.lock", "requirements", "bench/browser-use", "tests/clients/sdk2", "scripts/lock"]


def _copy(tmp_path: Path) -> Path:
    for name in LOCKED:
        source, target = ROOT / name, tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, target)
    return tmp_path


def _check(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "scripts/lock", "--check"], cwd=root, capture_output=True, text=True, timeout=120)


def test_the_committed_lock_matches_pyproject(tmp_path: Path) -> None:
    result = _check(_copy(tmp_path))
    assert result.returncode == 0, result.stderr


def test_a_changed_range_without_a_new_lock_fails_saying_what_to_run(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    pyproject = root / "pyproject.toml"
    text = pyproject.read_text()
    assert '"rich>=13,<16"' in text
    pyproject.write_text(text.replace('"rich>=13,<16"', '"rich>=13,<14"'))
    result = _check(root)
    assert result.returncode == 1
    assert "Run scripts/lock and commit the result" in result.stderr


def test_an_export_edited_by_hand_fails(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    requirements = root / "requirements" / "run.txt"
    requirements.write_text(requirements.read_text().replace("alembic==", "alembic>=", 1))
    result = _check(root)
    assert result.returncode == 1
    assert "requirements/*.txt differ from uv.lock" in result.stderr


def test_every_install_path_uses_the_lock() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "pip install -r requirements/run.txt && pip install --no-deps -e ." in readme
    assert "pip install -r requirements/test.txt && pip install --no-deps -e . && python -m pytest -q" in readme
    assert (
        "pip install -q -r requirements/test.txt && pip install -q --no-deps -e ." in (ROOT / ".ci" / "run").read_text()
    )
    assert "pip install --no-cache-dir -r requirements/run.txt" in (ROOT / "Dockerfile").read_text()
