"""Every action of the agent protocol, end to end: a scripted model drives a
real worker and Chromium through HTTP, and each action's result or error must
reach the model in the next step's history (read back from the requests the
model server received)."""

from __future__ import annotations

import pytest

from tests.support.agent_runs import history_of, prompts, run
from tests.support.scripted_model import ScriptedModelServer, answer
from tests.support.site import SiteServer
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

FORM = """<!doctype html><html><head><title>Form page</title></head><body>
<h1>Form</h1>
<input id=name placeholder="Your name">
<select id=color aria-label="Colour"><option>Red</option><option>Green</option><option>Blue</option></select>
<textarea id=notes placeholder="Notes"></textarea>
<div id=box tabindex=0 aria-label="Scroll box" style="height:80px;overflow:auto"><p style="height:900px">Box top</p></div>
<p id=status>idle</p><p id=boxed>box at 0</p>
<form method=post action=/echo-upload enctype=multipart/form-data>
  <input type=file name=doc aria-label="Document"><button type=submit>Upload it</button></form>
<div style="height:3000px"></div><p>Footer marker FOOT-99</p>
<script>
document.getElementById('name').addEventListener('keydown', e => {
  if (e.key === 'Enter') document.getElementById('status').textContent =
    'Entered ' + e.target.value + ' with ' + document.getElementById('color').value;
});
const box = document.getElementById('box');
box.addEventListener('scroll', () => { document.getElementById('boxed').textContent = 'box at ' + box.scrollTop; });
</script></body></html>"""  # noqa: E501 (HTML)

POPUPS = """<!doctype html><html><head><title>Popups</title></head><body>
<a href="/p/{tab1}" target="_blank">Open blank tab</a>
<button onclick="window.open('/p/{tab2}')">Open window</button>
<button onclick="alert('Hello alert'); document.getElementById('r').textContent = 'after alert'">Alert me</button>
<button onclick="document.getElementById('c').textContent = confirm('Sure?') ? 'confirmed' : 'cancelled'">Confirm me</button>
<button onclick="document.getElementById('p').textContent = 'prompted ' + prompt('Name?', 'Bob')">Prompt me</button>
<a id=dl download="report.csv">Download report</a>
<script>document.getElementById('dl').href = URL.createObjectURL(new Blob(['id,qty\\n1,2\\n'], {{type: 'text/csv'}}));</script>
<p id=r>no alert</p><p id=c>no confirm</p><p id=p>no prompt</p>
</body></html>"""  # noqa: E501 (HTML)


def test_every_action_reports_its_result_or_error(stack: Stack, model: ScriptedModelServer, site: SiteServer) -> None:
    form = site.add_page("agent-form", FORM)
    key = model.script(
        [
            answer("Open the form", {"navigate": {"url": form}}),
            answer(
                "Fill the form",
                {"input": {"index": "@text:Notes", "text": "hello notes"}},
                {"select_dropdown": {"index": "@text:Colour", "text": "Green"}},
                {"input": {"index": "@text:Your name", "text": "Ada"}},
                {"send_keys": {"keys": "Enter"}},
            ),
            answer(
                "Look around",
                {"switch": {"tab_id": 7}},  # an error does not stop the list
                {"scroll": {"down": True, "pages": 1}},
                {"scroll": {"index": "@text:Scroll box", "pages": 0.5}},
                {"wait": {"seconds": 0.2}},
                {"extract": {"query": "footer marker"}},
            ),
            answer(
                "Upload a file",
                {"write_file": {"file_name": "notes.txt", "content": "uploaded content 123"}},
                {"read_file": {"file_name": "notes.txt"}},
                {"upload_file": {"index": "@text:Document", "file_name": "notes.txt"}},
                {"click": {"index": "@text:Upload it"}},
                {"scroll": {"down": True}},  # skipped: the click navigated
            ),
            answer("Back to the form", {"go_back": {}}),
            answer("Open a tab", {"navigate": {"url": site.url, "new_tab": True}}),
            answer("Tidy up", {"switch": {"tab_id": 0}}),
            answer("Close the other tab", {"close": {"tab_id": 1}}),
            answer(
                "Make mistakes",
                {"click": {"index": "@text:no such element"}},
                {"read_file": {"file_name": "nope.txt"}},
            ),
            answer("Finish", {"done": {"text": "all actions ran"}}),
        ]
    )
    task = run(stack, key)
    assert task["status"] == "finished", task
    assert task["output"] == "all actions ran"
    assert task["output_files"] == ["notes.txt"]
    p = prompts(model, key)
    assert len(p) == 10

    filled = history_of(p[2])
    assert "Typed 'hello notes' into" in filled and "Typed 'Ada' into" in filled
    assert "Selected 'Green' in" in filled and "Pressed Enter" in filled
    assert "Entered Ada with Green" in p[2]  # the page saw the keys and the selection

    looked = history_of(p[3])
    assert "error: there is no tab 7" in looked
    assert "Scrolled down 1 page(s)" in looked and "Scrolled down 0.5 page(s)" in looked
    assert "Waited 0.2 s" in looked
    assert "Content of" in looked and "Footer marker FOOT-99" in looked
    assert "box at 0" not in p[3] and "Pages above: 1.0" in p[3]

    assert "<files>\nnotes.txt\n</files>" in p[4]  # what it wrote is listed among its files
    uploaded = history_of(p[4])
    assert "Wrote 20 characters to notes.txt" in uploaded
    assert "Content of notes.txt:\nuploaded content 123" in uploaded or "uploaded content 123" in uploaded
    assert "to the file notes.txt" in uploaded and "Clicked [" in uploaded
    assert "skipped the remaining 1 action(s)" in uploaded
    assert "Received notes.txt: uploaded content 123" in p[4]  # the real server got the file
    assert len(task["steps"][3]["actions"]) == 5

    assert f"Went back to {form}" in history_of(p[5])
    assert "Opened" in history_of(p[6]) and "tab_id 1" in p[6]
    assert "Switched to tab 0" in history_of(p[7])
    assert "Closed tab 1" in history_of(p[8]) and "tab_id 1" not in p[8].split("<browser_state>", 1)[1]

    mistakes = history_of(p[9]).split("Step 9:", 1)[1]
    assert "error: there is no element [999999]" in mistakes
    assert "error: there is no file 'nope.txt'" in mistakes


def test_tabs_dialogs_and_downloads(stack: Stack, model: ScriptedModelServer, site: SiteServer) -> None:
    tab1, tab2 = f"agent-tab1-{stack.kind}", f"agent-tab2-{stack.kind}"  # hits are counted per page name
    site.add_page(tab1, "<title>Tab one</title><h1>First new tab</h1>")
    site.add_page(tab2, "<title>Tab two</title><h1>Second new tab</h1>")
    popups = site.add_page("agent-popups", POPUPS.format(tab1=tab1, tab2=tab2))
    key = model.script(
        [
            answer("Open the page", {"navigate": {"url": popups}}),
            answer(
                "Trigger dialogs and a download",
                {"click": {"index": "@text:Alert me"}},
                {"click": {"index": "@text:Confirm me"}},
                {"click": {"index": "@text:Prompt me"}},
                {"click": {"index": "@text:Download report"}},
            ),
            answer("Read the download", {"read_file": {"file_name": "report.csv"}}),
            answer(
                "Open tabs",
                {"click": {"index": "@text:Open blank tab"}},
                {"click": {"index": "@text:Open window"}},  # skipped: a tab opened
            ),
            answer("Back to the first tab", {"switch": {"tab_id": 0}}),
            answer("Open a window", {"click": {"index": "@text:Open window"}}),
            answer("Finish", {"done": {"text": "ok"}}),
        ]
    )
    task = run(stack, key)
    assert task["status"] == "finished", task
    p = prompts(model, key)
    assert task["output_files"] == ["report.csv"], p[2]

    # Dialogs were answered (the page went on) and reported; the download was saved.
    assert "after alert" in p[2] and "confirmed" in p[2] and "prompted Bob" in p[2]
    assert "Event: The page showed a alert dialog: 'Hello alert'" in p[2]
    assert "confirm dialog: 'Sure?'; it was accepted" in p[2]
    assert "prompt dialog: 'Name?'; it was accepted with 'Bob'" in p[2]
    assert "The page downloaded a file, saved as 'report.csv'" in p[2]
    assert "<files>\nreport.csv\n</files>" in p[2]  # a download is one of the agent's files
    assert "Content of report.csv:\nid,qty\n1,2" in history_of(p[3])

    # target=_blank became tab 1, the current one; the click after it did not run.
    assert "A new tab opened (tab_id 1)" in p[4]
    assert "* tab_id 1: Tab one" in p[4] and "First new tab" in p[4]
    assert "skipped the remaining 1 action(s)" in history_of(p[4])
    assert "* tab_id 0: Popups" in p[5]
    # window.open became tab 2.
    assert "A new tab opened (tab_id 2)" in p[6] and "* tab_id 2: Tab two" in p[6]
    assert site.hits.get(tab2) == 1
