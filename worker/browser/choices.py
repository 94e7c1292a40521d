"""Several choices at once and whole values: the scripts behind `select_options` and
`read_value`, each one round trip on the element of a ref.

Why here and not in page state: a step's state shows a select's options and a field's
value within a text budget (a long list says how many more there are, a long value is
cut); these read or set the whole of them, on request, for one element."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from worker.browser.page_state import ElementRef, evaluate_on_element, on_element_js

MAX_VALUE_CHARS = 20_000  # what read_value shows at most: a step's history is no place for a book

# Options of a <select> or of an ARIA listbox (its role=option descendants), as [text, selected].
_OPTIONS_JS = """(el) => {
  const text = (o) => o.textContent.replace(/\\s+/g, ' ').trim();
  if (el.localName === 'select') return Array.from(el.options, (o) => [text(o), o.selected]);
  return Array.from(el.querySelectorAll('[role=option]'), (o) => [text(o), o.getAttribute('aria-selected') === 'true']);
}"""

# Makes exactly the named options selected: exact text first, then case-insensitive, then the
# option whose text contains the name. A <select> gets the properties and input/change, as a
# person's choice does; a listbox's options are clicked where their state must change.
_SELECT_JS = on_element_js(
    f"""(el, wanted) => {{
  const options = ({_OPTIONS_JS})(el);
  const isSelect = el.localName === 'select';
  if (!isSelect && el.getAttribute('role') !== 'listbox') return {{error: 'not a select or a listbox'}};
  if (isSelect && !el.multiple && wanted.length > 1) return {{error: 'it takes one choice only'}};
  const norm = (s) => s.replace(/\\s+/g, ' ').trim().toLowerCase();
  const find = (w) => {{
    const n = norm(w);
    let i = options.findIndex(([t]) => t === w.trim());
    if (i < 0) i = options.findIndex(([t]) => t.toLowerCase() === n);
    if (i < 0) i = options.findIndex(([t]) => t.toLowerCase().includes(n));
    return i;
  }};
  const picks = wanted.map(find);
  const missing = wanted.filter((w, k) => picks[k] < 0);
  if (missing.length) return {{missing}};
  const on = new Set(picks);
  if (isSelect) {{
    Array.from(el.options).forEach((o, i) => {{ o.selected = on.has(i); }});
    el.dispatchEvent(new Event('input', {{bubbles: true}}));
    el.dispatchEvent(new Event('change', {{bubbles: true}}));
  }} else {{
    const items = el.querySelectorAll('[role=option]');
    options.forEach(([, sel], i) => {{ if (sel !== on.has(i)) items[i].click(); }});
  }}
  return {{chosen: ({_OPTIONS_JS})(el).filter(([, s]) => s).map(([t]) => t)}};
}}"""
)

# The whole value: a field's value (never a password's), a select's or listbox's options with
# the chosen ones marked, else the element's text.
_READ_JS = on_element_js(
    f"""(el) => {{
  if (el.localName === 'select' || el.getAttribute('role') === 'listbox') return {{options: ({_OPTIONS_JS})(el)}};
  if (el.localName === 'input' && el.type === 'password') return {{error: 'a password is never shown'}};
  if (el.localName === 'input' || el.localName === 'textarea') return {{value: el.value}};
  return {{value: el.innerText || el.textContent || ''}};
}}"""
)


class ChoiceError(Exception):
    """The choice cannot be made or the value read; the message says why."""


@dataclass(frozen=True)
class Choice:
    chosen: list[str]


async def select_options(ref: ElementRef, wanted: list[str]) -> Choice:
    """Raises page_state.ElementGone, or ChoiceError naming what is missing."""
    out: dict[str, Any] = await evaluate_on_element(ref, _SELECT_JS, wanted)
    if "error" in out:
        raise ChoiceError(out["error"])
    if "missing" in out:
        names = ", ".join(repr(m) for m in out["missing"])
        raise ChoiceError(f"it has no option {names} (read_value lists its options, filter to find one)")
    return Choice([str(t) for t in out["chosen"]])


async def read_value(ref: ElementRef, filter_text: str | None) -> str:
    """The element's whole value, or its options (those containing `filter_text`)."""
    out: dict[str, Any] = await evaluate_on_element(ref, _READ_JS)
    if "error" in out:
        raise ChoiceError(out["error"])
    if "options" in out:
        return _options_text(out["options"], filter_text)
    value = str(out["value"])
    if len(value) > MAX_VALUE_CHARS:
        return f"{value[:MAX_VALUE_CHARS]}… (the first {MAX_VALUE_CHARS} of {len(value)} characters)"
    return f"({len(value)} characters) {value}"


def _options_text(options: list[list[Any]], filter_text: str | None) -> str:
    """One option a line, `[x]` before the chosen ones; only those containing the filter."""
    needle = (filter_text or "").strip().lower()
    shown = [(str(t), bool(s)) for t, s in options if needle in str(t).lower()]
    head = f"{len(shown)} of {len(options)} options" + (f" containing {filter_text!r}" if needle else "")
    lines = [f"{'[x]' if s else '[ ]'} {t}" for t, s in shown]
    text = "\n".join(lines)
    if len(text) > MAX_VALUE_CHARS:
        text = text[:MAX_VALUE_CHARS] + "\n… (more: filter by text)"
    return f"{head} ([x] = selected):\n{text}"
