// Where a task's answer sits on the page, and what those places say now (answer_sources.py).
// One script, two jobs, so both read the page the same way:
//   {op: "locate", values: [{value, type}], pieces: text|null} -> [source|null], [piece]
//   {op: "read", sources: [source]} -> [{v} | null]
// A source: {selector, attribute (null: the text), prefix, suffix, type, element}.
(args) => {
  const collapse = (s) => (s == null ? "" : String(s)).replace(/\s+/g, " ").trim();
  const root = document.body || document.documentElement;
  const SKIP = new Set(["script", "style", "noscript", "template", "head", "title", "meta", "link"]);
  const ATTRS = ["value", "content", "title", "alt", "aria-label", "datetime", "data-value"];
  const STABLE = ["data-testid", "data-test", "data-qa", "data-cy", "itemprop", "name", "aria-label"];
  const NUMBER = /-?\d[\d,]*(?:\.\d+)?/g;
  const AMOUNT = /[$€£¥]?-?\d[\d,]*(?:\.\d+)?%?/g; // a number as an answer quotes it: $1,250.00, 12%
  const AFFIX = 40; // characters of text kept on each side of the value: its anchor

  // Read once per call: a structured answer looks up many values in the same page.
  let all = null;
  const elements = () => all || (all = root ? [root, ...root.querySelectorAll("*")].filter((e) => !SKIP.has(e.localName)) : []);
  const visible = (el) => (el.checkVisibility ? el.checkVisibility() : true);
  const texts = new Map();
  const textOf = (el) => {
    let t = texts.get(el);
    if (t === undefined) texts.set(el, (t = collapse(el.textContent)));
    return t;
  };
  const attrOf = (el, a) => (a === "value" && "value" in el ? el.value : el.getAttribute(a));
  const unique = (sel) => {
    try { return document.querySelectorAll(sel).length === 1; } catch (e) { return false; }
  };
  // Ids that a framework generated change from one load to the next: not worth a selector.
  const stableId = (id) => !!id && !/\d{3,}|[0-9a-f]{8,}|^:|^ember|^react|^mui-|^radix-/i.test(id);
  // A class a person named (price, balance-total), not one a build tool hashed (css-1x2y3z, sc-bdVaJa).
  const stableClass = (c) => /^[a-zA-Z][a-zA-Z_-]{2,}$/.test(c) && !/^(css|sc|jsx|emotion|styled|svelte)-/.test(c);
  const byClass = (el) => {
    for (const c of el.classList) {
      if (stableClass(c) && unique(el.localName + "." + CSS.escape(c))) return el.localName + "." + CSS.escape(c);
    }
    return null;
  };
  const quoted = (v) => '"' + v.replace(/\\/g, "\\\\").replace(/"/g, '\\"') + '"';

  function selectorOf(el) {
    if (stableId(el.id) && unique("#" + CSS.escape(el.id))) return "#" + CSS.escape(el.id);
    for (const a of STABLE) {
      const v = el.getAttribute(a);
      if (v && unique(el.localName + "[" + a + "=" + quoted(v) + "]")) return el.localName + "[" + a + "=" + quoted(v) + "]";
    }
    const own = byClass(el);
    if (own) return own;
    const parts = [];
    for (let cur = el; cur && cur !== document.body && cur !== document.documentElement; cur = cur.parentElement) {
      const anchor = cur === el ? null : stableId(cur.id) && unique("#" + CSS.escape(cur.id)) ? "#" + CSS.escape(cur.id) : byClass(cur);
      if (anchor) {
        parts.unshift(anchor);
        return parts.join(" > ");
      }
      const parent = cur.parentElement;
      const same = parent ? [...parent.children].filter((c) => c.localName === cur.localName) : [];
      parts.unshift(same.length > 1 ? cur.localName + ":nth-of-type(" + (same.indexOf(cur) + 1) + ")" : cur.localName);
    }
    parts.unshift("body");
    return parts.join(" > ");
  }

  function describe(el) {
    const id = el.id ? " id=" + el.id : "";
    const text = textOf(el);
    return "<" + el.localName + id + ">" + (text.length > 60 ? text.slice(0, 59) + "\u2026" : text) + "</" + el.localName + ">";
  }

  function source(el, attribute, text, start, end, type) {
    return {
      selector: selectorOf(el), attribute, type, element: describe(el),
      prefix: text.slice(Math.max(0, start - AFFIX), start), suffix: text.slice(end, end + AFFIX),
    };
  }

  // The deepest elements (none of their element children matches too), visible ones first.
  function deepest(match) {
    const hits = elements().filter(match);
    const inner = hits.filter((el) => !hits.some((o) => o !== el && el.contains(o)));
    return inner.filter(visible).concat(inner.filter((el) => !visible(el)));
  }

  function numberAt(text, wanted) {
    for (const m of text.matchAll(NUMBER)) {
      if (Math.abs(Number(m[0].replace(/,/g, "")) - wanted) < 1e-9) return [m.index, m.index + m[0].length];
    }
    return null;
  }

  function locate({ value, type }) {
    if (type === "number") {
      const el = deepest((e) => numberAt(textOf(e), value) !== null)[0];
      if (!el) return null;
      const text = textOf(el);
      const [s, e] = numberAt(text, value);
      return source(el, null, text, s, e, "number");
    }
    const v = collapse(value);
    if (!v) return null;
    const exact = deepest((e) => textOf(e) === v)[0];
    if (exact) return source(exact, null, v, 0, v.length, "string");
    for (const el of elements()) {
      for (const a of ATTRS) if (collapse(attrOf(el, a)) === v) return source(el, a, v, 0, v.length, "string");
    }
    const within = deepest((e) => textOf(e).includes(v))[0];
    if (!within) return null;
    const text = textOf(within);
    const at = text.indexOf(v);
    return source(within, null, text, at, at + v.length, "string");
  }

  // Parts of a text answer written by the model around values it read ("The code is ALPHA-42",
  // "The balance is $980.50 today"): each element whose whole text appears in the answer and
  // looks like a value (a digit, or long), and each amount of the answer found in an element.
  function pieces(answer) {
    const found = [];
    for (const el of deepest((e) => { const t = textOf(e); return t.length >= 3 && t.length <= 200 && answer.includes(t); })) {
      const t = textOf(el);
      if (/\d/.test(t) || t.length >= 8) found.push({ text: t, source: source(el, null, t, 0, t.length, "string") });
    }
    for (const amount of new Set(answer.match(AMOUNT) || [])) {
      const src = amount.length >= 2 && !found.some((f) => f.text.includes(amount)) ? locate({ value: amount, type: "string" }) : null;
      if (src) found.push({ text: amount, source: src });
    }
    return found;
  }

  function extract(text, src) {
    let start = 0, end = text.length;
    if (src.prefix) {
      const at = text.indexOf(src.prefix);
      if (at < 0) return null;
      start = at + src.prefix.length;
    }
    if (src.suffix) {
      const at = text.indexOf(src.suffix, start);
      if (at >= 0) end = at;
    }
    const middle = text.slice(start, end).trim();
    if (src.type !== "number") return middle;
    const m = middle.match(/-?\d[\d,]*(?:\.\d+)?/);
    return m ? Number(m[0].replace(/,/g, "")) : null;
  }

  function read(src) {
    let el = null;
    try { el = document.querySelector(src.selector); } catch (e) { return null; }
    if (!el) return null;
    const v = extract(collapse(src.attribute ? attrOf(el, src.attribute) : el.textContent), src);
    return v === null ? null : { v };
  }

  if (args.op === "read") return args.sources.map(read);
  return { sources: args.values.map(locate), pieces: args.pieces ? pieces(args.pieces) : [] };
}
