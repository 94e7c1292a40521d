"""Launching Chromium: the executable from settings, else Playwright's own
browser, else `chromium` on PATH (Debian's package), with the flags that keep
its traffic on the worker's egress proxy."""

from __future__ import annotations

import os
import shutil

from playwright.async_api import Browser, Playwright

from shared.settings import Settings

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    # What the egress proxy would not see (every context connects through it; see
    # worker/browser/egress.py): no QUIC, and WebRTC only over the proxy's TCP (no UDP
    # of its own, no host candidates). WebTransport (QUIC) Chromium refuses by itself
    # in a context with a proxy (tested: tests/e2e/test_egress.py).
    "--disable-quic",
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
]


def executable_path(playwright: Playwright, settings: Settings) -> str | None:
    if settings.chromium_path:
        return settings.chromium_path
    bundled = playwright.chromium.executable_path
    if bundled and os.path.exists(bundled):
        return None
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


async def launch_chromium(playwright: Playwright, settings: Settings) -> Browser:
    return await playwright.chromium.launch(
        executable_path=executable_path(playwright, settings),
        headless=settings.headless,
        args=CHROMIUM_ARGS,
        handle_sigint=False,
        handle_sigterm=False,
        handle_sighup=False,
    )
