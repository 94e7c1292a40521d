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

The probe also counts the fetch and XMLHttpRequest calls in flight (`__bqBusy`), so
the wait after typing lasts until a server's suggestions have come.

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
  // Requests the page's scripts have in flight, so a wait for what typing draws (suggestions.py)
  // lasts until a menu filled from the server has its answer.
  const busy = { n: 0 };
  const done = () => { busy.n = Math.max(0, busy.n - 1); };
  if (typeof window.fetch === 'function') {
    window.fetch = new Proxy(window.fetch, {
      apply(target, self, args) {
        busy.n++;
        const out = Reflect.apply(target, self, args);
        out.then(done, done);
        return out;
      },
    });
  }
  const xhr = window.XMLHttpRequest && XMLHttpRequest.prototype;
  if (xhr) {
    xhr.send = new Proxy(xhr.send, {
      apply(target, self, args) {
        busy.n++;
        Reflect.apply(proto.addEventListener, self, ['loadend', done, { once: true }]);
        try { return Reflect.apply(target, self, args); } catch (e) { done(); throw e; }
      },
    });
  }
  for (const [name, value] of [['__bqClick', click], ['__bqKeys', keys], ['__bqBusy', busy]]) {
    Object.defineProperty(window, name, { value, enumerable: false, configurable: false, writable: false });
  }
})();"""


async def install_listener_probe(context: BrowserContext) -> None:
    """Add the probe to every page and frame the context opens from now on."""
    await context.add_init_script(LISTENER_PROBE_JS)
