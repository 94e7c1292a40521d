"""The one start-up the test servers share (tests/support/app_server.py): the site and the
detection page answer once their `with` block is entered, stop answering once it is left,
and a server that cannot start says so instead of letting a test talk to nothing."""

from __future__ import annotations

import socket

import httpx
import pytest
from starlette.applications import Starlette

from tests.support.app_server import AppServer
from tests.support.detection_site import DetectionSite
from tests.support.site import SiteServer


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        return True
    return False


def test_site_answers_inside_and_is_gone_after() -> None:
    with SiteServer() as site:
        assert "Test shop" in httpx.get(site.url + "/").text
        port = site.port
    assert _refused(port)


def test_detection_page_answers_inside_and_is_gone_after() -> None:
    with DetectionSite() as detection:
        response = httpx.get(detection.url("r1"))
        assert response.status_code == 200
        assert "r1" in detection.headers
        port = detection.port
    assert _refused(port)


# uvicorn ends its thread with SystemExit when it cannot bind; that is the case under test.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_server_that_cannot_bind_raises() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = AppServer(Starlette(), port=taken.getsockname()[1])
        with pytest.raises(RuntimeError, match="did not start"):
            server.start()
        server.stop()
