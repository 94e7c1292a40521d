"""The wire output of v1 and v2 for the same stored tasks, pinned: the views are
mappings over one read model of a task (api/task_read.py), and moving them there
(issue 21) must not change a byte they send. URLs that carry an expiry or a
signature are compared by presence only. Regenerate the pinned file only for a
deliberate change of the wire: `python -m tests.unit.test_wire_views`."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from api import v2_mapping, views
from shared.models import Step, Task, TaskStatus
from shared.settings import Settings, get_settings, reset_settings_cache

PINNED = Path(__file__).parent.parent / "fixtures" / "wire_views.json"
MASKED = {"live_url", "screenshot_url", "screenshotUrl", "public_share_url"}
T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _tasks() -> list[tuple[Task, list[Step]]]:
    base: dict[str, Any] = {"owner_id": "k1", "task": "Read the code", "created_at": T0, "llm_model": "gpt-4.1"}
    finished = Task(
        id="t-finished",
        status=TaskStatus.finished,
        output="ABC",
        started_at=T0,
        finished_at=T0,
        input_tokens=1234,
        output_tokens=56,
        output_files=["a.txt"],
        task_metadata={"ref": "x"},
        enable_public_share=True,
        public_share_token="tok",
        **base,
    )
    steps = [
        Step(
            id="s1",
            task_id="t-finished",
            step=1,
            next_goal="go",
            url="http://a/",
            actions=[{"navigate": {"url": "x"}}],
            notices=["no proxy"],
            evaluation_previous_goal="ok",
            screenshot_key="k/1.jpg",
            duration_ms=5,
        ),
        Step(
            id="s2",
            task_id="t-finished",
            step=2,
            next_goal="end",
            url="http://a/",
            actions=[{"done": {"text": "ABC", "success": False}}],
        ),
    ]
    paused = Task(id="t-paused", status=TaskStatus.paused, human_question="Which one?", started_at=T0, **base)
    failed = Task(
        id="t-failed",
        status=TaskStatus.failed,
        output="Failed: x.",
        finished_at=T0,
        input_tokens=10,
        **{**base, "llm_model": "no-price-model"},
    )
    created = Task(id="t-created", **base)
    return [(finished, steps), (paused, []), (failed, []), (created, [])]


def _mask(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (v is not None) if k in MASKED else _mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v) for v in value]
    return value


def wire() -> dict[str, Any]:
    """Under settings of its own (signed URLs on, nothing else from the environment), so a
    test run before it that left settings cached cannot change what it reads."""
    with pytest.MonkeyPatch.context() as patch:
        for name in [n for n in os.environ if n.startswith("BROWSERQ_")]:
            patch.delenv(name)
        patch.setenv("BROWSERQ_URL_SIGNING_KEY", "wire-views-signing-key")
        reset_settings_cache()
        try:
            return _wire(get_settings())
        finally:
            reset_settings_cache()


def _wire(settings: Settings) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for task, steps in _tasks():
        last = steps[-1] if steps else None
        out[task.id] = _mask(
            {
                "v1": views.task_view(task, steps).model_dump(mode="json"),
                "v1_summary": views.task_summary(task).model_dump(mode="json"),
                "v2": v2_mapping.task_view(task, steps, settings).model_dump(mode="json", by_alias=True),
                "v2_item": v2_mapping.item_view(task, last, settings).model_dump(mode="json", by_alias=True),
                "v2_status": v2_mapping.status_view(task, last, settings).model_dump(mode="json", by_alias=True),
            }
        )
    return out


def test_v1_and_v2_views_send_what_they_sent_before() -> None:
    assert wire() == json.loads(PINNED.read_text())


if __name__ == "__main__":
    PINNED.write_text(json.dumps(wire(), indent=1, sort_keys=True) + "\n")
