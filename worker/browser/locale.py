"""The language and time zone a page reads (navigator.language, Accept-Language,
Intl's time zone): those of the proxy's country when a task goes through one (a
German exit with an American English browser in UTC is a mismatch detectors look
for), else the operator's (BROWSERQ_BROWSER_LOCALE, BROWSERQ_BROWSER_TIMEZONE)."""

from __future__ import annotations

from shared.settings import Settings

# Every proxy_country_code the API accepts: its main locale and the time zone most of
# its people live in.
BY_COUNTRY: dict[str, tuple[str, str]] = {
    "us": ("en-US", "America/New_York"),
    "uk": ("en-GB", "Europe/London"),
    "fr": ("fr-FR", "Europe/Paris"),
    "it": ("it-IT", "Europe/Rome"),
    "jp": ("ja-JP", "Asia/Tokyo"),
    "au": ("en-AU", "Australia/Sydney"),
    "de": ("de-DE", "Europe/Berlin"),
    "fi": ("fi-FI", "Europe/Helsinki"),
    "ca": ("en-CA", "America/Toronto"),
    "in": ("en-IN", "Asia/Kolkata"),
}


def locale_options(proxy_country: str | None, settings: Settings) -> dict[str, str]:
    """Playwright new_context keywords; `proxy_country`: the country of the proxy the task uses, if any."""
    locale, timezone = BY_COUNTRY.get(
        (proxy_country or "").lower(), (settings.browser_locale, settings.browser_timezone)
    )
    return {"locale": locale, "timezone_id": timezone}
