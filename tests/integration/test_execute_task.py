"""The worker's loop below the API and Celery: `execute_task` and the `Agent`
called directly, with a real Chromium, the scripted model over HTTP and a real
PostgreSQL database (a fresh one for this module). A change to the loop can be
tried here in seconds instead of through the e2e suite."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageStat
from playwright.async_api import Page
from sqlmodel import col, select

from shared import billing
from shared.crypto import encrypt_json
from shared.db import session_scope
from shared.keys import create_api_key
from shared.models import Step, Task, TaskStatus
from shared.netguard import AllowList
from shared.settings import Settings, get_settings
from shared.task_store import Lease
from tests.support.database import migrated_database
from tests.support.scripted_model import ScriptedModelServer, answer, message_texts
from tests.support.site import SiteServer
from tests.support.stack import CHROMIUM
from worker.agent.control import TaskControl
from worker.agent.loop import Agent, Outcome
from worker.agent.prompt import RunState
from worker.agent.steps import StepRecord
from worker.browser import egress, guard
from worker.browser.page_state import PageState
from worker.browser.pool import BrowserPool
from worker.browser.session import BrowserSession
from worker.execute import execute_task
from worker.llm.openai_provider import OpenAIChatModel

PAGE = """<!doctype html><html><head><title>Stock</title></head><body>
<h1>Stock</h1><button onclick="document.getElementById('n').textContent = 'Count: 42'">Count</button>
<p id=n>Count: ?</p></body></html>"""


@pytest.fixture(scope="module")
def settings(model: ScriptedModelServer) -> Iterator[Settings]:
    """The process's settings pointed at a fresh database, a scratch data folder and the scripted model."""
    env = {
        "BROWSERQ_DATA_DIR": tempfile.mkdtemp(prefix="browserq-exec-"),
        "BROWSERQ_CHROMIUM_PATH": CHROMIUM,
        "BROWSERQ_ALLOW_PRIVATE_HOSTS": '["127.0.0.1:*"]',
        "BROWSERQ_SECRET_KEY": "dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktdGVzdDE=",
        "BROWSERQ_MODEL_RETRY_BASE_DELAY": "0.05",
        "OPENAI_BASE_URL": model.base_url,
        "OPENAI_API_KEY": "test-key",
    }
    with migrated_database(env, unset=("BROWSERQ_BROKER_URL",)):
        yield get_settings()


def _new_task(text: str, **fields: Any) -> str:
    with session_scope() as session:
        key, _clear = create_api_key(session, "exec-test")
        task = Task(owner_id=key.id, task=text, max_agent_steps=5, **fields)
        session.add(task)
        session.commit()
        return task.id


def _run(task_id: str, settings: Settings) -> TaskStatus | None:
    async def go() -> TaskStatus | None:
        pool = BrowserPool(settings)
        try:
            return await execute_task(task_id, pool, settings)
        finally:
            await pool.close()

    return asyncio.run(go())


def _stored(task_id: str) -> tuple[Task, list[Step]]:
    with session_scope() as session:
        task = session.get(Task, task_id)
        assert task is not None
        steps = session.exec(select(Step).where(Step.task_id == task_id).order_by(col(Step.step))).all()
        return task, list(steps)


def test_execute_task_runs_a_task_to_its_end_and_stores_each_step(
    settings: Settings, model: ScriptedModelServer, site: SiteServer
) -> None:
    url = site.add_page("exec-stock", PAGE)
    key = model.script(
        [
            answer("Open the page", {"navigate": {"url": url}}),
            answer("Count", {"click": {"index": "@text:Count"}}, memory="clicked"),
            answer("Report", {"done": {"text": "42 in stock"}}),
        ]
    )
    task_id = _new_task(f"How many in stock? [script:{key}]")

    assert _run(task_id, settings) == TaskStatus.finished
    task, steps = _stored(task_id)
    assert (task.status, task.output, task.attempt) == (TaskStatus.finished, "42 in stock", 1)
    assert [s.step for s in steps] == [1, 2, 3]
    assert steps[1].actions == [{"click": {"index": steps[1].actions[0]["click"]["index"]}}]
    assert steps[1].elements and "Count" in (steps[1].elements[0] or "")
    assert all(s.screenshot_key for s in steps)  # the step sink filled each one in before storing it
    assert all(s.attempt == 1 for s in steps)
    third = "\n".join(message_texts(model.calls(key)["requests"][2], "user"))
    assert "Count: 42" in third and "Clicked [" in third  # what the click did reached the model

    assert _run(task_id, settings) is None  # a second delivery of a finished task runs nothing
    assert len(_stored(task_id)[1]) == 3


def test_the_set_up_notices_reach_the_model_and_step_one(settings: Settings, model: ScriptedModelServer) -> None:
    key = model.script(
        [answer("Wait", {"wait": {"seconds": 0}}, evaluation="Nothing yet"), answer("Finish", {"done": {"text": "ok"}})]
    )
    task_id = _new_task(f"Just finish [script:{key}]", browser_profile_id="no-such-profile")

    assert _run(task_id, settings) == TaskStatus.finished
    notice = "The browser profile of this task was deleted; the task runs in a fresh browser."
    prompt = "\n".join(message_texts(model.calls(key)["requests"][0], "user"))
    assert notice in prompt.split("<notes>", 1)[1].split("</notes>", 1)[0]
    _task, steps = _stored(task_id)
    assert (steps[0].notices, steps[0].evaluation_previous_goal) == ([notice], "Nothing yet")  # data, apart
    assert steps[0].shown_evaluation == f"Note: {notice}\nNothing yet"  # what the API shows, as before
    assert (steps[1].notices, steps[1].shown_evaluation) == (None, "Success")


class Kept:
    """A step sink that keeps the records in a list (no database)."""

    def __init__(self) -> None:
        self.records: list[StepRecord] = []

    async def add(self, record: StepRecord) -> None:
        self.records.append(record)


def _run_agent(run: RunState, model: ScriptedModelServer, vision: bool, **fields: Any) -> tuple[Outcome, Kept]:
    """An Agent on its own (no database, no TaskFiles) in a real Chromium behind the egress gate."""
    settings = Settings(chromium_path=CHROMIUM, allow_private_hosts=["127.0.0.1:*"], data_dir=Path(tempfile.mkdtemp()))
    kept = Kept()

    async def go() -> Outcome:
        pool = BrowserPool(settings)
        gate = await egress.Egress().open(egress.Rules(None, AllowList.parse(settings.allow_private_hosts)))
        try:
            context = await pool.new_context(proxy=gate.proxy)  # every connection through the gate, as a task's
            session = BrowserSession(context, settings.data_dir / "downloads")
            session.guard = guard.NetworkGuard(gate, session.events.add)
            await session.guard.install(context)
            await session.start()
            agent = Agent(
                run=run,
                session=session,
                model=OpenAIChatModel(
                    name="gpt-4.1", model="gpt-4.1", vision=vision, api_key="x", base_url=model.base_url, timeout=30
                ),
                control=TaskControl(Lease(task_id="agent-test", attempt=1, worker_id="test"), settings),
                steps=kept,
                settings=settings,
                secrets={},
                files_dir=settings.data_dir,
                **fields,
            )
            try:
                return await agent.run_to_end()
            finally:
                await session.close()
        finally:
            await gate.close()
            await pool.close()

    return asyncio.run(go()), kept


def test_the_agent_alone_tells_the_model_why_its_data_was_refused(model: ScriptedModelServer, site: SiteServer) -> None:
    """An Agent with its own step sink (a list), no database: the output schema's check
    sends the model back with the reason, and the corrected answer finishes the task."""
    schema = {"type": "object", "properties": {"count": {"type": "integer"}}, "required": ["count"]}
    url = site.add_page("exec-agent", PAGE)
    key = model.script(
        [
            answer("Open", {"navigate": {"url": url}}),
            answer("Report", {"done": {"data": {"count": "many"}}}),
            answer("Report again", {"done": {"data": {"count": 42}}}),
        ]
    )
    run = RunState(task=f"Count it [script:{key}]", output_schema=schema, secret_names=[], max_steps=5)
    outcome, kept = _run_agent(run, model, vision=False)
    assert (outcome.status, json.loads(outcome.output)) == (TaskStatus.finished, {"count": 42})
    assert [r.step for r in kept.records] == [1, 2, 3]
    refused = kept.records[1].results[0]
    assert "error" in refused and "not valid against the output schema at count" in refused["error"]
    third = "\n".join(message_texts(model.calls(key)["requests"][2], "user"))
    assert refused["error"] in third


def test_a_vision_model_is_sent_the_observers_screenshot_and_none_it_withheld(
    model: ScriptedModelServer, site: SiteServer
) -> None:
    """The observer (the worker's TaskFiles) shoots each step; a step it withheld (None) goes to
    the model without an image, never with one the loop took itself."""
    url = site.add_page("exec-observed", PAGE)
    key = model.script([answer("Open", {"navigate": {"url": url}}), answer("Report", {"done": {"text": "seen"}})])

    class WithholdsStepTwo:
        async def observed(self, step: int, page: Page, state: PageState) -> bytes | None:
            return None if step == 2 else await page.screenshot(type="jpeg")

    run = RunState(task=f"Look [script:{key}]", output_schema=None, secret_names=[], max_steps=5)
    outcome, _kept = _run_agent(run, model, vision=True, observer=WithholdsStepTwo())
    assert outcome.status == TaskStatus.finished
    images = ["image_url" in json.dumps(r) for r in model.calls(key)["requests"]]
    assert images == [True, False]


def test_the_cost_cap_stops_before_the_call_that_would_pass_it_and_the_judge_stays_under_it(
    settings: Settings, model: ScriptedModelServer
) -> None:
    """gpt-4.1 at $2/$8 per million: each scripted call costs $0.208, the cap is $0.5. Before
    call 3 the task spent $0.416 and expects $0.208 more, so call 3 is never made; the judge's
    call would pass the cap too, so the judge reports why it has no verdict."""
    heavy = {"input_tokens": 100_000, "output_tokens": 1_000}
    key = model.script([{**answer("Wait", {"wait": {"seconds": 0}}), "_usage": heavy}] * 4)
    task_id = _new_task(f"Wait a lot [script:{key}]", max_cost_usd=0.5, judge=True, judge_llm="gpt-4.1")

    assert _run(task_id, settings) == TaskStatus.failed
    task, steps = _stored(task_id)
    assert model.calls(key)["count"] == 2 and len(steps) == 2
    assert task.output is not None and task.output.startswith("Failed: stopped at the task's cost cap")
    assert "$0.5" in task.output and "spent $0.416" in task.output
    assert (task.input_tokens, task.output_tokens) == (200_000, 2_000)
    assert task.judgement is not None and task.judgement["verdict"] is None
    assert "cost cap" in task.judgement["error"] and task.judge_input_tokens == 0


def test_the_judge_reads_the_run_and_its_verdict_and_tokens_are_stored(
    settings: Settings, model: ScriptedModelServer
) -> None:
    verdict = {
        "verdict": False,
        "reasoning": "The agent reported 41 but the ground truth is 42.",
        "failure_reason": "wrong count",
        "_usage": {"input_tokens": 700, "output_tokens": 30},
    }
    key = model.script([answer("Report", {"done": {"text": "41 in stock"}}), verdict])
    task_id = _new_task(f"Count the stock [script:{key}]", judge=True, judge_ground_truth="There are 42.")

    assert _run(task_id, settings) == TaskStatus.finished
    task, _steps = _stored(task_id)
    assert task.judgement == {
        "verdict": False,
        "reasoning": "The agent reported 41 but the ground truth is 42.",
        "failureReason": "wrong count",
        "model": "gpt-4.1",
    }
    assert (task.judge_llm, task.judge_input_tokens, task.judge_output_tokens) == ("gpt-4.1", 700, 30)
    judged = model.calls(key)["requests"][1]
    asked = "\n".join(message_texts(judged))
    assert "There are 42." in asked and "41 in stock" in asked and "Step 1:" in asked and "judge" in asked
    user = next(m for m in judged["messages"] if m["role"] == "user")["content"]
    assert [part["type"] for part in user] == ["text", "image_url"]  # gpt-4.1 sees: the last screenshot goes too
    assert billing.cost_of(task, settings).input_tokens == task.input_tokens + 700


SECRET = "Hunter7Orchid7037"
# The value drawn upper-cased and dash-separated: forms only the folded search finds.
ECHO = f"""<!doctype html><title>Echo</title><body style="margin:0;background:#fff">
<p style="position:absolute;left:20px;top:80px;margin:0;font:30px/40px monospace;color:#000">{SECRET.upper()}</p>
<p style="position:absolute;left:20px;top:140px;margin:0;font:30px/40px monospace;color:#000">{"-".join(SECRET)}</p>
<p style="position:absolute;left:20px;top:200px;margin:0;font:30px/40px monospace;color:#000">Plain words</p>
</body>"""


def test_the_judges_screenshot_masks_a_secret_however_the_page_draws_it(
    settings: Settings, model: ScriptedModelServer, site: SiteServer
) -> None:
    url = site.add_page("exec-judge-echo", ECHO)
    verdict = {"verdict": True, "reasoning": "Done.", "failure_reason": ""}
    key = model.script(
        [answer("Open", {"navigate": {"url": url}}), answer("Report", {"done": {"text": "ok"}}), verdict]
    )
    task_id = _new_task(
        f"Look at the echo [script:{key}]",
        judge=True,
        secrets_encrypted=encrypt_json({"pw": SECRET}),
        secret_names=["pw"],
    )

    assert _run(task_id, settings) == TaskStatus.finished
    judged = model.calls(key)["requests"][2]
    assert "judge" in "\n".join(message_texts(judged))
    user = next(m for m in judged["messages"] if m["role"] == "user")["content"]
    image_url = next(part["image_url"]["url"] for part in user if part["type"] == "image_url")
    image = Image.open(io.BytesIO(base64.b64decode(image_url.split(",", 1)[1]))).convert("L")
    for what, box in {"upper-cased": (25, 85, 300, 115), "dash-separated": (25, 145, 300, 175)}.items():
        brightness = ImageStat.Stat(image.crop(box)).mean[0]
        assert brightness < 40, f"the {what} echo is not blacked out in the judge's screenshot (mean {brightness:.0f})"
    assert ImageStat.Stat(image.crop((25, 205, 200, 235))).mean[0] > 150, "text without a secret was blacked out"
