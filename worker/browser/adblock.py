"""use_adblock: requests pages make to ad and tracker hosts (and their
subdomains) are aborted, from a list shipped with the package or the
operator's own file (`BROWSERQ_ADBLOCK_HOSTS_FILE`).

The hosts become one regular expression handed to `context.route`, so
Playwright matches URLs in its driver and only blocked requests reach Python;
everything else never leaves Chromium's fast path. The handler passes what it
does not block on with `route.fallback()`, so it composes with other route
handlers (the domain guard): register it last, it then runs first."""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from pathlib import Path

from playwright.async_api import BrowserContext, Request, Route

from shared.settings import Settings

log = logging.getLogger("browserq.browser")

DEFAULT_HOSTS_FILE = Path(__file__).with_name("adblock_hosts.txt")
_HOST = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")
_SINK_ADDRESSES = {"0.0.0.0", "127.0.0.1", "::", "::1"}


def parse_hosts(text: str) -> list[str]:
    """One host a line; '#' comments; hosts-file lines ("0.0.0.0 ads.example.com") too."""
    hosts: list[str] = []
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) > 1 and words[0] in _SINK_ADDRESSES:
            words = words[1:]
        for word in words:
            host = word.strip().lower().rstrip(".")
            if _HOST.fullmatch(host):
                hosts.append(host)
    return sorted(set(hosts))


def url_pattern(hosts: list[str]) -> re.Pattern[str]:
    """Matches http(s)/ws URLs whose host is one of `hosts` or a subdomain of one.
    Written in the syntax Python and JavaScript share, since Playwright runs it in JS."""
    alternatives = "|".join(re.escape(h) for h in sorted(hosts, key=len, reverse=True))
    return re.compile(rf"^[a-z][a-z0-9+.-]*://([^/?#@]*@)?([^/?#@:]*\.)?({alternatives})(:[0-9]+)?([/?#]|$)", re.I)


@lru_cache(maxsize=4)
def _pattern_for(path: Path) -> re.Pattern[str] | None:
    try:
        hosts = parse_hosts(path.read_text(encoding="utf-8", errors="replace"))
    except OSError as exc:
        raise RuntimeError(
            f"cannot read the ad block list {path}: {exc}; fix BROWSERQ_ADBLOCK_HOSTS_FILE or unset it"
        ) from None
    log.info("ad blocker: %d hosts from %s", len(hosts), path)
    return url_pattern(hosts) if hosts else None


def blocked_url_pattern(settings: Settings) -> re.Pattern[str] | None:
    """The configured list as a pattern (read once per process); None when the list is empty."""
    return _pattern_for(Path(settings.adblock_hosts_file or DEFAULT_HOSTS_FILE).resolve())


async def install_adblock(context: BrowserContext, settings: Settings) -> None:
    pattern = blocked_url_pattern(settings)
    if pattern is not None:
        await context.route(pattern, _block)


async def _block(route: Route) -> None:
    """Abort what a page loads from a listed host; let a top-level navigation through."""
    request = route.request
    if _is_top_level_navigation(request):
        await route.fallback()
        return
    await route.abort("blockedbyclient")


def _is_top_level_navigation(request: Request) -> bool:
    try:
        return request.is_navigation_request() and request.frame.parent_frame is None
    except Exception:  # a service worker's request has no frame
        return False
