"""Where a task's answer came from on the page, and what those places say now.

When the agent finishes, the values of its answer (the text, or each string and
number of a structured answer) are looked up in the page it finished on: the
deepest element whose text holds the value (or an attribute equal to it), kept
as a CSS selector built from stable attributes plus the text just before and
after the value. A replay reads those places again at its end, and an exported
script does the same, so a job that reads a price answers today's price, not
the price of the day it was recorded.

The shape stored with the task (`Task.answer_sources`):
  {"kind": "text", "url", "parts": [{"literal": "The code is "}, {"source": {...}}]}
  {"kind": "data", "url", "fields": [{"path": ["balance"], "source": {...}}]}
a source being {selector, attribute (None: the text), prefix, suffix, type
("string" or "number"), element (a short description, for people)}, plus `frame` (the
frame's URL) when the value was read inside an iframe: a value the top document does not
hold is looked for in the page's frames, same-origin or not (a quote, a statement or a
payment form embedded from another origin), and read again in the frame at that URL.
Another tab than the one the agent finished on is not searched."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Frame, Page

ANSWER_SOURCES_JS: str = Path(__file__).with_name("answer_sources.js").read_text(encoding="utf-8")
EVALUATE_TIMEOUT_S = 5.0
MAX_VALUE_CHARS = 500  # a longer value is a summary the model wrote, not one the page holds
MAX_FIELDS = 200
MAX_FRAMES = 20  # frames searched for values the top document does not hold
FRAME_WAIT_S = 3.0  # how long a re-read waits for a frame that is still attaching


async def locate(page: Page, text: str | None, data: Any) -> dict[str, Any] | None:
    """The answer's sources on `page`, or None when none of its values is on it."""
    try:
        if data is not None:
            return await _locate_data(page, data)
        if text:
            return await _locate_text(page, text)
    except (PlaywrightError, TimeoutError):
        return None  # a page that navigated away or hangs: the answer simply has no sources
    return None


async def reread_text(page: Page, sources: dict[str, Any]) -> str | None:
    """The text answer with each value read again; None when one of its places is gone."""
    parts = sources.get("parts") or []
    read = await _read(page, [p["source"] for p in parts if "source" in p])
    if read is None:
        return None
    values = iter(read)
    return "".join(p["literal"] if "literal" in p else _as_text(next(values)) for p in parts)


async def reread_data(page: Page, sources: dict[str, Any], data: Any) -> Any | None:
    """`data` (the original answer) with each sourced field read again; None when one is gone."""
    fields = sources.get("fields") or []
    read = await _read(page, [f["source"] for f in fields])
    if read is None:
        return None
    fresh = copy.deepcopy(data)
    for field, value in zip(fields, read, strict=True):
        fresh = _set(fresh, field["path"], value)
    return fresh


# --- locating -------------------------------------------------------------------


async def _locate_data(page: Page, data: Any) -> dict[str, Any] | None:
    leaves = list(_leaves(data, []))[:MAX_FIELDS]
    if not leaves:
        return None
    sources = await _locate_values(page, [{"value": v, "type": t} for _, v, t in leaves])
    fields = [{"path": path, "source": src} for (path, _, _), src in zip(leaves, sources, strict=True) if src]
    return {"kind": "data", "url": page.url, "fields": fields} if fields else None


async def _locate_values(page: Page, values: list[dict[str, Any]]) -> list[dict[str, Any] | None]:
    """Each value's source: in the top document, else in the first frame (in document order)
    that holds it. The frames are asked at once, so a hanging one costs one timeout in all."""
    sources: list[dict[str, Any] | None] = (await _evaluate(page, {"op": "locate", "values": values}))["sources"]
    missing = [n for n, src in enumerate(sources) if src is None]
    if not missing:
        return sources
    args = {"op": "locate", "values": [values[n] for n in missing]}
    for frame, found in await _in_frames(page, args):
        for n, src in zip(missing, found["sources"], strict=True):
            if src is not None and sources[n] is None:
                sources[n] = {**src, "frame": frame.url}
    return sources


async def _locate_text(page: Page, text: str) -> dict[str, Any] | None:
    value = text.strip()
    if not value or len(value) > MAX_VALUE_CHARS * 4:
        return None
    whole = len(value) <= MAX_VALUE_CHARS
    if whole and (source := (await _locate_values(page, [{"value": value, "type": "string"}]))[0]):
        return {"kind": "text", "url": page.url, "parts": [{"source": source}]}
    pieces = (await _evaluate(page, {"op": "locate", "values": [], "pieces": value}))["pieces"]
    for frame, found in await _in_frames(page, {"op": "locate", "values": [], "pieces": value}):
        pieces += [{**p, "source": {**p["source"], "frame": frame.url}} for p in found["pieces"]]
    parts = template(value, pieces)
    return {"kind": "text", "url": page.url, "parts": parts} if any("source" in p for p in parts) else None


def template(answer: str, pieces: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The answer as literal text around the page values it quotes, longest values first,
    each place of the answer taken once."""
    taken: list[tuple[int, int, dict[str, Any]]] = []
    for piece in sorted(pieces, key=lambda p: -len(p["text"])):
        start = 0
        while (at := answer.find(piece["text"], start)) >= 0:
            end = at + len(piece["text"])
            if all(end <= s or at >= e for s, e, _ in taken):
                taken.append((at, end, piece["source"]))
                break
            start = at + 1
    parts: list[dict[str, Any]] = []
    cursor = 0
    for at, end, source in sorted(taken, key=lambda t: t[0]):
        if at > cursor:
            parts.append({"literal": answer[cursor:at]})
        parts.append({"source": source})
        cursor = end
    if cursor < len(answer):
        parts.append({"literal": answer[cursor:]})
    return parts


def _leaves(data: Any, path: list[str | int]) -> Iterator[tuple[list[str | int], Any, str]]:
    """(path, value, type) of each string and number of a structured answer."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _leaves(value, [*path, key])
    elif isinstance(data, list):
        for n, value in enumerate(data):
            yield from _leaves(value, [*path, n])
    elif isinstance(data, bool) or data is None:
        return
    elif isinstance(data, int | float):
        yield path, data, "number"
    elif isinstance(data, str) and 0 < len(data.strip()) <= MAX_VALUE_CHARS:
        yield path, data, "string"


# --- reading --------------------------------------------------------------------


async def _read(page: Page, sources: list[dict[str, Any]]) -> list[Any] | None:
    """Each source's value now, read in its document (the top one, or the frame at its
    URL); None when any of them is gone."""
    values: list[Any] = [None] * len(sources)
    by_frame: dict[str | None, list[int]] = {}
    for n, source in enumerate(sources):
        by_frame.setdefault(source.get("frame"), []).append(n)
    try:
        for url, numbers in by_frame.items():
            where = page.main_frame if url is None else await _frame_at(page, url)
            if where is None:
                return None
            out = await _evaluate(where, {"op": "read", "sources": [sources[n] for n in numbers]})
            if any(item is None for item in out):
                return None
            for n, item in zip(numbers, out, strict=True):
                values[n] = item["v"]
    except (PlaywrightError, TimeoutError):
        return None
    return values


def _frames(page: Page) -> list[Frame]:
    """The page's frames below the top document, in document order, that have loaded something."""
    frames = [f for f in page.frames if f is not page.main_frame and not f.is_detached()]
    return [f for f in frames if f.url and f.url != "about:blank"][:MAX_FRAMES]


async def _frame_at(page: Page, url: str) -> Frame | None:
    """The first frame at `url`, waiting a little for one still attaching after the load."""
    deadline = asyncio.get_running_loop().time() + FRAME_WAIT_S
    while True:
        for frame in _frames(page):
            if frame.url == url:
                return frame
        if asyncio.get_running_loop().time() >= deadline:
            return None
        await asyncio.sleep(0.1)


async def _in_frames(page: Page, args: dict[str, Any]) -> list[tuple[Frame, Any]]:
    """The script's answer in each of the page's frames, asked at once, in document order;
    a frame that navigates away or hangs simply holds nothing."""
    frames = _frames(page)
    found = await asyncio.gather(*(_evaluate(f, args) for f in frames), return_exceptions=True)
    answered = []
    for frame, out in zip(frames, found, strict=True):
        if isinstance(out, PlaywrightError | TimeoutError):
            continue
        if isinstance(out, BaseException):
            raise out
        answered.append((frame, out))
    return answered


async def _evaluate(where: Page | Frame, args: dict[str, Any]) -> Any:
    return await asyncio.wait_for(where.evaluate(ANSWER_SOURCES_JS, args), EVALUATE_TIMEOUT_S)


def _as_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _set(data: Any, path: list[str | int], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    data[head] = _set(data[head], rest, value)
    return data
