"""allowed_domains entries: one grammar for the API's check and the egress gate's match."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from api.schemas import RunTaskRequest
from shared.netguard import AllowList, DomainPattern
from worker.browser.egress import Rules


@pytest.mark.parametrize(
    ("pattern", "host", "port", "expected"),
    [
        ("example.com", "example.com", 443, True),
        ("example.com", "www.example.com", 443, False),
        ("*.example.com", "example.com", 80, True),
        ("*.example.com", "a.b.example.com", 80, True),
        ("*.example.com", "badexample.com", 80, False),
        ("example.com:8080", "example.com", 8080, True),
        ("example.com:8080", "example.com", 443, False),
        ("EXAMPLE.com", "Example.COM", 443, True),
        ("127.0.0.1", "127.0.0.1", 9000, True),
        ("127.0.0.1:9000", "127.0.0.1", 9001, False),
        ("[::1]", "::1", 80, True),
        ("[::1]:8080", "[::1]", 8080, True),
        ("[::1]:8080", "::1", 8081, False),
        ("::1", "0:0:0:0:0:0:0:1", 80, True),
    ],
)
def test_a_pattern_matches_what_it_names(pattern: str, host: str, port: int, expected: bool) -> None:
    assert DomainPattern.parse(pattern).matches(host, port) is expected
    rules = Rules([pattern], AllowList.parse([]))
    assert (rules.domain_refusal(host, port) is None) is expected


@pytest.mark.parametrize("pattern", ["example.com", "*.example.com", "a-b.example.com:8080", "[::1]:8080", "::1"])
def test_the_api_accepts_every_pattern_the_gate_matches(pattern: str) -> None:
    assert RunTaskRequest(task="t", allowed_domains=[pattern]).allowed_domains == [pattern.lower()]


@pytest.mark.parametrize(
    ("pattern", "says"),
    [
        ("http://example.com", "is not a domain"),
        ("example.com/path", "is not a domain"),
        ("exa mple.com", "is not a domain"),
        ("example.com:0", "port must be a number from 1 to 65535"),
        ("example.com:99999", "port must be a number from 1 to 65535"),
        ("example.com:http", "port must be a number"),
        ("[example.com]:80", "brackets hold an IPv6 address"),
        ("[::1]x", "only ':PORT' may follow"),
        ("*.", "is not a domain"),
    ],
)
def test_a_bad_pattern_is_refused_with_what_is_wrong(pattern: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        DomainPattern.parse(pattern)
    with pytest.raises(ValidationError, match=says):
        RunTaskRequest(task="t", allowed_domains=[pattern])
