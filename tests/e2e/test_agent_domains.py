"""The network guard, end to end: with `allowed_domains` every way a page can
reach another host (link, redirect, form post, window.open, a subresource, a
navigate action, a data: URL) is blocked in the browser and the model is told;
and private addresses are never loaded, whatever the task says. Blocked
requests are aborted by the route handler before they are sent: the "Blocked
the navigation" event is only ever written there.

"127.0.0.1" and "localhost" reach the same test site, so they serve as two
domains; a sink route on the site counts what reached it, which must be
nothing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.support.agent_runs import prompts, run
from tests.support.scripted_model import ScriptedModelServer, answer
from tests.support.site import SiteServer
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def sink(site: SiteServer) -> Iterator[Counter]:
    """`/agent-sink/{name}` counts every request that reached it; `/agent-redirect?to=` redirects."""
    hits: Counter = Counter()

    async def count(request: Request) -> Response:
        hits[request.path_params["name"]] += 1
        return HTMLResponse(f"<title>Sink</title><p>reached {request.path_params['name']}</p>")

    async def redirect(request: Request) -> Response:
        return RedirectResponse(request.query_params["to"], status_code=302)

    routes = [Route("/agent-sink/{name}", count, methods=["GET", "POST"]), Route("/agent-redirect", redirect)]
    site.app.router.routes[:0] = routes
    yield hits


def links_page(site: SiteServer, other: str) -> str:
    return site.add_page(
        "agent-links",
        f"""<title>Links</title>
<a href="{other}/agent-sink/link">Off-site link</a>
<a href="/agent-redirect?to={other}/agent-sink/redirect">Redirecting link</a>
<form method=post action="{other}/agent-sink/form"><input name=q aria-label="Query"><button>Post off-site</button></form>
<button onclick="window.open('{other}/agent-sink/window')">Open off-site window</button>
<img src="{other}/agent-sink/img" alt="">""",  # noqa: E501 (HTML)
    )


def test_allowed_domains_block_every_way_out(
    stack: Stack, model: ScriptedModelServer, site: SiteServer, sink: Counter
) -> None:
    other = f"http://localhost:{site.port}"
    links = links_page(site, other)
    sink.clear()
    key = model.script(
        [
            answer("Open the page", {"navigate": {"url": links}}),
            answer("Follow the link", {"click": {"index": "@text:Off-site link"}}),
            answer("Back", {"navigate": {"url": links}}),
            answer("Follow the redirect", {"click": {"index": "@text:Redirecting link"}}),
            answer("Back", {"navigate": {"url": links}}),
            answer(
                "Post", {"input": {"index": "@text:Query", "text": "hi"}}, {"click": {"index": "@text:Post off-site"}}
            ),
            answer("Back", {"navigate": {"url": links}}),
            answer("Open a window", {"click": {"index": "@text:Open off-site window"}}),
            answer(
                "Go there directly",
                {"navigate": {"url": f"{other}/agent-sink/navigate"}},
                {"navigate": {"url": "data:text/html,<h1>smuggled</h1>"}},
            ),
            answer("Try a script URL", {"wait": {"seconds": 0}}, {"navigate": {"url": "javascript:alert(1)"}}),
            answer("Finish", {"done": {"text": "stayed home"}}),
        ]
    )
    task = run(stack, key, allowed_domains=["127.0.0.1"])
    assert task["status"] == "finished", task
    assert sum(sink.values()) == 0, sink  # nothing reached the other domain
    p = prompts(model, key)

    assert "Blocked the page's requests to localhost: localhost is not in the task's allowed_domains" in p[1]
    blocked = "Event: Blocked the navigation to {}: localhost is not in the task's allowed_domains (127.0.0.1)."
    assert blocked.format(f"{other}/agent-sink/link") in p[2]
    assert f"Event: Blocked a redirect from {site.url}/agent-redirect" in p[4]
    assert blocked.format(f"{other}/agent-sink/form") in p[6]
    assert blocked.format(f"{other}/agent-sink/window") in p[8] and "A new tab opened (tab_id 1)" in p[8]
    direct = p[9].split("<history>", 1)[1].split("</history>", 1)[0].split("Step 9:", 1)[1]
    assert f"error: cannot open {other}/agent-sink/navigate: localhost is not in the task's allowed_domains" in direct
    assert "error: cannot open data:text/html,<h1>smuggled</h1>: data: URLs are not allowed" in direct
    assert "error: cannot open javascript:alert(1): javascript: URLs are not allowed" in p[10]


def test_wildcard_domain_matches_the_domain_and_its_subdomains(
    stack: Stack, model: ScriptedModelServer, site: SiteServer
) -> None:
    """`*.localhost` lets localhost through and not 127.0.0.1; app.localhost matches
    it too, but is a loopback name the stack does not exempt, so the private rule blocks it."""
    page = site.add_page("agent-wild", "<title>Wild</title><p>wildcard ok</p>")
    on_localhost = page.replace("127.0.0.1", "localhost")
    key = model.script(
        [
            answer(
                "Open",
                {"navigate": {"url": page.replace("127.0.0.1", "app.localhost")}},
                {"navigate": {"url": page}},
                {"navigate": {"url": on_localhost}},
            ),
            answer("Finish", {"done": {"text": "ok"}}),
        ]
    )
    task = run(stack, key, allowed_domains=["*.localhost"])
    assert task["status"] == "finished", task
    history = prompts(model, key)[1].split("<history>", 1)[1]
    assert "app.localhost is a private, loopback or link-local address" in history
    assert "127.0.0.1 is not in the task's allowed_domains (*.localhost)" in history
    assert f"Opened {on_localhost}" in history


def test_private_addresses_are_never_loaded(
    stack: Stack, model: ScriptedModelServer, site: SiteServer, sink: Counter
) -> None:
    page = site.add_page(
        "agent-private",
        """<title>Private</title><a href="http://10.255.255.1/admin">Router admin</a>
<a href="/agent-redirect?to=http://169.254.169.254/latest/meta-data/">Metadata via redirect</a>
<script>fetch('http://[fd00::1]/x').catch(() => {});</script>""",
    )
    key = model.script(
        [
            answer("Open", {"navigate": {"url": page}}),
            answer("Router", {"click": {"index": "@text:Router admin"}}),
            answer("Back", {"navigate": {"url": page}}),
            answer("Metadata", {"click": {"index": "@text:Metadata via redirect"}}),
            answer(
                "Directly",
                {"navigate": {"url": "http://169.254.169.254/latest/meta-data/"}},
                {"navigate": {"url": "http://0.0.0.0:8080/"}},
            ),
            answer("A file", {"wait": {"seconds": 0}}, {"navigate": {"url": "file:///etc/passwd"}}),
            answer("Finish", {"done": {"text": "ok"}}),
        ]
    )
    task = run(stack, key)
    assert task["status"] == "finished", task
    p = prompts(model, key)
    private = "is a private, loopback or link-local address, which is never connected to unless"
    assert f"Event: Blocked the page's requests to fd00::1: fd00::1 {private}" in p[1]
    assert f"Event: Blocked the navigation to http://10.255.255.1/admin: 10.255.255.1 {private}" in p[2]
    assert "Event: Blocked a redirect from" in p[4] and f"169.254.169.254 {private}" in p[4]
    direct = p[5].split("Step 5:", 1)[1]
    assert f"error: cannot open http://169.254.169.254/latest/meta-data/: 169.254.169.254 {private}" in direct
    assert f"error: cannot open http://0.0.0.0:8080/: 0.0.0.0 {private}" in direct
    assert "error: cannot open file:///etc/passwd: file: URLs are not allowed" in p[6]
