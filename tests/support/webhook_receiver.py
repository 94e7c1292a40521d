"""A webhook receiver for tests: a real HTTP server on 127.0.0.1 that records
every POST and answers with the status codes a test plans per path."""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.app_server import free_port


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    raw: bytes
    at: float

    @property
    def body(self) -> dict[str, Any]:
        return json.loads(self.raw)


@dataclass
class WebhookReceiver:
    port: int = field(default_factory=free_port)
    received: list[Received] = field(default_factory=list)
    # path -> status codes to answer in turn; the last one repeats. Default: 200.
    plans: dict[str, list[int]] = field(default_factory=dict)
    _served: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def __enter__(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                receiver.received.append(Received(self.path, dict(self.headers.items()), raw, time.monotonic()))
                plan = receiver.plans.get(self.path, [200])
                n = receiver._served[self.path]
                receiver._served[self.path] += 1
                code = plan[min(n, len(plan) - 1)]
                self.send_response(code)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *_args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def at(self, path: str) -> list[Received]:
        return [r for r in list(self.received) if r.path == path]

    def wait_for(self, path: str, predicate: Any, timeout: float = 30) -> list[Received]:
        """Poll until predicate(requests to path) is true; returns those requests."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.at(path)
            if predicate(got):
                return got
            time.sleep(0.05)
        raise AssertionError(
            f"the receiver did not get what was expected at {path} in {timeout}s: {[r.body for r in self.at(path)]}"
        )
