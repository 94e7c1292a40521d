"""use_proxy: the proxy the operator configured for the task's country
(`BROWSERQ_PROXIES='{"us": "http://user:pass@proxy-us:8080"}'`). The browser
never connects to it itself: the worker's egress proxy (worker/browser/egress.py)
chains behind it, so the task's rules are checked first."""

from __future__ import annotations

from shared.settings import Settings


def upstream_for(country_code: str, settings: Settings) -> str | None:
    """The proxy URL for this country, or None when none is configured."""
    return settings.proxies.get(country_code.lower())


def no_proxy_note(country_code: str) -> str:
    return (
        f"No proxy is configured for proxy_country_code {country_code.upper()!r}, "
        "so this task's browser connects directly."
    )
