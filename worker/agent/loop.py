"""The agent loop: observe the page, ask the model, act, record the step."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from playwright.async_api import Page

from shared.bounded_schema import first_error, validator_for
from shared.models import TaskStatus
from shared.settings import Settings
from worker.agent import protocol as p
from worker.agent.actions import ActionContext, ActionResult, registry, run_action, task_file_names
from worker.agent.control import Interrupted, TaskControl
from worker.agent.prompt import SYSTEM, RunState, render_user_message
from worker.agent.redact import Redactor, redacting_logs
from worker.agent.steps import StepRecord, history_item, step_record
from worker.browser import answer_sources
from worker.browser.page_state import PageState, blank_state, capture_page_state
from worker.browser.session import BrowserSession
from worker.human import HumanChannel, Reply, describe
from worker.llm.ask import ask_model
from worker.llm.base import ChatModel, ModelError, ModelRequest, TokenUsage
from worker.llm.cost_cap import CappedCalls
from worker.media.screenshots import take_screenshot

log = logging.getLogger("browserq.agent")
# Actions that may make the page open a tab: the loop asks the page whether it
# did (see BrowserSession.tabs_requested) and waits for the tab, so neither the
# next action nor the model's next look at the browser misses it.
# The actions declared with may_change_page (worker.agent.actions).
MAY_CHANGE_PAGE = registry.names_where("may_change_page")
# Checking `done` data against the caller's schema is the caller's CPU work: it runs in a
# thread, off the event loop every task of the process shares, and is given up after this.
SCHEMA_CHECK_SECONDS = 5.0


@dataclass
class Outcome:
    status: TaskStatus
    output: str
    # Where a finished task's answer was read on the page (worker.browser.answer_sources), if anywhere.
    sources: dict[str, Any] | None = None


class StepSink(Protocol):
    """Where the agent hands each finished step (the worker's stores it under the
    task's lease; a test or a bench can keep them in a list)."""

    async def add(self, record: StepRecord) -> None: ...


class StepObserver(Protocol):
    """Told of each step's page once it is captured. The worker takes the step's
    screenshot and returns it, so a vision model is sent that same JPEG."""

    async def observed(self, step: int, page: Page, state: PageState) -> bytes | None: ...


@dataclass
class Agent:
    run: RunState
    session: BrowserSession
    model: ChatModel
    control: TaskControl
    steps: StepSink
    settings: Settings
    secrets: dict[str, str]
    files_dir: Path
    first_step: int = 1
    observer: StepObserver | None = None
    readable_files: dict[str, Path] = field(default_factory=dict)  # the task's uploaded files
    usage: TokenUsage = field(default_factory=TokenUsage)
    # Before each further step: why the task's key may not spend more (its budget is used), or None.
    spend_check: Callable[[], Awaitable[str | None]] | None = None
    # Before each step: why the task's pages must stop (a runaway page, PageWatch), or None.
    limit_check: Callable[[], str | None] | None = None
    # ask_human's way to a person (None: nobody can be asked, the action fails saying so).
    human: HumanChannel | None = None
    # The task's own cost cap (max_cost_usd): each model call is checked against it first.
    capped: CappedCalls | None = None
    _failures: int = 0
    _waited: float = 0.0  # seconds this step waited for a person: not part of its duration
    _seen: set[str] | None = None
    _timers: list[asyncio.Timeout] = field(default_factory=list)  # the task's and the step's time limits

    def __post_init__(self) -> None:
        self.redactor = Redactor(self.secrets)
        schema = self.run.output_schema
        self._validator = validator_for(schema) if schema is not None else None
        self._ctx: ActionContext | None = None

    async def run_to_end(self) -> Outcome:
        """Runs steps until done or a limit; every limit ends in `failed` with a reason."""
        last = self.run.max_steps
        limit = self.settings.task_timeout_seconds
        with redacting_logs(self.redactor):
            try:
                async with asyncio.timeout(limit) as task_timer:
                    self._timers = [task_timer]
                    for step in range(self.first_step, last + 1):
                        outcome = await self._timed_step(step)
                        if outcome is not None:
                            return outcome
                        if task_timer.expired():
                            # Its cancel was swallowed mid-step (Python 3.11's wait_for can lose one
                            # that lands as the awaited call ends; seen in CI: 21 steps under an 8 s limit).
                            raise TimeoutError
            except TimeoutError:
                return self._failed(f"the task took longer than its time limit of {limit:g} s")
        return self._failed(f"reached the step limit of {last} steps without finishing")

    async def _timed_step(self, step: int) -> Outcome | None:
        try:
            async with asyncio.timeout(self.settings.step_timeout_seconds) as step_timer:
                self._timers = [*self._timers[:1], step_timer]
                return await self._step(step)
        except TimeoutError:
            return self._failed(
                f"step {step} took longer than the step time limit of {self.settings.step_timeout_seconds:g} s"
            )

    def _failed(self, reason: str) -> Outcome:
        found = next((h.memory for h in reversed(self.run.history) if h.memory), "")  # the latest it wrote
        text = f"Failed: {reason.rstrip('.')}."
        if found:
            text += f" What the agent had found so far: {found}"
        return Outcome(TaskStatus.failed, self.redactor(text))

    async def _checkpoint(self) -> bool:
        """The control checkpoint; time spent paused does not count against the time limits
        (a pause has its own, max_pause_seconds). True if a person drove the page meanwhile."""
        if self.control.status != TaskStatus.paused:
            return await self.control.checkpoint()
        now = asyncio.get_running_loop().time()
        left = [(timer, when - now) for timer in self._timers if (when := timer.when()) is not None]
        for timer, _ in left:
            timer.reschedule(None)
        try:
            return await self.control.checkpoint()
        finally:
            now = asyncio.get_running_loop().time()
            for timer, remaining in left:
                timer.reschedule(now + remaining)

    async def _step(self, step: int) -> Outcome | None:
        await self._checkpoint()
        if self.limit_check is not None and (reason := self.limit_check()):
            return self._failed(reason)
        if self.spend_check is not None and step > self.first_step and (reason := await self.spend_check()):
            return self._failed(reason)
        started = time.perf_counter()
        self._waited = 0.0
        page = await self.session.ready()
        if self.session.pristine(page):  # the task's first tab, before anything was opened in it
            state = blank_state(page)
        else:
            state = await capture_page_state(page, self._seen, self.settings.page_text_budget_chars)
        shot = await self.observer.observed(step, page, state) if self.observer is not None else None
        self._seen = state.descriptions()
        request = await self._request(step, page, state, shot)
        try:
            answer, usage = await self.control.race(ask_model(self.model, request, self.settings, capped=self.capped))
        except ModelError as exc:
            return self._failed(self.redactor(str(exc)))
        self.usage = self.usage + usage
        results, outcome, skipped_because = await self._act(state, answer)
        duration_ms = int((time.perf_counter() - started - self._waited) * 1000)
        await self.steps.add(step_record(step, answer, state, results, duration_ms, usage, self.redactor))
        skipped = _skipped_note(len(answer.action) - len(results), skipped_because)
        self.run.history.append(history_item(step, answer, results, skipped, self.redactor))
        if outcome is None and self._failures >= self.settings.max_consecutive_failures:
            return self._failed(
                f"{self._failures} actions in a row failed (the limit is {self.settings.max_consecutive_failures})"
            )
        return outcome

    async def _request(self, step: int, page: Page, state: PageState, shot: bytes | None) -> ModelRequest:
        if self._ctx is not None:  # the files it wrote or a page downloaded are its files too
            self.run.files = list(dict.fromkeys([*self.run.files, *task_file_names(self._ctx)]))
        current = self.session.tab_id_of(await self.session.page())
        tabs = await self.session.tabs({current: state.title} if current is not None else None)
        user = render_user_message(self.run, step, state, tabs, current, self.session.events.drain())
        only_done = step >= self.run.max_steps
        screenshot = None
        if getattr(self.model, "vision", False):
            # The observer's shot, or none: one it withheld is not taken again.
            screenshot = (
                shot
                if self.observer is not None
                else (
                    await take_screenshot(
                        page, state, False, self.settings.screenshot_quality, self.redactor.values, self.redactor.folded
                    )
                ).jpeg
            )
        return ModelRequest(
            system=SYSTEM,
            user=self.redactor(user),
            response_schema=p.response_json_schema(p.FINISHING if only_done else None, self.run.output_schema),
            screenshot_jpeg=screenshot,
        )

    async def _act(self, state: PageState, answer: p.AgentOutput) -> tuple[list[ActionResult], Outcome | None, str]:
        """Run the answer's actions in order; stop early when the page changed or a
        person drove it while the task was paused: the rest were planned for a
        page that is gone, so the model sees the new one next. The third item says why."""
        ctx = self._context(state)
        results: list[ActionResult] = []
        # The count of tabs the page asked for, as last read: at the capture, then after each
        # action that may open one (a page that opens one by itself meanwhile costs at most
        # POPUP_WAIT_SECONDS of waiting for a tab already adopted).
        known_asked = state.tabs_asked
        for action in answer.action:
            if await self._checkpoint():
                await self.session.settle()
                return results, None, DRIVEN
            before = self._page_mark()
            asked = None
            if action.name in MAY_CHANGE_PAGE:
                asked = known_asked if known_asked is not None else await self.session.tabs_requested()
            known_asked = None  # the action may change it
            result = await run_action(ctx, action)
            if result.question is not None:
                results.append(await self._ask(result.question))
                await self.session.settle()
                return results, None, ANSWERED
            results.append(result)
            if result.error:
                self._failures += 1
                continue
            self._failures = 0
            if result.done is not None:
                outcome = await self._finish(result)
                if outcome is not None:
                    return results, outcome, ""
                continue
            if asked is not None:
                known_asked = result.tabs_asked
                if known_asked is None:
                    known_asked = await self.session.tabs_requested()
                if (known_asked or 0) > asked:
                    await self.session.wait_for_new_tab(before[0])
            if self._page_mark() != before:
                break  # the page changed under the rest of the list; the model sees the new one next
        await self.session.settle()
        return results, None, PAGE_CHANGED

    async def _ask(self, question: str) -> ActionResult:
        """ask_human: the task waits, paused (the pause's limit, its time not counted against
        the task's), until a person answers or resumes it; the result tells the model what they did."""
        if self.human is None:
            self._failures += 1
            return ActionResult(error="nobody can be asked in this run: go on without, or call done")
        question = self.redactor(question.strip())
        waited = time.perf_counter()
        if not await self.human.ask(question):
            raise Interrupted("the lease was lost while asking a person", lease_lost=True)
        driven = False
        while True:
            self.control.saw(TaskStatus.paused)
            driven = await self._checkpoint() or driven
            reply = await self.human.reply()
            if reply is None:
                raise Interrupted("the lease was lost while waiting for a person", lease_lost=True)
            if not reply.waiting:
                break
            await asyncio.sleep(self.settings.control_poll_seconds)  # the status poll's read predated the question
        self._waited += time.perf_counter() - waited
        self._failures = 0
        return ActionResult(self.took_answer(reply, driven))

    def took_answer(self, reply: Reply, driven: bool) -> str:
        """A secret answer becomes one of the task's secrets (typed by name, redacted everywhere)."""
        answer = reply.answer
        if answer is not None and answer.secret_name:
            self.secrets[answer.secret_name] = answer.text
            self.redactor.add(answer.secret_name, answer.text)
            if answer.secret_name not in self.run.secret_names:
                self.run.secret_names.append(answer.secret_name)
        return self.redactor(describe(answer, driven))

    def _page_mark(self) -> tuple[int, int]:
        """Changes when a tab starts a navigation, a tab opens, or the current tab is another."""
        return self.session.changes, id(self.session.current)

    def _context(self, state: PageState) -> ActionContext:
        if self._ctx is None:
            self._ctx = ActionContext(self.session, state, self.secrets, self.files_dir, dict(self.readable_files))
        self._ctx.state = state
        return self._ctx

    async def _finish(self, result: ActionResult) -> Outcome | None:
        """`done`: with an output schema, the data must validate or the model is told why."""
        params = result.done
        assert params is not None
        if self._validator is None:
            text = params.text if params.text is not None else json.dumps(params.data)
            sources = await self._sources(params.text, params.data if params.text is None else None)
            return Outcome(TaskStatus.finished, self.redactor(text or ""), sources)
        if params.data is None:
            result.error = "done needs 'data' valid against the output schema"
            self._failures += 1
            return None
        try:
            error = await asyncio.wait_for(
                asyncio.to_thread(first_error, self._validator, params.data), SCHEMA_CHECK_SECONDS
            )
        except TimeoutError:
            result.error = f"checking 'data' against the output schema took over {SCHEMA_CHECK_SECONDS:g} s; send less"
            self._failures += 1
            return None
        if error is not None:
            where = "/".join(str(x) for x in error.path) or "(root)"
            result.error = f"'data' is not valid against the output schema at {where}: {error.message}"
            self._failures += 1
            return None
        sources = await self._sources(None, params.data)
        return Outcome(TaskStatus.finished, self.redactor(json.dumps(params.data)), sources)

    async def _sources(self, text: str | None, data: Any) -> dict[str, Any] | None:
        """Where the answer's values are on the page it finished on: what a replay and an
        exported script read again (redacted: a secret on the page is never stored)."""
        found = await answer_sources.locate(await self.session.page(), text, data)
        return self.redactor.scrub(found) if found is not None else None

    @property
    def written_files(self) -> list[str]:
        return self._ctx.written_files if self._ctx else []


PAGE_CHANGED = "the page changed (see the new page below)"
DRIVEN = "a person used the page while the task was paused (see the page as they left it below)"
ANSWERED = "they were planned before the person's reply (see it above)"


def _skipped_note(skipped: int, because: str) -> list[str]:
    if skipped <= 0:
        return []
    return [f"skipped the remaining {skipped} action(s): {because}"]
