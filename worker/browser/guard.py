"""The browser's network guard: what a task's pages may load.

Two independent rules, checked on every request the browser makes (not only
when the agent navigates), so a link, a form post, a redirect, `window.open`
or a script's `fetch` cannot reach what the rules forbid:

* `allowed_domains` (when the task sets it): the host must be one of them;
  `*.example.com` also matches `example.com` itself.
* Private addresses: a host that is, or resolves to, a loopback, private,
  link-local or otherwise non-public address is never loaded (the cloud
  metadata service at 169.254.169.254, the worker's own Redis...), unless it
  is listed in `settings.allow_private_hosts`.

Where each kind of traffic is checked, and why there:

* requests: `context.route("**/*")`, which pauses each request before it is
  sent, so a blocked one never leaves the browser (no packet to the host).
* redirects: Playwright does not route redirect hops, so each page gets a CDP
  session that pauses document responses (`Fetch`, response stage) and fails a
  3xx whose `Location` is forbidden before Chromium follows it. Only documents:
  they are few per page, and a page's own subresources cannot read a
  cross-origin redirect's answer.
* WebSockets: `context.route_web_socket`.
* top-level navigations to data:, blob:, javascript: and file: URLs (which no
  request carries): refused by the `navigate` action (`check_navigation`) and,
  when a page gets there by itself, sent back to about:blank.
* service workers fetch outside the routes; `CONTEXT_OPTIONS` blocks them.

Known gap: the name is resolved here and again by Chromium, so a host whose
DNS answer changes between the two (DNS rebinding) could slip through.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from playwright.async_api import BrowserContext, CDPSession, Frame, Page, Route, WebSocketRoute

log = logging.getLogger("browserq.browser")

# Merged into the context's options: service workers' requests bypass routes.
CONTEXT_OPTIONS: dict[str, Any] = {"service_workers": "block"}
NETWORK_SCHEMES = {"http", "https", "ws", "wss"}
# Top-level URLs that carry no request (so no route sees them): allowed only
# when the task did not restrict its domains. file: is never allowed.
LOCAL_SCHEMES = {"data", "blob", "javascript"}
BLOCKED_ERROR = "blockedbyclient"
# Beyond Python's is_private: shared address space (carrier-grade NAT).
EXTRA_PRIVATE = [ipaddress.ip_network("100.64.0.0/10")]

Notify = Callable[[str], None]


def is_private_address(address: str) -> bool:
    """True for every address a public web page has no business reaching."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_unspecified
        or ip.is_reserved or ip.is_multicast or any(ip in net for net in EXTRA_PRIVATE)
    )


def domain_matches(host: str, port: int | None, pattern: str) -> bool:
    """`example.com` matches that host; `*.example.com` it and its subdomains.
    A pattern with a port (`example.com:8080`) matches only that port."""
    pattern = pattern.strip().lower()
    name, _, want_port = pattern.partition(":")
    if want_port and str(port) != want_port:
        return False
    if name.startswith("*."):
        base = name[2:]
        return host == base or host.endswith("." + base)
    return host == name


def _ip_literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


@dataclass
class DomainGuard:
    """The rules for one task, and the host decisions made so far (a task's
    pages load the same few hosts over and over; each is resolved once)."""

    allowed_domains: list[str] | None
    allow_private_hosts: list[str] = field(default_factory=list)
    _private: dict[str, bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._exempt = {h.strip().lower().strip("[]") for h in self.allow_private_hosts}

    async def check_url(self, url: str) -> str | None:
        """Why the browser must not load `url` as a request, or None when it may."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in NETWORK_SCHEMES:
            return None  # not a network request (about:, chrome-error:...); navigations: check_navigation
        host = (parts.hostname or "").lower().rstrip(".")
        try:
            port = parts.port or {"http": 80, "ws": 80, "https": 443, "wss": 443}[scheme]
        except ValueError:
            return f"{url!r} has an invalid port"
        if self.allowed_domains is not None and not any(
            domain_matches(host, port, d) for d in self.allowed_domains
        ):
            return f"{host} is not in the task's allowed_domains ({', '.join(self.allowed_domains)})"
        if await self._is_private(host):
            return f"{host} is a private, loopback or link-local address, which the browser never loads"
        return None

    async def check_navigation(self, url: str) -> str | None:
        """Like `check_url`, plus the top-level URLs that carry no request."""
        scheme = urlsplit(url).scheme.lower()
        if scheme == "file":
            return "file: URLs are not allowed: the browser runs on the worker, whose files are not the task's"
        if scheme in LOCAL_SCHEMES and self.allowed_domains is not None:
            return f"{scheme}: URLs are not allowed when the task has allowed_domains"
        return await self.check_url(url)

    async def _is_private(self, host: str) -> bool:
        if not host or host in self._exempt:
            return False
        if host == "localhost" or host.endswith(".localhost"):
            return True  # Chromium answers these with loopback itself, without asking DNS
        if host not in self._private:
            self._private[host] = any(is_private_address(a) for a in await _addresses(host))
        return self._private[host]


async def _addresses(host: str) -> list[str]:
    """The host's addresses: itself when it is an IP literal, else what DNS says.
    A name that does not resolve has none: Chromium will fail to load it too."""
    literal = _ip_literal(host)
    if literal is not None:
        return [literal]
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return [str(info[4][0]) for info in infos]


class NetworkGuard:
    """Installs a DomainGuard on a browser context and tells the model (through
    `notify`, the session's events) what it blocked."""

    def __init__(self, rules: DomainGuard, notify: Notify) -> None:
        self.rules = rules
        self._notify = notify
        self._told: set[str] = set()
        self._cdp: list[CDPSession] = []

    async def install(self, context: BrowserContext) -> None:
        """Before any page loads anything: call it right after the context is made,
        and before other route handlers, which then run first (the ad blocker)."""
        await context.route("**/*", self._on_route)
        await context.route_web_socket("**/*", self._on_web_socket)
        context.on("page", lambda page: asyncio.ensure_future(self.watch_page(page)))
        for page in context.pages:
            await self.watch_page(page)

    async def check_navigation(self, url: str) -> str | None:
        return await self.rules.check_navigation(url)

    # -- requests ----------------------------------------------------------------

    async def _on_route(self, route: Route) -> None:
        request = route.request
        reason = await self.rules.check_url(request.url)
        if reason is None:
            await route.fallback()
            return
        self._tell_blocked(request.url, reason, _is_navigation(request))
        try:
            await route.abort(BLOCKED_ERROR)
        except Exception as exc:  # the page closed meanwhile; nothing was sent
            log.debug("network guard: abort failed: %s", exc)

    async def _on_web_socket(self, ws: WebSocketRoute) -> None:
        reason = await self.rules.check_url(ws.url)
        if reason is None:
            ws.connect_to_server()
            return
        await ws.close(code=1008, reason="blocked by the task's network rules")
        self._tell_blocked(ws.url, reason, navigation=False)

    def _tell_blocked(self, url: str, reason: str, navigation: bool) -> None:
        """Every blocked navigation is told; other requests once per host, since
        a page may retry a blocked tracker hundreds of times."""
        if navigation:
            self._notify(f"Blocked the navigation to {_short(url)}: {reason}.")
            return
        host = urlsplit(url).hostname or url
        if host not in self._told:
            self._told.add(host)
            self._notify(f"Blocked the page's requests to {host}: {reason}.")

    # -- redirects and URLs without a request --------------------------------------

    async def watch_page(self, page: Page) -> None:
        page.on("framenavigated", lambda frame: asyncio.ensure_future(self._on_navigated(page, frame)))
        try:
            cdp = await page.context.new_cdp_session(page)
            cdp.on("Fetch.requestPaused", lambda event: asyncio.ensure_future(self._on_response(cdp, event)))
            await cdp.send(
                "Fetch.enable",
                {"patterns": [{"urlPattern": "*", "resourceType": "Document", "requestStage": "Response"}]},
            )
            self._cdp.append(cdp)
        except Exception as exc:  # the page closed while we attached
            log.debug("network guard: cannot watch a page's redirects: %s", exc)

    async def _on_response(self, cdp: CDPSession, event: dict[str, Any]) -> None:
        """A document's response, before Chromium acts on it: stop a forbidden redirect."""
        request_id = event["requestId"]
        reason = await self._redirect_reason(event)
        try:
            if reason is None:
                await cdp.send("Fetch.continueRequest", {"requestId": request_id})
            else:
                await cdp.send("Fetch.failRequest", {"requestId": request_id, "errorReason": "BlockedByClient"})
        except Exception as exc:  # the page went away meanwhile
            log.debug("network guard: could not answer a paused response: %s", exc)

    async def _redirect_reason(self, event: dict[str, Any]) -> str | None:
        status = event.get("responseStatusCode") or 0
        if not 300 <= status < 400:
            return None
        headers = {h["name"].lower(): h["value"] for h in event.get("responseHeaders") or []}
        location = headers.get("location")
        if not location:
            return None
        target = urljoin(event["request"]["url"], location)
        reason = await self.rules.check_navigation(target)
        if reason is not None:
            self._notify(f"Blocked a redirect from {_short(event['request']['url'])} to {_short(target)}: {reason}.")
        return reason

    async def _on_navigated(self, page: Page, frame: Frame) -> None:
        """A page that reached a data:/blob:/file: document by itself is sent back."""
        if frame.parent_frame is not None:
            return
        reason = await self.rules.check_navigation(frame.url)
        if reason is None or urlsplit(frame.url).scheme.lower() in NETWORK_SCHEMES:
            return  # network URLs were checked when requested
        self._notify(f"Left {_short(frame.url)}: {reason}.")
        try:
            await page.goto("about:blank")
        except Exception as exc:
            log.debug("network guard: could not leave a forbidden page: %s", exc)


def _is_navigation(request: Any) -> bool:
    try:
        return bool(request.is_navigation_request())
    except Exception:
        return False


def _short(url: str, limit: int = 120) -> str:
    return url if len(url) <= limit else url[: limit - 3] + "..."
