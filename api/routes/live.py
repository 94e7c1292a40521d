"""The live view: a keyless page (a signed link, see `api.public_links`)
that shows the task's current tab as it changes, its steps and its status,
and lets the viewer take control: pause the task, click, type and scroll in
the real browser, then resume.

The page talks to one WebSocket. While it is open the API announces the
viewer on the live bus, so the worker streams the screencast only while
somebody watches; frames come back over the bus and go out as they are, and
the viewer's input goes the other way."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse
from sqlmodel import Session

from api import task_control
from api.public_links import live_over, live_token_valid
from api.public_view import not_found_page, page, snapshot, state_response
from api.schemas import AnswerRequest
from shared.db import get_engine
from shared.live_bus import VIEWER_REFRESH, LiveBus, live_bus
from shared.live_messages import MAX_MESSAGE_BYTES, BadInput, ControlReply, ErrorReply, Hello, parse_input
from shared.models import Task
from shared.settings import get_settings

log = logging.getLogger("browserq.api")
router = APIRouter(tags=["live view"], include_in_schema=False)

TokenQuery = Annotated[str, Query(max_length=200)]
ACCESS_RECHECK = 5.0  # seconds between checks that an open socket's task may still be watched
DENIED = 1008  # WebSocket close code: policy violation
LEAVE_TIMEOUT = 2.0  # seconds a leaving viewer waits for its readers before it is unwatched anyway

_buses: dict[int, LiveBus] = {}


def _bus() -> LiveBus:
    """One bus per event loop (a Redis client belongs to the loop that made it)."""
    loop_id = id(asyncio.get_running_loop())
    bus = _buses.get(loop_id)
    if bus is None:
        bus = _buses[loop_id] = live_bus(get_settings())
    return bus


def _load(task_id: str) -> Task | None:
    with Session(get_engine(), expire_on_commit=False) as session:
        return session.get(Task, task_id)


def _access(task_id: str, token: str) -> tuple[int, str] | None:
    """(status, why) when this token opens nothing; None when it opens the live view."""
    settings = get_settings()
    if not settings.secret_key:
        return 404, "The live view is off: the server has no BROWSERQ_SECRET_KEY to sign links with."
    if not token or not live_token_valid(task_id, token, settings.secret_key):
        return 403, "This live link is wrong or has expired. Ask the API for the task's current live_url."
    task = _load(task_id)
    if task is None:
        return 404, "Task not found."
    if live_over(task, settings):
        return 404, "This task ended; its live view is closed."
    return None


@router.get("/live/{task_id}", response_class=HTMLResponse)
async def live_page(task_id: str, token: TokenQuery = "") -> HTMLResponse:
    denied = await run_in_threadpool(_access, task_id, token)
    if denied:
        return not_found_page(denied[1], denied[0])
    return page("live.html", task_id=task_id, token=token)


@router.get("/live/{task_id}/state")
def live_state(task_id: str, token: TokenQuery = "") -> JSONResponse:
    denied = _access(task_id, token)
    if denied:
        return JSONResponse({"detail": denied[1]}, status_code=denied[0])
    with Session(get_engine(), expire_on_commit=False) as session:
        task = session.get(Task, task_id)
        if task is None:
            return JSONResponse({"detail": "Task not found."}, status_code=404)
        return state_response(snapshot(session, task))


@router.post("/live/{task_id}/answer")
def live_answer(task_id: str, body: AnswerRequest, token: TokenQuery = "") -> JSONResponse:
    """The answer box of the live page: the same as POST /api/v1/task/{id}/answer, by the live link."""
    denied = _access(task_id, token)
    if denied:
        return JSONResponse({"detail": denied[1]}, status_code=denied[0])
    with Session(get_engine(), expire_on_commit=False) as session:
        task = session.get(Task, task_id)
        if task is None:
            return JSONResponse({"detail": "Task not found."}, status_code=404)
        try:
            task_control.answer(session, task.owner_id, task_id, body)
        except HTTPException as exc:
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
    return JSONResponse({})


def _control(task_id: str, action: Literal["take", "resume"]) -> ControlReply | ErrorReply:
    """Take control (pause; a paused task is simply taken) or hand it back (resume):
    the same as PUT pause-task / resume-task, through api/task_control.py."""
    with Session(get_engine(), expire_on_commit=False) as session:
        task = session.get(Task, task_id)
        if task is None:
            return ErrorReply(detail="Task not found.")
        try:
            if action == "take":
                task_control.take_control(session, task.owner_id, task_id)
            else:
                task_control.resume(session, task.owner_id, task_id)
            ok = True
        except HTTPException:
            ok = False
        session.refresh(task)
        status = task.status.value
    if not ok:
        verb = "take control of" if action == "take" else "resume"
        return ErrorReply(detail=f"Cannot {verb} a task that is {status}.", status=status)
    return ControlReply(action=action, status=status)


class _Viewer:
    """One open WebSocket: announce it, pump frames out, take messages in."""

    def __init__(self, websocket: WebSocket, task_id: str, token: str, bus: LiveBus) -> None:
        self.ws, self.task_id, self.token, self.bus = websocket, task_id, token, bus
        self.id = uuid.uuid4().hex
        self.in_control = False  # this viewer took control and has not handed it back

    async def serve(self) -> None:
        """Until the viewer leaves (or the task may no longer be watched)."""
        jobs: list[asyncio.Task[None]] = []
        try:
            await self.bus.watch(self.task_id, self.id)
            log.info("live view of task %s: viewer %s joined", self.task_id, self.id[:8])
            await self.ws.send_text(Hello(viewer=self.id).wire())
            jobs = [asyncio.create_task(job) for job in (self._announce(), self._frames(), self._messages())]
            await asyncio.wait(jobs, return_when=asyncio.FIRST_COMPLETED)
        except WebSocketDisconnect:
            pass
        except Exception as exc:  # the live bus (Redis) is down: the page reconnects later
            log.warning("live view of task %s: %s", self.task_id, exc)
        finally:
            for job in jobs:
                job.cancel()
            # Bounded: redis-py's asyncio client can swallow a cancel that lands mid-read,
            # and the viewer must be let go (unwatched) whatever its readers do.
            _, stuck = await asyncio.wait(jobs, timeout=LEAVE_TIMEOUT) if jobs else (set(), set())
            if stuck:
                log.info(
                    "live view of task %s: %d reader(s) of viewer %s still closing",
                    self.task_id,
                    len(stuck),
                    self.id[:8],
                )
            try:
                await self.bus.unwatch(self.task_id, self.id)
            except Exception as exc:
                log.debug("unwatch: %s", exc)
            log.info("live view of task %s: viewer %s left", self.task_id, self.id[:8])

    async def _announce(self) -> None:
        """Keep the viewer announced; close the socket once the task may no longer be watched."""
        since_check = 0.0
        while True:
            await asyncio.sleep(VIEWER_REFRESH)
            await self.bus.watch(self.task_id, self.id)
            since_check += VIEWER_REFRESH
            if since_check >= ACCESS_RECHECK:
                since_check = 0.0
                denied = await run_in_threadpool(_access, self.task_id, self.token)
                if denied:
                    await self.ws.close(code=DENIED, reason=denied[1][:120])
                    return

    async def _frames(self) -> None:
        async for frame in self.bus.frames(self.task_id):
            await self.ws.send_text(frame)

    async def _messages(self) -> None:
        while True:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text") or (message.get("bytes") or b"").decode(errors="replace")
            reply = await self._handle(text)
            if reply:
                await self.ws.send_text(reply.wire())

    async def _handle(self, text: str) -> ControlReply | ErrorReply | None:
        if len(text) > MAX_MESSAGE_BYTES:
            return ErrorReply(detail=f"messages are at most {MAX_MESSAGE_BYTES} bytes")
        try:
            message = json.loads(text)
        except json.JSONDecodeError:
            return ErrorReply(detail="messages are JSON objects")
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "control" and message.get("action") in ("take", "resume"):
            reply = await run_in_threadpool(_control, self.task_id, message["action"])
            if isinstance(reply, ControlReply):
                self.in_control = message["action"] == "take"
            return reply
        if kind == "input":
            return await self._forward(message)
        return ErrorReply(
            detail="unknown message: send {type: control, action: take|resume} or "
            "{type: input, kind: click|wheel|text|key, ...}"
        )

    async def _forward(self, message: dict[str, Any]) -> ErrorReply | None:
        if not self.in_control:
            return ErrorReply(detail="Take control first: the page is read-only while the agent works.")
        try:
            event = parse_input({**message, "viewer": self.id})
        except BadInput as exc:
            return ErrorReply(detail=str(exc))
        await self.bus.send_input(self.task_id, event.model_dump_json(exclude_none=True))
        return None


@router.websocket("/live/{task_id}/ws")
async def live_socket(websocket: WebSocket, task_id: str) -> None:
    token = websocket.query_params.get("token", "")[:200]
    denied = await run_in_threadpool(_access, task_id, token)
    if denied:
        await websocket.close(code=DENIED)  # before accept: the handshake is refused with 403
        return
    await websocket.accept()
    await _Viewer(websocket, task_id, token, _bus()).serve()
    try:
        await websocket.close()
    except Exception:
        pass
