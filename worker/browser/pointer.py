"""The pointer's moves for drag and hover: real mouse events through the page's
mouse (Playwright's, in the top frame's coordinates), so pages see what a person's
hand makes them see.

Why the mouse and not a script: sortable lists, sliders and kanban boards listen to
mousedown / mousemove / mouseup (or pointer events) and check the moves in between,
and HTML5 drag and drop (`draggable`) starts only from a real press and move;
Playwright turns those moves into dragstart / dragover / drop in Chromium. A hover
leaves the pointer where it is, so a menu that opens on hover stays open for the
next step and for a click on one of its items (the click's move ends inside it)."""

from __future__ import annotations

from dataclasses import dataclass

from playwright.async_api import ElementHandle, Page

from worker.browser.suggestions import wait_for_quiet

DRAG_STEPS = 12  # intermediate moves: libraries track the pointer and need several moves to follow
START_NUDGE = 4  # px: the first move past the drag threshold most libraries use (3 to 5 px)
TIMEOUT_MS = 10_000


class PointerError(Exception):
    """The element cannot be reached by the pointer; the message says why."""


@dataclass(frozen=True)
class Point:
    x: float
    y: float


async def centre(handle: ElementHandle) -> Point:
    """The element's centre in the top frame's viewport, scrolled into view first."""
    await handle.scroll_into_view_if_needed(timeout=TIMEOUT_MS)
    box = await handle.bounding_box()
    if box is None or box["width"] == 0 or box["height"] == 0:
        raise PointerError("it is not visible")
    return Point(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


async def hover(page: Page, handle: ElementHandle) -> None:
    """Move the pointer onto the element and leave it there, then wait until what the
    hover opens is drawn (CSS :hover shows at the next frame, script menus after a delay)."""
    point = await centre(handle)
    # One move, straight there: a path through the gap between a menu and its submenu would
    # leave the menu, and close it, on the way.
    await page.mouse.move(point.x, point.y)
    await wait_for_quiet(page)


async def drag(page: Page, source: ElementHandle, target: ElementHandle | None, offset: Point) -> Point:
    """Press on the source's centre, move in steps to the target's centre (or by the offset),
    release; then wait for the page to draw the result (a list re-sorted, a value shown).
    Returns where the pointer was released."""
    start = await centre(source)
    if target is None:
        to = Point(start.x + offset.x, start.y + offset.y)
    else:  # the source scrolled into view first: the target is measured where it now is
        box = await target.bounding_box()
        if box is None or box["width"] == 0 or box["height"] == 0:
            raise PointerError("the element to drop onto is not visible")
        to = Point(box["x"] + box["width"] / 2 + offset.x, box["y"] + box["height"] / 2 + offset.y)
    await page.mouse.move(start.x, start.y)
    await page.mouse.down()
    await page.mouse.move(start.x + START_NUDGE, start.y + START_NUDGE, steps=2)
    await page.mouse.move(to.x, to.y, steps=DRAG_STEPS)
    await page.mouse.up()
    await wait_for_quiet(page)
    return to
