"""The worker's half of the live view: while someone watches, stream the
task's current tab with the DevTools screencast, and apply the input of a
viewer who took control (the task is paused) to the real page.

It runs as its own asyncio task beside the agent, so it keeps going while
the agent waits at a checkpoint for the pause to end. When nobody watches it
costs one look at the viewer list every half second and nothing else."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from playwright.async_api import CDPSession, Page

from shared import task_store
from shared.db import session_scope
from shared.live_bus import LiveBus, live_bus
from shared.live_messages import BadInput, Click, Frame, Key, Text, Wheel, parse_input
from shared.models import TaskStatus
from shared.settings import Settings
from worker.agent.control import TaskControl
from worker.browser.session import BrowserSession

log = logging.getLogger("browserq.live")

IDLE_CHECK = 0.5  # seconds between looks at the viewer list while nobody watches
STREAM_CHECK = 0.25  # ... and while streaming (also how fast a tab switch is followed)
JPEG_QUALITY = 60
INPUT_TIMEOUT = 5.0
CLOSE_TIMEOUT = 5.0  # for leaving: the task's slot must never wait on the live view


class Screencast:
    """One page's screencast. Chromium keeps at most two frames unacknowledged,
    so forwarding them one at a time and acknowledging each only when its
    share of the second is over caps the frame rate."""

    def __init__(
        self,
        page: Page,
        publish: Callable[[str], Awaitable[None]],
        fps: float,
        extra: Callable[[], dict[str, Any]] = dict,  # more Frame fields, read at each send
    ) -> None:
        self.page = page
        self.publish = publish
        self.interval = 1.0 / max(fps, 0.1)
        self.extra = extra  # fields every frame message carries (how far input was handled)
        self.frames = 0
        self._last: Frame | None = None
        self._cdp: CDPSession | None = None
        self._pending: set[asyncio.Task[None]] = set()
        self._one_at_a_time = asyncio.Lock()

    async def start(self) -> None:
        self._cdp = await self.page.context.new_cdp_session(self.page)
        self._cdp.on("Page.screencastFrame", self._on_frame)
        size = self.page.viewport_size or {"width": 1280, "height": 960}
        await self._cdp.send(
            "Page.startScreencast",
            {"format": "jpeg", "quality": JPEG_QUALITY, "maxWidth": size["width"], "maxHeight": size["height"]},
        )

    def _on_frame(self, params: dict[str, Any]) -> None:
        task = asyncio.ensure_future(self._forward(params))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def _message(self) -> str:
        assert self._last is not None
        frame = Frame.model_validate({**self._last.model_dump(), **self.extra(), "url": self.page.url})
        return frame.wire()

    async def _send(self) -> None:
        try:
            await self.publish(self._message())
        except Exception as exc:
            log.debug("publishing a frame: %s", exc)

    async def republish(self) -> None:
        """The last frame again, with fresh `extra` (input was handled; the page may not have changed)."""
        if self._last is not None and self._cdp is not None:
            await self._send()

    async def _forward(self, params: dict[str, Any]) -> None:
        async with self._one_at_a_time:
            started = time.monotonic()
            self.frames += 1
            meta = params.get("metadata") or {}
            self._last = Frame(
                seq=self.frames, data=params["data"], width=meta.get("deviceWidth"), height=meta.get("deviceHeight")
            )
            await self._send()
            await asyncio.sleep(max(0.0, self.interval - (time.monotonic() - started)))
        try:
            if self._cdp is not None:
                await self._cdp.send("Page.screencastFrameAck", {"sessionId": params["sessionId"]})
        except Exception:
            pass  # the page or the cast is gone

    async def stop(self) -> None:
        cdp, self._cdp = self._cdp, None
        for task in list(self._pending):
            task.cancel()
        if cdp is None:
            return
        try:
            if not self.page.is_closed():
                await cdp.send("Page.stopScreencast")
            await cdp.detach()
        except Exception:
            pass


async def apply_input(page: Page, event: Click | Wheel | Text | Key) -> None:
    """Do what the viewer did, at the frame's coordinates (CSS pixels of the viewport)."""
    size = page.viewport_size or {"width": 10_000, "height": 10_000}
    if isinstance(event, (Click, Wheel)):
        x, y = min(event.x, size["width"] - 1), min(event.y, size["height"] - 1)
    if isinstance(event, Click):
        await page.mouse.click(x, y, button=event.button, click_count=event.clicks)
    elif isinstance(event, Wheel):
        await page.mouse.move(x, y)
        await page.mouse.wheel(event.dx, event.dy)
    elif isinstance(event, Text):
        await page.keyboard.type(event.text)
    else:
        await page.keyboard.press(event.key)


class LiveView:
    def __init__(
        self,
        task_id: str,
        session: BrowserSession,
        control: TaskControl,
        settings: Settings,
        bus: LiveBus | None = None,
    ) -> None:
        self.task_id = task_id
        self.session = session
        self.control = control
        self.settings = settings
        self.bus = bus or live_bus(settings)
        self.cast: Screencast | None = None
        # viewer id -> the last of its input events handled (applied or refused); frames carry it.
        self.handled: dict[str, int] = {}
        self._inputs: asyncio.Task[None] | None = None
        self._runner: asyncio.Task[None] | None = None
        self._republish: asyncio.TimerHandle | None = None
        self._republishing: set[asyncio.Task[None]] = set()  # the loop keeps only weak references to tasks
        self._parked_told = False  # what the last frame said of control.parked
        self._closing = asyncio.Event()

    async def __aenter__(self) -> LiveView:
        self._runner = asyncio.create_task(self._run(), name=f"live-view {self.task_id}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await self._close()
        except Exception as error:  # Redis or the page not answering: the task ends regardless
            log.warning("task %s: closing the live view: %s", self.task_id, error or type(error).__name__)

    async def _close(self) -> None:
        # Asked to end, not cancelled: redis-py's asyncio client can swallow a cancel that
        # lands mid-command (measured: about one in four here), and the look-up loop then
        # ran on forever with the task's slot waiting for it.
        self._closing.set()
        if self._runner is not None:
            await asyncio.wait({self._runner})
        await self._stop()
        try:
            await self.bus.clear(self.task_id)
        finally:
            await self.bus.close()

    async def _run(self) -> None:
        failing = False
        while not self._closing.is_set():
            try:
                if await self.bus.watched(self.task_id):
                    await self._stream()
                    if self.cast is not None and self.control.parked.is_set() != self._parked_told:
                        await self.cast.republish()  # the page may not change when the agent stops
                else:
                    await self._stop()
                failing = False
            except Exception as exc:  # Redis blinked, the page died: the task goes on regardless
                if not failing:
                    log.warning("live view of task %s is unavailable: %s", self.task_id, exc)
                failing = True
                await self._stop()
            try:
                await asyncio.wait_for(self._closing.wait(), STREAM_CHECK if self.cast else IDLE_CHECK)
            except TimeoutError:
                pass

    async def _stream(self) -> None:
        """Cast the current tab; follow the agent (or the viewer) to another tab."""
        if self._inputs is None or self._inputs.done():
            self._inputs = asyncio.create_task(self._read_inputs())
        page = self.session.current
        if page is None or page.is_closed():
            return
        if self.cast is not None and self.cast.page is page:
            return
        if self.cast is not None:
            await self.cast.stop()
        cast = Screencast(
            page,
            lambda frame: self.bus.publish_frame(self.task_id, frame),
            self.settings.live_view_fps,
            self._frame_fields,
        )
        try:
            await cast.start()
        except Exception:
            await cast.stop()  # the tab closed under us: try again on the next look
            raise
        self.cast = cast
        log.info("task %s: a viewer is watching; streaming %s", self.task_id, page.url)

    def _frame_fields(self) -> dict[str, Any]:
        """What each frame tells the viewer besides the picture: how far its input was
        handled, and whether the agent has stopped for the pause (input applies from then)."""
        self._parked_told = self.control.parked.is_set()
        return {"handled": self.handled, "parked": self._parked_told}

    async def _stop(self) -> None:
        if self._republish is not None:
            self._republish.cancel()
            self._republish = None
        if self._inputs is not None:
            self._inputs.cancel()
            self._inputs = None
        if self.cast is not None:
            cast, self.cast = self.cast, None
            await cast.stop()
            log.info("task %s: nobody watches any more; streaming stopped after %d frames", self.task_id, cast.frames)
            try:
                await self.bus.drop_frame(self.task_id)
            except Exception:
                pass

    async def _read_inputs(self) -> None:
        async for raw in self.bus.inputs(self.task_id):
            try:
                event = parse_input(raw)
            except BadInput as exc:
                log.info("task %s: live input ignored: %s", self.task_id, exc)
                continue
            await self._apply(event)
            if event.viewer and event.seq is not None:
                self._mark_handled(event.viewer, event.seq)

    async def _apply(self, event: Click | Wheel | Text | Key) -> None:
        if not await self._under_control():
            log.info("task %s: live input ignored: take control (pause the task) first", self.task_id)
            return
        # The person drives only once the agent has stopped: its model call or action in
        # flight ends first, and its next step reads the page as the person leaves it.
        if not await self.control.until_parked(self.settings.step_timeout_seconds):
            log.info("task %s: live input ignored: the agent did not stop for the pause", self.task_id)
            return
        page = self.session.current
        if page is None or page.is_closed():
            return
        try:
            async with asyncio.timeout(INPUT_TIMEOUT):
                self.control.driven += 1
                await apply_input(page, event)
        except Exception as exc:
            log.info("task %s: live input %s failed: %s", self.task_id, event.kind, exc)

    def _mark_handled(self, viewer: str, seq: int) -> None:
        """Tell the viewer (in the next frame, or the last one sent again shortly) how far its
        input got, so its Resume waits for what it typed to reach the page."""
        self.handled[viewer] = max(seq, self.handled.get(viewer, 0))
        if len(self.handled) > 64:
            self.handled.pop(next(iter(self.handled)))
        if self._republish is None and self.cast is not None:
            cast = self.cast

            def fire() -> None:
                self._republish = None
                task = asyncio.ensure_future(cast.republish())
                self._republishing.add(task)
                task.add_done_callback(self._republishing.discard)

            self._republish = asyncio.get_running_loop().call_later(0.03, fire)

    async def _under_control(self) -> bool:
        """A person may drive only a paused task, so they never fight the agent
        mid-action. The status poll reads in rounds; a fresh read covers the moment
        right after the pause, before the poll has seen it, and tells the agent."""
        if self.control.status == TaskStatus.paused:
            return True

        def read() -> TaskStatus | None:
            with session_scope() as db:
                return task_store.current_status(db, self.control.lease)

        status = await asyncio.to_thread(read)
        if status == TaskStatus.paused:
            self.control.saw(status)
            return True
        return False
