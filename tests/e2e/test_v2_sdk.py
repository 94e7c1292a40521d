"""browser-use-sdk 3.x's default client (`from browser_use_sdk import BrowserUse`, the v2
API; the version the test set locks, what `pip install browser-use-sdk` gives), pointed
at a running browserq, used exactly as its README and helpers are: `run` (with an output
schema), `stream`, `tasks.create/get/status/wait/list/update`, `files.task_output`,
`billing.account`, `profiles.*`. Nothing here speaks v2 by hand but the extension fields and the n8n
node's credential check, so a shape the SDK cannot parse fails these tests. The 2.x
client has its own test (test_v2_sdk2.py), run in a venv of its own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from browser_use_sdk import BrowserUse, BrowserUseError
from browser_use_sdk.generated.v2.models import TaskStatus
from pydantic import BaseModel

from tests.e2e.test_ask_human import QUESTION, ask_script, waiting
from tests.e2e.test_tasks_api import login_script
from tests.support.scripted_model import ScriptedModelServer, answer
from tests.support.site import ACCOUNT_CODE, PASSWORD, SiteServer
from tests.support.stack import Stack, poll

pytestmark = pytest.mark.e2e
CSV = "name,score\nada,42\n"


def sdk(stack: Stack, key: str | None = None) -> BrowserUse:
    return BrowserUse(api_key=key or stack.key, base_url=f"{stack.url}/api/v2", timeout=30)


def raw(stack: Stack, path: str) -> dict:
    """What the SDK's models drop: browserq's extension fields."""
    response = httpx.get(f"{stack.url}/api/v2{path}", headers={"X-Browser-Use-API-Key": stack.key}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


class Score(BaseModel):
    name: str
    score: int


@pytest.fixture
def stop_after(pg_stack: Stack) -> Iterator[list[str]]:
    """Tasks a test left waiting are stopped at its end: a waiting task holds a worker slot."""
    ids: list[str] = []
    yield ids
    with pg_stack.client() as client:
        for task_id in ids:
            client.put(f"/stop-task/{task_id}")


def test_run_as_the_readme_has_it(stack: Stack, model: ScriptedModelServer, site: SiteServer) -> None:
    key = model.script(login_script(site))
    client = sdk(stack)
    result = client.run(
        f"Log in and read the account code [script:{key}]",
        llm="gpt-4.1",
        max_steps=10,
        secrets={"password": PASSWORD},
        metadata={"ref": "sdk3"},
    )
    assert result.status == TaskStatus.finished and result.is_success is True
    assert result.output == ACCOUNT_CODE
    assert [s.number for s in result.steps] == [1, 2, 3]
    assert all(isinstance(s.duration, float) and s.duration > 0 for s in result.steps)
    assert result.steps[2].url == f"{site.url}/account"
    assert result.metadata == {"ref": "sdk3"} and result.llm == "gpt-4.1" and result.session_id == result.id
    assert client.tasks.status(str(result.id)).status == TaskStatus.finished
    with stack.client() as v1:  # the same task, read through v1
        assert v1.get(f"/task/{result.id}").json()["output"] == ACCOUNT_CODE


def test_stream_with_a_schema_and_an_output_file(pg_stack: Stack, model: ScriptedModelServer) -> None:
    key = model.script(
        [
            answer("Write the report", {"write_file": {"file_name": "report.csv", "content": CSV}}),
            answer("Report", {"done": {"data": {"name": "ada", "score": 42}}}),
        ]
    )
    client = sdk(pg_stack)
    stream = client.stream(f"Write and report the score [script:{key}]", output_schema=Score)
    steps = list(stream)
    assert [s.number for s in steps] == [1, 2] and all(s.duration is not None for s in steps)
    assert stream.result is not None and stream.output == Score(name="ada", score=42)
    task = stream.result.task
    [file] = task.output_files
    assert file.file_name == "report.csv" and isinstance(file.id, uuid.UUID)
    assert client.tasks.get(str(task.id)).output_files[0].id == file.id  # the same id on every read
    got = client.files.task_output(str(task.id), str(file.id))
    assert (got.id, got.file_name) == (file.id, "report.csv")
    assert httpx.get(got.download_url, timeout=10).text == CSV
    with pytest.raises(BrowserUseError) as missing:
        client.files.task_output(str(task.id), str(uuid.uuid4()))
    assert missing.value.status_code == 404 and "outputFiles" in missing.value.message


def test_wait_and_the_failed_filter(pg_stack: Stack, model: ScriptedModelServer) -> None:
    """A failed task is `finished` with isSuccess false (2.x's helpers know no `failed`),
    and 3.x's `filterBy=failed` finds it."""
    client = sdk(pg_stack)
    looping = model.script([answer("Wait", {"wait": {"seconds": 0.1}})] * 3)
    failed = client.tasks.create(f"Loop [script:{looping}]", max_steps=2)
    done = model.script([answer("Finish", {"done": {"text": "ok"}})])
    ok = client.tasks.create(f"Finish [script:{done}]")
    failed_task = client.tasks.wait(str(failed.id), timeout=120, interval=0.2)
    assert failed_task.status == TaskStatus.finished and failed_task.is_success is False
    assert "step limit" in (failed_task.output or "")
    assert client.tasks.wait(str(ok.id), timeout=120, interval=0.2).is_success is True
    failed_ids = {t.id for t in client.tasks.list(filter_by="failed", page_size=100).items}
    assert failed.id in failed_ids and ok.id not in failed_ids
    finished_ids = {t.id for t in client.tasks.list(filter_by="finished", page_size=100).items}
    assert {failed.id, ok.id} <= finished_ids


def test_paused_tasks_alone_and_in_a_list(
    pg_stack: Stack, model: ScriptedModelServer, site: SiteServer, stop_after: list[str]
) -> None:
    """v2's statuses have no `paused` in 3.x: a paused task (paused by its caller, or waiting
    for a person) reads as `started`, so get, status, list, update and wait all parse it,
    and `paused: true` (an extension) says why it does not move."""
    client = sdk(pg_stack)
    asking = client.tasks.create(f"Pick a colour [script:{ask_script(model, site)}]")
    slow = model.script([{"_delay": 60.0, "reply": answer("Finish", {"done": {"text": "late"}})}])
    running = client.tasks.create(f"Think slowly [script:{slow}]")
    stop_after.extend([str(asking.id), str(running.id)])
    with pg_stack.client() as v1:
        waiting(v1, str(asking.id))
    asked = client.tasks.get(str(asking.id))
    assert asked.status == TaskStatus.started and asked.finished_at is None
    assert client.tasks.status(str(asking.id)).status == TaskStatus.started
    extension = raw(pg_stack, f"/tasks/{asking.id}")
    assert extension["paused"] is True and extension["humanQuestion"] == QUESTION

    poll("the slow task to start", lambda: client.tasks.get(str(running.id)).status == TaskStatus.started)
    paused = client.tasks.update(str(running.id), action="pause")
    assert paused.status == TaskStatus.started
    poll("the pause", lambda: raw(pg_stack, f"/tasks/{running.id}/status")["paused"] or None)
    listed = {t.id: t for t in client.tasks.list(page_size=100).items}  # the whole page parses
    assert listed[asking.id].status == listed[running.id].status == TaskStatus.started
    assert {asking.id, running.id} <= {t.id for t in client.tasks.list(filter_by="started", page_size=100).items}

    with pg_stack.client() as v1:
        assert v1.post(f"/task/{asking.id}/answer", json={"answer": "blue"}).status_code == 200
    answered = client.tasks.wait(str(asking.id), timeout=120, interval=0.2)
    assert answered.status == TaskStatus.finished and answered.output == "picked"
    stopped = client.tasks.stop(str(running.id))
    assert stopped.status == TaskStatus.stopped


def test_errors_account_profiles_and_unknown_routes(pg_stack: Stack) -> None:
    with pytest.raises(BrowserUseError) as wrong_key:
        sdk(pg_stack, key="bq_not-a-key").tasks.list()
    assert wrong_key.value.status_code == 401
    client = sdk(pg_stack)
    with pytest.raises(BrowserUseError) as missing:
        client.tasks.get(str(uuid.uuid4()))
    assert missing.value.status_code == 404
    with pytest.raises(BrowserUseError) as steps:
        client.tasks.create("x", max_steps=500)
    assert steps.value.status_code == 422 and steps.value.detail["detail"][0]["loc"] == ["body", "maxSteps"]
    with pytest.raises(BrowserUseError) as cloud_model:
        client.tasks.create("x", llm="browser-use-llm")  # Cloud's default model: the operator picks one here
    [error] = cloud_model.value.detail["detail"]
    assert cloud_model.value.status_code == 422 and error["loc"] == ["body", "llm"]
    assert "BROWSERQ_DEFAULT_MODEL" in error["msg"]
    with pytest.raises(BrowserUseError) as session:
        client.tasks.create("x", session_id=str(uuid.uuid4()))
    assert session.value.status_code == 422

    account = client.billing.account()
    assert account.plan_info.plan_name == "self-hosted" and account.total_credits_balance_usd > 0
    assert isinstance(account.project_id, uuid.UUID) and account.active_session_count >= 0

    name = f"shop-{uuid.uuid4().hex[:6]}"
    made = client.profiles.create(name=name)
    assert made.name == name and made.cookie_domains == [] and made.user_id is None
    assert [p.id for p in client.profiles.list(query=name).items] == [made.id]
    assert client.profiles.update(str(made.id), name=name + "-2").name == name + "-2"
    assert client.profiles.get(str(made.id)).name == name + "-2"
    with pg_stack.client() as v1:  # the same profile, as v1 shows it: one that keeps its cookies
        assert v1.get(f"/browser-profiles/{made.id}").json()["persist"] is True
    with pytest.raises(BrowserUseError) as user_id:
        client.profiles.create(name="x", user_id="u-1")  # no such column here: refused, not dropped
    assert user_id.value.status_code == 422 and user_id.value.detail["detail"][0]["loc"] == ["body", "userId"]
    client.profiles.delete(str(made.id))
    with pytest.raises(BrowserUseError) as gone:
        client.profiles.get(str(made.id))
    assert gone.value.status_code == 404

    with pytest.raises(BrowserUseError) as unknown:
        client.sessions.list()  # v2 sessions are not served
    assert unknown.value.status_code == 404
    assert "/api/v1" in unknown.value.message and "/api/v2" in unknown.value.message
    v1_unknown = httpx.get(f"{pg_stack.url}/api/v1/no-such-route", timeout=10)  # any version, the same answer
    assert v1_unknown.status_code == 404 and "versions /api/v1, /api/v2" in v1_unknown.json()["detail"]
    assert httpx.get(f"{pg_stack.url}/no-such-page", timeout=10).json() == {"detail": "Not Found"}  # outside /api/


def test_ping_answers_a_valid_key_as_the_v2_n8n_nodes_credential_test_asks(pg_stack: Stack) -> None:
    """The v2 n8n node's "Test credential" is GET {base}/ping with its key header
    (credentials/BrowserUseApi.credentials.ts): 200 for a browserq key, 401 otherwise."""
    ping = f"{pg_stack.url}/api/v2/ping"
    assert httpx.get(ping, headers={"X-Browser-Use-API-Key": pg_stack.key}, timeout=10).json() == {}
    assert httpx.get(ping, headers={"X-Browser-Use-API-Key": "bq_not-a-key"}, timeout=10).status_code == 401
    assert httpx.get(ping, timeout=10).status_code == 401
