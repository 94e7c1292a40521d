// browserq page state: evaluated ONCE per frame per step (see page_state.py).
//
// Why one script: a round trip per element costs ~0.3 ms, so a 35,000-element
// page would take seconds; everything (finding interactive elements, the
// visibility checks, the readable text, the element lines) happens here in a
// single recursive pass over the flat tree (open shadow roots and slots
// included), and only the part of the page in or near the viewport is returned.
//
// Cost control: getBoundingClientRect (cheap once layout is clean, and nothing
// here writes to the DOM, so no layout thrash) on each element; checkVisibility
// only on candidates and text parents inside the window; getComputedStyle only
// for the cursor:pointer test of visible in-window elements outside any
// interactive ancestor, and for the rare display:contents case.
//
// Elements only a script makes clickable: a click listener seen by the
// listener probe (listeners.py: window.__bqClick), an `onclick` property, or a
// React click handler prop;
// and the items of a menu-like container (role listbox/menu/..., or an
// element with a click listener) that has no roles of its own: the
// descendants a jQuery delegated handler's selector names, else its children
// when they repeat one tag (an <li> per suggestion). A container whose items
// are listed drops their text (or its whole line when it is no control
// itself), so each suggestion is one line with its own text.
//
// Returns {items, ...}: items in document order, each a string (readable text,
// "\n" between blocks), ["e", localId, tag, description] for an element, or
// ["f", k] where the k-th iframe element of this document sits (Python splices
// that child frame's items there).
(opts) => {
  const CAP = 80; // max chars of an element's text and of an attribute value
  const TAGS = new Set(["a", "button", "input", "select", "textarea", "summary", "details"]);
  const ROLES = new Set([
    "button", "link", "checkbox", "radio", "menuitem", "menuitemcheckbox", "menuitemradio",
    "tab", "switch", "option", "combobox", "textbox", "searchbox", "slider", "spinbutton",
    "listbox", "treeitem",
  ]);
  const SKIP = new Set(["script", "style", "noscript", "template", "head", "meta", "link", "title"]);
  const NO_DESCEND = new Set(["select", "textarea", "option", "optgroup", "svg", "math", "canvas", "video", "audio"]);
  const VOID = new Set(["input", "img", "br", "hr", "area", "embed", "source", "track", "wbr"]);
  const BLOCK = new Set([
    "p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table", "section",
    "article", "header", "footer", "nav", "main", "aside", "form", "fieldset", "br", "hr",
    "blockquote", "pre", "dl", "dt", "dd", "figure", "figcaption", "td", "th", "label", "legend",
  ]);
  const VIS = { opacityProperty: true, visibilityProperty: true };
  const CONTAINER_ROLES = new Set(["listbox", "menu", "menubar", "tree", "tablist", "radiogroup"]);
  const CLICK_TYPES = ["click", "mousedown", "mouseup", "pointerdown", "pointerup"];
  const REACT_CLICK = ["onClick", "onMouseDown", "onMouseUp", "onPointerDown", "onPointerUp"];
  const clickSet = window.__bqClick;  // the listener probe's, when the context has it
  const jq = window.jQuery && typeof window.jQuery._data === "function" ? window.jQuery : null;

  // The "near the viewport" window, in this frame's coordinates: one viewport
  // height above and below, intersected with the top page's window when this is
  // an iframe (offsetX/offsetY = where this frame's viewport sits in the top one).
  const vw = window.innerWidth, vh = window.innerHeight;
  const ox = opts.offsetX || 0, oy = opts.offsetY || 0;
  const tw = opts.topWidth || vw, th = opts.topHeight || vh;
  const yMin = Math.max(-vh, -th - oy), yMax = Math.min(2 * vh, 2 * th - oy);
  const xMin = Math.max(0, -ox), xMax = Math.min(vw, tw - ox);
  const inWin = (r) => r.bottom > yMin && r.top < yMax && r.right > xMin && r.left < xMax;
  const visible = (el) => (el.checkVisibility ? el.checkVisibility(VIS) : true);
  const textMax = opts.textMax || 400000;

  const els = [], frames = [], items = [], open = [];
  let textLen = 0;
  const range = document.createRange();
  const origin = location.origin;
  Object.defineProperty(window, "__bq", {
    value: { els, frames, id: opts.captureId || "" }, configurable: true, writable: true, enumerable: false,
  });

  const collapse = (s) => s.replace(/\s+/g, " ").trim();
  const clip = (s, n) => (s.length > n ? s.slice(0, n - 1) + "\u2026" : s);
  const quote = (v) => (v === "" || /[\s"'=<>`]/.test(v) ? '"' + v.replace(/"/g, "&quot;") + '"' : v);

  // Why an element is listed: "" (it is not), "control" (its tag, role, onclick attribute,
  // contenteditable or label say so), "focusable" (tabindex alone).
  function isCandidate(el, tag) {
    if (TAGS.has(tag)) return tag === "input" && el.type === "hidden" ? "" : "control";
    if (el.hasAttribute("onclick")) return "control";
    const role = el.getAttribute("role");
    if (role && ROLES.has(role)) return "control";
    const ce = el.getAttribute("contenteditable");
    if (ce !== null && ce !== "false") return "control";
    const ti = el.getAttribute("tabindex");
    if (ti !== null && parseInt(ti, 10) >= 0) return "focusable";
    // A label whose control is hidden (custom-styled checkboxes): the label is what gets clicked.
    return tag === "label" && !!el.control && !visible(el.control) ? "control" : "";
  }

  // React listens at its root for the whole app, so its handlers are read from the props it
  // keeps on each element it rendered ("__reactProps$<id>", the <id> of its root's
  // "__reactContainer$<id>"); the root itself (listeners, and an empty onclick for iOS Safari)
  // is no clickable. Only listened elements are searched for keys: a root is one of them.
  let reactProps = "";
  function scripted(el, tag) {
    if (tag === "body" || tag === "html") return false;
    if ((clickSet !== undefined && clickSet.has(el)) || typeof el.onclick === "function") {
      for (const k of Object.keys(el)) {
        if (k.startsWith("__reactContainer$")) { reactProps = "__reactProps$" + k.slice(17); return false; }
        if (k === "_reactRootContainer") return false;
      }
      return true;
    }
    const props = reactProps ? el[reactProps] : undefined;
    return !!props && REACT_CLICK.some((name) => typeof props[name] === "function");
  }

  // The selector of the items a jQuery delegated click handler on `el` serves, or "".
  function delegatedSelector(el) {
    let events = null;
    try { events = jq._data(el, "events"); } catch (e) { return ""; }
    if (!events) return "";
    const sels = [];
    for (const t of CLICK_TYPES) for (const h of events[t] || []) if (h && typeof h.selector === "string") sels.push(h.selector);
    if (!sels.length) return "";
    try { el.matches(sels.join(", ")); return sels.join(", "); } catch (e) { return ""; } // jQuery-only syntax
  }

  // The tag its element children repeat (at least two, more than half of them), or "".
  function repeatedTag(kids) {
    const count = new Map();
    let n = 0;
    for (const c of kids) if (c.nodeType === 1) { n++; count.set(c.localName, (count.get(c.localName) || 0) + 1); }
    for (const [tag, k] of count) if (k >= 2 && 2 * k > n) return tag;
    return "";
  }

  function pointerOrigin(el, parentPointer) {
    // cursor inherits, so only the element where it starts counts.
    if (parentPointer) return false;
    return getComputedStyle(el).cursor === "pointer";
  }

  function shortHref(el) {
    const raw = el.getAttribute("href");
    if (raw === null) return null;
    let h = raw;
    if (!/^(javascript|mailto|tel|data):/i.test(raw)) {
      try {
        const u = new URL(raw, document.baseURI);
        h = u.origin === origin ? u.pathname + u.search + u.hash : u.href;
      } catch (e) { /* keep raw */ }
    }
    return h;
  }

  function describe(el, tag, text) {
    const a = [];
    const add = (k, v) => {
      if (v === null || v === undefined) return;
      v = clip(collapse(String(v)), CAP);
      if (v !== "") a.push(k + "=" + quote(v));
    };
    const flag = (k, on) => { if (on) a.push(k); };
    const isInput = tag === "input";
    if (isInput || tag === "button") add("type", el.type);
    add("name", el.getAttribute("name"));
    add("placeholder", el.getAttribute("placeholder"));
    add("aria-label", el.getAttribute("aria-label"));
    add("title", el.getAttribute("title"));
    add("alt", el.getAttribute("alt"));
    add("role", el.getAttribute("role"));
    if (tag === "a") add("href", shortHref(el));
    // Never a password's value; a checkbox's default "on" says nothing.
    const check = isInput && (el.type === "checkbox" || el.type === "radio");
    if ((isInput && el.type !== "password" && el.type !== "file" && !(check && el.value === "on"))
        || tag === "textarea") add("value", el.value);
    if (tag === "select") add("value", el.selectedOptions && el.selectedOptions[0] ? el.selectedOptions[0].text : "");
    if (check) flag("checked", el.checked);
    if (tag === "option") flag("selected", el.selected);
    add("aria-checked", el.getAttribute("aria-checked"));
    add("aria-selected", el.getAttribute("aria-selected"));
    add("aria-expanded", el.getAttribute("aria-expanded"));
    if (tag === "details") flag("open", el.open);
    flag("disabled", el.disabled === true || el.getAttribute("aria-disabled") === "true");
    const ce = el.getAttribute("contenteditable");
    flag("contenteditable", ce !== null && ce !== "false");
    const head = "<" + tag + (a.length ? " " + a.join(" ") : "");
    return VOID.has(tag) ? head + " />" : head + ">" + text + "</" + tag + ">";
  }

  function selectText(el) {
    const opts = [];
    let n = 0;
    for (const o of el.options) {
      const t = collapse(o.text);
      opts.push(t);
      n += t.length + 3;
      if (n > CAP) break;
    }
    return clip(opts.join(" | "), CAP);
  }

  // 0 = hidden / out of the window, 1 = visible (the parent's box decides),
  // 2 = decide per text node (display:contents or a box taller than the viewport).
  function textState(p, r) {
    if (r.width === 0 || r.height === 0) {
      // Rare: display:contents (slots) shows its text; a clipped zero-size box does not.
      const cs = getComputedStyle(p);
      if (cs.visibility === "hidden") return 0;
      return cs.display === "contents" || cs.overflow === "visible" ? 2 : 0;
    }
    if (!visible(p)) return 0;
    if (r.height > vh) return 2;
    return inWin(r) ? 1 : 0;
  }

  function onText(t, state) {
    const s = t.nodeValue;
    if (!s || textLen > textMax || !/\S/.test(s)) return;
    if (state === 2) {
      range.selectNodeContents(t);
      const r = range.getBoundingClientRect();
      if (r.width === 0 || r.height === 0 || !inWin(r)) return;
    }
    const c = collapse(s);
    textLen += c.length;
    for (const rec of open) {
      if (rec.text.length <= CAP) rec.text += (rec.text ? " " : "") + c;
      rec.total += c.length;
      rec.segs.push(items.length);
    }
    items.push(c);
  }

  function onImage(el) {
    // An image's alt is the label of the link or button around it.
    const alt = el.getAttribute("alt");
    if (!alt || !open.length) return;
    for (const rec of open) if (rec.text.length <= CAP) rec.text += (rec.text ? " " : "") + collapse(alt);
  }

  function onFrame(el, r) {
    // Only listed iframes are registered: Python skips (never evaluates) the others.
    if (!(r.width > 0 && r.height > 0 && inWin(r) && visible(el))) return;
    frames.push(el);
    items.push(["f", frames.length - 1]);
  }

  function register(el, tag, why) {
    const rec = { el, tag, why, text: "", total: 0, segs: [], inner: 0, listed: 0, owner: null, pos: items.length,
                  item: ["e", els.length, tag, ""] };
    els.push(el);
    items.push(rec.item);
    open.push(rec);
    return rec;
  }

  function finish(rec) {
    open.pop();
    const el = rec.el, tag = rec.tag, why = rec.why;
    let text = tag === "select" ? selectText(el) : clip(collapse(rec.text), CAP);
    // A script-clickable element or an item around listed controls: the controls are what a
    // person clicks (an item with no text is a divider). A container of listed items: they
    // carry its text, and it keeps its line only when it is a control itself.
    if (((why === "script" || why === "item") && rec.inner > 0) || (why === "item" && !text)
        || (rec.listed > 0 && why !== "control")) {
      items[rec.pos] = null;
      return;
    }
    for (const o of open) o.inner++;
    if (why === "item" && rec.owner) rec.owner.listed++;
    if (rec.listed > 0) text = "";
    // Text that fits in the element's line is not repeated as readable text.
    else if (rec.total <= CAP) for (const i of rec.segs) items[i] = null;
    rec.item[3] = describe(el, tag, VOID.has(tag) ? "" : text);
  }

  function children(el, tag) {
    if (el.shadowRoot) return el.shadowRoot.childNodes;
    if (tag === "slot") {
      const assigned = el.assignedNodes({ flatten: true });
      return assigned.length ? assigned : el.childNodes;
    }
    return el.childNodes;
  }

  // `sel`: the selector of the items of an enclosing delegating container; `itemTag`: the tag
  // this element must have to be an item of its parent ("" when the parent has no items);
  // `owner`: the record of the container whose items these are (null when it is not listed).
  function walk(el, inside, parentPointer, sel, itemTag, owner) {
    const tag = el.localName;
    if (SKIP.has(tag)) return;
    const r = el.getBoundingClientRect();
    const boxed = r.width > 0 && r.height > 0;
    // No box at all (display:none): nothing below renders either, prune the subtree.
    if (r.width === 0 && r.height === 0 && el.checkVisibility && !el.checkVisibility()
        && getComputedStyle(el).display !== "contents") return;
    if (tag === "iframe" || tag === "frame") return onFrame(el, r);
    if (tag === "img") onImage(el);
    const near = boxed && inWin(r);
    let why = isCandidate(el, tag);
    const script = near && scripted(el, tag);
    if (!why && near) {
      if (script) why = "script";
      else if (tag === itemTag || (sel && el.matches(sel))) why = "item";
    }
    const cand = !!why;
    let pointer = false, rec = null;
    if (!cand && !inside && near && visible(el)) pointer = pointerOrigin(el, parentPointer);
    if ((cand || pointer) && near && (pointer || visible(el))) rec = register(el, tag, why || "pointer");
    if (rec && why === "item") rec.owner = owner;
    if (NO_DESCEND.has(tag)) { if (rec) finish(rec); return; }
    const block = BLOCK.has(tag);
    if (block && items.length && items[items.length - 1] !== "\n") items.push("\n");
    let state = -1;
    const kids = children(el, tag);
    let kidTag = "";
    // A control with a listener (a button) is no container; a listbox is, whatever made it one.
    if ((rec && script && why !== "control") || (near && CONTAINER_ROLES.has(el.getAttribute("role")))) {
      const own = script && jq ? delegatedSelector(el) : "";
      if (own) sel = sel ? sel + ", " + own : own;
      else kidTag = repeatedTag(kids);
      owner = rec;
    }
    // Below a script-clickable element or an item (which may yet drop its line for the controls
    // inside it) cursor:pointer still counts, where it starts.
    const weak = why === "script" || why === "item";
    const below = pointer || (weak && rec !== null && getComputedStyle(el).cursor === "pointer");
    for (const c of kids) {
      if (c.nodeType === 1) walk(c, inside || (cand && !weak) || pointer, below, sel, kidTag, owner);
      else if (c.nodeType === 3) {
        if (state === -1) state = textState(el, r);
        if (state) onText(c, state);
      }
    }
    if (block && items.length && items[items.length - 1] !== "\n") items.push("\n");
    if (rec) finish(rec);
  }

  // Merge consecutive text into one string per run ("\n" between blocks) so
  // the transfer stays small.
  function compact() {
    const out = [];
    let buf = "";
    const flush = () => { if (buf.trim()) out.push(buf.trim()); buf = ""; };
    for (const it of items) {
      if (it === null) continue;
      if (typeof it === "string") {
        if (it === "\n") buf += "\n";
        else buf += buf && !buf.endsWith("\n") ? " " + it : it;
      } else { flush(); out.push(it); }
    }
    flush();
    return out;
  }

  const t0 = performance.now();
  const root = document.body || document.documentElement;
  if (root) walk(root, false, false, "", "", null);
  if (document.designMode === "on" && document.body && !els.includes(document.body)) {
    // A designMode document is one big editable field.
    items.unshift(["e", els.length, "body", "<body contenteditable></body>"]);
    els.push(document.body);
  }
  const se = document.scrollingElement || document.documentElement;
  return {
    items: compact(),
    title: document.title,
    viewportWidth: vw,
    viewportHeight: vh,
    scrollY: Math.round(se ? se.scrollTop : window.scrollY),
    scrollHeight: se ? se.scrollHeight : vh,
    count: els.length,
    opened: typeof window.__bqOpened === "number" ? window.__bqOpened : null, // tabs it asked for (session.py)
    ms: performance.now() - t0,
  };
}
