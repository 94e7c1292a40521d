"""Requests a minute per API key, as a GCRA (a leaky bucket kept as one
timestamp): a key may send `limit` requests at once, then one every
60/limit seconds. Kept in Redis when the broker is Redis, so every API
process shares it; in memory otherwise (embedded runs one API process)."""

from __future__ import annotations

import logging
import threading
import time
from functools import lru_cache

import redis

from shared.settings import get_settings

log = logging.getLogger("browserq.ratelimit")

# KEYS[1]: the key's bucket; ARGV: interval (ms), burst (ms). Returns ms to wait (0: allowed).
_GCRA = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local wait = new_tat - burst - now
if wait > 0 then return wait end
redis.call('SET', KEYS[1], new_tat, 'PX', burst + interval)
return 0
"""


class MemoryLimiter:
    def __init__(self) -> None:
        self._tat: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait_seconds(self, key: str, limit: int) -> float:
        interval, burst = 60.0 / limit, 60.0
        with self._lock:
            now = time.monotonic()
            new_tat = max(self._tat.get(key, now), now) + interval
            wait = new_tat - burst - now
            if wait > 0:
                return wait
            self._tat[key] = new_tat
            return 0.0


class RedisLimiter:
    def __init__(self, url: str) -> None:
        self._client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._script = self._client.register_script(_GCRA)

    def wait_seconds(self, key: str, limit: int) -> float:
        interval_ms = 60_000 // limit or 1
        return int(self._script(keys=[f"browserq:ratelimit:{key}"], args=[interval_ms, 60_000])) / 1000


@lru_cache
def _limiter(broker_url: str) -> MemoryLimiter | RedisLimiter:
    if broker_url.startswith(("redis://", "rediss://")):
        return RedisLimiter(broker_url)
    return MemoryLimiter()


def retry_after(owner_id: str) -> float | None:
    """Seconds the key must wait before its next request, or None when it may go now.
    When Redis cannot be reached the request is let through: a limiter outage must
    not take the API down with it."""
    settings = get_settings()
    if settings.rate_limit_per_minute <= 0:
        return None
    try:
        wait = _limiter(settings.resolved_broker_url).wait_seconds(owner_id, settings.rate_limit_per_minute)
    except redis.RedisError as exc:
        log.warning("rate limiter unavailable, letting the request through: %s", exc)
        return None
    return wait if wait > 0 else None
