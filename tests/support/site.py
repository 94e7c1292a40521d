"""A small real web site served on 127.0.0.1 for the agent to work on: a
login form, an account page that shows a code, a long page, and whatever
pages tests add with `SiteServer.add_page`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from html import escape

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.support.app_server import AppServer
from tests.support.widgets import FIXTURES, SUGGEST_WORDS

USERNAME, PASSWORD, ACCOUNT_CODE = "alice", "s3cret-pa55", "ALPHA-42"
BALANCE = "$1,250.00"  # the account's balance until a test changes it (SiteServer.balance)


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><html><head><title>{escape(title)}</title></head><body>{body}</body></html>")


async def index(_request: Request) -> Response:
    return _page(
        "Test shop", '<h1>Test shop</h1><p>Welcome.</p><a href="/login">Log in</a> <a href="/long">Catalogue</a>'
    )


async def login(request: Request) -> Response:
    if request.method == "POST":
        form = await request.form()
        if form.get("username") == USERNAME and form.get("password") == PASSWORD:
            response = RedirectResponse("/account", status_code=303)
            response.set_cookie("session", "ok-" + USERNAME)
            return response
        return _page("Login failed", '<p id="error">Wrong username or password.</p><a href="/login">Try again</a>')
    return _page(
        "Log in",
        '<h1>Log in</h1><form method="post" action="/login">'
        '<input type="text" name="username" placeholder="Username">'
        '<input type="password" name="password" placeholder="Password">'
        '<button type="submit">Sign in</button></form>',
    )


async def account(request: Request) -> Response:
    if request.cookies.get("session") != "ok-" + USERNAME:
        return RedirectResponse("/login", status_code=303)
    balance = escape(request.app.state.balance)
    return _page(
        "Account",
        f"<h1>Account of {USERNAME}</h1><p>Your code is: <b id=code>{ACCOUNT_CODE}</b></p>"
        f"<table><tr><th>Balance</th><td>{balance} available</td></tr></table>",
    )


async def long_page(_request: Request) -> Response:
    items = "".join(f"<p>Item {i}: a plain product description.</p>" for i in range(300))
    return _page("Catalogue", f"<h1>Catalogue</h1>{items}<p id=end>End of catalogue: CODE-END-7</p>")


async def echo_upload(request: Request) -> Response:
    """Shows the name and text of each file posted to it (the agent's `upload_file` reaches a real server)."""
    form = await request.form()
    parts = []
    for field_name, value in form.multi_items():
        if hasattr(value, "read"):
            data = await value.read()
            parts.append(
                f"<p>Received {escape(value.filename or '')}: <code>{escape(data.decode(errors='replace'))}</code></p>"
            )
        else:
            parts.append(f"<p>{escape(field_name)} = {escape(str(value))}</p>")
    return _page("Upload received", "<h1>Upload received</h1>" + "".join(parts))


async def suggest(request: Request) -> Response:
    """A search service as autocompletes call it: the words starting with `q`, answered after
    `ms` milliseconds (at most 1000), as a server that takes its time would."""
    q = request.query_params.get("q", "").lower()
    ms = min(int(request.query_params.get("ms", "0") or 0), 1000)
    await asyncio.sleep(ms / 1000)
    return JSONResponse([w for w in SUGGEST_WORDS if q and w.lower().startswith(q)])


async def widget_file(request: Request) -> Response:
    """jQuery and jQuery UI for the widget pages (tests/support/widgets.py); names only, no paths."""
    path = FIXTURES / request.path_params["name"]
    if "/" in request.path_params["name"] or not path.is_file():
        return HTMLResponse("not found", status_code=404)
    return FileResponse(path)


class SiteServer:
    """Serves the site in a background thread on a free port of 127.0.0.1 (or of
    `host`, e.g. 127.0.0.2 as a "private" service; `port` to pick the port)."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.host = host
        self.extra: dict[str, str] = {}
        self.hits: dict[str, int] = {}  # requests served per extra page name
        self.streamed: dict[str, int] = {}  # bytes /stream/<name> managed to send, per name
        routes = [
            Route("/", index),
            Route("/login", login, methods=["GET", "POST"]),
            Route("/account", account),
            Route("/long", long_page),
            Route("/echo-upload", echo_upload, methods=["POST"]),
            Route("/p/{name}", self._extra_page),
            Route("/fixtures/widgets/{name}", widget_file),
            Route("/suggest", suggest),
            Route("/stream/{name}", self._stream),
        ]
        self.app = Starlette(routes=routes)
        self.app.state.balance = BALANCE
        self._served = AppServer(self.app, host, port)
        self.port = self._served.port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def balance(self) -> str:
        """What the account page shows as the balance (a test changes it to see a fresh read)."""
        return str(self.app.state.balance)

    @balance.setter
    def balance(self, value: str) -> None:
        self.app.state.balance = value

    def add_page(self, name: str, html: str) -> str:
        """Serve `html` at /p/<name>; returns its URL."""
        self.extra[name] = html
        return f"{self.url}/p/{name}"

    async def _extra_page(self, request: Request) -> Response:
        name = request.path_params["name"]
        self.hits[name] = self.hits.get(name, 0) + 1
        html = self.extra.get(name)
        return HTMLResponse(html) if html is not None else HTMLResponse("not found", status_code=404)

    async def _stream(self, request: Request) -> Response:
        """A download of `?mb=` MiB of zeros, sent in 64 KiB chunks as fast as they are taken;
        `streamed[name]` counts what was sent before the client stopped reading."""
        name = request.path_params["name"]
        chunks = int(request.query_params.get("mb", "1")) * 16
        self.streamed[name] = 0

        async def body() -> AsyncIterator[bytes]:
            for _ in range(chunks):
                yield b"\0" * 65536
                self.streamed[name] += 65536

        headers = {"Content-Disposition": f'attachment; filename="{name}.bin"'}
        return StreamingResponse(body(), media_type="application/octet-stream", headers=headers)

    def __enter__(self) -> SiteServer:
        self._served.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._served.stop()
