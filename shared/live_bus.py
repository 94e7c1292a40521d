"""How the API and the worker running a task talk about its live view:
who watches (the API announces each open viewer; the worker streams only
while at least one is there), the frames (worker -> API) and the viewer's
input (API -> worker).

Two carriers, chosen by the broker, so the live view needs nothing the
deployment does not already have:
- Redis (the distributed mode): a sorted set of viewers scored by when each
  announcement lapses, pub/sub channels for frames and input, and the latest
  frame kept under a key so a new viewer sees the page at once.
- Files under `data_dir/live/<task id>/` (the embedded mode, where the API and
  the worker share one machine and one data folder): a file per viewer whose
  mtime is its announcement, `frame.json` replaced atomically on every frame
  and polled by the API, and one file per input event in `inputs/`, read in
  order and deleted by the worker.

A frame or an input event is a short JSON text; frames carry the JPEG as the
base64 the DevTools screencast already produced, so nobody re-encodes it."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol, cast

from shared.settings import Settings

# A viewer announces itself every VIEWER_REFRESH seconds; an announcement lapses
# after VIEWER_TTL, so a viewer that vanished without a goodbye is gone by then.
VIEWER_REFRESH = 2.0
VIEWER_TTL = 6.0
FRAME_TTL = 60  # seconds a kept frame outlives the stream (Redis)
POLL = 0.05  # the file carrier's polling interval
STALE_INPUT = 5.0  # seconds after which an input event nobody read is dropped (files)


class LiveBus(Protocol):
    async def watch(self, task_id: str, viewer_id: str) -> None: ...
    async def unwatch(self, task_id: str, viewer_id: str) -> None: ...
    async def watched(self, task_id: str) -> bool: ...
    async def publish_frame(self, task_id: str, frame: str) -> None: ...
    async def drop_frame(self, task_id: str) -> None: ...
    def frames(self, task_id: str) -> AsyncIterator[str]: ...
    async def send_input(self, task_id: str, event: str) -> None: ...
    def inputs(self, task_id: str) -> AsyncIterator[str]: ...
    async def clear(self, task_id: str) -> None: ...
    async def close(self) -> None: ...


def live_bus(settings: Settings) -> LiveBus:
    url = settings.resolved_broker_url
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisLiveBus(url)
    return FileLiveBus(Path(settings.data_dir).resolve() / "live")


class RedisLiveBus:
    def __init__(self, url: str) -> None:
        from redis.asyncio import Redis

        self.redis = Redis.from_url(url, socket_connect_timeout=2, health_check_interval=30)

    @staticmethod
    def _key(task_id: str, what: str) -> str:
        return f"browserq:live:{task_id}:{what}"

    async def watch(self, task_id: str, viewer_id: str) -> None:
        key = self._key(task_id, "viewers")
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zadd(key, {viewer_id: time.time() + VIEWER_TTL})
            pipe.expire(key, int(VIEWER_TTL * 4))
            await pipe.execute()

    async def unwatch(self, task_id: str, viewer_id: str) -> None:
        await self.redis.zrem(self._key(task_id, "viewers"), viewer_id)

    async def watched(self, task_id: str) -> bool:
        return bool(await self.redis.zcount(self._key(task_id, "viewers"), time.time(), "+inf"))

    async def publish_frame(self, task_id: str, frame: str) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(self._key(task_id, "frame"), frame, ex=FRAME_TTL)
            pipe.publish(self._key(task_id, "frames"), frame)
            await pipe.execute()

    async def drop_frame(self, task_id: str) -> None:
        await self.redis.delete(self._key(task_id, "frame"))

    async def frames(self, task_id: str) -> AsyncIterator[str]:
        """The kept frame first (if any), then each new one."""
        async with self.redis.pubsub(ignore_subscribe_messages=True) as pubsub:
            await pubsub.subscribe(self._key(task_id, "frames"))
            latest = await self.redis.get(self._key(task_id, "frame"))
            if latest:
                yield cast(bytes, latest).decode()  # the client is made without decode_responses
            async for message in pubsub.listen():
                if message.get("type") == "message":
                    yield message["data"].decode()

    async def send_input(self, task_id: str, event: str) -> None:
        await self.redis.publish(self._key(task_id, "input"), event)

    async def inputs(self, task_id: str) -> AsyncIterator[str]:
        async with self.redis.pubsub(ignore_subscribe_messages=True) as pubsub:
            await pubsub.subscribe(self._key(task_id, "input"))
            async for message in pubsub.listen():
                if message.get("type") == "message":
                    yield message["data"].decode()

    async def clear(self, task_id: str) -> None:
        await self.redis.delete(self._key(task_id, "frame"))

    async def close(self) -> None:
        await self.redis.aclose()


class FileLiveBus:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _dir(self, task_id: str, *parts: str) -> Path:
        if not task_id or "/" in task_id or task_id.startswith("."):
            raise ValueError(f"not a task id: {task_id!r}")
        return self.root.joinpath(task_id, *parts)

    async def watch(self, task_id: str, viewer_id: str) -> None:
        folder = self._dir(task_id, "viewers")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / viewer_id).touch()

    async def unwatch(self, task_id: str, viewer_id: str) -> None:
        self._dir(task_id, "viewers", viewer_id).unlink(missing_ok=True)
        for folder in (self._dir(task_id, "viewers"), self._dir(task_id)):
            try:
                folder.rmdir()  # only once empty: the last viewer of a finished task tidies up
            except OSError:
                break

    async def watched(self, task_id: str) -> bool:
        cutoff = time.time() - VIEWER_TTL
        try:
            with os.scandir(self._dir(task_id, "viewers")) as entries:
                return any(e.stat().st_mtime > cutoff for e in entries if not e.name.startswith("."))
        except FileNotFoundError:
            return False

    async def publish_frame(self, task_id: str, frame: str) -> None:
        await asyncio.to_thread(_write_atomically, self._dir(task_id, "frame.json"), frame)

    async def drop_frame(self, task_id: str) -> None:
        self._dir(task_id, "frame.json").unlink(missing_ok=True)

    async def frames(self, task_id: str) -> AsyncIterator[str]:
        path = self._dir(task_id, "frame.json")
        seen: tuple[int, int] | None = None
        while True:
            try:
                stat = path.stat()
                mark = (stat.st_mtime_ns, stat.st_ino)
                if mark != seen:
                    seen = mark
                    yield path.read_text()
            except FileNotFoundError:
                pass
            await asyncio.sleep(POLL)

    async def send_input(self, task_id: str, event: str) -> None:
        name = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.json"
        _write_atomically(self._dir(task_id, "inputs", name), event)

    async def inputs(self, task_id: str) -> AsyncIterator[str]:
        folder = self._dir(task_id, "inputs")
        while True:
            try:
                names = sorted(n for n in os.listdir(folder) if not n.startswith("."))
            except FileNotFoundError:
                names = []
            stale = time.time_ns() - int(STALE_INPUT * 1e9)
            for name in names:
                path = folder / name
                try:
                    event = path.read_text()
                    path.unlink()
                except FileNotFoundError:
                    continue
                if name[:20].isdigit() and int(name[:20]) < stale:
                    continue  # sent while nobody listened: the page has moved on since
                yield event
            await asyncio.sleep(POLL)

    async def clear(self, task_id: str) -> None:
        await asyncio.to_thread(shutil.rmtree, self._dir(task_id), True)

    async def close(self) -> None:
        return None


def _write_atomically(path: Path, text: str) -> None:
    """Readers see the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:6]}")
    tmp.write_text(text)
    os.replace(tmp, path)
