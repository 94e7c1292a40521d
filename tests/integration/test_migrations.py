"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.stack import drop_postgres_db, fresh_postgres_db

CHECK = "from shared.migrate import upgrade_database, pending_changes; upgrade_database(); print(pending_changes())"


@pytest.mark.parametrize("kind", ["postgres", "sqlite"])
def test_migrations_match_models(kind: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = fresh_postgres_db() if kind == "postgres" else f"sqlite:///{tmp_path / 'db.sqlite'}"
    try:
        env = {"BROWSERQ_DATABASE_URL": url, "PATH": "/usr/bin:/bin"}
        out = subprocess.run([sys.executable, "-c", CHECK], env=env, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout
    finally:
        if kind == "postgres":
            drop_postgres_db(url)
