"""The replay model: recorded answers with indices remapped by element
description, and the hand-over to the real model on the first mismatch."""

from __future__ import annotations

import asyncio
import json

from worker.agent.steps import RecordedStep
from worker.llm.base import ModelReply, ModelRequest, TokenUsage
from worker.llm.replay import ReplayModel, map_answer, page_elements, step_number

BUTTON = "<button type=submit>Sign in</button>"
FIELD = "<input type=text name=user placeholder=Username />"


def user_message(step: int, *element_lines: str) -> str:
    return (
        "<task>\nLog in [1] <button>not an element</button>\n</task>\n\n"
        "<history>\nStep 1: [3]<a>old</a>\n</history>\n\n"
        "<browser_state>\nCurrent URL: http://x/login\nPage content:\nWelcome\n"
        + "\n".join(element_lines)
        + f"\n</browser_state>\n\n<step>\nStep {step} of at most 10.\n</step>"
    )


def recorded(step: int = 2) -> RecordedStep:
    return RecordedStep(
        step=step,
        answer={
            "evaluation_previous_goal": "ok",
            "memory": "",
            "next_goal": "log in",
            "action": [{"input": {"index": 4, "text": "ann"}}, {"click": {"index": 5}}, {"wait": {"seconds": 1}}],
        },
        elements=[FIELD, BUTTON, None],
    )


class CountingModel:
    name, vision = "real", True

    def __init__(self) -> None:
        self.calls = 0

    async def complete(self, request: ModelRequest) -> ModelReply:
        self.calls += 1
        return ModelReply('{"action": [{"done": {"text": "from the model"}}]}', TokenUsage(10, 2))


def test_page_elements_reads_only_the_page_content() -> None:
    text = user_message(2, f"[1]{FIELD}", "[1] a footnote, not an element", f"*[2]{BUTTON}")
    assert page_elements(text) == [(1, FIELD), (2, BUTTON)]
    assert step_number(text) == 2


def test_indices_follow_the_descriptions() -> None:
    answer = map_answer(recorded(), [(1, "<a href=/>Home</a>"), (2, FIELD), (3, BUTTON)])
    assert answer is not None
    assert answer["action"] == [
        {"input": {"index": 2, "text": "ann"}},
        {"click": {"index": 3}},
        {"wait": {"seconds": 1}},
    ]


def test_a_missing_element_is_a_mismatch() -> None:
    assert map_answer(recorded(), [(1, FIELD), (2, "<button type=submit>Log in</button>")]) is None


def test_duplicates_pick_the_one_nearest_the_old_index() -> None:
    answer = map_answer(recorded(), [(1, FIELD), (2, BUTTON), (6, BUTTON), (9, BUTTON)])
    assert answer is not None and answer["action"][1] == {"click": {"index": 6}}


def test_replays_then_hands_over_for_good() -> None:
    real = CountingModel()
    made: list[int] = []

    def fallback() -> CountingModel:
        made.append(1)
        return real

    model = ReplayModel("gpt-4.1", {2: recorded(2), 3: recorded(3)}, fallback, vision=True)
    ask = lambda step, *lines: asyncio.run(model.complete(ModelRequest("sys", user_message(step, *lines), {})))  # noqa: E731

    reply = ask(2, f"[7]{FIELD}", f"[8]{BUTTON}")
    assert json.loads(reply.text)["action"][1] == {"click": {"index": 8}}
    assert reply.usage == TokenUsage() and not made and model.vision is False
    assert "model" in ask(3, f"[1]{FIELD}").text  # the button is gone: the model takes over at step 3
    assert model.handed_over_at == 3 and real.calls == 1 and model.vision is True
    ask(4, f"[7]{FIELD}", f"[8]{BUTTON}")  # and keeps the task, even where the page matches again
    assert real.calls == 2 and len(made) == 1


def test_a_step_the_original_never_reached_goes_to_the_model() -> None:
    real = CountingModel()
    model = ReplayModel("gpt-4.1", {}, lambda: real)
    asyncio.run(model.complete(ModelRequest("sys", user_message(1), {})))
    assert real.calls == 1 and model.handed_over_at == 1


def done_step(step: int) -> RecordedStep:
    answer = {
        "evaluation_previous_goal": "ok",
        "memory": "",
        "next_goal": "report",
        "action": [{"done": {"text": "$5"}}],
    }
    return RecordedStep(step=step, answer=answer, elements=[None])


def test_the_last_step_answers_what_the_page_says_now_or_goes_to_the_model() -> None:
    """`reread` gives the recorded `done` its values as read again; None (a value's place is
    gone) hands that step to the model."""
    real = CountingModel()
    now: list[str | None] = ["$7"]

    async def reread(answer: dict) -> dict | None:
        if now[0] is None:
            return None
        answer["action"][0]["done"]["text"] = now[0]
        return answer

    model = ReplayModel("gpt-4.1", {1: done_step(1)}, lambda: real, reread=reread)
    reply = asyncio.run(model.complete(ModelRequest("sys", user_message(1), {})))
    assert json.loads(reply.text)["action"] == [{"done": {"text": "$7"}}] and real.calls == 0
    now[0] = None
    gone = ReplayModel("gpt-4.1", {1: done_step(1)}, lambda: real, reread=reread)
    assert "from the model" in asyncio.run(gone.complete(ModelRequest("sys", user_message(1), {}))).text
    assert gone.handed_over_at == 1 and real.calls == 1
