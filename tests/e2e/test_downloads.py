"""Page downloads: capped per task (a download past the cap is deleted, never
stored, and the model is told), and named by the one rule storage checks, so
every name in output_files can be downloaded (names with '..' or over 200
characters used to be listed and lost)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.scripted_model import ScriptedModelServer, answer, message_texts
from tests.support.site import SiteServer
from tests.support.stack import Stack, wait_for

pytestmark = pytest.mark.e2e
LONG = "n" * 250 + ".txt"
PAGE = """<h1>Files</h1>
<a id=small download="a..b.txt" href="data:text/plain,small%20file">Small file</a>
<a id=long download="{long}" href="data:text/plain,long%20name">Long name</a>
<a id=big download="big.bin" href="#">Big file</a>
<script>document.getElementById('big').href = URL.createObjectURL(new Blob([new Uint8Array(3000000)]));</script>
"""


@pytest.fixture(scope="module")
def capped_stack(model: ScriptedModelServer) -> Iterator[Stack]:
    stack = Stack(
        kind="embedded", model_base_url=model.base_url, env_extra={"BROWSERQ_MAX_DOWNLOAD_BYTES_PER_TASK": "2000000"}
    )
    try:
        yield stack.start()
    finally:
        stack.stop()


def test_downloads_are_capped_and_every_listed_name_is_stored(
    capped_stack: Stack, model: ScriptedModelServer, site: SiteServer
) -> None:
    page = site.add_page("downloads", PAGE.format(long=LONG))
    key = model.script(
        [
            answer("Open", {"navigate": {"url": page}}),
            answer(
                "Download",
                {"click": {"index": "@text:Small file"}},
                {"click": {"index": "@text:Long name"}},
                {"click": {"index": "@text:Big file"}},
                {"wait": {"seconds": 2}},
            ),
            answer("Finish", {"done": {"text": "done"}}),
        ]
    )
    with capped_stack.client() as client:
        response = client.post("/run-task", json={"task": f"Download [script:{key}]"})
        assert response.status_code == 200, response.text
        task = wait_for(client, response.json()["id"], {"finished", "failed", "stopped"}, timeout=120)
        assert task["status"] == "finished", task
        listed = task["output_files"]
        assert len(listed) == 2 and "big.bin" not in listed, listed
        contents = set()
        for name in listed:
            assert len(name) <= 200 and ".." not in name, name
            answer_ = client.get(f"/task/{task['id']}/output-file/{name}")
            assert answer_.status_code == 200, (name, answer_.text)
            contents.add(httpx.get(answer_.json()["download_url"], timeout=30).content)
        assert contents == {b"small file", b"long name"}
    last_prompt = "\n".join(message_texts(model.calls(key)["requests"][-1]))
    assert "big.bin" in last_prompt and "was refused and deleted" in last_prompt and "2 MB" in last_prompt
