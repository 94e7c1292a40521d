"""A step's screenshot: the viewport as the model saw it, JPEG, with the
element indices drawn on it when the task asked for highlights, and password
fields blacked out.

Labels and the password masks are drawn by one overlay injected into each
frame that needs it (it reads the element registry the page-state capture
left there) and removed right after the shot, so the page is never changed
between the model's view and its actions. One script per frame plus the
capture is cheaper than Playwright's `mask=` and `caret="hide"`, which each
add their own round trips to every frame (about 40 ms a step here). The
capture itself is the DevTools `Page.captureScreenshot` on a session kept per
page: about half the time of `page.screenshot`, which also waits for fonts and
rewrites styles around each shot (about 18 ms against 35 ms here)."""

from __future__ import annotations

import asyncio
import base64
import logging
import weakref
from collections import defaultdict
from collections.abc import Sequence

from playwright.async_api import CDPSession, Frame, Page
from playwright.async_api import Error as PlaywrightError

from worker.browser.page_state import PageState

log = logging.getLogger("browserq.media")

SHOT_TIMEOUT_MS = 5000
FRAME_TIMEOUT_S = 3.0

_DRAW_JS = """([pairs, captureId, secrets]) => {
  const b = window.__bq;
  const els = b && b.id === captureId ? b.els : [];
  const colors = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#008080', '#9a6324', '#800000'];
  const root = document.createElement('div');
  root.setAttribute('data-bq-overlay', '');
  root.style.cssText = 'position:fixed;left:0;top:0;width:0;height:0;pointer-events:none;z-index:2147483647;';
  const vw = window.innerWidth, vh = window.innerHeight;
  let drawn = 0;
  const black = (r) => {
    if (r.width < 1 || r.height < 1) return;
    const mask = document.createElement('div');
    mask.style.cssText = `position:fixed;left:${r.left}px;top:${r.top}px;width:${r.width}px;height:${r.height}px;background:#000;`;
    root.append(mask);
  };
  const holds = (text) => !!text && secrets.some((s) => text.includes(s));
  // Password fields, and any field (whatever its type) or text that holds one of the task's secrets.
  for (const input of document.querySelectorAll('input, textarea, [contenteditable]')) {
    if (input.type === 'password' || holds(input.value) || (input.isContentEditable && holds(input.textContent))) {
      black(input.getBoundingClientRect());
    }
  }
  if (secrets.length) {
    const walker = document.createTreeWalker(document.body || document.documentElement, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (!holds(node.nodeValue)) continue;
      const range = document.createRange();
      range.selectNodeContents(node);
      for (const r of range.getClientRects()) black(r);
    }
  }
  for (const [local, index] of pairs) {
    const el = els[local];
    if (!el || !el.isConnected) continue;
    const r = el.getBoundingClientRect();
    if (r.width < 1 || r.height < 1 || r.bottom < 0 || r.right < 0 || r.top > vh || r.left > vw) continue;
    const c = colors[index % colors.length];
    const box = document.createElement('div');
    box.style.cssText = `position:fixed;left:${r.left}px;top:${r.top}px;width:${r.width}px;height:${r.height}px;` +
      `outline:2px solid ${c};box-sizing:border-box;`;
    const label = document.createElement('div');
    label.textContent = String(index);
    label.style.cssText = `position:fixed;left:${Math.max(0, r.left)}px;top:${Math.max(0, r.top - 15)}px;` +
      `background:${c};color:#fff;font:bold 11px/15px monospace;padding:0 3px;border-radius:2px;`;
    root.append(box, label);
    drawn++;
  }
  (document.body || document.documentElement).appendChild(root);
  return drawn;
}"""  # noqa: E501 (the script is JavaScript)

_REMOVE_JS = "() => document.querySelectorAll('[data-bq-overlay]').forEach(e => e.remove())"


async def take_screenshot(
    page: Page, state: PageState | None, highlight: bool, quality: int, secrets: Sequence[str] = ()
) -> bytes | None:
    """The JPEG, or None when the page cannot be shot (a screenshot never fails a step).
    Every frame gets its masks: password fields, and every field or text holding one of
    `secrets` (the task's secret values and their encoded forms), whatever its type."""
    frames: dict[Frame, list[list[int]]] = {frame: [] for frame in page.frames}
    if highlight and state is not None:
        frames.update(_frames_with_elements(state))
    shown = [s for s in secrets if s]
    try:
        for frame, pairs in frames.items():
            await _in_frame(frame, _DRAW_JS, [pairs, _capture_id(state), shown])
        return await _viewport_jpeg(page, quality)
    except (PlaywrightError, TimeoutError) as exc:
        log.info("no screenshot of %s: %s", page.url, str(exc).splitlines()[0] if str(exc) else exc)
        return None
    finally:
        for frame in frames:
            await _in_frame(frame, _REMOVE_JS, None)


_DEVTOOLS: weakref.WeakKeyDictionary[Page, CDPSession] = weakref.WeakKeyDictionary()


async def _viewport_jpeg(page: Page, quality: int) -> bytes:
    session = _DEVTOOLS.get(page)
    if session is None:
        session = _DEVTOOLS[page] = await page.context.new_cdp_session(page)
    shot = await asyncio.wait_for(
        session.send("Page.captureScreenshot", {"format": "jpeg", "quality": quality, "optimizeForSpeed": True}),
        SHOT_TIMEOUT_MS / 1000,
    )
    return base64.b64decode(shot["data"])


def _capture_id(state: PageState | None) -> str:
    ref = next(iter(state.elements.values()), None) if state else None
    return ref.capture_id if ref else ""


def _frames_with_elements(state: PageState) -> dict[Frame, list[list[int]]]:
    frames: dict[Frame, list[list[int]]] = defaultdict(list)
    for ref in state.elements.values():
        frames[ref.frame].append([ref.local_id, ref.index])
    return frames


async def _in_frame(frame: Frame, script: str, arg: object) -> None:
    if frame.is_detached():
        return
    try:
        await asyncio.wait_for(frame.evaluate(script, arg), FRAME_TIMEOUT_S)
    except (TimeoutError, PlaywrightError):
        pass  # the frame navigated or closed meanwhile: nothing to draw or remove
