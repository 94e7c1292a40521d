"""A page that echoes a typed secret, encoded (base64, reversed, spaced) and
into a text field of an iframe: none of those forms reaches the model or the
stored steps, and the step screenshot has every one of them blacked out."""

from __future__ import annotations

import base64
import io
import json
import re
import unicodedata

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


VALUE = "Hunter7Orchid7037"
LINE = (
    "position:absolute;left:20px;width:1100px;height:40px;font:30px/40px monospace;background:#fff;color:#000;margin:0"
)
# The page draws what was typed in five forms, each a line at its own height: split across
# two elements, letters joined by U+200D, upper-cased, dash-separated, fullwidth.
ECHO_PAGE = f"""<title>Echoes</title><body style="margin:0;background:#fff">
<input id=t aria-label="Token" type=password style="position:absolute;left:20px;top:10px;width:300px;height:40px">
<p id=split style="{LINE};top:80px"></p><p id=zwj style="{LINE};top:140px"></p>
<p id=upper style="{LINE};top:200px"></p><p id=dash style="{LINE};top:260px"></p>
<p id=full style="{LINE};top:320px"></p><p id=plain style="{LINE};top:380px">Plain words stay readable</p>
<p id=hid style="{LINE};top:440px"></p>
<button onclick="hid.innerHTML = t.value.slice(0, 7) + '<span style=display:none>zz</span>' + t.value.slice(7)"
  style="position:absolute;left:20px;top:520px">Reveal</button>
<script>
t.addEventListener('input', () => {{
  const v = t.value;
  split.textContent = v.slice(0, 5);
  split.append(Object.assign(document.createElement('b'), {{textContent: v.slice(5)}}));
  zwj.textContent = [...v].join('\\u200d');
  upper.textContent = v.toUpperCase();
  dash.textContent = [...v].join('-');
  full.textContent = [...v].map((c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0)).join('');
}});
</script></body>"""


def fold(text: str) -> str:
    """Letters and digits only, lower-cased, fullwidth folded: every echo below folds to one string."""
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", text).lower())


ECHOES = {  # where each form is drawn: its first characters
    "split across elements": (30, 86, 300, 114),
    "zero-width joiners": (30, 146, 300, 174),
    "upper-cased": (30, 206, 300, 234),
    "dash-separated": (30, 266, 300, 294),
    "fullwidth": (30, 326, 300, 354),
}


def test_echoes_however_drawn_are_masked_or_the_shot_withheld(
    stack: Stack, model: ScriptedModelServer, site: SiteServer
) -> None:
    page = site.add_page("secret-echoes", ECHO_PAGE)
    key = model.script(
        [
            answer("Open", {"navigate": {"url": page}}),
            answer("Type", {"input": {"index": "@text:Token", "text": "<secret>token</secret>"}}),
            answer("Reveal", {"click": {"index": "@text:Reveal"}}),
            answer("Finish", {"done": {"text": "typed"}}),
        ]
    )
    with stack.client() as client:
        body = {"task": f"Type the token [script:{key}]", "secrets": {"token": VALUE}, "highlight_elements": False}
        task = wait_for(
            client, client.post("/run-task", json=body).json()["id"], {"finished", "failed", "stopped"}, timeout=90
        )
        assert task["status"] == "finished", task
        shots = client.get(f"/task/{task['id']}/screenshots").json()["screenshots"]
    requests = model.calls(key)["requests"]
    prompts = ["\n".join(message_texts(r, "user")) for r in requests]
    # The model read every echo as the placeholder, and no form of the value reached it or a stored step.
    assert prompts[2].count("<secret>token</secret>") >= 5, prompts[2]
    assert "Plain words stay readable" in prompts[2]
    for where, text in {
        "the model's requests": "\n".join(prompts),
        "the task": json.dumps(task, ensure_ascii=False),
    }.items():
        assert fold(VALUE) not in fold(text), f"a form of the value reached {where}"
    # Step 3's screenshot has each echo blacked out where it was drawn, and plain text left readable.
    by_step = {int(m.group(1)): url for url in shots if (m := re.search(r"/(\d+)\.jpg", url))}
    image = Image.open(io.BytesIO(httpx.get(by_step[3], timeout=30).content)).convert("L")
    for what, box in ECHOES.items():
        brightness = ImageStat.Stat(image.crop(box)).mean[0]
        assert brightness < 40, f"the {what} echo is not blacked out in the screenshot (mean {brightness:.0f})"
    assert ImageStat.Stat(image.crop((30, 386, 300, 414))).mean[0] > 150, "text without a secret was blacked out"
    # After Reveal the page draws the value around a hidden element: no range reaches that drawn
    # occurrence, so the step's screenshot was neither stored nor sent, and the step says why.
    assert 4 not in by_step and sorted(by_step) == [1, 2, 3], shots
    assert "screenshot of this step was withheld" in task["steps"][3]["evaluation_previous_goal"], task["steps"][3]
    assert "image_url" in json.dumps(requests[2]) and "image_url" not in json.dumps(requests[3])  # nor sent
