"""The pure parts of the ad blocker and proxy settings: the host list, the URL
pattern Playwright runs, proxy URLs by country, and step 1's notes."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from shared.settings import Settings
from worker.agent.loop import StepRecord
from worker.browser.adblock import DEFAULT_HOSTS_FILE, parse_hosts, url_pattern
from worker.browser.proxy import upstream_for
from worker.llm.base import TokenUsage
from worker.task_browser import with_notices


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


def _record(step: int, evaluation: str) -> StepRecord:
    return StepRecord(
        step=step, evaluation_previous_goal=evaluation, memory="", next_goal="goal", url="about:blank",
        actions=[], results=[], duration_ms=1, usage=TokenUsage(),
    )


def test_notices_lead_step_one_only() -> None:
    notes = ["No proxy is configured for proxy_country_code 'DE'."]
    first = with_notices(_record(1, "Success"), notes)
    assert first.evaluation_previous_goal == "Note: No proxy is configured for proxy_country_code 'DE'.\nSuccess"
    assert with_notices(_record(2, "Success"), notes).evaluation_previous_goal == "Success"
    assert with_notices(_record(1, "Success"), []).evaluation_previous_goal == "Success"
