"""The dependency gate (deptry in scripts/gates): product code that imports a package
the runtime set does not install fails, naming the import and the file. That is how
`psutil`, a test-only package imported by the worker, once reached every newcomer's
venv and every image as a worker that died at start."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ["api", "worker", "shared", "cli"]


def _gate(tmp_path: Path, extra_imports: list[str]) -> subprocess.CompletedProcess[str]:
    for name in PRODUCT:
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    module = tmp_path / "worker" / "admission.py"
    module.write_text(module.read_text() + "".join(f"\nimport {name}  # noqa: E402,F401" for name in extra_imports))
    return subprocess.run(
        ["deptry", *PRODUCT],
        cwd=tmp_path,
        env={"PATH": str(Path(shutil.which("deptry") or "deptry").parent), "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_product_imports_only_the_runtime_set(tmp_path: Path) -> None:
    result = _gate(tmp_path, [])
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_test_only_or_transitive_import_in_product_code_fails_naming_it_and_the_file(tmp_path: Path) -> None:
    """pytest: of the test extra only; click: only typer pulls it in, pyproject does not name it."""
    result = _gate(tmp_path, ["pytest", "click"])
    said = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)
    assert result.returncode != 0, said
    assert re.search(r"worker/admission\.py:\d+:\d+: DEP004 'pytest'", said), said
    assert re.search(r"worker/admission\.py:\d+:\d+: DEP003 'click'", said), said
