"""v4's mapping (api/v4/mapping.py) without a server: what a run request becomes,
what is refused, and what a stored task shows as a run and as events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import HTTPException

from api.task_read import read_task
from api.v4 import mapping
from api.v4.schemas import RunCreateRequestV4
from shared.models import Step, Task, TaskStatus
from shared.settings import get_settings

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def request(**fields: Any) -> RunCreateRequestV4:
    return RunCreateRequestV4.model_validate({"task": "Log in", **fields})


def test_browser_settings_secrets_judge_and_cap_map_to_the_task_request() -> None:
    body = request(
        model="gpt-4.1",
        outputSchema={"type": "object"},
        browserSettings={"proxyCountryCode": None, "screenWidth": 800, "screenHeight": 600, "profileId": "p1"},
        secretBindings=[
            {"alias": "pw", "source": {"type": "inline", "value": "hunter2"}, "allowedDomains": ["example.com"]}
        ],
        judge={},
        maxCostUsd="0.25",
        modelParams={},
    )
    run = mapping.run_request(body, get_settings())
    assert (run.llm_model, run.structured_output_json, run.use_proxy) == ("gpt-4.1", '{"type": "object"}', False)
    assert (run.browser_viewport_width, run.browser_viewport_height, run.browser_profile_id) == (800, 600, "p1")
    assert run.secrets == {"pw": "hunter2"} and run.allowed_domains == ["example.com", "*.example.com"]
    assert (run.judge, run.judge_ground_truth, run.max_cost_usd) == (True, None, 0.25)
    with_country = mapping.run_request(request(browserSettings={"proxyCountryCode": "de"}), get_settings())
    assert (with_country.use_proxy, with_country.proxy_country_code) == (True, "de")
    assert mapping.run_request(request(judge={"context": "42"}), get_settings()).judge_ground_truth == "42"


@pytest.mark.parametrize(
    ("fields", "loc"),
    [
        ({"workspaceId": "w"}, ["body", "workspaceId"]),
        ({"keepAlive": 300}, ["body", "keepAlive"]),
        ({"attachedFileIds": ["f"]}, ["body", "attachedFileIds"]),
        ({"modelParams": {"reasoning": {"effort": "high"}}}, ["body", "modelParams"]),
        ({"browserSettings": {"extensionIds": ["e"]}}, ["body", "browserSettings", "extensionIds"]),
        ({"browserSettings": {"allowResizing": True}}, ["body", "browserSettings", "allowResizing"]),
        ({"browserSettings": {"screenWidth": 10}}, ["body", "browserSettings", "screenWidth"]),
        ({"maxCostUsd": "NaN"}, ["body", "maxCostUsd"]),
        ({"maxCostUsd": "lots"}, ["body", "maxCostUsd"]),
        (
            {"secretBindings": [{"alias": "a", "source": {"type": "onepassword"}, "allowedDomains": ["x.com"]}]},
            ["body", "secretBindings", 0, "source"],
        ),
    ],
)
def test_what_browserq_cannot_honour_is_a_422_naming_the_v4_field(fields: dict[str, Any], loc: list[Any]) -> None:
    with pytest.raises(HTTPException) as refused:
        mapping.run_request(request(**fields), get_settings())
    assert refused.value.status_code == 422 and refused.value.detail[0]["loc"] == loc


def test_a_paused_run_shows_running_with_its_question_and_events_only_grow() -> None:
    task = Task(
        id="6f1c2a34-0000-4000-8000-000000000001",
        owner_id="k",
        task="Log in",
        status=TaskStatus.paused,
        human_question="The 2FA code?",
        created_at=T0,
        started_at=T0 + timedelta(seconds=1),
        paused_at=T0 + timedelta(seconds=5),
    )
    steps = [Step(task_id=task.id, step=n, created_at=T0 + timedelta(seconds=n + 1)) for n in (1, 2)]
    run = mapping.summary(read_task(task, steps, get_settings()))
    assert (run.status, run.paused, run.human_question, run.error, run.result) == (
        "running",
        True,
        "The 2FA code?",
        None,
        None,
    )
    assert run.updated_at == T0 + timedelta(seconds=5) and run.total_cost_usd == "0"
    events = mapping.events(read_task(task, steps, get_settings()))
    assert [(e.id, e.type) for e in events] == [
        (1, "run.created"),
        (2, "browser.ready"),
        (3, "agent.step"),
        (4, "agent.step"),
    ]

    task.status, task.output, task.finished_at, task.human_question = (
        TaskStatus.stopped,
        "Stopped by the user.",
        T0,
        None,
    )
    ended = mapping.events(read_task(task, steps, get_settings()))
    assert ended[:-1] == events[: -0 or None][: len(ended) - 1] and (ended[-1].id, ended[-1].type) == (
        5,
        "run.cancelled",
    )
    assert mapping.summary(read_task(task, [], get_settings())).error == "Stopped by the user."


def test_judge_fields_without_a_judge_are_a_422_naming_the_field_in_v1_v2_and_v4() -> None:
    from api.schemas import RunTaskRequest
    from api.v2_mapping import run_request as v2_run_request
    from api.v2_schemas import CreateTaskRequestV2

    with pytest.raises(ValueError, match="judge_llm is for the judge"):
        RunTaskRequest.model_validate({"task": "x", "judge_llm": "gpt-4.1"})
    with pytest.raises(HTTPException) as v2:
        v2_run_request(CreateTaskRequestV2.model_validate({"task": "x", "judgeGroundTruth": "42"}))
    assert v2.value.detail[0]["loc"] == ["body", "judgeGroundTruth"]
    assert RunTaskRequest.model_validate({"task": "x", "judge": True, "judge_ground_truth": "42"}).judge
