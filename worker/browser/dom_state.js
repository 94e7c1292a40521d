// browserq page state: evaluated ONCE per frame per step (see page_state.py).
//
// Why one script: a round trip per element costs ~0.3 ms, so a 35,000-element
// page would take seconds; everything (finding interactive elements, the
// visibility checks, the readable text, the element lines) happens here in a
// single recursive pass over the flat tree (open shadow roots and slots
// included), and only the part of the page in or near the viewport is returned.
//
// Cost control: getBoundingClientRect (cheap once layout is clean, and nothing
// here writes to the DOM, so no layout thrash) on each element the walk reaches;
// checkVisibility only on candidates and text parents inside the window;
// getComputedStyle only for the cursor:pointer test of visible in-window elements
// outside any interactive ancestor, and for the rare display:contents case.
// A subtree far from the window is not walked: when an element's box is outside
// it, one native range query gives the box around its children's boxes and all
// the text below it, and when that is outside the window too nothing below is
// listed (on the 25,000-node density page this took the capture from ~100 ms to
// ~30 ms of renderer time; bench/bench_page_state.py). What that box leaves out:
// a grandchild or deeper element without text that CSS moves into the window
// (position: fixed under an off-window wrapper, an icon-only button) is not
// listed until the page scrolls near its wrapper; a fixed element with text,
// or one that is a direct child of the off-window element, is.
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
// What a line says beyond tag and attributes: a select's options (the chosen ones marked in a
// multiple select, a long list cut with how many more), a cut value's whole length, a
// checkbox's label, and for a listed element without text the name a person would use (SVG
// title, icon file name, meaningful classes, a swatch's colour; nameless()). SVG shapes are
// walked like HTML, so a chart's clickable slices are listed.
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
  const SKIP = new Set([
    "script", "style", "noscript", "template", "head", "meta", "link", "title",
    // SVG's parts that draw nothing themselves (an SVG's shapes and text are walked: charts' targets).
    "defs", "desc", "symbol", "clipPath", "mask", "linearGradient", "radialGradient", "pattern", "filter", "marker",
  ]);
  const NO_DESCEND = new Set(["select", "textarea", "option", "optgroup", "math", "canvas", "video", "audio"]);
  const SELECT_CAP = 400; // chars of a select's options listed; the chosen ones always are
  const CHECKS = new Set(["checkbox", "radio", "switch", "menuitemcheckbox", "menuitemradio"]);
  // Class names that say how an element looks, not what it is for (tokens with digits or "__"
  // are generated): a textless element is named by its other classes ("reply", "icon-trash").
  const LOOKS = /^(is-|has-|js-|css-|sc-|jsx-|ng-|v-|d-|p[xytblr]?-|m[xytblr]?-|w-|h-|col|row|flex|grid|float|pull-|text-|bg-|border|rounded|shadow|active$|selected$|disabled$|hidden$|visible$|open$|small$|large$|clearfix$|divider|separator|spacer|fa$|fas$|far$|fab$|icon$|icons$|btn$|button$|item$|link$|ui$)/;
  const COLOURS = [
    ["black", 0, 0, 0], ["white", 255, 255, 255], ["grey", 128, 128, 128], ["silver", 192, 192, 192],
    ["red", 220, 30, 30], ["maroon", 128, 0, 0], ["orange", 255, 150, 0], ["yellow", 255, 230, 0],
    ["olive", 128, 128, 0], ["light green", 140, 220, 110], ["green", 50, 150, 50], ["teal", 0, 128, 128],
    ["cyan", 0, 220, 240], ["blue", 30, 70, 230], ["navy", 0, 0, 128], ["purple", 128, 0, 128],
    ["violet", 190, 110, 230], ["pink", 255, 150, 190], ["magenta", 230, 0, 200], ["brown", 140, 80, 30],
    ["beige", 235, 225, 195],
  ];
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
  let textLen = 0, walked = 0;
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
    if (el.getAttribute("draggable") === "true") return "control"; // what a drag picks up
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
    const probe = el.nodeType === 1 ? el : document.documentElement; // the document itself has no matches()
    try { probe.matches(sels.join(", ")); return sels.join(", "); } catch (e) { return ""; } // jQuery-only syntax
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

  const fileName = (url) => {
    const m = /url\(\s*["']?([^"')]*)["']?\s*\)/.exec(url || "") || [null, url || ""];
    const base = m[1].split(/[?#]/)[0].split("/").pop() || "";
    return /^data:/.test(m[1]) ? "" : base.replace(/\.[a-z0-9]+$/i, "");
  };

  // What a person calls a control that has no text: its SVG title, the file name of its icon
  // (an <img>, a CSS background or ::before image), its meaningful class names, a swatch's
  // colour. Read only for listed elements without text (getComputedStyle is paid for those alone).
  function nameless(el, a, add) {
    if (a.some((x) => /^(aria-label|title|alt)=/.test(x))) return;
    const title = el.querySelector(":scope > title, svg title");
    if (title && collapse(title.textContent)) return add("title", title.textContent);
    const img = el.localName === "img" ? el : el.querySelector("img");
    let icon = img ? fileName(img.getAttribute("src")) : "";
    let cs = null;
    for (const e of [el, el.firstElementChild]) {
      if (icon || !e) break;
      cs = e === el ? getComputedStyle(e) : cs;
      const own = e === el ? cs : getComputedStyle(e);
      icon = fileName(own.backgroundImage !== "none" ? own.backgroundImage : "")
        || fileName(/url\(/.test(getComputedStyle(e, "::before").content) ? getComputedStyle(e, "::before").content : "");
    }
    if (icon) add("icon", icon);
    const classes = [];
    for (const e of [el, ...el.children].slice(0, 4)) {
      for (const c of e.classList || []) {
        if (!LOOKS.test(c) && !/\d{2}|__/.test(c) && c.length > 2 && !classes.includes(c)) classes.push(c);
      }
    }
    if (classes.length) add("class", classes.slice(0, 3).join(" "));
    if (TAGS.has(el.localName)) return; // a button's own grey is no swatch
    cs = cs || getComputedStyle(el);
    const rgb = /rgba?\((\d+), (\d+), (\d+)(?:, ([\d.]+))?\)/.exec(cs.backgroundColor);
    if (rgb && (rgb[4] === undefined || parseFloat(rgb[4]) > 0.5)) {
      const [r, g, b] = [+rgb[1], +rgb[2], +rgb[3]];
      let best = "", far = Infinity;
      for (const [n, R, G, B] of COLOURS) {
        const d = (r - R) ** 2 + (g - G) ** 2 + (b - B) ** 2;
        if (d < far) { far = d; best = n; }
      }
      const hex = "#" + [r, g, b].map((v) => v.toString(16).padStart(2, "0")).join("");
      add("colour", best + " " + hex);
    }
  }

  // The label of a checkbox, radio or switch: aria-labelledby, its <label>s (for= or wrapping),
  // else the text right beside it (a box and its words as siblings, as many forms write them).
  function labelOf(el) {
    const root = el.getRootNode();
    const ids = el.getAttribute("aria-labelledby");
    if (ids && root.getElementById) {
      const t = ids.split(/\s+/).map((id) => { const n = root.getElementById(id); return n ? n.textContent : ""; }).join(" ");
      if (collapse(t)) return t;
    }
    if (el.labels && el.labels.length) {
      const t = Array.from(el.labels, (l) => l.textContent).join(" ");
      if (collapse(t)) return t;
    }
    for (const step of ["nextSibling", "previousSibling"]) {
      let n = el[step];
      // Past blank text and comments, in one direction.
      while (n && (n.nodeType === 8 || (n.nodeType === 3 && !/\S/.test(n.nodeValue)))) n = n[step];
      if (!n) continue;
      if (n.nodeType === 3) return n.nodeValue;
      if (n.nodeType === 1 && !n.querySelector("input, select, textarea, button") && !TAGS.has(n.localName)) {
        const t = collapse(n.textContent);
        if (t && t.length <= CAP) return t;
      }
    }
    return "";
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
        || tag === "textarea") {
      add("value", el.value);
      // A cut value says how long it is whole (read_value reads it).
      if (collapse(el.value).length > CAP) a.push("value-length=" + el.value.length);
    }
    if (tag === "select" && el.multiple) flag("multiple", true);
    else if (tag === "select") add("value", el.selectedOptions && el.selectedOptions[0] ? el.selectedOptions[0].text : "");
    if ((check || CHECKS.has(el.getAttribute("role"))) && !el.hasAttribute("aria-label") && !text) add("label", labelOf(el));
    if (check) flag("checked", el.checked);
    if (tag === "option") flag("selected", el.selected);
    add("aria-checked", el.getAttribute("aria-checked"));
    add("aria-selected", el.getAttribute("aria-selected"));
    add("aria-expanded", el.getAttribute("aria-expanded"));
    if (tag === "details") flag("open", el.open);
    flag("draggable", el.getAttribute("draggable") === "true");
    flag("disabled", el.disabled === true || el.getAttribute("aria-disabled") === "true");
    const ce = el.getAttribute("contenteditable");
    flag("contenteditable", ce !== null && ce !== "false");
    if (!text && !isInput && tag !== "select" && tag !== "textarea" && !a.some((x) => x.startsWith("label="))) {
      nameless(el, a, add);
    }
    const head = "<" + tag + (a.length ? " " + a.join(" ") : "");
    return VOID.has(tag) ? head + " />" : head + ">" + text + "</" + tag + ">";
  }

  // Its options in order within SELECT_CAP characters, the chosen ones always (marked "[x]" in a
  // multiple select; a single one says its value); a longer list says how many more there are.
  function selectText(el) {
    const opts = [];
    let n = 0, more = 0;
    for (const o of el.options) {
      if (n > SELECT_CAP && !o.selected) { more++; continue; }
      const t = (o.selected && el.multiple ? "[x] " : "") + clip(collapse(o.text), CAP);
      opts.push(t);
      n += t.length + 3;
    }
    if (more) opts.push("\u2026 " + more + " more: read_value lists them, filter finds one");
    return opts.join(" | ");
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
    // person clicks (an item with neither text nor a name is a divider). A container of listed
    // items: they carry its text, and it keeps its line only when it is a control itself.
    if (((why === "script" || why === "item") && rec.inner > 0)
        || (why === "item" && !text && /^<[\w-]+>(<\/[\w-]+>)?$/.test(describe(el, tag, "")))
        || (rec.listed > 0 && why !== "control")) {
      items[rec.pos] = null;
      return;
    }
    for (const o of open) o.inner++;
    if (why === "item" && rec.owner) rec.owner.listed++;
    // A group around listed controls (a focusable box of checkboxes) keeps its text where it is,
    // beside each control, not as one lump on its own line.
    if (rec.listed > 0 || (rec.inner > 0 && why !== "control")) text = "";
    // Text that fits in the element's line is not repeated as readable text.
    else if (rec.total <= CAP) for (const i of rec.segs) items[i] = null;
    rec.item[3] = describe(el, tag, VOID.has(tag) ? "" : text);
  }

  // The box around an element's children's boxes and every text below it (Range.getBoundingClientRect).
  function contentBox(el) {
    range.selectNodeContents(el);
    return range.getBoundingClientRect();
  }

  // The nodes an element shows: its shadow root's, a slot's assigned ones (an array), else its own.
  // Walked by firstChild/nextSibling: iterating a childNodes list costs ~20x more per node.
  function parentOf(el, tag) {
    if (el.shadowRoot) return el.shadowRoot;
    if (tag === "slot") {
      const assigned = el.assignedNodes({ flatten: true });
      if (assigned.length) return assigned;
    }
    return el;
  }

  // `sel`: the selector of the items of an enclosing delegating container; `itemTag`: the tag
  // this element must have to be an item of its parent ("" when the parent has no items);
  // `owner`: the record of the container whose items these are (null when it is not listed).
  function walk(el, inside, parentPointer, sel, itemTag, owner) {
    const tag = el.localName;
    if (SKIP.has(tag)) return;
    walked++;
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
    let state = -1, kidsFar = false;
    const from = parentOf(el, tag);
    const list = Array.isArray(from) ? from : null;
    let kidTag = "";
    // A control with a listener (a button) is no container; a listbox is, whatever made it one.
    if ((rec && script && why !== "control") || (near && CONTAINER_ROLES.has(el.getAttribute("role")))) {
      const own = script && jq ? delegatedSelector(el) : "";
      if (own) sel = sel ? sel + ", " + own : own;
      else kidTag = repeatedTag(list || from.childNodes);
      owner = rec;
    }
    // Below a script-clickable element or an item (which may yet drop its line for the controls
    // inside it) cursor:pointer still counts, where it starts.
    const weak = why === "script" || why === "item";
    const below = pointer || (weak && rec !== null && getComputedStyle(el).cursor === "pointer");
    if (!near && boxed && from === el && !inWin(contentBox(el))) kidsFar = true; // see "Cost control"
    if (!kidsFar) for (let i = 0, c = list ? list[0] : from.firstChild; c; c = list ? list[++i] : c.nextSibling) {
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
  // jQuery handlers delegated from the document or the body (`$(document).on("click", ".reply", ...)`)
  // name the items they serve anywhere in the page.
  const rootSel = jq ? [document, document.body].filter(Boolean).map(delegatedSelector).filter(Boolean).join(", ") : "";
  if (root) walk(root, false, false, rootSel, "", null);
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
    walked, // elements whose box was read (what the far-subtree cut saves shows here)
    ms: performance.now() - t0,
  };
}
