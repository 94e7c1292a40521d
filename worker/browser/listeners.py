"""Which elements a page's scripts listen on, so page state can list a `<div>`
that only a script makes clickable, and typing can wait for the suggestions a
script shows.

Why an init script and not DevTools: `DOMDebugger.getEventListeners` answers
for one node per round trip (or for a whole subtree with `depth=-1`, whose
answer then has to be mapped back to the page's elements node by node); on
bench_page_state.py's pages that costs more than the whole capture (see
docs/benchmarks.md). Wrapping `EventTarget.prototype.addEventListener` before
any page script runs costs one WeakSet insert per listener added and one
lookup per element read. The wrapper is a Proxy of the native function, so the
page sees the same function name, length and `[native code]` source; the sets
are non-writable, non-configurable window properties (a page can only add
elements to them, which a listener of its own would do too).

`onclick` set as a property or attribute is seen by page state directly
(`el.onclick`), so it needs no probe."""

from __future__ import annotations

from playwright.async_api import BrowserContext

LISTENER_PROBE_JS = """(() => {
  if (window.__bqClick) return;
  const click = new WeakSet(), keys = new WeakSet();
  const CLICK = new Set(['click', 'mousedown', 'mouseup', 'pointerdown', 'pointerup', 'touchstart', 'touchend']);
  const KEYS = new Set(['input', 'keydown', 'keyup', 'keypress']);
  const proto = EventTarget.prototype;
  proto.addEventListener = new Proxy(proto.addEventListener, {
    apply(target, self, args) {
      if (self instanceof Element) {
        if (CLICK.has(args[0])) click.add(self);
        else if (KEYS.has(args[0])) keys.add(self);
      }
      return Reflect.apply(target, self, args);
    },
  });
  for (const [name, value] of [['__bqClick', click], ['__bqKeys', keys]]) {
    Object.defineProperty(window, name, { value, enumerable: false, configurable: false, writable: false });
  }
})();"""


async def install_listener_probe(context: BrowserContext) -> None:
    """Add the probe to every page and frame the context opens from now on."""
    await context.add_init_script(LISTENER_PROBE_JS)
