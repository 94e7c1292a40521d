"""Pure pieces of the integrations: schedule times, the in-memory rate
limiter, the webhook signature recipe, the private-address check."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

from api.ratelimit import MemoryLimiter
from api.schedule_times import Timing, cron_error, first_at_or_after, next_after
from shared import netguard
from shared.webhooks.signing import canonical, sign

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def test_interval_runs_are_anchored_to_start_and_missed_runs_are_not_made_up() -> None:
    every_5 = Timing("interval", 5, None, T0, T0 + timedelta(hours=1))
    # The first run is one interval after start_at, as in the official example.
    assert first_at_or_after(every_5, T0 - timedelta(days=1)) == T0 + timedelta(minutes=5)
    assert first_at_or_after(every_5, T0) == T0 + timedelta(minutes=5)
    assert next_after(every_5, T0) == T0 + timedelta(minutes=5)
    assert next_after(every_5, T0 + timedelta(minutes=23)) == T0 + timedelta(minutes=25)
    assert next_after(every_5, T0 + timedelta(minutes=60)) is None  # past end_at


def test_cron_runs_in_utc_and_bad_expressions_say_why() -> None:
    weekdays_9 = Timing("cron", None, "0 9 * * 1-5", T0, T0 + timedelta(days=30))  # 2030-01-01 is a Tuesday
    assert first_at_or_after(weekdays_9, T0) == datetime(2030, 1, 2, 9, 0, tzinfo=UTC)
    assert next_after(weekdays_9, datetime(2030, 1, 4, 9, 0, tzinfo=UTC)) == datetime(2030, 1, 7, 9, 0, tzinfo=UTC)
    assert cron_error("0 9 * * 1-5") is None
    assert "5 fields" in (cron_error("0 9 * *") or "")
    assert "not a valid" in (cron_error("61 * * * *") or "")


def test_memory_limiter_lets_a_burst_through_then_one_per_interval() -> None:
    limiter = MemoryLimiter()
    assert all(limiter.wait_seconds("k", 60) == 0 for _ in range(60))
    wait = limiter.wait_seconds("k", 60)
    assert 0 < wait <= 1.0
    assert limiter.wait_seconds("other", 60) == 0  # per key


def test_signature_is_the_spec_recipe() -> None:
    body = {"type": "test", "timestamp": "2030-01-01T12:00:00Z", "payload": {"test": "ok", "a": [1, 2]}}
    message = f"1700000000.{json.dumps(body, separators=(',', ':'), sort_keys=True)}"
    assert sign("secret", "1700000000", body) == hmac.new(b"secret", message.encode(), hashlib.sha256).hexdigest()
    assert json.loads(canonical(body)) == body


def test_private_addresses_are_blocked_unless_allowed() -> None:
    for url in (
        "http://127.0.0.1/x",
        "http://169.254.169.254/latest",
        "http://[::1]/",
        "http://10.0.0.5/",
        "http://100.64.1.1/",
        "http://[::ffff:192.168.1.1]/",
    ):
        assert netguard.blocked_reason(url, []) is not None, url
    assert netguard.blocked_reason("http://127.0.0.1:9/x", ["127.0.0.1:9"]) is None
    assert netguard.blocked_reason("http://127.0.0.1:9/x", ["127.0.0.1"]) is not None  # a bare host: ports 80, 443
    assert netguard.blocked_reason("http://8.8.8.8/", []) is None
    assert "http(s)" in (netguard.blocked_reason("ftp://example.com/", []) or "")
