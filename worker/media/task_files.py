"""Moving one task's files between its scratch folder and storage: the
uploaded files it was given, the files it writes and downloads (stored after
each step), a screenshot per step, and the recording at the end.

Storage calls block, so they run in threads; a storage failure is logged and
never fails the task (the task's result matters more than its files)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from pathlib import Path

from playwright.async_api import Page

from shared.settings import Settings
from shared.storage import UPLOAD_MAX_BYTES, FileNameError, Storage, StorageError, guess_type, names
from worker.browser.page_state import PageState
from worker.browser.session import BrowserSession
from worker.media.recorder import ScreencastRecorder
from worker.media.screenshots import Screenshot, take_screenshot

log = logging.getLogger("browserq.media")


class TaskFiles:
    def __init__(
        self, storage: Storage, settings: Settings, task_id: str, attempt: int, files_dir: Path, highlight: bool
    ) -> None:
        self.storage, self.settings = storage, settings
        self.task_id, self.attempt = task_id, attempt
        self.files_dir, self.highlight = files_dir, highlight
        self._shots: dict[int, asyncio.Task[str | None]] = {}
        self._synced: dict[Path, tuple[int, int]] = {}
        self._recorder: ScreencastRecorder | None = None
        self.screenshot_ms: list[float] = []
        # The task's secret values in every form, and their folded forms, as they are now:
        # masked in each screenshot.
        self.secret_forms: Callable[[], list[str]] = list
        self.secret_folded: Callable[[], list[str]] = list
        self.withheld: dict[int, str] = {}  # step -> why its screenshot was withheld

    # -- inputs ----------------------------------------------------------------------

    async def fetch_inputs(self, owner_id: str, file_names: list[str]) -> dict[str, Path]:
        """The uploaded files named by the task, downloaded into inputs/; name -> path."""
        inputs = self.files_dir / "inputs"
        found: dict[str, Path] = {}
        for name in file_names:
            try:
                key = names.upload_key(owner_id, name)
                info = await asyncio.to_thread(self.storage.stat, key)
                if info is None or info.size > UPLOAD_MAX_BYTES:
                    log.warning("task %s: uploaded file %r is missing or too large", self.task_id, name)
                    continue
                await asyncio.to_thread(self.storage.download, key, inputs / name)
                found[name] = inputs / name
            except (FileNameError, StorageError) as exc:
                log.warning("task %s: uploaded file %r not available: %s", self.task_id, name, exc)
        return found

    # -- screenshots ---------------------------------------------------------------

    async def observed(self, step: int, page: Page, state: PageState) -> bytes | None:
        """Called once the step's page state is captured: shoot now, store in the
        background; the JPEG is what a vision model is sent too."""
        started = time.perf_counter()
        shot = await self._shoot(page, state, self.highlight)
        self.screenshot_ms.append((time.perf_counter() - started) * 1000)
        data = shot.jpeg
        if shot.withheld:
            self.withheld[step] = shot.withheld
        if data is not None:
            self._shots[step] = asyncio.create_task(self._store_shot(step, data))
        return data

    async def last_look(self, page: Page) -> bytes | None:
        """The page as the run left it, for the judge: masked as every step's screenshot
        is, never stored; None when it was withheld or could not be taken."""
        return (await self._shoot(page, None, False)).jpeg

    async def _shoot(self, page: Page, state: PageState | None, highlight: bool) -> Screenshot:
        """A screenshot with every form of the task's secrets masked, the recording stopped
        meanwhile (its frames never show the labels or the masks)."""
        async with self._recorder.paused() if self._recorder is not None else contextlib.nullcontext():
            return await take_screenshot(
                page, state, highlight, self.settings.screenshot_quality, self.secret_forms(), self.secret_folded()
            )

    async def _store_shot(self, step: int, data: bytes) -> str | None:
        key = names.screenshot_key(self.task_id, step)
        try:
            await asyncio.to_thread(self.storage.put_bytes, key, data, "image/jpeg")
        except StorageError as exc:
            log.warning("task %s: screenshot of step %d not stored: %s", self.task_id, step, exc)
            return None
        return key

    async def screenshot_key(self, step: int) -> str | None:
        shot = self._shots.pop(step, None)
        return await shot if shot is not None else None

    # -- outputs -------------------------------------------------------------------------

    async def sync_outputs(self) -> None:
        """Store the files written or downloaded since the last call (new or changed)."""
        for path in self._output_paths():
            st = path.stat()
            stamp = (st.st_size, st.st_mtime_ns)
            if self._synced.get(path) == stamp:
                continue
            try:
                key = names.output_key(self.task_id, path.name)
                await asyncio.to_thread(self.storage.put_file, key, path, guess_type(path.name))
                self._synced[path] = stamp
            except (FileNameError, StorageError) as exc:
                log.warning("task %s: output file %r not stored: %s", self.task_id, path.name, exc)

    def _output_paths(self) -> list[Path]:
        folders = [self.files_dir, self.files_dir / "downloads"]
        return [p for folder in folders if folder.is_dir() for p in sorted(folder.iterdir()) if p.is_file()]

    # -- the recording -----------------------------------------------------------------

    async def start_recording(self, session: BrowserSession, width: int, height: int) -> None:
        if not self.settings.record_video:
            return
        target = self.files_dir.parent / f"{self.task_id}-attempt-{self.attempt}.webm"
        recorder = ScreencastRecorder(session, target, width, height)
        if await recorder.start():
            self._recorder = recorder

    async def finish(self) -> None:
        """Store what is left: pending screenshots, last outputs, the recording."""
        try:
            await self._finish()
        except Exception:
            log.exception("task %s: storing its last files failed", self.task_id)

    async def _finish(self) -> None:
        for step in list(self._shots):
            await self.screenshot_key(step)
        if self.screenshot_ms:
            ms = sorted(self.screenshot_ms)
            log.info(
                "task %s: %d screenshots, p50 %.0f ms, max %.0f ms", self.task_id, len(ms), ms[len(ms) // 2], ms[-1]
            )
        await self.sync_outputs()
        if self._recorder is None:
            return
        video = await self._recorder.stop()
        if video is None:
            return
        try:
            await asyncio.to_thread(
                self.storage.put_file, names.recording_key(self.task_id, self.attempt), video, "video/webm"
            )
        except StorageError as exc:
            log.warning("task %s: recording not stored: %s", self.task_id, exc)
        finally:
            video.unlink(missing_ok=True)
