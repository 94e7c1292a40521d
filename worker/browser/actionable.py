"""One-round-trip checks that an element can plainly take a click or typing
right now, so the action can skip Playwright's actionability waits.

Playwright's checks (visible, stable across two animation frames, enabled,
receives events, editable) and, for `fill`, its injected script cost tens of
milliseconds per action even when the element sits still in view. When one
evaluate shows that the element is visible, enabled, in the viewport of the
top frame and not covered at its centre, a click is the mouse pressed and
released at that centre (worker/browser/click.py: the same real mouse events,
without the waits); and an editable text field is
focused and its text selected in the same evaluate, so typing is one
`Input.insertText` (trusted input events, as `fill` sends). Anything less
plain (in an iframe, off screen, covered, a date picker) takes Playwright's
checked path."""

from __future__ import annotations

from dataclasses import dataclass

from playwright.async_api import ElementHandle, Position
from playwright.async_api import Error as PlaywrightError

from worker.browser.human_dates import FIELD_TYPES
from worker.browser.page_state import ElementRef, evaluate_on_element, on_element_js
from worker.browser.suggestions import SUGGESTS_JS

_CHECK_JS = """
  if (!el.isConnected || window !== window.top) return false;
  const style = getComputedStyle(el);
  if (style.visibility !== 'visible' || style.pointerEvents === 'none' || el.matches(':disabled')) return false;
  const r = el.getBoundingClientRect();
  if (r.width < 1 || r.height < 1) return false;
  const x = r.left + r.width / 2, y = r.top + r.height / 2;
  if (x < 0 || y < 0 || x >= window.innerWidth || y >= window.innerHeight) return false;
  const root = el.getRootNode();
  const hit = (typeof root.elementFromPoint === 'function' ? root : document).elementFromPoint(x, y);
  if (!hit || !(hit === el || el.contains(hit))) return false;
"""

CLICKABLE_JS = f"""el => {{{_CHECK_JS}
  return true;
}}"""

# Text fields where inserting text is what `fill` does too (date and colour
# pickers are filled by value, so they take the checked path).
FOCUS_FOR_TYPING_JS = f"""el => {{
  const textTypes = ['', 'text', 'search', 'url', 'tel', 'password', 'email', 'number'];
  const isInput = el.tagName === 'INPUT', isArea = el.tagName === 'TEXTAREA';
  if (!(isArea || el.isContentEditable || (isInput && textTypes.includes(el.getAttribute('type') || '')))) return false;
  if (el.readOnly) return false;{_CHECK_JS}
  el.focus();
  if (el.ownerDocument.activeElement !== el && !el.contains(el.ownerDocument.activeElement)) return false;
  if (isInput || isArea) {{ el.select(); }} else {{
    const range = document.createRange();
    range.selectNodeContents(el);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }}
  return true;
}}"""


# Before typing, in one round trip and without an ElementHandle: whether the element is
# a date/time field (typed by value, worker/browser/date_input.py), else whether it is
# now focused with its text selected (only when asked: focusing selects the text), and
# whether it says it may suggest (read after the focus, which some widgets answer by
# marking the field up), so the wait for suggestions is skipped where none can come.
_PREPARE_JS = on_element_js(
    f"""(el, o) => {{
  if (el.tagName === 'INPUT' && o.dateTypes.includes(el.type)) return {{date: true}};
  const focused = o.focus && ({FOCUS_FOR_TYPING_JS})(el);
  return {{date: false, focused, suggests: ({SUGGESTS_JS})(el)}};
}}"""
)


@dataclass(frozen=True)
class TypingTarget:
    date: bool  # a date/time-like field: the caller sets it through date_input
    focused: bool  # focused with its text selected: typing replaces it (Input.insertText)
    suggests: bool  # the field says it may show suggestions: wait for them after typing


async def prepare_typing(ref: ElementRef, focus: bool) -> TypingTarget:
    """Raises page_state.ElementGone when the element is no longer there."""
    out = await evaluate_on_element(ref, _PREPARE_JS, {"dateTypes": list(FIELD_TYPES), "focus": focus})
    return TypingTarget(bool(out["date"]), bool(out.get("focused")), bool(out.get("suggests")))


# Where to press for a click on an element that plainly takes one (see CLICKABLE_JS): its
# centre in the top frame's viewport, read in the same evaluate as the check, so the click is
# the mouse moved, pressed and released there (worker/browser/click.py): no handle, selector or
# Playwright script in the page is needed.
_PLAIN_POINT_JS = on_element_js(
    f"""el => {{
  if (!({CLICKABLE_JS})(el)) return null;
  const r = el.getBoundingClientRect();
  return {{x: r.left + r.width / 2, y: r.top + r.height / 2}};
}}"""
)


async def plain_click_point(ref: ElementRef) -> tuple[float, float] | None:
    """The element's centre when it can plainly take a click now (see CLICKABLE_JS), else
    None. Raises page_state.ElementGone when it is no longer there."""
    point = await evaluate_on_element(ref, _PLAIN_POINT_JS)
    return (float(point["x"]), float(point["y"])) if point else None


# A point of the element (relative to its box) where a click reaches it, when its centre does
# not: a pie chart's slice, whose box's centre lies in another slice. None when no point of a
# coarse grid over its box in the viewport is its own.
_INNER_POINT_JS = """el => {
  if (!el.isConnected || window !== window.top) return null;
  const r = el.getBoundingClientRect();
  if (r.width < 1 || r.height < 1) return null;
  const root = el.getRootNode();
  const at = typeof root.elementFromPoint === 'function' ? root : document;
  const steps = [0.5, 0.35, 0.65, 0.2, 0.8, 0.1, 0.9];
  for (const f of steps) for (const g of steps) {
    const x = r.left + r.width * f, y = r.top + r.height * g;
    if (x < 0 || y < 0 || x >= window.innerWidth || y >= window.innerHeight) continue;
    const hit = at.elementFromPoint(x, y);
    if (hit && (hit === el || el.contains(hit))) return {x: x - r.left, y: y - r.top};
  }
  return null;
}"""


async def inner_point(handle: ElementHandle) -> Position | None:
    """Where a click reaches the element when its centre is covered (see _INNER_POINT_JS)."""
    try:
        point = await handle.evaluate(_INNER_POINT_JS)
    except PlaywrightError:
        return None
    return Position(x=float(point["x"]), y=float(point["y"])) if point else None


async def plainly_clickable(handle: ElementHandle) -> bool:
    return await _ask(handle, CLICKABLE_JS)


async def focused_for_typing(handle: ElementHandle) -> bool:
    """True once the field is focused with all its text selected: typing replaces it."""
    return await _ask(handle, FOCUS_FOR_TYPING_JS)


async def _ask(handle: ElementHandle, script: str) -> bool:
    try:
        return bool(await handle.evaluate(script))
    except PlaywrightError:
        return False
