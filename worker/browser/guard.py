"""What the model is told, and which URLs no connection carries, on top of
the egress proxy (worker/browser/egress.py), which is the rule: every
connection a task's browser makes passes its gate, which checks the task's
`allowed_domains` and the private-address rule (shared/netguard.py).

This module adds what a proxy cannot do:

* top-level URLs that carry no connection: only http(s) and about:blank, and
  data:, blob: and javascript: when the task did not restrict its domains. The
  `navigate` action refuses the rest with a reason (`check_navigation`:
  chrome://version, file:, view-source:...), and a page that got to one by
  itself is sent back to about:blank.
* a clear message to the model: when a request fails because the gate refused
  its connection, the task's events say what was blocked and why (every
  blocked navigation and redirect; other requests once per host).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from urllib.parse import urlsplit

from playwright.async_api import BrowserContext, Frame, Page, Request

from shared.netguard import ip_literal
from worker.browser.egress import Gate

log = logging.getLogger("browserq.browser")

NETWORK_SCHEMES = {"http", "https", "ws", "wss"}
# Top-level URLs that carry no request: allowed only when the task did not
# restrict its domains.
LOCAL_SCHEMES = {"data", "blob", "javascript"}
# How Chromium reports a connection its SOCKS proxy (the gate) did not open: refused,
# or allowed with nobody answering (the gate knows which).
REFUSED_ERRORS = ("ERR_SOCKS_CONNECTION_FAILED", "ERR_SOCKS_CONNECTION_HOST_UNREACHABLE")

Notify = Callable[[str], None]


class NetworkGuard:
    """One task's navigation rules and messages, over its context's gate."""

    def __init__(self, gate: Gate, notify: Notify) -> None:
        self.gate = gate
        self._notify = notify
        self._told: set[str] = set()

    async def install(self, context: BrowserContext) -> None:
        """Right after the context is made, before any page loads."""
        context.on("requestfailed", self._on_failed)
        context.on("page", self.watch_page)
        for page in context.pages:
            self.watch_page(page)

    async def check_navigation(self, url: str) -> str | None:
        """Why the `navigate` action must not open `url` (its scheme, or allowed_domains), or None.
        Private addresses are the gate's to refuse: see `refusal`."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme == "file":
            return "file: URLs are not allowed: the browser runs on the worker, whose files are not the task's"
        if scheme in LOCAL_SCHEMES:
            if self.gate.rules.allowed_domains is not None:
                return f"{scheme}: URLs are not allowed when the task has allowed_domains"
            return None
        if url.lower() == "about:blank":
            return None
        if scheme not in {"http", "https"}:
            return f"{scheme}: URLs are not allowed: the browser opens http(s) pages (and about:blank) only"
        host = (parts.hostname or "").lower().rstrip(".")
        try:
            port = parts.port or (443 if scheme == "https" else 80)
        except ValueError:
            return f"{url!r} has an invalid port"
        return self.gate.rules.domain_refusal(host, port)

    def refusal(self, url: str) -> str | None:
        """Why the gate did not open the last connection to `url`'s host and port, if it did not."""
        target = _target(url)
        reason = self.gate.refused.get(target)
        if reason is None and target in self.gate.unanswered:
            return "the site did not answer (nothing accepts connections there)"
        return reason

    # -- messages ----------------------------------------------------------------

    def _on_failed(self, request: Request) -> None:
        failure = request.failure or ""
        if not any(code in failure for code in REFUSED_ERRORS):
            return
        reason = self.gate.refused.get(_target(request.url))
        if reason is None:
            return
        if not _is_navigation(request):
            host = _host(request.url)
            if host not in self._told:
                self._told.add(host)
                self._notify(f"Blocked the page's requests to {host}: {reason}.")
            return
        source = request.redirected_from
        if source is not None:
            self._notify(f"Blocked a redirect from {_short(source.url)} to {_short(request.url)}: {reason}.")
        else:
            self._notify(f"Blocked the navigation to {_short(request.url)}: {reason}.")

    # -- URLs without a connection -------------------------------------------------

    def watch_page(self, page: Page) -> None:
        page.on("framenavigated", lambda frame: asyncio.ensure_future(self._on_navigated(page, frame)))

    async def _on_navigated(self, page: Page, frame: Frame) -> None:
        """A page that reached a data:/blob:/chrome:... document by itself is sent back."""
        if frame.parent_frame is not None or urlsplit(frame.url).scheme.lower() in NETWORK_SCHEMES:
            return
        if frame.url.startswith("chrome-error:"):
            return  # Chromium's own error page for a failed load
        reason = await self.check_navigation(frame.url)
        if reason is None:
            return
        self._notify(f"Left {_short(frame.url)}: {reason}.")
        try:
            await page.goto("about:blank")
        except Exception as exc:
            log.debug("network guard: could not leave a forbidden page: %s", exc)


def _host(url: str) -> str:
    """The host as the gate names it (IP addresses in their canonical text)."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    literal = ip_literal(host)
    return str(literal) if literal is not None else host


def _target(url: str) -> str:
    """ "host:port" as the gate keys its outcomes."""
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme.lower() in {"https", "wss"} else 80)
    except ValueError:
        port = 0
    return f"{_host(url)}:{port}"


def _is_navigation(request: Request) -> bool:
    try:
        return bool(request.is_navigation_request())
    except Exception:
        return False


def _short(url: str, limit: int = 120) -> str:
    return url if len(url) <= limit else url[: limit - 3] + "..."
