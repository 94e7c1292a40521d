"""Running one task from its row to its final status. Plain async code, called
by the thin Celery task in `worker.tasks` and testable without a broker."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import socket
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

from shared import billing, task_store
from shared.crypto import decrypt_json, encrypt_json
from shared.db import session_scope
from shared.logs import bind_task_id, task_logging
from shared.models import Task, TaskStatus
from shared.netguard import AllowList
from shared.settings import Settings
from shared.storable import storable_text
from shared.storage import get_storage
from shared.task_store import Lease
from worker import recovery, runtime, task_browser
from worker.agent.control import Interrupted, PauseTooLong, TaskControl
from worker.agent.loop import Agent, Outcome
from worker.agent.prompt import RunState
from worker.agent.steps import HistoryItem
from worker.browser import egress, guard
from worker.browser.page_watch import PageLimits, PageWatch
from worker.browser.pool import BrowserPool
from worker.browser.session import BrowserSession
from worker.human import HumanChannel, Reply
from worker.judge import judge_request, judge_run
from worker.live_view import LiveView
from worker.llm.cost_cap import CappedCalls, CostCap
from worker.llm.registry import resolve_model
from worker.media.task_files import TaskFiles
from worker.replay import model_for_task
from worker.task_steps import REFUSED, StoreRefused, TaskSteps

log = logging.getLogger("browserq.worker")

COOKIES_TIMEOUT = 10.0
JUDGE_SCREENSHOT_TIMEOUT = 15.0
CLOSE_TIMEOUT = 30.0


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


Claimed = tuple[Lease, Task, int, list[HistoryItem]]


def _claim(task_id: str, worker_id: str) -> Claimed | None:
    with session_scope() as session:
        lease = task_store.claim(session, task_id, worker_id)
        if lease is None:
            return None
        task = session.get(Task, task_id)
        assert task is not None
        first_step = task_store.next_step_number(session, task_id)
    return lease, task, first_step, recovery.load_history(task_id) if first_step > 1 else []


def claim_task(task_id: str) -> Claimed | None:
    """Claims the task (blocking; a duplicate delivery gets None) and counts its lease as
    held by this process, so a process that exits before or while running it hands it back."""
    with task_logging(task_id):
        claimed = _claim(task_id, new_worker_id())
        if claimed is None:
            log.info("task %s: not claimable (already taken, stopped or unknown); skipping", task_id)
            return None
        lease = claimed[0]
        log.info("task %s: attempt %d started on %s", task_id, lease.attempt, lease.worker_id)
    recovery.HELD.add(lease)
    return claimed


@bind_task_id
async def execute_task(task_id: str, pool: BrowserPool, settings: Settings) -> TaskStatus | None:
    """Claims the task (a duplicate delivery does nothing) and runs it to its end.
    Returns the final status written, or None when nothing was run or written."""
    claimed = await asyncio.to_thread(claim_task, task_id)
    return await run_claimed(task_id, claimed, pool, settings) if claimed is not None else None


@bind_task_id
async def run_claimed(task_id: str, claimed: Claimed, pool: BrowserPool, settings: Settings) -> TaskStatus | None:
    """Runs a task `claim_task` claimed to its end; returns the final status written, or None."""
    lease, task, first_step, history = claimed
    try:
        return await _attempt(lease, task, first_step, history, pool, settings)
    finally:
        recovery.HELD.discard(lease)


async def _attempt(
    lease: Lease, task: Task, first_step: int, history: list[HistoryItem], pool: BrowserPool, settings: Settings
) -> TaskStatus | None:
    watch = recovery.BrowserWatch()
    async with TaskControl(lease, settings) as control:
        try:
            outcome, extra = await _run(task, lease, first_step, history, watch, pool, settings, control)
        except Interrupted as exc:
            log.info("task %s: interrupted (%s)", task.id, exc)
            return None
        except PauseTooLong as exc:
            outcome, extra = Outcome(TaskStatus.stopped, f"Stopped: the task was {exc}."), {}
        except StoreRefused as exc:
            outcome, extra = Outcome(TaskStatus.failed, f"Failed: {exc}"), {}
        except Exception as exc:
            if not watch.crashed():
                log.exception("task %s: attempt %d failed in the worker", task.id, lease.attempt)
                return await _internal_error(lease, exc, settings)
            outcome, extra = Outcome(TaskStatus.failed, "the browser crashed"), {}
    if watch.crashed() and outcome.status != TaskStatus.finished:
        # Whatever the agent made of it, this attempt lost its browser: run it again on a new one.
        log.warning("task %s: Chromium died during attempt %d", task.id, lease.attempt)
        await recovery.hand_back(lease)
        return None
    written = await asyncio.to_thread(_finish, lease, outcome, extra)
    log.info("task %s: %s", task.id, outcome.status.value if written else "finished late; result discarded")
    return outcome.status if written else None


async def _internal_error(lease: Lease, exc: Exception, settings: Settings) -> TaskStatus | None:
    """A failure of the worker itself, not of the agent: another attempt, on a fresh
    browser, right away; after the last one the task fails saying so. The error's own
    text stays in the log (it may quote the page, or the task's secrets)."""
    if lease.attempt < settings.max_attempts:
        await recovery.hand_back(lease)
        return None
    kind = type(exc)
    detail = str(exc) if isinstance(exc, SetupTimeout) else f"{kind.__module__.split('.')[0]} {kind.__name__}"
    output = (
        f"Failed: the worker hit an internal error on each of {lease.attempt} attempts "
        f"(the last: {detail}); the worker's log has the details."
    )
    written = await asyncio.to_thread(_finish, lease, Outcome(TaskStatus.failed, output), {})
    return TaskStatus.failed if written else None


class SetupTimeout(Exception):
    """Opening the task's browser did not finish within setup_timeout_seconds."""


def _finish(lease: Lease, outcome: Outcome, extra: dict[str, Any]) -> bool:
    """Write the final status. Should the database refuse the result itself, the task
    still ends, failed, saying so: never left to its lease and retried for the same refusal."""
    output = storable_text(outcome.output) if outcome.output is not None else None
    try:
        with session_scope() as session:
            return task_store.finish(session, lease, outcome.status, output, **extra)
    except REFUSED as exc:
        log.error("task %s: the database refused its result: %s", lease.task_id, exc)
        reason = (
            f"Failed: the agent's result could not be stored (the database refused it: "
            f"{type(exc.orig).__name__}); its steps are kept."
        )
        with session_scope() as session:
            return task_store.finish(session, lease, TaskStatus.failed, reason)


async def _run(
    task: Task,
    lease: Lease,
    first_step: int,
    history: list[HistoryItem],
    watch: recovery.BrowserWatch,
    pool: BrowserPool,
    settings: Settings,
    control: TaskControl,
) -> tuple[Outcome, dict[str, Any]]:
    secrets = decrypt_json(task.secrets_encrypted) if task.secrets_encrypted else {}
    assert isinstance(secrets, dict)
    files_dir = Path(settings.data_dir).resolve() / "files" / task.id  # noqa: ASYNC240 (once per task, no I/O to wait on)
    # One deadline for all of set-up, in two parts: the context must exist before the
    # `finally` that closes it.
    setup_deadline = asyncio.get_running_loop().time() + settings.setup_timeout_seconds
    setup_over = SetupTimeout(f"setting up the task's browser took over {settings.setup_timeout_seconds:g} s")
    try:
        async with asyncio.timeout_at(setup_deadline):
            browser = await asyncio.to_thread(task_browser.prepare, task, settings)
            gate = await runtime.egress().open(
                egress.Rules(task.allowed_domains, AllowList.parse(settings.allow_private_hosts), browser.upstream)
            )
            try:  # every connection of the context goes through its gate
                context = await pool.new_context(**{**browser.options, "proxy": gate.proxy})
            except BaseException:
                await gate.close()
                raise
    except TimeoutError:
        raise setup_over from None
    session = BrowserSession(
        context, files_dir / "downloads", settings.max_download_bytes_per_task, settings.max_tabs_per_task
    )
    watch.browser = context.browser
    session.guard = guard.NetworkGuard(gate, session.events.add)
    session.meter = gate.meter  # a running download is capped as its bytes cross the gate
    task_files = TaskFiles(get_storage(), settings, task.id, lease.attempt, files_dir, task.highlight_elements)
    try:
        try:
            async with asyncio.timeout_at(setup_deadline):
                await session.guard.install(context)  # before any page exists
                await session.start()
                readable = await task_files.fetch_inputs(task.owner_id, task.included_file_names or [])
                await task_files.start_recording(session, task.browser_viewport_width, task.browser_viewport_height)
                await task_browser.start(context, task, settings)
                model = await model_for_task(task, settings, session)
                budgeted = await asyncio.to_thread(_has_budget, task.owner_id)
                cap = _cost_cap(task, settings)
        except TimeoutError:
            raise setup_over from None
        pages_watch = PageWatch(
            session, PageLimits(settings.max_page_memory_mb * 2**20, settings.max_page_busy_seconds)
        )
        agent = Agent(
            run=_run_state(task, history, browser.notices),
            session=session,
            model=model,
            control=control,
            steps=TaskSteps(lease, task_files, browser.notices),
            settings=settings,
            secrets=secrets,
            files_dir=files_dir,
            first_step=first_step,
            observer=task_files,
            readable_files=readable,
            spend_check=(lambda: asyncio.to_thread(_over_budget, task.owner_id)) if budgeted else None,
            human=HumanChannel(lease),
            capped=CappedCalls(cap, settings.price_of(task.llm_model)) if cap else None,
            limit_check=lambda: pages_watch.ended,
        )
        await _answered_meanwhile(agent)
        task_files.secret_forms = lambda: agent.redactor.values  # secrets answered later count too
        task_files.secret_folded = lambda: agent.redactor.folded
        live = LiveView(task.id, session, control, settings)  # streams and takes input only while watched
        async with task_browser.saving_profile(context, browser, task.id), live, pages_watch:
            outcome = await agent.run_to_end()
        extra: dict[str, Any] = {}
        if task.judge and outcome.status in (TaskStatus.finished, TaskStatus.failed):
            extra.update(await _judge(task, outcome, agent, task_files, settings, cap))
        if outcome.sources is not None:
            extra["answer_sources"] = outcome.sources
        files = agent.written_files + session.downloaded
        if files:
            extra["output_files"] = files
        if task.save_browser_data:
            async with asyncio.timeout(COOKIES_TIMEOUT):
                cookies = await context.cookies()
            extra["browser_data_encrypted"] = encrypt_json({"cookies": cookies})
        return outcome, extra
    finally:
        await _wrap_up(task.id, session, task_files, pool, settings)
        await gate.close()
        shutil.rmtree(files_dir, ignore_errors=True)  # everything worth keeping is in storage now


async def _wrap_up(
    task_id: str, session: BrowserSession, task_files: TaskFiles, pool: BrowserPool, settings: Settings
) -> None:
    """Store the last files, then close the context, each within its bound: a slot
    never waits forever on storage or on a Chromium that stopped answering."""
    try:
        async with asyncio.timeout(settings.wrapup_timeout_seconds):
            await session.settle()
            await task_files.finish()
    except TimeoutError:
        log.error(
            "task %s: storing its last files took over %g s; left unfinished", task_id, settings.wrapup_timeout_seconds
        )
    try:
        async with asyncio.timeout(CLOSE_TIMEOUT):
            await session.close()  # always: a context left open lives on in the warm Chromium
    except TimeoutError:
        log.error("task %s: its browser context did not close within %g s; restarting Chromium", task_id, CLOSE_TIMEOUT)
        await pool.discard()


async def _answered_meanwhile(agent: Agent) -> None:
    """A person answered the agent's question while no worker held the task (its worker
    was lost or shut down): this attempt's first step reads the answer."""
    assert agent.human is not None
    answer = await agent.human.pending()
    if answer is not None:
        reply = agent.took_answer(Reply(waiting=False, answer=answer), driven=False)
        agent.run.notes.append(f"Before this attempt you asked a person: {agent.redactor(answer.question)!r}. {reply}")


def _cost_cap(task: Task, settings: Settings) -> CostCap | None:
    """The task's cost cap, with what its earlier attempts spent already counted."""
    if task.max_cost_usd is None:
        return None
    spent = billing.cost_of(task, settings).usd or 0
    return CostCap(Decimal(str(task.max_cost_usd)), spent_usd=Decimal(str(spent)))


async def _judge(
    task: Task, outcome: Outcome, agent: Agent, task_files: TaskFiles, settings: Settings, cap: CostCap | None
) -> dict[str, Any]:
    """The judge's report and tokens, as columns for the task's final write."""
    name = billing.judge_model_of(task)
    model = resolve_model(name, settings)
    shot = None
    if model.vision:  # the last screenshot, secrets masked; the judge goes without one rather than wait
        try:
            async with asyncio.timeout(JUDGE_SCREENSHOT_TIMEOUT):
                shot = await task_files.last_look(await agent.session.page())
        except TimeoutError:
            shot = None
    request = judge_request(task, outcome, agent.run.history, shot)
    capped = CappedCalls(cap, settings.price_of(name)) if cap else None
    report, usage = await agent.control.race(judge_run(model, request, settings, capped))
    return {
        "judgement": agent.redactor.scrub(report),
        "judge_llm": name,
        "judge_input_tokens": usage.input_tokens,
        "judge_output_tokens": usage.output_tokens,
    }


def _has_budget(owner_id: str) -> bool:
    with session_scope() as session:
        return billing.budget_usd(session, owner_id) is not None


def _over_budget(owner_id: str) -> str | None:
    with session_scope() as session:
        return billing.over_budget_reason(session, owner_id)


def _run_state(task: Task, history: list[HistoryItem], notices: list[str]) -> RunState:
    notes = list(notices)
    if task.secret_names and not task.allowed_domains:
        notes.append("Secrets were given without allowed_domains: any site the browser visits could receive them.")
    if history:
        notes.append(
            f"The worker running this task was lost after step {history[-1].step}; this is a new attempt in a "
            "fresh browser, so the page may not be where your history left it. Check the page before acting."
        )
    return RunState(
        task=task.task,
        output_schema=json.loads(task.structured_output_json) if task.structured_output_json else None,
        secret_names=task.secret_names or [],
        max_steps=task.max_agent_steps,
        history=list(history),
        files=list(task.included_file_names or []),
        notes=notes,
    )
