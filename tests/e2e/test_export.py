"""Runs you own: a finished task exported as a standalone Playwright script (run with a
Python that has only Playwright), and replays that read the answer again from the page
instead of repeating the original's output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_client_cli import bq, cli_env
from tests.e2e.test_tasks_api import FINAL, submit
from tests.support.scripted_model import ScriptedModelServer, answer
from tests.support.site import ACCOUNT_CODE, BALANCE, PASSWORD, USERNAME, SiteServer
from tests.support.stack import CHROMIUM, Stack, wait_for

pytestmark = pytest.mark.e2e
PLAYWRIGHT_VERSION = version("playwright")  # the locked one, as installed from requirements/test.txt
VENVS = Path(os.environ.get("BROWSERQ_TEST_CACHE", Path.home() / ".cache" / "browserq-tests"))
SCHEMA = json.dumps(
    {
        "type": "object",
        "properties": {"code": {"type": "string"}, "balance": {"type": "number"}},
        "required": ["code", "balance"],
    }
)


@pytest.fixture(scope="session")
def playwright_python() -> Path:
    """A Python with Playwright alone (no browserq, nothing else of ours), made once and kept."""
    venv = VENVS / f"playwright-{PLAYWRIGHT_VERSION}"
    python = venv / "bin" / "python"
    probe = [str(python), "-c", "import playwright, importlib.metadata as m; print(m.version('playwright'))"]
    if python.exists() and subprocess.run(probe, capture_output=True, text=True).stdout.strip() == PLAYWRIGHT_VERSION:
        return python
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True, timeout=300)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, f"playwright=={PLAYWRIGHT_VERSION}"], check=True, timeout=600)
    return python


@pytest.fixture
def balance(site: SiteServer) -> Iterator[SiteServer]:
    """The site, its balance put back afterwards for the other tests."""
    try:
        yield site
    finally:
        site.balance = BALANCE


def login_reading(site: SiteServer, done: dict) -> list[dict]:
    return [
        answer("Open the login page", {"navigate": {"url": f"{site.url}/login"}}),
        answer(
            "Log in",
            {"input": {"index": "@text:Username", "text": USERNAME}},
            {"input": {"index": "@text:Password", "text": "<secret>password</secret>"}},
            {"click": {"index": "@text:Sign in"}},
        ),
        answer("Report what the account page says", {"done": done}),
    ]


def run_script(python: Path, script: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The exported script as a user runs it: its own Python, only the environment it names."""
    base = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "CHROMIUM_PATH": CHROMIUM}
    return subprocess.run(
        [str(python), str(script)], env={**base, **env}, capture_output=True, text=True, timeout=180, cwd=script.parent
    )


def export(client: httpx.Client, task_id: str, folder: Path) -> tuple[Path, str]:
    response = client.get(f"/task/{task_id}/script")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/x-python")
    path = folder / f"export_{task_id[:8]}.py"
    path.write_text(response.text)
    formatted = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "--diff", "--isolated", "--line-length", "120", str(path)],
        capture_output=True,
        text=True,
    )
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr
    return path, response.text


def test_a_login_run_exported_and_replayed_reads_the_balance_again(
    pg_stack: Stack, model: ScriptedModelServer, balance: SiteServer, playwright_python: Path, tmp_path: Path
) -> None:
    site = balance
    key = model.script(login_reading(site, {"text": BALANCE}))
    with pg_stack.client() as client:
        original = wait_for(client, submit(client, key, secrets={"password": PASSWORD}), FINAL)
        assert original["status"] == "finished" and original["output"] == BALANCE, original
        # Where the answer was read (ext): the cell that says "$1,250.00 available", the value before " available".
        (source,) = [part["source"] for part in original["answer_sources"]["parts"]]
        assert source["suffix"] == " available" and source["element"].startswith("<td>"), source
        script, text = export(client, original["id"], tmp_path)
        # The secret is read from the environment, never written; the task text and the element lines are comments.
        assert PASSWORD not in text and 'secret("SECRET_PASSWORD")' in text
        assert "# <button type=submit>Sign in</button>" in text and "Log in and read the account code" in text
        assert "import browserq" not in text and "time.sleep" not in text

        ran = run_script(playwright_python, script, SECRET_PASSWORD=PASSWORD)
        assert ran.returncode == 0, ran.stderr
        assert ran.stdout.strip() == BALANCE  # it logged in (the account page needs the session) and read it

        missing = run_script(playwright_python, script)
        assert missing.returncode != 0 and "SECRET_PASSWORD" in missing.stderr

        site.balance = "$980.50"
        replay = wait_for(client, client.post(f"/task/{original['id']}/replay").json()["id"], FINAL)
        assert replay["status"] == "finished" and replay["output"] == "$980.50", replay
        assert model.calls(key)["count"] == 3  # the replay asked no model: it read the page
        again = run_script(playwright_python, script, SECRET_PASSWORD=PASSWORD)
        assert again.returncode == 0 and again.stdout.strip() == "$980.50", again.stderr

        # A replay of the replay reads again too (it recorded where it read its answer).
        site.balance = "$1.00"
        second = wait_for(client, client.post(f"/task/{replay['id']}/replay").json()["id"], FINAL)
        assert second["output"] == "$1.00", second


def test_a_structured_answer_is_read_again_and_a_lost_value_goes_to_the_model(
    pg_stack: Stack, model: ScriptedModelServer, balance: SiteServer, playwright_python: Path, tmp_path: Path
) -> None:
    site = balance
    key = model.script(
        [
            *login_reading(site, {"data": {"code": ACCOUNT_CODE, "balance": 1250}}),
            # Only the replay on a page without a balance reaches this: the model answers the last step.
            answer("The balance is gone", {"done": {"data": {"code": ACCOUNT_CODE, "balance": 0}}}),
        ]
    )
    with pg_stack.client() as client:
        body = {"secrets": {"password": PASSWORD}, "structured_output_json": SCHEMA}
        original = wait_for(client, submit(client, key, **body), FINAL)
        assert original["status"] == "finished", original
        assert json.loads(original["output"]) == {"code": ACCOUNT_CODE, "balance": 1250}
        fields = {tuple(f["path"]): f["source"] for f in original["answer_sources"]["fields"]}
        assert fields[("code",)]["selector"] == "#code" and fields[("balance",)]["type"] == "number", fields
        script = tmp_path / "from_the_cli.py"  # `browserq export ID -o FILE`, as a person would
        cli = bq(cli_env(pg_stack, tmp_path), "export", original["id"], "-o", str(script))
        assert cli.returncode == 0 and script.read_text() == export(client, original["id"], tmp_path)[1], cli.stderr

        site.balance = "$2,003.25"
        ran = run_script(playwright_python, script, SECRET_PASSWORD=PASSWORD)
        assert ran.returncode == 0, ran.stderr
        assert json.loads(ran.stdout) == {"code": ACCOUNT_CODE, "balance": 2003.25}
        replay = wait_for(client, client.post(f"/task/{original['id']}/replay").json()["id"], FINAL)
        assert json.loads(replay["output"]) == {"code": ACCOUNT_CODE, "balance": 2003.25}, replay
        assert model.calls(key)["count"] == 3

        site.balance = "not available"
        lost = wait_for(client, client.post(f"/task/{original['id']}/replay").json()["id"], FINAL)
        assert json.loads(lost["output"]) == {"code": ACCOUNT_CODE, "balance": 0}, lost
        calls = model.calls(key)
        assert calls["count"] == 4 and "Step 3 of at most" in str(calls["requests"][3]["messages"])
        failed = run_script(playwright_python, script, SECRET_PASSWORD=PASSWORD)
        assert failed.returncode != 0 and "the answer's element" in failed.stderr  # says what to edit


def test_only_finished_tasks_export(pg_stack: Stack, model: ScriptedModelServer, tmp_path: Path) -> None:
    key = model.script([answer("Loop", {"wait": {"seconds": 0.1}})] * 2)
    with pg_stack.client() as client:
        failed = wait_for(client, submit(client, key, max_agent_steps=1), FINAL)
        conflict = client.get(f"/task/{failed['id']}/script")
        assert conflict.status_code == 409 and "finished" in conflict.json()["detail"]
        assert client.get("/task/no-such-task/script").status_code == 404
    cli = bq(cli_env(pg_stack, tmp_path), "export", failed["id"])
    assert cli.returncode != 0 and "Only a finished task can be exported" in cli.stderr


def test_an_answer_read_inside_a_cross_origin_frame_is_read_again_in_that_frame(
    pg_stack: Stack, model: ScriptedModelServer, site: SiteServer, playwright_python: Path, tmp_path: Path
) -> None:
    quote_html = '<h2>Quote</h2><p class="total">Total: {} EUR</p>'
    with SiteServer() as other:  # another port: another origin, whose document the top one cannot read
        quote = other.add_page("frame-quote", quote_html.format("41.50"))
        host = site.add_page("frame-host", f'<h1>Checkout 7731</h1><p>Your quote:</p><iframe src="{quote}"></iframe>')
        opening = answer("Open the checkout", {"navigate": {"url": host}})
        key = model.script([opening, answer("Report the total", {"done": {"text": "The total is 41.50 EUR"}})])
        data = {"order": "Checkout 7731", "total": 41.5}
        data_key = model.script([opening, answer("Report both", {"done": {"data": data}})])
        schema = {"type": "object", "properties": {"order": {"type": "string"}, "total": {"type": "number"}}}
        with pg_stack.client() as client:
            text_task = wait_for(client, submit(client, key), FINAL)
            assert text_task["output"] == "The total is 41.50 EUR", text_task
            parts = text_task["answer_sources"]["parts"]
            (source,) = [p["source"] for p in parts if "source" in p]
            assert source["frame"] == quote and source["selector"] == "p.total", source
            script, _ = export(client, text_task["id"], tmp_path)

            data_task = wait_for(client, submit(client, data_key, structured_output_json=json.dumps(schema)), FINAL)
            fields = {tuple(f["path"]): f["source"] for f in data_task["answer_sources"]["fields"]}
            assert "frame" not in fields[("order",)] and fields[("total",)]["frame"] == quote, fields

            other.add_page("frame-quote", quote_html.format("39.90"))  # the quote changed since the run
            replay = wait_for(client, client.post(f"/task/{text_task['id']}/replay").json()["id"], FINAL)
            assert replay["output"] == "The total is 39.90 EUR", replay
            replay = wait_for(client, client.post(f"/task/{data_task['id']}/replay").json()["id"], FINAL)
            assert json.loads(replay["output"]) == {"order": "Checkout 7731", "total": 39.9}, replay
            ran = run_script(playwright_python, script)
            assert ran.returncode == 0 and ran.stdout.strip() == "The total is 39.90 EUR", ran.stderr
            assert model.calls(key)["count"] == 2 and model.calls(data_key)["count"] == 2  # no model in replays


# A link's own new tab, and one the page's script opens 0.4 s after the click (after an API call,
# say): both come to the script after its click returns, the second one surely.
OPENERS = {
    "target": ('<a href="/p/tabs-opened" target="_blank">Open list</a>', {}),
    "late": (
        '<a href="/p/tabs-opened" onclick="setTimeout(() => window.open(this.href), 400); return false">Open list</a>',
        {"wait": {"seconds": 1.5}},  # the run waits for the tab the model saw coming
    ),
}


@pytest.mark.parametrize("opener", OPENERS)
def test_an_exported_run_follows_the_tab_a_click_opened_switches_back_and_closes_it(
    pg_stack: Stack, model: ScriptedModelServer, site: SiteServer, playwright_python: Path, tmp_path: Path, opener: str
) -> None:
    link, then = OPENERS[opener]
    site.add_page("tabs-next", "<h1>Statement</h1><p>Ready.</p>")
    opened = site.add_page("tabs-opened", '<h1>Statement list</h1><a href="/p/tabs-next">Continue</a>')
    home = site.add_page(f"tabs-home-{opener}", f'<h1>Home</h1><p id="ref">Ref 5521</p>{link}')
    key = model.script(
        [
            answer("Open home", {"navigate": {"url": home}}),
            answer("Open the list in its tab", {"click": {"index": "@text:Open list"}}, *([then] if then else [])),
            # Only on the tab the click opened is there a Continue: the script must have followed it.
            answer("Continue there", {"click": {"index": "@text:Continue"}}),
            answer("Back to the first tab", {"switch": {"tab_id": 0}}),
            answer("Close the other", {"close": {"tab_id": 1}}),
            answer("Report the reference", {"done": {"text": "Ref 5521"}}),
        ]
    )
    with pg_stack.client() as client:
        task = wait_for(client, submit(client, key), FINAL)
        assert task["status"] == "finished" and [s["url"] for s in task["steps"]][2:] == [
            opened,
            f"{site.url}/p/tabs-next",
            home,
            home,
        ], task["steps"]
        script, text = export(client, task["id"], tmp_path)
    assert (
        "page = tabs.follow(page, same_page(" in text
        and "page = tabs.opened[0]" in text
        and "tabs.opened[1].close()" in text
    )
    ran = run_script(playwright_python, script)
    assert ran.returncode == 0 and ran.stdout.strip() == "Ref 5521", ran.stderr
