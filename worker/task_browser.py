"""The browser a task starts with, from its settings and its profile: the
context's viewport, upstream proxy and saved storage state, the ad blocker, and the
notes a user should read in step 1 (e.g. "no proxy for this country")."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from playwright.async_api import BrowserContext

from shared.crypto import SecretKeyMissing
from shared.db import session_scope
from shared.models import Task
from shared.settings import Settings
from worker import profile_store
from worker.agent.control import Interrupted
from worker.browser.adblock import install_adblock
from worker.browser.locale import locale_options
from worker.browser.proxy import no_proxy_note, upstream_for

log = logging.getLogger("browserq.worker")
SAVE_TIMEOUT_SECONDS = 15.0


@dataclass
class TaskBrowser:
    options: dict[str, Any]  # Playwright new_context keywords
    notices: list[str] = field(default_factory=list)  # told to the model, and shown in step 1
    profile_id: str | None = None  # set when the task saves its storage state to this profile
    upstream: str | None = None  # the country's proxy, chained behind the worker's egress proxy


def prepare(task: Task, settings: Settings) -> TaskBrowser:
    """Blocking (reads the profile's saved state): call it in a thread."""
    setup = TaskBrowser(
        options={"viewport": {"width": task.browser_viewport_width, "height": task.browser_viewport_height}}
    )
    if task.use_proxy and settings.proxies:  # with no proxies at all, direct is simply how this server runs
        setup.upstream = upstream_for(task.proxy_country_code, settings)
        if setup.upstream is None:
            setup.notices.append(no_proxy_note(task.proxy_country_code))
    # The language and time zone of the proxy's country, or the operator's when it runs direct.
    setup.options.update(locale_options(task.proxy_country_code if setup.upstream else None, settings))
    if task.browser_profile_id:
        _apply_profile(setup, task)
    return setup


def _apply_profile(setup: TaskBrowser, task: Task) -> None:
    assert task.browser_profile_id
    try:
        with session_scope() as session:
            profile, state = profile_store.load_state(session, task.browser_profile_id, task.owner_id)
    except SecretKeyMissing as exc:  # BROWSERQ_SECRET_KEY changed since the state was saved
        log.warning("task %s: the profile's saved state is unreadable: %s", task.id, exc)
        setup.notices.append("The browser profile's saved cookies could not be read; this task starts without them.")
        setup.profile_id = task.browser_profile_id  # its state at the end replaces the unreadable one
        return
    if profile is None:
        setup.notices.append("The browser profile of this task was deleted; the task runs in a fresh browser.")
        return
    if profile.persist:
        setup.profile_id = profile.id
        if state is not None:
            setup.options["storage_state"] = state


async def start(context: BrowserContext, task: Task, settings: Settings) -> None:
    """What is set on the context once it exists. Register route handlers after
    every other one (the domain guard): the last registered runs first."""
    if task.use_adblock:
        await install_adblock(context, settings)


@asynccontextmanager
async def saving_profile(context: BrowserContext, setup: TaskBrowser, task_id: str) -> AsyncIterator[None]:
    """Saves the context's cookies and local storage to the profile when the
    task ends (finished, failed or stopped); not when its lease was lost, since
    another worker now owns the task."""
    try:
        yield
    except Interrupted as exc:
        if not exc.lease_lost:
            await _save(context, setup, task_id)
        raise
    else:
        await _save(context, setup, task_id)


async def _save(context: BrowserContext, setup: TaskBrowser, task_id: str) -> None:
    if setup.profile_id is None:
        return
    try:
        async with asyncio.timeout(SAVE_TIMEOUT_SECONDS):
            state = await context.storage_state()
    except Exception as exc:  # the browser died with the task: keep the previous state
        log.warning("task %s: could not read the browser state for its profile: %s", task_id, exc)
        return
    profile_id = setup.profile_id

    def write() -> bool:
        with session_scope() as session:
            return profile_store.save_state(session, profile_id, state, task_id)

    if not await asyncio.to_thread(write):
        log.info("task %s: profile %s is gone or no longer persists; state not saved", task_id, profile_id)
