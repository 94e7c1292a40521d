"""A step's screenshot: the viewport as the model saw it, JPEG, with the
element indices drawn on it when the task asked for highlights, and password
fields and the task's secrets blacked out (or, when a secret cannot be located on
screen, no screenshot at all).

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
from dataclasses import dataclass
from typing import Any

from playwright.async_api import CDPSession, Frame, Page
from playwright.async_api import Error as PlaywrightError

from worker.browser.page_state import PageState

log = logging.getLogger("browserq.media")

SHOT_TIMEOUT_MS = 5000
FRAME_TIMEOUT_S = 3.0

_DRAW_JS = """([pairs, captureId, secrets, folded]) => {
  const b = window.__bq;
  const els = b && b.id === captureId ? b.els : [];
  const colors = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#008080', '#9a6324', '#800000'];
  const root = document.createElement('div');
  root.setAttribute('data-bq-overlay', '');
  root.style.cssText = 'position:fixed;left:0;top:0;width:0;height:0;pointer-events:none;z-index:2147483647;';
  const vw = window.innerWidth, vh = window.innerHeight;
  let drawn = 0, located = 0, unlocated = 0;
  const black = (r) => {
    if (r.width < 1 || r.height < 1) return false;
    const mask = document.createElement('div');
    mask.style.cssText = `position:fixed;left:${r.left - 2}px;top:${r.top - 2}px;width:${r.width + 4}px;height:${r.height + 4}px;background:#000;`;
    root.append(mask);
    return true;
  };
  // The folding of worker/agent/folding.py: letters and digits only, upper-then-lower, NFKD.
  const fold = (ch) => {
    const c = ch.charCodeAt(0);
    if (c < 128) return (c >= 48 && c <= 57) || (c >= 97 && c <= 122) ? ch : (c >= 65 && c <= 90 ? ch.toLowerCase() : '');
    let out = '';
    for (const d of ch.toUpperCase().toLowerCase().normalize('NFKD').replace(/ς/g, 'σ')) if (/[\\p{L}\\p{N}]/u.test(d)) out += d;
    return out;
  };
  const foldAll = (text) => { let out = ''; for (const ch of text) out += fold(ch); return out; };
  const holds = (text) => !!text && (secrets.some((s) => text.includes(s)) || (folded.length && folded.some((f) => foldAll(text).includes(f))));
  // Password fields, and any field (whatever its type) whose value or placeholder holds one of the task's secrets.
  for (const input of document.querySelectorAll('input, textarea, select, [contenteditable]')) {
    if (input.type === 'password' || holds(input.value) || holds(input.placeholder) || (input.isContentEditable && holds(input.textContent))) {
      black(input.getBoundingClientRect());
    }
  }
  const SKIP = new Set(['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEMPLATE', 'TEXTAREA']);
  if (secrets.length) {  // text nodes holding an exact form, each blacked out whole
    const walker = document.createTreeWalker(document.body || document.documentElement, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (!secrets.some((s) => node.nodeValue.includes(s))) continue;
      const range = document.createRange();
      range.selectNodeContents(node);
      for (const r of range.getClientRects()) black(r);
    }
  }
  if (folded.length) {
    // The page's text in document order (open shadow roots included), folded, with each folded
    // character's node and offsets: an occurrence across elements is one DOM Range.
    const nodes = [], at = [], from = [], to = [];
    let text = '';
    const walk = (start) => {
      const skip = (n) => n.nodeType === 1 && (SKIP.has(n.tagName) || n.hasAttribute('data-bq-overlay'));
      const walker = document.createTreeWalker(start, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT, {
        acceptNode: (n) => (skip(n) ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT),
      });
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        if (node.nodeType === 1) {
          if (node.shadowRoot) walk(node.shadowRoot);
          continue;
        }
        const v = node.nodeValue;
        nodes.push(node);
        for (let i = 0; i < v.length;) {
          const ch = String.fromCodePoint(v.codePointAt(i));
          for (const d of fold(ch)) { text += d; at.push(nodes.length - 1); from.push(i); to.push(i + ch.length); }
          i += ch.length;
        }
      }
    };
    walk(document.body || document.documentElement);
    for (const f of folded) {
      for (let k = text.indexOf(f); k >= 0; k = text.indexOf(f, k + f.length)) {
        const range = document.createRange();
        range.setStart(nodes[at[k]], from[k]);
        range.setEnd(nodes[at[k + f.length - 1]], to[k + f.length - 1]);
        let any = false;
        for (const r of range.getClientRects()) any = black(r) || any;
        if (any) located++;
        else if (!range.collapsed && nodes[at[k]].parentElement && nodes[at[k]].parentElement.checkVisibility()) unlocated++;
      }
    }
    // What the page renders (its innerText: hidden text left out, CSS case applied): more
    // occurrences there than were located means one is drawn where no range reaches.
    const shown = foldAll((document.body || document.documentElement).innerText || '');
    let count = 0;
    for (const f of folded) for (let k = shown.indexOf(f); k >= 0; k = shown.indexOf(f, k + f.length)) count++;
    if (count > located) unlocated += count - located;
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
  return unlocated;
}"""  # noqa: E501 (the script is JavaScript)

_REMOVE_JS = "() => document.querySelectorAll('[data-bq-overlay]').forEach(e => e.remove())"


@dataclass
class Screenshot:
    """A step's JPEG, or why there is none: `withheld` says why a page that could be shot
    was not (told in the step; neither stored nor sent to the model)."""

    jpeg: bytes | None
    withheld: str | None = None


async def take_screenshot(
    page: Page,
    state: PageState | None,
    highlight: bool,
    quality: int,
    secrets: Sequence[str] = (),
    folded: Sequence[str] = (),
) -> Screenshot:
    """Every frame gets its masks first: password fields, every field or text node holding
    one of `secrets` (the task's secret values and their encoded forms), and the on-screen
    boxes of every occurrence of `folded` (their folded forms, worker.agent.folding) in the
    page's text, across elements. A page that draws an occurrence where no box reaches, or a
    frame that could not be masked while the task has secrets, is not shot at all."""
    frames: dict[Frame, list[list[int]]] = {frame: [] for frame in page.frames}
    if highlight and state is not None:
        frames.update(_frames_with_elements(state))
    shown, needles = [s for s in secrets if s], [f for f in folded if f]
    unlocated = unmasked = 0
    try:
        for frame, pairs in frames.items():
            ok, found = await _in_frame(frame, _DRAW_JS, [pairs, _capture_id(state), shown, needles])
            unmasked += not ok and bool(shown or needles)
            unlocated += int(found or 0) if ok else 0
        if unlocated or unmasked:
            why = f"{unlocated} place(s) where the page shows a secret could not be located on screen"
            if unmasked:
                why = f"{unmasked} frame(s) could not be masked in time"
            return Screenshot(
                None, f"The screenshot of this step was withheld: {why}, so it was neither stored nor sent."
            )
        return Screenshot(await _viewport_jpeg(page, quality))
    except (PlaywrightError, TimeoutError) as exc:
        log.info("no screenshot of %s: %s", page.url, str(exc).splitlines()[0] if str(exc) else exc)
        return Screenshot(None)
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


async def _in_frame(frame: Frame, script: str, arg: object) -> tuple[bool, Any]:
    """(True, what the script returned), or (False, None) when it could not run: a frame
    that navigated or closed meanwhile has nothing to draw or remove (detached: True)."""
    if frame.is_detached():
        return True, None
    try:
        return True, await asyncio.wait_for(frame.evaluate(script, arg), FRAME_TIMEOUT_S)
    except (TimeoutError, PlaywrightError):
        return frame.is_detached(), None
