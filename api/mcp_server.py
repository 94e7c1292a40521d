"""browserq's MCP server (on the official `mcp` SDK): tools to run a browser
task and to look after it, for Claude Desktop, Cursor and other MCP clients.

The tools speak the v1 HTTP API through `TaskApi`, so the one server serves
both transports: `browserq mcp` over stdio talks to a browserq server by URL,
and /mcp on the API calls the app in-process with the caller's own key (see
api/routes/mcp.py). Either way every check of the routes applies: run_task's
arguments are validated by the API's own RunTaskRequest before anything is sent."""

from __future__ import annotations

import inspect
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated, Any

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field, ValidationError

from api.schemas import RunTaskRequest
from shared.task_api import ApiError, TaskApi

ApiFor = Callable[[Context], AbstractAsyncContextManager[TaskApi]]
"""How a tool call gets its API: from the process's settings (stdio) or from the request (HTTP)."""

FINAL = {"finished", "stopped", "failed"}
POLL_SECONDS = 1.0
DEFAULT_WAIT_SECONDS = 300
TaskId = Annotated[str, Field(min_length=1, max_length=100, description="The task's id (run_task returns it)")]

INSTRUCTIONS = """browserq runs web tasks in a real browser, driven by an AI agent.
run_task hands it a task in plain language and (by default) waits for the result, reporting each step as progress.
A task may stop to ask a person (status paused with human_question): answer it with answer_task.
get_task shows every step; stop_task, pause_task and resume_task steer a running task."""


def build_server(api_for: ApiFor) -> MCPServer:
    server = MCPServer("browserq", instructions=INSTRUCTIONS, log_level="WARNING")
    server.add_tool(_run_task(api_for), name="run_task", description=RUN_TASK_DOC)

    @server.tool()
    async def get_task(task_id: TaskId, ctx: Context) -> dict[str, Any]:
        """The whole task: status, output, every step (goal, evaluation, URL, screenshot), files, cost."""
        task: dict[str, Any] = await _call(api_for, ctx, "GET", f"/task/{task_id}")
        return task

    @server.tool()
    async def list_tasks(
        ctx: Context,
        status: Annotated[
            str | None,
            Field(description="Only tasks with this status: created, running, paused, finished, stopped or failed"),
        ] = None,
        page: Annotated[int, Field(ge=1)] = 1,
        limit: Annotated[int, Field(ge=1, le=100)] = 10,
    ) -> dict[str, Any]:
        """This key's tasks, newest first."""
        params: dict[str, Any] = {"page": page, "limit": limit, **({"status": status} if status else {})}
        tasks: dict[str, Any] = await _call(api_for, ctx, "GET", "/tasks", params=params)
        return tasks

    for verb, says in CONTROL.items():
        server.add_tool(_control(api_for, verb), name=f"{verb}_task", description=says)

    @server.tool()
    async def answer_task(
        task_id: TaskId,
        answer: Annotated[str, Field(min_length=1, description="The answer to the task's human_question")],
        ctx: Context,
        secret: Annotated[
            bool, Field(description="Keep it like a task secret: the agent can type it but never sees it (a 2FA code)")
        ] = False,
    ) -> dict[str, Any]:
        """Answer the question a waiting task asked (its human_question); the agent then goes on."""
        await _call(api_for, ctx, "POST", f"/task/{task_id}/answer", json={"answer": answer, "secret": secret})
        return {"id": task_id, "answered": True}

    return server


RUN_TASK_DOC = """Run a web task in a real browser. `task` says what to do, in plain language; the other fields
are those of browserq's POST /api/v1/run-task. With wait (the default) this returns when the task ends, or when it
stops to ask a person (answer with answer_task), or after wait_seconds; each step is reported as progress.
Without wait it returns the task's id at once (follow it with get_task)."""

CONTROL = {
    "stop": "Stop a task for good (created, running or paused).",
    "pause": "Pause a running task; the browser stays open and resume_task goes on where it was.",
    "resume": "Resume a paused task.",
}


def _run_task(api_for: ApiFor) -> Callable[..., Any]:
    async def run_task(
        ctx: Context, wait: bool = True, wait_seconds: int = DEFAULT_WAIT_SECONDS, **fields: Any
    ) -> dict[str, Any]:
        body = _run_task_body(fields)
        async with api_for(ctx) as api:
            task_id = (await _checked(api.call("POST", "/run-task", json=body)))["id"]
            if not wait:
                return {"id": task_id, "status": "created", "note": "Follow it with get_task."}
            task = await _follow(api, ctx, task_id, wait_seconds, body.get("max_agent_steps"))
        return _result(task)

    run_task.__signature__ = _run_task_signature()  # type: ignore[attr-defined]
    run_task.__annotations__ = {"ctx": Context, "return": dict[str, Any]}
    return run_task


def _run_task_signature() -> inspect.Signature:
    """run-task's own fields (types, limits, defaults from RunTaskRequest), so the
    client's input schema is the API's, plus how long to wait."""
    keyword = inspect.Parameter.KEYWORD_ONLY
    params = [inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Context)]
    for name, field in RunTaskRequest.model_fields.items():
        metadata = (*field.metadata, Field(description=FIELD_HELP.get(name)))
        annotation: Any = Annotated[(field.annotation, *metadata)]  # built at run time
        default = inspect.Parameter.empty if field.is_required() else field.default
        params.append(inspect.Parameter(name, keyword, annotation=annotation, default=default))
    params += [
        inspect.Parameter(
            "wait",
            keyword,
            default=True,
            annotation=Annotated[
                bool, Field(description="Wait for the result, reporting each step as progress (false: return the id)")
            ],
        ),
        inspect.Parameter(
            "wait_seconds",
            keyword,
            default=DEFAULT_WAIT_SECONDS,
            annotation=Annotated[
                int, Field(ge=1, le=3600, description="The longest to wait; the task goes on afterwards")
            ],
        ),
    ]
    return inspect.Signature(params, return_annotation=dict[str, Any])


FIELD_HELP = {
    "task": "What the agent should do, in plain language",
    "secrets": "Values the agent may type but never sees, by name (it types them as <secret>NAME</secret>)",
    "allowed_domains": "Only these domains may load, e.g. example.com, *.example.com",
    "structured_output_json": "A JSON Schema the output must match",
    "llm_model": "Which model drives the agent",
    "max_agent_steps": "The task fails when it takes more steps than this",
    "metadata": "Your own string pairs, returned with the task",
}


def _run_task_body(fields: dict[str, Any]) -> dict[str, Any]:
    """Validated by run-task's own model; only what differs from its defaults is sent,
    so the server's defaults (and a browser profile's settings) apply as they would."""
    try:
        request = RunTaskRequest.model_validate(fields)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ToolError(f"invalid run_task arguments: {problems}") from None
    defaults = RunTaskRequest.model_fields
    return {
        name: value
        for name, value in request.model_dump(mode="json").items()
        if name in fields and value != defaults[name].default
    }


async def _follow(api: TaskApi, ctx: Context, task_id: str, wait_seconds: float, steps: int | None) -> dict[str, Any]:
    """Poll the task, reporting each new step once as progress, until it ends,
    waits for a person, or the wait is over."""
    deadline = time.monotonic() + wait_seconds
    shown = 0
    while True:
        task: dict[str, Any] = await _checked(api.call("GET", f"/task/{task_id}"))
        for step in task["steps"][shown:]:
            await ctx.report_progress(step["step"], steps or 75, _step_line(step))
        shown = len(task["steps"])
        if task["status"] in FINAL or task.get("human_question") or time.monotonic() >= deadline:
            return task
        await anyio.sleep(POLL_SECONDS)


def _step_line(step: dict[str, Any]) -> str:
    goal = step.get("next_goal") or step.get("evaluation_previous_goal") or ""
    return f"step {step['step']}: {goal} ({step.get('url') or 'no page'})"[:500]


def _result(task: dict[str, Any]) -> dict[str, Any]:
    """What the calling model needs: the outcome and what to do next (get_task has every step)."""
    out = {k: task.get(k) for k in ("id", "status", "output", "output_files", "live_url", "finished_at")}
    out["steps"] = len(task["steps"])
    for extension in ("cost", "human_question"):  # (ext) fields, present once the server has them
        if extension in task:
            out[extension] = task[extension]
    if task.get("human_question"):
        out["note"] = "The agent is waiting for a person: answer with answer_task (or stop_task)."
    elif task["status"] not in FINAL:
        out["note"] = "Still going after the wait: follow it with get_task, or stop_task."
    return out


def _control(api_for: ApiFor, verb: str) -> Callable[..., Any]:
    async def control(task_id: TaskId, ctx: Context) -> dict[str, Any]:
        await _call(api_for, ctx, "PUT", f"/{verb}-task/{task_id}")
        return {"id": task_id, "done": verb}

    control.__name__ = f"{verb}_task"
    return control


async def _call(api_for: ApiFor, ctx: Context, method: str, path: str, **kwargs: Any) -> Any:
    async with api_for(ctx) as api:
        return await _checked(api.call(method, path, **kwargs))


async def _checked(call: Any) -> Any:
    """An API refusal becomes the tool's error message (the calling model reads it and can correct)."""
    try:
        return await call
    except ApiError as exc:
        raise ToolError(str(exc)) from None


def run_stdio(url: str, key: str) -> None:
    """`browserq mcp`: serve the tools over stdin/stdout against the server at `url`.
    Stdout carries the protocol, so nothing else may print there (logs go to stderr)."""
    api = TaskApi.remote(url, key)

    @asynccontextmanager
    async def api_for(_ctx: Context) -> AsyncIterator[TaskApi]:
        yield api

    build_server(api_for).run("stdio")
