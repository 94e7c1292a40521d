"""The one private-address rule, for everything that connects on a user's
behalf: the browser (through the worker's egress proxy, worker/browser/egress.py),
webhook deliveries and any other server-side fetch.

A connection may go to an address only when it is public: never one of the
IANA special-purpose ranges (loopback, private, link-local, carrier-grade NAT,
documentation, benchmarking, multicast, reserved...), and never an IPv6 address
that carries such an IPv4 address inside it (IPv4-mapped, IPv4-compatible,
NAT64, 6to4, Teredo). The operator can exempt hosts with
`BROWSERQ_ALLOW_PRIVATE_HOSTS` (see `AllowList`).

Callers resolve a name once (`resolve`), keep the addresses they may use (`usable`), and
connect to exactly an address they checked: a name whose DNS answer changes
between a check and a connection (DNS rebinding) then changes nothing.

Kept free of Playwright so the API can use it."""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# The IANA IPv4 and IPv6 special-purpose address registries (2024), whole: an
# address in any of these is not a public web host.
SPECIAL_V4 = [
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.31.196.0/24",
        "192.52.193.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "192.175.48.0/24",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "255.255.255.255/32",
    )
]
SPECIAL_V6 = [
    ipaddress.IPv6Network(n)
    for n in (
        "::/128",
        "::1/128",
        "100::/64",
        "2001::/23",
        "2001:db8::/32",
        "3fff::/20",
        "5f00::/16",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
        "ff00::/8",
    )
]
# IPv6 ranges that carry an IPv4 address: judged by the IPv4 address they carry.
NAT64 = [ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48")]
COMPATIBLE = ipaddress.IPv6Network("::/96")  # deprecated IPv4-compatible addresses
WEB_PORTS = frozenset({80, 443})
ANY_PORT = 0  # an allow-list entry `host:*`


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address stands for (empty when it carries none)."""
    if ip.ipv4_mapped is not None:
        return [ip.ipv4_mapped]
    if ip.sixtofour is not None:
        return [ip.sixtofour]
    if ip.teredo is not None:
        return list(ip.teredo)  # the Teredo server and the client's public address
    if any(ip in net for net in NAT64) or (ip in COMPATIBLE and int(ip) > 1):
        return [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)]
    return []


def is_private_address(address: str | IPAddress) -> bool:
    """True for every address a public service has no business reaching."""
    ip = address if not isinstance(address, str) else ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv4Address):
        return any(ip in net for net in SPECIAL_V4)
    inner = embedded_ipv4(ip)
    if inner:
        return any(is_private_address(v4) for v4 in inner)
    return any(ip in net for net in SPECIAL_V6)


def ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


@dataclass(frozen=True)
class AllowList:
    """`BROWSERQ_ALLOW_PRIVATE_HOSTS`: private hosts the operator lets tasks and
    webhooks reach. An entry names a host and which ports. A name is exempt
    whatever it resolves to; an address also exempts the names that resolve to
    it (except localhost and *.localhost, which only an entry naming them opens).
    Ports: `10.0.0.5:8080` that port, `dev.internal:*` every port, and a
    bare host (`127.0.0.1`) the common web ports 80 and 443 only, so an entry
    for a web server never opens the databases beside it."""

    entries: dict[str, frozenset[int]] = field(default_factory=dict)

    @classmethod
    def parse(cls, items: Iterable[str]) -> AllowList:
        entries: dict[str, set[int]] = {}
        for item in items:
            host, ports = _parse_entry(item)
            if host:
                entries.setdefault(host, set()).update(ports)
        return cls({h: frozenset(p) for h, p in entries.items()})

    def allows(self, host: str, port: int, address: str | None = None) -> bool:
        """The host (or the address it was reached at) is exempt on this port."""
        for name in (host, address):
            if name is None:
                continue
            ports = self.entries.get(_norm_host(name))
            if ports is not None and (ANY_PORT in ports or port in ports):
                return True
        return False


_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST_NAME = re.compile(rf"(?:{_LABEL}\.)*{_LABEL}")


@dataclass(frozen=True)
class DomainPattern:
    """One entry of a task's `allowed_domains`, parsed once for the API (which
    refuses a bad one) and the egress gate (which matches connections with it).
    `example.com` is that host, `*.example.com` it and its subdomains; an IP
    literal (`127.0.0.1`, `[::1]` or bare `::1`) that address; a port
    (`example.com:8080`, `[::1]:8080`) limits the pattern to that port."""

    host: str  # lower-case name without `*.`, or an IP literal in its canonical form
    wildcard: bool = False
    port: int | None = None

    @classmethod
    def parse(cls, text: str) -> DomainPattern:
        item = text.strip().lower()
        if item.startswith("["):  # [v6] or [v6]:port
            name, _, rest = item[1:].partition("]")
            if rest and not rest.startswith(":"):
                raise ValueError(f"{text!r} is not a domain: after ']' only ':PORT' may follow")
            port = rest[1:]
            if ip_literal(name) is None or ":" not in name:
                raise ValueError(f"{text!r} is not a domain: brackets hold an IPv6 address, e.g. '[::1]:8080'")
        elif item.count(":") > 1:  # a bare IPv6 address, no port
            name, port = item, ""
        else:
            name, _, port = item.partition(":")
        wildcard = name.startswith("*.")
        name = name[2:] if wildcard else name
        literal = ip_literal(name)
        if literal is not None and not wildcard:
            name = str(literal)
        elif not _HOST_NAME.fullmatch(name):
            raise ValueError(f"{text!r} is not a domain: use e.g. 'example.com', '*.example.com' or 'example.com:8080'")
        if port and not (port.isdigit() and len(port) <= 5 and 0 < int(port) < 65536):
            raise ValueError(f"{text!r} is not a domain: the port must be a number from 1 to 65535")
        return cls(name, wildcard, int(port) if port else None)

    def matches(self, host: str, port: int) -> bool:
        if self.port is not None and port != self.port:
            return False
        host = _norm_host(host)
        if self.wildcard:
            return host == self.host or host.endswith("." + self.host)
        return host == self.host


def _norm_host(host: str) -> str:
    host = host.strip().lower().rstrip(".").strip("[]")
    literal = ip_literal(host)
    return str(literal) if literal is not None else host


def _parse_entry(item: str) -> tuple[str, set[int]]:
    item = item.strip().lower()
    if item.startswith("["):  # [v6] or [v6]:port
        host, _, rest = item[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif item.count(":") == 1:
        host, _, port = item.partition(":")
    else:  # a name, an IPv4 address or a bare IPv6 address
        host, port = item, ""
    if port == "*":
        return _norm_host(host), {ANY_PORT}
    if port.isdigit() and 0 < int(port) < 65536:
        return _norm_host(host), {int(port)}
    if port:
        raise ValueError(f"{item!r} in BROWSERQ_ALLOW_PRIVATE_HOSTS: the port must be a number or *")
    return _norm_host(host), set(WEB_PORTS)


def usable(host: str, port: int, addresses: list[str], allow: AllowList) -> list[str] | str:
    """Of the addresses `host` resolved to, those a connection to `host:port` may
    go to (public ones, and private ones the allow-list names for this port); or,
    when there is none, why not."""
    if not addresses:
        return f"{host} does not resolve to any address"
    if _loopback_name(host):  # loopback whatever DNS says: only an entry naming it opens it
        addresses = addresses if allow.allows(host, port) else []
    elif not allow.allows(host, port):
        addresses = [a for a in addresses if allow.allows(host, port, a) or not is_private_address(a)]
    if addresses:
        return addresses
    return (
        f"{host} is a private, loopback or link-local address, which is never connected to "
        f"unless BROWSERQ_ALLOW_PRIVATE_HOSTS lists it for port {port}"
    )


def _loopback_name(host: str) -> bool:
    host = host.lower().rstrip(".")
    return host == "localhost" or host.endswith(".localhost")


def resolve(host: str) -> list[str]:
    """The host's addresses: itself when it is an IP literal, else what DNS says."""
    literal = ip_literal(host)
    if literal is not None:
        return [str(literal)]
    if _loopback_name(host):
        return ["127.0.0.1", "::1"]  # as browsers answer them, without asking DNS
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def resolve_async(host: str) -> list[str]:
    """`resolve` on the running loop's resolver (a thread), for the egress proxy."""
    literal = ip_literal(host)
    if literal is not None or _loopback_name(host):
        return resolve(host)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class Target:
    """Where a server-side request may go: the host, its port, and the one
    checked address to connect to."""

    host: str
    port: int
    address: str


def check_url(url: str, allow_private_hosts: list[str]) -> Target | str:
    """The checked target of an http(s) URL, or why the service must not send a request to it."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"}:
        return f"{url!r} is not an http(s) URL"
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        return f"{url!r} has no host"
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        return f"{url!r} has an invalid port"
    try:
        allow = AllowList.parse(allow_private_hosts)
    except ValueError as exc:
        return str(exc)
    addresses = usable(host, port, resolve(host), allow)
    if isinstance(addresses, str):
        return addresses
    return Target(host, port, addresses[0])


def blocked_reason(url: str, allow_private_hosts: list[str]) -> str | None:
    """Why the service must not send a request to `url`, or None when it may."""
    checked = check_url(url, allow_private_hosts)
    return checked if isinstance(checked, str) else None
