"""Typing into date and time fields (`<input type=date|time|datetime-local|month|week>`).

Why not `fill` or keyboard text: such a field takes only its own format
(`2014-12-03`), so text typed as a person writes it (`12/03/2014`) leaves it
empty. The text is read by `human_dates` in the order of the page's locale
(`navigator.language`, whose day/month order the browser's Intl reports), and
the value is set through the native setter, then `input` and `change` are
dispatched as a person's typing would: frameworks that track the value
(React's controlled inputs) see the change because the setter is the
prototype's, not the one they install on the element."""

from __future__ import annotations

from dataclasses import dataclass

from playwright.async_api import ElementHandle

from worker.browser.human_dates import FIELD_TYPES, DateOrder, DateTextError, field_value

_KIND_JS = """(el, kinds) => {
  if (el.tagName !== 'INPUT' || !kinds.includes(el.type)) return null;
  const locale = navigator.language || 'en-US';
  let monthFirst = true;
  try {
    const order = new Intl.DateTimeFormat(locale).formatToParts(new Date(2014, 11, 3)).map((p) => p.type);
    monthFirst = order.indexOf('month') < order.indexOf('day');
  } catch (e) { /* an unknown locale: month first, as en-US */ }
  return {kind: el.type, locale, monthFirst, blocked: el.disabled ? 'disabled' : el.readOnly ? 'read-only' : ''};
}"""

_SET_JS = """(el, value) => {
  el.focus();
  Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set.call(el, value);
  if (el.value === '') return false;
  el.dispatchEvent(new Event('input', {bubbles: true, composed: true}));
  el.dispatchEvent(new Event('change', {bubbles: true}));
  return true;
}"""


@dataclass(frozen=True)
class DateFill:
    kind: str  # the field's type, e.g. "date"
    value: str  # what was set, e.g. "2014-12-03"
    reading: str | None  # how an ambiguous text was read

    def note(self, show_value: bool = True) -> str:
        """What the model reads in its next step."""
        text = f"set the {self.kind} field to {self.value}" if show_value else f"set the {self.kind} field"
        return text + (f", reading it as {self.reading}" if self.reading and show_value else "")


async def fill_date_field(handle: ElementHandle, text: str) -> DateFill | None:
    """Set a date/time-like field from `text` as a person writes it; None when
    the element is no such field (the caller types as usual). Raises
    DateTextError with what to type when the text cannot be read or the field
    takes no input."""
    info = await handle.evaluate(_KIND_JS, list(FIELD_TYPES))
    if info is None:
        return None
    kind = str(info["kind"])
    if info["blocked"]:
        raise DateTextError(f"the {kind} field is {info['blocked']}")
    result = field_value(kind, text, DateOrder(str(info["locale"]), bool(info["monthFirst"])))
    if not await handle.evaluate(_SET_JS, result.value):
        raise DateTextError(f"the {kind} field did not take {result.value!r}")
    return DateFill(kind, result.value, result.reading)
