"""The pure parts of the ad blocker and proxy settings: the host list, the URL
pattern Playwright runs, proxy URLs by country, and step 1's notes."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from shared.models import Step
from shared.settings import Settings
from worker.browser.adblock import DEFAULT_HOSTS_FILE, parse_hosts, url_pattern
from worker.browser.proxy import upstream_for


def test_hosts_file_lines() -> None:
    text = "# comment\nads.example.com\n0.0.0.0 tracker.example.net  # hosts-file style\nBAD_HOST\nCDN.Example.org.\n"
    assert parse_hosts(text) == ["ads.example.com", "cdn.example.org", "tracker.example.net"]


def test_shipped_list_is_a_few_hundred_hosts() -> None:
    hosts = parse_hosts(DEFAULT_HOSTS_FILE.read_text())
    assert 250 <= len(hosts) <= 2000
    assert {"doubleclick.net", "google-analytics.com", "scorecardresearch.com"} <= set(hosts)


@pytest.mark.parametrize(
    ("url", "blocked"),
    [
        ("https://doubleclick.net/x", True),
        ("https://ad.doubleclick.net/ddm/x?y=1", True),
        ("http://user@stats.doubleclick.net:8443/", True),
        ("https://DOUBLECLICK.NET", True),
        ("https://notdoubleclick.net/", False),
        ("https://doubleclick.net.example.com/", False),
        ("https://example.com/?ref=doubleclick.net", False),
        ("https://example.com/doubleclick.net/x", False),
    ],
)
def test_pattern_matches_the_host_and_its_subdomains(url: str, blocked: bool) -> None:
    pattern = url_pattern(["doubleclick.net", "a-b.io"])
    assert bool(pattern.search(url)) is blocked


def test_pattern_is_plain_enough_for_javascript() -> None:
    """Playwright runs the pattern in JS: no Python-only syntax may slip in."""
    pattern = url_pattern(parse_hosts(DEFAULT_HOSTS_FILE.read_text()))
    assert pattern.flags & re.IGNORECASE
    assert "(?" not in pattern.pattern and "\\A" not in pattern.pattern and "\\Z" not in pattern.pattern


def test_proxies_setting_by_country() -> None:
    settings = Settings(proxies={"US": "http://proxy-us:3128"})
    assert upstream_for("us", settings) == "http://proxy-us:3128"
    assert upstream_for("de", settings) is None
    with pytest.raises(ValidationError) as err:
        Settings(proxies={"us": "proxy-us:3128"})
    assert "http://user:pass@host:port" in str(err.value)


def _step(evaluation: str, notices: list[str] | None) -> Step:
    return Step(task_id="t", step=1, evaluation_previous_goal=evaluation, notices=notices)


def test_notices_are_shown_before_the_evaluation() -> None:
    notes = ["No proxy is configured for proxy_country_code 'DE'."]
    assert (
        _step("Success", notes).shown_evaluation == "Note: No proxy is configured for proxy_country_code 'DE'.\nSuccess"
    )
    assert _step("Success", None).shown_evaluation == "Success"
    assert _step("", notes).shown_evaluation == "Note: No proxy is configured for proxy_country_code 'DE'."
