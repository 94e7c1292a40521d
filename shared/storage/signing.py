"""Signed, expiring URLs for files the API serves itself (the local backend).

The signature covers the method, the key, the expiry and the upload limits, so
a URL cannot be reused after it expires, turned from a download into an
upload, or edited to reach another file."""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from urllib.parse import quote, urlencode

from shared.storage.base import StorageNotConfigured

ROUTE = "/api/v1/files/"


def signing_key(url_signing_key: str | None, secret_key: str | None) -> bytes:
    if url_signing_key:
        return url_signing_key.encode()
    if secret_key:
        return hashlib.sha256(b"browserq-url-signing\x00" + secret_key.encode()).digest()
    raise StorageNotConfigured(
        "file URLs cannot be signed: set BROWSERQ_URL_SIGNING_KEY (or BROWSERQ_SECRET_KEY, from which one is derived)"
    )


def _mac(key: bytes, method: str, path_key: str, expires: int, extra: str) -> str:
    message = "\n".join((method, path_key, str(expires), extra)).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def expiry(ttl: float, now: float | None = None) -> int:
    """At least `ttl` from now, rounded up to a step of a tenth of it (at most
    5 minutes): the same URL for a while, so a client polling a task gets the
    same screenshot URLs (and its cache works) rather than new ones each second."""
    step = max(1, min(300, int(ttl // 10)))
    return math.ceil(((time.time() if now is None else now) + ttl) / step) * step


def sign(key: bytes, base_url: str, method: str, path_key: str, ttl: float, **extra: str) -> str:
    expires = expiry(ttl)
    params = dict(sorted(extra.items()))
    params["expires"] = str(expires)
    params["signature"] = _mac(key, method, path_key, expires, urlencode(sorted(extra.items())))
    return f"{base_url.rstrip('/')}{ROUTE}{quote(path_key)}?{urlencode(params)}"


class BadSignature(Exception):
    """The URL is expired or was not made by this server for this file and method."""


def verify(
    key: bytes, method: str, path_key: str, query: dict[str, str], extra_names: tuple[str, ...] = ()
) -> dict[str, str]:
    """Checks the query of a signed URL; returns the signed extra values."""
    try:
        expires = int(query["expires"])
        given = query["signature"]
        extra = {name: query[name] for name in extra_names}
    except (KeyError, ValueError):
        raise BadSignature("the URL is not signed: ask the API for a new one") from None
    expected = _mac(key, method, path_key, expires, urlencode(sorted(extra.items())))
    if not hmac.compare_digest(given, expected):
        raise BadSignature("the URL signature does not match: ask the API for a new URL")
    if expires < time.time():
        raise BadSignature("the URL has expired: ask the API for a new one")
    return extra
