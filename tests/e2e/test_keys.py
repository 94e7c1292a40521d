"""`browserq keys list` and `keys revoke`: a revoked key is refused by the
running API within a second, while it was being polled (so cached), on v1 and v2."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
import pytest

from tests.support.stack import Stack, poll

pytestmark = pytest.mark.e2e


def test_list_and_revoke_take_effect_at_once(stack: Stack) -> None:
    out = stack.cli("keys", "create", "to-revoke").strip().splitlines()
    key = out[-1]
    prefix = key[:10]
    listed = stack.cli("keys", "list")
    assert f"{prefix}..." in listed and "to-revoke" in listed and key not in listed
    with stack.client(key) as client:
        for _ in range(5):  # the API now holds the key in its cache
            assert client.get("/tasks").status_code == 200
        said = stack.cli("keys", "revoke", prefix)
        revoked_at = time.monotonic()
        assert "revoked" in said
        poll("the revoked key to be refused", lambda: client.get("/tasks").status_code == 401, timeout=2, every=0.05)
        refused_after = time.monotonic() - revoked_at
    v2 = httpx.get(f"{stack.url}/api/v2/tasks", headers={"X-Browser-Use-API-Key": key})
    assert v2.status_code == 401, v2.text
    assert f"{prefix}..." not in stack.cli("keys", "list")
    assert f"{prefix}..." in stack.cli("keys", "list", "--all")
    with stack.client() as other:  # the other keys go on working
        assert other.get("/tasks").status_code == 200
    print(f"revoked key refused {refused_after:.2f} s after `keys revoke` returned")


def test_revoke_names_exactly_one_key(stack: Stack) -> None:
    stack.cli("keys", "create", "one")
    stack.cli("keys", "create", "two")
    for prefix in ["bq_", "nosuchkey"]:
        result = subprocess.run(
            [sys.executable, "-m", "cli", "keys", "revoke", prefix],
            env=stack.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 2, result
        assert "expected exactly one active key" in result.stderr
