"""Between the v4 wire and browserq's one task: a run request becomes the v1
RunTaskRequest (checked, stored and run by the same code as every task), and the
task read model (api/task_read.py) becomes a run, its status and its events.

A run is one task: its session and its file space are its own, so `sessionId` and
`workspaceId` are the run's id. Its events are read from what the task stored,
never kept apart: 1 `run.created`, 2 `browser.ready` (once a worker took it, with
the live view's URL), 2 + n `agent.step` for step n, and after the last step the
terminal `run.completed`, `run.failed` or `run.cancelled`: ids that only grow."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import HTTPException, status
from pydantic import ValidationError

from api.errors import error_item, invalid
from api.schemas import RunTaskRequest
from api.task_read import TaskRead, usd_text
from api.v4.schemas import RunCreateRequestV4, RunEventV4, RunStatusV4, RunSummaryV4
from shared.models import Task, TaskStatus
from shared.settings import Settings

V4_STATUS: dict[TaskStatus, RunStatusV4] = {
    TaskStatus.created: "queued",
    TaskStatus.running: "running",
    TaskStatus.paused: "running",  # v4 has no pause: `paused` and `humanQuestion` (ext) say it
    TaskStatus.finished: "completed",
    TaskStatus.failed: "failed",
    TaskStatus.stopped: "cancelled",
}
TERMINAL_EVENT = {
    TaskStatus.finished: "run.completed",
    TaskStatus.failed: "run.failed",
    TaskStatus.stopped: "run.cancelled",
}
# browserq does not know its models' context windows: 0 says "unknown" (docs/api.md).
CONTEXT_LIMIT_UNKNOWN = 0

# RunTaskRequest field -> where it came from in the v4 request, to name the right field in a 422.
_V4_FIELD: dict[str, list[str]] = {
    "task": ["task"],
    "llm_model": ["model"],
    "structured_output_json": ["outputSchema"],
    "secrets": ["secretBindings"],
    "allowed_domains": ["secretBindings", "allowedDomains"],
    "browser_profile_id": ["browserSettings", "profileId"],
    "proxy_country_code": ["browserSettings", "proxyCountryCode"],
    "browser_viewport_width": ["browserSettings", "screenWidth"],
    "browser_viewport_height": ["browserSettings", "screenHeight"],
    "judge_ground_truth": ["judge", "context"],
    "judge_llm": ["judge"],  # v4 names no judge model: the operator's or the run's
    "max_cost_usd": ["maxCostUsd"],
}
# What browserq cannot honour, refused rather than dropped: (field, is it set?, why).
_REFUSED: tuple[tuple[str, Callable[[RunCreateRequestV4], bool], str], ...] = (
    ("sessionId", lambda b: b.session_id is not None, "each run has its own session: follow-up runs are not supported"),
    ("workspaceId", lambda b: b.workspace_id is not None, "workspaces are not supported: each run has its own files"),
    ("keepAlive", lambda b: b.keep_alive is not None, "a run's browser closes when the run ends: leave keepAlive out"),
    ("agentmail", lambda b: bool(b.agentmail), "AgentMail inboxes are not supported"),
    ("agentcardWalletId", lambda b: b.agentcard_wallet_id is not None, "AgentCard wallets are not supported"),
    ("stripeLinkConnectionId", lambda b: b.stripe_link_connection_id is not None, "Stripe Link is not supported"),
    ("attachedFileIds", lambda b: bool(b.attached_file_ids), "workspace files are not supported"),
    ("opVaultId", lambda b: b.op_vault_id is not None, "1Password is not supported: use inline secretBindings"),
    ("opVaultAllowedDomains", lambda b: b.op_vault_allowed_domains is not None, "1Password is not supported"),
    ("modelParams", lambda b: bool(b.model_params), "provider parameters are not supported: send {} or leave out"),
)


def run_request(body: RunCreateRequestV4, settings: Settings) -> RunTaskRequest:
    """The v1 request for a v4 one; a 422 naming the v4 field for what browserq cannot honour."""
    for field, is_set, why in _REFUSED:
        if is_set(body):
            raise invalid(["body", field], why)
    fields: dict[str, Any] = {"task": body.task}
    if body.model is not None:
        fields["llm_model"] = body.model
    if body.output_schema is not None:
        fields["structured_output_json"] = body.output_schema
    fields.update(_browser_settings(body, settings))
    fields.update(_secrets(body))
    if body.judge is not None:
        fields["judge"] = True
        if body.judge.context:
            fields["judge_ground_truth"] = body.judge.context
    if body.max_cost_usd is not None:
        fields["max_cost_usd"] = _usd(body.max_cost_usd)
    try:
        return RunTaskRequest.model_validate(fields)
    except ValidationError as exc:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [
                error_item(
                    ["body", *_V4_FIELD.get(str(e["loc"][0]), [str(e["loc"][0])]), *e["loc"][1:]], e["msg"], e["type"]
                )
                for e in exc.errors()
            ],
        ) from None


def v4_error(exc: HTTPException) -> HTTPException:
    """A 422 intake raised naming a v1 field (`llm_model`), renamed to the v4 field it came from."""
    if exc.status_code != status.HTTP_422_UNPROCESSABLE_CONTENT or not isinstance(exc.detail, list):
        return exc
    items = []
    for item in exc.detail:
        loc = list(item.get("loc", []))
        if len(loc) >= 2 and loc[0] == "body":
            loc = ["body", *_V4_FIELD.get(str(loc[1]), [str(loc[1])]), *loc[2:]]
        items.append({**item, "loc": loc})
    return HTTPException(exc.status_code, items)


def _usd(value: float | str) -> float:
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise invalid(["body", "maxCostUsd"], 'maxCostUsd must be a number of USD, e.g. 0.5 or "0.5"') from None
    if not amount.is_finite() or amount <= 0:
        raise invalid(["body", "maxCostUsd"], "maxCostUsd must be more than 0")
    return float(amount)


def _browser_settings(body: RunCreateRequestV4, settings: Settings) -> dict[str, Any]:
    given = body.browser_settings
    if given is None:
        return {}
    where = ["body", "browserSettings"]
    if given.custom_proxy is not None:
        raise invalid([*where, "customProxy"], "custom proxies are not supported: use proxyCountryCode")
    if given.allow_resizing:
        raise invalid([*where, "allowResizing"], "a run's browser window keeps its size")
    if given.extension_ids:
        raise invalid([*where, "extensionIds"], "browser extensions are not supported")
    if given.record is not None and given.record != settings.record_video:
        said = "records every run" if settings.record_video else "records no run"
        raise invalid([*where, "record"], f"this server {said} (the operator's BROWSERQ_RECORD_VIDEO): leave it out")
    fields: dict[str, Any] = {}
    if given.profile_id is not None:
        fields["browser_profile_id"] = given.profile_id
    if "proxy_country_code" in given.model_fields_set:
        if given.proxy_country_code is None:
            fields["use_proxy"] = False
        else:
            fields["proxy_country_code"] = given.proxy_country_code
    if given.screen_width is not None:
        fields["browser_viewport_width"] = given.screen_width
    if given.screen_height is not None:
        fields["browser_viewport_height"] = given.screen_height
    return fields


def _secrets(body: RunCreateRequestV4) -> dict[str, Any]:
    """Inline bindings become the task's secrets. browserq cannot keep a secret to some hosts
    while the browser goes to others, so a run with bindings browses only the bindings'
    hosts and their subdomains (its allowed_domains): the secret can reach no other site."""
    if not body.secret_bindings:
        return {}
    secrets: dict[str, str] = {}
    domains: list[str] = []
    for i, binding in enumerate(body.secret_bindings):
        if binding.source.type != "inline" or binding.source.value is None:
            raise invalid(["body", "secretBindings", i, "source"], "only inline secrets are supported, not 1Password")
        secrets[binding.alias] = binding.source.value
        for host in binding.allowed_domains:
            domains += [host, f"*.{host}"]
    return {"secrets": secrets, "allowed_domains": list(dict.fromkeys(domains))}


def summary(read: TaskRead) -> RunSummaryV4:
    task, spent = read.task, read.cost
    final = task.status in TERMINAL_EVENT
    return RunSummaryV4(
        id=task.id,
        task=task.task,
        title=None,
        model=task.llm_model,
        context_limit=CONTEXT_LIMIT_UNKNOWN,
        status=V4_STATUS[task.status],
        result=task.output if task.status == TaskStatus.finished else None,
        output=_output(task),
        output_schema=json.loads(task.structured_output_json) if task.structured_output_json else None,
        error=task.output if final and task.status != TaskStatus.finished else None,
        session_id=task.id,
        workspace_id=task.id,
        judgement=read.judgement,
        total_input_tokens=spent.input_tokens,
        total_output_tokens=spent.output_tokens,
        total_cost_usd=usd_text(spent.usd or 0),
        created_at=task.created_at,
        updated_at=_updated(task),
        paused=task.status == TaskStatus.paused,
        human_question=read.human_question,
        live_url=read.live_url,
    )


def _output(task: Task) -> Any:
    """The parsed value of a structured run that completed (its output is the JSON `done` gave)."""
    if task.status != TaskStatus.finished or not task.structured_output_json or task.output is None:
        return None
    try:
        return json.loads(task.output)
    except ValueError:
        return None


def _updated(task: Task) -> Any:
    moments = [task.created_at, task.started_at, task.heartbeat_at, task.paused_at, task.finished_at]
    return max(m for m in moments if m is not None)


def events(read: TaskRead) -> list[RunEventV4]:
    """Every event of the run so far, in id order (see the module's docstring)."""
    task = read.task

    def event(number: int, kind: str, ts: Any, data: dict[str, Any]) -> RunEventV4:
        return RunEventV4(run_id=task.id, id=number, ts=ts, type=kind, data=data)

    out = [event(1, "run.created", task.created_at, {"status": "queued", "task": task.task})]
    if task.started_at is not None:
        out.append(event(2, "browser.ready", task.started_at, {"liveUrl": read.live_url}))
    for step in read.step_reads:
        data = {
            "number": step.step,
            "url": step.url,
            "evaluationPreviousGoal": step.evaluation_previous_goal,
            "memory": step.memory,
            "nextGoal": step.next_goal,
            "actions": step.actions or [],
            "screenshotUrl": step.screenshot_url,
        }
        out.append(event(2 + step.step, "agent.step", step.created_at, data))
    kind = TERMINAL_EVENT.get(task.status)
    if kind is not None:
        last = max((s.step for s in read.steps), default=0)
        data = {"status": V4_STATUS[task.status], "output": task.output, "judgement": read.judgement}
        out.append(event(3 + last, kind, task.finished_at or _updated(task), data))
    return out
