"""The kinds of browser a worker serves, and the queue each kind's tasks travel on.

- `stealth` (the default): Debian's Chromium, new headless, with nothing a page can
  read that says automation (worker/browser/disguise.py).
- `headful`: the same Chromium with a real window on a virtual display the worker
  runs itself (Xvfb), for sites that check what headless cannot fake.
- `lean`: `chromium-headless-shell`, the cheapest in CPU and memory and plainly
  detectable: for trusted targets (intranets, your own apps, tests).

A worker serves one kind (`browserq worker --browser-kind K`) and consumes only its
kind's queue, so a task reaches a browser of the kind it asked for."""

from __future__ import annotations

from typing import Literal, get_args

BrowserKind = Literal["stealth", "headful", "lean"]
KINDS: tuple[str, ...] = get_args(BrowserKind)


def queue_for(kind: str) -> str:
    """The Celery queue of a kind's tasks."""
    return f"browserq.{kind}"
