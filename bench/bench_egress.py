"""What the worker's egress proxy costs (run by hand; figures in docs/benchmarks.md):
the CPU its loop spends per connection (SOCKS handshake, the checks, the
connect, the relay of one small page) and per MB relayed, and the wall time of
a request through a gate next to the same request made directly.

Clients are `curl` processes (their CPU is not ours); the gate runs on this
process's loop, whose thread's CPU time is what is counted, less what the same
requests made directly cost it (starting curl); the site is the test site, in
a thread of its own.

    python bench/bench_egress.py [--requests 200] [--smoke]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.netguard import AllowList
from tests.support.site import SiteServer
from worker.browser.egress import Egress, Rules


async def fetch(url: str, proxy: str | None) -> float:
    """One request by curl; returns its wall time (curl's own start-up included)."""
    args = ["curl", "-s", "-o", "/dev/null", "--max-time", "10"]
    if proxy:
        args += ["--socks5-hostname", proxy]
    start = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(*args, url)
    if await proc.wait() != 0:
        raise RuntimeError(f"curl failed for {url}")
    return time.perf_counter() - start


async def measure(site: SiteServer, requests: int) -> None:
    gate = await Egress().open(Rules(None, AllowList.parse([f"127.0.0.1:{site.port}"])))
    proxy = f"127.0.0.1:{gate.port}"
    small, large = f"{site.url}/login", site.add_page("bench-mb", "<p>" + "x" * 1_000_000 + "</p>")
    try:
        await fetch(small, proxy)  # warm up
        # This thread also starts the curl processes: the direct runs measure that part.
        cpu = time.thread_time()
        direct = [await fetch(small, None) for _ in range(requests)]
        spawn = (time.thread_time() - cpu) / requests
        cpu = time.thread_time()
        proxied = [await fetch(small, proxy) for _ in range(requests)]
        per_connection = (time.thread_time() - cpu) / requests - spawn
        rounds = max(1, requests // 20)
        cpu = time.thread_time()
        for _ in range(rounds):
            await fetch(large, proxy)
        per_mb = (time.thread_time() - cpu) / rounds - per_connection
    finally:
        await gate.close()
    print(f"requests: {requests} small, {rounds} of 1 MB; connections through the gate: {gate.connections}")
    print(
        f"wall per small request   direct {statistics.median(direct) * 1000:6.2f} ms   "
        f"through the gate {statistics.median(proxied) * 1000:6.2f} ms   (median; curl's start included)"
    )
    print(
        f"gate CPU per connection  {per_connection * 1000:6.3f} ms"
        "   (handshake, checks, connect, relay of a small page)"
    )
    print(f"gate CPU per MB relayed  {per_mb * 1000:6.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--smoke", action="store_true", help="the smallest run: a few requests, no claims")
    args = parser.parse_args()
    with SiteServer() as site:
        asyncio.run(measure(site, 3 if args.smoke else args.requests))


if __name__ == "__main__":
    main()
