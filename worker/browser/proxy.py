"""use_proxy: the proxy the operator configured for the task's country
(`BROWSERQ_PROXIES='{"us": "http://user:pass@proxy-us:8080"}'`), in the form
Playwright's `new_context(proxy=...)` takes."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from shared.settings import Settings


def proxy_for(country_code: str, settings: Settings) -> dict[str, str] | None:
    """Playwright proxy settings for this country, or None when none is configured."""
    url = settings.proxies.get(country_code.lower())
    return playwright_proxy(url) if url else None


def playwright_proxy(url: str) -> dict[str, str]:
    """Split credentials out of the URL: Chromium takes them separately (answering the 407)."""
    parts = urlsplit(url)
    host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname
    server = f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")
    proxy = {"server": server}
    if parts.username:
        proxy["username"] = unquote(parts.username)
        proxy["password"] = unquote(parts.password or "")
    return proxy


def no_proxy_note(country_code: str) -> str:
    return (
        f"No proxy is configured for proxy_country_code {country_code.upper()!r}, "
        "so this task's browser connects directly."
    )
