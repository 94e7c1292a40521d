"""The live view and the public share page, through a real headless Chromium
in the test: the live view embedded in an iframe on another origin streams
the task's page, lets a person take control and type into the real browser,
and hands back to the agent, whose next step sees what was typed; the share
page follows the run; wrong, foreign and expired links open nothing."""

from __future__ import annotations

import html
import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Frame, Page
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from api.public_links import sign_live_token
from tests.support.person import person_browser
from tests.support.scripted_model import ScriptedModelServer, answer
from tests.support.site import PASSWORD, SiteServer
from tests.support.stack import Stack, poll, wait_for

pytestmark = pytest.mark.e2e
FINAL = {"finished", "failed", "stopped"}

# The remote page: a counter that changes every 200 ms (so frames keep coming)
# and a text field at a known place of the 800x600 viewport.
COUNTER = """<!doctype html><html><head><title>Counter</title></head><body style="margin:0">
<h1 style="margin:20px">Counter <span id=count>0</span></h1>
<input id=note name=note placeholder="Note for the agent"
       style="position:absolute;left:40px;top:200px;width:300px;height:40px;font-size:20px">
<script>let n = 0; setInterval(() => { document.getElementById("count").textContent = ++n; }, 200);</script>
</body></html>"""
NOTE_CENTER = (190, 220)
VIEWPORT = (800, 600)
TYPED = "typed-by-a-person"


def user_text(request: dict[str, Any]) -> str:
    """The text of the user messages of one model request (images left out)."""
    parts = []
    for message in request["messages"]:
        if message.get("role") != "user":
            continue
        content = message["content"]
        if isinstance(content, str):
            parts.append(content)
        else:
            parts.extend(p.get("text", "") for p in content if isinstance(p, dict))
    return "\n".join(parts)


@pytest.fixture(scope="module")
def viewer() -> Iterator[Browser]:
    """A person's browser: a real headless Chromium driven from the test."""
    with person_browser() as browser:
        yield browser


def submit(client: httpx.Client, key: str, **fields: object) -> str:
    response = client.post("/run-task", json={"task": f"Watch the counter [script:{key}]", **fields})
    assert response.status_code == 200, response.text
    return response.json()["id"]


def embed(site: SiteServer, url: str) -> str:
    """A page on another origin (localhost vs the API's 127.0.0.1) that frames `url`."""
    page_url = site.add_page(
        f"embed-{uuid.uuid4().hex[:8]}",
        f'<!doctype html><h1>Embedding site</h1><iframe id=live src="{html.escape(url)}" width=1100 height=700>'
        "</iframe>",
    )
    return page_url.replace("127.0.0.1", "localhost")


def live_frame(page: Page, live_url: str) -> Frame:
    return poll(
        "the live view inside the iframe",
        lambda: next(
            (f for f in page.frames if f.url == live_url and f.evaluate("typeof window.liveView") == "object"), None
        ),
        timeout=20,
    )


def test_live_view_in_an_iframe_streams_and_hands_over_control(
    stack: Stack, model: ScriptedModelServer, site: SiteServer, viewer: Browser
) -> None:
    counter = site.add_page(f"counter-{uuid.uuid4().hex[:8]}", COUNTER)
    key = model.script(
        [
            answer("Open the counter", {"navigate": {"url": counter}}),
            {"_repeat": 20, "reply": {"_delay": 1.0, "reply": answer("Watch the counter", {"wait": {"seconds": 0}})}},
            answer("Finish", {"done": {"text": "watched"}}),
        ]
    )
    with stack.client() as client:
        task_id = submit(client, key, browser_viewport_width=VIEWPORT[0], browser_viewport_height=VIEWPORT[1])
        task = poll(
            "step 1 on the counter page", lambda: t if (t := client.get(f"/task/{task_id}").json())["steps"] else None
        )
        live_url = task["live_url"]
        assert live_url and live_url.startswith(f"{stack.url}/live/{task_id}?token=")
        listed = client.get("/tasks", params={"limit": 100}).json()["tasks"]
        assert next(t for t in listed if t["id"] == task_id)["live_url"] == live_url

        page = viewer.new_page()
        try:
            page.goto(embed(site, live_url))
            frame = live_frame(page, live_url)

            # Frames arrive and change as the counter ticks.
            first = poll(
                "a first frame", lambda: frame.evaluate("liveView.frames >= 1 && document.getElementById('screen').src")
            )
            poll("a different frame", lambda: frame.evaluate("document.getElementById('screen').src") != first)
            assert frame.evaluate("liveView.width") == VIEWPORT[0]
            second_viewer_sees_frames(live_url)
            poll("step 2 on the page", lambda: "Watch the counter" in frame.inner_text("#steps"))

            # Take control: the task pauses, the person types into the real page.
            frame.click("#control")
            poll("the task paused", lambda: client.get(f"/task/{task_id}/status").json() == "paused")
            poll("control in the page", lambda: frame.evaluate("liveView.inControl"))
            poll("the agent stopped for the pause", lambda: frame.evaluate("liveView.parked"))
            assert frame.inner_text("#banner").startswith("You have control")
            box = frame.locator("#screen").bounding_box()
            assert box
            page.mouse.click(
                box["x"] + NOTE_CENTER[0] / VIEWPORT[0] * box["width"],
                box["y"] + NOTE_CENTER[1] / VIEWPORT[1] * box["height"],
            )
            page.keyboard.type(TYPED)
            before = model.calls(key)["count"]

            # Hand back: the page waits until the worker handled the input, then resumes.
            frame.click("#control")
            poll("the task running again", lambda: client.get(f"/task/{task_id}/status").json() == "running")
            assert frame.evaluate("liveView.sent >= 2 && liveView.handled >= liveView.sent")
            poll("the agent's next step", lambda: model.calls(key)["count"] > before)
            next_request = model.calls(key)["requests"][before]
            assert re.search(r'value=["\']?' + TYPED, user_text(next_request)), user_text(next_request)[-2000:]
            page.close()
            # The last viewer left: the worker stops the screencast (the task runs on).
            poll(
                "the screencast to stop",
                lambda: f"task {task_id}: nobody watches any more" in stack.log("worker0"),
                timeout=15,
                every=0.3,
            )
        finally:
            page.close()
            client.put("/stop-task", params={"task_id": task_id})  # also when the test failed: no steps left over
        assert client.get(f"/task/{task_id}/status").json() == "stopped"


def second_viewer_sees_frames(live_url: str) -> None:
    """Another viewer of the same task, at the same time, gets its own stream."""
    with connect(live_url.replace("http://", "ws://").replace("?token=", "/ws?token="), open_timeout=10) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "hello"
        message = json.loads(ws.recv(timeout=10))
        assert message["type"] == "frame" and message["width"] == VIEWPORT[0] and message["data"]


def test_public_share_page_follows_the_run(
    stack: Stack, model: ScriptedModelServer, site: SiteServer, viewer: Browser
) -> None:
    key = model.script(
        [
            answer("Open the login page", {"navigate": {"url": f"{site.url}/login"}}),
            {
                "_delay": 2.0,
                "reply": answer(
                    "Type the password", {"input": {"index": "@text:Password", "text": "<secret>pw</secret>"}}
                ),
            },
            {"_delay": 1.0, "reply": answer("Finish", {"done": {"text": "shared result"}})},
        ]
    )
    with stack.client() as client:
        task_id = submit(client, key, enable_public_share=True, secrets={"pw": PASSWORD}, save_browser_data=True)
        task = client.get(f"/task/{task_id}").json()
        share = task["public_share_url"]
        assert share and share.startswith(f"{stack.url}/share/")

        page = viewer.new_page()
        try:
            response = page.goto(share)
            assert response and response.status == 200
            assert "frame-ancestors *" in response.headers["content-security-policy"]
            counts = set()

            def finished() -> bool:
                counts.add(page.locator("li.step").count())
                return page.inner_text("#status") == "finished"

            try:
                poll("the share page to show the finished run", finished, timeout=60, every=0.2)
            except AssertionError:
                raise AssertionError(f"{page.inner_text('body')}\n{client.get(f'/task/{task_id}').text}") from None
            assert page.locator("li.step").count() == 3 and len(counts) >= 2, counts  # it updated as steps came
            assert "Type the password" in page.inner_text("#steps")
            assert page.inner_text("#output") == "shared result"
        finally:
            page.close()

        state = httpx.get(f"{share}/state").json()
        assert [s["step"] for s in state["steps"]] == [1, 2, 3] and state["status"] == "finished"
        assert all("screenshot_url" in s for s in state["steps"])
        text = json.dumps(state)
        assert PASSWORD not in text and "cookies" not in text and "browser_data" not in text
        assert "live_url" not in text and "metadata" not in text


def _refused(url: str) -> int:
    try:
        with connect(url, open_timeout=10):
            return 0
    except InvalidStatus as exc:
        return exc.response.status_code


def test_wrong_foreign_and_expired_links_open_nothing(stack: Stack, model: ScriptedModelServer) -> None:
    with stack.client() as client:
        ids = [submit(client, model.script([answer("Done", {"done": {"text": "ok"}})])) for _ in range(2)]
        tasks = [wait_for(client, task_id, FINAL) for task_id in ids]
    own, other = tasks
    assert own["public_share_url"] is None  # not asked for
    ws_base = stack.url.replace("http://", "ws://")
    own_token = own["live_url"].split("token=")[1]
    other_token = other["live_url"].split("token=")[1]
    expired = sign_live_token(own["id"], int(time.time()) - 5, stack.env["BROWSERQ_SECRET_KEY"])

    # The task's own link opens the page, which other sites may frame.
    ok = httpx.get(own["live_url"])
    assert ok.status_code == 200 and "frame-ancestors *" in ok.headers["content-security-policy"]
    assert "x-frame-options" not in ok.headers
    assert httpx.get(f"{stack.url}/live/{own['id']}/state", params={"token": own_token}).json()["status"] == "finished"

    for token in (other_token, expired, "garbage", ""):
        assert httpx.get(f"{stack.url}/live/{own['id']}", params={"token": token}).status_code == 403
        assert httpx.get(f"{stack.url}/live/{own['id']}/state", params={"token": token}).status_code == 403
        assert _refused(f"{ws_base}/live/{own['id']}/ws?token={token}") == 403
    unknown = str(uuid.uuid4())
    forged_for_unknown = sign_live_token(unknown, int(time.time()) + 600, stack.env["BROWSERQ_SECRET_KEY"])
    assert httpx.get(f"{stack.url}/live/{unknown}", params={"token": forged_for_unknown}).status_code == 404
    assert _refused(f"{ws_base}/live/{own['id']}/ws?token={own_token}") == 0

    assert httpx.get(f"{stack.url}/share/{uuid.uuid4().hex}").status_code == 404
    assert httpx.get(f"{stack.url}/share/{uuid.uuid4().hex}/state").status_code == 404
