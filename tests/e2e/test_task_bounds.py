"""One task cannot take the shared browser from its neighbours: its tabs are
capped (a popup storm is blocked by Chromium's popup blocker, and where there is none,
in the lean kind's headless shell, it ends with at most N tabs; the model told), a page that
eats memory is stopped and the task ends saying why, and a download past the
cap is stopped while its bytes arrive."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.support.scripted_model import ScriptedModelServer, answer, message_texts
from tests.support.site import SiteServer
from tests.support.stack import Stack, poll, wait_for

pytestmark = pytest.mark.e2e
FINAL = {"finished", "failed", "stopped"}
MAX_TABS = 4
MEMORY_MB = 200
DOWNLOAD_CAP = 2_000_000
# 200 popups without a user gesture: 100 through the page's window.open, 100 through the
# window.open of a fresh iframe's realm (a page's way around a wrapped window.open).
STORM = """<title>Storm</title><p>Opening popups</p>
<script>
for (let i = 0; i < 100; i++) window.open('/p/popup-target?a' + i);
const f = document.createElement('iframe');
document.body.append(f);
const raw = f.contentWindow.open;
for (let i = 0; i < 100; i++) raw.call(window, '/p/popup-target?b' + i);
</script>"""


@pytest.fixture(scope="module")
def bounded_stack(model: ScriptedModelServer) -> Iterator[Stack]:
    stack = Stack(
        kind="embedded",
        model_base_url=model.base_url,
        workers=2,
        worker_kinds=["", "lean"],  # the default kind (stealth), and the lean kind without a popup blocker
        env_extra={
            "BROWSERQ_MAX_TABS_PER_TASK": str(MAX_TABS),
            "BROWSERQ_MAX_PAGE_MEMORY_MB": str(MEMORY_MB),
            "BROWSERQ_MAX_DOWNLOAD_BYTES_PER_TASK": str(DOWNLOAD_CAP),
        },
    )
    try:
        yield stack.start()
    finally:
        stack.stop()


def run(
    stack: Stack, model: ScriptedModelServer, steps: list[dict], secrets: dict | None = None, kind: str | None = None
) -> tuple[dict, list]:
    key = model.script(steps)
    with stack.client() as client:
        body = {"task": f"Bounds [script:{key}]", **({"secrets": secrets} if secrets else {})}
        if kind:
            body["browser_kind"] = kind
        # A kind is refused (422) until its worker's first presence row is written.
        response = poll(
            f"a {kind or 'default'} worker",
            lambda: r if (r := client.post("/run-task", json=body)).status_code != 422 else None,
            timeout=60,
            every=0.5,
        )
        assert response.status_code == 200, response.text
        task = wait_for(client, response.json()["id"], FINAL, timeout=120)
    return task, model.calls(key)["requests"]


def _storm(stack: Stack, model: ScriptedModelServer, site: SiteServer, kind: str | None) -> list[str]:
    """The prompts after a task opened the storm page and waited."""
    site.add_page("popup-target", "<title>Popup</title><p>popup</p>")
    storm = site.add_page("popup-storm", STORM)
    task, requests = run(
        stack,
        model,
        [
            answer("Open", {"navigate": {"url": storm}}),
            answer("Wait for the page", {"wait": {"seconds": 3}}),
            answer("Finish", {"done": {"text": "done"}}),
        ],
        kind=kind,
    )
    assert task["status"] == "finished", task
    return ["\n".join(message_texts(r, "user")) for r in requests]


def test_a_popup_storm_is_blocked_at_the_source(
    bounded_stack: Stack, model: ScriptedModelServer, site: SiteServer
) -> None:
    before = site.hits.get("popup-target", 0)
    prompts = _storm(bounded_stack, model, site, None)
    for prompt in prompts[1:]:
        assert len(re.findall(r"^[ *] tab_id \d+:", prompt, re.M)) == 1, prompt  # no popup opened
    told = "\n".join(prompts[1:])
    assert "tried to open a popup window without a click; the browser blocked it" in told, told
    assert site.hits.get("popup-target", 0) == before, site.hits  # none was even requested


def test_a_popup_storm_without_a_popup_blocker_ends_with_at_most_n_tabs(
    bounded_stack: Stack, model: ScriptedModelServer, site: SiteServer
) -> None:
    before = site.hits.get("popup-target", 0)
    prompts = _storm(bounded_stack, model, site, "lean")
    for prompt in prompts[1:]:
        tabs = re.findall(r"^[ *] tab_id \d+:", prompt, re.M)
        assert 2 <= len(tabs) <= MAX_TABS, prompt  # popups did open, up to the cap
    told = "\n".join(prompts[1:])
    assert f"past this task's limit of {MAX_TABS} open tabs" in told, told
    assert site.hits.get("popup-target", 0) - before < 50, site.hits  # most were never even made


# Allocates 10 MB every 100 ms, in ArrayBuffers (outside the JavaScript heap proper) and
# arrays, until something stops it.
HOG = """<title>Hog</title><p>Growing</p>
<script>
const keep = [];
setInterval(() => { keep.push(new Float64Array(655360), new Array(655360).fill(keep.length)); }, 100);
</script>"""


def test_a_page_allocating_memory_is_stopped_and_the_task_ends_saying_why(
    bounded_stack: Stack, model: ScriptedModelServer, site: SiteServer
) -> None:
    hog = site.add_page("memory-hog", HOG)
    task, requests = run(
        bounded_stack,
        model,
        [
            answer("Open", {"navigate": {"url": hog}}),
            *[answer("Wait", {"wait": {"seconds": 5}}) for _ in range(12)],
            answer("Finish", {"done": {"text": "the page never stopped growing"}}),
        ],
    )
    assert task["status"] == "failed", task
    assert f"a page used more memory than a page may ({MEMORY_MB} MB)" in task["output"], task["output"]
    assert len(requests) < 13, len(requests)  # it ended well before the script did


def test_a_download_past_the_cap_stops_at_the_cap(
    bounded_stack: Stack, model: ScriptedModelServer, site: SiteServer
) -> None:
    page = site.add_page("big-download", '<title>Files</title><a href="/stream/huge?mb=64">Huge file</a>')
    task, requests = run(
        bounded_stack,
        model,
        [
            answer("Open", {"navigate": {"url": page}}),
            answer("Download", {"click": {"index": "@text:Huge file"}}),
            answer("Wait for it", {"wait": {"seconds": 3}}),
            answer("Finish", {"done": {"text": "done"}}),
        ],
    )
    assert task["status"] == "finished", task
    assert not task.get("output_files"), task["output_files"]
    told = "\n".join(text for r in requests[2:] for text in message_texts(r, "user"))
    assert "'huge.bin' was stopped at" in told and "2 MB" in told, told
    # What the download's file held when it was stopped (the worker measures it, its log says
    # so): never past the cap, although the site had 64 MiB to send.
    stopped = [int(n) for n in re.findall(r"download 'huge.bin' stopped at (\d+) bytes", bounded_stack.log("worker0"))]
    assert stopped and 0 < stopped[0] <= DOWNLOAD_CAP, stopped
