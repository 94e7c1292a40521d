"""After typing into a field that may suggest (an autocomplete), wait until the
page has drawn what the typing made it draw, so the next step's page state
lists the suggestions.

Why: autocompletes answer typing after a delay (jQuery UI's is 300 ms) or a
request, and the agent reads the page right after its actions; without a wait
the suggestions appear a moment after the model was shown a page without
them. The wait is only for fields that say they suggest (a script listens to
their keys, as the listener probe sees, or ARIA says so: role=combobox,
aria-autocomplete, aria-haspopup, aria-controls, or a `list` of options) and
ends early: when nothing changes within FIRST_MS, or once the page has been
quiet for QUIET_MS after its last change and no request of its scripts is in flight,
MAX_MS at most (see QUIET_JS)."""

from __future__ import annotations

from playwright.async_api import ElementHandle, Page
from playwright.async_api import Error as PlaywrightError

from worker.browser.page_state import ElementGone, ElementRef, evaluate_on_element, on_element_js

FIRST_MS = 600  # no change by then: the field shows no suggestions
QUIET_MS = 150  # this long without a change after one: the suggestions are drawn
MAX_MS = 3000  # a page that never stops changing (an animation) is read as it is
_OPTIONS = {"first": FIRST_MS, "quiet": QUIET_MS, "max": MAX_MS}

# Whether a field says it may suggest: a script listens to its keys (the listener probe) or ARIA says so.
SUGGESTS_JS = """(el) => {
  const keys = window.__bqKeys;
  return (keys !== undefined && keys.has(el)) || el.getAttribute('role') === 'combobox'
    || ['aria-autocomplete', 'aria-haspopup', 'aria-controls', 'aria-owns', 'list'].some((a) => el.hasAttribute(a));
}"""

# Resolves with the number of DOM changes once the page is quiet: no change within o.first, or
# o.quiet after the last one, and no request of the page's scripts in flight (the listener
# probe counts fetch and XMLHttpRequest: a menu filled from the server shows a "Searching..."
# line first and its options only when the answer comes), o.max at most.
QUIET_JS = """(doc, o) => new Promise((resolve) => {
  const start = performance.now();
  let last = -1, changes = 0;
  const seen = new MutationObserver((records) => { changes += records.length; last = performance.now(); });
  seen.observe(doc, { subtree: true, childList: true, attributes: true, characterData: true });
  const busy = () => (window.__bqBusy ? window.__bqBusy.n > 0 : false);
  const tick = () => {
    const now = performance.now();
    const settled = !busy() && (last < 0 ? now - start >= o.first : now - last >= o.quiet);
    if (settled || now - start >= o.max) { seen.disconnect(); resolve(changes); } else setTimeout(tick, 25);
  };
  setTimeout(tick, 25);
})"""

_WAIT_JS = f"""(el, o) => {{
  if (!({SUGGESTS_JS})(el)) return -1;
  return ({QUIET_JS})(el.ownerDocument, o);
}}"""

_PAGE_QUIET_JS = f"o => ({QUIET_JS})(document, o)"
POINTER_OPTIONS = {"first": 250, "quiet": QUIET_MS, "max": MAX_MS}  # a hover menu's delay is short


async def wait_for_quiet(page: Page, options: dict[str, int] | None = None) -> int:
    """How many changes the page made after a pointer move (a hover, a drop) once it is quiet."""
    try:
        return int(await page.evaluate(_PAGE_QUIET_JS, options or POINTER_OPTIONS))
    except PlaywrightError:  # it navigated: nothing to wait for
        return 0


async def wait_for_suggestions(handle: ElementHandle) -> int:
    """How many changes the page made after the typing (-1: the field does not suggest)."""
    try:
        return int(await handle.evaluate(_WAIT_JS, _OPTIONS))
    except PlaywrightError:  # the typing navigated, or the field is gone: nothing to wait for
        return 0


_WAIT_AT_JS = on_element_js(_WAIT_JS)


async def wait_for_suggestions_at(ref: ElementRef) -> int:
    """`wait_for_suggestions` for the element of a ref, without an ElementHandle."""
    try:
        return int(await evaluate_on_element(ref, _WAIT_AT_JS, _OPTIONS))
    except ElementGone:  # the typing navigated, or the field is gone: nothing to wait for
        return 0
