"""Which hosts the service may send requests to on a user's behalf (webhook
deliveries): never a private, loopback or link-local address (the cloud
metadata service at 169.254.169.254, this machine's own Redis...) unless the
host is listed in `settings.allow_private_hosts`.

Kept free of Playwright so the API can use it; the browser's own guard
(worker/browser/guard.py) applies the same rule to every page request.

Known gap: the name is resolved here and again when connecting, so a host
whose DNS answer changes in between (DNS rebinding) could slip through."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

# Beyond Python's is_private: shared address space (carrier-grade NAT).
EXTRA_PRIVATE = [ipaddress.ip_network("100.64.0.0/10")]


def is_private_address(address: str) -> bool:
    """True for every address a public service has no business reaching."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_unspecified
        or ip.is_reserved or ip.is_multicast or any(ip in net for net in EXTRA_PRIVATE)
    )


def resolve(host: str) -> list[str]:
    """The host's addresses: itself when it is an IP literal, else what DNS says."""
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return [str(info[4][0]) for info in infos]


def blocked_reason(url: str, allow_private_hosts: list[str]) -> str | None:
    """Why the service must not send a request to `url`, or None when it may."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in {"http", "https"}:
        return f"{url!r} is not an http(s) URL"
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        return f"{url!r} has no host"
    try:
        parts.port
    except ValueError:
        return f"{url!r} has an invalid port"
    if host in {h.strip().lower().strip("[]") for h in allow_private_hosts}:
        return None
    addresses = resolve(host)
    if not addresses:
        return f"{host} does not resolve to any address"
    if any(is_private_address(a) for a in addresses):
        return (
            f"{host} is a private, loopback or link-local address; the server sends nothing there "
            "unless the host is listed in BROWSERQ_ALLOW_PRIVATE_HOSTS"
        )
    return None
