"""What the agent "sees" each step: the page's readable text with its
interactive elements interleaved as numbered lines (see the spec's
`agent-protocol.md`, "Interactive elements").

Why it is built this way:

* `dom_state.js` runs ONCE per frame per step and does all the DOM work in a
  single pass; a round trip per element would make big pages take seconds.
* Each found element is kept in a per-frame JS registry (`window.__bq.els`,
  reset on every capture), so an action gets an `ElementHandle` by its local id
  (`element_handle`) without building or trusting a selector.
* Frames are captured top-down: a child frame is read only when its iframe
  element is visible in or near the viewport, and it is given its offset in the
  top page so its own "near the viewport" filter matches the top page's.
  Its content is spliced into the text where its iframe element sits.
  Frames that are detached or whose evaluation fails are skipped.
* The budget is applied here, after the frames are joined: element lines have
  priority; readable text lines are shortened (longest first) to fit.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.async_api import ElementHandle, Frame, Page
from playwright.async_api import Error as PlaywrightError

DOM_STATE_JS: str = (Path(__file__).with_name("dom_state.js")).read_text(encoding="utf-8")

# A page's own library may change what JSON.stringify gives (Prototype.js's Array toJSON):
# then the result comes back as it is.
_AS_JSON = """(opts) => {{
  const state = ({script})(opts);
  const plain = /\\[native code\\]/.test(Function.prototype.toString.call(JSON.stringify))
    && !("toJSON" in Array.prototype) && !("toJSON" in Object.prototype) && !("toJSON" in String.prototype);
  return plain ? JSON.stringify(state) : state;
}}"""


async def _run_dom_state(frame: Frame, opts: dict[str, Any]) -> dict[str, Any]:
    """DOM_STATE_JS's result, carried as one JSON string: Playwright otherwise walks every
    item of it in the page, the driver and Python (on the density page ~5 ms of Python a
    capture, against under 1 ms for the string and json.loads)."""
    result = await frame.evaluate(_AS_JSON.format(script=DOM_STATE_JS), opts)
    state: dict[str, Any] = json.loads(result) if isinstance(result, str) else result
    return state


MAIN_FRAME_TIMEOUT_S = 10.0
CHILD_FRAME_TIMEOUT_S = 3.0
MAX_FRAME_DEPTH = 5
MIN_TEXT_LINE_CHARS = 8  # below this a shortened text line is dropped rather than kept as a stub

# Where an iframe's viewport sits inside its parent's viewport, and which
# registered iframe of the parent it is (-1 if the parent did not list it).
_IFRAME_POSITION_JS = """(el) => {
  const r = el.getBoundingClientRect();
  const frames = (window.__bq && window.__bq.frames) || [];
  return {k: frames.indexOf(el), x: r.left + el.clientLeft, y: r.top + el.clientTop};
}"""

_RESOLVE_JS = """([i, id]) => {
  const b = window.__bq;
  if (!b || (id && b.id !== id)) return null;
  const e = b.els[i];
  return e && e.isConnected ? e : null;
}"""


@dataclass
class ElementRef:
    """One numbered element of a step; `frame` + `local_id` find it again in
    that frame's JS registry. `capture_id` (an addition to the contract) ties
    the ref to the capture that made it, so a ref from an older step resolves to
    None instead of to whatever element now has the same local id."""

    index: int
    frame: Frame
    local_id: int
    tag: str
    description: str
    is_new: bool
    capture_id: str = ""


@dataclass
class PageState:
    """The page as shown to the model for one step."""

    url: str
    title: str
    text: str
    elements: dict[int, ElementRef]
    pixels_above: int
    pixels_below: int
    viewport_height: int
    # How many tabs the page had asked to open when it was read (session.OPENER_JS; None: unknown),
    # so the first action that may open one needs no round trip to learn the count before it.
    tabs_asked: int | None = None

    @property
    def pages_above(self) -> float:
        return self.pixels_above / self.viewport_height if self.viewport_height else 0.0

    @property
    def pages_below(self) -> float:
        return self.pixels_below / self.viewport_height if self.viewport_height else 0.0

    def descriptions(self) -> set[str]:
        """What to pass as `previous_descriptions` next step. The key is the
        description alone, so an element that stays on the page (or reappears
        after a navigation, like a site header) is not marked new."""
        return {ref.description for ref in self.elements.values()}


@dataclass
class _FrameCapture:
    """One frame's raw result: its items and where its viewport sits in the top page."""

    frame: Frame
    items: list[Any]
    offset_x: float = 0.0
    offset_y: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Line:
    """One line of the output: readable text, or an element (with its frame)."""

    text: str
    element: tuple[Frame, int, str] | None = None  # (frame, local_id, tag)


async def capture_page_state(
    page: Page, previous_descriptions: set[str] | None = None, budget_chars: int = 40000
) -> PageState:
    """Capture the page state of `page`. Elements whose description is not in
    `previous_descriptions` are marked new ("*"); with None nothing is marked
    (the first step has nothing to compare with)."""
    capture_id = uuid.uuid4().hex[:12]
    main = await _capture_main(page, capture_id, budget_chars)
    if isinstance(main, str):
        return _unreadable_state(page, main)
    captures = await _capture_children(main, capture_id, budget_chars)
    lines = _splice(main, captures, set())
    lines = _fit_budget(lines, budget_chars)
    return _build_state(page, main.info, lines, previous_descriptions, capture_id)


def on_element_js(fn_js: str) -> str:
    """A frame script `([i, id, arg]) => ...` that runs `fn_js`, an `(el, arg) => value`
    function (a promise's value is awaited), on the live element of a ref: `{v: value}`, or
    null when the element is gone (as `element_handle` finds it). An action that needs no
    handle saves a round trip."""
    return f"""async ([i, id, arg]) => {{
  const b = window.__bq;
  if (!b || (id && b.id !== id)) return null;
  const e = b.els[i];
  return e && e.isConnected ? {{v: await ({fn_js})(e, arg)}} : null;
}}"""


class ElementGone(Exception):
    """The element of a ref is no longer on the page (or its frame or capture is gone)."""


async def evaluate_on_element(ref: ElementRef, script: str, arg: Any = None) -> Any:
    """Run a script made by `on_element_js` on `ref`'s element in its frame, in one round
    trip and without an ElementHandle; raises ElementGone when it is not there."""
    if ref.frame.is_detached():
        raise ElementGone
    try:
        out = await ref.frame.evaluate(script, [ref.local_id, ref.capture_id, arg])
    except PlaywrightError:
        raise ElementGone from None
    if out is None:
        raise ElementGone
    return out["v"]


async def element_handle(ref: ElementRef) -> ElementHandle | None:
    """The live element behind `ref`, or None when its frame, its capture or the
    element itself is gone (the caller re-captures or re-finds by description)."""
    if ref.frame.is_detached():
        return None
    try:
        handle = await ref.frame.evaluate_handle(_RESOLVE_JS, [ref.local_id, ref.capture_id])
    except PlaywrightError:
        return None
    element = handle.as_element()
    if element is None:
        await handle.dispose()
    return element


# --- capturing frames -------------------------------------------------------


def _js_options(
    capture_id: str, budget_chars: int, top: dict[str, Any] | None = None, offset: tuple[float, float] = (0.0, 0.0)
) -> dict[str, Any]:
    """The script's options; `textMax` bounds the text sent back (the budget is applied later)."""
    opts: dict[str, Any] = {"captureId": capture_id, "textMax": max(10 * budget_chars, 20000)}
    if top is not None:
        opts.update(
            topWidth=top["viewportWidth"], topHeight=top["viewportHeight"], offsetX=offset[0], offsetY=offset[1]
        )
    return opts


async def _capture_main(page: Page, capture_id: str, budget_chars: int) -> _FrameCapture | str:
    """The main frame, retried once on an error (a navigation in flight
    destroys the context) but not on a timeout (an open dialog blocks scripts,
    waiting again would not help); returns the error text when it cannot be read."""
    frame = page.main_frame
    error = ""
    for attempt in range(2):
        try:
            info = await asyncio.wait_for(
                _run_dom_state(frame, _js_options(capture_id, budget_chars)), MAIN_FRAME_TIMEOUT_S
            )
            return _FrameCapture(frame=frame, items=info.pop("items"), info=info)
        except TimeoutError:
            return "timed out (is a dialog open?)"
        except PlaywrightError as exc:
            error = (str(exc).splitlines() or ["error"])[0]
            if attempt == 0:
                await _settle(page)
    return error


async def _settle(page: Page) -> None:
    """Give a navigation in flight a moment to commit before retrying."""
    try:
        await page.wait_for_load_state("domcontentloaded", timeout=5000)
    except PlaywrightError:
        pass


async def _capture_children(
    main: _FrameCapture, capture_id: str, budget_chars: int
) -> dict[tuple[int, int], _FrameCapture]:
    """Child frames, level by level (a child needs its parent's registry and
    offset), each level in parallel. Keyed by (id(parent frame), k)."""
    result: dict[tuple[int, int], _FrameCapture] = {}
    level = [main]
    for _ in range(MAX_FRAME_DEPTH):
        jobs = [
            _capture_child(child, parent, main.info, capture_id, budget_chars)
            for parent in level
            if any(isinstance(it, list) and it[0] == "f" for it in parent.items)
            for child in parent.frame.child_frames
        ]
        found = [c for c in await asyncio.gather(*jobs) if c is not None]
        for key, cap in found:
            result[key] = cap
        level = [cap for _, cap in found]
        if not level:
            break
    return result


async def _capture_child(
    child: Frame, parent: _FrameCapture, top: dict[str, Any], capture_id: str, budget_chars: int
) -> tuple[tuple[int, int], _FrameCapture] | None:
    """One child frame, or None when it is detached, not listed by its parent
    (hidden or far from the viewport) or cannot be evaluated."""
    if child.is_detached():
        return None
    try:
        owner = await asyncio.wait_for(child.frame_element(), CHILD_FRAME_TIMEOUT_S)
        pos = await asyncio.wait_for(owner.evaluate(_IFRAME_POSITION_JS), CHILD_FRAME_TIMEOUT_S)
        await owner.dispose()
        if pos["k"] < 0:
            return None
        offset = (parent.offset_x + pos["x"], parent.offset_y + pos["y"])
        opts = _js_options(capture_id, budget_chars, top, offset)
        info = await asyncio.wait_for(_run_dom_state(child, opts), CHILD_FRAME_TIMEOUT_S)
    except (TimeoutError, PlaywrightError):
        return None
    cap = _FrameCapture(frame=child, items=info.pop("items"), offset_x=offset[0], offset_y=offset[1], info=info)
    return (id(parent.frame), pos["k"]), cap


# --- assembling the text ----------------------------------------------------


def _splice(cap: _FrameCapture, children: dict[tuple[int, int], _FrameCapture], seen: set[int]) -> list[_Line]:
    """The frame's items as lines, with each child frame's lines where its iframe sits."""
    lines: list[_Line] = []
    seen.add(id(cap.frame))
    for item in cap.items:
        if isinstance(item, str):
            lines.extend(_Line(t) for t in (s.strip() for s in item.split("\n")) if t)
        elif item[0] == "e":
            lines.append(_Line(item[3], (cap.frame, item[1], item[2])))
        elif item[0] == "f":
            child = children.get((id(cap.frame), item[1]))
            if child is not None and id(child.frame) not in seen:
                lines.extend(_splice(child, children, seen))
    return lines


def _fit_budget(lines: list[_Line], budget: int) -> list[_Line]:
    """Elements first: drop the elements past the budget (rare), then shorten
    the longest text lines until everything fits. Sizes count the "[N]" prefix
    and the newline of each line."""
    element_cost = 0
    kept: list[_Line] = []
    for n, line in enumerate(ln for ln in lines if ln.element):
        element_cost += len(line.text) + len(str(n + 1)) + 4  # "*[N]" + "\n"
        if element_cost > budget:
            break
        kept.append(line)
    kept_ids = {id(ln) for ln in kept}
    lines = [ln for ln in lines if ln.element is None or id(ln) in kept_ids]
    texts = [ln for ln in lines if ln.element is None]
    limit = _text_line_limit([len(ln.text) for ln in texts], budget - element_cost - len(texts))
    if limit is None:
        return lines
    out: list[_Line] = []
    for ln in lines:
        if ln.element is None and len(ln.text) > limit:
            if limit < MIN_TEXT_LINE_CHARS:
                continue
            ln = _Line(ln.text[: limit - 1] + "\u2026")
        out.append(ln)
    return out


def _text_line_limit(lengths: list[int], room: int) -> int | None:
    """The largest per-line length m with sum(min(len, m)) <= room (water
    filling: long paragraphs are shortened, short labels stay whole); None when
    everything fits already."""
    if sum(lengths) <= room:
        return None
    if room <= 0:
        return 0
    lo, hi = 0, max(lengths)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if sum(min(n, mid) for n in lengths) <= room:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _build_state(
    page: Page, info: dict[str, Any], lines: list[_Line], previous: set[str] | None, capture_id: str
) -> PageState:
    """Number the elements in document order and render the text."""
    elements: dict[int, ElementRef] = {}
    out: list[str] = []
    for line in lines:
        if line.element is None:
            out.append(line.text)
            continue
        frame, local_id, tag = line.element
        index = len(elements) + 1
        is_new = previous is not None and line.text not in previous
        elements[index] = ElementRef(index, frame, local_id, tag, line.text, is_new, capture_id)
        out.append(f"{'*' if is_new else ''}[{index}]{line.text}")
    vh = int(info.get("viewportHeight") or 0)
    scroll_y = int(info.get("scrollY") or 0)
    below = int(info.get("scrollHeight") or 0) - scroll_y - vh
    return PageState(
        url=page.url,
        title=str(info.get("title") or ""),
        text="\n".join(out),
        elements=elements,
        pixels_above=max(scroll_y, 0),
        pixels_below=max(below, 0),
        viewport_height=vh,
        tabs_asked=info.get("opened") if isinstance(info.get("opened"), int) else None,
    )


def blank_state(page: Page) -> PageState:
    """What capture_page_state reads on a tab the agent opened that nothing has loaded or
    written into (BrowserSession.pristine): about:blank, empty. Known without the round
    trips (in a fresh renderer, the first evaluate also installs Playwright's script)."""
    size = page.viewport_size or {"height": 0}
    return PageState(
        url=page.url,
        title="",
        text="",
        elements={},
        pixels_above=0,
        pixels_below=0,
        viewport_height=int(size["height"]),
    )


def _unreadable_state(page: Page, error: str) -> PageState:
    """An empty state that says why, so the agent loop can go on (wait, go back)."""
    size = page.viewport_size or {"height": 0}
    return PageState(
        url=page.url,
        title="",
        text=f"(the page content could not be read: {error})",
        elements={},
        pixels_above=0,
        pixels_below=0,
        viewport_height=int(size["height"]),
    )
