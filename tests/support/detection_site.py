"""A page of public bot-detection checks and FingerprintJS BotD (vendored under
tests/fixtures/detection with its MIT notice), served on 127.0.0.1. Each visit,
`/detection/checks.html?run=ID`, posts what it found to `/detection/verdict?run=ID`;
the request headers of the visit (Sec-CH-UA, Accept-Language) are kept beside it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from tests.support.app_server import AppServer

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "detection"


class DetectionSite:
    def __init__(self) -> None:
        self.headers: dict[str, dict[str, str]] = {}
        self.verdicts: dict[str, dict[str, Any]] = {}
        self.app = Starlette(
            routes=[
                Route("/detection/checks.html", self._checks),
                Route("/detection/botd-2.0.0.esm.js", lambda _r: FileResponse(FIXTURES / "botd-2.0.0.esm.js")),
                Route("/detection/verdict", self._verdict, methods=["POST"]),
            ]
        )
        self._served = AppServer(self.app)
        self.port = self._served.port

    def url(self, run: str) -> str:
        return f"http://127.0.0.1:{self.port}/detection/checks.html?run={run}"

    async def _checks(self, request: Request) -> Response:
        self.headers[request.query_params.get("run", "")] = {k.lower(): v for k, v in request.headers.items()}
        return FileResponse(FIXTURES / "checks.html", headers={"cache-control": "no-store"})

    async def _verdict(self, request: Request) -> Response:
        self.verdicts[request.query_params.get("run", "")] = await request.json()
        return Response(status_code=204)

    def verdict(self, run: str, timeout: float = 30) -> dict[str, Any]:
        """What the visit `run` found, with its request headers under "headers"."""
        deadline = time.monotonic() + timeout
        while run not in self.verdicts:
            assert time.monotonic() < deadline, f"no verdict for {run} within {timeout} s"
            time.sleep(0.1)
        return {**self.verdicts[run], "headers": self.headers.get(run, {})}

    def __enter__(self) -> DetectionSite:
        self._served.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._served.stop()
