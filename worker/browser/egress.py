"""The worker's egress proxy: every browser context connects through it, so a
task's rules are checked on every connection its pages make, whatever made it
(a navigation, a redirect hop, a new tab's first load, a subresource, a
WebSocket, a speculative prefetch or prerender, WebRTC over TCP).

One `Egress` per worker process, on the process's loop, serving any number of
contexts at once; each context gets its own `Gate`, a SOCKS5 listener on a
port of 127.0.0.1 made for it (the port tells which task a connection belongs
to; Chromium speaks SOCKS5 without credentials). SOCKS5 rather than an HTTP
proxy: Chromium then opens one tunnel per origin connection for every scheme
(http included) and sends the host name, never resolving it itself, so the
proxy has one thing to check per connection, (host, port), and relays bytes.

For each connection the gate checks the host against the task's
`allowed_domains`, resolves it once, keeps the addresses the private-address
rule (shared/netguard.py) allows, and connects to exactly one of those. A
refused connection is answered with a SOCKS failure: Chromium fails the
request (net::ERR_SOCKS_CONNECTION_FAILED) and nothing leaves the machine.

With an upstream proxy (`BROWSERQ_PROXIES`), the gate sends an HTTP CONNECT
for the host name to it instead: the upstream resolves the name in its own
network; the gate still checks `allowed_domains`, and the private rule on IP
literals and on what the name resolves to here.

Why our own small proxy: proxy.py runs its own threads/processes and event
loop and mitmproxy is a TLS-intercepting framework with many dependencies;
what the job needs (a SOCKS5 CONNECT, a check, a byte relay, one CONNECT
upstream) is about 200 lines on asyncio, on the worker's own loop."""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from shared import netguard

log = logging.getLogger("browserq.egress")

Resolver = Callable[[str], Awaitable[list[str]]]
HANDSHAKE_TIMEOUT = 10.0
CONNECT_TIMEOUT = 15.0
CLOSE_WAIT = 2.0
RESOLVE_TTL = 30.0  # a name's checked addresses are reused this long (connections go to them only)
CHUNK = 256 * 1024
# SOCKS5 reply codes
OK, NOT_ALLOWED, HOST_UNREACHABLE, COMMAND_NOT_SUPPORTED = 0, 2, 4, 7


@dataclass
class Rules:
    """One task's rules for its connections."""

    allowed_domains: list[str] | None
    allow: netguard.AllowList
    upstream: str | None = None  # an http://user:pass@host:port proxy to chain behind
    patterns: list[netguard.DomainPattern] | None = field(init=False)

    def __post_init__(self) -> None:
        # Parsed once per task by the grammar the API validated them with.
        self.patterns = (
            None if self.allowed_domains is None else [netguard.DomainPattern.parse(d) for d in self.allowed_domains]
        )

    def domain_refusal(self, host: str, port: int) -> str | None:
        if self.allowed_domains is None or self.patterns is None:
            return None
        if any(p.matches(host, port) for p in self.patterns):
            return None
        return f"{host} is not in the task's allowed_domains ({', '.join(self.allowed_domains)})"


class ByteMeter:
    """What a task's connections may still bring in before its downloads are measured: the
    session (BrowserSession) grants part of the room left under the task's download cap, and
    every connection's incoming bytes wait at the gate once it is spent, until the session,
    having measured the downloads' files, grants more or cancels them. The page's other
    traffic counts against it too, so a download can never take more than was granted,
    even before the browser announces it. Without a cap nothing is metered."""

    def __init__(self) -> None:
        self.budget: int | None = None  # None: not metering
        self.passed = 0
        self.spent = asyncio.Event()  # set while a connection waits for a grant
        self._flowing = asyncio.Event()
        self._flowing.set()

    def grant(self, room: int) -> None:
        """From now on, at most `room` more bytes pass (opens the meter if it was not)."""
        self.budget = self.passed + max(room, 0)
        self.spent.clear()
        self._flowing.set()

    def release(self) -> None:
        """Stop metering (the session is closing: its connections drain freely)."""
        self.budget = None
        self._flowing.set()

    async def take(self, n: int) -> int:
        """How many of `n` bytes may pass now (at least 1), waiting for a grant if none may."""
        while self.budget is not None and self.passed >= self.budget:
            self._flowing.clear()
            self.spent.set()
            await self._flowing.wait()
        allowed = n if self.budget is None else min(n, self.budget - self.passed)
        self.passed += allowed
        return allowed


@dataclass
class Gate:
    """One context's listener: `proxy` is what Playwright's `new_context(proxy=...)` takes."""

    egress: Egress
    rules: Rules
    server: asyncio.Server | None = None
    port: int = 0
    refused: dict[str, str] = field(default_factory=dict)  # "host:port" -> why its last connection was refused
    unanswered: set[str] = field(default_factory=set)  # "host:port" allowed, where nothing answered
    connections: int = 0
    meter: ByteMeter = field(default_factory=ByteMeter)  # incoming bytes while a download runs
    _names: dict[str, tuple[float, list[str]]] = field(default_factory=dict)
    _streams: set[asyncio.StreamWriter] = field(default_factory=set)
    _handlers: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def proxy(self) -> dict[str, str]:
        return {"server": f"socks5://127.0.0.1:{self.port}"}

    async def close(self) -> None:
        """Stop listening and cut every connection still open (the context is gone)."""
        self.egress.ports.discard(self.port)
        if self.server is not None:
            self.server.close()
        for writer in list(self._streams):
            writer.close()
        self._streams.clear()
        if self._handlers:  # each ends once its streams are closed
            await asyncio.wait(list(self._handlers), timeout=CLOSE_WAIT)

    # -- one connection ----------------------------------------------------------

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
            task.add_done_callback(self._handlers.discard)
        self._streams.add(writer)
        upstream: asyncio.StreamWriter | None = None
        try:
            async with asyncio.timeout(HANDSHAKE_TIMEOUT):
                host, port = await _socks_request(reader, writer)
            self.connections += 1
            reason = self.rules.domain_refusal(host, port)
            opened = None
            if reason is None:
                opened = await self._open(host, port)
                if isinstance(opened, str):
                    reason = opened
            target = f"{host}:{port}"
            if reason is not None:
                self.refused[target] = reason
                log.info("egress: refused %s: %s", target, reason)
            elif opened is None:
                self.unanswered.add(target)
            if opened is None or isinstance(opened, str):  # refused, or nobody answered
                writer.write(_reply(NOT_ALLOWED if reason else HOST_UNREACHABLE))
                await writer.drain()
                return
            up_reader, upstream = opened
            self._streams.add(upstream)
            writer.write(_reply(OK))
            await writer.drain()
            await _relay(reader, writer, up_reader, upstream, self.meter)
        except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as exc:
            log.debug("egress: connection ended: %s", exc)
        finally:
            for w in (writer, upstream):
                if w is not None:
                    self._streams.discard(w)
                    w.close()

    async def _open(self, host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | str | None:
        """A connection to a checked address of host:port (or through the upstream); else
        why it is refused, or None when no allowed address answered."""
        addresses = netguard.usable(host, port, await self._resolve(host), self.rules.allow)
        if self.rules.upstream is not None:
            if isinstance(addresses, str) and not addresses.endswith("does not resolve to any address"):
                return addresses  # private here: the upstream may well reach the same network
            async with asyncio.timeout(CONNECT_TIMEOUT):
                return await _via_upstream(self.rules.upstream, host, port)
        if isinstance(addresses, str):
            return addresses
        for address in addresses:
            if netguard.is_private_address(address) and port in self.egress.ports:
                return f"{host}:{port} is the worker's own egress proxy"
            try:
                async with asyncio.timeout(CONNECT_TIMEOUT):
                    return await asyncio.open_connection(address, port, limit=CHUNK)
            except (OSError, TimeoutError) as exc:
                log.debug("egress: %s (%s) port %s did not answer: %s", host, address, port, exc)
        return None

    async def _resolve(self, host: str) -> list[str]:
        now = time.monotonic()
        cached = self._names.get(host)
        if cached is not None and cached[0] > now:
            return cached[1]
        addresses = await self.egress.resolver(host)
        if addresses:
            self._names[host] = (now + RESOLVE_TTL, addresses)
        return addresses


class Egress:
    """This worker process's egress proxy; `open` a gate for each new context."""

    def __init__(self, resolver: Resolver | None = None) -> None:
        self.resolver: Resolver = resolver or netguard.resolve_async
        self.ports: set[int] = set()

    async def open(self, rules: Rules) -> Gate:
        gate = Gate(self, rules)
        gate.server = await asyncio.start_server(gate.handle, "127.0.0.1", 0, limit=CHUNK)
        gate.port = gate.server.sockets[0].getsockname()[1]
        self.ports.add(gate.port)
        return gate


def fixed_resolver(answers: dict[str, list[str]], fallback: Resolver = netguard.resolve_async) -> Resolver:
    """A resolver answering these names from a table (`BROWSERQ_TEST_DNS`, tests only):
    each name's list is its answers to successive look-ups, the last one repeated,
    so a test can make a name's answer change between two look-ups (DNS rebinding)."""
    asked: dict[str, int] = {}

    async def resolve(host: str) -> list[str]:
        seq = answers.get(host.lower())
        if not seq:
            return await fallback(host)
        n = asked.get(host.lower(), 0)
        asked[host.lower()] = n + 1
        return [seq[min(n, len(seq) - 1)]]

    return resolve


# -- SOCKS5 and the relay --------------------------------------------------------


async def _socks_request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> tuple[str, int]:
    """The greeting and the CONNECT request; returns the target (host lowercased, IPs as text)."""
    version, count = await reader.readexactly(2)
    if version != 5:
        raise ValueError("not SOCKS5")
    methods = await reader.readexactly(count)
    if 0 not in methods:
        writer.write(b"\x05\xff")
        raise ValueError("the client offers no method without authentication")
    writer.write(b"\x05\x00")
    version, command, _, kind = await reader.readexactly(4)
    if kind == 1:
        host = str(ipaddress.IPv4Address(await reader.readexactly(4)))
    elif kind == 4:
        host = str(ipaddress.IPv6Address(await reader.readexactly(16)))
    elif kind == 3:
        host = (await reader.readexactly((await reader.readexactly(1))[0])).decode("idna").lower().rstrip(".")
        literal = netguard.ip_literal(host)
        host = str(literal) if literal is not None else host
    else:
        raise ValueError(f"unknown address type {kind}")
    port = int.from_bytes(await reader.readexactly(2), "big")
    if command != 1:  # only CONNECT: no BIND, no UDP ASSOCIATE (WebRTC's UDP has no way out)
        writer.write(_reply(COMMAND_NOT_SUPPORTED))
        raise ValueError(f"SOCKS command {command} refused")
    return host, port


def _reply(code: int) -> bytes:
    return bytes([5, code, 0, 1, 0, 0, 0, 0, 0, 0])


async def _via_upstream(url: str, host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | str:
    """A tunnel to host:port through the operator's proxy (http, https or socks5)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    default_port = {"http": 8080, "https": 443, "socks5": 1080}.get(scheme, 8080)
    try:
        reader, writer = await asyncio.open_connection(
            parts.hostname, parts.port or default_port, limit=CHUNK, ssl=True if scheme == "https" else None
        )
    except OSError as exc:
        return f"the upstream proxy did not answer ({exc})"
    try:
        if scheme == "socks5":
            reason = await _socks_upstream(reader, writer, parts.username, parts.password, host, port)
        else:
            reason = await _connect_upstream(reader, writer, parts.username, parts.password, host, port)
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
        reason = f"the upstream proxy broke off ({exc or type(exc).__name__})"
    if reason is not None:
        writer.close()
        return reason
    return reader, writer


async def _connect_upstream(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    user: str | None,
    password: str | None,
    host: str,
    port: int,
) -> str | None:
    target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    head = f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n"
    if user:
        token = base64.b64encode(f"{unquote(user)}:{unquote(password or '')}".encode()).decode()
        head += f"Proxy-Authorization: Basic {token}\r\n"
    writer.write((head + "\r\n").encode())
    answer = await reader.readuntil(b"\r\n\r\n")
    if answer.split(b" ", 2)[1:2] == [b"200"]:
        return None
    first = answer.split(b"\r\n", 1)[0].decode(errors="replace")
    return f"the upstream proxy refused {target} ({first})"


async def _socks_upstream(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    user: str | None,
    password: str | None,
    host: str,
    port: int,
) -> str | None:
    writer.write(b"\x05\x02\x00\x02" if user else b"\x05\x01\x00")
    _, method = await reader.readexactly(2)
    if method == 2 and user:  # RFC 1929 user/password
        name, secret = unquote(user).encode(), unquote(password or "").encode()
        writer.write(bytes([1, len(name)]) + name + bytes([len(secret)]) + secret)
        if (await reader.readexactly(2))[1] != 0:
            return "the upstream SOCKS proxy refused the credentials"
    elif method != 0:
        return "the upstream SOCKS proxy accepts none of our authentication methods"
    name = host.encode("idna")
    writer.write(b"\x05\x01\x00\x03" + bytes([len(name)]) + name + port.to_bytes(2, "big"))
    answer = await reader.readexactly(4)
    skip = {1: 4, 4: 16}.get(answer[3])
    await reader.readexactly((skip if skip is not None else (await reader.readexactly(1))[0]) + 2)
    return None if answer[1] == 0 else f"the upstream SOCKS proxy refused {host}:{port} (code {answer[1]})"


async def _relay(
    client_reader: asyncio.StreamReader,
    client: asyncio.StreamWriter,
    up_reader: asyncio.StreamReader,
    upstream: asyncio.StreamWriter,
    meter: ByteMeter | None = None,
) -> None:
    """Bytes both ways until either side is done; incoming ones through the meter."""

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, counted: ByteMeter | None) -> None:
        try:
            while data := await reader.read(CHUNK):
                while counted is not None and data:
                    allowed = await counted.take(len(data))
                    writer.write(data[:allowed])
                    data = data[allowed:]
                writer.write(data)
                await writer.drain()
        finally:
            if writer.can_write_eof():
                try:
                    writer.write_eof()
                except OSError:
                    pass

    tasks = [
        asyncio.ensure_future(pipe(client_reader, upstream, None)),
        asyncio.ensure_future(pipe(up_reader, client, meter)),
    ]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            task.exception()  # retrieved: a reset connection is how many end
    finally:
        for task in tasks:
            task.cancel()
