"""The transcription of the official v1 reference, and browserq's OpenAPI against it:
the checker catches each kind of mismatch, every official endpoint is served, and the
published schema keeps browserq's extensions optional."""

from __future__ import annotations

import re
from typing import Any

import pytest

from api.main import create_app
from tests.support.v1_reference import endpoints, explicit_nulls, model, problems

STEP = {"id": "s1", "step": 1, "evaluation_previous_goal": "", "next_goal": "go", "url": "http://x/"}
TASK = {
    "id": "t1",
    "task": "do",
    "output": None,
    "status": "finished",
    "created_at": "2025-07-01T12:00:00Z",
    "finished_at": None,
    "steps": [STEP],
}

# browserq's component for each official response model whose extensions must stay optional
OUR_MODELS = {"TaskResponse": "TaskView", "TaskStepResponse": "StepView", "ScheduledTaskResponse": "ScheduledTaskView"}


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    return create_app(maintenance=False).openapi()


def test_a_conforming_task_passes_and_extensions_are_allowed() -> None:
    assert problems("TaskResponse", TASK) == []
    assert problems("TaskResponse", {**TASK, "replay_of": None, "steps": [{**STEP, "memory": "m"}]}) == []


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"output": ...}, "'output' is a required property"),
        ({"status": "running_late"}, "is not one of"),
        ({"created_at": None}, "None is not of type"),
        ({"steps": [{**STEP, "step": "1"}]}, "is not of type 'integer'"),
        ({"live_url": 3}, "3 is not"),
        ({"price": "0.1"}, "undocumented key 'price'"),
        ({"steps": [{**STEP, "thoughts": "x"}]}, "undocumented key 'thoughts'"),
    ],
)
def test_each_kind_of_mismatch_is_caught(change: dict[str, Any], needle: str) -> None:
    task = {k: v for k, v in {**TASK, **change}.items() if v is not ...}
    assert any(needle in p for p in problems("TaskResponse", task)), problems("TaskResponse", task)


def test_nullable_fields_of_run_task_are_the_ones_the_reference_types_x_or_null() -> None:
    nulls = explicit_nulls("RunTaskRequest")
    assert "task" not in nulls and {"llm_model", "max_agent_steps", "use_proxy", "browser_viewport_width"} <= set(nulls)


def _shape(path: str) -> str:
    """A path with its parameters unnamed: /scheduled-task/{task_id} is /scheduled-task/{schedule_id}."""
    return re.sub(r"\{[^}]+\}", "{}", path)


def test_every_official_endpoint_is_in_the_openapi(openapi: dict[str, Any]) -> None:
    served = {(method, _shape(path)) for path, ops in openapi["paths"].items() for method in ops}
    missing = [
        f"{e['method']} {e['path']}"
        for e in endpoints()
        if (e["method"].lower(), _shape("/api/v1" + e["path"])) not in served
    ]
    assert missing == []


@pytest.mark.parametrize("official", sorted(OUR_MODELS))
def test_extensions_are_optional_and_official_fields_required_in_the_openapi(
    openapi: dict[str, Any], official: str
) -> None:
    ours = openapi["components"]["schemas"][OUR_MODELS[official]]
    required = set(ours.get("required", []))
    assert not required & set(model(official).get("x-extensions", [])), required
    assert set(model(official)["required"]) <= required


def test_every_nullable_run_task_field_is_nullable_in_the_openapi(openapi: dict[str, Any]) -> None:
    props = openapi["components"]["schemas"]["RunTaskRequest"]["properties"]
    not_nullable = [
        name for name in explicit_nulls("RunTaskRequest") if {"type": "null"} not in props[name].get("anyOf", [])
    ]
    assert not_nullable == []
