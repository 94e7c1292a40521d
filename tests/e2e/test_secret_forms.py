"""A page that echoes a typed secret, encoded (base64, reversed, spaced) and
into a text field of an iframe: none of those forms reaches the model or the
stored steps, and the step screenshot has every one of them blacked out."""

from __future__ import annotations

import base64
import io
import json

import httpx
import pytest
from PIL import Image, ImageStat

from tests.support.scripted_model import ScriptedModelServer, answer, message_texts
from tests.support.site import SiteServer
from tests.support.stack import Stack, wait_for

pytestmark = pytest.mark.e2e
TOKEN = "Zebra-77-Quartz"
FORMS = [base64.b64encode(TOKEN.encode()).decode(), TOKEN[::-1], " ".join(TOKEN)]
BOX = "position:absolute;left:20px;width:900px;height:48px;font:40px/48px monospace;background:#fff;color:#000"
PAGE = f"""<title>Echo</title><body style="margin:0;background:#fff">
<input id=t aria-label="Token" style="position:absolute;left:20px;top:10px;width:400px;height:40px;font:30px monospace">
<div id=b64 style="{BOX};top:100px"></div><div id=rev style="{BOX};top:170px"></div>
<div id=sp style="{BOX};top:240px"></div>
<iframe id=fr srcdoc="<input id=f style='width:600px;height:48px;font:40px monospace'>"
  style="position:absolute;left:20px;top:320px;width:700px;height:70px;border:0"></iframe>
<script>
document.getElementById('t').addEventListener('input', (e) => {{
  const v = e.target.value;
  b64.textContent = btoa(v); rev.textContent = [...v].reverse().join(''); sp.textContent = [...v].join(' ');
  document.getElementById('fr').contentDocument.getElementById('f').value = v;
}});
</script></body>"""
REGIONS = {
    "base64": (30, 105, 400, 140),
    "reversed": (30, 175, 300, 210),
    "spaced": (30, 245, 400, 280),
    "iframe field": (30, 330, 400, 365),
}


def test_encoded_echoes_are_redacted_and_masked(stack: Stack, model: ScriptedModelServer, site: SiteServer) -> None:
    page = site.add_page("secret-forms", PAGE)
    key = model.script(
        [
            answer("Open", {"navigate": {"url": page}}),
            answer("Type", {"input": {"index": "@text:Token", "text": "<secret>token</secret>"}}),
            answer("Finish", {"done": {"text": "typed"}}),
        ]
    )
    with stack.client() as client:
        body = {"task": f"Type the token [script:{key}]", "secrets": {"token": TOKEN}, "highlight_elements": False}
        task = wait_for(
            client, client.post("/run-task", json=body).json()["id"], {"finished", "failed", "stopped"}, timeout=90
        )
        assert task["status"] == "finished", task
        shots = client.get(f"/task/{task['id']}/screenshots").json()["screenshots"]
    requests = model.calls(key)["requests"]
    last_prompt = "\n".join(message_texts(requests[2], "user"))
    assert "<secret>token</secret>" in last_prompt  # the page's echoes, as placeholders
    for form in [TOKEN, *FORMS]:
        assert form not in json.dumps(requests) and form not in json.dumps(task), form
    image = Image.open(io.BytesIO(httpx.get(shots[2], timeout=30).content)).convert("L")
    for what, box in REGIONS.items():
        brightness = ImageStat.Stat(image.crop(box)).mean[0]
        assert brightness < 40, f"the {what} echo is not blacked out in the screenshot (mean {brightness:.0f})"
