"""Task intake: check a request, store its task and queue it. Every way of starting a
task comes through here: v1 run-task, v2 POST /tasks, search, replay (create_task,
create_task_once with an Idempotency-Key) and each run of a schedule (new_task, which
api/maintenance/schedules.py stores in its own transaction)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import HTTPException, status
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from api import idempotency
from api.errors import invalid
from api.file_rules import check_included_files
from api.owned import get_owned_profile
from api.public_links import new_share_token
from api.schemas import RunTaskRequest
from shared import billing
from shared.crypto import encrypt_json
from shared.dispatch import dispatch
from shared.model_routes import model_unavailable_reason
from shared.models import BrowserProfile, Task
from shared.settings import get_settings
from shared.storage import get_storage
from shared.webhooks.outbox import record_new_task
from shared.worker_presence import served_kinds


def judge_model_for(body: RunTaskRequest) -> str:
    """The judge's model: the one the request names, else the operator's, else the task's own."""
    return body.judge_llm or get_settings().judge_model or body.llm_model


def _check_request(body: RunTaskRequest) -> None:
    settings = get_settings()
    reason = model_unavailable_reason(body.llm_model, settings)
    if reason:
        raise invalid(["body", "llm_model"], reason)
    judge_model = judge_model_for(body)
    if body.judge and (reason := model_unavailable_reason(judge_model, settings)):
        raise invalid(["body", "judge_llm"], f"the judge's model: {reason}")
    if body.max_cost_usd is not None:
        for model in {body.llm_model, *([judge_model] if body.judge else [])}:
            if settings.price_of(model) is None:
                raise invalid(
                    ["body", "max_cost_usd"],
                    f"a cost cap needs a price for {model!r}, which has none: "
                    "ask the operator to set one in BROWSERQ_MODEL_PRICES, or leave the cap out",
                )


async def create_task_once(body: RunTaskRequest, session: Session, owner_id: str, key: str | None, print_: str) -> str:
    """create_task, unless a request with this Idempotency-Key made its task already: that task's id."""
    if key is None:
        return (await create_task(body, session, owner_id)).id
    earlier = await run_in_threadpool(idempotency.earlier_task, session, owner_id, key, print_)
    if earlier:
        return earlier
    task = await run_in_threadpool(new_task, body, session, owner_id)
    try:
        await run_in_threadpool(
            _store, session, task, lambda: idempotency.record(session, owner_id, key, print_, task.id)
        )
    except IntegrityError:  # a request with the same key committed first: its task is the one
        session.rollback()
        earlier = await run_in_threadpool(idempotency.earlier_task, session, owner_id, key, print_)
        if earlier is None:
            raise
        return earlier
    await run_in_threadpool(dispatch, task.id)
    return task.id


async def create_task(body: RunTaskRequest, session: Session, owner_id: str, **columns: Any) -> Task:
    """Check, store and queue one task. Every way of starting a task (v1, v2,
    search, replay) comes through here; `columns` sets extra Task columns."""
    task = await run_in_threadpool(new_task, body, session, owner_id, **columns)
    await run_in_threadpool(_store, session, task)
    await run_in_threadpool(dispatch, task.id)
    return task


# Request fields stored otherwise than as the column of their name.
_NOT_COLUMNS = {"task", "secrets", "structured_output_json", "metadata", "browser_kind"}


def new_task(body: RunTaskRequest, session: Session, owner_id: str, **columns: Any) -> Task:
    """Check a request and build its task, not yet stored: what create_task and
    each run of a scheduled task share. Raises HTTPException (422, 402)."""
    _check_request(body)
    reason = billing.over_budget_reason(session, owner_id)
    if reason:
        raise HTTPException(status.HTTP_402_PAYMENT_REQUIRED, reason)
    if body.included_file_names:
        check_included_files(get_storage(), owner_id, body.included_file_names)
    from_profile = _profile_settings(session, owner_id, body.browser_profile_id)
    kind = _browser_kind(session, body.browser_kind)
    return Task(
        owner_id=owner_id,
        task=body.task,
        secrets_encrypted=encrypt_json(body.secrets) if body.secrets else None,
        secret_names=sorted(body.secrets) if body.secrets else None,
        **{
            **body.model_dump(
                exclude={"task", "secrets", "structured_output_json", "metadata", "judge_llm", "browser_kind"}
            ),
            **from_profile,
        },
        judge_llm=judge_model_for(body) if body.judge else None,
        browser_kind=kind,
        structured_output_json=body.structured_output_json,  # type: ignore[arg-type]
        task_metadata=body.metadata,
        public_share_token=new_share_token() if body.enable_public_share else None,
        **columns,
    )


def _browser_kind(session: Session, asked: str | None) -> str:
    """The kind a task runs in: the one it asks for, else the operator's default. The
    default is always accepted (its task waits for a worker, as any task does while
    none runs); another kind only while a worker serves it, else it would wait forever."""
    default = get_settings().browser_kind
    if asked is None or asked == default or asked in served_kinds(session):
        return asked or default
    raise invalid(
        ["body", "browser_kind"],
        f"no worker serves browser_kind {asked!r}: start one with `browserq worker --browser-kind {asked}`, "
        f"or leave browser_kind out to run in the default kind {default!r}",
    )


def _profile_settings(session: Session, owner_id: str, profile_id: str | None) -> dict[str, Any]:
    """A task on a profile runs with the profile's viewport, ad blocker and proxy settings."""
    if not profile_id:
        return {}
    try:
        return task_settings(get_owned_profile(session, owner_id, profile_id))
    except HTTPException:
        raise invalid(
            ["body", "browser_profile_id"],
            f"browser profile {profile_id!r} not found: create one with POST /browser-profiles",
        ) from None


def _store(session: Session, task: Task, also: Callable[[], None] | None = None) -> None:
    session.add(task)
    record_new_task(session, task)  # its webhook event commits with it
    if also is not None:
        also()  # more rows for the same transaction (the request's Idempotency-Key)
    session.commit()


def task_settings(profile: BrowserProfile) -> dict[str, Any]:
    """The task fields a profile decides: a task on a profile runs with the profile's settings."""
    return {
        "use_adblock": profile.ad_blocker,
        "use_proxy": profile.proxy,
        "proxy_country_code": profile.proxy_country_code.lower(),
        "browser_viewport_width": profile.browser_viewport_width,
        "browser_viewport_height": profile.browser_viewport_height,
    }
