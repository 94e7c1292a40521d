"""A private, throwaway redis-server on a free loopback port: a broker a test
may stop and start without touching the machine's Redis (or other tests)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time

import redis

from tests.support.app_server import free_port


class RedisServer:
    """`start()` and `stop()` as often as a test likes; the port stays the same.
    Nothing is persisted, so a restart comes back empty, like a broker that lost its data."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._dir = tempfile.mkdtemp(prefix="browserq-redis-")
        self._proc: subprocess.Popen | None = None

    def start(self, timeout: float = 10) -> RedisServer:
        exe = shutil.which("redis-server") or "redis-server"
        self._proc = subprocess.Popen(
            [
                exe,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self._dir,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if redis.Redis.from_url(self.url, socket_timeout=0.5).ping():
                    return self
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait(timeout=10)
        self._proc = None

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
