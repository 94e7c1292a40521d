"""A gate chained behind each kind of upstream proxy an operator configures
(BROWSERQ_PROXIES): an HTTP proxy with credentials (HTTP CONNECT) and a SOCKS5
proxy (here: another gate, which is one). Real sockets, `curl` as the client,
the test site behind. The rules still hold in front of the upstream."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator

import pytest

from shared.netguard import AllowList
from tests.support.forward_proxy import ForwardProxy
from tests.support.site import SiteServer
from worker.browser.egress import Egress, Rules


@pytest.fixture(scope="module")
def site() -> Iterator[SiteServer]:
    with SiteServer() as server:
        yield server


def curl(proxy_port: int, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["curl", "-s", "--max-time", "10", "--socks5-hostname", f"127.0.0.1:{proxy_port}", url],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )


async def through(upstream: str, site: SiteServer, urls: list[str]) -> list[subprocess.CompletedProcess[str]]:
    allow = AllowList.parse([f"127.0.0.1:{site.port}"])
    gate = await Egress().open(Rules([f"127.0.0.1:{site.port}"], allow, upstream=upstream))
    try:
        return [await asyncio.to_thread(curl, gate.port, url) for url in urls]
    finally:
        await gate.close()


def test_an_http_upstream_gets_a_connect_with_the_credentials(site: SiteServer) -> None:
    with ForwardProxy(username="bq-user", password="pa:ss@word") as upstream:
        url = upstream.url
        ok, refused = asyncio.run(through(url, site, [f"{site.url}/login", "http://127.0.0.2:9/"]))
        assert ok.returncode == 0 and "Sign in" in ok.stdout
        assert upstream.forwarded == [f"CONNECT 127.0.0.1:{site.port}"] and upstream.refused == 0
    assert refused.returncode != 0  # not in allowed_domains: never sent upstream


def test_a_socks5_upstream_carries_the_tunnel(site: SiteServer) -> None:
    async def run() -> tuple[list[subprocess.CompletedProcess[str]], int]:
        upstream = await Egress().open(Rules(None, AllowList.parse([f"127.0.0.1:{site.port}"])))
        try:
            results = await through(f"socks5://127.0.0.1:{upstream.port}", site, [f"{site.url}/login"])
            return results, upstream.connections
        finally:
            await upstream.close()

    (ok,), connections = asyncio.run(run())
    assert ok.returncode == 0 and "Sign in" in ok.stdout and connections == 1
