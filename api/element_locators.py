"""A recorded element line (`<button type=submit>Sign in</button>`, what the agent saw
and a replay matches on) as a Playwright locator a person can read and keep: the
accessible role and name, a label, placeholder or form name, a link's target, text.
Used by the exported script (api/script_export.py); the line itself goes in a comment.

Indices are never used: they change whenever the page gains or loses an element."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from api.python_literals import py_str

ELLIPSIS = "\u2026"  # how the page state shortens a long text or attribute
FIELDS = {"input", "textarea", "select"}
BUTTON_INPUTS = {"submit", "button", "reset"}
_TAG = re.compile(r"^<([a-zA-Z][a-zA-Z0-9-]*)")
_ATTR = re.compile(r'\s+([^\s=>/"]+)(?:=("(?:[^"]*)"|[^\s>"]+))?')


@dataclass
class ElementLine:
    """The parts of an element line: its tag, its attributes (flags as ""), its text."""

    tag: str
    attrs: dict[str, str] = field(default_factory=dict)
    text: str = ""


def parse_element_line(line: str) -> ElementLine | None:
    match = _TAG.match(line)
    if match is None:
        return None
    element = ElementLine(match.group(1).lower())
    rest = line[match.end() :]
    while (attr := _ATTR.match(rest)) is not None:
        value = attr.group(2) or ""
        if value.startswith('"'):
            value = value[1:-1].replace("&quot;", '"')
        element.attrs[attr.group(1)] = value
        rest = rest[attr.end() :]
    closing = f"</{element.tag}>"
    if rest.startswith(">") and rest.endswith(closing):
        element.text = rest[1 : -len(closing)]
    return element


def locator_for(line: str) -> str:
    """A Python expression on `page` that finds the element of `line` (the first of
    several alike, as a replay picks the nearest)."""
    element = parse_element_line(line)
    if element is None:
        return "page.locator(':focus')"
    return _locator(element) + ".first"


def _locator(el: ElementLine) -> str:
    attrs, tag = el.attrs, el.tag
    if label := _whole(attrs.get("aria-label")):
        return f"page.get_by_label({py_str(label)}, exact=True)"
    if tag in FIELDS and (name := attrs.get("name")) and ELLIPSIS not in name:
        return f"page.locator({py_str(f'{tag}[name={_css_str(name)}]')})"
    if tag == "input" and attrs.get("type") in BUTTON_INPUTS and (value := _whole(attrs.get("value"))):
        return _by_role("button", value)
    if tag in FIELDS and (placeholder := _whole(attrs.get("placeholder"))):
        return f"page.get_by_placeholder({py_str(placeholder)}, exact=True)"
    role = attrs.get("role") or {"button": "button", "a": "link"}.get(tag)
    if role and el.text:
        return _by_role(role, el.text)
    if tag == "a" and (href := attrs.get("href")) and ELLIPSIS not in href:
        return f"page.locator({py_str(f'a[href$={_css_str(href)}]')})"
    if title := _whole(attrs.get("title")):
        return f"page.get_by_title({py_str(title)}, exact=True)"
    if alt := _whole(attrs.get("alt")):
        return f"page.get_by_alt_text({py_str(alt)}, exact=True)"
    if el.text:
        return f"page.locator({py_str(tag)}, has_text={py_str(el.text.rstrip(ELLIPSIS))})"
    return f"page.locator({py_str(tag)})"


def _by_role(role: str, name: str) -> str:
    if name.endswith(ELLIPSIS):
        return f"page.get_by_role({py_str(role)}, name={py_str(name.rstrip(ELLIPSIS))})"
    return f"page.get_by_role({py_str(role)}, name={py_str(name)}, exact=True)"


def _whole(value: str | None) -> str | None:
    """An attribute the page state kept whole (a shortened one cannot be matched exactly)."""
    return value if value and ELLIPSIS not in value else None


def _css_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
